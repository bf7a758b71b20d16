/**
 * The last `stat` of each gateway (Semtech UDP, `kind: 'gateway'` records) in the local store:
 * one table and its two statements, kept apart from local-store.ts so the store's own write path
 * can change (it is moving to a worker thread) without touching this. Each gateway keeps its
 * newest stat only; an older one arriving late (a replay, a catch-up) does not overwrite it.
 */
import type Database from 'better-sqlite3';
import type { GatewayStatusRecord } from '../../pipeline/record.ts';

export const GATEWAY_STATS_SQL = `
CREATE TABLE IF NOT EXISTS gateway_stats (
  gateway_id TEXT PRIMARY KEY, time INTEGER NOT NULL, rxnb INTEGER, rxok INTEGER, rxfw INTEGER,
  ackr REAL, dwnb INTEGER, txnb INTEGER, lat REAL, lon REAL, alt REAL
) WITHOUT ROWID;`;

export interface GatewayStat {
  time: number;
  rxnb?: number;
  rxok?: number;
  rxfw?: number;
  ackr?: number;
  dwnb?: number;
  txnb?: number;
  lat?: number;
  lon?: number;
  alt?: number;
}

const FIELDS = ['rxnb', 'rxok', 'rxfw', 'ackr', 'dwnb', 'txnb', 'lat', 'lon', 'alt'] as const;

export function putGatewayStat(db: Database.Database, r: GatewayStatusRecord): void {
  db.prepare(
    `INSERT INTO gateway_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(gateway_id) DO UPDATE SET time = excluded.time, rxnb = excluded.rxnb, rxok = excluded.rxok, rxfw = excluded.rxfw, ackr = excluded.ackr,
       dwnb = excluded.dwnb, txnb = excluded.txnb, lat = excluded.lat, lon = excluded.lon, alt = excluded.alt
     WHERE excluded.time >= gateway_stats.time`,
  ).run(r.gatewayId, r.time, ...FIELDS.map((k) => r[k] ?? null));
}

export function lastGatewayStats(db: Database.Database): Map<string, GatewayStat> {
  const out = new Map<string, GatewayStat>();
  for (const row of db.prepare('SELECT * FROM gateway_stats').all() as Record<string, number | string | null>[]) {
    const s: GatewayStat = { time: Number(row['time']) };
    for (const k of FIELDS) if (typeof row[k] === 'number') s[k] = row[k];
    out.set(String(row['gateway_id']), s);
  }
  return out;
}
