"""A real cluster for tests: real NATS JetStream, real PostgreSQL, real server processes.

NATS is the one named by ALLIED_C2_TEST_NATS (default nats://127.0.0.1:4222;
`make services` starts Debian's nats-server when none answers), PostgreSQL the
one named by ALLIED_C2_TEST_PG. Without either the tests skip and say why. Each
test gets its own database and its own stream prefix; both are removed after.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.support import Cluster
from tests.conftest import fresh_database

NATS_URL = os.environ.get("ALLIED_C2_TEST_NATS", "nats://127.0.0.1:4222")


async def _jetstream_ok(url: str) -> str | None:
    import nats

    try:
        nc = await asyncio.wait_for(
            nats.connect(url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0),
            5,
        )
    except Exception as exc:
        return f"NATS not reachable at {url}: {exc!r}"
    try:
        await nc.jetstream().account_info()
    except Exception as exc:
        return f"NATS at {url} has no JetStream: {exc!r}"
    finally:
        await nc.close()
    return None


@pytest.fixture(scope="session")
def nats_url() -> str:
    problem = asyncio.run(_jetstream_ok(NATS_URL))
    if problem is not None:
        pytest.skip(f"{problem} (run `make services` or set ALLIED_C2_TEST_NATS)")
    return NATS_URL


@pytest.fixture
def cluster_db() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (the nodes share it), dropped after."""
    with fresh_database("allied_c2_cluster") as url:
        yield url


async def _delete_streams(url: str, prefix: str) -> None:
    import nats

    nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        marker = f"ALLIED_{prefix.upper().replace('-', '_')}_"
        for info in await js.streams_info():
            if info.config.name.startswith(marker):
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()


@pytest.fixture
def cluster(nats_url: str, cluster_db: str, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster's shared set-up (CA, principals in PostgreSQL), nodes started by the test."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    made = Cluster(tmp_path, nats_url, cluster_db, prefix)
    try:
        yield made
    finally:
        made.stop_all()
        asyncio.run(_delete_streams(nats_url, prefix))
