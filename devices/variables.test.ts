import { describe, expect, it } from 'vitest';
import { loadCatalogue } from './catalogue.ts';
import { closest, didYouMean } from './did-you-mean.ts';
import { checkVariables, declaredVariables } from './variables.ts';

const catalogue = loadCatalogue();
const specs = (id: string) => catalogue.byId.get(id)?.variables;

describe('checkVariables against the catalogue declarations', () => {
  it('converts CLI/CSV strings, accepts aliases and other cases of a declared name', () => {
    expect(checkVariables({ container_depth_mm: '1200', SENSOR_OFFSET_MM: 50 }, specs('dingtek/df703'), 'write')).toEqual({ values: { container_depth_mm: 1200, sensor_offset_mm: 50 }, problems: [] });
    expect(checkVariables({ litres_per_pulse: '0.5' }, specs('milesight-iot/em300-di'), 'write')).toEqual({ values: { litres_per_pulse: 0.5 }, problems: [] });
  });

  it('refuses what no codec can use, with the reason', () => {
    const r = checkVariables({ container_depth_mm: 'abc', sensor_offset_mm: '1e999' }, specs('dingtek/df703'), 'write');
    expect(r.problems.map((p) => `${p.name}: ${p.message}`)).toEqual(['container_depth_mm: must be a number, got "abc"', 'sensor_offset_mm: must be a finite number, got "1e999"']);
    expect(checkVariables({ naming: 'milesite' }, specs('milesight-iot/em310-udl'), 'write').problems[0]?.message).toBe('must be one of ttn, milesight, got "milesite" (did you mean "milesight"?)');
    expect(checkVariables({ uplink_fport: 1.5 }, specs('decentlab/dl-pm'), 'write').problems[0]?.message).toBe('must be a whole number, got 1.5');
    expect(checkVariables({ x: Infinity }, undefined, 'read').problems[0]?.message).toBe('must be a finite number, got Infinity');
  });

  it('an unknown name is an error where written, a warning where read, with a suggestion', () => {
    const w = checkVariables({ container_dept_mm: 1200 }, specs('dingtek/df703'), 'write', 'dingtek/df703');
    expect(w.problems).toEqual([{ name: 'container_dept_mm', severity: 'error', message: 'unknown variable (did you mean "container_depth_mm"?); dingtek/df703 declares container_depth_mm, sensor_offset_mm' }]);
    expect(checkVariables({ container_dept_mm: 1200 }, specs('dingtek/df703'), 'read').problems[0]?.severity).toBe('warning');
    const native = catalogue.byId.get('elsys/ers-co2');
    expect(checkVariables({ anything: 1 }, native && declaredVariables(native), 'write', 'elsys/ers-co2').problems[0]?.message).toBe('unknown variable; elsys/ers-co2 declares no variables');
    // A vendor script without declarations may read any variable: only values are checked.
    const script = catalogue.byId.get('acme/bin-sensor');
    expect(checkVariables({ anything: 1, bad: Infinity }, script && declaredVariables(script), 'write').problems.map((p) => p.name)).toEqual(['bad']);
  });
});

describe('did you mean', () => {
  it('suggests near misses and prefixes, not unrelated names', () => {
    expect(closest('bins', ['bin-fill', 'water-meter', 'air-quality', 'generic'])).toBe('bin-fill');
    expect(closest('dingtek/df730', ['dingtek/df703', 'dragino/ldds75'])).toBe('dingtek/df703');
    expect(didYouMean('zzz', ['bin-fill', 'generic'])).toBe('');
    expect(didYouMean('bin-fill', ['bin-fill'])).toBe('');
  });
});
