/**
 * The keys file: the LoRaWAN root or session keys of devices, one JSON format read and written
 * by the gateway (its edge network server opens frames with them) and by the simulator (which
 * writes its fleet's keys with `--keys`, and `provision` adds to it). Mode 0600:
 *
 * ```json
 * {"version": 1, "devices": [
 *   {"devEui": "70b3d5e75e000001", "activation": "OTAA", "joinEui": "70b3d57ed0000000", "appKey": "…32 hex…"},
 *   {"devEui": "70b3d5e75e000002", "activation": "ABP", "devAddr": "26a1b2c3", "nwkSKey": "…", "appSKey": "…"}
 * ]}
 * ```
 *
 * The simulator's entries also carry name, catalogueId, variables and tags (its checks add
 * theirs through `checkKeysDocument`'s `checkEntry`); the gateway ignores those fields. EUIs and
 * the DevAddr are in display (big-endian) order; hex is written lowercase, and read with
 * separators (`-`, `:`, spaces) and upper case allowed.
 *
 * Rules that keep the secrets secret:
 * - a reader that requires it refuses a file readable or writable by group or others (the
 *   gateway always does), and the error names the file, never a key;
 * - the file is written to a temporary file created 0600 and renamed over the target (never
 *   wider, not even for an instant; an existing wider file is replaced, not reused);
 * - nothing here puts a key into an error message, not even a malformed one (a key with a typo
 *   is still nearly the key): problems name the field only. JSON syntax errors are not quoted
 *   either, since the parser's message may quote the text around the error.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseJsonSafe } from './safe-json.ts';
import { YamlError } from './safe-yaml.ts';

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

export class KeysFileError extends Error {
  override readonly name = 'KeysFileError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? ` (and ${problems.length - 10} more)` : ''}`);
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
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

/**
 * Checks a whole document: the version, every entry (with `checkEntry` for the fields a caller
 * adds), and that DevEUIs and ABP DevAddrs are unique. Without problems, `devices[i]` holds the
 * normalized keys of entry i.
 */
export function checkKeysDocument(doc: unknown, checkEntry?: (raw: Record<string, unknown>, at: string) => string[]): { devices: DeviceKeys[]; problems: string[] } {
  if (!isRecord(doc)) return { devices: [], problems: ['(root): must be an object {"version":1,"devices":[…]}'] };
  const problems: string[] = [];
  if (doc['version'] !== KEYS_FILE_VERSION) problems.push(`version: must be ${KEYS_FILE_VERSION}, got ${JSON.stringify(doc['version'] ?? null)}`);
  const list = doc['devices'];
  if (!Array.isArray(list)) return { devices: [], problems: [...problems, 'devices: must be an array'] };
  const devices: DeviceKeys[] = [];
  // Every entry with a readable DevEUI (DevAddr) counts for uniqueness, even one with other
  // problems: the file's author hears of all of them at once.
  const ids: DeviceIds[] = [];
  list.forEach((raw: unknown, i) => {
    const r = checkDeviceKeys(raw, `devices[${i}]`);
    problems.push(...r.problems);
    if (!isRecord(raw)) return;
    if (checkEntry) problems.push(...checkEntry(raw, `devices[${i}]`));
    if (r.keys) devices.push(r.keys);
    const devEui = clean(raw['devEui']);
    const devAddr = raw['activation'] === 'ABP' ? clean(raw['devAddr']) : undefined;
    if (typeof devEui === 'string' && EUI.test(devEui)) ids.push({ devEui, devAddr: typeof devAddr === 'string' && ADDR.test(devAddr) ? devAddr : undefined, at: `devices[${i}]` });
  });
  problems.push(...uniqueness(ids));
  return { devices, problems };
}

interface DeviceIds {
  devEui: string;
  devAddr: string | undefined;
  at: string;
}

function uniqueness(ids: readonly DeviceIds[]): string[] {
  const problems: string[] = [];
  const euis = new Map<string, string>();
  const addrs = new Map<string, string>();
  for (const { devEui, devAddr, at } of ids) {
    const prev = euis.get(devEui);
    if (prev !== undefined) problems.push(`${at}.devEui: ${devEui} is also ${prev}.devEui`);
    else euis.set(devEui, at);
    if (devAddr === undefined) continue;
    const p = addrs.get(devAddr);
    if (p !== undefined) problems.push(`${at}.devAddr: ABP DevAddr ${devAddr} is also ${p}.devAddr`);
    else addrs.set(devAddr, at);
  }
  return problems;
}

/** Problems where two entries share a DevEUI, or two ABP entries a DevAddr; `where(i)` names entry i. */
export function keysUniqueness(devices: readonly DeviceKeys[], where: (i: number) => string): string[] {
  return uniqueness(devices.map((d, i) => ({ devEui: d.devEui, devAddr: d.activation === 'ABP' ? d.devAddr : undefined, at: where(i) })));
}

/** Whether a file mode lets anyone but the owner read or write. */
export const modeTooOpen = (mode: number): boolean => (mode & 0o077) !== 0;

export interface ReadKeysJsonOptions {
  /** Refuse a file that group or others may read or write. */
  requirePrivateMode: boolean;
  /** A missing file gives `undefined` instead of an error. */
  allowMissing?: boolean;
}

/**
 * Reads a keys file's JSON (not yet checked as a keys document). Refuses, with a KeysFileError
 * naming the file: an unreadable file, a too-open mode (when required), a file over
 * MAX_KEYS_FILE_BYTES, bad JSON and `__proto__`/`constructor`/`prototype` keys.
 */
export function readKeysJson(path: string, options: ReadKeysJsonOptions): unknown {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (options.allowMissing && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeysFileError(path, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (options.requirePrivateMode && modeTooOpen(st.mode)) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new KeysFileError(path, [`file mode ${mode} lets others read the keys (group or others may read or write it); run: chmod 600 ${path}`]);
    }
    if (st.size > MAX_KEYS_FILE_BYTES) throw new KeysFileError(path, [`${st.size} bytes is more than a keys file may hold (${MAX_KEYS_FILE_BYTES})`]);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  try {
    return parseJsonSafe(text, path);
  } catch (err) {
    if (err instanceof YamlError) throw new KeysFileError(path, [err.detail]);
    throw new KeysFileError(path, ['not valid JSON']);
  }
}

/** Writes `doc` as the keys file atomically, with mode 0600 from the file's creation on. */
export function writeKeysJson(path: string, doc: unknown): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(doc, null, 2)}\n`);
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
  // The rename is durable only once the folder is synced.
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
