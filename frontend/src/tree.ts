// The command tree: organisations under their national command superiors, with
// the other relationships (TACON, support, counterpart, coordination) and the
// decision authorities each organisation holds.

import { h, testId } from "./dom";
import { orgLabel, t, tx } from "./i18n";
import type { Authority, Organisation, Relationship, Structure } from "./types";

// Relation codes (C2SIM where it has one) → the abbreviations staff use.
const LABELS: Record<string, string> = {
  COCOM: "COCOM",
  OPCON: "OPCON",
  TACCNT: "TACON",
  TACON: "TACON",
  ADMCON: "ADCON",
  ADCON: "ADCON",
  DIRSUP: "DS",
  DIRECT_SUPPORT: "DS",
  GENSUP: "GS",
  GENERAL_SUPPORT: "GS",
  COORD: "COORD",
  COORDINATION: "COORD",
  COUNTERPART: "COUNTERPART",
};
// The tree parent: OPCON preferred over COCOM, TACON and ADCON (as the server does).
const PARENT_ORDER = ["OPCON", "COCOM", "TACON", "ADCON"];

export function relationLabel(code: string): string {
  return LABELS[code.toUpperCase()] ?? code.toUpperCase();
}

function isCommand(code: string): boolean {
  return PARENT_ORDER.includes(relationLabel(code));
}

export interface TreeModel {
  roots: string[];
  children: Map<string, string[]>;
  parentRelation: Map<string, Relationship>;
}

/** Arrange organisations into a forest by their preferred command superior. */
export function buildTree(structure: Structure): TreeModel {
  const ids = new Set(structure.organisations.map((o) => o.id));
  const parentRelation = new Map<string, Relationship>();
  for (const rel of structure.relationships) {
    if (!isCommand(rel.relation) || !ids.has(rel.superior) || !ids.has(rel.subordinate)) continue;
    const current = parentRelation.get(rel.subordinate);
    const rank = (r: Relationship): number => PARENT_ORDER.indexOf(relationLabel(r.relation));
    if (!current || rank(rel) < rank(current)) parentRelation.set(rel.subordinate, rel);
  }
  // Break cycles so that every organisation is reachable from a root exactly once.
  for (const id of ids) {
    const seen = new Set([id]);
    let cursor = parentRelation.get(id)?.superior;
    while (cursor !== undefined) {
      if (seen.has(cursor)) {
        parentRelation.delete(id);
        break;
      }
      seen.add(cursor);
      cursor = parentRelation.get(cursor)?.superior;
    }
  }
  const children = new Map<string, string[]>();
  const roots: string[] = [];
  for (const org of structure.organisations) {
    const parent = parentRelation.get(org.id);
    if (parent) children.set(parent.superior, [...(children.get(parent.superior) ?? []), org.id]);
    else roots.push(org.id);
  }
  return { roots, children, parentRelation };
}

export class CommandTree {
  readonly el: HTMLElement;
  private selected: string | null = null;
  private structure: Structure | null = null;

  constructor(private readonly onSelect: (org: Organisation) => void) {
    this.el = h("div", { class: "tree", "data-testid": "command-tree" });
  }

  get organisations(): Organisation[] {
    return this.structure?.organisations ?? [];
  }

