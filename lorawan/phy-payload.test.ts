import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from './bytes.ts';
import { buildDataFrame, openDataFrame } from './data-frame.ts';
import { encodePhyPayload, parsePhyPayload, type PhyErrorCode } from './phy-payload.ts';
import { dataFrameFields, key16 } from './testing/arbitraries.ts';

const CODES: PhyErrorCode[] = ['empty', 'too-short', 'bad-length', 'unsupported-major', 'unsupported-mtype', 'bad-fopts-length', 'fopts-with-port-0'];

function errorOf(hex: string): { code: string; message: string } {
  const r = parsePhyPayload(fromHex(hex));
  if (r.ok) throw new Error(`expected an error for ${hex}`);
  return r.error;
}

describe('parsePhyPayload on bad input', () => {
  it('never throws on arbitrary bytes; errors carry a known code and a message; good parses re-encode exactly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = parsePhyPayload(bytes);
        if (r.ok) {
          expect(Buffer.from(encodePhyPayload(r.frame)).equals(Buffer.from(bytes))).toBe(true);
        } else {
          expect(CODES).toContain(r.error.code);
          expect(r.error.message.length).toBeGreaterThan(5);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('never throws on data-frame-shaped bytes (valid MHDR, every FOptsLen, lengths around the limits)', () => {
    const mhdr = fc.constantFrom(0x40, 0x60, 0x80, 0xa0);
    fc.assert(
      fc.property(mhdr, fc.uint8Array({ minLength: 0, maxLength: 30 }), (m, rest) => {
        const bytes = Buffer.concat([Buffer.of(m), Buffer.from(rest)]);
        const r = parsePhyPayload(bytes);
        if (r.ok && r.frame.kind === 'data') {
          const f = r.frame;
          expect(8 + f.fCtrl.fOptsLen + 4).toBeLessThanOrEqual(bytes.length);
          expect(f.fOpts.length).toBe(f.fCtrl.fOptsLen);
          expect(encodePhyPayload(f).equals(bytes)).toBe(true);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('names what is wrong', () => {
    expect(errorOf('')).toMatchObject({ code: 'empty' });
    expect(errorOf('40f17dbe49000200')).toMatchObject({ code: 'too-short', message: expect.stringContaining('at least 12 bytes') });
    // FOptsLen 15 on a 13-byte frame: would swallow the MIC
    expect(errorOf('40f17dbe490f020001020304')).toMatchObject({ code: 'bad-fopts-length', message: expect.stringContaining('FOptsLen 15') });
    expect(errorOf('41f17dbe4900020001954378762b11ff0d')).toMatchObject({ code: 'unsupported-major', message: expect.stringContaining('major 1') });
    expect(errorOf('c0f17dbe4900020001954378762b11ff0d')).toMatchObject({ code: 'unsupported-mtype', message: expect.stringContaining('RejoinRequest') });
    // FOptsLen 1 with FPort 0
    expect(errorOf('40f17dbe49010200020000aabbccdd')).toMatchObject({ code: 'fopts-with-port-0' });
    expect(errorOf('00' + '00'.repeat(21))).toMatchObject({ code: 'bad-length', message: expect.stringContaining('join-request must be 23') });
    expect(errorOf('20' + '00'.repeat(17))).toMatchObject({ code: 'bad-length', message: expect.stringContaining('join-accept must be 17 or 33') });
  });

  it('accepts an FPort with an empty FRMPayload, and a frame with no FPort', () => {
    const ack = parsePhyPayload(fromHex('60f17dbe4920020001f9d65d27'));
    expect(ack.ok && ack.frame.kind === 'data' && ack.frame.fPort === 1 && ack.frame.frmPayload.length === 0).toBe(true);
    const bare = parsePhyPayload(fromHex('60f17dbe4920020001020304'));
    expect(bare.ok && bare.frame.kind === 'data' && bare.frame.fPort === null).toBe(true);
  });

  it('parses proprietary frames as opaque payload', () => {
    const r = parsePhyPayload(fromHex('e0010203'));
    expect(r).toMatchObject({ ok: true, frame: { kind: 'proprietary', mType: 'Proprietary' } });
    if (r.ok && r.frame.kind === 'proprietary') expect(Buffer.from(r.frame.payload).toString('hex')).toBe('010203');
  });
});

describe('build → parse round trip', () => {
  it('random valid frames come back with the same fields, MIC and plaintext', () => {
    fc.assert(
      fc.property(dataFrameFields, key16, key16, (fields, nwkSKey, appSKey) => {
        const bytes = buildDataFrame(fields, { nwkSKey, appSKey });
        const r = parsePhyPayload(bytes);
        if (!r.ok || r.frame.kind !== 'data') throw new Error('did not parse as data');
        const f = r.frame;
        expect(f.mType).toBe(fields.mType);
        expect(f.devAddr).toBe(fields.devAddr);
        expect(f.fCnt16).toBe(fields.fCnt & 0xffff);
        expect(f.fPort).toBe(fields.fPort ?? null);
        expect(Buffer.from(f.fOpts).equals(Buffer.from(fields.fOpts ?? []))).toBe(true);
        for (const flag of ['adr', 'adrAckReq', 'ack', 'fPending', 'classB'] as const) {
          expect(f.fCtrl[flag]).toBe(fields.fCtrl?.[flag] ?? false);
        }
        const opened = openDataFrame(f, { nwkSKey, appSKey }, fields.fCnt);
        expect(opened.micValid).toBe(true);
        expect(opened.payload.equals(Buffer.from(fields.payload ?? []))).toBe(true);
        expect(encodePhyPayload(f).equals(bytes)).toBe(true);
        // the wrong upper counter bits break the MIC
        expect(openDataFrame(f, { nwkSKey, appSKey }, (fields.fCnt + 0x10000) % 0x100000000).micValid).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('rejects invalid build input with RangeError', () => {
    const nwkSKey = new Uint8Array(16);
    const base = { mType: 'UnconfirmedDataUp' as const, devAddr: 1, fCnt: 1 };
    expect(() => buildDataFrame({ ...base, payload: Buffer.of(1) }, { nwkSKey })).toThrow(/FPort/);
    expect(() => buildDataFrame({ ...base, fPort: 0, fOpts: Buffer.of(2) }, { nwkSKey })).toThrow(/FPort 0/);
    expect(() => buildDataFrame({ ...base, fOpts: new Uint8Array(16) }, { nwkSKey })).toThrow(/15 bytes/);
    expect(() => buildDataFrame({ ...base, fCnt: 2 ** 32 }, { nwkSKey })).toThrow(/FCnt/);
    expect(() => buildDataFrame({ ...base, devAddr: -1 }, { nwkSKey })).toThrow(/DevAddr/);
    expect(() => buildDataFrame({ ...base, fPort: 1, payload: Buffer.of(1) }, { nwkSKey })).toThrow(/AppSKey/);
    expect(() => buildDataFrame({ ...base, fCtrl: { fPending: true } }, { nwkSKey })).toThrow(/downlink flag/);
    expect(() => buildDataFrame({ ...base, mType: 'UnconfirmedDataDown', fCtrl: { classB: true } }, { nwkSKey })).toThrow(/uplink flag/);
  });
});
