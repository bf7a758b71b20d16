import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
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
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read: ENOENT/);
    writeFileSync(join(dir, 'bad.yaml'), 'sources: [unclosed\n');
    expect(() => loadConfig(join(dir, 'bad.yaml'))).toThrow(ConfigError);
    writeFileSync(join(dir, 'ok.yaml'), yaml.dump(minimal));
    expect(loadConfig(join(dir, 'ok.yaml')).sources).toHaveLength(1);
  });
});
