/**
 * `lorawan-edge codec import-ttn`: devices of one vendor folder of The Things Network's device
 * repository become catalogue entries with a script codec, and every imported example is run
 * through the production loader.
 *
 * For each device (all of the vendor's `endDevices`, or the ones asked for):
 * 1. plan — read the device YAML, choose the codec (the region's profile, EU863-870 by default,
 *    of the latest firmware, or of `firmware`), read the codec YAML and script, convert the
 *    examples, load the script once in the sandbox to learn which readings its normalizeUplink
 *    gives, and build the entry. Nothing is written for a device with any problem.
 * 2. write — `<out>/<vendor>/<device>.yaml`, `<out>/<vendor>/codecs/<codec-id>.js` (the script,
 *    byte for byte), `<codec-id>.downlink.js` when the downlink encoder (or decoder) is in a
 *    file of its own, and `<out>/<vendor>/codecs/<codec-id>.examples.json`. An existing entry is
 *    kept unless `force`; a codec file shared with devices imported earlier is reused when it is
 *    identical. `dryRun` writes into a temporary catalogue instead, so the check below is the same.
 * 3. check — each written entry goes through `checkEntry` of validate.ts: the schema, the codec
 *    loaded by `resolveCodec` (as the gateway loads it) and every example.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import yaml from 'js-yaml';
import type { Category } from '../../codecs/api.ts';
import type { ExampleFile, ExampleOutcome } from '../../codecs/examples.ts';
import { readingField } from '../../codecs/readings.ts';
import { combineScriptCodecs, loadScriptCodec, ScriptLoadError, type ScriptCodec } from '../../codecs/sandbox/index.ts';
import { CATALOGUE_DIR, readDeviceFile, type CatalogueProblem } from '../catalogue.ts';
import { checkEntry, readingsOfExamples } from '../validate.ts';
import { convertExamples, downlinkPortOf, fPortsOf, guessCategory, oneLineName } from './convert.ts';
import {
  chooseProfile,
  NoProfileError,
  openVendorFolder,
  readCodec,
  readDevice,
  readProfile,
  readScript,
  TtnSourceError,
  type VendorFolder,
} from './repository.ts';

export interface ImportTtnOptions {
  /** `vendor/<vendor>` of a checkout of the TTN device repository. */
  vendorDir: string;
  /** Device ids of the vendor's index.yaml; default all. */
  devices?: readonly string[];
  /** Firmware version (as written in the device YAML); default the latest with a codec for the region. */
  firmware?: string;
  /** Hardware version: only firmware versions that run on it are considered. */
  hardware?: string;
  /** Region of the profile; default EU863-870 (short names like EU868 are accepted). */
  region?: string;
  /** Category of every imported device; default guessed from the device's sensors. */
  category?: Category;
  /** Catalogue folder; default the project's devices/. */
  outDir?: string;
  dryRun?: boolean;
  /** Overwrite existing entries and codec files. */
  force?: boolean;
}

export interface DeviceImport {
  /** `<vendor>/<device>`. */
  id: string;
  status: 'imported' | 'skipped' | 'error';
  /** Why the device was skipped or not imported. */
  message?: string;
  firmware?: string;
  region?: string;
  codecId?: string;
  category?: Category;
  fPorts?: number[];
  readings?: string[];
  /** Files written (with dryRun: that would be written), absolute paths under the catalogue folder. */
  files: string[];
  /** Conversion notes: what was skipped or guessed, and why. */
  notes: string[];
  /** Problems the validator found in the written entry, other than failing examples. */
  problems: CatalogueProblem[];
  /** Every example run through the production loader. */
  outcomes: ExampleOutcome[];
}

export interface ImportReport {
  vendor: string;
  vendorName?: string;
  outDir: string;
  dryRun: boolean;
  /** About the vendor folder as a whole (e.g. devices its index lists twice). */
  notes: string[];
  devices: DeviceImport[];
}


/**
 * The Things Stack runs a payload formatter as a classic script (goja has no ES modules), so a
 * script with `export`/`import` never loads there: refused by name instead of being run with
 * ChirpStack's module semantics (strict mode, Buffer), which the sandbox would otherwise give it.
 */
function refuseModule(codec: ScriptCodec, shown: string): ScriptCodec {
  if (codec.style !== 'chirpstack') return codec;
  codec.dispose();
  throw new TtnSourceError(shown, 'is an ES module (export/import): The Things Stack runs payload formatters as classic scripts and cannot load it, so it is not imported');
}
/** A `devices` id that the vendor's index.yaml does not list (a usage error for the CLI). */
export class UnknownTtnDeviceError extends Error {
  override readonly name = 'UnknownTtnDeviceError';
}

interface PlannedFile {
  path: string;
  text: string;
  /** Codec files may be shared by several devices of one vendor. */
  shared: boolean;
}

