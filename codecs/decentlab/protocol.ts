/**
 * Decentlab's uplink protocol v2 and shared downlink command set, used by every Decentlab codec
 * (devices-and-payload-formats.md §7.3).
 *
 * Uplink, fPort 1 (or the port set with `set port`), all words u16 big-endian:
 *
 *   0       protocol version (2)
 *   1..2    device id
 *   3..4    sensor flags: one bit per sensor group, the groups follow in bit order
 *
 * The frame length is fully determined by the flags (5 + 2 × words): a frame of any other length
 * gets an error, with the header and the whole sensor groups before the cut kept in `data`. `data` follows the TTN reference codecs:
 * `{displayName, unit, value}` per quantity (no `unit` where the quantity has none) plus
 * `device_id` and `protocol_version`.
 *
 * Downlink, fPort 1, 6 bytes: command u16 BE, parameter u16 BE, CRC-16/MODBUS of those four
 * bytes written big-endian. Command names are Decentlab's (`set period + save`, `reset`, …).
 */
import type { DecodeResult, DownlinkEncodeResult, JsonObject, JsonValue } from '../api.ts';
import { ByteReader, ByteWriter, PayloadError, toHex } from '../bytes.ts';

export const PROTOCOL_VERSION = 2;
export const DEFAULT_FPORT = 1;

/** One u16 word of a sensor group, as the reference codec names and converts it. */
export interface Quantity {
  key: string;
  displayName: string;
  /** Absent where the reference codec gives none (counts). */
  unit?: string;
  convert: (raw: number) => number;
}

export interface SensorGroup {
  bit: number;
  name: string;
  quantities: readonly Quantity[];
}

export function hex16(v: number): string {
  return `0x${v.toString(16).padStart(4, '0')}`;
}

/** The uplink port: 1 unless the device was moved with `set port` (variable `uplink_fport`). */
export function uplinkPort(variables: Record<string, unknown> | undefined): number {
  const p = variables?.['uplink_fport'];
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 223 ? p : DEFAULT_FPORT;
}

