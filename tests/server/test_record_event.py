"""The relay's history sink stores every value of an event in its own column."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from allied_c2.app import build_runtime
from allied_c2.config import Config
from allied_c2.security.markings import marking_from_cot
from allied_c2.security.principals import Principal
from tests.support.cot import EVERY_FIELD_TIME as T0
from tests.support.cot import every_field_event


async def test_record_event_puts_each_value_in_its_column(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, cot_tcp=None, cot_tls=None, http=None)
    runtime = build_runtime(config)
    try:
        event = every_field_event()
        marking = marking_from_cot(
            event.access, event.caveat, event.releasable_to, runtime.policy
        ).with_originator("JPN")
        sender = Principal("SAKURA", "JPN", "SECRET")
        received = T0 + timedelta(seconds=2)
        runtime.record_event(event, marking, sender, received)
        assert await asyncio.to_thread(runtime.writer.flush, 10.0)

        [row] = runtime.reader.history(uid="u-1")
        assert (row.uid, row.type, row.how) == ("u-1", "a-f-G-U-C", "m-g")
        assert (row.time, row.start, row.stale) == (
            T0,
            T0 + timedelta(seconds=1),
            T0 + timedelta(minutes=5),
        )
        assert (row.lat, row.lon, row.hae) == (35.5, 139.25, 12.5)
        assert (row.access, row.caveat, row.releasable_to) == ("SECRET", "REL TO", "USA JPN")
        assert row.banner == marking.banner()
        assert (row.originator, row.sender) == ("JPN", "SAKURA")
        assert row.received_at == received
        assert row.xml == event.xml_wire
    finally:
        await asyncio.to_thread(runtime.writer.close)
        runtime.audit.close()
