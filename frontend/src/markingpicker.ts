// The marking picker: only the markings the server says the signed-in user may
// originate (GET /api/v1/markings/allowed, computed with the server's send rule), the
// lowest selected by default, each shown in its level's colour. The page never builds
// a marking itself; what it sends is one of the banners the server offered.

import { apiGet } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
import { markingClass } from "./marking";
import type { Marking } from "./types";

interface Allowed {
  markings: Marking[];
  default: Marking | null;
}

let cached: Promise<Allowed> | null = null;

/** The server's list for the current principal (fetched once per sign-in). */
export function allowedMarkings(): Promise<Allowed> {
  cached ??= apiGet<Allowed>("/api/v1/markings/allowed").catch((err: unknown) => {
    cached = null;
    throw err;
  });
  return cached;
}

export function forgetAllowedMarkings(): void {
  cached = null;
}

export class MarkingPicker {
  readonly el: HTMLSelectElement;
  private generation = 0;

  constructor(testid: string) {
    this.el = h("select", { class: "marking-picker", "data-testid": testid, "aria-label": t("marking.picker") });
    this.el.addEventListener("change", () => this.paint());
    void this.load();
  }

  /** The chosen banner; null until the server's list has arrived. */
  get value(): string | null {
    return this.el.value || null;
  }

  set value(banner: string | null) {
    if (banner && [...this.el.options].some((o) => o.value === banner)) this.el.value = banner;
    this.paint();
  }

  async load(selected?: string | null): Promise<void> {
    // A sign-in asks again: an answer for the previous principal that arrives late
    // must not replace the new one's list.
    const generation = ++this.generation;
    try {
      const allowed = await allowedMarkings();
      if (generation !== this.generation) return;
      this.el.replaceChildren(
        ...allowed.markings.map((m) => h("option", { value: m.banner, class: markingClass(m), translate: "no" }, m.banner)),
      );
      this.el.value = selected ?? allowed.default?.banner ?? "";
      if (selected && this.el.value !== selected) this.el.value = allowed.default?.banner ?? "";
      this.el.disabled = allowed.markings.length === 0;
    } catch {
      if (generation !== this.generation) return;
      this.el.replaceChildren(h("option", { value: "" }, t("marking.unavailable")));
      this.el.disabled = true;
    }
    this.paint();
  }

  private paint(): void {
    const option = this.el.selectedOptions[0];
    this.el.className = `marking-picker ${option?.className ?? ""}`;
  }
}
