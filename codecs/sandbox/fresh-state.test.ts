/**
 * Every call sees the script as freshly loaded, on both paths the sandbox has: a reused context
 * whose wrapper runs the top-level code again per call, and a fresh context per call
 * (`freshState: 'context'`, and every script the source scan or the state guard sends there).
 * Each stateful pattern gives the same result on its first, second and third call, on both paths.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScriptCodec, type ScriptCodec } from './index.ts';
import { sandboxEngine } from './engine.ts';
import { reuseVerdict, sourceWords } from './reuse-scan.mjs';
import { fixture, loadBothPaths, options } from './test-support.ts';

const UP = { bytes: [5, 7], fPort: 1 };
const loaded: ScriptCodec[] = [];

async function both(id: string, source: string): Promise<{ reused: ScriptCodec; fresh: ScriptCodec }> {
  const { reused, fresh } = await loadBothPaths(id, source);
  loaded.push(reused, fresh);
  return { reused, fresh };
}

/** Three calls on each path: all six results equal. Returns the first. */
async function sameEveryCall(id: string, source: string, call: (c: ScriptCodec) => unknown = (c) => c.decodeUplink(UP)): Promise<unknown> {
  const { reused, fresh } = await both(id, source);
  const first = call(fresh);
  for (let i = 0; i < 3; i++) {
    expect(call(reused), `${id}: reused context, call ${i + 1}`).toEqual(first);
    expect(call(fresh), `${id}: fresh context, call ${i + 1}`).toEqual(first);
  }
  expect(fresh.statePath()?.path).toBe('fresh-context');
  return first;
}

afterAll(() => {
  for (const c of loaded) c.dispose();
});

