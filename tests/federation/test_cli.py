"""`allied-c2 federate`: certificates, registration, rules validation, removal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.server import cli

# A dozen CLI runs, each a fresh interpreter: minutes on a busy machine.
pytestmark = pytest.mark.timeout(600)


def test_federate_commands(tmp_path: Path) -> None:
    usa, jpn = tmp_path / "usa", tmp_path / "jpn"
    out = cli("federate", "cert", "--data-dir", str(jpn), "--out", str(tmp_path / "jpn-out"))
    assert "SHA-256:" in out.stdout
    cli("federate", "cert", "--data-dir", str(usa), "--out", str(tmp_path / "usa-out"))
    peer = ["--peer-ca", str(tmp_path / "jpn-out" / "ca.pem")]
    peer += ["--peer-cert", str(tmp_path / "jpn-out" / "federation.pem")]
    base = ["federate", "add", "--data-dir", str(usa), "--name", "JPN-SRV", "--nation", "JPN"]

    # A certificate that the given CA did not issue is refused.
    wrong = ["--peer-ca", str(tmp_path / "usa-out" / "ca.pem"), peer[2], peer[3]]
    refused = cli(*base, "--clearance", "SECRET", *wrong, check=False)
    assert refused.returncode == 1 and "does not verify with the peer CA" in refused.stderr
    assert cli(*base, "--clearance", "NO SUCH LEVEL", *peer, check=False).returncode == 1

    cli(*base, "--clearance", "SECRET", "--coi", "MARITIME", *peer, "--connect", "127.0.0.1:9001")
    listed = json.loads(cli("federate", "list", "--data-dir", str(usa), "--json").stdout)
    assert listed[0]["name"] == "JPN-SRV" and listed[0]["connect"] == "127.0.0.1:9001"
    assert listed[0]["cois"] == ["MARITIME"] and len(listed[0]["fingerprint"]) == 64

    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - name: x\n    coarsen_m: many\n")
    result = cli(
        "federate", "update", "JPN-SRV", "--data-dir", str(usa), "--rules", str(bad), check=False
    )
    assert result.returncode == 1 and f"{bad}:3:" in result.stderr
    good = tmp_path / "good.toml"
    good.write_text('[[rules]]\nname = "coarse"\ncoarsen_m = 1000\n')
    cli("federate", "update", "--name", "JPN-SRV", "--data-dir", str(usa), "--rules", str(good))
    listed = json.loads(cli("federate", "list", "--data-dir", str(usa), "--json").stdout)
    assert listed[0]["rules"] == "good.toml"

    cli("federate", "remove", "JPN-SRV", "--data-dir", str(usa))
    assert json.loads(cli("federate", "list", "--data-dir", str(usa), "--json").stdout) == []
    audit = cli("audit", "show", "--as-operator", "--data-dir", str(usa), "--limit", "20").stdout
    for action in ("federation.cert", "federate.add", "federate.update", "federate.remove"):
        assert action in audit
    # A removed federate may be registered again.
    cli(*base, "--clearance", "CONFIDENTIAL", *peer)


def test_first_start_with_an_encrypted_ca_key_needs_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allied_c2.config import Config, ConfigError
    from allied_c2.federation.setup import ensure_identity
    from allied_c2.pki.authority import CA_PASSPHRASE_ENV, PkiPaths, init_ca

    init_ca(tmp_path, passphrase=b"correct horse")
    assert PkiPaths.under(tmp_path).ca_key_encrypted()
    config = Config(data_dir=tmp_path)
    monkeypatch.delenv(CA_PASSPHRASE_ENV, raising=False)
    with pytest.raises(ConfigError, match=CA_PASSPHRASE_ENV):
        ensure_identity(config)
    monkeypatch.setenv(CA_PASSPHRASE_ENV, "wrong")
    with pytest.raises(ConfigError):
        ensure_identity(config)
    monkeypatch.setenv(CA_PASSPHRASE_ENV, "correct horse")
    identity = ensure_identity(config)
    assert identity.server_id and b"BEGIN CERTIFICATE" in identity.cert_pem
