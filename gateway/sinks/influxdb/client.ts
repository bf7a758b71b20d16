// HTTP writes of line protocol to InfluxDB with node:http(s) and a keep-alive agent.
//
//   v1: POST {url}/write?db=&rp=&precision=ms        auth: HTTP Basic (default) or u/p params
//   v2: POST {url}/api/v2/write?org=&bucket=&precision=ms   auth: Authorization: Token|Bearer …
//
// The client only sends and reports: status, (capped) body, Retry-After. Deciding what a
// response means is the sink's job. Credentials never leave this module except inside the
// request itself: `redact()` scrubs them from any text the sink is about to log or store.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCallback, constants as zlibConstants } from 'node:zlib';
import { gzipEnabled, type InfluxSinkConfig } from './config.ts';

const gzipAsync = promisify(gzipCallback);

/** Bodies of error responses are kept up to this size (partial-write messages can be long). */
export const MAX_RESPONSE_BODY = 4 * 1024 * 1024;
/** Fast compression: on a LAN or loopback the CPU, not the wire, is the limit. */
export const GZIP_LEVEL = zlibConstants.Z_BEST_SPEED;

export interface WriteResponse {
  status: number;
  /** Response body (UTF-8), truncated to MAX_RESPONSE_BODY. Already redacted. */
  body: string;
  /** Retry-After in ms (seconds or HTTP-date form), when the server sent one. */
  retryAfterMs: number | undefined;
  /** X-Influxdb-Error header, when present (1.x duplicates the error there). Redacted. */
  influxError: string | undefined;
}

export interface PreparedBody {
  data: Buffer;
  gzipped: boolean;
  /** Uncompressed size in bytes. */
  rawBytes: number;
  lines: number;
}

/** The request did not produce an HTTP response: connection refused/reset, DNS, timeout. */
export class InfluxNetworkError extends Error {
  readonly code: string | undefined;
  readonly timedOut: boolean;
  constructor(message: string, code: string | undefined, timedOut: boolean) {
    super(message);
    this.name = 'InfluxNetworkError';
    this.code = code;
    this.timedOut = timedOut;
  }
}

export interface Credentials {
  username?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
}

