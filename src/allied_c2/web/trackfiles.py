"""A replay window as files: a KML track file and a CSV, each marked as a document.

Both are built from history already filtered for the caller (the audience
decision on every row), and carry the roll-up banner of what they hold at the
top and the bottom, as a marked document must; every track and every row also
carries its own portion marking.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from allied_c2.cot.event import CotEvent
from allied_c2.cot.times import format_time
from allied_c2.security.markings import Marking

Row = tuple[CotEvent, Marking]
CSV_COLUMNS = (
    "time",
    "uid",
    "callsign",
    "type",
    "lat",
    "lon",
    "hae",
    "course",
    "speed",
    "marking",
)


def _cell(text: str) -> str:
    """A client-chosen string that a spreadsheet would not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _tracks(rows: Iterable[Row]) -> dict[str, list[Row]]:
    tracks: dict[str, list[Row]] = {}
    for event, marking in rows:
        if event.type.startswith("a-"):
            tracks.setdefault(event.uid, []).append((event, marking))
    return tracks


def kml(rows: Iterable[Row], banner: str, title: str) -> str:
    """One ``gx:Track`` per uid (KML 2.2 with the Google extension), marked top and bottom."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {escape(banner)} -->",
        '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">',
        "<Document>",
        f"<name>{escape(title)}</name>",
        f"<description>{escape(banner)}</description>",
    ]
    for uid, points in _tracks(rows).items():
        last_event, _ = points[-1]
        portions = sorted({marking.portion() for _, marking in points})
        name = last_event.callsign or uid
        out.append("<Placemark>")
        out.append(f"<name>{escape(' '.join(portions))} {escape(name)}</name>")
        out.append(f"<description>{escape(uid)} {escape(last_event.type)}</description>")
        out.append("<gx:Track>")
        out.extend(f"<when>{format_time(event.time)}</when>" for event, _ in points)
        out.extend(
            f"<gx:coord>{event.lon:.6f} {event.lat:.6f} {_hae(event):.1f}</gx:coord>"
            for event, _ in points
        )
        out.append("</gx:Track>")
        out.append("</Placemark>")
    out += ["</Document>", "</kml>", f"<!-- {escape(banner)} -->", ""]
    return "\n".join(out)


def _hae(event: CotEvent) -> float:
    return event.hae if event.hae < 9_000_000 else 0.0


def csv_text(rows: Iterable[Row], banner: str) -> str:
    """One line per position report, oldest first, with its portion marking."""
    buffer = io.StringIO()
    buffer.write(f"# {banner}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event, marking in rows:
        if not event.type.startswith("a-"):
            continue
        writer.writerow(
            (
                format_time(event.time),
                _cell(event.uid),
                _cell(event.callsign or ""),
                event.type,
                f"{event.lat:.6f}",
                f"{event.lon:.6f}",
                f"{_hae(event):.1f}",
                "" if event.course is None else f"{event.course:.1f}",
                "" if event.speed is None else f"{event.speed:.2f}",
                marking.portion(),
            )
        )
    buffer.write(f"# {banner}\n")
    return buffer.getvalue()
