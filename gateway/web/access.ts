/**
 * Who may see the pages and the API, and CSRF protection for the one thing that changes state
 * (acknowledging an alarm).
 *
 * - No token and no users configured (only allowed on a loopback listener, see config.ts):
 *   everyone who can reach the socket may read and acknowledge.
 * - `access_token`: `Authorization: Bearer <token>`, or a session cookie obtained by posting the
 *   token to `/login` (the cookie holds a random session id, never the token).
 * - `users`: HTTP basic auth (`Authorization: Basic …`); browsers prompt for it.
 * Comparisons are constant-time. Sessions live in memory (a restart logs everyone out) and
 * expire after 12 h.
 *
 * CSRF: a POST must carry `x-csrf-token` equal to the token from `GET /api/v1/session`, which is
 * an HMAC of the caller's identity under a per-process secret; a page from another origin can
 * neither read that response (no CORS headers) nor send the header without a preflight that is
 * refused. A present `Origin` header must also match the `Host`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebConfig } from './config.ts';

const SESSION_MS = 12 * 3_600_000;
const MAX_SESSIONS = 1000;
export const SESSION_COOKIE = 'lorawan_edge_session';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Equal lengths for timingSafeEqual; the length itself is not the secret worth protecting.
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Caller {
  /** who (for `acked_by`): a user name, `token`, or `local` when no login is configured */
  who: string;
}

export class Access {
  private readonly secret = randomBytes(32);
  private readonly sessions = new Map<string, { who: string; until: number }>();

  constructor(private readonly access: WebConfig['access']) {}

  get required(): boolean {
    return this.access.token !== undefined || this.access.users.length > 0;
  }

  get basicAuth(): boolean {
    return this.access.users.length > 0;
  }

  /** The authenticated caller, or undefined (→ 401). */
  caller(req: IncomingMessage): Caller | undefined {
    if (!this.required) return { who: 'local' };
    const auth = req.headers.authorization ?? '';
    if (this.access.token !== undefined && auth.startsWith('Bearer ') && same(auth.slice(7).trim(), this.access.token)) return { who: 'token' };
    if (auth.startsWith('Basic ')) {
      const text = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const at = text.indexOf(':');
      const name = text.slice(0, at);
      const pw = text.slice(at + 1);
      // Every user is compared, so the time does not tell which names exist.
      let hit: string | undefined;
      for (const u of this.access.users) if (same(u.name, name) && same(u.password, pw)) hit = u.name;
      if (at > 0 && hit) return { who: hit };
    }
    const sid = cookie(req, SESSION_COOKIE);
    if (sid) {
      const s = this.sessions.get(sid);
      if (s && s.until > Date.now()) return { who: s.who };
      if (s) this.sessions.delete(sid);
    }
    return undefined;
  }

  /** Checks a token posted to /login; returns a new session id. */
  login(token: string): string | undefined {
    if (this.access.token === undefined || !same(token, this.access.token)) return undefined;
    if (this.sessions.size >= MAX_SESSIONS) {
      const now = Date.now();
      for (const [k, s] of this.sessions) if (s.until <= now || this.sessions.size >= MAX_SESSIONS) this.sessions.delete(k);
    }
    const sid = randomBytes(32).toString('base64url');
    this.sessions.set(sid, { who: 'token', until: Date.now() + SESSION_MS });
    return sid;
  }

  csrfToken(caller: Caller): string {
    return createHmac('sha256', this.secret).update(`csrf:${caller.who}`).digest('base64url');
  }

  /** Whether a state-changing request carries the caller's CSRF token and comes from this origin. */
  csrfOk(req: IncomingMessage, caller: Caller): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        return false;
      }
      if (host !== req.headers.host) return false;
    }
    const t = req.headers['x-csrf-token'];
    return typeof t === 'string' && same(t, this.csrfToken(caller));
  }
}

export function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
