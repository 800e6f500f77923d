"""Principals, their certificates and API tokens, as stored in the database.

The server looks a connection's principal up by certificate fingerprint or token
at connect time, and polls :meth:`PrincipalStore.revision` to apply changes and
revocations to live connections: every change to a principal, one of its
certificates or tokens bumps a global counter and stamps the principal's row.
"""

from __future__ import annotations

import builtins
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.exc import IntegrityError

from allied_c2.security.principals import Principal
from allied_c2.store.models import (
    PRINCIPALS_REVISION,
    CertificateRow,
    Counter,
    PrincipalRow,
    TokenRow,
)
from allied_c2.store.principal_records import (
    NATION,
    TOKEN_PREFIX,
    CertificateInfo,
    IssuedToken,
    PrincipalChange,
    PrincipalError,
    PrincipalExists,
    PrincipalRecord,
    TokenInfo,
    UnknownPrincipal,
    fingerprint_key,
    token_hash,
    validate_principal,
)

__all__ = [
    "NATION",
    "CertificateInfo",
    "IssuedToken",
    "PrincipalChange",
    "PrincipalError",
    "PrincipalExists",
    "PrincipalRecord",
    "PrincipalStore",
    "TokenInfo",
    "UnknownPrincipal",
    "fingerprint_key",
    "token_hash",
    "validate_principal",
]

_P = cast(Table, PrincipalRow.__table__)
_C = cast(Table, CertificateRow.__table__)
_T = cast(Table, TokenRow.__table__)
_COUNTERS = cast(Table, Counter.__table__)


def _principal(row: Any) -> Principal:
    return Principal(
        callsign=row.callsign,
        nation=row.nation,
        clearance=row.clearance,
        cois=frozenset(json.loads(row.cois)),
        roles=frozenset(json.loads(row.roles)),
        organisation=row.organisation,
    )


def _attributes(principal: Principal) -> dict[str, Any]:
    return {
        "nation": principal.nation,
        "clearance": principal.clearance,
        "cois": json.dumps(sorted(principal.cois)),
        "roles": json.dumps(sorted(principal.roles)),
        "organisation": principal.organisation,
    }


class _NoChange(Exception):
    """Nothing to change: roll the transaction back, with its revision bump."""


class PrincipalStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- principals --------------------------------------------------------

    def add(self, principal: Principal) -> PrincipalRecord:
        """Store a new principal; a revoked one with the same callsign is re-enrolled
        (its old certificates and tokens stay revoked)."""
        validate_principal(principal)
        now = self._clock()
        try:
            with self._engine.begin() as conn:
                revision = _bump(conn)
                existing = conn.execute(
                    select(_P.c.id, _P.c.revoked).where(_P.c.callsign == principal.callsign)
                ).first()
                if existing is not None and not existing.revoked:
                    raise PrincipalExists(f"principal {principal.callsign!r} already exists")
                values = {**_attributes(principal), "revoked": False, "updated_at": now}
                values["revision"] = revision
                if existing is None:
                    conn.execute(
                        _P.insert().values(callsign=principal.callsign, created_at=now, **values)
                    )
                else:
                    conn.execute(update(_P).where(_P.c.id == existing.id).values(**values))
        except IntegrityError as exc:  # another process added it concurrently
            raise PrincipalExists(f"principal {principal.callsign!r} already exists") from exc
        return self._require(principal.callsign)

    def update(self, principal: Principal) -> PrincipalRecord:
        """Change an active principal's attributes (certificates stay valid)."""
        validate_principal(principal)
        with self._engine.begin() as conn:
            revision = _bump(conn)
            changed = conn.execute(
                update(_P)
                .where(_P.c.callsign == principal.callsign, _P.c.revoked.is_(False))
                .values(**_attributes(principal), updated_at=self._clock(), revision=revision)
            ).rowcount
            if not changed:
                raise UnknownPrincipal(f"no active principal {principal.callsign!r}")
        return self._require(principal.callsign)

    def get(self, callsign: str) -> Principal | None:
        """The active (not revoked) principal with this callsign."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_P).where(_P.c.callsign == callsign, _P.c.revoked.is_(False))
            ).first()
        return None if row is None else _principal(row)

    def record(self, callsign: str) -> PrincipalRecord | None:
        records = self._records(_P.c.callsign == callsign)
        return records[0] if records else None

    def list(self) -> builtins.list[PrincipalRecord]:
        return self._records(None)

    def revoke(self, callsign: str) -> bool:
        """Revoke the principal with all its certificates and tokens.

        Returns False when there is no active principal of that name.
        """
        try:
            with self._engine.begin() as conn:
                revision = _bump(conn)
                row = conn.execute(
                    select(_P.c.id).where(_P.c.callsign == callsign, _P.c.revoked.is_(False))
                ).first()
                if row is None:
                    raise _NoChange
                now = self._clock()
                conn.execute(
                    update(_P)
                    .where(_P.c.id == row.id)
                    .values(revoked=True, updated_at=now, revision=revision)
                )
                conn.execute(update(_C).where(_C.c.principal_id == row.id).values(revoked=True))
                conn.execute(update(_T).where(_T.c.principal_id == row.id).values(revoked=True))
        except _NoChange:
            return False
        return True

    # -- certificates ------------------------------------------------------

    def record_certificate(
        self, callsign: str, fingerprint: str, serial: int | str, not_after: datetime
    ) -> None:
        """Bind an issued certificate to an active principal."""
        serial_text = format(serial, "x") if isinstance(serial, int) else serial
        with self._engine.begin() as conn:
            revision = _bump(conn)
            principal_id = self._active_id(conn, callsign)
            conn.execute(
                _C.insert().values(
                    fingerprint=fingerprint_key(fingerprint),
                    principal_id=principal_id,
                    serial=serial_text,
                    not_after=not_after,
                    revoked=False,
                    created_at=self._clock(),
                )
            )
            _touch(conn, principal_id, revision, self._clock())

    def revoke_certificate(self, fingerprint: str) -> bool:
        try:
            with self._engine.begin() as conn:
                revision = _bump(conn)
                row = conn.execute(
                    select(_C.c.id, _C.c.principal_id).where(
                        _C.c.fingerprint == fingerprint_key(fingerprint), _C.c.revoked.is_(False)
                    )
                ).first()
                if row is None:
                    raise _NoChange
                conn.execute(update(_C).where(_C.c.id == row.id).values(revoked=True))
                _touch(conn, row.principal_id, revision, self._clock())
        except _NoChange:
            return False
        return True

    def certificates(self, callsign: str) -> builtins.list[CertificateInfo]:
        query = (
            select(_C)
            .join(_P, _P.c.id == _C.c.principal_id)
            .where(_P.c.callsign == callsign)
            .order_by(_C.c.id)
        )
        with self._engine.connect() as conn:
            return [
                CertificateInfo(r.fingerprint, r.serial, r.not_after, r.revoked, r.created_at)
                for r in conn.execute(query)
            ]

    def by_fingerprint(self, fingerprint: str) -> Principal | None:
        """The principal a client certificate stands for; None if unknown, revoked or expired."""
        query = (
            select(_P)
            .join(_C, _C.c.principal_id == _P.c.id)
            .where(
                _C.c.fingerprint == fingerprint_key(fingerprint),
                _C.c.revoked.is_(False),
                _C.c.not_after > self._clock(),
                _P.c.revoked.is_(False),
            )
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _principal(row)

    # -- tokens ------------------------------------------------------------

    def issue_token(self, callsign: str, expires: datetime | None = None) -> IssuedToken:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            revision = _bump(conn)
            principal_id = self._active_id(conn, callsign)
            now = self._clock()
            token_id = conn.execute(
                _T.insert()
                .values(
                    hash=token_hash(token),
                    principal_id=principal_id,
                    created_at=now,
                    expires_at=expires,
                    revoked=False,
                )
                .returning(_T.c.id)
            ).scalar_one()
            _touch(conn, principal_id, revision, now)
        return IssuedToken(int(token_id), token, expires)

    def create_token(self, callsign: str, expires: datetime | None = None) -> str:
        """A new bearer token for the principal (returned once; only its hash is kept)."""
        return self.issue_token(callsign, expires).token

    def tokens(self, callsign: str | None = None) -> builtins.list[TokenInfo]:
        query = select(_T, _P.c.callsign).join(_P, _P.c.id == _T.c.principal_id)
        if callsign is not None:
            query = query.where(_P.c.callsign == callsign)
        with self._engine.connect() as conn:
            return [
                TokenInfo(r.id, r.callsign, r.created_at, r.expires_at, r.revoked)
                for r in conn.execute(query.order_by(_T.c.id))
            ]

    def revoke_token(self, token_id: int) -> bool:
        try:
            with self._engine.begin() as conn:
                revision = _bump(conn)
                row = conn.execute(
                    select(_T.c.principal_id).where(_T.c.id == token_id, _T.c.revoked.is_(False))
                ).first()
                if row is None:
                    raise _NoChange
                conn.execute(update(_T).where(_T.c.id == token_id).values(revoked=True))
                _touch(conn, row.principal_id, revision, self._clock())
        except _NoChange:
            return False
        return True

    def by_token(self, token: str) -> Principal | None:
        """The principal a bearer token stands for; None if unknown, revoked or expired."""
        now = self._clock()
        query = (
            select(_P)
            .join(_T, _T.c.principal_id == _P.c.id)
            .where(
                _T.c.hash == token_hash(token),
                _T.c.revoked.is_(False),
                (_T.c.expires_at.is_(None)) | (_T.c.expires_at > now),
                _P.c.revoked.is_(False),
            )
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _principal(row)

    def next_token_expiry(self) -> datetime | None:
        """When the next active token expires (None: none will). An expiry moves no
        revision, so the directory asks this to re-check live sessions at that moment."""
        query = select(func.min(_T.c.expires_at)).where(
            _T.c.revoked.is_(False), _T.c.expires_at > self._clock()
        )
        with self._engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        if value is not None and value.tzinfo is None:  # SQLite hands back naive UTC
            value = value.replace(tzinfo=UTC)
        return cast("datetime | None", value)

    # -- change tracking ---------------------------------------------------

    def revision(self) -> int:
        """The newest change's revision; poll it and call :meth:`changes_since` when it moves."""
        with self._engine.connect() as conn:
            value = conn.execute(
                select(_COUNTERS.c.value).where(_COUNTERS.c.name == PRINCIPALS_REVISION)
            ).scalar_one()
        return int(value)

    def changes_since(self, revision: int) -> builtins.list[PrincipalChange]:
        """Principals changed after ``revision`` (attributes, certificates, tokens or
        revocation); a revoked principal comes back with ``principal=None``.

        A certificate or token revocation is reported as a change of its principal:
        re-check that principal's connections with :meth:`by_fingerprint`.
        """
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(_P).where(_P.c.revision > revision).order_by(_P.c.revision)
            ).all()
        return [
            PrincipalChange(row.callsign, row.revision, None if row.revoked else _principal(row))
            for row in rows
        ]

    def revoked_since(self, revision: int) -> set[str]:
        return {c.callsign for c in self.changes_since(revision) if c.principal is None}

    # -- helpers -----------------------------------------------------------

    def _require(self, callsign: str) -> PrincipalRecord:
        record = self.record(callsign)
        if record is None:
            raise UnknownPrincipal(f"no principal {callsign!r}")
        return record

    @staticmethod
    def _active_id(conn: Connection, callsign: str) -> int:
        row = conn.execute(
            select(_P.c.id).where(_P.c.callsign == callsign, _P.c.revoked.is_(False))
        ).first()
        if row is None:
            raise UnknownPrincipal(f"no active principal {callsign!r}")
        return int(row.id)

    def _records(self, where: Any) -> builtins.list[PrincipalRecord]:
        active = (
            select(func.count())
            .where(
                _C.c.principal_id == _P.c.id,
                _C.c.revoked.is_(False),
                _C.c.not_after > self._clock(),
            )
            .scalar_subquery()
        )
        query = select(_P, active.label("active_certificates")).order_by(_P.c.callsign)
        if where is not None:
            query = query.where(where)
        with self._engine.connect() as conn:
            return [
                PrincipalRecord(
                    _principal(r),
                    bool(r.revoked),
                    r.created_at,
                    r.updated_at,
                    int(r.revision),
                    int(r.active_certificates),
                )
                for r in conn.execute(query)
            ]


def _bump(conn: Connection) -> int:
    """Take the next revision; first in each write transaction so its row lock
    (PostgreSQL) or write lock (SQLite) orders concurrent changes by commit."""
    value = conn.execute(
        update(_COUNTERS)
        .where(_COUNTERS.c.name == PRINCIPALS_REVISION)
        .values(value=_COUNTERS.c.value + 1)
        .returning(_COUNTERS.c.value)
    ).scalar_one()
    return int(value)


def _touch(conn: Connection, principal_id: int, revision: int, now: datetime) -> None:
    conn.execute(
        update(_P).where(_P.c.id == principal_id).values(revision=revision, updated_at=now)
    )
