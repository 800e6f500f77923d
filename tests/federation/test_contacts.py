"""Federated contacts: shown to a local user only as far as what they sent is releasable."""

from __future__ import annotations

from types import SimpleNamespace

from allied_c2.federation.contacts import FederatedContacts
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.security.principals import Principal
from allied_c2.server.hub import Hub
from allied_c2.web.federation import federated_end_points
from tests.federation.helpers import NOW, marking


def test_a_contact_is_as_sensitive_as_what_it_sent() -> None:
    hub = Hub(DEFAULT_POLICY, DEFAULT_POLICY.default_marking)
    contacts = FederatedContacts()
    contacts.seen("USA-SRV", "us-1", "VIPER 1", NOW)
    contacts.sent("USA-SRV", "us-1", marking("SECRET", "REL TO", "USA JPN"))
    contacts.seen("USA-SRV", "us-2", "QUIET", NOW)  # sent nothing: shown to nobody
    contacts.seen("USA-SRV", "us-3", "OPEN", NOW)
    contacts.sent("USA-SRV", "us-3", marking("UNCLASSIFIED"))
    service = SimpleNamespace(visible_contacts=lambda reader: contacts.visible(hub, reader))
    runtime = SimpleNamespace(federation=service)

    def shown(nation: str, clearance: str = "SECRET") -> list[str]:
        reader = hub.reader_for(Principal(f"{nation}-user", nation, clearance))
        return [e["callsign"] for e in federated_end_points(runtime, reader)]

    assert shown("JPN") == ["OPEN", "VIPER 1"]
    assert shown("PHL") == ["OPEN"]
    assert shown("JPN", "CONFIDENTIAL") == ["OPEN"]
    entry = federated_end_points(runtime, hub.reader_for(Principal("j", "JPN", "SECRET")))[0]
    assert entry["username"] == "fed:USA-SRV" and entry["lastEventTime"].endswith("Z")
    contacts.gone("USA-SRV", "us-3")
    assert shown("PHL") == []
    assert (
        federated_end_points(
            SimpleNamespace(federation=None), hub.reader_for(Principal("j", "JPN", "SECRET"))
        )
        == []
    )
