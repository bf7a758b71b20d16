/**
 * The sandbox's memory, measured where it is paid: the process's resident set. A script that
 * keeps ~11 MiB in a global (codecs/sandbox/fixtures/hostile/big-global.js) used to get one
 * context per device: 60 devices took the gateway from 100 MB to 771 MB RSS, past the systemd
 * unit's MemoryMax=300M, and 185 reached 2.1 GB. Now every call starts from the script's
 * post-load state, so devices share one context per script, and the total budget bounds what
 * many scripts may hold together.
 */
import { describe, expect, it } from 'vitest';
import { loadScriptCodec, type ScriptCodec } from '../codecs/sandbox/index.ts';
import { sandboxEngine } from '../codecs/sandbox/engine.ts';
import { fixture, options } from '../codecs/sandbox/test-support.ts';

const MB = 1e6;
const MiB = 1024 * 1024;
const BIG = fixture('hostile/big-global.js');
/** Its top-level code builds 11 MiB for every call's context: generous on a loaded machine. */
const SLOW_OK = { timeoutMs: 2000 };

function rss(): number {
  return process.memoryUsage().rss;
}

describe('sandbox memory stays bounded', () => {
  it('60 devices of a script keeping 11 MiB in a global, then 185: one context, RSS bounded', async () => {
    const codec = await loadScriptCodec(BIG, options('big-global', SLOW_OK));
    codec.decodeUplink({ bytes: [1], fPort: 1 });
    const before = rss();
    for (let i = 0; i < 60; i++) {
      expect(codec.forDevice(`bin-${i}`).decodeUplink({ bytes: [i], fPort: 1 })).toEqual({ data: { entries: 90, first: i } });
    }
    const after60 = rss();
    for (let i = 60; i < 185; i++) codec.forDevice(`bin-${i}`).decodeUplink({ bytes: [i % 256], fPort: 1 });
    const after185 = rss();
    console.log(`RSS: ${(before / MB).toFixed(0)} MB before, ${(after60 / MB).toFixed(0)} MB after 60 devices, ${(after185 / MB).toFixed(0)} MB after 185`);
    expect(codec.contextCount()).toBe(1);
    // One context of ~11 MiB (plus a transient one while the next is prepared), not 60 or 185.
    expect(after60 - before).toBeLessThan(100 * MB);
    expect(after185 - before).toBeLessThan(100 * MB);
    codec.dispose();
  }, 120_000);

  it('12 codecs of that script: loads beyond the 64 MiB default budget are refused, naming it; RSS bounded; memory returned on dispose', async () => {
    const engine = await sandboxEngine();
    const before = rss();
    const loaded: ScriptCodec[] = [];
    const refusals = new Set<string>();
    // Each refusal replaces the sandbox thread (to return the memory it grew by) and loads the
    // others again: a second or two each on this machine, hence 12 rather than 185.
    for (let i = 0; i < 12; i++) {
      try {
        // A fresh context per call holds the post-load state (the table) between calls: that is
        // what the budget counts at load. (A reused context holds it only during a call, below.)
        loaded.push(await loadScriptCodec(BIG, options(`big-${i}`, { ...SLOW_OK, freshState: 'context' })));
      } catch (err) {
        refusals.add(String(err).replace(/\d+\.\d MiB|big-\d+|\d+ script/g, '#'));
      }
    }
    const peak = rss();
    const wasm = engine.memory().wasmBytes;
    console.log(`12 loads: ${loaded.length} loaded, ${12 - loaded.length} refused; RSS ${(before / MB).toFixed(0)} → ${(peak / MB).toFixed(0)} MB; wasm ${(wasm / MiB).toFixed(1)} MiB`);
    expect(loaded.length).toBeGreaterThan(0);
    expect(loaded.length).toBeLessThan(12);
    expect([...refusals]).toEqual([
      "ScriptLoadError: cannot load script codec test/#: the sandbox's total memory budget 64 MiB is exhausted (# of WebAssembly memory, #(s) loaded): no room for this script's context",
    ]);
    expect(engine.memory().wasmBytes).toBeLessThanOrEqual(64 * MiB);
    expect(peak - before).toBeLessThan(250 * MB);
    for (const c of loaded) expect(c.decodeUplink({ bytes: [3], fPort: 1 })).toEqual({ data: { entries: 90, first: 3 } });
    for (const c of loaded) c.dispose();
    expect(engine.memory().wasmBytes).toBeLessThanOrEqual(32 * MiB);
  }, 300_000);

  it('12 codecs of that script in reused contexts: the table exists only while a call runs, so all load and the memory stays within the budget', async () => {
    const engine = await sandboxEngine();
    const before = rss();
    const loaded: ScriptCodec[] = [];
    for (let i = 0; i < 12; i++) loaded.push(await loadScriptCodec(BIG, options(`big-reused-${i}`, SLOW_OK)));
    for (const c of loaded) expect(c.statePath()?.path).toBe('reused-context');
    for (let round = 0; round < 2; round++) {
      for (const c of loaded) expect(c.decodeUplink({ bytes: [round], fPort: 1 })).toEqual({ data: { entries: 90, first: round } });
    }
    const peak = rss();
    console.log(`12 reused: RSS ${(before / MB).toFixed(0)} → ${(peak / MB).toFixed(0)} MB; wasm ${(engine.memory().wasmBytes / MiB).toFixed(1)} MiB`);
    expect(engine.memory().wasmBytes).toBeLessThanOrEqual(64 * MiB);
    expect(peak - before).toBeLessThan(150 * MB);
    for (const c of loaded) c.dispose();
  }, 300_000);
});
