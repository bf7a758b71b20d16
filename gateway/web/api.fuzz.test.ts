/**
 * Fuzz target for the read API's external input (paths, query strings, methods, headers):
 * whatever arrives, the answer is a 2xx/4xx JSON document (or the page shell / an SSE stream),
 * never a 5xx, a stack trace or a crash. Fixed seed, bounded runs.
 */
import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.ts';
import { uplinkRecord } from '../schema/testing.ts';
import { checkWebConfig } from './config.ts';
import type { LocalStoreSink } from './store/local-sink.ts';
import { LocalStore } from './store/local-store.ts';
import { WebHandler } from './web-handler.ts';

let server: Server;
let base: string;
const store = new LocalStore({ file: ':memory:', historyDays: 90, framesPerDevice: 50, communeTag: 'commune', locationTags: { lat: 'lat', lon: 'lon' } });

beforeAll(async () => {
  store.syncRegistry([{ dev_eui: '70b3d5e75e000001', name: 'bin-1', model: 'dingtek/df703', category: 'bin-fill', tags: { commune: 'c' } }]);
  store.apply([{ id: 1, value: uplinkRecord('70b3d5e75e000001', { name: 'bin-1', tags: {} }, { decoded: { model: 'm', readings: [{ values: { fill_pct: 50, alarm_full: true } }], warnings: [], errors: [], by: 'codec' } }) }]);
  // The handler needs only these of the sink.
  const sink = { name: 'local', isOpen: true, store, pending: () => 0, subscribe: () => () => undefined } as unknown as LocalStoreSink;
  const { web } = checkWebConfig(undefined, { dataDir: '/tmp', base: '/tmp', listen: '127.0.0.1:0', sinkNames: new Set() });
  const handler = new WebHandler({ config: web, gateway: 'fuzz', sink, assetsDir: '/nonexistent', now: Date.now, metrics: createMetrics(), health: () => ({}), logger: { error: () => undefined } });
  server = createServer((req, res) => {
    if (!handler.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  store.close();
});

const segment = fc.oneof(
  fc.constantFrom('api', 'v1', 'devices', 'alarms', 'overview', 'session', 'frames', 'readings', 'acknowledge', '70b3d5e75e000001', 'ffffffffffffffff', '1', '..', '%00', '%E0%A4%A', 'events'),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const param = fc.tuple(
  fc.constantFrom('state', 'category', 'commune', 'model', 'q', 'limit', 'offset', 'since', 'until', 'devEui', 'types', 'x'),
  fc.oneof(fc.constantFrom('silent', 'bin-fill', '0', '-1', '1e3', '99999999999', 'LW:D0:1:2', '2026-01-01', 'open', 'uplink,nope'), fc.string({ maxLength: 30 })),
);

describe('read API fuzz', () => {
  it('answers every request with a JSON 2xx/4xx, never a 5xx or a stack trace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.array(param, { maxLength: 4 }), fc.constantFrom('GET', 'POST', 'PUT', 'HEAD'), async (segs, params, method) => {
        const q = new URLSearchParams(params).toString();
        const path = `/${segs.join('/')}${q ? `?${q}` : ''}`;
        if (path.startsWith('/api/v1/events') && method === 'GET') return; // a stream; covered in test/web-api.test.ts
        const res = await fetch(`${base}${path}`, { method });
        const text = await res.text();
        // 503 only for a page while the assets are not built (this test builds none).
        if (res.status >= 500) expect([res.status, method === 'HEAD' || text.includes('pages_not_built')], path).toEqual([503, true]);
        expect(text, path).not.toMatch(/\n\s+at |Error:/);
        if (method !== 'HEAD' && res.headers.get('content-type')?.includes('json')) expect(() => JSON.parse(text) as unknown, path).not.toThrow();
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});
