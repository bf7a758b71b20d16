/**
 * Round-trip readings for the DL-PM: raw u16 words drawn over their full range (humidity only
 * where it decodes within 0..100 %RH, the rest is clipped by normalize), turned into values with
 * the codec's own conversions, so every reading lies exactly on the device's grid.
 */
import fc from 'fast-check';
import type { UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { convert, HUMIDITY_RAW_MAX, HUMIDITY_RAW_MIN } from './codec.ts';

const u16 = fc.integer({ min: 0, max: 0xffff });

const arbitrary: fc.Arbitrary<UplinkEncodeInput> = fc
  .record({
    deviceId: u16,
    battery: u16,
    pm: fc.option(fc.tuple(u16, u16, u16, u16), { nil: undefined }),
    sht: fc.option(fc.tuple(u16, fc.integer({ min: HUMIDITY_RAW_MIN, max: HUMIDITY_RAW_MAX })), { nil: undefined }),
    pressure: fc.option(u16, { nil: undefined }),
  })
  .map(({ deviceId, battery, pm, sht, pressure }) => {
    const values: Record<string, number> = { battery_v: convert.battery(battery) };
    if (pm) {
      const [pm1, pm2_5, pm4, pm10] = pm.map(convert.tenth) as [number, number, number, number];
      Object.assign(values, { pm1_ugm3: pm1, pm2_5_ugm3: pm2_5, pm4_ugm3: pm4, pm10_ugm3: pm10 });
    }
    if (sht) {
      values['temperature_c'] = convert.temperature(sht[0]);
      values['humidity_pct'] = convert.humidity(sht[1]);
    }
    if (pressure !== undefined) values['pressure_hpa'] = convert.pressurePa(pressure) / 100;
    return { readings: [{ values }], variables: { device_id: deviceId } };
  });

export const roundTrip: RoundTripSpec = { arbitrary };
