/**
 * Netvox R718H pulse counter (retrofit reader for pulse-output water meters).
 *
 * Every Netvox frame is 11 bytes. fPort 6 carries reports (`[version][device type][report type]`
 * + 8 bytes), fPort 7 carries configuration commands (downlink) and their responses (uplink):
 * `[cmd][device type]` + 9 bytes. Multi-byte values are big-endian. Layouts and the TTN naming
 * (`Volt`, `PulseCount`, `Cmd`, …) are in README.md. `data` is what TTN's r718h.js returns: a
 * low-battery `Volt` is the string "3.2(low battery)", the two-counter R718H2 (device type 0x3F)
 * has `PulseCount1`/`PulseCount2`; the readings keep the voltage a number with
 * `alarm_low_battery`.
 */
import { variable } from '../../variables.ts';
import type { DecodeResult, JsonObject, NormalizeResult, Reading, UplinkEncodeResult } from '../../api.ts';
import { ByteReader, ByteWriter, PayloadError, round, toHex } from '../../bytes.ts';
import { booleanValue, defineCodec, firstReading, numberValue } from '../../define.ts';

export const FRAME_LENGTH = 11;
export const DEVICE_TYPE = 0x1f;
export const DEVICE_NAME = 'R718H';
/** The two-counter variant: same frames, two 16-bit counters in the status report. */
export const DEVICE_TYPE_H2 = 0x3f;
export const DEVICE_NAME_H2 = 'R718H2';
const DEVICE_NAMES: Readonly<Record<number, string>> = { [DEVICE_TYPE]: DEVICE_NAME, [DEVICE_TYPE_H2]: DEVICE_NAME_H2 };
/** TTN's suffix of a low-battery voltage. */
const LOW_BATTERY_SUFFIX = '(low battery)';
export const REPORT_PORT = 6;
export const CONFIG_PORT = 7;

/** The two pulse-counter clear modes (GetPulseCounterClearModeRsp), spelt as TTN's codec does. */
const CLEAR_MODES: Record<number, string> = { 0: 'Clear when send', 1: 'Clear when Roll-Over' };

/** Configuration commands on fPort 7: request id → name; the response id is request | 0x80. */
const COMMANDS: Record<number, string> = {
  0x01: 'ConfigReport',
  0x02: 'ReadConfigReport',
  0x03: 'SetFiltertime',
  0x04: 'GetFiltertime',
  0x05: 'SetPulseCounterClearMode',
  0x06: 'GetPulseCounterClearMode',
};
const COMMAND_IDS = new Map(Object.entries(COMMANDS).map(([id, name]) => [name, Number(id)]));

function checkFrame(bytes: Uint8Array, what: string): void {
  if (bytes.length !== FRAME_LENGTH) {
    throw new PayloadError(`${what} must be ${FRAME_LENGTH} bytes, got ${bytes.length}`);
  }
}

/** The device name of a device type byte: R718H (0x1F) or R718H2 (0x3F). */
function deviceName(type: number): string {
  const name = DEVICE_NAMES[type];
  if (name === undefined) throw new PayloadError(`device type 0x${type.toString(16).padStart(2, '0')} at offset 1 is not an R718H (0x1f) or R718H2 (0x3f)`);
  return name;
}

/** Eight BCD-looking bytes printed as hex, e.g. 20 20 10 09 → "20201009". */
function dateCode(bytes: Uint8Array): string {
  return toHex(bytes);
}

function decodeReport(bytes: Uint8Array): JsonObject {
  checkFrame(bytes, 'an fPort 6 report');
  const r = new ByteReader(bytes);
  r.u8('version');
  const device = deviceName(r.u8('device type'));
  const reportType = r.u8('report type');
  if (reportType === 0x00) {
    return {
      Device: device,
      SWver: r.u8('software version') / 10,
      HWver: r.u8('hardware version'),
      Datecode: dateCode(r.take(4, 'date code')),
    };
  }
  if (reportType === 0x01) {
    const battery = r.u8('battery');
    const volts = (battery & 0x7f) / 10;
    // Bit 7 is the low-battery flag: TTN's codec renders the voltage as "3.2(low battery)".
    const data: JsonObject = { Device: device, Volt: battery & 0x80 ? `${volts}${LOW_BATTERY_SUFFIX}` : volts };
    if (device === DEVICE_NAME) data['PulseCount'] = r.u16be('pulse count');
    else {
      data['PulseCount1'] = r.u16be('pulse count 1');
      data['PulseCount2'] = r.u16be('pulse count 2');
    }
    return data;
  }
  throw new PayloadError(`unknown report type 0x${reportType.toString(16).padStart(2, '0')} at offset 2 (${device} sends 0x00 version, 0x01 status)`);
}

function status(code: number): string {
  return code === 0 ? 'Success' : 'Failure';
}

