// What an InfluxDB write response means (reference §3.2/§3.3), kept apart from the sink so the
// rules can be read and tested on their own.
//
//   2xx                         → written
//   413                         → split the batch in halves (one line alone: dead-letter it)
//   400/422 about lines         → rejected lines are dead-lettered, the rest kept (see analyzeRejection)
//   401 / 403 / 404 / 500 "retention policy not found" / other 4xx
//                               → configuration problem: the sink stops loudly, data stays pending
//   429 / 5xx / network error   → retry with backoff (Retry-After honoured)
import type { WriteResponse } from './client.ts';
import { parseOwnLine, type LineFieldType } from './line-protocol.ts';

export type Verdict =
  | { kind: 'written' }
  | { kind: 'split' }
  | { kind: 'rejected' }
  | { kind: 'fatal'; reason: string }
  | { kind: 'retry'; honourRetryAfter: boolean };

/** The human part of an error body: `error` (v1, v3), `message` (v2) or the raw text. */
export function errorMessage(res: Pick<WriteResponse, 'body' | 'influxError'>): string {
  const parsed = parseJson(res.body);
  if (parsed !== undefined) {
    if (typeof parsed['error'] === 'string') return parsed['error'];
    if (typeof parsed['message'] === 'string') return parsed['message'];
  }
  const text = res.body.trim();
  if (text !== '') return text;
  return res.influxError ?? '';
}

