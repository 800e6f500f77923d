"""Decision requests as values: what is asked, by whom, by when, under which marking;
and the values the request lifecycle (``lifecycle.py``) speaks in: states, actions,
audit-trail steps and the outcome of an input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from allied_c2.alliance.clock import require_aware
from allied_c2.alliance.model import Location, Urgency


class RequestError(ValueError):
    """A request (or its plain-dict form) is malformed; the message says what."""


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    id: str
    kind: str  # a RequestKind id, e.g. "bilateral_exercise_change"
    originator: str  # organisation id
    subject: str
    marking: str  # banner string, e.g. "SECRET//REL TO USA, JPN"
    submitted_at: datetime
    needed_by: datetime | None = None
    urgency: Urgency = Urgency.ROUTINE
    location: Location | None = None

    def __post_init__(self) -> None:
        for name in ("id", "kind", "originator", "subject", "marking"):
            if not getattr(self, name):
                raise RequestError(f"request {name} must not be empty")
        try:
            object.__setattr__(self, "submitted_at", require_aware(self.submitted_at))
            if self.needed_by is not None:
                object.__setattr__(self, "needed_by", require_aware(self.needed_by, "needed_by"))
        except ValueError as exc:
            raise RequestError(str(exc)) from exc
        if self.needed_by is not None and self.needed_by < self.submitted_at:
            raise RequestError("needed_by is before submitted_at")
        if self.location is not None and not (
            -90 <= self.location.lat <= 90 and -180 <= self.location.lon <= 180
        ):
            raise RequestError(f"location out of range: {self.location}")

    @property
    def urgent(self) -> bool:
        return self.urgency is Urgency.URGENT

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "originator": self.originator,
            "subject": self.subject,
            "marking": self.marking,
            "submitted_at": self.submitted_at.isoformat(),
            "needed_by": self.needed_by.isoformat() if self.needed_by else None,
            "urgency": self.urgency.value,
            "lat": self.location.lat if self.location else None,
            "lon": self.location.lon if self.location else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionRequest:
        try:
            lat, lon = data.get("lat"), data.get("lon")
            if (lat is None) != (lon is None):
                raise RequestError("give both lat and lon, or neither")
            needed = data.get("needed_by")
            return cls(
                id=str(data["id"]),
                kind=str(data["kind"]),
                originator=str(data["originator"]),
                subject=str(data["subject"]),
                marking=str(data["marking"]),
                submitted_at=parse_instant(data["submitted_at"], "submitted_at"),
                needed_by=parse_instant(needed, "needed_by") if needed is not None else None,
                urgency=Urgency(data.get("urgency", Urgency.ROUTINE.value)),
                location=Location(float(lat), float(lon))
                if lat is not None and lon is not None
                else None,
            )
        except KeyError as exc:
            raise RequestError(f"request is missing field {exc.args[0]!r}") from exc
        except ValueError as exc:
            if isinstance(exc, RequestError):
                raise
            raise RequestError(str(exc)) from exc


def parse_instant(value: object, what: str) -> datetime:
    """An ISO 8601 string (or datetime) with an offset; "Z" accepted."""
    if isinstance(value, datetime):
        return require_aware(value, what)
    if not isinstance(value, str):
        raise RequestError(f"{what} must be an ISO 8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RequestError(f"{what} is not an ISO 8601 date-time: {value!r}") from exc
    try:
        return require_aware(parsed, what)
    except ValueError as exc:
        raise RequestError(str(exc)) from exc


class State(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    COORDINATION = "coordination"
    APPROVED = "approved"
    DENIED = "denied"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"

    @property
    def terminal(self) -> bool:
        return self in (State.APPROVED, State.DENIED, State.RETURNED, State.WITHDRAWN)


class Action(StrEnum):
    FORWARD = "forward"
    APPROVE = "approve"
    DENY = "deny"
    RETURN = "return"
    CONCUR = "concur"
    NONCONCUR = "nonconcur"
    COMMENT = "comment"
    ESCALATE = "escalate"
    WITHDRAW = "withdraw"


@dataclass(frozen=True, slots=True)
class Step:
    """One audit-trail entry: who did what, when, and where the request went."""

    seq: int
    at: datetime
    actor: str  # organisation id, or "system" for deadlines
    action: str  # an Action value, or "submit", "route", "overdue"
    from_state: State | None
    to_state: State
    holders: tuple[str, ...]  # who holds it after this step
    reason: str = ""
    detail: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "from_state": self.from_state.value if self.from_state else None,
            "to_state": self.to_state.value,
            "holders": list(self.holders),
            "reason": self.reason,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            seq=int(data["seq"]),
            at=parse_instant(data["at"], "step time"),
            actor=str(data["actor"]),
            action=str(data["action"]),
            from_state=State(data["from_state"]) if data.get("from_state") else None,
            to_state=State(data["to_state"]),
            holders=tuple(data.get("holders", ())),
            reason=str(data.get("reason", "")),
            detail={str(k): str(v) for k, v in data.get("detail", {}).items()},
        )


@dataclass(frozen=True, slots=True)
class Accepted:
    steps: tuple[Step, ...]
    ok: bool = True


@dataclass(frozen=True, slots=True)
class Refused:
    request_id: str
    actor: str
    action: str
    reason: str
    ok: bool = False


Outcome = Accepted | Refused
