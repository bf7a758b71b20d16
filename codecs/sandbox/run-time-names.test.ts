/**
 * A script on the reused-context path (its source names no way to the global object, to a
 * prototype or to a property definition) can still build such a name at run time. Whatever it
 * reaches that way must not reach its next call: every script here is called several times on
 * both paths, and the reused context must give exactly what a fresh context per call gives,
 * call after call. Each script first reports what it sees (so a change left by an earlier call
 * shows in a later result), then, on a trigger byte, changes it.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScriptCodec } from './index.ts';
import { loadBothPaths } from './test-support.ts';

const loaded: ScriptCodec[] = [];
afterAll(() => {
  for (const c of loaded) c.dispose();
});

/** Runs `frames` through the script on both paths; returns the reused codec. */
async function agree(id: string, source: string, frames: number[][]): Promise<ScriptCodec> {
  const { reused, fresh } = await loadBothPaths(id, source);
  loaded.push(reused, fresh);
  // The scan let it through: what is tested here is the reused path, not the routing.
  expect(reused.statePath()?.path, `${id}: takes the reused path at load`).toBe('reused-context');
  frames.forEach((bytes, i) => {
    const up = { bytes, fPort: 1 };
    expect(reused.decodeUplink(up), `${id}: call ${i + 1}`).toEqual(fresh.decodeUplink(up));
  });
  return reused;
}

/** Trigger on the first call, then plain calls that would see a leftover. */
const SEQUENCE = [[0xff], [1], [1], [0xff], [1]];

// Run-time-built names, so that none of the words the scan routes appears in a source.
const C = `var c = 'constr' + 'uctor';`;
const P = `var p = 'proto' + 'type';`;
const U = `var u = '__pro' + 'to__';`;

