/**
 * bench/edge-ns/adr-store — what keeping ADR state durable costs per uplink: the engine's
 * `observe` (history, decision) and the write of the changed devices' rows (`adr-store.ts`)
 * inside a batch transaction, as the network server does it (one transaction per 20 ms batch;
 * here 200 uplinks per batch, i.e. 10,000 uplinks/s), on a WAL SQLite file with
 * synchronous=FULL (the session store's settings). Every uplink is from a device with the ADR
 * bit (SNRs that call for no change: the steady state), the worst case. The batch's commit itself (its fsync) is paid by the frame counters
 * anyway: it is measured alone (a transaction with one small write) and subtracted.
 *
 *   node --import tsx bench/edge-ns/adr-store.ts [--devices 10000] [--rounds 5] [--batch 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { AdrEngine } from '../../gateway/ns/adr.ts';
import { AdrStore } from '../../gateway/ns/adr-store.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '200' } } });
const N = Number(values.devices);
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const dir = mkdtempSync(join(tmpdir(), 'adr-store-bench-'));
const db = new Database(join(dir, 'sessions.sqlite'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
const store = new AdrStore(db);
db.exec('CREATE TABLE counters (k INTEGER PRIMARY KEY, v INTEGER)');
const bump = db.prepare('INSERT OR REPLACE INTO counters VALUES (1, ?)');
const engine = new AdrEngine({ historyLength: 20, installationMarginDb: 10 });
console.log(`${cpus()[0]?.model ?? '?'} ×${cpus().length}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${N} devices, ${BATCH} uplinks per transaction`);
let totalRows = 0n;
let totalObserve = 0n;
let totalCpu = 0;
for (let round = 0; round < ROUNDS; round++) {
  let observeNs = 0n;
  let writeNs = 0n;
  let commitNs = 0n;
  let cpuWith = 0;
  let cpuWithout = 0;
  for (let b = 0; b < N; b += BATCH) {
    const t0 = process.hrtime.bigint();
    for (let i = b; i < Math.min(N, b + BATCH); i++) engine.observe(`d${i}`, { fCnt: round, maxSnr: -15 + (i % 3), dr: 0 }, 0x00ff);
    const t1 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    db.transaction(() => {
      bump.run(b);
      store.write(engine.takeDirty().map(([d, s]) => [d, s, 1] as const));
    })();
    const t2 = process.hrtime.bigint();
    const c1 = process.cpuUsage(c0);
    const c2 = process.cpuUsage();
    db.transaction(() => bump.run(b + 1))();
    commitNs += process.hrtime.bigint() - t2;
    const c3 = process.cpuUsage(c2);
    cpuWith += c1.user + c1.system;
    cpuWithout += c3.user + c3.system;
    writeNs += t2 - t1;
    observeNs += t1 - t0;
  }
  totalRows += writeNs - commitNs;
  totalCpu += cpuWith - cpuWithout;
  totalObserve += observeNs;
  console.log(`round ${round + 1} (history ${Math.min(round + 1, 20)}): observe ${(Number(observeNs) / N / 1000).toFixed(2)} µs/uplink, ADR rows ${(Number(writeNs - commitNs) / N / 1000).toFixed(2)} µs/uplink (transaction with them ${(Number(writeNs) / N / 1000).toFixed(2)}, without ${(Number(commitNs) / N / 1000).toFixed(2)})`);
}
console.log(`mean over ${ROUNDS} rounds: observe ${(Number(totalObserve) / N / ROUNDS / 1000).toFixed(2)} µs/uplink, ADR rows ${(Number(totalRows) / N / ROUNDS / 1000).toFixed(2)} µs/uplink wall, ${(totalCpu / N / ROUNDS).toFixed(2)} µs/uplink CPU`);
db.close();
rmSync(dir, { recursive: true, force: true });
