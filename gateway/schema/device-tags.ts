/**
 * The tag sets of each device, kept from one record to the next so that the line-protocol
 * encoder escapes and sorts them once per device instead of once per point (see `tagSet()`).
 *
 * Records read back from the log are fresh objects, so caching by identity would never hit:
 * entries are keyed by devEui and used only while the record's device snapshot (name, model,
 * installation tags) is still the one they were built from. The check compares values, not a
 * concatenated key, so two devices whose name and tags would run together (`a`+`bc` / `ab`+`c`)
 * can never share an entry, and a device renamed or retagged in the registry gets new tag sets
 * with its next record. A device may have several tag sets (`variant`: the ChirpStack schema
 * adds f_port, for one). Bounded: beyond `maxDevices` (100,000) the device added longest ago is dropped.
 */
import type { DeviceSnapshot } from '../pipeline/record.ts';
import { tagSet, type Tags } from '../sinks/influxdb/line-protocol.ts';

interface DeviceEntry {
  name: string;
  model: string | undefined;
  /**
   * The installation tags the entry was built from, as key/value pairs in one array (a copied
   * object per device was a dictionary-mode object of ~200 bytes, 10,000 of them in the heap).
   */
  tags: string[];
  /** the tag set of variant '' (the native schema's only one): no Map per device for it */
  plain: Tags | undefined;
  /** the other variants, made when the first is added */
  variants: Map<string, Tags> | undefined;
}

/** Own enumerable keys and values of `tags` as pairs. */
function tagPairs(tags: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  for (const k in tags) if (Object.prototype.hasOwnProperty.call(tags, k)) out.push(k, tags[k] as string);
  return out;
}

/** Where key `k`'s value is in `pairs` (-1: absent), looked at position `i` first (the usual: same key order). */
function valueAt(pairs: string[], i: number, k: string): number {
  if (pairs[2 * i] === k) return 2 * i + 1;
  for (let j = 0; j < pairs.length; j += 2) if (pairs[j] === k) return j + 1;
  return -1;
}

/** Whether the snapshot's installation tags are exactly `pairs` (same keys, same values). */
function sameTags(tags: Record<string, string> | undefined, pairs: string[]): boolean {
  let n = 0;
  for (const k in tags) {
    if (!Object.prototype.hasOwnProperty.call(tags, k)) continue;
    const at = valueAt(pairs, n, k);
    if (at < 0 || tags[k] !== pairs[at]) return false;
    n++;
  }
  return 2 * n === pairs.length;
}

export class DeviceTagSets {
  private readonly devices = new Map<string, DeviceEntry>();

  constructor(
    // Well above any one gateway's fleet: the bound drops the device added longest ago, so under
    // the usual round-robin traffic a bound below the fleet size misses on every point (bench/
    // edge-ns, 10,000 ABP + 20 OTAA devices: every point rebuilt and re-escaped its tags).
    private readonly maxDevices = 100_000,
    /** Variants per device before they are forgotten all at once (a bound, not a working set). */
    private readonly maxVariants = 32,
  ) {}

  get size(): number {
    return this.devices.size;
  }

  /** The shared tag set built earlier for this device snapshot and variant, if any. */
  get(devEui: string, device: DeviceSnapshot, variant = ''): Tags | undefined {
    const e = this.devices.get(devEui);
    if (e === undefined || !this.matches(e, device)) return undefined;
    return variant === '' ? e.plain : e.variants?.get(variant);
  }

  /** Make `tags` a shared tag set, remember it for this device snapshot and variant, return it. */
  add(devEui: string, device: DeviceSnapshot, variant: string, tags: Tags): Tags {
    let e = this.devices.get(devEui);
    if (e === undefined || !this.matches(e, device)) {
      if (e !== undefined) this.devices.delete(devEui);
      else if (this.devices.size >= this.maxDevices) this.devices.delete(this.devices.keys().next().value as string);
      e = { name: device.name, model: device.model, tags: tagPairs(device.tags), plain: undefined, variants: undefined };
      this.devices.set(devEui, e);
    } else if ((e.plain !== undefined ? 1 : 0) + (e.variants?.size ?? 0) >= this.maxVariants) {
      e.plain = undefined;
      e.variants?.clear();
    }
    const shared = tagSet(tags);
    if (variant === '') e.plain = shared;
    else (e.variants ??= new Map()).set(variant, shared);
    return shared;
  }

  private matches(e: DeviceEntry, device: DeviceSnapshot): boolean {
    return e.name === device.name && e.model === device.model && sameTags(device.tags, e.tags);
  }
}
