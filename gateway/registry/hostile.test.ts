/**
 * The registry and CSV import against hostile or mistaken input: alias bombs, __proto__,
 * reserved tag keys, variables the model does not declare or cannot use, and CSV as spreadsheet
 * software writes it. Problems carry the file's line.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../devices/catalogue.ts';
import { billionLaughs } from '../../support/hostile-yaml.ts';
import { devicesFromCsv } from './csv.ts';
import { checkDevice, loadRegistry, parseRegistry, problemText, RegistryError, saveRegistry } from './devices-file.ts';

const catalogue = loadCatalogue();
const dir = mkdtempSync(join(tmpdir(), 'registry-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof RegistryError) return err.problems.map(problemText);
    throw err;
  }
  return [];
}

const bin = (extra: string): string => `devices:\n  - dev_eui: a84041000181c9e2\n    name: bin-1\n    model: dingtek/df703\n${extra}`;

describe('registry YAML', () => {
  it('refuses a 600-byte alias bomb in one line naming the file', () => {
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, `${billionLaughs()}devices: []\n`);
    expect(problemsOf(() => loadRegistry(file, catalogue))).toEqual([expect.stringMatching(/^\(yaml\): the document expands to more than \d+ nodes/)]);
    try {
      loadRegistry(file, catalogue);
    } catch (err) {
      expect((err as Error).message.split('\n')).toHaveLength(1);
      expect((err as Error).message).toContain('bomb.yaml');
    }
  });

  it('refuses __proto__ / constructor keys with the line and path', () => {
    expect(problemsOf(() => parseRegistry(bin('    variables:\n      __proto__: {container_depth_mm: 1}\n'), 'r.yaml', catalogue))).toEqual([
      'line 6, devices[0].variables.__proto__: key "devices[0].variables.__proto__" is not allowed (__proto__, constructor and prototype are reserved)',
    ]);
  });

  it('refuses reserved and clashing tag keys where they are written', () => {
    const text = bin('    tags:\n      time: morning\n      DEV_EUI: x\n      fill_pct: "3"\n      commune: centre\n');
    const problems = problemsOf(() => parseRegistry(text, 'r.yaml', catalogue));
    expect(problems).toEqual([
      expect.stringMatching(/^line 6, devices\[0\]\.tags\.time: device "bin-1" \(a84041000181c9e2\): tag "time" is InfluxDB's timestamp/),
      expect.stringMatching(/^line 7, devices\[0\]\.tags\.DEV_EUI: device "bin-1" \(a84041000181c9e2\): tag "DEV_EUI" clashes with the gateway's own tag "dev_eui"/),
      expect.stringMatching(/^line 8, devices\[0\]\.tags\.fill_pct: device "bin-1" \(a84041000181c9e2\): tag "fill_pct" clashes with the field "fill_pct"/),
    ]);
    // InfluxDB 2 discards every point carrying these two: refused, naming file, device and key.
    expect(problemsOf(() => parseRegistry(bin('    tags: {_field: x, _measurement: y}\n'), 'r.yaml', catalogue))).toEqual([
      'line 5, devices[0].tags._field: device "bin-1" (a84041000181c9e2): tag "_field" is reserved by InfluxDB 2 (as "_field"), which discards every point of the device that carries it',
      'line 5, devices[0].tags._measurement: device "bin-1" (a84041000181c9e2): tag "_measurement" is reserved by InfluxDB 2 (as "_measurement"), which discards every point of the device that carries it',
    ]);
    // `dev_eui ` with a trailing space is refused too (not a valid tag key at all).
    expect(checkDevice({ dev_eui: 'a84041000181c9e2', name: 'b', model: 'dingtek/df703', tags: { 'dev_eui ': 'x' } }, 'device', catalogue).problems).toHaveLength(1);
  });

  it('checks variables against the model: typo → did you mean, abc / -5 / 1e999 / .inf refused, offset below depth', () => {
    const text = `devices:
  - {dev_eui: a84041000181c9e2, name: b1, model: dingtek/df703, variables: {container_dept_mm: 1200}}
  - {dev_eui: a84041000181c9e3, name: b2, model: dingtek/df703, variables: {container_depth_mm: abc}}
  - {dev_eui: a84041000181c9e4, name: b3, model: dingtek/df703, variables: {container_depth_mm: -5}}
  - {dev_eui: a84041000181c9e5, name: b4, model: dingtek/df703, variables: {container_depth_mm: 1e999}}
  - {dev_eui: a84041000181c9e6, name: b5, model: dingtek/df703, variables: {container_depth_mm: .inf}}
  - {dev_eui: a84041000181c9e7, name: b6, model: dingtek/df703, variables: {container_depth_mm: 500, sensor_offset_mm: 600}}
`;
    // Written (devices add / import): the typo is an error.
    expect(problemsOf(() => parseRegistry(text, 'r.yaml', catalogue, 'write'))).toEqual([
      expect.stringMatching(/^line 2, devices\[0\]\.variables\.container_dept_mm: unknown variable \(did you mean "container_depth_mm"\?\)/),
      'line 3, devices[1].variables.container_depth_mm: must be a number, got "abc"',
      'line 4, devices[2].variables.container_depth_mm: must be more than 0 and at most 20000 mm, got -5',
      'line 5, devices[3].variables.container_depth_mm: must be a finite number, got "1e999"',
      'line 6, devices[4].variables.container_depth_mm: must be a finite number, got Infinity',
      'line 7, devices[5].variables.sensor_offset_mm: must be less than container_depth_mm (500), got 600',
    ]);
    // Read (the gateway): the typo is a warning, the device stays.
    const reg = parseRegistry(`devices:\n  - {dev_eui: a84041000181c9e2, name: b1, model: dingtek/df703, variables: {container_dept_mm: 1200}}\n`, 'r.yaml', catalogue, 'read');
    expect(reg.devices).toHaveLength(1);
    expect(reg.warnings?.map(problemText)).toEqual([expect.stringMatching(/^line 2, devices\[0\]\.variables\.container_dept_mm: unknown variable \(did you mean/)]);
  });

  it('a configured registry that does not exist is an error; an empty one a warning', () => {
    expect(problemsOf(() => loadRegistry(join(dir, 'typo.yaml'), catalogue, { mustExist: true }))).toEqual([expect.stringMatching(/^\(file\): the registry file does not exist/)]);
    expect(loadRegistry(join(dir, 'typo.yaml'), catalogue).devices).toEqual([]); // devices add creates it
    writeFileSync(join(dir, 'empty.yaml'), '# nothing yet\n');
    expect(loadRegistry(join(dir, 'empty.yaml'), catalogue, { mustExist: true }).warnings?.[0]?.message).toMatch(/empty/);
  });

  it('a failed save leaves no temp file behind', () => {
    const target = join(dir, 'is-a-dir.yaml');
    mkdirSync(target);
    expect(() => saveRegistry(target, [])).toThrow();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(existsSync(target)).toBe(true);
  });
});

describe('CSV import', () => {
  it('reads semicolon-separated files with case-insensitive headers and decimal commas', () => {
    const csv = 'DEV_EUI;Name;MODEL;Tag:commune;VAR:container_depth_mm;var:sensor_offset_mm\nA8-40-41-00-01-81-C9-E2;bin-1;dingtek/df703;centre;1200,5;50\n';
    const r = devicesFromCsv(csv, catalogue);
    expect(r.problems).toEqual([]);
    expect(r.devices[0]).toMatchObject({ dev_eui: 'a84041000181c9e2', name: 'bin-1', tags: { commune: 'centre' }, variables: { container_depth_mm: 1200.5, sensor_offset_mm: 50 } });
  });

  it('reports every problem of the file in one pass as line N, column c', () => {
    const csv = [
      'dev_eui,name,model,colour,var:container_depth_mm,tag:time',
      'a84041000181c9e2,bin-1,dingtek/df703,red,abc,',
      'not-an-eui,bin-2,dingtek/df70,red,1e999,',
      'a84041000181c9e4,bin-3,dingtek/df703,red,1200,morning',
      'a84041000181c9e5,bin-4,dingtek/df703,red,1200,',
      'a84041000181c9e5,bin-5,dingtek/df703,red,1200,',
    ].join('\n');
    const lines = devicesFromCsv(csv, catalogue).problems.map((p) => `${p.where}: ${p.message}`);
    expect(lines).toEqual([
      'line 1, column 4: unknown column "colour" (expected dev_eui, name, model, tag:<key>, var:<key>)',
      'line 2, column var:container_depth_mm: must be a number, got "abc"',
      expect.stringMatching(/^line 3, column dev_eui: must be a 16-hex-digit EUI/),
      expect.stringMatching(/^line 3, column model: unknown catalogue id "dingtek\/df70" \(did you mean "dingtek\/df703"\?\)/),
      'line 3, column var:container_depth_mm: must be a finite number, got Infinity',
      expect.stringMatching(/^line 4, column tag:time: device "bin-3" \(a84041000181c9e4\): tag "time" is InfluxDB's timestamp/),
      'line 6, column dev_eui: DevEUI a84041000181c9e5 is also on line 5',
    ]);
  });
});
