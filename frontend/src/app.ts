// The page: map and side panels wired to the API and the live stream, under a marking
// banner that is the roll-up of everything on screen.

import maplibregl from "maplibre-gl";
import { apiGet, getToken, listOf } from "./api";
import { REGION, addPlaceLabels, baseStyle, loadBasemap } from "./basemap";
import { DetailsPanel, itemMarking } from "./details";
import { h } from "./dom";
import { formatBanner, formatPortion, markingClass, parseMarking, rollUp } from "./marking";
import type { ParsedMarking } from "./marking";
import { Picture, drawSymbol } from "./picture";
import { ReadinessDashboard } from "./readiness";
import { RequestsBoard } from "./requests";
import { Session } from "./session";
import { Stream } from "./stream";
import type { StreamState } from "./stream";
import { CommandTree, buildTree } from "./tree";
import type { DecisionRequest, Item, Organisation, StreamMessage, Structure } from "./types";

type Tab = "tree" | "requests" | "readiness";
const TABS: { id: Tab; title: string }[] = [
  { id: "tree", title: "Command tree" },
  { id: "requests", title: "Requests" },
  { id: "readiness", title: "Readiness" },
];

/** Organisations may come as a list or keyed by id; lists may be absent when empty. */
function normaliseStructure(raw: Structure): Structure {
  const orgs = raw.organisations as Structure["organisations"] | Record<string, Organisation> | undefined;
  return {
    ...raw,
    organisations: Array.isArray(orgs) ? orgs : Object.values(orgs ?? {}),
    relationships: raw.relationships ?? [],
    authorities: raw.authorities ?? [],
  };
}

export class App {
  private readonly bannerTop = h("div", { class: "banner", "data-testid": "banner-top" });
  private readonly bannerBottom = h("div", { class: "banner", "data-testid": "banner-bottom" });
  private readonly mapPortion = h("div", { class: "portion map-portion", "data-testid": "map-portion" });
  private readonly panelPortion = h("div", { class: "portion panel-portion", "data-testid": "panel-portion" });
  private readonly status = h("div", { class: "status", "data-testid": "stream-status" });
  private readonly counts = h("div", { class: "counts", "data-testid": "track-count" });
  private readonly zulu = h("div", { class: "zulu", "data-testid": "zulu" });
  private readonly title = h("div", { class: "structure-name" });
  private readonly panelBody = h("div", { class: "panel-body" });
  private readonly tabButtons = new Map<Tab, HTMLButtonElement>();
  private readonly map: maplibregl.Map;
  private readonly picture: Picture;
  private readonly details: DetailsPanel;
  private readonly tree: CommandTree;
  private readonly board: RequestsBoard;
  private readonly readiness: ReadinessDashboard;
  private readonly session: Session;
  private readonly stream: Stream;
  private structure: Structure | null = null;
  private tab: Tab = "tree";
  private pulse: maplibregl.Marker | null = null;
  private readinessTimer = 0;
  private requestsTimer = 0;

