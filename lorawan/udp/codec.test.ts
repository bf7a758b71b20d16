import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../bytes.ts';
import { decodeUdpPacket, encodeUdpPacket } from './codec.ts';
import type { PushData, Rxpk, Stat, Txpk, UdpErrorCode, UdpPacket } from './types.ts';

// ── reference examples (lorawan-mac-and-udp.md §2.7) ────────────────────────────────────────

const PUSH_JSON =
  '{"rxpk":[{"jver":1,"tmst":3512348611,"time":"2026-05-04T10:21:17.528002Z","tmms":1461925295528,' +
  '"chan":0,"rfch":0,"freq":868.1,"mid":0,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/5",' +
  '"rssis":-44,"rssi":-43,"lsnr":9.5,"foff":-1203,"size":17,"data":"QPF9vkkAAgABlUN4disR/w0="}]}';
const PULL_RESP_JSON =
  '{"txpk":{"imme":false,"tmst":3517348611,"freq":868.1,"rfch":0,"powe":14,"modu":"LORA",' +
  '"datr":"SF7BW125","codr":"4/5","ipol":true,"size":17,"data":"ICPPM1SJquMYPAvguqje5fM="}}';

function datagram(hexHeader: string, json = ''): Buffer {
  return Buffer.concat([fromHex(hexHeader.replace(/ /g, '')), Buffer.from(json, 'utf8')]);
}

function decodeOk(b: Uint8Array): UdpPacket {
  const r = decodeUdpPacket(b);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.packet;
}

function decodeErr(b: Uint8Array): { code: UdpErrorCode; message: string; field?: string } {
  const r = decodeUdpPacket(b);
  if (r.ok) throw new Error('expected an error');
  return r.error;
}

