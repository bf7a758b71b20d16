/**
 * Disk full under the running gateway, as an operator meets it: `data_dir` on a 2 MiB tmpfs
 * (mounted by the test; root only, skipped otherwise), real Mosquitto, a file sink on another
 * filesystem. While the buffer cannot write, `/healthz` says `degraded` with the reason and
 * messages stay unacknowledged (the broker keeps them); once space returns the log retries by
 * itself and every uplink arrives — no restart, no reopen.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from '../gateway/buffer/testing/tmpfs.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { eventToJson, eventTopic, type UplinkEvent } from '../lorawan/chirpstack/events.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

const T0 = Date.UTC(2026, 10, 22);
const BIN = { dev_eui: '70b3d5e75e000201', name: 'bin-d', model: 'dingtek/df703', tags: {}, variables: { container_depth_mm: 1200 } };
let broker: MosquittoServer;
let fs: Tmpfs;
let out: string;
let gateway: Gateway;

function uplink(i: number): UplinkEvent {
  const enc = nativeCodec('dingtek/df703')?.encodeUplink({ readings: [{ values: { distance_mm: 300 + i, temperature_c: 9 } }] });
  return {
    kind: 'up',
    deduplicationId: `full-${i}`,
    time: T0 + i * 60_000,
    deviceInfo: { tenantId: 't', tenantName: 't', applicationId: 'a', applicationName: 'a', deviceProfileId: 'p', deviceProfileName: 'p', deviceName: BIN.name, devEui: BIN.dev_eui, deviceClassEnabled: 'CLASS_A', tags: {} },
    devAddr: '26000201',
    adr: true,
    dr: 5,
    fCnt: i,
    fPort: 3,
    confirmed: false,
    data: Uint8Array.from(enc?.bytes ?? []),
    // Padding in the radio metadata makes each record ~1 KB, so a few fill the last free pages.
    rxInfo: Array.from({ length: 8 }, (_, g) => ({ gatewayId: `0016c001f15300${String(g).padStart(2, '0')}`, uplinkId: g, rssi: -90, snr: 5, channel: 0, rfChain: 0 })),
  };
}

const lines = (): string[] =>
  readdirSync(out)
    .filter((f) => f.endsWith('.lp'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n'))
    .filter((l) => l.startsWith('bin_fill'));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function healthz(): Promise<{ status: number; body: { status: string; components: Record<string, { state: string; detail?: string }> } }> {
  const res = await fetch(`http://127.0.0.1:${gateway.httpAddress()?.port}/healthz`);
  return { status: res.status, body: (await res.json()) as { status: string; components: Record<string, { state: string; detail?: string }> } };
}

describe.skipIf(!canMountTmpfs)('gateway: disk full under data_dir', () => {
  beforeAll(async () => {
    broker = await startMosquitto();
    fs = await mountTmpfs('2m');
    out = mkdtempSync(join(tmpdir(), 'gw-full-out-'));
    writeFileSync(join(fs.dir, 'devices.yaml'), `devices:\n  - ${JSON.stringify(BIN)}\n`);
    const config = checkConfig(
      {
        name: 'full',
        data_dir: './data',
        http: { listen: '127.0.0.1:0' },
        log: { level: 'silent' },
        registry: { devices_file: 'devices.yaml' },
        buffer: { fsync_interval_ms: 20, when_full: 'block', block_timeout_ms: 0, disk_full_retry_ms: 50, disk_full_retry_max_ms: 500 },
        sources: [{ type: 'chirpstack_mqtt', name: 'cs', url: broker.url }],
        sinks: [{ type: 'file', name: 'file', dir: out }],
      },
      join(fs.dir, 'gateway.yaml'),
      {},
    );
    gateway = createGateway(config);
    await gateway.start();
  }, 120_000);

  afterAll(async () => {
    await fs?.free();
    await gateway?.stop();
    await broker?.dispose();
    await fs?.unmount();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('reports degraded with the reason while full, and delivers everything once space returns', async () => {
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'full-publisher' });
    const topic = eventTopic(uplink(0));
    for (let i = 1; i <= 5; i++) await pub.publishAsync(topic, eventToJson(uplink(i)), { qos: 1 });
    await waitFor('the first readings', () => lines().length >= 5);
    expect((await healthz()).body.components['buffer']?.state).toBe('running');

    await fs.fill(0);
    for (let i = 6; i <= 40; i++) await pub.publishAsync(topic, eventToJson(uplink(i)), { qos: 1 });
    await waitFor('degraded health', async () => (await healthz()).body.components['buffer']?.state === 'degraded');
    const h = await healthz();
    expect(h.status).toBe(503);
    expect(h.body.components['buffer']?.detail).toMatch(/disk full writing .*ENOSPC.*retrying \(when_full: block\)/);
    expect(await gateway.metrics.registry.metrics()).toMatch(/lorawan_edge_buffer_disk_full 1/);

    await fs.free();
    await waitFor('all 40 readings', () => lines().length >= 40);
    expect(new Set(lines().map((l) => l.split(' ').pop())).size).toBe(40);
    await waitFor('running again', async () => (await healthz()).body.components['buffer']?.state === 'running');
    expect(gateway.health()['source:cs']?.state).toBe('running');
    await pub.endAsync();
  }, 180_000);
});
