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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allied_c2.alliance.clock import Clock, UTCClock
from allied_c2.alliance.model import Structure
from allied_c2.alliance.scenario import load_structure
from allied_c2.config import AnonymousProfile, Config, ConfigError, make_data_dir
from allied_c2.cot.event import CotEvent
from allied_c2.federation.setup import build_federation
from allied_c2.memory import fix_mmap_threshold, trim_periodically
from allied_c2.security.levels import MarkingError
from allied_c2.security.markings import Marking, parse_banner
from allied_c2.security.policy import SecurityPolicy, load_policy
from allied_c2.security.principals import Principal
from allied_c2.server.alliance_context import AllianceContext
from allied_c2.server.decisions import DecisionService
from allied_c2.server.directory import Directory
from allied_c2.server.filestore import FileStore
from allied_c2.server.history_views import restored
from allied_c2.server.hub import Hub
from allied_c2.server.missions import MissionService, token_key
from allied_c2.server.packages import PackageService
from allied_c2.server.readiness import ReadinessService
from allied_c2.server.service import CotService
from allied_c2.server.structure import StructureReleases
from allied_c2.store.audit import AuditLog
from allied_c2.store.auditqueue import AuditQueue
from allied_c2.store.db import create_engine_for, migrate_out_of_process, schema_is_current
from allied_c2.store.events import EventReader, EventRecord, EventWriter
from allied_c2.store.groups import GroupStore
from allied_c2.store.missions import MissionStore
from allied_c2.store.packages import PackageStore
from allied_c2.store.principals import PrincipalStore
from allied_c2.store.readiness import ReadinessStore
from allied_c2.store.requests import RequestStore
from allied_c2.store.video import VideoStore

if TYPE_CHECKING:
    from allied_c2.cluster.node import ClusterNode
    from allied_c2.cluster.settings import ClusterSettings
    from allied_c2.federation.service import FederationService
    from allied_c2.server.enrollment import Enrollment

log = logging.getLogger("allied_c2")


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
    # -- federation (issue 11): links to peer servers through the guard, or None --
    federation: FederationService | None = None
    # -- the TAK ecosystem (issue 12): files and data packages as marked items --
    packages: PackageService | None = None
    missions: MissionService | None = None
    enrollment: Enrollment | None = None  # the --enroll listener's service, when on
    video: VideoStore | None = None  # stored video feed entries (/Marti/vcm)
    # -- scale-out (issue 13): this node of a cluster on NATS JetStream, or None --
    cluster: ClusterNode | None = None

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
        rows = self.reader.latest_per_uid(now)
        max_bytes = self.config.max_event_bytes
        entries = [item for row in rows if (item := restored(row, self.hub, max_bytes))]
        return self.hub.restore(entries)


def tls_context_for(config: Config) -> ssl.SSLContext:
    """The CoT TLS listener's context (pki/tls.py: the rules the HTTPS listener shares).

    A first start creates the server's CA, as `ca init` would: its key encrypted
    when ALLIED_C2_CA_PASSPHRASE is set. The server never loads the CA key itself.
    """
    from allied_c2.pki.paths import CA_PASSPHRASE_ENV, PkiPaths
    from allied_c2.pki.tls import server_ssl_context

    if not PkiPaths.under(config.data_dir).ca_exists():
        # Only a first start makes keys: pki.authority loads `cryptography` (with PyJWT
        # about 9 MB resident, docs/benchmarks.md), which a start with a CA never needs.
        from allied_c2.pki.authority import init_ca

        passphrase = os.environ.get(CA_PASSPHRASE_ENV)
        paths = init_ca(config.data_dir, passphrase=passphrase.encode() if passphrase else None)
        log.info("created the server CA and certificate in %s", paths.directory)
    return server_ssl_context(config.data_dir)


def security_settings(config: Config) -> tuple[SecurityPolicy, Marking]:
    """The security policy and the marking given to unmarked events."""
    policy = load_policy(config.security_policy)
    if config.default_marking:
        return policy, parse_banner(config.default_marking, policy)
    return policy, policy.default_marking


def offline_hub(config: Config, reader: EventReader) -> Hub:
    """A hub with no listeners, its picture restored: the audience of an operator CLI."""
    policy, default_marking = security_settings(config)
    hub = Hub(policy, default_marking)
    now = datetime.now(UTC)
    rows = reader.latest_per_uid(now)
    hub.restore([i for r in rows if (i := restored(r, hub, config.max_event_bytes))])
    return hub


