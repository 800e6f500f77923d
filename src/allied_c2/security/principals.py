"""Who is asking: the principal a connection, token or certificate stands for.

A principal is immutable and hashable so that release decisions can be cached
per (marking, principal) on the relay's hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# "auditor" may read addressed traffic (direct messages) it is cleared for; no other
# role implies it, not even admin (docs/security-model.md, Addressing).
ROLES = ("viewer", "operator", "commander", "admin", "auditor")


@dataclass(frozen=True, slots=True)
class Principal:
    """A person, client or federated node that may receive items.

    ``nation`` is an ISO 3166-1 alpha-3 code, or ``None`` for the anonymous
    profile (which therefore only receives what is releasable to everyone).
    ``clearance`` is a level name in the principal's own national scheme
    (``SECRET``, ``JPN:HI``…); the equivalence table maps it to the common
    lattice.
    """

    callsign: str
    nation: str | None
    clearance: str = "UNCLASSIFIED"
    cois: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    organisation: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


ANONYMOUS = Principal(callsign="anonymous", nation=None, clearance="UNCLASSIFIED")
