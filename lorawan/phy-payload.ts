/**
 * PHYPayload parse and encode (LoRaWAN 1.0.x), without cryptography.
 *
 * ```text
 * PHYPayload = MHDR(1) | MACPayload | MIC(4)      join-accept: MHDR | encrypted(fields | MIC)
 * MHDR       = MType[7:5] | RFU[4:2] | Major[1:0]
 * FHDR       = DevAddr(4 LE) | FCtrl(1) | FCnt(2 LE, low 16 bits) | FOpts(0..15)
 * MACPayload = FHDR | [FPort(1) | FRMPayload]
 * ```
 *
 * Invariants:
 * - `parsePhyPayload` never throws, whatever the bytes: it returns `{ok: false, error}` with a
 *   stable `code` and a message naming what is wrong and where.
 * - Parsed frames hold **views** into the input (no copies); copy the input if you reuse it.
 * - `encodePhyPayload(parse(x).frame)` gives back `x` byte for byte (RFU bits included).
 * - FRMPayload, join-accept bodies and MICs are kept as they travel (encrypted); `data-frame.ts`
 *   and `join.ts` add the keys.
 */
import {
  asBuffer,
  readEuiLE,
  readU16LE,
  readU32LE,
  requireUint,
  writeEuiLE,
  writeU16LE,
  writeU32LE,
} from './bytes.ts';

export const MTYPES = [
  'JoinRequest',
  'JoinAccept',
  'UnconfirmedDataUp',
  'UnconfirmedDataDown',
  'ConfirmedDataUp',
  'ConfirmedDataDown',
  'RejoinRequest',
  'Proprietary',
] as const;
export type MType = (typeof MTYPES)[number];
export type DataMType = 'UnconfirmedDataUp' | 'UnconfirmedDataDown' | 'ConfirmedDataUp' | 'ConfirmedDataDown';
export type Direction = 'up' | 'down';

export const MTYPE_CODE: Readonly<Record<MType, number>> = {
  JoinRequest: 0,
  JoinAccept: 1,
  UnconfirmedDataUp: 2,
  UnconfirmedDataDown: 3,
  ConfirmedDataUp: 4,
  ConfirmedDataDown: 5,
  RejoinRequest: 6,
  Proprietary: 7,
};

export const DATA_FRAME_MIN_LENGTH = 12;
export const JOIN_REQUEST_LENGTH = 23;
export const JOIN_ACCEPT_LENGTHS: readonly number[] = [17, 33];

/** FCtrl; bit 4 means ClassB on uplinks and FPending on downlinks, bit 6 ADRACKReq on uplinks only. */
export interface FCtrl {
  adr: boolean;
  /** Uplink only (bit 6 is RFU on downlinks; a set RFU bit is kept in `rfu6`). */
  adrAckReq: boolean;
  ack: boolean;
  /** Downlink only. */
  fPending: boolean;
  /** Uplink only (RFU in 1.0.0/1.0.1). */
  classB: boolean;
  /** Downlink bit 6 (RFU): kept so parse → encode is lossless. */
  rfu6: boolean;
  fOptsLen: number;
}

interface FrameBase {
  mhdr: number;
  major: number;
  /** The whole PHYPayload this frame was parsed from (a view). */
  phyPayload: Uint8Array;
}

export interface DataFrame extends FrameBase {
  kind: 'data';
  mType: DataMType;
  direction: Direction;
  confirmed: boolean;
  /** Display-order value, e.g. 0x49be7df1 for wire bytes f1 7d be 49. */
  devAddr: number;
  fCtrl: FCtrl;
  /** Low 16 bits of the frame counter as sent; see `fcnt.ts` for the 32-bit value. */
  fCnt16: number;
  /** FOpts as on the wire (plaintext MAC commands in 1.0.x). */
  fOpts: Uint8Array;
  /** null when the frame carries no FPort byte. */
  fPort: number | null;
  /** Encrypted FRMPayload as on the wire (may be empty even with an FPort). */
  frmPayload: Uint8Array;
  mic: Uint8Array;
}

export interface JoinRequestFrame extends FrameBase {
  kind: 'join-request';
  mType: 'JoinRequest';
  /** Display order (AppEUI in 1.0.x). */
  joinEui: string;
  devEui: string;
  devNonce: number;
  mic: Uint8Array;
}

/** A join-accept as on the wire: its body is encrypted with the AppKey (see `join.ts`). */
export interface JoinAcceptFrame extends FrameBase {
  kind: 'join-accept';
  mType: 'JoinAccept';
  /** 16 or 32 encrypted bytes following the MHDR (fields | [CFList] | MIC). */
  encrypted: Uint8Array;
}

/** Proprietary frames: everything after the MHDR is the vendor's. */
export interface ProprietaryFrame extends FrameBase {
  kind: 'proprietary';
  mType: 'Proprietary';
  payload: Uint8Array;
}

export type PhyFrame = DataFrame | JoinRequestFrame | JoinAcceptFrame | ProprietaryFrame;

