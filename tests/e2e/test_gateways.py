"""Real CoT gateways from PyPI against a real server: adsbcot (aircraft) and aiscot (vessels).

Each runs as its operators run it (environment variables, its own pytak TCP
client) on the public sample inputs in ../shared/interop/producers/inputs/
(recipes in producers/README.md). What it sends must reach a receiving TAK
client and ``GET /api/v1/picture``. The expected tracks are read from the
streams the gateways were recorded sending for the same inputs
(producers/captures/: adsbcot 9.0.1, which sends the same tracks as the 8.0.2
pinned here, and aiscot 7.3.2), so the test states nothing they did not send.
Those recorded streams, aprscot's included, are also replayed byte for byte
and must be relayed with nothing lost.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from allied_c2.cot.framing import StreamFramer, XmlFrame
from allied_c2.cot.xmlcodec import parse_xml
from tests.support.cot import CotClient, marker
from tests.support.interop import PRODUCERS, canon_xml, differences, require
from tests.support.server import ServerProcess


@dataclass(frozen=True)
class Item:
    uid: str
    type: str
    callsign: str | None
    lat: float
    lon: float


def captured_items(capture: str, prefix: str) -> dict[str, Item]:
    """The tracks (uid starting ``prefix``) a gateway was recorded sending."""
    framer = StreamFramer()
    framer.receive_data((require(PRODUCERS) / "captures" / capture).read_bytes())
    items: dict[str, Item] = {}
    while (frame := framer.next_frame()) is not None:
        assert isinstance(frame, XmlFrame), frame
        event = parse_xml(frame.data)
        if event.uid.startswith(prefix):
            items[event.uid] = Item(event.uid, event.type, event.callsign, event.lat, event.lon)
    assert items, f"no {prefix} tracks in {capture}"
    return items


def gateway(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    executable = Path(sys.executable).with_name(name)
    if not executable.exists():
        pytest.skip(f"{name} is not installed (it is in the dev extra: pip install -e '.[dev]')")
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(executable)], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require(PRODUCERS)
    server = ServerProcess(tmp_path_factory.mktemp("gateways")).start()
    yield server
    server.stop()


@pytest.fixture
async def receiver(relay: ServerProcess) -> AsyncIterator[CotClient]:
    client = await CotClient.connect(*relay.address("cot_tcp"))
    yield client
    await client.close()


async def wait_for_items(client: CotClient, expected: dict[str, Item], poke: object) -> None:
    """Until the client has every expected uid; ``poke()`` (if callable) is called meanwhile."""
    for _ in range(150):
        if expected.keys() <= client.uids():
            return
        if callable(poke):
            poke()
        await asyncio.sleep(0.2)
    missing = sorted(expected.keys() - client.uids())
    raise AssertionError(f"the receiving client never got {missing}")


def assert_seen(client: CotClient, relay: ServerProcess, expected: dict[str, Item]) -> None:
    received = {e.uid: e for e in client.events}
    picture = {item["uid"]: item for item in relay.get_json("/api/v1/picture")["items"]}
    for uid, want in expected.items():
        got = received[uid]
        assert (got.type, got.callsign) == (want.type, want.callsign), uid
        assert abs(got.lat - want.lat) < 1e-6 and abs(got.lon - want.lon) < 1e-6, uid
        assert uid in picture, f"{uid} is not in the picture"
        item = picture[uid]
        assert (item["type"], item["callsign"]) == (want.type, want.callsign), uid
        assert abs(item["lat"] - want.lat) < 1e-6 and abs(item["lon"] - want.lon) < 1e-6, uid
        assert item["marking"]["banner"] == "UNCLASSIFIED", item["marking"]


async def test_adsbcot_aircraft_reach_a_client_and_the_picture(
    relay: ServerProcess, receiver: CotClient, tmp_path: Path
) -> None:
    feed = require(PRODUCERS) / "inputs" / "adsbcot-tests__aircraft.json"
    expected = captured_items("adsbcot-9.0.1__tcp-stream.cot", "ICAO-")
    host, port = relay.address("cot_tcp")
    env = {
        "COT_URL": f"tcp://{host}:{port}",
        "FEED_URL": f"file://{feed.resolve()}",
        "POLL_INTERVAL": "1",
    }
    process = gateway("adsbcot", env, tmp_path / "adsbcot.log")
    try:
        await wait_for_items(receiver, expected, poke=None)
        assert_seen(receiver, relay, expected)
    finally:
        stop(process)
    print(f"\nadsbcot: {len(expected)} aircraft relayed and in the picture: {sorted(expected)}")


async def test_aiscot_vessels_reach_a_client_and_the_picture(
    relay: ServerProcess, receiver: CotClient, tmp_path: Path
) -> None:
    sample = require(PRODUCERS) / "inputs" / "pyais-examples__sample.ais"
    sentences = [s for s in sample.read_text().splitlines() if s.startswith("!AIVDM")]
    expected = captured_items("aiscot-7.3.2__tcp-stream.cot", "MMSI-")
    host, port = relay.address("cot_tcp")
    ais_port = free_udp_port()
    env = {
        "COT_URL": f"tcp://{host}:{port}",
        # The 7.3.2 code reads LISTEN_HOST/LISTEN_PORT (its docs say AIS_PORT).
        "LISTEN_HOST": "127.0.0.1",
        "LISTEN_PORT": str(ais_port),
    }
    process = gateway("aiscot", env, tmp_path / "aiscot.log")
    feed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send_sentences() -> None:
        # One NMEA sentence per datagram, as an AIS receiver forwards them. Sent
        # again until seen: datagrams before aiscot listens are simply lost.
        for sentence in sentences:
            feed.sendto(f"{sentence}\n".encode(), ("127.0.0.1", ais_port))

    try:
        await wait_for_items(receiver, expected, poke=send_sentences)
        assert_seen(receiver, relay, expected)
    finally:
        feed.close()
        stop(process)
    print(f"\naiscot: {len(expected)} vessels relayed and in the picture: {sorted(expected)}")


@pytest.mark.parametrize(
    "capture",
    [
        "adsbcot-9.0.1__tcp-stream.cot",
        "aiscot-7.3.2__tcp-stream.cot",
        "aprscot-6.1.0__tcp-stream.cot",
    ],
)
async def test_recorded_gateway_streams_are_relayed_losslessly(
    relay: ServerProcess, receiver: CotClient, capture: str
) -> None:
    data = (require(PRODUCERS) / "captures" / capture).read_bytes()
    framer = StreamFramer()
    framer.receive_data(data)
    sent = []
    while (frame := framer.next_frame()) is not None:
        assert isinstance(frame, XmlFrame), frame
        sent.append(canon_xml(frame.data))
    # As the gateway wrote it: declarations, no separators, pytak's hello first.
    sender = await CotClient.connect(*relay.address("cot_tcp"))
    try:
        await sender.send(data)
        barrier = f"replayed-{capture}"
        await sender.send(marker(barrier, 1.0, 1.0))  # relayed after all that came before
        await receiver.wait_uid(barrier, 10)
    finally:
        await sender.close()
    framer = StreamFramer()
    framer.receive_data(bytes(receiver.raw))
    received = []
    while (frame := framer.next_frame()) is not None:
        if isinstance(frame, XmlFrame):
            received.append(canon_xml(frame.data))
    lost = [
        dict(want.head)["uid"]
        for want in sent
        if not any(differences(want, got, marking=False) == [] for got in received)
    ]
    assert lost == [], f"relayed with something lost or not at all: {lost}"
    print(f"\n{capture}: {len(sent)} events replayed, all relayed losslessly")