/** Parameters of a request (downlink) or response (uplink) on fPort 7, after `[cmd][device type]`. */
function decodeConfig(bytes: Uint8Array, direction: 'request' | 'response'): JsonObject {
  checkFrame(bytes, 'an fPort 7 command');
  const r = new ByteReader(bytes);
  const cmd = r.u8('command');
  const device = deviceName(r.u8('device type'));
  const isResponse = (cmd & 0x80) !== 0;
  const name = COMMANDS[cmd & 0x7f];
  if (!name || isResponse !== (direction === 'response')) {
    throw new PayloadError(`unknown R718H ${direction} command 0x${cmd.toString(16).padStart(2, '0')} at offset 0`);
  }
  const out: JsonObject = { Cmd: `${name}${isResponse ? 'Rsp' : 'Req'}`, Device: device };
  switch (cmd) {
    case 0x01:
    case 0x82:
      out['MinTime'] = r.u16be('MinTime');
      out['MaxTime'] = r.u16be('MaxTime');
      out['BatteryChange'] = round(r.u8('BatteryChange') / 10, 1);
      break;
    case 0x81:
    case 0x83:
    case 0x85:
      out['Status'] = status(r.u8('status'));
      break;
    case 0x03:
    case 0x84:
      out['FilterTime'] = r.u8('filter time code') * 5;
      break;
    case 0x05:
      out['PulseCounterClearMode'] = r.u8('clear mode');
      break;
    case 0x86: {
      const mode = r.u8('clear mode');
      out['PulseCounterClearMode'] = CLEAR_MODES[mode] ?? `unknown (${mode})`;
      break;
    }
    default:
      break; // 0x02, 0x04, 0x06: no parameters
  }
  return out;
}

function decodeUplink(bytes: Uint8Array, fPort: number): DecodeResult {
  if (fPort === REPORT_PORT) return { data: decodeReport(bytes) };
  if (fPort === CONFIG_PORT) return { data: decodeConfig(bytes, 'response') };
  return { errors: [`unknown fPort ${fPort}: the R718H reports on fPort 6 and answers commands on fPort 7`] };
}

