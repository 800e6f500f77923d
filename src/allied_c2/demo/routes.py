"""The demo's synthetic tracks: a Northern Luzon typhoon-relief exercise.

Bases, ports and roads are real public places (approximate WGS 84 positions);
the ships, aircraft and units named are real types at their public home
bases, but every movement, callsign, schedule and marking here is INVENTED for
the demo and is not a fact about any operation. CoT types follow MIL-STD-2525B
function codes (``a-f-S-C-A`` amphibious warfare ship, ``a-f-A-M-F-C-M``
medium cargo aircraft, ``a-f-G-U-C-E`` engineers, ``a-f-G-U-S-M`` medical…).
"""

from __future__ import annotations

from allied_c2.demo.geo import KMH_MS, KNOT_MS, Path, Point
from allied_c2.demo.motion import (
    NOFORN,
    REL_BILATERAL,
    REL_TRILATERAL,
    UNCLASSIFIED,
    Domain,
    Pattern,
    Track,
)
from allied_c2.demo.places import (
    APARRI,
    BASCO,
    CAGAYAN_VALLEY_ROAD,
    CLARK,
    CLAVERIA,
    FUTENMA,
    GAMU,
    IRUMA,
    KADENA,
    KOMAKI,
    KURE,
    LUZON_STRAIT_WEST,
    MANILA_SOUTH_HARBOR,
    NAHA_AB,
    NORTH_CAGAYAN_ROAD,
    SUBIC,
    SUBIC_MOUTH,
    SUBIC_TO_LA_UNION,
    TUGUEGARAO_AIRPORT,
    VILLAMOR,
    WEST_LUZON_COAST,
    WEST_LUZON_ROAD,
    WHITE_BEACH,
    YOKOTA,
)

HOUR = 3600.0
FT = 0.3048


def _path(*points: Point) -> Path:
    return Path(tuple(points))


def _loop(*points: Point) -> Path:
    return Path((*points, points[0]))


def _usa() -> list[Track]:
    return [
        Track(
            "DEMO-USA-LPD20",
            "USS GREEN BAY",
            "a-f-S-C-A",
            "USA",
            UNCLASSIFIED,
            Domain.SEA,
            _path(
                WHITE_BEACH,
                Point(26.050, 127.980),
                Point(23.600, 125.000),
                *LUZON_STRAIT_WEST,
                Point(15.500, 119.850),
                SUBIC_MOUTH,
                SUBIC,
            ),
            speed_ms=16 * KNOT_MS,
            dwell_s=12 * HOUR,
            phase=0.3,
            remarks="Amphibious transport dock (Sasebo), 31st MEU elements embarked; synthetic",
        ),
        Track(
            "DEMO-USA-VMM-51",
            "DRAGON 51",
            "a-f-A-M-H-C",
            "USA",
            UNCLASSIFIED,
            Domain.AIR,
            _path(FUTENMA, BASCO, TUGUEGARAO_AIRPORT),
            speed_ms=240 * KNOT_MS,
            dwell_s=1.5 * HOUR,
            cruise_hae_m=10_000 * FT,
            phase=0.1,
            remarks="MV-22B, MCAS Futenma; relief cargo to Tuguegarao; synthetic",
        ),
        Track(
            "DEMO-USA-VMM-52",
            "DRAGON 52",
            "a-f-A-M-H-C",
            "USA",
            UNCLASSIFIED,
            Domain.AIR,
            _path(FUTENMA, BASCO, TUGUEGARAO_AIRPORT),
            speed_ms=240 * KNOT_MS,
            dwell_s=1.5 * HOUR,
            cruise_hae_m=9_500 * FT,
            phase=0.095,
            remarks="MV-22B, MCAS Futenma; relief cargo to Tuguegarao; synthetic",
        ),
        Track(
            "DEMO-USA-374AW-41",
            "HERKY 41",
            "a-f-A-M-F-C-M",
            "USA",
            REL_TRILATERAL,
            Domain.AIR,
            _path(YOKOTA, KADENA, CLARK),
            speed_ms=320 * KNOT_MS,
            dwell_s=1 * HOUR,
            cruise_hae_m=24_000 * FT,
            phase=0.2,
            remarks="C-130J, 374th Airlift Wing, Yokota via Kadena to Clark; synthetic",
        ),
        Track(
            "DEMO-USA-P8-72",
            "TRIDENT 72",
            "a-f-A-M-F-P",
            "USA",
            REL_BILATERAL,
            Domain.AIR,
            _loop(
                Point(20.500, 120.500),
                Point(21.200, 121.500),
                Point(20.600, 122.300),
                Point(19.800, 121.400),
            ),
            speed_ms=250 * KNOT_MS,
            pattern=Pattern.ORBIT,
            cruise_hae_m=5_000 * FT,
            remarks="P-8A, Task Force 72; maritime search over the Luzon Strait; synthetic",
        ),
        Track(
            "DEMO-USA-ISR-61",
            "HAWK 61",
            "a-f-A-M-F-Q",
            "USA",
            NOFORN,
            Domain.AIR,
            _loop(
                Point(18.200, 121.400),
                Point(18.300, 122.100),
                Point(17.400, 122.200),
                Point(17.000, 121.600),
                Point(17.600, 121.200),
            ),
            speed_ms=170 * KNOT_MS,
            pattern=Pattern.ORBIT,
            cruise_hae_m=25_000 * FT,
            phase=0.4,
            remarks="MQ-9A damage-assessment orbit over the Cagayan Valley; synthetic",
        ),
        Track(
            "DEMO-USA-SOF-11",
            "SHADOW 11",
            "a-f-F-G",
            "USA",
            NOFORN,
            Domain.GROUND,
            Path(NORTH_CAGAYAN_ROAD),
            speed_ms=40 * KMH_MS,
            dwell_s=3 * HOUR,
            phase=0.5,
            remarks="Liaison team; synthetic",
        ),
        Track(
            "DEMO-USA-CLB31",
            "CLB-31 CONVOY",
            "a-f-G-U-S-T",
            "USA",
            UNCLASSIFIED,
            Domain.GROUND,
            Path(SUBIC_TO_LA_UNION),
            speed_ms=35 * KMH_MS,
            dwell_s=4 * HOUR,
            phase=0.15,
            remarks="Combat Logistics Battalion 31 relief convoy; synthetic",
        ),
    ]


