"""`python -m allied_c2.store.migrate URL`: bring a database to the newest schema."""

from __future__ import annotations

import sys

from allied_c2.store.db import create_engine_for, migrate


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m allied_c2.store.migrate DATABASE_URL", file=sys.stderr)
        return 2
    engine = create_engine_for(argv[0])
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
