/**
 * bench/edge-ns/key-table.ts — the network server's crypto per data uplink (MIC check +
 * FRMPayload decryption of a 12-byte uplink) with 10,000 sessions heard round-robin, as the
 * gateway meets them: keys from the bounded cache of prepared keys the network server used
 * until session 8 (`AesKeyCache`, 1,024 keys: two misses and two key expansions per uplink) against
 * keys from each session's slot of `SessionKeyTable` (prepared once). Both in the same process,
 * interleaved round by round, on the same frames and the same lorawan/ code.
 *
 *   node --expose-gc --import tsx bench/edge-ns/key-table.ts [--sessions 10000] [--rounds 6] [--passes 10]
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { AesKey } from '../../lorawan/aes.ts';
import { buildDataFrame, decryptDataFrame, type SessionKeys } from '../../lorawan/data-frame.ts';
import type { AesEncryptKey } from '../../lorawan/aes.ts';
import { verifyDataMic } from '../../lorawan/mic.ts';
import { parsePhyPayload, type DataFrame } from '../../lorawan/phy-payload.ts';
import { AesKeyCache } from '../../gateway/ns/session-keys-cache.ts';
import { SessionKeyTable, type KeyedSession } from '../../gateway/ns/session-key-table.ts';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '6' }, passes: { type: 'string', default: '10' } } });
const N = Number(values.sessions);
const ROUNDS = Number(values.rounds);
const PASSES = Number(values.passes);
const FCNT = 5;

const key = (i: number, salt: number): Buffer => Buffer.from((BigInt(i) * 0x9e3779b97f4a7c15n + BigInt(salt)).toString(16).padStart(32, '0').slice(-32), 'hex');
const sessions: KeyedSession[] = Array.from({ length: N }, (_, i) => ({ devEui: (0x70b3d5e75e000000n + BigInt(i)).toString(16), nwkSKey: key(i, 1), appSKey: key(i, 2) }));
const frames: DataFrame[] = sessions.map((s, i) => {
  const phy = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x27000000 + i, fCnt: FCNT, fCtrl: { adr: true }, fPort: 1, payload: Buffer.alloc(12, i & 0xff) }, { nwkSKey: new AesKey(s.nwkSKey), appSKey: new AesKey(s.appSKey) });
  const p = parsePhyPayload(phy);
  if (!p.ok || p.frame.kind !== 'data') throw new Error('frame');
  return p.frame;
});

interface KeySource {
  nwk(s: KeyedSession): AesEncryptKey;
  both(s: KeyedSession): SessionKeys;
}

const cache = new AesKeyCache();
const viaCache: KeySource = {
  nwk: (s) => cache.get(`${s.devEui}/n`, s.nwkSKey),
  both: (s) => ({ nwkSKey: cache.get(`${s.devEui}/n`, s.nwkSKey), appSKey: cache.get(`${s.devEui}/a`, s.appSKey) }),
};
/** a full GC when the run has `--expose-gc` (heap figures below are then live memory, not garbage) */
const exposedGc = (globalThis as { gc?: () => void }).gc;
const gc = exposedGc ?? ((): void => undefined);
gc();
const heap0 = process.memoryUsage();
const table = new SessionKeyTable();
table.reserve(N);
for (const s of sessions) table.put(s);
gc();
const heap1 = process.memoryUsage();
const viaTable: KeySource = { nwk: (s) => table.nwkSKey(s), both: (s) => table.keys(s) };

/** µs of CPU per uplink over PASSES passes of all sessions in turn. */
function run(src: KeySource): number {
  let ok = 0;
  const cpu0 = process.cpuUsage();
  for (let p = 0; p < PASSES; p++) {
    for (let i = 0; i < N; i++) {
      const s = sessions[i] as KeyedSession;
      const f = frames[i] as DataFrame;
      if (!verifyDataMic(f, src.nwk(s), FCNT)) continue;
      const opened = decryptDataFrame(f, src.both(s), FCNT);
      if (opened.payload[0] === (i & 0xff)) ok++;
    }
  }
  const c = process.cpuUsage(cpu0);
  if (ok !== N * PASSES) throw new Error(`${ok} of ${N * PASSES} uplinks opened`);
  return (c.user + c.system) / (N * PASSES);
}

run(viaCache); // warm-up (JIT) of both paths
run(viaTable);

/**
 * JS heap bytes allocated per uplink: one pass of all sessions between two full GCs, small enough
 * (≤ a few MB) to fit the young generation, so nothing is collected in between. Needs --expose-gc.
 */
function allocatedPerUplink(src: KeySource): number {
  gc();
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++) {
    const s = sessions[i] as KeyedSession;
    const f = frames[i] as DataFrame;
    if (verifyDataMic(f, src.nwk(s), FCNT)) decryptDataFrame(f, src.both(s), FCNT);
  }
  return (process.memoryUsage().heapUsed - h0) / N;
}
const allocCache = allocatedPerUplink(viaCache);
const allocTable = allocatedPerUplink(viaTable);
const cached: number[] = [];
const tabled: number[] = [];
const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ');
for (let r = 0; r < ROUNDS; r++) {
  cached.push(run(viaCache));
  tabled.push(run(viaTable));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const f2 = (x: number): string => x.toFixed(2);
console.log(`bench/edge-ns/key-table.ts: ${N.toLocaleString('en')} sessions round-robin, ${ROUNDS} rounds × ${PASSES} passes each way (interleaved), ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadBefore} → ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
const bytes = (x: number): string => (exposedGc === undefined ? '? (run with --expose-gc)' : x.toFixed(0));
console.log('| keys from | CPU µs per uplink (MIC + decrypt), median | rounds | JS heap bytes allocated per uplink |\n|---|---|---|---|');
console.log(`| AesKeyCache (1,024 keys, before) | ${f2(median(cached))} | ${cached.map(f2).join(' ')} | ${bytes(allocCache)} |`);
console.log(`| SessionKeyTable (a slot per session, after) | ${f2(median(tabled))} | ${tabled.map(f2).join(' ')} | ${bytes(allocTable)} |`);
console.log(`\ntable: ${(table.byteLength / 1e6).toFixed(2)} MB of prepared keys (typed array, outside the JS heap); building it for ${N.toLocaleString('en')} sessions: JS heap +${((heap1.heapUsed - heap0.heapUsed) / 1e6).toFixed(2)} MB, array buffers +${((heap1.arrayBuffers - heap0.arrayBuffers) / 1e6).toFixed(2)} MB`);
