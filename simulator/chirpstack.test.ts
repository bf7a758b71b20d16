import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventToJson, eventTopic, parseEventJson, parseEventProtobuf, eventToProtobuf } from '../lorawan/chirpstack/events.ts';
import { ChirpstackEvents, chirpstackIdentity } from './chirpstack.ts';
import type { SimUplink } from './frames.ts';
import type { SimDevice } from './population.ts';

const GATEWAYS = [
  { id: '0016c001f1530001', name: 'a', lat: 52.0908, lon: 5.1222, alt: 30 },
  { id: '0016c001f1530002', lat: 52.0894, lon: 5.11 },
  { id: '0016c001f1530003', lat: 0, lon: 0, alt: -5.5 },
];

function device(i: number, tags: Record<string, string>): SimDevice {
  return { index: i, devEui: `70b3d5e75e0000${String(i).padStart(2, '0')}`, name: `bin "${i}"\\ü`, catalogueId: 'dingtek/df703', tags } as unknown as SimDevice;
}

const reception = fc.record({
  gatewayIndex: fc.integer({ min: 0, max: 2 }),
  rssi: fc.integer({ min: -139, max: 0 }),
  snr: fc.oneof(fc.constant(0), fc.integer({ min: -80, max: 54 }).map((x) => x / 4), fc.double({ min: -20, max: 20, noNaN: true })),
  tmst: fc.integer({ min: 0, max: 0xffffffff }),
  uplinkId: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
  nsDelay: fc.integer({ min: 0, max: 1999 }),
});

const uplinkArb = fc.record({
  dev: fc.integer({ min: 0, max: 3 }),
  timeMs: fc.oneof(fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }), fc.integer({ min: 1_700_000_000, max: 1_900_000_000 }).map((s) => s * 1000)),
  fCnt: fc.integer({ min: 0, max: 0xffffffff }),
  fPort: fc.integer({ min: 1, max: 223 }),
  sf: fc.integer({ min: 7, max: 12 }),
  ch: fc.integer({ min: 0, max: 7 }),
  rfChain: fc.integer({ min: 0, max: 1 }),
  payload: fc.uint8Array({ minLength: 0, maxLength: 60 }),
  receptions: fc.array(reception, { minLength: 1, maxLength: 3 }),
  id: fc.uuid(),
});

describe('ChirpStack events of simulated uplinks', () => {
  const identity = chirpstackIdentity('demo');
  const devices = [device(0, {}), device(1, { commune: 'north' }), device(2, { a: 'x"y', b: '' }), device(3, { 'k é': 'v' })];

  it('uplinkJson and uplinkProtobuf render byte for byte what eventToJson and eventToProtobuf render', () => {
    const cs = new ChirpstackEvents(identity, GATEWAYS);
    fc.assert(
      fc.property(uplinkArb, (a) => {
        const u = {
          kind: 'data',
          device: devices[a.dev],
          timeMs: a.timeMs,
          devAddr: '26011bda',
          fCnt: a.fCnt,
          fPort: a.fPort,
          payload: a.payload,
          spreadingFactor: a.sf,
          dr: 12 - a.sf,
          frequencyHz: 868_100_000 + a.ch * 200_000,
          channel: a.ch,
          rfChain: a.rfChain,
          deduplicationId: a.id,
          receptions: a.receptions.map((r) => ({ ...r, gatewayId: GATEWAYS[r.gatewayIndex]?.id as string, nsTimeMs: a.timeMs + r.nsDelay })),
        } as unknown as SimUplink;
        expect(cs.uplinkJson(u)).toBe(eventToJson(cs.uplink(u)));
        expect(Buffer.from(eventToProtobuf(cs.uplink(u))).toString('hex')).toBe(cs.uplinkProtobuf(u).toString('hex'));
      }),
      { numRuns: 2_000 },
    );
  });

  it('carries the fleet identity, tags, radio metadata and parses back from JSON and protobuf', () => {
    const cs = new ChirpstackEvents(identity, GATEWAYS);
    const u = {
      kind: 'data',
      device: devices[1],
      timeMs: Date.UTC(2026, 10, 23, 8, 0, 0, 5),
      devAddr: '26011bda',
      fCnt: 70_000,
      fPort: 3,
      payload: Uint8Array.of(1, 2, 3),
      spreadingFactor: 9,
      dr: 3,
      frequencyHz: 868_300_000,
      channel: 1,
      rfChain: 1,
      deduplicationId: '8e7fce61-043b-434c-8ff2-e6360cffef63',
      receptions: [{ gatewayIndex: 0, gatewayId: '0016c001f1530001', rssi: -97, snr: 6.25, tmst: 3512348611, uplinkId: 42, nsTimeMs: Date.UTC(2026, 10, 23, 8, 0, 0, 40) }],
    } as unknown as SimUplink;
    const ev = cs.uplink(u);
    expect(eventTopic(ev)).toBe(`application/${identity.applicationId}/device/70b3d5e75e000001/event/up`);
    expect(identity.applicationId).toBe(chirpstackIdentity('demo').applicationId);
    expect(identity.applicationId).not.toBe(chirpstackIdentity('city').applicationId);
    for (const parsed of [parseEventJson('up', cs.uplinkJson(u)), parseEventProtobuf('up', eventToProtobuf(ev))]) {
      expect(parsed.ok).toBe(true);
      if (!parsed.ok || parsed.event.kind !== 'up') continue;
      const e = parsed.event;
      expect(e.deviceInfo).toMatchObject({ applicationName: 'demo', deviceProfileName: 'dingtek/df703', devEui: '70b3d5e75e000001', tags: { commune: 'north' } });
      expect(e).toMatchObject({ fCnt: 70_000, fPort: 3, dr: 3, adr: true, devAddr: '26011bda', regionConfigId: 'eu868' });
      expect(Buffer.from(e.data).toString('hex')).toBe('010203');
      expect(e.object).toBeUndefined();
      expect(e.txInfo).toEqual({ frequency: 868_300_000, bandwidth: 125_000, spreadingFactor: 9, codeRate: 'CR_4_5' });
      const rx = e.rxInfo[0];
      expect(rx).toMatchObject({ gatewayId: '0016c001f1530001', rssi: -97, snr: 6.25, channel: 1, rfChain: 1, uplinkId: 42, crcStatus: 'CRC_OK' });
      expect(rx?.location).toEqual({ latitude: 52.0908, longitude: 5.1222, altitude: 30 });
      expect(Buffer.from(rx?.context ?? []).readUInt32BE(0)).toBe(3512348611);
      expect(rx?.gwTime).toBe(u.timeMs);
    }
    const join = cs.join({ device: devices[0] as SimDevice, timeMs: u.timeMs, devAddr: '26000001', deduplicationId: 'f3b71fc8-4e16-4b64-88d6-d09f1771ca07' });
    const pj = parseEventJson('join', eventToJson(join));
    expect(pj.ok && pj.event.kind === 'join' && pj.event.devAddr).toBe('26000001');
  });
});
