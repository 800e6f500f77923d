"""Cluster nodes as an operator runs them: `serve --cluster … --database-url …` per process."""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.server import ServerProcess, cli


class Cluster:
    def __init__(self, root: Path, nats_url: str, database_url: str, prefix: str) -> None:
        self.root = root
        self.nats_url = nats_url
        self.database_url = database_url
        self.prefix = prefix
        self.base = root / "base"  # where the CA is made and users are added
        self.certs = root / "certs"
        self.nodes: list[ServerProcess] = []
        cli("ca", "init", "--data-dir", str(self.base))

    def add_user(
        self,
        callsign: str,
        nation: str,
        clearance: str,
        roles: tuple[str, ...] = (),
        org: str | None = None,
    ) -> None:
        args = ["user", "add", *self.store_args(), "--callsign", callsign]
        args += ["--nation", nation, "--clearance", clearance, "--out", str(self.certs)]
        for role in roles:
            args += ["--role", role]
        if org is not None:
            args += ["--org", org]
        cli(*args)

    def store_args(self) -> list[str]:
        return ["--data-dir", str(self.base), "--database-url", self.database_url]

    def token(self, callsign: str) -> str:
        out = cli("token", "create", callsign, *self.store_args()).stdout
        lines = (line.strip() for line in out.splitlines())
        return next(line for line in lines if re.fullmatch(r"\S{16,}", line))

    def node_args(self, name: str) -> list[str]:
        return [
            "--database-url",
            self.database_url,
            "--cluster",
            self.nats_url,
            "--cluster-prefix",
            self.prefix,
            "--node-id",
            name,
        ]

    def start_node(self, name: str, *extra: str, http: bool = True) -> ServerProcess:
        """A node with its own data directory and the cluster's CA and server certificate."""
        data = self.root / name
        if not (data / "pki").exists():
            shutil.copytree(self.base / "pki", data / "pki")
        node = ServerProcess(data, *self.node_args(name), *extra, tls=True, http=http)
        node.start()
        self.nodes.append(node)
        return node

    def stop_all(self) -> None:
        for node in self.nodes:
            try:
                node.stop()
            except AssertionError:
                node.kill()


def post_json(node: ServerProcess, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST a JSON body with a bearer token; the status and the decoded answer."""
    request = urllib.request.Request(
        f"{node.url}{path}", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
