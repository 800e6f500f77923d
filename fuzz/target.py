"""Run one fuzz target under atheris: ``python fuzz/target.py NAME [libFuzzer flags] [DIRS]``.

NAME is a key of fuzz/targets.py's TARGETS. The allied_c2 modules are instrumented
for coverage as they are imported. ``make fuzz`` (fuzz/run.py) calls this once per
target with a time limit, a working corpus and the seeds; see docs/reliability.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import atheris

with atheris.instrument_imports(include=["allied_c2"]):
    from fuzz.targets import TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        raise SystemExit(f"usage: fuzz/target.py {{{','.join(TARGETS)}}} [libFuzzer args]")
    check = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
