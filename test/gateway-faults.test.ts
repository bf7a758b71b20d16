/**
 * Losing nothing through crashes and outages, with the real daemon (`lorawan-edge gateway` as a
 * child process), real Mosquitto and real InfluxDB 1.6:
 * - `kill -9` of the gateway three times during a run: every reading arrives exactly once;
 * - InfluxDB stopped mid-run and started again: the backlog drains, nothing lost;
 * - Mosquitto restarted mid-run: nothing lost (persistent session, broker persistence).
 * "Exactly once" is checked per uplink: one point per (device, timestamp) with the right value.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { eventToJson, eventTopic, type UplinkEvent } from '../lorawan/chirpstack/events.ts';
import { freePort } from '../support/free-port.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
const DEVICES = Array.from({ length: 20 }, (_, i) => ({ dev_eui: `70b3d5e75e10${String(i).padStart(4, '0')}`, name: `bin-${i}`, model: 'dingtek/df703', tags: { commune: i % 2 ? 'east' : 'west' } }));
const T0 = Date.UTC(2026, 10, 1);

let broker: MosquittoServer;
let influx: InfluxdServer;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  [broker, influx] = await Promise.all([startMosquitto(), startInfluxd({ database: null })]);
}, 120_000);

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  await Promise.all([broker?.dispose(), influx?.dispose()]);
});

/** The i-th uplink of the run: device i mod 20, distance derived from i so values are checkable. */
function event(i: number): { ev: UplinkEvent; distance: number } {
  const codec = nativeCodec('dingtek/df703');
  const d = DEVICES[i % DEVICES.length]!;
  const distance = 100 + (i % 2000);
  const enc = codec!.encodeUplink({ readings: [{ values: { distance_mm: distance, temperature_c: 10 } }] });
  return {
    distance,
    ev: {
      kind: 'up',
      deduplicationId: `run-${i}`,
      time: T0 + i * 1000,
      deviceInfo: { tenantId: 't', tenantName: 't', applicationId: 'app', applicationName: 'waste', deviceProfileId: 'p', deviceProfileName: 'df703', deviceName: d.name, devEui: d.dev_eui, deviceClassEnabled: 'CLASS_A', tags: {} },
      devAddr: '26000000',
      adr: true,
      dr: 5,
      fCnt: Math.floor(i / DEVICES.length),
      fPort: 3,
      confirmed: false,
      data: Uint8Array.from(enc!.bytes ?? []),
      rxInfo: [{ gatewayId: '0016c001f1530001', uplinkId: i, rssi: -90, snr: 5, channel: 0, rfChain: 0 }],
    },
  };
}

interface Daemon {
  proc: ChildProcess;
  output: string[];
}

async function setup(name: string, db: string): Promise<{ dir: string; httpPort: number; start: () => Promise<Daemon> }> {
  const dir = mkdtempSync(join(tmpdir(), `gw-${name}-`));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  await influx.query(`CREATE DATABASE "${db}"`, { method: 'POST', db: null });
  const httpPort = await freePort();
  writeFileSync(join(dir, 'devices.yaml'), `devices:\n${DEVICES.map((d) => `  - ${JSON.stringify(d)}`).join('\n')}\n`);
  writeFileSync(
    join(dir, 'gateway.yaml'),
    JSON.stringify({
      name,
      data_dir: './data',
      http: { listen: `127.0.0.1:${httpPort}` },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 20 },
      sources: [{ type: 'chirpstack_mqtt', name: 'cs', url: broker.url, client_id: `gw-${name}`, reconnect_ms: 200 }],
      sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: db, flush_interval_ms: 100, retry_max_backoff_ms: 500 }],
    }),
  );
  const start = async (): Promise<Daemon> => {
    const proc = spawn(process.execPath, [BIN, 'gateway', '--config', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    proc.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
    proc.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
    cleanup.push(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });
    const until = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`gateway exited ${proc.exitCode}: ${output.join('')}`);
      try {
        const r = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
        const body = (await r.json()) as { components: Record<string, { state: string }> };
        if (body.components['source:cs']?.state === 'running') break;
      } catch {
        // not up yet
      }
      if (Date.now() > until) throw new Error(`gateway did not come up: ${output.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { proc, output };
  };
  return { dir, httpPort, start };
}

async function publishAll(n: number, ratePerSec: number, during: (i: number) => Promise<void>): Promise<void> {
  const pub = await mqtt.connectAsync(broker.url, { clientId: `pub-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 200 });
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    const { ev } = event(i);
    // Fire-and-track: mqtt.js queues while the broker is away and resends QoS 1 on reconnect.
    await pub.publishAsync(eventTopic(ev), eventToJson(ev), { qos: 1 });
    await during(i);
    const ahead = (i + 1) / ratePerSec - (Date.now() - started) / 1000;
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead * 1000));
  }
  await pub.endAsync();
}

