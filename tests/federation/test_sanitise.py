"""Sanitised copies: what a rule removes, coarsens and renames, and the marker."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from allied_c2.federation.rules import Rule
from allied_c2.federation.sanitise import METRES_PER_DEGREE, coarsen, sanitised
from tests.federation.helpers import event, marking


def test_a_copy_drops_coarsens_renames_and_says_so() -> None:
    original = event(
        detail='<detail><contact callsign="VIPER01"/><uid Droid="VIPER01"/>'
        '<remarks>exact</remarks><link uid="x"/><__video url="rtsp://x"/></detail>'
    )
    rule = Rule(
        "r1", drop=frozenset({"remarks", "__video", "link"}), coarsen_m=1000, callsign="US UNIT"
    )
    copy = sanitised(original, rule, marking("CONFIDENTIAL", "REL TO", "USA JPN"), "usa.example")
    assert copy is not original and original.remarks == "exact"  # the original is untouched
    tags = [child.tag for child in copy.detail]
    assert "remarks" not in tags and "__video" not in tags and "link" not in tags
    assert copy.callsign == "US UNIT" and copy.detail.find("uid").get("Droid") == "US UNIT"
    assert copy.ce >= 1000 * math.sqrt(2) / 2 and copy.le == original.le
    assert (copy.access, copy.caveat, copy.releasable_to) == ("CONFIDENTIAL", "REL TO", "USA JPN")
    mark = copy.detail.find("__sanitised")
    assert (mark.get("rule"), mark.get("by")) == ("r1", "usa.example")
    assert b"__sanitised" in copy.xml_wire


@given(
    st.floats(-89.9, 89.9, allow_nan=False),
    st.floats(-179.99, 179.99, allow_nan=False),
    st.sampled_from([100.0, 1000.0, 10_000.0]),
)
def test_coarsening_stays_within_half_a_cell_and_is_stable(
    lat: float, lon: float, grid: float
) -> None:
    c_lat, c_lon = coarsen(lat, lon, grid)
    dy = (c_lat - lat) * METRES_PER_DEGREE
    dx = (c_lon - lon) * METRES_PER_DEGREE * math.cos(math.radians(c_lat))
    assert abs(dy) <= grid / 2 + 1 and abs(dx) <= grid / 2 + 1 + grid * 0.02
    assert coarsen(c_lat, c_lon, grid) == (c_lat, c_lon)  # the cell's centre is its own cell
