"""Server-side groups (TAK "channels"): who writes to and who reads from which group.

The official TAK Server's rule (shared reference tak-server-api.md §5,
``CommonGroupDirectedReachability``): a writer U reaches a reader V iff one
group has U as IN (write) and V as OUT (read), and a message carries only its
sender's IN groups (``SubmissionService``). A principal without groups is in
``__ANON__`` both ways, as on the official server, so a server that never
configures groups behaves as if there were none.

Groups are need to know on top of the marking, never instead of it: the
audience decision (audience.py) checks release first and groups after, so a
shared group cannot widen what the marking allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ANON_GROUP = "__ANON__"
# One object, so the relay can tell "default" by identity (``is``) on its hot path.
DEFAULT_GROUPS: frozenset[str] = frozenset({ANON_GROUP})
# What the server itself makes (request markers, mission notices) is written to
# every group: groups sort users' traffic, the marking still decides who may see it.
ALL_GROUPS: frozenset[str] = frozenset({"__ALL__"})

IN = "in"
OUT = "out"
BOTH = "both"
DIRECTIONS = (IN, OUT, BOTH)

# TAK group names are free text in LDAP; here: printable, no separators that the
# CLI (NAME:dir) or the store's JSON would have to escape.
GROUP_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9 _.\-]{0,63}$")


class GroupError(ValueError):
    pass


@dataclass(frozen=True, slots=True, order=True)
class Membership:
    """A principal's membership in one group: ``in`` (writes), ``out`` (reads) or both."""

    name: str
    direction: str = BOTH

    @property
    def writes(self) -> bool:
        return self.direction in (IN, BOTH)

    @property
    def reads(self) -> bool:
        return self.direction in (OUT, BOTH)

    def text(self) -> str:
        return f"{self.name}:{self.direction}"


def parse_membership(text: str) -> Membership:
    """``NAME``, ``NAME:in``, ``NAME:out`` or ``NAME:both`` (default both, as an LDAP group
    gives its members read and write on the official server)."""
    name, sep, direction = text.strip().rpartition(":")
    if not sep:
        name, direction = direction, BOTH
    direction = direction.strip().lower()
    name = name.strip()
    if direction not in DIRECTIONS:
        raise GroupError(f"group {text!r}: direction must be one of {', '.join(DIRECTIONS)}")
    if not GROUP_NAME.match(name):
        raise GroupError(
            f"group {name!r}: use 1-64 letters, digits, spaces, '_', '.' or '-' "
            "(not starting with a space, '.' or '-')"
        )
    return Membership(name, direction)


@dataclass(frozen=True, slots=True)
class Channels:
    """The groups a principal (or one of its connections) writes to and reads from."""

    writes: frozenset[str] = DEFAULT_GROUPS
    reads: frozenset[str] = DEFAULT_GROUPS

    @property
    def is_default(self) -> bool:
        return self.writes is DEFAULT_GROUPS and self.reads is DEFAULT_GROUPS

    def narrowed(self, active: Channels | None) -> Channels:
        """The groups a connection selected (``PUT /Marti/api/groups/active``) among these.

        A client may switch its own groups off, never add one it is not in.
        """
        if active is None:
            return self
        return Channels(
            _interned(self.writes & active.writes), _interned(self.reads & active.reads)
        )


DEFAULT_CHANNELS = Channels()


def _interned(groups: frozenset[str]) -> frozenset[str]:
    return DEFAULT_GROUPS if groups == DEFAULT_GROUPS else groups


def channels_of(memberships: Iterable[Membership]) -> Channels:
    """The channels of a principal with these memberships (none: ``__ANON__`` both ways)."""
    chosen = list(memberships)
    if not chosen:
        return DEFAULT_CHANNELS
    writes = frozenset(m.name for m in chosen if m.writes)
    reads = frozenset(m.name for m in chosen if m.reads)
    return Channels(_interned(writes), _interned(reads))


def shares_group(written: frozenset[str], read: frozenset[str]) -> bool:
    """The official reachability: one group the item was written to is one the reader reads."""
    return written is read or written is ALL_GROUPS or not written.isdisjoint(read)
