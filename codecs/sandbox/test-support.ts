/**
 * Helpers shared by the sandbox tests and the benchmark: fixture scripts by name, and the same
 * script run in V8 (node:vm) as the reference the sandbox must agree with.
 */
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import type { Category } from '../api.ts';
import { loadScriptCodec, type ScriptCodec, type ScriptCodecOptions } from './script-codec.ts';

export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export function fixturePath(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}

/**
 * A codec's options for a test. The time limits are wall-clock (100 ms a call by default), which
 * a loaded CI machine can exceed for a good script (10,000 console lines took longer there): a
 * test gets a limit it cannot hit by accident, and tests about the limits pass their own.
 */
export function options(id: string, extra: Partial<ScriptCodecOptions> = {}): ScriptCodecOptions {
  const category: Category = 'generic';
  return { id: `test/${id}`, name: id, category, fPorts: [1], timeoutMs: RELAXED_MS, loadTimeoutMs: RELAXED_MS, ...extra };
}

/** A time limit a script that works cannot reach, even on a loaded machine. */
export const RELAXED_MS = 10_000;

type ScriptFunction = (...args: unknown[]) => unknown;

/**
 * Evaluates a classic (non-module) script in a fresh V8 context and returns its functions, the
 * way TTN's engine sees them: globals of one script.
 */
export function v8Script(source: string, names: readonly string[]): Record<string, ScriptFunction | undefined> {
  const context = vm.createContext({ Buffer });
  vm.runInContext(source, context);
  const found = vm.runInContext(`({${names.map((n) => `${n}: typeof ${n} === 'function' ? ${n} : undefined`).join(', ')}})`, context) as Record<
    string,
    ScriptFunction | undefined
  >;
  return found;
}

/** What a V8 run gives once it went through JSON, the way results leave any codec runtime. */
export function viaJson(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/**
 * The same script loaded on both of the sandbox's paths: `reused` as the scan decides (auto)
 * and `fresh` with a fresh context per call, the reference the reused path must agree with.
 * The caller disposes both.
 */
export async function loadBothPaths(id: string, source: string): Promise<{ reused: ScriptCodec; fresh: ScriptCodec }> {
  const reused = await loadScriptCodec(source, options(`${id}-auto`));
  const fresh = await loadScriptCodec(source, options(`${id}-context`, { freshState: 'context' }));
  return { reused, fresh };
}
