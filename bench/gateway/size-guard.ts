/**
 * What the MQTT source's size guard (gateway/sources/mqtt-size-guard.ts) adds per message: the
 * socket bytes of N ChirpStack-sized PUBLISH packets (1 KiB payloads, 64 KiB socket chunks)
 * through the guard, against the same bytes through a pass-through Transform, in one run.
 *
 *   node --import tsx bench/gateway/size-guard.ts [--messages 200000] [--rounds 5]
 */
import { PassThrough, type Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import mqttPacket from 'mqtt-packet';
import { MqttSizeGuard } from '../../gateway/sources/mqtt-size-guard.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.messages);
const ROUNDS = Number(values.rounds);
const topic = 'application/0b5c6a0e-4c3d-4a4e-9f2a-2b1c3d4e5f60/device/70b3d5e75e00f001/event/up';
const packets = Array.from({ length: N }, (_, i) => mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(1024, 0x61), qos: 1, messageId: (i % 65_535) + 1, dup: false, retain: false }));
const bytes = Buffer.concat(packets);
const chunks: Buffer[] = [];
for (let i = 0; i < bytes.length; i += 65_536) chunks.push(bytes.subarray(i, i + 65_536));

function run(make: () => Transform): number {
  const t = make();
  let out = 0;
  t.on('data', (b: Buffer) => (out += b.length));
  const start = process.cpuUsage();
  for (const c of chunks) t.write(c);
  const used = process.cpuUsage(start);
  if (out !== bytes.length) throw new Error(`${out} of ${bytes.length} bytes came out`);
  return (used.user + used.system) / N; // µs per message
}

const guard = (): Transform => new MqttSizeGuard({ maxRemainingLength: 65_536 + 66_560, protocolVersion: 4, onCut: () => '#cut/0' });
const plain = (): Transform => new PassThrough();
for (let r = 0; r < ROUNDS; r++) {
  const g = run(guard);
  const p = run(plain);
  console.log(`round ${r + 1}: guard ${g.toFixed(3)} µs/message, pass-through ${p.toFixed(3)} µs/message, added ${(g - p).toFixed(3)} µs`);
}
