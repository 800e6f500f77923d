// Federation links (admins only): the links to other servers as the server reports them
// (GET /api/v1/federation, owned by web/federation.py): state, peer, last seen, items
// in and out, the guard's refusals, the backlog; under each link what came in and was
// refused or discarded, the sanitised copies sent (each by reason or rule) and the
// rule set. Shown as the API sends it; nothing is computed here but the counters' sums.

import { apiGet } from "./api";
import { h, testId } from "./dom";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { timeEl } from "./time";

const REFRESH_MS = 5000;
const COLUMNS = 8;

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
  discarded_in?: Record<string, number>;
  sanitised?: Record<string, number>;
  backlog: { items: number; limit: number; dropped_positions: number; dropped_other: number };
  rules?: { file?: string | null; count?: number; sha256?: string | null };
}

interface Federation {
  enabled: boolean;
  server?: { name?: string; listening?: string | null; nation?: string | null };
  links: Link[];
  // Requests and readiness across servers (federation/alliance.py), by message kind.
  alliance?: { sent?: Record<string, number>; received?: Record<string, number> };
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
          ? body.links.flatMap((link) => [this.row(link), this.detail(link)])
          : [h("tr", {}, h("td", { colspan: COLUMNS, class: "empty" }, t("fed.none")))],
      ),
    );
    const alliance = body.alliance ?? {};
    const relayed = h(
      "div",
      { class: "fed-detail", "data-testid": "federation-alliance" },
      h("span", { class: "muted" }, t("fed.alliance")),
      " ",
      counter("fed-alliance-sent", "fed.alliance.sent", "fed.alliance.sent.title", alliance.sent, false),
      counter("fed-alliance-received", "fed.alliance.received", "fed.alliance.received.title", alliance.received, false),
    );
    this.el.replaceChildren(head, relayed, table);
  }

  private row(link: Link): HTMLElement {
    const id = testId(link.name);
    const refused = total(link.refusals);
    const why = breakdown(link.refusals);
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

  /** The line under a link: inbound refusals and discards, sanitised copies, rule set. */
  private detail(link: Link): HTMLElement {
    const id = testId(link.name);
    const rules = link.rules ?? {};
    return h(
      "tr",
      { class: "fed-detail", "data-testid": `federation-detail-${id}` },
      h(
        "td",
        { colspan: COLUMNS },
        counter(`fed-refusedin-${id}`, "fed.refusedin", "fed.refusedin.title", link.refused_in),
        counter(`fed-discarded-${id}`, "fed.discarded", "fed.discarded.title", link.discarded_in),
        counter(`fed-sanitised-${id}`, "fed.sanitised", "fed.sanitised.title", link.sanitised),
        h(
          "span",
          { class: "fed-counter", "data-testid": `fed-rules-${id}`, title: rules.sha256 ? t("fed.rules.title", { n: rules.count ?? 0, sha: rules.sha256 }) : "" },
          h("span", { class: "muted" }, t("fed.rules")),
          " ",
          rules.file ? h("b", { translate: "no", "data-rules": rules.file }, rules.file) : h("b", {}, t("fed.rules.none")),
        ),
      ),
    );
  }
}

/** A counter of the link with its parts: "label total (reason: n, …)". */
function counter(
  testid: string,
  label: Key,
  title: Key,
  counts: Record<string, number> | undefined,
  warn = true, // a count above zero is something to look at (refusals, discards)
): HTMLElement {
  const n = total(counts);
  return h(
    "span",
    { class: "fed-counter", "data-testid": testid, "data-total": n, title: t(title) },
    h("span", { class: "muted" }, t(label)),
    " ",
    h("b", { class: n && warn ? "warn" : "" }, String(n)),
    Object.entries(counts ?? {}).map(([why, k]) => h("span", { class: "fed-reason", translate: "no", "data-reason": why, "data-count": k }, `${why}: ${k}`)),
  );
}
