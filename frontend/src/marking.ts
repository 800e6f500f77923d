// Classification markings: parse banners, roll up a view, format banner and portion.
// Rules from the CAPCO register as summarised in shared reference markings.md: the
// whole takes the highest level, NOFORN anywhere makes the whole NOFORN, and the whole
// is REL TO only the countries common to every controlled part.

export interface ParsedMarking {
  rank: number; // 0 U, 1 RESTRICTED, 2 C, 3 S, 4 TS
  cui: boolean;
  noforn: boolean;
  relTo: string[] | null; // null: no REL TO list on this part
  categories: string[]; // SCI / SAP / other non-dissemination categories, e.g. "SI/TK"
  dissem: string[]; // dissemination controls besides NOFORN and REL TO (ORCON, RELIDO, FOUO…)
}

const LEVELS: Record<string, number> = {
  UNCLASSIFIED: 0,
  U: 0,
  RESTRICTED: 1,
  R: 1,
  CONFIDENTIAL: 2,
  C: 2,
  SECRET: 3,
  S: 3,
  "TOP SECRET": 4,
  TS: 4,
};
const LEVEL_NAMES = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"];
const LEVEL_PORTIONS = ["U", "R", "C", "S", "TS"];
const DISSEM_WORDS = new Set([
  "FOUO",
  "ORCON",
  "IMCON",
  "PROPIN",
  "RELIDO",
  "RSEN",
  "FISA",
  "DSEN",
  "LIMDIS",
  "EXDIS",
  "NODIS",
  "DISPLAY ONLY",
]);
// Order dissemination controls the way the register lists them.
const DISSEM_ORDER = ["RSEN", "FOUO", "ORCON", "IMCON", "NOFORN", "PROPIN", "RELIDO", "REL TO"];
const TETRAGRAPHS: Record<string, string[]> = {
  FVEY: ["AUS", "CAN", "GBR", "NZL", "USA"],
  ACGU: ["AUS", "CAN", "GBR", "USA"],
};

export const UNCLASSIFIED: ParsedMarking = {
  rank: 0,
  cui: false,
  noforn: false,
  relTo: null,
  categories: [],
  dissem: [],
};

function splitCountries(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((c) => c.trim().toUpperCase())
    .filter((c) => c.length > 0);
}

/** Parse a banner (`SECRET//REL TO USA, JPN`) or portion (`(S//NF)`) marking. */
export function parseMarking(text: string | null | undefined): ParsedMarking {
  if (!text) return { ...UNCLASSIFIED };
  const body = text.trim().replace(/^\(/, "").replace(/\)$/, "").toUpperCase();
  const [head = "", ...rest] = body.split("//");
  const out: ParsedMarking = { ...UNCLASSIFIED, categories: [], dissem: [] };
  const level = head.trim();
  if (level === "CUI") {
    out.cui = true;
  } else {
    out.rank = LEVELS[level] ?? 0;
  }
  for (const category of rest) {
    const values = category.split("/").map((v) => v.trim());
    let isDissem = false;
    const others: string[] = [];
    for (const value of values) {
      if (value === "NOFORN" || value === "NF") {
        out.noforn = true;
        isDissem = true;
      } else if (value.startsWith("REL TO")) {
        out.relTo = splitCountries(value.slice("REL TO".length));
        isDissem = true;
      } else if (value === "CUI") {
        out.cui = true;
      } else if (DISSEM_WORDS.has(value)) {
        out.dissem.push(value);
        isDissem = true;
      } else if (value) {
        others.push(value);
      }
    }
    if (others.length && !isDissem) out.categories.push(others.join("/"));
    else out.dissem.push(...others);
  }
  return out;
}

/** A marking from the CoT `access`/`caveat`/`releasableTo` attributes. */
export function markingFromAttributes(
  access: string | null | undefined,
  caveat: string | null | undefined,
  releasableTo: string | null | undefined,
): ParsedMarking {
  const parts = [access || "UNCLASSIFIED"];
  const cav = (caveat || "").trim().toUpperCase();
  if (cav.startsWith("REL TO") || (!cav && releasableTo)) {
    parts.push(`REL TO ${splitCountries(releasableTo || cav.slice(6)).join(", ")}`);
  } else if (cav) {
    parts.push(cav);
  }
  return parseMarking(parts.join("//"));
}

