from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, add_user, cli


@pytest.fixture(scope="module")
def coalition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    """A TLS-enabled server with principals and certificates issued by `allied-c2 user add`."""
    data = tmp_path_factory.mktemp("coalition")
    certs = data / "certs"
    cli("ca", "init", "--data-dir", str(data))
    for callsign, nation, clearance in (
        ("ALPHA", "USA", "SECRET"),
        ("BRAVO", "USA", "SECRET"),
        ("KITSUNE", "JPN", "SECRET"),
        ("AGILA", "PHL", "CONFIDENTIAL"),
        ("REVOKED", "USA", "SECRET"),
    ):
        add_user(data, callsign, nation, clearance, out=certs)
    server = ServerProcess(data, tls=True).start()
    yield server, certs
    server.stop()
