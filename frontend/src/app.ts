// The page: map and side panels wired to the API and the live stream, under a marking
// banner that is the server's roll-up of everything on screen.

import maplibregl from "maplibre-gl";
import { apiGet, getToken, listOf } from "./api";
import { REGION, addPlaceLabels, baseStyle, loadBasemap } from "./basemap";
import { installBenchHook } from "./benchhook";
import { ChatPanel } from "./chat";
import { DetailsPanel, itemMarking } from "./details";
import { h } from "./dom";
import { DrawTools } from "./draw";
import { FederationPanel } from "./federation";
import { Filters } from "./filters";
import { followUser, orgLabel, t } from "./i18n";
import type { Key } from "./i18n";
import { MarkedView, MarkingRollups, markingClass } from "./marking";
import type { Part } from "./marking";
import { forgetAllowedMarkings } from "./markingpicker";
import { PackagesPanel } from "./packages";
import { Picture, drawSymbol } from "./picture";
import { preferences } from "./prefs";
import { ReadinessDashboard } from "./readiness";
import { Replay } from "./replay";
import { RequestsBoard } from "./requests";
import { SearchBox } from "./search";
import type { Hit } from "./search";
import { Session } from "./session";
import { Stream } from "./stream";
import type { StreamState } from "./stream";
import { commandIds, normaliseStructure } from "./structure";
import { installTestHook } from "./testhook";
import { CommandTree } from "./tree";
import type { DecisionRequest, Item, Marking, Organisation, StreamMessage, Structure } from "./types";

// A view in the URL, as the map writes it: #zoom/lat/lon.
const VIEW_HASH = /^#[\d.]+\/-?[\d.]+\/-?[\d.]+/;

type Tab = "tree" | "requests" | "readiness" | "chat" | "packages" | "federation";
const TABS: { id: Tab; title: Key }[] = [
  { id: "tree", title: "tab.tree" },
  { id: "requests", title: "tab.requests" },
  { id: "readiness", title: "tab.readiness" },
  { id: "chat", title: "tab.chat" },
  { id: "packages", title: "tab.packages" },
  { id: "federation", title: "tab.federation" }, // admins only (isAdmin)
];

export class App {
  private readonly bannerTop = h("div", { class: "banner", "data-testid": "banner-top", translate: "no" });
  private readonly bannerBottom = h("div", { class: "banner", "data-testid": "banner-bottom", translate: "no" });
  private readonly mapPortion = h("div", { class: "portion map-portion", "data-testid": "map-portion", translate: "no" });
  private readonly panelPortion = h("div", { class: "portion panel-portion", "data-testid": "panel-portion", translate: "no" });
  // The markings of the page, the map and the side panel: the server's roll-ups.
  private readonly rollups = new MarkingRollups();
  private readonly pageMarking = new MarkedView(this.rollups, (m) => this.renderBanner(m));
  private readonly mapMarking = new MarkedView(this.rollups, (m) => App.renderPortion(this.mapPortion, "map-portion", m));
  private readonly panelMarking = new MarkedView(this.rollups, (m) => App.renderPortion(this.panelPortion, "panel-portion", m));
  private readonly status = h("div", { class: "status", "data-testid": "stream-status" });
  private readonly counts = h("div", { class: "counts", "data-testid": "track-count" });
  private readonly zulu = h("div", { class: "zulu", "data-testid": "zulu", translate: "no" });
  private readonly title = h("div", { class: "structure-name", translate: "no" });
  private readonly panelBody = h("div", { class: "panel-body" });
  private readonly tabButtons = new Map<Tab, HTMLButtonElement>();
  private readonly map: maplibregl.Map;
  private readonly picture: Picture;
  private readonly details: DetailsPanel;
  private readonly tree: CommandTree;
  private readonly board: RequestsBoard;
  private readonly readiness: ReadinessDashboard;
  private readonly chat: ChatPanel;
  private readonly packages: PackagesPanel;
  private readonly federation = new FederationPanel();
  private readonly session: Session;
  private readonly stream: Stream;
  private readonly draw: DrawTools;
  private readonly replay: Replay;
  private readonly filters: Filters;
  // The live picture, kept while a replay shows another moment on the map.
  private readonly live = new Map<string, Item>();
  private structure: Structure | null = null;
  private tab: Tab = "tree";
  private pulse: maplibregl.Marker | null = null;
  private readinessTimer = 0;
  private requestsTimer = 0;
  private fitted = false;
  // Whether the URL named a view (#zoom/lat/lon) when the page was opened: then the page
  // keeps it. Read before the map exists, because the map writes its own view there.
  private readonly namedView = VIEW_HASH.test(location.hash);
  private helloKey: string | null = null;