/** `data[key].value` when it is a finite number. */
export function valueOf(data: JsonObject, key: string): number | undefined {
  const q: JsonValue | undefined = data[key];
  if (!q || typeof q !== 'object' || Array.isArray(q)) return undefined;
  const v = q['value'];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The uplink decoder of a device with these sensor groups. It throws PayloadError on a frame it
 * cannot decode (the codec guard turns that into `errors`); `model` names the device in messages.
 */
export function uplinkDecoder(model: string, groups: readonly SensorGroup[]): (bytes: Uint8Array, fPort: number, variables: Record<string, unknown>) => DecodeResult {
  const knownFlags = groups.reduce((m, g) => m | (1 << g.bit), 0);
  /** For each combination of known flags: the quantities the frame carries, in order, and its length. */
  const layouts = Array.from({ length: knownFlags + 1 }, (_, flags) => {
    const quantities = groups.filter((g) => flags & (1 << g.bit)).flatMap((g) => g.quantities);
    return { quantities, expected: 5 + 2 * quantities.length };
  });
  return (bytes, fPort, variables) => {
    const port = uplinkPort(variables);
    if (fPort !== port) {
      return { errors: [`unknown fPort ${fPort}: ${model} reports on fPort ${port} (variable uplink_fport if the device was reconfigured)`] };
    }
    const r = new ByteReader(bytes);
    const version = r.u8('protocol version');
    if (version !== PROTOCOL_VERSION) {
      throw new PayloadError(`unsupported protocol version ${version} at offset 0 (expected ${PROTOCOL_VERSION})`);
    }
    const deviceId = r.u16be('device id');
    const flags = r.u16be('sensor flags');
    if (flags & ~knownFlags) {
      throw new PayloadError(`unknown sensor flags ${hex16(flags & ~knownFlags)} in ${hex16(flags)} at offset 3: frame layout unknown`);
    }
    const layout = layouts[flags] as (typeof layouts)[number];
    const data: JsonObject = { protocol_version: version, device_id: deviceId };
    // A frame of another length than its flags announce: the whole groups that are there stay
    // (a group cut short is left out), with the error, so nothing is hidden and nothing invented.
    let quantities = layout.quantities;
    let error: string | undefined;
    if (bytes.length !== layout.expected) {
      const kind = bytes.length < layout.expected ? 'truncated' : 'over-long';
      error = `${kind} payload: sensor flags ${hex16(flags)} need ${layout.expected} bytes, got ${bytes.length}`;
      let words = Math.floor((bytes.length - 5) / 2);
      quantities = [];
      for (const g of groups.filter((x) => flags & (1 << x.bit))) {
        if (g.quantities.length > words) break;
        quantities = [...quantities, ...g.quantities];
        words -= g.quantities.length;
      }
    }
    for (const q of quantities) {
      const value = q.convert(r.u16be(q.key));
      data[q.key] = q.unit === undefined ? { displayName: q.displayName, value } : { displayName: q.displayName, unit: q.unit, value };
    }
    if (error) return { data, errors: [error] };
    return quantities.length ? { data } : { data, warnings: [`sensor flags 0x0000: the frame carries no measurements`] };
  };
}

/** An uplink frame: header, then the words in flag-bit order. */
export function encodeFrame(deviceId: number, flags: number, words: readonly number[]): number[] {
  const w = new ByteWriter().u8(PROTOCOL_VERSION).u16be(deviceId, 'variable device_id').u16be(flags);
  for (const x of words) w.u16be(x);
  return w.toArray();
}

// ---------------------------------------------------------------------------------------------
// Downlink (Decentlab's dl-downlink-codec command set, shared by all its devices)

interface Command {
  name: string;
  /** Commands without a parameter send 0x0000 in its place. */
  noParam?: true;
}

/** Decentlab's shared downlink command set (dl-downlink-codec), keyed by command code. */
const COMMANDS: ReadonlyMap<number, Command> = (() => {
  const m = new Map<number, Command>();
  const withSave = (code: number, name: string, noParam?: true): void => {
    m.set(code, { name, ...(noParam ? { noParam } : {}) });
    m.set(code + 1, { name: `${name} + save`, ...(noParam ? { noParam } : {}) });
  };
  withSave(0x01, 'set period');
  withSave(0x03, 'set dr');
  withSave(0x05, 'set adr on', true);
  withSave(0x07, 'set adr off', true);
  withSave(0x09, 'set dr_min');
  withSave(0x0b, 'set dr_max');
  withSave(0x0d, 'set pwridx_min');
  withSave(0x0f, 'set pwridx_max');
  withSave(0x11, 'set send_period');
  withSave(0x13, 'set join_period');
  withSave(0x15, 'set pwridx');
  withSave(0x17, 'set linkcheck_period');
  withSave(0x19, 'set linkcheck_tolerance');
  withSave(0x1b, 'set linkcheck_limit');
  withSave(0x1d, 'set port');
  for (let i = 0; i < 16; i++) {
    m.set(0x20 + i, { name: `set param ${i}` });
    m.set(0x30 + i, { name: `set param ${i} + save` });
  }
  for (let i = 0; i < 10; i++) {
    m.set(0x50 + i, { name: `set sensor_period ${i}` });
    m.set(0x60 + i, { name: `set sensor_period ${i} + save` });
  }
  m.set(0xfefe, { name: 'reset', noParam: true });
  m.set(0xfef0, { name: 'factory reset', noParam: true });
  m.set(0xfef1, { name: 'sleep', noParam: true });
  return m;
})();

const COMMAND_BY_NAME = new Map([...COMMANDS].map(([code, c]) => [c.name, code]));

/** CRC-16/MODBUS: init 0xFFFF, reflected polynomial 0xA001, no final XOR. */
export function crc16Modbus(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export function encodeDownlink(data: JsonObject): DownlinkEncodeResult {
  const name = data['command'];
  const code = typeof name === 'string' ? COMMAND_BY_NAME.get(name) : undefined;
  if (code === undefined) {
    return { errors: [`unknown command ${JSON.stringify(name)}: expected one of ${[...COMMAND_BY_NAME.keys()].join(', ')}`] };
  }
  const command = COMMANDS.get(code) as Command;
  const warnings: string[] = [];
  let parameter = 0;
  if (command.noParam) {
    if (data['parameter'] !== undefined) warnings.push(`command "${command.name}" takes no parameter; ignored`);
  } else {
    const p = data['parameter'];
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 0xffff) {
      return { errors: [`command "${command.name}" needs an integer parameter 0..65535, got ${JSON.stringify(p)}`] };
    }
    parameter = p;
  }
  const body = new ByteWriter().u16be(code).u16be(parameter).toArray();
  const bytes = new ByteWriter().bytes(body).u16be(crc16Modbus(body)).toArray();
  return warnings.length ? { bytes, fPort: DEFAULT_FPORT, warnings } : { bytes, fPort: DEFAULT_FPORT };
}

export function decodeDownlink(bytes: Uint8Array, fPort: number, model: string): DecodeResult {
  if (fPort !== DEFAULT_FPORT) return { errors: [`invalid fPort ${fPort}: ${model} downlinks use fPort ${DEFAULT_FPORT}`] };
  if (bytes.length !== 6) return { errors: [`invalid downlink length ${bytes.length}: expected 6 bytes (command, parameter, CRC)`] };
  const r = new ByteReader(bytes);
  const code = r.u16be('command');
  const parameter = r.u16be('parameter');
  const crc = r.u16be('CRC');
  const command = COMMANDS.get(code);
  if (!command) return { errors: [`unknown command ${hex16(code)} at offset 0`] };
  const want = crc16Modbus(bytes.subarray(0, 4));
  if (crc !== want) return { errors: [`invalid CRC ${hex16(crc)} (expected ${hex16(want)} for ${toHex(bytes.subarray(0, 4))})`] };
  if (command.noParam) {
    const data: JsonObject = { command: command.name };
    return parameter === 0 ? { data } : { data, warnings: [`command "${command.name}" takes no parameter but carries ${parameter}`] };
  }
  return { data: { command: command.name, parameter } };
}

