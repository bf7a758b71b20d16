/**
 * A Semtech UDP `stat` object as a pipeline record (`kind: 'gateway'`). The stat's own `time`
 * ("2014-01-12 08:59:28 GMT") is its timestamp when it parses and is within a day of now (a
 * gateway without NTP or GPS reports 1970), else the time it arrived. Only finite numbers are
 * taken; lat/lon only as a pair inside their ranges (a forwarder without GPS sends 0/0 or none).
 */
import { RECORD_VERSION, type GatewayStatusRecord } from '../pipeline/record.ts';
import type { Stat } from '../../lorawan/udp/types.ts';

const DAY_MS = 86_400_000;

export function statTime(stat: Stat, now: number): number {
  const m = stat.time === undefined ? null : /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?: ?(?:GMT|UTC|Z))?$/.exec(stat.time.trim());
  const t = m ? Date.parse(`${m[1]}T${m[2]}Z`) : Number.NaN;
  return Number.isFinite(t) && Math.abs(t - now) < DAY_MS ? t : now;
}

export function gatewayStatusRecord(src: string, gatewayId: string, stat: Stat, now: number): GatewayStatusRecord {
  const time = statTime(stat, now);
  const r: GatewayStatusRecord = { v: RECORD_VERSION, kind: 'gateway', src, id: `${gatewayId}/${time}`, time, rxAt: now, gatewayId };
  const fin = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  for (const k of ['rxnb', 'rxok', 'rxfw', 'ackr', 'dwnb', 'txnb'] as const) if (fin(stat[k])) r[k] = stat[k];
  if (fin(stat.lati) && fin(stat.long) && Math.abs(stat.lati) <= 90 && Math.abs(stat.long) <= 180 && !(stat.lati === 0 && stat.long === 0)) {
    r.lat = stat.lati;
    r.lon = stat.long;
    if (fin(stat.alti)) r.alt = stat.alti;
  }
  return r;
}