  constructor(root: HTMLElement) {
    const mapEl = h("div", { class: "map", "data-testid": "map" });
    this.details = new DetailsPanel(() => this.picture.select(null));
    this.session = new Session((token) => void this.reset(token));
    this.tree = new CommandTree((org) => this.highlight(org));
    this.board = new RequestsBoard(
      () => this.session.principal?.callsign ?? "anonymous",
      () => this.loadRequests(),
      () => this.updateBanner(),
    );
    this.readiness = new ReadinessDashboard(
      () => this.commandIds(),
      (id) => this.orgName(id),
      () => this.updateBanner(),
    );
    this.stream = new Stream(
      (m) => this.onMessage(m),
      (s) => this.onStreamState(s),
    );

    const tabs = h(
      "nav",
      { class: "tabs", role: "tablist" },
      TABS.map((t) => {
        const button = h(
          "button",
          { class: "tab", role: "tab", "data-testid": `tab-${t.id}`, onclick: () => this.show(t.id) },
          t.title,
        );
        this.tabButtons.set(t.id, button);
        return button;
      }),
    );
    root.replaceChildren(
      this.bannerTop,
      h(
        "header",
        { class: "appbar" },
        h("div", { class: "brand" }, h("span", { class: "brand-mark" }, "◆"), "ALLIED C2", h("span", { class: "brand-sub" }, "Common Operational Picture")),
        this.title,
        h("div", { class: "spacer" }),
        this.status,
        this.zulu,
        this.session.el,
      ),
      h(
        "main",
        { class: "workspace" },
        h("section", { class: "map-wrap" }, mapEl, this.details.el, this.mapPortion, this.counts),
        h("aside", { class: "sidebar" }, tabs, this.panelPortion, this.panelBody),
      ),
      this.bannerBottom,
    );

    this.map = new maplibregl.Map({
      container: mapEl,
      style: baseStyle(),
      bounds: REGION,
      fitBoundsOptions: { padding: 10 },
      attributionControl: false,
      maxZoom: 12,
      minZoom: 2,
      dragRotate: false,
      pitchWithRotate: false,
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-right");
    this.map.on("load", () => void loadBasemap(this.map));
    this.map.on("click", () => this.details.close());
    addPlaceLabels(this.map);
    this.picture = new Picture(
      this.map,
      (uid) => this.select(uid),
      () => this.onPictureChange(),
    );
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
    this.details.close();
    this.picture.clear();
    this.pulse?.remove();
    this.pulse = null;
    this.stream.open(token);
    await Promise.all([this.loadStructure(), this.loadRequests()]);
    await this.readiness.load();
  }

  private async loadStructure(): Promise<void> {
    try {
      this.structure = normaliseStructure(await apiGet<Structure>("/api/v1/structure"));
      this.tree.set(this.structure);
      this.title.textContent = this.structure.name;
    } catch (err) {
      this.structure = null;
      this.tree.set(null, `Command structure unavailable: ${err instanceof Error ? err.message : String(err)}`);
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
      this.board.set([], `Requests unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private orgName(id: string): string {
    return this.structure?.organisations.find((o) => o.id === id)?.name ?? id;
  }

  /** Roll-up rows: the operational commands (combatant, joint, JFHQ, components) that command
   * others, in tree order; every commanding organisation where the structure has none. */
  private commandIds(): string[] {
    if (!this.structure) return [];
    const model = buildTree(this.structure);
    const kinds = new Map(this.structure.organisations.map((o) => [o.id, o.kind ?? ""]));
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
    const nation = new Map(this.structure.organisations.map((o) => [o.id, o.nation]));
    const perNation = new Map<string, number>();
    return (chosen.length ? chosen : commanding).filter((id) => {
      const n = nation.get(id) ?? "";
      perNation.set(n, (perNation.get(n) ?? 0) + 1);
      return (perNation.get(n) ?? 0) <= 4;
    });
  }

  private onMessage(message: StreamMessage): void {
    const now = Date.now();
    switch (message.kind) {
      case "snapshot":
        this.picture.replaceAll(message.items, now);
        break;
      case "item":
        this.picture.upsert(message.item, now);
        break;
      case "remove":
        this.picture.remove(message.uid);
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
      case "hello":
        break;
    }
  }

  private onStreamState(state: StreamState): void {
    this.status.className = `status status-${state}`;
    this.status.dataset.state = state;
    this.status.textContent = state === "live" ? "LIVE" : state === "connecting" ? "CONNECTING" : "OFFLINE";
  }

  private onPictureChange(): void {
    const items = this.picture.items;
    this.counts.textContent = `${items.length} track${items.length === 1 ? "" : "s"}`;
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

  private show(tab: Tab): void {
    this.tab = tab;
    for (const [id, button] of this.tabButtons) {
      button.classList.toggle("active", id === tab);
      button.setAttribute("aria-selected", String(id === tab));
    }
    const panel = tab === "tree" ? this.tree.el : tab === "requests" ? this.board.el : this.readiness.el;
    this.panelBody.replaceChildren(panel);
    if (tab === "readiness") void this.readiness.load();
    this.updateBanner();
  }

  private panelMarkings(): ParsedMarking[] {
    if (this.tab === "tree") return this.structure?.banner ? [parseMarking(this.structure.banner)] : [];
    if (this.tab === "requests") return this.board.all.map((r) => parseMarking(r.marking?.banner));
    return this.readiness.markings.map(parseMarking);
  }

  /** Banner = roll-up of the map picture and the visible panel; portions per panel. */
  private updateBanner(): void {
    const mapParts = this.picture.items.map((i: Item) => itemMarking(i));
    const panelParts = this.panelMarkings();
    const whole = rollUp([...mapParts, ...panelParts]);
    const text = formatBanner(whole);
    for (const banner of [this.bannerTop, this.bannerBottom]) {
      banner.textContent = text;
      banner.className = `banner ${markingClass(whole)}`;
    }
    const mapRoll = rollUp(mapParts);
    this.mapPortion.textContent = formatPortion(mapRoll);
    this.mapPortion.className = `portion map-portion ${markingClass(mapRoll)}`;
    const panelRoll = rollUp(panelParts);
    this.panelPortion.textContent = formatPortion(panelRoll);
    this.panelPortion.className = `portion panel-portion ${markingClass(panelRoll)}`;
  }

  /** Fly to an organisation and pulse its symbol. */
  private highlight(org: Organisation): void {
    this.pulse?.remove();
    this.pulse = null;
    if (!org.location) return;
    const el = h("div", { class: "org-pulse", "data-testid": "org-pulse", "data-org": org.id }, h("div", { class: "ring" }));
    const marker = new maplibregl.Marker({ element: el, anchor: "center" });
    if (org.sidc) {
      const { canvas, anchor } = drawSymbol(org.sidc, org.name);
      const holder = h("div", { class: "org-symbol" }, canvas);
      holder.style.left = `${-anchor.x}px`;
      holder.style.top = `${-anchor.y}px`;
      el.append(holder);
    } else {
      el.append(h("div", { class: "org-pulse-label" }, org.name));
    }
    this.pulse = marker.setLngLat([org.location.lon, org.location.lat]).addTo(this.map);
    this.map.flyTo({ center: [org.location.lon, org.location.lat], zoom: Math.max(this.map.getZoom(), 6), speed: 1.6 });
  }

  private tick(): void {
    const now = Date.now();
    this.picture.tick(now);
    this.board.tick(now);
    const d = new Date(now);
    const pad = (n: number): string => String(n).padStart(2, "0");
    this.zulu.textContent = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
  }
}
