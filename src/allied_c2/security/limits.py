"""Bounds on what a client can make the server write: truncation and rate limits.

Pure: no I/O, the clock is injected. Used where attacker-controlled input
reaches a durable or shared sink (the audit chain, the logs) and where a
source can send without a connection to pause (UDP).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

# An audit field or log argument longer than this many UTF-8 bytes is cut: enough
# for any uid, callsign, marking or reason the server produces, far below what a
# 1 MiB event could otherwise copy into every audit row and log line.
MAX_FIELD_BYTES = 1024
# Nesting kept in an audit detail; deeper values are replaced by a marker.
MAX_DETAIL_DEPTH = 8
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def truncate(text: str, limit: int = MAX_FIELD_BYTES) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (never inside a character), marked if cut."""
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", errors="ignore")
    dropped = len(data) - len(kept.encode("utf-8"))
    return f"{kept}…[truncated {dropped} bytes]"


def printable(text: str, limit: int = MAX_FIELD_BYTES) -> str:
    """For a log line: truncated, and control characters escaped so input cannot
    start a forged line (CR/LF) or drive a terminal (ESC)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", truncate(text, limit))


def bounded(value: object, limit: int = MAX_FIELD_BYTES, depth: int = 0) -> object:
    """Every string in a JSON-like value (keys too) truncated; nesting bounded."""
    if isinstance(value, str):
        return truncate(value, limit)
    if depth >= MAX_DETAIL_DEPTH and isinstance(value, Mapping | list | tuple):
        return "…[nested too deep]"
    if isinstance(value, Mapping):
        return {truncate(str(k), limit): bounded(v, limit, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v, limit, depth + 1) for v in value]
    return value


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    suppressed: int = 0


class RateLimiter:
    """A token bucket per key: ``rate`` admissions a second, bursts of up to ``burst``.

    At most ``max_keys`` buckets are kept (least recently used goes first), so a
    stream of new keys (spoofed UDP sources) costs bounded memory; an evicted key
    starts again with a full bucket, which is the price of that bound.
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def allow(self, key: Hashable) -> bool:
        """Take one token for ``key``; False (and counted as suppressed) if none is left."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        bucket.suppressed += 1
        return False

    def pop_suppressed(self, key: Hashable) -> int:
        """How many of ``key``'s requests were refused since this was last asked."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0
        count, bucket.suppressed = bucket.suppressed, 0
        return count

    def __len__(self) -> int:
        return len(self._buckets)
