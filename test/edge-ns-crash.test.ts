/**
 * `kill -9` of the gateway (a real child process running the `gateway` verb) three times while
 * the simulator sends over UDP through forwarders that resend un-ACKed PUSH_DATA
 * (`--udp-resend`): after each restart no device joins again, no frame is stored twice, and
 * every heard uplink is stored — none lost. The gateway acknowledges a datagram only once it is
 * in its inbox journal (gateway/sources/udp-inbox.ts) and replays the journal after a kill, so
 * neither the frames sent while it was dead (resent) nor those in its dedup window or
 * uncommitted batch at the kill (replayed) are lost.
 *
 * The durable log is read back at the end through a second sink that is never drained, so what
 * the network server stored is seen record by record (InfluxDB would hide a duplicate by
 * overwriting it).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulation, type LedgerEntry } from '../simulator/index.ts';
import { demoFleet } from '../simulator/testing/fleets.ts';
import { freePorts } from '../support/free-port.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { exited, KillSchedule, readHeldRecords, startCrashGateway, uplinkCounts, writeCrashGatewayFiles } from './edge-ns-crash-rig.ts';

const root = mkdtempSync(join(tmpdir(), 'edge-ns-crash-'));
let influx: InfluxdServer;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  influx = await startInfluxd({ database: 'crash' });
}, 120_000);
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await influx?.dispose();
  rmSync(root, { recursive: true, force: true });
});

// Also with the source's intake on its worker thread (gateway/sources/udp-intake-worker.ts).
describe.each([false, true])('edge network server: kill -9 three times during a run (intake_thread: %s)', (intakeThread) => {
  it('no re-join, nothing stored twice, nothing lost', async () => {
    const dir = join(root, `intake-${intakeThread}`);
    mkdirSync(dir);
    const { fleet, lookup } = await demoFleet();
    const probe = await createSimulation({ fleet, lookup, seed: 21 });
    const [udpPort, httpPort, deadPort] = (await freePorts(3)) as [number, number, number];
    const config = writeCrashGatewayFiles(dir, probe, { udpPort, httpPort, deadPort }, { url: influx.url, database: 'crash' }, { intake_thread: intakeThread });
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
      output: { type: 'udp', host: '127.0.0.1', port: udpPort, ackTimeoutMs: 1000, keepaliveMs: 200, resendMs: 100 },
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

    const heard = ledger.filter((e) => e.gateways.length > 0);
    const missing = heard.filter((e) => !seen.has(`${e.devEui}/${e.fCnt}`));
    expect(missing.map((e) => `${e.devEui}/${e.fCnt}`)).toEqual([]);
    const out = stats.output.counters;
    // The kills did hit traffic: datagrams were sent again after going unacknowledged, and none was given up.
    expect(out['pushResent']).toBeGreaterThan(0);
    expect(out['pushResendGaveUp']).toBe(0);
    expect(out['pushResendDropped']).toBe(0);
    // The run did cover the kills: after every restart, frames got through again.
    for (const d of downs) expect(heard.filter((e) => (sentAt.get(e.seq) ?? 0) > d.to + 200 && seen.has(`${e.devEui}/${e.fCnt}`)).length).toBeGreaterThan(10);
    console.log(`kill -9 run: ${heard.length} heard, ${heard.length - missing.length} stored, ${missing.length} lost; ${out['pushResent']} PUSH_DATA resent; restarts took ${downs.map((d) => d.to - d.from).join(', ')} ms`);
  }, 300_000);
});
