// Marking up the map: place and edit markers, draw lines, polygons, circles and range
// rings. Geometry is picked on the map (clicks; a double click or "Finish" ends a line
// or polygon; a circle is its centre then a point on its edge), then a form takes the
// callsign, remarks and marking (only markings the server lets this user originate).
// The server turns it into the CoT ATAK makes (POST /api/v1/items) and answers its uid;
// the item then arrives like any other, through the stream.

import type { FeatureCollection } from "geojson";
import type maplibregl from "maplibre-gl";
import type { GeoJSONSource } from "maplibre-gl";
import { ApiError, apiDelete, apiPost } from "./api";
import { h } from "./dom";
import { circle } from "./features";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { MarkingPicker } from "./markingpicker";
import { SymbolPicker } from "./symbolpicker";
import type { Item } from "./types";

type Tool = "marker" | "line" | "polygon" | "circle" | "rings";
const TOOLS: { id: Tool; key: Key; glyph: string }[] = [
  { id: "marker", key: "draw.marker", glyph: "◆" },
  { id: "line", key: "draw.line", glyph: "╱" },
  { id: "polygon", key: "draw.polygon", glyph: "⬠" },
  { id: "circle", key: "draw.circle", glyph: "◯" },
  { id: "rings", key: "draw.rings", glyph: "◎" },
];
const DRAFT = "draft";
const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

function metres(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180;
  const dlat = (b[1] - a[1]) * rad;
  const dlon = (b[0] - a[0]) * rad;
  const s = Math.sin(dlat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(s));
}

export class DrawTools {
  readonly toolbar: HTMLElement;
  readonly form: HTMLElement;
  private tool: Tool | null = null;
  private points: [number, number][] = []; // lon, lat
  private radius = 0;
  private editing: Item | null = null;
  private readonly buttons = new Map<Tool, HTMLButtonElement>();
  private readonly finish: HTMLButtonElement;
  private readonly symbols = new SymbolPicker();
  private readonly picker = new MarkingPicker("draw-marking");
  private readonly callsign = h("input", { "data-testid": "draw-callsign", "aria-label": t("draw.callsign") });
  private readonly remarks = h("textarea", { "data-testid": "draw-remarks", rows: 2, "aria-label": t("draw.remarks") });
  private readonly ringCount = h("input", { type: "number", min: 1, max: 10, value: 3, "data-testid": "draw-rings" });
  private readonly radiusField = h("input", { type: "number", min: 1, step: 100, "data-testid": "draw-radius" });
  private readonly error = h("div", { class: "error", "data-testid": "draw-error" });
  private readonly title = h("h3", { class: "section-title" });

