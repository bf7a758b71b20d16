import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScan, ScanError, tr005String } from './tr005.ts';

describe('parseScan', () => {
  it('reads TR005 with its extensions', () => {
    expect(parseScan('LW:D0:70B3D57ED0000001:A840410000000101:A8400001:O0123ABCD:SSN-42:C1A2B')).toEqual({
      format: 'tr005',
      joinEui: '70b3d57ed0000001',
      devEui: 'a840410000000101',
      profileId: 'A8400001',
      ownerToken: '0123ABCD',
      serialNumber: 'SN-42',
      checksum: '1A2B',
    });
  });

  it('reads bare EUIs and vendor stickers with labelled fields in any order', () => {
    expect(parseScan('A8-40-41-00-00-00-01-01')).toEqual({ format: 'eui', devEui: 'a840410000000101' });
    const dragino = parseScan('DEV EUI: A8 40 41 00 00 00 01 01\nAPP EUI: 70 B3 D5 7E D0 00 00 01\nAPP KEY: 2B 7E 15 16 28 AE D2 A6 AB F7 15 88 09 CF 4F 3C');
    expect(dragino).toMatchObject({ format: 'sticker', devEui: 'a840410000000101', joinEui: '70b3d57ed0000001', appKey: '2b7e151628aed2a6abf7158809cf4f3c' });
    expect(parseScan('AppEUI=70B3D57ED0000001 DevEUI=AC1F09FFFE000001')).toMatchObject({ devEui: 'ac1f09fffe000001', joinEui: '70b3d57ed0000001' });
  });

  it('says what is wrong in one line', () => {
    expect(() => parseScan('LW:D0:70B3D57ED00000:A840410000000101:A8400001')).toThrow(/JoinEUI \(third field\) must be 16 hex digits/);
    expect(() => parseScan('LW:D1:x')).toThrow(/schema "D1" is not supported/);
    expect(() => parseScan('hello')).toThrow(ScanError);
    expect(() => parseScan('x'.repeat(5000))).toThrow(/at most 2048/);
  });

  it('round-trips every generated TR005 string and never throws anything but ScanError (fuzz)', () => {
    const hexN = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    fc.assert(
      fc.property(hexN(16), hexN(16), hexN(8), (joinEui, devEui, profileId) => {
        const r = parseScan(tr005String({ joinEui, devEui, profileId }));
        return r.devEui === devEui && r.joinEui === joinEui && r.profileId === profileId.toUpperCase();
      }),
      { seed: 5, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          parseScan(s);
        } catch (err) {
          if (!(err instanceof ScanError)) throw err;
        }
      }),
      { seed: 6, numRuns: 2000 },
    );
  });
});
