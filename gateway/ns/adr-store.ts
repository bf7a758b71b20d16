/**
 * The ADR engine's state (`adr.ts`) in the session store's SQLite file, so a restart keeps ADR
 * decisions: per device the last N uplinks' best SNR with their FCnt (N = `adr_history`, at most
 * 64), the TX power index and NbTrans the device was told, the request awaiting its LinkADRAns,
 * and whether the device refused a channel mask.
 *
 * - Written by the network server for the devices the engine marked changed, inside the batch's
 *   transaction that commits the frame counters (`NetworkServer.commit`): no fsync of its own.
 * - Each row carries the session's `seq`: a row of an earlier session (a join whose ADR reset
 *   was not written before a crash) is ignored at load, so a new session starts from defaults.
 * - Bounded: one row per device; the history blob holds at most `MAX_HISTORY` entries of 6 bytes
 *   (FCnt u32 LE, SNR × 4 as int16 LE — 0.25 dB steps, the forwarder reports 0.1 dB, ADR steps
 *   are 3 dB); a row that does not parse is ignored (the device starts from defaults).
 *
 * On-disk: `adr_state(dev_eui TEXT PRIMARY KEY, seq INTEGER, dr INTEGER, tx_power_index INTEGER,
 * nb_trans INTEGER, asked TEXT ('' or JSON {dr, txPowerIndex, nbTrans}), mask_refused INTEGER,
 * history BLOB)`.
 */
import type Database from 'better-sqlite3';
import { packHistory, type AdrDevice, type AdrState, type AdrUplink, type DeviceAdr } from './adr.ts';

export const MAX_HISTORY = 64;
const ENTRY = 6;

const SCHEMA = `CREATE TABLE IF NOT EXISTS adr_state (
  dev_eui TEXT PRIMARY KEY, seq INTEGER NOT NULL, dr INTEGER NOT NULL, tx_power_index INTEGER NOT NULL,
  nb_trans INTEGER NOT NULL, asked TEXT NOT NULL, mask_refused INTEGER NOT NULL, history BLOB NOT NULL
) WITHOUT ROWID`;

interface Row {
  dev_eui: string;
  seq: number;
  dr: number;
  tx_power_index: number;
  nb_trans: number;
  asked: string;
  mask_refused: number;
  history: Buffer;
}

export function encodeHistory(h: readonly AdrUplink[]): Buffer {
  return encodePackedHistory(packHistory(h));
}

/** The blob of a packed history (adr.ts `PackedHistory`), its last MAX_HISTORY entries. */
export function encodePackedHistory(p: readonly number[]): Buffer {
  const n = Math.min(MAX_HISTORY, p.length >> 1);
  const from = p.length - 2 * n;
  const b = Buffer.alloc(n * ENTRY);
  for (let i = 0; i < n; i++) {
    b.writeUInt32LE((p[from + 2 * i] as number) >>> 0, i * ENTRY);
    b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round((p[from + 2 * i + 1] as number) * 4))), i * ENTRY + 4);
  }
  return b;
}

export function decodeHistory(b: Uint8Array): AdrUplink[] | undefined {
  if (b.length % ENTRY !== 0 || b.length > MAX_HISTORY * ENTRY) return undefined;
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out: AdrUplink[] = [];
  for (let o = 0; o < buf.length; o += ENTRY) out.push({ fCnt: buf.readUInt32LE(o), maxSnr: buf.readInt16LE(o + 4) / 4 });
  return out;
}

const int = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function parseAsked(s: string): AdrState | undefined | null {
  if (s === '') return undefined;
  try {
    const v = JSON.parse(s) as Partial<AdrState>;
    if (int(v.dr, 0, 15) && int(v.txPowerIndex, 0, 15) && int(v.nbTrans, 1, 15)) return { dr: v.dr, txPowerIndex: v.txPowerIndex, nbTrans: v.nbTrans };
  } catch {
    // fall through: not ours
  }
  return null;
}

export class AdrStore {
  private readonly st: { put: Database.Statement; del: Database.Statement; all: Database.Statement };

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.st = {
      put: db.prepare('INSERT OR REPLACE INTO adr_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM adr_state WHERE dev_eui = ?'),
      all: db.prepare('SELECT * FROM adr_state'),
    };
  }

  /** Writes the changed devices (undefined = forgotten); call inside the batch's transaction. */
  write(changes: readonly [devEui: string, state: Readonly<AdrDevice> | undefined, seq: number][]): void {
    for (const [devEui, d, seq] of changes) {
      if (!d) this.st.del.run(devEui);
      else this.st.put.run(devEui, seq, d.dr, d.txPowerIndex, d.nbTrans, d.asked ? JSON.stringify(d.asked) : '', d.maskRefused ? 1 : 0, encodePackedHistory(d.packed));
    }
  }

  /** Every stored device whose row belongs to its current session (`seqOf`); others are dropped. */
  load(seqOf: (devEui: string) => number | undefined): Map<string, DeviceAdr> {
    const out = new Map<string, DeviceAdr>();
    const stale: string[] = [];
    for (const r of this.st.all.all() as Row[]) {
      const history = decodeHistory(r.history);
      const asked = parseAsked(r.asked);
      if (seqOf(r.dev_eui) !== r.seq || !history || asked === null || !int(r.dr, 0, 15) || !int(r.tx_power_index, 0, 15) || !int(r.nb_trans, 1, 15)) {
        stale.push(r.dev_eui);
        continue;
      }
      out.set(r.dev_eui, { dr: r.dr, txPowerIndex: r.tx_power_index, nbTrans: r.nb_trans, history, ...(asked ? { asked } : {}), ...(r.mask_refused ? { maskRefused: true } : {}) });
    }
    if (stale.length)
      this.db.transaction(() => {
        for (const d of stale) this.st.del.run(d);
      })();
    return out;
  }
}
