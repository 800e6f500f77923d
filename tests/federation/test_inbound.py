"""What a federate sends, into a real hub: renamed markers, deletes and contacts' departures."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from allied_c2.cot.drawing import delete_event
from allied_c2.cot.event import CotEvent
from allied_c2.cot.special import disconnect_notice
from allied_c2.federation import wire
from allied_c2.federation.contacts import FederatedContacts
from allied_c2.federation.inbound import receive
from allied_c2.federation.link import Link
from allied_c2.federation.proto import fig_pb2
from allied_c2.security.markings import marking_to_cot
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.server.hub import Hub
from allied_c2.server.peers import Accepted
from tests.federation.helpers import NOW, event, guard, marking, peer

REL_JPN = marking("SECRET", "REL TO", "USA JPN")


def _jpn_side() -> tuple[Any, Any, list[Accepted]]:
    """JPN's hub and its link from USA-SRV, wired as service.py wires them."""
    hub = Hub(DEFAULT_POLICY, DEFAULT_POLICY.default_marking)
    contacts = FederatedContacts()
    accepted: list[Accepted] = []

    def outlet(item: Accepted) -> None:
        accepted.append(item)
        if item.event.type.startswith("a-"):  # FederationService._accepted does this
            contacts.sent("USA-SRV", item.event.uid, item.marking)

    hub.add_outlet(outlet)
    link = Link(peer("USA-SRV", "USA", "SECRET"), guard("JPN"), "jpn-id")
    link.up(NOW, "usa:9001")
    member = SimpleNamespace(name="USA-SRV", link=link, principal=link.peer.principal)
    service = SimpleNamespace(hub=hub, contacts=contacts, relay=None, now=lambda: NOW)
    return service, member, accepted


def _from_usa(ev: CotEvent) -> fig_pb2.FederatedEvent:
    return wire.federated_event(ev, "usa-id", "usa")


def test_a_peer_s_request_marker_and_its_delete_are_renamed_on_arrival() -> None:
    service, member, _ = _jpn_side()
    hub = service.hub
    unclass = marking("UNCLASSIFIED")
    receive(service, member, _from_usa(event("request-REQ-0001", "b-m-p-s-m", marking=unclass)))
    assert hub.picture.get("request-REQ-0001@USA-SRV") is not None
    assert hub.picture.get("request-REQ-0001") is None  # JPN's own REQ-0001 is not touched
    # Deleted at home (ATAK's __forcedelete): it crosses as the marked event it is, not as a
    # contact DELETE, and removes the marker under its local name.
    gone = delete_event("request-REQ-0001", "b-m-p-s-m", NOW + timedelta(seconds=1), "del-1")
    gone = gone.with_marking(*marking_to_cot(unclass), in_place=True)
    message = _from_usa(gone)
    assert message.HasField("event") and not message.HasField("contact")
    receive(service, member, message)
    assert hub.picture.get("request-REQ-0001@USA-SRV") is None


def test_a_contact_s_departure_is_marked_as_the_contact_and_only_for_known_ones() -> None:
    service, member, accepted = _jpn_side()
    sa = event("us-c", "a-f-G-U-C", '<detail><contact callsign="VIPER" endpoint="*:-1:stcp"/>'
               "</detail>", marking=REL_JPN)  # fmt: skip
    receive(service, member, _from_usa(sa))
    message = _from_usa(disconnect_notice("us-c", "VIPER", NOW))
    assert message.contact.operation == wire.CONTACT_DELETE
    assert message.contact.callsign == "a-f-G-U-C"  # TAK: the link's type (link@type)
    accepted.clear()
    receive(service, member, message)
    [notice] = [a for a in accepted if a.event.type == "t-x-d-d"]
    assert "us-c" in notice.event.link_uids
    assert notice.marking.banner() == REL_JPN.banner()  # not the unmarked default
    assert service.contacts.gone("USA-SRV", "us-c") is None  # forgotten already
    # A contact this server never heard of: nobody here knew it, so nobody is told.
    accepted.clear()
    receive(service, member, _from_usa(disconnect_notice("us-unknown", "QUIET", NOW)))
    assert [a for a in accepted if a.event.type == "t-x-d-d"] == []


def test_a_tak_server_s_contact_delete_of_a_drawing_is_a_forced_delete() -> None:
    """TAK sends every t-x-d-d as a contact DELETE with the item's type as callsign."""
    message = wire.contact_entry("drawing-1", "u-d-f", wire.CONTACT_DELETE)
    notice = wire.deleted_contact(message, NOW)
    assert notice.type == "t-x-d-d" and "drawing-1" in notice.link_uids
    assert any(child.tag == "__forcedelete" for child in notice.detail)  # type: ignore[union-attr]
    by_callsign = wire.deleted_contact(
        wire.contact_entry("c-1", "SAKURA", wire.CONTACT_DELETE), NOW
    )
    assert not any(child.tag == "__forcedelete" for child in by_callsign.detail)  # type: ignore[union-attr]
