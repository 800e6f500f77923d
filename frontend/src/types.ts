// JSON shapes of the allied-c2 HTTP/WebSocket API (docs/api.md).

/** A marking as the server shows it (allied_c2.security.display.marking_json). */
export interface Marking {
  banner: string;
  portion: string;
  class: string; // display class chosen by the server: mk-u, mk-cui, mk-r, mk-c, mk-s, mk-ts, mk-ts-sci
  originator?: string | null; // originating nation, sent back when asking for a roll-up
}

export interface Principal {
  callsign: string;
  nation: string | null;
  clearance: string;
  cois?: string[];
  roles?: string[];
  organisation?: string | null;
}

export interface Item {
  uid: string;
  type: string;
  how?: string | null;
  time?: string | null;
  start?: string | null;
  stale?: string | null;
  lat: number;
  lon: number;
  hae?: number | null;
  ce?: number | null;
  le?: number | null;
  callsign?: string | null;
  group?: { name?: string | null; role?: string | null } | null;
  course?: number | null;
  speed?: number | null;
  remarks?: string | null;
  access?: string | null;
  caveat?: string | null;
  releasableTo?: string | null;
  marking?: Marking | null;
  sidc?: string | null;
  shape?: Shape | null; // drawings (u-d-…): their geometry, read by the server
  [extra: string]: unknown;
}

/** A drawing's geometry as the server reads it from ATAK's CoT (docs/api.md). */
export interface Shape {
  kind: "line" | "polygon" | "circle";
  points: [number, number][]; // [lat, lon]
  radii: number[]; // metres, one per ring
  stroke: string | null;
  fill: string | null;
}

/** A GeoChat message as the server reads it (POST/GET /api/v1/chat, stream `chat`). */
export interface ChatMessage {
  uid: string;
  time: string;
  room: string;
  room_id?: string | null;
  kind: "all" | "team" | "direct";
  sender?: string | null;
  sender_uid?: string | null;
  to?: string[];
  text: string;
  marking?: Marking | null;
}

export interface Organisation {
  id: string;
  name: string;
  nation: string;
  kind?: string;
  echelon?: string;
  timezone?: string;
  location?: { lat: number; lon: number } | null;
  native_name?: string | null;
  sidc?: string | null;
  marking?: string | null;
  [extra: string]: unknown;
}

export interface Relationship {
  superior: string;
  subordinate: string;
  relation: string;
  note?: string | null;
}

export interface Authority {
  request_kind: string;
  nation: string;
  decider: string;
  forces?: string[];
  consult_counterpart?: boolean;
  delegated_from?: string | null;
  max_hours?: number;
}

export interface Structure {
  name: string;
  banner?: string;
  organisations: Organisation[];
  relationships: Relationship[];
  authorities: Authority[];
  request_kinds?: { id: string; title: string; bilateral?: boolean }[];
}

export interface HistoryEntry {
  at: string;
  actor: string;
  action: string;
  from?: string | null;
  to?: string | null;
  reason?: string | null;
}

export interface DecisionRequest {
  id: string;
  kind: string;
  kind_title?: string;
  originator: string;
  subject: string;
  urgency: string;
  marking?: Marking | null;
  state: string;
  holder?: string | null;
  holder_name?: string | null;
  submitted_at?: string | null;
  needed_by?: string | null;
  deadline?: string | null;
  route?: { decider?: string; counterparts?: string[]; hops?: string[] } | null;
  history?: HistoryEntry[];
  allowed_actions?: string[];
}

export interface ReadinessReport {
  id: number | string;
  unit: string;
  unit_name?: string;
  nation?: string;
  p: number;
  s: number;
  r: number;
  t: number;
  computed?: string;
  assessed?: string | null;
  level?: string;
  reason?: string | null;
  mets?: { task: string; rating: string }[];
  reported_at?: string;
  stale?: boolean;
  marking?: Marking | null;
}

export interface Rollup {
  org?: string;
  nation?: string;
  name?: string;
  units?: number;
  reported?: number;
  stale?: number;
  missing?: number;
  by_level?: Record<string, number>;
  worst?: string | null;
  areas?: Record<string, { worst?: number | null; mean?: number | null }>;
  banner?: string;
}

export type StreamMessage =
  | { kind: "hello"; principal: Principal }
  | { kind: "snapshot"; items: Item[] }
  | { kind: "item"; item: Item }
  | { kind: "items"; items: Item[]; seq?: number }
  | { kind: "chat"; message: ChatMessage }
  | { kind: "remove"; uid: string; reason?: string }
  | { kind: "request"; request: DecisionRequest }
  | { kind: "readiness"; report: ReadinessReport };
