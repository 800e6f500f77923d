"""A relay-only node (no HTTP listener) runs without loading the web stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, json, sys
from pathlib import Path
from allied_c2.app import build_runtime, run_runtime
from allied_c2.config import Config, Endpoint

async def main() -> None:
    config = Config(data_dir=Path(sys.argv[1]), cot_tcp=Endpoint("127.0.0.1", 0),
                    cot_tls=None, http=None, https=None)
    runtime = build_runtime(config)
    stop = asyncio.Event()
    task = asyncio.create_task(run_runtime(runtime, stop))
    while not (config.data_dir / "endpoints.json").exists():
        await asyncio.sleep(0.05)
    endpoints = json.loads((config.data_dir / "endpoints.json").read_text())
    stop.set()
    await task
    loaded = sorted(m for m in ("fastapi", "starlette", "uvicorn") if m in sys.modules)
    print(json.dumps({"endpoints": sorted(endpoints), "web": loaded}))

asyncio.run(main())
"""


def test_no_http_listener_means_no_web_stack(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = done.stdout.strip().splitlines()[-1]
    assert report == '{"endpoints": ["cot_tcp", "pid"], "web": []}', done.stderr[-2000:]
