/**
 * The M-Bus data records of one telegram (EN 13757-3) read in one pass into a table of numbers,
 * for the flowIQ decoder: no object, array or string per record.
 *
 *   CI [transport header] { DIF [DIFE…] VIF [VIFE…] [plain-text unit] [LVAR length] data }…
 *
 * - CI 0x78: no header; 0x7A: access number, status, configuration word (2 B, LE); 0x72: 4 B BCD
 *   id, 2 B manufacturer, version, medium, then the 0x7A fields. Security mode (configuration
 *   bits 12..8) other than 0 is refused: an encrypted telegram cannot be read.
 * - DIF: bit 7 DIFE follows, bit 6 storage LSB, bits 5–4 function, bits 3–0 coding (0x0F/0x1F
 *   manufacturer data to the end, 0x2F idle filler, other 0x_F refused). DIFE i (at most 10):
 *   bits 3–0 storage << (1 + 4i), bits 5–4 tariff << 2i, bit 6 subunit << i, bit 7 another DIFE.
 * - VIF: bits 6–0 the code, bit 7 a VIFE follows (at most 10). 0x7B/0x7D: the first VIFE is the
 *   code of the FB/FD table; 0x7F: the first VIFE (if any) is Kamstrup's code; 0x7C: a length
 *   byte and the unit text (last character first) follow the VIFEs; 0x7E: any VIF.
 *   The other VIFEs are combinable ones; a 0x7F among them (after a primary/FB/FD code) makes
 *   the rest manufacturer specific: it and what follows it are not kept as extensions.
 * - data: the coding's fixed length, or for LVAR (0x_D) the length its first byte announces.
 *
 * Why a table: the decoder needs lookahead (a record's timestamp is the date/time record of its
 * storage number, a compact profile's base value is another record, wherever they are), so the
 * records are read first; a 16-field object per record was a third of a decode's allocation
 * and the largest share of its time. The table is one set of typed arrays reused by every
 * decode (decodes are synchronous, so one table is never read by two at once); it grows with the
 * largest telegram seen (at most one record per two bytes of input).
 *
 * Errors are the messages of the generic parser in `mbus.ts` (`parseTelegram`), which the tests
 * compare it with: the first problem in byte order, as a `PayloadError`.
 */
import { PayloadError } from '../../bytes.ts';
import { lvarDataLength } from './mbus.ts';

/** `table` values: which VIF table a record's `code` belongs to. */
export const PRIMARY = 0;
export const FB = 1;
export const FD = 2;
export const MANUFACTURER = 3;
export const PLAIN = 4;
export const ANY = 5;

/** DIF data field (bits 3–0) → data length; -1: LVAR (0xD); 0xF never reaches it. */
const CODING_LENGTH = [0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, 0];

const MAX_DIFE = 10;
const MAX_VIFE = 10;

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/** The columns of `RecordTable` that hold int32 values. */
const INT_COLUMNS = ['offset', 'dif', 'tariff', 'subunit', 'table', 'code', 'extStart', 'extCount', 'plainStart', 'plainLength', 'lvar', 'dataStart', 'dataLength'] as const;

/** The records of the last telegram read by `readRecords`, column by column. */
export class RecordTable {
  /** Number of records. */
  count = 0;
  /** Offset of the 0x0F/0x1F DIF of the manufacturer data at the end, or -1. */
  manufacturerDataAt = -1;
  offset: Int32Array = new Int32Array(16);
  dif: Int32Array = new Int32Array(16);
  /** Storage number (up to 41 bits with ten DIFEs: a double, not an int32). */
  storage: Float64Array = new Float64Array(16);
  tariff: Int32Array = new Int32Array(16);
  subunit: Int32Array = new Int32Array(16);
  table: Int32Array = new Int32Array(16);
  /** Primary: VIF & 0x7F; FB/FD/manufacturer: the first VIFE & 0x7F (manufacturer: -1 if none). */
  code: Int32Array = new Int32Array(16);
  /** The record's combinable VIFEs (& 0x7F) are `ext[extStart…extStart + extCount)`. */
  extStart: Int32Array = new Int32Array(16);
  extCount: Int32Array = new Int32Array(16);
  /** 1 when a combinable VIFE 0x7F made the rest manufacturer specific. */
  manufacturerExtension: Uint8Array = new Uint8Array(16);
  /** Plain-text unit: `plainLength` bytes from `plainStart` (last character first). */
  plainStart: Int32Array = new Int32Array(16);
  plainLength: Int32Array = new Int32Array(16);
  /** LVAR length byte, -1 when the coding is not LVAR. */
  lvar: Int32Array = new Int32Array(16);
  dataStart: Int32Array = new Int32Array(16);
  dataLength: Int32Array = new Int32Array(16);
  ext: Int32Array = new Int32Array(64);
  extUsed = 0;

