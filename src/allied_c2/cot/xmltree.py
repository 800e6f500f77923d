"""The one place lxml is configured: a parser that cannot be turned against us.

No DTD is loaded, no entity is substituted, nothing is fetched from the
network, and libxml2's default limits stay on (no ``huge_tree``: depth 256,
bounded text nodes). DOCTYPE declarations are refused outright by the codecs
before and after parsing; this parser is the second line.
"""

from __future__ import annotations

import threading
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

Element = Any  # lxml.etree._Element; lxml ships no type stubs


def make_parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


# lxml parsers must not be shared between threads (the web API parses in a
# thread pool), so each thread gets its own.
_local = threading.local()
XMLSyntaxError: type[Exception] = etree.XMLSyntaxError


def parse(data: bytes) -> Element:
    """Parse with this thread's hardened parser; raises :data:`XMLSyntaxError`."""
    try:
        parser = _local.parser
    except AttributeError:
        parser = _local.parser = make_parser()
    return etree.fromstring(data, parser)


def has_dtd(docinfo: Any) -> bool:
    """Whether a parsed document (its ``getroottree().docinfo``) declared a DTD."""
    return bool(docinfo.doctype) or docinfo.internalDTD is not None


def to_text(element: Element) -> str:
    text: str = etree.tostring(element, encoding="unicode", with_tail=False)
    return text


def sub_element(parent: Element, tag: str, attrib: dict[str, str]) -> Element:
    return etree.SubElement(parent, tag, attrib)


def new_element(tag: str, attrib: dict[str, str] | None = None) -> Element:
    return etree.Element(tag, attrib or {})
