/**
 * Fuzz target: what the ChirpStack MQTT source does with one message (topic + payload) — format
 * detection, JSON/protobuf parsing, decoding, normalizing, and the durable log's per-record
 * checks and encoding — on random and mutated input. The message goes through the source's
 * real per-message path (the one mqtt.js calls) with a real durable log and rejects file.
 *
 * Properties: nothing throws; no message ends as `internal_error` (that reason means an
 * unexpected exception: a bug); every message is either stored, or rejected under a known
 * reason and kept in the rejects file; a protobuf error never shows a literal `%s`. Runs in bounded
 * time: a 20,000-input run stalled on a 6-byte message declaring a ~267 MB field, which
 * google-protobuf walked byte by byte (fixed in lorawan/chirpstack/pb-bounds.ts; `longLength`).
 *
 * Seeded and bounded for CI. Longer run: FUZZ_RUNS=20000 FUZZ_SEED=<n> npx vitest run gateway/sources/chirpstack-input.fuzz.test.ts
 * (test/README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../../codecs/registry.ts';
import { loadCatalogue } from '../../devices/catalogue.ts';
import { eventToJson, eventToProtobuf, eventTopic, type UplinkEvent } from '../../lorawan/chirpstack/events.ts';
import { DurableLog } from '../buffer/index.ts';
import { tempDir } from '../buffer/testing/tmp.ts';
import { createMetrics, type GatewayMetrics } from '../metrics.ts';
import type { PipelineRecord } from '../pipeline/record.ts';
import { RECORD_WIRE } from '../pipeline/record-wire.ts';
import { RejectsFile } from '../rejects.ts';
import { ChirpstackMqttSource } from './chirpstack-mqtt.ts';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261206);
const KNOWN_REASONS = new Set(['bad_topic', 'oversized', 'malformed_json', 'malformed_protobuf', 'topic_mismatch', 'too_deep', 'record_too_large', 'unencodable']);

const catalogue = loadCatalogue();
const df703 = catalogue.byId.get('dingtek/df703');
const codec = nativeCodec('dingtek/df703');
const DEV = '70b3d5e75e00f001';

let cleanup: () => Promise<void>;
let log: DurableLog<PipelineRecord>;
let rejects: RejectsFile;
let metrics: GatewayMetrics;
let source: ChirpstackMqttSource;

beforeAll(async () => {
  const t = await tempDir('fuzz-source');
  log = new DurableLog<PipelineRecord>({ dir: join(t.dir, 'buffer'), fsync_interval_ms: 5, max_record_bytes: 32_768, max_record_depth: 32 }, { wire: RECORD_WIRE });
  await log.open();
  rejects = new RejectsFile(join(t.dir, 'rejects.jsonl'), 64 * 1024 * 1024, 8192);
  metrics = createMetrics({ defaultMetrics: false });
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const device = { dev_eui: DEV, name: 'bin', model: 'dingtek/df703', tags: {}, variables: { container_depth_mm: 1000 } };
  source = new ChirpstackMqttSource(
    { name: 'cs', url: 'mqtt://127.0.0.1:1', client_id: 'fuzz', topics: ['#'], format: 'auto', events: ['up', 'join', 'status'], protocol_version: 4, session_expiry_s: 0, keepalive_s: 30, reconnect_ms: 1000, max_payload_bytes: 16_384, device_profiles: {} },
    {
      log: {
        append: (records) => {
          const r = log.appendEach(records);
          return { rejected: r.rejected.map((x) => ({ index: x.index, code: x.error.code, message: x.error.message })), durable: r.durable.then(() => undefined) };
        },
      },
      decode: {
        registry: () => ({ devices: [device], byEui: new Map([[DEV, device]]) }),
        catalogue: (id) => (id === 'dingtek/df703' && df703 && codec ? { entry: df703, codec } : undefined),
        deviceProfiles: {},
        now: () => 1_800_000_000_000,
      },
      metrics,
      rejects,
      logger: silent,
    },
  );
  cleanup = async () => {
    await log.close();
    await rejects.close();
    await t.remove();
  };
});

afterAll(async () => {
  await cleanup?.();
});

const base: UplinkEvent = {
  kind: 'up',
  deduplicationId: 'x',
  time: 1_800_000_000_000,
  deviceInfo: { tenantId: 't', tenantName: 't', applicationId: 'a', applicationName: 'a', deviceProfileId: 'p', deviceProfileName: 'p', deviceName: 'bin', devEui: DEV, deviceClassEnabled: 'CLASS_A', tags: {} },
  devAddr: '26000001',
  adr: true,
  dr: 5,
  fCnt: 1,
  fPort: 3,
  confirmed: false,
  data: Buffer.from('800001011107d000190000000000010081', 'hex'),
  rxInfo: [{ gatewayId: '0016c001f1530001', uplinkId: 1, rssi: -80, snr: 7.5, channel: 1, rfChain: 0 }],
};
const TOPIC = eventTopic(base);
/** Unique deduplication ids (so no message is taken for a redelivery), deterministic per run. */
let serial = 0;

