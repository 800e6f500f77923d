"""Real-world CoT from ``../shared/interop/``, and comparing events element by element.

The material is loaded where it lies, never copied into the repository (its
licences differ from ours); tests that need it skip, saying why, when the
shared folder is not checked out beside the repository.

Events are compared as a :class:`Canon`: the event's own fields as the TAK
protocol can carry them (times in milliseconds, "unknown" point values as
9999999), and the ``<detail>`` tree flattened to ``(path, attributes, text,
tail)`` rows. Children with a typed protobuf message (contact, __group,
precisionlocation, status, takv, track) are compared as a sorted multiset,
because TAK protocol v1 carries them apart from ``xmlDetail`` and decoders put
them first; every other child is compared in order (a route's points are).
Whitespace-only text is formatting, not content, and is not compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped, unused-ignore]

INTEROP = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop"
CORPUS = INTEROP / "cot-corpus"
PRODUCERS = INTEROP / "producers"
MISSING = f"no shared interop material at {INTEROP.resolve()} (../shared is not checked out)"

UNKNOWN = 9999999.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The typed messages of TAK protocol v1: the element and the attributes each carries.
TYPED: dict[str, tuple[str, ...]] = {
    "contact": ("endpoint", "callsign"),
    "__group": ("name", "role"),
    "precisionlocation": ("geopointsrc", "altsrc"),
    "status": ("battery",),
    "takv": ("device", "platform", "os", "version"),
    "track": ("speed", "course"),
}
_FIELDS = {"__group": "group", "precisionlocation": "precisionLocation"}

Row = tuple[str, tuple[tuple[str, str], ...], str | None, str | None]
Subtree = tuple[Row, ...]


def require(path: Path = INTEROP) -> Path:
    """``path``, or skip the test when the shared material is not there."""
    if not path.exists():
        pytest.skip(MISSING)
    return path


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.xml")) if CORPUS.is_dir() else []


def require_corpus() -> list[Path]:
    """The corpus files, or skip the test when the shared material is not there."""
    return corpus_files() or pytest.skip(MISSING)


def corpus_params() -> list[Any]:
    """One ``pytest.param`` per corpus file (id: its name), or one skipped param."""
    files = corpus_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-corpus")]
    return [pytest.param(path, id=path.stem) for path in files]


def from_event(data: bytes) -> bytes:
    """The message from ``<event`` on: what a stream framer hands over."""
    return data[data.index(b"<event") :]


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
)


def parse_event(data: bytes) -> Any:
    """The ``<event>`` element, parsed with lxml alone (no code under test)."""
    return etree.fromstring(from_event(data), _PARSER)


def _content(text: str | None) -> str | None:
    return text if text and not text.isspace() else None


def _rows(element: Any, path: str) -> Subtree:
    here = f"{path}/{element.tag}"
    rows: list[Row] = [
        (
            here,
            tuple(sorted(element.attrib.items())),
            _content(element.text),
            _content(element.tail),
        )
    ]
    for child in element:
        if isinstance(child.tag, str):
            rows.extend(_rows(child, here))
    return tuple(rows)


@dataclass(frozen=True)
class Canon:
    head: tuple[tuple[str, object], ...]
    marking: tuple[str | None, str | None, str | None]
    detail_text: str | None
    ordered: tuple[Subtree, ...]
    typed: tuple[Subtree, ...]

    def elements(self) -> int:
        """How many elements the detail holds, at any depth."""
        return sum(len(tree) for tree in (*self.ordered, *self.typed))


def _point(value: float) -> float:
    return UNKNOWN if math.isnan(value) else value


def _number(text: str | None) -> float:
    return UNKNOWN if not text else _point(float(text))


def _millis(text: str) -> int:
    value = datetime.fromisoformat(text)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return (value - EPOCH) // timedelta(milliseconds=1)


def _detail(detail: Any) -> tuple[str | None, tuple[Subtree, ...], tuple[Subtree, ...]]:
    if detail is None:
        return None, (), ()
    ordered: list[Subtree] = []
    typed: list[Subtree] = []
    for child in detail:
        if isinstance(child.tag, str):
            (typed if child.tag in TYPED else ordered).append(_rows(child, "detail"))
    return _content(detail.text), tuple(ordered), tuple(sorted(typed))


def _blank(value: str | None) -> str | None:
    return value or None


def canon_xml(data: bytes) -> Canon:
    """The canonical form of one CoT XML message."""
    root = parse_event(data)
    point = root.find("point")
    head = (
        ("uid", root.get("uid")),
        ("type", root.get("type")),
        ("how", root.get("how") or ""),
        ("time", _millis(root.get("time"))),
        ("start", _millis(root.get("start"))),
        ("stale", _millis(root.get("stale"))),
        ("lat", float(point.get("lat"))),
        ("lon", float(point.get("lon"))),
        ("hae", _number(point.get("hae"))),
        ("ce", _number(point.get("ce"))),
        ("le", _number(point.get("le"))),
    )
    marking = (
        _blank(root.get("access")),
        _blank(root.get("caveat")),
        _blank(root.get("releasableTo")),
    )
    return Canon(head, marking, *_detail(root.find("detail")))


def typed_element(message: Any, tag: str) -> Any:
    """The element a set typed field of a ``Detail`` stands for, as a decoder writes it."""
    field = getattr(message, _FIELDS.get(tag, tag))
    attrib: dict[str, str] = {}
    for name in TYPED[tag]:
        value = getattr(field, name)
        if tag == "track":
            attrib[name] = repr(value)
        elif tag == "status":
            attrib[name] = str(value)
        elif value:
            attrib[name] = value
    return etree.Element(tag, attrib)


def message_detail(detail: Any) -> Any:
    """The ``<detail>`` a TAK protocol v1 ``Detail`` carries: typed elements, then xmlDetail."""
    root = etree.fromstring(f"<detail>{detail.xmlDetail}</detail>".encode(), _PARSER)
    for index, tag in enumerate(t for t in TYPED if detail.HasField(_FIELDS.get(t, t))):
        root.insert(index, typed_element(detail, tag))
    return root


def canon_message(message: Any) -> Canon:
    """The canonical form of a ``TakMessage`` (takproto's classes or ours)."""
    cot = message.cotEvent
    head = (
        ("uid", cot.uid),
        ("type", cot.type),
        ("how", cot.how),
        ("time", cot.sendTime),
        ("start", cot.startTime),
        ("stale", cot.staleTime),
        ("lat", cot.lat),
        ("lon", cot.lon),
        ("hae", _point(cot.hae)),
        ("ce", _point(cot.ce)),
        ("le", _point(cot.le)),
    )
    caveat = getattr(cot, "caveat", "")  # takproto's CotEvent has no marking extension
    releasable = getattr(cot, "releasableTo", "")
    marking = (_blank(cot.access), _blank(caveat), _blank(releasable))
    detail = message_detail(cot.detail) if cot.HasField("detail") else None
    return Canon(head, marking, *_detail(detail))


def differences(expected: Canon, actual: Canon, *, marking: bool = True) -> list[str]:
    """What ``actual`` lost, changed or added relative to ``expected`` (empty: the same)."""
    found: list[str] = []
    for (name, want), (_, got) in zip(expected.head, actual.head, strict=True):
        if want != got:
            found.append(f"{name}: {want!r} became {got!r}")
    if marking and expected.marking != actual.marking:
        found.append(f"marking: {expected.marking} became {actual.marking}")
    if expected.detail_text != actual.detail_text:
        found.append(f"detail text: {expected.detail_text!r} became {actual.detail_text!r}")
    for kind in ("ordered", "typed"):
        want_trees, got_trees = getattr(expected, kind), getattr(actual, kind)
        if want_trees != got_trees:
            lost = [t[0] for t in want_trees if t not in got_trees]
            added = [t[0] for t in got_trees if t not in want_trees]
            found.append(f"{kind} detail differs: lost {lost}, added {added}")
            if not lost and not added:
                found.append(f"{kind} detail is out of order")
    return found


def fits_typed(element: Any) -> bool:
    """Whether a typed message gives ``element`` back exactly (so it must travel typed)."""
    names = TYPED[element.tag]
    attrib = dict(element.attrib)
    if len(element) or _content(element.text) or _content(element.tail) or not attrib:
        return False
    if not set(attrib) <= set(names) or not all(attrib.values()):
        return False
    if element.tag == "track":
        try:
            return len(attrib) == 2 and all(repr(float(v)) == v for v in attrib.values())
        except ValueError:
            return False
    if element.tag == "status":
        battery = attrib["battery"]
        digits = battery.isascii() and battery.isdigit()
        return digits and str(int(battery)) == battery and int(battery) < 1 << 32
    return True
