import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { fuzzParams } from '../../support/fuzz.ts';
import { CUT_TOPIC_PREFIX, MqttSizeGuard, type CutPublish } from './mqtt-size-guard.ts';

const TOPIC = 'application/a/device/70b3d5e75e00f001/event/up';

/** Bytes through a guard in chunks of `size`; what comes out, parsed back into packets. */
function through(bytes: Buffer, size: number, version: 4 | 5, max: number): { packets: mqttPacket.Packet[]; cuts: CutPublish[] } {
  const cuts: CutPublish[] = [];
  const guard = new MqttSizeGuard({ maxRemainingLength: max, protocolVersion: version, onCut: (c) => (cuts.push(c), `${CUT_TOPIC_PREFIX}${cuts.length}`) });
  const out: Buffer[] = [];
  guard.on('data', (b: Buffer) => out.push(b));
  for (let i = 0; i < bytes.length; i += size) guard.write(bytes.subarray(i, i + size));
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: mqttPacket.Packet[] = [];
  parser.on('packet', (p: mqttPacket.Packet) => packets.push(p));
  parser.on('error', (e: Error) => {
    throw e;
  });
  parser.parse(Buffer.concat(out));
  return { packets, cuts };
}

describe('MQTT size guard', () => {
  for (const version of [4, 5] as const) {
    it(`passes packets up to the bound unchanged and replaces a larger PUBLISH by a marker with its packet id (MQTT ${version})`, () => {
      const big = Buffer.alloc(300_000, 0x41);
      big.write('{"head":', 0);
      const props = version === 5 ? { properties: { userProperties: { a: 'b' } } } : {};
      const gen = (p: object): Buffer => mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion: version });
      const stream = Buffer.concat([
        gen({ cmd: 'connack', sessionPresent: false, ...(version === 5 ? { reasonCode: 0 } : { returnCode: 0 }) }),
        gen({ cmd: 'publish', topic: TOPIC, payload: Buffer.from('{"small":1}'), qos: 1, messageId: 1, dup: false, retain: false, ...props }),
        gen({ cmd: 'publish', topic: TOPIC, payload: big, qos: 1, messageId: 7, dup: true, retain: false, ...props }),
        gen({ cmd: 'publish', topic: TOPIC, payload: Buffer.alloc(1000, 0x42), qos: 0, dup: false, retain: false }),
        gen({ cmd: 'pingresp' }),
        gen({ cmd: 'publish', topic: TOPIC, payload: big, qos: 0, dup: false, retain: false }),
        gen({ cmd: 'publish', topic: TOPIC, payload: Buffer.from('{"last":1}'), qos: 1, messageId: 8, dup: false, retain: false }),
      ]);
      // Every split of the stream into chunks, from one byte at a time to all at once.
      for (const size of [1, 2, 3, 7, 100, 4096, 65_536, stream.length]) {
        const { packets, cuts } = through(stream, size, version, 100_000);
        expect(packets.map((p) => p.cmd)).toEqual(['connack', 'publish', 'publish', 'publish', 'pingresp', 'publish', 'publish']);
        const pubs = packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
        expect(pubs.map((p) => [p.topic, p.messageId, p.qos, p.payload.length])).toEqual([
          [TOPIC, 1, 1, 11],
          [`${CUT_TOPIC_PREFIX}1`, 7, 1, 0],
          [TOPIC, undefined, 0, 1000],
          [`${CUT_TOPIC_PREFIX}2`, undefined, 0, 0],
          [TOPIC, 8, 1, 10],
        ]);
        expect(pubs[1]?.dup).toBe(true);
        expect(cuts.map((c) => [c.topic, c.qos, c.payloadBytes])).toEqual([
          [TOPIC, 1, 300_000],
          [TOPIC, 0, 300_000],
        ]);
        expect(cuts[0]?.head.subarray(0, 8).toString()).toBe('{"head":');
        expect(cuts[0]?.head.length).toBeLessThanOrEqual(2 + 65_535 + 2 + 8 + 16_384);
      }
    });
  }

  it('passes a malformed fixed header on as it is (mqtt-packet reports it)', () => {
    const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]);
    const guard = new MqttSizeGuard({ maxRemainingLength: 10, protocolVersion: 4, onCut: () => '#cut/x' });
    const out: Buffer[] = [];
    guard.on('data', (b: Buffer) => out.push(b));
    guard.write(bad.subarray(0, 3));
    guard.write(bad.subarray(3));
    expect(Buffer.concat(out)).toEqual(bad);
  });

  it('fuzz: any packet sequence in any chunking comes out as the same packets, the large PUBLISHes as markers', () => {
    const MAX = 2048;
    const packet = fc.oneof(
      fc.record({ payload: fc.integer({ min: 0, max: 6000 }), qos: fc.constantFrom(0, 1), topic: fc.string({ minLength: 1, maxLength: 40 }).map((t) => t.replaceAll('#', 'x').replaceAll('+', 'x')), id: fc.integer({ min: 1, max: 65_535 }) }).map((p) => ({ kind: 'publish' as const, ...p })),
      fc.constantFrom({ kind: 'pingresp' as const }, { kind: 'suback' as const }),
    );
    fc.assert(
      fc.property(fc.constantFrom(4 as const, 5 as const), fc.array(packet, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 8 }), (version, list, sizes) => {
        const gen = (p: object): Buffer => mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion: version });
        const bytes = Buffer.concat(
          list.map((p) =>
            p.kind === 'publish'
              ? gen({ cmd: 'publish', topic: p.topic, payload: Buffer.alloc(p.payload, 0x61), qos: p.qos, ...(p.qos ? { messageId: p.id } : {}), dup: false, retain: false })
              : p.kind === 'suback'
                ? gen({ cmd: 'suback', messageId: 3, granted: [1] })
                : gen({ cmd: 'pingresp' }),
          ),
        );
        const cuts: CutPublish[] = [];
        const guard = new MqttSizeGuard({ maxRemainingLength: MAX, protocolVersion: version, onCut: (c) => (cuts.push(c), `${CUT_TOPIC_PREFIX}${cuts.length}`) });
        const out: Buffer[] = [];
        guard.on('data', (b: Buffer) => out.push(b));
        for (let i = 0, k = 0; i < bytes.length; k++) {
          const n = sizes[k % sizes.length] as number;
          guard.write(bytes.subarray(i, i + n));
          i += n;
        }
        const parser = mqttPacket.parser({ protocolVersion: version });
        const got: mqttPacket.Packet[] = [];
        parser.on('packet', (p: mqttPacket.Packet) => got.push(p));
        parser.parse(Buffer.concat(out));
        expect(got.map((p) => p.cmd)).toEqual(list.map((p) => (p.kind === 'publish' ? 'publish' : p.kind)));
        let cut = 0;
        list.forEach((p, i) => {
          if (p.kind !== 'publish') return;
          const g = got[i] as mqttPacket.IPublishPacket;
          const over = Buffer.byteLength(p.topic) + 2 + (p.qos ? 2 : 0) + (version === 5 ? 1 : 0) + p.payload > MAX;
          expect(g.qos).toBe(p.qos);
          if (p.qos) expect(g.messageId).toBe(p.id);
          if (over) {
            cut++;
            expect(g.topic).toBe(`${CUT_TOPIC_PREFIX}${cut}`);
            expect(cuts[cut - 1]).toMatchObject({ topic: p.topic, payloadBytes: p.payload });
          } else {
            expect([g.topic, g.payload.length]).toEqual([p.topic, p.payload]);
          }
        });
        expect(cuts).toHaveLength(cut);
      }),
      fuzzParams(300),
    );
  });
});
