/**
 * Data frames with keys: build (encrypt FRMPayload, then MIC over the ciphertext) and open
 * (verify MIC, decrypt, decode MAC commands) for LoRaWAN 1.0.x.
 *
 * - The 32-bit frame counter is the caller's: the device/simulator knows it, the network side
 *   reconstructs it with `fcnt.ts` before calling `openDataFrame`.
 * - FPort 0 means the FRMPayload holds MAC commands encrypted with the NwkSKey; other ports use
 *   the AppSKey. In 1.0.x FOpts travel in clear.
 * - `buildDataFrame` is the simulator's hot path: one output allocation, the payload is
 *   encrypted straight into it, the MIC costs one copy into a scratch buffer.
 */
import type { KeyInput } from './aes.ts';
import { requireUint } from './bytes.ts';
import { xorFrmPayloadKeystream, cryptFrmPayload } from './crypto.ts';
import { decodeMacCommands, type MacDecodeResult } from './mac-commands.ts';
import { dataMicView, verifyDataMic } from './mic.ts';
import {
  dataFrameLength,
  directionOf,
  mhdrFor,
  writeDataHeader,
  type DataFrame,
  type DataMType,
  type FCtrl,
} from './phy-payload.ts';

export interface SessionKeys {
  /** Network session key: MIC, and FRMPayload on FPort 0. */
  nwkSKey: KeyInput;
  /** Application session key: FRMPayload on FPort 1..255. Needed only for those. */
  appSKey?: KeyInput;
}

export interface DataFrameFields {
  mType: DataMType;
  /** Display-order DevAddr, e.g. 0x26011bda. */
  devAddr: number;
  /** Full 32-bit frame counter (FCntUp or FCntDown); its low 16 bits go on the air. */
  fCnt: number;
  /** Flags; FOptsLen follows from `fOpts`. */
  fCtrl?: Partial<Omit<FCtrl, 'fOptsLen'>>;
  /** Plaintext MAC commands for FOpts (at most 15 bytes), e.g. from `encodeMacCommands`. */
  fOpts?: Uint8Array;
  /** Omit (or null) for a frame without FPort; then `payload` must be empty. */
  fPort?: number | null;
  /** Plaintext FRMPayload. */
  payload?: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** Build and encrypt a complete PHYPayload. Throws RangeError on invalid fields or a missing key. */
export function buildDataFrame(fields: DataFrameFields, keys: SessionKeys): Buffer {
  const { mType, devAddr, fCnt } = fields;
  requireUint(fCnt, 0xffffffff, 'FCnt (32-bit)');
  const fOpts = fields.fOpts ?? EMPTY;
  const fPort = fields.fPort ?? null;
  const payload = fields.payload ?? EMPTY;
  if (fPort === null && payload.length > 0) throw new RangeError('FRMPayload needs an FPort');
  const direction = directionOf(mType);
  const len = dataFrameLength(fOpts.length, fPort, payload.length);
  const out = Buffer.allocUnsafe(len);
  const o = writeDataHeader(out, 0, mhdrFor(mType), direction, devAddr, fields.fCtrl ?? {}, fCnt & 0xffff, fOpts, fPort);
  if (payload.length > 0) {
    xorFrmPayloadKeystream(payloadKey(fPort, keys), direction, devAddr, fCnt, payload, out, o);
  }
  out.set(dataMicView(keys.nwkSKey, direction, devAddr, fCnt, out.subarray(0, len - 4)), len - 4);
  return out;
}

function payloadKey(fPort: number | null, keys: SessionKeys): KeyInput {
  if (fPort === 0) return keys.nwkSKey;
  if (!keys.appSKey) throw new RangeError(`FPort ${String(fPort)} payload needs the AppSKey`);
  return keys.appSKey;
}

export interface OpenedDataFrame {
  micValid: boolean;
  /** The 32-bit counter the MIC and keystream were computed with. */
  fCnt32: number;
  /** Decrypted FRMPayload (empty when there is none). */
  payload: Buffer;
  /**
   * MAC commands from FOpts or, on FPort 0, from the decrypted FRMPayload; null when the frame
   * carries none. Decoded in the frame's direction.
   */
  macCommands: MacDecodeResult | null;
}

/**
 * Verify and decrypt a parsed data frame with the 32-bit counter. Never throws for frames from
 * `parsePhyPayload`, except RangeError when an application payload arrives and no AppSKey was
 * given.
 */
export function openDataFrame(frame: DataFrame, keys: SessionKeys, fCnt32: number): OpenedDataFrame {
  const micValid = verifyDataMic(frame, keys.nwkSKey, fCnt32);
  return { micValid, fCnt32, ...decryptDataFrame(frame, keys, fCnt32) };
}

/**
 * `openDataFrame` without the MIC check, for a caller that has just verified the MIC with the
 * same NwkSKey and 32-bit counter (the network server does, to pick the session): a second
 * CMAC per uplink bought nothing there.
 */
export function decryptDataFrame(frame: DataFrame, keys: SessionKeys, fCnt32: number): Pick<OpenedDataFrame, 'payload' | 'macCommands'> {
  const payload =
    frame.frmPayload.length > 0
      ? cryptFrmPayload(payloadKey(frame.fPort, keys), frame.direction, frame.devAddr, fCnt32, frame.frmPayload)
      : Buffer.alloc(0);
  let macCommands: MacDecodeResult | null = null;
  if (frame.fOpts.length > 0) macCommands = decodeMacCommands(frame.direction, frame.fOpts);
  else if (frame.fPort === 0 && payload.length > 0) macCommands = decodeMacCommands(frame.direction, payload);
  return { payload, macCommands };
}

/** The MIC computed for a frame with a given 32-bit counter (for diagnostics such as wrong-counter checks). */
export function dataFrameMic(frame: DataFrame, nwkSKey: KeyInput, fCnt32: number): Buffer {
  return Buffer.from(dataMicView(nwkSKey, frame.direction, frame.devAddr, fCnt32, frame.phyPayload.subarray(0, frame.phyPayload.length - 4)));
}
