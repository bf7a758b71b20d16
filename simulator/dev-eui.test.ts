import { describe, expect, it } from 'vitest';
import { loadFleet } from './fleet.ts';
import { devEuiCollisionRisk, simulatedDevEui } from './dev-eui.ts';
import { lookupForFleet } from './lookup.ts';
import { expandFleet } from './population.ts';
import { CITY_FLEET } from './testing/fleets.ts';

describe('simulated DevEUIs', () => {
  it('two seeds of the city fleet share no DevEUI (seeds 11 and 12 once shared 70b3d5fb7f8a1b12), and none repeats', async () => {
    const fleet = loadFleet(CITY_FLEET);
    const { lookup } = await lookupForFleet(fleet);
    const a = expandFleet(fleet, { seed: 11, lookup });
    const b = expandFleet(fleet, { seed: 12, lookup });
    const euisA = new Set(a.devices.map((d) => d.devEui));
    expect(euisA.size).toBe(a.devices.length);
    expect(b.devices.filter((d) => euisA.has(d.devEui))).toEqual([]);
    expect(a.devices.every((d) => /^70b3d5[0-9a-f]{10}$/.test(d.devEui))).toBe(true);
    expect(a.warnings).toEqual([]);
    // The same seed gives the same devices.
    expect(expandFleet(fleet, { seed: 11, lookup }).devices.map((d) => d.devEui)).toEqual(a.devices.map((d) => d.devEui));
  });

  it('is injective in (seed, index) under the default prefix', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) for (let i = 0; i < 500; i++) seen.add(simulatedDevEui('70b3d5', seed, i));
    expect(seen.size).toBe(40 * 500);
  });

  it('warns when EUIs of another seed could collide or repeat', () => {
    expect(devEuiCollisionRisk('70b3d5', 11, 10_000)).toBeUndefined();
    expect(devEuiCollisionRisk('70b3d5', 65_547, 10)).toBe('seed 65547 is above 65535: its DevEUIs (prefix 70b3d5) equal those of seed 11');
    expect(devEuiCollisionRisk('70b3d5aabbcc', 1, 10)).toBe(
      'DevEUI prefix 70b3d5aabbcc leaves 0 bit(s) for 10 devices: DevEUIs can repeat, and other seeds of this fleet can share them',
    );
  });
});
