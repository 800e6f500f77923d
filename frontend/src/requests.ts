// The requests board: decision requests by state, time to needed-by, who holds them,
// the four staff clocks, and the actions the server allows the signed-in principal.

import { apiPost } from "./api";
import { h, testId } from "./dom";
import { markingClass, portionOf } from "./marking";
import { t } from "./i18n";
import type { Key } from "./i18n";
import { CLOCKS, clockText, dtg, timeEl, until } from "./time";
import type { DecisionRequest } from "./types";

const STATES: { id: string; title: Key }[] = [
  { id: "submitted", title: "state.submitted" },
  { id: "in_review", title: "state.in_review" },
  { id: "coordination", title: "state.coordination" },
  { id: "returned", title: "state.returned" },
  { id: "approved", title: "state.approved" },
  { id: "denied", title: "state.denied" },
  { id: "withdrawn", title: "state.withdrawn" },
];
const STATE_TITLES = new Map<string, Key>(STATES.map((s) => [s.id, s.title]));
const ACTION_TITLES: Record<string, Key> = {
  approve: "action.approve",
  deny: "action.deny",
  forward: "action.forward",
  return: "action.return",
  concur: "action.concur",
  nonconcur: "action.nonconcur",
  comment: "action.comment",
  escalate: "action.escalate",
  withdraw: "action.withdraw",
};
const URGENCY: Record<string, Key> = {
  routine: "urgency.routine",
  priority: "urgency.priority",
  urgent: "urgency.urgent",
};
// The reason recorded on the server stays in English: it is the audit trail's language.
const PAST: Record<string, string> = {
  approve: "approved",
  deny: "denied",
  forward: "forwarded",
  return: "returned",
  concur: "concurred",
  nonconcur: "non-concurred",
  comment: "commented",
  escalate: "escalated",
  withdraw: "withdrawn",
};

export class RequestsBoard {
  readonly el: HTMLElement;
  private readonly clocks: HTMLElement;
  private readonly body: HTMLElement;
  private requests = new Map<string, DecisionRequest>();
  private errors = new Map<string, string>();
  private busy = new Set<string>();
  private orgName: (id: string) => string = (id) => id;

  constructor(
    private readonly actor: () => string,
    private readonly reload: () => Promise<void>,
    private readonly onChange: () => void,
  ) {
    this.clocks = h(
      "div",
      { class: "clocks", "data-testid": "clocks" },
      CLOCKS.map((c) =>
        h(
          "div",
          { class: "clock", "data-testid": `clock-${c.id}`, "data-zone": c.zone },
          h("div", { class: "clock-label" }, t(c.label)),
          h("div", { class: "clock-time" }, "--:--"),
          h("div", { class: "clock-day" }, ""),
        ),
      ),
    );
    this.body = h("div", { class: "board", "data-testid": "requests-board" });
    this.el = h("div", { class: "requests" }, this.clocks, this.body);
    this.tick(Date.now());
  }

  get all(): DecisionRequest[] {
    return [...this.requests.values()];
  }

  setOrgNames(lookup: (id: string) => string): void {
    this.orgName = lookup;
  }

  set(requests: DecisionRequest[], error?: string): void {
    this.requests = new Map(requests.map((r) => [r.id, r]));
    this.render(error);
  }

  upsert(request: DecisionRequest): void {
    const known = this.requests.get(request.id);
    // Until the board is fetched again, act only on what this principal was already allowed.
    const unchanged = known !== undefined && known.state === request.state && known.holder === request.holder;
    const allowed = request.allowed_actions ?? (unchanged ? known.allowed_actions : undefined) ?? [];
    this.requests.set(request.id, { ...request, allowed_actions: allowed });
    this.render();
  }

  tick(now: number): void {
    const date = new Date(now);
    for (const clock of this.clocks.querySelectorAll<HTMLElement>(".clock")) {
      const { time, day } = clockText(clock.dataset.zone ?? "UTC", date);
      clock.querySelector(".clock-time")!.textContent = time;
      clock.querySelector(".clock-day")!.textContent = day;
    }
    for (const span of this.body.querySelectorAll<HTMLElement>("[data-until]")) {
      const { text, overdue } = until(span.dataset.until, now);
      span.textContent = text;
      span.classList.toggle("overdue", overdue);
    }
  }

  private render(error?: string): void {
    this.onChange();
    if (error) {
      this.body.replaceChildren(h("div", { class: "empty" }, error));
      return;
    }
    if (this.requests.size === 0) {
      this.body.replaceChildren(h("div", { class: "empty" }, t("requests.none")));
      return;
    }
    const known = new Set(STATES.map((s) => s.id));
    const columns = [
      ...STATES,
      ...[...new Set(this.all.map((r) => r.state))].filter((s) => !known.has(s)).map((s) => ({ id: s, title: "state.other" as Key })),
    ];
    const now = Date.now();
    this.body.replaceChildren(
      ...columns.flatMap((state) => {
        const list = this.all
          .filter((r) => r.state === state.id)
          .sort((a, b) => (a.needed_by ?? "").localeCompare(b.needed_by ?? ""));
        if (!list.length) return [];
        return [
          h(
            "section",
            { class: `state-group state-${state.id}`, "data-testid": `state-${state.id}` },
            h("h3", {}, t(state.title), h("span", { class: "count" }, String(list.length))),
            list.map((r) => this.card(r, now)),
          ),
        ];
      }),
    );
  }

