/**
 * Reading one vendor folder of a checkout of The Things Network's device repository
 * (`lorawan-devices`, see ../../../shared/reference/devices-and-payload-formats.md §3):
 *
 *   vendor/index.yaml                 vendors: [{id, name, …}]          (optional here: display name)
 *   vendor/<vendor>/index.yaml        endDevices: [<device-id>, …]
 *   vendor/<vendor>/<device-id>.yaml  name, description, firmwareVersions[].profiles.<region>.{id, codec}, sensors, …
 *   vendor/<vendor>/<profile-id>.yaml macVersion, supportsJoin, supportsClassB/C, …
 *   vendor/<vendor>/<codec-id>.yaml   uplinkDecoder / downlinkEncoder / downlinkDecoder: {fileName, examples}
 *   vendor/<vendor>/**.js             the codec scripts (fileName is relative to the vendor folder)
 *
 * YAML is parsed as YAML 1.2 with js-yaml 4, as the TTN validator does: `00012074` is the
 * decimal 12074 and `on` is the string "on" — through `../safe-yaml.ts`, so a file's size,
 * alias expansion ("billion laughs") and depth are bounded and `__proto__` keys refused. Every
 * problem is a `TtnSourceError` that names the file (as a path inside the repository, e.g.
 * `vendor/acme/x.yaml`), and the line for YAML errors.
 *
 * A vendor folder is input from someone else: every file is opened by its real path (symbolic
 * links resolved) and only when that lies inside the vendor folder — or, for the shared
 * `vendor/index.yaml` and another vendor's profile (`vendorID`), inside the repository's
 * `vendor/` folder. `vendorID` must be a vendor id, so `../../…` cannot name a folder.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DEFAULT_YAML_LIMITS, parseYaml, YamlError } from '../safe-yaml.ts';

/** A problem with the repository's files; `where` is `file[:line:column]`, plus a field path when known. */
export class TtnSourceError extends Error {
  override readonly name = 'TtnSourceError';
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
  }
}

export type Yaml = Record<string, unknown>;

