"""Server-side groups (TAK channels) on principals, for `user add|update --group`.

``--group NAME[:in|out|both]`` (repeatable; default both, as an LDAP group on
the official TAK Server). A principal without groups is in ``__ANON__`` both
ways, so every group change is recorded in the audit log or undone.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine

from allied_c2.cli.audited import fail, record_change
from allied_c2.config import Config
from allied_c2.security.groups import GroupError, Membership, parse_membership
from allied_c2.store.groups import GroupStore

GroupOption = Annotated[
    list[str] | None,
    typer.Option(
        "--group",
        help="Server-side group (TAK channel) NAME[:in|out|both], repeatable; default both",
    ),
]


def parse_groups(texts: list[str] | None) -> list[Membership] | None:
    """The memberships given on the command line (None when none were given)."""
    if texts is None:
        return None
    try:
        return [parse_membership(text) for text in texts]
    except GroupError as exc:
        fail(str(exc))


def apply_groups(
    config: Config, engine: Engine, callsign: str, memberships: list[Membership]
) -> list[Membership]:
    """Replace the principal's groups, audited (undone when the record fails)."""
    store = GroupStore(engine)
    before = store.set(callsign, memberships)
    record_change(
        config,
        engine,
        "user.groups",
        callsign,
        {
            "before": [m.text() for m in before],
            "after": [m.text() for m in sorted(memberships)],
        },
        undo=lambda: store.set(callsign, before),
    )
    return before


def groups_text(memberships: list[Membership]) -> str:
    return ", ".join(m.text() for m in sorted(memberships)) or "__ANON__ (default)"