  /** Room for `n` records; called with the table empty, so nothing is copied. */
  reserve(n: number): void {
    if (n <= this.offset.length) return;
    const size = Math.max(n, 2 * this.offset.length);
    for (const column of INT_COLUMNS) this[column] = new Int32Array(size);
    this.storage = new Float64Array(size);
    this.manufacturerExtension = new Uint8Array(size);
  }

  /** Room for `n` extension values in all (the table empty, as for `reserve`). */
  reserveExt(n: number): void {
    if (n <= this.ext.length) return;
    this.ext = new Int32Array(Math.max(n, 2 * this.ext.length));
  }
}

/** The reader's truncation message, as `ByteReader` words it. */
function truncated(what: string, n: number, at: number, end: number): PayloadError {
  return new PayloadError(`truncated payload: ${what} needs ${n} byte(s) at offset ${at}, ${Math.max(0, end - at)} left`);
}

/** Checks the CI field and transport header; returns the offset of the first data record. */
export function skipTplHeader(bytes: Uint8Array): number {
  const end = bytes.length;
  if (end < 1) throw truncated('CI field', 1, 0, end);
  const ci = bytes[0] as number;
  if (ci === 0x78) return 1;
  let at = 1;
  if (ci === 0x72) {
    const fields: readonly [string, number][] = [
      ['identification number', 4],
      ['manufacturer', 2],
      ['version', 1],
      ['medium', 1],
    ];
    for (const [what, n] of fields) {
      if (at + n > end) throw truncated(what, n, at, end);
      at += n;
    }
  } else if (ci !== 0x7a) {
    throw new PayloadError(`unsupported CI field 0x${hex2(ci)} at offset 0 (expected 0x78, 0x7A or 0x72)`);
  }
  if (at + 1 > end) throw truncated('access number', 1, at, end);
  if (at + 2 > end) throw truncated('status', 1, at + 1, end);
  if (at + 4 > end) throw truncated('configuration word', 2, at + 2, end);
  const configuration = (bytes[at + 2] as number) | ((bytes[at + 3] as number) << 8);
  const mode = (configuration >> 8) & 0x1f;
  if (mode !== 0) {
    throw new PayloadError(`encrypted transport layer (security mode ${mode}) cannot be decoded: the meter must send unencrypted OMS`);
  }
  return at + 4;
}

