"""Fault, soak and fuzz tests (issue 14, docs/reliability.md).

Every test here is marked ``slow``. The few that take longer than a minute are also
marked ``soak`` and run only under ``make soak`` (ALLIED_C2_SOAK=1), each saying why.
The tests write their measured figures to test-artifacts/reliability/*.json.
"""

from __future__ import annotations

import os

import pytest

from tests.reliability.support import raise_nofile


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: longer than a minute: runs in `make soak` only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" not in str(item.path).replace(os.sep, "/"):
            continue
        item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("soak") and os.environ.get("ALLIED_C2_SOAK") != "1":
            item.add_marker(pytest.mark.skip(reason="over a minute: runs in `make soak`"))


@pytest.fixture(autouse=True, scope="session")
def _many_files() -> None:
    # The flood tests hold a thousand sockets in the test and as many in the server,
    # which inherits this limit.
    raise_nofile()
