/**
 * `kill -9` of the gateway (a real child process running the `gateway` verb) three times while
 * the simulator sends over UDP: after each restart no device joins again, no frame is stored
 * twice, and every heard uplink is stored — except those a UDP receiver cannot keep: frames
 * that arrived while the process was dead, or in its last dedup window / uncommitted batch when
 * it was killed (a window of ~dedup + commit time before the kill, bounded below).
 *
 * The durable log is read back at the end through a second sink that is never drained, so what
 * the network server stored is seen record by record (InfluxDB would hide a duplicate by
 * overwriting it).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulation, type LedgerEntry } from '../simulator/index.ts';
import { demoFleet } from '../simulator/testing/fleets.ts';
import { freePorts } from '../support/free-port.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { exited, KillSchedule, readHeldRecords, startCrashGateway, uplinkCounts, writeCrashGatewayFiles } from './edge-ns-crash-rig.ts';

const dir = mkdtempSync(join(tmpdir(), 'edge-ns-crash-'));
let influx: InfluxdServer;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  influx = await startInfluxd({ database: 'crash' });
}, 120_000);
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await influx?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** How long before a kill a frame may still have been in the dedup window or an uncommitted batch. */
const AT_RISK_MS = 1_000;

describe('edge network server: kill -9 three times during a run', () => {
  it('no re-join, nothing stored twice, nothing lost outside the kill windows', async () => {
    const { fleet, lookup } = await demoFleet();
    const probe = await createSimulation({ fleet, lookup, seed: 21 });
    const [udpPort, httpPort, deadPort] = (await freePorts(3)) as [number, number, number];
    const config = writeCrashGatewayFiles(dir, probe, { udpPort, httpPort, deadPort }, { url: influx.url, database: 'crash' });
    const start = (): Promise<ChildProcess> => startCrashGateway(config, httpPort, procs);

    const ledger: LedgerEntry[] = [];
    const sentAt = new Map<number, number>();
    const kills = new KillSchedule(await start(), [120, 330, 540], start);
    const downs = kills.downs;
    const sim = await createSimulation({
      fleet,
      lookup,
      seed: 21,
      speed: 'max',
      rate: 40,
      output: { type: 'udp', host: '127.0.0.1', port: udpPort, ackTimeoutMs: 1000, keepaliveMs: 200 },
      joinTimeoutMs: 5000,
      onUplink: (e) => {
        ledger.push(e);
        sentAt.set(e.seq, Date.now());
        kills.uplinkSent(ledger.length);
      },
    });
    await sim.run({ count: 900, realTimeMs: 180_000 });
    await kills.restarting;
    const stats = await sim.stop();
    // Let the last batch settle, then stop for good (SIGKILL too: the audit reads the log as a crash leaves it).
    await new Promise((r) => setTimeout(r, 1000));
    kills.gateway.kill('SIGKILL');
    await exited(kills.gateway);

    expect(downs).toHaveLength(3);
    const otaa = probe.devices.filter((d) => d.keys.activation === 'OTAA').length;
    // No re-join: the simulator's devices joined once each, at the start.
    expect(stats.joins.requests).toBe(otaa);
    expect(stats.joins.accepted).toBe(otaa);

    const records = await readHeldRecords(dir);
    const seen = uplinkCounts(records);
    const twice = [...seen].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(records.filter((r) => r.kind === 'join')).toHaveLength(otaa);

    const atRisk = (e: LedgerEntry): boolean => {
      const t = sentAt.get(e.seq) ?? 0;
      return downs.some((d) => t >= d.from - AT_RISK_MS && t <= d.to + 200);
    };
    const heard = ledger.filter((e) => e.gateways.length > 0);
    const missing = heard.filter((e) => !seen.has(`${e.devEui}/${e.fCnt}`));
    const missingOutside = missing.filter((e) => !atRisk(e));
    expect(missingOutside.map((e) => `${e.devEui}/${e.fCnt}`)).toEqual([]);
    // The run did cover the kills: after every restart, frames got through again.
    for (const d of downs) expect(heard.filter((e) => (sentAt.get(e.seq) ?? 0) > d.to + 200 && seen.has(`${e.devEui}/${e.fCnt}`)).length).toBeGreaterThan(10);
    console.log(`kill -9 run: ${heard.length} heard, ${heard.length - missing.length} stored, ${missing.length} lost while the gateway was down or in its last ${AT_RISK_MS} ms; restarts took ${downs.map((d) => d.to - d.from).join(', ')} ms`);
  }, 300_000);
});
