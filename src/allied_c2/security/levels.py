"""Classification levels, the common lattice they are compared on, and marking errors.

Every national level (US, NATO, Japanese, Philippine) maps to one rank of a
common lattice; which rank is configuration (bilateral security agreements
decide it, not a universal table), so a ``Level`` carries the rank the loaded
policy gave it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class MarkingError(ValueError):
    """A marking that cannot be accepted; the message names the rule in one line.

    ``rule`` is the IC-ISM Schematron rule id (``"00214"``) where one applies.
    """

    def __init__(self, message: str, rule: str | None = None) -> None:
        super().__init__(f"ISM-ID-{rule}: {message}" if rule else message)
        self.rule = rule


class PolicyError(ValueError):
    """The security policy file is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class Level:
    """One classification level of one national (or NATO) scheme."""

    system: str  # "US", "NATO", "JPN", "PHL"
    name: str  # canonical banner form: "SECRET", "NATO SECRET", "JPN GOKUHI"
    portion: str  # portion form: "S", "NS", "JPN GOKUHI"
    rank: int  # index in the policy's common lattice
    # Unclassified but not public (CUI, NATO UNCLASSIFIED): never for anonymous
    # principals, and foreign release follows the policy's CUI rule.
    controlled: bool = False
    equivalent: str = ""  # the name of ``rank`` in the common lattice: "SECRET" for JPN GOKUHI

    @property
    def classified(self) -> bool:
        return self.rank > 0


def normalise(text: str) -> str:
    """Upper case with runs of whitespace collapsed: the form all lookups use."""
    return " ".join(text.upper().split())


def ordered_countries(codes: Iterable[str]) -> list[str]:
    """The register's order for a country list: USA, trigraphs A-Z, then tetragraphs A-Z."""
    return sorted(codes, key=lambda c: (c != "USA", len(c) != 3, c))
