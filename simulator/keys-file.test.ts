import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeysFileError, readKeysFile, validateKeysFile, writeKeysFile, type KeysFile } from './keys-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DOC: KeysFile = {
  version: 1,
  devices: [
    { devEui: '70b3d5e75e000001', name: 'bin-1', catalogueId: 'dingtek/df703', activation: 'OTAA', joinEui: '70b3d57ed0000000', appKey: '00112233445566778899aabbccddeeff', variables: { container_depth_mm: 1200 }, tags: { commune: 'north' } },
    { devEui: '70b3d5e75e000002', name: 'bin-2', catalogueId: 'dragino/ldds75', activation: 'ABP', devAddr: '26011bda', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588', variables: {}, tags: {} },
  ],
};

describe('keys file', () => {
  it('is written with mode 0600 (replacing a wider file) and reads back', () => {
    const path = join(dir, 'keys.json');
    writeFileSync(path, 'old', { mode: 0o644 });
    writeKeysFile(path, DOC);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readKeysFile(path, { requirePrivateMode: true })).toEqual(DOC);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(DOC);
  });

  it('validation names the field at fault', () => {
    const bad = {
      version: 2,
      devices: [
        { ...DOC.devices[0], appKey: 'XYZ' },
        { ...DOC.devices[1], devEui: DOC.devices[0]?.devEui, activation: 'ABP' },
        { devEui: '70b3d5e75e000003', name: '', catalogueId: 'nope', activation: 'MAGIC', tags: { a: 1 } },
      ],
    };
    const problems = validateKeysFile(bad);
    expect(problems).toContain('version: must be 1, got 2');
    // A key is never quoted, not even a malformed one (see devices/keys-file.ts).
    expect(problems).toContain('devices[0].appKey: must be 32 hex digits');
    expect(problems).toContain('devices[1].devEui: 70b3d5e75e000001 is also devices[0].devEui');
    expect(problems).toContain('devices[2].activation: must be "OTAA" or "ABP", got "MAGIC"');
    expect(problems).toContain('devices[2].tags.a: must be a string');
    expect(problems.some((p) => p.startsWith('devices[2].catalogueId'))).toBe(true);
    expect(() => writeKeysFile(join(dir, 'never.json'), bad as unknown as KeysFile)).toThrow(KeysFileError);
  });

  it('refuses a group-readable file when asked to, and reports unreadable files', () => {
    const path = join(dir, 'wide.json');
    writeFileSync(path, JSON.stringify(DOC), { mode: 0o644 });
    expect(() => readKeysFile(path, { requirePrivateMode: true })).toThrow(/0644 lets others read/);
    expect(readKeysFile(path).devices).toHaveLength(2);
    expect(() => readKeysFile(join(dir, 'missing.json'))).toThrow(/cannot read/);
  });

  it('refuses __proto__ / constructor keys in the JSON, naming the path', () => {
    const path = join(dir, 'proto.json');
    writeFileSync(path, JSON.stringify(DOC).replace('"devices":[', '"__proto__":{"polluted":true},"devices":['), { mode: 0o600 });
    expect(() => readKeysFile(path)).toThrow(/key "__proto__" is not allowed/);
    writeFileSync(path, JSON.stringify(DOC).replace('"variables":{', '"variables":{"constructor":{"x":1},'), { mode: 0o600 });
    expect(() => readKeysFile(path)).toThrow(/devices\[0\]\.variables\.constructor/);
  });
});

