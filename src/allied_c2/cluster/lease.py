"""One owner per job across the cluster: a PostgreSQL session advisory lock.

The lock lives as long as the database session that took it: a node that dies
(kill -9, power, network) loses its connection and with it the lock, and the
next node that asks gets it. Blocking calls: run them off the event loop.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("allied_c2.cluster")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (pg_advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Lease:
    def __init__(self, engine: Engine, name: str) -> None:
        self.name = name
        self.key = lock_key(name)
        self._engine = engine
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it now."""
        if self._conn is not None:
            return self.check()
        conn = self._engine.connect()
        try:
            # A holder cut off by the network must lose the lock in seconds, not in
            # the two hours of the default TCP keepalive: the server ends its session.
            for setting in ("tcp_keepalives_idle = 3", "tcp_keepalives_interval = 1"):
                conn.execute(text(f"SET {setting}"))
            conn.execute(text("SET tcp_keepalives_count = 3"))
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
        log.info("lease %s taken", self.name)
        return True

    def check(self) -> bool:
        """Is the session that holds the lock still there? False (and released) if not."""
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.execute(text("SELECT 1")).scalar()
            conn.commit()
            return True
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
