/**
 * The engine in-process (no network): reproducibility, ground truth, sessions, faults, limits
 * and pacing. The end-to-end suites over UDP and MQTT are test/simulator-*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { openDataFrame } from '../lorawan/data-frame.ts';
import { parsePhyPayload, type DataFrame } from '../lorawan/phy-payload.ts';
import type { LedgerEntry } from './ledger.ts';
import { NullOutput } from './outputs/none.ts';
import { createSimulation, type SimulationOptions } from './simulation.ts';
import { demoFleet } from './testing/fleets.ts';
import { LedgerConsistency } from './testing/ledger-consistency.ts';

async function ledgerOf(options: Partial<SimulationOptions>, chunks: number[]): Promise<string[]> {
  const { fleet, lookup } = await demoFleet();
  const lines: string[] = [];
  const sim = await createSimulation({ fleet, lookup, speed: 'max', onUplink: (e) => lines.push(JSON.stringify(e)), ...options });
  for (const count of chunks) await sim.run({ count });
  await sim.stop();
  return lines;
}

function openWith(phy: Buffer, keys: { nwkSKey: string; appSKey: string }, fCnt: number): { frame: DataFrame; micValid: boolean; payload: Buffer } {
  const parsed = parsePhyPayload(phy);
  if (!parsed.ok || parsed.frame.kind !== 'data') throw new Error('not a data frame');
  const opened = openDataFrame(parsed.frame, { nwkSKey: Buffer.from(keys.nwkSKey, 'hex'), appSKey: Buffer.from(keys.appSKey, 'hex') }, fCnt);
  return { frame: parsed.frame, micValid: opened.micValid, payload: opened.payload };
}

describe('simulation engine', () => {
  it('the same seed gives the same ledger, however the run is chunked; another seed does not', async () => {
    const faults = { loss: 0.05, corruptMic: 0.05, replay: 0.05, duplicate: 0.05, fcntReset: 0.01 };
    const a = await ledgerOf({ seed: 7, faults }, [400]);
    const b = await ledgerOf({ seed: 7, faults }, [150, 1, 249]);
    const c = await ledgerOf({ seed: 8, faults }, [400]);
    expect(a).toHaveLength(400);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  // History payloads (Axioma 24 h, Kamstrup profiles) restate earlier hours: the ledger must give
  // one value per device, instant and reading (it once had padded or re-interpolated hours).
  it('the ledger is self-consistent: one value per device, timestamp and reading across uplinks', async () => {
    const { fleet, lookup } = await demoFleet();
    const check = new LedgerConsistency();
    let timed = 0;
    const sim = await createSimulation({
      fleet,
      lookup,
      speed: 'max',
      onUplink: (e) => {
        timed += e.readings.filter((r) => r.time !== undefined).length;
        check.add(e);
      },
    });
    await sim.run({ count: 1500 });
    await sim.stop();
    expect(timed).toBeGreaterThan(1000); // history was restated many times
    expect(check.conflicts).toEqual([]);
  });

  it('ledger lines are the ground truth of real encrypted frames', async () => {
    const { fleet, lookup } = await demoFleet();
    const entries: LedgerEntry[] = [];
    const output = new NullOutput({ collect: true });
    const sim = await createSimulation({ fleet, lookup, speed: 'max', output, onUplink: (e) => entries.push(e) });
    await sim.run({ count: 300 });
    const bySeq = new Map(entries.map((e) => [`${e.devEui}/${e.fCnt}`, e]));
    expect(output.uplinks.length).toBe(entries.filter((e) => e.gateways.length > 0).length);
    for (const u of output.uplinks) {
      const e = bySeq.get(`${u.device.devEui}/${u.fCnt}`) as LedgerEntry;
      const session = sim.session(u.device.devEui);
      expect(session?.devAddr).toBe(e.devAddr);
      const opened = openWith(u.phyPayload, session as { nwkSKey: string; appSKey: string }, u.fCnt);
      expect(opened.micValid).toBe(true);
      expect(opened.frame.fCtrl.adr).toBe(true);
      expect(opened.payload.toString('hex')).toBe(e.payloadHex);
      const d = u.device;
      const dec = d.codec.decodeUplink({ bytes: opened.payload, fPort: u.fPort, variables: d.variables, recvTime: new Date(e.time) });
      expect(d.codec.normalizeUplink(dec.data ?? {}, { variables: d.variables, recvTime: new Date(e.time) }).readings).toEqual(e.readings);
      expect(e.gateways).toEqual(u.receptions.map((r) => ({ id: r.gatewayId, rssi: r.rssi, snr: r.snr })));
      expect(e.dr).toBe(12 - u.spreadingFactor);
      expect(e.codecErrors).toBeUndefined();
    }
    // Counters run per device from 0 without gaps; OTAA devices joined locally (join events).
    const perDevice = new Map<string, number[]>();
    for (const e of entries) perDevice.set(e.devEui, [...(perDevice.get(e.devEui) ?? []), e.fCnt]);
    for (const counts of perDevice.values()) expect(counts).toEqual(counts.map((_, i) => i));
    const otaa = sim.devices.filter((d) => d.keys.activation === 'OTAA');
    expect(output.joinsSeen.map((j) => j.device.devEui).sort()).toEqual(otaa.map((d) => d.devEui).sort());
    expect(new Set(entries.map((e) => e.category))).toEqual(new Set(['bin-fill', 'water-meter', 'air-quality']));
    const stats = await sim.stop();
    expect(stats.uplinks).toBe(300);
    expect(stats.joins).toMatchObject({ requests: otaa.length, accepted: otaa.length });
  });

  it('faults are applied as the ledger says', async () => {
    const { fleet, lookup } = await demoFleet();
    const entries: LedgerEntry[] = [];
    const output = new NullOutput({ collect: true });
    const outageStart = Date.parse(fleet.start as string) + 3 * 3_600_000;
    const sim = await createSimulation({
      fleet,
      lookup,
      speed: 'max',
      output,
      seed: 3,
      faults: { loss: 0.1, corruptMic: 0.1, replay: 0.1, duplicate: 0.1, fcntReset: 0.02, gatewayOutages: [{ gateway: 'gw-station', start: '3h', duration: '6h' }] },
      onUplink: (e) => entries.push(e),
    });
    await sim.run({ count: 1_500 });
    const stats = await sim.stop();
    const has = (e: LedgerEntry, f: string): boolean => (e.faults as string[]).includes(f);
    for (const f of ['loss', 'corrupt-mic', 'replay', 'duplicate', 'fcnt-reset', 'gateway-outage'] as const) {
      expect(entries.filter((e) => has(e, f)).length, f).toBeGreaterThan(0);
      expect(stats.faults[f], f).toBe(entries.filter((e) => has(e, f)).length);
    }
    // loss: nobody heard it, nothing went out.
    for (const e of entries.filter((x) => has(x, 'loss'))) expect(e.gateways).toEqual([]);
    // outage: the station gateway hears nothing in its window and is named where it would have.
    for (const e of entries) {
      const t = Date.parse(e.time);
      if (t >= outageStart && t < outageStart + 6 * 3_600_000) expect(e.gateways.map((g) => g.id)).not.toContain('0016c001f1530002');
      if (has(e, 'gateway-outage')) expect(e.outageGateways).toEqual(['0016c001f1530002']);
    }
    // corrupt-mic: every corrupted frame that was heard went out marked (MIC checked in the next test).
    const corrupted = output.uplinks.filter((u) => u.micCorrupted && !u.forcedDuplicate);
    expect(corrupted.length).toBe(entries.filter((e) => has(e, 'corrupt-mic') && e.gateways.length > 0).length);
    // replay: the exact bytes of an earlier frame of the same device, its fCnt repeated.
    const replays = output.uplinks.filter((u) => u.replayOf);
    expect(replays.length).toBeGreaterThan(0);
    for (const r of replays) {
      expect(r.phyPayload.equals(r.replayOf?.phyPayload as Buffer)).toBe(true);
      expect(r.timeMs).toBeGreaterThan(r.replayOf?.timeMs as number);
    }
    for (const e of entries.filter((x) => has(x, 'replay'))) {
      const first = entries.find((x) => x.seq === e.replayOf) as LedgerEntry;
      expect(first).toMatchObject({ devEui: e.devEui, fCnt: e.fCnt, payloadHex: e.payloadHex, deduplicationId: e.deduplicationId, readings: e.readings });
      expect(first.seq).toBeLessThan(e.seq);
    }
    // duplicate: delivered twice.
    const dups = output.uplinks.filter((u) => u.forcedDuplicate);
    expect(dups.length).toBe(entries.filter((e) => has(e, 'duplicate') && e.gateways.length > 0).length);
    // fcnt-reset: ABP devices count from 0 again; OTAA devices come back with a new session.
    for (const e of entries.filter((x) => has(x, 'fcnt-reset'))) expect(e.fCnt).toBe(0);
    const resetOtaa = entries.filter((x) => has(x, 'fcnt-reset') && sim.devices.find((d) => d.devEui === x.devEui)?.keys.activation === 'OTAA');
    for (const e of resetOtaa) {
      const before = entries.filter((x) => x.devEui === e.devEui && x.seq < e.seq).pop();
      if (before) expect(before.devAddr).not.toBe(e.devAddr);
    }
  });

  it('corrupted frames fail the MIC that the clean frame passes', async () => {
    const { fleet, lookup } = await demoFleet();
    const output = new NullOutput({ collect: true });
    const sim = await createSimulation({ fleet, lookup, speed: 'max', output, seed: 4, faults: { corruptMic: 0.3 } });
    await sim.run({ count: 200 });
    let checked = 0;
    for (const u of output.uplinks) {
      const s = sim.session(u.device.devEui);
      if (!s || s.devAddr !== u.devAddr) continue;
      expect(openWith(u.phyPayload, s, u.fCnt).micValid).toBe(!u.micCorrupted);
      checked += u.micCorrupted ? 1 : 0;
    }
    expect(checked).toBeGreaterThan(20);
    await sim.stop();
  });

  it('stops at a simulated duration, paces to --speed, and stop() interrupts a real-time run', async () => {
    const { fleet, lookup } = await demoFleet();
    const sim = await createSimulation({ fleet, lookup, speed: 3_600 * 4 }); // 4 simulated hours per second
    const t0 = performance.now();
    const s = await sim.run({ durationMs: 3_600_000 });
    const real = performance.now() - t0;
    expect(s.simElapsedMs).toBe(3_600_000);
    expect(real).toBeGreaterThan(200); // ≈ 250 ms: paced, not as fast as possible
    expect(real).toBeLessThan(30_000); // not real time (1 h); loose for a loaded machine
    expect(s.uplinks).toBeGreaterThan(10);
    await sim.stop();

    const slow = await createSimulation({ fleet, lookup, speed: 1 });
    const running = slow.run({ durationMs: 86_400_000 });
    await new Promise((r) => setTimeout(r, 100));
    const t1 = performance.now();
    await slow.stop();
    await running;
    expect(performance.now() - t1).toBeLessThan(15_000); // stop() ends the 1-day run at once
    await expect(slow.run({ count: 1 })).rejects.toThrow(/stopped/);
  });

  it('--rate caps uplinks per real second', async () => {
    const { fleet, lookup } = await demoFleet();
    const sim = await createSimulation({ fleet, lookup, speed: 'max', rate: 200 });
    const t0 = performance.now();
    await sim.run({ count: 60 });
    expect(performance.now() - t0).toBeGreaterThan(250); // 60 at 200/s ≥ 295 ms
    await sim.stop();
  });
});
