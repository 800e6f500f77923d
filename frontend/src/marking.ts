// Classification markings as the server decides them. The page has no marking parser:
// every record arrives with its banner, portion and colour class computed by the server
// (allied_c2.security.display), and the marking of a view (the page banner, the map and
// panel portions) is the server's roll-up of the distinct markings shown, asked from
// POST /api/v1/markings/rollup. Until the server has answered for what is on screen,
// the page shows MARKING UNKNOWN in the most restrictive colour (fail closed).

import { apiPost } from "./api";
import type { Marking } from "./types";

export const UNKNOWN: Marking = {
  banner: "MARKING UNKNOWN",
  portion: "(MARKING UNKNOWN)",
  class: "mk-ts",
  originator: null,
};

// The display classes the server may name (style.css); anything else is shown fail closed.
const CLASSES = new Set(["mk-u", "mk-cui", "mk-r", "mk-c", "mk-s", "mk-ts", "mk-ts-sci"]);

/** One thing shown in a view: a marking as the server sent it, a roll-up banner the server
 * sent, or null/undefined for a record that came without one (the whole is then unknown). */
export type Part = Marking | string | null | undefined;

/** CSS class of a marking's colour, as the server chose it. */
export function markingClass(m: Marking | null | undefined): string {
  return m && CLASSES.has(m.class) ? m.class : UNKNOWN.class;
}

/** The portion mark to show for a record. */
export function portionOf(m: Marking | null | undefined): string {
  return m?.portion || UNKNOWN.portion;
}

interface Wire {
  banner: string;
  originator: string | null;
}

/** The distinct parts of a view, sorted, with the key of the set; null when a part is unknown. */
function distinct(parts: Part[]): { key: string; keys: string[]; wire: Wire[] } | null {
  const byKey = new Map<string, Wire>();
  for (const part of parts) {
    const wire: Wire | null =
      typeof part === "string"
        ? part
          ? { banner: part, originator: null }
          : null
        : part?.banner
          ? { banner: part.banner, originator: part.originator ?? null }
          : null;
    if (wire === null) return null;
    byKey.set(JSON.stringify([wire.banner, wire.originator]), wire);
  }
  const keys = [...byKey.keys()].sort();
  return { key: keys.join("\n"), keys, wire: keys.map((k) => byKey.get(k) as Wire) };
}

const CACHE_LIMIT = 256;

/** The server's roll-ups, cached by the set of distinct markings they were asked for. */
export class MarkingRollups {
  private readonly answered = new Map<string, Marking>();
  private readonly asking = new Map<string, Promise<Marking | null>>();

  /** The roll-up of `key` if the server has answered for it. */
  peek(key: string): Marking | undefined {
    return this.answered.get(key);
  }

  /** Ask the server; null when it could not answer (network, auth): ask again later. */
  ask(key: string, markings: Wire[]): Promise<Marking | null> {
    const known = this.answered.get(key);
    if (known) return Promise.resolve(known);
    let pending = this.asking.get(key);
    if (!pending) {
      pending = apiPost<Marking>("/api/v1/markings/rollup", { markings })
        .then((m) => this.remember(key, m))
        .catch((err: unknown) => {
          // 422: the server cannot mark this set; that answer is final, and fails closed.
          const status = (err as { status?: number }).status;
          return status === 422 ? this.remember(key, UNKNOWN) : null;
        })
        .finally(() => this.asking.delete(key));
      this.asking.set(key, pending);
    }
    return pending;
  }

  private remember(key: string, marking: Marking): Marking {
    if (this.answered.size >= CACHE_LIMIT) {
      const oldest = this.answered.keys().next().value;
      if (oldest !== undefined) this.answered.delete(oldest);
    }
    this.answered.set(key, marking);
    return marking;
  }
}

const ASK_DELAY_MS = 120;
const RETRY_MS = 3000;

/** A marked view (banner or portion): shows the server's roll-up of its current parts. */
export class MarkedView {
  private shown: Set<string> | null = null; // the parts the shown marking covers (null: unknown)
  private wanted: { key: string; keys: string[]; wire: Wire[] } | null = null;
  private timer = 0;

  constructor(
    private readonly rollups: MarkingRollups,
    private readonly render: (m: Marking) => void,
  ) {
    render(UNKNOWN);
  }

  /** The parts on screen changed (or may have): show their roll-up, asking for it if new. */
  update(parts: Part[]): void {
    const wanted = distinct(parts);
    this.wanted = wanted;
    if (wanted === null) {
      this.show(UNKNOWN, null);
      return;
    }
    const known = this.rollups.peek(wanted.key);
    if (known) {
      this.show(known, wanted.keys);
      return;
    }
    // Fewer parts than the shown roll-up covers: it is still at least as restrictive.
    const shown = this.shown;
    if (!shown || !wanted.keys.every((k) => shown.has(k))) this.show(UNKNOWN, null);
    this.schedule(ASK_DELAY_MS);
  }

  private schedule(delay: number): void {
    if (!this.timer) this.timer = window.setTimeout(() => this.ask(), delay);
  }

  private ask(): void {
    this.timer = 0;
    const wanted = this.wanted;
    if (wanted === null) return;
    void this.rollups.ask(wanted.key, wanted.wire).then((m) => {
      if (this.wanted?.key !== wanted.key) return; // the screen changed meanwhile
      if (m) this.show(m, m === UNKNOWN ? null : wanted.keys);
      else this.schedule(RETRY_MS);
    });
  }

  private show(m: Marking, covers: string[] | null): void {
    this.shown = covers ? new Set(covers) : null;
    this.render(m);
  }
}
