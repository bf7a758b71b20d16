/**
 * Round-trip inputs on the AM319's grid: temperature 0.1 °C, humidity 0.5 %, light level u8,
 * CO2/PM/TVOC µg/m³ u16, TVOC IAQ / HCHO / O3 0.01 (u16), pressure 0.1 hPa (u16), PIR flag.
 * The periodic report carries any subset of values; history records (with `time`) carry all
 * of them. Both namings and the O3 variant (history's last field is ozone).
 */
import fc from 'fast-check';
import type { ReadingValue, UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';

const u16 = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 65535));
const hundredths = u16.map((k) => k / 100);
const common = {
  temperature_c: fc.oneof(fc.integer({ min: -400, max: 850 }), fc.constantFrom(-32768, 32767)).map((t) => t / 10),
  occupied: fc.boolean(),
  light_level: fc.integer({ min: 0, max: 5 }),
  co2_ppm: u16,
  pressure_hpa: u16.map((p) => p / 10),
  pm2_5_ugm3: u16,
  pm10_ugm3: u16,
};
const time = fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }).map((s) => new Date(s * 1000).toISOString());

const variant = fc.constantFrom<Record<string, string> | undefined>(undefined, { naming: 'milesight' }, { sensor_variant: 'o3' }, { naming: 'milesight', sensor_variant: 'o3' });

const input = variant.chain((variables) => {
  const o3 = variables?.['sensor_variant'] === 'o3';
  const current = fc.record(
    {
      battery_pct: fc.integer({ min: 0, max: 100 }),
      ...common,
      humidity_pct: fc.integer({ min: 0, max: 200 }).map((h) => h / 2),
      tvoc_iaq: hundredths,
      tvoc_ugm3: u16,
      hcho_mgm3: hundredths,
      o3_ppm: hundredths,
    },
    { requiredKeys: ['co2_ppm'] },
  );
  const record = fc
    .record({
      time,
      values: fc.record({ ...common, humidity_pct: u16.map((h) => h / 2), gas: hundredths }),
      tvoc: fc.oneof(hundredths.map((v) => ({ tvoc_iaq: v })), u16.map((v) => ({ tvoc_ugm3: v }))),
    })
    .map(({ time: t, values: { gas, ...rest }, tvoc }) => ({
      time: t,
      values: { ...rest, ...tvoc, [o3 ? 'o3_ppm' : 'hcho_mgm3']: gas } as Record<string, ReadingValue>,
    }));
  return fc.record({ history: fc.array(record, { maxLength: 2 }), current }).map(
    ({ history, current: c }): UplinkEncodeInput => ({
      readings: [...history, { values: c as Record<string, ReadingValue> }],
      ...(variables ? { variables } : {}),
    }),
  );
});

export const roundTrip: RoundTripSpec = { arbitrary: input };
