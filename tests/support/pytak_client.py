"""A TAK client made of pytak's own workers, as a pytak-based gateway would run them."""

from __future__ import annotations

import asyncio
import contextlib
from configparser import ConfigParser
from pathlib import Path

import pytak

from allied_c2.cot.errors import CotError
from allied_c2.cot.event import CotEvent
from allied_c2.cot.xmlcodec import parse_xml


class RecordingRX(pytak.RXWorker):  # type: ignore[misc]
    """pytak's reader, keeping what it receives."""

    def __init__(self, queue: asyncio.Queue[bytes], config: object, reader: object) -> None:
        super().__init__(queue, config, reader)
        self.events: list[CotEvent] = []

    async def handle_data(self, data: bytes) -> None:
        pass

    async def put_queue(self, data: bytes, queue_arg: object = None) -> None:
        with contextlib.suppress(CotError, TypeError):
            self.events.append(parse_xml(bytes(data)))


class PytakClient:
    def __init__(self, section: dict[str, str]) -> None:
        parser = ConfigParser()
        parser["client"] = section
        self.config = parser["client"]
        self.tx_queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.rx: RecordingRX | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.writer: object = None

    @classmethod
    async def tcp(cls, host: str, port: int, *, proto: bool = False) -> PytakClient:
        section = {"COT_URL": f"tcp://{host}:{port}"}
        if proto:
            section["TAK_PROTO"] = "1"
        return await cls(section).start()

    @classmethod
    async def tls(cls, host: str, port: int, cert_dir: Path, name: str) -> PytakClient:
        # The .p12 bundle ATAK/iTAK import, opened by pytak itself, and full
        # verification of the server against the CA from `allied-c2 user add`.
        return await cls(
            {
                "COT_URL": f"tls://{host}:{port}",
                "PYTAK_TLS_CLIENT_CERT": str(cert_dir / f"{name}.p12"),
                "PYTAK_TLS_CLIENT_PASSWORD": "atakatak",
                "PYTAK_TLS_CLIENT_CAFILE": str(cert_dir / "ca.pem"),
            }
        ).start()

    async def start(self) -> PytakClient:
        reader, writer = await pytak.protocol_factory(self.config)
        self.writer = writer
        tx = pytak.TXWorker(self.tx_queue, self.config, writer)
        self.rx = RecordingRX(asyncio.Queue(), self.config, reader)
        self.tasks = [asyncio.create_task(tx.run()), asyncio.create_task(self.rx.run())]
        return self

    @property
    def events(self) -> list[CotEvent]:
        assert self.rx is not None
        return self.rx.events

    async def send(self, data: bytes) -> None:
        await self.tx_queue.put(data)

    async def wait_for_uid(self, uid: str, timeout: float = 5.0) -> CotEvent:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for event in self.events:
                if event.uid == uid:
                    return event
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"pytak client did not receive {uid}; got {[e.uid for e in self.events]}"
        )

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        close = getattr(self.writer, "close", None)
        if close is not None:
            close()
