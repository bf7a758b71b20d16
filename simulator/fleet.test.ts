import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import { loadCatalogue } from '../devices/catalogue.ts';
import { billionLaughs } from '../support/hostile-yaml.ts';
import { FleetError, loadFleet, parseFleet } from './fleet.ts';
import { expandFleet } from './population.ts';

const FLEETS = join(import.meta.dirname, 'fleets');
const catalogue = loadCatalogue();
const lookup = (id: string) => {
  const entry = catalogue.byId.get(id);
  const codec = entry && typeof entry.codec === 'string' ? nativeCodec(entry.codec) : undefined;
  return entry && codec ? { entry, codec } : undefined;
};

describe('fleet files', () => {
  it('demo.yaml: about 30 devices of every category', () => {
    const pop = expandFleet(loadFleet(join(FLEETS, 'demo.yaml')), { lookup });
    expect(pop.devices.length).toBe(30);
    expect(new Set(pop.devices.map((d) => d.category))).toEqual(new Set(['bin-fill', 'water-meter', 'air-quality']));
    expect(new Set(pop.devices.map((d) => d.devEui)).size).toBe(30);
    expect(pop.devices.some((d) => d.keys.activation === 'ABP')).toBe(true);
  });

  it('city.yaml: 4,000 bins, 5,000 water meters, 1,000 air probes, 12 gateways', () => {
    const fleet = loadFleet(join(FLEETS, 'city.yaml'));
    expect(fleet.gateways).toHaveLength(12);
    const pop = expandFleet(fleet, { lookup });
    const count = (c: string): number => pop.devices.filter((d) => d.category === c).length;
    expect([count('bin-fill'), count('water-meter'), count('air-quality')]).toEqual([4000, 5000, 1000]);
    expect(new Set(pop.devices.map((d) => d.devEui)).size).toBe(10_000);
    // Devices are spread over the city: several spreading factors, most heard by a near gateway.
    expect(new Set(pop.devices.map((d) => d.spreadingFactor)).size).toBeGreaterThan(1);
  });

  it('perpignan.yaml: drop-off points in eight real communes of Perpignan Méditerranée Métropole, water and air on the same network', () => {
    const pop = expandFleet(loadFleet(join(FLEETS, 'perpignan.yaml')), { lookup });
    const bins = pop.devices.filter((d) => d.category === 'bin-fill');
    const communes = new Set(bins.map((d) => d.tags['commune']));
    expect(communes).toEqual(new Set(['Perpignan', 'Canet-en-Roussillon', 'Saint-Estève', 'Cabestany', 'Rivesaltes', 'Bompas', 'Saint-Laurent-de-la-Salanque', 'Toulouges']));
    expect(new Set(pop.devices.map((d) => d.category))).toEqual(new Set(['bin-fill', 'water-meter', 'air-quality']));
    // Every device sits in the Roussillon plain (around 42.6–42.8 N, 2.8–3.05 E), near its commune.
    for (const d of pop.devices) {
      expect(d.position.lat).toBeGreaterThan(42.6);
      expect(d.position.lat).toBeLessThan(42.8);
      expect(d.position.lon).toBeGreaterThan(2.8);
      expect(d.position.lon).toBeLessThan(3.05);
    }
    expect(new Set(pop.devices.map((d) => d.devEui)).size).toBe(pop.devices.length);
  });

  it('dijon.yaml: household-waste bins and river level stations on the Ouche and the Suzon', () => {
    const pop = expandFleet(loadFleet(join(FLEETS, 'dijon.yaml')), { lookup });
    const stations = pop.devices.filter((d) => d.tags['river'] !== undefined);
    expect(new Set(stations.map((d) => d.tags['river']))).toEqual(new Set(['ouche', 'suzon']));
    for (const s of stations) {
      expect(s.variables['mount_height_mm'], s.name).toBeTypeOf('number');
      expect(s.model.constructor.name, s.name).toBe('RiverLevelModel');
    }
    const bins = pop.devices.filter((d) => d.tags['river'] === undefined);
    expect(bins.length).toBeGreaterThan(20);
    expect(bins.every((d) => d.model.constructor.name === 'BinFillModel')).toBe(true);
    expect(new Set(bins.map((d) => d.tags['commune']))).toContain('Dijon');
    for (const d of pop.devices) {
      expect(Math.abs(d.position.lat - 47.33)).toBeLessThan(0.1);
      expect(Math.abs(d.position.lon - 5.03)).toBeLessThan(0.1);
    }
  });

  it('a river station variable is validated like the fill geometry (name, range)', () => {
    const fleet = (v: string): string => `name: x
gateways: [{id: 0016c001f1210001, lat: 47.3, lon: 5.0}]
devices:
  - {device: milesight-iot/em500-udl, count: 1, variables: {${v}}}
`;
    const problems = (v: string): string => {
      try {
        expandFleet(parseFleet(fleet(v), 'x.yaml'), { lookup });
        return '';
      } catch (err) {
        return err instanceof FleetError ? err.problems.join('\n') : String(err);
      }
    };
    expect(problems('mount_height_mm: 4200')).toBe('');
    expect(problems('mount_heigth_mm: 4200')).toContain('did you mean "mount_height_mm"');
    expect(problems('mount_height_mm: -3')).toContain('must be more than 0');
    expect(problems('mount_height_mm: abc')).toContain('must be a number');
  });

  it('expands the same way for the same seed', () => {
    const fleet = loadFleet(join(FLEETS, 'demo.yaml'));
    const a = expandFleet(fleet, { lookup, seed: 3 }).devices.map((d) => [d.devEui, d.keys, d.position]);
    const b = expandFleet(fleet, { lookup, seed: 3 }).devices.map((d) => [d.devEui, d.keys, d.position]);
    const c = expandFleet(fleet, { lookup, seed: 4 }).devices.map((d) => [d.devEui, d.keys, d.position]);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('errors name the key', () => {
    const bad = `name: x
gateways: [{id: zz, lat: 1, lon: 2}]
devices:
  - {device: dingtek/df703, count: 0}
  - {device: dingtek/df703, count: 2, colour: red}
`;
    try {
      parseFleet(bad, 'bad.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FleetError);
      const msg = (err as FleetError).problems.join('\n');
      expect(msg).toContain('gateways[0].id: must match pattern');
      expect(msg).toContain('devices[0].count: must be >= 1');
      expect(msg).toContain('devices[1].colour: unknown key');
    }
    expect(() => expandFleet(parseFleet('name: x\ngateways: [{id: 0016c001f1530001, lat: 1, lon: 2}]\ndevices: [{device: acme/nope, count: 1}]'), { lookup })).toThrow(
      'devices[0].device: unknown catalogue id "acme/nope"',
    );
  });

  it('refuses an alias bomb and __proto__ in the fleet YAML with one line naming the file', () => {
    expect(() => parseFleet(`${billionLaughs('x_')}name: bomb\n`, 'bomb.yaml')).toThrow(/^bomb\.yaml: the document expands to more than \d+ nodes/);
    expect(() => parseFleet('name: p\n__proto__: {devices: []}\n', 'p.yaml')).toThrow(/p\.yaml: key "__proto__" is not allowed/);
  });

  it('checks each group\'s variables against the catalogue entry (typo, bad value)', () => {
    const fleet = (vars: string): string => `name: t\ngateways: [{id: 0016c001f1530001, lat: 52, lon: 5}]\ndevices:\n  - {device: dingtek/df703, count: 1, variables: ${vars}}\n`;
    expect(() => expandFleet(parseFleet(fleet('{container_dept_mm: 1200}'), 'f.yaml'), { lookup })).toThrow(/devices\[0\]\.variables\.container_dept_mm: unknown variable \(did you mean "container_depth_mm"\?\)/);
    expect(() => expandFleet(parseFleet(fleet('{container_depth_mm: .inf}'), 'f.yaml'), { lookup })).toThrow(/must be a finite number/);
    expect(expandFleet(parseFleet(fleet('{container_depth_mm: "1250"}'), 'f.yaml'), { lookup }).devices[0]?.variables['container_depth_mm']).toBe(1250);
  });
});