describe('stateful scripts give the same result on every call, on both paths', () => {
  it('a top-level `var pointer = 0` advanced per call (the comtac/lpn-km pattern), in a reused context', async () => {
    expect(await sameEveryCall('pointer', fixture('hostile/global-pointer.js'))).toEqual({ data: { first: 5, pointer: 1, calls: 1 } });
    const { reused } = await both('pointer-path', fixture('hostile/global-pointer.js'));
    expect(reused.statePath()).toEqual({ path: 'reused-context', repairs: 0 });
  });

  it('a closure counter, top-level let/const, a cache object', async () => {
    const source = `
      var next = (function () { var n = 0; return function () { return ++n; }; })();
      let k = 0;
      const cache = {};
      function decodeUplink(input) {
        k++;
        cache[input.bytes[0]] = (cache[input.bytes[0]] || 0) + 1;
        return { data: { n: next(), k: k, cached: cache[input.bytes[0]] } };
      }`;
    expect(await sameEveryCall('closure', source)).toEqual({ data: { n: 1, k: 1, cached: 1 } });
  });

  it('implicit globals, created by the top-level code or by a call, are put back after each call', async () => {
    const source = `
      total = 100;
      function decodeUplink(input) {
        if (typeof seen === 'undefined') seen = 0;
        seen++;
        total += input.bytes[0];
        return { data: { seen: seen, total: total } };
      }`;
    expect(await sameEveryCall('implicit', source)).toEqual({ data: { seen: 1, total: 105 } });
    const { reused } = await both('implicit-path', source);
    reused.decodeUplink(UP);
    reused.decodeUplink(UP);
    const path = reused.statePath();
    expect(path?.path).toBe('reused-context');
    expect(path?.repairs).toBeGreaterThanOrEqual(2);
  });

  it('a built-in the script names, changed by a call (Math, console), is put back', async () => {
    const source = `
      Math.round10 = Math.round10 || function (x) { return Math.round(x * 10) / 10; };
      function decodeUplink(input) {
        Math.calls = (Math.calls || 0) + 1;
        var max = Math.max(1, 2);
        Math.max = function () { return -1; };
        var logType = typeof console.log;
        console.log = 5;
        return { data: { calls: Math.calls, r: Math.round10(1.26), max: max, logType: logType } };
      }`;
    expect(await sameEveryCall('math', source)).toEqual({ data: { calls: 1, r: 1.3, max: 2, logType: 'function' } });
    const { reused } = await both('math-path', source);
    reused.decodeUplink(UP);
    expect(reused.statePath()?.path).toBe('reused-context');
  });

  it('a prototype mutation and `this.x` at top level: same results, in a fresh context per call', async () => {
    const proto = `function decodeUplink(input) { Array.prototype.extra = (Array.prototype.extra || 0) + 1; return { data: { e: [].extra } }; }`;
    expect(await sameEveryCall('proto', proto)).toEqual({ data: { e: 1 } });
    const thisTop = `this.x = (this.x || 0) + 1; var y = 2; function decodeUplink(input) { return { data: { x: this.x, y: this.y } }; }`;
    expect(await sameEveryCall('this-top', thisTop)).toEqual({ data: { x: 1, y: 2 } });
    const a = await both('proto-path', proto);
    expect(a.reused.statePath()).toEqual({ path: 'fresh-context', why: 'the script can change a built-in prototype (`prototype`)', repairs: 0 });
    const b = await both('this-path', thisTop);
    expect(b.reused.statePath()).toEqual({
      path: 'fresh-context',
      why: 'the script reaches the global object (`this.y` outside a class, and `y` may be a top-level variable of the script)',
      repairs: 0,
    });
  });

  it('a change the guard cannot put back as it was sends the script to a fresh context from then on', async () => {
    // Deleting a global and defining it again moves it to the end of the global object's keys.
    const source = `function decodeUplink(input) { var had = typeof parseInt; delete parseInt; parseInt = function () { return 0; }; return { data: { had: had } }; }`;
    expect(await sameEveryCall('deleted-global', source)).toEqual({ data: { had: 'function' } });
    const { reused } = await both('deleted-global-path', source);
    reused.decodeUplink(UP);
    expect(reused.statePath()).toEqual({ path: 'fresh-context', why: 'a call changed the global object or a built-in in a way that cannot be put back', repairs: 0 });
    expect(reused.decodeUplink(UP)).toEqual({ data: { had: 'function' } });
  });

  it('promise jobs left by a call: a fresh context per call from then on', async () => {
    const source = `var p = 0; function decodeUplink(input) { Promise.resolve().then(function () { p++; }); return { data: { p: p } }; }`;
    expect(await sameEveryCall('promise', source)).toEqual({ data: { p: 0 } });
    const { reused } = await both('promise-path', source);
    expect(reused.statePath()?.path).toBe('reused-context');
    reused.decodeUplink(UP);
    expect(reused.statePath()).toEqual({ path: 'fresh-context', why: 'a call left promise jobs pending', repairs: 0 });
  });

  it('"use strict" at the top still applies inside the wrapper; without it the script is sloppy', async () => {
    const body = `function decodeUplink(input) { var r; try { undeclaredName = 1; r = 'sloppy'; } catch (e) { r = e.name; } return { data: { r: r } }; }`;
    expect(await sameEveryCall('strict', `'use strict';\n${body}`)).toEqual({ data: { r: 'ReferenceError' } });
    expect(await sameEveryCall('sloppy', body)).toEqual({ data: { r: 'sloppy' } });
  });

  it('entry points declared twice: the last declaration wins, as in a script', async () => {
    const source = `
      function decodeUplink(input) { return { data: { v: 1 } }; }
      var n = 0;
      function decodeUplink(input) { n++; return { data: { v: 2, n: n } }; }
      var encodeDownlink = function (input) { return { bytes: [1] }; };
      encodeDownlink = function (input) { n++; return { bytes: [2, n], fPort: 3 }; };`;
    expect(await sameEveryCall('redeclared', source)).toEqual({ data: { v: 2, n: 1 } });
    expect(await sameEveryCall('redeclared-down', source, (c) => c.encodeDownlink?.({ data: {} }))).toEqual({ bytes: [2, 1], fPort: 3 });
  });

  it('legacy TTN v2 (Decoder + Converter) and ChirpStack v3 (Decode/Encode) scripts', async () => {
    const v2 = `var calls = 0; function Decoder(bytes, port) { calls++; return { b: bytes[0], calls: calls }; } function Converter(d, port) { d.port = port; d.calls2 = ++calls; return d; }`;
    expect(await sameEveryCall('v2', v2)).toEqual({ data: { b: 5, calls: 1, port: 1, calls2: 2 } });
    const v3 = `var n = 0; function Decode(fPort, bytes, variables) { return { n: ++n }; } function Encode(fPort, obj, variables) { return [++n]; }`;
    expect(await sameEveryCall('v3', v3)).toEqual({ data: { n: 1 } });
    expect(await sameEveryCall('v3-down', v3, (c) => c.encodeDownlink?.({ data: {} }))).toEqual({ bytes: [1], fPort: 1 });
  });

  it('an ES module keeps a fresh context per call, so its module-scope state is fresh on every call', async () => {
    const { reused } = await both('esm', fixture('chirpstack-esm.js'));
    expect(reused.statePath()).toEqual({ path: 'fresh-context', why: 'an ES module gets a fresh context per call', repairs: 0 });
    // What a catalogue entry whose script is a ChirpStack v4 module gets (import-ttn refuses
    // modules, as The Things Stack cannot load them).
    const module = `let pointer = 0; const seen = []; export function decodeUplink(input) { pointer++; seen.push(input.bytes[0]); globalThis.g = (globalThis.g || 0) + 1; return { data: { pointer, seen: seen.length, g: globalThis.g } }; }`;
    expect(await sameEveryCall('esm-state', module)).toEqual({ data: { pointer: 1, seen: 1, g: 1 } });
  });
});