async function expectExactlyOnce(db: string, n: number): Promise<void> {
  const until = Date.now() + 60_000;
  let count = 0;
  while (Date.now() < until) {
    count = (await influx.query('SELECT count(distance_mm) FROM bin_fill', { db }))[0]?.values[0]?.[1] as number;
    if (count >= n) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(count).toBe(n);
  const rows = await influx.rows('SELECT distance_mm, dev_eui FROM bin_fill', db);
  expect(rows).toHaveLength(n);
  for (const row of rows) {
    const i = ((row['time'] as number) - T0) / 1000;
    const want = event(i);
    expect(row['dev_eui']).toBe(want.ev.deviceInfo.devEui);
    expect(row['distance_mm']).toBe(want.distance);
  }
}

async function stopDaemon(d: Daemon): Promise<number | null> {
  d.proc.kill('SIGTERM');
  return new Promise((resolve) => d.proc.once('exit', (code) => resolve(code)));
}

describe('gateway under faults (real daemon, Mosquitto, InfluxDB)', () => {
  it('kill -9 three times during a run: zero readings lost, zero duplicated', async () => {
    const { start } = await setup('crash', 'crash');
    let gw = await start();
    const N = 3000;
    const killAt = new Set([600, 1400, 2200]);
    await publishAll(N, 800, async (i) => {
      if (!killAt.has(i)) return;
      gw.proc.kill('SIGKILL');
      await new Promise((r) => gw.proc.once('exit', r));
      gw = await start();
    });
    await expectExactlyOnce('crash', N);
    expect(await stopDaemon(gw)).toBe(0);
  }, 180_000);

  it('InfluxDB down mid-run: the backlog drains after it returns, nothing lost', async () => {
    const { start, httpPort } = await setup('influx-outage', 'outage');
    const gw = await start();
    const N = 2000;
    await publishAll(N, 800, async (i) => {
      if (i === 400) await influx.stop();
      if (i === 1600) {
        const h = (await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json()) as { components: Record<string, { state: string; detail?: string }> };
        // While InfluxDB is away the sink retries and says so; the source keeps accepting.
        expect(h.components['source:cs']?.state).toBe('running');
        expect(h.components['sink:influx']?.state).toBe('degraded');
        await influx.start();
      }
    });
    await expectExactlyOnce('outage', N);
    expect(await stopDaemon(gw)).toBe(0);
  }, 180_000);

  it('a broker backlog far beyond the in-flight window drains once: no keepalive timeout, no redelivery', async () => {
    // Gateway down while 20,000 uplinks queue in Mosquitto; then it starts with a 2 s keepalive.
    // Before the fix the PINGRESP waited behind the backlog, mqtt.js closed the connection and
    // the broker redelivered everything unacknowledged, again and again.
    const { start, httpPort, dir } = await setup('backlog', 'backlog');
    const gw = await start();
    expect(await stopDaemon(gw)).toBe(0);
    const N = 20_000;
    await publishAll(N, 100_000, async () => undefined);
    const cfgPath = join(dir, 'gateway.yaml');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { sources: Record<string, unknown>[] };
    (cfg.sources[0] as Record<string, unknown>)['keepalive_s'] = 2;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const again = await start();
    try {
      await expectExactlyOnce('backlog', N);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${again.output.join('').slice(-3000)}`);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(Number(/lorawan_edge_uplinks_received_total\{source="cs"\} (\d+)/.exec(metrics)?.[1])).toBe(N);
    expect(again.output.join('')).not.toContain('Keepalive timeout');
    expect(await stopDaemon(again)).toBe(0);
  }, 180_000);

  it('Mosquitto restarted mid-run: nothing lost', async () => {
    const { start } = await setup('broker-restart', 'brokerrestart');
    const gw = await start();
    const N = 1500;
    await publishAll(N, 600, async (i) => {
      if (i === 700) await broker.restart();
    });
    await expectExactlyOnce('brokerrestart', N);
    expect(await stopDaemon(gw)).toBe(0);
  }, 180_000);
});
