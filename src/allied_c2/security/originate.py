"""The markings a principal may originate: what the web COP's marking picker offers.

A picker that offered a level the sender may not use would only move the refusal
to the moment of sending; one that offered the markings the server would accept
is the send rule read the other way round. So the candidates (every level of the
common scheme and of the principal's own national scheme, national-only, NOFORN
for the common scheme's own nation, and REL TO the principal's nation with each
partner and with all of them) are kept only where :func:`may_send` allows them:
at or below the clearance, in a scheme the nation may issue in (its release
authority), with the nation itself in any REL TO list. The server still checks
every message on ingest; this list is a convenience, not the rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from allied_c2.security.decision import may_send
from allied_c2.security.levels import Level, MarkingError, ordered_countries
from allied_c2.security.markings import Marking, parse_banner
from allied_c2.security.policy import SecurityPolicy
from allied_c2.security.principals import Principal


def _schemes(policy: SecurityPolicy, nation: str) -> list[str]:
    """The common scheme first, then the principal's own national scheme(s)."""
    own = [
        name
        for name, system in policy.systems.items()
        if system.nation == nation and name != policy.common_system
    ]
    return [policy.common_system, *own]


def _texts(level: Level, nation: str, allies: list[str], policy: SecurityPolicy) -> list[str]:
    if not (level.classified or level.controlled):
        return [level.name]  # UNCLASSIFIED carries no controls
    texts = [level.name]  # national only: the originator's nation
    if policy.home_nation(policy.common_system) == nation and level.system == policy.common_system:
        texts.append(f"{level.name}//NOFORN")
    groups = [[nation, ally] for ally in allies]
    if len(allies) > 1:
        groups.append([nation, *allies])
    for group in groups:
        texts.append(f"{level.name}//REL TO {', '.join(ordered_countries(group))}")
    return texts


def originable(
    principal: Principal, policy: SecurityPolicy, partners: Iterable[str] = ()
) -> list[Marking]:
    """The markings ``principal`` may send, lowest level first; empty when none.

    ``partners`` are the nations a REL TO list may name besides the principal's
    own (the loaded alliance's nations).
    """
    nation = principal.nation
    if nation is None:
        public = policy.default_marking
        return [public] if may_send(public, principal, policy).allowed else []
    allies = sorted({p for p in partners if p != nation and p in policy.countries})
    found: dict[Marking, tuple[int, bool, int, int]] = {}
    for order, scheme in enumerate(_schemes(policy, nation)):
        for level in policy.systems[scheme].levels:
            for index, text in enumerate(_texts(level, nation, allies, policy)):
                try:
                    marking = parse_banner(text, policy, strict=False).with_originator(nation)
                except MarkingError:
                    continue
                if marking not in found and may_send(marking, principal, policy).allowed:
                    found[marking] = (level.rank, level.controlled, order, index)
    return sorted(found, key=lambda m: found[m])
