import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../api.ts';
import { fromHex, toHex } from '../../bytes.ts';
import { describeVectorFile } from '../../testing/vectors.ts';
import { roundTrip } from './arbitrary.ts';
import { codec } from './codec.ts';

describeVectorFile(codec, 'netvox/r718h.json');

function decode(hex: string, fPort = 6, variables?: Record<string, unknown>) {
  return codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort, ...(variables ? { variables } : {}) });
}

describe('netvox/r718h uplinks', () => {
  // Defect class: low-battery voltage rendering. TTN's codec gives "3.1(low battery)"; the
  // readings keep the number and the flag.
  it('decodes a hand-built status report: 0x9f = low battery + 3.1 V, 0x1234 pulses, Volt as TTN renders it', () => {
    const r = decode('011f019f123400000000ff');
    expect(r.data).toEqual({ Device: 'R718H', Volt: '3.1(low battery)', PulseCount: 0x1234 });
    expect(codec.normalizeUplink(r.data ?? {}, {}).readings).toEqual([{ values: { battery_v: 3.1, alarm_low_battery: true, pulse_count: 0x1234 } }]);
    expect(decode('011f0124123400000000ff').data).toEqual({ Device: 'R718H', Volt: 3.6, PulseCount: 0x1234 });
  });

  // Defect class: the two-counter R718H2 (device type 0x3F) was refused.
  it('decodes the R718H2 (device type 0x3F): two counters, per-channel readings', () => {
    const r = decode('013f0121000a0bb8000000');
    expect(r.data).toEqual({ Device: 'R718H2', Volt: 3.3, PulseCount1: 10, PulseCount2: 3000 });
    expect(codec.normalizeUplink(r.data ?? {}, { variables: { litres_per_pulse: 10 } }).readings).toEqual([
      { values: { battery_v: 3.3, alarm_low_battery: false, pulse_count_ch1: 10, volume_m3_ch1: 0.1, pulse_count_ch2: 3000, volume_m3_ch2: 30 } },
    ]);
    expect(decode('013f006503201912310000').data).toEqual({ Device: 'R718H2', SWver: 10.1, HWver: 3, Datecode: '20191231' });
    expect(decode('863f0001000000000000', 7).errors).toBeDefined();
    expect(decode('863f0100000000000000' + '00', 7).data).toEqual({ Cmd: 'GetPulseCounterClearModeRsp', Device: 'R718H2', PulseCounterClearMode: 'Clear when Roll-Over' });
    const enc = codec.encodeUplink({ readings: [{ values: { pulse_count_ch1: 10, pulse_count_ch2: 3000, battery_v: 3.3 } }] });
    expect(toHex(enc.bytes ?? [])).toBe('013f0121000a0bb8000000');
  });

  // Defect class: PulseCounterClearMode strings in TTN's case.
  it('spells the clear modes as TTN does', () => {
    expect(decode('861f0000000000000000' + '00', 7).data?.['PulseCounterClearMode']).toBe('Clear when send');
    expect(decode('861f0100000000000000' + '00', 7).data?.['PulseCounterClearMode']).toBe('Clear when Roll-Over');
  });

  it('ignores the reserved tail bytes but insists on 11 bytes', () => {
    expect(decode('011f01240064').errors).toEqual(['an fPort 6 report must be 11 bytes, got 6']);
    expect(decode('011f0124006400000000000000').errors).toEqual(['an fPort 6 report must be 11 bytes, got 13']);
  });

  it('decodes the version report with the date code as printed', () => {
    expect(decode('011f006503201912310000').data).toEqual({ Device: 'R718H', SWver: 10.1, HWver: 3, Datecode: '20191231' });
  });

  it('rejects ports other than 6 and 7', () => {
    expect(decode('011f012400640000000000', 8).errors?.[0]).toMatch(/unknown fPort 8/);
  });
});

describe('netvox/r718h normalization', () => {
  it('gives pulses, battery and the low-battery alarm; volume only with litres_per_pulse', () => {
    const data = decode('011f01a4fffe0000000000').data ?? {};
    expect(codec.normalizeUplink(data, {}).readings).toEqual([{ values: { pulse_count: 65534, battery_v: 3.6, alarm_low_battery: true } }]);
    expect(codec.normalizeUplink(data, { variables: { litres_per_pulse: 2.5 } }).readings).toEqual([
      { values: { pulse_count: 65534, battery_v: 3.6, alarm_low_battery: true, volume_m3: 163.835 } },
    ]);
  });

  it('warns about an unusable litres_per_pulse', () => {
    const data = decode('011f012400640000000000').data ?? {};
    const n = codec.normalizeUplink(data, { variables: { litres_per_pulse: 0 } });
    expect(n.warnings).toEqual(['no volume_m3: device variable litres_per_pulse is not a positive number (0)']);
    expect(n.readings[0]?.values['volume_m3']).toBeUndefined();
  });

  it('gives no readings for version reports and command responses', () => {
    expect(codec.normalizeUplink(decode('011f006402202010090000').data ?? {}, {}).readings).toEqual([]);
    expect(codec.normalizeUplink(decode('821f038407080100000000', 7).data ?? {}, {}).readings).toEqual([]);
  });
});