function expand(countries: string[]): Set<string> {
  const out = new Set<string>();
  for (const c of countries) for (const m of TETRAGRAPHS[c] ?? [c]) out.add(m);
  return out;
}

/** USA first, then trigraphs alphabetically, then longer codes alphabetically. */
export function orderCountries(countries: Iterable<string>): string[] {
  const all = [...new Set(countries)];
  const tri = all.filter((c) => c !== "USA" && c.length === 3).sort();
  const tetra = all.filter((c) => c.length !== 3).sort();
  return [...(all.includes("USA") ? ["USA"] : []), ...tri, ...tetra];
}

/** The roll-up marking of a view made of `parts`. */
export function rollUp(parts: ParsedMarking[]): ParsedMarking {
  const out: ParsedMarking = { ...UNCLASSIFIED, categories: [], dissem: [] };
  // Parts that limit release: controlled ones, and any that carry a REL TO list.
  const limiting = parts.filter((p) => p.rank > 0 || p.cui || p.relTo !== null || p.noforn);
  for (const part of parts) {
    out.rank = Math.max(out.rank, part.rank);
    out.cui ||= part.cui;
    out.noforn ||= part.noforn;
    for (const c of part.categories) if (!out.categories.includes(c)) out.categories.push(c);
    for (const d of part.dissem) if (d !== "RELIDO" && !out.dissem.includes(d)) out.dissem.push(d);
  }
  const listed = limiting.filter((p) => p.relTo !== null);
  // Unlisted classified parts stay with their originator, and so does the whole: the banner
  // then carries no REL TO list (the server, which knows originators, decides release).
  if (!out.noforn && listed.length > 0 && listed.length === limiting.length) {
    const [first = new Set<string>(), ...others] = listed.map((p) => expand(p.relTo ?? []));
    const common = [...first].filter((c) => others.every((list) => list.has(c)));
    // A REL TO list needs more than one country; nothing shared beyond one nation is NOFORN.
    if (common.length > 1) out.relTo = orderCountries(common);
    else out.noforn = true;
  }
  if (!out.noforn && limiting.length > 0 && limiting.every((p) => p.dissem.includes("RELIDO"))) {
    out.dissem.push("RELIDO");
  }
  if (out.rank > 0 || out.cui) out.dissem = out.dissem.filter((d) => d !== "FOUO");
  return out;
}

function dissemTokens(m: ParsedMarking, portion: boolean): string[] {
  const tokens = [...m.dissem];
  if (m.noforn) tokens.push(portion ? "NF" : "NOFORN");
  if (m.relTo && !m.noforn) tokens.push(`REL TO ${orderCountries(m.relTo).join(", ")}`);
  const rank = (t: string): number => {
    const key = t === "NF" ? "NOFORN" : t.startsWith("REL TO") ? "REL TO" : t;
    const i = DISSEM_ORDER.indexOf(key);
    return i < 0 ? DISSEM_ORDER.length : i;
  };
  return tokens.sort((a, b) => rank(a) - rank(b));
}

function levelWord(m: ParsedMarking, portion: boolean): string {
  if (m.rank === 0 && m.cui) return "CUI";
  return (portion ? LEVEL_PORTIONS : LEVEL_NAMES)[m.rank] ?? "UNCLASSIFIED";
}

export function formatBanner(m: ParsedMarking): string {
  const dissem = dissemTokens(m, false);
  return [levelWord(m, false), ...m.categories, ...(dissem.length ? [dissem.join("/")] : [])].join(
    "//",
  );
}

export function formatPortion(m: ParsedMarking): string {
  const dissem = dissemTokens(m, true);
  const body = [levelWord(m, true), ...m.categories, ...(dissem.length ? [dissem.join("/")] : [])];
  return `(${body.join("//")})`;
}

/** CSS class for the conventional banner colour of a marking. */
export function markingClass(m: ParsedMarking): string {
  if (m.rank >= 4) return m.categories.length ? "mk-ts-sci" : "mk-ts";
  if (m.rank === 3) return "mk-s";
  if (m.rank === 2) return "mk-c";
  if (m.rank === 1) return "mk-r";
  return m.cui ? "mk-cui" : "mk-u";
}