  constructor(root: HTMLElement) {
    const mapEl = h("div", { class: "map", "data-testid": "map" });
    this.session = new Session((token) => void this.reset(token));
    this.tree = new CommandTree((org) => this.highlight(org));
    this.board = new RequestsBoard(() => this.session.principal?.callsign ?? "anonymous", () => this.loadRequests(), () => this.updateBanner());
    this.readiness = new ReadinessDashboard(() => commandIds(this.structure), (id) => this.orgName(id), () => this.updateBanner());
    this.chat = new ChatPanel(() => this.session.principal?.callsign ?? null, () => this.contacts(), () => this.updateBanner());
    this.packages = new PackagesPanel(() => this.session.principal, () => this.updateBanner());
    this.stream = new Stream((m) => this.onMessage(m), (s) => this.onStreamState(s));
    this.filters = new Filters(() => this.picture.setFilter(this.filters.matches));
    const search = new SearchBox(
      () => ({ items: this.picture.items, orgs: this.structure?.organisations ?? [], requests: this.board.all }),
      (hit) => this.found(hit),
    );
    const tabs = h(
      "nav",
      { class: "tabs", role: "tablist" },
      TABS.map((tab) => {
        const button = h("button", { class: "tab", role: "tab", "data-testid": `tab-${tab.id}`, onclick: () => this.show(tab.id) }, t(tab.title));
        this.tabButtons.set(tab.id, button);
        return button;
      }),
    );
    this.map = new maplibregl.Map({
      container: mapEl,
      style: baseStyle(),
      bounds: REGION,
      fitBoundsOptions: { padding: 10 },
      attributionControl: false,
      maxZoom: 14,
      minZoom: 2,
      dragRotate: false,
      pitchWithRotate: false,
      // No symbol fade-in: every placement change would otherwise animate for 300 ms,
      // and with tracks reporting every second the map would never stop drawing.
      fadeDuration: 0,
      hash: true, // the view is in the URL (#zoom/lat/lon): shareable, kept on reload
      locale: {
        "Map.Title": t("map.title"),
        "Marker.Title": t("map.marker"),
        "NavigationControl.ZoomIn": t("map.zoomin"),
        "NavigationControl.ZoomOut": t("map.zoomout"),
        "NavigationControl.ResetBearing": t("map.resetbearing"),
        "ScaleControl.NauticalMiles": t("map.nm"),
        "ScaleControl.Kilometers": t("map.km"),
        "ScaleControl.Meters": t("map.m"),
      },
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-right");
    this.map.on("load", () => void loadBasemap(this.map));
    this.map.on("click", () => this.details.close());
    addPlaceLabels(this.map);
    this.picture = new Picture(this.map, (uid) => this.select(uid), () => this.onPictureChange());
    installBenchHook(this.picture, this.map);
    installTestHook(this.map);
    this.draw = new DrawTools(this.map, () => this.session.principal !== null);
    this.details = new DetailsPanel(
      () => this.picture.select(null),
      (item) => this.draw.edit(item),
      (item) => this.draw.remove(item),
      () => this.session.principal !== null && !this.replay.replaying,
    );
    this.replay = new Replay(this.map, (items, at) => this.picture.replaceAll(items, at), () => this.picture.replaceAll([...this.live.values()], Date.now()));
    root.replaceChildren(
      this.bannerTop,
      h(
        "header",
        { class: "appbar" },
        h("div", { class: "brand" }, h("span", { class: "brand-mark" }, "◆"), h("span", { translate: "no" }, "ALLIED C2"), h("span", { class: "brand-sub" }, t("app.subtitle"))),
        this.title,
        search.el,
        h("div", { class: "spacer" }),
        this.status,
        this.zulu,
        preferences(() => this.session.principal?.callsign ?? null, () => location.reload()),
        this.session.el,
      ),
      h(
        "main",
        { class: "workspace" },
        h(
          "section",
          { class: "map-wrap" },
          mapEl,
          this.draw.toolbar,
          this.filters.el,
          this.details.el,
          this.draw.form,
          this.mapPortion,
          this.counts,
          this.replay.el,
        ),
        h("aside", { class: "sidebar" }, tabs, this.panelPortion, this.panelBody),
      ),
      this.bannerBottom,
    );
    this.tabButtons.get("federation")?.toggleAttribute("hidden", true); // until an admin signs in
    this.map.resize(); // the map was made before its container was on the page
    // ...so its first framing was for an empty container: frame the theatre again.
    if (!this.namedView) this.map.fitBounds(REGION, { padding: 10, duration: 0 });
    this.show("tree");
    this.tick();
    window.setInterval(() => this.tick(), 1000);
  }

  async start(): Promise<void> {
    await this.session.restore();
    await this.reset(getToken());
  }

  /** Load everything again as the (new) principal. */
  private async reset(token: string | null): Promise<void> {
    this.helloKey = null;
    this.fitted = false;
    this.details.close();
    this.replay.setActive(false);
    this.live.clear();
    this.picture.clear();
    this.pulse?.remove();
    this.pulse = null;
    forgetAllowedMarkings();
    this.draw.cancel();
    this.draw.resetMarkings();
    const callsign = this.session.principal?.callsign;
    if (callsign) followUser(callsign);
    // The federation links are an administrator's view (the API answers admins only).
    const admin = this.session.principal?.roles?.includes("admin") ?? false;
    this.tabButtons.get("federation")?.toggleAttribute("hidden", !admin);
    if (!admin && this.tab === "federation") this.show("tree");
    // Whom the live picture is filtered for: set by the new stream's hello (tests wait for it).
    delete this.status.dataset.principal;
    this.stream.open(token);
    await Promise.all([this.loadStructure(), this.loadRequests(), this.chat.load()]);
    await this.readiness.load();
    if (this.tab === "packages") await this.packages.load();
  }

  private async loadStructure(): Promise<void> {
    try {
      this.structure = normaliseStructure(await apiGet<Structure>("/api/v1/structure"));
      this.tree.set(this.structure);
      this.title.textContent = this.structure.name;
    } catch (err) {
      this.structure = null;
      this.tree.set(null, t("tree.unavailable", { why: err instanceof Error ? err.message : String(err) }));
      this.title.textContent = "";
    }
    this.board.setOrgNames((id) => this.orgName(id));
    this.updateBanner();
  }

  private async loadRequests(): Promise<void> {
    try {
      const body = await apiGet<unknown>("/api/v1/requests");
      this.board.set(listOf<DecisionRequest>(body, "requests", "items"));
    } catch (err) {
      this.board.set([], t("requests.unavailable", { why: err instanceof Error ? err.message : String(err) }));
    }
  }

  private orgName(id: string): string {
    const org = this.structure?.organisations.find((o) => o.id === id);
    return org ? orgLabel(org) : id;
  }

  /** Callsigns a direct chat can go to: the contacts on the live picture. */
  private contacts(): string[] {
    const names = [...this.live.values()].filter((i) => i.type.startsWith("a-f") && i.callsign).map((i) => i.callsign as string);
    return [...new Set(names)].sort();
  }

  private onMessage(message: StreamMessage): void {
    const now = Date.now();
    switch (message.kind) {
      case "snapshot":
        this.live.clear();
        for (const item of message.items) this.live.set(item.uid, item);
        if (!this.replay.replaying) this.picture.replaceAll(message.items, now);
        if (!this.fitted) {
          this.fitted = true;
          // The initial view fits what this user can see (unless the URL named a view).
          if (!this.namedView) this.picture.fit(REGION);
        }
        break;
      case "item":
      case "items": {
        const items = message.kind === "item" ? [message.item] : message.items;
        for (const item of items) this.live.set(item.uid, item);
        if (!this.replay.replaying) this.picture.upsertMany(items, now);
        if (message.kind === "items" && message.seq !== undefined) this.stream.ack(message.seq);
        break;
      }
      case "remove":
        this.live.delete(message.uid);
        if (!this.replay.replaying) this.picture.remove(message.uid);
        break;
      case "chat":
        this.chat.add(message.message);
        break;
      case "request":
        this.board.upsert(message.request);
        // allowed_actions are the caller's own: take them from a fresh GET, at most twice a second.
        window.clearTimeout(this.requestsTimer);
        this.requestsTimer = window.setTimeout(() => void this.loadRequests(), 500);
        break;
      case "readiness":
        this.readiness.upsert(message.report);
        // Roll-ups are computed by the server: fetch them again, at most once a second.
        window.clearTimeout(this.readinessTimer);
        this.readinessTimer = window.setTimeout(() => void this.readiness.load(), 1000);
        break;
      case "hello": {
        this.status.dataset.principal = message.principal.callsign;
        // A second hello on the same socket means the directory changed the principal
        // (clearance, nation, COIs): the snapshot that follows re-filters the map, and
        // the panels are fetched again.
        const key = JSON.stringify(message.principal);
        if (this.helloKey !== null && this.helloKey !== key) {
          forgetAllowedMarkings();
          void Promise.all([this.loadStructure(), this.loadRequests(), this.readiness.load(), this.chat.load()]);
        }
        this.helloKey = key;
        break;
      }
    }
  }

  private onStreamState(state: StreamState): void {
    this.status.className = `status status-${state}`;
    this.status.dataset.state = state;
    this.status.textContent = t(state === "live" ? "stream.live" : state === "connecting" ? "stream.connecting" : "stream.down");
  }

  private onPictureChange(): void {
    const n = this.picture.items.length;
    this.counts.textContent = t(n === 1 ? "map.track" : "map.tracks", { n });
    this.details.refresh(this.details.current ? this.picture.get(this.details.current) : undefined);
    this.updateBanner();
  }

  private select(uid: string): void {
    const item = this.picture.get(uid);
    if (!item) return;
    this.picture.select(uid);
    this.details.open(item);
    this.updateBanner();
  }

  private found(hit: Hit): void {
    if (hit.kind === "item") {
      const item = this.picture.get(hit.id);
      if (!item) return;
      this.map.flyTo({ center: [item.lon, item.lat], zoom: Math.max(this.map.getZoom(), 9), speed: 1.6 });
      this.select(hit.id);
    } else if (hit.kind === "org") {
      const org = this.structure?.organisations.find((o) => o.id === hit.id);
      if (org) this.highlight(org);
    } else {
      this.show("requests");
      this.board.el.querySelector(`[data-testid="request-card-${hit.id.replace(/[^A-Za-z0-9_.:-]/g, "_")}"]`)?.scrollIntoView({ block: "center" });
    }
  }

  private show(tab: Tab): void {
    this.tab = tab;
    for (const [id, button] of this.tabButtons) {
      button.classList.toggle("active", id === tab);
      button.setAttribute("aria-selected", String(id === tab));
    }
    const panels = { tree: this.tree.el, requests: this.board.el, readiness: this.readiness.el, chat: this.chat.el, packages: this.packages.el, federation: this.federation.el };
    this.panelBody.replaceChildren(panels[tab]);
    if (tab === "federation") this.federation.start();
    else this.federation.stop();
    if (tab === "readiness") void this.readiness.load();
    if (tab === "packages") void this.packages.load();
    this.updateBanner();
  }

  /** The markings on the visible panel, as the server sent them. */
  private panelMarkings(): Part[] {
    if (this.tab === "tree") return this.structure ? [this.structure.banner] : [];
    if (this.tab === "requests") return this.board.all.map((r) => r.marking);
    if (this.tab === "chat") return this.chat.markings;
    if (this.tab === "packages") return this.packages.markings;
    if (this.tab === "federation") return []; // link counters: the API marks nothing there
    return this.readiness.markings;
  }

  /** Banner = the server's roll-up of the map (items and trails) and the visible panel. */
  private updateBanner(): void {
    const mapParts: Part[] = [...this.picture.items.map((i: Item) => itemMarking(i)), ...this.replay.markings];
    const panelParts = this.panelMarkings();
    this.pageMarking.update([...mapParts, ...panelParts]);
    this.mapMarking.update(mapParts);
    this.panelMarking.update(panelParts);
  }

  private renderBanner(m: Marking): void {
    for (const banner of [this.bannerTop, this.bannerBottom]) {
      banner.textContent = m.banner;
      banner.className = `banner ${markingClass(m)}`;
    }
  }

  private static renderPortion(el: HTMLElement, kind: string, m: Marking): void {
    el.textContent = m.portion;
    el.className = `portion ${kind} ${markingClass(m)}`;
  }

  /** Fly to an organisation and pulse its symbol. */
  private highlight(org: Organisation): void {
    this.pulse?.remove();
    this.pulse = null;
    if (!org.location) return;
    const el = h("div", { class: "org-pulse", "data-testid": "org-pulse", "data-org": org.id }, h("div", { class: "ring" }));
    const marker = new maplibregl.Marker({ element: el, anchor: "center" });
    if (org.sidc) {
      const { canvas, anchor } = drawSymbol(org.sidc, orgLabel(org));
      const holder = h("div", { class: "org-symbol" }, canvas);
      holder.style.left = `${-anchor.x}px`;
      holder.style.top = `${-anchor.y}px`;
      el.append(holder);
    } else {
      el.append(h("div", { class: "org-pulse-label", translate: "no" }, orgLabel(org)));
    }
    this.pulse = marker.setLngLat([org.location.lon, org.location.lat]).addTo(this.map);
    this.map.flyTo({ center: [org.location.lon, org.location.lat], zoom: Math.max(this.map.getZoom(), 6), speed: 1.6 });
  }

  private tick(): void {
    const now = Date.now();
    if (!this.replay.replaying) this.picture.tick(now);
    for (const [uid, item] of this.live) if (item.stale && Date.parse(item.stale) <= now) this.live.delete(uid);
    this.board.tick(now);
    const d = new Date(now);
    const pad = (n: number): string => String(n).padStart(2, "0");
    this.zulu.textContent = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
  }
}
