// The README's configuration reference lists every key the gateway config accepts. The keys
// are not copied here: they are asked from checkConfig() itself, which names the keys it
// expects when it meets an unknown one, so a key another branch adds fails this test until the
// README documents it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { checkConfig, ConfigError, type ConfigProblem } from './config.ts';

const PROBE = '__probe__';
const SOURCE = { type: 'chirpstack_mqtt', url: 'mqtt://127.0.0.1:1883' };
const SINK_MINIMUM: Record<string, Record<string, unknown>> = { influxdb: { url: 'http://127.0.0.1:8086', database: 'db' } };

function problems(doc: Record<string, unknown>): ConfigProblem[] {
  try {
    checkConfig(doc, join(REPO_ROOT, 'gateway.yaml'), {});
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** The keys checkConfig expects where the probe key was put (`at` is its path), or undefined. */
function expectedAt(doc: Record<string, unknown>, at: string): string[] | undefined {
  const p = problems(doc).find((x) => x.key === at && x.code === 'E_CONFIG_UNKNOWN_KEY');
  const list = p && /expected one of: ([^)]*)\)?/.exec(p.message)?.[1];
  return list ? list.split(',').map((k) => k.trim()) : undefined;
}

/** Every leaf key, as the README writes it: `name`, `buffer.max_bytes`, `sources[].url`. */
function schemaKeys(): string[] {
  const base = { sources: [SOURCE] };
  const top = expectedAt({ ...base, [PROBE]: 1 }, PROBE) ?? [];
  const keys: string[] = [];
  for (const k of top) {
    if (k === 'sources') {
      for (const s of expectedAt({ sources: [{ ...SOURCE, [PROBE]: 1 }] }, `sources[0].${PROBE}`) ?? []) keys.push(`sources[].${s}`);
      // The edge network server's source has keys of its own (checked by semtech-udp-config.ts).
      const udp = expectedAt({ sources: [{ type: 'semtech_udp', keys_file: 'keys.json', [PROBE]: 1 }] }, `sources[0].${PROBE}`);
      expect(udp, 'semtech_udp source keys').toBeDefined();
      for (const s of udp ?? []) keys.push(`sources[].${s}`);
    } else if (k === 'sinks') {
      // The sink types, from the message for an unknown one: must be "influxdb" or "file".
      const typeProblem = problems({ ...base, sinks: [{ type: PROBE }] }).find((p) => p.key === 'sinks[0].type');
      const types = [...(typeProblem?.message.matchAll(/"([a-z_0-9]+)"/g) ?? [])].map((m) => m[1] as string).filter((t) => t !== PROBE);
      expect(types.length).toBeGreaterThan(0);
      for (const type of types) {
        const sinkKeys = expectedAt({ ...base, sinks: [{ type, ...SINK_MINIMUM[type], [PROBE]: 1 }] }, `sinks[0].${PROBE}`);
        expect(sinkKeys, `sink type ${type}`).toBeDefined();
        for (const s of sinkKeys ?? []) keys.push(`sinks[].${s}`);
      }
    } else {
      const section = expectedAt({ ...base, [k]: { [PROBE]: 1 } }, `${k}.${PROBE}`);
      if (!section) keys.push(k);
      for (const s of section ?? []) {
        // One level further for nested sections (web.store.file, web.map.tiles).
        const sub = expectedAt({ ...base, [k]: { [s]: { [PROBE]: 1 } } }, `${k}.${s}.${PROBE}`);
        if (sub) keys.push(...sub.map((x) => `${k}.${s}.${x}`));
        else keys.push(`${k}.${s}`);
      }
    }
  }
  return [...new Set(keys)];
}

/** Keys in the first column of the README's "Gateway (`gateway.yaml`)" table. */
function documentedKeys(): Set<string> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Gateway (`gateway.yaml`)');
  const end = readme.indexOf('\n### ', start + 1);
  const out = new Set<string>();
  for (const line of readme.slice(start, end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cell = line.split('|')[1] ?? '';
    // `buffer.segment_bytes` / `max_bytes`: later names share the first one's prefix.
    let prefix = '';
    for (const m of cell.matchAll(/`([^`]+)`/g)) {
      const name = m[1] as string;
      const dot = name.lastIndexOf('.');
      if (dot >= 0) prefix = name.slice(0, dot + 1);
      out.add(dot >= 0 ? name : `${prefix}${name}`);
    }
  }
  return out;
}

describe('README configuration reference', () => {
  it('documents every key the gateway config accepts', () => {
    const keys = schemaKeys();
    // The probe itself must work, or this test would pass on nothing.
    expect(keys).toEqual(expect.arrayContaining(['name', 'http.listen', 'buffer.when_full', 'sources[].url', 'sources[].keys_file', 'sources[].dedup_window_ms', 'sinks[].database', 'sinks[].rotate_bytes']));
    const documented = documentedKeys();
    // A map whose keys are the user's (web.location_tags: {lat: …, lon: …}) is documented as a whole.
    const parent = (k: string): string => k.slice(0, k.lastIndexOf('.'));
    expect(keys.filter((k) => !documented.has(k) && !documented.has(parent(k)))).toEqual([]);
  });

  it('documents no key the config would reject', () => {
    const keys = schemaKeys();
    const known = new Set(keys);
    expect([...documentedKeys()].filter((k) => !known.has(k) && !keys.some((x) => x.startsWith(`${k}.`)))).toEqual([]);
  });
});
