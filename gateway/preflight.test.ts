import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfig } from './config.ts';
import { preflight } from './preflight.ts';

const dir = mkdtempSync(join(tmpdir(), 'preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (extra: Record<string, unknown>) =>
  checkConfig({ sources: [{ type: 'chirpstack_mqtt', url: 'mqtt://127.0.0.1:1', device_profiles: { 'Bin v1': 'dingtek/df730' } }], ...extra }, join(dir, 'gateway.yaml'), {});

describe('preflight: what start() loads, checked by gateway --check', () => {
  it('names unknown catalogue ids of device_profiles and a missing registry', () => {
    const r = preflight(config({ registry: { devices_file: 'missing.yaml' } }));
    expect(r.problems).toEqual([
      expect.stringMatching(/gateway\.yaml: sources\[0\]\.device_profiles\.Bin v1: unknown catalogue id "dingtek\/df730" \(did you mean "dingtek\/df703"\?\)$/),
      expect.stringMatching(/missing\.yaml: \(file\): the registry file does not exist/),
    ]);
  });

  it('reads the registry as the gateway does: problems with their line, unknown variables as warnings', () => {
    writeFileSync(join(dir, 'devices.yaml'), 'devices:\n  - {dev_eui: a84041000181c9e2, name: b1, model: dingtek/df703, variables: {container_dept_mm: 1200}}\n');
    const r = preflight(config({ registry: { devices_file: 'devices.yaml' } }));
    expect(r.devices).toBe(1);
    expect(r.warnings).toEqual([expect.stringMatching(/devices\.yaml: line 2, devices\[0\]\.variables\.container_dept_mm: unknown variable \(did you mean/)]);
    writeFileSync(join(dir, 'devices.yaml'), 'devices:\n  - dev_eui: a84041000181c9e2\n    name: b1\n    model: nope/nope\n');
    expect(preflight(config({ registry: { devices_file: 'devices.yaml' } })).problems).toContainEqual(expect.stringMatching(/devices\.yaml: line 4, devices\[0\]\.model: unknown catalogue id "nope\/nope"/));
  });
});
