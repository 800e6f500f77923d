// Federation links (admins only): the links to other servers as the server reports them
// (GET /api/v1/federation, owned by web/federation.py): state, peer, last seen, items
// in and out, the guard's refusals, the backlog. Shown as the API sends it; nothing is
// computed here except the sums of the refusal counters, whose parts are in the title.

import { apiGet } from "./api";
import { h, testId } from "./dom";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { timeEl } from "./time";

const REFRESH_MS = 5000;

interface Link {
  name: string;
  peer: { nation?: string | null; clearance?: string | null; address?: string | null };
  direction: string;
  state: string;
  state_since?: string | null;
  last_seen?: string | null;
  last_error?: string | null;
  items_in: number;
  items_out: number;
  refusals: Record<string, number>;
  refused_in: Record<string, number>;
  backlog: { items: number; limit: number; dropped_positions: number; dropped_other: number };
}

interface Federation {
  enabled: boolean;
  server?: { name?: string; listening?: string | null; nation?: string | null };
  links: Link[];
}

// federation/link.py's State.
const STATES: Record<string, Key> = {
  idle: "fed.state.idle",
  connecting: "fed.state.connecting",
  up: "fed.state.up",
  backoff: "fed.state.backoff",
  closed: "fed.state.closed",
};

function total(counts: Record<string, number> | undefined): number {
  return Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
}

function breakdown(counts: Record<string, number> | undefined): string {
  return Object.entries(counts ?? {})
    .map(([why, n]) => `${why}: ${n}`)
    .join("\n");
}

export class FederationPanel {
  readonly el = h("div", { class: "federation", "data-testid": "federation-panel" });
  private timer = 0;

  /** Fetch now and every REFRESH_MS while shown; `stop` when another tab is shown. */
  start(): void {
    this.stop();
    void this.load();
    this.timer = window.setInterval(() => void this.load(), REFRESH_MS);
  }

  stop(): void {
    window.clearInterval(this.timer);
    this.timer = 0;
  }

  private async load(): Promise<void> {
    try {
      this.render(await apiGet<Federation>("/api/v1/federation"));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.el.replaceChildren(h("div", { class: "error", "data-testid": "federation-error" }, t("fed.unavailable", { why })));
    }
  }

  private render(body: Federation): void {
    if (!body.enabled) {
      this.el.replaceChildren(h("div", { class: "empty", "data-testid": "federation-disabled" }, t("fed.disabled")));
      return;
    }
    const server = body.server ?? {};
    const head = h(
      "div",
      { class: "fed-server" },
      `${t("fed.server")} `,
      h("b", { translate: "no" }, server.name ?? "—"),
      server.nation ? h("span", { class: "nation", translate: "no" }, server.nation) : null,
      server.listening ? h("span", { class: "fed-address", translate: "no" }, server.listening) : null,
    );
    const col = (key: Key, title?: Key): HTMLElement => h("th", title ? { title: t(title) } : {}, t(key));
    const table = h(
      "table",
      { class: "grid fed-links", "data-testid": "federation-links" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          col("fed.link"),
          col("fed.state"),
          col("fed.peer"),
          col("fed.lastseen"),
          col("fed.in"),
          col("fed.out"),
          col("fed.refused", "fed.refused.title"),
          col("fed.backlog", "fed.backlog.title"),
        ),
      ),
      h(
        "tbody",
        {},
        body.links.length
          ? body.links.map((link) => this.row(link))
          : [h("tr", {}, h("td", { colspan: 8, class: "empty" }, t("fed.none")))],
      ),
    );
    this.el.replaceChildren(head, table);
  }

  private row(link: Link): HTMLElement {
    const id = testId(link.name);
    const refused = total(link.refusals) + total(link.refused_in);
    const why = [breakdown(link.refusals), breakdown(link.refused_in)].filter(Boolean).join("\n");
    const dropped = link.backlog.dropped_positions + link.backlog.dropped_other;
    return h(
      "tr",
      { class: `fed-link fed-${link.state}`, "data-testid": `federation-link-${id}`, "data-state": link.state },
      h("td", {}, h("b", { translate: "no" }, link.name), h("div", { class: "muted" }, t(link.direction === "dial" ? "fed.dial" : "fed.listen"))),
      h(
        "td",
        { "data-testid": `fed-state-${id}`, title: link.last_error ?? "" },
        h("span", { class: `fed-state fed-state-${link.state}` }, STATES[link.state] ? t(STATES[link.state] as Key) : link.state),
        link.state_since ? h("div", { class: "muted" }, timeEl(link.state_since)) : null,
      ),
      h(
        "td",
        { translate: "no" },
        link.peer.nation ?? "—",
        link.peer.clearance ? ` · ${link.peer.clearance}` : "",
        link.peer.address ? h("div", { class: "muted" }, link.peer.address) : null,
      ),
      h("td", { "data-testid": `fed-lastseen-${id}` }, link.last_seen ? timeEl(link.last_seen) : "—"),
      h("td", { class: "num", "data-testid": `fed-in-${id}` }, String(link.items_in)),
      h("td", { class: "num", "data-testid": `fed-out-${id}` }, String(link.items_out)),
      h("td", { class: `num${refused ? " warn" : ""}`, "data-testid": `fed-refused-${id}`, title: why }, String(refused)),
      h(
        "td",
        { class: "num", "data-testid": `fed-backlog-${id}`, title: dropped ? t("fed.dropped", { n: dropped }) : "" },
        `${link.backlog.items} / ${link.backlog.limit}`,
      ),
    );
  }
}
