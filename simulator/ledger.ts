/**
 * The ground-truth ledger: one JSON line per uplink the simulated devices sent (heard or not),
 * in the order they were sent, with what a correct receiver must make of it.
 *
 * ```json
 * {"seq":1,"time":"2026-11-23T00:04:12.345Z","devEui":"70b3d5e75e…","device":"bin-glass-1",
 *  "catalogueId":"milesight-iot/em310-udl","category":"bin-fill","devAddr":"26…","fCnt":0,
 *  "fPort":85,"dr":5,"frequency":868100000,"payloadHex":"0175…",
 *  "readings":[{"values":{"distance_mm":1444,"fill_pct":1.1,…}}],
 *  "tags":{"commune":"centre"},"variables":{"container_depth_mm":1400,…},
 *  "faults":[],"gateways":[{"id":"0016c001f1530001","rssi":-97,"snr":6.25}],
 *  "deduplicationId":"…"}
 * ```
 *
 * - `readings` = `codec.normalizeUplink(codec.decodeUplink(payload).data, {variables, recvTime: time})`,
 *   i.e. exactly what the gateway should store for this uplink (values as the codec quantizes them).
 * - `faults` lists what was done to this uplink (see faults.ts); `gateways` is who heard it
 *   after faults (empty = nobody: natural loss, `loss` or every hearing gateway in an outage).
 *   Lines with `corrupt-mic` or `replay` must not produce readings at a correct receiver (a
 *   replay carries the original's `fCnt`, `readings` and `deduplicationId`, and `replayOf`).
 * - `events` (optional): what the device's physical model did since its previous uplink
 *   (`collected`, `fire`, `leak-start`, `rain`, `crest`…), for eyeballing dashboards against the truth.
 * - `truth` (optional): the physical quantity before sensor noise, where a model has one that
 *   tests score against (a river station's `water_level_mm`).
 * - Key order is fixed and nothing depends on the wall clock, so the same seed, fleet and
 *   count give a byte-identical file.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Category, Reading } from '../codecs/api.ts';
import type { FaultName } from './faults.ts';

export interface LedgerGateway {
  id: string;
  rssi: number;
  snr: number;
}

export interface LedgerEntry {
  seq: number;
  time: string;
  devEui: string;
  device: string;
  catalogueId: string;
  category: Category;
  devAddr: string;
  fCnt: number;
  fPort: number;
  dr: number;
  frequency: number;
  payloadHex: string;
  readings: Reading[];
  tags: Record<string, string>;
  variables: Record<string, unknown>;
  faults: FaultName[];
  gateways: LedgerGateway[];
  deduplicationId: string;
  /** Gateways that would have heard the frame but were in an outage window. */
  outageGateways?: string[];
  /** For a replay: the `seq` of the line first carrying this frame. */
  replayOf?: number;
  /** Errors the codec reported decoding or normalizing this payload (a healthy run has none). */
  codecErrors?: string[];
  events?: string[];
  /** What the model's physical state really was at this uplink, before sensor noise (river stations: `water_level_mm`). */
  truth?: Record<string, number>;
}

export function ledgerLine(e: LedgerEntry): string {
  return JSON.stringify(e);
}

/** Appends ledger lines to a file, in batches of synchronous writes (order and content exact). */
export class LedgerWriter {
  private fd: number | undefined;
  private pending: string[] = [];
  private pendingChars = 0;
  lines = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(e: LedgerEntry): void {
    if (this.fd === undefined) throw new Error(`ledger ${this.path} is closed`);
    const line = ledgerLine(e);
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    this.lines++;
    if (this.pendingChars >= 256 * 1024) this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    writeSync(this.fd, `${this.pending.join('\n')}\n`);
    this.pending = [];
    this.pendingChars = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }
}

export function readLedger(path: string): LedgerEntry[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LedgerEntry);
}
