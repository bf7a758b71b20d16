/**
 * Where simulated radio traffic goes. An output either talks to a real network server (Semtech
 * UDP: join-requests go out and join-accepts come back as downlinks) or stands in for one
 * (ChirpStack MQTT, none: the simulator accepts joins itself and the output publishes them).
 */
import type { Txpk } from '../../lorawan/udp/types.ts';
import type { ChirpstackEvents } from '../chirpstack.ts';
import type { FleetGateway } from '../fleet.ts';
import type { SimJoin, SimJoinRequest, SimUplink } from '../frames.ts';

export interface OutputHost {
  readonly gateways: readonly FleetGateway[];
  /** ChirpStack event builder with this fleet's tenant and application. */
  readonly chirpstack: ChirpstackEvents;
  /** Simulated time now (ms since epoch), for gateway status reports. */
  simNow(): number;
  /** A PULL_RESP's txpk for gateway `gatewayIndex` (join-accepts, downlinks). */
  downlink(gatewayIndex: number, txpk: Txpk): void;
  warn(message: string): void;
}

export type OutputCounters = Record<string, number>;

export interface SimOutput {
  /** For summaries, e.g. `udp 127.0.0.1:1700`. */
  readonly name: string;
  /** `network`: joins are answered by a network server through this output; `local`: by the simulator. */
  readonly joins: 'network' | 'local';
  start(host: OutputHost): Promise<void>;
  /** A data uplink heard by at least one gateway. May return a promise to slow the simulation down. */
  uplink(u: SimUplink): void | Promise<void>;
  /** A join-request heard by at least one gateway (network joins only). */
  joinRequest?(j: SimJoinRequest): void | Promise<void>;
  /** A join the simulator accepted (local joins only), e.g. to publish ChirpStack's `join` event. */
  joined?(j: SimJoin): void | Promise<void>;
  /** Resolves when everything sent so far is acknowledged, or after `timeoutMs`. */
  drain(timeoutMs?: number): Promise<void>;
  /** Drains (bounded), then releases sockets and timers. Idempotent. */
  stop(): Promise<void>;
  counters(): OutputCounters;
  /** One summary line of the counters. */
  summary(): string;
}

/** Waits on a condition that other callbacks change, without polling. */
export class Waiters {
  private list: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.list.push(resolve));
  }

  wakeAll(): void {
    const l = this.list;
    this.list = [];
    for (const w of l) w();
  }

  get size(): number {
    return this.list.length;
  }
}
