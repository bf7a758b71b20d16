/**
 * The pages and the read API on the gateway's HTTP listener: access control, CSRF, request size
 * limits, JSON errors, Server-Sent Events and the built page assets (dist/web, made by
 * `npm run build`). `handle()` answers every path it owns and returns false for the others
 * (`/healthz`, `/metrics` stay with the endpoint).
 *
 * Every error a caller can cause is a 4xx with `{"error": {"code", "message"}}`; anything else
 * is a 500 with the same shape, logged, never a stack trace.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import type { ComponentHealth } from '../pipeline/contracts.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { Access, SESSION_COOKIE, type Caller } from './access.ts';
import { getPlanner } from './planner-api.ts';
import { PLANNER_DEFAULTS } from './store/planner-store.ts';
import { ApiError, devEuiParam, getAlarms, getDevice, getDevices, getFrames, getOverview, getReadings, postAcknowledge, type ApiResult } from './api.ts';
import type { WebConfig } from './config.ts';
import type { LocalStoreSink } from './store/local-sink.ts';
import type { StoreEvent } from './store/local-store.ts';

export const MAX_URL_CHARS = 4096;
export const MAX_BODY_BYTES = 4096;
export const MAX_SSE_CLIENTS = 200;
const KEEPALIVE_MS = 15_000;

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml' };

export interface WebHandlerOptions {
  config: WebConfig;
  gateway: string;
  sink: LocalStoreSink;
  assetsDir: string;
  now: () => number;
  metrics: GatewayMetrics;
  health: () => Record<string, ComponentHealth & { kind: string }>;
  logger: { error(obj: object, msg: string): void };
}

const PAGE_ROUTES = [/^\/$/, /^\/devices\/?$/, /^\/devices\/[^/]{1,64}$/, /^\/map\/?$/, /^\/planner\/?$/];

export class WebHandler {
  readonly access: Access;
  private readonly assets = new Map<string, Buffer>();
  private readonly clients = new Set<ServerResponse>();

  constructor(private readonly opts: WebHandlerOptions) {
    this.access = new Access(opts.config.access);
    // The assets are read once: a fixed set of files, so a path can never leave the folder.
    if (existsSync(opts.assetsDir)) for (const f of readdirSync(opts.assetsDir)) if (TYPES[extname(f)]) this.assets.set(f, readFileSync(join(opts.assetsDir, f)));
  }

  /** Connected live-update clients (for tests and the bench). */
  get sseClients(): number {
    return this.clients.size;
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const raw = req.url ?? '/';
    const path = raw.split('?')[0] ?? '/';
    if (path === '/healthz' || path === '/metrics') return false;
    if (raw.length > MAX_URL_CHARS) {
      json(res, 414, { error: { code: 'uri_too_long', message: `the request URL is longer than ${MAX_URL_CHARS} characters` } });
      return true;
    }
    try {
      // Not new URL(raw, base): a path like "//x" would be read as a host.
      const at = raw.indexOf('?');
      this.route(req, res, path, new URLSearchParams(at >= 0 ? raw.slice(at + 1) : ''));
    } catch (err) {
      this.fail(res, err);
    }
    return true;
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof ApiError) return json(res, err.status, { error: { code: err.code, message: err.message } });
    this.opts.logger.error({ err: (err as Error).message }, 'web request failed');
    if (!res.headersSent) json(res, 500, { error: { code: 'internal', message: 'internal error (logged by the gateway)' } });
    else res.end();
  }

  private route(req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams): void {
    const method = req.method ?? 'GET';
    if (path === '/login') return this.login(req, res, method);
    if (path.startsWith('/assets/')) {
      const file = this.assets.get(path.slice('/assets/'.length));
      if (!file) throw new ApiError(404, 'not_found', `no asset ${path}`);
      res.writeHead(200, { 'content-type': TYPES[extname(path)] as string, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).end(file);
      return;
    }
    const isApi = path.startsWith('/api/');
    const isPage = PAGE_ROUTES.some((r) => r.test(path));
    if (!isApi && !isPage) throw new ApiError(404, 'not_found', `nothing at ${path} (pages: /, /devices, /devices/<devEui>, /map, /planner; API: /api/v1/…; /healthz, /metrics)`);
    const caller = this.access.caller(req);
    if (!caller) return this.unauthorized(res, isPage);
    if (isPage) {
      if (method !== 'GET' && method !== 'HEAD') throw new ApiError(405, 'method_not_allowed', 'pages are GET only');
      return this.page(res);
    }
    if (!this.opts.sink.isOpen) throw new ApiError(503, 'store_not_open', 'the local store is not open yet');
    const store = this.opts.sink.store;
    const now = this.opts.now();
    const m = /^\/api\/v1\/(.*)$/.exec(path);
    const rest = m?.[1] ?? '';
    if (method === 'POST') {
      const ack = /^alarms\/([^/]+)\/acknowledge$/.exec(rest);
      if (!ack) throw new ApiError(405, 'method_not_allowed', 'only POST /api/v1/alarms/<id>/acknowledge changes anything');
      return this.withBody(req, res, () => {
        if (!this.access.csrfOk(req, caller)) throw new ApiError(403, 'csrf', 'missing or wrong x-csrf-token header (GET /api/v1/session gives it) or a cross-origin request');
        return postAcknowledge(store, ack[1] as string, caller.who, now);
      });
    }
    if (method !== 'GET' && method !== 'HEAD') throw new ApiError(405, 'method_not_allowed', 'the API is read-only except POST /api/v1/alarms/<id>/acknowledge');
    if (rest === 'events') return this.events(req, res, params);
    const dev = /^devices\/([^/]+)(?:\/(frames|readings))?$/.exec(rest);
    let out: ApiResult;
    if (rest === 'session') out = this.session(caller);
    else if (rest === 'overview') out = this.overview(store, params, now);
    else if (rest === 'devices') out = getDevices(store, params, now);
    else if (rest === 'alarms') out = getAlarms(store, params);
    else if (rest === 'planner') {
      const pc = this.opts.config.planner;
      const r = getPlanner(store, params, now, { ...PLANNER_DEFAULTS, roundTime: pc.round_time, thresholdPct: pc.threshold_pct, groupBy: this.opts.config.commune_tag });
      if ('csv' in r) {
        res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${r.filename}"`, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(r.csv);
        return;
      }
      out = r;
    }
    else if (dev) {
      const eui = devEuiParam(dev[1] as string);
      out = dev[2] === 'frames' ? getFrames(store, eui, params, now) : dev[2] === 'readings' ? getReadings(store, eui, params, now) : getDevice(store, eui, params, now);
    } else throw new ApiError(404, 'not_found', `no API at ${path}`);
    json(res, out.status, out.body);
  }

  private session(caller: Caller): ApiResult {
    const c = this.opts.config;
    return { status: 200, body: { gateway: this.opts.gateway, who: caller.who, csrfToken: this.access.csrfToken(caller), communeTag: c.commune_tag, map: { tiles: c.map.tiles ?? null, attribution: c.map.attribution } } };
  }

  private overview(store: Parameters<typeof getOverview>[0], params: URLSearchParams, now: number): ApiResult {
    const base = getOverview(store, params, now);
    const lagBySink = new Map<string, number>();
    const h = this.opts.health();
    const components = Object.entries(h).map(([name, c]) => ({ name, kind: c.kind, state: c.state, detail: c.detail ?? null }));
    for (const s of Object.keys(h)) if (s.startsWith('sink:')) lagBySink.set(s.slice(5), 0);
    const errors = sinkErrorCounts(this.opts.metrics);
    return {
      status: 200,
      body: {
        ...(base.body as object),
        health: {
          components,
          sinks: [...lagBySink.keys()].map((name) => ({ name, lag: this.opts.sink.name === name ? this.opts.sink.pending() : lagOf(this.opts.metrics, name), errors: errors.get(name) ?? 0 })),
        },
      },
    };
  }

  private withBody(req: IncomingMessage, res: ServerResponse, then: () => ApiResult): void {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      json(res, 413, { error: { code: 'too_large', message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` } });
      req.resume();
      return;
    }
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES && !over) {
        over = true;
        json(res, 413, { error: { code: 'too_large', message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` } });
      }
    });
    req.on('end', () => {
      if (over) return;
      try {
        const out = then();
        json(res, out.status, out.body);
      } catch (err) {
        this.fail(res, err);
      }
    });
  }

  private login(req: IncomingMessage, res: ServerResponse, method: string): void {
    if (this.opts.config.access.token === undefined) throw new ApiError(404, 'not_found', 'no token login configured');
    if (method === 'GET') return void res.writeHead(200, htmlHeaders()).end(loginPage(''));
    if (method !== 'POST') throw new ApiError(405, 'method_not_allowed', 'GET or POST');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return json(res, 413, { error: { code: 'too_large', message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` } });
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token') ?? '';
      const sid = this.access.login(token);
      if (!sid) return void res.writeHead(401, htmlHeaders()).end(loginPage('Wrong token.'));
      res.writeHead(303, { location: '/', 'set-cookie': `${SESSION_COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200` }).end();
    });
  }

  private unauthorized(res: ServerResponse, isPage: boolean): void {
    const headers: Record<string, string> = {};
    if (this.access.basicAuth) headers['www-authenticate'] = 'Basic realm="lorawan-edge", charset="UTF-8"';
    if (isPage && this.opts.config.access.token !== undefined) {
      res.writeHead(401, { ...htmlHeaders(), ...headers }).end(loginPage(''));
      return;
    }
    json(res, 401, { error: { code: 'unauthorized', message: 'log in: Authorization: Bearer <web.access_token>, basic auth (web.users), or POST /login' } }, headers);
  }

  private page(res: ServerResponse): void {
    if (!this.assets.has('app.js')) throw new ApiError(503, 'pages_not_built', 'the pages are not built: run `npm run build`');
    const tiles = this.opts.config.map.tiles;
    const tileOrigin = tiles ? new URL(tiles.replace(/\{[a-z]\}/g, '0')).origin : '';
    res
      .writeHead(200, {
        ...htmlHeaders(),
        'content-security-policy': `default-src 'self'; img-src 'self' data: ${tileOrigin}; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'`,
      })
      .end(SHELL);
  }

  private events(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    for (const k of params.keys()) if (k !== 'devEui' && k !== 'types') throw new ApiError(400, 'unknown_parameter', `unknown query parameter "${k}" (expected: devEui, types)`);
    const only = params.get('devEui') === null ? undefined : devEuiParam(params.get('devEui') as string);
    const types = new Set((params.get('types') ?? 'uplink,join,status,alarm').split(','));
    for (const t of types) if (!['uplink', 'join', 'status', 'alarm'].includes(t)) throw new ApiError(400, 'bad_parameter', 'types must be a comma list of uplink, join, status, alarm');
    if (this.clients.size >= MAX_SSE_CLIENTS) throw new ApiError(503, 'too_many_clients', `at most ${MAX_SSE_CLIENTS} live pages at once`);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    const send = (e: StoreEvent): void => {
      const dev = e.type === 'alarm' ? e.alarm.devEui : e.devEui;
      if ((only !== undefined && dev !== only) || !types.has(e.type)) return;
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    };
    const unsubscribe = this.opts.sink.subscribe(send);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const done = (): void => {
      clearInterval(keepalive);
      unsubscribe();
      this.clients.delete(res);
    };
    req.on('close', done);
    res.on('error', done);
  }

  /** Ends every live-update stream (the gateway is stopping). */
  closeAll(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers }).end(`${JSON.stringify(body)}\n`);
}

