/**
 * Heap per frame held in a dedup window (gateway/ns/dedup.ts), measured with the receptions the
 * semtech_udp source really hands over (rxpk objects decoded from 100-rxpk PUSH_DATA, two
 * gateways per frame as `--heard-by 2`): the byte budget behind DEDUP_MAX_OPEN and the overload
 * bound of gateway/ns/overload.ts. Run: node --expose-gc --import tsx bench/edge-ns/heap-per-frame.ts
 */
import { randomBytes } from 'node:crypto';
import { decodeUdpPacket } from '../../lorawan/udp/codec.ts';
import { buildPushData, rxpkFor } from '../../lorawan/udp/gateway.ts';
import type { Rxpk } from '../../lorawan/udp/types.ts';
import { DedupWindow } from '../../gateway/ns/dedup.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const FRAMES = 20_000;
const PER_DATAGRAM = 100;
const held: unknown[] = [];
function heap(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}
for (const heardBy of [1, 2]) {
  const d = new DedupWindow(60_000, () => undefined, () => undefined, FRAMES + 1);
  const before = heap();
  for (let f = 0; f < FRAMES; f += PER_DATAGRAM) {
    const phys = Array.from({ length: PER_DATAGRAM }, () => randomBytes(24));
    for (let g = 0; g < heardBy; g++) {
      const gw = `aa555a00000000${String(g).padStart(2, '0')}`;
      const rxpk: Rxpk[] = phys.map((p, i) => rxpkFor({ phyPayload: p, tmst: f * 1000 + i, frequencyHz: 868_100_000, datr: 'SF9BW125', rssi: -90, lsnr: 4, time: new Date() }));
      const dec = decodeUdpPacket(buildPushData({ gatewayEui: gw, rxpk }).bytes);
      if (!dec.ok || dec.packet.type !== 'PUSH_DATA') throw new Error('bad datagram');
      for (const rx of dec.packet.rxpk) d.add(rx.data, { gatewayEui: dec.packet.gatewayEui, rxpk: rx, receivedAt: 0, entry: f, heardAt: 0 });
    }
  }
  const after = heap();
  const open = d.size;
  held.push(d);
  d.clear();
  console.log(`heard by ${heardBy}: ${open} frames open, ${((after - before) / open / 1024).toFixed(2)} KB of heap per frame`);
}
