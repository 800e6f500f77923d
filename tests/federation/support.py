"""Real federated servers for the tests: each its own data dir, CA, users and links.

Servers are started first (federation listener and CoT TLS on port 0), then the
federates are registered with the ``allied-c2 federate`` CLI while they run, as
two administrators would; a running server picks a change up within a second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from allied_c2.store.audit import AuditEntry, AuditLog
from allied_c2.store.db import create_engine_for
from allied_c2.store.events import EventReader, EventRecordRow
from tests.support.cot import CotClient, client_tls
from tests.support.server import ServerProcess, add_user, cli, create_token

# USA -> JPN in the three-server and web federation tests: a sanitised copy of every
# hostile track the US holds NOFORN.
HOSTILE_TRACKS_RULE = "jpn-hostile-tracks"
HOSTILE_TRACKS_RULES = f"""\
# USA -> JPN: hostile tracks the US holds NOFORN go to Japan as a coarse copy.
[[rules]]
name = "{HOSTILE_TRACKS_RULE}"
types = ["a-h-*"]
markings = ["SECRET//NOFORN"]
drop = ["remarks"]
coarsen_m = 1000
release_as = "CONFIDENTIAL//REL TO USA, JPN"
"""


@dataclass
class Node:
    name: str  # the federate name peers register it under, e.g. "USA-SRV"
    nation: str
    data: Path
    out: Path  # this server's federation certificate and CA, for the peers
    certs: Path  # the users' client bundles
    server: ServerProcess
    admin_token: str = ""
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def federation_address(self) -> str:
        return str(self.server.endpoints["federation"])

    async def client(self, callsign: str) -> CotClient:
        host, port = self.server.address("cot_tls")
        return await CotClient.connect(host, port, client_tls(self.certs, callsign))

    def links(self) -> dict[str, Any]:
        body = self.server.get_json("/api/v1/federation", self.admin_token)
        return {link["name"]: link for link in body["links"]}

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine_for(f"sqlite:///{self.data / 'allied-c2.db'}")
        return self._engine

    def rows(self, uid: str) -> list[EventRecordRow]:
        return EventReader(self.engine).history(uid=uid)

    def audit(self, action: str) -> list[AuditEntry]:
        return AuditLog(self.engine, self.data / "audit.anchor").tail(500, action=action)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def make_node(
    root: Path,
    name: str,
    nation: str,
    users: list[tuple[str, str, str]],
    *extra: str,
    staff: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (),
) -> Node:
    """Data dir, federation certificate, users (callsign, nation, clearance), an admin;
    ``staff``: (callsign, nation, clearance, roles, organisation), without certificates."""
    data = root / name
    out = root / f"{name}-federation"
    certs = root / f"{name}-certs"
    cli("federate", "cert", "--data-dir", str(data), "--out", str(out))
    for callsign, user_nation, clearance in users:
        add_user(data, callsign, user_nation, clearance, out=certs)
    for callsign, user_nation, clearance, roles, org in staff:
        add_user(data, callsign, user_nation, clearance, roles=roles, org=org)
    admin = f"{name}-admin".lower()
    add_user(data, admin, nation, "TOP SECRET", roles=("admin",), out=certs)
    server = ServerProcess(data, "--federation", "127.0.0.1:0", *extra, tls=True)
    node = Node(name, nation, data, out, certs, server)
    node.admin_token = create_token(data, admin)
    return node


def register(
    on: Node,
    peer: Node,
    *,
    dial: bool,
    clearance: str = "SECRET",
    cois: tuple[str, ...] = (),
    rules: Path | None = None,
) -> None:
    """``federate add`` of ``peer`` on ``on`` (dialling it when ``dial``)."""
    args = ["federate", "add", "--data-dir", str(on.data), "--name", peer.name]
    args += ["--nation", peer.nation, "--clearance", clearance]
    args += ["--peer-ca", str(peer.out / "ca.pem"), "--peer-cert", str(peer.out / "federation.pem")]
    if dial:
        args += ["--connect", peer.federation_address]
    for coi in cois:
        args += ["--coi", coi]
    if rules is not None:
        args += ["--rules", str(rules)]
    cli(*args)


def wait_for(predicate: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")


def wait_up(node: Node, peer: str, timeout: float = 60.0) -> None:
    def up() -> bool:
        link = node.links().get(peer)
        return link is not None and link["state"] == "up"

    try:
        wait_for(up, timeout, f"{node.name} -> {peer} link up")
    except AssertionError:
        raise AssertionError(f"{node.name}: {node.links()}\n{node.server.log()[-4000:]}") from None


async def await_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    """:func:`wait_for` for async tests: the event loop (gRPC calls) keeps running."""
    import asyncio

    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")
