"""Seed inputs for each fuzz target, read from where they live (never copied into the repo).

The CoT corpus is ../shared/interop/cot-corpus/ beside the repository (or
``ALLIED_C2_COT_CORPUS``); when it is not there, the targets start from the few
built-in seeds below. Seeds derived from it (protobuf payloads, marking
attributes) are computed here at run time.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from allied_c2.cot.errors import CotError
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.federation import wire

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "src" / "allied_c2" / "scenarios"

BANNERS = (
    "UNCLASSIFIED",
    "CONFIDENTIAL//REL TO USA, JPN",
    "SECRET//NOFORN",
    "SECRET//REL TO USA, JPN, PHL",
    "TOP SECRET//SI//RELIDO",
    "(S//NF)",
    "(U//FOUO)",
    "NATO SECRET",
    "CUI",
)
MINIMAL_EVENT = (
    b'<event version="2.0" uid="seed-1" type="a-f-G-U-C" how="m-g" '
    b'time="2026-12-01T10:00:00Z" start="2026-12-01T10:00:00Z" stale="2026-12-01T10:05:00Z">'
    b'<point lat="35.6" lon="139.7" hae="0" ce="9" le="9"/>'
    b'<detail><contact callsign="SEED" endpoint="*:-1:stcp"/></detail></event>'
)


def corpus_dir() -> Path | None:
    configured = os.environ.get("ALLIED_C2_COT_CORPUS")
    path = Path(configured) if configured else ROOT.parent / "shared" / "interop" / "cot-corpus"
    return path if path.is_dir() else None


def corpus_files() -> list[Path]:
    found = corpus_dir()
    if found is None:
        return []
    return sorted(p for p in found.rglob("*") if p.is_file() and p.suffix in (".xml", ".bin"))


def _xml_events() -> list[bytes]:
    return [MINIMAL_EVENT] + [p.read_bytes() for p in corpus_files() if p.suffix == ".xml"]


def _stream_payload(data: bytes) -> bytes | None:
    """The TakMessage of one ``0xBF`` varint frame (the corpus's v1 stream files)."""
    if not data or data[0] != 0xBF:
        return None
    length = shift = 0
    pos = 1
    while pos < len(data):
        byte = data[pos]
        length |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return data[pos : pos + length]
        shift += 7
    return None


def seeds(target: str) -> list[bytes]:
    """The starting inputs for ``target`` (a key of fuzz.targets.TARGETS)."""
    if target == "xml":
        return _xml_events()
    if target == "framer":
        streams = [p.read_bytes() for p in corpus_files() if p.suffix == ".bin"]
        joined = b"".join(_xml_events()[:8])
        return (
            [b"\x00" + e for e in _xml_events()]
            + [b"\x01" + s for s in streams]
            + [b"\x3c" + joined]
        )
    if target == "proto":
        out = []
        for data in _xml_events():
            try:
                out.append(parse_xml(data).proto_payload)
            except CotError:
                continue
        out += [
            payload
            for p in corpus_files()
            if p.suffix == ".bin" and (payload := _stream_payload(p.read_bytes()))
        ]
        return out
    if target == "markings":
        out = [b.encode() for b in BANNERS]
        for data in _xml_events():
            try:
                event = parse_xml(data)
            except CotError:
                continue
            parts = (event.access or "", event.caveat or "", event.releasable_to or "")
            if any(parts):
                out.append("\x00".join(parts).encode())
        return out
    if target == "scenario":
        return [p.read_bytes() for p in sorted(SCENARIOS.glob("*.yaml"))]
    if target == "federation":
        return _federated()
    if target == "data_package":
        return _packages()
    raise KeyError(target)


def _federated() -> list[bytes]:
    """Each parsed CoT seed as a peer would send it, a contact entry and its DELETE."""
    out = []
    for data in _xml_events():
        try:
            event = parse_xml(data)
        except CotError:
            continue
        out.append(wire.federated_event(event, "peer-id", "peer").SerializeToString())
    out.append(wire.contact_entry("c-1", "VIPER").SerializeToString())
    out.append(wire.contact_entry("c-1", "a-f-G-U-C", wire.CONTACT_DELETE).SerializeToString())
    return out


def _packages() -> list[bytes]:
    """Data packages as ATAK zips them: a manifest with and without a marking, and none."""
    manifest = (
        '<MissionPackageManifest version="2"><Configuration>'
        '<Parameter name="uid" value="p-1"/><Parameter name="name" value="seed.zip"/>'
        '{marking}</Configuration><Contents><Content ignore="false" zipEntry="a.cot"/>'
        "</Contents></MissionPackageManifest>"
    )
    out = []
    for marking, method in (
        ('<Parameter name="marking" value="SECRET//REL TO USA, JPN"/>', zipfile.ZIP_DEFLATED),
        ("", zipfile.ZIP_STORED),
        (None, zipfile.ZIP_DEFLATED),
    ):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", method) as archive:
            if marking is not None:
                archive.writestr("MANIFEST/manifest.xml", manifest.format(marking=marking))
            archive.writestr("a.cot", MINIMAL_EVENT)
        out.append(buffer.getvalue())
    return out
