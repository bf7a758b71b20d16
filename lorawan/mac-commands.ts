/**
 * MAC command codec (LoRaWAN 1.0.x, incl. 1.0.3 DeviceTime and Class-B commands).
 *
 * MAC commands travel in FOpts (clear in 1.0.x) or in a port-0 FRMPayload (after decryption).
 * The same CID means different commands per direction — 0x03 is LinkADRReq downlink and
 * LinkADRAns uplink — so every call names the direction. Lengths are implicit in the CID, so
 * the first unknown CID ends a block: decoding stops there and reports the CID and offset,
 * returning the commands decoded before it.
 *
 * Frequencies are in Hz (on the air: 3 bytes LE in units of 100 Hz). RFU bits are ignored on
 * decode and written as 0.
 */
import type { Direction } from './phy-payload.ts';
import { isUint, readU16LE, readU24LE, readU32LE, writeU16LE, writeU24LE, writeU32LE } from './bytes.ts';

type NoFields = Record<never, never>;

/** Fields of each command, by name. */
export interface MacCommandFields {
  // ── uplink (device → network server)
  LinkCheckReq: NoFields;
  LinkADRAns: { powerAck: boolean; dataRateAck: boolean; channelMaskAck: boolean };
  DutyCycleAns: NoFields;
  RXParamSetupAns: { rx1DrOffsetAck: boolean; rx2DataRateAck: boolean; channelAck: boolean };
  /** battery: 0 external power, 1..254 level, 255 unknown; margin: SNR in dB, -32..31. */
  DevStatusAns: { battery: number; margin: number };
  NewChannelAns: { dataRateRangeOk: boolean; channelFrequencyOk: boolean };
  RXTimingSetupAns: NoFields;
  TxParamSetupAns: NoFields;
  DlChannelAns: { uplinkFrequencyExists: boolean; channelFrequencyOk: boolean };
  DeviceTimeReq: NoFields;
  PingSlotInfoReq: { periodicity: number };
  PingSlotChannelAns: { dataRateOk: boolean; channelFrequencyOk: boolean };
  BeaconTimingReq: NoFields;
  BeaconFreqAns: { beaconFrequencyOk: boolean };
  // ── downlink (network server → device)
  /** margin: dB above the demodulation floor (0..254); gwCnt: gateways that heard the request. */
  LinkCheckAns: { margin: number; gwCnt: number };
  LinkADRReq: { dataRate: number; txPower: number; chMask: number; chMaskCntl: number; nbTrans: number };
  /** Aggregated duty cycle = 1 / 2^maxDutyCycle (0 = no limit beyond the regional one). */
  DutyCycleReq: { maxDutyCycle: number };
  RXParamSetupReq: { rx1DrOffset: number; rx2DataRate: number; frequencyHz: number };
  DevStatusReq: NoFields;
  /** frequencyHz 0 disables the channel. */
  NewChannelReq: { chIndex: number; frequencyHz: number; minDr: number; maxDr: number };
  /** delay in seconds; 0 means 1 s. */
  RXTimingSetupReq: { delay: number };
  /** maxEirpIndex: see `MAX_EIRP_DBM`. */
  TxParamSetupReq: { downlinkDwellTime: boolean; uplinkDwellTime: boolean; maxEirpIndex: number };
  DlChannelReq: { chIndex: number; frequencyHz: number };
  /** GPS time (seconds since 1980-01-06, no leap seconds) plus 1/256 s steps, at the end of the uplink. */
  DeviceTimeAns: { gpsSeconds: number; fractionalSeconds: number };
  PingSlotInfoAns: NoFields;
  PingSlotChannelReq: { frequencyHz: number; dataRate: number };
  /** Deprecated since 1.0.3 (devices use the DeviceTime + beacon search). */
  BeaconTimingAns: { delay: number; channel: number };
  BeaconFreqReq: { frequencyHz: number };
}

export type MacCommandName = keyof MacCommandFields;
export type MacCommand = { [N in MacCommandName]: { name: N } & MacCommandFields[N] }[MacCommandName];
export type MacCommandOf<N extends MacCommandName> = Extract<MacCommand, { name: N }>;

interface Spec {
  cid: number;
  name: MacCommandName;
  direction: Direction;
  /** Payload bytes after the CID. */
  length: number;
}

