/**
 * `lorawan mqtt in` without Node-RED: the gateway's own ChirpStack MQTT source
 * (gateway/sources/chirpstack-mqtt.ts — persistent session, QoS 1, PUBACK held back until the
 * record is durable, redeliveries recognised) appending into a DurableInflux log. Nothing is
 * acknowledged to the broker before the fsync that covers it, so a message Node-RED held when
 * it stopped was never acknowledged, and the broker delivers it again to the next run.
 *
 * `onStored` sees each batch of records once it is durable (the node sends them on as
 * messages for alarms and dashboards); the log, not those messages, is what reaches InfluxDB.
 */
import { join } from 'node:path';
import { createMetrics } from '../../gateway/metrics.ts';
import type { RecordSink } from '../../gateway/pipeline/contracts.ts';
import type { PipelineRecord } from '../../gateway/pipeline/record.ts';
import { RejectsFile } from '../../gateway/rejects.ts';
import { ChirpstackMqttSource, type ChirpstackMqttConfig } from '../../gateway/sources/chirpstack-mqtt.ts';
import type { DeviceCatalogue } from './catalogue.ts';
import type { DurableInflux } from './durable-influx.ts';

export interface MqttIngestOptions {
  /** mqtt://host:port (or mqtts://) */
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  topics: string[];
  protocolVersion: 4 | 5;
  catalogue: DeviceCatalogue;
  durable: DurableInflux;
  /** where rejected messages are kept (rejects.jsonl) */
  dir: string;
  onStored(records: PipelineRecord[]): void;
  logger: { info(m: string): void; warn(m: string): void; error(m: string): void };
}

export class MqttIngest {
  readonly rejects: RejectsFile;
  private readonly source: ChirpstackMqttSource;
  private readonly metrics = createMetrics({ defaultMetrics: false });

  constructor(o: MqttIngestOptions) {
    this.rejects = new RejectsFile(join(o.dir, 'rejects.jsonl'), 16 * 1024 * 1024);
    const inner = o.durable.recordSink();
    // The records that were stored go on to the node's output once they are durable.
    const log: RecordSink = {
      append(records) {
        const out = inner.append(records);
        const refused = new Set(out.rejected.map((r) => r.index));
        void out.durable.then(() => o.onStored(records.filter((_r, i) => !refused.has(i))), () => undefined);
        return out;
      },
    };
    const config: ChirpstackMqttConfig = {
      name: 'node-red',
      url: o.url,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      client_id: o.clientId,
      topics: o.topics,
      format: 'auto',
      events: ['up', 'join', 'status'],
      protocol_version: o.protocolVersion,
      session_expiry_s: 7 * 24 * 3600,
      keepalive_s: 30,
      reconnect_ms: 2000,
      max_payload_bytes: 65_536,
      device_profiles: { ...o.catalogue.deviceProfiles },
    };
    const line = (obj: object, msg: string): string => `${msg} ${JSON.stringify(obj)}`;
    this.source = new ChirpstackMqttSource(config, {
      log,
      decode: o.catalogue.decodeContext(),
      metrics: this.metrics,
      rejects: this.rejects,
      logger: { info: (obj, m) => o.logger.info(line(obj, m)), warn: (obj, m) => o.logger.warn(line(obj, m)), error: (obj, m) => o.logger.error(line(obj, m)) },
    });
  }

  start(): Promise<void> {
    return this.source.start();
  }

  /** Connection state, messages received but not yet acknowledged, and rejected messages. */
  status(): { state: string; detail?: string; pendingAcks: number; rejected: number } {
    const h = this.source.health();
    return { state: h.state, ...(h.detail ? { detail: h.detail } : {}), pendingAcks: this.source.pendingAcks(), rejected: this.rejects.written + this.rejects.dropped };
  }

  /** Stops taking messages, lets the acks of what is durable go out, disconnects (session kept). */
  async stop(deadlineMs = Date.now() + 5_000): Promise<void> {
    try {
      await this.source.stop(deadlineMs);
    } finally {
      await this.source.close();
      await this.rejects.close();
    }
  }
}

/** Loads every script codec the registry and the device-profile map name (the source decodes synchronously). */
export async function prepareCodecs(catalogue: DeviceCatalogue): Promise<void> {
  const models = new Set<string>([...catalogue.registry.byEui.values()].map((d) => d.model));
  for (const m of Object.values(catalogue.deviceProfiles)) models.add(m);
  await Promise.all([...models].map((m) => catalogue.prepare(m)));
}
