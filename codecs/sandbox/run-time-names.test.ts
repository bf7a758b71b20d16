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
