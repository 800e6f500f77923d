"""`allied-c2 cluster status`: the cluster's nodes as their heartbeats in PostgreSQL show them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from allied_c2.cli.common import ConfigOption, DatabaseUrlOption, DataDirOption, resolve_config
from allied_c2.cluster.status import cluster_status, status_lines
from allied_c2.store.cluster import ClusterStore
from allied_c2.store.db import opened_database

app = typer.Typer(help="A cluster of nodes (docs/scaling.md).", no_args_is_help=True)


@app.command()
def status(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    config_file: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as GET /api/v1/cluster")] = False,
) -> None:
    """Every node: up or gone, its clients, lag behind the stream, the leases it holds."""
    config = resolve_config(data_dir, database_url, config_file)
    with opened_database(config) as engine:
        nodes = ClusterStore(engine).nodes()
    shown = cluster_status(nodes)
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
    elif not nodes:
        typer.echo("no cluster node has reported to this database (serve --cluster …)")
        raise typer.Exit(1)
    else:
        typer.echo("\n".join(status_lines(shown)))
