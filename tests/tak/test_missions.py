"""Data Sync missions: create, subscribe, contents, changes, dest mission, notices (issue 12)."""

from __future__ import annotations

import jwt
from lxml import etree

from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.principals import Principal
from tests.support.cot import marker
from tests.support.inprocess import InProcessServer
from tests.tak.packages_support import AGILA, CHARLIE, EAGLE, SAKURA, THIRD, request
from tests.tak.test_packages import online

REL_JPN = ("SECRET", "REL TO", "USA JPN")


def notices(peer: object, kind: str) -> list[etree._Element]:
    return [e.detail.find("mission") for e in peer.received if e.type == kind]  # type: ignore[attr-defined]


def test_missions_end_to_end(server: InProcessServer) -> None:
    eagle = online(server, EAGLE, "ANDROID-EAGLE")
    sakura = online(server, SAKURA, "ANDROID-SAKURA")
    agila = online(server, AGILA, "ANDROID-AGILA")
    third = online(server, THIRD, "ANDROID-THIRD")
    created = request(
        server,
        "PUT",
        "/Marti/api/missions/OPS?creatorUid=ANDROID-EAGLE&description=exercise&tool=public"
        "&marking=SECRET//REL TO USA, JPN",
        EAGLE,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type"] == "Mission" and body["data"][0]["name"] == "OPS"
    assert body["data"][0]["classification"] == "SECRET//REL TO USA, JPN"
    # t-x-m-n as the official server sends it, to whoever may see the mission.
    (made,) = notices(sakura, "t-x-m-n")
    assert made.get("type") == "CREATE" and made.get("name") == "OPS"
    assert made.get("authorUid") == "ANDROID-EAGLE"
    assert notices(agila, "t-x-m-n") == []
    listed = {
        m["name"] for m in request(server, "GET", "/Marti/api/missions", SAKURA).json()["data"]
    }
    assert listed == {"OPS"}
    assert request(server, "GET", "/Marti/api/missions", AGILA).json()["data"] == []
    assert request(server, "GET", "/Marti/api/missions/OPS", AGILA).status_code == 404
    # A mission's marking is the creator's to give: not above its clearance.
    too_high = request(server, "PUT", "/Marti/api/missions/HIGH?marking=SECRET", AGILA)
    assert too_high.status_code == 403

    # Subscribe: a JWT mission token, and the subscription routes dest mission traffic.
    sub = request(server, "PUT", "/Marti/api/missions/OPS/subscription?uid=ANDROID-SAKURA", SAKURA)
    assert sub.status_code == 201, sub.text
    token = sub.json()["data"]["token"]
    assert jwt.decode(token, options={"verify_signature": False})["mission"] == "OPS"
    assert server.runtime.missions.token_claims(token)["sub"] == "ANDROID-SAKURA"
    assert server.runtime.missions.token_claims(token + "x") is None
    assert (
        request(
            server, "PUT", "/Marti/api/missions/OPS/subscription?uid=ANDROID-AGILA", AGILA
        ).status_code
        == 404
    )
    charlie = online(server, CHARLIE, "ANDROID-CHARLIE")
    request(server, "PUT", "/Marti/api/missions/OPS/subscription?uid=ANDROID-CHARLIE", CHARLIE)

    # Contents: uids from the picture; nothing above the mission's marking.
    server.send(eagle, EAGLE, parse_xml(marker("m-rel", 35.0, 139.0, marking=REL_JPN)))
    server.send(
        eagle, EAGLE, parse_xml(marker("m-nf", 35.0, 139.0, marking=("SECRET", "NOFORN", None)))
    )
    for peer in (sakura, charlie, third):
        peer.received.clear()
    added = request(
        server,
        "PUT",
        "/Marti/api/missions/OPS/contents?creatorUid=ANDROID-EAGLE",
        EAGLE,
        json={"uids": ["m-rel"], "hashes": []},
    )
    assert added.status_code == 200, added.text
    assert [u["data"] for u in added.json()["data"][0]["uids"]] == ["m-rel"]
    (change,) = notices(sakura, "t-x-m-c")
    assert change.findtext("MissionChanges/MissionChange/type") == "ADD_CONTENT"
    assert change.findtext("MissionChanges/MissionChange/contentUid") == "m-rel"
    assert len(notices(charlie, "t-x-m-c")) == 1 and notices(third, "t-x-m-c") == []
    refused = request(
        server,
        "PUT",
        "/Marti/api/missions/OPS/contents",
        EAGLE,
        json={"uids": ["m-nf"]},
    )
    assert refused.status_code == 403 and "above the mission" in refused.text

    # A subscriber who may no longer see an item (downgraded) gets neither notice nor item.
    downgraded = Principal("CHARLIE", "USA", "CONFIDENTIAL")
    server.hub.change_principal(charlie, downgraded)
    charlie.received.clear()
    server.send(eagle, EAGLE, parse_xml(marker("m-2", 35.1, 139.1, marking=REL_JPN)))
    request(server, "PUT", "/Marti/api/missions/OPS/contents", EAGLE, json={"uids": ["m-2"]})
    assert notices(charlie, "t-x-m-c") == []
    assert len(notices(sakura, "t-x-m-c")) == 2
    reader = server.hub.reader_for(downgraded)
    ops = server.runtime.missions.store.get("OPS")
    assert server.runtime.missions.contents(ops, reader) == []

    # The change log and the mission's CoT, per item.
    log = request(server, "GET", "/Marti/api/missions/OPS/changes?secago=600", SAKURA).json()
    assert [(c["type"], c["contentUid"]) for c in log["data"]] == [
        ("ADD_CONTENT", "m-rel"),
        ("ADD_CONTENT", "m-2"),
    ]
    cot = request(server, "GET", "/Marti/api/missions/OPS/cot", SAKURA)
    events = etree.fromstring(cot.content)
    assert sorted(e.get("uid") for e in events) == ["m-2", "m-rel"]

    # dest mission reaches the subscribers, nobody else.
    for peer in (sakura, third):
        peer.received.clear()
    to_mission = marker("m-dest", 35.0, 139.0, marking=REL_JPN).replace(
        b"</detail>", b'<marti><dest mission="OPS"/></marti></detail>'
    )
    server.send(eagle, EAGLE, parse_xml(to_mission))
    assert [e.uid for e in sakura.received] == ["m-dest"]
    assert third.received == []

    # Removal and deletion: t-x-m-c REMOVE_CONTENT, then t-x-m-d; only the creator deletes.
    sakura.received.clear()
    gone = request(server, "DELETE", "/Marti/api/missions/OPS/contents?uid=m-rel", EAGLE)
    assert gone.status_code == 200
    (removed,) = notices(sakura, "t-x-m-c")
    assert removed.findtext("MissionChanges/MissionChange/type") == "REMOVE_CONTENT"
    assert request(server, "DELETE", "/Marti/api/missions/OPS", SAKURA).status_code == 403
    assert request(server, "DELETE", "/Marti/api/missions/OPS", EAGLE).status_code == 200
    (deleted,) = notices(sakura, "t-x-m-d")
    assert deleted.get("type") == "DELETE" and deleted.get("name") == "OPS"
    assert request(server, "GET", "/Marti/api/missions/OPS", EAGLE).status_code == 404
