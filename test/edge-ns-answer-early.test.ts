/**
 * The dedup window closes early with many connected gateways, over real UDP sockets: six packet
 * forwarders, all connected (PULL_DATA every second), and a gateway whose dedup window is 2 s —
 * far past RX1 — with no answer deadline (`dedup_answer_ms` = the window), so only the expected
 * gateways (gateway/ns/expected-gateways.ts) can close a window before its end. A device heard
 * by one of the six has its confirmed uplink ACKed in RX1 once its gateway is known; before,
 * every frame waited the whole window with more than one gateway connected (and here missed
 * RX1). A frame heard by two still lists both gateways in its record, and a late copy from a
 * gateway new to the device is counted once, not ACKed a second time. A frame that needs no
 * answer waits for every copy (the window) — its record is what the expected gateways learn from.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { TestForwarder, until } from '../gateway/ns/testing/forwarder.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { freePort } from '../support/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-answer-early-'));
const WINDOW_MS = 2000;
const DEVICES = [1, 2].map((i) => ({
  devEui: `00000000000e0a0${i}`,
  devAddr: 0x26011c00 + i,
  nwkSKey: Buffer.alloc(16, 0x10 + i),
  appSKey: Buffer.alloc(16, 0x20 + i),
  fCnt: 0,
}));
type Device = (typeof DEVICES)[number];
let gateway: Gateway;
let port: number;
const fwd: TestForwarder[] = [];

async function metric(name: string, labels = ''): Promise<number> {
  const text = await gateway.metrics.registry.metrics();
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
  return Number(re.exec(text)?.[1] ?? 0);
}

const frame = (d: Device, confirmed: boolean): Buffer =>
  buildDataFrame({ mType: confirmed ? 'ConfirmedDataUp' : 'UnconfirmedDataUp', devAddr: d.devAddr, fCnt: d.fCnt++, fCtrl: {}, fPort: 3, payload: Buffer.from([1, 2]) }, { nwkSKey: d.nwkSKey, appSKey: d.appSKey });
const accepted = (d: Device): Promise<void> => until(() => gateway.udpSources[0]?.networkServer?.sessions.get(d.devEui)?.fCntUpNext === d.fCnt, `${d.devEui} FCnt ${d.fCnt - 1} accepted`, 30_000);
const resps = (): number => fwd.reduce((n, f) => n + f.resp.length, 0);

/** The gateway_count of the device's record with this FCnt in the file sink's points, once written. */
async function gatewayCount(d: Device, fCnt: number): Promise<number> {
  const pointsDir = join(dir, 'data', 'points');
  let found: number | undefined;
  await until(() => {
    const lines = readdirSync(pointsDir).flatMap((f) => readFileSync(join(pointsDir, f), 'utf8').split('\n'));
    const line = lines.find((l) => l.startsWith('lorawan_uplink,') && l.includes(`dev_eui=${d.devEui}`) && l.includes(`fcnt=${fCnt}i`));
    found = line ? Number(/gateway_count=(\d+)i/.exec(line)?.[1]) : undefined;
    return found !== undefined;
  }, `the record of ${d.devEui} FCnt ${fCnt}`, 30_000);
  return found as number;
}

