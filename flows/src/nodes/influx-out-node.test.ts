import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRecordingServer, type RecordingServer } from '../../../support/recording-server.ts';
import type { NodeMessage } from '../red.ts';
import { helper, lastStatus, LDDS75_EUI, until } from '../testing.ts';
import nodes from './index.ts';

const uplinkMsg = (fCnt: number): NodeMessage => ({ payload: { devEui: LDDS75_EUI, fPort: 2, payload: '0d3b0aef00000001', fCnt, time: Date.UTC(2026, 11, 6, 12, 0, fCnt), id: `up-${fCnt}` } });

describe('lorawan influxdb out', () => {
  let dir: string;
  let influx: RecordingServer;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-influx-out-'));
    influx = await startRecordingServer();
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await influx.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const flow = (server: object = {}, out: object = {}): object[] => [
    { id: 'cfg', type: 'lorawan-influxdb-config', url: influx.url, version: '1', database: 'city', ...server },
    { id: 'd1', type: 'lorawan decode', model: 'dragino/ldds75', wires: [['o1'], []] },
    { id: 'o1', type: 'lorawan influxdb out', server: 'cfg', dir: join(dir, 'log'), ...out },
  ];
  const points = (measurement: string): string[] => influx.requests.flatMap((r) => r.lines).filter((l) => l.startsWith(`${measurement},`));

  it('writes decoded uplinks to InfluxDB v1 with the native schema and the uplink\'s own time', async () => {
    await helper.load(nodes, flow(), { cfg: { username: 'writer', password: 's3cret' } });
    for (let i = 1; i <= 3; i++) helper.getNode('d1')?.receive(uplinkMsg(i));
    await until(() => (points('bin_fill').length >= 3 ? true : undefined), 15_000, 'three bin_fill points');
    const req = influx.requests[0];
    expect(req?.url.pathname).toBe('/write');
    expect(req?.url.searchParams.get('db')).toBe('city');
    expect(req?.headers.authorization).toBe(`Basic ${Buffer.from('writer:s3cret').toString('base64')}`);
    const line = points('bin_fill')[0] as string;
    expect(line).toContain(`dev_eui=${LDDS75_EUI}`);
    expect(line).toContain('distance_mm=2799');
    const precision = req?.url.searchParams.get('precision') ?? 'ns';
    const scale: Record<string, number> = { ms: 1, u: 1e3, ns: 1e6 };
    expect(line.split(' ').pop()).toBe(String(Date.UTC(2026, 11, 6, 12, 0, 1) * (scale[precision] ?? Number.NaN)));
    const s = await until(() => (lastStatus('o1')?.text?.startsWith('0 buffered') ? lastStatus('o1') : undefined), 5_000, 'status 0 buffered');
    expect(s.fill).toBe('green');
  });

  it('v2/v3: org, bucket and the token from the credential store; the ChirpStack schema', async () => {
    await helper.load(nodes, flow({ version: '3', org: 'city', bucket: 'waste' }, { schema: 'chirpstack' }), { cfg: { token: 'tok-123' } });
    helper.getNode('d1')?.receive(uplinkMsg(1));
    await until(() => (points('device_uplink').length >= 1 ? true : undefined), 15_000, 'a device_uplink point');
    const req = influx.requests[0];
    expect(req?.url.pathname).toBe('/api/v2/write');
    expect(req?.url.searchParams.get('bucket')).toBe('waste');
    expect(req?.headers.authorization).toBe('Bearer tok-123');
    expect(points('device_frmpayload_data_Bat').length).toBe(1);
    expect(JSON.stringify(lastStatus('o1'))).not.toContain('tok-123');
  });

  it('rejects a message without a decode record, alone, with the reason; the others are written', async () => {
    await helper.load(nodes, flow());
    const errors: unknown[] = [];
    helper.getNode('o1')?.on('call:error', (call) => errors.push((call as { args: unknown[] }).args[0]));
    helper.getNode('o1')?.receive({ payload: 'no record' });
    helper.getNode('o1')?.receive({ payload: 1, lorawan: { v: 1, kind: 'up', src: 'x', id: 'x', devEui: LDDS75_EUI, time: 1, rxAt: 1, device: { name: 'n', tags: {} }, payload: 'nope' } });
    helper.getNode('d1')?.receive(uplinkMsg(1));
    await until(() => (points('bin_fill').length >= 1 && errors.length >= 2 ? true : undefined), 15_000, 'one point and two errors');
    expect(String(errors[0])).toMatch(/msg\.lorawan is missing/);
    expect(String(errors[1])).toMatch(/msg\.lorawan\.payload is not bytes/);
    await until(() => (lastStatus('o1')?.text?.includes('2 rejected') ? true : undefined), 5_000, 'status with 2 rejected');
  });

  it('an InfluxDB outage buffers (status shows it), then everything arrives; close and redeploy keep the log', async () => {
    let down = true;
    influx.respond = () => (down ? { status: 503, body: '{"error":"down"}' } : { status: 204 });
    await helper.load(nodes, flow());
    for (let i = 1; i <= 5; i++) helper.getNode('d1')?.receive(uplinkMsg(i));
    await until(() => (lastStatus('o1')?.text?.startsWith('5 buffered') ? true : undefined), 15_000, 'status 5 buffered');
    // Redeploy while InfluxDB is still down: the next instance continues from the same log.
    await helper.unload();
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await helper.load(nodes, flow());
    for (let i = 6; i <= 7; i++) helper.getNode('d1')?.receive(uplinkMsg(i));
    await until(() => (lastStatus('o1')?.text?.startsWith('7 buffered') ? true : undefined), 15_000, 'status 7 buffered');
    down = false;
    await until(() => (new Set(points('bin_fill')).size >= 7 ? true : undefined), 30_000, 'all seven points after the outage');
    await until(() => (lastStatus('o1')?.text?.startsWith('0 buffered') ? true : undefined), 5_000, 'status 0 buffered');
    await helper.unload();
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timers);
    expect(readdirSync(join(dir, 'log')).length).toBeGreaterThan(0);
  });

  it('a config node with a bad setting makes the output red and names the setting', async () => {
    await helper.load(nodes, flow({ url: 'ftp://nowhere' }));
    expect(lastStatus('o1')).toMatchObject({ fill: 'red' });
    expect(lastStatus('o1')?.text).toMatch(/^URL: /);
  });
});
