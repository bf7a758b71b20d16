/**
 * The gateway's HTTP endpoint — localhost by default:
 * - `GET /healthz`: JSON with the state of every component; 200 when all are running, 503 when
 *   any is degraded/failed/stopped (a sink stopped by 401/403/404 shows here, with its reason);
 * - `GET /metrics`: Prometheus text format (prom-client).
 * Nothing else is served; no secret ever appears (component details are redacted at source).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ComponentHealth } from '../pipeline/contracts.ts';

export interface HealthReport {
  status: 'ok' | 'degraded';
  gateway: string;
  uptime_s: number;
  components: Record<string, ComponentHealth & { kind: string }>;
}

export interface HttpOptions {
  listen: string;
  gateway: string;
  registry: Registry;
  health: () => Record<string, ComponentHealth & { kind: string }>;
  /** Other paths (the pages and read API, gateway/web/): true when it answered the request. */
  handle?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  return { host: listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(listen.slice(at + 1)) };
}

export class HttpEndpoint {
  private server: Server | undefined;
  private readonly started = Date.now();

  constructor(private readonly opts: HttpOptions) {}

  report(): HealthReport {
    const components = this.opts.health();
    const ok = Object.values(components).every((c) => c.state === 'running');
    return { status: ok ? 'ok' : 'degraded', gateway: this.opts.gateway, uptime_s: Math.round((Date.now() - this.started) / 1000), components };
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (this.opts.handle?.(req, res)) return;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (url === '/healthz') {
        const report = this.report();
        res.writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      if (url === '/metrics') {
        this.opts.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.opts.registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
    });
    const { host, port } = splitListen(this.opts.listen);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  address(): { host: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}
