import { describe, expect, it } from 'vitest';
import { fromHex } from '../bytes.ts';
import { decodeUdpPacket } from './codec.ts';
import { buildPullData, buildPushData, buildTxAck, formatRxTime, formatStatTime, isAckFor, rxpkFor } from './gateway.ts';
import { formatLoraDatr, hzToMhz, mhzToHz, parseLoraDatr } from './radio.ts';
import { ackFor, buildPullResp, downlinkTxpk, txAckOutcome } from './server.ts';
import type { TxAck, UdpPacket } from './types.ts';

const GW = 'aa555a0000000000';
const JOIN_ACCEPT = fromHex('2023cf335489aae3183c0be0baa8dee5f3');

function decode(b: Uint8Array): UdpPacket {
  const r = decodeUdpPacket(b);
  if (!r.ok) throw new Error(r.error.message);
  return r.packet;
}

describe('server side', () => {
  it('acks PUSH_DATA and PULL_DATA with the same token and version, nothing else', () => {
    const push = decode(buildPushData({ gatewayEui: GW, token: 0x7a3c }).bytes);
    expect(ackFor(push)?.toString('hex')).toBe('027a3c01');
    const pull = decode(buildPullData({ gatewayEui: GW, token: 0x5b11, version: 1 }).bytes);
    expect(ackFor(pull)?.toString('hex')).toBe('015b1104');
    expect(ackFor({ type: 'PULL_ACK', version: 2, token: 1 })).toBeNull();
  });

  it('builds the reference RX1 join-accept PULL_RESP (+5 s after the join-request)', () => {
    const txpk = downlinkTxpk({
      phyPayload: JOIN_ACCEPT,
      timing: { type: 'after-uplink', uplinkTmst: 3512348611, delayUs: 5_000_000 },
      frequencyHz: 868_100_000,
      datr: 'SF7BW125',
      powerDbm: 14,
    });
    const { token, bytes } = buildPullResp(txpk, { token: 0xc309 });
    expect(token).toBe(0xc309);
    expect(bytes.subarray(0, 4).toString('hex')).toBe('02c30903');
    expect(bytes.subarray(4).toString('utf8')).toBe(
      '{"txpk":{"imme":false,"tmst":3517348611,"freq":868.1,"rfch":0,"powe":14,"modu":"LORA",' +
        '"datr":"SF7BW125","codr":"4/5","ipol":true,"size":17,"data":"ICPPM1SJquMYPAvguqje5fM="}}',
    );
  });

  it('wraps tmst at 2^32 and supports immediate, tmms and FSK downlinks', () => {
    const base = { phyPayload: JOIN_ACCEPT, frequencyHz: 869_525_000, datr: 'SF12BW125', powerDbm: 27 };
    expect(downlinkTxpk({ ...base, timing: { type: 'after-uplink', uplinkTmst: 0xffffff00, delayUs: 1_000_000 } }).tmst).toBe(1_000_000 - 0x100);
    expect(downlinkTxpk({ ...base, timing: { type: 'immediate' } })).toMatchObject({ imme: true, freq: 869.525 });
    expect(downlinkTxpk({ ...base, timing: { type: 'tmms', tmms: 1234 } })).toMatchObject({ imme: false, tmms: 1234 });
    expect(downlinkTxpk({ ...base, datr: 50_000, timing: { type: 'immediate' } })).toMatchObject({ modu: 'FSK', fdev: 25_000 });
  });

  it('reads TX_ACK outcomes', () => {
    const ack = (txpkAck: TxAck['txpkAck']): TxAck => ({ type: 'TX_ACK', version: 2, token: 1, gatewayEui: GW, txpkAck });
    expect(txAckOutcome(ack(null))).toEqual({ ok: true });
    expect(txAckOutcome(ack({ error: 'NONE' }))).toEqual({ ok: true });
    expect(txAckOutcome(ack({ error: 'TOO_LATE' }))).toEqual({ ok: false, error: 'TOO_LATE' });
    expect(txAckOutcome(ack({ warn: 'TX_POWER', value: 20 }))).toEqual({ ok: true, warning: { code: 'TX_POWER', value: 20 } });
  });
});

describe('gateway side', () => {
  it('reports a heard frame as the reference rxpk and matches the ack', () => {
    const frame = fromHex('40f17dbe4900020001954378762b11ff0d');
    const rxpk = rxpkFor({ phyPayload: frame, tmst: 3512348611, frequencyHz: 868_100_000, datr: 'SF7BW125', rssi: -43, lsnr: 9.5 });
    const { token, bytes } = buildPushData({ gatewayEui: GW, rxpk: [rxpk] });
    const p = decode(bytes);
    expect(p).toMatchObject({ type: 'PUSH_DATA', gatewayEui: GW, rxpk: [{ tmst: 3512348611, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', rssi: -43, lsnr: 9.5, size: 17 }] });
    expect(isAckFor('PUSH_DATA', token, decode(ackFor(p) as Buffer))).toBe(true);
    expect(isAckFor('PULL_DATA', token, decode(ackFor(p) as Buffer))).toBe(false);
    expect(isAckFor('PUSH_DATA', (token + 1) & 0xffff, decode(ackFor(p) as Buffer))).toBe(false);
  });

  it('builds TX_ACK in the empty and JSON forms', () => {
    expect(buildTxAck({ gatewayEui: GW, token: 0xc309 }).toString('hex')).toBe('02c30905aa555a0000000000');
    expect(buildTxAck({ gatewayEui: GW, token: 0xc309, error: 'TOO_LATE' }).subarray(12).toString()).toBe('{"txpk_ack":{"error":"TOO_LATE"}}');
    expect(buildTxAck({ gatewayEui: GW, token: 0xc309, form: 'json' }).subarray(12).toString()).toBe('{"txpk_ack":{"error":"NONE"}}');
  });

  it('formats forwarder times', () => {
    const d = new Date(Date.UTC(2013, 2, 31, 16, 21, 17, 528));
    expect(formatRxTime(d)).toBe('2013-03-31T16:21:17.528000Z');
    expect(formatStatTime(new Date(Date.UTC(2014, 0, 12, 8, 59, 28)))).toBe('2014-01-12 08:59:28 GMT');
  });
});

describe('radio metadata', () => {
  it('datr and frequency conversions', () => {
    expect(parseLoraDatr('SF12BW125')).toEqual({ spreadingFactor: 12, bandwidthHz: 125_000 });
    expect(parseLoraDatr('SF7BW500')).toEqual({ spreadingFactor: 7, bandwidthHz: 500_000 });
    expect(parseLoraDatr(50_000)).toBeUndefined();
    expect(parseLoraDatr('FSK')).toBeUndefined();
    // Parsed once, then shared (frozen, so no caller can change what the next one gets), also
    // past the bound of the memo.
    expect(parseLoraDatr('SF12BW125')).toBe(parseLoraDatr('SF12BW125'));
    expect(Object.isFrozen(parseLoraDatr('SF9BW125'))).toBe(true);
    for (let sf = 0; sf < 100; sf++) expect(parseLoraDatr(`SF${sf}BW250`)).toEqual({ spreadingFactor: sf, bandwidthHz: 250_000 });
    expect(parseLoraDatr('SF12BW125')).toEqual({ spreadingFactor: 12, bandwidthHz: 125_000 });
    expect(formatLoraDatr(9, 125_000)).toBe('SF9BW125');
    expect(mhzToHz(866.349812)).toBe(866_349_812);
    expect(mhzToHz(868.1)).toBe(868_100_000);
    expect(hzToMhz(869_525_000)).toBe(869.525);
  });
});
