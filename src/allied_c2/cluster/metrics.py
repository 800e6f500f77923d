"""The cluster's Prometheus metrics, each labelled with this node's id (``node``).

Registered by web/metrics.py's registry, so both ``/metrics`` on the HTTP(S)
listeners and the loopback ``--metrics`` listener carry them. No FastAPI here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from allied_c2.app import Runtime


class ClusterCollector(Collector):
    """The node's cluster counters, labelled with its node id."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        node = self.runtime.cluster
        if node is None:
            return
        label = [node.node_id]
        stats = node.bus.stats
        info = GaugeMetricFamily("allied_c2_node_info", "This cluster node", labels=["node"])
        info.add_metric(label, 1)
        yield info
        for name, help_text, value in (
            ("published", "Events published to JetStream", stats.published),
            ("acked", "Events JetStream acknowledged (stored)", stats.acked),
            ("retried", "Publishes sent again after no acknowledgement", stats.retried),
            (
                "stored_locally",
                "Events never acknowledged, stored by this node",
                stats.stored_locally,
            ),
            ("injected", "Other nodes' events relayed here", stats.injected),
            ("refused", "Unusable stream messages", stats.refused),
            ("received", "Stream messages received live", stats.received),
            ("replayed", "Stream messages read by a replay (start, reconnect)", stats.replayed),
            ("copies", "Events dropped as applied already", stats.copies),
            ("repairs", "Replays after a NATS reconnect", stats.repairs),
        ):
            counter = CounterMetricFamily(f"allied_c2_cluster_{name}", help_text, labels=["node"])
            counter.add_metric(label, value)
            yield counter
        for name, help_text, value in (
            ("lag", "Stream messages not yet applied here", node.bus.lag),
            ("unacked", "Events published and not yet acknowledged", node.bus.unacked),
            ("connected", "1 while connected to NATS", int(node.bus.connected)),
            ("clients", "CoT clients on this node", len(self.runtime.service.connections)),
        ):
            gauge = GaugeMetricFamily(f"allied_c2_cluster_{name}", help_text, labels=["node"])
            gauge.add_metric(label, value)
            yield gauge


def register_cluster_metrics(registry: CollectorRegistry, runtime: Runtime) -> None:
    if runtime.cluster is not None:
        registry.register(ClusterCollector(runtime))
