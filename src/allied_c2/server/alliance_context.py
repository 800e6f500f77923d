"""What the server's alliance services share: one structure, relay, policy, audit and clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from allied_c2.alliance.clock import Clock, UTCClock
from allied_c2.alliance.model import Structure
from allied_c2.security.policy import SecurityPolicy
from allied_c2.server.hub import Hub
from allied_c2.server.peers import AuditSink
from allied_c2.server.structure import StructureReleases


@dataclass(frozen=True)
class AllianceContext:
    structure: Structure | None
    hub: Hub
    policy: SecurityPolicy
    audit: AuditSink
    clock: Clock = field(default_factory=UTCClock)
    releases: StructureReleases | None = None

    def __post_init__(self) -> None:
        if self.releases is None and self.structure is not None:
            object.__setattr__(self, "releases", StructureReleases(self.structure, self.policy))
