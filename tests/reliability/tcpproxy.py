"""A TCP proxy the tests can cut: the database "goes away" for one server only.

The shared PostgreSQL server must not be stopped, so the server under test reaches
it through this proxy. ``cut()`` drops every open connection and from then on
closes each new one at once (what a client sees when a database is stopped or
restarting); ``freeze()`` holds every byte without closing anything (a peer that
went silent: what was sent is never answered); ``restore()`` passes traffic again.
It runs its own event loop in a thread, so a test that blocks its own loop does not
stall the database traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self.cut_now = False
        self._flowing = asyncio.Event()  # cleared while frozen
        self._flowing.set()
        self.refused = 0  # connections closed while cut
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.address = server.sockets[0].getsockname()[:2]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_now:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    def cut(self) -> None:
        def drop() -> None:
            self.cut_now = True
            for writer in list(self._writers):
                writer.transport.abort()

        self._loop.call_soon_threadsafe(drop)

    def freeze(self) -> None:
        """From when this returns, nothing more is passed on (in either direction)."""

        async def stop_flowing() -> None:
            self._flowing.clear()

        asyncio.run_coroutine_threadsafe(stop_flowing(), self._loop).result(5)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(self._flowing.set)
        self._loop.call_soon_threadsafe(setattr, self, "cut_now", False)

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