/** Every command this codec knows: CID, direction, payload length. */
export const MAC_COMMAND_SPECS: readonly Spec[] = [
  { cid: 0x02, name: 'LinkCheckReq', direction: 'up', length: 0 },
  { cid: 0x03, name: 'LinkADRAns', direction: 'up', length: 1 },
  { cid: 0x04, name: 'DutyCycleAns', direction: 'up', length: 0 },
  { cid: 0x05, name: 'RXParamSetupAns', direction: 'up', length: 1 },
  { cid: 0x06, name: 'DevStatusAns', direction: 'up', length: 2 },
  { cid: 0x07, name: 'NewChannelAns', direction: 'up', length: 1 },
  { cid: 0x08, name: 'RXTimingSetupAns', direction: 'up', length: 0 },
  { cid: 0x09, name: 'TxParamSetupAns', direction: 'up', length: 0 },
  { cid: 0x0a, name: 'DlChannelAns', direction: 'up', length: 1 },
  { cid: 0x0d, name: 'DeviceTimeReq', direction: 'up', length: 0 },
  { cid: 0x10, name: 'PingSlotInfoReq', direction: 'up', length: 1 },
  { cid: 0x11, name: 'PingSlotChannelAns', direction: 'up', length: 1 },
  { cid: 0x12, name: 'BeaconTimingReq', direction: 'up', length: 0 },
  { cid: 0x13, name: 'BeaconFreqAns', direction: 'up', length: 1 },
  { cid: 0x02, name: 'LinkCheckAns', direction: 'down', length: 2 },
  { cid: 0x03, name: 'LinkADRReq', direction: 'down', length: 4 },
  { cid: 0x04, name: 'DutyCycleReq', direction: 'down', length: 1 },
  { cid: 0x05, name: 'RXParamSetupReq', direction: 'down', length: 4 },
  { cid: 0x06, name: 'DevStatusReq', direction: 'down', length: 0 },
  { cid: 0x07, name: 'NewChannelReq', direction: 'down', length: 5 },
  { cid: 0x08, name: 'RXTimingSetupReq', direction: 'down', length: 1 },
  { cid: 0x09, name: 'TxParamSetupReq', direction: 'down', length: 1 },
  { cid: 0x0a, name: 'DlChannelReq', direction: 'down', length: 4 },
  { cid: 0x0d, name: 'DeviceTimeAns', direction: 'down', length: 5 },
  { cid: 0x10, name: 'PingSlotInfoAns', direction: 'down', length: 0 },
  { cid: 0x11, name: 'PingSlotChannelReq', direction: 'down', length: 4 },
  { cid: 0x12, name: 'BeaconTimingAns', direction: 'down', length: 3 },
  { cid: 0x13, name: 'BeaconFreqReq', direction: 'down', length: 3 },
];

const BY_CID: Record<Direction, Map<number, Spec>> = { up: new Map(), down: new Map() };
const BY_NAME = new Map<MacCommandName, Spec>();
for (const s of MAC_COMMAND_SPECS) {
  BY_CID[s.direction].set(s.cid, s);
  BY_NAME.set(s.name, s);
}

/** TxParamSetupReq MaxEIRP index → dBm. */
export const MAX_EIRP_DBM: readonly number[] = [8, 10, 12, 13, 14, 16, 18, 20, 21, 24, 26, 27, 29, 30, 33, 36];

export function macCommandSpec(name: MacCommandName): Spec {
  return BY_NAME.get(name) as Spec;
}

export function macCommandSpecByCid(direction: Direction, cid: number): Spec | undefined {
  return BY_CID[direction].get(cid);
}

// ── decode ───────────────────────────────────────────────────────────────────────────────────

export interface DecodedMacCommand {
  cid: number;
  /** Offset of the CID within the decoded block. */
  offset: number;
  /** The payload bytes after the CID (a view into the input). */
  payload: Uint8Array;
  command: MacCommand;
}

export type MacErrorCode = 'unknown-cid' | 'truncated';

export interface MacCommandError {
  code: MacErrorCode;
  message: string;
  cid: number;
  offset: number;
}

export type MacDecodeResult =
  | { ok: true; commands: DecodedMacCommand[] }
  | { ok: false; commands: DecodedMacCommand[]; error: MacCommandError };

const DIRECTION_WORD: Record<Direction, string> = { up: 'uplink', down: 'downlink' };

