import { describe, expect, it } from 'vitest';
import { AdrEngine, adrDecision, nextNbTrans, packetLossPct, type AdrUplink } from './adr.ts';

const steady = (n: number, snr: number, start = 0): AdrUplink[] => Array.from({ length: n }, (_, i) => ({ fCnt: start + i, maxSnr: snr }));
const base = { dr: 0, txPowerIndex: 0, nbTrans: 1, historyLength: 20, installationMarginDb: 10 };

describe('ADR decision (ChirpStack default algorithm)', () => {
  it('changes nothing until the history is full', () => {
    expect(adrDecision({ ...base, history: steady(19, 10) })).toEqual({ dr: 0, txPowerIndex: 0, nbTrans: 1 });
  });

  it('raises the DR by floor(margin / 3) steps, then lowers the power at DR5', () => {
    // SF12 floor −20 dB, SNR 5: margin 5 + 20 − 10 = 15 → 5 steps → DR5
    expect(adrDecision({ ...base, history: steady(20, 5) })).toEqual({ dr: 5, txPowerIndex: 0, nbTrans: 1 });
    // SNR 11: margin 21 → 7 steps → DR5 and TX power index 2
    expect(adrDecision({ ...base, history: steady(20, 11) })).toEqual({ dr: 5, txPowerIndex: 2, nbTrans: 1 });
    // The max SNR counts, not the mean: one good uplink in 20 is enough (as ChirpStack does).
    expect(adrDecision({ ...base, history: [...steady(19, -20), { fCnt: 19, maxSnr: -4 }] }).dr).toBe(2);
    // Power index is capped at 7.
    expect(adrDecision({ ...base, dr: 5, history: steady(20, 40) }).txPowerIndex).toBe(7);
  });

  it('never lowers the DR; a negative margin raises the power', () => {
    // DR5 floor −7.5, SNR −10: margin −12.5 → −5 steps
    expect(adrDecision({ ...base, dr: 5, txPowerIndex: 3, history: steady(20, -10) })).toEqual({ dr: 5, txPowerIndex: 0, nbTrans: 1 });
  });

  it('sets NbTrans from the packet loss in the FCnt gaps', () => {
    const lossy = steady(20, 5).map((u, i) => ({ ...u, fCnt: i * 2 })); // 19 lost of 39
    expect(packetLossPct(lossy)).toBeCloseTo((19 * 100) / 39, 5);
    expect(adrDecision({ ...base, history: lossy }).nbTrans).toBe(3);
    expect(packetLossPct(steady(20, 0))).toBe(0);
    expect([nextNbTrans(1, 0), nextNbTrans(3, 0), nextNbTrans(1, 7), nextNbTrans(2, 20), nextNbTrans(1, 50)]).toEqual([1, 2, 1, 3, 3]);
  });
});

describe('AdrEngine', () => {
  it('asks once per full history, and takes the answer', () => {
    const e = new AdrEngine({ historyLength: 20, installationMarginDb: 10 });
    const reqs = [];
    for (let i = 0; i < 40; i++) reqs.push(e.observe('d1', { fCnt: i, maxSnr: 5, dr: i < 20 ? 0 : 5 }, 0x00ff));
    expect(reqs.filter(Boolean)).toEqual([{ name: 'LinkADRReq', dataRate: 5, txPower: 0, chMask: 0x00ff, chMaskCntl: 0, nbTrans: 1 }]);
    expect(reqs.findIndex(Boolean)).toBe(19);
    // At DR5 with SNR 5 (floor −7.5): margin 2.5 → no step, nothing more to ask.
    expect(e.answered('d1', { powerAck: true, dataRateAck: true, channelMaskAck: true })).toBe('accepted');
    expect(e.answered('d1', { powerAck: true, dataRateAck: true, channelMaskAck: true })).toBe('unexpected');
  });

  it('records a refusal and the device keeps its settings; ABP devices get the default channels only', () => {
    const e = new AdrEngine({ historyLength: 3, installationMarginDb: 10 });
    let req;
    for (let i = 0; i < 3; i++) req = e.observe('d2', { fCnt: i, maxSnr: 20, dr: 5 }, 0x0007);
    // DR5 floor −7.5, SNR 20: margin 17.5 → 5 steps of TX power
    expect(req).toMatchObject({ dataRate: 5, txPower: 5, chMask: 0x0007 });
    expect(e.answered('d2', { powerAck: false, dataRateAck: true, channelMaskAck: true })).toBe('refused');
    expect(e.state('d2')?.txPowerIndex).toBe(0);
    for (let i = 3; i < 6; i++) req = e.observe('d2', { fCnt: i, maxSnr: 20, dr: 5 }, 0x0007);
    expect(e.answered('d2', { powerAck: true, dataRateAck: true, channelMaskAck: true })).toBe('accepted');
    expect(e.state('d2')?.txPowerIndex).toBe(5);
    e.forget('d2');
    expect(e.state('d2')).toBeUndefined();
  });
});
