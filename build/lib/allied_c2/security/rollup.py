"""Rolling the markings of many items up to one banner (a page, a picture, an export).

The rules (CAPCO, markings.md): the highest level of the parts; NOFORN anywhere
makes the whole NOFORN; the whole is REL TO only the nations common to every
part that limits release. Views are filtered item by item before they are
rolled up, so the result labels what is shown; it is not itself a release test.
Parts of different schemes at the same rank roll up to the common scheme's
level at or above that rank (a NATO RESTRICTED beside a PHL RESTRICTED becomes
CONFIDENTIAL when the common scheme has no RESTRICTED).
"""

from __future__ import annotations

from collections.abc import Iterable

from allied_c2.security import controls as ctl
from allied_c2.security.decision import releasable_nations
from allied_c2.security.levels import Level
from allied_c2.security.markings import Marking, _marking
from allied_c2.security.policy import SecurityPolicy


def _common_level(policy: SecurityPolicy, rank: int, controlled: bool) -> Level | None:
    candidates = [
        lv
        for lv in policy.systems[policy.common_system].levels
        if lv.rank > rank or (lv.rank == rank and (controlled or not lv.controlled))
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda lv: (lv.rank, lv.controlled != controlled))


def _whole_level(parts: list[Marking], policy: SecurityPolicy) -> Level:
    levels = [policy.level(part.level) for part in parts]
    top = max(level.rank for level in levels)
    tops = sorted(
        {level for level in levels if level.rank == top},
        key=lambda level: (not level.controlled, level.system, level.name),
    )
    if len({level.system for level in tops}) > 1:
        common = _common_level(policy, top, any(level.controlled for level in tops))
        if common is not None:
            return common
    # One scheme, or a common scheme with nothing that high: never roll down.
    return tops[0]


def _written(
    nations: frozenset[str], lists: list[frozenset[str]], policy: SecurityPolicy
) -> set[str]:
    """A REL TO list for ``nations``, keeping the largest tetragraphs the parts wrote that fit."""
    fitting = {
        code
        for written in lists
        for code in written
        if code in policy.tetragraphs and policy.tetragraphs[code] <= nations
    }
    kept = {
        code
        for code in fitting
        if not any(policy.tetragraphs[code] < policy.tetragraphs[other] for other in fitting)
    }
    covered = policy.expand(kept)
    return kept | {nation for nation in nations if nation not in covered or nation == "USA"}


def rollup_markings(markings: Iterable[Marking], policy: SecurityPolicy) -> Marking:
    parts = list(markings)
    if not parts:
        return _marking(policy.common_level(0))
    level = _whole_level(parts, policy)
    originators = {part.originator for part in parts}
    originator = originators.pop() if len(originators) == 1 else None
    dissem = set().union(*(part.dissem for part in parts)) - ctl.LISTED
    dissem -= {ctl.NOFORN, ctl.RELIDO}
    if level.classified or level.controlled:
        dissem.discard(ctl.FOUO)
    # CAPCO: a classified whole's REL TO comes from its classified parts only;
    # an unclassified whole's from the parts that limit release (CUI, FOUO…).
    limiting = [
        part
        for part in parts
        if (policy.level(part.level).classified or not level.classified)
        and releasable_nations(part, policy) is not None
    ]
    rel_to: set[str] = set()
    nations: frozenset[str] = frozenset()
    display: frozenset[str] = frozenset()
    if any(ctl.NOFORN in part.dissem for part in parts):
        dissem.add(ctl.NOFORN)
    elif limiting:
        sets = [releasable_nations(part, policy) or frozenset() for part in limiting]
        common = frozenset.intersection(*sets)
        bare = _marking(level, dissem=frozenset(dissem), originator=originator)
        listed = all(part.rel_to for part in limiting)
        if common == releasable_nations(bare, policy) and not listed:
            pass  # unlisted parts stay with their originator: so does the whole
        elif len(common) >= 2:
            nations = common
            rel_to = _written(common, [part.rel_to for part in limiting], policy)
            dissem.add(ctl.REL_TO)
        else:
            dissem.add(ctl.NOFORN)
            originator = next(iter(common), originator)
        if ctl.NOFORN not in dissem and all(ctl.DISPLAY_ONLY in p.dissem for p in limiting):
            display = frozenset.intersection(*(part.display_only for part in limiting))
            if display:
                dissem.add(ctl.DISPLAY_ONLY)
        if not dissem & {ctl.NOFORN, ctl.DISPLAY_ONLY} and all(
            ctl.RELIDO in part.dissem for part in limiting
        ):
            dissem.add(ctl.RELIDO)
    return _marking(
        level,
        sci=frozenset().union(*(part.sci for part in parts)),
        sap=frozenset().union(*(part.sap for part in parts)),
        dissem=frozenset(dissem),
        rel_to=frozenset(rel_to),
        rel_to_expanded=nations,
        display_only=display,
        cois=frozenset().union(*(part.cois for part in parts)),
        originator=originator,
    )
