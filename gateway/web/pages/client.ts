/// <reference lib="dom" />
/**
 * The pages' access to the read API: same-origin fetches (the session cookie or basic auth go
 * along by themselves), the CSRF token for the one POST, and live updates over EventSource.
 */
export interface Session {
  gateway: string;
  who: string;
  csrfToken: string;
  communeTag: string;
  map: { tiles: string | null; attribution: string };
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new ApiFailure(res.status, body.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

let session: Promise<Session> | undefined;
export function getSession(): Promise<Session> {
  session ??= api<Session>('/api/v1/session');
  return session;
}

export async function acknowledge(id: number): Promise<void> {
  const s = await getSession();
  await api(`/api/v1/alarms/${id}/acknowledge`, { method: 'POST', headers: { 'x-csrf-token': s.csrfToken } });
}

export function liveEvents(filter: { devEui?: string; types?: string }, on: (type: string, data: unknown) => void): EventSource {
  const q = new URLSearchParams();
  if (filter.devEui) q.set('devEui', filter.devEui);
  if (filter.types) q.set('types', filter.types);
  const es = new EventSource(`/api/v1/events${q.size ? `?${q.toString()}` : ''}`);
  for (const type of ['uplink', 'join', 'status', 'alarm']) es.addEventListener(type, (e) => on(type, JSON.parse((e as MessageEvent<string>).data)));
  return es;
}