interface Plan {
  result: DeviceImport;
  files: PlannedFile[];
}

const DEFAULT_REPORTING_INTERVAL_S = 3600;

/** Text on one line, ending with a full stop. */
function sentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return /[.!?]$/.test(flat) ? flat : `${flat}.`;
}

function entryYaml(header: string[], entry: Record<string, unknown>): string {
  const body = yaml.dump(entry, { lineWidth: 100, noRefs: true, quotingType: "'" });
  return `${header.map((l) => `# ${l}`).join('\n')}\n${body}`;
}

async function planDevice(vendor: VendorFolder, deviceId: string, explicit: boolean, options: ImportTtnOptions, outDir: string): Promise<Plan> {
  const id = `${vendor.id}/${deviceId}`;
  const result: DeviceImport = { id, status: 'error', files: [], notes: [], problems: [], outcomes: [] };
  const fail = (status: 'skipped' | 'error', message: string): Plan => {
    result.status = status;
    result.message = message;
    return { result, files: [] };
  };
  try {
    const device = readDevice(vendor, deviceId);
    let chosen;
    try {
      chosen = chooseProfile(device, vendor.shown(device.file), {
        ...(options.firmware !== undefined ? { firmware: options.firmware } : {}),
        ...(options.hardware !== undefined ? { hardware: options.hardware } : {}),
        ...(options.region !== undefined ? { region: options.region } : {}),
      });
    } catch (err) {
      // Importing a whole vendor: a device without a profile for the region is not an error.
      if (err instanceof NoProfileError) return fail(explicit ? 'error' : 'skipped', err.message);
      throw err;
    }
    Object.assign(result, { firmware: chosen.firmware.version, region: chosen.region, codecId: chosen.codecId });
    // A codec of one firmware (or hardware) is not right for the others: say which the entry
    // covers and which were left out, so no device of another version is decoded by it unnoticed.
    const hw = (list: readonly string[] | undefined): string => (list ? `, hardware ${list.join(', ')}` : '');
    if (chosen.hardwareNotCovered.length > 0) {
      result.notes.push(
        `firmware ${chosen.firmware.version} runs on hardware ${(chosen.firmware.hardwareVersions ?? []).join(', ')} only: devices of hardware ${chosen.hardwareNotCovered.join(', ')} need the codec of their own firmware (--hardware)`,
      );
    }
    for (const o of chosen.otherCodecs) {
      result.notes.push(`firmware ${o.firmware}${hw(o.hardwareVersions)} uses another codec, ${o.codecId}, which this entry does not run (its examples are not checked): import it with --firmware ${o.firmware}`);
    }
    const codecYaml = readCodec(vendor, chosen.codecId);
    const codecShown = vendor.shown(codecYaml.file);
    const up = codecYaml.uplinkDecoder;
    if (!up) throw new TtnSourceError(codecShown, 'uplinkDecoder: is required (a catalogue entry needs an uplink decoder)');
    const script = readScript(vendor, codecYaml, up.fileName, 'uplinkDecoder');
    // Downlink encoders often live in their own file (Decentlab's dl-downlink-codec.js,
    // Tektelic's encoder_*.js): the entry then names it as its downlinkScript. One such file is
    // imported; a decoder in yet another file keeps its examples out (noted by convertExamples).
    const fileOf = (name: string | undefined): string | undefined => (name === undefined ? undefined : resolve(vendor.dir, name));
    const encFile = fileOf(codecYaml.downlinkEncoder?.fileName);
    const decFile = fileOf(codecYaml.downlinkDecoder?.fileName);
    const downName =
      encFile !== undefined && encFile !== script.file
        ? { name: codecYaml.downlinkEncoder?.fileName as string, section: 'downlinkEncoder' }
        : decFile !== undefined && decFile !== script.file
          ? { name: codecYaml.downlinkDecoder?.fileName as string, section: 'downlinkDecoder' }
          : undefined;
    const downScript = downName !== undefined ? readScript(vendor, codecYaml, downName.name, downName.section) : undefined;
    const available = (file: string | undefined): boolean => file !== undefined && (file === script.file || file === downScript?.file);
    const inScript = { encoder: available(encFile), decoder: available(decFile) };
    const converted = convertExamples(codecYaml, codecShown, inScript);
    result.notes.push(...converted.notes);
    // Malformed examples are reported as failed, after the checked ones (see below).
    result.outcomes.push(...converted.malformed);
    const examples = converted.file;
    if ((examples.examples ?? []).length === 0) result.notes.push(`${codecShown} has no uplink examples: nothing checks the codec`);

    const category = options.category ?? guessCategory(device.sensors);
    if (options.category === undefined) {
      result.notes.push(`category ${category} guessed from the device's sensors: ${device.sensors.join(', ') || 'none listed'}`);
    }
    const fPorts = fPortsOf(examples);
    const name = oneLineName(vendor.name ?? vendor.id, device.name, device.description);

    // Load the script once to learn what it defines and which readings its normalizeUplink gives.
    let functions: readonly string[];
    let readingNames: string[];
    let encodes: boolean;
    let loading = vendor.shown(script.file);
    try {
      let codec: ScriptCodec = refuseModule(await loadScriptCodec(script.source, { id, name, category, fPorts }), loading);
      if (downScript !== undefined) {
        loading = vendor.shown(downScript.file);
        try {
          codec = combineScriptCodecs(codec, refuseModule(await loadScriptCodec(downScript.source, { id, name, category, fPorts }), loading));
        } catch (err) {
          codec.dispose();
          throw err;
        }
      }
      try {
        functions = codec.functions;
        readingNames = [...readingsOfExamples(codec, examples).keys()].sort();
        encodes = codec.encodeDownlink !== undefined;
      } finally {
        codec.dispose();
      }
    } catch (err) {
      if (err instanceof ScriptLoadError) throw new TtnSourceError(loading, `the codec script does not load: ${err.message}`);
      throw err;
    }
    const readings: Record<string, string> = {};
    for (const r of readingNames) readings[r] = readingField(r)?.unit ?? '';
    if (!functions.includes('normalizeUplink')) {
      result.notes.push('the script has no normalizeUplink: decoded data only, no normalized readings (readings: {})');
    } else if (readingNames.length === 0) {
      result.notes.push("the script's normalizeUplink gives no field with a lorawan-edge reading for the examples (readings: {})");
    }
    const downlink = codecYaml.downlinkEncoder !== undefined && inScript.encoder && encodes;
    const downlinkName = `${chosen.codecId}.downlink.js`;
    const downlinkPort = downlinkPortOf(examples);
    const profile = readProfile(vendor, chosen.profile);
    if (chosen.profile.id !== undefined && !profile) result.notes.push(`profile ${chosen.profile.id}.yaml not found: no MAC version or class in the entry`);

    const scriptName = `${chosen.codecId}.js`;
    const examplesName = `${chosen.codecId}.examples.json`;
    const sources = [vendor.shown(device.file), codecShown, vendor.shown(script.file), ...(downScript ? [vendor.shown(downScript.file)] : [])];
    const notes = [
      `Imported from The Things Network device repository by lorawan-edge codec import-ttn: ${sources.join(', ')};`,
      `firmware ${chosen.firmware.version}${chosen.firmware.hardwareVersions ? ` (hardware ${chosen.firmware.hardwareVersions.join(', ')})` : ''}, ${chosen.region} profile${chosen.profile.id !== undefined ? ` ${chosen.profile.id}` : ''}, codec ${chosen.codecId}.`,
      'The script runs unmodified in the sandbox.',
      ...(device.description ? [sentence(device.description)] : []),
      ...result.notes.map((n) => sentence(`${n.charAt(0).toUpperCase()}${n.slice(1)}`)),
    ].join(' ');
    const lorawan: Record<string, unknown> = {};
    if (profile?.macVersion !== undefined) lorawan['macVersion'] = profile.macVersion;
    lorawan['regions'] = chosen.regions;
    if (profile?.supportsJoin !== undefined) lorawan['activation'] = profile.supportsJoin ? ['OTAA'] : ['ABP'];
    if (profile) lorawan['class'] = profile.supportsClassC ? 'C' : profile.supportsClassB ? 'B' : 'A';
    const links = [device.productURL, device.dataSheetURL].filter((u): u is string => u !== undefined);
    const entry: Record<string, unknown> = {
      id,
      vendor: vendor.id,
      ...(vendor.name !== undefined ? { vendorName: vendor.name } : {}),
      model: device.name,
      name,
      category,
      codec: {
        script: `codecs/${scriptName}`,
        ...(downScript !== undefined ? { downlinkScript: `codecs/${downlinkName}` } : {}),
        examples: `codecs/${examplesName}`,
      },
      fPorts,
      readings,
      reportingInterval: DEFAULT_REPORTING_INTERVAL_S,
      ...(downlink ? { downlink: { supported: true, ...(downlinkPort !== undefined ? { fPort: downlinkPort } : {}) } } : {}),
      firmware: chosen.firmware.version,
      lorawan,
      ...(links.length > 0 ? { links } : {}),
      notes,
    };
    const header = [
      `Imported from The Things Network device repository (${vendor.shown(device.file)}) by`,
      '`lorawan-edge codec import-ttn`. The codec script is the vendor\'s, unmodified; import again',
      'with --force to update it. Review category, readings and reportingInterval.',
    ];
    const examplesJson: ExampleFile & { source: string } = {
      source: `${codecShown} (The Things Network device repository), converted by lorawan-edge codec import-ttn`,
      ...examples,
    };
    const vendorOut = join(outDir, vendor.id);
    Object.assign(result, { category, fPorts, readings: readingNames });
    return {
      result,
      files: [
        { path: join(vendorOut, `${deviceId}.yaml`), text: entryYaml(header, entry), shared: false },
        { path: join(vendorOut, 'codecs', scriptName), text: script.source, shared: true },
        ...(downScript !== undefined ? [{ path: join(vendorOut, 'codecs', downlinkName), text: downScript.source, shared: true }] : []),
        { path: join(vendorOut, 'codecs', examplesName), text: `${JSON.stringify(examplesJson, null, 2)}\n`, shared: true },
      ],
    };
  } catch (err) {
    if (err instanceof TtnSourceError) return fail('error', err.message);
    throw err;
  }
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Imports devices of one TTN vendor folder; see the module comment. Throws TtnSourceError when the folder itself is unusable. */
export async function importTtnVendor(options: ImportTtnOptions): Promise<ImportReport> {
  const vendor = openVendorFolder(options.vendorDir);
  const outDir = resolve(options.outDir ?? CATALOGUE_DIR);
  const explicit = options.devices !== undefined && options.devices.length > 0;
  const ids = explicit ? [...new Set(options.devices)] : vendor.deviceIds;
  for (const d of ids) {
    if (!vendor.deviceIds.includes(d)) {
      throw new UnknownTtnDeviceError(`${vendor.shown(join(vendor.dir, 'index.yaml'))} lists no device "${d}" (devices: ${vendor.deviceIds.join(', ') || 'none'})`);
    }
  }

  const plans: Plan[] = [];
  for (const d of ids) plans.push(await planDevice(vendor, d, explicit, options, outDir));

  // Refuse to overwrite, per device; a codec file planned by an earlier device of this run is its own.
  const planned = new Map<string, string>();
  const shownOut = (p: string): string => relative(resolve(outDir, '..'), p).split(sep).join('/');
  for (const plan of plans) {
    if (plan.result.status === 'skipped' || plan.files.length === 0) continue;
    const conflicts: string[] = [];
    for (const f of plan.files) {
      const mine = planned.get(f.path);
      if (mine !== undefined) {
        if (mine !== f.text) conflicts.push(`${shownOut(f.path)} is also imported by another device with other content`);
        continue;
      }
      const existing = readIfExists(f.path);
      if (existing === undefined || options.force) continue;
      if (!f.shared) conflicts.push(`${shownOut(f.path)} exists (use --force to overwrite)`);
      else if (existing !== f.text) conflicts.push(`${shownOut(f.path)} exists with other content (use --force to overwrite)`);
    }
    if (conflicts.length > 0) {
      plan.result.status = 'error';
      plan.result.message = conflicts.join('; ');
      plan.files = [];
      continue;
    }
    for (const f of plan.files) planned.set(f.path, f.text);
    plan.result.status = 'imported';
    plan.result.files = plan.files.map((f) => f.path);
  }

  // A dry run writes into a temporary catalogue (named like the real one, so problems show the
  // same paths) and checks there.
  const dryRoot = options.dryRun ? mkdtempSync(join(tmpdir(), 'import-ttn-')) : undefined;
  const root = dryRoot !== undefined ? join(dryRoot, basename(outDir)) : outDir;
  const place = (p: string): string => join(root, relative(outDir, p));
  try {
    for (const [path, text] of planned) {
      mkdirSync(dirname(place(path)), { recursive: true });
      writeFileSync(place(path), text);
    }
    for (const plan of plans) {
      if (plan.result.status !== 'imported') continue;
      const file = place(plan.files[0]?.path as string);
      const read = readDeviceFile(file, root);
      plan.result.problems.push(...read.problems);
      if (!read.entry) continue;
      const checked = await checkEntry(read.entry, relative(resolve(outDir, '..'), plan.files[0]?.path as string), root);
      plan.result.outcomes = [...checked.outcomes, ...plan.result.outcomes];
      plan.result.problems.push(...checked.problems.filter((p) => !p.field.startsWith('codec examples[')));
    }
  } finally {
    if (dryRoot !== undefined) rmSync(dryRoot, { recursive: true, force: true });
  }
  const notes = vendor.duplicates.map(
    (d) => `${vendor.shown(join(vendor.dir, 'index.yaml'))} lists "${d}" more than once: imported once`,
  );
  return {
    vendor: vendor.id,
    ...(vendor.name !== undefined ? { vendorName: vendor.name } : {}),
    outDir,
    dryRun: options.dryRun === true,
    notes,
    devices: plans.map((p) => p.result),
  };
}

