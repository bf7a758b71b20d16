import fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';

const HOUR_MS = 3_600_000;

/**
 * Periodic reports on the device grid: hourly volumes in whole litres (int32 base, profile
 * elements of 1, 2 or 4 bytes, occasionally a decreasing hour → signed differences), flow in
 * L/h (int16), temperatures in whole °C (int8, −128 is the invalid marker), the eight info-code
 * alarms; log time on the hour in 2001–2098, meter clock in UTC or a fixed offset.
 */
export const roundTrip: RoundTripSpec = {
  arbitrary: fc
    .record({
      hour: fc.integer({ min: 271_752, max: 1_130_000 }), // hours since 1970: 2001 … 2098
      zone: fc.constantFrom(undefined, 'UTC', '+01:00', '-05:30'),
      start: fc.oneof(fc.integer({ min: 0, max: 900_000_000 }), fc.constant(0)),
      steps: fc.array(
        fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 65_535 }), fc.integer({ min: 0, max: 50_000_000 }), fc.integer({ min: -300, max: 300 })),
        { maxLength: 23 },
      ),
      flow: fc.option(fc.integer({ min: -32_767, max: 32_767 }), { nil: undefined }),
      water: fc.option(fc.integer({ min: -127, max: 127 }), { nil: undefined }),
      ambient: fc.option(fc.integer({ min: -127, max: 127 }), { nil: undefined }),
      alarms: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    })
    .map(({ hour, zone, start, steps, flow, water, ambient, alarms }): UplinkEncodeInput => {
      const litres = [start];
      for (const s of steps) litres.push(Math.max(0, (litres[litres.length - 1] as number) + s));
      const base = hour * HOUR_MS;
      const readings: Reading[] = litres.map((l, i) => ({
        time: new Date(base - (litres.length - 1 - i) * HOUR_MS).toISOString(),
        values: { volume_m3: l / 1000 },
      }));
      const last = (readings[readings.length - 1] as Reading).values;
      if (flow !== undefined) last['flow_m3h'] = flow / 1000;
      if (water !== undefined) last['water_temperature_c'] = water;
      if (ambient !== undefined) last['temperature_c'] = ambient;
      const names = ['alarm_dry', 'alarm_backflow', 'alarm_leak', 'alarm_burst', 'alarm_tamper', 'alarm_low_battery', 'alarm_low_temperature', 'alarm_high_temperature'];
      names.forEach((n, i) => {
        last[n] = alarms[i] === true;
      });
      return { readings, time: new Date(base + 7 * 60_000), ...(zone !== undefined ? { variables: { meter_timezone: zone } } : {}) };
    }),
};
