// Replay and review: a time slider over the stored history, played at 1×–60×, with
// track trails, and a window exported as KML tracks or CSV. Each moment is the
// server's picture as it stood then (GET /api/v1/picture?at=), release-filtered for
// the signed-in user exactly as live; trails come from GET /api/v1/events. While
// replaying, the map and its banner show the replayed moment, not the live picture.

import type { FeatureCollection, LineString } from "geojson";
import type maplibregl from "maplibre-gl";
import type { GeoJSONSource } from "maplibre-gl";
import { apiBlob, apiGet } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { stamp } from "./time";
import type { Item, Marking } from "./types";

const SPANS: { hours: number; key: Key }[] = [
  { hours: 1, key: "replay.span1" },
  { hours: 6, key: "replay.span6" },
  { hours: 24, key: "replay.span24" },
];
const SPEEDS = [1, 5, 10, 30, 60];
const STEP_MS = 1000; // one picture per real second while playing
const TRAIL_MS = 15 * 60 * 1000;
const TRAILS = "trails";

export class Replay {
  readonly el: HTMLElement;
  private active = false;
  private start = 0;
  private end = 0;
  private at = 0;
  private playing = 0;
  private busy = false;
  private pending = false;
  private trailMarkings: (Marking | null | undefined)[] = [];
  private readonly toggle: HTMLButtonElement;
  private readonly controls: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly span: HTMLSelectElement;
  private readonly speed: HTMLSelectElement;
  private readonly play: HTMLButtonElement;
  private readonly trails: HTMLInputElement;
  private readonly clock = h("span", { class: "replay-time", "data-testid": "replay-time", translate: "no" });
  private readonly error = h("span", { class: "error", "data-testid": "replay-error" });

