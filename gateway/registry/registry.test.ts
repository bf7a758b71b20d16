import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devicesFromCsv, parseCsv } from './csv.ts';
import { loadRegistry, mergeDevices, normalizeEui, parseRegistry, RegistryError, saveRegistry } from './devices-file.ts';

const known = (id: string): boolean => ['dingtek/df703', 'milesight-iot/em310-udl'].includes(id);
const dir = mkdtempSync(join(tmpdir(), 'registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('device registry file', () => {
  it('normalizes EUIs written with separators and case', () => {
    expect(normalizeEui('A8-40-41-00-01-81-C9-E2')).toBe('a84041000181c9e2');
    expect(normalizeEui('a8:40:41:00:01:81:c9:e2')).toBe('a84041000181c9e2');
    expect(normalizeEui('a840410001')).toBeUndefined();
  });

  it('reports every problem with the entry and field', () => {
    const text = `devices:
  - {dev_eui: xx, name: '', model: acme/x, colour: red}
  - {dev_eui: a84041000181c9e2, name: a, model: dingtek/df703, tags: {device: x, 'bad key': y}}
  - {dev_eui: a84041000181c9e2, name: a, model: dingtek/df703}
`;
    try {
      parseRegistry(text, 'devices.yaml', known);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryError);
      const lines = (err as RegistryError).problems.map((p) => `${p.where}: ${p.message}`);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^devices\[0\]\.dev_eui: must be a 16-hex-digit EUI/),
          'devices[0].name: is required (a non-empty string)',
          expect.stringMatching(/^devices\[0\]\.model: unknown catalogue id "acme\/x"/),
          'devices[0].colour: unknown field',
          expect.stringMatching(/^devices\[1\]\.tags\.device: device "a" \(a84041000181c9e2\): tag "device" is set by the gateway itself/),
          expect.stringMatching(/^devices\[1\]\.tags\.bad key: tag key must be/),
        ]),
      );
    }
  });

  it('saves atomically and loads back what it saved', () => {
    const file = join(dir, 'devices.yaml');
    const reg = parseRegistry('devices:\n  - {dev_eui: A84041000181C9E2, name: bin-1, model: dingtek/df703, tags: {commune: centre}, variables: {container_depth_mm: 1200}}\n', 'x', known);
    saveRegistry(file, reg.devices);
    const again = loadRegistry(file, known);
    expect(again.devices).toEqual(reg.devices);
    expect(again.byEui.get('a84041000181c9e2')?.variables['container_depth_mm']).toBe(1200);
    expect(statSync(file).isFile()).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('dev_eui: a84041000181c9e2');
  });

  it('merging refuses a registered DevEUI unless replacing', () => {
    const reg = parseRegistry('devices:\n  - {dev_eui: a84041000181c9e2, name: bin-1, model: dingtek/df703}\n', 'x', known);
    const add = [{ dev_eui: 'a84041000181c9e2', name: 'bin-1b', model: 'dingtek/df703', tags: {}, variables: {} }];
    expect(mergeDevices(reg, add, { where: (i) => `new[${i}]` }).problems[0]?.message).toContain('already registered as "bin-1"');
    const r = mergeDevices(reg, add, { replace: true, where: (i) => `new[${i}]` });
    expect(r.problems).toEqual([]);
    expect(r.devices[0]?.name).toBe('bin-1b');
  });
});

describe('CSV import', () => {
  it('parses quoted fields, CRLF and a BOM', () => {
    expect(parseCsv('\uFEFFa,"b,""c"""\r\n1,2\r\n').rows.map((r) => r.cells)).toEqual([
      ['a', 'b,"c"'],
      ['1', '2'],
    ]);
    expect(parseCsv('a,"b\n').error).toContain('unterminated');
  });

  it('imports devices with tags and typed variables', () => {
    const csv = 'dev_eui,name,model,tag:commune,var:container_depth_mm\nA8-40-41-00-01-81-C9-E2,bin-1,dingtek/df703,centre,1200\n0000000000000002,bin-2,milesight-iot/em310-udl,,\n';
    const r = devicesFromCsv(csv, known);
    expect(r.problems).toEqual([]);
    expect(r.devices).toEqual([
      { dev_eui: 'a84041000181c9e2', name: 'bin-1', model: 'dingtek/df703', tags: { commune: 'centre' }, variables: { container_depth_mm: 1200 } },
      { dev_eui: '0000000000000002', name: 'bin-2', model: 'milesight-iot/em310-udl', tags: {}, variables: {} },
    ]);
  });

  it('names line and column for every problem', () => {
    const csv = 'dev_eui,name,model,colour\n';
    expect(devicesFromCsv(csv, known).problems[0]).toEqual({ where: 'line 1, column 4', message: expect.stringContaining('unknown column "colour"') });
    const bad = 'dev_eui,name,model\nzz,bin-1,dingtek/df703\n0000000000000001,,acme/x\n0000000000000002,bin-3\n';
    const msgs = devicesFromCsv(bad, known).problems.map((p) => `${p.where}: ${p.message}`);
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^line 2, column dev_eui: must be a 16-hex-digit EUI/),
        'line 3, column name: is required (a non-empty string)',
        expect.stringMatching(/^line 3, column model: unknown catalogue id/),
        'line 4: has 2 cells, the header has 3',
      ]),
    );
  });
});
