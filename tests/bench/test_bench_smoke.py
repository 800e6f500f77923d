"""The benchmark tool counts right: deliveries, gaps and loss, never timing."""

from __future__ import annotations

import random
from pathlib import Path

from bench.events import TimeStrings, pli
from bench.loadgen import Client, LoadSpec, run_load
from bench.target import start_rawrelay, stop_all


def _feed(client: Client, stream: bytes, rng: random.Random) -> None:
    """Deliver ``stream`` in random chunks, as the event loop would."""
    pos = 0
    while pos < len(stream):
        view = client.get_buffer(-1)
        n = min(len(view), rng.randint(1, 900), len(stream) - pos)
        view[:n] = stream[pos : pos + n]
        client.buffer_updated(n)
        pos += n


def _events(pairs: list[tuple[int, int]]) -> bytes:
    now, stale = TimeStrings().get(0.0)
    return b"".join(pli(s, q, 1_000, now, stale) for s, q in pairs)


def test_client_counts_gaps_and_duplicates_across_chunk_boundaries() -> None:
    stream = _events([(0, 0), (1, 0), (0, 1), (0, 3), (1, 1), (0, 3), (1, 4), (0, 2)])
    stream += b"<event><detail/></event>"  # a server's own event: not a benchmark delivery
    for seed in range(20):
        client = Client(n_senders=2, parse=True)
        _feed(client, stream, random.Random(seed))
        assert client.deliveries == 8
        assert client.unique == 6  # sender 0: 0,1,3; sender 1: 0,1,4
        assert client.gaps == 1 + 2  # sender 0 misses 2, sender 1 misses 2 and 3
        assert client.reordered == 2  # the repeated 3 and the late 2
        assert len(client.latency_us) == 8
        assert client.fill == 0


def test_client_count_mode_counts_every_benchmark_event() -> None:
    stream = _events([(s % 3, s) for s in range(50)]) + b"<event uid='x'/></event>"
    for seed in range(5):
        client = Client(n_senders=3, parse=False)
        _feed(client, stream, random.Random(seed))
        assert client.deliveries == 50


async def test_raw_relay_load_is_counted_without_loss(tmp_path: Path) -> None:
    relay = await start_rawrelay(tmp_path / "relay", pin=False)
    try:
        spec = LoadSpec(
            senders=3,
            receivers=2,
            rate_per_sender=10,
            duration_s=2.0,
            drain_quiet_s=0.5,
            drain_max_s=5.0,
        )
        result = await run_load(*relay.cot, spec)
    finally:
        stop_all()
    assert result.connect_failures == 0
    assert result.sent == 3 * 20
    assert result.receiver_deliveries == 60 * 2
    assert result.sender_deliveries == 3 * 40  # each sender hears the other two
    assert result.expected == 60 * 2 + 3 * 40
    assert result.missing == 0 and result.gaps == 0 and result.reordered == 0
    assert result.latency_ms["samples"] == result.expected
    assert not relay.alive()


async def test_flat_out_senders_are_counted_at_every_receiver(tmp_path: Path) -> None:
    relay = await start_rawrelay(tmp_path / "relay", pin=False)
    try:
        spec = LoadSpec(
            senders=2, receivers=3, rate_per_sender=None, duration_s=1.0, warmup_s=0.3, parse=False
        )
        result = await run_load(*relay.cot, spec)
    finally:
        stop_all()
    assert result.connect_failures == 0 and result.disconnected_early == 0
    assert result.sent > 0
    assert result.receiver_deliveries > 0 and result.sender_deliveries > 0
    assert result.latency_ms == {}  # count mode reads no timestamps
