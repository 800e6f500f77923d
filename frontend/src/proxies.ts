// Focusable stand-ins for the symbols maplibre draws on its canvas. A canvas has no
// elements a keyboard, a screen reader or a test can reach, so every symbol the map
// has placed (up to MAX) gets a transparent button over it: `symbol-<uid>` with the
// item's SIDC, course, label and portion, which selects the item like a click on the
// map does. Placed labels get an inert box `label-<uid>` (aria-hidden) with the screen
// rectangle maplibre's collision detection gave them. Both follow the map's renders,
// at most every REFRESH_MS, and only from what maplibre reports as rendered.

import type { Point } from "geojson";
import type maplibregl from "maplibre-gl";
import { h, testId } from "./dom";
import { t } from "./i18n";
import { portionOf } from "./marking";
import { sidcFor } from "./sidc";
import { sizeOf } from "./symbols";
import type { Item } from "./types";

const MAX = 400;
const REFRESH_MS = 200;
// Above this many features, follow only when the map is idle: querying every frame
// would cost the frames the picture needs.
const BUSY = 1500;
const ICONS = "track-icons";
const LABELS = "track-labels";
const CLUSTERS = "track-clusters";

export class Proxies {
  private readonly layer: HTMLElement;
  private readonly symbols = new Map<string, HTMLButtonElement>();
  private readonly labels = new Map<string, HTMLElement>();
  private readonly clusters = new Map<string, HTMLElement>();
  private timer = 0;
  private last = 0;
  private count = 0;
  private selected: string | null = null;

  constructor(
    private readonly map: maplibregl.Map,
    private readonly onSelect: (uid: string) => void,
    private readonly itemOf: (uid: string) => Item | undefined,
    private readonly onCluster: (id: number, at: [number, number]) => void,
  ) {
    this.layer = h("div", { class: "proxies" });
    map.getContainer().append(this.layer);
    map.on("render", () => this.schedule());
    map.on("idle", () => this.refresh());
  }

  dataChanged(count: number): void {
    this.count = count;
    this.schedule();
  }

  select(uid: string | null): void {
    this.selected = uid;
    for (const [key, el] of this.symbols) el.classList.toggle("selected", key === uid);
  }

  private schedule(): void {
    if (this.timer || this.count > BUSY) return;
    const wait = Math.max(0, REFRESH_MS - (performance.now() - this.last));
    this.timer = window.setTimeout(() => this.refresh(), wait);
  }

  refresh(): void {
    window.clearTimeout(this.timer);
    this.timer = 0;
    this.last = performance.now();
    if (!this.map.getLayer(ICONS)) return;
    this.follow(this.map.queryRenderedFeatures({ layers: [ICONS] }), this.symbols, (uid) => this.symbolProxy(uid));
    const labels = this.map.getLayer(LABELS) ? this.map.queryRenderedFeatures({ layers: [LABELS] }) : [];
    this.follow(labels, this.labels, (uid) => this.labelProxy(uid), true);
    this.followClusters();
  }

  /** Cluster counts as buttons that expand the cluster, like a click on the map. */
  private followClusters(): void {
    const seen = new Set<string>();
    for (const feature of this.map.queryRenderedFeatures({ layers: [CLUSTERS] })) {
      const props = feature.properties as { cluster_id?: number; point_count?: number };
      const id = props.cluster_id;
      if (id === undefined || seen.has(String(id))) continue;
      seen.add(String(id));
      const at = (feature.geometry as Point).coordinates as [number, number];
      let el = this.clusters.get(String(id));
      if (!el) {
        const button = h("button", { class: "cluster", "data-testid": `cluster-${id}` });
        // Where the cluster is now (it follows the tracks), read when it is clicked.
        button.addEventListener("click", (event) => {
          event.stopPropagation();
          this.onCluster(id, [Number(button.dataset.lon), Number(button.dataset.lat)]);
        });
        el = button;
        this.clusters.set(String(id), el);
        this.layer.append(el);
      }
      el.dataset.lon = String(at[0]);
      el.dataset.lat = String(at[1]);
      const count = props.point_count ?? 0;
      el.dataset.count = String(count);
      el.setAttribute("aria-label", t("map.cluster", { n: count }));
      const size = sizeOf(`cl:${feature.properties?.point_count_abbreviated ?? count}`);
      const pos = this.map.project(at);
      el.style.transform = `translate(${(pos.x - size.w / 2).toFixed(1)}px, ${(pos.y - size.h / 2).toFixed(1)}px)`;
      el.style.width = `${size.w}px`;
      el.style.height = `${size.h}px`;
    }
    for (const [id, el] of this.clusters) {
      if (seen.has(id)) continue;
      el.remove();
      this.clusters.delete(id);
    }
  }

  private follow(
    features: maplibregl.MapGeoJSONFeature[],
    held: Map<string, HTMLElement>,
    make: (uid: string) => HTMLElement,
    label = false,
  ): void {
    const seen = new Set<string>();
    for (const feature of features) {
      const props = feature.properties as { uid?: string; icon?: string; label?: string; hw?: number; fade?: number };
      const uid = props.uid;
      if (!uid || seen.has(uid) || seen.size >= MAX) continue;
      seen.add(uid);
      const [lon, lat] = (feature.geometry as Point).coordinates as [number, number];
      const at = this.map.project([lon, lat]);
      const size = sizeOf((label ? props.label : props.icon) ?? "");
      const left = label ? at.x + (props.hw ?? 0) + 4 : at.x - size.w / 2;
      let el = held.get(uid);
      if (!el) {
        el = make(uid);
        held.set(uid, el);
        this.layer.append(el);
      }
      el.style.transform = `translate(${left.toFixed(1)}px, ${(at.y - size.h / 2).toFixed(1)}px)`;
      el.style.width = `${size.w}px`;
      el.style.height = `${size.h}px`;
      if (!label) this.describe(el, uid, props.fade === 1);
    }
    for (const [uid, el] of held) {
      if (seen.has(uid)) continue;
      el.remove();
      held.delete(uid);
    }
  }

  private symbolProxy(uid: string): HTMLButtonElement {
    const el = h("button", { class: "symbol", "data-testid": `symbol-${testId(uid)}`, "data-uid": uid, translate: "no" });
    el.addEventListener("click", (event) => {
      event.stopPropagation();
      this.onSelect(uid);
    });
    el.classList.toggle("selected", uid === this.selected);
    return el;
  }

  private labelProxy(uid: string): HTMLElement {
    return h("div", { class: "label-box", "data-testid": `label-${testId(uid)}`, "aria-hidden": "true" });
  }

  private describe(el: HTMLElement, uid: string, fading: boolean): void {
    const item = this.itemOf(uid);
    if (!item) return;
    const course = typeof item.course === "number" ? String(Math.round(item.course)) : "";
    const label = item.callsign || item.uid;
    el.dataset.sidc = sidcFor(item) ?? "";
    el.dataset.course = course;
    el.title = `${label} ${portionOf(item.marking)}`;
    el.setAttribute("aria-label", t("map.symbol", { label, portion: portionOf(item.marking) }));
    el.classList.toggle("fading", fading);
  }
}
