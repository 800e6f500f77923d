"""Input written to hurt: every case is refused with a reason, nothing is expanded."""

from __future__ import annotations

import time

import pytest

from allied_c2.cot.errors import CotError
from allied_c2.cot.xmlcodec import parse_xml

from .samples import GEOCHAT, event_xml


def refused(data: bytes, **kwargs: int) -> str:
    with pytest.raises(CotError) as info:
        parse_xml(data, **kwargs)
    return info.value.reason


XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE event [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<event version="2.0" uid="x" type="a-f-G" how="m-g" time="2026-11-26T07:00:00Z"'
    b' start="2026-11-26T07:00:00Z" stale="2026-11-26T07:01:00Z">'
    b'<point lat="1" lon="2"/><detail><remarks>&xxe;</remarks></detail></event>'
)

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><event uid="x"><detail><remarks>&lol9;</remarks></detail></event>'
)


def test_external_entity_is_refused_not_resolved() -> None:
    assert refused(XXE) == "dtd_forbidden"


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    assert refused(BILLION_LAUGHS) == "dtd_forbidden"
    assert time.perf_counter() - started < 1.0


def test_any_doctype_is_refused() -> None:
    assert refused(b"<!DOCTYPE event>" + GEOCHAT) == "dtd_forbidden"
    assert refused(b'<!DOCTYPE event SYSTEM "http://example.com/cot.dtd">' + GEOCHAT) == (
        "dtd_forbidden"
    )


def test_undeclared_entity_is_malformed() -> None:
    assert refused(GEOCHAT.replace(b"rally point", b"&xxe;")) == "malformed_xml"


def test_doctype_hidden_by_utf16_is_refused() -> None:
    doc = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE event>' + GEOCHAT.decode()).encode(
        "utf-16-le"
    )
    # No BOM: the byte scan cannot see the DOCTYPE, the parsed tree's docinfo does.
    assert refused(doc) == "dtd_forbidden"
    assert refused(b"\xff\xfe" + doc) == "bad_encoding"
    plain = ('<?xml version="1.0" encoding="UTF-16"?>' + GEOCHAT.decode()).encode("utf-16-le")
    assert refused(plain) == "bad_encoding"


def test_ten_mib_event_is_too_large() -> None:
    huge = event_xml(detail="<remarks>" + "A" * (10 * 1024 * 1024) + "</remarks>")
    started = time.perf_counter()
    assert refused(huge) == "too_large"
    assert time.perf_counter() - started < 0.5


def test_size_limit_is_configurable() -> None:
    assert refused(GEOCHAT, max_bytes=100) == "too_large"
    assert parse_xml(GEOCHAT, max_bytes=len(GEOCHAT)).uid.startswith("GeoChat.")


@pytest.mark.parametrize("cut", [10, 100, 400, -10, -1])
def test_truncated_event_is_malformed(cut: int) -> None:
    assert refused(GEOCHAT[:cut]) == "malformed_xml"


def test_invalid_utf8_is_malformed() -> None:
    assert refused(GEOCHAT.replace(b"rally point", b"rally \xff\xfe point")) == "malformed_xml"


def test_declared_non_utf8_encoding_is_refused() -> None:
    doc = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + GEOCHAT.replace(b"wait", b"w\xe4it")
    assert refused(doc) == "bad_encoding"


@pytest.mark.parametrize("encoding", [b"utf-16", b"UTF-16LE", b"utf-32", b"ISO-8859-1"])
def test_a_declaration_the_bytes_contradict_is_ignored(encoding: bytes) -> None:
    # A 2015 Windows client declared utf-16 on ASCII bytes (cot-corpus keeps one):
    # such bytes cannot be UTF-16, and pure ASCII reads the same in any ASCII superset.
    doc = b"<?xml version='1.0' encoding='" + encoding + b"' standalone='yes'?>\n" + GEOCHAT
    event = parse_xml(doc)
    assert event.remarks == "Meet at rally point & wait"
    assert event.xml_wire == GEOCHAT  # relayed from <event on, without the false declaration


def test_a_false_utf16_declaration_does_not_admit_a_doctype_or_bad_utf8() -> None:
    decl = b'<?xml version="1.0" encoding="utf-16"?>'
    assert refused(decl + b"<!DOCTYPE event>" + GEOCHAT) == "dtd_forbidden"
    assert refused(decl + GEOCHAT.replace(b"wait", b"w\xe4it")) == "malformed_xml"
    assert refused(decl + b"<!-- note -->" + GEOCHAT) == "bad_encoding"


def test_deeply_nested_detail_is_refused() -> None:
    nested = "<a>" * 5000 + "</a>" * 5000
    assert refused(event_xml(detail=nested)) == "malformed_xml"


def test_not_xml_at_all() -> None:
    assert refused(b"") == "malformed_xml"
    assert refused(b"\x00\x01\x02") == "malformed_xml"
    assert refused(b'{"uid": "x"}') == "malformed_xml"


def test_other_root_element_is_not_an_event() -> None:
    assert refused(b'<auth><cot username="u" password="p" uid="x"/></auth>') == "not_an_event"
    assert refused(b'<e:event xmlns:e="urn:x"/>') == "not_an_event"


def test_control_characters_are_malformed() -> None:
    assert refused(GEOCHAT.replace(b"rally point", b"rally &#1; point")) == "malformed_xml"
