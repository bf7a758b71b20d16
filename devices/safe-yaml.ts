/**
 * The one way the project reads YAML it did not write itself (gateway config, devices registry,
 * catalogue entries, fleet files, TTN repository folders).
 *
 * Why not plain `js-yaml.load`: an alias bomb ("billion laughs", ~600 bytes) loads in a
 * millisecond, because js-yaml shares the aliased object, but every consumer that walks the
 * result (schema validation, JSON.stringify, a deep copy) then visits 10^9 nodes and runs out of
 * memory. And js-yaml keeps a `__proto__` key as an own property, which an object spread later
 * turns into a prototype: `__proto__: {data_dir: …}` slipped past validation.
 *
 * So, before anything else sees the document:
 * - the file size is checked before it is read (`maxBytes`);
 * - the tree is copied once into fresh plain objects, counting every node each time it is reached
 *   (an alias is counted at every use, i.e. as it would expand) and stopping at `maxNodes`;
 * - nesting deeper than `maxDepth` is refused;
 * - keys `__proto__`, `constructor` and `prototype` are refused with the path that holds them.
 * The copy holds no shared references, so what leaves here is a tree, never a graph.
 */
import { readFileSync, statSync } from 'node:fs';
import yaml from 'js-yaml';

export interface YamlLimits {
  /** Largest file accepted, in bytes (default 4 MiB). */
  maxBytes?: number;
  /** Most nodes (scalars, sequences, mappings) the document may expand to (default 1,000,000). */
  maxNodes?: number;
  /** Deepest nesting accepted (default 64). */
  maxDepth?: number;
}

export const DEFAULT_YAML_LIMITS: Required<YamlLimits> = {
  maxBytes: 4 * 1024 * 1024,
  maxNodes: 1_000_000,
  maxDepth: 64,
};

export type YamlErrorCode = 'YAML_TOO_LARGE' | 'YAML_TOO_MANY_NODES' | 'YAML_TOO_DEEP' | 'YAML_FORBIDDEN_KEY' | 'YAML_SYNTAX' | 'YAML_UNREADABLE';

/** A YAML document that was refused; `message` is one line naming the source and the cause. */
export class YamlError extends Error {
  readonly code: YamlErrorCode;
  readonly source: string;
  /** 1-based line of a syntax error, when js-yaml reports one. */
  readonly line: number | undefined;
  /** The cause without the source, for callers that print the source themselves. */
  readonly detail: string;
  /** Where in the document the problem is (`sinks[0].constructor`), when it is at a key. */
  readonly path: string | undefined;
  constructor(code: YamlErrorCode, source: string, detail: string, line?: number, path?: string) {
    super(`${source}: ${detail}`);
    this.name = 'YamlError';
    this.code = code;
    this.source = source;
    this.line = line;
    this.detail = detail;
    this.path = path;
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function limitsOf(limits: YamlLimits | undefined): Required<YamlLimits> {
  return { ...DEFAULT_YAML_LIMITS, ...(limits ?? {}) };
}

/** Parses YAML text with the bounds above. `source` names the file or input in errors. */
export function parseYaml(text: string, source: string, limits?: YamlLimits): unknown {
  const lim = limitsOf(limits);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > lim.maxBytes) {
    throw new YamlError('YAML_TOO_LARGE', source, `${bytes} bytes is more than the ${lim.maxBytes} bytes a YAML file may have`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: source });
  } catch (err) {
    const e = err as { reason?: string; mark?: { line?: number }; message?: string };
    const line = typeof e.mark?.line === 'number' ? e.mark.line + 1 : undefined;
    const reason = e.reason ?? String(e.message ?? err).split('\n')[0];
    throw new YamlError('YAML_SYNTAX', source, `invalid YAML${line !== undefined ? ` at line ${line}` : ''}: ${reason}`, line);
  }
  return copyBounded(doc, source, lim);
}

/** Reads and parses a YAML file, checking its size before reading it. */
export function readYamlFile(path: string, limits?: YamlLimits): unknown {
  const lim = limitsOf(limits);
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new YamlError('YAML_UNREADABLE', path, code === 'ENOENT' ? 'file does not exist' : `cannot read (${code})`);
  }
  if (size > lim.maxBytes) {
    throw new YamlError('YAML_TOO_LARGE', path, `${size} bytes is more than the ${lim.maxBytes} bytes a YAML file may have`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new YamlError('YAML_UNREADABLE', path, `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseYaml(text, path, lim);
}

/**
 * The same string, not a view into the YAML text: js-yaml's scalars are substrings of the text,
 * and V8 keeps a substring of 13 characters or more as a slice that holds the whole text alive
 * — the device names kept a 1.5 MB registry file (10,000 devices) in the gateway's heap for good
 * (bench/RESULTS.md "ns-heap"). The concatenation is flattened into a string of its own.
 */
function ownString(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

function copyBounded(root: unknown, source: string, lim: Required<YamlLimits>): unknown {
  let nodes = 0;
  const visit = (value: unknown, depth: number, path: string): unknown => {
    nodes += 1;
    if (nodes > lim.maxNodes) {
      throw new YamlError('YAML_TOO_MANY_NODES', source, `the document expands to more than ${lim.maxNodes} nodes (an alias bomb?)`);
    }
    if (typeof value === 'string') return ownString(value);
    if (value === null || typeof value !== 'object') return value;
    if (value instanceof Date) return new Date(value.getTime());
    if (depth >= lim.maxDepth) {
      throw new YamlError('YAML_TOO_DEEP', source, `${path || 'the document'} nests deeper than ${lim.maxDepth} levels`, undefined, path || undefined);
    }
    if (Array.isArray(value)) {
      const out: unknown[] = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = visit(value[i], depth + 1, `${path}[${i}]`);
      return out;
    }
    if (value instanceof Uint8Array) return new Uint8Array(value);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) {
        throw new YamlError('YAML_FORBIDDEN_KEY', source, `key "${keyPath}" is not allowed (__proto__, constructor and prototype are reserved)`, undefined, keyPath);
      }
      out[key] = visit((value as Record<string, unknown>)[key], depth + 1, keyPath);
    }
    return out;
  };
  return visit(root, 0, '');
}
