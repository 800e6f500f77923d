// The search box: a unit, a callsign or a request, among what the page holds (so only
// what the server released to this user), and fly to it.

import { h, testId } from "./dom";
import { orgLabel, t } from "./i18n";
import type { DecisionRequest, Item, Organisation } from "./types";

export interface Hit {
  kind: "item" | "org" | "request";
  id: string;
  label: string;
  detail: string;
}

const LIMIT = 12;

export class SearchBox {
  readonly el: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly results = h("ul", { class: "search-results hidden", "data-testid": "search-results", role: "listbox" });

  constructor(
    private readonly sources: () => { items: Item[]; orgs: Organisation[]; requests: DecisionRequest[] },
    private readonly choose: (hit: Hit) => void,
  ) {
    this.input = h("input", {
      type: "search",
      class: "search-input",
      "data-testid": "search-input",
      placeholder: t("search.placeholder"),
      "aria-label": t("search.label"),
      autocomplete: "off",
    });
    this.input.addEventListener("input", () => this.update());
    this.input.addEventListener("keydown", (e: KeyboardEvent) => {
      if (e.key === "Enter") this.results.querySelector<HTMLElement>("li")?.click();
      if (e.key === "Escape") this.close();
    });
    this.el = h("div", { class: "search" }, this.input, this.results);
  }

  private hits(query: string): Hit[] {
    const q = query.toLowerCase();
    const match = (...texts: (string | null | undefined)[]): boolean => texts.some((s) => s?.toLowerCase().includes(q));
    const { items, orgs, requests } = this.sources();
    const hits: Hit[] = [];
    for (const i of items) {
      if (match(i.callsign, i.uid)) hits.push({ kind: "item", id: i.uid, label: i.callsign || i.uid, detail: i.type });
    }
    for (const o of orgs) {
      if (match(o.name, o.native_name, o.id)) hits.push({ kind: "org", id: o.id, label: orgLabel(o), detail: o.nation });
    }
    for (const r of requests) {
      if (match(r.id, r.subject)) hits.push({ kind: "request", id: r.id, label: r.id, detail: r.subject });
    }
    return hits.slice(0, LIMIT);
  }

  private update(): void {
    const query = this.input.value.trim();
    if (query.length < 2) {
      this.close();
      return;
    }
    const hits = this.hits(query);
    this.results.replaceChildren(
      ...(hits.length
        ? hits.map((hit) =>
            h(
              "li",
              {
                role: "option",
                "data-testid": `search-result-${hit.kind}-${testId(hit.id)}`,
                onclick: () => {
                  this.close();
                  this.choose(hit);
                },
              },
              h("span", { class: `search-kind kind-${hit.kind}` }, t(`search.${hit.kind}`)),
              h("span", { class: "search-label", translate: "no" }, hit.label),
              h("span", { class: "search-detail", translate: "no" }, hit.detail),
            ),
          )
        : [h("li", { class: "empty" }, t("search.none"))]),
    );
    this.results.classList.remove("hidden");
  }

  close(): void {
    this.results.classList.add("hidden");
  }
}
