/**
 * What `lorawan-edge keys import <file>` accepts, recognised by content:
 *
 * - JSON: the simulator's `--keys` file as it is (`{"version":1,"devices":[…]}`; its name,
 *   catalogueId, variables and tags become registry entries when a registry is given), or the
 *   gateway's own keys file;
 * - CSV with the header `dev_eui,join_eui,app_key` (OTAA) or `dev_eui,dev_addr,nwk_s_key,app_s_key`
 *   (ABP); EUIs may be written with separators and in upper case.
 *
 * Problems name the entry (`devices[3].appKey`, `line 5, column app_key`), never a key value.
 * The JSON gets the keys-file reader's bounds (devices/keys-file.ts): at most MAX_KEYS_FILE_BYTES,
 * no `__proto__`/`constructor`/`prototype` key, at most 64 levels deep; a syntax error is not
 * quoted (the parser's message may quote a key next to it).
 */
import { parseCsv } from './csv.ts';
import type { RegisteredDevice } from './devices-file.ts';
import { parseJsonSafe } from '../../devices/safe-json.ts';
import { YamlError } from '../../devices/safe-yaml.ts';
import { isRecord } from '../../devices/keys-file.ts';
import { checkDeviceKeys, checkKeysDocument, MAX_KEYS_FILE_BYTES, type DeviceKeys } from './keys-file.ts';

/** A registry entry carried by the simulator's keys file (checked by the caller with checkDevice). */
export type ImportedDevice = RegisteredDevice;

export interface KeysImport {
  keys: DeviceKeys[];
  /** registry entries (only from the simulator's JSON) */
  devices: ImportedDevice[];
  problems: string[];
}

const OTAA_COLUMNS = ['dev_eui', 'join_eui', 'app_key'];
const ABP_COLUMNS = ['dev_eui', 'dev_addr', 'nwk_s_key', 'app_s_key'];

export function parseKeysImport(text: string): KeysImport {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_KEYS_FILE_BYTES) return { keys: [], devices: [], problems: [`${bytes} bytes is more than a keys file may hold (${MAX_KEYS_FILE_BYTES})`] };
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('{')) return fromJson(trimmed);
  return fromCsv(text);
}

function fromJson(text: string): KeysImport {
  let doc: unknown;
  try {
    doc = parseJsonSafe(text, 'keys import');
  } catch (err) {
    return { keys: [], devices: [], problems: [err instanceof YamlError ? err.detail : 'not valid JSON'] };
  }
  const { devices: keys, problems } = checkKeysDocument(doc);
  const devices: ImportedDevice[] = [];
  const list = (doc as { devices?: unknown }).devices;
  if (Array.isArray(list)) {
    for (const raw of list as unknown[]) {
      // A non-object entry is already a problem of checkKeysDocument; it carries no device.
      if (!isRecord(raw)) continue;
      const eui = typeof raw['devEui'] === 'string' ? raw['devEui'].toLowerCase() : '';
      if (typeof raw['name'] === 'string' && typeof raw['catalogueId'] === 'string') {
        const tags = typeof raw['tags'] === 'object' && raw['tags'] !== null ? (raw['tags'] as Record<string, string>) : {};
        const variables = typeof raw['variables'] === 'object' && raw['variables'] !== null ? (raw['variables'] as Record<string, unknown>) : {};
        devices.push({ dev_eui: eui, name: raw['name'], model: raw['catalogueId'], tags, variables });
      }
    }
  }
  return { keys, devices, problems };
}

function fromCsv(text: string): KeysImport {
  const { rows, error } = parseCsv(text);
  if (error) return { keys: [], devices: [], problems: [error] };
  const header = rows[0];
  if (!header) return { keys: [], devices: [], problems: ['the file is empty'] };
  const cols = header.cells.map((c) => c.trim().toLowerCase());
  const same = (want: string[]): boolean => cols.length === want.length && want.every((w, i) => cols[i] === w);
  const otaa = same(OTAA_COLUMNS);
  if (!otaa && !same(ABP_COLUMNS)) {
    return { keys: [], devices: [], problems: [`line ${header.line}: the header must be "${OTAA_COLUMNS.join(',')}" (OTAA) or "${ABP_COLUMNS.join(',')}" (ABP)`] };
  }
  const keys: DeviceKeys[] = [];
  const problems: string[] = [];
  const names: Record<string, string> = { devEui: 'dev_eui', joinEui: 'join_eui', appKey: 'app_key', devAddr: 'dev_addr', nwkSKey: 'nwk_s_key', appSKey: 'app_s_key' };
  for (const row of rows.slice(1)) {
    if (row.cells.length !== cols.length) {
      problems.push(`line ${row.line}: has ${row.cells.length} cells, the header has ${cols.length}`);
      continue;
    }
    const c = row.cells.map((x) => x.trim());
    const raw = otaa
      ? { devEui: c[0], activation: 'OTAA', joinEui: c[1], appKey: c[2] }
      : { devEui: c[0], activation: 'ABP', devAddr: c[1], nwkSKey: c[2], appSKey: c[3] };
    const r = checkDeviceKeys(raw, `line ${row.line}`);
    problems.push(...r.problems.map((p) => p.replace(/^(line \d+)\.(\w+)/, (_m, l: string, f: string) => `${l}, column ${names[f] ?? f}`)));
    if (r.keys) keys.push(r.keys);
  }
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.devEui)) problems.push(`DevEUI ${k.devEui} appears more than once`);
    seen.add(k.devEui);
  }
  return { keys, devices: [], problems };
}
