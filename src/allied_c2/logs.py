"""Structured logging: readable lines on a terminal, JSON lines for collectors."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from allied_c2.security.limits import printable


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    # On the handler, so it sees every logger's records (uvicorn's too).
    handler.addFilter(TruncatingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # A refusal storm from one hostile client must not become a disk-filling log storm.
    logging.getLogger("allied_c2.connection").addFilter(RateLimitFilter(50))
    logging.getLogger("allied_c2.relay").addFilter(RateLimitFilter(50))


class RateLimitFilter(logging.Filter):
    """At most ``per_second`` warnings per logger per second; the counters keep the totals."""

    def __init__(self, per_second: int) -> None:
        super().__init__()
        self.per_second = per_second
        self._second = 0
        self._count = 0
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        second = int(record.created)
        if second != self._second:
            if self.suppressed:
                record.msg = f"{record.msg} ({self.suppressed} similar lines suppressed)"
            self._second, self._count, self.suppressed = second, 0, 0
        self._count += 1
        if self._count > self.per_second:
            self.suppressed += 1
            return False
        return True


class TruncatingFilter(logging.Filter):
    """String arguments of a log record truncated and control characters escaped.

    Log arguments carry client input (uids, types, callsigns, refusal details);
    one 1 MiB uid must not become a 1 MiB line, and a CR/LF in it must not forge a
    line of its own. The format string is the server's and stays as it is.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(printable(a) if isinstance(a, str) else a for a in args)
        return True