/** Feeds one message through the source's per-message path; the batch is appended next turn. */
async function publish(topic: string, payload: Buffer): Promise<void> {
  const internal = source as unknown as { safePublish(p: { topic: string; payload: Buffer; qos: number; cmd: string }): unknown };
  internal.safePublish({ cmd: 'publish', topic, payload, qos: 1 });
  await new Promise((r) => setImmediate(r));
}

async function rejectedBy(): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const v of (await metrics.uplinksRejected.get()).values) m.set(String(v.labels['reason']), v.value);
  return m;
}

const deepValue = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.jsonValue({ maxDepth: 3 }), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), tie('v'), { maxKeys: 3 })),
})).v;

/** A JSON event with random values in place of some fields (and sometimes junk around it). */
const jsonEvent = fc
  .record({
    field: fc.constantFrom('deviceInfo', 'time', 'data', 'fPort', 'fCnt', 'rxInfo', 'txInfo', 'object', 'devAddr', 'deduplicationId', 'dr', 'adr', 'deviceInfo.devEui', 'deviceInfo.tags'),
    value: fc.oneof(fc.jsonValue(), deepValue, fc.constant(`${'['.repeat(400)}${']'.repeat(400)}`)),
    bom: fc.boolean(),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ field, value, bom, cut }) => {
    const doc = JSON.parse(eventToJson({ ...base, deduplicationId: `j-${++serial}` })) as Record<string, Record<string, unknown>>;
    const [a, b] = field.split('.') as [string, string | undefined];
    if (b && typeof doc[a] === 'object' && doc[a] !== null) doc[a][b] = value as never;
    else (doc as Record<string, unknown>)[a] = typeof value === 'string' && value.startsWith('[[[') ? JSON.parse(value) : value;
    let text = JSON.stringify(doc);
    if (cut !== undefined) text = text.slice(0, cut % (text.length + 1));
    return Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text)]);
  });

/** A protobuf event with bytes flipped, cut or inserted. */
const protobufEvent = fc
  .record({ edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'insert')), { maxLength: 4 }) })
  .map(({ edits }) => {
    let b = Buffer.from(eventToProtobuf({ ...base, deduplicationId: `p-${++serial}` }));
    for (const [at, byte, op] of edits) {
      const i = at % (b.length + 1);
      if (op === 'flip' && i < b.length) b[i] = byte;
      else if (op === 'cut') b = b.subarray(0, i);
      else b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
    }
    return b;
  });

const anyBytes = fc.uint8Array({ maxLength: 2048 }).map((u) => Buffer.from(u));
/** A field declaring a length past the end (a string, a sub-message; up to 5 length bytes): google-protobuf walked such lengths (192 s on one 6-byte message). */
const longLength = fc
  .record({ tag: fc.constantFrom(0x0a, 0x12, 0x1a, 0x22, 0x2a), length: fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 4 }), last: fc.integer({ min: 1, max: 0x7f }), tail: fc.uint8Array({ maxLength: 4 }) })
  .map(({ tag, length, last, tail }) => Buffer.from([tag, ...length, last, ...tail]));
const anyTopic = fc.oneof(fc.constant(TOPIC), fc.constant(TOPIC.replace('/up', '/join')), fc.constant(TOPIC.replace('/up', '/status')), fc.string({ maxLength: 80 }));

describe('fuzz: ChirpStack MQTT messages through the source path', () => {
  it('never throws, never ends as internal_error, and accounts for every message', async () => {
    let messages = 0;
    await fc.assert(
      fc.asyncProperty(anyTopic, fc.oneof(jsonEvent, protobufEvent, anyBytes, longLength), async (topic, payload) => {
        const before = await rejectedBy();
        // Written or, once the rejects file is full (long runs), counted as dropped.
        const written = rejects.written + rejects.dropped;
        await publish(topic, payload);
        messages++;
        const after = await rejectedBy();
        expect(after.get('internal_error') ?? 0).toBe(0);
        for (const reason of after.keys()) expect(KNOWN_REASONS.has(reason), reason).toBe(true);
        const newRejects = [...after].reduce((n, [k, v]) => n + v - (before.get(k) ?? 0), 0);
        expect(newRejects).toBeLessThanOrEqual(1);
        expect(rejects.written + rejects.dropped - written).toBe(newRejects);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    await new Promise((r) => setTimeout(r, 50));
    const lines = readFileSync(rejects.path, 'utf8').trim().split('\n').filter(Boolean);
    for (const l of lines) {
      expect(Buffer.byteLength(l)).toBeLessThanOrEqual(8192);
      // Only protobuf errors: a JSON error quotes the input, which may hold `%s` itself (the
      // 20,000-input run drew a key "u0_%s").
      const entry = JSON.parse(l) as { reason: string; detail: string };
      if (entry.reason === 'malformed_protobuf') expect(entry.detail).not.toContain('%s');
    }
    expect(messages).toBe(RUNS);
    expect(log.stats().appended_records).toBeGreaterThan(0);
  }, Math.max(300_000, RUNS * 100));
});
