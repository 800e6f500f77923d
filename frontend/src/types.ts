// JSON shapes of the allied-c2 HTTP/WebSocket API (docs/api.md).

export interface Marking {
  banner: string;
  portion: string;
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
  [extra: string]: unknown;
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
  | { kind: "remove"; uid: string; reason?: string }
  | { kind: "request"; request: DecisionRequest }
  | { kind: "readiness"; report: ReadinessReport };
