/**
 * The flood watch end to end in the gateway: a registered river level station (Dragino LDDS75,
 * `mount_height_mm` device variable) reports over ChirpStack MQTT (real Mosquitto); its level
 * rises past the `web.flood` threshold; the gateway's river_alarm job raises one alarm, which
 * `GET /api/v1/alarms` and the overview list; acknowledging it through the API (with the CSRF
 * token) takes it off the open list; a later fall below the clear level clears it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import type { Gateway } from '../gateway/gateway.ts';
import type { UplinkEvent } from '../lorawan/chirpstack/events.ts';
import type { MosquittoServer } from '../support/mosquitto.ts';
import { startMqttGatewayRig, type MqttGatewayRig } from './gateway-rig.ts';
import { publish, uplinkEvent, until } from './web-fixtures.ts';

const STATION = 'a84041000181c0de';
const MOUNT_MM = 4200;
const MIN = 60_000;
let rig: MqttGatewayRig;
let broker: MosquittoServer;
let gateway: Gateway;
let base: string;

function levelUplink(fCnt: number, levelMm: number, time: number): UplinkEvent {
  const enc = nativeCodec('dragino/ldds75')?.encodeUplink({ readings: [{ values: { distance_mm: MOUNT_MM - levelMm } }] });
  if (!enc?.bytes || enc.fPort === undefined) throw new Error('ldds75 encode failed');
  return uplinkEvent(STATION, 'ouche-pont', fCnt, Uint8Array.from(enc.bytes), enc.fPort, time);
}

type ApiAlarm = { id: number; kind: string; device: string; clearedAt: number | null };
async function alarms(state: string): Promise<ApiAlarm[]> {
  const res = await fetch(`${base}/api/v1/alarms?state=${state}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { alarms: ApiAlarm[] }).alarms.filter((a) => a.kind.startsWith('river_'));
}

beforeAll(async () => {
  rig = await startMqttGatewayRig({
    name: 'river',
    devices: [{ dev_eui: STATION, name: 'ouche-pont', model: 'dragino/ldds75', tags: { river: 'ouche' }, variables: { mount_height_mm: MOUNT_MM } }],
    config: {
      http: { listen: '127.0.0.1:0' },
      log: { level: 'warn' },
      buffer: { fsync_interval_ms: 10 },
      web: { flood: { interval_s: 10, levels: [{ name: 'vigilance', raise_mm: 1500, clear_mm: 1300 }] } },
    },
  });
  ({ broker, gateway } = rig);
  base = `http://127.0.0.1:${gateway.httpAddress()?.port}`;
}, 120_000);

afterAll(async () => {
  await rig?.dispose();
});

describe('flood watch in the gateway', () => {
  it('raises one river alarm on the API and the overview, acknowledged there, cleared by the fall', async () => {
    const now = Date.now();
    // Every 10 min for the last hour: 1000, 1100, … 1600 mm — past 1500 at the last two.
    const rise = [0, 1, 2, 3, 4, 5, 6].map((i) => levelUplink(i + 1, 1000 + i * 100, now - (60 - i * 10) * MIN + 1000));
    await publish(broker.url, rise);
    await until('the store has the rise', () => (gateway.web?.sink.applied ?? 0) >= rise.length);
    await until('a river alarm on /api/v1/alarms', async () => (await alarms('open')).length > 0, 60_000);
    const open = await alarms('open');
    expect(open).toMatchObject([{ kind: 'river_level:vigilance', device: 'ouche-pont', clearedAt: null }]);
    const overview = (await (await fetch(`${base}/api/v1/overview`)).json()) as { openAlarms: { kind: string }[] };
    expect(overview.openAlarms.filter((a) => a.kind.startsWith('river_'))).toHaveLength(1);

    const session = (await (await fetch(`${base}/api/v1/session`)).json()) as { csrfToken: string };
    const ack = await fetch(`${base}/api/v1/alarms/${open[0]?.id}/acknowledge`, { method: 'POST', headers: { 'x-csrf-token': session.csrfToken } });
    expect(ack.status).toBe(200);
    expect(await alarms('open')).toEqual([]);

    await publish(broker.url, [levelUplink(8, 1200, Date.now())]);
    await until('the store has the fall', () => (gateway.web?.sink.applied ?? 0) >= rise.length + 1);
    await until('the alarm clears', async () => (await alarms('active')).length === 0, 60_000);
    // Still one alarm in all: raised once, cleared once.
    expect(await alarms('all')).toMatchObject([{ id: open[0]?.id, kind: 'river_level:vigilance' }]);
  }, 180_000);
});
