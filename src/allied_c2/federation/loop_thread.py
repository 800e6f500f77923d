"""The event-loop thread every gRPC object of this server lives on (I/O edge).

Why a thread of its own: a gRPC stream asks for its next message only when the
previous write has been reported done, and grpc.aio reports completions to the
event loop that made the call, one loop turn per message. On the server's main
loop a turn also serves every client connection, so at the medium scenario (50
client connections, 500 items/s across a link) the link added 7-12 ms at the
median and over 100 ms at p99 (docs/federation.md, "Performance"). On a loop of
its own the turns are short and the writes follow each other at once.

grpc.aio objects may only be used on the thread that created them (the grpc.aio
caveats): the listener, the dialers and their streams are all created here, and
nothing on the main loop touches them. What crosses between the two loops is
small and explicit: :class:`Flag` (an event either thread may set), coroutines
run on the other loop (:meth:`LoopThread.submit`, :meth:`LoopThread.on_main`)
and the message pipes of ``pipes.py``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Flag:
    """An ``asyncio.Event`` that any thread may set or clear, awaited on its owner's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()
        self._set = False

    def _on_owner(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        if self._on_owner():
            self._event.set()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._sync)

    def clear(self) -> None:
        self._set = False
        if self._on_owner():
            self._event.clear()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._sync)

    def _sync(self) -> None:
        if self._set:
            self._event.set()
        else:
            self._event.clear()

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        """On the owner's loop only."""
        while not self._set:
            self._event.clear()
            if self._set:  # set between the check and the clear
                break
            await self._event.wait()


class LoopThread:
    """A daemon thread running its own event loop; ``main`` is the server's loop."""

    def __init__(self, main: asyncio.AbstractEventLoop, name: str = "federation-grpc") -> None:
        self.main = main
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def flag(self) -> Flag:
        """A flag awaited on this thread's loop."""
        return Flag(self.loop)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on this thread's loop; cancelling the future cancels it there."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """From the main loop: run ``coro`` here and await its result."""
        return await asyncio.wrap_future(self.submit(coro))

    async def on_main(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """From this thread's loop: call ``function`` on the main loop, await the result."""
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def call() -> None:
            try:
                done.set_result(function(*args, **kwargs))
            except BaseException as exc:  # the caller re-raises it on its loop
                done.set_exception(exc)

        self.main.call_soon_threadsafe(call)
        return await asyncio.wrap_future(done)

    def call_main(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """From any thread: call ``function`` on the main loop, without waiting."""
        self.main.call_soon_threadsafe(functools.partial(function, *args, **kwargs))

    def stop(self, timeout: float = 5.0) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)


async def cancel_others() -> None:
    """Cancel every other task of the running loop and wait for them (before stopping it)."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
