/**
 * An output that sends nothing: for in-process use and benchmarks. Joins are accepted by the
 * simulator. It can still encode every frame the way a real output would (`encode`), so a run
 * measures the full cost without a network, and it can keep what it was given (`collect`).
 */
import type { SimJoin, SimUplink } from '../frames.ts';
import type { OutputCounters, OutputHost, SimOutput } from './output.ts';
import { pushDataDatagram, rxpkParts } from './udp-forwarder.ts';

export type EncodeOnly = 'none' | 'udp' | 'chirpstack-json' | 'chirpstack-protobuf';

export interface NullOutputOptions {
  encode?: EncodeOnly;
  /** Keep every uplink and join in `uplinks` / `joinsSeen` (tests). */
  collect?: boolean;
}

export class NullOutput implements SimOutput {
  readonly joins = 'local' as const;
  readonly name: string;
  readonly uplinks: SimUplink[] = [];
  readonly joinsSeen: SimJoin[] = [];
  private host: OutputHost | undefined;
  private readonly encodeAs: EncodeOnly;
  private readonly c = { uplinks: 0, joins: 0, encodedBytes: 0 };

  constructor(private readonly options: NullOutputOptions = {}) {
    this.encodeAs = options.encode ?? 'none';
    this.name = this.encodeAs === 'none' ? 'none' : `none (encoding ${this.encodeAs})`;
  }

  start(host: OutputHost): Promise<void> {
    this.host = host;
    return Promise.resolve();
  }

  uplink(u: SimUplink): void {
    this.c.uplinks++;
    if (this.options.collect) this.uplinks.push(u);
    switch (this.encodeAs) {
      case 'none':
        return;
      case 'udp': {
        const parts = rxpkParts(u);
        for (const r of u.receptions) this.c.encodedBytes += pushDataDatagram(u, r, 0, parts).length;
        return;
      }
      case 'chirpstack-json':
        this.c.encodedBytes += Buffer.byteLength((this.host as OutputHost).chirpstack.uplinkJson(u));
        return;
      case 'chirpstack-protobuf':
        this.c.encodedBytes += (this.host as OutputHost).chirpstack.uplinkProtobuf(u).length;
    }
  }

  joined(j: SimJoin): void {
    this.c.joins++;
    if (this.options.collect) this.joinsSeen.push(j);
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  counters(): OutputCounters {
    return { ...this.c };
  }

  summary(): string {
    return `${this.name}: ${this.c.uplinks} uplinks, ${this.c.joins} joins${this.c.encodedBytes ? `, ${this.c.encodedBytes} bytes encoded` : ''}`;
  }
}