/** Reads the data records from `start` into `t` (emptied first). Throws on the first malformed record. */
export function readRecords(bytes: Uint8Array, start: number, t: RecordTable): void {
  const end = bytes.length;
  t.count = 0;
  t.extUsed = 0;
  t.manufacturerDataAt = -1;
  t.reserve(end >> 1);
  t.reserveExt(end); // every VIFE is a byte of its own
  const ext = t.ext;
  let pos = start;
  while (pos < end) {
    const offset = pos;
    const dif = bytes[pos++] as number;
    if (dif === 0x2f) continue; // idle filler
    if (dif === 0x0f || dif === 0x1f) {
      t.manufacturerDataAt = offset;
      return;
    }
    if ((dif & 0x0f) === 0x0f) throw new PayloadError(`unsupported special DIF 0x${hex2(dif)} at offset ${offset}`);

    let storage = (dif >> 6) & 0x01;
    let tariff = 0;
    let subunit = 0;
    let more = (dif & 0x80) !== 0;
    for (let i = 0; more; i++) {
      if (i >= MAX_DIFE) throw new PayloadError(`record at offset ${offset}: more than ${MAX_DIFE} DIFEs`);
      if (pos >= end) throw truncated(`DIFE of the record at offset ${offset}`, 1, pos, end);
      const dife = bytes[pos++] as number;
      storage += (dife & 0x0f) * 2 ** (1 + 4 * i);
      tariff += ((dife >> 4) & 0x03) << (2 * i);
      subunit += ((dife >> 6) & 0x01) << i;
      more = (dife & 0x80) !== 0;
    }

    if (pos >= end) throw truncated(`VIF of the record at offset ${offset}`, 1, pos, end);
    const vif = bytes[pos++] as number;
    const low = vif & 0x7f;
    // After 0xFB/0xFD/0xFF the first VIFE is the code, not a combinable extension.
    const firstIsCode = low === 0x7b || low === 0x7d || low === 0x7f;
    const extStart = t.extUsed;
    let extCount = 0;
    let code = low;
    let vifes = 0;
    more = (vif & 0x80) !== 0;
    while (more) {
      if (vifes >= MAX_VIFE) throw new PayloadError(`record at offset ${offset}: more than ${MAX_VIFE} VIFEs`);
      if (pos >= end) throw truncated(`VIFE of the record at offset ${offset}`, 1, pos, end);
      const vife = bytes[pos++] as number;
      if (firstIsCode && vifes === 0) code = vife & 0x7f;
      else ext[extStart + extCount++] = vife & 0x7f;
      vifes++;
      more = (vife & 0x80) !== 0;
    }

    let table = PRIMARY;
    let plainStart = 0;
    let plainLength = 0;
    if (low === 0x7b || low === 0x7d) {
      if (vifes === 0) throw new PayloadError(`record at offset ${offset}: VIF 0x${hex2(vif)} needs a VIFE from its extension table`);
      table = low === 0x7b ? FB : FD;
    } else if (low === 0x7f) {
      table = MANUFACTURER;
      if (vifes === 0) code = -1;
    } else if (low === 0x7e) {
      table = ANY;
    } else if (low === 0x7c) {
      table = PLAIN;
      if (pos >= end) throw truncated(`plain-text unit length of the record at offset ${offset}`, 1, pos, end);
      plainLength = bytes[pos++] as number;
      if (pos + plainLength > end) throw truncated(`plain-text unit of the record at offset ${offset}`, plainLength, pos, end);
      plainStart = pos;
      pos += plainLength;
    }
    // A combinable VIFE 0x7F: it and everything after it are manufacturer specific.
    let manufacturerExtension = 0;
    if (table === PRIMARY || table === FB || table === FD) {
      for (let k = 0; k < extCount; k++) {
        if (ext[extStart + k] === 0x7f) {
          extCount = k;
          manufacturerExtension = 1;
          break;
        }
      }
    }

    let lvar = -1;
    let n = CODING_LENGTH[dif & 0x0f] as number;
    if (n < 0) {
      if (pos >= end) throw truncated(`LVAR length of the record at offset ${offset}`, 1, pos, end);
      lvar = bytes[pos++] as number;
      try {
        n = lvarDataLength(lvar);
      } catch (err) {
        throw new PayloadError(`record at offset ${offset}: ${(err as Error).message}`);
      }
    }
    if (pos + n > end) throw truncated(`data of the record at offset ${offset} (DIF 0x${hex2(dif)}, VIF 0x${hex2(vif)})`, n, pos, end);

    const i = t.count++;
    t.offset[i] = offset;
    t.dif[i] = dif;
    t.storage[i] = storage;
    t.tariff[i] = tariff;
    t.subunit[i] = subunit;
    t.table[i] = table;
    t.code[i] = code;
    t.extStart[i] = extStart;
    t.extCount[i] = extCount;
    t.extUsed = extStart + extCount;
    t.manufacturerExtension[i] = manufacturerExtension;
    t.plainStart[i] = plainStart;
    t.plainLength[i] = plainLength;
    t.lvar[i] = lvar;
    t.dataStart[i] = pos;
    t.dataLength[i] = n;
    pos += n;
  }
}
