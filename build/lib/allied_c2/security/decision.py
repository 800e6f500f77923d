"""The release decision: may this principal receive (or send) an item so marked?

One function decides release everywhere (``may_release``); the relay calls it
through ``ReleaseCache`` so the hot path pays one dictionary lookup. The rules
(docs/security-model.md):

1. Clearance dominates: the principal's clearance, mapped through the policy's
   equivalence table, ranks at least as high as the item's level.
2. Nationality: the originating nation always passes. NOFORN allows only it.
   A REL TO (or EYES ONLY) list allows the nations listed, tetragraphs expanded.
   Without a list, an item that is classified, controlled (CUI, FOUO) or carries
   any dissemination control stays with its originator, except where its scheme
   releases implicitly (NATO levels to NATO members) or the policy releases CUI
   to all nations. RELIDO and DISPLAY ONLY add nobody: release by a disclosure
   official and view-only disclosure cannot be done by an automated relay, so
   they fail closed. The anonymous profile (no nation) receives only public
   items: UNCLASSIFIED with no controls at all.
3. Need to know: every SCI control, SAP and restrictive COI on the item must be
   held; of its permissive COIs, at least one.
"""

from __future__ import annotations

from dataclasses import dataclass

from allied_c2.security import controls as ctl
from allied_c2.security.levels import Level, MarkingError
from allied_c2.security.markings import Marking
from allied_c2.security.policy import DEFAULT_POLICY, SecurityPolicy
from allied_c2.security.principals import Principal


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str | None = None  # a short sentence when denied


ALLOW = Decision(True)
# Controls whose release an automated relay cannot perform: they add no nation.
FAIL_CLOSED = frozenset({ctl.RELIDO, ctl.DISPLAY_ONLY})


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def owner_nation(marking: Marking, policy: SecurityPolicy) -> str | None:
    """The originating nation, or the scheme's own nation when none was recorded."""
    return marking.originator or policy.home_nation(marking.system)


def releasable_nations(marking: Marking, policy: SecurityPolicy) -> frozenset[str] | None:
    """Nations whose principals pass the nationality rule; ``None`` means every nation."""
    owner = owner_nation(marking, policy)
    base = frozenset((owner,)) if owner else frozenset()
    if ctl.NOFORN in marking.dissem:
        return base
    if marking.rel_to:
        return base | marking.rel_to_expanded
    level = policy.level(marking.level)
    if not (level.classified or level.controlled or marking.dissem):
        return None
    if marking.dissem & FAIL_CLOSED:
        return base
    any_nation = policy.cui_without_rel_to == "any-nation"
    if any_nation and not level.classified and marking.dissem <= {ctl.FOUO}:
        return None
    system = policy.systems.get(marking.system)
    return base | (system.implicit_release if system is not None else frozenset())


def _is_public(marking: Marking, level: Level) -> bool:
    return not (
        level.rank
        or level.controlled
        or marking.dissem
        or marking.cois
        or marking.sci
        or marking.sap
    )


def _why_foreign(marking: Marking, nation: str, policy: SecurityPolicy) -> str:
    owner = owner_nation(marking, policy) or "no nation (no originator recorded)"
    if ctl.NOFORN in marking.dissem:
        return f"NOFORN: releasable only to {owner}"
    if nation in policy.expand(marking.display_only):
        return (
            f"DISPLAY ONLY to {nation}: view-only disclosure cannot be enforced on a delivered copy"
        )
    if marking.rel_to:
        listed = ", ".join(sorted(marking.rel_to))
        return f"{nation} is not in the releasability list ({listed})"
    if ctl.RELIDO in marking.dissem:
        return f"RELIDO: release to {nation} needs a disclosure official, which a relay is not"
    system = policy.systems.get(marking.system)
    if system is not None and system.implicit_release and not marking.dissem & FAIL_CLOSED:
        owner = f"the {system.name} nations" + (
            f" and {marking.originator}" if marking.originator else ""
        )
    return f"{marking.level} without REL TO is releasable only to {owner}"


def _describe(level: Level, policy: SecurityPolicy) -> str:
    common = policy.rank_name(level.rank)
    return level.name if level.name == common else f"{level.name} (≈{common})"


