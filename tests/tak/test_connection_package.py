"""`user package`: unzipped and parsed as ATAK imports it (issue 12)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from typer.testing import CliRunner, Result

from allied_c2.cli.main import app

runner = CliRunner()


def ok(*args: str | Path) -> Result:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def prefs(data: bytes) -> dict[str, dict[str, str]]:
    """ATAK's PreferenceControl view: preference name -> key -> value."""
    root = etree.fromstring(data)
    assert root.tag == "preferences"
    return {
        p.get("name"): {e.get("key"): e.text or "" for e in p.iterfind("entry")}
        for p in root.iterfind("preference")
    }


def test_atak_itak_and_enrollment_packages(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok("user", "add", "--data-dir", data, "--callsign", "SAKURA", "--nation", "JPN",
       "--clearance", "SECRET", "--out", tmp_path / "bundle")  # fmt: skip
    ca = x509.load_pem_x509_certificate((data / "pki" / "ca.pem").read_bytes())

    out = tmp_path / "sakura.zip"
    ok("user", "package", "SAKURA", "--host", "tak.example.test", "--out", out, "--data-dir", data)
    archive = zipfile.ZipFile(out)
    manifest = etree.fromstring(archive.read("MANIFEST/manifest.xml"))
    assert manifest.get("version") == "2"
    params = {p.get("name"): p.get("value") for p in manifest.iterfind("Configuration/Parameter")}
    assert params["uid"] and params["name"]
    entries = [c.get("zipEntry") for c in manifest.iterfind("Contents/Content")]
    assert sorted(entries) == sorted(n for n in archive.namelist() if not n.startswith("MANIFEST"))
    assert set(entries) == {"certs/server.pref", "certs/truststore-root.p12", "certs/SAKURA.p12"}
    pref = prefs(archive.read("certs/server.pref"))
    streams = pref["cot_streams"]
    assert streams["count"] == "1" and streams["enabled0"] == "true"
    assert streams["connectString0"] == "tak.example.test:8089:ssl"
    app_prefs = pref["com.atakmap.app_preferences"]
    assert app_prefs["certificateLocation"] == "cert/SAKURA.p12"
    assert app_prefs["caLocation"] == "cert/truststore-root.p12"
    password = app_prefs["clientPassword"].encode()
    key, cert, _ = pkcs12.load_key_and_certificates(archive.read("certs/SAKURA.p12"), password)
    assert key is not None and cert is not None
    assert cert.issuer == ca.subject
    trust = pkcs12.load_pkcs12(
        archive.read("certs/truststore-root.p12"), app_prefs["caPassword"].encode()
    )
    assert [c.certificate for c in trust.additional_certs] == [ca]

    enroll = tmp_path / "enroll.zip"
    ok("user", "package", "SAKURA", "--enroll", "--host", "10.0.0.1", "--out", enroll,
       "--data-dir", data)  # fmt: skip
    archive = zipfile.ZipFile(enroll)
    assert "certs/SAKURA.p12" not in archive.namelist()
    streams = prefs(archive.read("certs/server.pref"))["cot_streams"]
    assert streams["enrollForCertificateWithTrust0"] == "true" and streams["useAuth0"] == "true"
    assert streams["caLocation0"] == "cert/truststore-root.p12"

    itak = tmp_path / "itak.zip"
    ok("user", "package", "SAKURA", "--itak", "--host", "10.0.0.1", "--out", itak,
       "--data-dir", data)  # fmt: skip
    flat = zipfile.ZipFile(io.BytesIO(itak.read_bytes()))
    assert sorted(flat.namelist()) == ["SAKURA.p12", "config.pref", "truststore-root.p12"]
    assert prefs(flat.read("config.pref"))["cot_streams"]["connectString0"] == "10.0.0.1:8089:ssl"
