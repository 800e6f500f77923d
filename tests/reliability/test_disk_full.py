"""SQLite on a full disk: the relay goes on, the history bound drops the oldest and says so.

The data directory is a small tmpfs (mounted here as root; skipped with the reason
otherwise). Once the server runs under load the test fills the disk with a file,
so every commit fails with SQLITE_FULL, and frees it 10 s later. The outage buffer
is set to 1 MiB for this test, so the outage outlasts it: the oldest events are
dropped, logged with their time range and counted (``alliedc2_history_dropped_total``),
and every event a witness saw relayed is either stored or counted as dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import Load, metrics, record, recorder, stored_seqs
from tests.support.server import ServerProcess

FULL_S = 10.0  # 2,000 events at 200/s: about twice what the 1 MiB buffer holds
BUFFER_BYTES = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> int:
    """Write zeros until the disk is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * (1 << 20)
    with contextlib.suppress(OSError), path.open("wb") as f:
        while True:
            f.write(chunk)
            f.flush()
            written += len(chunk)
    with contextlib.suppress(OSError), path.open("ab") as f:
        while True:  # the last partial megabyte, a page at a time
            f.write(b"\0" * 4096)
            f.flush()
            written += 4096
    return written


@pytest.mark.timeout(300)
async def test_sqlite_disk_full_is_survived(small_disk: Path, tmp_path: Path) -> None:
    data = small_disk / "data"
    config = tmp_path / "allied-c2.toml"
    config.write_text(f"store_outage_buffer_bytes = {BUFFER_BYTES}\n")
    server = ServerProcess(data, "--config", str(config), "--metrics", "127.0.0.1:0")
    server.log_path = tmp_path / "server.log"  # not on the full disk
    server.start(timeout=60)
    figures: dict[str, Any] = {"full_s": FULL_S, "buffer_bytes": BUFFER_BYTES}
    try:
        host, port = server.address("cot_tcp")
        witness = await recorder(host, port)
        load = await Load(host, port, senders=10, rate=20.0).start()
        await asyncio.sleep(3.0)
        filler = small_disk / "filler"
        figures["filler_mb"] = round(await asyncio.to_thread(fill, filler) / 2**20, 1)
        full_at = time.monotonic()
        seen_at_full = len(witness.seen)
        await asyncio.sleep(FULL_S)
        during = metrics(server.address("metrics"))
        relayed = len(witness.seen) - seen_at_full
        sent = sum(1 for t in load.sent.values() if t >= full_at)
        filler.unlink()
        deadline = time.monotonic() + 60
        while True:
            sample = metrics(server.address("metrics"))
            available = sample["alliedc2_history_database_available"] == 1
            if available and sample["alliedc2_history_backlog"] < 50:
                break
            assert time.monotonic() < deadline, "history did not recover after the disk freed"
            await asyncio.sleep(0.25)
        figures["recovered_s"] = round(time.monotonic() - full_at - FULL_S, 2)
        await load.stop()
        await asyncio.sleep(1.5)
        after = metrics(server.address("metrics"))
        witness.close()
    finally:
        server.stop(timeout=60)
    keys = stored_seqs(data / "allied-c2.db")
    accepted = set(witness.seen)
    log = server.log_path.read_text(errors="replace")
    dropped = int(after["alliedc2_history_dropped_total"])
    figures.update(
        sent_while_full=sent,
        relayed_while_full=relayed,
        available_while_full=during["alliedc2_history_database_available"],
        buffered_mb_while_full=round(during["alliedc2_history_buffered_bytes"] / 2**20, 2),
        accepted=len(accepted),
        stored=len(set(keys)),
        dropped=dropped,
        accepted_not_stored=len(accepted - set(keys)),
        duplicates=len(keys) - len(set(keys)),
        drop_logged="oldest events dropped" in log,
    )
    record("disk_full", figures)
    assert relayed >= 0.9 * sent, "live traffic stopped with the disk"
    assert figures["available_while_full"] == 0
    assert figures["buffered_mb_while_full"] <= BUFFER_BYTES / 2**20
    assert dropped > 0 and figures["drop_logged"], "past the bound the drop must be said"
    # Nothing lost silently: what is not stored was counted as dropped.
    assert figures["accepted_not_stored"] <= dropped
    assert figures["duplicates"] == 0
