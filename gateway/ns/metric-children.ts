/**
 * prom-client children looked up once per label value. `counter.inc({ reason })` validates and
 * hashes the label object on every call (sorting its keys, building a string); on the network
 * server's hot path — several counters per datagram and per record, thousands per second — a
 * child from `labels()` kept in a Map costs one lookup instead.
 *
 * Bounded: label values that come from the network (gateway EUIs) can be many; past `max`
 * distinct values the cache starts again (the series themselves live in prom-client, as before).
 */
export class LabelChildren<C> {
  private readonly children = new Map<string, C>();

  constructor(
    private readonly make: (value: string) => C,
    private readonly max = 1024,
  ) {}

  get(value: string): C {
    let c = this.children.get(value);
    if (c === undefined) {
      if (this.children.size >= this.max) this.children.clear();
      c = this.make(value);
      this.children.set(value, c);
    }
    return c;
  }
}
