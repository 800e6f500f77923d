"""Why a piece of CoT input was refused.

Every refusal carries a short, stable ``reason`` code: the server counts
refusals by it (a Prometheus label) and logs it with the peer, so the set of
codes is kept small and documented here rather than invented at call sites.
"""

from __future__ import annotations

REASONS: dict[str, str] = {
    "too_large": "the event exceeds the configured size limit",
    "dtd_forbidden": "a DOCTYPE or ENTITY declaration (refused without expansion)",
    "bad_encoding": "an encoding other than UTF-8",
    "malformed_xml": "not well-formed XML",
    "not_an_event": "the root element is not <event>",
    "missing_uid": "no uid attribute",
    "bad_uid": "uid too long or containing control characters",
    "bad_type": "type is not a CoT type",
    "bad_time": "time, start or stale missing, not ISO 8601, or out of range",
    "missing_point": "no <point> element",
    "bad_coordinates": "latitude, longitude or another point value out of range",
    "malformed_proto": "not a valid TAK protocol v1 message",
}


class CotError(ValueError):
    """Refused CoT input; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        self.message = message or REASONS.get(reason, reason)
        super().__init__(f"{reason}: {self.message}")
