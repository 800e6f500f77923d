// The page's words in English and Japanese: one small catalogue per language, no
// hard-coded strings in components. The Japanese catalogue is typed by the English
// one's keys, so `npm run build` (tsc) fails when a key is missing in either.
//
// Language: `?lang=ja` / `?lang=en` on first load, then the user's choice, remembered
// per user in localStorage (the signed-in callsign's, else the browser's last choice).
// Switching reloads the page, so every component renders in one language.

import en from "./i18n/en.json";
import jaCatalogue from "./i18n/ja.json";

export type Key = keyof typeof en;
export type Lang = "en" | "ja";
type Catalogue = Record<Key, string>;

const ja: Catalogue = jaCatalogue;
const CATALOGUES: Record<Lang, Catalogue> = { en, ja };
const LAST = "allied-c2.lang";
const userKey = (callsign: string): string => `allied-c2.lang.${callsign}`;

function isLang(value: string | null | undefined): value is Lang {
  return value === "en" || value === "ja";
}

function initial(): Lang {
  const asked = new URLSearchParams(location.search).get("lang");
  if (isLang(asked)) {
    localStorage.setItem(LAST, asked);
    return asked;
  }
  const last = localStorage.getItem(LAST);
  return isLang(last) ? last : "en";
}

let current: Lang = initial();
document.documentElement.lang = current;

export function lang(): Lang {
  return current;
}

/** `t("chat.send")`, `t("tracks", { n: 3 })`: `{name}` in the text is replaced. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const text = CATALOGUES[current][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

/** Remember `choice` for the user (and the browser); reload when it changes the page. */
export function setLang(choice: Lang, callsign: string | null): void {
  localStorage.setItem(LAST, choice);
  if (callsign) localStorage.setItem(userKey(callsign), choice);
  if (choice !== current) reloadIn(choice);
}

/** After sign-in: follow the user's own remembered language, unless the URL chose one. */
export function followUser(callsign: string): void {
  const asked = new URLSearchParams(location.search).get("lang");
  const own = localStorage.getItem(userKey(callsign));
  if (isLang(asked)) localStorage.setItem(userKey(callsign), asked);
  else if (isLang(own) && own !== current) {
    localStorage.setItem(LAST, own);
    reloadIn(own);
  } else localStorage.setItem(userKey(callsign), current);
}

function reloadIn(choice: Lang): void {
  const url = new URL(location.href);
  url.searchParams.delete("lang"); // the stored choice wins from now on
  current = choice;
  location.replace(url.toString());
}

/** An organisation's name in the page's language (its native name in Japanese, when it has one). */
export function orgLabel(org: { name: string; native_name?: string | null }): string {
  return current === "ja" && org.native_name ? org.native_name : org.name;
}

/** `t` as nodes, for text that carries data: each value is its own `translate="no"` span,
 * so names and callsigns stay as written while the words around them are translated. */
export function tx(key: Key, vars: Record<string, string | number>): (string | HTMLElement)[] {
  const out: (string | HTMLElement)[] = [];
  const text = CATALOGUES[current][key] ?? en[key];
  let last = 0;
  for (const match of text.matchAll(/\{(\w+)\}/g)) {
    const name = match[1] ?? "";
    out.push(text.slice(last, match.index));
    const span = document.createElement("span");
    span.translate = false;
    span.textContent = name in vars ? String(vars[name]) : match[0];
    out.push(span);
    last = (match.index ?? 0) + match[0].length;
  }
  out.push(text.slice(last));
  return out.filter((part) => part !== "");
}
