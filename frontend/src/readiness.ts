// The readiness dashboard: units by P/S/R/T and C-level (SORTS-style), colour-coded,
// stale reports marked, with roll-up rows by command and by nation.

import { apiGet, listOf } from "./api";
import { h, testId } from "./dom";
import { markingClass, portionOf } from "./marking";
import type { Part } from "./marking";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { timeEl } from "./time";
import type { ReadinessReport, Rollup } from "./types";

const AREAS = ["p", "s", "r", "t"] as const;
const LEVELS = ["C-1", "C-2", "C-3", "C-4", "C-5"];

export function levelClass(level: string | number | null | undefined): string {
  if (level === null || level === undefined || level === "") return "lvl-none";
  const n = typeof level === "number" ? level : Number(String(level).replace(/^C-?/i, ""));
  return Number.isInteger(n) && n >= 1 && n <= 5 ? `lvl-${n}` : "lvl-none";
}

/** Accept the domain spelling too (`P`…`T`, `assessed_level`): one shape for the grid. */
export function normaliseReport(raw: ReadinessReport): ReadinessReport {
  const r = raw as ReadinessReport & Record<string, unknown>;
  const num = (lower: number | undefined, upper: unknown): number => (lower ?? (upper as number));
  return {
    ...r,
    p: num(r.p, r.P),
    s: num(r.s, r.S),
    r: num(r.r, r.R),
    t: num(r.t, r.T),
    assessed: r.assessed ?? (r.assessed_level as string | undefined) ?? null,
    level: r.level ?? r.assessed ?? (r.assessed_level as string | undefined) ?? r.computed,
  };
}

/** The newest report per unit. */
export function latestPerUnit(reports: ReadinessReport[]): ReadinessReport[] {
  const latest = new Map<string, ReadinessReport>();
  for (const r of reports) {
    const seen = latest.get(r.unit);
    if (!seen || (r.reported_at ?? "") >= (seen.reported_at ?? "")) latest.set(r.unit, r);
  }
  return [...latest.values()].sort(
    (a, b) => (a.nation ?? "").localeCompare(b.nation ?? "") || (a.unit_name ?? a.unit).localeCompare(b.unit_name ?? b.unit),
  );
}

/** Roll-ups arrive as a list, `{rollups: [...]}` or `{NATION: Rollup}`. */
export function rollupList(body: unknown): Rollup[] {
  const list = listOf<Rollup>(body, "rollups", "nations", "items");
  if (list.length || !body || typeof body !== "object") return list;
  const record = body as Record<string, unknown>;
  const keyed = record.nations && typeof record.nations === "object" ? record.nations : record;
  return Object.entries(keyed as Record<string, unknown>)
    .filter(([, v]) => v && typeof v === "object" && !Array.isArray(v))
    .map(([k, v]) => ({ nation: k, ...(v as Rollup) }));
}

export class ReadinessDashboard {
  readonly el: HTMLElement;
  private reports: ReadinessReport[] = [];
  private commandRollups: Rollup[] = [];
  private nationRollups: Rollup[] = [];
  private nationBanner: string | null = null;
  private error: string | null = null;

  constructor(
    private readonly commands: () => string[],
    private readonly orgName: (id: string) => string,
    private readonly onChange: () => void,
  ) {
    this.el = h("div", { class: "readiness" });
  }

  /** Everything on the panel, for the page banner: the markings and roll-up banners the
   * server sent (a missing one makes the whole MARKING UNKNOWN). */
  get markings(): Part[] {
    if (this.error) return [];
    const loaded = this.nationBanner !== null;
    return [
      ...this.reports.map((r) => r.marking),
      ...this.commandRollups.map((r) => r.banner),
      ...this.nationRollups.map((r) => r.banner),
      ...(loaded ? [this.nationBanner] : []),
    ];
  }

  async load(): Promise<void> {
    try {
      const [reports, nations, ...commands] = await Promise.all([
        apiGet<unknown>("/api/v1/readiness"),
        apiGet<unknown>("/api/v1/readiness/rollup?by=nation"),
        ...this.commands().map((id) => apiGet<unknown>(`/api/v1/readiness/rollup?org=${encodeURIComponent(id)}`)),
      ]);
      this.reports = latestPerUnit(listOf<ReadinessReport>(reports, "reports", "items").map(normaliseReport));
      this.nationRollups = rollupList(nations);
      const banner = (nations as { banner?: unknown } | null)?.banner;
      this.nationBanner = typeof banner === "string" ? banner : "";
      this.commandRollups = commands.flatMap((c) => (Array.isArray(c) ? (c as Rollup[]) : [c as Rollup]));
      this.error = null;
    } catch (err) {
      this.error = t("readiness.unavailable", { why: err instanceof Error ? err.message : String(err) });
    }
    this.render();
  }

  upsert(report: ReadinessReport): void {
    this.reports = latestPerUnit([...this.reports, normaliseReport(report)]);
    this.render();
  }

