"""CoT test material shaped like what ATAK and WinTAK send, and a raw stream client."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.framing import FramingError, ProtoFrame, StreamFramer, XmlFrame
from allied_c2.cot.protocodec import parse_proto
from allied_c2.cot.xmlcodec import parse_xml

EVERY_FIELD_TIME = datetime(2026, 11, 26, 9, 0, 0, 125000, tzinfo=UTC)
EVERY_FIELD_DETAIL = (
    "<detail>"
    "<contact callsign='ALPHA' endpoint='*:-1:stcp'/>"
    "<__group name='Cyan' role='Team Lead'/>"
    "<track course='90.5' speed='3.25'/>"
    "<marti><dest callsign='BRAVO'/><dest uid='u-2'/><dest mission='m-1'/>"
    "<dest group='g-1'/></marti>"
    "<__chat chatroom='Cyan' id='room-1' senderCallsign='ALPHA' parent='p' messageId='m'>"
    "<chatgrp id='room-1' uid0='u-1' uid1='u-2'/></__chat>"
    "<link uid='parent-1'/>"
    "<remarks>on station</remarks>"
    "</detail>"
)


def every_field_event() -> CotEvent:
    """An event with a distinct value in every field, for tests of where each one lands."""
    from lxml import etree

    t0 = EVERY_FIELD_TIME
    return CotEvent.create(
        uid="u-1",
        type="a-f-G-U-C",
        how="m-g",
        time=t0,
        start=t0 + timedelta(seconds=1),
        stale=t0 + timedelta(minutes=5),
        lat=35.5,
        lon=139.25,
        hae=12.5,
        ce=4.0,
        le=6.0,
        access="SECRET",
        caveat="REL TO",
        releasable_to="USA JPN",
        qos="1-r-c",
        opex="e-exercise",
        detail=etree.fromstring(EVERY_FIELD_DETAIL),
    )


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def pli(
    uid: str,
    callsign: str,
    lat: float = 35.7,
    lon: float = 139.3,
    *,
    cot_type: str = "a-f-G-U-C",
    stale_s: float = 120,
    team: str = "Cyan",
    marking: tuple[str | None, str | None, str | None] = (None, None, None),
    when: datetime | None = None,
) -> bytes:
    """A position report as ATAK sends it (contact endpoint, group, takv, track, status)."""
    now = when or datetime.now(UTC)
    access, caveat, rel = marking
    attrs = ""
    if access is not None:
        attrs += f' access="{access}"'
    if caveat is not None:
        attrs += f' caveat="{caveat}"'
    if rel is not None:
        attrs += f' releasableTo="{rel}"'
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<event version="2.0" uid="{uid}" type="{cot_type}" how="m-g" time="{iso(now)}" '
        f'start="{iso(now)}" stale="{iso(now + timedelta(seconds=stale_s))}"{attrs}>'
        f'<point lat="{lat}" lon="{lon}" hae="41.2" ce="9.9" le="9999999"/>'
        f'<detail><takv os="34" version="5.3.0.4 (abc)[play]" device="SAMSUNG SM-G998U" '
        f'platform="ATAK-CIV"/><contact endpoint="*:-1:stcp" callsign="{callsign}"/>'
        f'<uid Droid="{callsign}"/><precisionlocation altsrc="GPS" geopointsrc="GPS"/>'
        f'<__group role="Team Member" name="{team}"/><status battery="88"/>'
        f'<track course="87.5" speed="1.2"/></detail></event>'
    ).encode()


def marker(
    uid: str,
    lat: float,
    lon: float,
    *,
    cot_type: str = "a-h-G",
    marking: tuple[str | None, str | None, str | None] = (None, None, None),
    stale_s: float = 300,
    callsign: str | None = None,
    remarks: str = "",
) -> bytes:
    now = datetime.now(UTC)
    access, caveat, rel = marking
    attrs = "".join(
        f' {name}="{value}"'
        for name, value in (("access", access), ("caveat", caveat), ("releasableTo", rel))
        if value is not None
    )
    return (
        f'<event version="2.0" uid="{uid}" type="{cot_type}" how="h-g-i-g-o" time="{iso(now)}" '
        f'start="{iso(now)}" stale="{iso(now + timedelta(seconds=stale_s))}"{attrs}>'
        f'<point lat="{lat}" lon="{lon}" hae="0" ce="9999999" le="9999999"/>'
        f'<detail><contact callsign="{callsign or uid}"/><remarks>{remarks}</remarks></detail>'
        f"</event>"
    ).encode()


def direct_chat(
    sender_uid: str, sender_cs: str, to_uid: str, to_cs: str, text: str, msg_id: str = "m1"
) -> bytes:
    now = datetime.now(UTC)
    return (
        f'<event version="2.0" uid="GeoChat.{sender_uid}.{to_uid}.{msg_id}" type="b-t-f" '
        f'how="h-g-i-g-o" time="{iso(now)}" start="{iso(now)}" '
        f'stale="{iso(now + timedelta(days=1))}"><point lat="0" lon="0" hae="9999999" '
        f'ce="9999999" le="9999999"/><detail><__chat parent="RootContactGroup" '
        f'groupOwner="false" chatroom="{to_cs}" id="{to_uid}" senderCallsign="{sender_cs}">'
        f'<chatgrp uid0="{sender_uid}" uid1="{to_uid}" id="{to_uid}"/></__chat>'
        f'<link uid="{sender_uid}" type="a-f-G-U-C" relation="p-p"/>'
        f'<remarks source="BAO.F.ATAK.{sender_uid}" to="{to_uid}" time="{iso(now)}">'
        f"{text}</remarks>"
        f'<marti><dest callsign="{to_cs}"/></marti></detail></event>'
    ).encode()


def ping(uid: str) -> bytes:
    now = datetime.now(UTC)
    return (
        f'<event version="2.0" uid="{uid}-ping" type="t-x-c-t" how="m-g" time="{iso(now)}" '
        f'start="{iso(now)}" stale="{iso(now + timedelta(seconds=20))}">'
        f'<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail/></event>'
    ).encode()


class CotClient:
    """A minimal stream client that records every event it receives."""

    def __init__(self) -> None:
        self.events: list[CotEvent] = []
        self.raw = bytearray()
        self.framer = StreamFramer()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def connect(cls, host: str, port: int, tls: ssl.SSLContext | None = None) -> CotClient:
        client = cls()
        client.reader, client.writer = await asyncio.open_connection(host, port, ssl=tls)
        client._task = asyncio.create_task(client._read())
        return client

    async def _read(self) -> None:
        assert self.reader is not None
        try:
            while data := await self.reader.read(65536):
                self.raw += data
                self.framer.receive_data(data)
                while (frame := self.framer.next_frame()) is not None:
                    with contextlib.suppress(CotError):
                        if isinstance(frame, XmlFrame):
                            self.events.append(parse_xml(frame.data))
                        elif isinstance(frame, ProtoFrame):
                            event = parse_proto(frame.payload)
                            if event is not None:
                                self.events.append(event)
                    if isinstance(frame, FramingError):
                        continue
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            self.closed.set()

    async def send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
        await self.writer.drain()

    def uids(self) -> set[str]:
        return {e.uid for e in self.events}

    async def wait_for(
        self, predicate: Callable[[CotEvent], bool], timeout: float = 5.0
    ) -> CotEvent:
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no matching event within {timeout}s; got {self.uids()}")
            await asyncio.sleep(0.02)

    async def wait_uid(self, uid: str, timeout: float = 5.0) -> CotEvent:
        return await self.wait_for(lambda e: e.uid == uid, timeout)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def client_tls(cert_dir: Path, name: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert_dir / "ca.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(str(cert_dir / f"{name}.pem"), str(cert_dir / f"{name}.key"))
    return ctx
