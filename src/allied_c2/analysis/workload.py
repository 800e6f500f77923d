"""What the simulated staff are asked to decide, and how long their work takes.

A workload (YAML) gives, per request kind, a Poisson arrival rate, who originates
such requests, how soon they are needed, the urgent share and the decision
probabilities; and lognormal distributions for transmission and staff work. It
never names a structure, so one workload drives every structure compared.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

DEFAULT_WORKLOAD = Path(__file__).with_name("default-workload.yaml")
ROLES = ("review", "decide", "concur", "answer")
_DEFAULT_PROCESSING = {
    "review": {"median": 2.0, "sigma": 0.7},  # an intermediate staff reviews and forwards
    "decide": {"median": 4.0, "sigma": 0.8},  # the deciding staff prepares the decision
    "concur": {"median": 3.0, "sigma": 0.8},  # the counterpart staff works its concurrence
    "answer": {"median": 1.5, "sigma": 0.7},  # the decider's staff answers a question
}


class WorkloadError(ValueError):
    """The workload file is malformed; the message names the field."""


@dataclass(frozen=True, slots=True)
class Lognormal:
    """A lognormal distribution given by its median (hours) and shape sigma."""

    median: float
    sigma: float

    def sample(self, rng: random.Random) -> float:
        return self.median * math.exp(self.sigma * rng.gauss(0.0, 1.0))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's product of uniforms; few draws for small means)."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass(frozen=True, slots=True)
class Originators:
    """Who originates a kind: explicit ids, or every organisation of these nations and
    organisation kinds that the structure can route the request for."""

    ids: tuple[str, ...] = ()
    nations: tuple[str, ...] = ()
    org_kinds: tuple[str, ...] = ("unit", "component")


@dataclass(frozen=True, slots=True)
class KindLoad:
    kind: str
    per_day: float
    needed_by_hours: float = 72.0
    urgent_share: float = 0.0
    approve: float = 0.85
    deny: float = 0.1  # the rest of the decisions are returned for rework
    concur: float = 0.95
    silent_share: float = 0.03  # a holder that never acts: its deadline escalates it
    coordination_rounds: float = 1.0  # mean questions a counterpart asks before it concurs
    originators: Originators = field(default_factory=Originators)
    processing: Mapping[str, Lognormal] = field(default_factory=dict)  # overrides per role


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    start: datetime
    days: float
    transmission: Lognormal
    processing: Mapping[str, Lognormal]
    kinds: tuple[KindLoad, ...]
    description: str = ""

    def processing_for(self, load: KindLoad, role: str) -> Lognormal:
        return load.processing.get(role) or self.processing[role]


def load_workload(path: Path | None = None) -> Workload:
    """Read a workload file (the shipped default when ``path`` is None)."""
    path = path or DEFAULT_WORKLOAD
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise WorkloadError(f"{path}: {exc}") from exc
    try:
        return parse_workload(data)
    except WorkloadError as exc:
        raise WorkloadError(f"{path}: {exc}") from exc


def parse_workload(data: object) -> Workload:
    if not isinstance(data, Mapping):
        raise WorkloadError("a workload is a mapping with name, start, days and kinds")
    kinds_raw = data.get("kinds")
    if not isinstance(kinds_raw, Mapping) or not kinds_raw:
        raise WorkloadError("kinds: give at least one request kind with its per_day rate")
    processing_raw = data.get("processing_hours") or {}
    if not isinstance(processing_raw, Mapping):
        raise WorkloadError("processing_hours: expected a mapping of role to median and sigma")
    unknown = set(processing_raw) - set(ROLES)
    if unknown:
        raise WorkloadError(f"processing_hours: unknown roles {sorted(unknown)}")
    processing = {
        role: _lognormal(
            processing_raw.get(role, _DEFAULT_PROCESSING[role]), f"processing_hours.{role}"
        )
        for role in ROLES
    }
    return Workload(
        name=str(data.get("name", "workload")),
        description=str(data.get("description", "")),
        start=_start(data.get("start", "2025-11-03T00:00:00Z")),
        days=_number(data.get("days", 28), "days", minimum=0.01),
        transmission=_lognormal(
            data.get("transmission_hours", {"median": 0.25, "sigma": 0.8}), "transmission_hours"
        ),
        processing=processing,
        kinds=tuple(_kind(str(k), v) for k, v in kinds_raw.items()),
    )


def _kind(kind: str, raw: object) -> KindLoad:
    where = f"kinds.{kind}"
    if not isinstance(raw, Mapping):
        raise WorkloadError(f"{where}: expected a mapping")
    approve = _number(raw.get("approve", 0.85), f"{where}.approve", maximum=1)
    deny = _number(raw.get("deny", 0.1), f"{where}.deny", maximum=1)
    if approve + deny > 1 + 1e-9:
        raise WorkloadError(f"{where}: approve + deny must not exceed 1")
    orig = raw.get("originators") or {}
    if not isinstance(orig, Mapping):
        raise WorkloadError(f"{where}.originators: expected a mapping (ids, nations, org_kinds)")
    proc_raw = raw.get("processing_hours") or {}
    unknown = set(proc_raw) - set(ROLES)
    if unknown:
        raise WorkloadError(f"{where}.processing_hours: unknown roles {sorted(unknown)}")
    return KindLoad(
        kind=kind,
        per_day=_number(raw.get("per_day"), f"{where}.per_day"),
        needed_by_hours=_number(raw.get("needed_by_hours", 72), f"{where}.needed_by_hours"),
        urgent_share=_number(raw.get("urgent_share", 0), f"{where}.urgent_share", maximum=1),
        approve=approve,
        deny=deny,
        concur=_number(raw.get("concur", 0.95), f"{where}.concur", maximum=1),
        silent_share=_number(raw.get("silent_share", 0.03), f"{where}.silent_share", maximum=1),
        coordination_rounds=_number(
            raw.get("coordination_rounds", 1.0), f"{where}.coordination_rounds", maximum=20
        ),
        originators=Originators(
            ids=tuple(str(i) for i in orig.get("ids", ())),
            nations=tuple(str(n) for n in orig.get("nations", ())),
            org_kinds=tuple(str(k) for k in orig.get("org_kinds", ("unit", "component"))),
        ),
        processing={
            role: _lognormal(spec, f"{where}.processing_hours.{role}")
            for role, spec in proc_raw.items()
        },
    )


def _lognormal(raw: object, where: str) -> Lognormal:
    if not isinstance(raw, Mapping):
        raise WorkloadError(f"{where}: give median and sigma (hours)")
    return Lognormal(
        _number(raw.get("median"), f"{where}.median", minimum=1e-6),
        _number(raw.get("sigma", 0.5), f"{where}.sigma"),
    )


def _number(value: object, where: str, minimum: float = 0.0, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WorkloadError(f"{where}: expected a number, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise WorkloadError(f"{where}: must be >= {minimum}{upper}, got {value}")
    return float(value)


def _start(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise WorkloadError(f"start: not an ISO 8601 date-time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise WorkloadError("start: give a time zone (e.g. 2025-11-03T00:00:00Z)")
    return parsed.astimezone(UTC)


def to_data(workload: Workload) -> dict[str, Any]:
    """The workload as plain data (recorded in summary.json metadata)."""

    def ln(d: Lognormal) -> dict[str, float]:
        return {"median": d.median, "sigma": d.sigma}

    return {
        "name": workload.name,
        "start": workload.start.isoformat(),
        "days": workload.days,
        "transmission_hours": ln(workload.transmission),
        "processing_hours": {r: ln(d) for r, d in workload.processing.items()},
        "kinds": {
            k.kind: {
                "per_day": k.per_day,
                "needed_by_hours": k.needed_by_hours,
                "urgent_share": k.urgent_share,
                "approve": k.approve,
                "deny": k.deny,
                "concur": k.concur,
                "silent_share": k.silent_share,
                "coordination_rounds": k.coordination_rounds,
                "originators": {
                    "ids": list(k.originators.ids),
                    "nations": list(k.originators.nations),
                    "org_kinds": list(k.originators.org_kinds),
                },
                "processing_hours": {r: ln(d) for r, d in k.processing.items()},
            }
            for k in workload.kinds
        },
    }