def _jpn() -> list[Track]:
    return [
        Track(
            "DEMO-JPN-LST4001",
            "JS OSUMI",
            "a-f-S-C-A-L-S",
            "JPN",
            UNCLASSIFIED,
            Domain.SEA,
            _path(
                KURE,
                Point(33.950, 132.350),  # Iyo-nada
                Point(33.000, 132.100),  # Bungo Channel
                Point(32.000, 131.900),
                Point(28.500, 129.500),
                Point(26.300, 126.800),  # west of Okinawa
                Point(24.000, 123.500),
                *LUZON_STRAIT_WEST,
                Point(15.500, 119.850),
                SUBIC_MOUTH,
                SUBIC,
            ),
            speed_ms=16 * KNOT_MS,
            dwell_s=24 * HOUR,
            phase=0.32,
            remarks="Osumi-class tank landing ship (Kure), relief stores; synthetic",
        ),
        Track(
            "DEMO-JPN-C2-21",
            "STORK 21",
            "a-f-A-M-F-C-H",
            "JPN",
            UNCLASSIFIED,
            Domain.AIR,
            _path(IRUMA, NAHA_AB, CLARK),
            speed_ms=450 * KNOT_MS,
            dwell_s=1 * HOUR,
            cruise_hae_m=35_000 * FT,
            phase=0.05,
            remarks="JASDF C-2 (Iruma) via Naha to Clark; synthetic",
        ),
        Track(
            "DEMO-JPN-C130-31",
            "STORK 31",
            "a-f-A-M-F-C-M",
            "JPN",
            REL_TRILATERAL,
            Domain.AIR,
            _path(KOMAKI, NAHA_AB, CLARK),
            speed_ms=290 * KNOT_MS,
            dwell_s=1 * HOUR,
            cruise_hae_m=22_000 * FT,
            phase=0.3,
            remarks="JASDF C-130H, 1st Tactical Airlift Group (Komaki) via Naha; synthetic",
        ),
        Track(
            "DEMO-JPN-P1-05",
            "OCEAN 05",
            "a-f-A-M-F-P",
            "JPN",
            REL_BILATERAL,
            Domain.AIR,
            _loop(
                Point(19.200, 122.400),
                Point(19.600, 123.400),
                Point(18.600, 123.600),
                Point(18.200, 122.600),
            ),
            speed_ms=220 * KNOT_MS,
            pattern=Pattern.ORBIT,
            cruise_hae_m=8_000 * FT,
            remarks="JMSDF P-1 search east of the Babuyan Islands; synthetic",
        ),
        Track(
            "DEMO-JPN-MED-1",
            "JSDF MED TEAM",
            "a-f-G-U-S-M",
            "JPN",
            UNCLASSIFIED,
            Domain.GROUND,
            _path(CLARK, Point(15.480, 120.590), *CAGAYAN_VALLEY_ROAD[1:5]),
            speed_ms=30 * KMH_MS,
            dwell_s=6 * HOUR,
            phase=0.2,
            remarks="JSDF disaster-relief medical team, Clark to Santiago City; synthetic",
        ),
    ]


