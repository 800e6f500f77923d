"""The simulation's input and output records.

Plain slotted dataclasses, not frozen ones: a sweep makes millions of them, and a
frozen dataclass's ``__init__`` goes through ``object.__setattr__`` for every field,
which makes it six times slower to build (1.3 µs against 0.2 µs). Treat them as
values all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Arrival:
    index: int
    at: datetime
    kind: str
    pick: float  # in [0, 1): chooses the originator from the kind's pool
    urgent: bool
    seed: int  # the request's own random stream


@dataclass(slots=True)
class Decided:
    index: int
    kind: str
    originator: str
    nation: str  # the originator's
    urgent: bool
    hours: float  # submission to decision
    by_needed_by: bool
    outcome: str  # approved / denied / returned
    hops: int  # handovers: every time an organisation received the request
    escalations: int  # deadlines that passed (escalations and overdue marks)
