"""What certificate enrollment accepts: a user's password or a one-time enrollment token.

Passwords are stored as Argon2id hashes (argon2-cffi's defaults follow RFC
9106's second recommended option); a token is 256 random bits, stored as its
SHA-256 like API tokens (store/principal_records.py), valid until its expiry
and spent by its first successful use. ``check`` is the only verifier: it
answers the principal's callsign or None, and never says which part failed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, Table, select, update

from allied_c2.store.models import PrincipalRow
from allied_c2.store.principals import UnknownPrincipal
from allied_c2.store.tak_models import EnrollmentCredentialRow

_P = cast(Table, PrincipalRow.__table__)
_E = cast(Table, EnrollmentCredentialRow.__table__)

PASSWORD = "password"
TOKEN = "token"
TOKEN_PREFIX = "enr_"
MIN_PASSWORD = 12  # NIST SP 800-63B: at least 8; 12 for a credential that mints certificates
_HASHER = PasswordHasher()


@dataclass(frozen=True, slots=True)
class Invitation:
    token: str
    expires_at: datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class CredentialStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._clock = clock or (lambda: datetime.now(UTC))

    def _principal_id(self, callsign: str) -> int:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(_P.c.id).where(_P.c.callsign == callsign, _P.c.revoked.is_(False))
            ).first()
        if row is None:
            raise UnknownPrincipal(f"no active principal {callsign!r}")
        return int(row.id)

    def set_password(self, callsign: str, password: str) -> None:
        """Replace the principal's enrollment password (the old one stops working)."""
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
        principal_id = self._principal_id(callsign)
        now = self._clock()
        with self._engine.begin() as conn:
            conn.execute(
                update(_E)
                .where(_E.c.principal_id == principal_id, _E.c.kind == PASSWORD)
                .values(revoked=True)
            )
            conn.execute(
                _E.insert().values(
                    principal_id=principal_id,
                    kind=PASSWORD,
                    secret_hash=_HASHER.hash(password),
                    revoked=False,
                    created_at=now,
                )
            )

    def invite(self, callsign: str, expires_at: datetime) -> Invitation:
        """A one-time enrollment token for the principal, valid until ``expires_at``."""
        principal_id = self._principal_id(callsign)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            conn.execute(
                _E.insert().values(
                    principal_id=principal_id,
                    kind=TOKEN,
                    secret_hash=_token_hash(token),
                    expires_at=expires_at,
                    revoked=False,
                    created_at=self._clock(),
                )
            )
        return Invitation(token, expires_at)

    def revoke_token(self, token: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(_E).where(_E.c.secret_hash == _token_hash(token)).values(revoked=True)
            )

    def check(self, username: str, secret: str, *, spend: bool = False) -> str | None:
        """The callsign these credentials belong to, or None. ``spend`` uses a token up
        (signing a certificate does; reading the name entries first does not)."""
        now = self._clock()
        if secret.startswith(TOKEN_PREFIX):
            if not spend:
                query = (
                    select(_E.c.id)
                    .join(_P, _P.c.id == _E.c.principal_id)
                    .where(
                        _P.c.callsign == username,
                        _P.c.revoked.is_(False),
                        _E.c.kind == TOKEN,
                        _E.c.secret_hash == _token_hash(secret),
                        _E.c.used_at.is_(None),
                        _E.c.revoked.is_(False),
                        _E.c.expires_at > now,
                    )
                )
                with self._engine.connect() as conn:
                    return username if conn.execute(query).first() is not None else None
            with self._engine.begin() as conn:
                spent = conn.execute(
                    update(_E)
                    .where(
                        _E.c.kind == TOKEN,
                        _E.c.secret_hash == _token_hash(secret),
                        _E.c.used_at.is_(None),
                        _E.c.revoked.is_(False),
                        _E.c.expires_at > now,
                        _E.c.principal_id.in_(
                            select(_P.c.id).where(
                                _P.c.callsign == username, _P.c.revoked.is_(False)
                            )
                        ),
                    )
                    .values(used_at=now)
                ).rowcount
            return username if spent else None
        query = (
            select(_E.c.secret_hash)
            .join(_P, _P.c.id == _E.c.principal_id)
            .where(
                _P.c.callsign == username,
                _P.c.revoked.is_(False),
                _E.c.kind == PASSWORD,
                _E.c.revoked.is_(False),
            )
        )
        with self._engine.connect() as conn:
            stored = conn.execute(query).scalar()
        if stored is None:
            _HASHER.hash(secret)  # the same cost whether or not the user exists
            return None
        try:
            _HASHER.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return None
        return username