function parseJson(body: string): Record<string, unknown> | undefined {
  const t = body.trimStart();
  if (!t.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function snippet(s: string, max = 300): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

// Body texts that say a 400/422 is about particular lines (not about the request as a whole).
const LINE_SPECIFIC =
  /partial write|unable to parse|field type conflict|invalid field|invalid tag|missing (?:tag|field)|bad timestamp|invalid number|invalid boolean|unbalanced quotes|beyond retention|max-values-per-tag|max-series-per-database|duplicate (?:tag|field)|points? rejected/i;

export function classifyResponse(res: WriteResponse, version: 1 | 2): Verdict {
  const s = res.status;
  if (s >= 200 && s < 300) return { kind: 'written' };
  const msg = errorMessage(res);
  if (s === 413) return { kind: 'split' };
  if (s === 400 || s === 422) {
    if (LINE_SPECIFIC.test(msg) || (version === 2 && s === 422)) return { kind: 'rejected' };
    return { kind: 'fatal', reason: `InfluxDB refused the request (${s}): ${snippet(msg)}` };
  }
  if (s === 401) return { kind: 'fatal', reason: `InfluxDB rejected the credentials (401)${msg ? `: ${snippet(msg)}` : ''}` };
  if (s === 403) return { kind: 'fatal', reason: `InfluxDB denied the write: no write permission (403)${msg ? `: ${snippet(msg)}` : ''}` };
  if (s === 404) {
    if (/database not found/i.test(msg)) return { kind: 'fatal', reason: `InfluxDB database not found (404): ${snippet(msg)}` };
    if (/bucket|organization|org\b/i.test(msg)) return { kind: 'fatal', reason: `InfluxDB bucket or org not found (404): ${snippet(msg)}` };
    return {
      kind: 'fatal',
      reason: `InfluxDB write endpoint not found (404)${msg ? `: ${snippet(msg)}` : ''} — check url and version (/api/v2/write needs InfluxDB ≥ 1.8)`,
    };
  }
  if (s === 429 || s === 503) return { kind: 'retry', honourRetryAfter: true };
  if (s === 500 && /retention policy not found/i.test(msg)) {
    return { kind: 'fatal', reason: `InfluxDB retention policy not found (500): ${snippet(msg)}` };
  }
  if (s >= 500) return { kind: 'retry', honourRetryAfter: true };
  return { kind: 'fatal', reason: `InfluxDB answered ${s}${msg ? `: ${snippet(msg)}` : ''}` };
}

export interface RejectionAnalysis {
  /** Indexes (into the part) of lines known to be rejected, with the server's reason. */
  rejected: Map<number, string>;
  /** The server wrote the lines it did not reject (a "partial write"). */
  restWritten: boolean;
  /** Some rejections could not be tied to lines: the remainder must be narrowed down. */
  unexplained: boolean;
  /** `dropped=N` from the message (engine-side drops; 1.x does not count parse errors). */
  dropped: number | undefined;
  /** The server's message without the batch-wide `dropped=N`, for rejected lines. */
  lineReason: string;
  /** The first field type conflict named by the server, if any. */
  conflict: { measurement: string; field: string; type: LineFieldType } | undefined;
  message: string;
}

const PARSE_MARKER = "unable to parse '";
const FIELD_TYPES: readonly LineFieldType[] = ['float', 'integer', 'string', 'boolean'];

/** Go's %q quoting is close enough to JSON for names; fall back to the raw text. */
function unquote(s: string): string {
  try {
    const v: unknown = JSON.parse(`"${s}"`);
    return typeof v === 'string' ? v : s;
  } catch {
    return s;
  }
}

const CONFLICT = /field type conflict: input field "((?:[^"\\]|\\.)*)" on measurement "((?:[^"\\]|\\.)*)" is type (\w+)/;
const ENGINE_DROP = /field type conflict|invalid field name|beyond retention|max-values-per-tag|max-series-per-database/i;

/**
 * Which lines of a rejected part did the server refuse? Exact where the server says so
 * (1.x/2.x "unable to parse '<line>': reason" fragments, v3's `data` array); otherwise the
 * caller narrows the remainder down by re-sending it in pieces (writes are idempotent).
 */
export function analyzeRejection(lines: readonly string[], res: WriteResponse): RejectionAnalysis {
  const message = errorMessage(res);
  const rejected = new Map<number, string>();
  let unmatched = 0;

  // v3: {"error":"partial write of line protocol occurred","data":[{line_number, error_message, original_line}]}
  const json = parseJson(res.body);
  const data = json?.['data'];
  let v3Listed = false;
  if (Array.isArray(data)) {
    for (const item of data as unknown[]) {
      if (item === null || typeof item !== 'object') continue;
      const rec = item as Record<string, unknown>;
      const n = rec['line_number'];
      const reason = typeof rec['error_message'] === 'string' ? rec['error_message'] : message;
      const original = rec['original_line'];
      let idx = typeof n === 'number' && Number.isInteger(n) ? n - 1 : -1;
      if (typeof original === 'string' && lines[idx] !== original) idx = lines.indexOf(original);
      if (idx >= 0 && idx < lines.length) {
        rejected.set(idx, reason);
        v3Listed = true;
      } else unmatched++;
    }
  }

  let pos = message.indexOf(PARSE_MARKER);
  if (pos >= 0) {
    const byLine = new Map<string, number[]>();
    lines.forEach((l, i) => {
      const list = byLine.get(l);
      if (list) list.push(i);
      else byLine.set(l, [i]);
    });
    while (pos >= 0) {
      const start = pos + PARSE_MARKER.length;
      const next = message.indexOf(PARSE_MARKER, start);
      const fragment = message.slice(start, next < 0 ? message.length : next);
      let matched = false;
      // The line may itself contain "': ", so try each split point.
      for (let k = fragment.indexOf("': "); k >= 0; k = fragment.indexOf("': ", k + 1)) {
        const indexes = byLine.get(fragment.slice(0, k));
        if (indexes === undefined) continue;
        const reason = `unable to parse: ${fragment.slice(k + 3).replace(/\s*dropped=\d+\s*$/, '').trim()}`;
        for (const i of indexes) rejected.set(i, reason);
        matched = true;
        break;
      }
      if (!matched) unmatched++;
      pos = next;
    }
  }

  const droppedMatch = /dropped=(\d+)/.exec(message);
  const dropped = droppedMatch ? Number(droppedMatch[1]) : undefined;
  const c = CONFLICT.exec(message);
  const conflictType = FIELD_TYPES.find((t) => t === c?.[3]);
  const conflict =
    c && conflictType !== undefined ? { field: unquote(c[1] ?? ''), measurement: unquote(c[2] ?? ''), type: conflictType } : undefined;
  const restWritten = /partial write/i.test(message);
  const unexplained =
    unmatched > 0 || (dropped ?? 0) > 0 || ENGINE_DROP.test(message) || (rejected.size === 0 && !v3Listed);
  const lineReason = message.replace(/\s*dropped=\d+\s*$/, '');
  return { rejected, restWritten, unexplained, dropped, lineReason, conflict, message };
}

/** Indexes of lines that carry the conflicting field type the server named. */
export function conflictSuspects(lines: readonly string[], conflict: NonNullable<RejectionAnalysis['conflict']>): number[] {
  const out: number[] = [];
  lines.forEach((l, i) => {
    const parsed = parseOwnLine(l);
    if (parsed && parsed.measurement === conflict.measurement && parsed.fields.get(conflict.field) === conflict.type) out.push(i);
  });
  return out;
}