def anonymous_principal(profile: AnonymousProfile, policy: SecurityPolicy) -> Principal:
    """The principal of every connection without an identity, refused if it is privileged.

    The release decision gives a principal without a nation public items only;
    config.py already refuses a nation, and here a clearance above UNCLASSIFIED
    (or a controlled one, CUI): an operator who wants more for a client issues it
    a certificate or a token, which are audited and revocable.
    """
    try:
        level = policy.clearance_level(profile.clearance, None)
    except MarkingError as exc:
        raise ConfigError(f"[anonymous] clearance: {exc}") from None
    if level.rank > 0 or level.controlled:
        raise ConfigError(
            f"[anonymous] clearance = {profile.clearance!r}: the anonymous profile may not be "
            "cleared above UNCLASSIFIED; issue the client a certificate or a token instead"
        )
    return Principal(
        callsign=profile.callsign,
        nation=None,
        clearance=profile.clearance,
        cois=frozenset(profile.cois),
        roles=frozenset({"viewer"}),
    )


def build_runtime(
    config: Config, clock: Clock | None = None, cluster: ClusterSettings | None = None
) -> Runtime:
    """``clock`` drives request deadlines and readiness staleness (default: wall clock).

    With ``cluster`` this process is one node of a cluster (docs/scaling.md): the
    database must be PostgreSQL, history is written from the stream (once per
    event, cluster/history.py) instead of by this node's hub.
    """
    make_data_dir(config.data_dir)  # 0700: database, CA key, client bundles
    if cluster is not None and config.effective_database_url.startswith("sqlite"):
        raise ConfigError("--cluster needs a shared PostgreSQL database (--database-url)")
    engine = create_engine_for(config.effective_database_url)
    if not schema_is_current(engine):
        migrate_out_of_process(config.effective_database_url)
    policy, default_marking = security_settings(config)
    anonymous = anonymous_principal(config.anonymous, policy)  # refused before anything starts
    principals = PrincipalStore(engine)
    audit_log = AuditLog(engine, config.data_dir / "audit.anchor")
    audit = AuditQueue(
        audit_log,
        max_pending=config.audit_queue_max,
        refusals_per_minute=config.audit_refusals_per_minute,
    )
    writer = EventWriter(
        engine,
        flush_interval=config.store_flush_interval,
        max_batch=config.store_flush_max_events,
        outage_buffer_bytes=config.store_outage_buffer_bytes,
        close_wait=config.store_close_wait,
    )
    reader = EventReader(engine)
    directory = Directory(principals, anonymous, GroupStore(engine))
    runtime_ref: list[Runtime] = []

    def history(event: CotEvent, marking: Marking, sender: Principal, now: datetime) -> None:
        runtime_ref[0].record_event(event, marking, sender, now)

    hub = Hub(
        policy,
        default_marking,
        history=history if cluster is None else None,
        audit=audit,
        stamp_markings=config.stamp_markings,
    )
    hub.identities.set_channels(directory.channels)  # TAK channels (security/groups.py)
    tls = (
        tls_context_for(config)
        if (config.cot_tls is not None or config.https is not None or config.enroll is not None)
        else None
    )
    service = CotService(
        config, hub, directory, tls_context=tls, history_backlog=lambda: writer.backpressure
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
    if cluster is not None:
        from allied_c2.cluster.node import ClusterNode
        from allied_c2.cluster.scope import ScopeError

        try:
            runtime.cluster = ClusterNode(
                cluster,
                hub,
                engine,
                fallback=history,  # what the stream never acknowledged is stored here
                max_event_bytes=config.max_event_bytes,
                flush_interval=config.store_flush_interval,
                clients=lambda: len(service.connections),
            )
        except ScopeError as exc:
            raise ConfigError(str(exc)) from None
        scope = runtime.cluster.bus.scope
        if not scope.whole:  # a node that carries part of the stream serves only those
            policy = hub.policy
            directory.admits = lambda principal: scope.admits(principal, policy)
    _build_alliance(runtime, engine, clock)
    if runtime.cluster is not None:
        runtime.cluster.share_alliance(runtime.decisions, runtime.readiness)
    runtime.federation = build_federation(config, hub, engine, audit)  # docs/federation.md
    if runtime.federation is not None:  # requests and readiness across servers
        from allied_c2.federation.alliance import AllianceRelay

        AllianceRelay(runtime.federation, runtime.decisions, runtime.readiness)
    runtime.packages = PackageService(
        hub,
        PackageStore(engine),
        FileStore(config.effective_package_dir, config.max_package_bytes),
    )
    runtime.video = VideoStore(engine)
    if config.enroll is not None:
        runtime.enrollment = build_enrollment(runtime, engine)
    runtime.missions = MissionService(
        hub,
        MissionStore(engine),
        runtime.packages,
        token_key(config.data_dir / "mission-token.key"),
    )
    return runtime


def build_enrollment(runtime: Runtime, engine: Any) -> Enrollment:
    """Certificate enrollment (issue 12): needs the CA key, so its passphrase when the key
    is encrypted (ALLIED_C2_CA_PASSPHRASE); refused at start without it."""
    from allied_c2.pki.authority import CA_PASSPHRASE_ENV, CertificateAuthority, PkiError, PkiPaths
    from allied_c2.server.enrollment import Enrollment
    from allied_c2.store.credentials import CredentialStore

    paths = PkiPaths.under(runtime.config.data_dir)
    passphrase = os.environ.get(CA_PASSPHRASE_ENV)
    try:
        authority = CertificateAuthority.load(paths, passphrase.encode() if passphrase else None)
    except PkiError as exc:
        raise ConfigError(f"--enroll needs the CA key: {exc}") from None
    credentials = CredentialStore(engine)
    principals = runtime.principals

    def record(callsign: str, certificate: Any) -> None:
        from cryptography.hazmat.primitives import hashes

        principals.record_certificate(
            callsign,
            certificate.fingerprint(hashes.SHA256()).hex(),
            certificate.serial_number,
            certificate.not_valid_after_utc,
        )

    return Enrollment(
        authority=authority,
        check=lambda user, secret, spend: credentials.check(user, secret, spend=spend),
        record=record,
        audit=runtime.audit,
    )


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
    if runtime.cluster is not None:
        await runtime.cluster.start()  # the recent stream into the picture, then live
    runtime.endpoints = await runtime.service.start()
    if runtime.federation is not None:
        federation_address = await runtime.federation.start()
        if federation_address is not None:
            runtime.endpoints["federation"] = federation_address
    if runtime.decisions is not None:
        await runtime.decisions.start()  # reload requests, re-arm deadlines, re-mark
    http_servers = None
    if (
        config.http is not None
        or config.https is not None
        or config.metrics is not None
        or config.enroll is not None
    ):
        # The web stack (FastAPI, pydantic, uvicorn: about 18 MB) loads only when it
        # serves; a relay-only node started with --http off --https off does without.
        from allied_c2.web.serving import start_http

        http_servers = await start_http(runtime)
        runtime.endpoints.update(http_servers.addresses)
    if runtime.cluster is not None:
        runtime.cluster.endpoints = dict(runtime.endpoints)
    if config.endpoints_file:  # one per data dir: `--workers` lets the first write it
        write_endpoints(config.data_dir, runtime.endpoints)
    # What start-up built (modules, models, the scenario) lives as long as the
    # process: keep it out of every later garbage collection.
    gc.collect()
    gc.freeze()
    # RSS follows what is in use after a burst, not the largest burst (memory.py).
    fix_mmap_threshold()
    trimmer = asyncio.create_task(trim_periodically(), name="malloc-trim")
    for name, address in sorted(runtime.endpoints.items()):
        log.info("listening: %s on %s", name, address)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        trimmer.cancel()
        if http_servers is not None:
            await http_servers.stop()
        if runtime.federation is not None:
            await runtime.federation.stop()  # saves the outbound cursors
        await runtime.service.stop()
        if runtime.cluster is not None:
            await runtime.cluster.stop()  # publishes what is queued, stores the rest here
        if runtime.decisions is not None:
            runtime.decisions.stop()
        await asyncio.to_thread(runtime.writer.close)
        runtime.audit.close()
        if config.endpoints_file:
            with contextlib.suppress(FileNotFoundError):
                (config.data_dir / "endpoints.json").unlink()


def write_endpoints(data_dir: Path, endpoints: dict[str, str]) -> None:
    path = data_dir / "endpoints.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**endpoints, "pid": os.getpid()}, indent=2) + "\n")
    tmp.replace(path)
