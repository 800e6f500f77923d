"""Certificate enrollment end to end with pytak's own client, then mutual TLS (issue 12).

pytak's ``CertificateEnrollment`` talks to port 8446 (TAK's convention, fixed in
pytak), so the server's enrollment listener binds 127.0.0.1:8446; the test
skips, saying so, when another process holds that port.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import sqlite3
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner, Result

from allied_c2.cli.main import app
from tests.support.server import ServerProcess

runner = CliRunner()


def ok(*args: str, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


ENROLL_PORT = 8446


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def call(path: str, user: str, secret: str, body: bytes | None = None, accept: str = "*/*"):
    request = urllib.request.Request(f"https://127.0.0.1:{ENROLL_PORT}{path}", data=body)
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Accept", accept)
    if body is not None:
        request.add_header("Content-Type", "application/pkcs10")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=20, context=context) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def csr_for(cn: str, *, ou: str = "TAK") -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "allied-c2"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def tls_offer(data_dir: Path, p12: Path, password: bytes, address: tuple[str, int]) -> bytes:
    """Connect to the CoT TLS listener with the enrolled certificate; what the server says."""
    key, cert, _ = pkcs12.load_key_and_certificates(p12.read_bytes(), password)
    assert key is not None and cert is not None
    pem = p12.with_suffix(".pem")
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(cafile=str(data_dir / "pki" / "ca.pem"))
    context.check_hostname = False
    context.load_cert_chain(str(pem))
    with socket.create_connection(address, timeout=10) as raw, context.wrap_socket(raw) as tls:
        tls.settimeout(10)
        data = b""
        while b"</event>" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


@pytest.mark.slow
@pytest.mark.timeout(600)  # two RSA 4096 keys in pytak, a server process, Argon2 hashes
def test_pytak_enrolls_with_a_one_time_token_and_connects(tmp_path: Path) -> None:
    if not port_free(ENROLL_PORT):
        pytest.skip(f"port {ENROLL_PORT} is in use here (pytak's enrollment port is fixed)")
    from pytak.crypto_classes import CertificateEnrollment

    data = tmp_path / "data"
    common = ["--data-dir", str(data), "--clearance", "SECRET"]
    ok("user", "add", "--callsign", "SAKURA", "--nation", "JPN", *common)
    ok("user", "add", "--callsign", "EAGLE", "--nation", "USA", "--password", *common,
       env={"ALLIED_C2_PASSWORD": "correct horse battery"})  # fmt: skip
    invited = ok(
        "user", "invite", "SAKURA", "--data-dir", str(data), "--host", "127.0.0.1",
        "--expires", "1h", "--png", str(tmp_path / "qr.png"),
    ).output  # fmt: skip
    token = re.search(r"^token:\s+(\S+)$", invited, re.M).group(1)  # type: ignore[union-attr]
    assert "tak://com.atakmap.app/enroll?host=127.0.0.1&username=SAKURA&token=" in invited
    assert (tmp_path / "qr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    server = ServerProcess(data, "--enroll", f"127.0.0.1:{ENROLL_PORT}", tls=True)
    server.start(timeout=180)  # generous: this machine may be shared with load tests
    try:
        p12 = tmp_path / "sakura.p12"
        enrollment = CertificateEnrollment()
        asyncio.run(
            enrollment.begin_enrollment(
                "127.0.0.1", "SAKURA", token, trust_all=True, use_v2=True,
                output_path=str(p12), passphrase="enrolled-pass",
            )
        )  # fmt: skip
        assert p12.exists(), server.log()
        offer = tls_offer(data, p12, b"enrolled-pass", server.address("cot_tls"))
        assert b"t-x-takp-v" in offer  # the TLS listener knew the certificate's principal
        # Bound to the principal: nation and clearance come from the server's record.
        _, cert, _ = pkcs12.load_key_and_certificates(p12.read_bytes(), b"enrolled-pass")
        assert cert is not None
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "SAKURA"

        # The token worked once.
        again = tmp_path / "again.p12"
        asyncio.run(
            enrollment.begin_enrollment(
                "127.0.0.1", "SAKURA", token, trust_all=True, output_path=str(again)
            )
        )
        assert not again.exists()
        assert call("/Marti/api/tls/signClient/v2", "SAKURA", token, csr_for("SAKURA"))[0] == 401

        # v1 with a password: a PKCS#12 without a key, signedCert and ca0 as ATAK needs.
        status, body, _ = call(
            "/Marti/api/tls/signClient?clientUid=ANDROID-1", "EAGLE", "correct horse battery",
            csr_for("EAGLE"),
        )  # fmt: skip
        assert status == 200
        bundle = pkcs12.load_pkcs12(body, b"atakatak")
        assert bundle.key is None
        names = [c.friendly_name for c in bundle.additional_certs]
        assert names == [b"signedCert", b"ca0"]
        # v2 as XML; a CSR that does not follow the name entries is refused.
        status, body, _ = call(
            "/Marti/api/tls/signClient/v2", "EAGLE", "correct horse battery", csr_for("EAGLE"),
            accept="application/xml",
        )  # fmt: skip
        assert status == 200 and body.startswith(b"<enrollment><signedCert>")
        status, _, _ = call(
            "/Marti/api/tls/signClient/v2", "EAGLE", "correct horse battery",
            csr_for("EAGLE", ou="Somewhere else"),
        )  # fmt: skip
        assert status == 400
        assert call("/Marti/api/tls/signClient/v2", "EAGLE", "correct horse battery",
                    csr_for("SAKURA"))[0] == 400  # fmt: skip
        config = call("/Marti/api/tls/config", "EAGLE", "correct horse battery")
        assert config[0] == 200 and b'nameEntry name="OU" value="TAK"' in config[1]
        assert call("/Marti/api/tls/profile/enrollment", "EAGLE", "correct horse battery")[0] == 204

        # Wrong passwords: refused, then rate-limited, the right one included.
        statuses = [call("/Marti/api/tls/config", "EAGLE", "wrong guess")[0] for _ in range(7)]
        assert statuses[0] == 401 and statuses[-1] == 429
        assert call("/Marti/api/tls/config", "EAGLE", "correct horse battery")[0] == 429
    finally:
        server.stop()
    with sqlite3.connect(data / "allied-c2.db") as db:
        actions = {row[0] for row in db.execute("SELECT action FROM audit_log")}
    assert {"enroll.refused", "certificate.issue", "enroll.invite"} <= actions
