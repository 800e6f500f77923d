"""Give memory back to the system after a burst (glibc only; a no-op elsewhere).

A relay's large allocations are transient: the bytes joined for a turn's fan-out,
the queues of a client that fell behind while the machine was busy, TLS read
buffers. glibc serves them from the heap once its dynamic mmap threshold has
risen, and the pages freed after a burst stay resident, so RSS ratchets up to
the largest burst seen and stays there (the soak showed steps at each stall,
docs/reliability.md). Two standard remedies, both through ``ctypes``:

- a fixed ``M_MMAP_THRESHOLD`` (128 KiB, glibc's initial value): large blocks are
  always their own mapping and go back to the system when freed;
- ``malloc_trim(0)`` every ``TRIM_INTERVAL`` seconds: free pages inside the heap
  are returned too (a few milliseconds for a heap of this size).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging

log = logging.getLogger("allied_c2.memory")

M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter number
MMAP_THRESHOLD = 128 * 1024
TRIM_INTERVAL = 30.0


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - present on glibc only
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def fix_mmap_threshold() -> bool:
    """Stop glibc from raising its mmap threshold after a large free; False if not glibc."""
    if _LIBC is None:
        return False
    return bool(_LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def trim() -> bool:
    """Return free heap pages to the system; True if glibc released any."""
    return _LIBC is not None and bool(_LIBC.malloc_trim(0))


async def trim_periodically(interval: float = TRIM_INTERVAL) -> None:
    """Run for the server's life: trim after bursts, so RSS follows what is in use."""
    if _LIBC is None:
        log.debug("not glibc: no malloc_trim")
        return
    while True:
        await asyncio.sleep(interval)
        trim()