/** Parse Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export class InfluxWriteClient {
  private readonly cfg: InfluxSinkConfig;
  private readonly agent: HttpAgent;
  private readonly isHttps: boolean;
  private readonly gzip: boolean;
  private creds: Credentials;
  private secrets: string[] = [];

  constructor(cfg: InfluxSinkConfig) {
    this.cfg = cfg;
    this.isHttps = cfg.url.startsWith('https:');
    this.gzip = gzipEnabled(cfg);
    const agentOpts = { keepAlive: true, maxSockets: cfg.max_in_flight + 1, keepAliveMsecs: 10_000 };
    this.agent = this.isHttps ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
    this.creds = { username: cfg.username, password: cfg.password, token: cfg.token };
    this.updateSecrets();
  }

  /** Replace the credentials (a config fix while the sink is stopped). */
  setCredentials(creds: Credentials): void {
    this.creds = { ...this.creds, ...creds };
    this.updateSecrets();
  }

  /** Remove every credential (and its encodings) from a text before it is logged or stored. */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
    return out;
  }

  /** Join lines (LF, never CRLF) and gzip when configured and large enough. */
  prepare(lines: readonly string[]): Promise<PreparedBody> {
    return this.prepareJoined(Buffer.from(lines.join('\n'), 'utf8'), lines.length);
  }

  /** A body of `lines` lines already joined (LF) into bytes; gzipped when configured and large enough. */
  async prepareJoined(raw: Buffer, lines: number): Promise<PreparedBody> {
    if (this.gzip && raw.length >= this.cfg.gzip_min_bytes) {
      const data = await gzipAsync(raw, { level: GZIP_LEVEL });
      return { data, gzipped: true, rawBytes: raw.length, lines };
    }
    return { data: raw, gzipped: false, rawBytes: raw.length, lines };
  }

  /** Where writes go, without credentials (for messages). */
  get endpoint(): string {
    return this.cfg.version === 1 ? `${this.cfg.url}/write` : `${this.cfg.url}/api/v2/write`;
  }

  /** POST one body. Resolves with any HTTP response; rejects with InfluxNetworkError or an AbortError. */
  send(body: PreparedBody, signal?: AbortSignal): Promise<WriteResponse> {
    const headers: Record<string, string | number> = {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': body.data.length,
    };
    if (body.gzipped) headers['content-encoding'] = 'gzip';
    const auth = this.authorization();
    if (auth !== undefined) headers['authorization'] = auth;
    const url = this.writeUrl();
    const request = this.isHttps ? httpsRequest : httpRequest;
    return new Promise<WriteResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const req = request(url, { method: 'POST', agent: this.agent, headers, signal }, (res) => {
        this.readResponse(res).then(
          (r) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve(r);
          },
          (err: unknown) => fail(this.networkError(err, false)),
        );
      });
      const timer = setTimeout(() => {
        req.destroy(new InfluxNetworkError(`no response from ${this.endpoint} within ${this.cfg.timeout_ms} ms`, 'ETIMEDOUT', true));
      }, this.cfg.timeout_ms);
      req.on('error', (err) => {
        if (err.name === 'AbortError') fail(err);
        else fail(this.networkError(err, false));
      });
      req.end(body.data);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private writeUrl(): URL {
    const cfg = this.cfg;
    const url = new URL(this.endpoint);
    if (cfg.version === 1) {
      url.searchParams.set('db', cfg.database ?? '');
      if (cfg.retention_policy) url.searchParams.set('rp', cfg.retention_policy);
      url.searchParams.set('precision', 'ms');
      if (cfg.v1_auth === 'query' && this.creds.username !== undefined) {
        url.searchParams.set('u', this.creds.username);
        url.searchParams.set('p', this.creds.password ?? '');
      }
    } else {
      if (cfg.org) url.searchParams.set('org', cfg.org);
      url.searchParams.set('bucket', cfg.bucket ?? '');
      url.searchParams.set('precision', 'ms');
    }
    return url;
  }

  private authorization(): string | undefined {
    const { username, password, token } = this.creds;
    if (this.cfg.version === 1) {
      if (this.cfg.v1_auth === 'basic' && username !== undefined) {
        return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
      }
      return undefined;
    }
    if (token !== undefined) return `${this.cfg.auth_scheme} ${token}`;
    // InfluxDB 1.8's v2 compatibility endpoint takes "Token user:password".
    if (username !== undefined) return `Token ${username}:${password ?? ''}`;
    return undefined;
  }

  private updateSecrets(): void {
    const { username, password, token } = this.creds;
    const s = new Set<string>();
    const add = (v: string | undefined): void => {
      if (v !== undefined && v !== '') {
        s.add(v);
        s.add(encodeURIComponent(v));
        s.add(JSON.stringify(v).slice(1, -1));
      }
    };
    add(password);
    add(token);
    if (username !== undefined && password !== undefined) {
      add(Buffer.from(`${username}:${password}`).toString('base64'));
      add(`${username}:${password}`);
    }
    // Longest first, so a secret containing another is replaced whole.
    this.secrets = [...s].sort((a, b) => b.length - a.length);
  }

  private async readResponse(res: IncomingMessage): Promise<WriteResponse> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res) {
      const b = chunk as Buffer;
      if (size < MAX_RESPONSE_BODY) {
        chunks.push(b.subarray(0, MAX_RESPONSE_BODY - size));
        size += b.length;
      }
    }
    const status = res.statusCode ?? 0;
    const retryAfter = res.headers['retry-after'];
    const influxError = res.headers['x-influxdb-error'];
    return {
      status,
      body: this.redact(Buffer.concat(chunks).toString('utf8')),
      retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
      influxError: typeof influxError === 'string' ? this.redact(influxError) : undefined,
    };
  }

  private networkError(err: unknown, timedOut: boolean): Error {
    if (err instanceof InfluxNetworkError) return err;
    if (err instanceof Error && err.name === 'AbortError') return err;
    const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    const message = err instanceof Error ? err.message : String(err);
    return new InfluxNetworkError(this.redact(`${this.endpoint}: ${message}`), code, timedOut);
  }
}
