"""CoT to and from FederatedEvent, as TAK Server's ProtoBufHelper maps them."""

from __future__ import annotations

import pytest

from allied_c2.cot.errors import CotError
from allied_c2.cot.special import disconnect_notice
from allied_c2.federation import wire
from allied_c2.federation.proto import fig_pb2
from tests.federation.helpers import NOW, event
from tests.support.cot import every_field_event


def test_an_event_round_trips_with_its_marking_and_typed_fields() -> None:
    original = every_field_event()
    message = wire.federated_event(original, "srv-id", "srv")
    geo = message.event
    assert (geo.access, geo.caveat, geo.releaseableTo) == ("SECRET", "REL TO", "USA JPN")
    assert (geo.speed, geo.course) == (3.25, 90.5) and "<track" not in geo.other
    assert geo.other.startswith("<detail>") and list(geo.ptpCallsigns) == ["BRAVO"]
    assert list(geo.missionNames) == ["m-1"] and geo.coordSource == "m-g"
    assert [p.federationServerId for p in message.federateProvenance] == ["srv-id"]
    assert (message.federateHops.currentHops, message.federateHops.maxHops) == (1, -1)
    back = wire.cot_event(fig_pb2.FederatedEvent.FromString(message.SerializeToString()).event)
    assert (back.uid, back.type, back.how, back.lat, back.lon) == (
        "u-1",
        "a-f-G-U-C",
        "m-g",
        35.5,
        139.25,
    )
    assert (back.time, back.stale) == (original.time, original.stale)
    assert (back.speed, back.course, back.remarks) == (3.25, 90.5, "on station")
    assert back.dest_callsigns == ("BRAVO",) and back.releasable_to == "USA JPN"


def test_no_other_means_no_detail_and_missions_become_destinations() -> None:
    geo = wire.geo_event(event(detail=""))
    assert geo.other == ""
    assert wire.cot_event(geo).detail is None
    geo.missionNames.append("exercise-1")
    assert wire.cot_event(geo).dest_missions == ("exercise-1",)


def test_a_disconnect_is_a_contact_delete_and_control_is_not_federated() -> None:
    message = wire.federated_event(disconnect_notice("u-9", "NINE", NOW), "id", "srv")
    assert not message.HasField("event")
    assert (message.contact.operation, message.contact.uid) == (wire.CONTACT_DELETE, "u-9")
    assert not wire.federated_type("t-x-c-t") and not wire.federated_type("t-x-m-c")
    assert wire.federated_type("t-x-d-d") and wire.federated_type("b-t-f")


def test_hostile_detail_is_refused() -> None:
    geo = wire.geo_event(event())
    geo.other = '<!DOCTYPE x [<!ENTITY a "b">]><detail>&a;</detail>'
    with pytest.raises(CotError):
        wire.cot_event(geo)
    geo.other = "<notdetail/>"
    with pytest.raises(CotError):
        wire.cot_event(geo)