function cidHex(cid: number): string {
  return `0x${cid.toString(16).padStart(2, '0')}`;
}

/** Decode a MAC command block (FOpts, or a decrypted port-0 FRMPayload). Never throws. */
export function decodeMacCommands(direction: Direction, bytes: Uint8Array): MacDecodeResult {
  const commands: DecodedMacCommand[] = [];
  let o = 0;
  while (o < bytes.length) {
    const cid = bytes[o] as number;
    const spec = BY_CID[direction].get(cid);
    if (!spec) {
      const what = cid >= 0x80 ? ' (proprietary CID: length unknown)' : '';
      return {
        ok: false,
        commands,
        error: {
          code: 'unknown-cid',
          message: `unknown ${DIRECTION_WORD[direction]} MAC command CID ${cidHex(cid)} at offset ${o}${what}`,
          cid,
          offset: o,
        },
      };
    }
    const start = o + 1;
    const left = bytes.length - start;
    if (left < spec.length) {
      return {
        ok: false,
        commands,
        error: {
          code: 'truncated',
          message: `${spec.name} (CID ${cidHex(cid)}) at offset ${o} needs ${spec.length} payload byte(s), ${left} left`,
          cid,
          offset: o,
        },
      };
    }
    const payload = bytes.subarray(start, start + spec.length);
    commands.push({ cid, offset: o, payload, command: decodeFields(spec.name, payload) });
    o = start + spec.length;
  }
  return { ok: true, commands };
}

function bit(b: number, n: number): boolean {
  return ((b >>> n) & 1) === 1;
}

function decodeFields(name: MacCommandName, p: Uint8Array): MacCommand {
  const b0 = p[0] ?? 0;
  switch (name) {
    case 'LinkCheckReq':
    case 'DutyCycleAns':
    case 'RXTimingSetupAns':
    case 'TxParamSetupAns':
    case 'DeviceTimeReq':
    case 'BeaconTimingReq':
    case 'DevStatusReq':
    case 'PingSlotInfoAns':
      return { name };
    case 'LinkADRAns':
      return { name, powerAck: bit(b0, 2), dataRateAck: bit(b0, 1), channelMaskAck: bit(b0, 0) };
    case 'RXParamSetupAns':
      return { name, rx1DrOffsetAck: bit(b0, 2), rx2DataRateAck: bit(b0, 1), channelAck: bit(b0, 0) };
    case 'DevStatusAns': {
      const m = (p[1] ?? 0) & 0x3f;
      return { name, battery: b0, margin: m >= 32 ? m - 64 : m };
    }
    case 'NewChannelAns':
      return { name, dataRateRangeOk: bit(b0, 1), channelFrequencyOk: bit(b0, 0) };
    case 'DlChannelAns':
      return { name, uplinkFrequencyExists: bit(b0, 1), channelFrequencyOk: bit(b0, 0) };
    case 'PingSlotInfoReq':
      return { name, periodicity: b0 & 0x07 };
    case 'PingSlotChannelAns':
      return { name, dataRateOk: bit(b0, 1), channelFrequencyOk: bit(b0, 0) };
    case 'BeaconFreqAns':
      return { name, beaconFrequencyOk: bit(b0, 0) };
    case 'LinkCheckAns':
      return { name, margin: b0, gwCnt: p[1] ?? 0 };
    case 'LinkADRReq': {
      const r = p[3] ?? 0;
      return { name, dataRate: b0 >>> 4, txPower: b0 & 0x0f, chMask: readU16LE(p, 1), chMaskCntl: (r >>> 4) & 0x07, nbTrans: r & 0x0f };
    }
    case 'DutyCycleReq':
      return { name, maxDutyCycle: b0 & 0x0f };
    case 'RXParamSetupReq':
      return { name, rx1DrOffset: (b0 >>> 4) & 0x07, rx2DataRate: b0 & 0x0f, frequencyHz: readU24LE(p, 1) * 100 };
    case 'NewChannelReq': {
      const dr = p[4] ?? 0;
      return { name, chIndex: b0, frequencyHz: readU24LE(p, 1) * 100, minDr: dr & 0x0f, maxDr: dr >>> 4 };
    }
    case 'RXTimingSetupReq':
      return { name, delay: b0 & 0x0f };
    case 'TxParamSetupReq':
      return { name, downlinkDwellTime: bit(b0, 5), uplinkDwellTime: bit(b0, 4), maxEirpIndex: b0 & 0x0f };
    case 'DlChannelReq':
      return { name, chIndex: b0, frequencyHz: readU24LE(p, 1) * 100 };
    case 'DeviceTimeAns':
      return { name, gpsSeconds: readU32LE(p, 0), fractionalSeconds: p[4] ?? 0 };
    case 'PingSlotChannelReq':
      return { name, frequencyHz: readU24LE(p, 0) * 100, dataRate: (p[3] ?? 0) & 0x0f };
    case 'BeaconTimingAns':
      return { name, delay: readU16LE(p, 0), channel: p[2] ?? 0 };
    case 'BeaconFreqReq':
      return { name, frequencyHz: readU24LE(p, 0) * 100 };
  }
}

