// The picture on the map: maplibre GeoJSON sources and symbol layers, so thousands of
// tracks stay smooth and labels are decluttered by maplibre's own collision detection.
// Tracks are clustered (counts) at low zoom and expand on click; labels are hidden below
// LABEL_MIN_ZOOM and dropped where they would collide; symbols are always drawn.
// Updates are applied at most every FLUSH_MS, in an animation frame; items fade in the last 20 % of
// their life and leave once stale. Drawings (u-d-…) are drawn from their `shape`.

import type { Feature, FeatureCollection, LineString, Point, Polygon } from "geojson";
import maplibregl from "maplibre-gl";
import type { GeoJSONSource } from "maplibre-gl";
import { isDrawing, pointFeature, shapeFeatures } from "./features";
import type { PointProps, ShapeProps } from "./features";
import { Proxies } from "./proxies";
import { LEADER, provideImages } from "./symbols";
import { parseTime } from "./time";
import type { Item } from "./types";

export { drawSymbol } from "./symbols";

// Within this share of its lifetime before `stale`, an item is drawn faded.
const FADE_SHARE = 0.2;
export const LABEL_MIN_ZOOM = 5;
const CLUSTER_MAX_ZOOM = 7;
const FLUSH_MS = 66; // about four frames
const NOTIFY_MS = 250;
const CYCLE_SHARE = 2;
const MAX_WAIT_MS = 1000; // for the previous update to be tiled, before the next
const TRACKS = "tracks";
const SHAPES = "shapes";
export const ICON_LAYER = "track-icons";
export const LABEL_LAYER = "track-labels";
const CLUSTER_LAYER = "track-clusters";

interface Entry {
  item: Item;
  fading: boolean;
  point?: Feature<Point, PointProps>; // built once per report (or fade change)
}

const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

/** Seen by `make bench` (bench/browser.py): when each applied update was painted. */
export type PaintHook = (items: Item[], paintedAt: number) => void;

export class Picture {
  private readonly entries = new Map<string, Entry>();
  private selected: string | null = null;
  private frame = 0;
  private lastFlush = 0;
  private cycle = 0; // ms from setData to the frame that shows it (moving average)
  private drawing = false; // a setData not yet on screen
  private notifyTimer = 0;
  private lastNotify = 0;
  private ready = false;
  private filter: (item: Item) => boolean = () => true;
  private fresh: Item[] = []; // updated since the last frame (measured by paintHook)
  private applied: Item[] = [];
  readonly proxies: Proxies;
  paintHook: PaintHook | null = null;

  constructor(
    private readonly map: maplibregl.Map,
    private readonly onSelect: (uid: string) => void,
    private readonly onChange: () => void,
  ) {
    provideImages(map);
    this.proxies = new Proxies(
      map,
      (uid) => this.onSelect(uid),
      (uid) => this.entries.get(uid)?.item,
      (id, at) => void this.expand(id, at),
    );
    if (map.isStyleLoaded()) this.addLayers();
    else map.once("load", () => this.addLayers());
  }

  /** Every item held (live or replayed), filtered or not. */
  get all(): Item[] {
    return [...this.entries.values()].map((e) => e.item);
  }

  /** The items on the map: what the banner must cover. */
  get items(): Item[] {
    return this.all.filter(this.filter);
  }

  get(uid: string): Item | undefined {
    return this.entries.get(uid)?.item;
  }

  setFilter(filter: (item: Item) => boolean): void {
    this.filter = filter;
    this.changed();
  }

  replaceAll(items: Item[], now: number): void {
    this.entries.clear();
    for (const item of items) this.place(item, now);
    this.changed();
  }

  upsert(item: Item, now: number): void {
    this.upsertMany([item], now);
  }

  upsertMany(items: Item[], now: number): void {
    for (const item of items) this.place(item, now);
    this.changed();
  }

  remove(uid: string): void {
    if (this.entries.delete(uid)) this.changed();
  }

  clear(): void {
    this.entries.clear();
    this.changed();
  }

  select(uid: string | null): void {
    this.selected = uid;
    if (this.ready) this.map.setFilter("track-selected", ["==", ["get", "uid"], uid ?? ""]);
    this.proxies.select(uid);
  }

  /** Fade items close to stale and drop the ones past it. */
  tick(now: number): void {
    let changed = false;
    for (const [uid, entry] of this.entries) {
      const stale = parseTime(entry.item.stale);
      if (stale === null) continue;
      if (now >= stale) {
        this.entries.delete(uid);
        changed = true;
        continue;
      }
      const born = parseTime(entry.item.start) ?? parseTime(entry.item.time) ?? now;
      const fading = stale - now <= Math.max(stale - born, 1) * FADE_SHARE;
      if (fading !== entry.fading) {
        entry.fading = fading;
        entry.point = undefined;
        changed = true;
      }
    }
    if (changed) this.changed();
  }

