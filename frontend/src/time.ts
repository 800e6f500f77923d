// Time formatting: Zulu stamps, relative durations and the four staff clocks.

export const CLOCKS: { id: string; label: string; zone: string }[] = [
  { id: "tokyo", label: "Tokyo", zone: "Asia/Tokyo" },
  { id: "manila", label: "Manila", zone: "Asia/Manila" },
  { id: "hawaii", label: "Hawaii", zone: "Pacific/Honolulu" },
  { id: "washington", label: "Washington", zone: "America/New_York" },
];

const clockFormats = new Map<string, Intl.DateTimeFormat>();

export function clockText(zone: string, now: Date): { time: string; day: string } {
  let fmt = clockFormats.get(zone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
      day: "2-digit",
      hourCycle: "h23",
    });
    clockFormats.set(zone, fmt);
  }
  const parts = Object.fromEntries(fmt.formatToParts(now).map((p) => [p.type, p.value]));
  return { time: `${parts.hour}:${parts.minute}`, day: `${parts.weekday} ${parts.day}` };
}

export function parseTime(value: string | null | undefined): number | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

/** `26 0700Z NOV` style date-time group, the way staff write times. */
export function dtg(value: string | null | undefined): string {
  const t = parseTime(value);
  if (t === null) return "—";
  const d = new Date(t);
  const months = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(" ");
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())} ${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z ${months[d.getUTCMonth()]}`;
}

/** "3h 20m", "2d 4h", "45s". */
export function duration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const hrs = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${hrs}h`;
  if (hrs > 0) return `${hrs}h ${String(min).padStart(2, "0")}m`;
  if (min > 0) return `${min}m`;
  return `${s}s`;
}

/** Time until a moment: "in 3h 20m" or "overdue 1h 05m". */
export function until(value: string | null | undefined, now: number): { text: string; overdue: boolean } {
  const t = parseTime(value);
  if (t === null) return { text: "—", overdue: false };
  const delta = t - now;
  return delta >= 0
    ? { text: `in ${duration(delta)}`, overdue: false }
    : { text: `overdue ${duration(delta)}`, overdue: true };
}
