import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventToJson, eventToProtobuf } from '../../lorawan/chirpstack/events.ts';
import { LDDS75_EUI, uplink } from './testing.ts';
import { MAX_INPUT_BYTES, parseUplinkInput } from './uplink-input.ts';

describe('parseUplinkInput', () => {
  it('reads the four input shapes into the same event', () => {
    const ev = uplink();
    const shapes: unknown[] = [
      JSON.parse(eventToJson(ev)),
      eventToJson(ev),
      Buffer.from(eventToJson(ev)),
      Buffer.from(eventToProtobuf(ev)),
    ];
    for (const s of shapes) {
      const r = parseUplinkInput(s, `application/app-1/device/${LDDS75_EUI}/event/up`);
      expect(r.ok).toBe(true);
      if (r.ok && r.event.kind === 'up') {
        expect(r.event.deviceInfo.devEui).toBe(LDDS75_EUI);
        expect([...r.event.data]).toEqual([...ev.data]);
        expect(r.event.time).toBe(ev.time);
      }
    }
    const plain = parseUplinkInput({ devEui: 'A8-40-41-00-01-81-C0-61', fPort: 2, bytes: [...ev.data] });
    expect(plain.ok && plain.format).toBe('plain');
  });

  it('bounds size and depth before any work', () => {
    expect(parseUplinkInput(Buffer.alloc(MAX_INPUT_BYTES + 1, 0x7b))).toMatchObject({ ok: false, error: expect.stringMatching(/more than/) });
    let deep: Record<string, unknown> = { devEui: LDDS75_EUI };
    for (let i = 0; i < 40; i++) deep = { deviceInfo: deep };
    expect(parseUplinkInput(deep)).toMatchObject({ ok: false, error: expect.stringMatching(/deeper than/) });
    expect(parseUplinkInput({ devEui: LDDS75_EUI, fPort: 1, bytes: new Array(MAX_INPUT_BYTES + 1).fill(0) })).toMatchObject({ ok: false });
  });

  // Fuzz target: whatever a flow sends, the parser answers ok or a reason, never throws.
  it('never throws on arbitrary input (fast-check, fixed seed)', () => {
    const arb = fc.oneof(
      fc.anything({ maxDepth: 4 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 200 }),
      fc.record({ devEui: fc.oneof(fc.string(), fc.constant(LDDS75_EUI)), fPort: fc.anything(), payload: fc.anything(), time: fc.anything() }),
      fc.record({ end_device_ids: fc.anything({ maxDepth: 2 }), uplink_message: fc.dictionary(fc.constantFrom('f_port', 'frm_payload', 'received_at', 'rx_metadata', 'settings'), fc.anything({ maxDepth: 2 })) }),
    );
    fc.assert(
      fc.property(arb, fc.option(fc.string({ maxLength: 80 })), (payload, topic) => {
        const r = parseUplinkInput(payload, topic);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(typeof r.error).toBe('string');
      }),
      { seed: 14, numRuns: 300 },
    );
  });
});