export function isMapping(v: unknown): v is Yaml {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** TTN ids (vendors, devices) and the slugs of our catalogue share this shape. */
export const SLUG = /^[a-z0-9][a-z0-9-]*$/;

/** Profile and codec ids name files of a vendor folder: no separators, no `..`. */
const FILE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const isFileId = (v: string): boolean => FILE_ID.test(v) && !v.includes('..');

export interface VendorFolder {
  /** Absolute real path of `vendor/<vendor>`. */
  dir: string;
  /** The folder holding the vendor folders (`vendor/`, a real path): the bound for the shared index and other vendors' profiles. */
  vendorsDir: string;
  /** The vendor id: the folder's name. */
  id: string;
  /** Display name from `vendor/index.yaml`, when that file lists the vendor. */
  name?: string;
  /** `endDevices` of the vendor's index.yaml, in order, each once. */
  deviceIds: string[];
  /** Device ids the index lists more than once (imported once). */
  duplicates: string[];
  /** A file of this vendor folder as shown to humans: `vendor/<vendor>/…`. */
  shown(file: string): string;
  /** "the vendor folder vendor/<vendor>", for messages. */
  dirShown: string;
}

export interface FirmwareProfile {
  /** Profile id, the name of `<id>.yaml`. */
  id?: string;
  /** The vendor folder the profile lives in, when it is another vendor's (TTN's `vendorID`). */
  vendorId?: string;
  codec?: string;
  lorawanCertified?: boolean;
}

export interface FirmwareVersion {
  version: string;
  numeric?: number;
  /** The hardware versions this firmware runs on (`firmwareVersions[].hardwareVersions`); absent = all. */
  hardwareVersions?: string[];
  profiles: Record<string, FirmwareProfile>;
}

export interface TtnDevice {
  id: string;
  file: string;
  name: string;
  description?: string;
  sensors: string[];
  /** The device's `hardwareVersions[].version`, when listed. */
  hardwareVersions?: string[];
  firmwareVersions: FirmwareVersion[];
  productURL?: string;
  dataSheetURL?: string;
}

export interface TtnExampleSection {
  fileName: string;
  examples: unknown[];
}

export interface TtnCodec {
  id: string;
  file: string;
  uplinkDecoder?: TtnExampleSection;
  downlinkEncoder?: TtnExampleSection;
  downlinkDecoder?: TtnExampleSection;
}

export interface TtnProfile {
  macVersion?: string;
  supportsJoin?: boolean;
  supportsClassB?: boolean;
  supportsClassC?: boolean;
}

/**
 * The real path of `file` (symbolic links resolved), refused unless it lies inside `root` (a
 * real path); undefined when there is no such file.
 */
export function realPathInside(root: string, file: string, shown: string, rootShown: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TtnSourceError(shown, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const rel = relative(root, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new TtnSourceError(shown, `resolves to ${real}, outside ${rootShown} (a symbolic link?): refused`);
  }
  return real;
}

/**
 * Parses a YAML file (YAML 1.2, js-yaml 4, bounded by safe-yaml) that must lie inside `root`; a
 * syntax error names the file and line.
 */
export function readYaml(file: string, shown: string, root: string, rootShown: string): unknown {
  const real = realPathInside(root, file, shown, rootShown);
  if (real === undefined) throw new TtnSourceError(shown, 'file not found');
  let text: string;
  try {
    const size = statSync(real).size;
    if (size > DEFAULT_YAML_LIMITS.maxBytes) {
      throw new TtnSourceError(shown, `${size} bytes is more than the ${DEFAULT_YAML_LIMITS.maxBytes} bytes a YAML file may have`);
    }
    text = readFileSync(real, 'utf8');
  } catch (err) {
    if (err instanceof TtnSourceError) throw err;
    throw new TtnSourceError(shown, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return parseYaml(text, shown);
  } catch (err) {
    if (err instanceof YamlError) {
      const detail = err.message.startsWith(`${shown}: `) ? err.message.slice(shown.length + 2) : err.message;
      const at = err.line !== undefined ? `${shown}:${err.line}` : shown;
      throw new TtnSourceError(at, err.code === 'YAML_SYNTAX' ? `YAML error: ${detail}` : detail);
    }
    throw err;
  }
}

function optionalString(doc: Yaml, key: string, where: string): string | undefined {
  const v = doc[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new TtnSourceError(where, `${key}: must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Opens `vendor/<vendor>`. Also recognises the repository root and `vendor/` itself and says
 * which folder to pass instead.
 */
export function openVendorFolder(path: string): VendorFolder {
  let dir = resolve(path);
  try {
    dir = realpathSync(dir);
  } catch {
    // Not there: reported below as a missing index.yaml.
  }
  const vendorsDir = dirname(dir);
  // Paths are shown inside the repository when the folder sits in a `vendor/` folder.
  const base = basename(vendorsDir) === 'vendor' ? dirname(vendorsDir) : vendorsDir;
  const shown = (file: string): string => relative(base, file).split(sep).join('/');
  const dirShown = `the vendor folder ${shown(dir)}`;
  const indexFile = join(dir, 'index.yaml');
  if (!existsSync(indexFile)) {
    const hint = existsSync(join(dir, 'vendor', 'index.yaml'))
      ? ' (this looks like the repository root: pass vendor/<vendor>)'
      : existsSync(join(dir, 'index.yaml')) || basename(dir) === 'vendor'
        ? ' (pass one vendor folder, vendor/<vendor>)'
        : '';
    throw new TtnSourceError(shown(indexFile), `file not found: not a vendor folder of the TTN device repository${hint}`);
  }
  const index = readYaml(indexFile, shown(indexFile), dir, dirShown);
  if (!isMapping(index) || !('endDevices' in index)) {
    const hint = isMapping(index) && 'vendors' in index ? ' (this is vendor/index.yaml: pass one vendor folder, vendor/<vendor>)' : '';
    throw new TtnSourceError(shown(indexFile), `endDevices: is required (the vendor's list of device ids)${hint}`);
  }
  const list = index['endDevices'];
  if (!Array.isArray(list)) throw new TtnSourceError(shown(indexFile), 'endDevices: must be a list of device ids');
  const deviceIds: string[] = [];
  const duplicates: string[] = [];
  list.forEach((v, i) => {
    if (typeof v !== 'string' || !SLUG.test(v)) throw new TtnSourceError(shown(indexFile), `endDevices[${i}]: not a device id: ${JSON.stringify(v)}`);
    // The real repository lists some devices twice (Dragino's lwl01, lds01, lsn50-v2): once is enough.
    if (deviceIds.includes(v)) duplicates.push(v);
    else deviceIds.push(v);
  });
  const id = basename(dir);
  if (!SLUG.test(id)) throw new TtnSourceError(shown(dir), `the vendor folder's name "${id}" is not a vendor id (lowercase letters, digits, dashes)`);

  let name: string | undefined;
  const vendorsFile = join(dirname(dir), 'index.yaml');
  if (existsSync(vendorsFile)) {
    const vendors = readYaml(vendorsFile, shown(vendorsFile), dirname(vendorsDir), `the repository folder ${shown(dirname(vendorsDir)) || '.'}`);
    const listed = isMapping(vendors) && Array.isArray(vendors['vendors']) ? (vendors['vendors'] as unknown[]) : [];
    const me = listed.find((v): v is Yaml => isMapping(v) && v['id'] === id);
    if (me && typeof me['name'] === 'string') name = me['name'];
  }
  return { dir, vendorsDir, id, ...(name !== undefined ? { name } : {}), deviceIds, duplicates: [...new Set(duplicates)], shown, dirShown };
}

function firmwareOf(v: unknown, i: number, where: string): FirmwareVersion {
  const at = `firmwareVersions[${i}]`;
  if (!isMapping(v)) throw new TtnSourceError(where, `${at}: must be a mapping`);
  const version = v['version'];
  if (typeof version !== 'string' && typeof version !== 'number') throw new TtnSourceError(where, `${at}.version: is required`);
  const numeric = typeof v['numeric'] === 'number' ? v['numeric'] : undefined;
  const rawProfiles = v['profiles'] ?? {};
  if (!isMapping(rawProfiles)) throw new TtnSourceError(where, `${at}.profiles: must be a mapping region → {id, codec}`);
  const profiles: Record<string, FirmwareProfile> = {};
  for (const [region, p] of Object.entries(rawProfiles)) {
    if (!isMapping(p)) throw new TtnSourceError(where, `${at}.profiles.${region}: must be a mapping {id, codec}`);
    const profile: FirmwareProfile = {};
    const pid = optionalString(p, 'id', where);
    const codec = optionalString(p, 'codec', where);
    const vendorId = optionalString(p, 'vendorID', where);
    // Both name files: a vendor id and a file name, never a path (`vendorID: ../../../tmp/x`).
    if (vendorId !== undefined && !SLUG.test(vendorId)) {
      throw new TtnSourceError(where, `${at}.profiles.${region}.vendorID: not a vendor id: ${JSON.stringify(vendorId)}`);
    }
    if (pid !== undefined && !isFileId(pid)) throw new TtnSourceError(where, `${at}.profiles.${region}.id: not a profile id: ${JSON.stringify(pid)}`);
    if (pid !== undefined) profile.id = pid;
    if (codec !== undefined) profile.codec = codec;
    if (vendorId !== undefined) profile.vendorId = vendorId;
    if (typeof p['lorawanCertified'] === 'boolean') profile.lorawanCertified = p['lorawanCertified'];
    profiles[region] = profile;
  }
  const hardware = v['hardwareVersions'];
  if (hardware !== undefined && (!Array.isArray(hardware) || hardware.some((h) => typeof h !== 'string' && typeof h !== 'number'))) {
    throw new TtnSourceError(where, `${at}.hardwareVersions: must be a list of hardware versions`);
  }
  const hardwareVersions = Array.isArray(hardware) ? hardware.map((h) => String(h)) : undefined;
  // An unquoted `version: 1.0` is the number 1 in YAML; String() is the best that can be done.
  return { version: String(version), ...(numeric !== undefined ? { numeric } : {}), ...(hardwareVersions ? { hardwareVersions } : {}), profiles };
}

/** Reads `<device-id>.yaml`. */
export function readDevice(vendor: VendorFolder, deviceId: string): TtnDevice {
  const file = join(vendor.dir, `${deviceId}.yaml`);
  const where = vendor.shown(file);
  const doc = readYaml(file, where, vendor.dir, vendor.dirShown);
  if (!isMapping(doc)) throw new TtnSourceError(where, 'must be a mapping (name, description, firmwareVersions, …)');
  const name = optionalString(doc, 'name', where);
  if (name === undefined || name.trim() === '') throw new TtnSourceError(where, 'name: is required');
  const fw = doc['firmwareVersions'];
  if (!Array.isArray(fw) || fw.length === 0) throw new TtnSourceError(where, 'firmwareVersions: must be a non-empty list (each with profiles per region)');
  const sensors = Array.isArray(doc['sensors']) ? doc['sensors'].filter((s): s is string => typeof s === 'string') : [];
  const description = optionalString(doc, 'description', where);
  const productURL = optionalString(doc, 'productURL', where);
  const dataSheetURL = optionalString(doc, 'dataSheetURL', where);
  const hw = doc['hardwareVersions'];
  const hardwareVersions = Array.isArray(hw)
    ? hw.map((h) => (isMapping(h) ? h['version'] : undefined)).filter((h): h is string | number => typeof h === 'string' || typeof h === 'number').map(String)
    : undefined;
  return {
    id: deviceId,
    file,
    name: name.trim(),
    ...(description !== undefined ? { description } : {}),
    sensors,
    ...(hardwareVersions && hardwareVersions.length > 0 ? { hardwareVersions } : {}),
    firmwareVersions: fw.map((v, i) => firmwareOf(v, i, where)),
    ...(productURL !== undefined ? { productURL } : {}),
    ...(dataSheetURL !== undefined ? { dataSheetURL } : {}),
  };
}

/** Region names as TTN writes them, and the short names people type. */
const REGION_ALIASES: Readonly<Record<string, string>> = {
  EU868: 'EU863-870',
  US915: 'US902-928',
  AU915: 'AU915-928',
  CN470: 'CN470-510',
  CN779: 'CN779-787',
  EU433: 'EU433',
  IN865: 'IN865-867',
  KR920: 'KR920-923',
  RU864: 'RU864-870',
  AS923: 'AS923',
};

export const DEFAULT_REGION = 'EU863-870';

export function regionName(region: string): string {
  const up = region.trim().toUpperCase();
  return REGION_ALIASES[up] ?? up;
}

function versionKey(fw: FirmwareVersion): number[] {
  return fw.version.split(/[^0-9]+/).filter(Boolean).map(Number);
}

function compareFirmware(a: FirmwareVersion, b: FirmwareVersion): number {
  if (a.numeric !== undefined && b.numeric !== undefined && a.numeric !== b.numeric) return a.numeric - b.numeric;
  const ka = versionKey(a);
  const kb = versionKey(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const d = (ka[i] ?? 0) - (kb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface ChosenProfile {
  firmware: FirmwareVersion;
  region: string;
  profile: FirmwareProfile;
  codecId: string;
  /** Every region of that firmware whose profile uses the same codec. */
  regions: string[];
  /**
   * The other firmware versions (of the hardware asked for) whose profile for the region names
   * another codec: their examples are not run by this import.
   */
  otherCodecs: Array<{ firmware: string; codecId: string; hardwareVersions?: string[] }>;
  /** Hardware versions of the device the chosen firmware does not list (it runs on the others only). */
  hardwareNotCovered: string[];
}

/** Why a device has nothing to import for the region (not an error when a whole vendor is imported). */
export class NoProfileError extends Error {
  override readonly name = 'NoProfileError';
}

/**
 * The codec for one device: the profile of `region` in the given firmware version, or by default
 * in the latest firmware (highest `numeric`, else highest version number; the later entry on a
 * tie) that has a profile with a codec for the region.
 */
export function chooseProfile(device: TtnDevice, shown: string, options: { firmware?: string; region?: string; hardware?: string } = {}): ChosenProfile {
  const region = regionName(options.region ?? DEFAULT_REGION);
  let candidates = device.firmwareVersions;
  const hardware = options.hardware;
  if (hardware !== undefined) {
    if (device.hardwareVersions && !device.hardwareVersions.includes(hardware)) {
      throw new TtnSourceError(shown, `no hardware version "${hardware}" (has: ${device.hardwareVersions.join(', ')})`);
    }
    // A firmware that lists no hardware versions runs on all of them.
    candidates = candidates.filter((f) => f.hardwareVersions === undefined || f.hardwareVersions.includes(hardware));
    if (candidates.length === 0) throw new TtnSourceError(shown, `no firmware version runs on hardware ${hardware}`);
  }
  if (options.firmware !== undefined) {
    candidates = candidates.filter((f) => f.version === options.firmware);
    if (candidates.length === 0) {
      throw new TtnSourceError(shown, `no firmware version "${options.firmware}" (has: ${device.firmwareVersions.map((f) => f.version).join(', ')})`);
    }
  }
  const withCodec = candidates
    .map((firmware, order) => ({ firmware, order, profile: firmware.profiles[region] }))
    .filter((c): c is { firmware: FirmwareVersion; order: number; profile: FirmwareProfile } => c.profile !== undefined && typeof c.profile.codec === 'string');
  if (withCodec.length === 0) {
    const regions = [...new Set(candidates.flatMap((f) => Object.keys(f.profiles)))];
    const which = options.firmware !== undefined ? `firmware ${options.firmware}` : 'no firmware version';
    throw new NoProfileError(`${which} has a ${region} profile with a codec (regions: ${regions.join(', ') || 'none'}; choose one with --region)`);
  }
  withCodec.sort((a, b) => compareFirmware(a.firmware, b.firmware) || a.order - b.order);
  const best = withCodec[withCodec.length - 1] as (typeof withCodec)[number];
  const codecId = best.profile.codec as string;
  const regions = Object.entries(best.firmware.profiles)
    .filter(([, p]) => p.codec === codecId)
    .map(([r]) => r);
  const otherCodecs = withCodec
    .filter((c) => c.profile.codec !== codecId)
    .map((c) => ({ firmware: c.firmware.version, codecId: c.profile.codec as string, ...(c.firmware.hardwareVersions ? { hardwareVersions: c.firmware.hardwareVersions } : {}) }));
  const listed = best.firmware.hardwareVersions;
  const hardwareNotCovered = listed === undefined ? [] : (device.hardwareVersions ?? []).filter((h) => !listed.includes(h));
  return { firmware: best.firmware, region, profile: best.profile, codecId, regions, otherCodecs, hardwareNotCovered };
}

/** Reads `<profile-id>.yaml` (possibly another vendor's); undefined when the file is not there. */
export function readProfile(vendor: VendorFolder, profile: FirmwareProfile): TtnProfile | undefined {
  if (profile.id === undefined) return undefined;
  const other = profile.vendorId !== undefined && profile.vendorId !== vendor.id;
  const dir = other ? join(vendor.vendorsDir, profile.vendorId as string) : vendor.dir;
  const file = join(dir, `${profile.id}.yaml`);
  // Another vendor's profile may be read, but only from a vendor folder of this repository.
  const root = other ? vendor.vendorsDir : vendor.dir;
  const rootShown = other ? `the repository's vendor folder ${vendor.shown(vendor.vendorsDir)}` : vendor.dirShown;
  if (realPathInside(root, file, vendor.shown(file), rootShown) === undefined) return undefined;
  const doc = readYaml(file, vendor.shown(file), root, rootShown);
  if (!isMapping(doc)) return undefined;
  const out: TtnProfile = {};
  if (doc['macVersion'] !== undefined) out.macVersion = String(doc['macVersion']);
  for (const k of ['supportsJoin', 'supportsClassB', 'supportsClassC'] as const) if (typeof doc[k] === 'boolean') out[k] = doc[k];
  return out;
}

function sectionOf(doc: Yaml, key: 'uplinkDecoder' | 'downlinkEncoder' | 'downlinkDecoder', where: string): TtnExampleSection | undefined {
  const s = doc[key];
  if (s === undefined || s === null) return undefined;
  if (!isMapping(s)) throw new TtnSourceError(where, `${key}: must be a mapping {fileName, examples}`);
  const fileName = s['fileName'];
  if (typeof fileName !== 'string' || fileName.trim() === '') throw new TtnSourceError(where, `${key}.fileName: is required (the JavaScript file)`);
  const examples = s['examples'] ?? [];
  if (!Array.isArray(examples)) throw new TtnSourceError(where, `${key}.examples: must be a list`);
  return { fileName, examples };
}

/** Reads `<codec-id>.yaml`. */
export function readCodec(vendor: VendorFolder, codecId: string): TtnCodec {
  if (!isFileId(codecId)) {
    throw new TtnSourceError(vendor.shown(vendor.dir), `codec id "${codecId}" is not a file name`);
  }
  const file = join(vendor.dir, `${codecId}.yaml`);
  const where = vendor.shown(file);
  const doc = readYaml(file, where, vendor.dir, vendor.dirShown);
  if (!isMapping(doc)) throw new TtnSourceError(where, 'must be a mapping (uplinkDecoder, downlinkEncoder, downlinkDecoder)');
  const codec: TtnCodec = { id: codecId, file };
  const up = sectionOf(doc, 'uplinkDecoder', where);
  const enc = sectionOf(doc, 'downlinkEncoder', where);
  const dec = sectionOf(doc, 'downlinkDecoder', where);
  if (up) codec.uplinkDecoder = up;
  if (enc) codec.downlinkEncoder = enc;
  if (dec) codec.downlinkDecoder = dec;
  return codec;
}

/** The largest codec script read (the biggest in the TTN repository are a few hundred KiB). */
export const MAX_SCRIPT_BYTES = 4 * 1024 * 1024;

/**
 * Reads a codec script named by a codec YAML's `fileName` (relative to the vendor folder, which
 * neither the name nor, through symbolic links, its real path may leave).
 */
export function readScript(vendor: VendorFolder, codec: TtnCodec, fileName: string, section: string): { file: string; source: string } {
  const file = resolve(vendor.dir, fileName);
  const where = vendor.shown(codec.file);
  const rel = relative(vendor.dir, file);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new TtnSourceError(where, `${section}.fileName: "${fileName}" is outside the vendor folder`);
  let real: string | undefined;
  try {
    real = realPathInside(vendor.dir, file, vendor.shown(file), vendor.dirShown);
  } catch (err) {
    if (err instanceof TtnSourceError) throw new TtnSourceError(where, `${section}.fileName: ${err.message}`);
    throw err;
  }
  if (real === undefined || !statSync(real).isFile()) throw new TtnSourceError(where, `${section}.fileName: codec script not found: ${vendor.shown(file)}`);
  const size = statSync(real).size;
  if (size > MAX_SCRIPT_BYTES) throw new TtnSourceError(where, `${section}.fileName: ${vendor.shown(file)} has ${size} bytes, more than ${MAX_SCRIPT_BYTES}`);
  return { file, source: readFileSync(real, 'utf8') };
}
