"""Principals' server-side groups (TAK channels) in the database.

A membership change bumps the principals' revision counter like any other
principal change, so a running server's directory sees it within a poll and
sends the affected clients ``t-x-g-c`` (server/service.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine, Table, delete, select

from allied_c2.security.groups import Membership
from allied_c2.store.models import PrincipalRow
from allied_c2.store.principals import UnknownPrincipal, _bump, _touch
from allied_c2.store.tak_models import PrincipalGroupRow

_P = cast(Table, PrincipalRow.__table__)
_G = cast(Table, PrincipalGroupRow.__table__)


class GroupStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    def set(self, callsign: str, memberships: Iterable[Membership]) -> list[Membership]:
        """Replace an active principal's groups; returns the groups it had before."""
        chosen = {m.name: m for m in memberships}  # a name given twice: the last wins
        now = self._clock()
        with self._engine.begin() as conn:
            revision = _bump(conn)
            row = conn.execute(
                select(_P.c.id).where(_P.c.callsign == callsign, _P.c.revoked.is_(False))
            ).first()
            if row is None:
                raise UnknownPrincipal(f"no active principal {callsign!r}")
            before = [
                Membership(r.name, r.direction)
                for r in conn.execute(select(_G).where(_G.c.principal_id == row.id))
            ]
            conn.execute(delete(_G).where(_G.c.principal_id == row.id))
            for membership in sorted(chosen.values()):
                conn.execute(
                    _G.insert().values(
                        principal_id=row.id,
                        name=membership.name,
                        direction=membership.direction,
                        created_at=now,
                    )
                )
            _touch(conn, int(row.id), revision, now)
        return sorted(before)

    def of(self, callsign: str) -> list[Membership]:
        query = (
            select(_G.c.name, _G.c.direction)
            .join(_P, _P.c.id == _G.c.principal_id)
            .where(_P.c.callsign == callsign)
            .order_by(_G.c.name)
        )
        with self._engine.connect() as conn:
            return [Membership(r.name, r.direction) for r in conn.execute(query)]

    def all(self) -> dict[str, list[Membership]]:
        """Every active principal's groups (principals without groups are left out)."""
        query = (
            select(_P.c.callsign, _G.c.name, _G.c.direction)
            .join(_P, _P.c.id == _G.c.principal_id)
            .where(_P.c.revoked.is_(False))
            .order_by(_P.c.callsign, _G.c.name)
        )
        out: dict[str, list[Membership]] = {}
        with self._engine.connect() as conn:
            for r in conn.execute(query):
                out.setdefault(r.callsign, []).append(Membership(r.name, r.direction))
        return out

    def names(self) -> list[str]:
        """Every group name in use."""
        with self._engine.connect() as conn:
            return sorted({r.name for r in conn.execute(select(_G.c.name).distinct())})
