import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../api.ts';
import { fromHex, toHex } from '../../bytes.ts';
import { describeVectorFile } from '../../testing/vectors.ts';
import { roundTrip } from './arbitrary.ts';
import { codec, packBits, readBits, unpackBits } from './codec.ts';

describeVectorFile(codec, 'axioma/qalcosonic-w1.json');

const VECTOR = '01aeac986a003217000000000000000000008003800054000e4005100048000240020000200000000000000000000000000000';
const T = 1788390574; // 2026-09-02T23:09:34Z

function decode(hex: string, fPort = 100) {
  return codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort });
}

describe('axioma/qalcosonic-w1 bit packing', () => {
  it('reads 14-bit fields LSB first across byte borders', () => {
    // delta 6 (index 5) of the vector: bits 70..83 = byte 8 bit 6..7 (0x80 → bit 71) + byte 9 0x03 → 2 + 4 + 8 = 14
    const history = (fromHex(VECTOR) as Uint8Array).subarray(10);
    expect(readBits(history, 70, 14)).toBe(14);
    expect(unpackBits(history, 23, 14)).toEqual([0, 0, 0, 0, 0, 14, 8, 21, 14, 21, 1, 18, 2, 9, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('packs the last 14-bit delta into bits 308..321 (bytes 38..40 of the history)', () => {
    const deltas = new Array<number>(23).fill(0);
    deltas[22] = 0x3fff;
    expect(toHex(packBits(deltas, 14, 41).slice(38))).toBe('f0ff03');
  });
});

describe('axioma/qalcosonic-w1 decoding', () => {
  it('decodes the hand-built extended 48-byte frame', () => {
    // time T, status 0x60, current 6054 L, log time T - 5 h, log 5938 L, deltas 10, 0, 5, 20, 0 … 9, trailing byte
    const r = decode('aeac986a60a61700005e66986a321700000a000000050014000000000001000200030004000500060007000800090000');
    expect(r.errors ?? []).toEqual([]);
    expect(r.data).toMatchObject({
      payload_format: 'AXIOMA_W1_EXTENDED',
      timestamp_unix: T,
      status: 0x60,
      backflow: true,
      leakage: false, // 0x60 is the backflow code, not backflow plus leakage
      burst: false,
      current_volume_m3: 6.054,
      log_timestamp_unix: T - 5 * 3600,
      log_volume_m3: 5.938,
      delta_1_m3: 0.01,
      delta_4_m3: 0.02,
      delta_15_m3: 0.009,
    });
  });

  it('decodes the 5-byte alarm frame on fPort 103', () => {
    expect(decode('aeac986a08', 103).data).toMatchObject({ payload_format: 'AXIOMA_W1_ALARM', timestamp_unix: T, permanent_error: true, pipe_empty: false });
  });

  it('keeps the reference pipe_empty quirk only in data: true iff status == 0x10', () => {
    expect(decode('aeac986a10', 103).data).toMatchObject({ temporary_error: true, pipe_empty: true });
    expect(decode('aeac986a14', 103).data).toMatchObject({ temporary_error: true, pipe_empty: false });
  });

  it('names the problem for wrong lengths, versions and ports', () => {
    expect(decode(VECTOR + '00').errors).toEqual(['unknown fPort 100 frame of 52 bytes: expected 51 (enhanced 24h, version 0x01) or 48 (extended)']);
    expect(decode('03' + VECTOR.slice(2)).errors).toEqual(['unsupported 51-byte frame version 0x03 at offset 0 (only 0x01, enhanced 24h, is known)']);
    expect(decode('aeac986a2000', 103).errors).toEqual(['an fPort 103 alarm frame must be 5 bytes, got 6']);
    expect(decode(VECTOR, 2).errors).toEqual(['unknown fPort 2: the W1 sends data on fPort 100 and alarms on fPort 103']);
  });
});

describe('axioma/qalcosonic-w1 normalization', () => {
  it('gives 24 hourly cumulative volumes ending at the frame time, alarms on the last', () => {
    const { readings } = codec.normalizeUplink(decode(VECTOR).data ?? {}, {});
    expect(readings).toHaveLength(24);
    expect(readings[0]).toEqual({ time: '2026-09-02T00:09:34.000Z', values: { volume_m3: 5.938 } });
    // log + deltas 1..6 (0,0,0,0,0,14 L) at T - 17 h
    expect(readings[6]).toEqual({ time: '2026-09-02T06:09:34.000Z', values: { volume_m3: 5.952 } });
    expect(readings[23]?.time).toBe('2026-09-02T23:09:34.000Z');
    expect(readings[23]?.values).toMatchObject({ volume_m3: 6.054, alarm_leak: false, alarm_burst: false });
  });

  it('reports burst once, not also as leak and freeze', () => {
    const data = decode('aeac986aa0', 103).data ?? {};
    expect(data).toMatchObject({ burst: true, leakage: false, low_temperature: false, backflow: false });
    expect(codec.normalizeUplink(data, {}).readings[0]?.values).toEqual({
      alarm_low_battery: false,
      alarm_device_error: false,
      alarm_leak: false,
      alarm_backflow: false,
      alarm_burst: true,
      alarm_low_temperature: false,
    });
  });

  // Defect class: event flags set where the status byte does not set them. Bits 2-4 are flags,
  // bits 5-7 one event code; every status byte is checked against that reading.
  it('every status byte: independent flags in bits 2-4, exactly one event from the code in bits 5-7', () => {
    const events: Record<number, string> = { 1: 'leakage', 3: 'backflow', 4: 'low_temperature', 5: 'burst' };
    for (let status = 0; status < 256; status++) {
      const r = decode(`aeac986a${status.toString(16).padStart(2, '0')}`, 103);
      const d = r.data ?? {};
      expect(d['low_battery'], `status ${status}`).toBe((status & 0x04) !== 0);
      expect(d['permanent_error'], `status ${status}`).toBe((status & 0x08) !== 0);
      expect(d['temporary_error'], `status ${status}`).toBe((status & 0x10) !== 0);
      const event = events[status >> 5];
      for (const flag of ['leakage', 'backflow', 'low_temperature', 'burst']) expect(d[flag], `status ${status} ${flag}`).toBe(flag === event);
      if (status >> 5 !== 0 && !event) expect(r.warnings?.[0], `status ${status}`).toMatch(/is not a known event/);
      else expect(r.warnings, `status ${status}`).toBeUndefined();
    }
  });

  it('the leakage and freeze codes alone: 0x20 and 0x80 (and 0x30 = leakage during a temporary error)', () => {
    expect(decode('aeac986a20', 103).data).toMatchObject({ leakage: true, low_temperature: false, burst: false, backflow: false });
    expect(decode('aeac986a80', 103).data).toMatchObject({ leakage: false, low_temperature: true, burst: false, backflow: false });
    expect(decode('aeac986a30', 103).data).toMatchObject({ leakage: true, temporary_error: true, pipe_empty: false });
  });

  it('encodes at most one event into the status byte: the most severe, with a warning', () => {
    const r = codec.encodeUplink({ readings: [{ values: { alarm_leak: true, alarm_burst: true } }], time: new Date(T * 1000), fPort: 103 });
    expect(r.bytes?.[4]).toBe(0xa0);
    expect(r.warnings).toEqual(['the status byte carries one event: alarm_burst, alarm_leak given, alarm_burst sent']);
  });
});

describe('axioma/qalcosonic-w1 device side', () => {
  const t = new Date(T * 1000);
  const hourly = (litres: number[]): Reading[] =>
    litres.map((l, i) => ({ time: new Date(t.getTime() - (litres.length - 1 - i) * 3_600_000).toISOString(), values: { volume_m3: l / 1000 } }));

  it('reproduces the public vector from its own readings', () => {
    const { readings } = codec.normalizeUplink(decode(VECTOR).data ?? {}, {});
    const enc = codec.encodeUplink({ readings, time: t });
    expect(enc.fPort).toBe(100);
    expect(toHex(enc.bytes ?? [])).toBe(VECTOR);
  });

  it('pads fewer than 24 readings with zero consumption before the oldest', () => {
    const enc = codec.encodeUplink({ readings: hourly([1000, 1005]) });
    const data = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: 100 }).data ?? {};
    expect(data).toMatchObject({ log_volume_m3: 1, delta_22_m3: 0, delta_23_m3: 0.005, current_volume_m3: 1.005, timestamp_unix: T });
  });

  it('refuses non-hourly spacing, decreasing volumes and deltas beyond 14 bits', () => {
    const odd = hourly([1000, 1001]);
    (odd[0] as Reading).time = '2026-09-02T22:00:00.000Z';
    expect(codec.encodeUplink({ readings: odd }).errors?.[0]).toMatch(/reading 0 is not 1 h before the last one/);
    expect(codec.encodeUplink({ readings: hourly([1000, 999]) }).errors?.[0]).toMatch(/hourly consumption -1 L/);
    expect(codec.encodeUplink({ readings: hourly([0, 16384]) }).errors?.[0]).toMatch(/hourly consumption 16384 L .* 0\.\.16383 L/);
    expect(codec.encodeUplink({ readings: [{ values: { volume_m3: 1 } }] }).errors).toEqual(['encodeUplink: the last reading needs a time (or pass input.time)']);
  });

  it('keeps only the last 24 readings, with a warning', () => {
    const enc = codec.encodeUplink({ readings: hourly(Array.from({ length: 30 }, (_, i) => 1000 + i)) });
    expect(enc.warnings).toEqual(['only the last 24 readings fit the 24h frame']);
  });

  it('encodes alarm frames on fPort 103', () => {
    const enc = codec.encodeUplink({ readings: [{ values: { alarm_backflow: true, alarm_low_battery: true } }], time: t, fPort: 103 });
    expect(toHex(enc.bytes ?? [])).toBe('aeac986a64');
    expect(codec.encodeUplink({ readings: [{ values: {} }], time: t, fPort: 101 }).errors?.[0]).toMatch(/fPort 101 is not a W1 uplink/);
  });
});

describe('axioma/qalcosonic-w1 round trip (same property as the contract test, static import)', () => {
  it('normalize(decode(encodeUplink(x))) == x.readings', () => {
    fc.assert(
      fc.property(roundTrip.arbitrary, (input) => {
        const enc = codec.encodeUplink(input);
        const dec = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 0 });
        expect(codec.normalizeUplink(dec.data ?? {}, {}).readings).toEqual(input.readings);
      }),
      { numRuns: 1000 },
    );
  });
});
