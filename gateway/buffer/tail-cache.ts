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
 */
export class TailCache<T> {
  private ids: number[] = [];
  private values: T[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.ids.length - this.head;
  }

  /** Id of the oldest cached record, or undefined when empty. */
  get firstId(): number | undefined {
    return this.head < this.ids.length ? this.ids[this.head] : undefined;
  }

  add(id: number, value: T, encodedBytes: number): void {
    if (this.maxRecords <= 0) return;
    const last = this.ids[this.ids.length - 1];
    if (encodedBytes > this.maxBytes || (this.size > 0 && last !== id - 1)) this.clear();
    if (encodedBytes > this.maxBytes) return;
    this.ids.push(id);
    this.values.push(value);
    this.sizes.push(encodedBytes);
    this.bytes += encodedBytes;
    while (this.size > this.maxRecords || this.bytes > this.maxBytes) {
      this.bytes -= this.sizes[this.head] as number;
      this.values[this.head] = undefined as T; // let it be collected before compaction
      this.head++;
    }
    if (this.head >= 4096 && this.head * 2 >= this.ids.length) this.compact();
  }

  /**
   * The cached records with ids from `from` up to `upTo` (inclusive), at most `max`; undefined
   * when `from` is not in the cache (the caller reads the files instead).
   */
  take(from: number, upTo: number, max: number): { id: number; value: T }[] | undefined {
    const first = this.firstId;
    if (first === undefined || from < first || from > upTo) return undefined;
    const start = this.head + (from - first);
    if (start >= this.ids.length) return undefined;
    const end = Math.min(this.ids.length, start + max, start + (upTo - from) + 1);
    const out: { id: number; value: T }[] = new Array(end - start);
    for (let i = start; i < end; i++) out[i - start] = { id: this.ids[i] as number, value: this.values[i] as T };
    return out;
  }

  clear(): void {
    this.ids = [];
    this.values = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }

  private compact(): void {
    this.ids = this.ids.slice(this.head);
    this.values = this.values.slice(this.head);
    this.sizes = this.sizes.slice(this.head);
    this.head = 0;
  }
}
