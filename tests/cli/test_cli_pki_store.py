"""The ca, user, token, audit and history commands, through the real CLI app."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from typer.testing import CliRunner, Result

from allied_c2.cli.main import app
from allied_c2.config import Config
from allied_c2.pki.tls import certificate_fingerprint
from allied_c2.security.principals import Principal
from allied_c2.store.db import open_database
from allied_c2.store.events import EventRecord, EventWriter
from allied_c2.store.principals import PrincipalStore

runner = CliRunner()


def run(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


def ok(*args: str | Path) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def principals(data: Path) -> PrincipalStore:
    return PrincipalStore(open_database(Config(data_dir=data)))


def fingerprint_of(pem: Path) -> str:
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    return certificate_fingerprint(cert.public_bytes(Encoding.DER))


def db(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(data / "allied-c2.db", isolation_level=None)


def test_ca_init_refuses_to_overwrite(tmp_path: Path) -> None:
    data = tmp_path / "var"
    result = ok("ca", "init", "--data-dir", data, "--hostname", "tak.example.org")
    assert "tak.example.org" in result.output
    ca = (data / "pki" / "ca.pem").read_bytes()
    again = run("ca", "init", "--data-dir", data)
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert (data / "pki" / "ca.pem").read_bytes() == ca
    ok("ca", "init", "--data-dir", data, "--force")
    assert (data / "pki" / "ca.pem").read_bytes() != ca


def test_user_add_issues_certificate_bound_to_the_principal(tmp_path: Path) -> None:
    data, out = tmp_path / "var", tmp_path / "client"
    result = ok(
        "user", "add", "--data-dir", data, "--callsign", "SAKURA", "--nation", "JPN",
        "--clearance", "secret", "--coi", "BLUE", "--coi", "MARITIME", "--role", "commander",
        "--org", "jgsdf-1", "--out", out,
    )  # fmt: skip
    assert "created one" in result.output  # no CA yet: made on the way
    for name in ("SAKURA.pem", "SAKURA.key", "SAKURA.p12", "ca.pem"):
        assert (out / name).is_file(), name
    assert (out / "ca.pem").read_bytes() == (data / "pki" / "ca.pem").read_bytes()
    p12 = pkcs12.load_pkcs12((out / "SAKURA.p12").read_bytes(), b"atakatak")
    assert p12.cert is not None
    assert p12.cert.certificate == x509.load_pem_x509_certificate((out / "SAKURA.pem").read_bytes())
    expected = Principal(
        "SAKURA", "JPN", "SECRET", frozenset({"BLUE", "MARITIME"}),
        frozenset({"commander"}), "jgsdf-1",
    )  # fmt: skip
    assert principals(data).by_fingerprint(fingerprint_of(out / "SAKURA.pem")) == expected

    # Default output directory and default role; the existing CA is reused.
    result = ok(
        "user", "add", "--data-dir", data, "--callsign", "EAGLE", "--nation", "USA",
        "--clearance", "TOP SECRET", "--p12-password", "s3cret",
    )  # fmt: skip
    assert "created one" not in result.output
    certs = data / "certs"
    pkcs12.load_pkcs12((certs / "EAGLE.p12").read_bytes(), b"s3cret")
    eagle = principals(data).by_fingerprint(fingerprint_of(certs / "EAGLE.pem"))
    assert eagle is not None and eagle.roles == frozenset({"operator"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nation", "jp"], "ISO 3166 alpha-3"),
        (["--nation", "JAPAN"], "ISO 3166 alpha-3"),
        (["--nation", "JPN", "--role", "king"], "unknown role"),
        (["--nation", "JPN", "--callsign", "two words"], "callsign"),
    ],
)
def test_user_add_validates(tmp_path: Path, args: list[str], message: str) -> None:
    data = tmp_path / "var"
    base: list[str | Path] = ["user", "add", "--data-dir", data, "--clearance", "SECRET"]
    if "--callsign" not in args:
        base += ["--callsign", "X1"]
    result = run(*base, *args)
    assert result.exit_code == 1
    assert message in result.output
    assert not (data / "certs").exists()


def test_duplicate_user_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "var"
    add: list[str | Path] = [
        "user",
        "add",
        "--data-dir",
        data,
        "--callsign",
        "A1",
        "--nation",
        "PHL",
    ]
    ok(*add, "--clearance", "CONFIDENTIAL")
    result = run(*add, "--clearance", "SECRET")
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_revoke_update_list_and_audit(tmp_path: Path) -> None:
    data = tmp_path / "var"
    ok("user", "add", "--data-dir", data, "--callsign", "A1", "--nation", "PHL",
       "--clearance", "CONFIDENTIAL")  # fmt: skip
    fingerprint = fingerprint_of(data / "certs" / "A1.pem")
    ok("user", "update", "A1", "--data-dir", data, "--clearance", "SECRET", "--coi", "GREEN")
    updated = principals(data).by_fingerprint(fingerprint)
    assert updated is not None
    assert (updated.clearance, updated.cois) == ("SECRET", frozenset({"GREEN"}))

    ok("user", "cert", "A1", "--data-dir", data, "--out", tmp_path / "second")
    second = fingerprint_of(tmp_path / "second" / "A1.pem")
    assert principals(data).by_fingerprint(second) == updated

    listing = ok("user", "list", "--data-dir", data).output
    assert "A1" in listing and "active" in listing

    ok("user", "revoke", "A1", "--data-dir", data)
    assert principals(data).by_fingerprint(fingerprint) is None
    assert principals(data).by_fingerprint(second) is None
    assert "revoked" in ok("user", "list", "--data-dir", data).output
    assert run("user", "revoke", "A1", "--data-dir", data).exit_code == 1

    shown = ok("audit", "show", "--as-operator", "--data-dir", data).output
    for action in ("ca.init", "user.add", "certificate.issue", "user.update", "user.revoke"):
        assert action in shown
    assert "cli:" in shown
    only = ok(
        "audit", "show", "--as-operator", "--data-dir", data, "--action", "user.revoke"
    ).output
    assert "user.revoke" in only and "user.add" not in only
    assert "intact: 6 entries" in ok("audit", "verify", "--data-dir", data).output


def test_tokens(tmp_path: Path) -> None:
    data = tmp_path / "var"
    ok("user", "add", "--data-dir", data, "--callsign", "A1", "--nation", "USA",
       "--clearance", "SECRET")  # fmt: skip
    result = ok("token", "create", "A1", "--data-dir", data, "--expires", "7d")
    token = result.stdout.strip()
    assert token.startswith("ac2_")
    assert "not shown again" in result.stderr
    assert principals(data).by_token(token) == principals(data).get("A1")
    with db(data) as conn:
        stored = [row[0] for row in conn.execute("SELECT hash FROM tokens")]
        assert token not in json.dumps(stored)
    assert "active" in ok("token", "list", "--data-dir", data).output
    assert run("token", "create", "NOBODY", "--data-dir", data).exit_code == 1
    ok("token", "revoke", "1", "--data-dir", data)
    assert principals(data).by_token(token) is None
    assert run("token", "revoke", "1", "--data-dir", data).exit_code == 1
    assert "token.revoke" in ok("audit", "show", "--as-operator", "--data-dir", data).output


@pytest.fixture(scope="module")
def audited_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("audited") / "var"
    for name in ("A1", "B2", "C3"):
        ok("user", "add", "--data-dir", data, "--callsign", name, "--nation", "JPN",
           "--clearance", "SECRET")  # fmt: skip
    assert ok("audit", "verify", "--data-dir", data).exit_code == 0
    return data


def audited(template: Path, tmp_path: Path) -> Path:
    """A private copy of a data dir with 3 users (9 audit entries): RSA keys are slow."""
    return Path(shutil.copytree(template, tmp_path / "var"))


def test_audit_verify_fails_after_an_edit(tmp_path: Path, audited_template: Path) -> None:
    data = audited(audited_template, tmp_path)
    with db(data) as conn:
        conn.execute("UPDATE audit_log SET subject = 'MALLORY' WHERE seq = 3")
    result = run("audit", "verify", "--data-dir", data)
    assert result.exit_code == 1
    assert "entry 3" in result.output and "edited" in result.output


def test_audit_verify_fails_after_a_deletion(tmp_path: Path, audited_template: Path) -> None:
    data = audited(audited_template, tmp_path)
    with db(data) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 2")
    result = run("audit", "verify", "--data-dir", data)
    assert result.exit_code == 1
    assert "BROKEN" in result.output


def test_audit_verify_fails_after_the_newest_entry_is_deleted(
    tmp_path: Path, audited_template: Path
) -> None:
    data = audited(audited_template, tmp_path)
    with db(data) as conn:
        newest = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (newest,))
        # a careful intruder also winds the counter back; the anchor file still knows
        conn.execute("UPDATE counters SET value = value - 1 WHERE name = 'audit.seq'")
    result = run("audit", "verify", "--data-dir", data)
    assert result.exit_code == 1
    assert f"entry {newest}" in result.output and "missing" in result.output


T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def event(uid: str, minute: int) -> EventRecord:
    at = T0 + timedelta(minutes=minute)
    return EventRecord(
        uid=uid, type="a-f-G-U-C", how="m-g", time=at, start=at, stale=at + timedelta(minutes=5),
        lat=14.6, lon=121.0, hae=5.0, access="UNCLASSIFIED", caveat=None, releasable_to=None,
        banner="UNCLASSIFIED", originator="PHL", sender="A1", received_at=at,
        xml=f'<event uid="{uid}" n="{minute}"/>'.encode(),
    )  # fmt: skip


def test_history(tmp_path: Path) -> None:
    data = tmp_path / "var"
    engine = open_database(Config(data_dir=data))
    with EventWriter(engine) as writer:
        for minute in range(10):
            writer.submit(event("alpha", minute))
            writer.submit(event("bravo", minute))
    engine.dispose()

    rows = json.loads(
        ok(
            "history", "--as-operator", "--data-dir", data, "--uid", "alpha", "--format", "json"
        ).output
    )
    assert [r["uid"] for r in rows] == ["alpha"] * 10
    assert rows[0]["time"] == T0.isoformat()
    assert rows[0]["originator"] == "PHL"

    window = ok(
        "history", "--as-operator", "--data-dir", data, "--uid", "bravo",
        "--since", "2026-05-01T12:03:00Z", "--until", "2026-05-01T12:05:00", "--format", "xml",
    ).output.splitlines()  # fmt: skip
    assert window == [f'<event uid="bravo" n="{m}"/>' for m in (3, 4, 5)]

    newest = json.loads(
        ok(
            "history", "--as-operator", "--data-dir", data, "--limit", "3", "--format", "json"
        ).output
    )
    assert [(r["uid"], r["time"][11:16]) for r in newest] == [
        ("bravo", "12:08"), ("alpha", "12:09"), ("bravo", "12:09"),
    ]  # fmt: skip

    table = ok("history", "--as-operator", "--data-dir", data, "--uid", "alpha").output
    assert "history (10 events)" in table and "alpha" in table and "bravo" not in table
    assert (
        run("history", "--as-operator", "--data-dir", data, "--since", "yesterday").exit_code == 2
    )


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "allied-c2"
    if not script.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    data = tmp_path / "var"
    done = subprocess.run(
        [str(script), "user", "add", "--data-dir", str(data), "--callsign", "Z9",
         "--nation", "USA", "--clearance", "SECRET"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (data / "certs" / "Z9.p12").is_file()
    done = subprocess.run(
        [str(script), "audit", "verify", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "intact: 3 entries" in done.stdout
