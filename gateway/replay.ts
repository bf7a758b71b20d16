/**
 * Decoding stored uplinks again — after a codec fix, a new catalogue entry or a corrected
 * registry (geometry, tags) — and sending them to every sink once more.
 *
 * The raw frame of every uplink is in the durable log. Replay reads the retained records with
 * a temporary cursor, decodes the matching uplinks with today's codecs and registry, and
 * appends the new records to the log; the sinks then deliver them like any other. Points keep
 * the uplink's own timestamps, so InfluxDB overwrites the old values instead of duplicating.
 * The gateway must be stopped (the log is locked by one process at a time).
 */
import type { Codec } from '../codecs/api.ts';
import { loadCatalogue, type DeviceEntry } from '../devices/catalogue.ts';
import { resolveCodec } from '../devices/resolve.ts';
import { DurableLog } from './buffer/index.ts';
import type { GatewayConfig } from './config.ts';
import { decodeWith } from './pipeline/decode.ts';
import type { PipelineRecord, UplinkRecord } from './pipeline/record.ts';
import { RECORD_WIRE } from './pipeline/record-wire.ts';
import { loadRegistry } from './registry/devices-file.ts';

export interface ReplayFilter {
  devEui?: string;
  model?: string;
  sinceMs?: number;
  untilMs?: number;
  /** only records whose decode had errors or no readings */
  failedOnly?: boolean;
}

export interface ReplayReport {
  scanned: number;
  matched: number;
  redecoded: number;
  stillFailing: number;
  appended: number;
}

function matches(r: UplinkRecord, f: ReplayFilter): boolean {
  if (f.devEui && r.devEui !== f.devEui) return false;
  if (f.sinceMs !== undefined && r.time < f.sinceMs) return false;
  if (f.untilMs !== undefined && r.time > f.untilMs) return false;
  if (f.failedOnly && r.decoded && r.decoded.by === 'codec' && r.decoded.errors.length === 0 && r.decoded.readings.length > 0) return false;
  return true;
}

export async function replay(config: GatewayConfig, filter: ReplayFilter, options: { dryRun?: boolean; onProgress?: (r: ReplayReport) => void } = {}): Promise<ReplayReport> {
  const catalogue = loadCatalogue();
  const registry = config.registry.devices_file ? loadRegistry(config.registry.devices_file, catalogue, { mustExist: true, mode: 'read' }) : { devices: [], byEui: new Map() };
  const codecCache = new Map<string, { entry: DeviceEntry; codec: Codec } | null>();
  const codecOf = async (model: string): Promise<{ entry: DeviceEntry; codec: Codec } | null> => {
    if (!codecCache.has(model)) {
      const entry = catalogue.byId.get(model);
      codecCache.set(model, entry ? { entry, codec: await resolveCodec(entry) } : null);
    }
    return codecCache.get(model) ?? null;
  };

  const log = new DurableLog<PipelineRecord>(config.buffer, { wire: RECORD_WIRE });
  await log.open();
  const cursor = `replay-${process.pid}`;
  const report: ReplayReport = { scanned: 0, matched: 0, redecoded: 0, stillFailing: 0, appended: 0 };
  try {
    const reader = log.reader(cursor, { batchSize: 2000 });
    const lastId = log.stats().last_id;
    const out: PipelineRecord[] = [];
    for (;;) {
      const batch = await reader.read(2000, 0);
      if (batch.length === 0) break;
      for (const { id, value } of batch) {
        if (id > lastId) break;
        report.scanned++;
        if (value.kind !== 'up' || !matches(value, filter)) continue;
        const reg = registry.byEui.get(value.devEui);
        const model = reg?.model ?? value.device.model ?? filter.model;
        if (filter.model && model !== filter.model) continue;
        report.matched++;
        if (!model || value.fPort === 0 || value.payload.length === 0) continue;
        const found = await codecOf(model);
        if (!found) continue;
        const defaults: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(found.entry.variables ?? {})) if (v.default !== undefined) defaults[k] = v.default;
        const decoded = decodeWith(found.codec, model, value.payload, value.fPort, value.time, { ...defaults, ...(reg?.variables ?? {}) });
        report.redecoded++;
        if (decoded.errors.length > 0 || decoded.readings.length === 0) report.stillFailing++;
        out.push({
          ...value,
          rxAt: Date.now(),
          device: { ...value.device, ...(reg ? { name: reg.name, tags: reg.tags } : {}), model, category: found.entry.category },
          decoded,
        });
      }
      options.onProgress?.(report);
      if ((batch[batch.length - 1]?.id ?? 0) >= lastId) break;
    }
    await reader.close();
    if (!options.dryRun) {
      for (let i = 0; i < out.length; i += 1000) {
        await log.appendBatch(out.slice(i, i + 1000));
        report.appended += Math.min(1000, out.length - i);
      }
    }
  } finally {
    await log.removeSink(cursor).catch(() => undefined);
    await log.close();
  }
  return report;
}
