"""`allied-c2 demo --federated`: three national servers federated through their guards.

USA, JPN and PHL each get their own server: data dir (``ROOT/usa`` …), CA,
federation certificate, listeners on free loopback ports, users (that nation's
staff of the single-server demo, its track feed and an admin) and simulated
forces (that nation's tracks only). The servers run in this one process and
event loop, each built and run exactly as ``allied-c2 serve`` builds it. Once
they listen, each administrator's ``federate add`` is done for them: every
server registers the other two (nation, accreditation, certificates, and the
organisations of the scenario each one holds, for requests and readiness
across servers); USA dials JPN, JPN dials PHL and PHL dials USA, so every pair
has one link. The staff then work as in the single-server demo, each person
on their own nation's server: a request filed in Manila that needs US and
Japanese concurrence is concurred on the US and JPN servers (federation/alliance.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from allied_c2.alliance.model import Structure
from allied_c2.alliance.scenario import load_structure
from allied_c2.config import Config, Endpoint
from allied_c2.demo.datadir import prepare
from allied_c2.demo.motion import Track
from allied_c2.demo.principals import FEEDS, STAFF, DemoUser, Issued, provision
from allied_c2.demo.routes import demo_tracks
from allied_c2.demo.runner import (
    _address,
    _install_signal_handlers,
    _stop_clients,
    _wait_ready,
    write_demo_file,
)
from allied_c2.demo.simulator import SimClock, build_feeds, run_feeds
from allied_c2.demo.staff import REQUESTS_PATH, Staff, _detail
from allied_c2.demo.staffwork import Step
from allied_c2.logs import setup_logging

log = logging.getLogger("allied_c2.demo")

NATIONS = ("USA", "JPN", "PHL")
# Each network's accreditation, as its peers register it (the demo users' highest level).
ACCREDITATION = {"USA": "SECRET", "JPN": "SECRET", "PHL": "CONFIDENTIAL"}
DIALS = {"USA": "JPN", "JPN": "PHL", "PHL": "USA"}  # one link per pair
LOOPBACK = "127.0.0.1"


def server_name(nation: str) -> str:
    return f"{nation}-SRV"


def national_users(nation: str) -> tuple[DemoUser, ...]:
    clearance = ACCREDITATION[nation]
    admin = DemoUser(f"{nation}-ADMIN", nation, clearance, ("admin",), None, "Server administrator")
    return (*(u for u in STAFF + FEEDS if u.nation == nation), admin)


def national_config(base: Config, root: Path, nation: str) -> Config:
    free = Endpoint(LOOPBACK, 0)
    return replace(
        base,
        data_dir=root / nation.lower(),
        database_url=None,
        cot_tcp=free,
        cot_tls=free,
        http=free,
        https=None,
        enroll=None,
        metrics=None,
        federation=free,
        federation_nation=nation,
    )


@dataclass(slots=True)
class Server:
    nation: str
    config: Config
    issued: list[Issued]
    endpoints: dict[str, str]

    @property
    def name(self) -> str:
        return server_name(self.nation)

    @property
    def url(self) -> str:
        host, port = _address(self.endpoints["http"])
        return f"http://{host}:{port}"


def organisations_file(structure: Structure, nation: str) -> str:
    """The federate configuration naming the organisations ``nation``'s server holds."""
    orgs = sorted(o.id for o in structure.organisations.values() if o.nation == nation)
    return "organisations = [" + ", ".join(f'"{o}"' for o in orgs) + "]\n"


def register_federates(servers: dict[str, Server], structure: Structure) -> None:
    """What each administrator's ``allied-c2 federate add`` does, for the two peers."""
    from allied_c2.cli.federate import attributes
    from allied_c2.federation.certs import load_identity
    from allied_c2.federation.identity import certificate_facts, load_certificate
    from allied_c2.store.audit import AuditLog
    from allied_c2.store.db import opened_database
    from allied_c2.store.federates import FederateRecord, FederateStore

    identities = {n: load_identity(s.config.data_dir) for n, s in servers.items()}
    for nation, server in servers.items():
        with opened_database(server.config) as engine:
            store = FederateStore(engine)
            audit = AuditLog(engine, server.config.data_dir / "audit.anchor")
            for peer, identity in identities.items():
                if peer == nation:
                    continue
                cert = identity.cert_pem.decode("ascii")
                record = FederateRecord(
                    name=server_name(peer),
                    nation=peer,
                    clearance=ACCREDITATION[peer],
                    fingerprint=certificate_facts(load_certificate(identity.cert_pem)).fingerprint,
                    peer_cert=cert,
                    peer_ca=identity.ca_pem.decode("ascii"),
                    connect=servers[peer].endpoints["federation"]
                    if DIALS[nation] == peer
                    else None,
                    rules=organisations_file(structure, peer),
                    rules_name="organisations.toml",
                )
                store.add(record)
                audit.append("demo", "federate.add", record.name, attributes(record))


