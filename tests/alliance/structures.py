"""Small command structures built in code for routing, lifecycle and analysis tests.

They follow the public outline in shared/reference/alliance.md (2024: Japan's Joint
Staff coordinates with INDOPACOM in Hawaii; after: JJOC with a JFHQ counterpart in
Tokyo) with far fewer organisations than the shipped scenarios; unit detail is
synthetic.
"""

from __future__ import annotations

from typing import Any

from allied_c2.alliance.model import (
    DecisionAuthority,
    DutyHours,
    Location,
    Organisation,
    OrgKind,
    Relation,
    Relationship,
    RequestKind,
    Structure,
)

TOKYO = "Asia/Tokyo"
HAWAII = "Pacific/Honolulu"
WASHINGTON = "America/New_York"

KINDS = [
    RequestKind("bilateral_exercise_change", "Bilateral exercise change", bilateral=True),
    RequestKind("isr_support", "ISR support", default_hours_per_hop=2.0),
    RequestKind("logistics_support", "Logistics support"),
    RequestKind("force_deployment_japan", "Force deployment within Japan"),
]


def _org(
    oid: str, nation: str, kind: OrgKind, tz: str, echelon: str = "command", **kw: Any
) -> Organisation:
    return Organisation(
        id=oid, name=oid.upper(), nation=nation, kind=kind, echelon=echelon, timezone=tz, **kw
    )


def _common_orgs() -> list[Organisation]:
    watch = DutyHours(always=True)
    return [
        _org("potus", "USA", OrgKind.NATIONAL_AUTHORITY, WASHINGTON, duty_hours=watch),
        _org("secdef", "USA", OrgKind.NATIONAL_AUTHORITY, WASHINGTON),
        _org(
            "indopacom",
            "USA",
            OrgKind.COMBATANT_COMMAND,
            HAWAII,
            commander_grade="O-10",
            location=Location(21.38, -157.91),
        ),
        _org("pacflt", "USA", OrgKind.COMPONENT, HAWAII),
        _org("c7f", "USA", OrgKind.COMPONENT, TOKYO, echelon="fleet"),
        _org("ctf70", "USA", OrgKind.UNIT, TOKYO, echelon="task force", synthetic=True),
        _org("pm", "JPN", OrgKind.NATIONAL_AUTHORITY, TOKYO),
        _org("mod", "JPN", OrgKind.NATIONAL_AUTHORITY, TOKYO),
        _org("js", "JPN", OrgKind.JOINT_COMMAND, TOKYO, commander_grade="O-10"),
        _org("gcc", "JPN", OrgKind.COMPONENT, TOKYO),
        _org("sdf-fleet", "JPN", OrgKind.COMPONENT, TOKYO, echelon="fleet"),
        _org("adc", "JPN", OrgKind.COMPONENT, TOKYO),
        _org("1-abn-bde", "JPN", OrgKind.UNIT, TOKYO, echelon="brigade", synthetic=True),
        _org("escort-flot-1", "JPN", OrgKind.UNIT, TOKYO, echelon="flotilla", synthetic=True),
        _org("2-air-wing", "JPN", OrgKind.UNIT, TOKYO, echelon="wing", synthetic=True),
    ]


def _opcon(sup: str, sub: str) -> Relationship:
    return Relationship(sup, sub, Relation.OPCON)


def _common_relationships(jpn_joint: str) -> list[Relationship]:
    return [
        _opcon("potus", "secdef"),
        Relationship("secdef", "indopacom", Relation.COCOM),
        _opcon("indopacom", "pacflt"),
        _opcon("pacflt", "c7f"),
        _opcon("c7f", "ctf70"),
        _opcon("pm", "mod"),
        _opcon("mod", "js"),
        _opcon(jpn_joint, "gcc"),
        _opcon(jpn_joint, "sdf-fleet"),
        _opcon(jpn_joint, "adc"),
        _opcon("gcc", "1-abn-bde"),
        _opcon("sdf-fleet", "escort-flot-1"),
        _opcon("adc", "2-air-wing"),
    ]


