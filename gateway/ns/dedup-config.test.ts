// The dedup keys of a semtech_udp source: defaults, and errors that name the key.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig, ConfigError } from '../config.ts';
import type { SemtechUdpConfig } from '../sources/semtech-udp.ts';

function source(extra: Record<string, unknown>): SemtechUdpConfig | string[] {
  try {
    const cfg = checkConfig({ sources: [{ type: 'semtech_udp', keys_file: 'keys.json', ...extra }] }, join('/tmp', 'gateway.yaml'), {});
    return cfg.udp_sources[0] as SemtechUdpConfig;
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.message}`);
    throw err;
  }
}

describe('semtech_udp dedup keys', () => {
  it('defaults: expected gateways on, answer deadline 20 ms (never past a shorter window)', () => {
    expect(source({})).toMatchObject({ dedup_window_ms: 200, dedup_early_close: true, dedup_expected_gateways: true, dedup_answer_ms: 20 });
    expect(source({ dedup_window_ms: 10 })).toMatchObject({ dedup_answer_ms: 10 });
    expect(source({ dedup_answer_ms: 200, dedup_expected_gateways: false })).toMatchObject({ dedup_answer_ms: 200, dedup_expected_gateways: false });
  });

  it('errors name the key', () => {
    expect(source({ dedup_answer_ms: 300 })).toEqual([expect.stringMatching(/^sources\[0\]\.dedup_answer_ms: must not exceed dedup_window_ms \(200\), got 300/)]);
    expect(source({ dedup_answer_ms: -1 })).toEqual([expect.stringMatching(/^sources\[0\]\.dedup_answer_ms: /)]);
    expect(source({ dedup_expected_gateways: 'yes' })).toEqual([expect.stringMatching(/^sources\[0\]\.dedup_expected_gateways: /)]);
  });
});
