// The one keys-file module that the gateway and the simulator share: what one writes the other
// reads, both throw the same KeysFileError (so each CLI's `instanceof` catches either), and
// neither puts a key, even a malformed one, into a message.
import { chmodSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeysFileError as GatewayKeysFileError, readDeviceKeysFile, writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { KeysFileError as SimulatorKeysFileError, readKeysFile, writeKeysFile, type KeysFile } from '../simulator/keys-file.ts';
import { checkKeysDocument, KeysFileError, MAX_KEYS_FILE_BYTES, readKeysJson } from './keys-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'devices-keys-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const APP_KEY = '98929b92c49edba9676d646d3b612456';
const SIM: KeysFile = {
  version: 1,
  devices: [
    { devEui: '70b3d5e75e000001', name: 'bin-1', catalogueId: 'dingtek/df703', activation: 'OTAA', joinEui: '70b3d57ed0000000', appKey: APP_KEY, variables: {}, tags: { commune: 'Ille' } },
    { devEui: '70b3d5e75e000002', name: 'bin-2', catalogueId: 'dragino/ldds75', activation: 'ABP', devAddr: '26011bda', nwkSKey: '44024241ed4ce9a68c6a8bc055233fd3', appSKey: 'ec925802ae430ca77fd3dd73cb2cc588', variables: {}, tags: {} },
  ],
};

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not throw');
}

describe('the shared keys file', () => {
  it('is one error class for the gateway and the simulator', () => {
    expect(GatewayKeysFileError).toBe(KeysFileError);
    expect(SimulatorKeysFileError).toBe(KeysFileError);
    // What cli/gateway.ts catches is what the simulator's reader throws, and the other way round.
    expect(thrown(() => readKeysFile(join(dir, 'missing.json')))).toBeInstanceOf(GatewayKeysFileError);
    expect(thrown(() => readDeviceKeysFile(join(dir, 'missing.json')))).toBeInstanceOf(SimulatorKeysFileError);
  });

  it('what the simulator writes the gateway reads (0600), and the other way round', () => {
    const sim = join(dir, 'sim.json');
    writeKeysFile(sim, SIM);
    expect(statSync(sim).mode & 0o777).toBe(0o600);
    expect(readDeviceKeysFile(sim).devices.map((d) => d.devEui)).toEqual(['70b3d5e75e000001', '70b3d5e75e000002']);
    const gw = join(dir, 'gw.json');
    writeDeviceKeysFile(gw, readDeviceKeysFile(sim).devices);
    expect(statSync(gw).mode & 0o777).toBe(0o600);
    // The gateway's file has no registry fields: the simulator's reader names what is missing.
    expect(thrown(() => readKeysFile(gw)).message).toContain('devices[0].name: must be a non-empty string');
  });

  it('refuses a group-readable file where required, naming the file and no key', () => {
    const f = join(dir, 'wide.json');
    writeKeysFile(f, SIM);
    chmodSync(f, 0o640);
    for (const read of [() => readDeviceKeysFile(f), () => readKeysFile(f, { requirePrivateMode: true })]) {
      const err = thrown(read);
      expect(err).toBeInstanceOf(KeysFileError);
      expect(err.message).toContain(f);
      expect(err.message).toContain('chmod 600');
      expect(err.message).not.toContain(APP_KEY);
    }
  });

  it('never quotes a key, not even a malformed one, nor the JSON around a syntax error', () => {
    const f = join(dir, 'bad.json');
    const typo = `${APP_KEY.slice(0, 31)}g`;
    writeFileSync(f, JSON.stringify({ ...SIM, devices: [{ ...SIM.devices[0], appKey: typo }] }), { mode: 0o600 });
    for (const read of [() => readDeviceKeysFile(f), () => readKeysFile(f)]) {
      const msg = thrown(read).message;
      expect(msg).toContain('devices[0].appKey');
      expect(msg).not.toContain(typo);
    }
    writeFileSync(f, `{"version":1,"devices":[{"appKey":"${APP_KEY}" x`, { mode: 0o600 });
    for (const read of [() => readDeviceKeysFile(f), () => readKeysFile(f)]) {
      const msg = thrown(read).message;
      expect(msg).toContain('not valid JSON');
      expect(msg).not.toContain(APP_KEY);
    }
  });

  it('bounds the file size and names duplicates by their place in the file', () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, '', { mode: 0o600 });
    // A sparse file: its size is checked before a byte is read.
    truncateSync(big, MAX_KEYS_FILE_BYTES + 1);
    expect(thrown(() => readKeysJson(big, { requirePrivateMode: true })).message).toContain('more than a keys file may hold');
    // An invalid entry before the duplicate does not shift the index the duplicate is named by.
    const [otaa] = SIM.devices;
    const doc = { version: 1, devices: [{ activation: 'OTAA' }, otaa, otaa] };
    expect(checkKeysDocument(doc).problems).toContain('devices[2].devEui: 70b3d5e75e000001 is also devices[1].devEui');
  });
});