  /** Frame the map on what is shown (the initial view fits what the user can see). */
  fit(fallback: [[number, number], [number, number]]): void {
    const shown = this.items.filter((i) => Number.isFinite(i.lat) && Number.isFinite(i.lon));
    if (!shown.length) {
      this.map.fitBounds(fallback, { padding: 10, duration: 0 });
      return;
    }
    const bounds = new maplibregl.LngLatBounds();
    for (const item of shown) bounds.extend([item.lon, item.lat]);
    // Centred on what is shown and zoomed out enough for all of it, but no closer than
    // the theatre (the fallback's zoom): a few items close together keep their context.
    const theatre = this.map.cameraForBounds(fallback, { padding: 10 })?.zoom;
    this.map.fitBounds(bounds, { padding: 80, maxZoom: theatre ?? 6, duration: 0 });
  }

  private place(item: Item, now: number): void {
    if (!Number.isFinite(item.lat) || !Number.isFinite(item.lon)) return;
    const stale = parseTime(item.stale);
    if (stale !== null && stale <= now) {
      this.entries.delete(item.uid);
      return;
    }
    const born = parseTime(item.start) ?? parseTime(item.time) ?? now;
    const fading = stale !== null && stale - now <= Math.max(stale - born, 1) * FADE_SHARE;
    this.entries.set(item.uid, { item, fading });
    if (this.paintHook) this.fresh.push(item);
  }

  private changed(): void {
    this.notify();
    if (this.frame) return;
    // At most one setData per FLUSH_MS: re-tiling and clustering thousands of points is
    // the map's costliest step, and a track reporting once a second needs no more. On a
    // machine where one update takes longer than that to reach the screen, the page
    // updates at most every CYCLE_SHARE such cycles, so that it still answers (panning,
    // clicks, the stream) between them instead of drawing all the time.
    const every = Math.max(FLUSH_MS, this.cycle * CYCLE_SHARE);
    const wait = Math.max(0, this.lastFlush + every - performance.now());
    this.frame = window.setTimeout(() => requestAnimationFrame(() => this.flush()), wait);
  }

  /** Tell the page (banner, counts, details) at most every NOTIFY_MS: with thousands of
   * tracks reporting, rolling up their markings per update would cost the frames. */
  private notify(): void {
    if (this.notifyTimer) return;
    const wait = Math.max(0, this.lastNotify + NOTIFY_MS - performance.now());
    this.notifyTimer = window.setTimeout(() => {
      this.notifyTimer = 0;
      this.lastNotify = performance.now();
      this.onChange();
    }, wait);
  }

  /** One setData per source per frame, however many updates arrived. */
  private flush(): void {
    this.frame = 0;
    if (!this.ready) return;
    if (!this.map.isSourceLoaded(TRACKS) && performance.now() - this.lastFlush < MAX_WAIT_MS) {
      // The last update is still being tiled or drawn: wait for it rather than queue
      // another behind it (on a slow machine the backlog, not the map, would grow).
      this.frame = window.setTimeout(() => requestAnimationFrame(() => this.flush()), FLUSH_MS / 2);
      return;
    }
    this.lastFlush = performance.now();
    this.drawing = true;
    const points: FeatureCollection<Point, PointProps> = { type: "FeatureCollection", features: [] };
    const shapes: FeatureCollection<LineString | Polygon, ShapeProps> = { type: "FeatureCollection", features: [] };
    const shown: Item[] = [];
    for (const entry of this.entries.values()) {
      const item = entry.item;
      if (!this.filter(item)) continue;
      shown.push(item);
      entry.point ??= pointFeature(item, entry.fading);
      points.features.push(entry.point);
      if (isDrawing(item)) shapes.features.push(...shapeFeatures(item));
    }
    (this.map.getSource(TRACKS) as GeoJSONSource).setData(points);
    (this.map.getSource(SHAPES) as GeoJSONSource).setData(shapes);
    if (this.fresh.length) {
      this.applied.push(...this.fresh);
      this.fresh = [];
    }
    this.proxies.dataChanged(shown.length);
  }

