/**
 * The gateway's use of the keys file (format, checks and safe reading/writing live in
 * devices/keys-file.ts, shared with the simulator): the gateway always refuses a keys file that
 * group or others may read or write, and its edge network server looks keys up by DevEUI.
 */
import {
  checkKeysDocument,
  KEYS_FILE_VERSION,
  keysUniqueness,
  KeysFileError,
  readKeysJson,
  writeKeysJson,
  type AbpKeys,
  type DeviceKeys,
  type OtaaKeys,
} from '../../devices/keys-file.ts';

export {
  checkDeviceKeys,
  checkKeysDocument,
  KEYS_FILE_VERSION,
  KeysFileError,
  MAX_KEYS_FILE_BYTES,
  modeTooOpen,
  type AbpKeys,
  type DeviceKeys,
  type OtaaKeys,
} from '../../devices/keys-file.ts';

export interface DeviceKeysFile {
  version: 1;
  devices: DeviceKeys[];
}

/**
 * Reads and checks the keys file. Refuses (KeysFileError naming the file) a file that group or
 * others may read or write, a file over MAX_KEYS_FILE_BYTES, bad JSON, or any bad entry.
 * A missing file is an empty key set only with `allowMissing` (the CLI's import creates it).
 */
export function readDeviceKeysFile(path: string, options: { allowMissing?: boolean } = {}): DeviceKeysFile {
  const doc = readKeysJson(path, { requirePrivateMode: true, allowMissing: options.allowMissing === true });
  if (doc === undefined) return { version: 1, devices: [] };
  const { devices, problems } = checkKeysDocument(doc);
  if (problems.length) throw new KeysFileError(path, problems);
  return { version: 1, devices };
}

/** Writes the keys file atomically with mode 0600 from the file's creation on. */
export function writeDeviceKeysFile(path: string, devices: readonly DeviceKeys[]): void {
  const problems = keysUniqueness(devices, (i) => `devices[${i}]`);
  if (problems.length) throw new KeysFileError(path, problems);
  writeKeysJson(path, { version: KEYS_FILE_VERSION, devices });
}

/** Adds (or with `replace`, updates) entries by DevEUI; reports conflicts without writing. */
export function mergeDeviceKeys(current: readonly DeviceKeys[], additions: readonly DeviceKeys[], replace: boolean): { devices: DeviceKeys[]; problems: string[] } {
  const out = [...current];
  const problems: string[] = [];
  const at = new Map(out.map((d, i) => [d.devEui, i]));
  for (const d of additions) {
    const i = at.get(d.devEui);
    if (i === undefined) {
      at.set(d.devEui, out.length);
      out.push(d);
    } else if (replace) out[i] = d;
    else problems.push(`${d.devEui}: already has keys in the keys file (use --replace to update them)`);
  }
  problems.push(...keysUniqueness(out, (i) => (out[i] ? `device ${out[i].devEui}` : `devices[${i}]`)));
  return { devices: out, problems };
}

/** The keys by the lookups the network server makes. */
export interface KeyIndex {
  otaa: Map<string, OtaaKeys>;
  abp: Map<string, AbpKeys>;
}

export function indexKeys(devices: readonly DeviceKeys[]): KeyIndex {
  const otaa = new Map<string, OtaaKeys>();
  const abp = new Map<string, AbpKeys>();
  for (const d of devices) {
    if (d.activation === 'OTAA') otaa.set(d.devEui, d);
    else abp.set(d.devEui, d);
  }
  return { otaa, abp };
}
