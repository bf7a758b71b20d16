/**
 * The technician's one-line answer: is this device heard, and how well?
 * "heard by 2 gateways — best RSSI −97 dBm" and a plain verdict:
 * - `good`: heard recently with a link margin of at least 5 dB at its spreading factor;
 * - `weak`: heard, but the best SNR is within 5 dB of what the spreading factor needs to demodulate
 *   (SF7 −7.5 dB … SF12 −20 dB, Semtech SX1276 datasheet), or heard by one gateway below −115 dBm;
 * - `not_heard`: nothing for more than 2 reporting intervals ("not heard for 42 min");
 * - `never_heard`: registered, never joined nor sent.
 */
import type { DeviceState } from './store/local-store.ts';
import type { DeviceStateName } from './store/queries.ts';

export type VerdictLevel = 'good' | 'weak' | 'not_heard' | 'never_heard';

export interface Verdict {
  level: VerdictLevel;
  text: string;
  /** best SNR minus the SNR the spreading factor needs, dB */
  marginDb: number | null;
}

const REQUIRED_SNR: Record<number, number> = { 7: -7.5, 8: -10, 9: -12.5, 10: -15, 11: -17.5, 12: -20 };

export function formatAge(ms: number): string {
  const min = Math.max(0, Math.round(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} days`;
}

export function verdictOf(s: DeviceState | undefined, state: DeviceStateName, now: number): Verdict {
  if (!s) return { level: 'never_heard', text: 'never heard: not joined, no uplink yet', marginDb: null };
  const margin = s.bestSnr !== null && s.sf !== null && REQUIRED_SNR[s.sf] !== undefined ? Math.round((s.bestSnr - (REQUIRED_SNR[s.sf] as number)) * 10) / 10 : null;
  if (state === 'silent') return { level: 'not_heard', text: `not heard for ${formatAge(now - s.lastSeen)}`, marginDb: margin };
  if (s.lastUplink === null) return { level: 'weak', text: `joined ${formatAge(now - (s.joinedAt ?? s.lastSeen))} ago, no uplink yet`, marginDb: null };
  const n = s.gatewayCount ?? 0;
  const heard = `heard by ${n} gateway${n === 1 ? '' : 's'} — best RSSI ${s.bestRssi ?? '?'} dBm`;
  const weak = (margin !== null && margin < 5) || (n <= 1 && (s.bestRssi ?? 0) < -115);
  return { level: weak ? 'weak' : 'good', text: `${heard}${margin !== null ? `, margin ${margin} dB` : ''}`, marginDb: margin };
}
