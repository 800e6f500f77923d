"""taky (PyPI ``taky``), installed in its own venv, as a reference row.

taky is optional: when it cannot be installed or started, its rows are skipped with
the reason. It runs with SSL off on a loopback port chosen here (it refuses port 0).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.target import Target, free_port, start_at_port

TAKY_SPEC = "taky==0.10"


def ensure_taky(venv: Path, timeout_s: float = 300.0) -> tuple[Path | None, str]:
    """Create ``venv`` with taky in it unless it is there; returns (taky script, note)."""
    script = venv / "bin" / "taky"
    if script.exists():
        return script, "reused"
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=60
        )
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", TAKY_SPEC],
            check=True,
            capture_output=True,
            timeout=timeout_s,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        tail = detail.decode(errors="replace").strip().splitlines()[-1:] if detail else []
        return None, f"taky install failed: {exc.__class__.__name__} {' '.join(tail)}".strip()
    if not script.exists():
        return None, "taky installed but has no 'taky' script"
    return script, "installed"


def taky_version(venv: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(venv / "bin" / "pip"), "show", "taky"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def _write_config(data_dir: Path, port: int) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "taky.conf"
    conf.write_text(
        "[taky]\nhostname = localhost\nnode_id = BENCH\nbind_ip = 127.0.0.1\n"
        f"root_dir = {data_dir}\n\n[cot_server]\nport = {port}\n\n"
        f"[dp_server]\nupload_path = {data_dir / 'dp-user'}\n\n[ssl]\nenabled = false\n"
    )
    return conf


async def start_taky(script: Path, data_dir: Path, pin: bool) -> Target:
    port = free_port()
    conf = _write_config(data_dir, port)
    return await start_at_port(
        "taky", [str(script), "-c", str(conf), "-l", "warning"], data_dir, port, pin=pin
    )
