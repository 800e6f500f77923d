// The 2525 symbol picker: affiliation and function fill in the CoT type (a-h-G-U-C-I…)
// a marker is sent as, with the symbol milsymbol draws for it; points of interest
// (ATAK's spot marker and waypoint) are b-m-p-… types with no affiliation.

import { h } from "./dom";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { drawSymbol } from "./symbols";
import { sidcFromCotType } from "./sidc";

const AFFILIATIONS: { code: string; key: Key }[] = [
  { code: "f", key: "aff.friend" },
  { code: "h", key: "aff.hostile" },
  { code: "n", key: "aff.neutral" },
  { code: "u", key: "aff.unknown" },
];

// The CoT type after "a-<affiliation>-" (2525B hierarchy), or a whole b-m-p type.
export const FUNCTIONS: { fn: string; key: Key }[] = [
  { fn: "G-U-C-I", key: "fn.infantry" },
  { fn: "G-U-C-A", key: "fn.armour" },
  { fn: "G-U-C-F", key: "fn.artillery" },
  { fn: "G-U-C-R", key: "fn.recon" },
  { fn: "G-U-C-E", key: "fn.engineer" },
  { fn: "G-U-C-D", key: "fn.airdefence" },
  { fn: "G-U-S-M", key: "fn.medical" },
  { fn: "G-U-S-S", key: "fn.supply" },
  { fn: "G-U-S-T", key: "fn.transport" },
  { fn: "G-U", key: "fn.ground" },
  { fn: "G-E-V", key: "fn.vehicle" },
  { fn: "G-I", key: "fn.installation" },
  { fn: "A-M-F", key: "fn.fixedwing" },
  { fn: "A-M-H", key: "fn.rotary" },
  { fn: "A-M-F-Q", key: "fn.uav" },
  { fn: "S-C", key: "fn.combatant" },
  { fn: "S-C-A", key: "fn.amphibious" },
  { fn: "S-X", key: "fn.civilship" },
  { fn: "U-S", key: "fn.submarine" },
  { fn: "b-m-p-s-m", key: "fn.spot" },
  { fn: "b-m-p-w", key: "fn.waypoint" },
];

export function cotType(affiliation: string, fn: string): string {
  return fn.startsWith("b-") ? fn : `a-${affiliation}-${fn}`;
}

/** Affiliation and function of a type the picker knows; null for anything else. */
export function parseType(type: string): { affiliation: string; fn: string } | null {
  if (type.startsWith("b-m-p-")) return FUNCTIONS.some((f) => f.fn === type) ? { affiliation: "f", fn: type } : null;
  const match = /^a-([a-z])-(.+)$/.exec(type);
  if (!match?.[1] || !match[2]) return null;
  return { affiliation: match[1], fn: match[2] };
}

export class SymbolPicker {
  readonly el: HTMLElement;
  private readonly affiliation: HTMLSelectElement;
  private readonly fn: HTMLSelectElement;
  private readonly type = h("code", { class: "cot-type", "data-testid": "draw-type", translate: "no" });
  private readonly preview = h("div", { class: "symbol-preview" });
  private custom: string | null = null; // a type the picker has no entry for (kept on edit)

  constructor() {
    this.affiliation = h(
      "select",
      { "data-testid": "draw-affiliation", "aria-label": t("draw.affiliation") },
      AFFILIATIONS.map((a) => h("option", { value: a.code }, t(a.key))),
    );
    this.fn = h(
      "select",
      { "data-testid": "draw-function", "aria-label": t("draw.function") },
      FUNCTIONS.map((f) => h("option", { value: f.fn }, t(f.key))),
    );
    for (const select of [this.affiliation, this.fn]) {
      select.addEventListener("change", () => {
        this.custom = null;
        this.update();
      });
    }
    this.el = h(
      "div",
      { class: "symbol-picker" },
      h("label", { class: "field" }, h("span", {}, t("draw.affiliation")), this.affiliation),
      h("label", { class: "field" }, h("span", {}, t("draw.function")), this.fn),
      h("div", { class: "symbol-row" }, this.preview, this.type),
    );
    this.value = "a-h-G-U-C-I";
  }

  get value(): string {
    return this.custom ?? cotType(this.affiliation.value, this.fn.value);
  }

  set value(type: string) {
    const parsed = parseType(type);
    const known = parsed && FUNCTIONS.some((f) => f.fn === parsed.fn);
    this.custom = known ? null : type;
    if (parsed && known) {
      this.affiliation.value = parsed.affiliation;
      this.fn.value = parsed.fn;
    }
    this.update();
  }

  private update(): void {
    const type = this.value;
    this.type.textContent = type;
    this.affiliation.disabled = type.startsWith("b-");
    const { canvas } = drawSymbol(sidcFromCotType(type), "");
    this.preview.replaceChildren(canvas);
  }
}