describe('errors and limits in a reused context', () => {
  it('a syntax error is reported at load as before, on both paths', async () => {
    const bad = 'function decodeUplink(input) { return { data: {} ; }';
    const auto = await loadScriptCodec(bad, options('syntax-auto')).catch((e: unknown) => String(e));
    const context = await loadScriptCodec(bad, options('syntax-context', { freshState: 'context' })).catch((e: unknown) => String(e));
    expect(auto).toMatch(/^ScriptLoadError: cannot load script codec test\/syntax-auto: script has a syntax error: SyntaxError: /);
    expect(String(auto).replace('syntax-auto', 'x')).toBe(String(context).replace('syntax-context', 'x'));
    // A top-level `return` is a syntax error in a script, though the wrapper (a function) would take it.
    await expect(loadScriptCodec('return; function decodeUplink() {}', options('top-return'))).rejects.toThrow(/syntax error/);
  });

  it('an implicit global a call sets does not reach the top-level code of the next call', async () => {
    // The top-level code throws once a call has set an implicit global, as it would in a VM
    // that kept the global object between calls.
    const source = `if (typeof armed !== 'undefined') throw new Error('armed'); function decodeUplink(input) { if (input.bytes[0] === 1) armed = true; return { data: {} }; }`;
    const { reused } = await both('top-throw', source);
    expect(reused.decodeUplink({ bytes: [1], fPort: 1 })).toEqual({ data: {} });
    // The implicit global was put back, so the top-level code does not throw on the next call.
    expect(reused.decodeUplink({ bytes: [2], fPort: 1 })).toEqual({ data: {} });
  });

  it('a timeout and a stack overflow in a call leave the next call as loaded', async () => {
    const source = `var n = 0; function down(k) { return down(k + 1) + 1; } function decodeUplink(input) { n++; if (input.bytes[0] === 1) for (;;) {} if (input.bytes[0] === 2) down(0); return { data: { n: n } }; }`;
    const reused = await loadScriptCodec(source, options('limits', { timeoutMs: 200 }));
    loaded.push(reused);
    expect(reused.statePath()?.path).toBe('reused-context');
    expect(reused.decodeUplink({ bytes: [1], fPort: 1 })).toEqual({ errors: ['script timed out after 200 ms'] });
    expect(reused.decodeUplink({ bytes: [3], fPort: 1 })).toEqual({ data: { n: 1 } });
    expect(reused.decodeUplink({ bytes: [2], fPort: 1 })).toEqual({ errors: ['script exceeded the stack limit (recursion too deep)'] });
    expect(reused.decodeUplink({ bytes: [3], fPort: 1 })).toEqual({ data: { n: 1 } });
    expect(reused.statePath()?.path).toBe('reused-context');
  });

  it('top-level code that runs past the time limit is reported "while loading the script"', async () => {
    const source = `var until = Date.now() + 400; while (Date.now() < until) {} function decodeUplink(input) { return { data: {} }; }`;
    const reused = await loadScriptCodec(source, options('slow-top', { timeoutMs: 100 }));
    loaded.push(reused);
    expect(reused.decodeUplink(UP)).toEqual({ errors: ['script timed out after 100 ms while loading the script'] });
  });

  it('thousands of calls of a script with self-referencing closures: the memory stays bounded', async () => {
    const source = `var table = []; for (var i = 0; i < 200; i++) table.push({ i: i, self: null }); table.forEach(function (t) { t.self = t; });
      function read(b, k) { return k >= b.length ? 0 : b[k] + read(b, k + 1); }
      function decodeUplink(input) { return { data: { sum: read(input.bytes, 0), n: table.length } }; }`;
    const codec = await loadScriptCodec(source, options('cycles'));
    loaded.push(codec);
    const engine = await sandboxEngine();
    for (let i = 0; i < 500; i++) codec.decodeUplink(UP);
    const before = engine.memory().wasmBytes;
    for (let i = 0; i < 3000; i++) expect(codec.decodeUplink(UP)).toEqual({ data: { sum: 12, n: 200 } });
    expect(engine.memory().wasmBytes - before).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(codec.statePath()?.path).toBe('reused-context');
  });
});

