"""How a node joins its cluster: the NATS address and credentials, its name, the stream."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_SCHEMES = ("nats", "tls")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PASSWORD_ENV = "ALLIED_C2_NATS_PASSWORD"  # so a password need not be on the command line


class ClusterSettingsError(ValueError):
    """A cluster setting is malformed; the message says which."""


class ClusterJoinError(RuntimeError):
    """The node could not join its cluster at start (NATS refused or did not answer)."""


def default_node_id(port: int | None = None) -> str:
    """hostname + the CoT port (or the process id), unique on one host."""
    return f"{socket.gethostname()}-{port if port is not None else os.getpid()}"


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """``--cluster URL`` and its companions (docs/scaling.md)."""

    servers: tuple[str, ...]  # nats://HOST:PORT or tls://HOST:PORT, user:password@ allowed
    node_id: str
    prefix: str = "allied"  # stream ALLIED_<PREFIX>_EVENTS, subjects PREFIX.ev.…
    user: str | None = None
    password: str | None = None
    nkey_seed: Path | None = None  # an nkey seed file (SU…)
    creds: Path | None = None  # a JWT .creds file (decentralised auth)
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    replay_seconds: float = 60.0  # stream replayed into the picture at start
    stream_max_age: float = 86400.0  # how long the stream keeps events (seconds)
    publish_timeout: float = 2.0  # past this an unacknowledged event is stored locally
    serves: str | None = None  # --cluster-serves NATIONS[:LEVEL] (cluster/scope.py); None: all

    def __post_init__(self) -> None:
        if not self.servers:
            raise ClusterSettingsError("--cluster needs at least one nats:// or tls:// URL")
        for url in self.servers:
            parts = urlsplit(url)
            if parts.scheme not in _SCHEMES or not parts.hostname:
                raise ClusterSettingsError(
                    f"--cluster {url!r}: expected nats://HOST:PORT or tls://HOST:PORT"
                )
        if not _PREFIX.match(self.prefix):
            raise ClusterSettingsError(
                f"--cluster-prefix {self.prefix!r}: letters, digits, - and _ only (≤ 32)"
            )
        if not self.node_id or len(self.node_id) > 64:
            raise ClusterSettingsError("--node-id must be 1..64 characters")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ClusterSettingsError("--cluster-cert and --cluster-key go together")

    @property
    def stream(self) -> str:
        return f"ALLIED_{self.prefix.upper().replace('-', '_')}_EVENTS"

    @property
    def uses_tls(self) -> bool:
        return self.tls_ca is not None or any(u.startswith("tls://") for u in self.servers)

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for ``nats.connect`` (credentials and TLS; no reconnect policy)."""
        options: dict[str, Any] = {"servers": list(self.servers)}
        password = self.password or os.environ.get(PASSWORD_ENV)
        if self.user is not None:
            options["user"] = self.user
            if password is not None:
                options["password"] = password
        if self.nkey_seed is not None:
            options["nkeys_seed"] = str(self.nkey_seed)
        if self.creds is not None:
            options["user_credentials"] = str(self.creds)
        if self.uses_tls:
            import ssl

            context = ssl.create_default_context(
                cafile=str(self.tls_ca) if self.tls_ca is not None else None
            )
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.tls_cert is not None and self.tls_key is not None:
                context.load_cert_chain(str(self.tls_cert), str(self.tls_key))
            options["tls"] = context
        return options