  private card(r: DecisionRequest, now: number): HTMLElement {
    const marking = r.marking;
    const id = testId(r.id);
    const needed = until(r.needed_by, now);
    const actions = r.allowed_actions ?? [];
    const open = !["approved", "denied", "withdrawn"].includes(r.state);
    return h(
      "article",
      { class: `card urgency-${r.urgency}`, "data-testid": `request-card-${id}`, "data-state": r.state },
      h(
        "div",
        { class: "card-top" },
        h("span", { class: `portion ${markingClass(marking)}`, translate: "no" }, portionOf(marking)),
        h("span", { class: "req-id", translate: "no" }, r.id),
        h("span", { class: `urgency urgency-${r.urgency}` }, URGENCY[r.urgency] ? t(URGENCY[r.urgency] as Key) : r.urgency),
        h(
          "span",
          { class: "req-state", "data-testid": `request-state-${id}`, "data-state": r.state },
          t(STATE_TITLES.get(r.state) ?? "state.other"),
        ),
      ),
      h("div", { class: "subject", translate: "no" }, r.subject),
      h(
        "div",
        { class: "req-kind" },
        h("span", { translate: "no" }, r.kind_title ?? r.kind),
        ` · ${t("requests.from")} `,
        h("b", { translate: "no" }, this.orgName(r.originator)),
      ),
      h(
        "dl",
        { class: "req-meta" },
        h("dt", {}, t(open ? "requests.heldby" : "requests.lastheld")),
        h("dd", { "data-testid": `request-holder-${id}`, translate: "no" }, r.holder ? this.orgName(r.holder) : (r.holder_name ?? "—")),
        h("dt", {}, t("requests.neededby")),
        h(
          "dd",
          {},
          timeEl(r.needed_by),
          " ",
          open && r.needed_by
            ? h("span", { class: `countdown${needed.overdue ? " overdue" : ""}`, "data-until": r.needed_by }, needed.text)
            : null,
        ),
        r.route?.decider ? h("dt", {}, t("requests.decider")) : null,
        r.route?.decider
          ? h(
              "dd",
              { translate: "no" },
              this.orgName(r.route.decider),
              r.route.counterparts?.length
                ? ` ⇄ ${r.route.counterparts.map((c) => this.orgName(c)).join(", ")}`
                : "",
            )
          : null,
      ),
      actions.length
        ? h(
            "div",
            { class: "actions" },
            actions.map((a) =>
              h(
                "button",
                {
                  class: `action action-${a}`,
                  "data-testid": `action-${a}-${id}`,
                  disabled: this.busy.has(r.id),
                  onclick: () => void this.act(r, a),
                },
                ACTION_TITLES[a] ? t(ACTION_TITLES[a] as Key) : a,
              ),
            ),
          )
        : null,
      this.errors.has(r.id)
        ? h("div", { class: "error", "data-testid": `request-error-${id}` }, this.errors.get(r.id))
        : null,
      r.history?.length
        ? h(
            "details",
            { class: "history" },
            h("summary", {}, t("requests.history", { n: r.history.length })),
            h(
              "ol",
              {},
              r.history.map((e) =>
                h(
                  "li",
                  { translate: "no" },
                  h("span", { class: "hist-at" }, dtg(e.at)),
                  ` ${e.actor} ${e.action}`,
                  e.to ? ` → ${this.orgName(e.to)}` : "",
                  e.reason ? h("span", { class: "hist-reason" }, ` “${e.reason}”`) : null,
                ),
              ),
            ),
          )
        : null,
    );
  }

  private async act(r: DecisionRequest, action: string): Promise<void> {
    this.busy.add(r.id);
    this.errors.delete(r.id);
    this.render();
    try {
      const reason = `${PAST[action] ?? action} from the web COP by ${this.actor()}`;
      const updated = await apiPost<unknown>(`/api/v1/requests/${encodeURIComponent(r.id)}/actions`, {
        action,
        reason,
      });
      if (updated && typeof updated === "object" && "id" in updated && "state" in updated) {
        this.requests.set(r.id, updated as DecisionRequest);
      }
    } catch (err) {
      this.errors.set(r.id, err instanceof Error ? err.message : String(err));
    } finally {
      this.busy.delete(r.id);
      this.render();
    }
    // allowed_actions depend on the new holder: ask the server again.
    await this.reload();
  }
}
