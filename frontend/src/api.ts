// HTTP client for /api/v1: every call carries the signed-in bearer token, if any.

const TOKEN_KEY = "allied-c2.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`HTTP ${status}: ${detail}`);
  }
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(token: string | null, json: boolean): HeadersInit {
  const out: Record<string, string> = { Accept: "application/json" };
  if (token) out.Authorization = `Bearer ${token}`;
  if (json) out["Content-Type"] = "application/json";
  return out;
}

async function parse<T>(response: Response): Promise<T> {
  const text = await response.text();
  if (!response.ok) {
    let detail = text;
    try {
      const body = JSON.parse(text) as { detail?: unknown };
      if (body.detail !== undefined) detail = JSON.stringify(body.detail).replace(/^"|"$/g, "");
    } catch {
      // not JSON: keep the raw text as the detail
    }
    throw new ApiError(response.status, detail || response.statusText);
  }
  return (text ? JSON.parse(text) : null) as T;
}

export async function apiGet<T>(path: string, token: string | null = getToken()): Promise<T> {
  const response = await fetch(path, { headers: headers(token, false), cache: "no-store" });
  return parse<T>(response);
}

export async function apiPost<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: "POST",
    headers: headers(getToken(), true),
    body: JSON.stringify(body),
  });
  return parse<T>(response);
}

export async function apiDelete<T>(path: string): Promise<T> {
  const response = await fetch(path, { method: "DELETE", headers: headers(getToken(), false) });
  return parse<T>(response);
}

/** A file the API makes (an export), with the bearer token; the caller saves it. */
export async function apiBlob(path: string): Promise<Blob> {
  const response = await fetch(path, { headers: headers(getToken(), false), cache: "no-store" });
  if (!response.ok) await parse<unknown>(response);
  return response.blob();
}

/** A list endpoint may answer with a bare array or `{banner, <key>: [...]}`. */
export function listOf<T>(body: unknown, ...keys: string[]): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === "object") {
    const record = body as Record<string, unknown>;
    for (const key of keys) if (Array.isArray(record[key])) return record[key] as T[];
  }
  return [];
}

// The token never goes in the URL (URLs are logged): the stream sends it as its first
// message (stream.ts). The server refuses a ?token= query.
export function streamUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/v1/stream`;
}
