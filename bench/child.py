"""In-process measurements (no sockets) run in a child process on the load generator's core.

The simulator, the groups fan-out and the federation guard are measured as CPU time in a
process of their own: they neither compete with nor inherit state from the relay
measurements, and a crash or a hang skips their row with the reason instead of ending
the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from bench.target import LOADGEN_CORE, ROOT, two_cores


async def measure_in_child(
    code: str, what: str, timeout_s: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``code`` (Python printing one JSON object as its last line) pinned to the
    load generator's core; its result, or ``{"skipped": reason}``. Killed if cancelled."""
    pin = two_cores()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=os.environ | (env or {}),
        preexec_fn=(lambda: os.sched_setaffinity(0, {LOADGEN_CORE})) if pin else None,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        return {"skipped": f"{what} took longer than {timeout_s:.0f} s"}
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return {"skipped": f"{what} failed: {tail[0]}"}
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result
