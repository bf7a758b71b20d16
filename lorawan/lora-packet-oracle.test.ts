/**
 * lora-packet 0.9.3 as an independent test oracle (devDependency, test code only):
 * 10,000 random valid frames built by us are parsed, MIC-checked and decrypted by lora-packet,
 * and 10,000 frames built by lora-packet are parsed, MIC-checked and decrypted by us. Join
 * frames and session keys are cross-checked the same way.
 *
 * lora-packet is CommonJS; its types declare a default export that ESM does not see, so it is
 * loaded with require (see ../shared/reference/lorawan-mac-and-udp.md §5).
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type LoraPacketModule from 'lora-packet';
import { describe, expect, it } from 'vitest';
import { hex16, hex24, hex32, toHex } from './bytes.ts';
import { buildDataFrame, openDataFrame } from './data-frame.ts';
import { buildJoinAccept, buildJoinRequest, openJoinAccept, verifyJoinRequestMic } from './join.ts';
import { parsePhyPayload, type DataMType } from './phy-payload.ts';
import { deriveSessionKeys } from './session-keys.ts';
import { dataFrameFields, key16, u32 } from './testing/arbitraries.ts';

/** Under NodeNext the default type import is the whole CJS module; its API sits on `.default` in the types. */
type LoraPacketLib = (typeof LoraPacketModule)['default'];
const lp = createRequire(import.meta.url)('lora-packet') as LoraPacketLib;

const RUNS = 10_000;

/** lora-packet wants the upper 16 counter bits as 2 bytes in wire (LE) order. */
function fCntMsBytes(fCnt32: number): Buffer {
  return Buffer.from([(fCnt32 >>> 16) & 0xff, fCnt32 >>> 24]);
}

const LP_MTYPE: Record<DataMType, string> = {
  UnconfirmedDataUp: 'Unconfirmed Data Up',
  UnconfirmedDataDown: 'Unconfirmed Data Down',
  ConfirmedDataUp: 'Confirmed Data Up',
  ConfirmedDataDown: 'Confirmed Data Down',
};

