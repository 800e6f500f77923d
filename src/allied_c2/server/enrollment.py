"""Certificate enrollment decided: requests in, responses out (the HTTP edge: web/enroll.py).

Credentials are HTTP Basic (TS ``security-context.xml``): a user's password or
a one-time enrollment token (``allied-c2 user invite``), checked by the
injected ``check``. Reading the name entries does not spend a token; signing
does, so a token enrolls once. Failed attempts are rate-limited per source
address and per user name (``security/limits.py`` token buckets: a burst of
``FAILURES_BURST``, then one more a minute; while a key is failing, every
attempt takes a token, so a guesser is slowed even when it guesses right) and
audited (``enroll.refused``); an issued certificate is recorded against the
principal the credentials belong to and audited (``certificate.issue``).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from allied_c2.pki.authority import CertificateAuthority
from allied_c2.pki.enroll import (
    CsrError,
    check_csr,
    load_csr,
    sign_csr,
    tls_config_xml,
    v1_pkcs12,
    v2_json,
    v2_xml,
)
from allied_c2.security.limits import RateLimiter, truncate

log = logging.getLogger("allied_c2.enroll")

PREFIX = "/Marti/api/tls/"
FAILURES_BURST = 5
FAILURES_PER_SECOND = 1 / 60
MAX_CSR = 64 * 1024
REALM = 'Basic realm="allied-c2 enrollment"'

Check = Callable[[str, str, bool], str | None]  # username, secret, spend -> callsign
Record = Callable[[str, x509.Certificate], None]
Audit = Callable[[str, str, str, dict[str, object]], None]


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    accept: str | None
    body: bytes
    peer: str  # the source address, without its port


@dataclass(slots=True)
class EnrollResponse:
    status: int
    body: bytes = b""
    media_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, secret) if sep and user else None


class Enrollment:
    def __init__(
        self,
        *,
        authority: CertificateAuthority,
        check: Check,
        record: Record,
        audit: Audit,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.authority = authority
        self._check = check
        self._record = record
        self._audit = audit
        self._limiter = limiter or RateLimiter(FAILURES_PER_SECOND, FAILURES_BURST)
        self._failing: set[tuple[str, str]] = set()

    def handle(self, request: EnrollRequest) -> EnrollResponse:
        if not request.path.startswith(PREFIX):
            return EnrollResponse(404, b"not found")
        endpoint = request.path[len(PREFIX) :].rstrip("/")
        known = {
            ("GET", "config"),
            ("POST", "signClient"),
            ("POST", "signClient/v2"),
            ("GET", "profile/enrollment"),
        }
        if (request.method, endpoint) not in known:
            log.info("enrollment: no %s %s", request.method, truncate(request.path))
            return EnrollResponse(404, b"not found")
        credentials = _basic(request.authorization)
        user = credentials[0] if credentials else "-"
        keys = [("peer", request.peer), ("user", user)]
        failing = [k for k in keys if k in self._failing]
        if any(not self._limiter.allow(k) for k in failing):
            self._refused(user, request, "rate_limited")
            return EnrollResponse(429, b"too many failed attempts", headers={"Retry-After": "60"})
        signing = endpoint.startswith("signClient")
        callsign = None
        if credentials is not None:
            callsign = self._check(credentials[0], credentials[1], signing)
        if callsign is None:
            for key in keys:
                if key not in failing:  # a failing key paid its token above
                    self._limiter.allow(key)
                if len(self._failing) > 10_000:
                    self._failing.clear()
                self._failing.add(key)
            self._refused(user, request, "bad_credentials")
            return EnrollResponse(401, b"invalid credentials", headers={"WWW-Authenticate": REALM})
        for key in keys:
            self._failing.discard(key)
        if endpoint == "config":
            return EnrollResponse(200, tls_config_xml().encode())
        if endpoint == "profile/enrollment":
            return EnrollResponse(204)  # no enrollment profile packages (TS ProfileAPI: 204)
        return self._sign(callsign, request, v2=endpoint.endswith("v2"))

    def _sign(self, callsign: str, request: EnrollRequest, *, v2: bool) -> EnrollResponse:
        accept = (request.accept or "*/*").lower()
        if v2 and not any(k in accept for k in ("json", "*/*", "xml")):
            return EnrollResponse(400, b"Accept JSON or XML")
        if len(request.body) > MAX_CSR:
            return EnrollResponse(413, b"certificate request too large")
        try:
            csr = load_csr(request.body)
            check_csr(csr, callsign)
        except CsrError as exc:
            self._refused(callsign, request, "bad_csr", str(exc))
            return EnrollResponse(400, str(exc).encode())
        signed = sign_csr(self.authority, csr, channels="version" in request.query)
        self._record(callsign, signed)
        fingerprint = signed.fingerprint(hashes.SHA256()).hex()
        self._audit(
            callsign,
            "certificate.issue",
            callsign,
            {
                "fingerprint": fingerprint,
                "serial": format(signed.serial_number, "x"),
                "not_after": signed.not_valid_after_utc.isoformat(),
                "via": "enrollment",
                "client_uid": truncate(request.query.get("clientUid", "")),
                "peer": request.peer,
            },
        )
        log.info("enrolled %s (%s) from %s", callsign, fingerprint[:16], request.peer)
        chain = [self.authority.certificate]
        if not v2:
            return EnrollResponse(200, v1_pkcs12(signed, chain), "application/x-pkcs12")
        if "xml" in accept and "json" not in accept:
            return EnrollResponse(200, v2_xml(signed, chain).encode(), "application/xml")
        return EnrollResponse(200, v2_json(signed, chain).encode(), "application/json")

    def _refused(self, user: str, request: EnrollRequest, reason: str, detail: str = "") -> None:
        log.warning("enrollment refused for %s from %s: %s", truncate(user), request.peer, reason)
        self._audit(
            truncate(user),
            "enroll.refused",
            truncate(request.path),
            {"reason": reason, "detail": detail, "peer": request.peer},
        )