const ADVERSARIAL: Record<string, string> = {
  // The Function constructor through `constructor`, then the global object through it.
  'global object through the Function constructor': `${C}
    function decodeUplink(input) {
      var g = [][c][c]('return th' + 'is')();
      var seen = { pointer: typeof g.pointer === 'undefined' ? null : g.pointer, round: Math.round(1.4) };
      if (input.bytes[0] === 0xff) { g['po' + 'inter'] = 7; g.Math.round = function () { return 99; }; }
      return { data: seen };
    }`,
  'Object.assign onto the global object': `${C}
    function decodeUplink(input) {
      var g = (function () {}).bind()[c]('return th' + 'is')();
      var seen = { a: typeof g.extraA === 'undefined' ? null : g.extraA, pi: Math.PI };
      if (input.bytes[0] === 0xff) Object.assign(g, { extraA: 1, parseInt: function () { return -1; } });
      return { data: seen, warnings: [String(parseInt('12'))] };
    }`,
  'a property defined on the global object': `${C}
    function decodeUplink(input) {
      var g = [][c][c]('return th' + 'is')();
      var O = {}[c];
      var seen = { d: typeof g.defined === 'undefined' ? null : g.defined };
      if (input.bytes[0] === 0xff) O['define' + 'Property'](g, 'defined', { value: 5, enumerable: false, configurable: true });
      return { data: seen };
    }`,
  'Array.prototype extended under a built name': `${P}
    function decodeUplink(input) {
      var seen = { foo: typeof [].foo === 'undefined' ? null : [].foo, keys: Object.keys(Array[p]).length };
      if (input.bytes[0] === 0xff) Array[p].foo = 'leaked';
      return { data: seen };
    }`,
  'a prototype reached through __proto__ built at run time': `${U}
    function decodeUplink(input) {
      var seen = { bar: typeof ''.bar === 'undefined' ? null : ''.bar, has: typeof [].at };
      if (input.bytes[0] === 0xff) { ''[u].bar = 'leaked'; delete [][u].at; }
      return { data: seen };
    }`,
  'a prototype reached through constructor built at run time': `${C} ${P}
    function decodeUplink(input) {
      var seen = { x: typeof (5).x === 'undefined' ? null : (5).x, fixed: (1.005).toFixed(1) };
      if (input.bytes[0] === 0xff) { (5)[c][p].x = 1; (5)[c][p].toFixed = function () { return 'no'; }; }
      return { data: seen };
    }`,
  'a Math function replaced under a built name': `
    function decodeUplink(input) {
      var seen = { floor: Math.floor(2.7), k: Object.keys(Math).length };
      if (input.bytes[0] === 0xff) { Math['fl' + 'oor'] = function () { return -5; }; Math['ne' + 'w'] = 1; }
      return { data: seen };
    }`,
  'a named global deleted under a built name': `
    function decodeUplink(input) {
      var seen = { max: typeof Math.max, json: typeof JSON.stringify };
      if (input.bytes[0] === 0xff) { delete Math['m' + 'ax']; delete JSON['string' + 'ify']; }
      return { data: seen };
    }`,
  'a Number prototype method replaced under a built name': `${P}
    function decodeUplink(input) {
      var seen = { s: (12).toString(16) };
      if (input.bytes[0] === 0xff) Number[p]['to' + 'String'] = function () { return 'z'; };
      return { data: seen };
    }`,
  'getPrototypeOf reached under a built name': `
    function decodeUplink(input) {
      var gp = Object['getProto' + 'typeOf'];
      var seen = { q: typeof [].q === 'undefined' ? null : [].q };
      if (input.bytes[0] === 0xff) gp([]).q = 3;
      return { data: seen };
    }`,
  'a generator prototype reached through built names': `${C} ${P}
    function* gen() { yield 1; }
    function decodeUplink(input) {
      var it = gen();
      var seen = { ret: typeof it['return'] };
      if (input.bytes[0] === 0xff) { var GP = it[c][p]; GP['ret' + 'urn'] = 5; }
      return { data: seen };
    }`,
  'an error prototype reached through a thrown error': `${C} ${P}
    function decodeUplink(input) {
      var e; try { null.x; } catch (err) { e = err; }
      var seen = { name: e.name, tag: typeof e.tag === 'undefined' ? null : e.tag };
      if (input.bytes[0] === 0xff) { e[c][p].tag = 'leaked'; e[c][p].name = 'Renamed'; }
      return { data: seen };
    }`,
  'a typed array prototype reached through species-style constructor reads': `${C} ${P}
    function decodeUplink(input) {
      var a = new Uint8Array(input.bytes).slice(0);
      var seen = { sum: a.reduce(function (s, b) { return s + b; }, 0), mark: typeof a.mark === 'undefined' ? null : a.mark };
      if (input.bytes[0] === 0xff) a[c][p].mark = 1;
      return { data: seen };
    }`,
  'assignments through tripwired properties behave as assignments': `${C} ${U}
    function decodeUplink(input) {
      var o = {}; o[c] = 5;
      var q = {}; q[u] = null;
      var f = function () {}; f[c] = 'mine';
      return { data: { own: o[c], keys: Object.keys(o), nullProto: typeof q.toString, fn: f[c], fnKeys: Object.keys(f) } };
    }`,
  'a property added to built-in functions reached as values': `
    function decodeUplink(input) {
      var seen = { push: typeof [].push.x === 'undefined' ? null : [].push.x, max: typeof Math.max.cache, split: Object.keys(''.split).length };
      if (input.bytes[0] === 0xff) { [].push.x = 1; Math.max.cache = {}; ''.split.y = 2; }
      return { data: seen };
    }`,
  // Built-in functions and other intrinsics that are not prototypes, reached under built names
  // (the method markers of vm/state-guard.js): each of these leaked into the next call before.
  'a property added to built-in methods reached under built names': `
    function decodeUplink(input) {
      var a = []['pu' + 'sh'], b = Math['fl' + 'oor'], d = ''['sp' + 'lit'];
      var seen = { x: typeof a.x === 'undefined' ? null : a.x, cache: typeof b.cache, keys: Object.keys(d).length };
      if (input.bytes[0] === 0xff) { a.x = 1; b.cache = {}; d['y' + 'z'] = 2; }
      return { data: seen };
    }`,
  'a built-in function seen through Date, RegExp, iterators, Promise and Function methods': `${C}
    function decodeUplink(input) {
      var fns = [new Date(0)['get' + 'Time'], /x/['ex' + 'ec'], [][ 'val' + 'ues']()['ne' + 'xt'], [].values()['ma' + 'p'], Promise['res' + 'olve'], (function () {})['ca' + 'll'], [][c]['fr' + 'om'], JSON['str' + 'ingify']];
      var seen = fns.map(function (f) { return typeof f.mark === 'undefined' ? null : f.mark; });
      if (input.bytes[0] === 0xff) fns.forEach(function (f, i) { f.mark = i; });
      return { data: { seen: seen } };
    }`,
  'a built-in function named by the source, its name or length deleted under built names': `
    function decodeUplink(input) {
      var n = 'na' + 'me', l = 'len' + 'gth';
      var seen = { n: Math.max[n], l: Math.max[l], own: [].pop.hasOwnProperty(l), other: [][ 'pu' + 'sh'][n] };
      if (input.bytes[0] === 0xff) { delete Math.max['na' + 'me']; delete [].pop['len' + 'gth']; delete []['pu' + 'sh']['na' + 'me']; }
      return { data: seen };
    }`,
  'built-in functions frozen or made non-extensible under built names': `
    function decodeUplink(input) {
      var a = []['sl' + 'ice'], b = Math['a' + 'bs'];
      var seen = { a: Object.isExtensible(a), b: Object.isExtensible(b) };
      if (input.bytes[0] === 0xff) { Object['fre' + 'eze'](a); Object['prevent' + 'Extensions'](b); }
      return { data: seen };
    }`,
  'a symbol-keyed property on a built-in function': `
    function decodeUplink(input) {
      var s = Symbol.iterator, f = [][s];
      var seen = { n: Object.getOwnPropertySymbols(f).length, v: f[s] === undefined ? null : 'set' };
      if (input.bytes[0] === 0xff) { f[s] = 1; [].concat[Symbol['for']('k')] = 2; }
      return { data: seen };
    }`,
  'symbols obtained without naming Symbol': `${C} ${P}
    function decodeUplink(input) {
      var syms = Object['getOwnProperty' + 'Symbols']([][c][p]);
      var f = []['ma' + 'p'];
      var seen = { n: syms.length, v: syms.length > 0 && f[syms[0]] !== undefined ? f[syms[0]] : null };
      if (input.bytes[0] === 0xff && syms.length > 0) f[syms[0]] = 1;
      return { data: seen };
    }`,
  'the constructor of an iterator prototype (an accessor) reached under a built name': `${C} ${P}
    function decodeUplink(input) {
      var I = [].values()[c];
      var seen = { foo: I && I[p] && typeof I[p].foo !== 'undefined' ? I[p].foo : null };
      if (input.bytes[0] === 0xff && I && I[p]) I[p].foo = 'leaked';
      return { data: seen };
    }`,
  "Buffer's and console's functions and their prototype objects": `${P}
    function decodeUplink(input) {
      var from = Buffer['fr' + 'om'], log = console['lo' + 'g'], read = Buffer.alloc(2)['read' + 'UInt16BE'];
      var seen = { from: typeof from.x, log: typeof log.y, proto: read[p] ? Object.keys(read[p]).length : -1 };
      if (input.bytes[0] === 0xff) { from.x = 1; log.y = 2; if (read[p]) read[p].z = 3; }
      return { data: seen };
    }`,
  'a built-in method replaced under a built name, on a prototype and on a namespace': `
    function decodeUplink(input) {
      var seen = { trim: ' a '['tr' + 'im'](), sign: Math['si' + 'gn'](-3) };
      if (input.bytes[0] === 0xff) { ''['tr' + 'im'] = 5; Math['si' + 'gn'] = function () { return 7; }; }
      return { data: seen };
    }`,
};