describe('netvox/r718h device side', () => {
  it('encodes a status report and wraps the counter at 16 bits like the device', () => {
    const r = codec.encodeUplink({ readings: [{ values: { pulse_count: 65536 + 5, battery_v: 3.4, alarm_low_battery: true } }] });
    expect(r).toEqual({ bytes: Array.from(fromHex('011f01a200050000000000') ?? []), fPort: 6 });
  });

  it('derives pulses from volume_m3 with litres_per_pulse, with defaults for the rest', () => {
    const r = codec.encodeUplink({ readings: [{ values: { volume_m3: 1.5 } }], variables: { litres_per_pulse: 10 } });
    expect(toHex(r.bytes ?? [])).toBe('011f012400960000000000');
  });

  it('refuses values the frame cannot carry', () => {
    expect(codec.encodeUplink({ readings: [{ values: { battery_v: 13 } }] }).errors).toEqual(['battery_v out of range: 13 (allowed 0..12.7 V)']);
    expect(codec.encodeUplink({ readings: [{ values: { volume_m3: 1 } }] }).errors?.[0]).toMatch(/litres_per_pulse/);
    expect(codec.encodeUplink({ readings: [] }).errors).toEqual(['encodeUplink needs at least one reading {values: {...}}']);
  });
});

describe('netvox/r718h downlinks', () => {
  const requests: JsonObject[] = [
    { Cmd: 'ConfigReportReq', Device: 'R718H', MinTime: 60, MaxTime: 3600, BatteryChange: 0.2 },
    { Cmd: 'ReadConfigReportReq', Device: 'R718H' },
    { Cmd: 'SetFiltertimeReq', Device: 'R718H', FilterTime: 1275 },
    { Cmd: 'GetFiltertimeReq', Device: 'R718H' },
    { Cmd: 'SetPulseCounterClearModeReq', Device: 'R718H', PulseCounterClearMode: 0 },
    { Cmd: 'GetPulseCounterClearModeReq', Device: 'R718H' },
  ];
  for (const data of requests) {
    it(`round-trips ${String(data['Cmd'])}`, () => {
      const enc = codec.encodeDownlink?.({ data });
      expect(enc?.errors).toBeUndefined();
      expect(enc?.bytes).toHaveLength(11);
      expect(codec.decodeDownlink?.({ bytes: enc?.bytes ?? [], fPort: enc?.fPort ?? 0 }).data).toEqual(data);
    });
  }

  it('reports bad commands and parameters as errors', () => {
    expect(codec.encodeDownlink?.({ data: { Cmd: 'RebootReq' } }).errors?.[0]).toMatch(/^Cmd must be one of/);
    expect(codec.encodeDownlink?.({ data: { Cmd: 'SetFiltertimeReq', FilterTime: 7 } }).errors).toEqual(['FilterTime must be a multiple of 5 ms, got 7']);
    expect(codec.encodeDownlink?.({ data: { Cmd: 'ConfigReportReq', MinTime: -1, MaxTime: 1, BatteryChange: 0.1 } }).errors).toEqual([
      'MinTime must be an integer 0..65535, got -1',
    ]);
    expect(codec.encodeDownlink?.({ data: { Cmd: 'GetFiltertimeReq', Device: 'R718A' } }).errors).toEqual(['Device must be "R718H" or "R718H2", got "R718A"']);
    expect(codec.decodeDownlink?.({ bytes: fromHex('011f038407080100000000') ?? [], fPort: 6 }).errors?.[0]).toMatch(/fPort 7/);
    expect(codec.decodeDownlink?.({ bytes: fromHex('811f000000000000000000') ?? [], fPort: 7 }).errors).toEqual([
      'unknown R718H request command 0x81 at offset 0',
    ]);
  });
});

describe('netvox/r718h round trip (same property as the contract test, static import)', () => {
  it('normalize(decode(encodeUplink(x))) == x.readings', () => {
    fc.assert(
      fc.property(roundTrip.arbitrary, (input) => {
        const enc = codec.encodeUplink(input);
        const dec = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 0, ...(input.variables ? { variables: input.variables } : {}) });
        const norm = codec.normalizeUplink(dec.data ?? {}, input.variables ? { variables: input.variables } : {});
        expect(norm.readings).toEqual(input.readings);
      }),
      { numRuns: 1000 },
    );
  });
});