export type PhyErrorCode =
  | 'empty'
  | 'too-short'
  | 'bad-length'
  | 'unsupported-major'
  | 'unsupported-mtype'
  | 'bad-fopts-length'
  | 'fopts-with-port-0';

export interface PhyError {
  code: PhyErrorCode;
  message: string;
  /** Byte offset the problem was found at, when there is one. */
  offset?: number;
}

export type PhyParseResult = { ok: true; frame: PhyFrame } | { ok: false; error: PhyError };

function fail(code: PhyErrorCode, message: string, offset?: number): { ok: false; error: PhyError } {
  return { ok: false, error: offset === undefined ? { code, message } : { code, message, offset } };
}

/** Parse a PHYPayload. Never throws; see the module comment. */
export function parsePhyPayload(input: Uint8Array): PhyParseResult {
  const len = input.length;
  if (len === 0) return fail('empty', 'empty PHYPayload');
  const mhdr = input[0] as number;
  const mTypeCode = mhdr >>> 5;
  const major = mhdr & 0x03;
  if (major !== 0) return fail('unsupported-major', `MHDR major ${major} is not LoRaWAN R1 (0)`, 0);
  const mType = MTYPES[mTypeCode] as MType;
  switch (mType) {
    case 'JoinRequest':
      if (len !== JOIN_REQUEST_LENGTH) {
        return fail('bad-length', `join-request must be ${JOIN_REQUEST_LENGTH} bytes, got ${len}`);
      }
      return {
        ok: true,
        frame: {
          kind: 'join-request',
          mType,
          mhdr,
          major,
          phyPayload: input,
          joinEui: readEuiLE(input, 1),
          devEui: readEuiLE(input, 9),
          devNonce: readU16LE(input, 17),
          mic: input.subarray(19, 23),
        },
      };
    case 'JoinAccept':
      if (len !== 17 && len !== 33) return fail('bad-length', `join-accept must be 17 or 33 bytes, got ${len}`);
      return { ok: true, frame: { kind: 'join-accept', mType, mhdr, major, phyPayload: input, encrypted: input.subarray(1) } };
    case 'RejoinRequest':
      return fail('unsupported-mtype', 'MType 110 is RFU in LoRaWAN 1.0.x (RejoinRequest in 1.1, not supported)', 0);
    case 'Proprietary':
      return { ok: true, frame: { kind: 'proprietary', mType, mhdr, major, phyPayload: input, payload: input.subarray(1) } };
    default:
      return parseData(input, mhdr, mType);
  }
}

function parseData(input: Uint8Array, mhdr: number, mType: DataMType): PhyParseResult {
  const len = input.length;
  if (len < DATA_FRAME_MIN_LENGTH) {
    return fail('too-short', `data frame needs at least ${DATA_FRAME_MIN_LENGTH} bytes (MHDR, FHDR without FOpts, MIC), got ${len}`);
  }
  const direction: Direction = mType === 'UnconfirmedDataUp' || mType === 'ConfirmedDataUp' ? 'up' : 'down';
  const fctrl = input[5] as number;
  const fOptsLen = fctrl & 0x0f;
  const fOptsEnd = 8 + fOptsLen;
  const micStart = len - 4;
  if (fOptsEnd > micStart) {
    return fail('bad-fopts-length', `FOptsLen ${fOptsLen} needs ${fOptsEnd + 4} bytes, frame has ${len}`, 5);
  }
  let fPort: number | null = null;
  let frmStart = fOptsEnd;
  if (fOptsEnd < micStart) {
    fPort = input[fOptsEnd] as number;
    frmStart = fOptsEnd + 1;
    if (fPort === 0 && fOptsLen > 0) {
      return fail('fopts-with-port-0', `FPort 0 (MAC commands in FRMPayload) with ${fOptsLen} FOpts bytes`, fOptsEnd);
    }
  }
  const up = direction === 'up';
  return {
    ok: true,
    frame: {
      kind: 'data',
      mType,
      mhdr,
      major: 0,
      phyPayload: input,
      direction,
      confirmed: mType === 'ConfirmedDataUp' || mType === 'ConfirmedDataDown',
      devAddr: readU32LE(input, 1),
      fCtrl: {
        adr: (fctrl & 0x80) !== 0,
        adrAckReq: up && (fctrl & 0x40) !== 0,
        rfu6: !up && (fctrl & 0x40) !== 0,
        ack: (fctrl & 0x20) !== 0,
        classB: up && (fctrl & 0x10) !== 0,
        fPending: !up && (fctrl & 0x10) !== 0,
        fOptsLen,
      },
      fCnt16: readU16LE(input, 6),
      fOpts: input.subarray(8, fOptsEnd),
      fPort,
      frmPayload: input.subarray(frmStart, micStart),
      mic: input.subarray(micStart),
    },
  };
}

/** MHDR byte for an MType (Major 0, RFU 0). */
export function mhdrFor(mType: MType): number {
  return MTYPE_CODE[mType] << 5;
}

export function directionOf(mType: DataMType): Direction {
  return mType === 'UnconfirmedDataUp' || mType === 'ConfirmedDataUp' ? 'up' : 'down';
}

