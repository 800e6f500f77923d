"""The stream's message format and subjects (pure), and the cluster settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from allied_c2.cluster.history import record_of
from allied_c2.cluster.settings import ClusterSettings, ClusterSettingsError
from allied_c2.cluster.wire import WireError, decode, encode, own_prefix, subject_for
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.audience import NO_ORIGIN, Origin
from allied_c2.security.markings import Marking, marking_from_cot
from allied_c2.security.policy import DEFAULT_POLICY
from allied_c2.security.principals import Principal
from tests.support.cot import marker

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KITSUNE = Principal("KITSUNE", "JPN", "SECRET", roles=frozenset({"operator"}), organisation="js")


def _marking(access: str, caveat: str | None, rel: str | None, nation: str = "USA") -> Marking:
    return marking_from_cot(access, caveat, rel, DEFAULT_POLICY).with_originator(nation)


def test_subjects_carry_the_marking_class_not_the_audience() -> None:
    public = _marking("UNCLASSIFIED", None, None)
    assert subject_for("p", public) == "p.ev.r0.any"
    noforn = _marking("SECRET", "NOFORN", None)
    assert subject_for("p", noforn).startswith("p.ev.r") and subject_for("p", noforn).endswith(
        ".noforn.USA"
    )
    rel = _marking("SECRET", "REL TO", "USA JPN")
    assert subject_for("p", rel).endswith(".rel")
    assert subject_for("p", rel).split(".")[2] == subject_for("p", noforn).split(".")[2]


def test_a_message_round_trips_sender_origin_and_history_fields() -> None:
    event = parse_xml(marker("m-1", 35.5, 139.5, marking=("SECRET", "REL TO", "USA JPN")))
    marking = _marking("SECRET", "REL TO", "USA JPN", "JPN")
    origin = Origin("KITSUNE", "k-uid", groups=frozenset({"Red"}), connection=7)
    data = encode("n1", "boot1", event, marking, origin, KITSUNE, AT)
    assert data.startswith(own_prefix("n1", "boot1"))
    assert not data.startswith(own_prefix("n1", "boot2"))
    envelope = decode(data)
    assert envelope.sender == KITSUNE and envelope.node == "n1" and envelope.at == AT
    # The connection serial names a connection only on the accepting node: never sent.
    assert envelope.origin == Origin("KITSUNE", "k-uid", groups=frozenset({"Red"}))
    assert envelope.banner == marking.banner() and envelope.originator == "JPN"
    assert envelope.xml == event.xml_wire and not envelope.server_made
    record = record_of(data)
    assert (record.uid, record.type, record.lat, record.sender) == ("m-1", "a-h-G", 35.5, "KITSUNE")
    assert record.stale == event.stale and record.banner == marking.banner()
    public = encode("n1", "b", event, marking, NO_ORIGIN, KITSUNE, AT, server_made=True)
    assert decode(public).server_made and decode(public, history=False).fields == ()


@pytest.mark.parametrize(
    "data",
    [b"", b'{"v":1}', b"not json\n<event/>", b'{"v":2,"node":"n"}\n<event/>', b'{"v":1}\n<e/>'],
)
def test_a_message_that_is_not_ours_is_refused(data: bytes) -> None:
    with pytest.raises(WireError):
        decode(data)


def test_settings_are_checked_and_turned_into_connect_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ClusterSettingsError, match="nats://"):
        ClusterSettings(servers=("http://x:1",), node_id="n1")
    with pytest.raises(ClusterSettingsError, match="prefix"):
        ClusterSettings(servers=("nats://x:4222",), node_id="n1", prefix="a.b")
    with pytest.raises(ClusterSettingsError, match="together"):
        ClusterSettings(servers=("tls://x:4222",), node_id="n1", tls_cert=tmp_path / "c")
    monkeypatch.setenv("ALLIED_C2_NATS_PASSWORD", "pw")
    settings = ClusterSettings(servers=("tls://x:4222",), node_id="n1", user="node", prefix="b-2")
    options = settings.connect_options()
    assert options["user"] == "node" and options["password"] == "pw"
    assert "tls" in options and settings.stream == "ALLIED_B_2_EVENTS"