describe('changes reached under names built at run time do not reach the next call', () => {
  for (const [name, source] of Object.entries(ADVERSARIAL)) {
    it(name, async () => {
      await agree(name.replace(/\W+/g, '-'), source, SEQUENCE);
    });
  }

  it('a call that uses a route behind a tripwire moves the codec to a fresh context, and says why', async () => {
    const reused = await agree('tripwire', ADVERSARIAL['global object through the Function constructor'] as string, [[1], [0xff]]);
    expect(reused.statePath()).toEqual({
      path: 'fresh-context',
      why: 'a call reached the global object, code evaluation, a prototype or a property definition under a name built at run time',
      repairs: 0,
    });
  });

  it('a property added to a built-in method is put back after the call: the codec keeps its reused context', async () => {
    const reused = await agree('method-marker-repair', ADVERSARIAL['a property added to built-in methods reached under built names'] as string, SEQUENCE);
    expect(reused.statePath()?.path).toBe('reused-context');
    expect(reused.statePath()?.repairs).toBeGreaterThanOrEqual(2);
  });

  it('built-ins read internally (for-of, spread, JSON of a Date, a regular expression) leave a codec on the reused path', async () => {
    const source = `function decodeUplink(input) {
      var out = [];
      for (var b of input.bytes) out[out.length] = b;
      var copy = [...out];
      var when = JSON.parse(JSON.stringify({ t: new Date(0) })).t;
      return { data: { copy: copy, when: when, parts: 'a-b'.replace(/-/g, '+') } };
    }`;
    const reused = await agree('internal-reads', source, [[1, 2], [3], [4, 5]]);
    expect(reused.statePath()).toEqual({ path: 'reused-context', repairs: 0 });
  });

  it('a script that names a way to read descriptors (which would show the markers) takes the fresh path, with the reason', async () => {
    for (const word of ['getOwnPropertyDescriptor', '__lookupGetter__', '__lookupSetter__']) {
      const source = `function decodeUplink(input) { var d = Object.${word === 'getOwnPropertyDescriptor' ? 'getOwnPropertyDescriptor(Math, "floor")' : `keys({}).${word}`}; return { data: { t: typeof d } }; }`;
      const { reused, fresh } = await loadBothPaths(`descriptor-${word}`, source);
      loaded.push(reused, fresh);
      expect(reused.statePath()?.path, word).toBe('fresh-context');
      expect(reused.statePath()?.why, word).toContain(word);
      expect(reused.decodeUplink({ bytes: [1], fPort: 1 })).toEqual(fresh.decodeUplink({ bytes: [1], fPort: 1 }));
    }
  });

  it('a descriptor read under a built name moves the codec to a fresh context after that call', async () => {
    const source = `function decodeUplink(input) { var d = Object['getOwnProperty' + 'Descriptor'](Math, 'fl' + 'oor'); return { data: { t: typeof d } }; }`;
    const reused = await agree('descriptor-built', source, [[1], [1]]);
    expect(reused.statePath()?.path).toBe('fresh-context');
  });

  it('species reads of built-ins (map, slice, then) do not move a codec off the reused path', async () => {
    const source = `function decodeUplink(input) {
      var a = input.bytes.map(function (b) { return b * 2; }).slice(0).filter(function () { return true; }).concat([1]);
      var t = new Uint8Array(input.bytes).subarray(0).map(function (b) { return b + 1; });
      return { data: { a: a, t: Array.from(t), s: 'a,b'.split(/,/) } };
    }`;
    const reused = await agree('species', source, [[1, 2], [3], [4, 5, 6]]);
    expect(reused.statePath()).toEqual({ path: 'reused-context', repairs: 0 });
  });
});

