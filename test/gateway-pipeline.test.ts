/**
 * The gateway end to end against real servers: Mosquitto and InfluxDB 1.6 (Debian packages)
 * started in temporary folders on free ports. ChirpStack events (JSON and protobuf) go in
 * through the broker; readings must come out in InfluxDB with the right values, tags and
 * timestamps — and bad input must be counted, kept in the rejects file, and not stop anything.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { eventToJson, eventToProtobuf, eventTopic, type UplinkEvent } from '../lorawan/chirpstack/events.ts';
import { chirpstackUplink, waitFor } from '../support/gateway-kit.ts';
import type { InfluxdServer } from '../support/influxd.ts';
import { startGatewayRig, type GatewayRig } from './gateway-rig.ts';

let rig: GatewayRig;
let influx: InfluxdServer;
let dir: string;
let gateway: Gateway;
let logLines: string[];

const T0 = Date.UTC(2026, 10, 20, 8, 0, 0);
const DEVICES = [
  { dev_eui: '70b3d5e75e000001', name: 'bin-1', model: 'dingtek/df703', tags: { commune: 'centre' }, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } },
  { dev_eui: '70b3d5e75e000002', name: 'air-1', model: 'decentlab/dl-pm', tags: { commune: 'west' }, variables: {} },
];

/** Heard by two gateways, so the radio metadata has a best RSSI and a gateway count. */
const uplink = (devEui: string, name: string, fCnt: number, fPort: number, data: Uint8Array, time: number): UplinkEvent =>
  chirpstackUplink({
    devEui,
    name,
    fCnt,
    fPort,
    data,
    time,
    tags: { source: 'chirpstack' },
    rxInfo: [
      { gatewayId: '0016c001f1530001', uplinkId: 1, rssi: -80, snr: 7.5, channel: 1, rfChain: 0 },
      { gatewayId: '0016c001f1530002', uplinkId: 2, rssi: -101, snr: -3.25, channel: 1, rfChain: 0 },
    ],
  });

beforeAll(async () => {
  rig = await startGatewayRig({
    name: 'e2e',
    database: 'lorawan',
    devices: DEVICES,
    config: { http: { listen: '127.0.0.1:0' } },
    source: { password: 'mqtt-secret-pw', username: 'gw', max_payload_bytes: 4096 },
  });
  ({ influx, dir, gateway, logLines } = rig);
}, 120_000);

afterAll(async () => {
  await rig?.dispose();
});

