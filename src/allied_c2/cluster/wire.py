"""What one accepted event looks like on the cluster's stream (pure, no I/O).

A message is one JSON line (who sent it, from which node, its marking), one JSON
line of the history row's fields (read by the history writer only), then the
event's XML exactly as the accepting node relays it.
The receiving node parses the XML itself and decides every audience itself:
nothing here says who may see the event, only where it came from.

Subjects carry the marking's class (``PREFIX.ev.r<rank>.<scope>``) so a node
or an operator can subscribe to a part of the stream (docs/scaling.md); the
release decision stays with the node that delivers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allied_c2.cot.event import CotEvent
from allied_c2.security.audience import Origin
from allied_c2.security.groups import DEFAULT_GROUPS
from allied_c2.security.markings import Marking
from allied_c2.security.principals import Principal

FORMAT = 1


class WireError(ValueError):
    """A stream message that is not one of ours (or of a newer format)."""


def token(text: str) -> str:
    """A NATS subject token: no dots, wildcards or spaces."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
    return cleaned or "_"


def scope_of(marking: Marking) -> str:
    """The marking's releasability class: who could possibly receive it."""
    if "NOFORN" in marking.dissem:
        return f"noforn.{token(marking.originator or 'none')}"
    if marking.rel_to_expanded or marking.rel_to:
        return "rel"
    if marking.dissem or marking.sci or marking.sap or marking.cois or marking.controlled:
        return "ctl"
    return "any"


def subject_for(prefix: str, marking: Marking) -> str:
    """``PREFIX.ev.r<rank>.<scope>``: the stream subject of an event with ``marking``."""
    return f"{prefix}.ev.r{marking.rank}.{scope_of(marking)}"


def events_subject(prefix: str) -> str:
    return f"{prefix}.ev.>"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event as it crosses the cluster."""

    node: str  # the node that accepted it
    boot: str  # that node's process run (a restarted node is a new boot)
    sender: Principal
    origin: Origin  # without the node-local connection serial
    at: datetime  # when the accepting node took it in
    banner: str
    originator: str | None
    xml: bytes
    # The history row's event fields (uid, type, how, time, start, stale, lat, lon,
    # hae, access, caveat, releasable_to), so the history writer parses no XML; left
    # empty when decoded for relaying only.
    fields: tuple[Any, ...] = ()
    # Made by the accepting server itself (Hub.publish: a request marker), not sent by
    # a client: relayed as such, with the marking the server gave it.
    server_made: bool = False
    # Its number in the accepting run (0: not numbered); (boot, serial) names it.
    serial: int = 0


def _principal_json(principal: Principal) -> dict[str, Any]:
    return {
        "c": principal.callsign,
        "n": principal.nation,
        "l": principal.clearance,
        "i": sorted(principal.cois),
        "r": sorted(principal.roles),
        "o": principal.organisation,
    }


_PRINCIPALS: dict[tuple[Any, ...], Principal] = {}
_PRINCIPALS_MAX = 4096


def _principal(data: dict[str, Any]) -> Principal:
    """The sender, built once per distinct identity (the hub's caches key on it)."""
    key = (
        data["c"],
        data.get("n"),
        data.get("l"),
        tuple(data.get("i") or ()),
        tuple(data.get("r") or ()),
        data.get("o"),
    )
    principal = _PRINCIPALS.get(key)
    if principal is None:
        principal = Principal(
            callsign=str(data["c"]),
            nation=data.get("n"),
            clearance=str(data.get("l") or "UNCLASSIFIED"),
            cois=frozenset(key[3]),
            roles=frozenset(key[4]),
            organisation=data.get("o"),
        )
        if len(_PRINCIPALS) >= _PRINCIPALS_MAX:
            _PRINCIPALS.clear()
        _PRINCIPALS[key] = principal
    return principal


def own_prefix(node: str, boot: str) -> bytes:
    """How every message this process run publishes begins (to skip them unparsed)."""
    head = {"v": FORMAT, "node": node, "boot": boot}
    return json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()[:-1] + b","


def encode(
    node: str,
    boot: str,
    event: CotEvent,
    marking: Marking,
    origin: Origin,
    sender: Principal,
    at: datetime,
    *,
    serial: int = 0,
    server_made: bool = False,
) -> bytes:
    """The message for one accepted event (``serial``: its number in this run, as in
    its ``Nats-Msg-Id``, so a receiver can tell a copy)."""
    head: dict[str, Any] = {
        "v": FORMAT,
        "node": node,
        "boot": boot,
        "n": serial,
        "s": _principal_json(sender),
        "at": at.isoformat(),
        "b": marking.banner(),
        "on": marking.originator,
    }
    fields = [
        event.uid,
        event.type,
        event.how,
        event.time.isoformat(),
        event.start.isoformat(),
        event.stale.isoformat(),
        event.lat,
        event.lon,
        event.hae,
        event.access,
        event.caveat,
        event.releasable_to,
    ]
    if origin.principal is not None or origin.uid is not None:
        head["op"] = origin.principal
        head["ou"] = origin.uid
    if origin.groups != DEFAULT_GROUPS and not server_made:
        head["og"] = sorted(origin.groups)
    if server_made:
        head["pub"] = 1
    line = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()
    row = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
    return line + b"\n" + row + b"\n" + event.xml_wire


def _fields(values: list[Any]) -> tuple[Any, ...]:
    if not isinstance(values, list) or len(values) != 12:
        raise WireError("bad history fields")
    uid, type_, how, time, start, stale, lat, lon, hae, access, caveat, rel = values
    return (
        str(uid),
        str(type_),
        str(how),
        datetime.fromisoformat(time),
        datetime.fromisoformat(start),
        datetime.fromisoformat(stale),
        float(lat),
        float(lon),
        float(hae),
        access,
        caveat,
        rel,
    )


def decode(data: bytes, *, history: bool = True) -> Envelope:
    """Parse a message's head; the XML is left to the hardened parser. Without
    ``history`` the history row's fields are not read (a node relaying the event)."""
    line, sep, rest = data.partition(b"\n")
    row, sep2, xml = rest.partition(b"\n")
    if not sep or not sep2 or not xml:
        raise WireError("no event after the head")
    try:
        head = json.loads(line)
        if not isinstance(head, dict) or head.get("v") != FORMAT:
            raise WireError(f"unknown message format {head.get('v')!r}")
        groups = frozenset(head["og"]) if "og" in head else DEFAULT_GROUPS
        origin = Origin(head.get("op"), head.get("ou"), groups=groups)
        return Envelope(
            node=str(head["node"]),
            boot=str(head["boot"]),
            sender=_principal(head["s"]),
            origin=origin,
            at=datetime.fromisoformat(head["at"]),
            banner=str(head["b"]),
            originator=head.get("on"),
            xml=xml,
            fields=_fields(json.loads(row)) if history else (),
            server_made=bool(head.get("pub")),
            serial=int(head.get("n") or 0),
        )
    except WireError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise WireError(f"bad message head: {exc}") from None
