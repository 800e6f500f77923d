"""One link's state machine and its bounded backlog, without sockets."""

from __future__ import annotations

from datetime import timedelta

from allied_c2.federation import wire
from allied_c2.federation.backlog import Backlog
from allied_c2.federation.link import Discard, InContact, InEvent, Link, State
from tests.federation.helpers import NOW, event, guard, marking, offer, peer


def test_the_backlog_drops_the_oldest_position_updates_first() -> None:
    backlog: Backlog[str] = Backlog(3)
    backlog.push("pos-1", "a-f-G")
    backlog.push("chat-1", "b-t-f")
    backlog.push("pos-2", "a-f-G")
    assert backlog.push("pos-3", "a-f-G") == 1
    assert backlog.items() == ["chat-1", "pos-2", "pos-3"]
    backlog.push("chat-2", "b-t-f")
    backlog.push("chat-3", "b-t-f")
    assert backlog.items() == ["chat-1", "chat-2", "chat-3"]  # no position left to drop
    backlog.push("chat-4", "b-t-f")
    assert backlog.items() == ["chat-2", "chat-3", "chat-4"]
    assert (backlog.dropped.positions, backlog.dropped.others) == (3, 1)
    backlog.push_front([("old-1", "b-t-f"), ("old-2", "a-f-G")])
    assert backlog.items()[:2] == ["chat-2", "chat-3"]  # the bound keeps the front trimmed too


def _link(limit: int = 100) -> Link:
    return Link(peer(), guard(), "usa-id", backlog_max=limit, resend_window=timedelta(seconds=10))


def test_items_wait_while_down_and_are_sent_again_after_a_drop() -> None:
    link = _link()
    unclass = marking("UNCLASSIFIED")
    assert link.offer(offer(event("a"), unclass), NOW) is None
    assert link.take(10, NOW) == []  # not up: nothing goes
    link.up(NOW, "peer:1")
    sent = link.take(10, NOW)
    assert [q.offer.event.uid for q in sent] == ["a"] and link.cursor == NOW
    link.offer(offer(event("b"), unclass), NOW)
    assert link.down(NOW, "reset", dialer=True) == 1.0
    assert link.state is State.BACKOFF
    # What was written in the resend window comes first, then what waited.
    assert [q.offer.event.uid for q in link.backlog.items()] == ["a", "b"]
    assert link.down(NOW, "again", dialer=True) == 2.0  # backoff doubles
    link.up(NOW)
    assert [q.offer.event.uid for q in link.take(10, NOW)] == ["a", "b"]
    denied = link.offer(offer(event("c"), marking("SECRET", "NOFORN")), NOW)
    assert denied is not None and link.stats.denied["release"] == 1


def test_inbound_loops_hops_and_duplicates_are_dropped() -> None:
    link = _link()
    message = wire.federated_event(event("x"), "jpn-id", "jpn")
    first = link.receive(message, NOW)
    assert isinstance(first, InEvent) and first.event.uid == "x"
    assert link.receive(message, NOW) == Discard("duplicate", "x")
    looped = wire.federated_event(event("y"), "usa-id", "usa")  # our own id in the provenance
    assert isinstance(link.receive(looped, NOW), Discard)
    spent = wire.federated_event(event("z"), "jpn-id", "jpn")
    spent.federateHops.maxHops, spent.federateHops.currentHops = 1, 2
    assert link.receive(spent, NOW).reason == "hops"  # type: ignore[union-attr]


def test_contacts_the_peer_sends_make_it_an_addressee() -> None:
    link = _link()
    created = link.receive(wire.contact_entry("jp-uid", "SAKURA"), NOW)
    assert created == InContact("jp-uid", "SAKURA", False)
    assert "SAKURA" in link.peer.reader.callsigns and "jp-uid" in link.peer.reader.uids
    deleted = wire.contact_entry("jp-uid", "SAKURA", wire.CONTACT_DELETE)
    gone = link.receive(deleted, NOW)
    assert isinstance(gone, InContact) and gone.deleted and gone.notice is not None
    assert gone.notice.type == "t-x-d-d" and "SAKURA" not in link.peer.reader.callsigns