def _phl() -> list[Track]:
    return [
        Track(
            "DEMO-PHL-C130-4726",
            "PAF 4726",
            "a-f-A-M-F-C-M",
            "PHL",
            UNCLASSIFIED,
            Domain.AIR,
            _path(VILLAMOR, CLARK, TUGUEGARAO_AIRPORT),
            speed_ms=280 * KNOT_MS,
            dwell_s=1 * HOUR,
            cruise_hae_m=18_000 * FT,
            phase=0.25,
            remarks="PAF C-130H, relief goods Villamor via Clark to Tuguegarao; synthetic",
        ),
        Track(
            "DEMO-PHL-S70-2041",
            "PAF 2041",
            "a-f-A-M-H-U",
            "PHL",
            REL_TRILATERAL,
            Domain.AIR,
            _loop(TUGUEGARAO_AIRPORT, CLAVERIA, APARRI),
            speed_ms=140 * KNOT_MS,
            pattern=Pattern.ORBIT,
            cruise_hae_m=3_000 * FT,
            remarks="PAF S-70i Black Hawk relief drops, Claveria and Aparri; synthetic",
        ),
        Track(
            "DEMO-PHL-LD602",
            "BRP DAVAO DEL SUR",
            "a-f-S-C-A",
            "PHL",
            UNCLASSIFIED,
            Domain.SEA,
            _path(
                MANILA_SOUTH_HARBOR,
                Point(14.400, 120.560),  # past Corregidor
                Point(14.700, 120.050),
                *WEST_LUZON_COAST,
                Point(18.450, 121.300),
                APARRI,
            ),
            speed_ms=14 * KNOT_MS,
            dwell_s=12 * HOUR,
            phase=0.3,
            remarks="Philippine Navy landing dock, Manila to Aparri with relief goods; synthetic",
        ),
        Track(
            "DEMO-PHL-ENGR-TG",
            "ENGR TG NORTH",
            "a-f-G-U-C-E",
            "PHL",
            UNCLASSIFIED,
            Domain.GROUND,
            Path(CAGAYAN_VALLEY_ROAD),
            speed_ms=25 * KMH_MS,
            dwell_s=6 * HOUR,
            phase=0.3,
            remarks="Philippine Army engineer task group clearing the Maharlika Highway; synthetic",
        ),
        Track(
            "DEMO-PHL-MED-1",
            "AFPMC MED TEAM",
            "a-f-G-U-S-M",
            "PHL",
            UNCLASSIFIED,
            Domain.GROUND,
            Path(WEST_LUZON_ROAD),
            speed_ms=40 * KMH_MS,
            dwell_s=6 * HOUR,
            phase=0.25,
            remarks="AFP Medical Center mobile team to Ilocos; synthetic",
        ),
        Track(
            "DEMO-PHL-5ID-BN",
            "5ID HADR BN",
            "a-f-G-U-C-I",
            "PHL",
            UNCLASSIFIED,
            Domain.GROUND,
            _path(GAMU, Point(17.148, 121.889), *NORTH_CAGAYAN_ROAD),
            speed_ms=30 * KMH_MS,
            dwell_s=8 * HOUR,
            phase=0.1,
            remarks="5th Infantry Division battalion, search and rescue Gamu to Aparri; synthetic",
        ),
        Track(
            "DEMO-PHL-PRC-TUG",
            "PRC RELIEF TUGUEGARAO",
            "a-n-G-I",
            "PHL",
            UNCLASSIFIED,
            Domain.FIXED,
            _path(Point(17.6170, 121.7220)),
            remarks="Philippine Red Cross relief distribution point (civilian); synthetic",
        ),
        Track(
            "DEMO-PHL-EVAC-APARRI",
            "EVAC CENTRE APARRI",
            "a-n-G-I",
            "PHL",
            UNCLASSIFIED,
            Domain.FIXED,
            _path(Point(18.3560, 121.6400)),
            remarks="Municipal evacuation centre (civilian, OCD-listed); synthetic",
        ),
    ]


def demo_tracks() -> list[Track]:
    """Every synthetic track, grouped by the nation whose feed reports it."""
    return [*_usa(), *_jpn(), *_phl()]


FEED_NATIONS = ("USA", "JPN", "PHL")
