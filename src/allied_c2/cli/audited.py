"""Changes made from the command line are recorded in the audit log, or undone.

``audit_fail_closed`` (default true): when the audit append fails, a change
that can be undone is undone and the command fails, so nothing changes without
a record. A revocation is never undone (failing closed means staying revoked);
the command still fails loudly, so the operator knows the record is missing.
With ``audit_fail_closed = false`` the change stands and a warning is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import typer
from sqlalchemy import Engine

from allied_c2.cli.audit import audit_log, cli_actor
from allied_c2.config import Config


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def record_change(
    config: Config,
    engine: Engine,
    action: str,
    subject: str,
    detail: dict[str, object],
    undo: Callable[[], object] | None = None,
) -> None:
    """Append ``action`` to the audit log; on failure undo the change (fail closed)."""
    try:
        audit_log(config, engine).append(cli_actor(), action, subject, detail)
    except Exception as exc:
        what = f"the audit log cannot be written ({exc.__class__.__name__}: {exc})"
        if not config.audit_fail_closed:
            typer.echo(f"warning: {what}; {action} {subject} was NOT recorded", err=True)
            return
        if undo is None:
            fail(f"{what}; {action} {subject} stands (not undone) but is NOT recorded")
        undo()
        fail(f"{what}; {action} {subject} was undone (audit_fail_closed)")
