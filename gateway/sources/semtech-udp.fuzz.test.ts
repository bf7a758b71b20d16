/**
 * Fuzz target for the Semtech UDP source (seeded, bounded): random datagrams, random JSON after
 * a valid header, and PUSH_DATA with random rxpk fields and random PHYPayloads go to a real
 * socket. The source must never throw (an exception in the socket handler would crash the
 * process), must account for every datagram, and must still answer a PULL_DATA afterwards.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPullData, buildPushData } from '../../lorawan/udp/gateway.ts';
import { createMetrics } from '../metrics.ts';
import { writeDeviceKeysFile } from '../registry/keys-file.ts';
import { RejectsFile } from '../rejects.ts';
import { SemtechUdpSource } from './semtech-udp.ts';

const dir = mkdtempSync(join(tmpdir(), 'udp-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header = (type: number): Buffer => Buffer.concat([Buffer.of(2, 0x12, 0x34, type), Buffer.from('0016c001f1500001', 'hex')]);

const datagram = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.integer({ min: 0, max: 6 }), fc.string({ maxLength: 300 })).map(([t, s]) => Buffer.concat([header(t), Buffer.from(s)])),
  fc
    .record({
      tmst: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.double()),
      freq: fc.oneof(fc.constant(868.1), fc.double()),
      stat: fc.integer({ min: -2, max: 2 }),
      datr: fc.oneof(fc.constant('SF7BW125'), fc.constant('SF12BW125'), fc.string({ maxLength: 12 })),
      phy: fc.uint8Array({ minLength: 0, maxLength: 64 }),
      lsnr: fc.double({ noNaN: true, min: -30, max: 20 }),
    })
    .map((r) => {
      const json = { rxpk: [{ tmst: r.tmst, freq: r.freq, stat: r.stat, modu: 'LORA', datr: r.datr, codr: '4/5', rssi: -90, lsnr: r.lsnr, size: r.phy.length, data: Buffer.from(r.phy).toString('base64') }] };
      return Buffer.concat([header(0), Buffer.from(JSON.stringify(json))]);
    }),
);

describe.each([false, true])('semtech_udp source fuzz (intake_thread: %s)', (intakeThread) => {
  it('survives random datagrams and still answers (seed 4242, 400 runs)', async () => {
    const keys = join(dir, 'keys.json');
    writeDeviceKeysFile(keys, [{ devEui: '0000000000000a01', activation: 'ABP', devAddr: '26011bda', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' }]);
    const metrics = createMetrics({ defaultMetrics: false });
    const rejects = new RejectsFile(join(dir, 'rejects.jsonl'));
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const source = new SemtechUdpSource(
      {
        name: 'udp', listen: '127.0.0.1:0', keys_file: keys, state_dir: join(dir, `ns-${intakeThread}`), gateways: [], max_datagram_bytes: 4096, dedup_window_ms: 5, max_fcnt_gap: 16384, net_id: 0x13,
        rx1_dr_offset: 0, rx2_dr: 0, rx2_frequency_hz: 869_525_000, rx_delay_s: 1, tx_power_dbm: 14, abp_fcnt_reset: 'reject', confirmed_retries: 3, application_id: 'edge', device_profiles: {},
        intake_thread: intakeThread,
      },
      { log: { append: () => ({ rejected: [], durable: Promise.resolve() }) }, decode: { registry: () => ({ devices: [], byEui: new Map() }), catalogue: () => undefined, deviceProfiles: {}, now: Date.now }, metrics, rejects, logger: quiet },
    );
    await source.start();
    const port = source.address()?.port as number;
    const client = createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    const acks: Buffer[] = [];
    client.on('message', (m) => acks.push(m));
    const send = (b: Buffer): Promise<void> => new Promise((r) => client.send(b, port, '127.0.0.1', () => r()));
    try {
      const samples = fc.sample(datagram, { numRuns: 400, seed: 4242 });
      for (const [i, d] of samples.entries()) {
        await send(d);
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5)); // keep the socket buffer from overflowing
      }
      await send(buildPushData({ gatewayEui: '0016c001f1500001', rxpk: [] }).bytes);
      const pull = buildPullData({ gatewayEui: '0016c001f1500001', token: 0xbeef });
      const end = Date.now() + 10_000;
      await send(pull.bytes);
      while (!acks.some((a) => a[3] === 4 && a[1] === 0xbe && a[2] === 0xef) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(acks.some((a) => a[3] === 4 && a[1] === 0xbe && a[2] === 0xef)).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      const text = await metrics.registry.metrics();
      const sum = (name: string): number => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
      // Every datagram is either a decoded datagram or a rejected one (entries inside a PUSH_DATA may add rejects).
      expect(sum('lorawan_edge_udp_datagrams_total') + sum('lorawan_edge_ns_rejected_total')).toBeGreaterThanOrEqual(samples.length + 2);
    } finally {
      client.close();
      await source.close();
      await rejects.close();
    }
  }, 60_000);
});
