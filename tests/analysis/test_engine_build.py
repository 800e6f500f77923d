"""The compiled engine is used only while it was built from today's engine.py."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import allied_c2.analysis
from allied_c2.analysis import ENGINE_BUILD

PACKAGE = Path(allied_c2.analysis.__file__).resolve().parents[1]
ANALYSIS = PACKAGE / "analysis"
SHOW = (
    "import allied_c2.analysis as a, allied_c2.analysis.engine as e;"
    "print(a.ENGINE_BUILD, '|', e.__file__)"
)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        PACKAGE,
        tmp_path / "allied_c2",
        ignore=shutil.ignore_patterns("__pycache__", "static", "node_modules"),
    )
    return tmp_path / "allied_c2" / "analysis"


def _which(tmp_path: Path) -> tuple[str, str]:
    env = os.environ | {"PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True
    )
    build, _, path = done.stdout.strip().partition(" | ")
    return build, path


def _compiled() -> bool:
    return any(p.name.startswith("engine.") and ".so" in p.name for p in ANALYSIS.iterdir())


def test_an_edited_engine_is_never_shadowed_by_its_old_build(tmp_path: Path) -> None:
    if not _compiled():
        pytest.skip(f"no compiled engine in {ANALYSIS} (no C compiler at `make setup`)")
    copy = _copy(tmp_path)
    build, path = _which(tmp_path)
    assert build == "compiled (mypyc)" and path.endswith(".so"), (build, path)
    with (copy / "engine.py").open("a") as source:
        source.write("\n# an edit after the build\n")
    build, path = _which(tmp_path)
    assert build.startswith("source (the compiled build is stale"), build
    assert path.endswith("engine.py")


def test_without_a_build_the_source_runs(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    for built in copy.iterdir():
        if built.name.startswith("engine") and ".so" in built.name:
            built.unlink()
    assert _which(tmp_path) == ("source (not compiled)", str(copy / "engine.py"))


def test_the_stamp_is_the_digest_of_the_source() -> None:
    if not _compiled():
        pytest.skip(f"no compiled engine in {ANALYSIS} (no C compiler at `make setup`)")
    stamp = (ANALYSIS / "engine.sha256").read_text().strip()
    assert stamp == hashlib.sha256((ANALYSIS / "engine.py").read_bytes()).hexdigest()
    assert ENGINE_BUILD == "compiled (mypyc)"
