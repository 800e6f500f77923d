"""Prometheus metrics, read from the relay's plain counters at scrape time.

Served to admins at ``/metrics`` on the HTTP(S) listeners (web/health.py) and,
without credentials, on the loopback-only metrics listener (``--metrics``,
web/serving.py). No FastAPI here: a relay-only node with a metrics listener
loads uvicorn and this, not the web API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest, make_asgi_app
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
        yield from _history_metrics(rt)
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
        yield from _audit_metrics(rt)


def _history_metrics(rt: Runtime) -> Iterator[Metric]:
    # The database-away path (store/events.py, docs/reliability.md): what waits, what
    # the outage bound cost, and whether the database answers right now.
    writer = rt.writer
    yield GaugeMetricFamily(
        f"{PREFIX}_history_buffered_bytes",
        "Bytes of history waiting in memory (bounded while the database is away)",
        value=writer.buffered_bytes,
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_history_database_available",
        "0 while history writes find the database away",
        value=int(writer.available),
    )
    yield CounterMetricFamily(
        f"{PREFIX}_history_written", "Events stored in the history", value=writer.written
    )
    yield CounterMetricFamily(
        f"{PREFIX}_history_dropped",
        "Events never stored: outage buffer full, or the database away at shutdown",
        value=writer.dropped,
    )
    yield CounterMetricFamily(
        f"{PREFIX}_history_errors", "Events the database refused (bad rows)", value=writer.errors
    )
    yield CounterMetricFamily(
        f"{PREFIX}_history_outages", "Times the database went away", value=writer.outages
    )


def _audit_metrics(rt: Runtime) -> Iterator[Metric]:
    audit = rt.audit
    yield CounterMetricFamily(
        f"{PREFIX}_audit_write_failures", "Audit appends that failed", value=audit.failed
    )
    yield CounterMetricFamily(
        f"{PREFIX}_audit_dropped",
        "Audit entries never written (queue full, or failing at shutdown)",
        value=audit.dropped,
    )
    yield CounterMetricFamily(
        f"{PREFIX}_audit_suppressed",
        "Refusals not audited because of the per-principal/address rate limit",
        value=audit.suppressed,
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_audit_pending", "Audit entries waiting to be written", value=audit.pending
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_audit_failing",
        "1 while audit writes fail (audited actions are refused)",
        value=int(audit.failing),
    )


def metrics_text(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def registry_for(runtime: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RelayCollector(runtime))
    if runtime.cluster is not None:  # labelled by node (issue 13)
        from allied_c2.cluster.metrics import register_cluster_metrics

        register_cluster_metrics(registry, runtime)
    return registry


def metrics_app(runtime: Runtime) -> Any:
    """The bare ASGI app of the loopback metrics listener (no FastAPI needed)."""
    return make_asgi_app(registry=registry_for(runtime))