  private addLayers(): void {
    const map = this.map;
    map.addSource(TRACKS, {
      type: "geojson",
      data: EMPTY,
      cluster: true,
      clusterRadius: 44,
      clusterMaxZoom: CLUSTER_MAX_ZOOM,
    });
    map.addSource(SHAPES, { type: "geojson", data: EMPTY });
    map.addLayer({
      id: "shape-fill",
      type: "fill",
      source: SHAPES,
      filter: ["==", ["get", "closed"], 1],
      paint: { "fill-color": ["get", "fill"] },
    });
    map.addLayer({
      id: "shape-line",
      type: "line",
      source: SHAPES,
      paint: { "line-color": ["get", "stroke"], "line-width": 2.5 },
    });
    const unclustered: maplibregl.FilterSpecification = ["!", ["has", "point_count"]];
    map.addLayer({
      id: "track-selected",
      type: "circle",
      source: TRACKS,
      filter: ["==", ["get", "uid"], ""],
      paint: { "circle-radius": 22, "circle-color": "rgba(128, 224, 255, 0.18)", "circle-stroke-color": "#80e0ff", "circle-stroke-width": 2 },
    });
    map.addLayer({
      id: "track-heading",
      type: "symbol",
      source: TRACKS,
      filter: ["all", unclustered, ["==", ["get", "heading"], 1]],
      layout: {
        "icon-image": LEADER,
        "icon-rotate": ["get", "course"],
        "icon-rotation-alignment": "map",
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
      },
      paint: { "icon-opacity": ["case", ["==", ["get", "fade"], 1], 0.35, 0.9] },
    });
    // Labels below the symbols: maplibre places the top layer first, so a label is
    // dropped where it would cover a symbol or an earlier label.
    map.addLayer({
      id: LABEL_LAYER,
      type: "symbol",
      source: TRACKS,
      minzoom: LABEL_MIN_ZOOM,
      filter: unclustered,
      layout: {
        "icon-image": ["get", "label"],
        "icon-anchor": "left",
        "icon-offset": ["interpolate", ["linear"], ["get", "hw"], 0, ["literal", [4, 0]], 100, ["literal", [104, 0]]],
        "icon-padding": 1,
        "icon-allow-overlap": false,
        "symbol-sort-key": ["get", "fade"],
      },
      paint: { "icon-opacity": ["case", ["==", ["get", "fade"], 1], 0.45, 1] },
    });
    map.addLayer({
      id: ICON_LAYER,
      type: "symbol",
      source: TRACKS,
      filter: unclustered,
      layout: {
        "icon-image": ["get", "icon"],
        "icon-allow-overlap": true,
        "icon-padding": 0,
      },
      paint: { "icon-opacity": ["case", ["==", ["get", "fade"], 1], 0.35, 1] },
    });
    map.addLayer({
      id: CLUSTER_LAYER,
      type: "symbol",
      source: TRACKS,
      filter: ["has", "point_count"],
      layout: {
        "icon-image": ["concat", "cl:", ["get", "point_count_abbreviated"]],
        "icon-allow-overlap": true,
      },
    });
    map.on("click", ICON_LAYER, (e) => {
      const uid = e.features?.[0]?.properties?.uid as string | undefined;
      if (uid) this.onSelect(uid);
    });
    map.on("click", "shape-line", (e) => {
      const uid = e.features?.[0]?.properties?.uid as string | undefined;
      if (uid) this.onSelect(uid);
    });
    map.on("click", CLUSTER_LAYER, (e) => {
      const feature = e.features?.[0];
      if (feature?.geometry.type !== "Point") return;
      const id = feature.properties?.cluster_id as number;
      void this.expand(id, feature.geometry.coordinates as [number, number]);
    });
    for (const layer of [ICON_LAYER, CLUSTER_LAYER, "shape-line"]) {
      map.on("mouseenter", layer, () => (map.getCanvas().style.cursor = "pointer"));
      map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
    }
    map.on("render", () => this.painted());
    this.ready = true;
    this.select(this.selected);
    this.changed();
  }

  /** Zoom in until the cluster comes apart (maplibre's own expansion zoom). Tracks move
   * and the clusters are made again with every update, so the id may be gone by now: the
   * cluster drawn at that place now is expanded, else that id, else the map zooms in. */
  private async expand(id: number, at: [number, number]): Promise<void> {
    const source = this.map.getSource(TRACKS) as GeoJSONSource;
    const here = this.map.queryRenderedFeatures(this.map.project(at), { layers: [CLUSTER_LAYER] });
    const ids = [...here.map((f) => f.properties?.cluster_id as number | undefined), id];
    let zoom = Math.min(this.map.getZoom() + 2, CLUSTER_MAX_ZOOM + 1);
    for (const candidate of ids) {
      if (candidate === undefined) continue;
      try {
        zoom = (await source.getClusterExpansionZoom(candidate)) + 0.5;
        break;
      } catch {
        // not a cluster of the current data: try the next
      }
    }
    this.map.easeTo({ center: at, zoom: Math.max(zoom, this.map.getZoom() + 0.5), duration: 300 });
  }

  private painted(): void {
    if (!this.map.isSourceLoaded(TRACKS)) return;
    if (this.drawing) {
      this.drawing = false;
      const took = performance.now() - this.lastFlush;
      this.cycle = this.cycle ? 0.8 * this.cycle + 0.2 * took : took;
    }
    if (!this.paintHook || !this.applied.length) return;
    const items = this.applied;
    this.applied = [];
    const hook = this.paintHook;
    // The frame that draws the new data is the next one the browser paints.
    requestAnimationFrame(() => hook(items, Date.now()));
  }
}
