/**
 * A table of prepared AES-128 encryption keys in one typed array: for each key its expanded
 * round keys (44 words, 176 bytes) and, in a table made for CMAC keys (the default), its RFC 4493
 * subkeys K1, K2 (32 bytes more: 208 bytes a row), rows addressed by a number. Block encryption
 * and AES-CMAC run straight from the row (no copy per call, plain-JS AES of aes-soft.ts).
 *
 * Why: a network server needs two keys per session (NwkSKey: MIC; AppSKey: FRMPayload), and a
 * city gateway meets nearly every session's keys cold (10,000 devices, each heard every few
 * minutes), so a bounded cache of prepared keys misses twice per uplink and re-expands each time
 * (session 7's profile: 3.5 % of the gateway's CPU). One prepared key *object* per session key
 * instead was judged ~7 MB of live heap that every mark-compact walks. Here 10,000 sessions' keys
 * are 3.84 MB of ArrayBuffer outside the JS heap (a table of NwkSKeys with subkeys, one of
 * AppSKeys without): nothing per key for the GC to mark.
 *
 * Key hygiene (the table holds secrets):
 * - a row is zeroed when it is cleared (`clear`), and the whole table by `wipe`; when the table
 *   grows, the old array is zeroed before it is dropped; the subkey scratch (L) is zeroed after
 *   each use (aes-soft.ts);
 * - the table and its key views print as a placeholder in `util.inspect` and `JSON.stringify`
 *   (what loggers use), never their contents;
 * - a view only works on a row that is in use: `at()` on a cleared row throws, so a freed row's
 *   zeros are never used as a key.
 *
 * Views (`view()`): a small `AesEncryptKey` object pointing at one row at a time (`at(row)`), so
 * the MIC and keystream functions of this folder take table keys as they take any key, without a
 * JS object per key. A view is repointed by the next `at()`: keep one view per key that must be
 * live at the same time (a network server keeps two: NwkSKey and AppSKey).
 */
import { inspect } from 'node:util';
import { AES_BLOCK, cmacComplete, cmacPad, xorBlock, type AesEncryptKey } from './aes.ts';
import { CHAIN, cbcMacWith, cmacSubkeysInto, encryptBlockWith, expandKeyInto, ROUND_KEY_WORDS } from './aes-soft.ts';

/** Byte offsets of K1 and K2 in a row (after the round keys). */
const K1_AT = ROUND_KEY_WORDS * 4;
const K2_AT = K1_AT + AES_BLOCK;

export interface AesKeyTableOptions {
  /**
   * Keep each key's CMAC subkeys (32 bytes a row) so a CMAC costs no extra block (default true);
   * false for keys only used for encryption (a LoRaWAN AppSKey: FRMPayload keystream only), whose
   * views then refuse `cmacInPlace`.
   */
  cmacSubkeys?: boolean;
}

export class AesKeyTable {
  /** Words per row: the round keys, then K1 and K2 (4 words each) when kept. */
  readonly rowStride: number;
  readonly hasCmacSubkeys: boolean;
  private words: Uint32Array;
  /** The same memory as `words`, by byte (the subkeys are XORed into message blocks byte-wise). */
  private bytes: Uint8Array;
  /** 1 where the row holds a key. */
  private used: Uint8Array;

  constructor(capacity = 0, options: AesKeyTableOptions = {}) {
    this.hasCmacSubkeys = options.cmacSubkeys ?? true;
    this.rowStride = ROUND_KEY_WORDS + (this.hasCmacSubkeys ? 8 : 0);
    this.words = new Uint32Array(capacity * this.rowStride);
    this.bytes = new Uint8Array(this.words.buffer);
    this.used = new Uint8Array(capacity);
  }

  /** Rows the table has room for without growing. */
  get capacity(): number {
    return this.used.length;
  }

  /** Bytes of key material the table holds (its typed array). */
  get byteLength(): number {
    return this.words.byteLength;
  }

