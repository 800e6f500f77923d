"""A pytak client beside a synchronous Playwright test: its own event loop in a thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from allied_c2.cot.event import CotEvent
from tests.support.pytak_client import PytakClient


class TakThread:
    """``PytakClient.tls`` as ATAK would connect, driven from test code that is not async."""

    def __init__(self, host: str, port: int, cert_dir: Path, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name=f"pytak-{name}", daemon=True
        )
        self.thread.start()
        self.client: PytakClient = self._run(PytakClient.tls(host, port, cert_dir, name))

    def _run(self, coroutine: Any, timeout: float = 30.0) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def send(self, data: bytes) -> None:
        self._run(self.client.send(data))

    @property
    def events(self) -> list[CotEvent]:
        return list(self.client.events)

    def wait_for(self, what: Callable[[CotEvent], bool], timeout: float = 20.0) -> CotEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if what(event):
                    return event
            time.sleep(0.1)
        raise AssertionError(f"pytak did not receive it; got {[e.uid for e in self.events]}")

    def close(self) -> None:
        try:
            self._run(self.client.close(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
