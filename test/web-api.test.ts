/**
 * The read API on a real gateway fed over a real Mosquitto: every response is checked against
 * its JSON Schema (gateway/web/api-schemas.ts), bad input gets a 4xx JSON error and never a stack
 * trace, acknowledging needs the CSRF token, live updates arrive as Server-Sent Events, and a
 * listener off localhost needs a token (the gateway refuses to start without one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import { checkConfig, ConfigError } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { schemas } from '../gateway/web/api-schemas.ts';
import type { IntegrationEvent, UplinkEvent } from '../lorawan/chirpstack/events.ts';
import type { MosquittoServer } from '../support/mosquitto.ts';
import { startMqttGatewayRig, type MqttGatewayRig } from './gateway-rig.ts';
import { deviceInfo, df703Uplink, publish as publishTo, uplinkEvent as uplink, until } from './web-fixtures.ts';

let rig: MqttGatewayRig;
let broker: MosquittoServer;
let gateway: Gateway;
let base: string;
const ajv = new Ajv({ allErrors: true, strict: false });

const BIN = '70b3d5e75e000001';
const AIR = '70b3d5e75e000002';
const WATER = '70b3d5e75e000003';
const DEVICES = [
  { dev_eui: BIN, name: 'bin-1', model: 'dingtek/df703', tags: { commune: 'centre', lat: '52.09', lon: '5.12' }, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } },
  { dev_eui: AIR, name: 'air-1', model: 'decentlab/dl-pm', tags: { commune: 'west' }, variables: {} },
  { dev_eui: WATER, name: 'water-1', model: 'kamstrup/flowiq2200', tags: { commune: 'west' }, variables: {} },
];

const binUplink = (fCnt: number, distance: number, full: boolean, time: number): UplinkEvent => df703Uplink(BIN, 'bin-1', fCnt, distance, full, time);
const publish = (events: IntegrationEvent[]): Promise<void> => publishTo(broker.url, events);

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, headers: res.headers };
}

function valid(schema: object, body: unknown): void {
  const check = ajv.compile(schema);
  expect(check(body), JSON.stringify(check.errors)).toBe(true);
}

const now = Date.now();

beforeAll(async () => {
  rig = await startMqttGatewayRig({
    name: 'web-api',
    devices: DEVICES,
    config: { http: { listen: '127.0.0.1:0' }, log: { level: 'warn' }, buffer: { fsync_interval_ms: 10 } },
  });
  ({ broker, gateway } = rig);
  const a = gateway.httpAddress();
  base = `http://127.0.0.1:${a?.port}`;
  const join1: IntegrationEvent = { kind: 'join', deduplicationId: 'join-1', time: now - 120_000, deviceInfo: deviceInfo(BIN, 'bin-1'), devAddr: '26000001' };
  const air = nativeCodec('decentlab/dl-pm')?.encodeUplink({ readings: [{ values: { pm2_5_ugm3: 12, pm10_ugm3: 20, pm1_ugm3: 8, temperature_c: 21.5, humidity_pct: 40 } }] });
  await publish([
    join1,
    binUplink(1, 400, false, now - 60_000),
    binUplink(2, 150, true, now - 30_000),
    uplink(AIR, 'air-1', 1, Uint8Array.from(air?.bytes ?? []), air?.fPort ?? 1, now - 10_000),
  ]);
  await until('the store has the four events', () => (gateway.web?.sink.applied ?? 0) >= 4);
}, 120_000);

afterAll(async () => {
  await rig?.dispose();
});

describe('read API', () => {
  it('lists devices with filters and paging, in the documented shape', async () => {
    const all = await get('/api/v1/devices');
    expect(all.status).toBe(200);
    valid(schemas.devices, all.body);
    const b = all.body as { total: number; devices: { name: string; state: string; commune: string }[] };
    expect(b.total).toBe(3);
    expect(Object.fromEntries(b.devices.map((d) => [d.name, d.state]))).toEqual({ 'air-1': 'reporting', 'bin-1': 'reporting', 'water-1': 'never_joined' });
    const west = (await get('/api/v1/devices?commune=west&state=never_joined')).body as { devices: { name: string }[] };
    expect(west.devices.map((d) => d.name)).toEqual(['water-1']);
    expect(((await get('/api/v1/devices?category=bin-fill')).body as { total: number }).total).toBe(1);
    const page = (await get('/api/v1/devices?limit=1&offset=1')).body as { total: number; devices: { name: string }[] };
    expect(page).toMatchObject({ total: 3, devices: [{ name: 'bin-1' }] });
    // Search: DevEUI in any spelling, name, and a scanned TR005 QR code.
    for (const q of ['70-B3-D5-E7-5E-00-00-01', 'bin', `LW:D0:70B3D57ED0000000:${BIN.toUpperCase()}:AABB1122:O123456`]) {
      const r = (await get(`/api/v1/devices?q=${encodeURIComponent(q)}`)).body as { devices: { devEui: string }[] };
      expect(r.devices.map((d) => d.devEui), q).toEqual([BIN]);
    }
  });

  it('gives a device with its join, gateways, verdict, frames and readings', async () => {
    const d = await get(`/api/v1/devices/${BIN}`);
    expect(d.status).toBe(200);
    valid(schemas.device, d.body);
    const body = d.body as { state: { joinedAt: number; uplinks: number; readings: Record<string, { value: unknown }> }; verdict: { level: string; text: string }; gateways: unknown[] };
    expect(body.state.joinedAt).toBe(now - 120_000);
    expect(body.state.uplinks).toBe(2);
    expect(body.state.readings['distance_mm']?.value).toBe(150);
    expect(body.verdict).toMatchObject({ level: 'good', text: expect.stringContaining('heard by 2 gateways — best RSSI -80 dBm') });
    expect(body.gateways).toHaveLength(2);
    const f = await get(`/api/v1/devices/${BIN}/frames?limit=10`);
    valid(schemas.frames, f.body);
    const frames = (f.body as { frames: { fCnt: number; payloadHex: string; readings: unknown[] }[] }).frames;
    expect(frames.map((x) => x.fCnt)).toEqual([2, 1]);
    expect(frames[0]?.readings).toHaveLength(1);
    const r = await get(`/api/v1/devices/${BIN}/readings?since=${new Date(now - 3_600_000).toISOString()}`);
    valid(schemas.readings, r.body);
    expect((r.body as { readings: { values: { distance_mm: number } }[] }).readings.map((x) => x.values.distance_mm)).toEqual([400, 150]);
    const none = (await get(`/api/v1/devices/${BIN}/readings?since=${now}`)).body as { readings: unknown[] };
    expect(none.readings).toEqual([]);
  });

  it('overview: counts, communes, gateways, health', async () => {
    const o = await get('/api/v1/overview');
    valid(schemas.overview, o.body);
    const b = o.body as { devices: object; byCommune: { key: string; openAlarms: number }[]; gateways: unknown[]; health: { sinks: { name: string }[] } };
    expect(b.devices).toEqual({ total: 3, reporting: 2, silent: 0, never_joined: 1 });
    expect(b.byCommune.find((c) => c.key === 'centre')?.openAlarms).toBe(1);
    expect(b.gateways).toHaveLength(2);
    expect(b.health.sinks.map((s) => s.name).sort()).toEqual(['file', 'local']);
    valid(schemas.session, (await get('/api/v1/session')).body);
  });

  it('acknowledges an alarm with the CSRF token only', async () => {
    const open = await get('/api/v1/alarms');
    valid(schemas.alarms, open.body);
    const alarms = (open.body as { alarms: { id: number; kind: string; device: string }[] }).alarms;
    expect(alarms).toMatchObject([{ kind: 'full', device: 'bin-1' }]);
    const id = alarms[0]?.id as number;
    const noToken = await get(`/api/v1/alarms/${id}/acknowledge`, { method: 'POST' });
    expect(noToken.status).toBe(403);
    valid(schemas.error, noToken.body);
    const { csrfToken } = (await get('/api/v1/session')).body as { csrfToken: string };
    const crossSite = await get(`/api/v1/alarms/${id}/acknowledge`, { method: 'POST', headers: { 'x-csrf-token': csrfToken, origin: 'http://evil.example' } });
    expect(crossSite.status).toBe(403);
    const ok = await get(`/api/v1/alarms/${id}/acknowledge`, { method: 'POST', headers: { 'x-csrf-token': csrfToken } });
    expect(ok.status).toBe(200);
    valid(schemas.acknowledged, ok.body);
    expect((ok.body as { alarm: { ackedBy: string } }).alarm.ackedBy).toBe('local');
    expect(((await get('/api/v1/alarms')).body as { alarms: unknown[] }).alarms).toEqual([]);
    expect(((await get('/api/v1/alarms?state=all')).body as { alarms: unknown[] }).alarms).toHaveLength(1);
    expect((await get('/api/v1/alarms/999999/acknowledge', { method: 'POST', headers: { 'x-csrf-token': csrfToken } })).status).toBe(404);
  });

  it('answers bad input with a 4xx JSON error, never a stack trace', async () => {
    const cases: [string, number, RequestInit?][] = [
      ['/api/v1/devices/ffffffffffffffff', 404],
      ['/api/v1/devices/ffffffffffffffff/frames', 404],
      ['/api/v1/devices/not-an-eui', 400],
      ['/api/v1/devices/%E0%A4%A', 400],
      ['/api/v1/devices?state=sleepy', 400],
      ['/api/v1/devices?limit=0', 400],
      ['/api/v1/devices?limit=abc', 400],
      ['/api/v1/devices?offset=-1', 400],
      ['/api/v1/devices?colour=red', 400],
      ['/api/v1/devices?state=silent&state=reporting', 400],
      [`/api/v1/devices?q=${'x'.repeat(300)}`, 400],
      [`/api/v1/devices/${BIN}/readings?since=yesterday`, 400],
      [`/api/v1/devices/${BIN}/readings?since=2026-01-02&until=2026-01-01`, 400],
      ['/api/v1/alarms?state=maybe', 400],
      ['/api/v1/alarms/abc/acknowledge', 403, { method: 'POST' }], // the CSRF check comes first
      ['/api/v1/nothing', 404],
      ['/api/v1/devices', 405, { method: 'DELETE' }],
      ['/api/v1/events?x=1', 400],
      [`/api/v1/devices?q=${'a'.repeat(5000)}`, 414],
      ['/nowhere', 404],
    ];
    for (const [path, status, init] of cases) {
      const r = await get(path, init);
      expect(r.status, path).toBe(status);
      valid(schemas.error, r.body);
      expect(r.text, path).not.toMatch(/\bat .*\.ts:\d+|Error:/);
    }
    // An oversized body, declared and streamed.
    const { csrfToken } = (await get('/api/v1/session')).body as { csrfToken: string };
    const big = await get('/api/v1/alarms/1/acknowledge', { method: 'POST', headers: { 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: 'x'.repeat(100_000) });
    expect(big.status).toBe(413);
    valid(schemas.error, big.body);
  });

  it('streams new uplinks, joins and alarms as Server-Sent Events', async () => {
    const got: { event: string; data: { devEui?: string; frame?: { fCnt: number } } }[] = [];
    const addr = gateway.httpAddress();
    const req = request({ host: '127.0.0.1', port: addr?.port, path: `/api/v1/events?devEui=${BIN}` });
    const done = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        expect(res.headers['content-type']).toContain('text/event-stream');
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let at: number;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data) got.push({ event, data: JSON.parse(data) as (typeof got)[number]['data'] });
            if (got.some((g) => g.event === 'uplink')) resolve();
          }
        });
      });
      req.on('error', reject);
    });
    req.end();
    await until('the stream is open', () => (gateway.web?.handler?.sseClients ?? 0) > 0);
    await publish([uplink(AIR, 'air-1', 2, Uint8Array.from([1]), 1, now), binUplink(3, 300, false, now)]);
    await done;
    req.destroy();
    // Only the device asked for; the frame as /frames gives it.
    expect(got.every((g) => g.data.devEui === BIN || g.event === 'alarm')).toBe(true);
    expect(got.find((g) => g.event === 'uplink')?.data.frame?.fCnt).toBe(3);
    expect(ajv.compile((await import('../gateway/web/api-schemas.ts')).frameSchema)(got.find((g) => g.event === 'uplink')?.data.frame)).toBe(true);
  });
});

describe('access off localhost', () => {
  it('refuses to start without a token or users', () => {
    const doc = { sources: [{ type: 'chirpstack_mqtt', url: 'mqtt://127.0.0.1:1' }], http: { listen: '0.0.0.0:9108' } };
    expect(() => checkConfig(doc, '/x/gateway.yaml', {})).toThrow(ConfigError);
    try {
      checkConfig(doc, '/x/gateway.yaml', {});
    } catch (err) {
      expect((err as Error).message).toMatch(/web\.access_token: required when http\.listen \(0\.0\.0\.0:9108\) is not a loopback address.*\[E_CONFIG_REQUIRED\]/);
    }
    expect(() => checkConfig({ ...doc, web: { access_token: '${WEB_TOKEN}' } }, '/x/gateway.yaml', {})).toThrow(/web\.access_token: environment variable WEB_TOKEN is not set/);
    expect(checkConfig({ ...doc, web: { enabled: false } }, '/x/gateway.yaml', {}).web.enabled).toBe(false);
  });

  it('needs the token or a user (401 otherwise); the token is never in a page or response', async () => {
    const token = 'tok-0123456789abcdef-secret';
    const d = mkdtempSync(join(tmpdir(), 'web-auth-'));
    const config = checkConfig(
      {
        name: 'web-auth',
        data_dir: './data',
        http: { listen: '0.0.0.0:0' },
        log: { level: 'warn' },
        sources: [{ type: 'chirpstack_mqtt', name: 'cs', url: broker.url, client_id: 'web-auth' }],
        web: { access_token: '${WEB_TOKEN}', users: [{ name: 'ops', password: '${OPS_PASSWORD}' }] },
      },
      join(d, 'gateway.yaml'),
      { WEB_TOKEN: token, OPS_PASSWORD: 'ops-password-1' },
    );
    const gw = createGateway(config, { logStream: { write: () => true } as unknown as NodeJS.WritableStream });
    await gw.start();
    try {
      const url = `http://127.0.0.1:${gw.httpAddress()?.port}`;
      for (const path of ['/', '/devices/70b3d5e75e000001', '/api/v1/devices', '/api/v1/overview', '/api/v1/events']) {
        const r = await fetch(`${url}${path}`);
        expect(r.status, path).toBe(401);
        expect(await r.text()).not.toContain(token);
      }
      expect((await fetch(`${url}/api/v1/devices`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
      expect((await fetch(`${url}/api/v1/devices`, { headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` } })).status).toBe(401);
      expect((await fetch(`${url}/api/v1/devices`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const basic = await fetch(`${url}/api/v1/session`, { headers: { authorization: `Basic ${Buffer.from('ops:ops-password-1').toString('base64')}` } });
      expect(basic.status).toBe(200);
      const session = await basic.text();
      expect(session).not.toContain(token);
      expect(session).not.toContain('ops-password-1');
      // The login form gives a session cookie that is not the token.
      const login = await fetch(`${url}/login`, { method: 'POST', body: new URLSearchParams({ token }), redirect: 'manual' });
      expect(login.status).toBe(303);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
      expect(cookie).not.toContain(token);
      const page = await fetch(`${url}/`, { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).not.toContain(token);
      // healthz and metrics stay as they were (Prometheus scrapes them).
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
    } finally {
      await gw.stop();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
