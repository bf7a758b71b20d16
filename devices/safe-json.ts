/**
 * JSON config and registry inputs (the simulator's keys file, which the gateway's registry
 * imports) get the key rule of the YAML reader: `__proto__`, `constructor` and `prototype` are
 * refused with their path, so an `Object.assign` or a merge later can never change a prototype.
 * Nesting deeper than the YAML reader's 64 levels is refused too: a walk that stopped there
 * silently would let a forbidden key hide below it.
 */
import { DEFAULT_YAML_LIMITS, YamlError } from './safe-yaml.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = DEFAULT_YAML_LIMITS.maxDepth;

/**
 * JSON.parse, refusing forbidden keys (YamlError 'YAML_FORBIDDEN_KEY', naming the key) and
 * nesting deeper than 64 levels ('YAML_TOO_DEEP'). Size is the caller's bound (it reads the file).
 */
export function parseJsonSafe(text: string, source: string): unknown {
  const doc = JSON.parse(text) as unknown;
  const walk = (v: unknown, path: string, depth: number): void => {
    if (v === null || typeof v !== 'object') return;
    if (depth >= MAX_DEPTH) throw new YamlError('YAML_TOO_DEEP', source, `${path || 'the document'} nests deeper than ${MAX_DEPTH} levels`, undefined, path || undefined);
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1));
      return;
    }
    for (const k of Object.keys(v)) {
      const at = path ? `${path}.${k}` : k;
      if (FORBIDDEN_KEYS.has(k)) throw new YamlError('YAML_FORBIDDEN_KEY', source, `key "${at}" is not allowed (__proto__, constructor and prototype are reserved)`, undefined, at);
      walk((v as Record<string, unknown>)[k], at, depth + 1);
    }
  };
  walk(doc, '', 0);
  return doc;
}
