import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeysFileError, MAX_KEYS_FILE_BYTES, mergeDeviceKeys, readDeviceKeysFile, writeDeviceKeysFile, type DeviceKeys } from './keys-file.ts';
import { parseKeysImport } from './keys-import.ts';

const dir = mkdtempSync(join(tmpdir(), 'keys-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const APP_KEY = '98929b92c49edba9676d646d3b612456';
const otaa: DeviceKeys = { devEui: '3331383274356905', activation: 'OTAA', joinEui: 'aa13693363343639', appKey: APP_KEY };
const abp: DeviceKeys = { devEui: '0000000000000002', activation: 'ABP', devAddr: '26011bda', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588' };

describe('keys file', () => {
  it('is written 0600 and read back; a group/other-readable file is refused, naming the file and no key', () => {
    const f = join(dir, 'keys.json');
    writeDeviceKeysFile(f, [otaa, abp]);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readDeviceKeysFile(f).devices).toEqual([otaa, abp]);
    chmodSync(f, 0o640);
    let err: unknown;
    try {
      readDeviceKeysFile(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeysFileError);
    expect((err as Error).message).toContain(f);
    expect((err as Error).message).toContain('chmod 600');
    expect((err as Error).message).not.toContain(APP_KEY);
  });

  it('problems name the field and never quote a key', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ version: 1, devices: [{ ...otaa, appKey: `${APP_KEY}zz` }, { ...abp, devAddr: 'xyz' }, otaa] }), { mode: 0o600 });
    let msg = '';
    try {
      readDeviceKeysFile(f);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('devices[0].appKey');
    expect(msg).toContain('devices[1].devAddr');
    expect(msg).not.toContain(APP_KEY);
    writeFileSync(f, `{"version":1,"devices":[{"appKey":"${APP_KEY}"`, { mode: 0o600 });
    expect(() => readDeviceKeysFile(f)).toThrow(/not valid JSON/);
  });

  it('merge refuses an existing DevEUI unless replacing; duplicate ABP DevAddrs are refused', () => {
    expect(mergeDeviceKeys([otaa], [otaa], false).problems[0]).toContain('--replace');
    expect(mergeDeviceKeys([otaa], [{ ...otaa, appKey: '0'.repeat(32) }], true).devices).toHaveLength(1);
    const clash = mergeDeviceKeys([abp], [{ ...abp, devEui: '0000000000000003' }], false);
    expect(clash.problems.join()).toContain('DevAddr 26011bda');
  });
});

describe('keys import formats', () => {
  it('reads the simulator --keys JSON as it is (keys and registry entries)', () => {
    const sim = { version: 1, devices: [{ devEui: otaa.devEui, name: 'bin-1', catalogueId: 'dingtek/df703', activation: 'OTAA', joinEui: otaa.activation === 'OTAA' ? otaa.joinEui : '', appKey: APP_KEY, variables: { container_depth_mm: 1200 }, tags: { commune: 'centre' } }] };
    const r = parseKeysImport(JSON.stringify(sim));
    expect(r.problems).toEqual([]);
    expect(r.keys).toEqual([otaa]);
    expect(r.devices).toEqual([{ dev_eui: otaa.devEui, name: 'bin-1', model: 'dingtek/df703', tags: { commune: 'centre' }, variables: { container_depth_mm: 1200 } }]);
  });

  it('gives the JSON the keys-file bounds: forbidden keys (at any level), nesting, size, non-object entries; never a key in a problem', () => {
    const entry = { devEui: '3331383274356905', activation: 'OTAA', joinEui: 'aa13693363343639', appKey: APP_KEY };
    const cases: [string, string][] = [
      [`{"version":1,"__proto__":{"polluted":true},"devices":[]}`, 'key "__proto__" is not allowed'],
      [`{"version":1,"devices":[${JSON.stringify({ ...entry, tags: { constructor: { prototype: 1 } } })}]}`, 'key "devices[0].tags.constructor" is not allowed'],
      [`{"version":1,"devices":[${JSON.stringify({ ...entry, variables: { a: { prototype: 1 } } })}]}`, 'key "devices[0].variables.a.prototype" is not allowed'],
      [`{"version":1,"devices":[],"x":${'['.repeat(100)}${']'.repeat(100)}}`, 'nests deeper than 64 levels'],
      [`{"version":1,"devices":[],"x":${'{"a":'.repeat(70)}{"__proto__":1}${'}'.repeat(70)}}`, 'nests deeper than 64 levels'],
      [`{"version":1,"devices":[null,${JSON.stringify(entry)}]}`, 'devices[0]: must be an object'],
      [`{"version":1,"devices":[{"appKey":"${APP_KEY}",}]}`, 'not valid JSON'],
    ];
    for (const [text, want] of cases) {
      const r = parseKeysImport(text);
      expect(r.problems.join('; '), text.slice(0, 80)).toContain(want);
      expect(r.problems.join('\n')).not.toContain(APP_KEY);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const big = parseKeysImport(`{"version":1,"devices":[],"pad":"${'x'.repeat(MAX_KEYS_FILE_BYTES)}"}`);
    expect(big.problems).toEqual([`${MAX_KEYS_FILE_BYTES + 35} bytes is more than a keys file may hold (${MAX_KEYS_FILE_BYTES})`]);
  });

  it('reads both CSV forms; separators and upper case are normalized; problems name line and column', () => {
    const o = parseKeysImport(`dev_eui,join_eui,app_key\n33-31-38-32-74-35-69-05,AA13693363343639,${APP_KEY.toUpperCase()}\n`);
    expect(o.problems).toEqual([]);
    expect(o.keys).toEqual([otaa]);
    const a = parseKeysImport(`dev_eui,dev_addr,nwk_s_key,app_s_key\r\n0000000000000002,26011BDA,44024241ed4ce9a68c6a8bc055233fd3,ec925802ae430ca77fd3dd73cb2cc588\r\n`);
    expect(a.keys).toEqual([abp]);
    const bad = parseKeysImport(`dev_eui,join_eui,app_key\n0000000000000001,aa13693363343639,123\n`);
    expect(bad.problems).toEqual(['line 2, column app_key: must be 32 hex digits']);
    expect(parseKeysImport('a,b\n1,2\n').problems[0]).toContain('the header must be');
  });
});
