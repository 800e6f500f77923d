"""The per-turn fan-out: one join per audience and wire format, release per principal."""

from __future__ import annotations

from allied_c2.cot.event import WireFormat
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.decision import ReleaseCache
from allied_c2.security.markings import marking_from_cot
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.security.principals import ANONYMOUS, Principal
from allied_c2.server.fanout import Broadcast, Fanout
from tests.support.cot import marker

US = Principal("EAGLE", "USA", "SECRET")


class Receiver:
    def __init__(self, fmt: WireFormat) -> None:
        self.fmt = fmt
        self.writes: list[bytes] = []
        self.items: list[str] = []

    @property
    def output_format(self) -> WireFormat:
        return self.fmt

    def deliver(self, data: bytes, items: list[Broadcast]) -> None:
        self.writes.append(data)
        self.items += [item.event.uid for item in items]


def item(uid: str, access: str | None = None, caveat: str | None = None) -> Broadcast:
    event = parse_xml(marker(uid, 1, 1, marking=(access, caveat, None)))
    marking = marking_from_cot(access, caveat, None, DEFAULT_POLICY).with_originator("USA")
    return Broadcast(event, marking, uid, None)


def test_each_audience_gets_one_write_of_what_it_may_see_in_its_format() -> None:
    fanout = Fanout()
    for broadcast in (item("open"), item("noforn", "SECRET", "NOFORN"), item("open-2")):
        fanout.add(broadcast)
    xml_us, proto_us = Receiver(WireFormat.XML), Receiver(WireFormat.PROTO)
    anon = [Receiver(WireFormat.XML) for _ in range(3)]
    delivered, withheld = fanout.flush(
        [(US, [xml_us, proto_us]), (ANONYMOUS, anon)], ReleaseCache(DEFAULT_POLICY).decide
    )
    assert xml_us.items == proto_us.items == ["open", "noforn", "open-2"]
    assert all(r.items == ["open", "open-2"] for r in anon)
    assert len(xml_us.writes) == len(proto_us.writes) == 1
    assert xml_us.writes[0].startswith(b"<event") and proto_us.writes[0][0] == 0xBF
    assert anon[0].writes[0] is anon[1].writes[0]  # one join shared by the audience
    assert (delivered, withheld) == (6 + 6, 3)
    assert len(fanout) == 0


def test_a_sender_does_not_get_its_own_broadcast_back() -> None:
    fanout = Fanout()
    sender, other = Receiver(WireFormat.XML), Receiver(WireFormat.XML)
    event = item("mine")
    fanout.add(Broadcast(event.event, event.marking, "mine", sender))  # type: ignore[arg-type]
    fanout.add(item("theirs"))
    fanout.flush([(US, [sender, other])], ReleaseCache(DEFAULT_POLICY).decide)
    assert sender.items == ["theirs"] and other.items == ["mine", "theirs"]
