"""The composition root: the one place that wires the packages into a server.

Domain packages (``cot``, ``security``, ``alliance``) know nothing of each
other's storage or transport; this module builds the store, the security
policy, the relay, the alliance services and the web API from a
:class:`~allied_c2.config.Config`, starts them in one event loop and stops
them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from allied_c2.alliance.clock import Clock, UTCClock
from allied_c2.alliance.model import Structure
from allied_c2.alliance.scenario import load_structure
from allied_c2.config import Config
from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmlcodec import parse_xml
from allied_c2.security.markings import Marking, MarkingError, marking_from_cot, parse_banner
from allied_c2.security.policy import SecurityPolicy, load_policy
from allied_c2.security.principals import Principal
from allied_c2.server.alliance_context import AllianceContext
from allied_c2.server.decisions import DecisionService
from allied_c2.server.directory import Directory
from allied_c2.server.hub import Hub
from allied_c2.server.readiness import ReadinessService
from allied_c2.server.service import CotService
from allied_c2.server.structure import StructureReleases
from allied_c2.store.audit import AuditLog
from allied_c2.store.db import create_engine_for, migrate_out_of_process, schema_is_current
from allied_c2.store.events import EventReader, EventRecord, EventWriter
from allied_c2.store.principals import PrincipalStore
from allied_c2.store.readiness import ReadinessStore
from allied_c2.store.requests import RequestStore

log = logging.getLogger("allied_c2")


class AuditQueue:
    """Audit appends happen off the event loop, one at a time, in arrival order."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit")
        self.failed = 0

    def __call__(self, actor: str, action: str, subject: str, detail: dict[str, object]) -> None:
        self._executor.submit(self._append, actor, action, subject, detail)

    def _append(self, actor: str, action: str, subject: str, detail: dict[str, object]) -> None:
        try:
            self.audit.append(actor, action, subject, detail)
        except Exception:
            self.failed += 1
            log.exception("audit append failed: %s %s %s", actor, action, subject)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


@dataclass
class Runtime:
    """Everything a running server is made of; built by :func:`build_runtime`."""

    config: Config
    policy: SecurityPolicy
    hub: Hub
    service: CotService
    directory: Directory
    writer: EventWriter
    reader: EventReader
    principals: PrincipalStore
    audit_log: AuditLog
    audit: AuditQueue
    live_views: set[Any] = field(default_factory=set)  # web streams for request/readiness news
    endpoints: dict[str, str] = field(default_factory=dict)
    # -- alliance services (issue 4): the loaded structure, requests, readiness --
    structure: Structure | None = None
    structure_releases: StructureReleases | None = None
    decisions: DecisionService | None = None
    readiness: ReadinessService | None = None

    def record_event(
        self, event: CotEvent, marking: Marking, sender: Principal, now: datetime
    ) -> None:
        # Positional, in EventRecord's field order (BatchInsert.ORDER pins that order,
        # test_record_event each value): binding seventeen keywords costs about a
        # microsecond here, once per event on the relay's core.
        self.writer.submit(
            EventRecord(
                event.uid,
                event.type,
                event.how,
                event.time,
                event.start,
                event.stale,
                event.lat,
                event.lon,
                event.hae,
                event.access,
                event.caveat,
                event.releasable_to,
                marking.banner(),
                marking.originator,
                sender.callsign,
                now,
                event.xml_wire,
            )
        )

    def restore_picture(self) -> int:
        """Bring back the picture from history (the latest non-stale item per uid)."""
        now = datetime.now(UTC)
        entries: list[tuple[CotEvent, Marking, str | None]] = []
        for row in self.reader.latest_per_uid(now):
            try:
                event = parse_xml(row.xml, max_bytes=self.config.max_event_bytes)
                marking = marking_from_cot(
                    event.access,
                    event.caveat,
                    event.releasable_to,
                    self.policy,
                    default=self.hub.default_marking,
                ).with_originator(row.originator)
            except (CotError, MarkingError) as exc:
                log.warning("history row for %s not restored: %s", row.uid, exc)
                continue
            entries.append((event, marking, row.sender))
        return self.hub.restore(entries)


def tls_context_for(config: Config) -> ssl.SSLContext:
    """The TLS listeners' context; a first start creates the server's CA (as `ca init` would)."""
    from allied_c2.pki.authority import PkiPaths, init_ca
    from allied_c2.pki.tls import server_ssl_context

    if not PkiPaths.under(config.data_dir).ca_exists():
        paths = init_ca(config.data_dir)
        log.info("created the server CA and certificate in %s", paths.directory)
    return server_ssl_context(config.data_dir)