  constructor(
    private readonly map: maplibregl.Map,
    private readonly show: (items: Item[], at: number) => void,
    private readonly leave: () => void,
  ) {
    this.toggle = h("button", { class: "replay-toggle", "data-testid": "replay-toggle", onclick: () => this.setActive(!this.active) }, t("replay.open"));
    this.span = h("select", { "data-testid": "replay-span", "aria-label": t("replay.span") }, SPANS.map((s) => h("option", { value: s.hours }, t(s.key))));
    this.span.addEventListener("change", () => this.window(Date.now()));
    this.slider = h("input", { type: "range", min: 0, max: 3600, step: 1, "data-testid": "replay-slider", "aria-label": t("replay.slider") });
    this.slider.addEventListener("input", () => this.seek(this.start + Number(this.slider.value) * 1000));
    this.play = h("button", { "data-testid": "replay-play", onclick: () => this.playPause() }, "▶");
    this.speed = h("select", { "data-testid": "replay-speed", "aria-label": t("replay.speed") }, SPEEDS.map((s) => h("option", { value: s }, `${s}×`)));
    this.trails = h("input", { type: "checkbox", checked: true, "data-testid": "replay-trails" });
    this.trails.addEventListener("change", () => void this.refresh());
    this.controls = h(
      "div",
      { class: "replay-controls hidden" },
      this.span,
      this.play,
      this.speed,
      this.slider,
      this.clock,
      h("label", { class: "check" }, this.trails, t("replay.trails")),
      h("button", { "data-testid": "replay-export-kml", onclick: () => void this.export("kml") }, t("replay.kml")),
      h("button", { "data-testid": "replay-export-csv", onclick: () => void this.export("csv") }, t("replay.csv")),
      this.error,
    );
    this.el = h("div", { class: "replay", "data-testid": "replay-bar" }, this.toggle, this.controls);
    const addTrails = (): void => {
      map.addSource(TRAILS, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      const below = map.getLayer("track-selected") ? "track-selected" : undefined;
      map.addLayer({ id: "trail-line", type: "line", source: TRAILS, paint: { "line-color": "#80e0ff", "line-opacity": 0.55, "line-width": 1.5 } }, below);
    };
    if (map.isStyleLoaded()) addTrails();
    else map.once("load", addTrails);
  }

  get replaying(): boolean {
    return this.active;
  }

  /** The markings of the trails on screen (the items are the picture's). */
  get markings(): (Marking | null | undefined)[] {
    return this.active && this.trails.checked ? this.trailMarkings : [];
  }

  setActive(active: boolean): void {
    if (active === this.active) return;
    this.active = active;
    this.toggle.textContent = t(active ? "replay.close" : "replay.open");
    this.toggle.classList.toggle("active", active);
    this.controls.classList.toggle("hidden", !active);
    this.el.classList.toggle("on", active);
    this.stop();
    if (active) {
      this.window(Date.now());
      this.seek(this.end);
    } else {
      this.setTrails([]);
      this.leave();
    }
  }

  private window(now: number): void {
    this.end = now;
    this.start = now - Number(this.span.value || 1) * 3600 * 1000;
    this.slider.max = String(Math.round((this.end - this.start) / 1000));
    this.slider.dataset.start = new Date(this.start).toISOString();
    this.slider.dataset.end = new Date(this.end).toISOString();
    this.seek(Math.min(Math.max(this.at, this.start), this.end));
  }

  seek(at: number): void {
    this.at = Math.min(Math.max(at, this.start), this.end);
    this.slider.value = String(Math.round((this.at - this.start) / 1000));
    this.clock.textContent = stamp(this.at, true);
    this.clock.dataset.at = new Date(this.at).toISOString();
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    if (!this.active) return;
    if (this.busy) {
      this.pending = true; // the newest moment asked for wins
      return;
    }
    this.busy = true;
    const at = this.at;
    const iso = new Date(at).toISOString();
    try {
      const picture = await apiGet<{ items: Item[] }>(`/api/v1/picture?at=${encodeURIComponent(iso)}`);
      if (!this.active) return;
      this.show(picture.items, at);
      this.el.dataset.at = iso;
      if (this.trails.checked) {
        const since = new Date(at - TRAIL_MS).toISOString();
        const events = await apiGet<{ events: Item[] }>(`/api/v1/events?since=${encodeURIComponent(since)}&until=${encodeURIComponent(iso)}&limit=10000`);
        this.setTrails(events.events);
      } else this.setTrails([]);
      this.error.textContent = "";
    } catch (err) {
      this.error.textContent = err instanceof Error ? err.message : String(err);
    } finally {
      this.busy = false;
      if (this.pending) {
        this.pending = false;
        void this.refresh();
      }
    }
  }

  private setTrails(events: Item[]): void {
    const byUid = new Map<string, [number, number][]>();
    const markings: (Marking | null | undefined)[] = [];
    for (const e of events) {
      if (!e.type.startsWith("a-") || !Number.isFinite(e.lat) || !Number.isFinite(e.lon)) continue;
      byUid.set(e.uid, [...(byUid.get(e.uid) ?? []), [e.lon, e.lat]]);
      markings.push(e.marking);
    }
    const lines: FeatureCollection<LineString> = { type: "FeatureCollection", features: [] };
    for (const [uid, coordinates] of byUid) {
      if (coordinates.length > 1) lines.features.push({ type: "Feature", properties: { uid }, geometry: { type: "LineString", coordinates } });
    }
    this.trailMarkings = markings;
    (this.map.getSource(TRAILS) as GeoJSONSource | undefined)?.setData(lines);
  }

  private playPause(): void {
    if (this.playing) {
      this.stop();
      return;
    }
    if (this.at >= this.end) this.seek(this.start);
    this.play.textContent = "⏸";
    this.playing = window.setInterval(() => {
      const next = this.at + Number(this.speed.value) * STEP_MS;
      this.seek(next);
      if (next >= this.end) this.stop();
    }, STEP_MS);
  }

  private stop(): void {
    window.clearInterval(this.playing);
    this.playing = 0;
    this.play.textContent = "▶";
  }

  /** The replay window up to the shown moment, as the server writes it (marked). */
  private async export(format: "kml" | "csv"): Promise<void> {
    const since = new Date(this.start).toISOString();
    const until = new Date(Math.max(this.at, this.start + 1000)).toISOString();
    try {
      const blob = await apiBlob(`/api/v1/export?format=${format}&since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`);
      const link = h("a", { href: URL.createObjectURL(blob), download: `allied-c2-replay.${format}` });
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      this.error.textContent = err instanceof Error ? err.message : String(err);
    }
  }
}
