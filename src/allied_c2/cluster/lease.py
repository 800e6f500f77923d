"""One owner per job across the cluster: a PostgreSQL session advisory lock.

The lock lives as long as the database session that took it: a node that dies
(kill -9, power, network) loses its connection and with it the lock, and the
next node that asks gets it. Blocking calls: run them off the event loop.

A holder cut off from PostgreSQL by the network cannot learn at once that its session
is gone, and a check it sends may hang until the TCP timeout. So the holder believes
it holds the lease only for ``VALID`` seconds after the last check that PostgreSQL
answered (counted from when that check was sent): the server ends a silent session
after its keepalives (``SERVER_SILENCE`` seconds, set below on the session), so
another node can take the lock no earlier than that, and ``VALID`` is shorter.
Between the two, for a moment, nobody runs the job; never two nodes at once.
"""

from __future__ import annotations

import hashlib
import logging
import time

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("allied_c2.cluster")

# The session's server-side keepalives: idle 3 s, then 3 probes 1 s apart, so a
# holder that went silent loses its session (and the lock) about 6 s after the last
# packet PostgreSQL received from it.
KEEPALIVES = {"tcp_keepalives_idle": 3, "tcp_keepalives_interval": 1, "tcp_keepalives_count": 3}
SERVER_SILENCE = 6.0
# How long an answered check vouches for the lease. Holders check every 2 s (the
# callers' poll), so a healthy one is always fresh; below SERVER_SILENCE with room
# for a check's round trip and a late thread.
VALID = 4.0


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (pg_advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Lease:
    def __init__(self, engine: Engine, name: str) -> None:
        self.name = name
        self.key = lock_key(name)
        self._engine = engine
        self._conn: Connection | None = None
        self._confirmed = 0.0  # time.monotonic() when the last answered check was sent

    @property
    def held(self) -> bool:
        """True while the lock is ours and PostgreSQL said so less than VALID s ago."""
        return self._conn is not None and time.monotonic() - self._confirmed < VALID

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it now."""
        if self._conn is not None:
            return self.check()
        sent = time.monotonic()
        conn = self._engine.connect()
        try:
            # A holder cut off by the network must lose the lock in seconds, not in
            # the two hours of the default TCP keepalive: the server ends its session.
            for name, value in KEEPALIVES.items():
                conn.execute(text(f"SET {name} = {int(value)}"))
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            )
            conn.commit()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        self._confirmed = sent
        log.info("lease %s taken", self.name)
        return True

    def check(self) -> bool:
        """Is the session that holds the lock still there? False (and released) if not."""
        conn = self._conn
        if conn is None:
            return False
        sent = time.monotonic()
        try:
            conn.execute(text("SELECT 1")).scalar()
            conn.commit()
            if self._conn is conn:
                self._confirmed = sent
            return self.held
        except Exception as exc:
            log.warning("lease %s lost: %s", self.name, exc)
            self._drop()
            return False

    def release(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            conn.commit()
        except Exception:  # the session is gone: so is the lock
            pass
        self._drop()
        log.info("lease %s released", self.name)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never back to the pool holding a lock
                conn.close()
            except Exception:
                pass
