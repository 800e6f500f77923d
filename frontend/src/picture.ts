// The live picture on the map: one MIL-STD-2525 symbol (milsymbol) per item, moved as
// positions arrive, faded as it nears its stale time and removed once stale.

import maplibregl from "maplibre-gl";
import ms from "milsymbol";
import { testId } from "./dom";
import { parseTime } from "./time";
import { sidcFor } from "./sidc";
import type { Item } from "./types";

// Within this share of its lifetime before `stale`, an item is drawn faded.
const FADE_SHARE = 0.2;
const MOVE_MS = 900;

interface Entry {
  item: Item;
  marker: maplibregl.Marker;
  el: HTMLDivElement;
  symbolKey: string;
  from: [number, number];
  to: [number, number];
  movedAt: number;
}

export function drawSymbol(
  sidc: string | null,
  label: string,
): { canvas: HTMLCanvasElement; anchor: { x: number; y: number } } {
  // Non-atom CoT (points, routes…) has no 2525 code: draw a neutral unknown marker.
  const symbol = new ms.Symbol(sidc ?? "SUZP-----------", {
    size: 26,
    uniqueDesignation: label,
    infoColor: "#e8eef4",
    infoSize: 44,
    outlineWidth: 3,
    outlineColor: "rgba(6, 12, 18, 0.9)",
  });
  const scale = window.devicePixelRatio || 1;
  const canvas = symbol.asCanvas(scale);
  const size = symbol.getSize();
  canvas.style.width = `${size.width}px`;
  canvas.style.height = `${size.height}px`;
  return { canvas, anchor: symbol.getAnchor() };
}

/** A heading leader from the symbol's anchor. milsymbol's own direction arrow is drawn
 * in the icon colour (black), which vanishes on a dark basemap. */
function headingLeader(course: number, anchor: { x: number; y: number }): HTMLElement {
  const el = document.createElement("div");
  el.className = "heading";
  el.style.left = `${anchor.x}px`;
  el.style.top = `${anchor.y}px`;
  el.style.transform = `rotate(${course}deg)`;
  return el;
}

export class Picture {
  private readonly entries = new Map<string, Entry>();
  private selected: string | null = null;
  private frame = 0;

  constructor(
    private readonly map: maplibregl.Map,
    private readonly onSelect: (uid: string) => void,
    private readonly onChange: () => void,
  ) {}

  get items(): Item[] {
    return [...this.entries.values()].map((e) => e.item);
  }

  get(uid: string): Item | undefined {
    return this.entries.get(uid)?.item;
  }

  replaceAll(items: Item[], now: number): void {
    const keep = new Set(items.map((i) => i.uid));
    for (const uid of [...this.entries.keys()]) if (!keep.has(uid)) this.drop(uid);
    for (const item of items) this.place(item, now);
    this.onChange();
  }

  upsert(item: Item, now: number): void {
    this.place(item, now);
    this.onChange();
  }

  remove(uid: string): void {
    if (this.drop(uid)) this.onChange();
  }

  clear(): void {
    for (const uid of [...this.entries.keys()]) this.drop(uid);
    this.onChange();
  }

  select(uid: string | null): void {
    if (this.selected) this.entries.get(this.selected)?.el.classList.remove("selected");
    this.selected = uid;
    if (uid) this.entries.get(uid)?.el.classList.add("selected");
  }

  /** Fade items close to stale and drop the ones past it; returns true when some went. */
  tick(now: number): boolean {
    let removed = false;
    for (const [uid, entry] of this.entries) {
      const stale = parseTime(entry.item.stale);
      if (stale === null) continue;
      if (now >= stale) {
        this.drop(uid);
        removed = true;
        continue;
      }
      const born = parseTime(entry.item.start) ?? parseTime(entry.item.time) ?? now;
      const life = Math.max(stale - born, 1);
      entry.el.classList.toggle("fading", stale - now <= life * FADE_SHARE);
    }
    if (removed) this.onChange();
    return removed;
  }

  private place(item: Item, now: number): void {
    if (!Number.isFinite(item.lat) || !Number.isFinite(item.lon)) return;
    const stale = parseTime(item.stale);
    if (stale !== null && stale <= now) {
      this.drop(item.uid);
      return;
    }
    const target: [number, number] = [item.lon, item.lat];
    const existing = this.entries.get(item.uid);
    if (!existing) {
      const el = document.createElement("div");
      el.className = "symbol";
      el.dataset.testid = `symbol-${testId(item.uid)}`;
      el.dataset.uid = item.uid;
      el.addEventListener("click", (event) => {
        event.stopPropagation();
        this.onSelect(item.uid);
      });
      const marker = new maplibregl.Marker({ element: el, anchor: "top-left" })
        .setLngLat(target)
        .addTo(this.map);
      const entry: Entry = { item, marker, el, symbolKey: "", from: target, to: target, movedAt: 0 };
      this.entries.set(item.uid, entry);
      this.redraw(entry);
      if (this.selected === item.uid) el.classList.add("selected");
      return;
    }
    existing.item = item;
    this.redraw(existing);
    if (existing.to[0] !== target[0] || existing.to[1] !== target[1]) {
      existing.from = existing.marker.getLngLat().toArray() as [number, number];
      existing.to = target;
      existing.movedAt = performance.now();
      this.animate();
    }
  }

  private redraw(entry: Entry): void {
    const { item } = entry;
    const sidc = sidcFor(item);
    const label = item.callsign || item.uid;
    const course = item.course !== null && item.course !== undefined ? Math.round(item.course) : null;
    const key = `${sidc}|${label}|${course}`;
    if (key === entry.symbolKey) return;
    entry.symbolKey = key;
    const { canvas, anchor } = drawSymbol(sidc, label);
    entry.el.replaceChildren(canvas);
    if (course !== null && Number.isFinite(course)) entry.el.prepend(headingLeader(course, anchor));
    entry.el.dataset.course = course === null ? "" : String(course);
    entry.el.title = `${label} ${item.marking?.portion ?? ""}`.trim();
    entry.el.setAttribute("aria-label", label);
    entry.el.dataset.sidc = sidc ?? "";
    entry.marker.setOffset([-anchor.x, -anchor.y]);
  }

  private animate(): void {
    if (this.frame) return;
    const step = (): void => {
      const t = performance.now();
      let moving = false;
      for (const entry of this.entries.values()) {
        if (!entry.movedAt) continue;
        const k = Math.min((t - entry.movedAt) / MOVE_MS, 1);
        const ease = k * (2 - k);
        entry.marker.setLngLat([
          entry.from[0] + (entry.to[0] - entry.from[0]) * ease,
          entry.from[1] + (entry.to[1] - entry.from[1]) * ease,
        ]);
        if (k >= 1) entry.movedAt = 0;
        else moving = true;
      }
      this.frame = moving ? requestAnimationFrame(step) : 0;
    };
    this.frame = requestAnimationFrame(step);
  }

  private drop(uid: string): boolean {
    const entry = this.entries.get(uid);
    if (!entry) return false;
    entry.marker.remove();
    this.entries.delete(uid);
    if (this.selected === uid) this.selected = null;
    return true;
  }
}
