"""The web COP under load: 5,000 live tracks updating once a second, in Debian's chromium.

allied-c2 relays feed-shaped tracks (bench/tracks.py) from plain-TCP clients to the
page; Playwright drives chromium (``/usr/bin/chromium``, never a downloaded browser)
on ``/?bench=1``, where the page records, for every track update it paints, the time
from the CoT event's own timestamp to the frame that drew it (frontend/src/benchhook.ts).
Frames per second are counted with ``requestAnimationFrame`` in the page. Two views:
the theatre view the page opens with (dense areas clustered) and a zoomed-in view of a
busy area (every symbol and label drawn). Goals (issue 15): ≥ 30 fps at 5,000 tracks
and update-to-paint p95 ≤ 200 ms.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path
from typing import Any

from bench import tracks
from bench.scenarios import Starter
from bench.target import Target, alliedc2_argv, start

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRACKS = 5000
WARMUP_S = 8.0
MEASURE_S = 10.0
ZOOMED = "#7.5/21.0/125.0"  # zoom/lat/lon: inside the theatre, past the cluster zoom

FRAMES = """(ms) => new Promise((done) => {
  let frames = 0; const t0 = performance.now();
  const step = () => { frames += 1;
    if (performance.now() - t0 < ms) requestAnimationFrame(step);
    else done(frames * 1000 / (performance.now() - t0)); };
  requestAnimationFrame(step);
})"""


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


async def _measure(page: Any) -> dict[str, Any]:
    await page.evaluate("() => { alliedBench.latencies = []; alliedBench.renders = 0; }")
    fps = await page.evaluate(FRAMES, MEASURE_S * 1000)
    bench = await page.evaluate(
        "() => ({latencies: alliedBench.latencies, renders: alliedBench.renders})"
    )
    latencies: list[float] = bench["latencies"]
    shown = await page.get_by_test_id("track-count").inner_text()
    return {
        "fps": round(fps, 1),
        "map_renders_per_s": round(bench["renders"] / MEASURE_S, 1),
        "updates_painted": len(latencies),
        "latency_ms": {
            "p50": _percentile(latencies, 0.50),
            "p95": _percentile(latencies, 0.95),
            "p99": _percentile(latencies, 0.99),
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "shown": shown,
    }


async def _browse(target: Target) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    assert target.http is not None
    host, port = target.http
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1600, "height": 1000})
            await page.goto(f"http://{host}:{port}/?bench=1", timeout=120_000)
            await page.wait_for_function(
                f"() => /^{TRACKS // 1000}[,.]?\\d{{3}}/.test("
                "document.querySelector('[data-testid=track-count]')?.textContent ?? '')",
                timeout=120_000,
            )
            await asyncio.sleep(WARMUP_S)
            theatre = await _measure(page)
            await page.evaluate(f"() => {{ location.hash = '{ZOOMED}'; }}")
            await asyncio.sleep(WARMUP_S)
            zoomed = await _measure(page)
        finally:
            await browser.close()
    return {"theatre": theatre, "zoomed": zoomed}


# One gateway connection carries every track, as a feed gateway does; the server's
# per-client rate limit (2,000 events/s by default, against floods) is raised for it.
# (Several connections would each be relayed the others' tracks: TCP fan-out, not the
# page, would then be what is measured.)
CONFIG = "max_events_per_second = 20000\n"


async def start_server(data_dir: Path, pin: bool) -> Target:
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    config = data_dir / "bench.toml"
    await asyncio.to_thread(config.write_text, CONFIG)
    argv = [*alliedc2_argv(data_dir), "--config", str(config)]
    return await start("allied-c2", argv, data_dir, pin=pin, health="/api/v1/health")


async def measure(start: Starter, data_dir: Path, count: int = TRACKS) -> dict[str, Any]:
    """Start allied-c2, feed ``count`` tracks, and measure the page in both views."""
    if not await asyncio.to_thread(CHROMIUM.exists):
        return {"skipped": "Debian chromium is not installed (scripts/ensure-chromium.sh)"}
    try:
        moving = await asyncio.to_thread(tracks.make_tracks, count)
    except tracks.NoCaptures as exc:
        return {"skipped": str(exc)}
    target = await start(data_dir)
    stop = asyncio.Event()
    feeder = asyncio.create_task(tracks.feed(target.cot, moving, stop, connections=1))
    try:
        await asyncio.sleep(3.0)  # the picture fills before the page asks for its snapshot
        views = await _browse(target)
    finally:
        stop.set()
        sent = await feeder
        target.stop()
    return {"tracks": count, "reports_sent": sent, **views}


async def scenario(start: Starter, data_dir: Path, scale: Any) -> dict[str, Any]:
    """bench.run's step (with ``start`` from :func:`start_server`): 5,000 tracks, 500 for
    ``--smoke``."""
    smoke = getattr(scale, "medium_senders", 100) < 10
    return await measure(start, data_dir, 500 if smoke else TRACKS)
