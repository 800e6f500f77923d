"""Fuzzing in `make test`: a short seeded atheris run per target, and every crash found so far.

The long runs are `make fuzz` (fuzz/run.py, FUZZ_SECONDS per target). Each crash they
found is reduced by hand to the smallest input showing it and kept below, so the bug
cannot come back; the inputs are written here rather than copied from the shared corpus.
Without atheris the same properties run under hypothesis.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allied_c2.alliance.scenario import ScenarioError, load_scenario_text
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.federation import wire
from allied_c2.federation.link import Discard, Link
from allied_c2.federation.proto import fig_pb2
from allied_c2.security.levels import MarkingError
from allied_c2.security.markings import parse_banner
from fuzz.seeds import seeds
from fuzz.targets import (
    FRAMER_MAX,
    GUARD,
    NOW,
    PEER,
    TARGETS,
    check_federation,
    check_framer,
    check_markings,
    check_scenario,
    check_xml,
)

ROOT = Path(__file__).resolve().parents[2]
HAVE_ATHERIS = importlib.util.find_spec("atheris") is not None
SECONDS = 6  # per target: a seeded smoke run, not a campaign

EVENT = (
    '<event version="2.0" uid="u-1" type="a-f-G-U-C" how="m-g" time="{time}" '
    'start="2026-12-01T10:00:00Z" stale="2026-12-01T10:05:00Z">'
    '<point lat="35.6" lon="139.7" hae="0" ce="9" le="9"/><detail>{detail}</detail></event>'
)


def event(detail: str = "", time: str = "2026-12-01T10:00:00Z") -> bytes:
    return EVENT.format(detail=detail, time=time).encode()


# (why, input): each found by `make fuzz` and fixed; see docs/reliability.md.
XML_REGRESSIONS = [
    # A time before 1970 went to XML clients as sent and to protobuf clients as 1970.
    ("time before the epoch", event(time="1300-10-18T13:34:59.841Z")),
    # A first <contact> that cannot be a typed protobuf field, then one that can: the
    # protobuf client read the second (lifted first), an XML client the first.
    (
        "duplicate contact",
        event('<contact name="x"/><contact endpoint="*:-1:stcp" callsign="B"/><uid Droid="B"/>'),
    ),
    (
        "duplicate group",
        event('<__group nqme="Cyan" role="RTO"/><__group name="Cyan" role="RTO"/>'),
    ),
    (
        "duplicate track",
        event('<track speed="0.0" ce="1"/><track speed="0.0" course="344.72362164876733"/>'),
    ),
]
# A declaration longer than the event limit was skipped when it came in one read and
# refused when it came in pieces.
# A "<?" that is not "<?xml" was skipped as garbage in one read, and taken for the
# start of a declaration (swallowing the event after it) when a read ended just before.
FRAMER_REGRESSIONS = [
    ("long declaration, whole and in pieces", b"\x1c<?xml" + b"x" * (FRAMER_MAX + 100) + b"?>"
     + event()),
    ("'<?' after garbage, cut by the read", b"\x08<\x17?x%l v<?s'\x00" + event()),
]  # fmt: skip


# An SCI compartment (or SAP name) with a parenthesis or a NUL parsed, and its own
# banner then did not.
MARKING_REGRESSIONS = [
    ("parenthesis in an SCI compartment", b"TOP SECRET//SI-S)//SI-N"),
    ("NUL in an SCI compartment", b"TOP SECRET//SI-\x00"),
    ("parenthesis in a SAP name", b"SECRET//SAR-B(P"),
]


@pytest.mark.parametrize(
    ("why", "data"), MARKING_REGRESSIONS, ids=[w for w, _ in MARKING_REGRESSIONS]
)
def test_marking_regressions(why: str, data: bytes) -> None:
    check_markings(data)
    with pytest.raises(MarkingError, match="malformed"):
        parse_banner(data.decode())


def test_scenario_with_an_unknown_yaml_tag_is_a_problem_not_a_traceback() -> None:
    # A tag such as !O-6 failed while values were built, outside the YAML error handling.
    text = (ROOT / "src" / "allied_c2" / "scenarios" / "alliance-jfhq.yaml").read_text()
    tagged = text.replace("name:", "name: !O-6", 1).encode()
    check_scenario(tagged)
    with pytest.raises(ScenarioError, match="YAML syntax error"):
        load_scenario_text(tagged.decode(), "tagged.yaml")


@pytest.mark.parametrize(("why", "data"), XML_REGRESSIONS, ids=[w for w, _ in XML_REGRESSIONS])
def test_xml_regressions(why: str, data: bytes) -> None:
    check_xml(data)


@pytest.mark.parametrize(
    ("why", "data"), FRAMER_REGRESSIONS, ids=[w for w, _ in FRAMER_REGRESSIONS]
)
def test_framer_regressions(why: str, data: bytes) -> None:
    check_framer(data)


def test_times_before_1970_are_refused() -> None:
    from allied_c2.cot.errors import CotError

    with pytest.raises(CotError, match="before 1970"):
        parse_xml(event(time="1969-12-31T23:59:59Z"))


def _federated(**geo: Any) -> bytes:
    message = wire.federated_event(parse_xml(event()), "peer-id", "peer")
    for name, value in geo.items():
        setattr(message.event, name, value)
    return message.SerializeToString()


# Found by the federation target's first seeded runs: each reached lxml (a ValueError out
# of the link's read loop, which dropped the link) or made an event no client could read.
FEDERATION_REGRESSIONS = [
    (
        "control character in a contact DELETE's callsign",
        wire.contact_entry("c-1", "a-\x0f\npeer", wire.CONTACT_DELETE).SerializeToString(),
    ),
    ("NUL in coordSource", _federated(coordSource="h-g-i\x00g-o")),
    ("NUL in ploc", _federated(ploc="GPS\x00", other="<detail/>")),
    ("a time before 1970", _federated(sendTime=-1)),
]


@pytest.mark.parametrize(
    ("why", "data"), FEDERATION_REGRESSIONS, ids=[w for w, _ in FEDERATION_REGRESSIONS]
)
def test_federation_regressions(why: str, data: bytes) -> None:
    check_federation(data)
    message = fig_pb2.FederatedEvent.FromString(data)
    result = Link(PEER, GUARD, "fuzz-server-id").receive(message, NOW)
    assert isinstance(result, Discard) and result.reason == "malformed", result


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_hold_the_property(name: str) -> None:
    for data in seeds(name):
        TARGETS[name](data)


@pytest.mark.skipif(not HAVE_ATHERIS, reason="atheris not installed: hypothesis runs instead")
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeded_atheris_run(name: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, data in enumerate(seeds(name)):
        (corpus / f"seed-{i}").write_bytes(data)
    done = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "target.py"), name, "-seed=14",
         f"-max_total_time={SECONDS}", f"-artifact_prefix={tmp_path}/", "-max_len=65536",
         str(corpus)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert done.returncode == 0 and not crashes, done.stderr[-3000:]


@pytest.mark.skipif(HAVE_ATHERIS, reason="atheris is installed: the seeded atheris run covers it")
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_hypothesis_fallback(name: str) -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=2048))
    def holds(data: bytes) -> None:
        TARGETS[name](data)

    holds()
