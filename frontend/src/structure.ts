// The command structure as the page uses it: normalised from the API, and the
// organisations the readiness roll-ups are shown for.

import { buildTree } from "./tree";
import type { Organisation, Structure } from "./types";

/** Organisations may come as a list or keyed by id; lists may be absent when empty. */
export function normaliseStructure(raw: Structure): Structure {
  const orgs = raw.organisations as Structure["organisations"] | Record<string, Organisation> | undefined;
  return {
    ...raw,
    organisations: Array.isArray(orgs) ? orgs : Object.values(orgs ?? {}),
    relationships: raw.relationships ?? [],
    authorities: raw.authorities ?? [],
  };
}

/** Roll-up rows: the operational commands (combatant, joint, JFHQ, components) that command
 * others, in tree order; every commanding organisation where the structure has none. */
export function commandIds(structure: Structure | null): string[] {
  if (!structure) return [];
  const model = buildTree(structure);
  const kinds = new Map(structure.organisations.map((o) => [o.id, o.kind ?? ""]));
  const operational = new Set(["combatant_command", "joint_command", "joint_force_hq", "component"]);
  const ordered: string[] = [];
  const walk = (id: string): void => {
    ordered.push(id);
    for (const child of model.children.get(id) ?? []) walk(child);
  };
  model.roots.forEach(walk);
  const commanding = ordered.filter((id) => (model.children.get(id) ?? []).length > 0);
  const chosen = commanding.filter((id) => operational.has(kinds.get(id) ?? ""));
  // At most four per nation, so that every nation's commands make the list.
  const nation = new Map(structure.organisations.map((o) => [o.id, o.nation]));
  const perNation = new Map<string, number>();
  return (chosen.length ? chosen : commanding).filter((id) => {
    const n = nation.get(id) ?? "";
    perNation.set(n, (perNation.get(n) ?? 0) + 1);
    return (perNation.get(n) ?? 0) <= 4;
  });
}
