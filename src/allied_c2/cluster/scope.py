"""What a node carries: the stream subjects it subscribes to, and who it may serve.

By default a node carries the whole stream (``PREFIX.ev.>``). ``--cluster-serves
NATIONS[:LEVEL]`` narrows it to the subjects that could hold an item one of those
nations' principals, cleared up to LEVEL, may see (``wire.subject_for``: rank and
releasability class): every class up to the level, and NOFORN only of the served
nations. Events on other subjects never reach the node, so they cost it nothing and
a NATS account limited to these subjects can keep them off it for good.

Such a node can give a complete picture only to the principals it was narrowed for,
so it serves no one else: ``admits`` names the reason a principal is outside, and
the directory refuses that principal at log-in. The release decision for those it
serves is unchanged: still made for each reader at the delivering edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from allied_c2.cluster.wire import events_subject, token
from allied_c2.security.markings import MarkingError
from allied_c2.security.policy import SecurityPolicy
from allied_c2.security.principals import Principal


class ScopeError(ValueError):
    """``--cluster-serves`` does not parse against the policy."""


@dataclass(frozen=True, slots=True)
class NodeScope:
    nations: frozenset[str] = frozenset()  # empty: every nation
    max_rank: int | None = None  # None: every level
    level: str = ""  # the level's name, for messages

    @property
    def whole(self) -> bool:
        return not self.nations and self.max_rank is None

    @classmethod
    def parse(cls, text: str | None, policy: SecurityPolicy) -> NodeScope:
        """``USA,JPN`` or ``PHL:SECRET`` or ``:CONFIDENTIAL`` (every nation up to it)."""
        if not text or not text.strip():
            return cls()
        nations_text, _, level_text = text.partition(":")
        nations = frozenset(n.strip().upper() for n in nations_text.split(",") if n.strip())
        unknown = sorted(n for n in nations if n not in policy.countries)
        if unknown:
            raise ScopeError(f"--cluster-serves: unknown nation(s) {', '.join(unknown)}")
        max_rank: int | None = None
        level = ""
        if level_text.strip():
            try:
                found = policy.level(level_text)
            except MarkingError as exc:
                raise ScopeError(f"--cluster-serves: {exc}") from None
            max_rank, level = found.rank, policy.rank_name(found.rank)
        return cls(nations, max_rank, level)

    def subjects(self, prefix: str, policy: SecurityPolicy) -> tuple[str, ...]:
        """The subjects this node subscribes to (one wildcard when it carries all)."""
        if self.whole:
            return (events_subject(prefix),)
        ranks = (
            ["*"]
            if self.max_rank is None
            else [f"r{rank}" for rank in range(min(self.max_rank, len(policy.lattice) - 1) + 1)]
        )
        if not self.nations:
            return tuple(f"{prefix}.ev.{rank}.>" for rank in ranks)
        # `none`: NOFORN with no originator; who may see it is decided per reader here.
        classes = ["any", "rel", "ctl", "noforn.none"]
        classes += [f"noforn.{token(nation)}" for nation in sorted(self.nations)]
        return tuple(f"{prefix}.ev.{rank}.{cls}" for rank in ranks for cls in classes)

    def admits(self, principal: Principal, policy: SecurityPolicy) -> str | None:
        """None when this node serves ``principal``; otherwise why not."""
        if self.whole:
            return None
        if self.nations and principal.nation is not None and principal.nation not in self.nations:
            return f"this node serves {', '.join(sorted(self.nations))} only"
        if self.max_rank is not None:
            try:
                rank = policy.clearance_level(principal.clearance, principal.nation).rank
            except MarkingError:
                return None  # an unreadable clearance sees nothing classified anyway
            if rank > self.max_rank:
                return f"this node carries nothing above {self.level}"
        return None

    def describe(self) -> str:
        if self.whole:
            return "everything"
        nations = ", ".join(sorted(self.nations)) if self.nations else "every nation"
        return f"{nations} up to {self.level}" if self.level else nations
