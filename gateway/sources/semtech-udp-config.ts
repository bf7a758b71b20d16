/**
 * Config of a `semtech_udp` source (one entry of `sources:`), checked with the gateway config's
 * Checker so every problem names its key (`sources[1].listen: …`). Every key with its default
 * is in gateway/sources/semtech-udp.sample.yaml.
 */
import { resolve } from 'node:path';
import type { Checker } from '../config.ts';
import { abpChannelsProblem } from '../ns/channel-plan.ts';
import { parseListen, type SemtechUdpConfig } from './semtech-udp.ts';

type Obj = Record<string, unknown>;

/** Default `dedup_answer_ms` (gateway/ns/README.md, "Early dedup close"). */
export const DEDUP_ANSWER_MS = 20;

export const SEMTECH_UDP_KEYS = [
  'type',
  'name',
  'listen',
  'keys_file',
  'state_dir',
  'gateways',
  'max_datagram_bytes',
  'dedup_window_ms',
  'max_fcnt_gap',
  'net_id',
  'rx1_dr_offset',
  'rx2_dr',
  'rx2_frequency_hz',
  'rx_delay_s',
  'tx_power_dbm',
  'abp_fcnt_reset',
  'confirmed_retries',
  'application_id',
  'device_profiles',
  'adr',
  'adr_history',
  'adr_installation_margin_db',
  'abp_channels',
  'inbox',
  'inbox_fsync_interval_ms',
  'intake_thread',
  'dedup_early_close',
  'dedup_expected_gateways',
  'dedup_answer_ms',
  'gateway_keepalive_s',
] as const;

export function checkSemtechUdp(c: Checker, raw: Obj, i: number, dataDir: string, at: (p: string) => string): SemtechUdpConfig {
  const p = `sources[${i}].`;
  c.known(raw, p, SEMTECH_UDP_KEYS);
  const name = c.str(raw, 'name', p, 'udp') as string;
  const listen = c.str(raw, 'listen', p, '127.0.0.1:1700') as string;
  if (!parseListen(listen)) c.add(`${p}listen`, 'E_CONFIG_VALUE', `must be host:port or [ipv6]:port (e.g. 127.0.0.1:1700, [::]:1700), got ${JSON.stringify(listen)}`);
  const keysFile = c.str(raw, 'keys_file', p);
  if (keysFile === undefined) c.add(`${p}keys_file`, 'E_CONFIG_REQUIRED', 'required: the device keys file (JSON, mode 0600; see "lorawan-edge keys import")');
  const gateways = raw['gateways'] ?? [];
  if (!Array.isArray(gateways) || gateways.some((g) => typeof g !== 'string' || !/^[0-9a-fA-F]{16}$/.test(g))) c.add(`${p}gateways`, 'E_CONFIG_VALUE', 'must be a list of 16-hex-digit gateway EUIs');
  const profiles = raw['device_profiles'] ?? {};
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) c.add(`${p}device_profiles`, 'E_CONFIG_TYPE', 'must map names to catalogue ids');
  const abpChannels = raw['abp_channels'] ?? [];
  const abpProblem = abpChannelsProblem(abpChannels);
  if (abpProblem) c.add(`${p}abp_channels`, 'E_CONFIG_VALUE', abpProblem);
  const dedupWindowMs = c.int(raw, 'dedup_window_ms', p, 200, 0, 5_000);
  // The answer deadline is a part of the window: a default above a short window is that window.
  const answerMs = c.int(raw, 'dedup_answer_ms', p, Math.min(DEDUP_ANSWER_MS, dedupWindowMs), 0, 5_000);
  if (raw['dedup_answer_ms'] !== undefined && answerMs > dedupWindowMs) c.add(`${p}dedup_answer_ms`, 'E_CONFIG_VALUE', `must not exceed dedup_window_ms (${dedupWindowMs}), got ${answerMs}`);
  return {
    name,
    listen,
    keys_file: at(keysFile ?? 'keys.json'),
    state_dir: at(c.str(raw, 'state_dir', p, resolve(dataDir, 'ns')) as string),
    gateways: Array.isArray(gateways) ? gateways.map((g) => String(g).toLowerCase()) : [],
    max_datagram_bytes: c.int(raw, 'max_datagram_bytes', p, 65_507, 64, 65_507),
    dedup_window_ms: dedupWindowMs,
    max_fcnt_gap: c.int(raw, 'max_fcnt_gap', p, 16_384, 1, 65_534),
    net_id: c.int(raw, 'net_id', p, 0x13, 0, 0xffffff),
    rx1_dr_offset: c.int(raw, 'rx1_dr_offset', p, 0, 0, 5),
    rx2_dr: c.int(raw, 'rx2_dr', p, 0, 0, 7),
    rx2_frequency_hz: c.int(raw, 'rx2_frequency_hz', p, 869_525_000, 863_000_000, 870_000_000),
    rx_delay_s: c.int(raw, 'rx_delay_s', p, 1, 1, 15),
    tx_power_dbm: c.int(raw, 'tx_power_dbm', p, 14, 0, 27),
    abp_fcnt_reset: c.oneOf(raw, 'abp_fcnt_reset', p, ['reject', 'accept_zero'] as const, 'reject'),
    confirmed_retries: c.int(raw, 'confirmed_retries', p, 3, 0, 15),
    application_id: c.str(raw, 'application_id', p, 'edge') as string,
    device_profiles: profiles as Record<string, string>,
    adr: c.oneOf(raw, 'adr', p, [true, false] as const, true),
    adr_history: c.int(raw, 'adr_history', p, 20, 1, 64),
    adr_installation_margin_db: c.int(raw, 'adr_installation_margin_db', p, 10, 0, 30),
    abp_channels: abpProblem ? [] : (abpChannels as number[]),
    inbox: c.oneOf(raw, 'inbox', p, [true, false] as const, true),
    inbox_fsync_interval_ms: c.int(raw, 'inbox_fsync_interval_ms', p, 5, 0, 50),
    intake_thread: c.oneOf(raw, 'intake_thread', p, [true, false] as const, true),
    dedup_early_close: c.oneOf(raw, 'dedup_early_close', p, [true, false] as const, true),
    dedup_expected_gateways: c.oneOf(raw, 'dedup_expected_gateways', p, [true, false] as const, true),
    dedup_answer_ms: answerMs,
    gateway_keepalive_s: c.int(raw, 'gateway_keepalive_s', p, 10, 1, 300),
  };
}
