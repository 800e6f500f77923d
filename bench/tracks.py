"""Thousands of moving tracks shaped like real feeds, for the browser benchmark.

The shapes are the aircraft and vessels that real PyPI gateways sent (adsbcot's
``a-n-A-C-F`` with ``__adsb``, ``_radio`` and ``_flow-tags_``; aiscot's ``a-n-S-X-M``
with ``__ais`` and ``color``), read from the captures in ``../shared/interop/producers/``
at run time and never copied into the repository. Each track is one template with its
own uid, position and heading; every report carries its send time in ``time`` (to the
millisecond), which the page reads back to measure update-to-paint latency.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from allied_c2.cot.framing import StreamFramer, XmlFrame
from allied_c2.cot.times import format_time

PRODUCERS = Path(__file__).resolve().parents[2] / "shared" / "interop" / "producers" / "captures"
CAPTURES = ("adsbcot-9.0.1__tcp-stream.cot", "aiscot-7.3.2__tcp-stream.cot")
THEATRE = ((4.0, 115.0), (46.0, 150.0))  # lat, lon: the Philippines to Japan
_ATTR = re.compile(r'\b(uid|time|start|stale)="[^"]*"')
_POINT = re.compile(r'<point lat="[^"]*" lon="[^"]*"')
_COURSE = re.compile(r'course="[^"]*"')


class NoCaptures(RuntimeError):
    pass


def templates(directory: Path = PRODUCERS) -> list[str]:
    """Positioned track events from the captures, as format strings ({uid}, {time}…)."""
    found: list[str] = []
    for name in CAPTURES:
        path = directory / name
        if not path.exists():
            continue
        framer = StreamFramer()
        framer.receive_data(path.read_bytes())
        while (frame := framer.next_frame()) is not None:
            if not isinstance(frame, XmlFrame):
                continue
            text = frame.data.decode()
            if 'type="a-' not in text or 'lat="0.0"' in text:
                continue
            text = text[text.index("<event") :].replace("{", "{{").replace("}", "}}")
            text = _ATTR.sub(lambda m: f'{m.group(1)}="{{{m.group(1)}}}"', text)
            text = _POINT.sub('<point lat="{lat:.5f}" lon="{lon:.5f}"', text)
            found.append(_COURSE.sub('course="{course:.1f}"', text))
    if not found:
        raise NoCaptures(f"no producer captures under {directory}")
    return found


@dataclass(slots=True)
class Track:
    template: str
    uid: str
    lat: float
    lon: float
    course: float
    speed: float  # degrees of latitude per second, roughly

    def report(self, now: datetime) -> bytes:
        rad = math.radians(self.course)
        self.lat = min(max(self.lat + self.speed * math.cos(rad), -80.0), 80.0)
        self.lon += self.speed * math.sin(rad) / max(math.cos(math.radians(self.lat)), 0.2)
        stamp = format_time(now)
        return self.template.format(
            uid=self.uid,
            time=stamp,
            start=stamp,
            stale=format_time(now + timedelta(seconds=30)),
            lat=self.lat,
            lon=self.lon,
            course=self.course,
        ).encode()


def make_tracks(count: int, seed: int = 15) -> list[Track]:
    shapes = templates()
    rng = random.Random(seed)
    (lat0, lon0), (lat1, lon1) = THEATRE
    tracks = []
    for n in range(count):
        template = shapes[n % len(shapes)]
        air = 'type="a-n-A' in template
        tracks.append(
            Track(
                template,
                f"BENCH-{n:05d}",
                rng.uniform(lat0, lat1),
                rng.uniform(lon0, lon1),
                rng.uniform(0, 360),
                (0.002 if air else 0.00007) * rng.uniform(0.5, 1.5),
            )
        )
    return tracks


async def feed(
    address: tuple[str, int], tracks: list[Track], stop: asyncio.Event, connections: int = 5
) -> int:
    """Every track reports once a second, spread over the second in 20 slices, over
    ``connections`` TCP connections (each under the server's per-client rate limit)."""
    pairs = [await asyncio.open_connection(*address) for _ in range(connections)]
    writers = [writer for _, writer in pairs]
    # Each sender is also a TAK client the server relays the others' tracks to: read
    # and drop them, or the server rightly closes it as a slow consumer.
    drains = [asyncio.create_task(_discard(reader)) for reader, _ in pairs]
    slices = 20
    sent = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    try:
        while not stop.is_set():
            part = tracks[tick % slices :: slices]
            now = datetime.now(UTC)
            for index, track in enumerate(part):
                writers[index % connections].write(track.report(now))
            sent += len(part)
            await asyncio.gather(*(w.drain() for w in writers))
            tick += 1
            await asyncio.sleep(max(0.0, start + tick / slices - loop.time()))
    finally:
        for writer in writers:
            writer.close()
        for drain in drains:
            drain.cancel()
    return sent


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(1 << 16):
        pass
