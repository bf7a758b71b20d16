/**
 * The gateway's per-message CPU work without any I/O, stage by stage: what one uplink costs
 * from the MQTT payload to InfluxDB line protocol. A quick loop for optimising (seconds, not
 * the 12 minutes of run.ts); run.ts stays the measurement of record.
 *
 *   node --import tsx bench/gateway/hot-path.ts [--messages 50000] [--rounds 5]
 *
 * Stages: JSON parse of the ChirpStack event → record (registry lookup, decode, normalize) →
 * CBOR encode for the log → CBOR decode (what a sink reading the log does) → points (native
 * schema) → line protocol. Messages are the bench fleet's (bench/gateway/fleet.ts).
 */
import { parseArgs } from 'node:util';
import { nativeCodec } from '../../codecs/registry.ts';
import { loadCatalogue } from '../../devices/catalogue.ts';
import { DurableLog } from '../../gateway/buffer/index.ts';
import { nestsDeeperThan } from '../../gateway/buffer/depth.ts';
import type { DecodeContext } from '../../gateway/pipeline/decode.ts';
import { eventToRecord } from '../../gateway/pipeline/decode.ts';
import type { PipelineRecord } from '../../gateway/pipeline/record.ts';
import { RECORD_WIRE } from '../../gateway/pipeline/record-wire.ts';
import { parseRegistry } from '../../gateway/registry/devices-file.ts';
import { nativeLines, nativePoints } from '../../gateway/schema/native.ts';
import { encodePoints, newLineBatch, type Point } from '../../gateway/sinks/influxdb/line-protocol.ts';
import { parseEventJson, type IntegrationEvent } from '../../lorawan/chirpstack/events.ts';
import { buildFleet, fastMessages, registryYaml } from './fleet.ts';

const { values: args } = parseArgs({ options: { messages: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(args.messages);
const ROUNDS = Number(args.rounds);

const devices = buildFleet();
const catalogue = loadCatalogue();
const registry = parseRegistry(registryYaml(devices), 'devices.yaml', (id) => catalogue.byId.has(id));
const codecs = new Map(catalogue.devices.flatMap((entry) => {
  const codec = typeof entry.codec === 'string' ? nativeCodec(entry.codec) : undefined;
  return codec ? [[entry.id, { entry, codec }] as const] : [];
}));
// As the gateway runs with the native schema: the codec's data object is not stored.
const ctx: DecodeContext = { registry: () => registry, catalogue: (id) => codecs.get(id), deviceProfiles: {}, now: Date.now, keepCodecData: false };
const make = fastMessages(devices, 'hot', Date.UTC(2026, 10, 1));
const payloads = Array.from({ length: N }, (_, i) => Buffer.from(make(i).payload));

// The log's own encoder and decoder, through a log that is never opened.
const log = new DurableLog<PipelineRecord>({ dir: '/nonexistent-hot-path' }, { wire: RECORD_WIRE });
const codec = log as unknown as { encode(v: PipelineRecord): Uint8Array };

const events: IntegrationEvent[] = new Array<IntegrationEvent>(N);
const records: PipelineRecord[] = new Array<PipelineRecord>(N);
const encoded: Uint8Array[] = new Array<Uint8Array>(N);
const decoded: PipelineRecord[] = new Array<PipelineRecord>(N);
const points: Point[][] = new Array<Point[]>(N);

let wires: unknown[] = [];
const stages: [string, () => void][] = [
  ['JSON parse (parseEventJson)', () => {
    for (let i = 0; i < N; i++) {
      const r = parseEventJson('up', payloads[i] as Buffer);
      if (!r.ok) throw new Error(r.error);
      events[i] = r.event;
    }
  }],
  ['record (lookup, decode, normalize)', () => {
    for (let i = 0; i < N; i++) records[i] = eventToRecord(events[i] as IntegrationEvent, 'cs', ctx).record;
  }],
  // Parts of the log's encode, measured alone (not counted in the total): the positional
  // arrays, and the nesting check of buffer.max_record_depth that runs before CBOR encoding.
  ['  of which: recordToWire', () => {
    wires = records.map((r) => RECORD_WIRE.encode(r));
  }],
  ['  of which: depth check', () => {
    for (let i = 0; i < N; i++) if (nestsDeeperThan(wires[i], 64)) throw new Error('too deep');
  }],
  ['CBOR encode (log)', () => {
    for (let i = 0; i < N; i++) encoded[i] = Uint8Array.prototype.slice.call(codec.encode(records[i] as PipelineRecord));
  }],
  ['CBOR decode (sink reading the log)', () => {
    for (let i = 0; i < N; i++) decoded[i] = log.decodePayload(Buffer.from((encoded[i] as Uint8Array).buffer, (encoded[i] as Uint8Array).byteOffset, (encoded[i] as Uint8Array).length)) as PipelineRecord;
  }],
  ['points (native schema)', () => {
    for (let i = 0; i < N; i++) points[i] = nativePoints(decoded[i] as PipelineRecord);
  }],
  ['line protocol', () => {
    for (let i = 0; i < N; i += 1000) encodePoints(points.slice(i, i + 1000).flat());
  }],
  // What a drain into InfluxDB does instead of the two stages above (not counted in the total).
  ['lines direct (nativeLines into a LineBatch: UTF-8 bytes included, which the Point path writes later in the sink)', () => {
    for (let i = 0; i < N; i += 1000) {
      const batch = newLineBatch();
      for (let j = i; j < Math.min(N, i + 1000); j++) nativeLines(decoded[j] as PipelineRecord, batch);
    }
  }],
];

const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of stages) {
    const t0 = process.hrtime.bigint();
    run();
    const ns = Number(process.hrtime.bigint() - t0) / N;
    best.set(name, Math.min(best.get(name) ?? Infinity, ns));
  }
}
const bytes = encoded.reduce((n, b) => n + b.length, 0) / N;
console.log(`hot path, ${N} messages × ${ROUNDS} rounds, best round per stage (ns per uplink):`);
let total = 0;
for (const [name, ns] of best) {
  if (name.startsWith('lines direct')) continue;
  if (!name.startsWith('  of which')) total += ns;
  console.log(`  ${name.padEnd(38)} ${ns.toFixed(0).padStart(7)}`);
}
console.log(`  ${'total'.padEnd(38)} ${total.toFixed(0).padStart(7)}   (record ${bytes.toFixed(0)} B in CBOR)`);
for (const [name, ns] of best) if (name.startsWith('lines direct')) console.log(`  ${name} ${ns.toFixed(0)}`);