describe('gateway: ChirpStack MQTT → durable log → InfluxDB', () => {
  it('writes every reading with its values, tags and the uplink timestamp; bad input is counted and kept', async () => {
    const df703 = nativeCodec('dingtek/df703');
    const dlpm = nativeCodec('decentlab/dl-pm');
    if (!df703 || !dlpm) throw new Error('codecs missing');
    const pub = await mqtt.connectAsync(rig.broker.url, { clientId: 'e2e-publisher' });
    const expected: { devEui: string; time: number; distance: number }[] = [];
    for (let i = 0; i < 60; i++) {
      const distance = 200 + i * 10;
      const enc = df703.encodeUplink({ readings: [{ values: { distance_mm: distance, temperature_c: 12, alarm_full: false, alarm_fire: false, alarm_tilt: false } }] });
      if (!enc.bytes || enc.fPort === undefined) throw new Error(JSON.stringify(enc.errors));
      const ev = uplink(DEVICES[0]!.dev_eui, 'bin-1', i, enc.fPort, Uint8Array.from(enc.bytes), T0 + i * 60_000);
      expected.push({ devEui: ev.deviceInfo.devEui, time: ev.time, distance });
      // Alternate JSON and protobuf, as a fleet behind two ChirpStack instances might.
      await pub.publishAsync(eventTopic(ev), i % 2 ? Buffer.from(eventToJson(ev)) : Buffer.from(eventToProtobuf(ev)), { qos: 1 });
    }
    const air = dlpm.encodeUplink({ readings: [{ values: { pm2_5_ugm3: 12, pm10_ugm3: 20, pm1_ugm3: 8, temperature_c: 21.5, humidity_pct: 40 } }] });
    const airEv = uplink(DEVICES[1]!.dev_eui, 'air-1', 7, air.fPort ?? 1, Uint8Array.from(air.bytes ?? []), T0);
    await pub.publishAsync(eventTopic(airEv), eventToJson(airEv), { qos: 1 });

    // Bad input: each must be counted under its reason and must not stop the source.
    const unknown = uplink('70b3d5e75e0000ff', 'stranger', 1, 3, Uint8Array.from([1, 2, 3]), T0);
    await pub.publishAsync(eventTopic(unknown), eventToJson(unknown), { qos: 1 });
    const broken = uplink(DEVICES[0]!.dev_eui, 'bin-1', 999, 3, Uint8Array.from([0x80, 0x00]), T0 + 999);
    await pub.publishAsync(eventTopic(broken), eventToJson(broken), { qos: 1 });
    await pub.publishAsync(`application/x/device/${DEVICES[0]!.dev_eui}/event/up`, '{"not": json', { qos: 1 });
    await pub.publishAsync(`application/x/device/${DEVICES[0]!.dev_eui}/event/up`, Buffer.from([0xff, 0x01, 0x02]), { qos: 1 });
    await pub.publishAsync(`application/x/device/${DEVICES[0]!.dev_eui}/event/up`, Buffer.alloc(5000, 0x7b), { qos: 1 });
    await pub.publishAsync('application/x/device/not-an-eui/event/up', 'hello', { qos: 1 });
    await pub.endAsync();

    await waitFor('all bin readings in InfluxDB', async () => (await influx.countPoints('bin_fill', 'lorawan')) >= 60);
    const rows = await influx.rows('SELECT distance_mm, fill_pct, dev_eui, device, model, commune FROM bin_fill', 'lorawan');
    expect(rows).toHaveLength(60);
    for (const e of expected) {
      const row = rows.find((r) => r['time'] === e.time);
      expect(row, `reading at ${new Date(e.time).toISOString()}`).toBeDefined();
      expect(row?.['distance_mm']).toBe(e.distance);
      expect(row?.['fill_pct']).toBeCloseTo(Math.min(100, Math.max(0, ((1200 - e.distance) / (1200 - 50)) * 100)), 1);
      expect(row?.['device']).toBe('bin-1');
      expect(row?.['model']).toBe('dingtek/df703');
      expect(row?.['commune']).toBe('centre');
    }
    const airRows = await influx.rows('SELECT * FROM air_quality', 'lorawan');
    expect(airRows).toHaveLength(1);
    expect(airRows[0]?.['pm2_5_ugm3']).toBe(12);
    expect(airRows[0]?.['time']).toBe(T0);
    await waitFor('radio metadata', async () => (await influx.countPoints('lorawan_uplink', 'lorawan')) >= 63);
    const radio = await influx.rows(`SELECT rssi, snr, gateway_count, sf FROM lorawan_uplink WHERE dev_eui = '${DEVICES[0]!.dev_eui}' AND time = ${T0}ms`, 'lorawan');
    expect(radio[0]).toMatchObject({ rssi: -80, snr: 7.5, gateway_count: 2, sf: 7 });

    const metrics = await gateway.metrics.registry.metrics();
    const value = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? 'NaN');
    expect(value(/lorawan_edge_uplinks_received_total\{source="cs"\} (\d+)/)).toBe(63);
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="malformed_json"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="malformed_protobuf"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="oversized"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="bad_topic"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_uplinks_undecoded_total\{reason="unknown_device"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_decode_errors_total\{model="dingtek\/df703"\} (\d+)/)).toBe(1);
    const rejects = readFileSync(gateway.config.rejects.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; payloadBase64?: string });
    expect(rejects.map((r) => r.reason).sort()).toEqual(['bad_topic', 'malformed_json', 'malformed_protobuf', 'oversized']);
    expect(Buffer.from(rejects.find((r) => r.reason === 'malformed_json')?.payloadBase64 ?? '', 'base64').toString()).toBe('{"not": json');

    // The unknown device's raw frame and the codec failure are in the log, not lost.
    const health = gateway.health();
    expect(health['source:cs']?.state).toBe('running');
    expect(health['sink:influx']?.state).toBe('running');
    const address = gateway.httpAddress();
    const res = await fetch(`http://127.0.0.1:${address?.port}/healthz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('ok');
    expect(await (await fetch(`http://127.0.0.1:${address?.port}/metrics`)).text()).toContain('lorawan_edge_sink_points_written_total{sink="influx"}');
  }, 120_000);

  it('loads a vendor-script codec when a registry reload first needs it, before the new registry takes effect', async () => {
    const acme = { dev_eui: '70b3d5e75e0000a1', name: 'acme-1', model: 'acme/bin-sensor', tags: { commune: 'east' }, variables: {} };
    writeFileSync(join(dir, 'devices.yaml'), `devices:\n${[...DEVICES, acme].map((d) => `  - ${JSON.stringify(d)}`).join('\n')}\n`);
    await gateway.reloadRegistry();
    const pub = await mqtt.connectAsync(rig.broker.url, { clientId: 'e2e-publisher-acme' });
    const ev = uplink(acme.dev_eui, 'acme-1', 1, 1, Buffer.from('0104d2150e1000', 'hex'), T0 + 5_000);
    await pub.publishAsync(eventTopic(ev), eventToJson(ev), { qos: 1 });
    await pub.endAsync();
    await waitFor('the script-decoded reading', async () => (await influx.rows(`SELECT * FROM bin_fill WHERE dev_eui = '${acme.dev_eui}'`, 'lorawan')).length > 0);
    const rows = await influx.rows(`SELECT temperature_c, model, commune FROM bin_fill WHERE dev_eui = '${acme.dev_eui}'`, 'lorawan');
    expect(rows).toEqual([{ time: T0 + 5_000, temperature_c: 21, model: 'acme/bin-sensor', commune: 'east' }]);
  }, 60_000);

  it('never logs secrets', () => {
    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain('mqtt-secret-pw');
    expect(existsSync(gateway.config.buffer.dir)).toBe(true);
  });
});
