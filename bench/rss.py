"""The server's RSS at rest and at medium load, as docs/benchmarks.md "Where the memory is"
reports it: one run of each, allied-c2 alone (no raw relay, no taky).

    .venv/bin/python -m bench.rss --out var/rss

- idle: ``VmRSS``, ``RssAnon`` and ``RssFile`` 8 s after start, with the bench's flags
  (``--cot-tcp``, ``--http``, ``--metrics``; bench/target.py ``alliedc2_argv``);
- medium and medium over mutual TLS: ``bench.scenarios.medium`` (50 senders × 10/s → 50
  receivers, 15 s), its ``server_rss_peak_mb`` (``VmRSS`` sampled every 200 ms) being the
  "medium: server RSS peak" rows of ``make bench``.

``RssFile`` (the shared libraries' pages) moves by a few MB between runs on a shared
machine; ``RssAnon`` is the steadier figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from bench import scenarios
from bench.target import Target, start_alliedc2, start_alliedc2_tls, stop_all, two_cores

KEYS = ("VmRSS", "RssAnon", "RssFile")
MEDIUM_KEYS = (
    "server_rss_peak_mb",
    "server_rss_hwm_mb",
    "lost",
    "server_cpu",
    "background_cpu",
    "history_backlog_peak",
)


def status_mb(pid: int) -> dict[str, float]:
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in KEYS:
                found[key] = round(int(value.split()[0]) / 1024, 1)
    return found


async def measure(out: Path) -> dict[str, Any]:
    pin = two_cores()
    results: dict[str, Any] = {}
    target = await start_alliedc2(out / "idle", pin)
    try:
        await asyncio.sleep(8.0)
        results["idle"] = status_mb(target.pid)
    finally:
        await asyncio.to_thread(target.stop)
    starters: tuple[tuple[str, Callable[[Path, bool], Awaitable[Target]]], ...] = (
        ("medium", start_alliedc2),
        ("medium_tls", start_alliedc2_tls),
    )
    for name, start in starters:

        async def starter(
            data_dir: Path, start: Callable[[Path, bool], Awaitable[Target]] = start
        ) -> Target:
            return await start(data_dir, pin)

        row = await scenarios.medium(starter, out / name, scenarios.Scale())
        results[name] = {key: row.get(key) for key in MEDIUM_KEYS}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path("var/rss"))
    args = parser.parse_args()
    try:
        results = uvloop.run(measure(args.out))
    finally:
        stop_all()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
