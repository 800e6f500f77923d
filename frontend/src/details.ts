// The details panel of a selected map item: every field, under its portion marking.

import { h } from "./dom";
import { formatPortion, markingClass, markingFromAttributes, parseMarking } from "./marking";
import type { ParsedMarking } from "./marking";
import { sidcFor } from "./sidc";
import { dtg } from "./time";
import type { Item } from "./types";

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
];
const TIMES = new Set(["time", "start", "stale"]);

/** The parsed marking of an item: its `marking` field, else its CoT attributes. */
export function itemMarking(item: Item): ParsedMarking {
  if (item.marking?.banner) return parseMarking(item.marking.banner);
  return markingFromAttributes(item.access, item.caveat, item.releasableTo);
}

function show(key: string, value: unknown, item: Item): string {
  if (key === "sidc" && !item.sidc) return `${sidcFor(item) ?? "—"} (from type)`;
  if (value === null || value === undefined || value === "") return "—";
  if (TIMES.has(key) && typeof value === "string") return `${dtg(value)}  (${value})`;
  if (key === "lat" || key === "lon") return Number(value).toFixed(5);
  if (key === "course") return `${Number(value).toFixed(0)}°`;
  if (key === "speed") return `${Number(value).toFixed(1)} m/s`;
  if (key === "marking" && typeof value === "object") {
    const m = value as { banner?: string; portion?: string };
    return `${m.banner ?? ""}  ${m.portion ?? ""}`.trim();
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export class DetailsPanel {
  readonly el: HTMLElement;
  private uid: string | null = null;

  constructor(private readonly onClose: () => void) {
    this.el = h("aside", { class: "details hidden", "data-testid": "details-panel" });
  }

  get current(): string | null {
    return this.uid;
  }

  open(item: Item): void {
    this.uid = item.uid;
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

  private render(item: Item): void {
    const marking = itemMarking(item);
    const keys = [...ORDER, ...Object.keys(item).filter((k) => !ORDER.includes(k)).sort()];
    this.el.replaceChildren(
      h(
        "div",
        { class: `portion ${markingClass(marking)}`, "data-testid": "details-portion" },
        item.marking?.portion ?? formatPortion(marking),
      ),
      h(
        "header",
        { class: "details-head" },
        h("div", { class: "details-title" }, item.callsign || item.uid),
        h(
          "button",
          { class: "icon-button", title: "Close", "data-testid": "details-close", onclick: () => this.close() },
          "✕",
        ),
      ),
      h(
        "table",
        { class: "fields" },
        h(
          "tbody",
          {},
          keys.map((k) =>
            h("tr", {}, h("th", {}, k), h("td", { "data-field": k }, show(k, item[k], item))),
          ),
        ),
      ),
    );
  }
}
