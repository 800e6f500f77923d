"""Who a connection or a token is: principals looked up at connect time.

Attributes are read from the store when a client connects, not baked into its
certificate, so a change or a revocation takes effect without reissuing. The
directory polls the store's revision counter and tells the service when
anything changed, so live connections are re-checked within seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from allied_c2.security.groups import Channels, Membership, channels_of
from allied_c2.security.principals import Principal

log = logging.getLogger("allied_c2.directory")

_TOKEN_TTL = 5.0  # seconds a token lookup is trusted before the store is asked again


class PrincipalSource(Protocol):
    def by_fingerprint(self, fingerprint: str) -> Principal | None: ...

    def by_token(self, token: str) -> Principal | None: ...

    def revision(self) -> int: ...


class GroupSource(Protocol):
    def all(self) -> dict[str, list[Membership]]: ...


class Directory:
    def __init__(
        self,
        source: PrincipalSource | None,
        anonymous: Principal,
        groups: GroupSource | None = None,
    ) -> None:
        self.source = source
        self.anonymous = anonymous
        self.groups = groups
        # Each principal's server-side groups (TAK channels), re-read with every change.
        self.channels: dict[str, Channels] = self._load_channels()
        self._by_fingerprint: dict[str, Principal | None] = {}
        self._by_token: dict[str, tuple[float, Principal | None]] = {}
        self._revision = -1
        self._next_expiry: float | None = None  # epoch seconds of the next token expiry
        # Why this server does not serve a principal, or None (a cluster node that
        # carries part of the stream: cluster/scope.py); such a principal is unknown here.
        self.admits: Callable[[Principal], str | None] = lambda principal: None

    @staticmethod
    def fingerprint(der: bytes) -> str:
        return hashlib.sha256(der).hexdigest()

    def by_fingerprint(self, fingerprint: str) -> Principal | None:
        if self.source is None:
            return None
        if fingerprint not in self._by_fingerprint:
            found = self.source.by_fingerprint(fingerprint)
            self._by_fingerprint[fingerprint] = self._served(found)
        return self._by_fingerprint[fingerprint]

    def by_token(self, token: str) -> Principal | None:
        if self.source is None:
            return None
        cached = self._by_token.get(token)
        now = time.monotonic()
        if cached is not None and now - cached[0] < _TOKEN_TTL:
            return cached[1]
        principal = self._served(self.source.by_token(token))
        if len(self._by_token) > 10_000:
            self._by_token.clear()  # bounded: unknown tokens could otherwise fill it
        self._by_token[token] = (now, principal)
        return principal

    def _served(self, principal: Principal | None) -> Principal | None:
        if principal is None:
            return None
        reason = self.admits(principal)
        if reason is None:
            return principal
        # Once per lookup: certificates are cached until a change, tokens for seconds.
        log.warning("principal %s refused: %s", principal.callsign, reason)
        return None

    def refresh(self) -> bool:
        """Re-read the store if its revision moved or a token expired since the last
        look; True when something changed (live sessions are then re-checked)."""
        if self.source is None:
            return False
        revision = self.source.revision()
        # An expiry changes no row, so no revision: the moment it falls is a change too.
        expired = self._next_expiry is not None and time.time() >= self._next_expiry
        if revision == self._revision and not expired:
            return False
        first = self._revision < 0
        self._revision = revision
        self._next_expiry = self._token_expiry()
        stale = list(self._by_fingerprint)
        fresh = {fp: self.source.by_fingerprint(fp) for fp in stale}
        self._by_fingerprint = fresh
        self._by_token.clear()
        self.channels = self._load_channels()
        return not first

    def _token_expiry(self) -> float | None:
        next_expiry = getattr(self.source, "next_token_expiry", None)
        when = next_expiry() if next_expiry is not None else None
        return None if when is None else when.timestamp()

    def _load_channels(self) -> dict[str, Channels]:
        if self.groups is None:
            return {}
        return {name: channels_of(ms) for name, ms in self.groups.all().items()}

    async def watch(self, interval: float, on_change: Callable[[], None]) -> None:
        while True:
            try:
                changed = await asyncio.to_thread(self.refresh)
            except Exception:  # a database hiccup must not end the watch
                log.exception("identity refresh failed")
                changed = False
            if changed:
                on_change()
            await asyncio.sleep(interval)
