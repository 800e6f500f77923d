"""Mutual TLS for the benchmark and the soak: one CA, one client identity, both contexts.

The server's data directory gets its CA and server certificate from ``allied-c2 ca
init`` and a client identity from ``allied-c2 user add``, exactly as an operator
issues them to ATAK users. The raw TLS relay (bench/rawrelay.py ``--tls``) loads the
same server certificate with the project's own TLS rules (pki/tls.py), so both
servers negotiate the same protocol version and cipher and the comparison is of the
relays, not of their cryptography.

Every load-generator client presents the same certificate: allied-c2 groups clients
by principal for its fan-out, as it groups the anonymous clients of the plain-TCP
rows, so the TLS and TCP rows differ only by TLS.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CLIENT = "BENCH"


@dataclass(frozen=True)
class TlsMaterial:
    ca: Path
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_verify_locations(cafile=str(self.ca))
        context.check_hostname = False  # the server certificate names the host, not 127.0.0.1
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def _cli(*args: str) -> str:
    script = Path(sys.executable).with_name("allied-c2")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "allied_c2"]
    done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"allied-c2 {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def prepare(data_dir: Path, *, roles: tuple[str, ...] = ("operator",)) -> TlsMaterial:
    """CA, server certificate and the client identity in ``data_dir`` (idempotent)."""
    certs = data_dir / "certs"
    material = TlsMaterial(certs / "ca.pem", certs / f"{CLIENT}.pem", certs / f"{CLIENT}.key")
    if material.cert.exists():
        return material
    data_dir.mkdir(parents=True, exist_ok=True)
    _cli("ca", "init", "--data-dir", str(data_dir))
    args = ["user", "add", "--data-dir", str(data_dir), "--callsign", CLIENT]
    args += ["--nation", "USA", "--clearance", "SECRET", "--out", str(certs)]
    for role in roles:
        args += ["--role", role]
    _cli(*args)
    return material


def create_token(data_dir: Path, callsign: str = CLIENT) -> str:
    """A bearer token for ``callsign`` (the soak's WebSocket viewers and API polling)."""
    out = _cli("token", "create", callsign, "--data-dir", str(data_dir))
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    return next(line for line in lines if " " not in line and len(line) >= 16)
