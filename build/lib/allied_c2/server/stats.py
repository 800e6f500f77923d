"""Relay counters kept as plain integers.

The relay touches these once per event and per delivery; a Prometheus client
counter costs a lock per increment, so the hot path counts here and
``metrics.py`` reads the numbers at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

# Seconds; the relay aims at single-digit milliseconds, so most buckets are below 10 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(slots=True)
class LatencyHistogram:
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0
    observations: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.buckets, seconds)] += 1
        self.total += seconds
        self.observations += 1


@dataclass(slots=True)
class RelayStats:
    connections_total: int = 0
    events_in: int = 0
    bytes_in: int = 0
    deliveries: int = 0
    pings: int = 0
    consumed: int = 0
    release_denied: int = 0
    queue_coalesced: int = 0
    slow_disconnects: int = 0
    refusals: Counter[str] = field(default_factory=Counter)  # by reason
    disconnects: Counter[str] = field(default_factory=Counter)  # by reason
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def refuse(self, reason: str) -> None:
        self.refusals[reason] += 1
