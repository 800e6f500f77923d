"""Federation on the HTTP API: the links (admin) and the federated contacts.

``GET /api/v1/federation`` (the ``admin`` role): this server's federation
identity and, per link, its state, peer, last seen, items in and out, guard
refusals by reason, sanitised copies by rule, the backlog with what its
bound dropped and the organisations its server holds; and the requests and
readiness messages sent and received (``alliance``, by kind).
``GET /api/v1/federation/contacts``: the contacts federated
servers told us about, as far as the caller may know of them (a contact is as
sensitive as the most restrictive item it sent: fail closed).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from allied_c2.security.audience import Reader
from allied_c2.web.auth import CurrentPrincipal, runtime_of
from allied_c2.web.health import require_admin

router = APIRouter(prefix="/api/v1/federation")


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@router.get("")
async def federation(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    # async: it reads the links' counters on the event loop that changes them
    require_admin(request, principal)
    service = runtime_of(request).federation
    if service is None:
        return {"enabled": False, "links": []}
    # Here, not at the top: federation.identity loads `cryptography` (with PyJWT about
    # 9 MB resident, docs/benchmarks.md), and a server with federation has it loaded.
    from allied_c2.federation.identity import tak_fingerprint

    links = []
    for member in service.members.values():
        link, record = member.link, member.record
        backlog = link.backlog
        links.append(
            {
                "name": record.name,
                "peer": {
                    "nation": record.nation,
                    "clearance": record.clearance,
                    "cois": sorted(record.cois),
                    "fingerprint": tak_fingerprint(record.fingerprint),
                    "address": link.peer_address,
                },
                "direction": "dial" if record.connect else "listen",
                "connect": record.connect,
                "state": link.state.value,
                "state_since": _time(link.stats.state_since),
                "last_seen": _time(link.stats.last_seen),
                "last_error": link.stats.last_error,
                "items_in": link.stats.items_in,
                "items_out": link.stats.items_out,
                "catch_up_out": link.stats.catch_up_out,
                "resent": link.stats.resent,
                "connects": link.stats.connects,
                "refusals": dict(link.stats.denied),
                "refused_in": dict(link.stats.refused_in),
                "discarded_in": dict(link.stats.discarded_in),
                "sanitised": dict(link.stats.sanitised),
                "backlog": {
                    "items": len(backlog),
                    "limit": backlog.limit,
                    "dropped_positions": backlog.dropped.positions,
                    "dropped_other": backlog.dropped.others,
                },
                "cursor": _time(link.cursor),
                "rules": {
                    "file": record.rules_name,
                    "count": len(link.peer.rules.rules),
                    "sha256": link.peer.rules.digest,
                },
                "contacts": len(link.contacts),
                "organisations": sorted(link.peer.rules.organisations),
            }
        )
    identity = service.identity
    return {
        "enabled": True,
        "server": {
            "name": identity.server_name,
            "id": tak_fingerprint(identity.server_id),
            "listening": service.address,
            "nation": service.config.federation_nation,
        },
        "links": links,
        "alliance": {  # requests and readiness across servers (federation/alliance.py)
            "sent": dict(relay.sent) if (relay := service.relay) is not None else {},
            "received": dict(relay.received) if relay is not None else {},
        },
    }


def federated_end_points(runtime: Any, reader: Reader) -> list[dict[str, Any]]:
    """The federated contacts ``reader`` may know of, as Marti ``ClientEndpoint`` entries
    (the shape of ``/Marti/api/clientEndPoints`` and ``/Marti/api/contacts/all``);
    ``username`` names the federate they came from."""
    service = getattr(runtime, "federation", None)
    if service is None:
        return []
    return [
        {
            "callsign": c.callsign,
            "uid": c.uid,
            "username": f"fed:{c.federate}",
            "lastEventTime": c.seen_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "lastStatus": "Connected",
        }
        for c in service.visible_contacts(reader)
    ]


@router.get("/contacts")
async def contacts(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    runtime = runtime_of(request)
    service = runtime.federation
    if service is None:
        return {"contacts": []}
    reader = runtime.hub.reader_for(principal)
    return {
        "contacts": [
            {
                "federate": c.federate,
                "uid": c.uid,
                "callsign": c.callsign,
                "lastSeen": _time(c.seen_at),
            }
            for c in service.visible_contacts(reader)
        ]
    }