describe('reference datagrams decode to the expected fields', () => {
  it('PUSH_DATA with one sx1302 rxpk', () => {
    const p = decodeOk(datagram('02 7a3c 00 aa555a0000000000', PUSH_JSON));
    expect(p).toMatchObject({ type: 'PUSH_DATA', version: 2, token: 0x7a3c, gatewayEui: 'aa555a0000000000', stat: null, rejected: [] });
    if (p.type !== 'PUSH_DATA') throw new Error('type');
    expect(p.rxpk).toHaveLength(1);
    const r = p.rxpk[0] as Rxpk;
    expect(r).toMatchObject({
      jver: 1,
      tmst: 3512348611,
      time: '2026-05-04T10:21:17.528002Z',
      tmms: 1461925295528,
      chan: 0,
      rfch: 0,
      freq: 868.1,
      mid: 0,
      stat: 1,
      modu: 'LORA',
      datr: 'SF7BW125',
      codr: '4/5',
      rssis: -44,
      rssi: -43,
      lsnr: 9.5,
      foff: -1203,
      size: 17,
    });
    expect(Buffer.from(r.data).toString('hex')).toBe('40f17dbe4900020001954378762b11ff0d');
    // and encodes back to the same bytes, field order included
    expect(encodeUdpPacket(p).equals(datagram('02 7a3c 00 aa555a0000000000', PUSH_JSON))).toBe(true);
  });

  it('PUSH_ACK, PULL_DATA, PULL_ACK', () => {
    expect(decodeOk(datagram('02 7a3c 01'))).toEqual({ type: 'PUSH_ACK', version: 2, token: 0x7a3c });
    expect(decodeOk(datagram('02 5b11 02 aa555a0000000000'))).toEqual({ type: 'PULL_DATA', version: 2, token: 0x5b11, gatewayEui: 'aa555a0000000000' });
    expect(decodeOk(datagram('02 5b11 04'))).toEqual({ type: 'PULL_ACK', version: 2, token: 0x5b11 });
  });

  it('PULL_RESP with a join-accept txpk (RX1, +5 s)', () => {
    const p = decodeOk(datagram('02 c309 03', PULL_RESP_JSON));
    if (p.type !== 'PULL_RESP') throw new Error('type');
    expect(p.token).toBe(0xc309);
    expect(p.txpk).toMatchObject({ imme: false, tmst: 3517348611, freq: 868.1, rfch: 0, powe: 14, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', ipol: true, size: 17 });
    expect(Buffer.from(p.txpk.data).toString('hex')).toBe('2023cf335489aae3183c0be0baa8dee5f3');
    // the encoder writes the same JSON back
    expect(encodeUdpPacket(p).equals(datagram('02 c309 03', PULL_RESP_JSON))).toBe(true);
  });

  it('TX_ACK in all three forms', () => {
    expect(decodeOk(datagram('02 c309 05 aa555a0000000000'))).toEqual({ type: 'TX_ACK', version: 2, token: 0xc309, gatewayEui: 'aa555a0000000000', txpkAck: null });
    expect(decodeOk(datagram('02 c309 05 aa555a0000000000', '{"txpk_ack":{"error":"TOO_LATE"}}'))).toMatchObject({ txpkAck: { error: 'TOO_LATE' } });
    expect(decodeOk(datagram('02 c309 05 aa555a0000000000', '{"txpk_ack":{"error":"NONE"}}'))).toMatchObject({ txpkAck: { error: 'NONE' } });
    const kerlink = Buffer.concat([datagram('02 c309 05 aa555a0000000000', '{"txpk_ack":{"error":"NONE"}}'), Buffer.of(0)]);
    expect(decodeOk(kerlink)).toMatchObject({ txpkAck: { error: 'NONE' } });
    expect(decodeOk(datagram('02 c309 05 aa555a0000000000', '{"txpk_ack":{"warn":"TX_POWER","value":20}}'))).toMatchObject({
      txpkAck: { warn: 'TX_POWER', value: 20 },
    });
  });

  it('PUSH_DATA with stat only, several rxpk, and Kerlink rsig', () => {
    const json = JSON.stringify({
      rxpk: [
        { tmst: 1, freq: 868.3, stat: 1, modu: 'LORA', datr: 'SF12BW125', codr: '4/5', rssi: -120, lsnr: -17.25, size: 2, data: 'AQI=' },
        {
          tmst: 2,
          freq: 868.5,
          stat: -1,
          modu: 'LORA',
          datr: 'SF7BW125',
          codr: '4/5',
          brd: 0,
          aesk: 0,
          size: 1,
          data: 'AQ==',
          rsig: [
            { ant: 0, chan: 3, rssic: -90, lsnr: 7.5, etime: 'abc=' },
            { ant: 1, chan: 11, rssic: -95, lsnr: 6 },
          ],
        },
        { tmst: 3, freq: 868.1, stat: 1, modu: 'FSK', datr: 50000, size: 0, data: '' },
      ],
      stat: { time: '2014-01-12 08:59:28 GMT', lati: 46.24, long: 3.2523, alti: 145, rxnb: 2, rxok: 2, rxfw: 2, ackr: 100.0, dwnb: 2, txnb: 2 },
    });
    const p = decodeOk(datagram('02 0001 00 aa555a0000000000', json));
    if (p.type !== 'PUSH_DATA') throw new Error('type');
    expect(p.rxpk.map((r) => r.tmst)).toEqual([1, 2, 3]);
    expect(p.rxpk[1]?.rsig).toEqual([
      { ant: 0, chan: 3, rssic: -90, lsnr: 7.5, etime: 'abc=' },
      { ant: 1, chan: 11, rssic: -95, lsnr: 6 },
    ]);
    expect(p.rxpk[2]).toMatchObject({ modu: 'FSK', datr: 50000, size: 0 });
    expect(p.stat).toEqual({ time: '2014-01-12 08:59:28 GMT', lati: 46.24, long: 3.2523, alti: 145, rxnb: 2, rxok: 2, rxfw: 2, ackr: 100, dwnb: 2, txnb: 2 });
    const statOnly = decodeOk(datagram('02 0002 00 aa555a0000000000', '{"stat":{"rxnb":0}}'));
    expect(statOnly).toMatchObject({ rxpk: [], stat: { rxnb: 0 } });
  });
});

describe('decode errors name the problem', () => {
  it('header problems', () => {
    expect(decodeErr(fromHex('027a'))).toMatchObject({ code: 'too-short' });
    expect(decodeErr(fromHex('037a3c01'))).toMatchObject({ code: 'bad-version', message: expect.stringContaining('version 3') });
    expect(decodeErr(fromHex('027a3c09'))).toMatchObject({ code: 'unknown-identifier', message: expect.stringContaining('0x09') });
    expect(decodeErr(fromHex('027a3c02aa555a'))).toMatchObject({ code: 'too-short', message: expect.stringContaining('PULL_DATA needs at least 12') });
  });

  it('JSON problems', () => {
    expect(decodeErr(datagram('02 7a3c 00 aa555a0000000000', '{"rxpk":['))).toMatchObject({ code: 'bad-json' });
    expect(decodeErr(datagram('02 7a3c 00 aa555a0000000000'))).toMatchObject({ code: 'bad-json', message: 'PUSH_DATA carries no JSON' });
    expect(decodeErr(datagram('02 7a3c 00 aa555a0000000000', '[1]'))).toMatchObject({ code: 'bad-json' });
    expect(decodeErr(datagram('02 7a3c 00 aa555a0000000000', '{"rxpk":{}}'))).toMatchObject({ code: 'bad-field', field: 'rxpk' });
    expect(decodeErr(datagram('02 c309 03', '{"foo":1}'))).toMatchObject({ code: 'missing-field', field: 'txpk' });
    expect(decodeErr(datagram('02 c309 03', '{"txpk":{"freq":868.1,"rfch":0,"modu":"LORA","datr":"SF7BW125","codr":"4/5","size":1,"data":"AQ=="}}'))).toMatchObject({
      code: 'missing-field',
      message: expect.stringContaining('"imme": true, "tmst" or "tmms"'),
    });
    expect(decodeErr(datagram('02 c309 03', '{"txpk":{"imme":true,"rfch":0,"modu":"LORA","datr":"SF7BW125","codr":"4/5","size":1,"data":"AQ=="}}'))).toMatchObject({
      code: 'missing-field',
      field: 'txpk.freq',
    });
    expect(decodeErr(datagram('02 c309 03', '{"txpk":{"imme":true,"freq":868.1,"rfch":0,"modu":"LORA","datr":"SF7BW125","size":1,"data":"AQ=="}}'))).toMatchObject({
      field: 'txpk.codr',
    });
  });

  it('a bad rxpk is rejected on its own; the good ones are kept', () => {
    const json = JSON.stringify({
      rxpk: [
        { tmst: 1, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', size: 3, data: 'AQI=' },
        { tmst: 2, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF7BW125', codr: '4/5', size: 2, data: 'AQI=' },
        { tmst: 3, stat: 1, modu: 'LORA', datr: 'SF7BW125', size: 2, data: 'AQI=' },
        { tmst: 4, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF7', size: 2, data: 'AQI=' },
        { tmst: 5, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF7BW125', size: 2, data: '!!!' },
        'x',
      ],
      stat: { rxnb: 'many' },
    });
    const p = decodeOk(datagram('02 0001 00 aa555a0000000000', json));
    if (p.type !== 'PUSH_DATA') throw new Error('type');
    expect(p.rxpk.map((r) => r.tmst)).toEqual([2]);
    expect(p.rejected.map((r) => [r.field, r.error.code, r.error.field])).toEqual([
      ['rxpk[0]', 'size-mismatch', 'rxpk[0].size'],
      ['rxpk[2]', 'missing-field', 'rxpk[2].freq'],
      ['rxpk[3]', 'bad-field', 'rxpk[3].datr'],
      ['rxpk[4]', 'bad-field', 'rxpk[4].data'],
      ['rxpk[5]', 'bad-field', 'rxpk[5]'],
      ['stat', 'bad-field', 'stat.rxnb'],
    ]);
    expect(p.rejected[0]?.error.message).toBe('rxpk[0].size is 3 but data decodes to 2 bytes');
  });

  it('never throws on arbitrary bytes, nor on valid headers with arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        decodeUdpPacket(bytes);
      }),
      { numRuns: 10_000 },
    );
    const header = fc.constantFrom('02123400aa555a0000000000', '02123403', '02123405aa555a0000000000');
    fc.assert(
      fc.property(header, fc.jsonValue(), fc.constantFrom('rxpk', 'txpk', 'txpk_ack', 'stat'), (h, value, key) => {
        const asIs = decodeUdpPacket(datagram(h, JSON.stringify(value) ?? ''));
        const wrapped = decodeUdpPacket(datagram(h, JSON.stringify({ [key]: key === 'rxpk' ? [value] : value })));
        for (const r of [asIs, wrapped]) if (!r.ok) expect(r.error.message.length).toBeGreaterThan(5);
      }),
      { numRuns: 10_000 },
    );
  });
});

// ── round trips ──────────────────────────────────────────────────────────────────────────────

const token = fc.integer({ min: 0, max: 0xffff });
const version = fc.constantFrom(1, 2);
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'));
const bytes = fc.uint8Array({ maxLength: 255 }).map((b) => Buffer.from(b));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mhz = fc.integer({ min: 863_000_000, max: 928_000_000 }).map((hz) => hz / 1e6);
const loraDatr = fc.tuple(fc.integer({ min: 5, max: 12 }), fc.constantFrom(125, 250, 500)).map(([sf, bw]) => `SF${sf}BW${bw}`);
const float = fc.double({ min: -200, max: 200, noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));

const rxpkArb: fc.Arbitrary<Rxpk> = fc
  .record(
    {
      tmst: u32,
      freq: mhz,
      stat: fc.constantFrom(-1, 0, 1),
      lora: fc.boolean(),
      datr: loraDatr,
      fsk: fc.integer({ min: 1200, max: 300_000 }),
      codr: fc.constantFrom('4/5', '4/6', '4/7', '4/8'),
      rssi: fc.integer({ min: -140, max: 0 }),
      lsnr: float,
      chan: fc.integer({ min: 0, max: 9 }),
      rfch: fc.integer({ min: 0, max: 1 }),
      time: fc.date({ min: new Date(2000, 0, 1), max: new Date(2100, 0, 1), noInvalidDate: true }).map((d) => d.toISOString()),
      tmms: fc.integer({ min: 0, max: 2 ** 45 }),
      rsig: fc.array(fc.record({ ant: fc.integer({ min: 0, max: 3 }), chan: fc.integer({ min: 0, max: 63 }), rssic: fc.integer({ min: -140, max: 0 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
      data: bytes,
    },
    { requiredKeys: ['tmst', 'freq', 'stat', 'lora', 'datr', 'fsk', 'data'] },
  )
  .map((r) => {
    const out: Rxpk = { tmst: r.tmst, freq: r.freq, stat: r.stat, modu: r.lora ? 'LORA' : 'FSK', datr: r.lora ? r.datr : r.fsk, size: r.data.length, data: r.data };
    if (r.lora && r.codr !== undefined) out.codr = r.codr;
    if (r.lora && r.lsnr !== undefined) out.lsnr = r.lsnr;
    for (const k of ['rssi', 'chan', 'rfch', 'time', 'tmms', 'rsig'] as const) if (r[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = r[k];
    return out;
  });

const statArb: fc.Arbitrary<Stat> = fc.record(
  { time: fc.constant('2014-01-12 08:59:28 GMT'), lati: float, long: float, alti: float, rxnb: fc.nat(), rxok: fc.nat(), ackr: float, temp: float },
  { requiredKeys: [] },
);

const txpkArb: fc.Arbitrary<Txpk> = fc
  .record({
    timing: fc.oneof(fc.constant({ imme: true }), u32.map((tmst) => ({ imme: false, tmst })), fc.integer({ min: 0, max: 2 ** 45 }).map((tmms) => ({ tmms }))),
    freq: mhz,
    rfch: fc.integer({ min: 0, max: 1 }),
    powe: fc.integer({ min: 0, max: 30 }),
    lora: fc.boolean(),
    datr: loraDatr,
    ipol: fc.boolean(),
    prea: fc.option(fc.integer({ min: 6, max: 65535 }), { nil: undefined }),
    ncrc: fc.option(fc.boolean(), { nil: undefined }),
    data: bytes,
  })
  .map((t) => {
    const base: Txpk = { ...t.timing, freq: t.freq, rfch: t.rfch, powe: t.powe, modu: t.lora ? 'LORA' : 'FSK', datr: t.lora ? t.datr : 50_000, size: t.data.length, data: t.data };
    if (t.lora) Object.assign(base, { codr: '4/5', ipol: t.ipol });
    else base.fdev = 25_000;
    if (t.prea !== undefined) base.prea = t.prea;
    if (t.ncrc !== undefined) base.ncrc = t.ncrc;
    return base;
  });

const packetArb: fc.Arbitrary<UdpPacket> = fc.oneof(
  fc.record({
    type: fc.constant('PUSH_DATA' as const),
    version,
    token,
    gatewayEui: eui,
    rxpk: fc.array(rxpkArb, { maxLength: 4 }),
    stat: fc.option(statArb, { nil: null }),
    rejected: fc.constant([] as PushData['rejected']),
  }),
  fc.record({ type: fc.constant('PUSH_ACK' as const), version, token }),
  fc.record({ type: fc.constant('PULL_DATA' as const), version, token, gatewayEui: eui }),
  fc.record({ type: fc.constant('PULL_ACK' as const), version, token }),
  fc.record({ type: fc.constant('PULL_RESP' as const), version, token, txpk: txpkArb }),
  fc.record({
    type: fc.constant('TX_ACK' as const),
    version,
    token,
    gatewayEui: eui,
    txpkAck: fc.option(
      fc.oneof(
        fc.constantFrom('NONE', 'TOO_LATE', 'TOO_EARLY', 'COLLISION_PACKET', 'TX_FREQ', 'GPS_UNLOCKED').map((error) => ({ error })),
        fc.integer({ min: 0, max: 30 }).map((value) => ({ warn: 'TX_POWER', value })),
      ),
      { nil: null },
    ),
  }),
);

describe('encode → decode round trip', () => {
  it('all six packet types', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(packetArb, (p) => {
        seen.add(p.type);
        const wire = encodeUdpPacket(p);
        expect(wire[0]).toBe(p.version);
        expect(wire.readUInt16BE(1)).toBe(p.token);
        expect(decodeOk(wire)).toEqual(p);
      }),
      { numRuns: 3000 },
    );
    expect([...seen].sort()).toEqual(['PULL_ACK', 'PULL_DATA', 'PULL_RESP', 'PUSH_ACK', 'PUSH_DATA', 'TX_ACK']);
  });

  it('refuses malformed caller values when encoding', () => {
    expect(() => encodeUdpPacket({ type: 'PULL_DATA', version: 2, token: 70_000, gatewayEui: 'aa555a0000000000' })).toThrow(/token/);
    expect(() => encodeUdpPacket({ type: 'PULL_DATA', version: 2, token: 1, gatewayEui: 'aa55' })).toThrow(/EUI/);
    expect(() => encodeUdpPacket({ type: 'PUSH_ACK', version: 3, token: 1 })).toThrow(/version/);
  });
});
