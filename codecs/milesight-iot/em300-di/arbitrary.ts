/**
 * Round-trip inputs on the EM300-DI's grid: temperature 0.1 °C (i16), humidity 0.5 % (u8),
 * battery 1 %, pulse count u32, water volume as float32 (shortest decimal). Two device set-ups:
 * counter mode (05 C8 / 20 CE; volume_m3 expected when liters_per_pulse is set) and pulse
 * conversion with water_unit m3 (05 E1 / 85 E1 alarms / 21 CE). Digital-input mode in both.
 */
import fc from 'fast-check';
import type { Reading, ReadingValue, UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { float32Value } from '../channels.ts';
import { volumeFromPulses } from './codec.ts';

const temperature = fc.oneof(fc.integer({ min: -400, max: 850 }), fc.constantFrom(-32768, 32767)).map((t) => t / 10);
const humidity = fc.integer({ min: 0, max: 200 }).map((h) => h / 2);
const pulses = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0xffffffff));
const volume = fc.integer({ min: 0, max: 100_000_000 }).map((k) => float32Value(k / 1000) as number);
const time = fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }).map((s) => new Date(s * 1000).toISOString());
/** At most one water alarm per record, as the device sends; only `true` travels (a false one sends no alarm record). */
const alarm = fc.option(fc.constantFrom('alarm_leak', 'alarm_dry'), { nil: undefined });

const climate = fc.record({ temperature_c: temperature, humidity_pct: humidity }, { requiredKeys: [] });

function withAlarm(values: Record<string, ReadingValue>, a: string | undefined): Record<string, ReadingValue> {
  return a ? { ...values, [a]: true } : values;
}

const counterMode = fc
  .record({
    variables: fc.oneof(
      fc.constant({}),
      fc.record({ liters_per_pulse: fc.constantFrom(0.5, 1, 10, 100), volume_offset_m3: fc.integer({ min: 0, max: 1000 }) }),
    ),
    current: fc.record({
      battery_pct: fc.integer({ min: 0, max: 100 }),
      climate,
      input: fc.oneof(pulses.map((p) => ({ pulse_count: p })), fc.boolean().map((b) => ({ digital_input: b }))),
    }),
    history: fc.array(
      fc.record({
        time,
        temperature_c: temperature,
        humidity_pct: humidity,
        input: fc.oneof(pulses.map((p) => ({ pulse_count: p })), fc.boolean().map((b) => ({ digital_input: b }))),
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ variables, current, history }): UplinkEncodeInput => ({
    variables,
    readings: [
      ...history.map((h) => ({ time: h.time, values: { temperature_c: h.temperature_c, humidity_pct: h.humidity_pct, ...h.input } })),
      { values: { battery_pct: current.battery_pct, ...current.climate, ...current.input } },
    ],
  }));

const waterMode = fc
  .record({
    current: fc.record({
      battery_pct: fc.integer({ min: 0, max: 100 }),
      climate,
      input: fc.oneof(
        fc.tuple(volume, alarm).map(([v, a]) => withAlarm({ volume_m3: v }, a)),
        fc.boolean().map((b): Record<string, ReadingValue> => ({ digital_input: b })),
      ),
    }),
    history: fc.array(
      fc.record({
        time,
        temperature_c: temperature,
        humidity_pct: humidity,
        input: fc.oneof(volume.map((v): Record<string, ReadingValue> => ({ volume_m3: v })), fc.boolean().map((b): Record<string, ReadingValue> => ({ digital_input: b }))),
        alarm,
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ current, history }): UplinkEncodeInput => ({
    variables: { water_unit: 'm3' },
    readings: [
      ...history.map((h) => ({ time: h.time, values: withAlarm({ temperature_c: h.temperature_c, humidity_pct: h.humidity_pct, ...h.input }, h.alarm) })),
      { values: { battery_pct: current.battery_pct, ...current.climate, ...current.input } },
    ],
  }));

export const roundTrip: RoundTripSpec = {
  arbitrary: fc.oneof(counterMode, waterMode),
  /** In counter mode with liters_per_pulse, each pulse count also gives volume_m3. */
  expected(input): Reading[] {
    return input.readings.map((r) => {
      const pulse = r.values['pulse_count'];
      const volume = typeof pulse === 'number' ? volumeFromPulses(pulse, input.variables) : undefined;
      return volume === undefined ? r : { ...r, values: { ...r.values, volume_m3: volume } };
    });
  },
};
