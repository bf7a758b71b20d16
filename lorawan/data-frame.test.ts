import { describe, expect, it } from 'vitest';
import { aesKey } from './aes.ts';
import { fromHex } from './bytes.ts';
import { buildDataFrame, decryptDataFrame, openDataFrame } from './data-frame.ts';
import { encodeMacCommands } from './mac-commands.ts';
import { parsePhyPayload, type DataFrame } from './phy-payload.ts';

const nwkSKey = fromHex('44024241ed4ce9a68c6a8bc055233fd3');
const appSKey = fromHex('ec925802ae430ca77fd3dd73cb2cc588');

function parseData(b: Uint8Array): DataFrame {
  const r = parsePhyPayload(b);
  if (!r.ok || r.frame.kind !== 'data') throw new Error('not a data frame');
  return r.frame;
}

describe('buildDataFrame / openDataFrame', () => {
  it('decryptDataFrame gives what openDataFrame gives, without the MIC check (the caller has made it)', () => {
    const frame = parseData(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x49be7df1, fCnt: 0x10002, fPort: 1, payload: Buffer.from('test') }, { nwkSKey, appSKey }));
    const opened = openDataFrame(frame, { nwkSKey, appSKey }, 0x10002);
    expect(opened.micValid).toBe(true);
    expect(decryptDataFrame(frame, { nwkSKey, appSKey }, 0x10002)).toEqual({ payload: opened.payload, macCommands: opened.macCommands });
    expect(opened.payload.toString()).toBe('test');
    const port0 = parseData(buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 1, fCnt: 3, fPort: 0, payload: encodeMacCommands('up', [{ name: 'LinkCheckReq' }]) }, { nwkSKey }));
    expect(decryptDataFrame(port0, { nwkSKey }, 3).macCommands?.commands.map((c) => c.command.name)).toEqual(['LinkCheckReq']);
  });

  it('reproduces the lp-unconfirmed-up-test vector and the 32-bit counter variant', () => {
    const fields = { mType: 'UnconfirmedDataUp' as const, devAddr: 0x49be7df1, fPort: 1, payload: Buffer.from('test') };
    expect(buildDataFrame({ ...fields, fCnt: 2 }, { nwkSKey, appSKey }).toString('hex')).toBe('40f17dbe4900020001954378762b11ff0d');
    expect(buildDataFrame({ ...fields, fCnt: 0x10002 }, { nwkSKey, appSKey }).toString('hex')).toBe('40f17dbe49000200011e3fcdcc57da3671');
  });

  it('puts MAC commands in FOpts (clear) or on port 0 (encrypted with the NwkSKey) and decodes them back', () => {
    const cmds = encodeMacCommands('down', [
      { name: 'LinkCheckAns', margin: 7, gwCnt: 1 },
      { name: 'DevStatusReq' },
    ]);
    const inFOpts = parseData(buildDataFrame({ mType: 'UnconfirmedDataDown', devAddr: 1, fCnt: 9, fOpts: cmds, fCtrl: { ack: true } }, { nwkSKey }));
    expect(inFOpts.fPort).toBeNull();
    const a = openDataFrame(inFOpts, { nwkSKey }, 9);
    expect(a.micValid).toBe(true);
    expect(a.macCommands?.commands.map((c) => c.command.name)).toEqual(['LinkCheckAns', 'DevStatusReq']);

    const onPort0 = parseData(buildDataFrame({ mType: 'ConfirmedDataDown', devAddr: 1, fCnt: 10, fPort: 0, payload: cmds }, { nwkSKey }));
    expect(Buffer.from(onPort0.frmPayload).equals(cmds)).toBe(false); // encrypted
    const b = openDataFrame(onPort0, { nwkSKey }, 10);
    expect(b.payload.equals(cmds)).toBe(true);
    expect(b.macCommands?.commands.map((c) => c.command.name)).toEqual(['LinkCheckAns', 'DevStatusReq']);
  });

  it('does not confuse keys or directions when prepared keys are reused across frames', () => {
    const nk = aesKey(nwkSKey);
    const ak = aesKey(appSKey);
    const other = aesKey(fromHex('00112233445566778899aabbccddeeff'));
    for (let i = 0; i < 50; i++) {
      const up = buildDataFrame({ mType: 'ConfirmedDataUp', devAddr: 7, fCnt: i, fPort: 3, payload: Buffer.of(i, i + 1) }, { nwkSKey: nk, appSKey: ak });
      const down = buildDataFrame({ mType: 'UnconfirmedDataDown', devAddr: 7, fCnt: i, fPort: 3, payload: Buffer.of(i) }, { nwkSKey: other, appSKey: ak });
      expect(openDataFrame(parseData(up), { nwkSKey, appSKey }, i)).toMatchObject({ micValid: true });
      expect(openDataFrame(parseData(down), { nwkSKey: other, appSKey: ak }, i).micValid).toBe(true);
      expect(openDataFrame(parseData(down), { nwkSKey: nk, appSKey: ak }, i).micValid).toBe(false);
    }
  });

  it('builds + encrypts + MICs 20,000 12-byte uplinks well within a second (simulator budget)', () => {
    const payload = Buffer.alloc(12, 0x5a);
    const keys = { nwkSKey, appSKey };
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26011bda, fCnt: i, fPort: 2, payload }, keys);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
