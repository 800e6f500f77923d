"""Reading C2SIM documents: the hardened parser, the schema versions, and a reader
that remembers which elements a mapping used, so whatever it did not use can be
reported instead of silently dropped.

Navigation is by local name: C2SIM 1.0.0, 1.0.1 and the CWIX2025 draft share one
namespace (``…/C2SIM/1.1``) and the 2.0.0 draft has its own, with the same element
names for everything allied-c2 reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from allied_c2.cot.xmltree import Element, XMLSyntaxError, has_dtd, parse

NS_1_1 = "http://www.sisostds.org/schemas/C2SIM/1.1"
NS_2_0 = "http://www.sisostds.org/schemas/C2SIM/2.0.0-cwix2026"
MAX_BYTES = 16 * 1024 * 1024
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"  # C2SIM's IsoDateTime: no fractions, always Z


@dataclass(frozen=True, slots=True)
class Version:
    """One C2SIM schema allied-c2 writes, and the shape differences between them."""

    key: str  # the --c2sim-version value
    namespace: str
    protocol_version: str  # C2SIMHeader/ProtocolVersion
    unit_element: bool  # MilitaryOrganization/Unit (1.0.1 on) or the bare MilitaryOrganization
    app6c: bool  # APP6CSymbol/APP6C-SIDC and NamedEntityType name+namespace (CWIX2025 on)
    header_codes: bool  # CommunicativeActTypeCode and SecurityClassificationCode in the header
    report_motion: bool  # PositionReportContent has HeadingAngle and Speed

    @property
    def command_relations(self) -> bool:
        # Only Unit has CommandRelation and EchelonCode; 1.0.0 has Superior alone.
        return self.unit_element


VERSIONS: dict[str, Version] = {
    v.key: v
    for v in (
        Version("1.0.0", NS_1_1, "1.0.0", False, False, True, False),
        Version("1.0.1", NS_1_1, "1.0.1", True, False, True, False),
        # TNO's server keeps the CWIX2025 schema as protocol version 1.0.2.
        Version("cwix2025", NS_1_1, "1.0.2", True, True, True, True),
        Version("2.0.0-cwix2026", NS_2_0, "2.0.0", True, True, False, True),
    )
}
DEFAULT_VERSION = "1.0.0"  # the published standard, SISO-STD-019-2020


class C2SIMError(ValueError):
    """Input that is not a usable C2SIM (or MSDL) document."""


def version(key: str) -> Version:
    try:
        return VERSIONS[key]
    except KeyError:
        raise C2SIMError(f"unknown C2SIM version '{key}' (known: {', '.join(VERSIONS)})") from None


def parse_xml(data: bytes) -> Element:
    """Parse untrusted XML with the hardened parser; no DOCTYPE, no huge documents."""
    if len(data) > MAX_BYTES:
        raise C2SIMError(f"document larger than {MAX_BYTES} bytes")
    try:
        root = parse(data)
    except XMLSyntaxError as exc:
        raise C2SIMError(f"not well-formed XML: {exc}") from exc
    if has_dtd(root.getroottree().docinfo):
        raise C2SIMError("documents with a DOCTYPE are refused")
    return root


def local(element: Element) -> str:
    return str(etree.QName(element).localname)


def children(element: Element | None, name: str) -> Iterator[Element]:
    if element is None:
        return iter(())
    return (c for c in element if isinstance(c.tag, str) and local(c) == name)


def child(element: Element | None, *path: str) -> Element | None:
    for name in path:
        element = next(children(element, name), None)
    return element


def descendants(element: Element, name: str) -> Iterator[Element]:
    return (e for e in element.iter() if isinstance(e.tag, str) and local(e) == name)


@dataclass(frozen=True, slots=True)
class Unmapped:
    """Elements of one path that no mapping used, with a few of their values."""

    path: str
    count: int
    examples: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.examples)
        return f"{self.path} ×{self.count}" + (f" ({shown})" if shown else "")


@dataclass
class Reader:
    """Reads leaves and remembers them; :meth:`unmapped` lists the leaves never read."""

    used: set[Element] = field(default_factory=set)

    def text(self, element: Element | None, *path: str) -> str | None:
        found = child(element, *path)
        if found is None:
            return None
        self.used.add(found)
        return found.text.strip() if found.text and found.text.strip() else None

    def texts(self, element: Element | None, name: str) -> list[str]:
        out = []
        for found in children(element, name):
            self.used.add(found)
            if found.text and found.text.strip():
                out.append(found.text.strip())
        return out

    def use(self, element: Element | None) -> None:
        """Count ``element`` and everything under it as mapped."""
        if element is not None:
            self.used.update(e for e in element.iter() if isinstance(e.tag, str))

    def unmapped(self, roots: list[Element], strip: int = 0) -> list[Unmapped]:
        """The topmost elements under ``roots`` of which nothing was read, by path.

        A chain of single children is followed down (``EntityHealthStatus/
        OperationalStatus/OperationalStatusCode``) so the path says what was
        dropped; the first ``strip`` names of each path are left out.
        """
        touched: set[Element] = set()
        for element in self.used:
            touched.add(element)
            touched.update(element.iterancestors())
        counts: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}

        def walk(node: Element, names: list[str]) -> None:
            names = [*names, local(node)]
            if node in self.used:
                return
            if node in touched:
                for sub in node:
                    if isinstance(sub.tag, str):
                        walk(sub, names)
                return
            elements = [c for c in node if isinstance(c.tag, str)]
            while len(elements) == 1:  # follow a single-child chain
                node = elements[0]
                names.append(local(node))
                elements = [c for c in node if isinstance(c.tag, str)]
            path = "/".join(names[strip:])
            counts[path] += 1
            value = _sample(node)
            seen = examples.setdefault(path, [])
            if value and value not in seen and len(seen) < 3:
                seen.append(value)

        for root in roots:
            walk(root, [])
        return [Unmapped(p, n, tuple(examples[p])) for p, n in counts.items()]


def _sample(node: Element) -> str:
    if not len(node):
        return (node.text or "").strip()[:40]
    parts = [f"{local(c)}={(c.text or '').strip()}" for c in node if isinstance(c.tag, str)]
    return ", ".join(parts[:3])[:60]


def schema_problems(document: bytes, xsd: bytes) -> list[str]:
    """Why ``document`` is not valid against the XSD ``xsd`` (empty: valid).

    The C2SIM schemas are not shipped (their licences differ from ours): the
    caller brings the one it targets. Nothing is fetched from the network.
    """
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    try:
        schema = etree.XMLSchema(etree.fromstring(xsd, parser))
    except (etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        raise C2SIMError(f"not a usable XML Schema: {exc}") from exc
    if schema.validate(parse_xml(document)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log.filter_from_errors()]
