import { describe, expect, it } from 'vitest';
import { buildDataFrame } from '../../lorawan/data-frame.ts';
import { buildJoinRequest } from '../../lorawan/join.ts';
import { encodeMacCommands } from '../../lorawan/mac-commands.ts';
import { answerAsked } from './answer-asked.ts';

const keys = { nwkSKey: Buffer.alloc(16, 1), appSKey: Buffer.alloc(16, 2) };
const up = (o: { confirmed?: boolean; fOpts?: Buffer; fPort?: number; adrAckReq?: boolean }): Buffer =>
  buildDataFrame({ mType: o.confirmed ? 'ConfirmedDataUp' : 'UnconfirmedDataUp', devAddr: 0x26011bdb, fCnt: 7, fCtrl: { adr: true, adrAckReq: o.adrAckReq ?? false }, fOpts: o.fOpts ?? Buffer.alloc(0), fPort: o.fPort ?? 3, payload: Buffer.from([1, 2]) }, keys);

describe('answerAsked (from the bytes, before the MIC)', () => {
  it('asks: join-request, confirmed uplink, ADRACKReq, LinkCheckReq / DeviceTimeReq in FOpts (after another command too), FPort 0', () => {
    expect(answerAsked(buildJoinRequest({ joinEui: 'aa13693363343639', devEui: '3331383274356906', devNonce: 1 }, Buffer.alloc(16, 3)))).toBe(true);
    expect(answerAsked(up({ confirmed: true }))).toBe(true);
    expect(answerAsked(up({ adrAckReq: true }))).toBe(true);
    expect(answerAsked(up({ fOpts: encodeMacCommands('up', [{ name: 'LinkCheckReq' }]) }))).toBe(true);
    expect(answerAsked(up({ fOpts: encodeMacCommands('up', [{ name: 'DevStatusAns', battery: 200, margin: 5 }, { name: 'DeviceTimeReq' }]) }))).toBe(true);
    expect(answerAsked(up({ fPort: 0 }))).toBe(true);
  });

  it('does not ask: a plain unconfirmed uplink, one with answers only in FOpts, a downlink, junk', () => {
    expect(answerAsked(up({}))).toBe(false);
    expect(answerAsked(up({ fOpts: encodeMacCommands('up', [{ name: 'DevStatusAns', battery: 200, margin: 5 }]) }))).toBe(false);
    expect(answerAsked(buildDataFrame({ mType: 'ConfirmedDataDown', devAddr: 1, fCnt: 1, fCtrl: {}, fPort: 1, payload: Buffer.from([1]) }, keys))).toBe(false);
    expect(answerAsked(new Uint8Array([0x40, 1, 2]))).toBe(false);
    expect(answerAsked(new Uint8Array(0))).toBe(false);
  });
});
