"""Server configuration: a TOML file, overridden by command-line flags.

Every setting has a default that runs a single-process server on localhost with
SQLite in the data directory, so ``allied-c2 serve`` needs no file at all.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger("allied_c2.config")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message says which."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Endpoint | None:
        """``HOST:PORT``, ``:PORT`` or ``off`` (returns None: listener disabled)."""
        text = text.strip()
        if text.lower() in ("off", "none", "disabled", ""):
            return None
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ConfigError(f"endpoint {text!r} is not HOST:PORT (or 'off')")
        host = host.strip("[]") or "127.0.0.1"
        try:
            number = int(port)
        except ValueError:
            raise ConfigError(f"endpoint {text!r}: port {port!r} is not a number") from None
        if not 0 <= number <= 65535:
            raise ConfigError(f"endpoint {text!r}: port out of range")
        return cls(host, number)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True, slots=True)
class AnonymousProfile:
    """What a connection without an identity (plain TCP, UDP, the web without a token) is.

    The release decision recognises this profile by its missing nation and then
    releases only public items (docs/security-model.md). So the profile may have
    no nation: an empty one (TOML ``nation = ""``) means none, any other value is
    refused. Its clearance is checked against the policy at start (app.py): no
    higher than UNCLASSIFIED.
    """

    callsign: str = "anonymous"
    nation: str | None = None
    clearance: str = "UNCLASSIFIED"
    cois: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.nation is not None and not str(self.nation).strip():
            object.__setattr__(self, "nation", None)
        if self.nation is not None:
            raise ConfigError(
                f"[anonymous] nation = {self.nation!r}: a client without an identity cannot "
                "have a nation (leave it out); issue a certificate or token instead"
            )

    @classmethod
    def from_table(cls, table: dict[str, Any], where: str) -> AnonymousProfile:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown [anonymous] setting(s) {', '.join(unknown)}")
        values = dict(table)
        values["cois"] = tuple(values.get("cois", ()))
        return cls(**values)


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 86400, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta | None:
    """``30d``, ``12h``, ``90m``, ``3600s``, ``2w`` (a bare number is days); ``never``: None."""
    if text.strip().lower() in ("never", "none", "off"):
        return None
    found = _DURATION.match(text)
    if found is None or int(found.group(1)) <= 0:
        raise ConfigError(f"duration {text!r}: use e.g. 30d, 12h, 90m or 'never'")
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2).lower()])


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path = Path("var")
    cot_tcp: Endpoint | None = Endpoint("127.0.0.1", 8087)
    cot_tls: Endpoint | None = Endpoint("127.0.0.1", 8089)
    cot_udp: Endpoint | None = None
    http: Endpoint | None = Endpoint("127.0.0.1", 8080)
    https: Endpoint | None = None  # HTTP API over mutual TLS (client certificates)
    database_url: str | None = None  # default: sqlite in data_dir
    # Input limits: an event larger than this ends the connection with a reason.
    max_event_bytes: int = 1 << 20
    # A client whose last N frames were all unusable is disconnected.
    garbage_threshold: int = 20
    negotiation_timeout: float = 60.0
    # A TLS client must finish its handshake within this many seconds of connecting,
    # or its socket is closed (a handshake flood or a stalled client holds nothing).
    tls_handshake_timeout: float = 10.0
    # At most this many TLS handshakes start per second, in bursts of at most
    # tls_handshake_burst: a reconnect storm waits its turn instead of stalling
    # the relay (a full handshake is 1.2-2 ms of the loop; docs/reliability.md).
    tls_handshakes_per_second: float = 200.0
    tls_handshake_burst: int = 2
    # A client sending more than this many events per second is paused (not cut
    # off, nothing dropped) for the rest of the second; 0 disables the limit.
    max_events_per_second: int = 2000
    # Per-client outgoing queue: how many items may wait before coalescing by uid
    # starts, and how long a client may stay behind before it is disconnected.
    queue_max_items: int = 4096
    queue_max_bytes: int = 4 << 20
    slow_client_grace: float = 30.0
    # History: batched commits; on a hard kill at most this much is lost.
    store_flush_interval: float = 0.25
    store_flush_max_events: int = 2000
    store_backlog_pause: int = 100_000
    # While the database is away (stopped, unreachable, disk full) history waits in
    # memory up to this many bytes (about 1.3 KB per ATAK PLI: ~50,000 events, 100 s
    # of medium load); past it the oldest are dropped, logged and counted
    # (docs/reliability.md). The relay keeps going meanwhile.
    store_outage_buffer_bytes: int = 64 << 20
    # A clean stop with the database still away waits this long for it, then says
    # what it could not store.
    store_close_wait: float = 10.0
    picture_sweep_interval: float = 5.0
    offer_tak_protocol: bool = True
    # Write the (default) marking into unmarked events so every item that leaves
    # the server carries its marking.
    stamp_markings: bool = True
    # How often the identity directory looks for user/certificate/token changes.
    directory_poll_interval: float = 1.0  # a revocation must reach live sessions within 2 s
    # Marking given to events that arrive unmarked; None = the security policy's
    # default_marking (shipped: UNCLASSIFIED).
    default_marking: str | None = None
    anonymous: AnonymousProfile = field(default_factory=AnonymousProfile)
    # -- hardening of the exits (docs/security-model.md) --
    # HTTP request bodies: larger ones get 413 before they are read whole (OWASP
    # API4:2023, unrestricted resource consumption); the API's bodies are small JSON.
    max_http_body: int = 1 << 20
    max_json_depth: int = 32  # json's C parser recurses: deep nesting is a crash, not data
    max_json_string: int = 64 * 1024  # any one JSON string (a reason, a subject)
    # UDP has no connection to pause: datagrams beyond this rate from one source
    # address are dropped and counted (as TCP clients get max_events_per_second).
    max_datagrams_per_second: int = 500
    # Audit: refusals written per principal and peer address per minute (the rest
    # are counted); queue bound; refuse audited actions while writes fail.
    audit_refusals_per_minute: int = 60
    audit_queue_max: int = 10_000
    audit_fail_closed: bool = True
    # Bearer tokens expire by default (NIST SP 800-63B: bound a credential's
    # lifetime); `token create --expires never` opts out explicitly.
    token_default_expiry: timedelta | None = timedelta(days=30)
    # Prometheus /metrics without credentials, on loopback only; off by default.
    metrics: Endpoint | None = None
    # -- federation (issue 11, docs/federation.md) --
    # gRPC listener for federates (TAK federation v2; TAK's conventional port is 9001).
    federation: Endpoint | None = None
    # This server's nation, as its federates register it: they attribute everything it
    # sends to that nation, so NOFORN and no-REL-TO items cross only when it is their
    # originator's (federation/guard.py); None: such items never cross.
    federation_nation: str | None = None
    # Items waiting for one federate; past this the oldest position updates drop first.
    federation_backlog_max: int = 10_000
    # What was sent in the last N seconds is sent again after a drop: a killed peer loses
    # its socket buffers and its last store_flush_interval of history (peers drop duplicates).
    federation_resend_window: float = 10.0
    # TAK Server's healthCheckIntervalSeconds default; a listener drops a link that sent no
    # health check for five intervals (TAK: 15 s).
    federation_health_interval: float = 3.0
    # gRPC's 4 MiB default is below what TAK may send (federation-v2.md §5); events here are
    # at most max_event_bytes, so a bound a little above that suffices.
    federation_max_message_bytes: int = 16 << 20
    # -- the TAK ecosystem (issue 12, docs/tak-clients.md) --
    # Files and data packages, content-addressed; default DATA_DIR/packages (a shared
    # directory for PostgreSQL deployments with several servers).
    package_dir: Path | None = None
    # One upload's bound (the official TAK Server's default enterprise sync limit is
    # 100 MB too); upload routes have this instead of max_http_body, streamed to disk.
    max_package_bytes: int = 100 << 20
    # Certificate enrollment over HTTPS without client certificates (TAK's 8446); off.
    enroll: Endpoint | None = None
    security_policy: Path | None = None  # TOML: level equivalence, tetragraphs
    scenario: Path | None = None  # alliance structure loaded at start
    log_level: str = "INFO"
    log_json: bool = False
    # Scale-out (docs/scaling.md): the `serve --cluster …` flags, settable here too; a flag
    # given on the command line wins. The NATS password comes from ALLIED_C2_NATS_PASSWORD.
    cluster: str | None = None  # nats://HOST:PORT or tls://…, several comma-separated
    node_id: str | None = None
    cluster_prefix: str | None = None
    cluster_user: str | None = None
    cluster_nkey: Path | None = None
    cluster_creds: Path | None = None
    cluster_ca: Path | None = None
    cluster_cert: Path | None = None
    cluster_key: Path | None = None
    cluster_serves: str | None = None  # NATIONS[:LEVEL]: the part of the stream carried
    # `serve --workers N` (docs/scaling.md): every worker binds the same listeners with
    # SO_REUSEPORT, and only the first writes endpoints.json.
    reuse_port: bool = False
    endpoints_file: bool = True

    @property
    def effective_package_dir(self) -> Path:
        return self.package_dir if self.package_dir is not None else self.data_dir / "packages"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'allied-c2.db').resolve()}"

    def __post_init__(self) -> None:
        if self.metrics is not None and not self.metrics.is_loopback:
            raise ConfigError(
                f"metrics = {self.metrics}: the metrics listener has no authentication, so it "
                "binds to loopback only (127.0.0.1, ::1); scrape /metrics on --https with an "
                "admin certificate or token from elsewhere"
            )
        if self.federation_nation is not None and not re.match(
            r"^[A-Z]{3}$", self.federation_nation
        ):
            raise ConfigError(
                f"federation_nation = {self.federation_nation!r}: an ISO 3166 alpha-3 code"
            )
        if self.federation_backlog_max < 1:
            raise ConfigError("federation_backlog_max must be at least 1")
        if not 0 < self.tls_handshake_timeout <= 600:
            raise ConfigError("tls_handshake_timeout must be between 0 and 600 seconds")
        if not 0 < self.tls_handshakes_per_second <= 100_000:
            raise ConfigError("tls_handshakes_per_second must be between 0 and 100000")
        if not 1 <= self.tls_handshake_burst <= 10_000:
            raise ConfigError("tls_handshake_burst must be between 1 and 10000")
        if self.store_outage_buffer_bytes < 0:
            raise ConfigError("store_outage_buffer_bytes must be 0 or more")
        for name in ("max_http_body", "max_json_depth", "max_json_string", "max_package_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")

    def with_overrides(self, **values: Any) -> Config:
        """Apply command-line values; ``None`` means 'not given'."""
        given = {k: v for k, v in values.items() if v is not None}
        return replace(self, **given)


def make_data_dir(path: Path) -> None:
    """Create the data directory owner-only (0700): it holds the database, the CA key
    and client bundles. An existing directory is left as it is, with a warning if
    others may read it (it may be shared, such as ``/srv``; tightening is the operator's)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077 and path.stat().st_uid == os.getuid():
        log.warning("data directory %s is mode %o: others may read it; chmod 700 it", path, mode)


_ENDPOINT_KEYS = {
    "cot_tcp",
    "cot_tls",
    "cot_udp",
    "http",
    "https",
    "metrics",
    "federation",
    "enroll",
}
# Set by `serve --workers` for each worker, never by hand.
_NOT_IN_FILES = {"reuse_port", "endpoints_file"}
_PATH_KEYS = {
    "data_dir",
    "security_policy",
    "scenario",
    "package_dir",
    "cluster_nkey",
    "cluster_creds",
    "cluster_ca",
    "cluster_cert",
    "cluster_key",
}


def load_config(path: Path | None) -> Config:
    """Read a TOML config file (flat keys as in :class:`Config`, plus ``[anonymous]``)."""
    if path is None:
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {f.name for f in fields(Config)} - _NOT_IN_FILES
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(f"{path}: unknown setting {key!r}")
        if name in _ENDPOINT_KEYS:
            values[name] = Endpoint.parse(str(value)) if value is not False else None
        elif name in _PATH_KEYS:
            values[name] = (path.parent / str(value)).resolve()
        elif name == "anonymous":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [anonymous] must be a table")
            values[name] = AnonymousProfile.from_table(value, str(path))
        elif name == "token_default_expiry":
            values[name] = parse_duration(str(value))
        else:
            values[name] = value
    try:
        return Config(**values)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
