/**
 * The local store's cost per uplink, in-process, in seconds: the quick loop for optimising the
 * store's write path (bench/gateway stays the measurement of record). Records are the
 * bench/gateway fleet's (1,000 devices of six models, real codecs), as the gateway builds them.
 *
 *   node --import tsx bench/web/store-apply.ts [--records 100000] [--batch 2000] [--cpu-prof]
 *
 * Stages, each in µs per record (CPU of this thread):
 * - `copy to the worker`: what handing a batch to the store worker costs — the message encoding on
 *   the main thread and its decoding in the worker (v8 serialize/deserialize, what postMessage
 *   does), measured with the sink's own message encoding (store-worker-protocol.ts);
 * - `apply`: LocalStore.apply in batches of --batch into a file store (WAL), as the worker runs it;
 * - then a pruning with nothing to delete, and one after every reading is past the window.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { nativeCodec } from '../../codecs/registry.ts';
import { loadCatalogue } from '../../devices/catalogue.ts';
import type { DecodeContext } from '../../gateway/pipeline/decode.ts';
import { eventToRecord } from '../../gateway/pipeline/decode.ts';
import type { PipelineRecord } from '../../gateway/pipeline/record.ts';
import { parseRegistry } from '../../gateway/registry/devices-file.ts';
import { LocalStore, type StoreOptions } from '../../gateway/web/store/local-store.ts';
import { decodeBatch, decodeRecords, encodeBatch } from '../../gateway/web/store/store-batch.ts';
import { parseEventJson } from '../../lorawan/chirpstack/events.ts';
import { buildFleet, fastMessages, registryYaml } from '../gateway/fleet.ts';

const { values: args } = parseArgs({ options: { records: { type: 'string', default: '100000' }, batch: { type: 'string', default: '2000' } } });
const N = Number(args.records);
const BATCH = Number(args.batch);

const devices = buildFleet();
const catalogue = loadCatalogue();
const registry = parseRegistry(registryYaml(devices), 'devices.yaml', (id) => catalogue.byId.has(id));
const codecs = new Map(
  catalogue.devices.flatMap((entry) => {
    const codec = typeof entry.codec === 'string' ? nativeCodec(entry.codec) : undefined;
    return codec ? [[entry.id, { entry, codec }] as const] : [];
  }),
);
const ctx: DecodeContext = { registry: () => registry, catalogue: (id) => codecs.get(id), deviceProfiles: {}, now: Date.now, keepCodecData: false };
const t0 = Date.now() - N; // uplink i at t0 + i ms, as bench/gateway: all within the history window
const make = fastMessages(devices, 'store', t0);
const records: { id: number; value: PipelineRecord }[] = [];
for (let i = 0; i < N; i++) {
  const ev = parseEventJson('up', Buffer.from(make(i).payload));
  if (!ev.ok) throw new Error(ev.error);
  records.push({ id: i + 1, value: eventToRecord(ev.event, 'cs', ctx).record });
}
const batches: (typeof records)[] = [];
for (let i = 0; i < N; i += BATCH) batches.push(records.slice(i, i + BATCH));

const cpuUs = (f: () => void): number => {
  const c = process.cpuUsage();
  f();
  const u = process.cpuUsage(c);
  return u.user + u.system;
};
const perRecord = (us: number): string => `${(us / N).toFixed(1)} µs`;

console.log(`local store, ${N.toLocaleString('en')} records of ${devices.length} devices in batches of ${BATCH}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
{
  let bytes = 0;
  const cloneEnc = cpuUs(() => {
    for (const b of batches) bytes += serialize(b).length;
  });
  console.log(`  structured clone of the records (v8 serialize, main thread)      ${perRecord(cloneEnc).padStart(9)}   ${(bytes / N).toFixed(0)} B/record`);
  const ser = batches.map((b) => serialize(b));
  const cloneDec = cpuUs(() => {
    for (const s of ser) deserialize(s);
  });
  console.log(`  structured clone of the records (v8 deserialize, worker)          ${perRecord(cloneDec).padStart(9)}`);
  bytes = 0;
  const enc = cpuUs(() => {
    for (const b of batches) bytes += encodeBatch(b).size;
  });
  console.log(`  store batch encoding (main thread)                                ${perRecord(enc).padStart(9)}   ${(bytes / N).toFixed(0)} B/record`);
  const encoded = batches.map((b) => encodeBatch(b).bytes);
  const dec = cpuUs(() => {
    for (const e of encoded) decodeBatch(e);
  });
  console.log(`  store batch decoding (worker)                                     ${perRecord(dec).padStart(9)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'store-apply-'));
try {
  const opts: StoreOptions = { file: join(dir, 'store.db'), historyDays: 90, framesPerDevice: 50, communeTag: 'district', locationTags: { lat: 'lat', lon: 'lon' } };
  const store = new LocalStore(opts, 'writer');
  store.syncRegistry(devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.model, tags: d.tags })));
  let worst = 0;
  const apply = cpuUs(() => {
    for (const b of batches) {
      const t = performance.now();
      store.applyStored(decodeRecords(encodeBatch(b).bytes), false);
      worst = Math.max(worst, performance.now() - t);
    }
  });
  console.log(`  apply (encode + decode + LocalStore.applyStored, file store, WAL) ${perRecord(apply).padStart(8)}   longest batch ${worst.toFixed(0)} ms`);
  const walMb = (() => {
    try {
      return statSync(`${opts.file}-wal`).size / 1e6;
    } catch {
      return 0;
    }
  })();
  console.log(`  file ${(statSync(opts.file).size / 1e6).toFixed(0)} MB, WAL ${walMb.toFixed(0)} MB`);
  for (const [label, now] of [
    ['prune, frames beyond 50 + 50 (the slack)', Date.now()],
    ['prune, nothing to delete', Date.now()],
    ['prune, every reading past the window', Date.now() + 91 * 86_400_000],
  ] as const) {
    let steps = 0;
    let deleted = 0;
    let visited = 0;
    let longest = 0;
    const us = cpuUs(() => {
      for (let more = true; more && steps < 1e6; steps++) {
        const t = performance.now();
        const s = store.pruneStep(now, { maxRows: 5000, first: steps === 0 });
        longest = Math.max(longest, performance.now() - t);
        deleted += s.deleted;
        visited += s.devices;
        more = s.more;
      }
    });
    console.log(`  ${label}: ${deleted.toLocaleString('en')} rows, ${steps} steps, ${visited} device visits, ${(us / 1000).toFixed(0)} ms CPU, longest step ${longest.toFixed(0)} ms`);
  }
  store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