function htmlHeaders(): Record<string, string> {
  return { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' };
}

function sinkErrorCounts(metrics: GatewayMetrics): Map<string, number> {
  const out = new Map<string, number>();
  // prom-client keeps the values synchronously in its hash map; `get()` only wraps them.
  const hash = (metrics.sinkErrors as unknown as { hashMap?: Record<string, { value: number; labels: { sink?: string } }> }).hashMap ?? {};
  for (const v of Object.values(hash)) if (v.labels.sink) out.set(v.labels.sink, (out.get(v.labels.sink) ?? 0) + v.value);
  return out;
}

function lagOf(metrics: GatewayMetrics, sink: string): number {
  const hash = (metrics.sinkLag as unknown as { hashMap?: Record<string, { value: number; labels: { sink?: string } }> }).hashMap ?? {};
  for (const v of Object.values(hash)) if (v.labels.sink === sink) return v.value;
  return 0;
}

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lorawan-edge</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<div id="app"><p class="loading">Loading…</p></div>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;

function loginPage(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>lorawan-edge — log in</title>
<style>body{font:16px system-ui,sans-serif;margin:2rem auto;max-width:24rem;padding:0 1rem}input,button{font:inherit;width:100%;box-sizing:border-box;padding:.7rem;margin:.4rem 0}</style></head>
<body><h1>lorawan-edge</h1><form method="post" action="/login"><label>Access token <input type="password" name="token" autocomplete="current-password" required></label><button type="submit">Log in</button></form>
${message ? `<p role="alert">${message}</p>` : ''}</body></html>`;
}
