"""Dissemination controls: their banner and portion spellings and register order.

The order of ``CONTROLS`` is the CAPCO register's order, which is the order
controls are written in a banner (IC-ISM rule 00041); IC controls are written in
one ``//`` category and non-IC controls (LIMDIS, LES…) in the next.
"""

from __future__ import annotations

from dataclasses import dataclass

REL_TO = "REL TO"
EYES_ONLY = "EYES ONLY"
DISPLAY_ONLY = "DISPLAY ONLY"
NOFORN = "NOFORN"
RELIDO = "RELIDO"
FOUO = "FOUO"
ORCON = "ORCON"

# Controls that carry a country list rather than standing alone.
LISTED = frozenset({REL_TO, EYES_ONLY, DISPLAY_ONLY})
# IC-ISM 00169: at most one of these.
EXCLUSIVE = (NOFORN, RELIDO, DISPLAY_ONLY)


@dataclass(frozen=True, slots=True)
class Control:
    name: str  # banner form
    portion: str  # portion form
    ic: bool  # IC dissemination control (else non-IC)
    aliases: tuple[str, ...] = ()


CONTROLS: tuple[Control, ...] = (
    Control("RSEN", "RS", True, ("RISK SENSITIVE",)),
    Control(FOUO, "FOUO", True, ("FOR OFFICIAL USE ONLY",)),
    Control(ORCON, "OC", True, ("ORIGINATOR CONTROLLED",)),
    Control("IMCON", "IMC", True, ("CONTROLLED IMAGERY",)),
    Control("DSEN", "DSEN", True, ("SOURCES AND METHODS INFORMATION",)),
    Control(NOFORN, "NF", True, ("NOT RELEASABLE TO FOREIGN NATIONALS",)),
    Control("PROPIN", "PR", True, ("CAUTION-PROPRIETARY INFORMATION INVOLVED",)),
    Control(REL_TO, "REL TO", True),
    Control(RELIDO, "RELIDO", True),
    Control(EYES_ONLY, "EYES", True),
    Control("FISA", "FISA", True),
    Control(DISPLAY_ONLY, "DISPLAY ONLY", True),
    Control("LIMDIS", "DS", False, ("LIMITED DISTRIBUTION",)),
    Control("EXDIS", "XD", False, ("EXCLUSIVE DISTRIBUTION",)),
    Control("NODIS", "ND", False, ("NO DISTRIBUTION",)),
    Control("SBU", "SBU", False, ("SENSITIVE BUT UNCLASSIFIED",)),
    Control("LES", "LES", False, ("LAW ENFORCEMENT SENSITIVE",)),
    Control("SSI", "SSI", False, ("SENSITIVE SECURITY INFORMATION",)),
)

ORDER: dict[str, int] = {c.name: i for i, c in enumerate(CONTROLS)}

# Stand-alone controls by every accepted spelling; listed controls are parsed apart.
BY_TOKEN: dict[str, Control] = {
    token: control
    for control in CONTROLS
    if control.name not in LISTED
    for token in (control.name, control.portion, *control.aliases)
}
