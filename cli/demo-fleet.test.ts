import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoFleet, FLEETS_DIR } from './demo-fleet.ts';
import { UsageError } from './usage.ts';

describe('demo --fleet', () => {
  it('names the shipped fleets; demo by default', () => {
    expect(demoFleet(undefined).fleet.name).toBe('demo');
    expect(demoFleet('perpignan').path).toBe(join(FLEETS_DIR, 'perpignan.yaml'));
    expect(demoFleet('dijon').fleet.devices.some((g) => g.tags?.['river'] === 'ouche')).toBe(true);
  });

  it('takes a fleet file, and refuses a typo, a missing file or a bad fleet in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-fleet-'));
    const own = join(dir, 'mine.yaml');
    writeFileSync(own, 'name: mine\ngateways: [{id: 0016c001f1530001, lat: 1, lon: 2}]\ndevices: [{device: dingtek/df703, count: 1}]\n');
    expect(demoFleet(own).fleet.name).toBe('mine');
    expect(() => demoFleet('perpinan')).toThrow(UsageError);
    expect(() => demoFleet('perpinan')).toThrow(/no fleet "perpinan" \(did you mean "perpignan"\?\)/);
    expect(() => demoFleet(join(dir, 'none.yaml'))).toThrow(/--fleet: .*none\.yaml is not a file/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\ngateways: []\ndevices: []\n');
    expect(() => demoFleet(bad)).toThrow(UsageError);
    try {
      demoFleet(bad);
    } catch (err) {
      expect((err as Error).message).toMatch(/^--fleet: .*bad\.yaml: /);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