// ── encode ───────────────────────────────────────────────────────────────────────────────────

function need(ok: boolean, name: string, what: string): void {
  if (!ok) throw new RangeError(`${name}: ${what}`);
}

function uintField(name: string, field: string, v: number, max: number): number {
  need(isUint(v, max), name, `${field} must be an integer 0..${max}, got ${String(v)}`);
  return v;
}

function freqField(name: string, hz: number): number {
  need(isUint(hz, 0xffffff * 100) && hz % 100 === 0, name, `frequencyHz must be a multiple of 100 Hz up to 1677721500, got ${String(hz)}`);
  return hz / 100;
}

const flags = (...bits: boolean[]): number => bits.reduce((acc, b, i) => acc | ((b ? 1 : 0) << (bits.length - 1 - i)), 0);

/** Bytes one command takes (CID + payload). */
export function macCommandLength(command: MacCommand): number {
  return 1 + macCommandSpec(command.name).length;
}

/**
 * Encode commands for one direction. Throws RangeError when a command belongs to the other
 * direction or a field is out of range.
 */
export function encodeMacCommands(direction: Direction, commands: readonly MacCommand[]): Buffer {
  let total = 0;
  for (const c of commands) {
    const spec = BY_NAME.get(c.name);
    if (!spec) throw new RangeError(`unknown MAC command ${String(c.name)}`);
    if (spec.direction !== direction) {
      throw new RangeError(`${c.name} is a ${DIRECTION_WORD[spec.direction]} command, not ${DIRECTION_WORD[direction]}`);
    }
    total += 1 + spec.length;
  }
  const out = Buffer.alloc(total);
  let o = 0;
  for (const c of commands) {
    const spec = BY_NAME.get(c.name) as Spec;
    out[o] = spec.cid;
    encodeFields(c, out, o + 1);
    o += 1 + spec.length;
  }
  return out;
}