  private render(): void {
    this.onChange();
    if (this.error) {
      this.el.replaceChildren(h("div", { class: "empty" }, this.error));
      return;
    }
    const area = (value: number | null | undefined): HTMLElement =>
      h("td", { class: `area ${levelClass(value)}` }, value ?? "—");
    const grid = h(
      "table",
      { class: "grid", "data-testid": "readiness-grid" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { class: "unit-col" }, t("readiness.unit")),
          h("th", {}, t("readiness.nation")),
          ...AREAS.map((a) => h("th", { title: t(AREA_TITLES[a]) }, a.toUpperCase())),
          h("th", {}, t("readiness.computed")),
          h("th", { title: t("readiness.level.title") }, t("readiness.level")),
          h("th", {}, t("readiness.reported")),
        ),
      ),
      h(
        "tbody",
        {},
        this.reports.length
          ? this.reports.map((r) => {
              const marking = r.marking;
              const overall = r.level ?? r.computed;
              const overridden = Boolean(r.assessed) && r.assessed !== r.computed;
              return h(
                "tr",
                { class: r.stale ? "stale" : "", "data-testid": `readiness-row-${testId(r.unit)}` },
                h(
                  "td",
                  { class: "unit-col", title: r.unit },
                  h("div", { class: "unit-name", translate: "no" }, this.orgName(r.unit) !== r.unit ? this.orgName(r.unit) : (r.unit_name ?? r.unit)),
                  h("span", { class: `portion tiny ${markingClass(marking)}`, translate: "no" }, portionOf(marking)),
                ),
                h("td", { translate: "no" }, r.nation ?? ""),
                ...AREAS.map((a) => area(r[a])),
                h("td", { class: `clevel ${levelClass(r.computed)}` }, r.computed ?? "—"),
                h(
                  "td",
                  {
                    class: `clevel ${levelClass(overall)}${overridden ? " overridden" : ""}`,
                    title: overridden ? t("readiness.overridden", { assessed: r.assessed ?? "", computed: r.computed ?? "", reason: r.reason ?? "" }) : "",
                    "data-testid": `readiness-level-${testId(r.unit)}`,
                  },
                  overall ?? "—",
                ),
                h(
                  "td",
                  { class: "reported" },
                  timeEl(r.reported_at),
                  r.stale ? h("span", { class: "stale-badge", "data-testid": `stale-${testId(r.unit)}` }, t("readiness.stale")) : null,
                ),
              );
            })
          : [h("tr", {}, h("td", { colspan: 9, class: "empty" }, t("readiness.none")))],
      ),
    );
    this.el.replaceChildren(
      h("h3", { class: "section-title" }, t("readiness.units")),
      grid,
      h("h3", { class: "section-title" }, t("readiness.bycommand")),
      this.rollupTable(this.commandRollups, "rollup-commands"),
      h("h3", { class: "section-title" }, t("readiness.bynation")),
      this.rollupTable(this.nationRollups, "rollup-nations"),
    );
  }

  private rollupTable(rows: Rollup[], id: string): HTMLElement {
    if (!rows.length) return h("div", { class: "empty", "data-testid": id }, t("readiness.norollup"));
    return h(
      "table",
      { class: "grid rollup", "data-testid": id },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { class: "unit-col" }, t("readiness.commandnation")),
          h("th", { title: t("readiness.rep.title") }, t("readiness.rep")),
          h("th", {}, t("readiness.stalecol")),
          h("th", {}, t("readiness.missing")),
          h("th", { class: "dist-col" }, t("readiness.clevels")),
          h("th", {}, t("readiness.worst")),
          ...AREAS.map((a) => h("th", { title: t("readiness.worstof", { area: t(AREA_TITLES[a]) }) }, a.toUpperCase())),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((r) => {
          const total = LEVELS.reduce((n, l) => n + (r.by_level?.[l] ?? 0), 0);
          const key = r.org ?? r.nation ?? r.name ?? "";
          return h(
            "tr",
            { "data-testid": `rollup-row-${testId(key)}` },
            h("td", { class: "unit-col", title: r.banner ?? "", translate: "no" }, r.org ? this.orgName(r.org) : (r.name ?? r.nation ?? "—")),
            h("td", {}, `${r.reported ?? 0}/${r.units ?? 0}`),
            h("td", { class: r.stale ? "warn" : "" }, r.stale ?? 0),
            h("td", { class: r.missing ? "warn" : "" }, r.missing ?? 0),
            h(
              "td",
              { class: "dist-col" },
              h(
                "div",
                { class: "dist" },
                LEVELS.filter((l) => (r.by_level?.[l] ?? 0) > 0).map((l) =>
                  h(
                    "span",
                    {
                      class: `dist-seg ${levelClass(l)}`,
                      style: `flex-grow:${r.by_level?.[l] ?? 0}`,
                      title: t("readiness.share", { level: l, n: r.by_level?.[l] ?? 0, total }),
                    },
                    String(r.by_level?.[l] ?? 0),
                  ),
                ),
              ),
            ),
            h("td", { class: `clevel ${levelClass(r.worst)}` }, r.worst ?? "—"),
            ...AREAS.map((a) => {
              const worst = r.areas?.[a.toUpperCase()]?.worst;
              const mean = r.areas?.[a.toUpperCase()]?.mean;
              return h(
                "td",
                { class: `area ${levelClass(worst)}`, title: mean != null ? t("readiness.mean", { mean: mean.toFixed(1) }) : "" },
                worst ?? "—",
              );
            }),
          );
        }),
      ),
    );
  }
}

const AREA_TITLES: Record<(typeof AREAS)[number], Key> = {
  p: "readiness.p",
  s: "readiness.s",
  r: "readiness.r",
  t: "readiness.t",
};
