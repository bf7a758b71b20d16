/**
 * The influxdb-out node takes the pipeline record the decode node put in `msg.lorawan`. A flow
 * may put anything there (a change node, a JSON round trip), and a malformed record in the log
 * would fail the sink on every retry — so its shape is checked before it is appended, and a
 * Buffer that went through JSON (`{type: 'Buffer', data}`) is turned back into bytes.
 */
import type { PipelineRecord } from '../../gateway/pipeline/record.ts';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The record, or a one-line reason naming the field that is wrong. */
export function checkRecord(v: unknown): { ok: true; record: PipelineRecord } | { ok: false; reason: string } {
  if (!isObj(v)) return { ok: false, reason: 'msg.lorawan is missing: wire a "lorawan decode" node before this one' };
  if (v['v'] !== 1) return { ok: false, reason: `msg.lorawan.v is ${JSON.stringify(v['v'])}, expected 1 (a lorawan decode record)` };
  if (v['kind'] !== 'up' && v['kind'] !== 'join' && v['kind'] !== 'status') return { ok: false, reason: `msg.lorawan.kind is ${JSON.stringify(v['kind'])}` };
  for (const k of ['src', 'id', 'devEui'] as const) if (typeof v[k] !== 'string') return { ok: false, reason: `msg.lorawan.${k} is not a string` };
  for (const k of ['time', 'rxAt'] as const) if (typeof v[k] !== 'number' || !Number.isFinite(v[k])) return { ok: false, reason: `msg.lorawan.${k} is not a number` };
  const d = v['device'];
  if (!isObj(d) || typeof d['name'] !== 'string' || !isObj(d['tags'])) return { ok: false, reason: 'msg.lorawan.device needs a name and tags' };
  if (v['kind'] === 'up') {
    const p = v['payload'];
    if (isObj(p) && p['type'] === 'Buffer' && Array.isArray(p['data'])) v['payload'] = Uint8Array.from(p['data'] as number[]);
    else if (!(p instanceof Uint8Array)) return { ok: false, reason: 'msg.lorawan.payload is not bytes' };
    for (const k of ['fCnt', 'fPort', 'dr'] as const) if (typeof v[k] !== 'number') return { ok: false, reason: `msg.lorawan.${k} is not a number` };
    if (!Array.isArray(v['gateways'])) return { ok: false, reason: 'msg.lorawan.gateways is not a list' };
    const dec = v['decoded'];
    if (dec !== undefined && (!isObj(dec) || !Array.isArray(dec['readings']) || !Array.isArray(dec['warnings']) || !Array.isArray(dec['errors']))) {
      return { ok: false, reason: 'msg.lorawan.decoded needs readings, warnings and errors lists' };
    }
    if (isObj(dec)) for (const r of dec['readings'] as unknown[]) if (!isObj(r) || !isObj(r['values'])) return { ok: false, reason: 'msg.lorawan.decoded.readings[] needs values' };
  }
  return { ok: true, record: v as unknown as PipelineRecord };
}
