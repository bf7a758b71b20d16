/**
 * OTAA join frames for LoRaWAN 1.0.x.
 *
 * ```text
 * JoinRequest (23) = MHDR 0x00 | JoinEUI (8 LE) | DevEUI (8 LE) | DevNonce (2 LE) | MIC (4)
 * JoinAccept plain = JoinNonce (3 LE) | NetID (3 LE) | DevAddr (4 LE) | DLSettings | RxDelay | [CFList (16)]
 * MIC              = AES-CMAC(AppKey, MHDR | fields)[0..3]
 * JoinAccept wire  = MHDR 0x20 | AES-ECB-DECRYPT(AppKey, plain | MIC)      (17 or 33 bytes)
 * ```
 *
 * DLSettings: bit 7 RFU in 1.0 (OptNeg in 1.1) · bits 6:4 RX1DROffset · bits 3:0 RX2 DataRate.
 * RxDelay: bits 3:0, where 0 and 1 both mean 1 s. A join-accept with OptNeg set comes from a
 * LoRaWAN 1.1 network server; its MIC uses JSIntKey and is reported as unsupported.
 *
 * CFList (16 bytes, last byte CFListType): type 0 = five extra channel frequencies (3 LE bytes
 * each, 100 Hz units, 0 = none) as used by EU868-like regions; type 1 = channel masks (US915-like).
 */
import type { CipherKeyInput, KeyInput } from './aes.ts';
import {
  bytesEqual,
  readU16LE,
  readU24LE,
  readU32LE,
  requireUint,
  writeEuiLE,
  writeU16LE,
  writeU24LE,
  writeU32LE,
} from './bytes.ts';
import { decryptJoinAcceptBody, encryptJoinAcceptBody } from './crypto.ts';
import { computeJoinMic } from './mic.ts';
import { mhdrFor, parsePhyPayload, type JoinAcceptFrame } from './phy-payload.ts';

export { verifyJoinRequestMic } from './mic.ts';

// ── join-request ─────────────────────────────────────────────────────────────────────────────

export interface JoinRequestFields {
  /** Display order, 16 hex digits (AppEUI in 1.0.x). */
  joinEui: string;
  devEui: string;
  devNonce: number;
}

/** Build a join-request with its MIC. Throws RangeError on malformed EUIs or DevNonce. */
export function buildJoinRequest(fields: JoinRequestFields, appKey: KeyInput): Buffer {
  requireUint(fields.devNonce, 0xffff, 'DevNonce');
  const out = Buffer.allocUnsafe(23);
  out[0] = mhdrFor('JoinRequest');
  writeEuiLE(fields.joinEui, out, 1);
  writeEuiLE(fields.devEui, out, 9);
  writeU16LE(out, 17, fields.devNonce);
  computeJoinMic(appKey, out.subarray(0, 19)).copy(out, 19);
  return out;
}

// ── CFList ───────────────────────────────────────────────────────────────────────────────────

export type CfList =
  /** Five optional extra channels (Hz, 0 = not defined), e.g. EU868 channels 3..7. */
  | { type: 'frequencies'; frequenciesHz: number[] }
  /** Five 16-bit channel masks (ChMask0..4), e.g. US915 channels 0..79. */
  | { type: 'channel-mask'; channelMasks: number[] }
  /** Any other CFListType: the 16 raw bytes. */
  | { type: 'unknown'; cfListType: number; bytes: Buffer };

export function encodeCfList(cfList: CfList): Buffer {
  const out = Buffer.alloc(16);
  switch (cfList.type) {
    case 'frequencies': {
      if (cfList.frequenciesHz.length > 5) throw new RangeError(`CFList holds at most 5 frequencies, got ${cfList.frequenciesHz.length}`);
      cfList.frequenciesHz.forEach((hz, i) => {
        if (!Number.isInteger(hz) || hz < 0 || hz % 100 !== 0 || hz / 100 > 0xffffff) {
          throw new RangeError(`CFList frequency must be a multiple of 100 Hz below 1677721600, got ${String(hz)}`);
        }
        writeU24LE(out, i * 3, hz / 100);
      });
      out[15] = 0;
      return out;
    }
    case 'channel-mask': {
      if (cfList.channelMasks.length > 5) throw new RangeError(`CFList holds at most 5 channel masks, got ${cfList.channelMasks.length}`);
      cfList.channelMasks.forEach((m, i) => {
        requireUint(m, 0xffff, 'CFList channel mask');
        writeU16LE(out, i * 2, m);
      });
      out[15] = 1;
      return out;
    }
    case 'unknown':
      if (cfList.bytes.length !== 16) throw new RangeError(`raw CFList must be 16 bytes, got ${cfList.bytes.length}`);
      return Buffer.from(cfList.bytes);
  }
}

export function decodeCfList(bytes: Uint8Array): CfList {
  const type = bytes[15] ?? 0;
  if (type === 0) {
    return { type: 'frequencies', frequenciesHz: [0, 3, 6, 9, 12].map((o) => readU24LE(bytes, o) * 100) };
  }
  if (type === 1) return { type: 'channel-mask', channelMasks: [0, 2, 4, 6, 8].map((o) => readU16LE(bytes, o)) };
  return { type: 'unknown', cfListType: type, bytes: Buffer.from(bytes) };
}

// ── join-accept ──────────────────────────────────────────────────────────────────────────────

export interface JoinAcceptFields {
  /** AppNonce / JoinNonce, 24 bits. */
  joinNonce: number;
  /** 24-bit NetID. */
  netId: number;
  devAddr: number;
  /** 0..7 */
  rx1DrOffset: number;
  /** 0..15 */
  rx2DataRate: number;
  /** RxDelay field 0..15 (0 and 1 mean 1 s). */
  rxDelay: number;
  cfList?: CfList | null;
}

