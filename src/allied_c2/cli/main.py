"""The ``allied-c2`` command: one Typer app composed of one module per concern."""

from __future__ import annotations

import typer

from allied_c2.cli import (
    analyze,
    audit,
    ca,
    demo,
    history,
    readiness,
    requests,
    scenario,
    server,
    users,
)

app = typer.Typer(
    name="allied-c2",
    help="Allied command and control over Cursor-on-Target.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

server.register(app)  # serve, watch
demo.register(app)  # demo
history.register(app)  # history
app.add_typer(ca.app, name="ca")
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.add_typer(audit.app, name="audit")
app.add_typer(scenario.app, name="scenario")
app.add_typer(requests.app, name="request")
app.add_typer(readiness.app, name="readiness")
app.add_typer(analyze.app, name="analyze")


def main() -> None:
    app()
