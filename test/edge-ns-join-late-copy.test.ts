/**
 * A join-request heard by two gateways, the second gateway's copy arriving after the dedup
 * window closed (a slow backhaul): a `late_copy`, as a data frame's late copy is — not a
 * `devnonce_reuse`, which is what it was counted before (the join had just spent the nonce). The
 * same bytes heard again by a gateway that reported the accepted one are a second transmission
 * (a replayed join-request) and stay `devnonce_reuse`; neither gets a join-accept. Over real UDP
 * sockets with two forwarders.
 *
 * Two ways a late copy is told: inside the first frame's window after the frame closed at its
 * answer deadline (dedup.ts `onLateCopy`), and after that window (the network server's recent
 * join-requests). In the second, the copy opens a window of its own; the first gateway's second
 * transmission inside that window was taken for a late copy of the late copy (`late_copy`, not
 * `devnonce_reuse`) until dedup.ts `forget` — CI saw it once as a timed-out wait.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { buildJoinRequest, openJoinAccept } from '../lorawan/join.ts';
import { freePort } from '../support/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-join-late-copy-'));
const GW1 = '0016c001f1500001';
const GW2 = '0016c001f1500002';
const OTAA = { devEui: '3331383274356905', joinEui: 'aa13693363343639', appKey: Buffer.from('98929b92c49edba9676d646d3b612456', 'hex') };
let gateway: Gateway;
const fwds: TestForwarder[] = [];

function rejected(reason: string): number {
  const m = gateway.metrics.registry.getSingleMetric('lorawan_edge_ns_rejected_total') as unknown as { hashMap?: Record<string, { value: number; labels: { reason: string } }> } | undefined;
  for (const v of Object.values(m?.hashMap ?? {})) if (v.labels.reason === reason) return v.value;
  return 0;
}

/** Every `lorawan_edge_ns_*` counter and its labels: what a timed-out wait says it saw instead. */
async function nsCounters(): Promise<string> {
  const text = await gateway.metrics.registry.metrics();
  return text.split('\n').filter((l) => /^lorawan_edge_(ns|udp)_\w+(\{[^}]*\})? [1-9]/.test(l)).join('; ');
}

async function waitCounted(cond: () => boolean, what: string): Promise<void> {
  try {
    await until(cond, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}; counters: ${await nsCounters()}; intake: ${JSON.stringify(gateway.health())}`);
  }
}

beforeAll(async () => {
  const port = await freePort();
  writeDeviceKeysFile(join(dir, 'keys.json'), [{ devEui: OTAA.devEui, activation: 'OTAA', joinEui: OTAA.joinEui, appKey: OTAA.appKey.toString('hex') }]);
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry([]));
  const doc = {
    name: 'join-late-copy',
    data_dir: './data',
    http: { listen: false },
    log: { level: 'silent' },
    registry: { devices_file: 'devices.yaml' },
    buffer: { fsync_interval_ms: 10 },
    sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: 200, dedup_answer_ms: 20, gateways: [GW1, GW2] }],
    sinks: [{ type: 'file', name: 'file' }],
  };
  gateway = createGateway(checkConfig(doc, join(dir, 'gateway.yaml'), {}), { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
  for (const eui of [GW1, GW2]) {
    const f = new TestForwarder(eui, () => port);
    await f.open();
    fwds.push(f);
  }
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  for (const f of fwds) f.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a join-request\'s late copy from another gateway', () => {
  it('is a late_copy; the same gateway hearing the same bytes again is a devnonce_reuse; one join-accept', async () => {
    const [gw1, gw2] = fwds as [TestForwarder, TestForwarder];
    const req = buildJoinRequest({ joinEui: OTAA.joinEui, devEui: OTAA.devEui, devNonce: 4242 }, OTAA.appKey);
    gw1.push(req);
    const ja = openJoinAccept((await gw1.nextResp(1)).txpk.data, OTAA.appKey);
    expect(ja.ok && ja.joinAccept.micValid).toBe(true);
    // GW2's copy of the same reception, after the frame closed at its 20 ms answer deadline.
    gw2.push(req);
    await waitCounted(() => rejected('late_copy') === 1, 'the late copy to be counted');
    expect(rejected('devnonce_reuse')).toBe(0);
    // GW1 hears the same bytes again: a second transmission of a spent nonce.
    gw1.push(req);
    await waitCounted(() => rejected('devnonce_reuse') === 1, 'the reuse to be counted');
    expect(rejected('late_copy')).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(gw1.resp.length + gw2.resp.length).toBe(1);
    // Both kept in the rejects file with their reason.
    const rejects = readFileSync(gateway.config.rejects.file, 'utf8');
    expect(rejects).toContain('late_copy');
    expect(rejects).toContain('devnonce_reuse');
  }, 60_000);

  it('after the first window too; the first gateway\'s second transmission inside the late copy\'s own window is a devnonce_reuse', async () => {
    const [gw1, gw2] = fwds as [TestForwarder, TestForwarder];
    const req = buildJoinRequest({ joinEui: OTAA.joinEui, devEui: OTAA.devEui, devNonce: 4243 }, OTAA.appKey);
    const resps = gw1.resp.length + gw2.resp.length;
    gw1.push(req);
    await gw1.nextResp(gw1.resp.length + 1);
    const late = rejected('late_copy');
    const reuse = rejected('devnonce_reuse');
    await new Promise((r) => setTimeout(r, 300)); // past the 200 ms window: the copy opens its own
    gw2.push(req);
    await waitCounted(() => rejected('late_copy') === late + 1, 'the late copy to be counted');
    // At once: inside the copy's window (it closed at its answer deadline, 20 ms).
    gw1.push(req);
    await waitCounted(() => rejected('devnonce_reuse') === reuse + 1, 'the reuse to be counted');
    expect(rejected('late_copy')).toBe(late + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(gw1.resp.length + gw2.resp.length).toBe(resps + 1);
    expect(readFileSync(gateway.config.rejects.file, 'utf8')).toContain('a copy of the accepted join-request from another gateway');
  }, 60_000);
});
