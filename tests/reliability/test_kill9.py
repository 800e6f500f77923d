"""kill -9 under load: history loses at most the flush window, and nothing committed.

20 senders × 50 events/s over TCP, two witnesses recording what the server relayed
(so accepted). The server is killed with SIGKILL mid-load and restarted on the same
data directory. Measured: which accepted events the history lost, how long before
the kill they arrived (the documented window is ``store_flush_interval``, 0.25 s,
plus the batch being committed), that rows committed just before the kill are all
still there and none twice, and that the picture comes back at each sender's newest
stored position.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.reliability.support import (
    Load,
    Recorder,
    duplicates,
    record,
    recorder,
    stored_seqs,
)
from tests.support.server import ServerProcess

FLUSH_INTERVAL = 0.25  # the default, documented in README and config.py
# The bound asserted is looser than the documented window: on a shared two-core
# machine the writer thread can be late. The measured figure goes to the record.
WINDOW_BOUND = 1.0


async def _catch_up(host: str, port: int, uids: list[str]) -> dict[int, int]:
    """What a client connecting now is given: each sender's seq in the picture."""
    witness: Recorder = await recorder(host, port)
    try:
        for _ in range(100):
            if len({s for s, _ in witness.seen}) >= len(uids):
                break
            await asyncio.sleep(0.05)
    finally:
        witness.close()
    return {sender: seq for sender, seq in witness.seen}


@pytest.mark.timeout(300)
async def test_kill_9_under_load_loses_at_most_the_flush_window(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    host, port = server.address("cot_tcp")
    witnesses = [await recorder(host, port) for _ in range(2)]
    load = await Load(host, port, senders=20, rate=50.0).start()
    try:
        await asyncio.sleep(4.0)
        # Rows committed a moment before the kill: a crash must not undo them.
        committed = set(await asyncio.to_thread(stored_seqs, data / "allied-c2.db"))
        server.kill()
        killed_at = asyncio.get_running_loop().time()
        await asyncio.sleep(0.5)
    finally:
        await load.stop()
        for witness in witnesses:
            witness.close()
    accepted: dict[tuple[int, int], float] = {}
    for witness in witnesses:
        for key, when in witness.seen.items():
            accepted[key] = min(when, accepted.get(key, when))
    stored_list = stored_seqs(data / "allied-c2.db")
    stored = set(stored_list)
    lost = {key: when for key, when in accepted.items() if key not in stored}
    window = max((killed_at - when for when in lost.values()), default=0.0)
    newest = {}
    for sender, seq in stored:
        newest[sender] = max(seq, newest.get(sender, -1))

    restarted = ServerProcess(data).start()
    try:
        picture = await _catch_up(*restarted.address("cot_tcp"), load.uids())
        # History goes on after the restart, and the restore duplicated nothing.
        again = await Load(
            *restarted.address("cot_tcp"), senders=2, rate=20.0, first_sender=100
        ).start()
        await asyncio.sleep(1.0)
        await again.stop()
    finally:
        restarted.stop()
    after = stored_seqs(data / "allied-c2.db")
    figures = {
        "senders": 20,
        "rate_per_sender": 50,
        "sent": len(load.sent),
        "sent_per_s": round(len(load.sent) / 4.0),
        "accepted": len(accepted),
        "stored_at_kill": len(stored),
        "lost": len(lost),
        "lost_window_s": round(window, 3),
        "flush_interval_s": FLUSH_INTERVAL,
        "committed_before_kill": len(committed),
        "committed_missing": len(committed - stored),
        "duplicates": duplicates(after),
        "picture_items": len(picture),
    }
    record("kill9", figures)
    assert figures["committed_missing"] == 0, "a row committed before the kill is gone"
    assert figures["duplicates"] == 0
    assert window <= WINDOW_BOUND, f"lost events from {window:.3f} s before the kill"
    assert len(lost) <= 20 * 50 * WINDOW_BOUND
    assert picture == newest, "the restored picture is not each sender's newest stored event"
    assert len(after) > len(stored_list), "nothing stored after the restart"
