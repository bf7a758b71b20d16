/**
 * The device catalogue as the Node-RED nodes see it: the built-in catalogue (devices/), optional
 * extra catalogue folders laid out the same way, and optionally the gateway's devices registry
 * file (DevEUI → model, name, tags, variables). Codecs come from the same places as in the
 * gateway: native codecs from codecs/registry.ts, vendor scripts through devices/resolve.ts in
 * the QuickJS sandbox — nothing is reimplemented here.
 *
 * Script codecs are loaded lazily (the sandbox worker is ~22 MB of RSS): `prepare(model)` loads
 * one and caches it; `decodeContext()` only sees codecs that are loaded, so callers prepare the
 * model first (the decode node does, per message, only when it is missing).
 */
import type { Codec } from '../../codecs/api.ts';
import { nativeCodec } from '../../codecs/registry.ts';
import { loadCatalogue, type DeviceEntry } from '../../devices/catalogue.ts';
import { resolveCodec } from '../../devices/resolve.ts';
import type { DecodeContext } from '../../gateway/pipeline/decode.ts';
import { loadRegistry, type DeviceRegistry } from '../../gateway/registry/devices-file.ts';

export interface CatalogueOptions {
  /** Extra catalogue folders (`<vendor>/<device>.yaml` inside each); their entries win. */
  extraDirs?: readonly string[];
  /** The gateway's devices.yaml (DevEUI → model …); unset = no registry. */
  registryFile?: string;
  /** ChirpStack device-profile name → catalogue id. */
  deviceProfiles?: Readonly<Record<string, string>>;
}

export interface LoadedCodec {
  entry: DeviceEntry;
  codec: Codec;
}

export class DeviceCatalogue {
  readonly entries = new Map<string, DeviceEntry>();
  /** Catalogue files that did not load, as one-line messages (shown in the node's status). */
  readonly problems: string[] = [];
  readonly registry: DeviceRegistry;
  readonly deviceProfiles: Readonly<Record<string, string>>;
  private readonly codecs = new Map<string, LoadedCodec>();
  private readonly loads = new Map<string, Promise<LoadedCodec | undefined>>();
  /** Why a model's codec could not be loaded (script missing, sandbox error). */
  readonly loadErrors = new Map<string, string>();

  constructor(opts: CatalogueOptions = {}) {
    for (const dir of [undefined, ...(opts.extraDirs ?? [])]) {
      const c = loadCatalogue(dir);
      for (const p of c.problems) this.problems.push(`${p.file}: ${p.field}: ${p.message}`);
      for (const e of c.devices) this.entries.set(e.id, e);
    }
    for (const entry of this.entries.values()) {
      const codec = typeof entry.codec === 'string' ? nativeCodec(entry.codec) : undefined;
      if (codec) this.codecs.set(entry.id, { entry, codec });
    }
    this.registry = opts.registryFile ? loadRegistry(opts.registryFile, (id) => this.entries.has(id)) : { devices: [], byEui: new Map() };
    this.deviceProfiles = opts.deviceProfiles ?? {};
  }

  /** The catalogue id for a device: registry first, then its device-profile name, then `fallback`. */
  modelOf(devEui: string, deviceProfileName?: string, fallback?: string): string | undefined {
    return this.registry.byEui.get(devEui)?.model ?? (deviceProfileName ? this.deviceProfiles[deviceProfileName] : undefined) ?? (fallback || undefined);
  }

  loaded(model: string): LoadedCodec | undefined {
    return this.codecs.get(model);
  }

  /** Loads the codec of a model (script codecs start the sandbox); undefined when unknown or broken. */
  prepare(model: string): Promise<LoadedCodec | undefined> {
    const have = this.codecs.get(model);
    if (have) return Promise.resolve(have);
    const entry = this.entries.get(model);
    if (!entry) return Promise.resolve(undefined);
    let load = this.loads.get(model);
    if (!load) {
      load = resolveCodec(entry).then(
        (codec) => {
          const c = { entry, codec };
          this.codecs.set(model, c);
          return c;
        },
        (err: unknown) => {
          this.loadErrors.set(model, (err as Error).message);
          return undefined;
        },
      );
      this.loads.set(model, load);
    }
    return load;
  }

  /**
   * The gateway's decode context over this catalogue. `fallbackModel` (the decode node's own
   * setting) is used like a device-profile mapping that matches every device.
   */
  decodeContext(fallbackModel?: string, now: () => number = Date.now): DecodeContext {
    const profiles = this.deviceProfiles;
    return {
      registry: () => this.registry,
      catalogue: (id) => this.codecs.get(id),
      deviceProfiles: fallbackModel ? new Proxy(profiles, { get: (t, k) => (typeof k === 'string' && k in t ? t[k] : fallbackModel) }) : profiles,
      now,
      keepCodecData: true,
    };
  }
}
