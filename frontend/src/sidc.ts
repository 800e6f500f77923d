// MIL-STD-2525B letter SIDCs from CoT atom types (`a-f-G-U-C-I` → `SFGPUCI--------`).

const AFFILIATIONS: Record<string, string> = {
  p: "P",
  u: "U",
  a: "A",
  f: "F",
  n: "N",
  s: "S",
  h: "H",
  j: "J",
  k: "K",
  o: "U", // CoT "none specified" and "other" have no 2525 identity: unknown
  x: "U",
  // 2525B exercise identities (pending, unknown, friend, neutral, assumed friend) are
  // shown as friend: the page draws the exercise picture as the participants see it.
  g: "F",
  w: "F",
  d: "F",
  l: "F",
  m: "F",
};
const DIMENSIONS = new Set(["P", "A", "G", "S", "U", "F"]);

/** The SIDC for a CoT type, or null for types that are not atoms (`b-`, `t-`, `u-`…). */
export function sidcFromCotType(type: string): string | null {
  const parts = type.split("-");
  if (parts[0] !== "a" || parts.length < 3) return null;
  const affiliation = AFFILIATIONS[(parts[1] ?? "").toLowerCase()] ?? "U";
  const dim = (parts[2] ?? "").toUpperCase();
  const dimension = DIMENSIONS.has(dim) ? dim : "G";
  const fn = parts
    .slice(3)
    .join("")
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "")
    .slice(0, 6)
    .padEnd(6, "-");
  return `S${affiliation}${dimension}P${fn}-----`;
}

/** The item's own SIDC when it carries one, else the one derived from its CoT type. */
export function sidcFor(item: { sidc?: string | null; type: string }): string | null {
  const own = item.sidc?.trim();
  return own ? own : sidcFromCotType(item.type);
}
