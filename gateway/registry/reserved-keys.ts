/**
 * Tag keys an installation may not use, and what happens to them when they arrive anyway.
 *
 * InfluxDB refuses a point whose tag is named `time` (every point of that device was lost: 30
 * uplinks → 0 points, 60 dead letters), and a tag that differs from one the gateway sets only by
 * case or spaces (`DEV_EUI`, `dev_eui `) or that has the name of a reading field (`fill_pct`)
 * makes queries and dashboards pick the wrong column. So:
 * - where tags are written (the registry file, `devices add --tag`, a CSV import) such a key is
 *   refused with the reason;
 * - where they arrive from ChirpStack (device tags on each event) the key is renamed to
 *   `chirpstack_<key>` (trimmed, lower case), so the point is written and nothing is lost.
 */
import { readingField } from '../../codecs/readings.ts';

/** Tags the gateway sets itself (native and ChirpStack-compatible schemas) plus InfluxDB's own. */
export const GATEWAY_TAG_KEYS: readonly string[] = ['time', 'dev_eui', 'device', 'model', 'application_name', 'device_name', 'f_port', 'dr', 'frequency'];
/** Field keys the schemas write besides the readings. */
const GATEWAY_FIELD_KEYS: readonly string[] = ['value', 'latitude', 'longitude', 'rssi', 'snr', 'gateway_count', 'sf', 'fcnt', 'fport', 'payload_bytes', 'decode_errors', 'margin_db', 'external_power', 'joined', 'dev_addr'];

/** Why `key` may not be an installation tag, or undefined when it may. */
export function reservedTagReason(key: string): string | undefined {
  const norm = key.trim().toLowerCase();
  if (norm === 'time') return '"time" is InfluxDB\'s timestamp: a tag of that name makes InfluxDB refuse every point of the device';
  const tag = GATEWAY_TAG_KEYS.find((k) => k === norm);
  if (tag !== undefined) return tag === key ? 'is set by the gateway itself; choose another tag name' : `clashes with the gateway's own tag "${tag}" (differs only in case or spaces)`;
  if (GATEWAY_FIELD_KEYS.includes(norm) || readingField(norm) !== undefined) return `clashes with the field "${norm}" that the gateway writes`;
  return undefined;
}

/** The key a ChirpStack device tag is stored under: itself, or `chirpstack_<key>` when reserved. */
export function chirpstackTagKey(key: string): string {
  if (reservedTagReason(key) === undefined) return key;
  return `chirpstack_${key.trim().toLowerCase().replace(/\s+/g, '_')}`;
}
