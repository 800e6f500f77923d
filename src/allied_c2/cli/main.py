"""The ``allied-c2`` command: one Typer app composed of one module per concern."""

from __future__ import annotations

import sys

import typer

HELP = "Allied command and control over Cursor-on-Target."


def _root() -> typer.Typer:
    return typer.Typer(
        name="allied-c2",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


def build_app() -> typer.Typer:
    """Every command group; the one place where the command line is composed."""
    from allied_c2.cli import (
        analyze,
        audit,
        c2sim,
        ca,
        cluster,
        demo,
        federate,
        history,
        readiness,
        requests,
        scenario,
        server,
        users,
    )

    app = _root()
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
    app.add_typer(federate.app, name="federate")  # docs/federation.md
    app.add_typer(c2sim.app, name="c2sim")
    app.add_typer(cluster.app, name="cluster")  # docs/scaling.md
    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # `from allied_c2.cli.main import app` (tests, typer tooling)
        return build_app()
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        # The long-running server loads only what serving needs: the other
        # commands' libraries (PKI, JSON Schema, HTTP client…) would otherwise
        # stay resident for the life of the process.
        from allied_c2.cli import server

        app = _root()
        server.register(app)
        app()
        return
    build_app()()