function integerIn(data: JsonObject, key: string, min: number, max: number): number {
  const v = data[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new PayloadError(`${key} must be an integer ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function encodeDownlink(data: JsonObject): UplinkEncodeResult {
  const cmdName = data['Cmd'];
  if (typeof cmdName !== 'string' || !cmdName.endsWith('Req') || !COMMAND_IDS.has(cmdName.slice(0, -3))) {
    throw new PayloadError(`Cmd must be one of ${[...COMMAND_IDS.keys()].map((n) => `${n}Req`).join(', ')}; got ${JSON.stringify(cmdName)}`);
  }
  const device = data['Device'] ?? DEVICE_NAME;
  const type = device === DEVICE_NAME ? DEVICE_TYPE : device === DEVICE_NAME_H2 ? DEVICE_TYPE_H2 : undefined;
  if (type === undefined) throw new PayloadError(`Device must be "${DEVICE_NAME}" or "${DEVICE_NAME_H2}", got ${JSON.stringify(data['Device'])}`);
  const cmd = COMMAND_IDS.get(cmdName.slice(0, -3)) as number;
  const w = new ByteWriter().u8(cmd).u8(type);
  if (cmd === 0x01) {
    w.u16be(integerIn(data, 'MinTime', 0, 0xffff), 'MinTime');
    w.u16be(integerIn(data, 'MaxTime', 0, 0xffff), 'MaxTime');
    const change = data['BatteryChange'];
    if (typeof change !== 'number' || !Number.isFinite(change)) throw new PayloadError('BatteryChange must be a number of volts (0.1 V steps)');
    w.u8(Math.round(change * 10), 'BatteryChange × 10');
  } else if (cmd === 0x03) {
    const ms = integerIn(data, 'FilterTime', 0, 255 * 5);
    if (ms % 5 !== 0) throw new PayloadError(`FilterTime must be a multiple of 5 ms, got ${ms}`);
    w.u8(ms / 5);
  } else if (cmd === 0x05) {
    const mode = data['PulseCounterClearMode'];
    const byName = typeof mode === 'string' ? Object.entries(CLEAR_MODES).find(([, n]) => n.toLowerCase() === mode.toLowerCase()) : undefined;
    w.u8(byName ? Number(byName[0]) : integerIn(data, 'PulseCounterClearMode', 0, 1));
  }
  while (w.length < FRAME_LENGTH) w.u8(0);
  return { bytes: w.toArray(), fPort: CONFIG_PORT };
}

/** `litres_per_pulse` as a positive number (ChirpStack passes variables as strings). */
function litresPerPulse(variables: Readonly<Record<string, unknown>> | undefined): { value?: number; warning?: string } {
  const raw = variable(variables, 'litres_per_pulse');
  if (raw === undefined) return {};
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n === 'number' && Number.isFinite(n) && n > 0) return { value: n };
  return { warning: `no volume_m3: device variable litres_per_pulse is not a positive number (${JSON.stringify(raw)})` };
}

/** Volume represented by a pulse count; rounded so float noise never shows (1e-9 m³ = 1 µL). */
export function pulsesToVolume(pulses: number, lpp: number): number {
  return round((pulses * lpp) / 1000, 9);
}

/** Volt as a number and the low-battery flag: TTN's "3.2(low battery)" or a number. */
function voltage(volt: unknown): { volts: number; low: boolean } | undefined {
  if (typeof volt === 'number') return { volts: volt, low: false };
  if (typeof volt !== 'string' || !volt.endsWith(LOW_BATTERY_SUFFIX)) return undefined;
  const volts = Number(volt.slice(0, -LOW_BATTERY_SUFFIX.length));
  return Number.isFinite(volts) ? { volts, low: true } : undefined;
}

function normalizeUplink(data: JsonObject, variables: Readonly<Record<string, unknown>> | undefined): NormalizeResult {
  const battery = voltage(data['Volt']);
  if (!battery) return { readings: [] };
  // R718H: pulse_count; R718H2: one counter per channel (pulse_count_ch1, pulse_count_ch2).
  const counters: [string, unknown][] =
    data['PulseCount'] !== undefined ? [['', data['PulseCount']]] : [['_ch1', data['PulseCount1']], ['_ch2', data['PulseCount2']]];
  if (!counters.every(([, v]) => typeof v === 'number')) return { readings: [] };
  const values: Reading['values'] = { battery_v: battery.volts, alarm_low_battery: battery.low };
  const lpp = litresPerPulse(variables);
  for (const [suffix, count] of counters) {
    values[`pulse_count${suffix}`] = count as number;
    if (lpp.value !== undefined) values[`volume_m3${suffix}`] = pulsesToVolume(count as number, lpp.value);
  }
  return { readings: [{ values }], ...(lpp.warning ? { warnings: [lpp.warning] } : {}) };
}

/** A pulse count to send: pulse_count<suffix>, or volume_m3<suffix> with litres_per_pulse. */
function pulsesToSend(values: Record<string, unknown>, suffix: string, variables: Readonly<Record<string, unknown>> | undefined): number {
  let pulses = values[`pulse_count${suffix}`];
  const volume = values[`volume_m3${suffix}`];
  if (pulses === undefined && typeof volume === 'number') {
    const lpp = litresPerPulse(variables).value;
    if (lpp === undefined) throw new PayloadError(`encodeUplink: volume_m3${suffix} needs the device variable litres_per_pulse (or give pulse_count${suffix})`);
    pulses = Math.round((volume * 1000) / lpp);
  }
  const total = numberValue({ pulses }, 'pulses', 0);
  if (!Number.isInteger(total) || total < 0) throw new PayloadError(`pulse_count${suffix} must be a non-negative integer, got ${total}`);
  return total % 0x10000; // the device's 16-bit counter rolls over
}

/**
 * Device side: the fPort 6 status report. pulse_count wins over volume_m3 (which needs
 * litres_per_pulse); readings per channel (pulse_count_ch1/_ch2 or volume_m3_ch1/_ch2) make an
 * R718H2 report. Defaults: 0 pulses, battery 3.6 V, no low-battery flag.
 */
function encodeUplink(values: Record<string, unknown>, variables: Readonly<Record<string, unknown>> | undefined): UplinkEncodeResult {
  const twoCounters = ['pulse_count_ch1', 'pulse_count_ch2', 'volume_m3_ch1', 'volume_m3_ch2'].some((k) => values[k] !== undefined);
  const volts = numberValue(values, 'battery_v', 3.6);
  const battery = Math.round(volts * 10);
  if (battery < 0 || battery > 0x7f) throw new PayloadError(`battery_v out of range: ${volts} (allowed 0..12.7 V)`);
  const low = booleanValue(values, 'alarm_low_battery');
  const w = new ByteWriter()
    .u8(0x01)
    .u8(twoCounters ? DEVICE_TYPE_H2 : DEVICE_TYPE)
    .u8(0x01)
    .u8(battery | (low ? 0x80 : 0));
  if (twoCounters) w.u16be(pulsesToSend(values, '_ch1', variables), 'pulse_count_ch1').u16be(pulsesToSend(values, '_ch2', variables), 'pulse_count_ch2');
  else w.u16be(pulsesToSend(values, '', variables), 'pulse_count');
  while (w.length < FRAME_LENGTH) w.u8(0);
  return { bytes: w.toArray(), fPort: REPORT_PORT };
}

export const codec = defineCodec({
  id: 'netvox/r718h',
  name: 'Netvox R718H',
  category: 'water-meter',
  fPorts: [REPORT_PORT, CONFIG_PORT],
  decodeUplink: ({ bytes, fPort }) => decodeUplink(bytes, fPort),
  normalizeUplink: (data, { variables }) => normalizeUplink(data, variables),
  encodeUplink: (input) => encodeUplink(firstReading(input), input.variables),
  encodeDownlink: ({ data }) => encodeDownlink(data),
  decodeDownlink: ({ bytes, fPort }) => {
    if (fPort !== CONFIG_PORT) return { errors: [`unknown downlink fPort ${fPort}: R718H commands use fPort 7`] };
    return { data: decodeConfig(bytes, 'request') };
  },
});