def alliance_2024() -> Structure:
    """Before: Japan's Joint Staff decides; INDOPACOM in Hawaii concurs for the US."""
    orgs = _common_orgs()
    orgs.append(_org("usfj", "USA", OrgKind.JOINT_COMMAND, TOKYO, commander_grade="O-9"))
    rels = _common_relationships("js")
    rels += [
        _opcon("indopacom", "usfj"),
        Relationship("js", "indopacom", Relation.COUNTERPART),
    ]
    auth = [
        DecisionAuthority("bilateral_exercise_change", "JPN", "js", consult_counterpart=True),
        DecisionAuthority(
            "bilateral_exercise_change", "USA", "indopacom", consult_counterpart=True
        ),
        DecisionAuthority("isr_support", "JPN", "js", max_hours=8),
        DecisionAuthority("isr_support", "USA", "indopacom", max_hours=8),
        DecisionAuthority("logistics_support", "JPN", "js"),
        DecisionAuthority("logistics_support", "JPN", "gcc", forces=("gcc",), max_hours=8),
        DecisionAuthority("logistics_support", "USA", "indopacom"),
        DecisionAuthority("force_deployment_japan", "JPN", "mod", max_hours=48),
        DecisionAuthority("force_deployment_japan", "USA", "indopacom", consult_counterpart=True),
    ]
    return Structure(
        name="test-2024",
        organisations={o.id: o for o in orgs},
        relationships=rels,
        authorities=auth,
        request_kinds={k.id: k for k in KINDS},
    )


def alliance_jfhq(delegation: bool = True, grade: str = "O-9") -> Structure:
    """After: JJOC decides for Japan; the JFHQ in Tokyo is its counterpart and, with
    ``delegation``, concurs for the US itself instead of asking INDOPACOM."""
    orgs = _common_orgs()
    orgs += [
        _org("jjoc", "JPN", OrgKind.JOINT_COMMAND, TOKYO, commander_grade="O-9"),
        _org("usfj-jfhq", "USA", OrgKind.JOINT_FORCE_HQ, TOKYO, commander_grade=grade),
    ]
    rels = _common_relationships("jjoc")
    rels += [
        _opcon("mod", "jjoc"),
        _opcon("indopacom", "usfj-jfhq"),
        Relationship("jjoc", "usfj-jfhq", Relation.COUNTERPART),
    ]
    us_decider = "usfj-jfhq" if delegation else "indopacom"
    delegated = "indopacom" if delegation else None
    auth = [
        DecisionAuthority("bilateral_exercise_change", "JPN", "jjoc", consult_counterpart=True),
        DecisionAuthority(
            "bilateral_exercise_change",
            "USA",
            us_decider,
            consult_counterpart=True,
            delegated_from=delegated,
        ),
        DecisionAuthority("isr_support", "JPN", "jjoc", max_hours=8),
        DecisionAuthority("isr_support", "USA", us_decider, delegated_from=delegated, max_hours=8),
        DecisionAuthority("logistics_support", "JPN", "jjoc"),
        DecisionAuthority("logistics_support", "JPN", "gcc", forces=("gcc",), max_hours=8),
        DecisionAuthority("logistics_support", "USA", "indopacom"),
        DecisionAuthority("force_deployment_japan", "JPN", "mod", max_hours=48),
        DecisionAuthority(
            "force_deployment_japan",
            "USA",
            us_decider,
            consult_counterpart=True,
            delegated_from=delegated,
        ),
    ]
    return Structure(
        name="test-jfhq" if delegation else "test-jfhq-nodelegation",
        organisations={o.id: o for o in orgs},
        relationships=rels,
        authorities=auth,
        request_kinds={k.id: k for k in KINDS},
        parameters={"delegation": delegation, "jfhq_grade": grade},
    )
