"""Data packages over HTTP as ATAK and iTAK move them, each exit through the audience (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime

from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.principals import Principal
from tests.support.cot import pli
from tests.support.inprocess import FakePeer, InProcessServer
from tests.tak.packages_support import (
    AGILA,
    CHARLIE,
    EAGLE,
    SAKURA,
    THIRD,
    ack,
    announcement,
    data_package,
    request,
    sha256,
    upload,
)


def online(server: InProcessServer, who: Principal, uid: str) -> FakePeer:
    peer = server.connect(who, who.callsign, datetime.now(UTC))
    server.send(peer, who, parse_xml(pli(uid, who.callsign)))
    peer.received.clear()
    return peer


def files(peer: FakePeer) -> list[str]:
    """The file-transfer events a client got (positions of later arrivals left out)."""
    return [e.type for e in peer.received if e.type.startswith("b-f-t")]


def test_the_atak_round_trip_with_a_private_package(server: InProcessServer) -> None:
    data = data_package("route-plan")
    digest = sha256(data)
    query = f"/Marti/sync/missionquery?hash={digest}"
    assert request(server, "GET", query, EAGLE).status_code == 404
    uploaded = upload(server, EAGLE, data)
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.text
    assert url == f"http://allied-c2.test/Marti/sync/content?hash={digest}"
    assert upload(server, EAGLE, data).status_code == 403  # the official server: duplicate
    tool = request(
        server, "PUT", f"/Marti/api/sync/metadata/{digest}/tool", EAGLE, content="private"
    )
    assert tool.status_code == 200
    assert request(server, "GET", query, EAGLE).text == url

    eagle = online(server, EAGLE, "ANDROID-EAGLE")
    charlie = online(server, CHARLIE, "ANDROID-CHARLIE")
    third = online(server, THIRD, "ANDROID-THIRD")
    # Before the announcement only the uploader sees it.
    assert request(server, "GET", query, CHARLIE).status_code == 404
    server.send(
        eagle,
        EAGLE,
        parse_xml(announcement("ANDROID-EAGLE", "EAGLE", "CHARLIE", digest, len(data), url)),
    )
    assert files(charlie) == ["b-f-t-r"]
    assert files(third) == []
    # The addressee downloads, and resumes from an offset.
    assert request(server, "GET", query, CHARLIE).text == url
    whole = request(server, "GET", f"/Marti/sync/content?hash={digest}", CHARLIE)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["x-marking"] == "UNCLASSIFIED"
    rest = request(server, "GET", f"/Marti/sync/content?hash={digest}&offset=100", CHARLIE)
    assert rest.content == data[100:]
    # Anyone else: as if it did not exist, and the search does not list it.
    assert request(server, "GET", f"/Marti/sync/content?hash={digest}", THIRD).status_code == 404
    found = request(server, "GET", "/Marti/sync/search?keywords=missionpackage", THIRD).json()
    assert found == {"resultCount": 0, "results": []}
    mine = request(server, "GET", "/Marti/sync/search?keywords=missionpackage", CHARLIE).json()
    assert mine["resultCount"] == 1
    result = mine["results"][0]
    assert {k: result[k] for k in ("UID", "Hash", "PrimaryKey", "Name", "Size")} == {
        "UID": digest,
        "Hash": digest,
        "PrimaryKey": digest,
        "Name": "package",
        "Size": len(data),
    }
    assert "SubmissionDateTime" in result
    # The ack goes back to the sender, routed like any addressed event.
    server.send(charlie, CHARLIE, parse_xml(ack("ANDROID-CHARLIE", "EAGLE", digest, len(data))))
    assert files(eagle) == ["b-f-t-a"]
    assert files(third) == []


def test_itak_uploads_raw_and_gets_the_metadata(server: InProcessServer) -> None:
    data = data_package("itak")
    answer = request(
        server,
        "POST",
        "/Marti/sync/upload?name=itak.zip&keywords=missionpackage&CreatorUid=IOS-1",
        EAGLE,
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 200, answer.text
    meta = answer.json()
    assert meta["Hash"] == sha256(data) and meta["CreatorUid"] == "IOS-1"
    assert meta["Size"] == len(data) and meta["Keywords"] == ["missionpackage"]
    # Listed for everyone the marking allows (iTAK's uploads are enterprise sync: public).
    found = request(server, "GET", "/Marti/sync/search?keywords=missionpackage&tool=public", SAKURA)
    assert found.json()["resultCount"] == 1
    got = request(server, "GET", f"/Marti/sync/content?uid={sha256(data)}", SAKURA)
    assert got.content == data


def test_a_noforn_package_is_refused_to_jpn_at_every_exit(server: InProcessServer) -> None:
    data = data_package("noforn")
    digest = sha256(data)
    assert upload(server, EAGLE, data, marking="SECRET//NOFORN").status_code == 200
    tool = request(
        server, "PUT", f"/Marti/api/sync/metadata/{digest}/tool", EAGLE, content="public"
    )
    assert tool.status_code == 200
    url = f"http://allied-c2.test/Marti/sync/content?hash={digest}"
    # Download and query: 404 even with the hash; search: not listed.
    for path in (f"/Marti/sync/content?hash={digest}", f"/Marti/sync/missionquery?hash={digest}"):
        assert request(server, "GET", path, SAKURA).status_code == 404
    assert request(server, "GET", "/Marti/sync/search", SAKURA).json()["resultCount"] == 0
    assert request(server, "GET", f"/Marti/sync/content?hash={digest}", THIRD).content == data
    # The announcement is marked as the package, so it does not reach JPN either.
    eagle = online(server, EAGLE, "ANDROID-EAGLE")
    sakura = online(server, SAKURA, "ANDROID-SAKURA")
    third = online(server, THIRD, "ANDROID-THIRD")
    server.send(
        eagle,
        EAGLE,
        parse_xml(announcement("ANDROID-EAGLE", "EAGLE", "SAKURA", digest, len(data), url)),
    )
    assert files(sakura) == []
    server.send(
        eagle,
        EAGLE,
        parse_xml(announcement("ANDROID-EAGLE", "EAGLE", "THIRD", digest, len(data), url)),
    )
    assert files(third) == ["b-f-t-r"]
    sent = next(e for e in third.received if e.type == "b-f-t-r")
    assert sent.caveat == "NOFORN" and sent.access == "SECRET"
    assert request(server, "GET", f"/Marti/sync/content?hash={digest}", SAKURA).status_code == 404
    server.runtime.audit.close()
    actions = [e.action for e in server.runtime.audit_log.entries()]
    assert "package.denied" in actions and "release.denied" in actions


def test_an_upload_above_the_uploaders_clearance_is_refused(server: InProcessServer) -> None:
    data = data_package("too-high")
    refused = upload(server, AGILA, data, marking="SECRET//REL TO USA, PHL")
    assert refused.status_code == 403
    assert (
        request(server, "GET", f"/Marti/sync/missionquery?hash={sha256(data)}", AGILA).status_code
        == 404
    )
    assert upload(server, AGILA, data, marking="NOT A MARKING").status_code == 422
    # The manifest's marking parameter counts as the uploader's choice too.
    in_manifest = data_package("manifest", marking="SECRET")
    assert upload(server, AGILA, in_manifest).status_code == 403
    assert not server.runtime.packages.files.exists(sha256(in_manifest))
    fine = data_package("fine", marking="CONFIDENTIAL//REL TO USA, PHL")
    assert upload(server, AGILA, fine).status_code == 200
    meta = server.runtime.packages.store.get(sha256(fine))
    assert meta is not None and meta.banner == "CONFIDENTIAL//REL TO USA, PHL"
    # A claimed hash that is not the content's is refused and nothing is kept.
    wrong = request(
        server,
        "POST",
        "/Marti/sync/missionupload?hash=" + "0" * 64,
        EAGLE,
        files={"assetfile": ("x.zip", data, "application/zip")},
    )
    assert wrong.status_code == 400
    assert not server.runtime.packages.files.exists(sha256(data))
