// What `make bench` reads from the page (bench/browser.py), only with `?bench=1`:
// for every track update painted, the time from the CoT event's own timestamp (set by
// the load generator as it sends) to the frame that drew it.

import type maplibregl from "maplibre-gl";
import type { Picture } from "./picture";
import { parseTime } from "./time";

interface BenchWindow {
  alliedBench?: { latencies: number[]; painted: number; renders: number; map: maplibregl.Map };
}

export function installBenchHook(picture: Picture, map: maplibregl.Map): void {
  if (new URLSearchParams(location.search).get("bench") !== "1") return;
  const bench = { latencies: [] as number[], painted: 0, renders: 0, map };
  map.on("render", () => (bench.renders += 1));
  (window as BenchWindow).alliedBench = bench;
  picture.paintHook = (items, paintedAt) => {
    bench.painted += items.length;
    for (const item of items) {
      const sent = parseTime(item.time);
      if (sent !== null) bench.latencies.push(paintedAt - sent);
    }
  };
}