beforeAll(async () => {
  port = await freePort();
  writeDeviceKeysFile(
    join(dir, 'keys.json'),
    DEVICES.map((d) => ({ devEui: d.devEui, activation: 'ABP' as const, devAddr: d.devAddr.toString(16), nwkSKey: d.nwkSKey.toString('hex'), appSKey: d.appSKey.toString('hex') })),
  );
  writeFileSync(join(dir, 'devices.yaml'), renderRegistry(DEVICES.map((d, i) => ({ dev_eui: d.devEui, name: `bin-${i}`, model: 'dingtek/df703', tags: {}, variables: {} }))));
  const config = checkConfig(
    {
      name: 'answer-early',
      data_dir: './data',
      http: { listen: false },
      log: { level: 'silent' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 10 },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${port}`, keys_file: 'keys.json', dedup_window_ms: WINDOW_MS, dedup_answer_ms: WINDOW_MS, gateway_keepalive_s: 2, adr: false }],
      sinks: [{ type: 'file', name: 'file' }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  gateway = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
  await gateway.start();
  for (let i = 0; i < 6; i++) {
    const f = new TestForwarder(`0016c001f15b000${i}`, () => port);
    await f.open();
    f.startKeepalive(1000);
    fwd.push(f);
  }
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  for (const f of fwd) f.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('early dedup close with six connected gateways (window 2 s, no answer deadline)', () => {
  it('a confirmed uplink heard by 1 of 6 connected gateways is ACKed in RX1, long before the window ends, once its gateway is known', async () => {
    const d = DEVICES[0] as Device;
    const g = fwd[0] as TestForwarder;
    // The device's first frame: nobody knows who hears it, so it waits the window (learnt then).
    const t0 = performance.now();
    g.push(frame(d, false));
    await accepted(d);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(WINDOW_MS - 50);
    const complete = await metric('lorawan_edge_ns_dedup_closed_total', 'how="complete"');
    const sentAt = performance.now();
    const tmst = g.push(frame(d, true));
    const r = await g.nextResp(1);
    expect(r.txpk.tmst).toBe(tmst + 1_000_000); // RX1
    expect(r.at - sentAt).toBeLessThan(WINDOW_MS / 2);
    expect(await metric('lorawan_edge_ns_dedup_closed_total', 'how="complete"')).toBe(complete + 1);
    expect(resps()).toBe(1);
  }, 60_000);

  it('a frame heard by 2 of 6 closes once both reported and its record lists both; the ACK goes through the better one', async () => {
    const d = DEVICES[1] as Device;
    const [g1, g2] = [fwd[1] as TestForwarder, fwd[2] as TestForwarder];
    const first = frame(d, false);
    g1.push(first, { snr: 3 });
    g2.push(first, { snr: 7 });
    await accepted(d);
    expect(await gatewayCount(d, 0)).toBe(2);
    const n = resps();
    const sentAt = performance.now();
    const ack = frame(d, true);
    g1.push(ack, { snr: 3 });
    await new Promise((r) => setTimeout(r, 30)); // the second copy a little later, as over a backhaul
    const tmst = g2.push(ack, { snr: 7 });
    const r = await g2.nextResp(1);
    expect(r.txpk.tmst).toBe(tmst + 1_000_000);
    expect(r.at - sentAt).toBeLessThan(WINDOW_MS / 2);
    expect(await gatewayCount(d, 1)).toBe(2);
    expect(resps()).toBe(n + 1);
  }, 60_000);

  it("a late copy from a gateway new to the device is counted once as late_copy, not ACKed again; that gateway is waited for from then on", async () => {
    const d = DEVICES[0] as Device;
    const [g0, g3] = [fwd[0] as TestForwarder, fwd[3] as TestForwarder];
    const n = resps();
    const lateBefore = await metric('lorawan_edge_ns_rejected_total', 'reason="late_copy"');
    const ack = frame(d, true);
    g0.push(ack);
    await until(() => resps() === n + 1, 'the ACK', 10_000);
    g3.push(ack);
    const end = Date.now() + 10_000;
    while (Date.now() < end && (await metric('lorawan_edge_ns_rejected_total', 'reason="late_copy"')) === lateBefore) await new Promise((r) => setTimeout(r, 20));
    expect(await metric('lorawan_edge_ns_rejected_total', 'reason="late_copy"')).toBe(lateBefore + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(resps()).toBe(n + 1); // one ACK: no second one through g3
    expect(await gatewayCount(d, d.fCnt - 1)).toBe(1);
    // g3 is expected now: a confirmed frame only g0 reports waits the window again.
    const t0 = performance.now();
    g0.push(frame(d, true));
    await accepted(d);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(WINDOW_MS - 50);
  }, 60_000);
});
