// Filters for the map: affiliation (from the CoT type), nation (the originator the
// server recorded in the item's marking) and marking level (the server's display class).
// Hidden items are off the map and out of the banner's roll-up; nothing is re-marked.

import { h } from "./dom";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { affiliationOf } from "./features";
import type { Item } from "./types";

const AFFILIATIONS: { id: string; key: Key }[] = [
  { id: "friend", key: "aff.friend" },
  { id: "hostile", key: "aff.hostile" },
  { id: "neutral", key: "aff.neutral" },
  { id: "unknown", key: "aff.unknown" },
  { id: "other", key: "aff.other" },
];
const NATIONS = ["USA", "JPN", "PHL", "other"];
const NATION_NAMES: Record<string, Key> = { USA: "nation.USA", JPN: "nation.JPN", PHL: "nation.PHL", other: "filter.othernation" };
const CLASSES: { id: string; key: Key }[] = [
  { id: "mk-u", key: "class.u" },
  { id: "mk-cui", key: "class.cui" },
  { id: "mk-r", key: "class.r" },
  { id: "mk-c", key: "class.c" },
  { id: "mk-s", key: "class.s" },
  { id: "mk-ts", key: "class.ts" },
  { id: "mk-ts-sci", key: "class.tssci" },
];

export class Filters {
  readonly el: HTMLElement;
  private readonly off = { affiliation: new Set<string>(), nation: new Set<string>(), class: new Set<string>() };
  private readonly summary = h("summary", { "data-testid": "filter-toggle" }, t("filter.title"));

  constructor(private readonly onChange: () => void) {
    const group = (name: keyof Filters["off"], title: Key, options: { id: string; label: string }[]): HTMLElement =>
      h(
        "fieldset",
        {},
        h("legend", {}, t(title)),
        options.map((o) =>
          h(
            "label",
            { class: "check" },
            h("input", {
              type: "checkbox",
              checked: true,
              "data-testid": `filter-${name}-${o.id}`,
              onchange: (e: Event) => this.set(name, o.id, (e.target as HTMLInputElement).checked),
            }),
            o.label,
          ),
        ),
      );
    this.el = h(
      "details",
      { class: "filters" },
      this.summary,
      h(
        "div",
        { class: "filter-body" },
        group("affiliation", "filter.affiliation", AFFILIATIONS.map((a) => ({ id: a.id, label: t(a.key) }))),
        group("nation", "filter.nation", NATIONS.map((n) => ({ id: n, label: t(NATION_NAMES[n] ?? "filter.othernation") }))),
        group("class", "filter.marking", CLASSES.map((c) => ({ id: c.id, label: t(c.key) }))),
      ),
    );
  }

  private set(name: keyof Filters["off"], id: string, on: boolean): void {
    if (on) this.off[name].delete(id);
    else this.off[name].add(id);
    const count = this.off.affiliation.size + this.off.nation.size + this.off.class.size;
    this.summary.textContent = count ? t("filter.active", { n: count }) : t("filter.title");
    this.onChange();
  }

  /** Whether an item passes every filter. */
  readonly matches = (item: Item): boolean => {
    if (this.off.affiliation.has(affiliationOf(item))) return false;
    const nation = item.marking?.originator ?? "other";
    if (this.off.nation.has(NATIONS.includes(nation) ? nation : "other")) return false;
    return !this.off.class.has(item.marking?.class ?? "mk-ts");
  };
}