export interface JoinAccept extends JoinAcceptFields {
  cfList: CfList | null;
  /** The raw DLSettings byte. */
  dlSettings: number;
  /** The receive delay in seconds the device will use (RxDelay 0 means 1). */
  rxDelaySeconds: number;
  mic: Buffer;
  micValid: boolean;
  /** MHDR | fields | [CFList] | MIC, decrypted. */
  plaintext: Buffer;
}

export type JoinAcceptErrorCode = 'not-join-accept' | 'bad-length' | 'unsupported-major' | 'lorawan-1.1';

export type JoinAcceptResult =
  | { ok: true; joinAccept: JoinAccept }
  | { ok: false; error: { code: JoinAcceptErrorCode; message: string } };

/** The join-accept plaintext MHDR | fields | [CFList] | MIC. Throws RangeError on bad fields. */
export function joinAcceptPlaintext(fields: JoinAcceptFields, appKey: KeyInput): Buffer {
  requireUint(fields.joinNonce, 0xffffff, 'JoinNonce');
  requireUint(fields.netId, 0xffffff, 'NetID');
  requireUint(fields.devAddr, 0xffffffff, 'DevAddr');
  requireUint(fields.rx1DrOffset, 7, 'RX1DROffset');
  requireUint(fields.rx2DataRate, 15, 'RX2DataRate');
  requireUint(fields.rxDelay, 15, 'RxDelay');
  const cf = fields.cfList ? encodeCfList(fields.cfList) : null;
  const len = cf ? 33 : 17;
  const out = Buffer.alloc(len);
  out[0] = mhdrFor('JoinAccept');
  writeU24LE(out, 1, fields.joinNonce);
  writeU24LE(out, 4, fields.netId);
  writeU32LE(out, 7, fields.devAddr);
  out[11] = (fields.rx1DrOffset << 4) | fields.rx2DataRate;
  out[12] = fields.rxDelay;
  if (cf) cf.copy(out, 13);
  computeJoinMic(appKey, out.subarray(0, len - 4)).copy(out, len - 4);
  return out;
}

/** Server side: build the join-accept as it goes on the air (encrypted with the AppKey). */
export function buildJoinAccept(fields: JoinAcceptFields, appKey: CipherKeyInput): Buffer {
  return encryptJoinAcceptPlaintext(joinAcceptPlaintext(fields, appKey), appKey);
}

/** Encrypt a plaintext join-accept (MHDR | fields | MIC) into its wire form. */
export function encryptJoinAcceptPlaintext(plaintext: Uint8Array, appKey: CipherKeyInput): Buffer {
  if (plaintext.length !== 17 && plaintext.length !== 33) {
    throw new RangeError(`join-accept plaintext must be 17 or 33 bytes, got ${plaintext.length}`);
  }
  return Buffer.concat([Buffer.of(plaintext[0] as number), encryptJoinAcceptBody(appKey, plaintext.subarray(1))]);
}

/**
 * Device side (and the simulator): decrypt, parse and check a join-accept. Takes the raw
 * PHYPayload or a parsed frame. Never throws for any bytes.
 */
export function openJoinAccept(input: Uint8Array | JoinAcceptFrame, appKey: KeyInput): JoinAcceptResult {
  let frame: JoinAcceptFrame;
  if (input instanceof Uint8Array) {
    const parsed = parsePhyPayload(input);
    if (!parsed.ok) {
      const code = parsed.error.code === 'bad-length' || parsed.error.code === 'unsupported-major' ? parsed.error.code : 'not-join-accept';
      return { ok: false, error: { code, message: parsed.error.message } };
    }
    if (parsed.frame.kind !== 'join-accept') {
      return { ok: false, error: { code: 'not-join-accept', message: `expected a JoinAccept, got ${parsed.frame.mType}` } };
    }
    frame = parsed.frame;
  } else {
    frame = input;
    if (frame.encrypted.length !== 16 && frame.encrypted.length !== 32) {
      return { ok: false, error: { code: 'bad-length', message: `join-accept body must be 16 or 32 bytes, got ${frame.encrypted.length}` } };
    }
  }
  const body = decryptJoinAcceptBody(appKey, frame.encrypted);
  const plaintext = Buffer.concat([Buffer.of(frame.mhdr), body]);
  const len = plaintext.length;
  const dlSettings = plaintext[11] as number;
  if ((dlSettings & 0x80) !== 0) {
    return {
      ok: false,
      error: {
        code: 'lorawan-1.1',
        message: 'DLSettings OptNeg is set: a LoRaWAN 1.1 join-accept (MIC over JoinReqType|JoinEUI|DevNonce with JSIntKey) — not supported',
      },
    };
  }
  const mic = Buffer.from(plaintext.subarray(len - 4));
  const rxDelay = (plaintext[12] as number) & 0x0f;
  return {
    ok: true,
    joinAccept: {
      joinNonce: readU24LE(plaintext, 1),
      netId: readU24LE(plaintext, 4),
      devAddr: readU32LE(plaintext, 7),
      dlSettings,
      rx1DrOffset: (dlSettings >>> 4) & 0x07,
      rx2DataRate: dlSettings & 0x0f,
      rxDelay,
      rxDelaySeconds: Math.max(1, rxDelay),
      cfList: len === 33 ? decodeCfList(plaintext.subarray(13, 29)) : null,
      mic,
      micValid: bytesEqual(computeJoinMic(appKey, plaintext.subarray(0, len - 4)), mic),
      plaintext,
    },
  };
}
