"""SIGTERM during load loses nothing accepted: history and audit flushed, endpoints.json gone.

The same load as the kill -9 test (20 senders × 50 events/s), plus refused sends (an
anonymous client marking SECRET) that the server audits. The server is stopped
with SIGTERM, as a service manager does, while every sender is still sending.
Every event a witness saw relayed must be in the history, once; every refusal the
server counted must be in the audit log, whose chain must verify.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from tests.reliability.support import Load, duplicates, metrics, record, recorder, stored_seqs
from tests.support.cot import marker
from tests.support.server import ServerProcess, cli

REFUSED = 25  # under the audit's 60 refusals per minute per client: all are written


async def test_sigterm_under_load_loses_nothing_accepted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, "--metrics", "127.0.0.1:0").start()
    host, port = server.address("cot_tcp")
    witness = await recorder(host, port)
    load = await Load(host, port, senders=20, rate=50.0).start()
    _, refused = await asyncio.open_connection(host, port)
    try:
        await asyncio.sleep(2.0)
        for i in range(REFUSED):
            above = marker(f"above-clearance-{i}", 35.0, 139.0, marking=("SECRET", None, None))
            refused.write(above)
        await refused.drain()
        await asyncio.sleep(1.0)
        counted = metrics(server.address("metrics"))
        started = time.monotonic()
        # SIGTERM with the load still on; a starved shared machine may take a while.
        exit_code = await asyncio.to_thread(server.stop, 90.0)
        stop_s = time.monotonic() - started
    finally:
        await load.stop()
        witness.close()
        refused.close()
    accepted = set(witness.seen)
    keys = stored_seqs(data / "allied-c2.db")
    stored = set(keys)
    with sqlite3.connect(data / "allied-c2.db") as conn:
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'send.refused'"
        ).fetchone()[0]
    verify = cli("audit", "verify", "--data-dir", str(data), check=False)
    figures = {
        "sent": len(load.sent),
        "accepted": len(accepted),
        "stored": len(stored),
        "accepted_not_stored": len(accepted - stored),
        "duplicates": duplicates(keys),
        "refusals_counted": counted.get('alliedc2_refusals_total{reason="send_not_permitted"}'),
        "refusals_audited": audited,
        "exit_code": exit_code,
        "endpoints_json_left": (data / "endpoints.json").exists(),
        "audit_verify": verify.returncode,
        "stop_s": round(stop_s, 2),
    }
    record("clean_stop", figures)
    assert exit_code == 0
    assert not figures["endpoints_json_left"]
    assert figures["accepted_not_stored"] == 0, "an accepted event is not in the history"
    assert figures["duplicates"] == 0
    assert audited == REFUSED, f"{audited} of {REFUSED} audited refusals written"
    assert verify.returncode == 0, verify.stdout + verify.stderr
