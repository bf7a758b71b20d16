import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { BILLION_LAUGHS } from '../support/hostile-yaml.ts';
import { checkConfig, ConfigError, loadConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(doc: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    checkConfig(doc, join(dir, 'gateway.yaml'), env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.key}: ${p.message} [${p.code}]`);
  }
}

const minimal = { sources: [{ type: 'chirpstack_mqtt', url: 'mqtt://127.0.0.1:1883' }] };

describe('gateway config', () => {
  it('the sample config is valid (with its env vars set)', () => {
    const cfg = loadConfig(join(import.meta.dirname, 'gateway.sample.yaml'), {});
    expect(cfg.sources[0]?.client_id).toBe('lorawan-edge-pi-centre-chirpstack');
    expect(cfg.sinks[0]?.type).toBe('influxdb');
    expect(cfg.http.listen).toBe('127.0.0.1:9108');
  });

  it('fills defaults: file sink, localhost HTTP, data dir beside the file', () => {
    const cfg = checkConfig(minimal, join(dir, 'gateway.yaml'), {});
    expect(cfg.sinks).toEqual([expect.objectContaining({ type: 'file', name: 'file', dir: join(dir, 'data', 'points') })]);
    expect(cfg.buffer.dir).toBe(join(dir, 'data', 'buffer'));
    expect(cfg.buffer.sinks).toEqual(['file']);
    expect(cfg.http.listen).toBe('127.0.0.1:9108');
    expect(cfg.sources[0]?.topics).toEqual(['application/+/device/+/event/+']);
  });

  it('sandbox.memory_budget_mb: 64 by default, bounded, and a bad value names the key', () => {
    expect(checkConfig(minimal, join(dir, 'gateway.yaml'), {}).sandbox).toEqual({ memory_budget_mb: 64 });
    expect(checkConfig({ ...minimal, sandbox: { memory_budget_mb: 128 } }, join(dir, 'gateway.yaml'), {}).sandbox.memory_budget_mb).toBe(128);
    expect(problems({ ...minimal, sandbox: { memory_budget_mb: 2 } })).toEqual(['sandbox.memory_budget_mb: must be an integer 4..3072, got 2 [E_CONFIG_VALUE]']);
    expect(problems({ ...minimal, sandbox: { budget: 1 } })[0]).toMatch(/^sandbox\.budget: unknown key/);
  });

  it('names every bad key at once, with stable codes', () => {
    const got = problems({
      colour: 'red',
      http: { listen: '0.0.0.0' },
      sources: [{ type: 'chirpstack_mqtt', url: 'http://x', format: 'xml', bogus: 1 }, { type: 'udp' }],
      sinks: [
        { type: 'influxdb', name: 'influx', url: 'http://127.0.0.1:8086', batch_lines: -5, database: 'x' },
        { type: 'influxdb', name: 'v2', url: 'http://127.0.0.1:8086', version: 2 },
        { type: 'file', name: 'influx' },
      ],
      buffer: { when_full: 'explode' },
    });
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^colour: unknown key .*\[E_CONFIG_UNKNOWN_KEY\]$/),
        expect.stringMatching(/^http\.listen: must be host:port/),
        expect.stringMatching(/^sources\[0\]\.url: must start with mqtt:\/\//),
        expect.stringMatching(/^sources\[0\]\.format: must be one of "auto", "json", "protobuf"/),
        expect.stringMatching(/^sources\[0\]\.bogus: unknown key/),
        expect.stringMatching(/^sources\[1\]\.type: must be "chirpstack_mqtt" or "semtech_udp", got "udp"/),
        expect.stringMatching(/^sinks\[0\]\.batch_lines: expected an integer/),
        expect.stringMatching(/^sinks\[1\]\.bucket: required with version 2 \[E_CONFIG_REQUIRED\]/),
        expect.stringMatching(/^sinks\[2\]\.name: duplicate sink name "influx"/),
        expect.stringMatching(/^buffer\.when_full: /),
      ]),
    );
  });

  it('takes secrets from the environment and never echoes them', () => {
    const doc = {
      sources: [{ type: 'chirpstack_mqtt', url: 'mqtt://127.0.0.1:1883', password: '${MQTT_PASSWORD}' }],
      sinks: [{ type: 'influxdb', url: 'http://127.0.0.1:8086', version: 2, bucket: 'b', org: 'o', token: '${INFLUX_TOKEN}' }],
    };
    expect(problems(doc, {})).toEqual(['sources[0].password: environment variable MQTT_PASSWORD is not set [E_CONFIG_ENV]', 'sinks[0].token: environment variable INFLUX_TOKEN is not set [E_CONFIG_ENV]']);
    const cfg = checkConfig(doc, join(dir, 'g.yaml'), { MQTT_PASSWORD: 's3cret-mqtt', INFLUX_TOKEN: 's3cret-token' });
    expect(cfg.sources[0]?.password).toBe('s3cret-mqtt');
    const bad = problems({ ...doc, sources: [{ type: 'chirpstack_mqtt', url: 'mqtt://x', password: 12345678 }] }, { INFLUX_TOKEN: 'tok-abc' });
    expect(bad.join('\n')).not.toContain('12345678');
    expect(bad.join('\n')).not.toContain('tok-abc');
    expect(problems({ ...minimal, name: '${GW_NAME:-fallback}' }, {})).toEqual([]);
  });

  it('reports unreadable files and bad YAML as config errors', () => {
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: \(file\): file does not exist/);
    writeFileSync(join(dir, 'bad.yaml'), 'sources: [unclosed\n');
    expect(() => loadConfig(join(dir, 'bad.yaml'))).toThrow(ConfigError);
    writeFileSync(join(dir, 'ok.yaml'), yaml.dump(minimal));
    expect(loadConfig(join(dir, 'ok.yaml')).sources).toHaveLength(1);
  });

  it('refuses a 600-byte alias bomb fast, in one line naming the file', () => {
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, BILLION_LAUGHS);
    expect(statSync(file).size).toBeLessThan(700);
    const t0 = Date.now();
    let message = '';
    try {
      loadConfig(file);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/^.*bomb\.yaml: \(yaml\): the document expands to more than \d+ nodes/);
    expect(message.split('\n')).toHaveLength(1);
    // Not a timing assertion of speed, only "it did not walk 10^9 nodes" (that took minutes).
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('refuses __proto__ (and constructor/prototype) in the YAML and in a parsed document, naming the key', () => {
    const file = join(dir, 'proto.yaml');
    writeFileSync(file, `${yaml.dump(minimal)}__proto__:\n  data_dir: /tmp/hijacked\n`);
    expect(() => loadConfig(file)).toThrow(/proto\.yaml: __proto__: key "__proto__" is not allowed/);
    writeFileSync(file, `${yaml.dump(minimal)}http:\n  constructor: {listen: 1}\n`);
    expect(() => loadConfig(file)).toThrow(/http\.constructor/);
    const doc = JSON.parse(`{"sources":[{"type":"chirpstack_mqtt","url":"mqtt://127.0.0.1:1883"}],"__proto__":{"data_dir":"/tmp/hijacked"}}`) as unknown;
    expect(problems(doc as Record<string, unknown>, {})).toEqual([expect.stringMatching(/^__proto__: is not allowed/)]);
  });

  it('a path key of the wrong type is a problem, not a TypeError (found by config.fuzz.test.ts)', () => {
    expect(problems({ ...minimal, data_dir: { a: 1 } })).toEqual([expect.stringMatching(/^data_dir: must be a non-empty string/)]);
    expect(problems({ ...minimal, buffer: { dir: 5 } })).toEqual([expect.stringMatching(/^buffer\.dir: must be a non-empty string/)]);
    expect(problems({ ...minimal, rejects: { file: [] } })).toEqual([expect.stringMatching(/^rejects\.file: must be a non-empty string/)]);
    expect(problems({ ...minimal, sinks: [{ type: 'file', dir: true }] })).toEqual([expect.stringMatching(/^sinks\[0\]\.dir: must be a non-empty string/)]);
  });

  it('a path key of the wrong type is a config error naming the key, not a crash', () => {
    expect(problems({ ...minimal, data_dir: 5, rejects: { file: [] }, buffer: { dir: {} } })).toEqual([
      'data_dir: must be a non-empty string, got 5 [E_CONFIG_TYPE]',
      'rejects.file: must be a non-empty string, got [] [E_CONFIG_TYPE]',
      'buffer.dir: must be a non-empty string, got {} [E_CONFIG_TYPE]',
    ]);
  });

  it('an unknown buffer key is named with the keys it could be', () => {
    expect(problems({ ...minimal, buffer: { fsync_interval: 10 } })).toEqual([expect.stringMatching(/^buffer\.fsync_interval: unknown key \(expected one of: dir, segment_bytes, .*fsync_interval_ms/)]);
  });
});

