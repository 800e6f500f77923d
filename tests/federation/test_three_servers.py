"""Three national servers federated through their guards, on loopback.

USA dials JPN, JPN dials PHL, PHL dials USA (a loop). Each server has its own
data dir, CA and users; USA's link to JPN has a sanitisation rule. Items sent by
a US user over CoT TLS must reach exactly the servers and clients their
markings allow, and nothing may echo around the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from allied_c2.federation.certs import FederationIdentity
from tests.federation.support import (
    HOSTILE_TRACKS_RULES,
    Node,
    await_for,
    make_node,
    register,
    wait_up,
)
from tests.support.cot import marker, pli
from tests.support.server import create_token

# Three servers and a dozen CLI runs to set them up: minutes on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def alliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    root = tmp_path_factory.mktemp("federation")
    # The three administrators work at the same time (the CLI runs are most of the set-up).
    with ThreadPoolExecutor(3) as pool:
        usa, jpn, phl = pool.map(
            lambda args: make_node(root, *args),
            [
                ("USA-SRV", "USA", [("us-ops", "USA", "TOP SECRET")]),
                ("JPN-SRV", "JPN", [("jp-ops", "JPN", "SECRET")]),
                ("PHL-SRV", "PHL", [("ph-ops", "PHL", "SECRET")]),
            ],
        )
    nodes = {"USA": usa, "JPN": jpn, "PHL": phl}
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda node: node.server.start(60), nodes.values()))
        rules = root / "usa-to-jpn.toml"
        rules.write_text(HOSTILE_TRACKS_RULES)
        # The listening side first, so the dialler is known when it calls.
        with ThreadPoolExecutor(3) as pool:
            list(
                pool.map(
                    lambda pair: register(*pair, dial=False), [(jpn, usa), (phl, jpn), (usa, phl)]
                )
            )
        register(usa, jpn, dial=True, rules=rules)
        register(jpn, phl, dial=True)
        register(phl, usa, dial=True)
        wait_up(usa, "JPN-SRV")
        wait_up(jpn, "PHL-SRV")
        wait_up(phl, "USA-SRV")
        wait_up(usa, "PHL-SRV")
        yield nodes
    finally:
        for node in nodes.values():
            node.server.stop()
            node.close()


def _rows(node: Node, uid: str) -> int:
    return len(node.rows(uid))


async def test_markings_decide_what_crosses(alliance: dict[str, Node]) -> None:
    usa, jpn, phl = alliance["USA"], alliance["JPN"], alliance["PHL"]
    sender = await usa.client("us-ops")
    jp = await jpn.client("jp-ops")
    ph = await phl.client("ph-ops")
    await asyncio.sleep(0.5)
    try:
        await sender.send(
            marker("noforn-1", 35.1, 139.1, cot_type="a-f-G", marking=("SECRET", "NOFORN", None))
        )
        await sender.send(marker("rel-1", 35.2, 139.2, marking=("SECRET", "REL TO", "USA JPN")))
        await sender.send(
            marker(
                "san-1",
                35.681236,
                139.767125,
                cot_type="a-h-G",
                marking=("SECRET", "NOFORN", None),
                remarks="source: exact sensor fix",
            )
        )
        await sender.send(marker("pub-1", 35.3, 139.3))
        # FIFO per link: once the last item is in, everything before it was decided.
        got = await jp.wait_uid("pub-1", timeout=60)
        assert got.access == "UNCLASSIFIED"
        await ph.wait_uid("pub-1", timeout=60)

        # REL TO USA, JPN: the JPN server and its client, not the PHL server.
        rel = await jp.wait_uid("rel-1", timeout=30)
        assert (rel.access, rel.releasable_to) == ("SECRET", "USA JPN")
        await await_for(lambda: _rows(jpn, "rel-1") == 1, what="rel-1 stored on JPN")
        jpn_row = jpn.rows("rel-1")[0]
        assert jpn_row.originator == "USA" and jpn_row.sender == "fed:USA-SRV"

        # The sanitised copy: coarsened, remarks dropped, marked as the rule says.
        copy = await jp.wait_uid("san-1", timeout=30)
        assert (copy.access, copy.caveat, copy.releasable_to) == (
            "CONFIDENTIAL",
            "REL TO",
            "USA JPN",
        )
        assert (copy.lat, copy.lon) != (35.681236, 139.767125)
        assert abs(copy.lat - 35.681236) < 0.01 and abs(copy.lon - 139.767125) < 0.02
        assert copy.ce >= 1000 * 2**0.5 / 2
        assert copy.remarks is None
        mark = copy.detail.find("__sanitised")
        assert mark is not None and mark.get("rule") == "jpn-hostile-tracks"
        assert mark.get("by")

        await asyncio.sleep(1.0)  # the history writers' flush
        for node in (jpn, phl):
            assert _rows(node, "noforn-1") == 0, node.name  # NOFORN never crosses
        assert _rows(phl, "rel-1") == 0 and _rows(phl, "san-1") == 0
        assert "rel-1" not in ph.uids() and "san-1" not in ph.uids()
        assert "noforn-1" not in jp.uids() | ph.uids()

        # The loop does not echo: one row each, the PHL client got pub-1 once.
        for node in (usa, jpn, phl):
            assert _rows(node, "pub-1") == 1, node.name
        assert [e.uid for e in ph.events].count("pub-1") == 1
        assert "pub-1" not in sender.uids()

        links = usa.links()
        assert links["JPN-SRV"]["refusals"].get("release", 0) >= 1  # noforn-1
        assert links["JPN-SRV"]["sanitised"] == {"jpn-hostile-tracks": 1}
        assert links["PHL-SRV"]["refusals"].get("release", 0) >= 3
        assert jpn.links()["USA-SRV"]["refusals"].get("echo", 0) >= 1
        assert jpn.links()["PHL-SRV"]["refusals"].get("from_federate", 0) >= 1
        denied = usa.audit("federation.denied")
        assert any(e.subject == "noforn-1" and e.detail["federate"] == "JPN-SRV" for e in denied)
    finally:
        for client in (sender, jp, ph):
            await client.close()


async def test_federated_contacts_are_listed_as_far_as_releasable(
    alliance: dict[str, Node],
) -> None:
    """/Marti/api/clientEndPoints on a peer lists a federate's contacts that sent something
    releasable to the reader; a contact whose items reach a server lists nowhere else."""
    usa, jpn, phl = alliance["USA"], alliance["JPN"], alliance["PHL"]
    sender = await usa.client("us-ops")
    jp = await jpn.client("jp-ops")
    ph = await phl.client("ph-ops")
    try:
        await sender.send(pli("us-contact-1", "VIPER 7", marking=("SECRET", "REL TO", "USA JPN")))
        await jp.wait_uid("us-contact-1", timeout=60)

        def callsigns(node: Node, callsign: str) -> set[str]:
            token = create_token(node.data, callsign)
            body = node.server.get_json("/Marti/api/clientEndPoints", token)
            return {entry["callsign"] for entry in body["data"]}

        await await_for(
            lambda: "VIPER 7" in callsigns(jpn, "jp-ops"), what="VIPER 7 among JPN's contacts"
        )
        entry = {
            e["callsign"]: e
            for e in jpn.server.get_json(
                "/Marti/api/clientEndPoints", create_token(jpn.data, "jp-ops")
            )["data"]
        }["VIPER 7"]
        assert entry["username"] == "fed:USA-SRV" and entry["uid"] == "us-contact-1"
        assert "VIPER 7" not in callsigns(phl, "ph-ops")  # REL TO USA, JPN: not Manila
        # The web's list of federated contacts decides the same way.
        listed = jpn.server.get_json(
            "/api/v1/federation/contacts", create_token(jpn.data, "jp-ops")
        )
        assert ("USA-SRV", "VIPER 7") in {
            (c["federate"], c["callsign"]) for c in listed["contacts"]
        }
        elsewhere = phl.server.get_json(
            "/api/v1/federation/contacts", create_token(phl.data, "ph-ops")
        )
        assert "VIPER 7" not in {c["callsign"] for c in elsewhere["contacts"]}
        # The contact leaves: its disconnect crosses as a contact DELETE (marked as the
        # contact, so only where the contact was known), and the peer's list forgets it.
        await sender.close()
        gone = await jp.wait_for(
            lambda e: e.type == "t-x-d-d" and "us-contact-1" in e.link_uids, timeout=60
        )
        assert gone.access == "SECRET" and gone.releasable_to == "USA JPN"
        await await_for(
            lambda: "VIPER 7" not in callsigns(jpn, "jp-ops"), what="VIPER 7 gone from JPN"
        )
        # Manila never knew of the contact, so it is not told that it left either.
        await asyncio.sleep(2.0)
        assert not [
            e for e in ph.events if "us-contact-1" in e.link_uids or e.uid == "us-contact-1"
        ]
    finally:
        for client in (sender, jp, ph):
            await client.close()


def test_federation_api_is_for_admins(alliance: dict[str, Node], tmp_path: Path) -> None:
    import urllib.error

    from tests.support.server import create_token

    usa = alliance["USA"]
    token = create_token(usa.data, "us-ops")  # an operator, not an admin
    with pytest.raises(urllib.error.HTTPError) as refused:
        usa.server.get_json("/api/v1/federation", token)
    assert refused.value.code == 403
    body = usa.server.get_json("/api/v1/federation", usa.admin_token)
    assert body["enabled"] is True and body["server"]["listening"]
    link = {entry["name"]: entry for entry in body["links"]}["JPN-SRV"]
    assert link["state"] == "up" and link["direction"] == "dial"
    assert link["peer"]["nation"] == "JPN" and link["last_seen"]
    assert {"items", "limit", "dropped_positions", "dropped_other"} <= set(link["backlog"])


def _fake_federate(root: Path, name: str) -> tuple[Path, Path, FederationIdentity]:
    """A peer's CA and federation certificate, made with the server's own PKI code."""
    from allied_c2.federation.identity import certificate_facts
    from allied_c2.pki.authority import CertificateAuthority, cert_pem, key_pem

    authority = CertificateAuthority.create(f"{name} CA")
    issued = authority.issue_federation(["localhost", "127.0.0.1"])
    ca, cert = root / f"{name}-ca.pem", root / f"{name}.pem"
    ca.write_bytes(cert_pem(authority.certificate))
    cert.write_bytes(cert_pem(issued.certificate))
    identity = FederationIdentity(
        key_pem(issued.key),
        cert_pem(issued.certificate),
        cert_pem(authority.certificate),
        certificate_facts(issued.certificate),
    )
    return ca, cert, identity


def _geo(uid: str, access: str, caveat: str = "", rel: str = "") -> Any:
    from datetime import UTC, datetime, timedelta

    from allied_c2.federation.proto import fig_pb2

    now = datetime.now(UTC)
    message = fig_pb2.FederatedEvent()
    geo = message.event
    geo.uid, geo.type, geo.coordSource = uid, "a-f-G", "h-g-i-g-o"
    geo.sendTime = geo.startTime = int(now.timestamp() * 1000)
    geo.staleTime = int((now + timedelta(minutes=5)).timestamp() * 1000)
    geo.lat, geo.lon, geo.ce, geo.le, geo.hae = 14.6, 121.0, 9999999, 9999999, 0
    geo.access, geo.caveat, geo.releaseableTo = access, caveat, rel
    geo.other = f'<detail><contact callsign="{uid}"/></detail>'
    return message


async def test_inbound_items_are_the_federates_and_within_its_accreditation(
    alliance: dict[str, Node], tmp_path: Path
) -> None:
    import grpc

    from allied_c2.federation import channel as ch
    from allied_c2.federation.proto import fig_pb2
    from tests.support.server import cli

    usa = alliance["USA"]
    ca, cert, identity = _fake_federate(tmp_path, "fake-jpn")
    cli(
        "federate",
        "add",
        "--data-dir",
        str(usa.data),
        "--name",
        "FAKE-JPN",
        "--nation",
        "JPN",
        "--clearance",
        "SECRET",
        "--peer-ca",
        str(ca),
        "--peer-cert",
        str(cert),
    )
    usa_ca = (usa.out / "ca.pem").read_bytes()
    options = [("grpc.ssl_target_name_override", "127.0.0.1")]

    claim = _geo("claim-1", "CONFIDENTIAL", "REL TO", "USA JPN")
    claim.federateProvenance.add(federationServerId="PHL-SERVER-ID")  # "it came from PHL"
    messages = [
        claim,
        _geo("scheme-1", "PHL CONFIDENTIAL", "REL TO", "PHL JPN"),  # a PHL national marking
        _geo("over-1", "TOP SECRET", "REL TO", "USA JPN"),  # above the accreditation
        _geo("done-1", "UNCLASSIFIED"),
    ]

    async def send_all() -> None:
        for message in messages:
            yield message
        await asyncio.sleep(30)  # keep the stream open while the server ingests

    await asyncio.sleep(1.5)  # the server's poll picks the new federate up
    credentials = ch.channel_credentials(identity, usa_ca)
    async with grpc.aio.secure_channel(usa.federation_address, credentials, options=options) as c:
        subscription = fig_pb2.Subscription(identity=fig_pb2.Identity(name="fake"))
        subscription.version.major = 5
        groups = ch.callable_for(c, ch.SERVER_GROUPS_STREAM)(subscription)
        first = await groups.read()
        assert first.streamUpdate.status == fig_pb2.ServerHealth.SERVING
        call = ch.callable_for(c, ch.SERVER_EVENT_STREAM)(send_all())
        answer = await call.read()
        assert answer.identity.name  # the listener's Subscription, at once
        await await_for(lambda: usa.rows("done-1"), what="the fake federate's items ingested")
        call.cancel()
        groups.cancel()

    row = usa.rows("claim-1")[0]
    assert (row.originator, row.sender) == ("JPN", "fed:FAKE-JPN")  # re-attributed
    assert usa.rows("scheme-1") == [] and usa.rows("over-1") == []
    refused = {e.subject: e for e in usa.audit("send.refused")}
    assert refused["over-1"].actor == "fed:FAKE-JPN"
    assert "federation:FAKE-JPN" in str(refused["over-1"].detail["peer"])
    assert refused["scheme-1"].detail["reason"] == "send_not_permitted"
    assert usa.links()["FAKE-JPN"]["refused_in"] == {"send_not_permitted": 2}

    # A certificate of a trusted CA that is no federate (a user's) is refused and audited.
    from allied_c2.federation.certs import FederationIdentity
    from allied_c2.federation.identity import certificate_facts, load_certificate

    user_pem = (usa.certs / "us-ops.pem").read_bytes()
    stranger = FederationIdentity(
        (usa.certs / "us-ops.key").read_bytes(),
        user_pem,
        usa_ca,
        certificate_facts(load_certificate(user_pem)),
    )
    credentials = ch.channel_credentials(stranger, usa_ca)
    async with grpc.aio.secure_channel(usa.federation_address, credentials, options=options) as c:
        groups = ch.callable_for(c, ch.SERVER_GROUPS_STREAM)(fig_pb2.Subscription())
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await groups.read()
    assert error.value.code() is grpc.StatusCode.PERMISSION_DENIED
    entries = await await_for(lambda: usa.audit("federation.refused"), what="refusal audited")
    assert entries[-1].subject == stranger.server_id
    cli("federate", "remove", "--data-dir", str(usa.data), "--name", "FAKE-JPN")
