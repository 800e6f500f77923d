// The details panel of a selected map item: every field, under its portion marking,
// with edit and delete for a signed-in user (the server decides whether they may).

import { h } from "./dom";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { markingClass, portionOf } from "./marking";
import { sidcFor } from "./sidc";
import { stamp } from "./time";
import type { Item, Marking } from "./types";

const ORDER = [
  "uid",
  "callsign",
  "type",
  "sidc",
  "how",
  "time",
  "start",
  "stale",
  "lat",
  "lon",
  "hae",
  "ce",
  "le",
  "course",
  "speed",
  "group",
  "remarks",
  "access",
  "caveat",
  "releasableTo",
  "marking",
  "shape",
];
const TIMES = new Set(["time", "start", "stale"]);

/** The marking the server gave an item (none: shown as MARKING UNKNOWN, fail closed). */
export function itemMarking(item: Item): Marking | null {
  return item.marking ?? null;
}

function show(key: string, value: unknown, item: Item): string {
  if (key === "sidc" && !item.sidc) return `${sidcFor(item) ?? "—"} ${t("details.fromtype")}`;
  if (value === null || value === undefined || value === "") return "—";
  if (TIMES.has(key) && typeof value === "string") return stamp(value, true);
  if (key === "lat" || key === "lon") return Number(value).toFixed(5);
  if (key === "course") return `${Number(value).toFixed(0)}°`;
  if (key === "speed") return `${Number(value).toFixed(1)} m/s`;
  if (key === "marking" && typeof value === "object") {
    const m = value as { banner?: string; portion?: string };
    return `${m.banner ?? ""}  ${m.portion ?? ""}`.trim();
  }
  if (key === "shape" && typeof value === "object") {
    const s = value as { kind: string; points: unknown[]; radii: number[] };
    return s.kind === "circle" ? s.radii.map((r) => `${Math.round(r)} m`).join(", ") : t("details.points", { n: s.points.length });
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function label(key: string): string {
  return ORDER.includes(key) ? t(`field.${key}` as Key) : key;
}

export class DetailsPanel {
  readonly el: HTMLElement;
  private uid: string | null = null;
  private error = "";

  constructor(
    private readonly onClose: () => void,
    private readonly onEdit: (item: Item) => void,
    private readonly onDelete: (item: Item) => Promise<string | null>,
    private readonly canEdit: () => boolean,
  ) {
    this.el = h("aside", { class: "details hidden", "data-testid": "details-panel" });
  }

  get current(): string | null {
    return this.uid;
  }

  open(item: Item): void {
    this.uid = item.uid;
    this.error = "";
    this.render(item);
    this.el.classList.remove("hidden");
  }

  /** Re-render when the shown item changed; close when it left the picture. */
  refresh(item: Item | undefined): void {
    if (this.uid === null) return;
    if (!item) this.close();
    else this.render(item);
  }

  close(): void {
    if (this.uid === null) return;
    this.uid = null;
    this.el.classList.add("hidden");
    this.el.replaceChildren();
    this.onClose();
  }

  private async remove(item: Item): Promise<void> {
    this.error = (await this.onDelete(item)) ?? "";
    if (this.uid === item.uid) this.render(item);
  }

  private render(item: Item): void {
    const marking = itemMarking(item);
    const keys = [...ORDER, ...Object.keys(item).filter((k) => !ORDER.includes(k)).sort()];
    const parts: (HTMLElement | null)[] = [
      h("div", { class: `portion ${markingClass(marking)}`, "data-testid": "details-portion", translate: "no" }, portionOf(marking)),
      h(
        "header",
        { class: "details-head" },
        h("div", { class: "details-title", translate: "no" }, item.callsign || item.uid),
        h(
          "button",
          { class: "icon-button", title: t("details.close"), "aria-label": t("details.close"), "data-testid": "details-close", onclick: () => this.close() },
          "✕",
        ),
      ),
      this.canEdit()
        ? h(
            "div",
            { class: "actions" },
            h("button", { "data-testid": "details-edit", onclick: () => this.onEdit(item) }, t("details.edit")),
            h("button", { class: "danger", "data-testid": "details-delete", onclick: () => void this.remove(item) }, t("details.delete")),
          )
        : null,
      this.error ? h("div", { class: "error", "data-testid": "details-error" }, this.error) : null,
      h(
        "table",
        { class: "fields" },
        h(
          "tbody",
          {},
          keys.map((k) =>
            h("tr", {}, h("th", {}, label(k)), h("td", { "data-field": k, translate: "no" }, show(k, item[k], item))),
          ),
        ),
      ),
    ];
    this.el.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }
}