def build_runtime(config: Config, clock: Clock | None = None) -> Runtime:
    """``clock`` drives request deadlines and readiness staleness (default: wall clock)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(config.effective_database_url)
    if not schema_is_current(engine):
        migrate_out_of_process(config.effective_database_url)
    policy = load_policy(config.security_policy)
    default_marking = (
        parse_banner(config.default_marking, policy)
        if config.default_marking
        else policy.default_marking
    )
    principals = PrincipalStore(engine)
    audit_log = AuditLog(engine, config.data_dir / "audit.anchor")
    audit = AuditQueue(audit_log)
    writer = EventWriter(
        engine,
        flush_interval=config.store_flush_interval,
        max_batch=config.store_flush_max_events,
    )
    reader = EventReader(engine)
    anon = config.anonymous
    anonymous = Principal(
        callsign=anon.callsign,
        nation=anon.nation,
        clearance=anon.clearance,
        cois=frozenset(anon.cois),
        roles=frozenset({"viewer"}),
    )
    directory = Directory(principals, anonymous)
    runtime_ref: list[Runtime] = []

    def history(event: CotEvent, marking: Marking, sender: Principal, now: datetime) -> None:
        runtime_ref[0].record_event(event, marking, sender, now)

    hub = Hub(
        policy, default_marking, history=history, audit=audit, stamp_markings=config.stamp_markings
    )
    tls = (
        tls_context_for(config)
        if (config.cot_tls is not None or config.https is not None)
        else None
    )
    service = CotService(
        config, hub, directory, tls_context=tls, history_backlog=lambda: writer.backlog
    )
    runtime = Runtime(
        config=config,
        policy=policy,
        hub=hub,
        service=service,
        directory=directory,
        writer=writer,
        reader=reader,
        principals=principals,
        audit_log=audit_log,
        audit=audit,
    )
    runtime_ref.append(runtime)
    _build_alliance(runtime, engine, clock)
    return runtime


def _build_alliance(runtime: Runtime, engine: Any, clock: Clock | None) -> None:
    """The scenario's structure and the request and readiness services built on it."""
    config = runtime.config
    if config.scenario is not None:
        runtime.structure = load_structure(config.scenario)
        runtime.structure_releases = StructureReleases(runtime.structure, runtime.policy)
        log.info(
            "command structure %s loaded from %s (%d organisations)",
            runtime.structure.name,
            config.scenario,
            len(runtime.structure.organisations),
        )
    context = AllianceContext(
        structure=runtime.structure,
        hub=runtime.hub,
        policy=runtime.policy,
        audit=runtime.audit,
        clock=clock or UTCClock(),
        releases=runtime.structure_releases,
    )
    runtime.decisions = DecisionService(context, RequestStore(engine))
    runtime.readiness = ReadinessService(context, ReadinessStore(engine))


async def run_runtime(runtime: Runtime, stop: asyncio.Event) -> None:
    """Start every listener, write ``endpoints.json``, run until ``stop`` is set."""
    config = runtime.config
    restored = runtime.restore_picture()
    if restored:
        log.info("picture restored from history: %d items", restored)
    runtime.endpoints = await runtime.service.start()
    if runtime.decisions is not None:
        await runtime.decisions.start()  # reload requests, re-arm deadlines, re-mark
    http_servers = None
    if config.http is not None or config.https is not None:
        # The web stack (FastAPI, pydantic, uvicorn: about 18 MB) loads only when it
        # serves; a relay-only node started with --http off --https off does without.
        from allied_c2.web.serving import start_http

        http_servers = await start_http(runtime)
        runtime.endpoints.update(http_servers.addresses)
    write_endpoints(config.data_dir, runtime.endpoints)
    # What start-up built (modules, models, the scenario) lives as long as the
    # process: keep it out of every later garbage collection.
    gc.collect()
    gc.freeze()
    for name, address in sorted(runtime.endpoints.items()):
        log.info("listening: %s on %s", name, address)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        if http_servers is not None:
            await http_servers.stop()
        await runtime.service.stop()
        if runtime.decisions is not None:
            runtime.decisions.stop()
        await asyncio.to_thread(runtime.writer.close)
        runtime.audit.close()
        with contextlib.suppress(FileNotFoundError):
            (config.data_dir / "endpoints.json").unlink()


def write_endpoints(data_dir: Path, endpoints: dict[str, str]) -> None:
    path = data_dir / "endpoints.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**endpoints, "pid": os.getpid()}, indent=2) + "\n")
    tmp.replace(path)
