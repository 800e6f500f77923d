"""What clients call on connect, video feeds, the /Marti fallback and picture export (issue 12)."""

from __future__ import annotations

import io
import json
import logging
import zipfile

import pytest
from lxml import etree

from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.pki.authority import init_ca
from tests.support.cot import marker
from tests.support.inprocess import InProcessServer
from tests.tak.packages_support import ADMIN, EAGLE, SAKURA, THIRD, request
from tests.tak.test_packages import online

FEED = (
    b"<videoConnections><feed><protocol>rtsp</protocol><alias>Gate cam</alias>"
    b"<uid>cam-1</uid><address>10.1.1.5</address><port>554</port><path>/live</path>"
    b"</feed></videoConnections>"
)


def test_version_profile_contacts(server: InProcessServer) -> None:
    config = request(server, "GET", "/Marti/api/version/config", None).json()
    assert config["version"] == "3" and config["type"] == "ServerConfig"
    assert {"version", "api", "hostname"} <= set(config["data"]) and "nodeId" in config
    assert request(server, "GET", "/Marti/api/version", None).status_code == 200
    profile = "/Marti/api/device/profile/connection?syncSecago=0&clientUid=ANDROID-1"
    assert request(server, "GET", profile, EAGLE).status_code == 204
    online(server, EAGLE, "ANDROID-EAGLE")
    contacts = request(server, "GET", "/Marti/api/contacts/all", THIRD).json()
    assert [c["uid"] for c in contacts] == ["ANDROID-EAGLE"]


def test_anything_else_under_marti_is_404_with_a_log_line(
    server: InProcessServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="allied_c2.web"):
        answer = request(server, "GET", "/Marti/api/citrap", EAGLE)
    assert answer.status_code == 404
    assert any("/Marti/api/citrap" in r.getMessage() for r in caplog.records)


def test_video_feeds_are_marked_items(server: InProcessServer) -> None:
    posted = request(server, "POST", "/Marti/vcm?marking=SECRET//NOFORN", EAGLE, content=FEED)
    assert posted.status_code == 200, posted.text
    feeds = etree.fromstring(request(server, "GET", "/Marti/vcm", THIRD).content)
    assert [f.findtext("url") for f in feeds] == ["rtsp://10.1.1.5:554/live"]
    assert feeds[0].findtext("classification") == "SECRET//NOFORN"
    assert len(etree.fromstring(request(server, "GET", "/Marti/vcm", SAKURA).content)) == 0
    video = request(server, "GET", "/Marti/api/video", THIRD).json()
    assert video["videoConnections"][0]["feeds"][0]["url"] == "rtsp://10.1.1.5:554/live"
    assert request(server, "GET", "/Marti/api/video", SAKURA).json() == {"videoConnections": []}
    assert request(server, "POST", "/Marti/vcm", None, content=FEED).status_code == 403


def test_kml_and_geojson_are_release_filtered_and_marked(server: InProcessServer) -> None:
    eagle = online(server, EAGLE, "ANDROID-EAGLE")
    server.send(eagle, EAGLE, parse_xml(marker("m-u", 35.0, 139.0)))
    nf = marker("m-nf", 35.1, 139.1, marking=("SECRET", "NOFORN", None))
    server.send(eagle, EAGLE, parse_xml(nf))
    us = request(server, "GET", "/api/v1/picture.geojson", THIRD)
    body = json.loads(us.content)
    assert body["banner"] == "SECRET//NOFORN" and us.headers["x-marking"] == "SECRET//NOFORN"
    assert {f["id"] for f in body["features"]} >= {"m-u", "m-nf"}
    jpn = json.loads(request(server, "GET", "/api/v1/picture.geojson", SAKURA).content)
    assert "m-nf" not in {f["id"] for f in jpn["features"]}
    assert "m-u" in {f["id"] for f in jpn["features"]}
    kml = etree.fromstring(request(server, "GET", "/api/v1/picture.kml", SAKURA).content)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert kml.findtext("k:Document/k:name", namespaces=ns) == jpn["banner"]
    ids = {p.get("id") for p in kml.iterfind("k:Document/k:Placemark", ns)}
    assert "m-nf" not in ids and "m-u" in ids


def test_the_web_packages_api_and_admin_connection_packages(server: InProcessServer) -> None:
    files = {"assetfile": ("notes.txt", b"exercise notes", "text/plain")}
    up = request(
        server, "POST", "/api/v1/packages?name=notes&marking=SECRET//NOFORN", EAGLE, files=files
    )
    assert up.status_code == 200, up.text
    digest = up.json()["Hash"]
    listed = request(server, "GET", "/api/v1/packages", THIRD).json()
    assert [p["Hash"] for p in listed["packages"]] == [digest]
    assert listed["packages"][0]["Marking"]["banner"] == "SECRET//NOFORN"
    assert listed["packages"][0]["mayDelete"] is False
    assert request(server, "GET", "/api/v1/packages", SAKURA).json()["packages"] == []
    assert request(server, "GET", f"/api/v1/packages/{digest}", THIRD).content == b"exercise notes"
    assert request(server, "DELETE", f"/api/v1/packages/{digest}", THIRD).status_code == 403
    assert request(server, "DELETE", f"/api/v1/packages/{digest}", EAGLE).status_code == 204
    assert request(server, "GET", f"/api/v1/packages/{digest}", THIRD).status_code == 404

    path = "/api/v1/users/SAKURA/connection-package?host=tak.example.test"
    assert request(server, "GET", path, ADMIN).status_code == 409  # no CA yet
    init_ca(server.data_dir)
    assert request(server, "GET", path, EAGLE).status_code == 403
    got = request(server, "GET", path, ADMIN)
    assert got.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(got.content)).namelist()
    assert "MANIFEST/manifest.xml" in names and "certs/SAKURA.p12" not in names
    # A client certificate needs the CA key, which this server (no --enroll) does not hold.
    assert request(server, "GET", path + "&enroll=false", ADMIN).status_code == 409
