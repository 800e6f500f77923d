// GeoChat in the side panel, as TAK clients show it: All Chat Rooms, team rooms and
// direct conversations, each message under its portion marking. Sending goes through
// POST /api/v1/chat (the server makes the b-t-f and applies its addressing and release
// rules); what is shown comes from GET /api/v1/chat and the stream's `chat` messages,
// both already filtered for the signed-in principal.

import { apiGet, apiPost } from "./api";
import { h, testId } from "./dom";
import { t } from "./i18n";
import { markingClass, portionOf } from "./marking";
import { MarkingPicker } from "./markingpicker";
import { stamp } from "./time";
import type { ChatMessage, Marking } from "./types";

export const ALL_CHAT_ROOMS = "All Chat Rooms";
const TEAMS = ["Cyan", "Red", "Green", "Blue", "Yellow", "White"];

export class ChatPanel {
  readonly el: HTMLElement;
  private readonly rooms = h("div", { class: "chat-rooms", "data-testid": "chat-rooms" });
  private readonly list = h("div", { class: "chat-list", "data-testid": "chat-list" });
  private readonly to: HTMLInputElement;
  private readonly text: HTMLTextAreaElement;
  private readonly error = h("div", { class: "error", "data-testid": "chat-error" });
  private readonly picker = new MarkingPicker("chat-marking");
  private readonly messages = new Map<string, ChatMessage>();
  private room = ALL_CHAT_ROOMS;

  constructor(
    private readonly me: () => string | null,
    private readonly contacts: () => string[],
    private readonly onChange: () => void,
  ) {
    this.to = h("input", {
      class: "chat-to",
      "data-testid": "chat-to",
      placeholder: t("chat.to.placeholder"),
      "aria-label": t("chat.to"),
      list: "chat-contacts",
    });
    this.to.addEventListener("change", () => this.open(this.to.value.trim() || ALL_CHAT_ROOMS));
    this.text = h("textarea", {
      class: "chat-text",
      "data-testid": "chat-text",
      rows: 2,
      placeholder: t("chat.text.placeholder"),
      "aria-label": t("chat.text"),
    });
    this.text.addEventListener("keydown", (e: KeyboardEvent) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        void this.send();
      }
    });
    const form = h(
      "form",
      { class: "chat-compose" },
      h("label", { class: "field" }, h("span", {}, t("chat.marking")), this.picker.el),
      this.text,
      h("button", { type: "submit", "data-testid": "chat-send" }, t("chat.send")),
      this.error,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.send();
    });
    this.el = h(
      "div",
      { class: "chat", "data-testid": "chat-panel" },
      h("label", { class: "field" }, h("span", {}, t("chat.to")), this.to, h("datalist", { id: "chat-contacts" })),
      this.rooms,
      this.list,
      form,
    );
    this.render(false);
  }

  /** The markings of what the panel shows (for the page banner). */
  get markings(): (Marking | null | undefined)[] {
    return this.visible().map((m) => m.marking);
  }

  async load(): Promise<void> {
    this.messages.clear();
    void this.picker.load();
    try {
      const body = await apiGet<{ messages: ChatMessage[] }>("/api/v1/chat");
      for (const m of body.messages) this.messages.set(m.uid, m);
      this.error.textContent = "";
    } catch (err) {
      this.error.textContent = t("chat.unavailable", { why: err instanceof Error ? err.message : String(err) });
    }
    this.render();
  }

  add(message: ChatMessage): void {
    this.messages.set(message.uid, message);
    this.render();
  }

  /** Which conversation a message belongs to, as ATAK files it. */
  private roomOf(m: ChatMessage): string {
    if (m.kind !== "direct") return m.room;
    return m.sender === this.me() ? m.room : (m.sender ?? m.room);
  }

  private visible(): ChatMessage[] {
    return [...this.messages.values()]
      .filter((m) => this.roomOf(m) === this.room)
      .sort((a, b) => a.time.localeCompare(b.time));
  }

  open(room: string): void {
    this.room = room;
    this.to.value = room === ALL_CHAT_ROOMS ? "" : room;
    this.render();
  }

  private async send(): Promise<void> {
    const text = this.text.value.trim();
    if (!text) return;
    this.error.textContent = "";
    try {
      const sent = await apiPost<ChatMessage>("/api/v1/chat", { to: this.room, text, marking: this.picker.value });
      this.text.value = "";
      this.add(sent);
    } catch (err) {
      this.error.textContent = err instanceof Error ? err.message : String(err);
    }
  }

  private render(notify = true): void {
    const known = new Set<string>([ALL_CHAT_ROOMS, ...TEAMS.filter((team) => this.hasRoom(team))]);
    for (const m of this.messages.values()) known.add(this.roomOf(m));
    known.add(this.room);
    const datalist = this.el?.querySelector("datalist");
    datalist?.replaceChildren(...this.contacts().map((c) => h("option", { value: c })));
    this.rooms.replaceChildren(
      ...[...known].map((room) =>
        h(
          "button",
          {
            class: `chat-room${room === this.room ? " active" : ""}`,
            "data-testid": `chat-room-${testId(room)}`,
            onclick: () => this.open(room),
          },
          room === ALL_CHAT_ROOMS ? t("chat.all") : h("span", { translate: "no" }, room),
        ),
      ),
    );
    const shown = this.visible();
    this.list.replaceChildren(
      ...(shown.length
        ? shown.map((m) =>
            h(
              "article",
              { class: `chat-message${m.sender === this.me() ? " mine" : ""}`, "data-testid": "chat-message", "data-uid": m.uid },
              h(
                "header",
                {},
                h("span", { class: `portion tiny ${markingClass(m.marking)}`, "data-testid": "chat-portion", translate: "no" }, portionOf(m.marking)),
                h("span", { class: "chat-sender", translate: "no" }, m.sender ?? "—"),
                h("time", { class: "chat-time", datetime: m.time, translate: "no" }, stamp(m.time)),
              ),
              h("div", { class: "chat-body", translate: "no" }, m.text),
            ),
          )
        : [h("div", { class: "empty" }, t("chat.empty"))]),
    );
    this.list.scrollTop = this.list.scrollHeight;
    if (notify) this.onChange();
  }

  private hasRoom(team: string): boolean {
    return [...this.messages.values()].some((m) => m.room === team);
  }
}
