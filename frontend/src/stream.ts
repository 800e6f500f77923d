// The live stream (/api/v1/stream): JSON text frames, reconnecting with back-off.
// Sign-in is the first message, {"token": "..."} or {} for anonymous: a browser cannot
// set an Authorization header on a WebSocket, and a token in the URL would be logged.

import { streamUrl } from "./api";
import type { StreamMessage } from "./types";

export type StreamState = "connecting" | "live" | "down";

export class Stream {
  private socket: WebSocket | null = null;
  private retry = 0;
  private timer = 0;
  private generation = 0;

  constructor(
    private readonly onMessage: (message: StreamMessage) => void,
    private readonly onState: (state: StreamState) => void,
  ) {}

  /** (Re)connect as the principal the token stands for; null is anonymous. */
  open(token: string | null): void {
    this.close();
    const generation = ++this.generation;
    const connect = (): void => {
      if (generation !== this.generation) return;
      this.onState("connecting");
      const socket = new WebSocket(streamUrl());
      this.socket = socket;
      socket.onopen = () => {
        socket.send(JSON.stringify(token ? { token } : {}));
        this.retry = 0;
        this.onState("live");
      };
      socket.onmessage = (event: MessageEvent) => {
        if (typeof event.data !== "string") return;
        let message: StreamMessage;
        try {
          message = JSON.parse(event.data) as StreamMessage;
        } catch {
          return; // a frame that is not JSON carries nothing the page can show
        }
        this.onMessage(message);
      };
      socket.onclose = () => {
        if (generation !== this.generation) return;
        this.onState("down");
        const delay = Math.min(1000 * 2 ** this.retry, 15000);
        this.retry += 1;
        this.timer = window.setTimeout(connect, delay);
      };
    };
    connect();
  }

  /** Acknowledge a batch of items: the server sends the next ones only as the page keeps
   * up, so a busy page gets the picture as it is now, not a backlog (web/flow.py). */
  ack(seq: number): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ ack: seq }));
  }

  close(): void {
    this.generation += 1;
    window.clearTimeout(this.timer);
    if (this.socket) {
      // Frames still in flight belong to the previous principal: drop them.
      this.socket.onclose = null;
      this.socket.onmessage = null;
      this.socket.close();
      this.socket = null;
    }
  }
}