  /**
   * Room for rows `0 .. rows)`. Grows to exactly `rows` (a caller that knows how many keys it will
   * hold asks once); the old array is zeroed before it is dropped.
   */
  reserve(rows: number): void {
    if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`AesKeyTable: rows must be a non-negative integer, got ${rows}`);
    if (rows <= this.capacity) return;
    const words = new Uint32Array(rows * this.rowStride);
    words.set(this.words);
    const used = new Uint8Array(rows);
    used.set(this.used);
    this.words.fill(0);
    this.words = words;
    this.bytes = new Uint8Array(words.buffer);
    this.used = used;
  }

  /** Prepares `key` (16 bytes) in row `row`, growing the table by a quarter (at least 1024 rows) if needed. */
  set(row: number, key: Uint8Array): void {
    if (key.length !== AES_BLOCK) throw new RangeError(`AES-128 key must be 16 bytes, got ${key.length}`);
    if (!Number.isInteger(row) || row < 0) throw new RangeError(`AesKeyTable: row must be a non-negative integer, got ${row}`);
    if (row >= this.capacity) this.reserve(Math.max(row + 1, this.capacity + Math.max(1024, this.capacity >> 2)));
    const base = row * this.rowStride;
    expandKeyInto(key, this.words, base);
    if (this.hasCmacSubkeys) cmacSubkeysInto(this.words, base, this.bytes, base * 4 + K1_AT);
    this.used[row] = 1;
  }

  /** Zeroes row `row`: its key is gone (a view can no longer point at it). */
  clear(row: number): void {
    if (row < 0 || row >= this.capacity) return;
    this.words.fill(0, row * this.rowStride, (row + 1) * this.rowStride);
    this.used[row] = 0;
  }

  /** Whether row `row` holds a key. */
  has(row: number): boolean {
    return this.used[row] === 1;
  }

  /** Zeroes every row (at stop). */
  wipe(): void {
    this.words.fill(0);
    this.used.fill(0);
  }

  /** A key view; point it at a row with `at()`. */
  view(): AesKeyTableView {
    return new AesKeyTableView(this);
  }

  /** @internal the views' access to the current arrays (they change when the table grows) */
  rowWords(): Uint32Array {
    return this.words;
  }

  /** @internal */
  rowBytes(): Uint8Array {
    return this.bytes;
  }

  toJSON(): string {
    return `[AesKeyTable: ${this.capacity} rows]`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}

/** One row of an `AesKeyTable` as an `AesEncryptKey`: valid until the view's next `at()`. */
export class AesKeyTableView implements AesEncryptKey {
  private row = -1;
  private base = 0;

  constructor(private readonly table: AesKeyTable) {}

  /** Points this view at row `row` (which must hold a key) and returns it. */
  at(row: number): this {
    if (!this.table.has(row)) throw new RangeError(`AesKeyTable: row ${row} holds no key`);
    this.row = row;
    this.base = row * this.table.rowStride;
    return this;
  }

  private check(): void {
    if (!this.table.has(this.row)) throw new RangeError(`AesKeyTable: row ${this.row} holds no key (cleared since at())`);
  }

  encryptEcb(input: Uint8Array): Buffer {
    if (input.length % AES_BLOCK !== 0) throw new RangeError(`ECB input must be whole blocks, got ${input.length} bytes`);
    this.check();
    const out = Buffer.allocUnsafe(input.length);
    const w = this.table.rowWords();
    for (let o = 0; o < input.length; o += AES_BLOCK) encryptBlockWith(w, this.base, input, o, out, o);
    return out;
  }

  encryptBlocksInPlace(buf: Uint8Array, end: number): void {
    if (end % AES_BLOCK !== 0 || end > buf.length) throw new RangeError(`ECB input must be whole blocks within the buffer, got ${end} of ${buf.length} bytes`);
    this.check();
    const w = this.table.rowWords();
    for (let o = 0; o < end; o += AES_BLOCK) encryptBlockWith(w, this.base, buf, o, buf, o);
  }

  cmacInPlace(buf: Buffer, len: number): Buffer {
    this.check();
    if (!this.table.hasCmacSubkeys) throw new RangeError('AesKeyTable: this table keeps no CMAC subkeys (an encryption-only key)');
    const end = cmacPad(buf, len);
    xorBlock(buf, end - AES_BLOCK, this.table.rowBytes(), this.base * 4 + (cmacComplete(len) ? K1_AT : K2_AT));
    cbcMacWith(this.table.rowWords(), this.base, buf, end, CHAIN);
    return CHAIN;
  }

  toJSON(): string {
    return '[AesKeyTable key]';
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}