  set(structure: Structure | null, error?: string): void {
    this.structure = structure;
    if (!structure) {
      this.el.replaceChildren(h("div", { class: "empty" }, error ?? t("tree.none")));
      return;
    }
    const orgs = new Map(structure.organisations.map((o) => [o.id, o]));
    const model = buildTree(structure);
    const authorities = new Map<string, Authority[]>();
    for (const a of structure.authorities) {
      authorities.set(a.decider, [...(authorities.get(a.decider) ?? []), a]);
    }
    const name = (id: string): string => {
      const org = orgs.get(id);
      return org ? orgLabel(org) : id;
    };
    const kinds = new Map((structure.request_kinds ?? []).map((k) => [k.id, k.title]));
    const chip = (id: string, text: string | (string | HTMLElement)[]): HTMLElement =>
      h(
        "button",
        {
          class: "rel-chip",
          title: name(id),
          onclick: (e: Event) => {
            e.stopPropagation();
            const org = orgs.get(id);
            if (org) this.choose(org);
          },
        },
        text,
      );

    const node = (id: string, depth: number): HTMLElement => {
      const org = orgs.get(id);
      if (!org) return h("div");
      const parentRel = model.parentRelation.get(id);
      const others: HTMLElement[] = [];
      for (const rel of structure.relationships) {
        if (rel === parentRel) continue;
        const label = relationLabel(rel.relation);
        if (label === "COUNTERPART" && (rel.superior === id || rel.subordinate === id)) {
          const other = rel.superior === id ? rel.subordinate : rel.superior;
          others.push(chip(other, ["⇄ ", h("span", { translate: "no" }, name(other))]));
        } else if (rel.subordinate === id) {
          others.push(chip(rel.superior, tx("tree.of", { rel: label, org: name(rel.superior) })));
        } else if (rel.superior === id && !isCommand(rel.relation)) {
          others.push(chip(rel.subordinate, [h("span", { translate: "no" }, label), " → ", h("span", { translate: "no" }, name(rel.subordinate))]));
        }
      }
      const decides = (authorities.get(id) ?? []).map((a) =>
        h(
          "div",
          { class: "authority" },
          h("span", { class: "auth-kind", translate: "no" }, kinds.get(a.request_kind) ?? a.request_kind.replace(/_/g, " ")),
          h("span", { class: "auth-scope", translate: "no" }, ` · ${a.nation}`),
          a.forces?.length ? h("span", { class: "auth-scope", translate: "no" }, ` · ${a.forces.map(name).join(", ")}`) : null,
          a.consult_counterpart ? h("span", { class: "auth-flag" }, t("tree.consult")) : null,
          a.delegated_from ? h("span", { class: "auth-flag" }, tx("tree.delegated", { org: name(a.delegated_from) })) : null,
          a.max_hours ? h("span", { class: "auth-scope" }, ` · ${a.max_hours} h`) : null,
        ),
      );
      const kids = model.children.get(id) ?? [];
      return h(
        "div",
        { class: `org depth-${Math.min(depth, 6)}`, "data-org": id },
        h(
          "div",
          {
            class: `org-row${this.selected === id ? " selected" : ""}`,
            "data-testid": `org-${testId(id)}`,
            onclick: () => this.choose(org),
          },
          parentRel
            ? h("span", { class: `rel rel-${relationLabel(parentRel.relation)}`, translate: "no" }, relationLabel(parentRel.relation))
            : h("span", { class: "rel rel-root" }, t("tree.top")),
          h("span", { class: `nation nation-${org.nation}`, translate: "no" }, org.nation),
          h("span", { class: "org-name", translate: "no", title: org.native_name ? `${org.name} · ${org.native_name}` : org.name }, orgLabel(org)),
          org.echelon ? h("span", { class: "org-echelon", translate: "no" }, org.echelon) : null,
          org.location ? h("span", { class: "org-loc", title: t("tree.onmap") }, "◎") : null,
        ),
        others.length ? h("div", { class: "org-rels" }, others) : null,
        decides.length ? h("div", { class: "org-auth" }, h("span", { class: "auth-label" }, t("tree.decides")), decides) : null,
        kids.length ? h("div", { class: "children" }, kids.map((k) => node(k, depth + 1))) : null,
      );
    };

    this.el.replaceChildren(
      h(
        "div",
        { class: "legend" },
        h("span", { class: "rel rel-OPCON", translate: "no" }, "OPCON"),
        h("span", { class: "rel rel-TACON", translate: "no" }, "TACON"),
        h("span", { class: "rel rel-COCOM", translate: "no" }, "COCOM"),
        h("span", { class: "rel rel-ADCON", translate: "no" }, "ADCON"),
        h("span", { class: "legend-text" }, t("tree.legend")),
      ),
      ...model.roots.map((r) => node(r, 0)),
    );
  }

  private choose(org: Organisation): void {
    this.selected = org.id;
    for (const row of this.el.querySelectorAll(".org-row.selected")) row.classList.remove("selected");
    this.el.querySelector(`[data-testid="org-${testId(org.id)}"]`)?.classList.add("selected");
    this.onSelect(org);
  }
}
