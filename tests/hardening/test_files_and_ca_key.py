"""Issue 9 G: the data directory is private, and the CA key can be encrypted."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from allied_c2.app import build_runtime
from allied_c2.cli.ca import app as ca_app
from allied_c2.cli.users import user_app
from allied_c2.config import Config
from allied_c2.pki.authority import CA_PASSPHRASE_ENV, CertificateAuthority, PkiError, PkiPaths

runner = CliRunner()
# The two command groups alone: the whole CLI imports every command's libraries.
app = typer.Typer()
app.add_typer(ca_app, name="ca")
app.add_typer(user_app, name="user")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The usual 022: files would be world-readable unless created private."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_data_dir_is_0700_and_the_database_files_0600(tmp_path: Path, lax_umask: None) -> None:
    data = tmp_path / "var"
    runtime = build_runtime(Config(data_dir=data, cot_tcp=None, cot_tls=None, http=None))
    try:
        runtime.audit_log.append("cli:test", "user.add", "A1", {})  # writes: WAL and SHM exist
        assert mode(data) == 0o700
        database = data / "allied-c2.db"
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            assert path.exists() and mode(path) == 0o600, path
    finally:
        runtime.writer.close()
        runtime.audit.close()


def test_an_older_readable_database_is_tightened(tmp_path: Path, lax_umask: None) -> None:
    data = tmp_path / "var"
    data.mkdir()
    (data / "allied-c2.db").touch(mode=0o644)
    runtime = build_runtime(Config(data_dir=data, cot_tcp=None, cot_tls=None, http=None))
    runtime.writer.close()
    runtime.audit.close()
    assert mode(data / "allied-c2.db") == 0o600


def cli(*args: str | Path, passphrase: str | None = None) -> tuple[int, str]:
    env = {CA_PASSPHRASE_ENV: passphrase} if passphrase is not None else {}
    result = runner.invoke(app, [str(a) for a in args], env=env)
    return result.exit_code, result.output


def test_an_encrypted_ca_key_needs_its_passphrase_wherever_it_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CA_PASSPHRASE_ENV, raising=False)
    data = tmp_path / "var"
    code, out = cli("ca", "init", "--encrypt-key", "--data-dir", data, passphrase="s3cret-ca")
    assert code == 0, out
    assert "encrypted with a passphrase" in out
    paths = PkiPaths.under(data)
    assert paths.ca_key_encrypted()
    assert b"ENCRYPTED PRIVATE KEY" in paths.ca_key.read_bytes()
    assert b"ENCRYPTED" not in paths.server_key.read_bytes()  # the server starts unattended
    with pytest.raises(PkiError, match=CA_PASSPHRASE_ENV):
        CertificateAuthority.load(paths)
    with pytest.raises(PkiError, match="wrong passphrase"):
        CertificateAuthority.load(paths, b"guess")
    add = ("add", "--data-dir", data, "--callsign", "A1", "--nation", "USA", "--clearance", "S")
    code, out = cli("user", *add)  # no terminal to ask on, no variable: refused
    assert code == 1 and CA_PASSPHRASE_ENV in out
    code, out = cli("user", *add, passphrase="s3cret-ca")
    assert code == 0, out
    assert (data / "certs" / "A1.p12").exists()
    code, out = cli("user", "cert", "A1", "--data-dir", data, passphrase="wrong")
    assert code == 1 and "wrong passphrase" in out


def test_without_the_flag_the_ca_key_stays_plain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CA_PASSPHRASE_ENV, raising=False)
    code, out = cli("ca", "init", "--data-dir", tmp_path / "var")
    assert code == 0, out
    assert not PkiPaths.under(tmp_path / "var").ca_key_encrypted()
    assert mode(tmp_path / "var" / "pki") == 0o700
