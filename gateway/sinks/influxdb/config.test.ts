import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { INFLUX_SINK_CONFIG_KEYS, INFLUX_SINK_DEFAULTS, InfluxSinkConfigError, describeTarget, gzipEnabled, isLoopbackUrl, resolveInfluxSinkConfig } from './config.ts';

function errorOf(input: unknown): InfluxSinkConfigError {
  try {
    resolveInfluxSinkConfig(input);
  } catch (e) {
    if (e instanceof InfluxSinkConfigError) return e;
    throw e;
  }
  throw new Error('expected a config error');
}

describe('resolveInfluxSinkConfig', () => {
  it('fills in the documented defaults', () => {
    const cfg = resolveInfluxSinkConfig({ url: 'http://127.0.0.1:8086/', database: 'lorawan' });
    expect(cfg).toMatchObject({ ...INFLUX_SINK_DEFAULTS, url: 'http://127.0.0.1:8086', database: 'lorawan' });
    expect(cfg.batch_lines).toBe(5000);
    expect(cfg.batch_bytes).toBe(1_048_576);
    expect(cfg.flush_interval_ms).toBe(1000);
    expect(cfg.max_in_flight).toBe(4);
  });

  it('names the key in every error', () => {
    expect(errorOf({ database: 'x' }).key).toBe('url');
    expect(errorOf({ url: 'ftp://x', database: 'x' }).key).toBe('url');
    expect(errorOf({ url: 'http://x' }).key).toBe('database');
    expect(errorOf({ url: 'http://x', version: 2 }).key).toBe('bucket');
    expect(errorOf({ url: 'http://x', version: 3, bucket: 'b' }).key).toBe('version');
    expect(errorOf({ url: 'http://x', database: 'd', batch_lines: 0 }).key).toBe('batch_lines');
    expect(errorOf({ url: 'http://x', database: 'd', gzip: 'yes' }).key).toBe('gzip');
    expect(errorOf({ url: 'http://x', database: 'd', batchLines: 5 }).message).toMatch(/^influxdb sink config: batchLines: unknown key \(expected one of: url, version, .*batch_lines/);
    expect(errorOf({ url: 'http://x', database: 'd', username: 'u' }).key).toBe('password');
    expect(errorOf({ url: 'http://x', database: 'd', token: 't' }).key).toBe('token');
    expect(errorOf({ url: 'http://x', database: 'd', retry_min_backoff_ms: 500, retry_max_backoff_ms: 100 }).key).toBe('retry_max_backoff_ms');
  });

  it('never echoes a secret', () => {
    const e1 = errorOf({ url: 'http://admin:hunter2-secret@127.0.0.1:8086', database: 'd' });
    expect(e1.message).not.toContain('hunter2-secret');
    const e2 = errorOf({ url: 'http://x', database: 'd', username: 'u', password: 12345678 });
    expect(e2.message).not.toContain('12345678');
    const e3 = errorOf({ url: 'http://x', version: 2, bucket: 'b', token: { value: 'tok-very-secret' } });
    expect(e3.message).not.toContain('tok-very-secret');
  });

  it('gzip auto: off for loopback hosts, on for others', () => {
    for (const u of ['http://127.0.0.1:8086', 'http://localhost:8086', 'http://[::1]:8086', 'http://127.8.9.10']) expect(isLoopbackUrl(u)).toBe(true);
    for (const u of ['http://10.0.0.5:8086', 'https://influx.example.com', 'http://128.0.0.1']) expect(isLoopbackUrl(u)).toBe(false);
    expect(gzipEnabled({ gzip: 'auto', url: 'http://127.0.0.1:8086' })).toBe(false);
    expect(gzipEnabled({ gzip: 'auto', url: 'https://influx.example.com' })).toBe(true);
    expect(gzipEnabled({ gzip: true, url: 'http://127.0.0.1:8086' })).toBe(true);
    expect(gzipEnabled({ gzip: false, url: 'https://influx.example.com' })).toBe(false);
  });

  it('describes the target without credentials', () => {
    const v1 = resolveInfluxSinkConfig({ url: 'http://h:8086', database: 'db', retention_policy: 'rp', username: 'u', password: 'pw-secret' });
    expect(describeTarget(v1)).toBe('http://h:8086 (v1, db "db", rp "rp")');
    const v2 = resolveInfluxSinkConfig({ url: 'https://h', version: 2, org: 'o', bucket: 'b', token: 'tok-secret' });
    expect(describeTarget(v2)).toBe('https://h (v2, org "o", bucket "b")');
  });
});

describe('documentation', () => {
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const sample = yaml.load(readFileSync(new URL('./sample.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;

  it('README documents every key', () => {
    for (const key of INFLUX_SINK_CONFIG_KEYS) expect(readme, key).toContain(`\`${key}\``);
  });

  it('sample.yaml validates and shows the defaults', () => {
    const { type, name, ...rest } = sample;
    expect([type, name]).toEqual(['influxdb', 'influx']);
    const cfg = resolveInfluxSinkConfig(rest);
    expect(cfg).toMatchObject(INFLUX_SINK_DEFAULTS);
    const text = readFileSync(new URL('./sample.yaml', import.meta.url), 'utf8');
    for (const key of INFLUX_SINK_CONFIG_KEYS) expect(text, key).toMatch(new RegExp(`^#? ?${key}:`, 'm'));
  });
});
