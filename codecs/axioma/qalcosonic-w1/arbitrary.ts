import fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { HOURLY_DELTAS } from './codec.ts';

const HOUR_MS = 3_600_000;
const MAX_DELTA = (1 << 14) - 1;

/**
 * Alarm sets the status byte can carry: bits 5–7 hold one event code (leak 0x20, backflow 0x60,
 * burst 0xA0, freeze 0x80) or none; low battery and device error are independent bits.
 */
const alarmSet = fc
  .record({
    code: fc.constantFrom('none', 'leak', 'backflow', 'burst', 'freeze'),
    lowBattery: fc.boolean(),
    deviceError: fc.boolean(),
  })
  .map(({ code, lowBattery, deviceError }): Reading['values'] => ({
    alarm_low_battery: lowBattery,
    alarm_device_error: deviceError,
    alarm_leak: code === 'leak',
    alarm_backflow: code === 'backflow',
    alarm_burst: code === 'burst',
    alarm_low_temperature: code === 'freeze',
  }));

// Frame times between 2001 and 2099, whole seconds (u32 unix time).
const frameTime = fc.integer({ min: 978_307_200, max: 4_070_908_800 }).map((s) => s * 1000);

const enhanced = fc
  .record({
    t: frameTime,
    logLitres: fc.oneof(fc.integer({ min: 0, max: 0xffffffff - HOURLY_DELTAS * MAX_DELTA }), fc.constant(0)),
    deltas: fc.array(fc.oneof(fc.integer({ min: 0, max: MAX_DELTA }), fc.constantFrom(0, MAX_DELTA)), {
      minLength: HOURLY_DELTAS,
      maxLength: HOURLY_DELTAS,
    }),
    alarms: alarmSet,
  })
  .map(({ t, logLitres, deltas, alarms }): UplinkEncodeInput => {
    let litres = logLitres;
    const readings: Reading[] = [{ time: new Date(t - HOURLY_DELTAS * HOUR_MS).toISOString(), values: { volume_m3: litres / 1000 } }];
    deltas.forEach((d, i) => {
      litres += d;
      readings.push({ time: new Date(t - (HOURLY_DELTAS - 1 - i) * HOUR_MS).toISOString(), values: { volume_m3: litres / 1000 } });
    });
    Object.assign((readings[HOURLY_DELTAS] as Reading).values, alarms);
    return { readings, time: new Date(t), fPort: 100 };
  });

const alarm = fc
  .record({ t: frameTime, alarms: alarmSet })
  .map(({ t, alarms }): UplinkEncodeInput => ({ readings: [{ time: new Date(t).toISOString(), values: alarms }], time: new Date(t), fPort: 103 }));

export const roundTrip: RoundTripSpec = { arbitrary: fc.oneof({ arbitrary: enhanced, weight: 4 }, { arbitrary: alarm, weight: 1 }) };
