// /metrics as Prometheus scrapes it: every name under one prefix, prom-client's default
// process and Node.js metrics with their own names (not lorawan_edge_process_process_…).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpEndpoint } from './http/server.ts';
import { createMetrics, METRIC_PREFIX } from './metrics.ts';

describe('gateway metrics on /metrics', () => {
  const metrics = createMetrics();
  const http = new HttpEndpoint({ listen: '127.0.0.1:0', gateway: 'test', registry: metrics.registry, health: () => ({}) });
  let text = '';
  beforeAll(async () => {
    await http.start();
    const { port } = http.address() ?? { port: 0 };
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  });
  afterAll(() => http.close());

  const names = (): string[] => [...new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2] ?? ''))];

  it("keeps prom-client's default names under the one prefix", () => {
    expect(names()).toContain('lorawan_edge_process_cpu_seconds_total');
    expect(names()).toContain('lorawan_edge_process_resident_memory_bytes');
    expect(names()).toContain('lorawan_edge_nodejs_heap_size_used_bytes');
    expect(text).not.toMatch(/process_process_|_process_nodejs_/);
  });

  it('exports every metric under lorawan_edge_', () => {
    expect(names().length).toBeGreaterThan(20);
    for (const n of names()) expect(n.startsWith(METRIC_PREFIX), n).toBe(true);
    expect(names()).toContain('lorawan_edge_uplinks_received_total');
  });
});