describe('lora-packet oracle: data frames', () => {
  it(`${RUNS} frames built here parse, verify and decrypt in lora-packet`, () => {
    fc.assert(
      fc.property(dataFrameFields, key16, key16, (fields, nwk, app) => {
        const nwkSKey = Buffer.from(nwk);
        const appSKey = Buffer.from(app);
        const bytes = buildDataFrame(fields, { nwkSKey, appSKey });
        const pkt = lp.fromWire(bytes);
        expect(pkt.getMType()).toBe(LP_MTYPE[fields.mType]);
        expect(pkt.DevAddr?.toString('hex')).toBe(hex32(fields.devAddr));
        expect(pkt.getFCnt()).toBe(fields.fCnt & 0xffff);
        expect(pkt.getFPort()).toBe(fields.fPort ?? null);
        expect(pkt.FOpts?.toString('hex')).toBe(toHex(fields.fOpts ?? new Uint8Array(0)));
        expect(pkt.getFCtrlADR()).toBe(fields.fCtrl?.adr ?? false);
        expect(pkt.getFCtrlACK()).toBe(fields.fCtrl?.ack ?? false);
        const msb = fCntMsBytes(fields.fCnt);
        expect(lp.verifyMIC(pkt, nwkSKey, undefined, msb)).toBe(true);
        const payload = fields.payload ?? new Uint8Array(0);
        if (payload.length > 0) {
          expect(lp.decrypt(pkt, appSKey, nwkSKey, msb).toString('hex')).toBe(toHex(payload));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`${RUNS} frames built by lora-packet parse, verify and decrypt here`, () => {
    fc.assert(
      fc.property(dataFrameFields, key16, key16, (fields, nwk, app) => {
        const fPort = fields.fPort ?? 1; // lora-packet only MICs frames with an FPort
        const fOpts = fPort === 0 ? Buffer.alloc(0) : Buffer.from(fields.fOpts ?? []);
        const payload = Buffer.from(fields.payload ?? []);
        const nwkSKey = Buffer.from(nwk);
        const appSKey = Buffer.from(app);
        const devAddr = Buffer.alloc(4);
        devAddr.writeUInt32BE(fields.devAddr);
        const up = fields.mType.endsWith('Up');
        const pkt = lp.fromFields(
          {
            MType: LP_MTYPE[fields.mType],
            DevAddr: devAddr,
            FCnt: fields.fCnt & 0xffff,
            FCtrl: {
              ADR: fields.fCtrl?.adr ?? false,
              ADRACKReq: up ? (fields.fCtrl?.adrAckReq ?? false) : false,
              ACK: fields.fCtrl?.ack ?? false,
              FPending: (fields.fCtrl?.fPending ?? false) || (fields.fCtrl?.classB ?? false),
            },
            FOpts: fOpts,
            FPort: fPort,
            payload,
          },
          appSKey,
          nwkSKey,
          undefined,
          fCntMsBytes(fields.fCnt),
        );
        const wire = pkt.getPHYPayload();
        if (!wire) throw new Error('lora-packet built no PHYPayload');
        const r = parsePhyPayload(wire);
        if (!r.ok) throw new Error(r.error.message);
        if (r.frame.kind !== 'data') throw new Error(`not data: ${r.frame.kind}`);
        const f = r.frame;
        expect(f.mType).toBe(fields.mType);
        expect(f.devAddr).toBe(fields.devAddr);
        expect(f.fCnt16).toBe(fields.fCnt & 0xffff);
        expect(f.fPort).toBe(fPort);
        expect(toHex(f.fOpts)).toBe(fOpts.toString('hex'));
        const opened = openDataFrame(f, { nwkSKey, appSKey }, fields.fCnt);
        expect(opened.micValid).toBe(true);
        expect(opened.payload.toString('hex')).toBe(payload.toString('hex'));
        // and our own build of the same fields is byte-identical
        const ours = buildDataFrame({ ...fields, fPort, fOpts, payload, fCtrl: f.fCtrl }, { nwkSKey, appSKey });
        expect(ours.toString('hex')).toBe(wire.toString('hex'));
      }),
      { numRuns: RUNS },
    );
  });
});

const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'));

describe('lora-packet oracle: join frames and session keys', () => {
  it('join-requests built here verify in lora-packet and vice versa', () => {
    fc.assert(
      fc.property(eui, eui, fc.integer({ min: 0, max: 0xffff }), key16, (joinEui, devEui, devNonce, k) => {
        const appKey = Buffer.from(k);
        const ours = buildJoinRequest({ joinEui, devEui, devNonce }, appKey);
        const pkt = lp.fromWire(ours);
        expect(pkt.AppEUI?.toString('hex')).toBe(joinEui);
        expect(pkt.DevEUI?.toString('hex')).toBe(devEui);
        expect(pkt.DevNonce?.toString('hex')).toBe(hex16(devNonce));
        expect(lp.verifyMIC(pkt, undefined, appKey)).toBe(true);
        const theirs = lp.fromFields(
          { MType: 'Join Request', AppEUI: Buffer.from(joinEui, 'hex'), DevEUI: Buffer.from(devEui, 'hex'), DevNonce: Buffer.from(hex16(devNonce), 'hex') },
          undefined,
          undefined,
          appKey,
        );
        const wire = theirs.getPHYPayload() as Buffer;
        expect(wire.toString('hex')).toBe(ours.toString('hex'));
        const r = parsePhyPayload(wire);
        expect(r.ok && r.frame.kind === 'join-request' && verifyJoinRequestMic(r.frame, appKey)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('join-accepts built here decrypt and verify in lora-packet; session keys agree', () => {
    fc.assert(
      fc.property(
        fc.record({
          joinNonce: fc.integer({ min: 0, max: 0xffffff }),
          netId: fc.integer({ min: 0, max: 0xffffff }),
          devAddr: u32,
          rx1DrOffset: fc.integer({ min: 0, max: 7 }),
          rx2DataRate: fc.integer({ min: 0, max: 15 }),
          rxDelay: fc.integer({ min: 0, max: 15 }),
          devNonce: fc.integer({ min: 0, max: 0xffff }),
          cf: fc.boolean(),
        }),
        key16,
        (f, k) => {
          const appKey = Buffer.from(k);
          const cfList = f.cf ? { type: 'frequencies' as const, frequenciesHz: [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000] } : null;
          const wire = buildJoinAccept({ ...f, cfList }, appKey);
          const decrypted = lp.decryptJoinAccept(lp.fromWire(wire), appKey);
          const pkt = lp.fromWire(decrypted);
          expect(pkt.AppNonce?.toString('hex')).toBe(hex24(f.joinNonce));
          expect(pkt.NetID?.toString('hex')).toBe(hex24(f.netId));
          expect(pkt.DevAddr?.toString('hex')).toBe(hex32(f.devAddr));
          expect(pkt.getDLSettingsRxOneDRoffset()).toBe(f.rx1DrOffset);
          expect(pkt.getDLSettingsRxTwoDataRate()).toBe(f.rx2DataRate);
          expect(lp.verifyMIC(pkt, undefined, appKey)).toBe(true);
          const opened = openJoinAccept(wire, appKey);
          expect(opened.ok && opened.joinAccept.micValid).toBe(true);
          const theirs = lp.generateSessionKeys(appKey, Buffer.from(hex24(f.netId), 'hex'), Buffer.from(hex24(f.joinNonce), 'hex'), Buffer.from(hex16(f.devNonce), 'hex'));
          const ours = deriveSessionKeys(appKey, f);
          expect(ours.nwkSKey.toString('hex')).toBe(theirs.NwkSKey.toString('hex'));
          expect(ours.appSKey.toString('hex')).toBe(theirs.AppSKey.toString('hex'));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