describe('generated mutations under built names (fixed seed)', () => {
  // Targets a script can reach without a routed word, and ways to change them, as source text.
  const targets = [
    'Math',
    'JSON',
    'Object',
    'Array',
    'String',
    'Number',
    '[][c]',
    "''[c]",
    '(0)[c]',
    '({})[c]',
    'Array[p]',
    'Object[p]',
    "''[u]",
    '[][u]',
    '({})[u]',
    "Object['getProto' + 'typeOf']([])",
  ];
  const keys = ["'fl' + 'oor'", "'x' + 'y'", "'to' + 'String'", "'ke' + 'ys'", "'pu' + 'sh'", "'le' + 'ngth'", "'val' + 'ueOf'"];
  const changes = ['= 1', '= function () { return 0; }', 'delete'];
  const mutation = fc.record({ target: fc.constantFrom(...targets), key: fc.constantFrom(...keys), change: fc.constantFrom(...changes) });

  it('a reused context gives what a fresh context per call gives, call after call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (list) => {
        const probes = list.map((m, i) => `p${i}: (function () { try { var t = ${m.target}; var v = t[${m.key}]; return v === undefined ? 'undefined' : typeof v === 'function' ? 'fn' : String(v); } catch (e) { return 'threw'; } })()`);
        const edits = list.map((m) =>
          m.change === 'delete' ? `try { delete (${m.target})[${m.key}]; } catch (e) {}` : `try { (${m.target})[${m.key}] ${m.change}; } catch (e) {}`,
        );
        const source = `${C} ${P} ${U}
          function decodeUplink(input) {
            var seen = { ${probes.join(', ')}, floor: Math.floor(1.5), json: typeof JSON.stringify };
            if (input.bytes[0] === 0xff) { ${edits.join(' ')} }
            return { data: seen };
          }`;
        await agree('generated', source, [[0xff], [1], [0xff], [1]]);
      }),
      { seed: 20261207, numRuns: 30 },
    );
  }, 180_000);
});

