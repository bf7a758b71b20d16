/**
 * The gateway's keys file: the LoRaWAN root and session keys of the devices whose frames the
 * edge network server (gateway/ns/) opens itself. JSON, mode 0600:
 *
 * ```json
 * {"version": 1, "devices": [
 *   {"devEui": "70b3d5e75e000001", "activation": "OTAA", "joinEui": "70b3d57ed0000000", "appKey": "…32 hex…"},
 *   {"devEui": "70b3d5e75e000002", "activation": "ABP", "devAddr": "26a1b2c3", "nwkSKey": "…", "appSKey": "…"}
 * ]}
 * ```
 *
 * The simulator's `--keys` file is a superset of this format (it adds name, catalogueId,
 * variables and tags per device): the gateway reads it as it is and ignores the extra fields.
 *
 * Rules that keep the secrets secret:
 * - the gateway refuses to start when the file is readable or writable by group or others,
 *   and the error names the file (never a key);
 * - the file is written to a temporary file created 0600 and renamed over the target (never
 *   wider, not even for an instant);
 * - nothing in this module puts a key into an error message: problems name the field only.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const KEYS_FILE_VERSION = 1;
/** A keys file for 100,000 devices is ~15 MB; anything much larger is not a keys file. */
export const MAX_KEYS_FILE_BYTES = 64 * 1024 * 1024;

export interface OtaaKeys {
  devEui: string;
  activation: 'OTAA';
  joinEui: string;
  appKey: string;
}

export interface AbpKeys {
  devEui: string;
  activation: 'ABP';
  devAddr: string;
  nwkSKey: string;
  appSKey: string;
}

export type DeviceKeys = OtaaKeys | AbpKeys;

export interface DeviceKeysFile {
  version: 1;
  devices: DeviceKeys[];
}

export class KeysFileError extends Error {
  override readonly name = 'KeysFileError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? ` (and ${problems.length - 10} more)` : ''}`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hexRe = (n: number): RegExp => new RegExp(`^[0-9a-fA-F]{${n}}$`);
const EUI = hexRe(16);
const KEY = hexRe(32);
const ADDR = hexRe(8);

/** Removes separators (`-`, `:`, spaces) and lower-cases; the value itself is never echoed. */
const clean = (v: unknown): unknown => (typeof v === 'string' ? v.trim().replace(/[-:\s]/g, '').toLowerCase() : v);

/**
 * Checks one entry; returns the normalized keys or the problems, each naming the field and
 * never quoting a key (EUIs and DevAddrs are not secret and are quoted).
 */
export function checkDeviceKeys(raw: unknown, at: string): { keys?: DeviceKeys; problems: string[] } {
  const problems: string[] = [];
  if (!isRecord(raw)) return { problems: [`${at}: must be an object`] };
  const field = (key: string, re: RegExp, what: string, secret: boolean): string => {
    const v = clean(raw[key]);
    if (typeof v !== 'string' || !re.test(v)) problems.push(`${at}.${key}: must be ${what} hex digits${secret ? '' : `, got ${JSON.stringify(raw[key] ?? null)}`}`);
    return typeof v === 'string' ? v : '';
  };
  const devEui = field('devEui', EUI, '16', false);
  const activation = raw['activation'];
  if (activation === 'OTAA') {
    const joinEui = field('joinEui', EUI, '16', false);
    const appKey = field('appKey', KEY, '32', true);
    return problems.length ? { problems } : { keys: { devEui, activation, joinEui, appKey }, problems };
  }
  if (activation === 'ABP') {
    const devAddr = field('devAddr', ADDR, '8', false);
    const nwkSKey = field('nwkSKey', KEY, '32', true);
    const appSKey = field('appSKey', KEY, '32', true);
    return problems.length ? { problems } : { keys: { devEui, activation, devAddr, nwkSKey, appSKey }, problems };
  }
  problems.push(`${at}.activation: must be "OTAA" or "ABP", got ${JSON.stringify(activation ?? null)}`);
  return { problems };
}

/** Checks a whole document: every entry, and that DevEUIs and ABP DevAddrs are unique. */
export function checkKeysDocument(doc: unknown): { devices: DeviceKeys[]; problems: string[] } {
  if (!isRecord(doc)) return { devices: [], problems: ['(root): must be an object {"version":1,"devices":[…]}'] };
  const problems: string[] = [];
  if (doc['version'] !== KEYS_FILE_VERSION) problems.push(`version: must be ${KEYS_FILE_VERSION}, got ${JSON.stringify(doc['version'] ?? null)}`);
  const list = doc['devices'];
  if (!Array.isArray(list)) return { devices: [], problems: [...problems, 'devices: must be an array'] };
  const devices: DeviceKeys[] = [];
  list.forEach((raw: unknown, i) => {
    const r = checkDeviceKeys(raw, `devices[${i}]`);
    problems.push(...r.problems);
    if (r.keys) devices.push(r.keys);
  });
  problems.push(...uniqueness(devices, (i) => `devices[${i}]`));
  return { devices, problems };
}

function uniqueness(devices: readonly DeviceKeys[], where: (i: number) => string): string[] {
  const problems: string[] = [];
  const euis = new Map<string, number>();
  const addrs = new Map<string, number>();
  devices.forEach((d, i) => {
    const prev = euis.get(d.devEui);
    if (prev !== undefined) problems.push(`${where(i)}.devEui: ${d.devEui} is also ${where(prev)}`);
    else euis.set(d.devEui, i);
    if (d.activation === 'ABP') {
      const p = addrs.get(d.devAddr);
      if (p !== undefined) problems.push(`${where(i)}.devAddr: ABP DevAddr ${d.devAddr} is also ${where(p)}`);
      else addrs.set(d.devAddr, i);
    }
  });
  return problems;
}

/** Whether a file mode lets anyone but the owner read or write. */
export const modeTooOpen = (mode: number): boolean => (mode & 0o077) !== 0;

/**
 * Reads and checks the keys file. Refuses (KeysFileError naming the file) a file that group or
 * others may read or write, a file over MAX_KEYS_FILE_BYTES, bad JSON, or any bad entry.
 * A missing file is an empty key set only with `allowMissing` (the CLI's import creates it).
 */
export function readDeviceKeysFile(path: string, options: { allowMissing?: boolean } = {}): DeviceKeysFile {
  let text: string;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (options.allowMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, devices: [] };
    throw new KeysFileError(path, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  try {
    const st = fstatSync(fd);
    if (modeTooOpen(st.mode)) {
      throw new KeysFileError(path, [`file mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets group or others read the keys; run: chmod 600 ${path}`]);
    }
    if (st.size > MAX_KEYS_FILE_BYTES) throw new KeysFileError(path, [`${st.size} bytes is more than a keys file may hold (${MAX_KEYS_FILE_BYTES})`]);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // JSON.parse's message may quote part of the text, i.e. a key: say where, not what.
    throw new KeysFileError(path, ['not valid JSON']);
  }
  const { devices, problems } = checkKeysDocument(doc);
  if (problems.length) throw new KeysFileError(path, problems);
  return { version: 1, devices };
}

/** Writes the keys file atomically with mode 0600 from the file's creation on. */
export function writeDeviceKeysFile(path: string, devices: readonly DeviceKeys[]): void {
  const problems = uniqueness(devices, (i) => `devices[${i}]`);
  if (problems.length) throw new KeysFileError(path, problems);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ version: KEYS_FILE_VERSION, devices }, null, 2)}\n`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
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
  problems.push(...uniqueness(out, (i) => (out[i] ? `device ${out[i].devEui}` : `devices[${i}]`)));
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
