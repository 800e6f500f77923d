"""The TAK ecosystem's routers (issue 12), listed once so api.py includes them in one line."""

from __future__ import annotations

from fastapi import APIRouter


def tak_routers() -> list[APIRouter]:
    from allied_c2.web.export import router as export
    from allied_c2.web.marti_connect import fallback
    from allied_c2.web.marti_connect import router as connect
    from allied_c2.web.marti_groups import router as groups
    from allied_c2.web.marti_missions import router as missions
    from allied_c2.web.marti_sync import router as sync
    from allied_c2.web.packages_api import router as packages_api

    # The /Marti fallback (404 with a log line) must come after every /Marti route.
    return [groups, sync, missions, connect, export, packages_api, fallback]
