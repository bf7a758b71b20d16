/**
 * The codec contract (LoRa Alliance TS013 shape, as used by The Things Stack and ChirpStack v4),
 * extended with the two functions lorawan-edge needs beyond TS013:
 *
 * - `normalizeUplink` turns a device's vendor-shaped `data` into the category's normalized
 *   readings (snake_case names with the unit in the name, see `readings.ts`);
 * - `encodeUplink` is the device side: readings in, payload bytes out. The simulator uses it to
 *   produce real payloads and the round-trip property tests use it to check the decoder.
 *
 * A codec is a pure function of its input: no I/O, no clock, no globals. Decoders never throw
 * (see `define.ts`, which enforces that for every registered codec).
 */

export type Category = 'bin-fill' | 'water-meter' | 'air-quality' | 'generic';

export const CATEGORIES: readonly Category[] = ['bin-fill', 'water-meter', 'air-quality', 'generic'];

/** Installation variables of one device, e.g. `{container_depth_mm: 1200, sensor_offset_mm: 50}`. */
export type Variables = Readonly<Record<string, unknown>>;

/** JSON-compatible value, what every decoder returns. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface UplinkInput {
  /** Payload bytes (FRMPayload, decrypted). Number arrays are accepted as TS013 prescribes. */
  bytes: Uint8Array | readonly number[];
  fPort: number;
  /** When the network received the uplink; history records are timed relative to it. */
  recvTime?: Date;
  variables?: Variables;
}

export interface DecodeResult {
  /** Absent (or undefined) when decoding failed; then `errors` says why. */
  data?: JsonObject;
  warnings?: string[];
  errors?: string[];
}

export interface DownlinkEncodeInput {
  data: JsonObject;
  variables?: Variables;
}

export interface DownlinkEncodeResult {
  bytes?: number[];
  fPort?: number;
  warnings?: string[];
  errors?: string[];
}

export interface DownlinkDecodeInput {
  bytes: Uint8Array | readonly number[];
  fPort: number;
  variables?: Variables;
}

/** A normalized value: numbers in the unit the name says, booleans for alarms, strings rarely. */
export type ReadingValue = number | boolean | string;

/**
 * One normalized reading: a set of values observed at one instant. `time` (RFC 3339, UTC) is set
 * when the payload says when the values were measured (history records); otherwise the reading
 * belongs to the uplink's receive time.
 */
export interface Reading {
  time?: string;
  values: Record<string, ReadingValue>;
}

export interface NormalizeContext {
  variables?: Variables;
  recvTime?: Date;
}

export interface NormalizeResult {
  readings: Reading[];
  warnings?: string[];
  errors?: string[];
}

export interface UplinkEncodeInput {
  /**
   * What the device measured, oldest first. Most devices send one reading per uplink: they use
   * the LAST (most recent) one, so a simulator can hand every codec the same history; devices
   * that carry history (hourly volumes) use as many of the trailing readings as they carry.
   */
  readings: Reading[];
  variables?: Variables;
  /** The instant the device sends (for payloads that carry their own timestamps). */
  time?: Date;
  /** Optional frame selector for devices with several uplink kinds; default: the periodic report. */
  fPort?: number;
}

export interface UplinkEncodeResult {
  bytes?: number[];
  fPort?: number;
  warnings?: string[];
  errors?: string[];
}

export interface Codec {
  /** `<vendor>/<codec-id>`, also the folder under `codecs/`. */
  readonly id: string;
  readonly name: string;
  readonly category: Category;
  /** Uplink ports the device uses; empty = any port (e.g. Cayenne LPP, Elsys). */
  readonly fPorts: readonly number[];
  decodeUplink(input: UplinkInput): DecodeResult;
  normalizeUplink(data: JsonObject, context?: NormalizeContext): NormalizeResult;
  encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult;
  encodeDownlink?(input: DownlinkEncodeInput): DownlinkEncodeResult;
  decodeDownlink?(input: DownlinkDecodeInput): DecodeResult;
}
