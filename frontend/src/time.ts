// Time formatting: times in the user's chosen zone with the Zulu time beside, relative
// durations, and the four staff clocks, in the page's language.

import { lang, t } from "./i18n";
import type { Key } from "./i18n";

export const CLOCKS: { id: string; label: Key; zone: string }[] = [
  { id: "tokyo", label: "clock.tokyo", zone: "Asia/Tokyo" },
  { id: "manila", label: "clock.manila", zone: "Asia/Manila" },
  { id: "hawaii", label: "clock.hawaii", zone: "Pacific/Honolulu" },
  { id: "washington", label: "clock.washington", zone: "America/New_York" },
];

/** The zones a user may choose to read times in (the browser's own first). */
export const ZONES = ["local", "UTC", "Asia/Tokyo", "Asia/Manila", "Pacific/Honolulu", "America/New_York"];
const ZONE_KEY = "allied-c2.zone";

export function zone(): string {
  const chosen = localStorage.getItem(ZONE_KEY);
  return chosen && ZONES.includes(chosen) ? chosen : "local";
}

export function setZone(value: string): void {
  localStorage.setItem(ZONE_KEY, value);
  formats.clear();
}

const formats = new Map<string, Intl.DateTimeFormat>();

function format(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let fmt = formats.get(key);
  if (!fmt) {
    fmt = make();
    formats.set(key, fmt);
  }
  return fmt;
}

function locale(): string {
  return lang() === "ja" ? "ja-JP" : "en-GB";
}

export function clockText(timeZone: string, now: Date): { time: string; day: string } {
  const fmt = format(`clock|${timeZone}|${locale()}`, () =>
    new Intl.DateTimeFormat(locale(), {
      timeZone,
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
      day: "2-digit",
      hourCycle: "h23",
    }),
  );
  const parts = Object.fromEntries(fmt.formatToParts(now).map((p) => [p.type, p.value]));
  return { time: `${parts.hour}:${parts.minute}`, day: `${parts.weekday} ${parts.day}` };
}

export function parseTime(value: string | null | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** `0700Z`: the Zulu time of a moment. */
export function zulu(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
}

/** A moment in the user's zone with its Zulu time beside: `26 Nov 16:00 JST (0700Z)`. */
export function stamp(value: string | number | null | undefined, seconds = false): string {
  const ms = typeof value === "number" ? value : parseTime(value);
  if (ms === null) return "—";
  const chosen = zone();
  const fmt = format(`stamp|${chosen}|${locale()}|${seconds}`, () =>
    new Intl.DateTimeFormat(locale(), {
      timeZone: chosen === "local" ? undefined : chosen,
      month: "short",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: seconds ? "2-digit" : undefined,
      hourCycle: "h23",
      timeZoneName: "short",
    }),
  );
  return `${fmt.format(ms)} (${zulu(ms)})`;
}

/** A moment as an element: a value in the user's zone, never translated by the browser. */
export function timeEl(value: string | null | undefined, seconds = false): HTMLTimeElement {
  const el = document.createElement("time");
  el.translate = false;
  if (value) el.dateTime = value;
  el.textContent = stamp(value, seconds);
  return el;
}

/** The date-time group staff write (`26 0700Z NOV`), with the user's local time beside. */
export function dtg(value: string | null | undefined): string {
  return stamp(value);
}

/** "3h 20m", "2d 4h", "45s" (in the page's language). */
export function duration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const hrs = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  if (d > 0) return t("dur.dh", { d, h: hrs });
  if (hrs > 0) return t("dur.hm", { h: hrs, m: pad(min) });
  if (min > 0) return t("dur.m", { m: min });
  return t("dur.s", { s });
}

/** Time until a moment: "in 3h 20m" or "overdue 1h 05m". */
export function until(value: string | null | undefined, now: number): { text: string; overdue: boolean } {
  const ms = parseTime(value);
  if (ms === null) return { text: "—", overdue: false };
  const delta = ms - now;
  return delta >= 0
    ? { text: t("time.in", { d: duration(delta) }), overdue: false }
    : { text: t("time.overdue", { d: duration(delta) }), overdue: true };
}