def _need_to_know(marking: Marking, principal: Principal, policy: SecurityPolicy) -> str | None:
    held = principal.cois
    required = (
        marking.sci
        | {f"SAR-{program}" for program in marking.sap}
        | {coi for coi in marking.cois if not policy.is_permissive(coi)}
    )
    if missing := required - held:
        return f"need to know: {', '.join(sorted(missing))} not held"
    permissive = {coi for coi in marking.cois if policy.is_permissive(coi)}
    if permissive and not permissive & held:
        return f"need to know: none of {', '.join(sorted(permissive))} held"
    return None


def _levels(
    marking: Marking, principal: Principal, policy: SecurityPolicy
) -> tuple[Level, Level] | str:
    try:
        item = policy.level(marking.level)
    except MarkingError:
        return f"level {marking.level} is not in this server's policy"
    try:
        held = policy.clearance_level(principal.clearance, principal.nation)
    except MarkingError:
        return f"clearance '{principal.clearance}' is not in this server's policy"
    return item, held


def may_release(
    marking: Marking, principal: Principal, policy: SecurityPolicy = DEFAULT_POLICY
) -> Decision:
    """Whether ``principal`` may receive an item marked ``marking``, with the reason if not."""
    levels = _levels(marking, principal, policy)
    if isinstance(levels, str):
        return _deny(levels)
    item, held = levels
    if held.rank < item.rank:
        return _deny(f"clearance {_describe(held, policy)} is below {_describe(item, policy)}")
    nation = principal.nation
    if nation is None:
        if not _is_public(marking, item):
            return _deny("anonymous: only UNCLASSIFIED items without controls are released")
        return ALLOW
    nations = releasable_nations(marking, policy)
    if nations is not None and nation not in nations:
        return _deny(_why_foreign(marking, nation, policy))
    reason = _need_to_know(marking, principal, policy)
    return ALLOW if reason is None else _deny(reason)


def may_send(
    marking: Marking, principal: Principal, policy: SecurityPolicy = DEFAULT_POLICY
) -> Decision:
    """Whether ``principal`` may originate an item so marked.

    A sender may not mark above its own clearance or need to know, may not
    speak for another nation (the originator, a NOFORN owner and a national
    scheme's issuers must be its own nation), and must itself be in any REL TO
    list it writes. The anonymous profile may send only public items.
    """
    levels = _levels(marking, principal, policy)
    if isinstance(levels, str):
        return _deny(levels)
    item, held = levels
    nation = principal.nation
    if nation is None:
        if _is_public(marking, item) and marking.originator is None:
            return ALLOW
        return _deny("anonymous: may only send UNCLASSIFIED items without controls")
    if held.rank < item.rank:
        return _deny(
            f"cannot send {_describe(item, policy)} above clearance {_describe(held, policy)}"
        )
    if marking.originator is not None and marking.originator != nation:
        return _deny(f"a {nation} principal cannot send an item originated by {marking.originator}")
    system = policy.systems.get(marking.system)
    if system is not None and system.issuers and nation not in system.issuers:
        return _deny(
            f"a {nation} principal cannot originate {marking.level} ({system.name} scheme)"
        )
    if ctl.NOFORN in marking.dissem and owner_nation(marking, policy) != nation:
        return _deny(f"NOFORN from a {nation} principal must have {nation} as originator")
    if marking.rel_to and nation not in marking.rel_to_expanded:
        return _deny(f"REL TO must include the sender's nation {nation}")
    reason = _need_to_know(marking, principal, policy)
    return ALLOW if reason is None else _deny(f"cannot send: {reason}")


class ReleaseCache:
    """``may_release`` memoised per (marking, principal), bounded, oldest entry evicted first.

    A principal whose attributes change is a new Principal value, hence a new key;
    call ``clear()`` only when the policy object itself is replaced.
    """

    __slots__ = ("_entries", "hits", "max_entries", "misses", "policy")

    def __init__(self, policy: SecurityPolicy = DEFAULT_POLICY, max_entries: int = 65536) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.policy = policy
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: dict[tuple[Marking, Principal], Decision] = {}

    def decide(self, marking: Marking, principal: Principal) -> Decision:
        key = (marking, principal)
        decision = self._entries.get(key)
        if decision is not None:
            self.hits += 1
            return decision
        self.misses += 1
        decision = may_release(marking, principal, self.policy)
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = decision
        return decision

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