  constructor(
    private readonly map: maplibregl.Map,
    private readonly signedIn: () => boolean,
  ) {
    this.finish = h("button", { class: "draw-finish hidden", "data-testid": "draw-finish", onclick: () => this.complete() }, t("draw.finish"));
    this.toolbar = h(
      "div",
      { class: "draw-toolbar", role: "toolbar", "aria-label": t("draw.tools") },
      TOOLS.map((tool) => {
        const button = h(
          "button",
          { class: "tool", "data-testid": `tool-${tool.id}`, title: t(tool.key), "aria-label": t(tool.key), onclick: () => this.start(tool.id) },
          tool.glyph,
        );
        this.buttons.set(tool.id, button);
        return button;
      }),
      this.finish,
    );
    const form = h(
      "form",
      // The server checks what matters; hidden fields (radius, rings) must not block saving.
      { class: "draw-form-body", novalidate: true },
      this.title,
      this.symbols.el,
      h("label", { class: "field" }, h("span", {}, t("draw.callsign")), this.callsign),
      h("label", { class: "field" }, h("span", {}, t("draw.remarks")), this.remarks),
      h("label", { class: "field radius-field" }, h("span", {}, t("draw.radius")), this.radiusField),
      h("label", { class: "field rings-field" }, h("span", {}, t("draw.ringcount")), this.ringCount),
      h("label", { class: "field" }, h("span", {}, t("draw.marking")), this.picker.el),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", "data-testid": "draw-save" }, t("draw.save")),
        h("button", { type: "button", class: "ghost", "data-testid": "draw-cancel", onclick: () => this.cancel() }, t("draw.cancel")),
      ),
      this.error,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.save();
    });
    this.form = h("aside", { class: "draw-form hidden", "data-testid": "draw-form" }, form);
    map.on("click", (e) => this.clicked([e.lngLat.lng, e.lngLat.lat]));
    map.on("dblclick", (e) => {
      if (this.tool === "line" || this.tool === "polygon") {
        e.preventDefault();
        this.complete();
      }
    });
    map.on("mousemove", (e) => this.hover([e.lngLat.lng, e.lngLat.lat]));
    const addDraft = (): void => {
      map.addSource(DRAFT, { type: "geojson", data: EMPTY });
      map.addLayer({ id: "draft-line", type: "line", source: DRAFT, paint: { "line-color": "#ffd166", "line-width": 2, "line-dasharray": [2, 1] } });
      map.addLayer({ id: "draft-points", type: "circle", source: DRAFT, filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 4, "circle-color": "#ffd166" } });
    };
    if (map.isStyleLoaded()) addDraft();
    else map.once("load", addDraft);
  }

  get active(): boolean {
    return this.tool !== null || !this.form.classList.contains("hidden");
  }

  resetMarkings(): void {
    void this.picker.load();
  }

  private start(tool: Tool): void {
    if (!this.signedIn()) {
      this.error.textContent = t("draw.signin");
      this.showForm(false);
      return;
    }
    this.cancel();
    this.tool = tool;
    this.map.doubleClickZoom.disable();
    this.buttons.get(tool)?.classList.add("active");
    this.map.getCanvas().style.cursor = "crosshair";
  }

  /** Edit an item already on the map (geometry kept, attributes from the form). */
  edit(item: Item): void {
    this.cancel();
    this.editing = item;
    const shape = item.shape;
    this.tool = shape ? (shape.kind === "circle" ? (shape.radii.length > 1 ? "rings" : "circle") : shape.kind === "polygon" ? "polygon" : "line") : "marker";
    this.points = shape?.kind === "circle" || !shape ? [[item.lon, item.lat]] : shape.points.map(([lat, lon]) => [lon, lat] as [number, number]);
    this.radius = shape?.radii[0] ?? 0;
    if (shape?.kind === "circle") this.ringCount.value = String(shape.radii.length);
    this.openForm(item);
  }

  private clicked(at: [number, number]): void {
    const tool = this.tool;
    if (!tool || !this.form.classList.contains("hidden")) return;
    if (tool === "marker") {
      this.points = [at];
      this.openForm(null);
    } else if (tool === "circle" || tool === "rings") {
      if (!this.points.length) this.points = [at];
      else {
        this.radius = Math.max(1, Math.round(metres(this.points[0] as [number, number], at)));
        this.openForm(null);
      }
    } else {
      this.points.push(at);
      this.finish.classList.toggle("hidden", this.points.length < (tool === "polygon" ? 3 : 2));
    }
    this.drawDraft();
  }

  private hover(at: [number, number]): void {
    if ((this.tool === "circle" || this.tool === "rings") && this.points.length === 1 && this.form.classList.contains("hidden")) {
      this.radius = metres(this.points[0] as [number, number], at);
      this.drawDraft();
    }
  }

  private complete(): void {
    if (!this.tool || this.points.length < (this.tool === "polygon" ? 3 : 2)) return;
    this.openForm(null);
  }

  private openForm(item: Item | null): void {
    const tool = this.tool ?? "marker";
    this.finish.classList.add("hidden");
    this.title.textContent = t(item ? "draw.edit" : "draw.new", { what: t(TOOLS.find((x) => x.id === tool)?.key ?? "draw.marker") });
    this.symbols.el.classList.toggle("hidden", tool !== "marker");
    if (item && tool === "marker") this.symbols.value = item.type;
    this.callsign.value = item?.callsign ?? "";
    this.remarks.value = item?.remarks ?? "";
    this.radiusField.value = String(Math.round(this.radius));
    this.form.querySelector(".radius-field")?.classList.toggle("hidden", tool !== "circle" && tool !== "rings");
    this.form.querySelector(".rings-field")?.classList.toggle("hidden", tool !== "rings");
    void this.picker.load(item?.marking?.banner ?? null);
    this.error.textContent = "";
    this.showForm(true);
    this.drawDraft();
    this.callsign.focus();
  }

  private showForm(shown: boolean): void {
    this.form.classList.toggle("hidden", !shown);
  }

  private body(): Record<string, unknown> {
    const tool = this.tool ?? "marker";
    const [lon, lat] = this.points[0] ?? [0, 0];
    const common = { callsign: this.callsign.value.trim(), remarks: this.remarks.value, marking: this.picker.value, uid: this.editing?.uid };
    if (tool === "marker") return { ...common, type: this.symbols.value, lat, lon };
    if (tool === "circle" || tool === "rings") {
      const rings = tool === "rings" ? Number(this.ringCount.value) || 1 : 1;
      return { ...common, type: "u-d-c-c", lat, lon, radius: Number(this.radiusField.value) || this.radius, rings };
    }
    const points = this.points.map(([x, y]) => [y, x]);
    const closed = tool === "polygon";
    if (closed && (points[0]?.[0] !== points.at(-1)?.[0] || points[0]?.[1] !== points.at(-1)?.[1])) points.push(points[0] as number[]);
    return { ...common, type: "u-d-f", points, closed };
  }

  private async save(): Promise<void> {
    try {
      await apiPost<{ uid: string }>("/api/v1/items", this.body());
      this.cancel();
    } catch (err) {
      this.error.textContent = err instanceof ApiError ? err.detail : String(err);
    }
  }

  /** DELETE /api/v1/items/{uid}: the server sends the t-x-d-d TAK clients act on. */
  async remove(item: Item): Promise<string | null> {
    try {
      await apiDelete(`/api/v1/items/${encodeURIComponent(item.uid)}`);
      return null;
    } catch (err) {
      return err instanceof ApiError ? err.detail : String(err);
    }
  }

  cancel(): void {
    this.tool = null;
    this.editing = null;
    this.points = [];
    this.radius = 0;
    for (const button of this.buttons.values()) button.classList.remove("active");
    this.finish.classList.add("hidden");
    this.showForm(false);
    this.map.doubleClickZoom.enable();
    this.map.getCanvas().style.cursor = "";
    this.drawDraft();
  }

  private drawDraft(): void {
    const source = this.map.getSource(DRAFT) as GeoJSONSource | undefined;
    if (!source) return;
    const features: FeatureCollection["features"] = this.points.map((p) => ({ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: p } }));
    const first = this.points[0];
    if ((this.tool === "circle" || this.tool === "rings") && first && this.radius > 0) {
      const rings = this.tool === "rings" ? Number(this.ringCount.value) || 1 : 1;
      for (let k = 1; k <= rings; k += 1) {
        features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: circle(first[1], first[0], this.radius * k) } });
      }
    } else if (this.points.length > 1) {
      const line = this.tool === "polygon" && first ? [...this.points, first] : this.points;
      features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: line } });
    }
    source.setData({ type: "FeatureCollection", features });
  }
}
