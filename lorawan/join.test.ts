import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from './bytes.ts';
import {
  buildJoinAccept,
  buildJoinRequest,
  decodeCfList,
  encodeCfList,
  encryptJoinAcceptPlaintext,
  joinAcceptPlaintext,
  openJoinAccept,
  verifyJoinRequestMic,
} from './join.ts';
import { parsePhyPayload } from './phy-payload.ts';
import { deriveSessionKeys } from './session-keys.ts';
import { key16, u32 } from './testing/arbitraries.ts';

// The OTAA triple of the reference (§4.4).
const APP_KEY = fromHex('98929b92c49edba9676d646d3b612456');

describe('OTAA end to end (reference §4.4 triple)', () => {
  it('join-request → join-accept → session keys', () => {
    const req = buildJoinRequest({ joinEui: 'aa13693363343639', devEui: '3331383274356905', devNonce: 61838 }, APP_KEY);
    expect(req.toString('hex')).toBe('0039363463336913aa05693574323831338ef1c1d5ec6c');
    const parsed = parsePhyPayload(req);
    expect(parsed.ok && parsed.frame.kind === 'join-request' && verifyJoinRequestMic(parsed.frame, APP_KEY)).toBe(true);

    const accept = buildJoinAccept({ joinNonce: 0x376338, netId: 0xaabbcc, devAddr: 0x012ccde7, rx1DrOffset: 0, rx2DataRate: 0, rxDelay: 0 }, APP_KEY);
    expect(accept.toString('hex')).toBe('2088f36ae3b21314bc284e314e99257328');
    const opened = openJoinAccept(accept, APP_KEY);
    if (!opened.ok) throw new Error(opened.error.message);
    expect(opened.joinAccept).toMatchObject({ micValid: true, rxDelaySeconds: 1, cfList: null });

    const keys = deriveSessionKeys(APP_KEY, { joinNonce: opened.joinAccept.joinNonce, netId: opened.joinAccept.netId, devNonce: 61838 });
    expect(keys.nwkSKey.toString('hex')).toBe('4e3d6e6afbcc67af2ba3c8e8ec4acf4b');
    expect(keys.appSKey.toString('hex')).toBe('610897aa6f1460623443b527d3ac6a9d');
  });
});

describe('join-accept', () => {
  const cfListArb = fc.oneof(
    fc.constant(null),
    fc.array(fc.integer({ min: 0, max: 0xffffff }).map((x) => x * 100), { minLength: 5, maxLength: 5 }).map((frequenciesHz) => ({ type: 'frequencies' as const, frequenciesHz })),
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 5, maxLength: 5 }).map((channelMasks) => ({ type: 'channel-mask' as const, channelMasks })),
  );

  it('build → open round trip with and without CFList', () => {
    fc.assert(
      fc.property(
        fc.record({
          joinNonce: fc.integer({ min: 0, max: 0xffffff }),
          netId: fc.integer({ min: 0, max: 0xffffff }),
          devAddr: u32,
          rx1DrOffset: fc.integer({ min: 0, max: 7 }),
          rx2DataRate: fc.integer({ min: 0, max: 15 }),
          rxDelay: fc.integer({ min: 0, max: 15 }),
          cfList: cfListArb,
        }),
        key16,
        (fields, appKey) => {
          const wire = buildJoinAccept(fields, appKey);
          expect(wire.length).toBe(fields.cfList ? 33 : 17);
          const r = openJoinAccept(wire, appKey);
          if (!r.ok) throw new Error(r.error.message);
          expect(r.joinAccept).toMatchObject({ ...fields, micValid: true });
          expect(r.joinAccept.plaintext.equals(joinAcceptPlaintext(fields, appKey))).toBe(true);
          // a wrong key gives garbage and an invalid MIC (or a body that looks like 1.1)
          const wrongKey = Buffer.from(appKey);
          wrongKey[0] = (wrongKey[0] as number) ^ 1;
          const w = openJoinAccept(wire, wrongKey);
          expect(w.ok ? w.joinAccept.micValid : w.error.code).not.toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('encodes the EU868 CFList of channels 3..7', () => {
    const cf = encodeCfList({ type: 'frequencies', frequenciesHz: [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000] });
    expect(cf.toString('hex')).toBe('184f84e85684b85e84886684586e8400');
    expect(decodeCfList(cf)).toEqual({ type: 'frequencies', frequenciesHz: [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000] });
    expect(decodeCfList(fromHex('00'.repeat(15) + '07'))).toMatchObject({ type: 'unknown', cfListType: 7 });
    expect(() => encodeCfList({ type: 'frequencies', frequenciesHz: [867_100_050] })).toThrow(RangeError);
  });

  it('reports an OptNeg (LoRaWAN 1.1) join-accept as unsupported instead of a bad MIC', () => {
    const appKey = new Uint8Array(16);
    const plain = joinAcceptPlaintext({ joinNonce: 1, netId: 2, devAddr: 3, rx1DrOffset: 0, rx2DataRate: 0, rxDelay: 1 }, appKey);
    plain[11] = 0x80; // DLSettings.OptNeg
    const r = openJoinAccept(encryptJoinAcceptPlaintext(plain, appKey), appKey);
    expect(r).toMatchObject({ ok: false, error: { code: 'lorawan-1.1', message: expect.stringContaining('OptNeg') } });
  });

  it('never throws on arbitrary bytes and says why it refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), key16, (bytes, appKey) => {
        const r = openJoinAccept(bytes, appKey);
        if (!r.ok) expect(['not-join-accept', 'bad-length', 'unsupported-major', 'lorawan-1.1']).toContain(r.error.code);
      }),
      { numRuns: 10_000 },
    );
    expect(openJoinAccept(fromHex('40f17dbe4900020001954378762b11ff0d'), APP_KEY)).toMatchObject({ ok: false, error: { code: 'not-join-accept' } });
    expect(openJoinAccept(fromHex('20' + '00'.repeat(20)), APP_KEY)).toMatchObject({ ok: false, error: { code: 'bad-length' } });
  });
});
