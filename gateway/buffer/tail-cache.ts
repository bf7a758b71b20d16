/**
 * The newest appended records, kept in memory as the values the caller appended, so a sink
 * that keeps up with the writer gets them without reading and decoding its own writes back
 * from disk (at ingest rates that was a third of the gateway's CPU: CBOR decode, file reads,
 * buffer copies, garbage).
 *
 * Ids in the cache are always consecutive (first…last). Bounded by record count and by encoded
 * bytes; the oldest go first. A record too big for the byte bound empties the cache (the ids
 * after it start a new run), so a gap never hides in the middle. The cache never decides what
 * is durable: the log hands out only ids up to its last durable id, and readers that fall
 * behind the cache read the segment files as before.
 *
 * Records every sink has already taken (its open reader returned them, or it committed them)
 * are dropped (`dropThrough`, called by the log at each group commit): the bounds are for a
 * reader that lags, not a cache that stays full. At 2,000 uplinks/s the gateway's sinks read
 * within ~0.1 s, yet the cache held 4,000 records (2 s, ~15 MB of record objects,
 * gateway/ns/overload.ts) that nobody would read again; a reader that rewinds past the cache (a
 * sink retrying from its cursor) reads the files, as any reader behind the cache does.
 */
export class TailCache<T> {
  /**
   * A ring of records, oldest at `head`: allocated once per doubling up to `maxRecords`. Arrays
   * grown by push and sliced on compaction allocated ~56 bytes per record of backing stores
   * that lived long enough to be promoted (bench/RESULTS.md, session 8 ns-alloc). Ids are
   * consecutive, so only the first is kept.
   */
  private values: (T | undefined)[] = [];
  private sizes = new Float64Array(0);
  private head = 0;
  private count = 0;
  private first = 0;
  private bytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Id of the oldest cached record, or undefined when empty. */
  get firstId(): number | undefined {
    return this.count > 0 ? this.first : undefined;
  }

  add(id: number, value: T, encodedBytes: number): void {
    if (this.maxRecords <= 0) return;
    if (encodedBytes > this.maxBytes || (this.count > 0 && this.first + this.count !== id)) this.clear();
    if (encodedBytes > this.maxBytes) return;
    if (this.count === this.maxRecords) this.evict();
    else if (this.count === this.values.length) this.grow();
    if (this.count === 0) this.first = id;
    const at = (this.head + this.count) % this.values.length;
    this.values[at] = value;
    this.sizes[at] = encodedBytes;
    this.count++;
    this.bytes += encodedBytes;
    while (this.bytes > this.maxBytes) this.evict();
  }

  /**
   * The cached records with ids from `from` up to `upTo` (inclusive), at most `max`; undefined
   * when `from` is not in the cache (the caller reads the files instead).
   */
  take(from: number, upTo: number, max: number): { id: number; value: T }[] | undefined {
    if (this.count === 0 || from < this.first || from > upTo) return undefined;
    const offset = from - this.first;
    if (offset >= this.count) return undefined;
    const n = Math.min(this.count - offset, max, upTo - from + 1);
    const out: { id: number; value: T }[] = new Array(n);
    const cap = this.values.length;
    for (let k = 0; k < n; k++) out[k] = { id: from + k, value: this.values[(this.head + offset + k) % cap] as T };
    return out;
  }

  /** Drops the cached records with ids up to `id` (inclusive): every reader has them. */
  dropThrough(id: number): void {
    while (this.count > 0 && this.first <= id) this.evict();
  }

  clear(): void {
    const cap = this.values.length;
    for (let k = 0; k < this.count; k++) this.values[(this.head + k) % cap] = undefined;
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
  }

  /** Drops the oldest record. */
  private evict(): void {
    this.bytes -= this.sizes[this.head] as number;
    this.values[this.head] = undefined; // collected now, not when the slot is reused
    this.head = (this.head + 1) % this.values.length;
    this.count--;
    this.first++;
  }

  /** Doubles the ring (up to maxRecords), oldest first at 0. */
  private grow(): void {
    const cap = this.values.length;
    const next = Math.min(this.maxRecords, Math.max(1024, cap * 2));
    const values = new Array<T | undefined>(next);
    const sizes = new Float64Array(next);
    for (let k = 0; k < this.count; k++) {
      values[k] = this.values[(this.head + k) % cap];
      sizes[k] = this.sizes[(this.head + k) % cap] as number;
    }
    this.values = values;
    this.sizes = sizes;
    this.head = 0;
  }
}