/** Encode FCtrl; throws RangeError when a flag does not exist in that direction. */
export function encodeFCtrl(direction: Direction, f: Partial<FCtrl>, fOptsLen: number): number {
  requireUint(fOptsLen, 15, 'FOptsLen');
  if (direction === 'up' && (f.fPending ?? false)) throw new RangeError('FPending is a downlink flag');
  if (direction === 'up' && (f.rfu6 ?? false)) throw new RangeError('FCtrl bit 6 on an uplink is ADRACKReq, not RFU');
  if (direction === 'down' && (f.adrAckReq ?? false)) throw new RangeError('ADRACKReq is an uplink flag');
  if (direction === 'down' && (f.classB ?? false)) throw new RangeError('ClassB is an uplink flag (bit 4 is FPending downlink)');
  return (
    ((f.adr ?? false) ? 0x80 : 0) |
    ((f.adrAckReq ?? false) || (f.rfu6 ?? false) ? 0x40 : 0) |
    ((f.ack ?? false) ? 0x20 : 0) |
    ((f.classB ?? false) || (f.fPending ?? false) ? 0x10 : 0) |
    fOptsLen
  );
}

/** Byte length of a data frame with these parts. */
export function dataFrameLength(fOptsLen: number, fPort: number | null, frmPayloadLen: number): number {
  return 8 + fOptsLen + (fPort === null ? 0 : 1 + frmPayloadLen) + 4;
}

/**
 * Write MHDR | FHDR | [FPort] into `out` at `offset` and return the offset of the FRMPayload.
 * Validates every field (RangeError); the caller writes FRMPayload and MIC.
 */
export function writeDataHeader(
  out: Uint8Array,
  offset: number,
  mhdr: number,
  direction: Direction,
  devAddr: number,
  fCtrl: Partial<FCtrl>,
  fCnt16: number,
  fOpts: Uint8Array,
  fPort: number | null,
): number {
  requireUint(devAddr, 0xffffffff, 'DevAddr');
  requireUint(fCnt16, 0xffff, 'FCnt (16-bit)');
  if (fOpts.length > 15) throw new RangeError(`FOpts is at most 15 bytes, got ${fOpts.length}`);
  if (fPort !== null) {
    requireUint(fPort, 255, 'FPort');
    if (fPort === 0 && fOpts.length > 0) throw new RangeError('FPort 0 forbids FOpts (MAC commands go in one place)');
  }
  out[offset] = mhdr;
  writeU32LE(out, offset + 1, devAddr);
  out[offset + 5] = encodeFCtrl(direction, fCtrl, fOpts.length);
  writeU16LE(out, offset + 6, fCnt16);
  out.set(fOpts, offset + 8);
  let o = offset + 8 + fOpts.length;
  if (fPort !== null) out[o++] = fPort;
  return o;
}

/**
 * Encode a frame back to bytes (no crypto: FRMPayload, join-accept body and MIC are taken as
 * given). Throws RangeError on fields out of range.
 */
export function encodePhyPayload(frame: PhyFrame): Buffer {
  requireUint(frame.mhdr, 0xff, 'MHDR');
  if (MTYPES[frame.mhdr >>> 5] !== frame.mType) {
    throw new RangeError(`MHDR 0x${frame.mhdr.toString(16)} does not encode MType ${frame.mType}`);
  }
  switch (frame.kind) {
    case 'data': {
      if (frame.mic.length !== 4) throw new RangeError(`MIC must be 4 bytes, got ${frame.mic.length}`);
      if (frame.fPort === null && frame.frmPayload.length > 0) throw new RangeError('FRMPayload without FPort');
      const out = Buffer.allocUnsafe(dataFrameLength(frame.fOpts.length, frame.fPort, frame.frmPayload.length));
      const o = writeDataHeader(out, 0, frame.mhdr, frame.direction, frame.devAddr, frame.fCtrl, frame.fCnt16, frame.fOpts, frame.fPort);
      out.set(frame.frmPayload, o);
      out.set(frame.mic, o + frame.frmPayload.length);
      return out;
    }
    case 'join-request': {
      requireUint(frame.devNonce, 0xffff, 'DevNonce');
      if (frame.mic.length !== 4) throw new RangeError(`MIC must be 4 bytes, got ${frame.mic.length}`);
      const out = Buffer.allocUnsafe(JOIN_REQUEST_LENGTH);
      out[0] = frame.mhdr;
      writeEuiLE(frame.joinEui, out, 1);
      writeEuiLE(frame.devEui, out, 9);
      writeU16LE(out, 17, frame.devNonce);
      out.set(frame.mic, 19);
      return out;
    }
    case 'join-accept': {
      if (frame.encrypted.length !== 16 && frame.encrypted.length !== 32) {
        throw new RangeError(`join-accept body must be 16 or 32 bytes, got ${frame.encrypted.length}`);
      }
      return Buffer.concat([Buffer.of(frame.mhdr), asBuffer(frame.encrypted)]);
    }
    case 'proprietary':
      return Buffer.concat([Buffer.of(frame.mhdr), asBuffer(frame.payload)]);
  }
}
