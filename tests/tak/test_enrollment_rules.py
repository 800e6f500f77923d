"""Enrollment decided without sockets: credentials, one-time tokens, limits, the CA passphrase."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from allied_c2.app import build_runtime
from allied_c2.config import Config, ConfigError, Endpoint
from allied_c2.pki.authority import CA_PASSPHRASE_ENV, CertificateAuthority, init_ca
from allied_c2.server.enrollment import Enrollment, EnrollRequest
from allied_c2.store.credentials import CredentialStore
from tests.support.inprocess import InProcessServer


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def csr(cn: str) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "allied-c2"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "TAK"),
        ]
    )
    signed = (
        x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    )
    return base64.b64encode(signed.public_bytes(serialization_der()))


def serialization_der():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def request(path: str, auth: str, body: bytes = b"", peer: str = "192.0.2.1") -> EnrollRequest:
    method = "POST" if "sign" in path else "GET"
    return EnrollRequest(method, path, {}, auth, "application/json", body, peer)


def test_tokens_are_spent_by_signing_only_and_failures_are_limited(
    server: InProcessServer,
) -> None:
    engine = server.runtime.principals._engine  # type: ignore[attr-defined]
    credentials = CredentialStore(engine)
    invitation = credentials.invite("SAKURA", datetime.now(UTC) + timedelta(hours=1))
    expired = credentials.invite("SAKURA", datetime.now(UTC) - timedelta(seconds=1))
    issued: list[str] = []
    audit: list[tuple[str, str]] = []
    enrollment = Enrollment(
        authority=CertificateAuthority.create(),
        check=lambda u, s, spend: credentials.check(u, s, spend=spend),
        record=lambda callsign, cert: issued.append(callsign),
        audit=lambda actor, action, subject, detail: audit.append((actor, action)),
    )
    token = invitation.token
    config = enrollment.handle(request("/Marti/api/tls/config", basic("SAKURA", token)))
    assert config.status == 200 and b"nameEntry" in config.body
    assert enrollment.handle(request("/Marti/api/tls/config", basic("SAKURA", token))).status == 200
    signed = enrollment.handle(
        request("/Marti/api/tls/signClient/v2", basic("SAKURA", token), csr("SAKURA"))
    )
    assert signed.status == 200 and issued == ["SAKURA"]
    again = enrollment.handle(
        request("/Marti/api/tls/signClient/v2", basic("SAKURA", token), csr("SAKURA"))
    )
    assert again.status == 401
    # Another user's token, or an expired one, is no credential.
    assert enrollment.handle(request("/Marti/api/tls/config", basic("EAGLE", token))).status == 401
    expired_auth = basic("SAKURA", expired.token)
    assert (
        enrollment.handle(request("/Marti/api/tls/config", expired_auth, peer="192.0.2.9")).status
        == 401
    )
    # Repeated failures from one address: 429, whatever the credentials.
    statuses = [
        enrollment.handle(
            request("/Marti/api/tls/config", basic("AGILA", "guess"), peer="192.0.2.7")
        ).status
        for _ in range(7)
    ]
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    assert ("AGILA", "enroll.refused") in audit and ("SAKURA", "certificate.issue") in audit
    assert (
        enrollment.handle(request("/Marti/api/tls/nothing", basic("SAKURA", token))).status == 404
    )


def test_an_encrypted_ca_key_needs_its_passphrase_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    init_ca(data, passphrase=b"sesame-sesame")
    config = Config(
        data_dir=data, cot_tcp=None, cot_tls=None, http=None, enroll=Endpoint("127.0.0.1", 0)
    )
    monkeypatch.delenv(CA_PASSPHRASE_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"passphrase|encrypted"):
        build_runtime(config)
    monkeypatch.setenv(CA_PASSPHRASE_ENV, "sesame-sesame")
    runtime = build_runtime(config)
    try:
        assert runtime.enrollment is not None
    finally:
        runtime.writer.close()
        runtime.audit.close()