describe('generated state written into built-in functions and other intrinsics under built names (fixed seed)', () => {
  // Intrinsics a script reaches without a routed word: built-in functions of prototypes,
  // namespaces, constructors reached through `constructor`, iterators, Buffer and console,
  // and non-prototype objects. Each is probed and then written under names built at run time.
  const targets = [
    "[]['pu' + 'sh']",
    "Math['fl' + 'oor']",
    "''['sp' + 'lit']",
    "(0)['to' + 'Fixed']",
    "({})['hasOwn' + 'Property']",
    "(function () {})['ca' + 'll']",
    "/x/['ex' + 'ec']",
    "[]['val' + 'ues']()['ne' + 'xt']",
    "[]['val' + 'ues']()['ma' + 'p']",
    "new Date(0)['get' + 'Time']",
    "JSON['str' + 'ingify']",
    "[][c]['fr' + 'om']",
    "({})[c]['ke' + 'ys']",
    "Promise['res' + 'olve']",
    "Buffer['fr' + 'om']",
    "Buffer.alloc(1)['read' + 'UInt8']",
    "console['lo' + 'g']",
    "[][Symbol['iter' + 'ator']]",
    'Math',
    'JSON',
  ];
  const keys = ["'x' + 'y'", "'na' + 'me'", "'len' + 'gth'", "'ca' + 'che'", "Symbol['f' + 'or']('k')"];
  const changes = ['= 1', '= {}', 'delete', 'freeze', 'preventExtensions', 'assign'];
  const step = fc.record({ target: fc.constantFrom(...targets), key: fc.constantFrom(...keys), change: fc.constantFrom(...changes) });

  function edit(m: { target: string; key: string; change: string }): string {
    const t = `(${m.target})`;
    if (m.change === 'delete') return `try { delete ${t}[${m.key}]; } catch (e) {}`;
    if (m.change === 'freeze') return `try { Object['fre' + 'eze'](${t}); } catch (e) {}`;
    if (m.change === 'preventExtensions') return `try { Object['prevent' + 'Extensions'](${t}); } catch (e) {}`;
    if (m.change === 'assign') return `try { Object['ass' + 'ign'](${t}, { q: 1 }); } catch (e) {}`;
    return `try { ${t}[${m.key}] ${m.change}; } catch (e) {}`;
  }

  it('a reused context gives what a fresh context per call gives, call after call', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), fc.array(fc.constantFrom(0xff, 1, 2), { minLength: 2, maxLength: 5 }), async (list, triggers) => {
        // What a later call sees of each target: the written key, its own-ness, the own
        // enumerable keys, extensibility.
        const probes = list.map(
          (m, i) => `p${i}: (function () { try { var t = ${m.target}; var v = t[${m.key}]; return [typeof v === 'function' ? 'fn' : typeof v === 'object' ? 'obj' : String(v), ({}).hasOwnProperty.call(t, ${m.key}), Object.keys(t).length, Object.isExtensible(t)]; } catch (e) { return 'threw'; } })()`,
        );
        const source = `${C}
          function decodeUplink(input) {
            var seen = { ${probes.join(', ')} };
            if (input.bytes[0] === 0xff) { ${list.map(edit).join(' ')} }
            return { data: seen };
          }`;
        await agree('generated-intrinsics', source, [[0xff], ...triggers.map((b) => [b])]);
      }),
      { seed: 20261207, numRuns: 40 },
    );
  }, 240_000);
});
