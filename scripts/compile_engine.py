"""Compile the simulator's fast path (``allied_c2/analysis/engine.py``) with mypyc.

``make setup`` runs this after installing. The compiled module is the same code, so
results are identical for a seed (tests/analysis pins them); it runs about 1.4× as
fast, which is what puts one structure past issue 10's 50,000 requests/s on one core.
Where the machine has no C compiler or Python headers it says so and leaves the pure
Python engine in place: everything works, the simulator is slower.

Beside the extension it writes ``engine.sha256``, the digest of the source it was
built from; ``allied_c2.analysis.compiled`` loads the extension only while that digest
still matches ``engine.py``, so an edited engine is never shadowed by a stale build.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "allied_c2" / "analysis"
SOURCE = PACKAGE / "engine.py"
STAMP = PACKAGE / "engine.sha256"


def _built() -> list[Path]:
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return [p for p in PACKAGE.iterdir() if p.name.startswith("engine") and p.name.endswith(suffix)]


def _clean() -> None:
    for path in _built():
        path.unlink()
    STAMP.unlink(missing_ok=True)


def main() -> int:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest and _built():
        return 0
    _clean()
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None or not headers.exists():
        missing = "a C compiler" if compiler is None else f"the Python headers ({headers})"
        print(f"simulator engine: pure Python (no {missing}); `analyze` runs about 1.4× slower")
        return 0
    with tempfile.TemporaryDirectory(prefix="allied-c2-mypyc-") as tmp:
        work = Path(tmp)
        # The whole package, so mypyc type-checks engine.py against what it imports.
        shutil.copytree(PACKAGE.parent, work / "allied_c2", ignore=shutil.ignore_patterns(
            "__pycache__", "*.so", "static", "node_modules"))  # fmt: skip
        target = work / "allied_c2" / "analysis"
        done = subprocess.run(
            [sys.executable, "-m", "mypyc", "allied_c2/analysis/engine.py"],
            cwd=work, capture_output=True, text=True, check=False,
        )  # fmt: skip
        built = [p for p in target.iterdir() if p.suffix == ".so" or ".so" in p.name]
        if done.returncode != 0 or not built:
            print("simulator engine: pure Python (mypyc failed):\n" + done.stdout[-2000:]
                  + done.stderr[-2000:])  # fmt: skip
            return 0
        for path in built:
            shutil.copy(path, PACKAGE / path.name)
    STAMP.write_text(digest + "\n")
    print("simulator engine: compiled with mypyc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