class FederatedStaff(Staff):
    """The single-server demo's staff, each person on their own nation's server.

    A request is filed on its filer's server (its home); someone on another
    server acts on that server's mirror of it, ``ID@HOME-SRV``.
    """

    def __init__(self, servers: dict[str, Server]) -> None:
        tokens = {i.user.callsign: i.token for s in servers.values() for i in s.issued}
        super().__init__("", tokens)
        self.servers = servers
        self.server_of = {i.user.callsign: s for s in servers.values() for i in s.issued}
        self.home: dict[int, Server] = {}

    async def _perform(self, client: httpx.AsyncClient, step: Step) -> None:
        if step.what == "report" and step.report is not None:
            report = step.report
            body = report.body(datetime.now(UTC))
            if await self._send(client, report.by, "/api/v1/readiness", body) is not None:
                self.results.reports += 1
            return
        assert step.request is not None
        plan = self.requests[step.request]
        if step.what == "file":
            created = await self._send(client, plan.by, REQUESTS_PATH, plan.body(datetime.now(UTC)))
            if created is not None and "id" in created:
                self.results.filed[step.request] = str(created["id"])
                self.home[step.request] = self.server_of[plan.by]
                log.info("%s filed %s on %s", plan.by, created["id"], self.server_of[plan.by].name)
            return
        rid, action = self.results.filed.get(step.request), step.action
        if rid is None or action is None:
            return
        home = self.home[step.request]
        if self.server_of[action.by] is not home:
            rid = f"{rid}@{home.name}"  # that server's mirror of the request
        body = {"action": action.action, "reason": action.reason}
        if await self._send(client, action.by, f"{REQUESTS_PATH}/{rid}/actions", body):
            self.results.actions += 1
            log.info("%s: %s %s", action.by, action.action, rid)

    async def _send(
        self, client: httpx.AsyncClient, callsign: str, path: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        server = self.server_of.get(callsign)
        if server is None:
            return None
        headers = {"Authorization": f"Bearer {self.tokens[callsign]}"}
        response = await client.post(server.url + path, json=body, headers=headers)
        if response.is_success:
            data = response.json()
            return data if isinstance(data, dict) else {}
        detail = _detail(response)
        self.results.refused.append(f"{callsign} POST {path}: {response.status_code} {detail}")
        log.warning("%s POST %s refused: %s %s", callsign, path, response.status_code, detail)
        return None


def run_federated(base: Config, speed: float, seconds: float | None) -> None:
    """Prepare ``base.data_dir`` (wiped if a previous demo made it) and run until stopped."""
    setup_logging(base.log_level, base.log_json)
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Three servers log into one terminal; each guard denial (NOFORN tracks every few
    # seconds) would bury the rest. The links' counters are in GET /api/v1/federation.
    logging.getLogger("allied_c2.federation").setLevel(logging.ERROR)
    if base.scenario is None:
        raise ValueError("the demo needs a scenario (Config.scenario)")
    root = prepare(base.data_dir)
    structure = load_structure(base.scenario)
    from allied_c2.federation.setup import ensure_identity

    servers: dict[str, Server] = {}
    for nation in NATIONS:
        config = national_config(base, root, nation)
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        issued = provision(config, structure, national_users(nation))
        ensure_identity(config)  # its federation certificate, from its own CA
        servers[nation] = Server(nation, config, issued, {})
    import uvloop

    uvloop.run(_run(servers, structure, demo_tracks(), speed, seconds))


async def _run(
    servers: dict[str, Server],
    structure: Structure,
    tracks: list[Track],
    speed: float,
    seconds: float | None,
) -> None:
    from allied_c2.app import build_runtime, run_runtime

    loop = asyncio.get_running_loop()
    demo_stop, server_stop = asyncio.Event(), asyncio.Event()
    _install_signal_handlers(loop, demo_stop)
    tasks = {
        n: asyncio.create_task(run_runtime(build_runtime(s.config), server_stop))
        for n, s in servers.items()
    }
    try:
        for nation, server in servers.items():
            server.endpoints = await _wait_ready(server.config.data_dir, tasks[nation])
            write_demo_file(server.config.data_dir, server.endpoints, server.issued)
        await asyncio.to_thread(register_federates, servers, structure)
        sys.stdout.write(banner(servers, speed, seconds))
        sys.stdout.flush()
        if seconds is not None:
            loop.call_later(seconds, demo_stop.set)
        feeds = []
        for server in servers.values():
            own = [t for t in tracks if t.nation == server.nation]
            bundles = {i.user.nation: i.bundle for i in server.issued if i.user.feed}
            host, port = _address(server.endpoints["cot_tls"])
            feeds += build_feeds(own, bundles, host, port, SimClock(speed, loop.time))
        staff = FederatedStaff(servers)
        clients = [
            asyncio.create_task(run_feeds(feeds, demo_stop)),
            asyncio.create_task(staff.run(demo_stop)),
        ]
        stop_wait = asyncio.create_task(demo_stop.wait())
        await asyncio.wait({stop_wait, *tasks.values()}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        demo_stop.set()
        await _stop_clients(clients)
        log.info(
            "federated demo stopping: %d position reports sent, %d requests filed, %d actions",
            sum(feed.sent for feed in feeds),
            len(staff.results.filed),
            staff.results.actions,
        )
    finally:
        server_stop.set()
        for task in tasks.values():
            with contextlib.suppress(Exception):
                await task


def banner(servers: dict[str, Server], speed: float, seconds: float | None) -> str:
    lines = ["", "allied-c2 federated demo: three national servers on loopback", ""]
    for server in servers.values():
        peers = ", ".join(server_name(n) for n in servers if n != server.nation)
        lines.append(f"{server.name} ({server.nation})  web COP: {server.url}/")
        lines.append(f"  data dir {server.config.data_dir}, CoT TLS {server.endpoints['cot_tls']}")
        lines.append(f"  federation {server.endpoints['federation']}, federated with {peers}")
        for issued in server.issued:
            user = issued.user
            if not user.feed:
                lines.append(f"  {user.callsign:<15} {user.clearance:<13} {issued.token}")
        lines.append("")
    lines.append(
        f"Sign in to the JPN COP with a JPN token: JPN tracks and what the US and PHL servers "
        f"released to Japan. Links: GET /api/v1/federation with an admin token. "
        f"Simulation speed x{speed:g}."
        + (f" Stops after {seconds:g} s." if seconds is not None else " Ctrl+C stops it.")
    )
    return "\n".join(lines) + "\n"
