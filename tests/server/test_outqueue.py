"""The outgoing queue coalesces positions by uid and bounds everything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allied_c2.server.outqueue import OutQueue, Overflow


def test_drain_returns_everything_in_order_once() -> None:
    q = OutQueue(max_items=10, max_bytes=1000)
    q.push("a", b"1")
    q.push(None, b"2")
    q.push("b", b"3")
    assert q.drain() == b"123"
    assert q.drain() == b""
    assert len(q) == 0 and q.nbytes == 0


def test_over_the_bound_positions_coalesce_to_the_newest_per_uid() -> None:
    q = OutQueue(max_items=3, max_bytes=1000)
    q.push("a", b"a1")
    q.push("b", b"b1")
    q.push(None, b"chat")
    q.push("a", b"a2")  # 4 items > 3: a1 is replaced by a2
    assert len(q) == 3
    assert q.stats.coalesced == 1
    assert q.drain() == b"b1chata2"


def test_items_that_cannot_coalesce_overflow() -> None:
    q = OutQueue(max_items=2, max_bytes=1000)
    q.push(None, b"x")
    q.push(None, b"y")
    with pytest.raises(Overflow):
        q.push(None, b"z")


def test_byte_bound_applies_too() -> None:
    q = OutQueue(max_items=100, max_bytes=10)
    q.push("a", b"12345678")
    q.push("a", b"abcdefgh")  # 16 bytes > 10: the older "a" goes
    assert q.drain() == b"abcdefgh"


def test_under_pressure_a_newer_position_replaces_the_pending_one_in_place() -> None:
    q = OutQueue(max_items=100, max_bytes=10_000)
    q.push("a", b"a1")
    q.push(None, b"chat")
    q.pressure()  # the client stopped reading
    q.push("a", b"a2")
    q.push("b", b"b1")
    q.push("a", b"a3")
    assert q.under_pressure and q.stats.coalesced == 2
    assert q.drain() == b"a3chatb1"
    assert not q.under_pressure  # drained: back to plain appending
    q.push("a", b"a4")
    q.push("a", b"a5")
    assert q.drain() == b"a4a5"


@given(st.lists(st.sampled_from(["a", "b", "c", None]), max_size=60))
def test_coalescing_keeps_every_unkeyed_item_in_order_and_the_newest_of_each_uid(
    keys: list[str | None],
) -> None:
    q = OutQueue(max_items=5, max_bytes=10_000)
    pushed: list[tuple[str | None, bytes]] = []
    try:
        for index, key in enumerate(keys):
            token = f"<{index}>".encode()
            pushed.append((key, token))
            q.push(key, token)
    except Overflow:
        unkeyed = sum(1 for k, _ in pushed if k is None)
        distinct = len({k for k, _ in pushed if k is not None})
        assert unkeyed + distinct > 5  # only then can coalescing not make room
        return
    out = q.drain()
    tokens = [t for _, t in pushed]
    if len(pushed) <= 5:
        assert out == b"".join(tokens)  # within bounds nothing is touched
        return
    positions = {t: out.find(t) for t in tokens}
    plain = [t for k, t in pushed if k is None]
    assert all(positions[t] >= 0 for t in plain)
    assert [positions[t] for t in plain] == sorted(positions[t] for t in plain)
    newest = {k: t for k, t in pushed if k is not None}
    for key, token in pushed:
        if key is not None:
            assert (positions[token] >= 0) == (newest[key] == token)


def test_a_batch_stays_one_buffer_until_coalescing_splits_it() -> None:
    q = OutQueue(max_items=4, max_bytes=10_000)
    q.push_batch(b"a1b1", 2, lambda: [("a", b"a1"), ("b", b"b1")])
    assert len(q) == 2
    q.push(None, b"chat")
    q.push_batch(b"a2b2", 2, lambda: [("a", b"a2"), ("b", b"b2")])  # 5 items > 4: coalesce
    assert q.under_pressure and q.stats.coalesced == 2
    q.push_batch(b"a3", 1, lambda: [("a", b"a3")])  # under pressure: merged in place
    assert q.drain() == b"chata3b2"
