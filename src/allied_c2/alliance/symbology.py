"""MIL-STD-2525B / APP-6 letter SIDCs and CoT atom types.

CoT atom types are the 2525 hierarchy written with dashes: ``SFGPUCI----E---``
(friend, ground, unit, combat, infantry) is ``a-f-G-U-C-I``. The web COP draws
the reverse (``frontend/src/sidc.ts``); this is the Python side, used where a
symbol arrives without a CoT type (C2SIM reports, imported ORBATs).
"""

from __future__ import annotations

# SIDC position 2 (standard identity) -> CoT affiliation. The 2525B exercise
# identities map to their real-world counterparts, as the web COP draws them.
_AFFILIATION = {
    "P": "p",
    "U": "u",
    "A": "a",
    "F": "f",
    "N": "n",
    "S": "s",
    "H": "h",
    "J": "j",
    "K": "k",
    "O": "o",
    "G": "p",
    "W": "u",
    "D": "f",
    "L": "n",
    "M": "a",
    "-": "u",
}
_DIMENSIONS = frozenset("PAGSUF")
# SIDC position 12 (echelon) -> the echelon word scenario files use.
ECHELON_OF_SIDC = {
    "A": "team",
    "B": "squad",
    "C": "section",
    "D": "platoon",
    "E": "company",
    "F": "battalion",
    "G": "regiment",
    "H": "brigade",
    "I": "division",
    "J": "corps",
    "K": "army",
    "L": "army_group",
    "M": "region",
    "N": "command",
}


def is_letter_sidc(sidc: str | None) -> bool:
    return bool(sidc) and len(sidc or "") == 15 and not (sidc or "").isdigit()


def cot_type_from_sidc(sidc: str | None) -> str | None:
    """The CoT atom type of a warfighting (``S…``) letter SIDC; None for anything else."""
    if not is_letter_sidc(sidc) or sidc is None or sidc[0].upper() != "S":
        return None
    code = sidc.upper()
    affiliation = _AFFILIATION.get(code[1], "u")
    dimension = code[2] if code[2] in _DIMENSIONS else "G"
    function = [c for c in code[4:10] if c.isalnum()]
    return "-".join(["a", affiliation, dimension, *function])


def echelon_from_sidc(sidc: str | None) -> str | None:
    """The echelon a letter SIDC's size modifier (position 12) shows, if any."""
    if not is_letter_sidc(sidc) or sidc is None:
        return None
    return ECHELON_OF_SIDC.get(sidc[11].upper())


def with_affiliation(cot_type: str, affiliation: str) -> str:
    """``cot_type`` with its affiliation replaced (``a-u-G`` + ``h`` -> ``a-h-G``)."""
    parts = cot_type.split("-")
    if len(parts) >= 2 and parts[0] == "a":
        parts[1] = affiliation
    return "-".join(parts)
