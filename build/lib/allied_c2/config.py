"""Server configuration: a TOML file, overridden by command-line flags.

Every setting has a default that runs a single-process server on localhost with
SQLite in the data directory, so ``allied-c2 serve`` needs no file at all.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


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


@dataclass(frozen=True, slots=True)
class AnonymousProfile:
    """What a connection without an identity (plain TCP) is treated as."""

    callsign: str = "anonymous"
    nation: str | None = None
    clearance: str = "UNCLASSIFIED"
    cois: tuple[str, ...] = ()


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
    picture_sweep_interval: float = 5.0
    offer_tak_protocol: bool = True
    # Write the (default) marking into unmarked events so every item that leaves
    # the server carries its marking.
    stamp_markings: bool = True
    # How often the identity directory looks for user/certificate/token changes.
    directory_poll_interval: float = 2.0
    # Marking given to events that arrive unmarked; None = the security policy's
    # default_marking (shipped: UNCLASSIFIED).
    default_marking: str | None = None
    anonymous: AnonymousProfile = field(default_factory=AnonymousProfile)
    security_policy: Path | None = None  # TOML: level equivalence, tetragraphs
    scenario: Path | None = None  # alliance structure loaded at start
    log_level: str = "INFO"
    log_json: bool = False

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'allied-c2.db').resolve()}"

    def with_overrides(self, **values: Any) -> Config:
        """Apply command-line values; ``None`` means 'not given'."""
        given = {k: v for k, v in values.items() if v is not None}
        return replace(self, **given)


_ENDPOINT_KEYS = {"cot_tcp", "cot_tls", "cot_udp", "http", "https"}
_PATH_KEYS = {"data_dir", "security_policy", "scenario"}


def load_config(path: Path | None) -> Config:
    """Read a TOML config file (flat keys as in :class:`Config`, plus ``[anonymous]``)."""
    if path is None:
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {f.name for f in fields(Config)}
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
            anon = dict(value)
            anon["cois"] = tuple(anon.get("cois", ()))
            values[name] = AnonymousProfile(**anon)
        else:
            values[name] = value
    return Config(**values)
