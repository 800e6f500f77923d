"""What ``GET /api/v1/cluster`` and ``allied-c2 cluster status`` show, from the heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from allied_c2.store.cluster import NodeStatus

NODE_TIMEOUT = 10.0  # a node not seen for this long is shown as gone


def cluster_status(
    nodes: list[NodeStatus], now: datetime | None = None, this_node: str | None = None
) -> dict[str, Any]:
    """Every node with its clients, lag and leases; who holds the deadlines and history."""
    now = now or datetime.now(UTC)
    shown = [n.as_json(now, NODE_TIMEOUT) for n in nodes]

    def owner(role: str) -> str | None:
        return next((n["node"] for n in shown if n["alive"] and role in n.get("roles", [])), None)

    return {
        "node": this_node,
        "nodes": shown,
        "alive": sum(1 for n in shown if n["alive"]),
        "clients": sum(n["clients"] for n in shown if n["alive"]),
        "deadline_owner": owner("deadlines"),
        "history_owner": owner("history"),
    }


def status_lines(status: dict[str, Any]) -> list[str]:
    """The status as a terminal table."""
    lines = [
        f"deadline owner: {status['deadline_owner'] or '-'}   "
        f"history writer: {status['history_owner'] or '-'}   "
        f"nodes alive: {status['alive']}   clients: {status['clients']}",
        f"{'node':<24} {'state':<6} {'clients':>7} {'lag':>7}  {'roles':<18} seen",
    ]
    for node in status["nodes"]:
        lines.append(
            f"{node['node']:<24} {'up' if node['alive'] else 'gone':<6} {node['clients']:>7} "
            f"{node['lag']:>7}  {','.join(node.get('roles', [])) or '-':<18} {node['seen_at']}"
        )
    return lines
