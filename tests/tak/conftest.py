"""One data directory with the package tests' principals, copied for each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.inprocess import InProcessServer
from tests.tak.packages_support import EVERYONE


@pytest.fixture(scope="session")
def tak_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("tak-template") / "data"
    return path, InProcessServer.template(path, EVERYONE)


@pytest.fixture
def server(tak_template: tuple[Path, dict[str, str]], tmp_path: Path) -> Iterator[InProcessServer]:
    template, tokens = tak_template
    running = InProcessServer.copy_of(template, tmp_path / "data", tokens)
    try:
        yield running
    finally:
        running.close()