function encodeFields(c: MacCommand, out: Buffer, o: number): void {
  const n = c.name;
  switch (c.name) {
    case 'LinkCheckReq':
    case 'DutyCycleAns':
    case 'RXTimingSetupAns':
    case 'TxParamSetupAns':
    case 'DeviceTimeReq':
    case 'BeaconTimingReq':
    case 'DevStatusReq':
    case 'PingSlotInfoAns':
      return;
    case 'LinkADRAns':
      out[o] = flags(c.powerAck, c.dataRateAck, c.channelMaskAck);
      return;
    case 'RXParamSetupAns':
      out[o] = flags(c.rx1DrOffsetAck, c.rx2DataRateAck, c.channelAck);
      return;
    case 'DevStatusAns':
      out[o] = uintField(n, 'battery', c.battery, 255);
      need(Number.isInteger(c.margin) && c.margin >= -32 && c.margin <= 31, n, `margin must be an integer -32..31, got ${String(c.margin)}`);
      out[o + 1] = c.margin & 0x3f;
      return;
    case 'NewChannelAns':
      out[o] = flags(c.dataRateRangeOk, c.channelFrequencyOk);
      return;
    case 'DlChannelAns':
      out[o] = flags(c.uplinkFrequencyExists, c.channelFrequencyOk);
      return;
    case 'PingSlotInfoReq':
      out[o] = uintField(n, 'periodicity', c.periodicity, 7);
      return;
    case 'PingSlotChannelAns':
      out[o] = flags(c.dataRateOk, c.channelFrequencyOk);
      return;
    case 'BeaconFreqAns':
      out[o] = flags(c.beaconFrequencyOk);
      return;
    case 'LinkCheckAns':
      out[o] = uintField(n, 'margin', c.margin, 254);
      out[o + 1] = uintField(n, 'gwCnt', c.gwCnt, 255);
      return;
    case 'LinkADRReq':
      out[o] = (uintField(n, 'dataRate', c.dataRate, 15) << 4) | uintField(n, 'txPower', c.txPower, 15);
      writeU16LE(out, o + 1, uintField(n, 'chMask', c.chMask, 0xffff));
      out[o + 3] = (uintField(n, 'chMaskCntl', c.chMaskCntl, 7) << 4) | uintField(n, 'nbTrans', c.nbTrans, 15);
      return;
    case 'DutyCycleReq':
      out[o] = uintField(n, 'maxDutyCycle', c.maxDutyCycle, 15);
      return;
    case 'RXParamSetupReq':
      out[o] = (uintField(n, 'rx1DrOffset', c.rx1DrOffset, 7) << 4) | uintField(n, 'rx2DataRate', c.rx2DataRate, 15);
      writeU24LE(out, o + 1, freqField(n, c.frequencyHz));
      return;
    case 'NewChannelReq':
      out[o] = uintField(n, 'chIndex', c.chIndex, 255);
      writeU24LE(out, o + 1, freqField(n, c.frequencyHz));
      out[o + 4] = (uintField(n, 'maxDr', c.maxDr, 15) << 4) | uintField(n, 'minDr', c.minDr, 15);
      return;
    case 'RXTimingSetupReq':
      out[o] = uintField(n, 'delay', c.delay, 15);
      return;
    case 'TxParamSetupReq':
      out[o] = (flags(c.downlinkDwellTime, c.uplinkDwellTime) << 4) | uintField(n, 'maxEirpIndex', c.maxEirpIndex, 15);
      return;
    case 'DlChannelReq':
      out[o] = uintField(n, 'chIndex', c.chIndex, 255);
      writeU24LE(out, o + 1, freqField(n, c.frequencyHz));
      return;
    case 'DeviceTimeAns':
      writeU32LE(out, o, uintField(n, 'gpsSeconds', c.gpsSeconds, 0xffffffff));
      out[o + 4] = uintField(n, 'fractionalSeconds', c.fractionalSeconds, 255);
      return;
    case 'PingSlotChannelReq':
      writeU24LE(out, o, freqField(n, c.frequencyHz));
      out[o + 3] = uintField(n, 'dataRate', c.dataRate, 15);
      return;
    case 'BeaconTimingAns':
      writeU16LE(out, o, uintField(n, 'delay', c.delay, 0xffff));
      out[o + 2] = uintField(n, 'channel', c.channel, 255);
      return;
    case 'BeaconFreqReq':
      writeU24LE(out, o, freqField(n, c.frequencyHz));
      return;
  }
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────

/** Seconds between the Unix epoch and the GPS epoch (1980-01-06T00:00:00Z). */
export const GPS_EPOCH_UNIX_SECONDS = 315_964_800;
/** GPS − UTC since 2017-01-01. */
export const GPS_UTC_LEAP_SECONDS = 18;

/** DeviceTimeAns fields for a UTC instant (ms since the Unix epoch). */
export function deviceTimeFromUnixMs(unixMs: number, leapSeconds = GPS_UTC_LEAP_SECONDS): MacCommandFields['DeviceTimeAns'] {
  const gpsMs = unixMs - GPS_EPOCH_UNIX_SECONDS * 1000 + leapSeconds * 1000;
  const gpsSeconds = Math.floor(gpsMs / 1000);
  const fractionalSeconds = Math.min(255, Math.floor(((gpsMs - gpsSeconds * 1000) * 256) / 1000));
  return { gpsSeconds, fractionalSeconds };
}

/** The UTC instant (ms since the Unix epoch) a DeviceTimeAns stands for. */
export function unixMsFromDeviceTime(t: MacCommandFields['DeviceTimeAns'], leapSeconds = GPS_UTC_LEAP_SECONDS): number {
  return (t.gpsSeconds + GPS_EPOCH_UNIX_SECONDS - leapSeconds) * 1000 + (t.fractionalSeconds * 1000) / 256;
}
