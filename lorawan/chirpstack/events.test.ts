/**
 * ChirpStack event encoding against the reference examples (read by path from
 * ../shared/reference/chirpstack-integration.md), JSON and protobuf round trips, and parsers
 * that never throw.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../../codecs/testing/paths.ts';
import { eventToJson, eventToProtobuf, eventTopic, parseEventJson, parseEventProtobuf, parseEventTopic, rfc3339, type UplinkEvent } from './events.ts';

function referenceExample(title: string): Record<string, unknown> {
  const md = readFileSync(sharedPath('reference', 'chirpstack-integration.md'), 'utf8');
  const at = md.indexOf(title);
  const start = md.indexOf('```json', at) + 7;
  return JSON.parse(md.slice(start, md.indexOf('```', start))) as Record<string, unknown>;
}

const up = referenceExample('**Example 1: `up`**');
const join = referenceExample('**Example 2: `join`**');
const status = referenceExample('**Example 3: `status`**');

describe('ChirpStack JSON events', () => {
  it('parses the reference up event', () => {
    const r = parseEventJson('up', JSON.stringify(up));
    expect(r.ok).toBe(true);
    if (!r.ok || r.event.kind !== 'up') return;
    const e = r.event;
    expect(e.deviceInfo.devEui).toBe('a84041000181c9e2');
    expect(e.deviceInfo.tags).toEqual({ site: 'greenhouse-1', row: '3' });
    expect(e.fCnt).toBe(42);
    expect(e.fPort).toBe(2);
    expect(Buffer.from(e.data).toString('hex')).toBe('00d7610bc4');
    expect(e.object).toEqual({ humidity: 48.5, batteryMv: 3012.0, temperature: 21.5 });
    expect(e.rxInfo).toHaveLength(2);
    expect(e.rxInfo[0]?.rssi).toBe(-57);
    expect(e.rxInfo[0]?.snr).toBe(9.5);
    expect(Buffer.from(e.rxInfo[0]?.context ?? []).readUInt32BE(0)).toBe(3512348611);
    expect(e.txInfo).toEqual({ frequency: 868500000, bandwidth: 125000, spreadingFactor: 7, codeRate: 'CR_4_5' });
    expect(e.regionConfigId).toBe('eu868');
    expect(new Date(e.time).toISOString()).toBe('2026-07-20T09:14:03.512Z');
  });

  it('re-encodes the reference up event with the same fields and values', () => {
    const r = parseEventJson('up', JSON.stringify(up));
    if (!r.ok) throw new Error(r.error);
    const again = JSON.parse(eventToJson(r.event)) as Record<string, unknown>;
    for (const k of ['deduplicationId', 'deviceInfo', 'devAddr', 'adr', 'dr', 'fCnt', 'fPort', 'confirmed', 'data', 'object', 'txInfo', 'regionConfigId']) {
      expect(again[k], k).toEqual(up[k]);
    }
    const rx = again['rxInfo'] as Record<string, unknown>[];
    const want = up['rxInfo'] as Record<string, unknown>[];
    expect(rx[0]?.['gatewayId']).toBe(want[0]?.['gatewayId']);
    expect(rx[0]?.['context']).toBe(want[0]?.['context']);
    expect(rx[0]?.['crcStatus']).toBe('CRC_OK');
  });

  it('renders integration fields at defaults and omits zero gw fields, as ChirpStack does', () => {
    const ev: UplinkEvent = {
      kind: 'up',
      deduplicationId: 'x',
      time: Date.UTC(2026, 0, 1, 0, 0, 0, 5),
      deviceInfo: {
        tenantId: '',
        tenantName: '',
        applicationId: 'app',
        applicationName: '',
        deviceProfileId: '',
        deviceProfileName: '',
        deviceName: 'd',
        devEui: '0102030405060708',
        deviceClassEnabled: 'CLASS_A',
        tags: {},
      },
      devAddr: '01020304',
      adr: false,
      dr: 0,
      fCnt: 0,
      fPort: 0,
      confirmed: false,
      data: new Uint8Array(),
      rxInfo: [{ gatewayId: 'aa', uplinkId: 0, rssi: -100, snr: 0, channel: 0, rfChain: 0 }],
    };
    const json = JSON.parse(eventToJson(ev)) as Record<string, unknown>;
    expect(json['adr']).toBe(false);
    expect(json['data']).toBe('');
    expect((json['deviceInfo'] as Record<string, unknown>)['tags']).toEqual({});
    expect(json['object']).toBeUndefined();
    expect(json['time']).toBe('2026-01-01T00:00:00.005+00:00');
    expect(json['rxInfo']).toEqual([{ gatewayId: 'aa', rssi: -100 }]);
    expect(rfc3339(Date.UTC(2026, 0, 1), 123)).toBe('2026-01-01T00:00:00.000000123+00:00');
  });

  it('parses join and status events', () => {
    const j = parseEventJson('join', JSON.stringify(join));
    expect(j.ok && j.event.kind === 'join' && j.event.devAddr).toBe('260b1e4c');
    const s = parseEventJson('status', JSON.stringify(status));
    expect(s.ok && s.event.kind === 'status' && s.event.batteryLevel).toBe(86.61417);
  });

  it('tolerates missing object, float numbers, legacy region metadata and unknown fields', () => {
    const { object: _o, regionConfigId: _r, ...rest } = up;
    const doc = { ...rest, fCnt: 42.0, fPort: 2.0, futureField: { x: 1 }, rxInfo: [{ gatewayId: '0016C001F153A14C', rssi: -80.0, metadata: { region_config_id: 'eu868' } }] };
    const r = parseEventJson('up', JSON.stringify(doc));
    expect(r.ok).toBe(true);
    if (r.ok && r.event.kind === 'up') {
      expect(r.event.object).toBeUndefined();
      expect(r.event.regionConfigId).toBe('eu868');
      expect(r.event.rxInfo[0]?.gatewayId).toBe('0016c001f153a14c');
    }
  });

  it('reports malformed events with a reason', () => {
    const bad = (kind: string, doc: unknown): string => {
      const r = parseEventJson(kind, typeof doc === 'string' ? doc : JSON.stringify(doc));
      if (r.ok) throw new Error('expected an error');
      return r.error;
    };
    expect(bad('up', '{nope')).toMatch(/^malformed JSON/);
    expect(bad('up', [])).toBe('event is not a JSON object');
    expect(bad('up', { ...up, deviceInfo: undefined })).toBe('deviceInfo is missing');
    expect(bad('up', { ...up, deviceInfo: { devEui: 'xyz' } })).toMatch(/devEui/);
    expect(bad('up', { ...up, data: '!!' })).toBe('data is not base64');
    expect(bad('up', { ...up, fPort: 300 })).toMatch(/fPort/);
    expect(bad('up', { ...up, time: 'yesterday' })).toMatch(/time/);
    expect(bad('ack', up)).toMatch(/unsupported event type/);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.constantFrom('up', 'join', 'status', 'x'), fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 200 })), (kind, input) => {
        const r = typeof input === 'string' ? parseEventJson(kind, input) : parseEventProtobuf(kind, input);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('ChirpStack protobuf events', () => {
  it('round-trips the reference events through protobuf', () => {
    for (const [kind, doc] of [
      ['up', up],
      ['join', join],
      ['status', status],
    ] as const) {
      const r = parseEventJson(kind, JSON.stringify(doc));
      if (!r.ok) throw new Error(r.error);
      const pb = parseEventProtobuf(kind, eventToProtobuf(r.event));
      if (!pb.ok) throw new Error(pb.error);
      if (pb.event.kind === 'status' && r.event.kind === 'status') {
        // batteryLevel is a protobuf float (32-bit): equal to float precision only.
        expect(pb.event.batteryLevel).toBeCloseTo(r.event.batteryLevel, 4);
        expect({ ...pb.event, batteryLevel: 0 }).toEqual({ ...r.event, batteryLevel: 0 });
      } else {
        expect(pb.event).toEqual(r.event);
      }
    }
  });

  it('reports garbage as malformed protobuf or missing fields', () => {
    const r = parseEventProtobuf('up', Uint8Array.from([0xff, 0xff, 0xff]));
    expect(r.ok).toBe(false);
  });

  it('refuses a field whose declared length runs past the end at once (the fuzz stall: google-protobuf walked the length)', () => {
    // Input 5,721 of the MQTT fuzz run (seed 20261206) was 6 bytes on a join topic declaring a
    // ~267 MB sub-message: 192 s in the reader before "Decoder hit an error". A string, bytes
    // and a sub-message, at the top and inside a valid prefix of a real event.
    const parsed = parseEventJson('up', JSON.stringify(up));
    if (!parsed.ok) throw new Error(parsed.error);
    const real = eventToProtobuf(parsed.event);
    const cases: [string, number[]][] = [
      ['join', [0x22, 0xf2, 0xc4, 0xad, 0x7f, 0x00]],
      ['up', [0x0a, 0xff, 0xff, 0xff, 0x7f, 0x41]],
      ['up', [0x12, 0xff, 0xff, 0xff, 0x0f, 0x41]],
      ['status', [0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f]],
      ['up', [...real, 0x22, 0xff, 0xff, 0xff, 0x7f, 0x00]],
    ];
    for (const [kind, bytes] of cases) {
      const r = parseEventProtobuf(kind, Uint8Array.from(bytes));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/^malformed protobuf: a field (of \d+ bytes|length) runs past the end of the message/);
    }
    // What fits is read as before.
    expect(parseEventProtobuf('up', real).ok).toBe(true);
  });
});

describe('topics', () => {
  it('builds and splits integration topics', () => {
    const r = parseEventJson('up', JSON.stringify(up));
    if (!r.ok) throw new Error(r.error);
    const topic = eventTopic(r.event);
    expect(topic).toBe('application/795179d5-60fa-43b6-b34b-56c1ad33a55c/device/a84041000181c9e2/event/up');
    expect(parseEventTopic(topic)).toEqual({ applicationId: '795179d5-60fa-43b6-b34b-56c1ad33a55c', devEui: 'a84041000181c9e2', kind: 'up' });
    expect(parseEventTopic('application/x/device/123/event/up')).toBeUndefined();
  });
});
