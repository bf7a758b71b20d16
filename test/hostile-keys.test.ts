/**
 * Keys that must not break or leak, against real Mosquitto and InfluxDB 1.6:
 * - a ChirpStack device tag named `time` (or `DEV_EUI`, a case clash with the gateway's own tag)
 *   made InfluxDB refuse every point of the device (30 uplinks → 0 points); such tags are
 *   renamed `chirpstack_<key>` on arrival and the points are written;
 * - MQTT credentials in a source URL (`mqtt://user:p@ssw0rd@host`, `mqtt://:secret@host`,
 *   percent-encoded) never reach /healthz or the log.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { eventToJson, eventTopic } from '../lorawan/chirpstack/events.ts';
import { freePort } from '../support/free-port.ts';
import { chirpstackUplink, waitFor } from '../support/gateway-kit.ts';
import type { InfluxdServer } from '../support/influxd.ts';
import { startGatewayRig, type GatewayRig } from './gateway-rig.ts';

let rig: GatewayRig;
let influx: InfluxdServer;
let gateway: Gateway;
let logLines: string[];
const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const EUI = '70b3d5e75e0000a9';

/** Credentials that must never be shown, in the forms the URL parser has to see through. */
const SECRET_URLS = (port: number): { url: string; secrets: string[] }[] => [
  { url: `mqtt://user:p@ssw0rd@127.0.0.1:${port}`, secrets: ['p@ssw0rd', 'ssw0rd', 'p%40ssw0rd'] },
  { url: `mqtt://:s3cr3t-empty-user@127.0.0.1:${port}`, secrets: ['s3cr3t-empty-user'] },
  { url: `mqtt://gw:pct%40enc%3Aoded@127.0.0.1:${port}`, secrets: ['pct%40enc%3Aoded', 'pct@enc:oded', 'enc%3Aoded'] },
];

const TAGS = { time: 'morning', DEV_EUI: 'shadow', commune: 'centre' }; // what an operator may well set in ChirpStack

let deadPort = 0;

beforeAll(async () => {
  deadPort = await freePort(); // nothing listens: those sources keep reconnecting, degraded
  rig = await startGatewayRig({
    name: 'keys',
    database: 'lorawan',
    devices: [{ dev_eui: EUI, name: 'bin-time', model: 'dingtek/df703', variables: { container_depth_mm: 1250, sensor_offset_mm: 50 } }],
    config: { http: { listen: '127.0.0.1:0' }, log: { level: 'debug' } },
    extraSources: SECRET_URLS(deadPort).map((s, i) => ({ type: 'chirpstack_mqtt', name: `secret${i}`, url: s.url, reconnect_ms: 200 })),
  });
  ({ influx, gateway, logLines } = rig);
}, 120_000);

afterAll(async () => {
  await rig?.dispose();
});

describe('reserved tag keys from ChirpStack', () => {
  it('a device tagged time / DEV_EUI in ChirpStack still gets all 30 points, the tags renamed chirpstack_<key>', async () => {
    const codec = nativeCodec('dingtek/df703');
    if (!codec) throw new Error('codec missing');
    const pub = await mqtt.connectAsync(rig.broker.url, { clientId: 'keys-publisher' });
    for (let i = 0; i < 30; i++) {
      const enc = codec.encodeUplink({ readings: [{ values: { distance_mm: 300 + i * 10, temperature_c: 12, alarm_full: false, alarm_fire: false, alarm_tilt: false } }] });
      const ev = chirpstackUplink({ devEui: EUI, name: 'bin-time', fCnt: i, fPort: 3, data: Uint8Array.from(enc.bytes ?? []), time: T0 + i * 60_000, tags: TAGS });
      await pub.publishAsync(eventTopic(ev), eventToJson(ev), { qos: 1 });
    }
    await pub.endAsync();
    await waitFor('30 points of the time-tagged device', async () => (await influx.rows(`SELECT count(distance_mm) FROM bin_fill WHERE dev_eui = '${EUI}'`, 'lorawan'))[0]?.['count'] === 30);
    const rows = await influx.rows(`SELECT distance_mm, chirpstack_time, chirpstack_dev_eui, commune, dev_eui FROM bin_fill WHERE dev_eui = '${EUI}' LIMIT 1`, 'lorawan');
    expect(rows[0]).toMatchObject({ distance_mm: 300, chirpstack_time: 'morning', chirpstack_dev_eui: 'shadow', commune: 'centre', dev_eui: EUI });
  }, 120_000);
});

describe('credentials in source URLs', () => {
  it('/healthz and the log show none of them, in any form', async () => {
    const port = gateway.httpAddress()?.port;
    let body = '';
    await waitFor('the credential sources to report degraded', async () => {
      body = await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
      const h = JSON.parse(body) as { components: Record<string, { state: string; detail?: string }> };
      return [0, 1, 2].every((i) => h.components[`source:secret${i}`]?.detail?.includes('127.0.0.1'));
    });
    const h = JSON.parse(body) as { components: Record<string, { detail?: string }> };
    expect(h.components['source:secret0']?.detail).toContain('mqtt://user:***@127.0.0.1');
    expect(h.components['source:secret1']?.detail).toContain('mqtt://:***@127.0.0.1');
    const log = logLines.join('');
    for (const { secrets } of SECRET_URLS(deadPort)) {
      for (const s of secrets) {
        expect(body).not.toContain(s);
        expect(log).not.toContain(s);
      }
    }
  }, 120_000);
});
