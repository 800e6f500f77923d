// The user's display choices in the header: language (English / 日本語) and the time
// zone times are read in (Zulu is always shown beside). Both are remembered in
// localStorage; the language per user (i18n.ts).

import { h } from "./dom";
import { lang, setLang, t } from "./i18n";
import type { Key, Lang } from "./i18n";
import { setZone, zone, ZONES } from "./time";

const ZONE_NAMES: Record<string, Key> = {
  local: "prefs.localzone",
  UTC: "zone.utc",
  "Asia/Tokyo": "zone.tokyo",
  "Asia/Manila": "zone.manila",
  "Pacific/Honolulu": "zone.honolulu",
  "America/New_York": "zone.newyork",
};

export function preferences(callsign: () => string | null, onZone: () => void): HTMLElement {
  const language = h(
    "select",
    { class: "pref", "data-testid": "lang-select", "aria-label": t("prefs.language") },
    h("option", { value: "en", lang: "en", translate: "no" }, "English"),
    h("option", { value: "ja", lang: "ja", translate: "no" }, "日本語"),
  );
  language.value = lang();
  language.addEventListener("change", () => setLang(language.value as Lang, callsign()));
  const zones = h(
    "select",
    { class: "pref", "data-testid": "zone-select", "aria-label": t("prefs.zone") },
    ZONES.map((z) => h("option", { value: z }, t(ZONE_NAMES[z] ?? "prefs.localzone"))),
  );
  zones.value = zone();
  zones.addEventListener("change", () => {
    setZone(zones.value);
    onZone();
  });
  return h("div", { class: "prefs" }, language, zones);
}