describe('the source scan', () => {
  it('names why a script takes a fresh context per call, escapes in identifiers decoded', () => {
    expect(reuseVerdict('function decodeUplink(input) { return { data: {} }; }')).toMatchObject({ reuse: true });
    expect(reuseVerdict('var g = glob\\u0061lThis;').reason).toBe('the script reaches the global object (`globalThis`)');
    expect(reuseVerdict('var F = [].constructor;').reason).toBe('the script can reach the Function constructor (`constructor`)');
    expect(reuseVerdict('var { constructor } = f;').reason).toBe('the script can reach the Function constructor (`constructor`)');
    expect(reuseVerdict('class A {\n  constructor(x) { }\n}').reuse).toBe(true);
    expect(reuseVerdict('// do not use eval here\nfunction decodeUplink() {}').reason).toBe('the script evaluates code (`eval`)');
    expect(reuseVerdict('var a, undefined = 1;').reason).toBe('the script declares undefined, NaN or Infinity');
    expect(reuseVerdict('Object.getOwnPropertyNames(Math).forEach(function (k) { Math[k] = 0; });').reason).toBe('the script lists property names to write (`getOwnPropertyNames`)');
    expect(reuseVerdict('var unit = "\\u00b0C"; f(a, undefined);').reuse).toBe(true);
    expect(sourceWords('a\\u{62}c d$ _e')).toEqual(new Set(['abc', 'd$', '_e']));
  });

  it('never throws, on any text (fuzz, fixed seed)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        const v = reuseVerdict(text);
        expect(typeof v.reuse).toBe('boolean');
      }),
      { seed: 1107, numRuns: 2000 },
    );
  });
});

describe('generated stateful scripts: the reused context agrees with a fresh context per call (fixed seed)', () => {
  // Pieces that keep state between calls in every way a script can without naming the global
  // object or a prototype: the reused path must serve them all, and give what a fresh context gives.
  const pieces = [
    { decl: 'var a = 0;', use: 'a += input.bytes[0];', out: 'a: a' },
    { decl: 'let b = [];', use: 'b.push(input.bytes[1]);', out: 'b: b.length' },
    { decl: 'var c = (function () { var n = 0; return function () { return ++n; }; })();', use: '', out: 'c: c()' },
    { decl: 'd = 10;', use: 'd++;', out: 'd: d' },
    { decl: '', use: "if (typeof e === 'undefined') e = 0; e += 2;", out: 'e: e' },
    { decl: 'Math.f = Math.f || 0;', use: 'Math.f++;', out: 'f: Math.f' },
    { decl: 'const g = { n: 0 };', use: 'g.n += 3;', out: 'g: g.n' },
    { decl: 'var h = JSON.parse("[1]");', use: 'h.push(1);', out: 'h: h.length' },
    { decl: 'var M = Math;', use: 'var absBefore = M.abs(-1); M.abs = function () { return 7; };', out: 'abs: absBefore' },
  ];
  it('over random combinations and call sequences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(pieces, { minLength: 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })), { minLength: 2, maxLength: 4 }),
        async (chosen, frames) => {
          const source = `${chosen.map((p) => p.decl).join('\n')}
            function decodeUplink(input) { ${chosen.map((p) => p.use).join(' ')} return { data: { ${chosen.map((p) => p.out).join(', ')} } }; }`;
          const reused = await loadScriptCodec(source, options('generated'));
          const fresh = await loadScriptCodec(source, options('generated-context', { freshState: 'context' }));
          try {
            expect(reused.statePath()?.path).toBe('reused-context');
            for (const [x, y] of frames) {
              const up = { bytes: [x, y], fPort: 1 };
              expect(reused.decodeUplink(up)).toEqual(fresh.decodeUplink(up));
            }
          } finally {
            reused.dispose();
            fresh.dispose();
          }
        },
      ),
      { seed: 11, numRuns: 25 },
    );
  }, 120_000);
});
