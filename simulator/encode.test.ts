/**
 * Every device of the demo fleet, sampled by its behaviour model at arbitrary instants over a
 * simulated week, gives a payload its codec encodes and decodes again — including the history-
 * carrying water meters whose codecs want the records on different time grids.
 */
import { describe, expect, it } from 'vitest';
import type { Codec, Reading } from '../codecs/api.ts';
import { UplinkEncoder } from './encode.ts';
import { expandFleet } from './population.ts';
import { Rng } from './rng.ts';
import { demoFleet } from './testing/fleets.ts';

const HOUR = 3_600_000;

describe('UplinkEncoder', () => {
  it('encodes every demo device at random instants over a week; payloads decode', async () => {
    const { fleet, lookup } = await demoFleet();
    const pop = expandFleet(fleet, { lookup, seed: 11 });
    const encoder = new UplinkEncoder();
    const rng = new Rng(5);
    let checked = 0;
    for (const d of pop.devices) {
      let t = pop.startMs;
      for (let i = 0; i < 30; i++) {
        t += Math.floor(rng.uniform(0.2, 12) * HOUR);
        const out = encoder.encode(d.codec, d.model.sample(t), d.variables, t, d.fPort);
        expect(out.ok, `${d.catalogueId} at ${new Date(t).toISOString()}: ${out.ok ? '' : out.errors.join('; ')}`).toBe(true);
        if (!out.ok) continue;
        const dec = d.codec.decodeUplink({ bytes: out.uplink.bytes, fPort: out.uplink.fPort, variables: d.variables, recvTime: new Date(t) });
        expect(dec.errors ?? [], d.catalogueId).toEqual([]);
        const norm = d.codec.normalizeUplink(dec.data ?? {}, { variables: d.variables, recvTime: new Date(t) });
        expect(norm.readings.length, d.catalogueId).toBeGreaterThan(0);
        checked++;
      }
    }
    expect(checked).toBe(pop.devices.length * 30);
  });

  it('resamples hourly history to the send instant for codecs that want that grid', () => {
    const send = Date.UTC(2026, 10, 23, 10, 15);
    const seen: Reading[][] = [];
    // A codec that insists on records exactly 1, 2, … h before the send instant.
    const strict: Codec = {
      id: 'test/strict',
      name: 'strict',
      category: 'water-meter',
      fPorts: [1],
      decodeUplink: () => ({ data: {} }),
      normalizeUplink: () => ({ readings: [] }),
      encodeUplink: ({ readings }) => {
        seen.push(readings);
        const ok = readings.every((r, i) => r.time === undefined || Date.parse(r.time) === send - (readings.length - 1 - i) * HOUR);
        return ok ? { bytes: [1], fPort: 1 } : { errors: ['misaligned'] };
      },
    };
    const model: Reading[] = [
      { time: new Date(Date.UTC(2026, 10, 23, 8)).toISOString(), values: { volume_m3: 10 } },
      { time: new Date(Date.UTC(2026, 10, 23, 9)).toISOString(), values: { volume_m3: 11 } },
      { time: new Date(Date.UTC(2026, 10, 23, 10)).toISOString(), values: { volume_m3: 12 } },
      { values: { volume_m3: 13 } },
    ];
    const encoder = new UplinkEncoder();
    const out = encoder.encode(strict, model, {}, send, 1);
    expect(out.ok).toBe(true);
    const used = seen[seen.length - 1] as Reading[];
    expect(used.map((r) => r.time)).toEqual([new Date(send - 2 * HOUR).toISOString(), new Date(send - HOUR).toISOString(), undefined]);
    // 09:15 lies a quarter between 09:00 (11) and 10:00 (12); 08:15 between 10 and 11.
    expect(used.map((r) => r.values['volume_m3'])).toEqual([10.25, 11.25, 13]);
    // The working view is remembered: the next uplink tries it first.
    seen.length = 0;
    encoder.encode(strict, model, {}, send, 1);
    expect(seen).toHaveLength(1);
  });
});
