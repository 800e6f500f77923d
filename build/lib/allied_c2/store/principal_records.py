"""What the principal store hands out and refuses: records, errors, validation."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from allied_c2.security.principals import ROLES, Principal

NATION = re.compile(r"^[A-Z]{3}$")
TOKEN_PREFIX = "ac2_"


class PrincipalError(ValueError):
    """A principal operation cannot be done; the message says why."""


class PrincipalExists(PrincipalError):
    pass


class UnknownPrincipal(PrincipalError):
    pass


def validate_principal(principal: Principal) -> None:
    """Refuse attributes the release decision could misread."""
    if not principal.callsign or principal.callsign != principal.callsign.strip():
        raise PrincipalError(f"callsign {principal.callsign!r} is empty or padded with spaces")
    if principal.nation is not None and not NATION.match(principal.nation):
        raise PrincipalError(
            f"nation {principal.nation!r} is not an ISO 3166 alpha-3 code (3 capital letters)"
        )
    if not principal.clearance.strip():
        raise PrincipalError("clearance is empty")
    unknown = sorted(set(principal.roles) - set(ROLES))
    if unknown:
        raise PrincipalError(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
    if any(not coi.strip() for coi in principal.cois):
        raise PrincipalError("empty community of interest")


def fingerprint_key(fingerprint: str) -> str:
    """SHA-256 fingerprints compare as lower-case hex without separators."""
    return fingerprint.replace(":", "").strip().lower()


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so an unsalted hash cannot be brute-forced.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PrincipalRecord:
    principal: Principal
    revoked: bool
    created_at: datetime
    updated_at: datetime
    revision: int
    active_certificates: int = 0


@dataclass(frozen=True, slots=True)
class PrincipalChange:
    callsign: str
    revision: int
    principal: Principal | None  # None: revoked


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    fingerprint: str
    serial: str
    not_after: datetime
    revoked: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    callsign: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    token: str  # shown once; only its hash is stored
    expires_at: datetime | None
