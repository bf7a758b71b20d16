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
 * history BLOB)` as of the last clean stop, and `adr_log(id INTEGER PRIMARY KEY, rows BLOB)`: one
 * row per batch with the changes written since (session 8: an `INSERT OR REPLACE` per device
 * landed on a random page each, ~35 of them per 200-uplink batch; one appended blob is a few
 * sequential pages). A device's state is its `adr_state` row with its `adr_log` entries applied in
 * id order (a later entry wins; a deletion entry removes it). Entries, back to back: u8 n, n bytes
 * DevEUI (latin1); u8 kind (0 deleted, 1 state); for a state f64 LE seq, u8 dr, tx_power_index,
 * nb_trans, mask_refused, u16 LE length + `asked` (UTF-8), u16 LE length + history. The log is
 * replaced by its merge (one entry per device) when it holds 3× its last merge (at least
 * 1 MiB), and folded into `adr_state` at a clean stop (`fold`).
 */
import type Database from 'better-sqlite3';
import { mergeLatest, putShortText } from './latest-entries.ts';
import { packHistory, type AdrDevice, type AdrState, type AdrUplink, type DeviceAdr } from './adr.ts';

export const MAX_HISTORY = 64;
const ENTRY = 6;

const SCHEMA = `CREATE TABLE IF NOT EXISTS adr_state (
  dev_eui TEXT PRIMARY KEY, seq INTEGER NOT NULL, dr INTEGER NOT NULL, tx_power_index INTEGER NOT NULL,
  nb_trans INTEGER NOT NULL, asked TEXT NOT NULL, mask_refused INTEGER NOT NULL, history BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS adr_log (id INTEGER PRIMARY KEY, rows BLOB NOT NULL)`;

/** Below this many bytes `adr_log` is not compacted (10,000 devices with full histories merge to ~1.5 MB). */
const COMPACT_MIN_BYTES = 1 << 20;

type LogRow = Omit<Row, 'dev_eui'>;

/** The changes of one batch as one `adr_log` blob (undefined = the device's state deleted): sizes first, then one buffer. */
export function packAdrLog(entries: readonly [devEui: string, row: LogRow | undefined][]): Buffer {
  let size = 0;
  for (const [devEui, r] of entries) {
    if (devEui.length > 255) throw new Error('DevEUI text too long for an ADR log entry');
    size += 2 + devEui.length + (r ? 13 + 2 + Buffer.byteLength(r.asked, 'utf8') + 2 + r.history.length : 0);
  }
  const b = Buffer.allocUnsafe(size);
  let o = 0;
  for (const [devEui, r] of entries) {
    o = putShortText(b, o, devEui);
    if (!r) {
      b[o++] = 0;
      continue;
    }
    b[o] = 1;
    b.writeDoubleLE(r.seq, o + 1);
    b[o + 9] = r.dr;
    b[o + 10] = r.tx_power_index;
    b[o + 11] = r.nb_trans;
    b[o + 12] = r.mask_refused ? 1 : 0;
    const askedLen = r.asked === '' ? 0 : b.write(r.asked, o + 15, 'utf8');
    b.writeUInt16LE(askedLen, o + 13);
    o += 15 + askedLen;
    b.writeUInt16LE(r.history.length, o);
    r.history.copy(b, o + 2);
    o += 2 + r.history.length;
  }
  return b;
}

/** Calls `each` per entry in order with where it lies in the blob; false if the blob does not parse (entries before the damage were given). */
function scanAdrLog(b: Buffer, each: (devEui: string, start: number, end: number) => void): boolean {
  let o = 0;
  while (o < b.length) {
    const start = o;
    const n = b[o] as number;
    if (o + 2 + n > b.length) return false;
    const devEui = b.toString('latin1', o + 1, o + 1 + n);
    o += 1 + n;
    const kind = b[o];
    if (kind === 0) {
      each(devEui, start, o + 1);
      o += 1;
      continue;
    }
    if (kind !== 1 || o + 15 > b.length) return false;
    const histAt = o + 15 + b.readUInt16LE(o + 13) + 2;
    if (histAt > b.length) return false;
    const end = histAt + b.readUInt16LE(histAt - 2);
    if (end > b.length) return false;
    each(devEui, start, end);
    o = end;
  }
  return true;
}

/** The entry at `start` (a well-formed one: scanAdrLog found it); undefined for a deletion. */
function decodeAdrEntry(b: Buffer, start: number): LogRow | undefined {
  const o = start + 1 + (b[start] as number);
  if (b[o] === 0) return undefined;
  const askedLen = b.readUInt16LE(o + 13);
  const histAt = o + 15 + askedLen + 2;
  const histLen = b.readUInt16LE(histAt - 2);
  return { seq: b.readDoubleLE(o + 1), dr: b[o + 9] as number, tx_power_index: b[o + 10] as number, nb_trans: b[o + 11] as number, mask_refused: b[o + 12] as number, asked: b.toString('utf8', o + 15, o + 15 + askedLen), history: Buffer.from(b.subarray(histAt, histAt + histLen)) };
}

/** The blobs (in id order) as one blob holding each device's latest entry, deletions included. */
const mergeAdrLog = (blobs: readonly Buffer[]): Buffer => mergeLatest(blobs, scanAdrLog);

/** The latest entry of each device over these blobs (in id order), deletions included. */
function latestAdrEntries(blobs: readonly Buffer[]): Map<string, LogRow | undefined> {
  const out = new Map<string, LogRow | undefined>();
  const merged = mergeAdrLog(blobs);
  scanAdrLog(merged, (devEui, start) => out.set(devEui, decodeAdrEntry(merged, start)));
  return out;
}

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
  private readonly st: { put: Database.Statement; del: Database.Statement; all: Database.Statement; logAdd: Database.Statement; logAll: Database.Statement; logClear: Database.Statement };
  /** bytes in `adr_log` now, and in its last merge (compaction when the first is 3× the second) */
  private logBytes: number;
  private mergedBytes = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly compactMinBytes = COMPACT_MIN_BYTES,
  ) {
    db.exec(SCHEMA);
    this.st = {
      put: db.prepare('INSERT OR REPLACE INTO adr_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM adr_state WHERE dev_eui = ?'),
      all: db.prepare('SELECT * FROM adr_state'),
      logAdd: db.prepare('INSERT INTO adr_log (rows) VALUES (?)'),
      logAll: db.prepare('SELECT rows FROM adr_log ORDER BY id').pluck(),
      logClear: db.prepare('DELETE FROM adr_log'),
    };
    this.logBytes = db.prepare('SELECT coalesce(sum(length(rows)), 0) FROM adr_log').pluck().get() as number;
  }

  /** Writes the changed devices (undefined = forgotten) as one `adr_log` row; call inside the batch's transaction. */
  write(changes: readonly [devEui: string, state: Readonly<AdrDevice> | undefined, seq: number][]): void {
    if (changes.length === 0) return;
    this.append(
      packAdrLog(
        changes.map(([devEui, d, seq]) => [
          devEui,
          d && { seq, dr: d.dr, tx_power_index: d.txPowerIndex, nb_trans: d.nbTrans, asked: d.asked ? JSON.stringify(d.asked) : '', mask_refused: d.maskRefused ? 1 : 0, history: encodePackedHistory(d.packed) },
        ]),
      ),
    );
  }

  private append(blob: Buffer): void {
    this.st.logAdd.run(blob);
    this.logBytes += blob.length;
    if (this.logBytes <= Math.max(this.compactMinBytes, 3 * this.mergedBytes)) return;
    const merged = mergeAdrLog(this.st.logAll.all() as Buffer[]);
    this.st.logClear.run();
    this.st.logAdd.run(merged);
    this.logBytes = this.mergedBytes = merged.length;
  }

  /** Every device's row: `adr_state` with the `adr_log` entries applied. */
  private rows(): Map<string, LogRow> {
    const out = new Map<string, LogRow>();
    for (const r of this.st.all.all() as Row[]) out.set(r.dev_eui, r);
    for (const [devEui, row] of latestAdrEntries(this.st.logAll.all() as Buffer[])) {
      if (row) out.set(devEui, row);
      else out.delete(devEui);
    }
    return out;
  }

  /** A clean stop: the log's entries into `adr_state` (one write per device), the log emptied. */
  fold(): void {
    this.db.transaction(() => {
      for (const [devEui, r] of latestAdrEntries(this.st.logAll.all() as Buffer[])) {
        if (!r) this.st.del.run(devEui);
        else this.st.put.run(devEui, r.seq, r.dr, r.tx_power_index, r.nb_trans, r.asked, r.mask_refused, r.history);
      }
      this.st.logClear.run();
    })();
    this.logBytes = this.mergedBytes = 0;
  }

  /** Every stored device whose row belongs to its current session (`seqOf`); others are dropped. */
  load(seqOf: (devEui: string) => number | undefined): Map<string, DeviceAdr> {
    const out = new Map<string, DeviceAdr>();
    const stale: string[] = [];
    for (const [devEui, r] of this.rows()) {
      const history = decodeHistory(r.history);
      const asked = parseAsked(r.asked);
      if (seqOf(devEui) !== r.seq || !history || asked === null || !int(r.dr, 0, 15) || !int(r.tx_power_index, 0, 15) || !int(r.nb_trans, 1, 15)) {
        stale.push(devEui);
        continue;
      }
      out.set(devEui, { dr: r.dr, txPowerIndex: r.tx_power_index, nbTrans: r.nb_trans, history, ...(asked ? { asked } : {}), ...(r.mask_refused ? { maskRefused: true } : {}) });
    }
    // Dropped for good: deleted from the rows and, as deletions, from the log's entries.
    if (stale.length)
      this.db.transaction(() => {
        for (const d of stale) this.st.del.run(d);
        this.append(packAdrLog(stale.map((d) => [d, undefined])));
      })();
    return out;
  }
}
