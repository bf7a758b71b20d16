/**
 * Tag keys an installation may not use, and what happens to them when they arrive anyway.
 *
 * InfluxDB refuses a point whose tag is named `time` (every point of that device was lost: 30
 * uplinks → 0 points, 60 dead letters); InfluxDB 2 discards a point with a tag `_field` or
 * `_measurement` (its own names for the field and measurement columns). A tag that differs from
 * one the gateway sets only by case or spaces (`DEV_EUI`, `dev_eui `) or that has the name of a
 * reading field (`fill_pct`) makes queries and dashboards pick the wrong column. And a key that
 * the line-protocol encoder normalises into a gateway tag (`dev_eui\` loses its trailing
 * backslash) would be a second `dev_eui` on every point: the encoder rejects such points (two
 * keys InfluxDB cannot tell apart), so every point of that device would be lost. So:
 * - where tags are written (the registry file, `devices add --tag`, a CSV import) such a key is
 *   refused with the reason, as are two keys of one device that normalise alike;
 * - where they arrive from ChirpStack (device tags on each event) the key is renamed to
 *   `chirpstack_<key>` (trimmed, lower case), and every ChirpStack key is stored as the encoder
 *   would write it, so two that normalise alike are one key and the point is still written.
 */
import { readingField } from '../../codecs/readings.ts';
import { normalizedName } from '../sinks/influxdb/line-protocol.ts';

/** Tags the gateway sets itself (native and ChirpStack-compatible schemas) plus InfluxDB's own. */
export const GATEWAY_TAG_KEYS: readonly string[] = ['time', '_field', '_measurement', 'dev_eui', 'device', 'model', 'application_name', 'device_name', 'f_port', 'dr', 'frequency'];
/** Field keys the schemas write besides the readings. */
const GATEWAY_FIELD_KEYS: readonly string[] = ['value', 'f_cnt', 'latitude', 'longitude', 'rssi', 'snr', 'gateway_count', 'sf', 'fcnt', 'fport', 'payload_bytes', 'decode_errors', 'margin_db', 'external_power', 'joined', 'dev_addr'];

/** The key as InfluxDB stores it (line-protocol normalisation), trimmed and in lower case. */
function comparable(key: string): string {
  return normalizedName(key, 'tag').trim().toLowerCase();
}

/** Why `key` may not be an installation tag (reads after `tag "<key>" `), or undefined when it may. */
export function reservedTagReason(key: string): string | undefined {
  const norm = comparable(key);
  if (norm === 'time') return 'is InfluxDB\'s timestamp (as "time"): InfluxDB refuses every point of the device that carries it';
  if (norm === '_field' || norm === '_measurement') return `is reserved by InfluxDB 2 (as "${norm}"), which discards every point of the device that carries it`;
  const tag = GATEWAY_TAG_KEYS.find((k) => k === norm);
  if (tag !== undefined) return tag === key ? 'is set by the gateway itself; choose another tag name' : `clashes with the gateway's own tag "${tag}" (differs only in case, spaces or escaping)`;
  if (GATEWAY_FIELD_KEYS.includes(norm) || readingField(norm) !== undefined) return `clashes with the field "${norm}" that the gateway writes`;
  return undefined;
}

/**
 * Pairs of a device's tag keys that InfluxDB would take for one key (line-protocol
 * normalisation: `a\` and `a`): the encoder rejects every point carrying both.
 */
export function collidingTagKeys(keys: readonly string[]): [string, string][] {
  const seen = new Map<string, string>();
  const out: [string, string][] = [];
  for (const k of keys) {
    const norm = normalizedName(k, 'tag');
    const other = seen.get(norm);
    if (other !== undefined) out.push([other, k]);
    else seen.set(norm, k);
  }
  return out;
}

/** The key a ChirpStack device tag is stored under: as the encoder writes it, or `chirpstack_<key>` when reserved. */
export function chirpstackTagKey(key: string): string {
  if (reservedTagReason(key) === undefined) return normalizedName(key, 'tag');
  return `chirpstack_${comparable(key).replace(/\s+/g, '_')}`;
}
