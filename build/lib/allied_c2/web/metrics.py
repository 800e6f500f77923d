"""Prometheus metrics, read from the relay's plain counters at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from allied_c2.app import Runtime

PREFIX = "alliedc2"


class RelayCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        rt = self.runtime
        stats = rt.hub.stats
        yield GaugeMetricFamily(
            f"{PREFIX}_connections",
            "Connected CoT stream clients",
            value=len(rt.service.connections),
        )
        yield CounterMetricFamily(
            f"{PREFIX}_connections",
            "CoT stream connections accepted",
            value=stats.connections_total,
        )
        yield CounterMetricFamily(f"{PREFIX}_events_in", "Events accepted", value=stats.events_in)
        yield CounterMetricFamily(
            f"{PREFIX}_bytes_in", "Bytes received on CoT listeners", value=stats.bytes_in
        )
        yield CounterMetricFamily(
            f"{PREFIX}_events_out", "Event deliveries to clients", value=stats.deliveries
        )
        yield CounterMetricFamily(f"{PREFIX}_pings", "Pings answered", value=stats.pings)
        yield CounterMetricFamily(
            f"{PREFIX}_release_denied",
            "Deliveries withheld by the release decision",
            value=stats.release_denied,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_queue_coalesced",
            "Queued position updates replaced by newer ones",
            value=stats.queue_coalesced,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_queue_drops",
            "Clients disconnected for staying too far behind",
            value=stats.slow_disconnects,
        )
        refusals = CounterMetricFamily(
            f"{PREFIX}_refusals", "Refused input by reason", labels=["reason"]
        )
        for reason, count in sorted(stats.refusals.items()):
            refusals.add_metric([reason], count)
        yield refusals
        disconnects = CounterMetricFamily(
            f"{PREFIX}_disconnects", "Server-initiated disconnects", labels=["reason"]
        )
        for reason, count in sorted(stats.disconnects.items()):
            disconnects.add_metric([reason], count)
        yield disconnects
        yield GaugeMetricFamily(
            f"{PREFIX}_picture_items", "Items in the picture", value=len(rt.hub.picture)
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_history_backlog", "Events waiting to be stored", value=rt.writer.backlog
        )
        hist = stats.latency
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip(hist.buckets, hist.counts, strict=False):
            cumulative += count
            buckets.append((repr(bound), cumulative))
        buckets.append(("+Inf", hist.observations))
        yield HistogramMetricFamily(
            f"{PREFIX}_relay_latency_seconds",
            "Time from reading a batch of events to writing it to recipients",
            buckets=buckets,
            sum_value=hist.total,
        )
        cache = rt.hub.releases
        yield CounterMetricFamily(
            f"{PREFIX}_release_cache_hits", "Release decisions from cache", value=cache.hits
        )
        yield CounterMetricFamily(
            f"{PREFIX}_release_cache_misses", "Release decisions computed", value=cache.misses
        )


def metrics_text(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def registry_for(runtime: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RelayCollector(runtime))
    return registry
