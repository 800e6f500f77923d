from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from allied_c2.pki.authority import CertificateAuthority, PkiError, PkiPaths, init_ca
from allied_c2.pki.bundle import write_client_bundle
from allied_c2.pki.tls import (
    certificate_fingerprint,
    client_ssl_context,
    peer_fingerprint,
    server_ssl_context,
)


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_init_ca_writes_ca_and_server_certificate(tmp_path: Path) -> None:
    paths = init_ca(tmp_path, ["tak.example.org", "10.1.2.3"])
    for path in (paths.ca_cert, paths.ca_key, paths.server_cert, paths.server_key):
        assert path.exists(), path
    for secret in (paths.ca_key, paths.server_key):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    ca, server = load(paths.ca_cert), load(paths.server_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server.verify_directly_issued_by(ca)
    assert isinstance(server.public_key(), rsa.RSAPublicKey)
    assert server.public_key().key_size == 2048  # type: ignore[union-attr]
    assert isinstance(server.signature_hash_algorithm, hashes.SHA256)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = san.get_values_for_type(x509.DNSName)
    ips = san.get_values_for_type(x509.IPAddress)
    assert {"localhost", socket.gethostname(), "tak.example.org"} <= set(dns)
    assert {ipaddress.ip_address(a) for a in ("127.0.0.1", "::1", "10.1.2.3")} <= set(ips)
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    lifetime = server.not_valid_after_utc - server.not_valid_before_utc
    assert lifetime.days <= 826  # iOS refuses longer-lived TLS server certificates


def test_init_ca_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    paths = init_ca(tmp_path)
    first = paths.ca_cert.read_bytes()
    with pytest.raises(PkiError, match="already exists"):
        init_ca(tmp_path)
    assert paths.ca_cert.read_bytes() == first
    init_ca(tmp_path, force=True)
    assert paths.ca_cert.read_bytes() != first


def test_client_certificate_and_bundle(tmp_path: Path) -> None:
    paths = init_ca(tmp_path)
    authority = CertificateAuthority.load(paths)
    issued = authority.issue_client("SAKURA-1")
    cert = issued.certificate
    cert.verify_directly_issued_by(authority.certificate)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "SAKURA-1"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert issued.fingerprint == certificate_fingerprint(cert.public_bytes(Encoding.DER))

    bundle = write_client_bundle(issued, authority.certificate, tmp_path / "out", "SAKURA-1", "pw")
    assert stat.S_IMODE(bundle.key.stat().st_mode) == 0o600
    assert load(bundle.cert) == cert
    assert load(bundle.ca) == authority.certificate
    p12 = pkcs12.load_pkcs12(bundle.p12.read_bytes(), b"pw")
    assert p12.cert is not None and p12.cert.certificate == cert
    assert p12.cert.friendly_name == b"SAKURA-1"
    assert [c.certificate for c in p12.additional_certs] == [authority.certificate]
    assert p12.key is not None
    assert p12.key.public_key().public_numbers() == issued.key.public_key().public_numbers()  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(bundle.p12.read_bytes(), b"wrong")
    trust = pkcs12.load_pkcs12(bundle.truststore.read_bytes(), b"pw")
    assert [c.certificate for c in trust.additional_certs] == [authority.certificate]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_p12_uses_legacy_encryption_android_can_read(tmp_path: Path) -> None:
    authority = CertificateAuthority.load(init_ca(tmp_path))
    bundle = write_client_bundle(
        authority.issue_client("A"), authority.certificate, tmp_path, "A", "atakatak"
    )
    info = subprocess.run(
        [
            "openssl",
            "pkcs12",
            "-info",
            "-noout",
            "-in",
            str(bundle.p12),
            "-passin",
            "pass:atakatak",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    text = info.stdout + info.stderr
    assert "pbeWithSHA1And3-KeyTripleDES-CBC" in text, text
    assert "MAC: sha1" in text, text


def test_bad_callsign_cannot_name_a_certificate(tmp_path: Path) -> None:
    authority = CertificateAuthority.load(init_ca(tmp_path))
    for bad in ("", "../etc", "a b", "x" * 65):
        with pytest.raises(PkiError):
            authority.issue_client(bad)


def test_load_without_ca(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="ca init"):
        CertificateAuthority.load(PkiPaths.under(tmp_path))
    with pytest.raises(PkiError, match="ca init"):
        server_ssl_context(tmp_path)


class OneShotServer:
    """Accepts one TLS connection on loopback and records the outcome."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.context = context
        self.fingerprint: str | None = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        raw, _ = self.listener.accept()
        raw.settimeout(10)
        try:
            with self.context.wrap_socket(raw, server_side=True) as conn:
                self.fingerprint = peer_fingerprint(conn)
                conn.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            self.error = exc
        finally:
            self.listener.close()

    def join(self) -> None:
        self.thread.join(10)


def handshake(server: OneShotServer, context: ssl.SSLContext, host: str = "localhost") -> bytes:
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as conn,
    ):
        return conn.recv(2)


def refused(server: OneShotServer, context: ssl.SSLContext) -> bool:
    # TLS 1.3 reports a client-certificate refusal only on the first read.
    try:
        return handshake(server, context) != b"ok"
    except (ssl.SSLError, OSError):
        return True


@pytest.fixture
def issued_client(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    authority = CertificateAuthority.load(init_ca(data))
    issued = authority.issue_client("EAGLE")
    write_client_bundle(issued, authority.certificate, tmp_path / "certs", "EAGLE")
    return data, issued.fingerprint


def test_mutual_tls_with_an_issued_certificate(
    tmp_path: Path, issued_client: tuple[Path, str]
) -> None:
    data, fingerprint = issued_client
    certs = tmp_path / "certs"
    server = OneShotServer(server_ssl_context(data))
    client = client_ssl_context(certs / "ca.pem", certs / "EAGLE.pem", certs / "EAGLE.key")
    assert handshake(server, client) == b"ok"
    server.join()
    assert server.error is None
    assert server.fingerprint == fingerprint
    # The server certificate is valid for the loopback address too.
    server = OneShotServer(server_ssl_context(data))
    assert handshake(server, client, host="127.0.0.1") == b"ok"
    server.join()


def test_mutual_tls_refuses_a_client_without_certificate(
    tmp_path: Path, issued_client: tuple[Path, str]
) -> None:
    data, _ = issued_client
    server = OneShotServer(server_ssl_context(data))
    client = client_ssl_context(tmp_path / "certs" / "ca.pem")
    assert refused(server, client)
    server.join()
    assert server.error is not None
    assert server.fingerprint is None


def test_mutual_tls_refuses_a_certificate_from_another_ca(
    tmp_path: Path, issued_client: tuple[Path, str]
) -> None:
    data, _ = issued_client
    rogue = CertificateAuthority.load(init_ca(tmp_path / "rogue"))
    write_client_bundle(
        rogue.issue_client("EAGLE"), rogue.certificate, tmp_path / "rogue-certs", "EAGLE"
    )
    server = OneShotServer(server_ssl_context(data))
    rogue_certs = tmp_path / "rogue-certs"
    client = client_ssl_context(
        tmp_path / "certs" / "ca.pem", rogue_certs / "EAGLE.pem", rogue_certs / "EAGLE.key"
    )
    assert refused(server, client)
    server.join()
    assert isinstance(server.error, ssl.SSLError)
    assert "certificate verify failed" in str(server.error)
    assert server.fingerprint is None


def test_optional_client_certificate(tmp_path: Path, issued_client: tuple[Path, str]) -> None:
    data, _ = issued_client
    server = OneShotServer(server_ssl_context(data, require_client_cert=False))
    assert handshake(server, client_ssl_context(tmp_path / "certs" / "ca.pem")) == b"ok"
    server.join()
    assert server.error is None and server.fingerprint is None


def test_server_context_requires_tls_1_2(tmp_path: Path, issued_client: tuple[Path, str]) -> None:
    data, _ = issued_client
    assert server_ssl_context(data).minimum_version >= ssl.TLSVersion.TLSv1_2
