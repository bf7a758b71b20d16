/**
 * `this`, `prototype` and `constructor` in the source scan (this-scan.mjs): scripts whose `this`
 * cannot be the global object in a way the guard does not watch (class code, `this.<name>` of a
 * name that is no top-level variable) and whose prototypes are their own constructors' keep the
 * reused context, and give what a fresh context per call gives; every other `this` keeps the
 * fresh path.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScriptCodec } from './index.ts';
import { reuseVerdict } from './reuse-scan.mjs';
import { thisProblem, tokenize } from './this-scan.mjs';
import { fixture, loadBothPaths } from './test-support.ts';

const loaded: ScriptCodec[] = [];
afterAll(() => {
  for (const c of loaded) c.dispose();
});

async function bothAgree(id: string, source: string, frames: number[][]): Promise<ScriptCodec> {
  const { reused, fresh } = await loadBothPaths(id, source);
  loaded.push(reused, fresh);
  frames.forEach((bytes, i) => {
    const up = { bytes, fPort: 1 };
    expect(reused.decodeUplink(up), `${id}: call ${i + 1}`).toEqual(fresh.decodeUplink(up));
  });
  return reused;
}

const reason = (source: string): string | undefined => reuseVerdict(source).reason;

describe('which `this` keeps the reused context', () => {
  it('class code: methods, constructors, fields, static blocks, nested functions', () => {
    expect(reason('class A { m() { return this; } }')).toBeUndefined();
    expect(reason('class A { constructor(b) { this.b = b; } f = () => this.b; static { this.k = 1; } g() { return function () { return this; }; } }')).toBeUndefined();
    expect(reason('class A extends B { m() { var self = this; return self[k]; } }')).toBeUndefined();
    expect(reason('var A = class { m() { return this; } };')).toBeUndefined();
  });

  it('a computed member name of a class is evaluated outside it', () => {
    expect(reason('class A { [this]() {} }')).toMatch(/`this` outside a class/);
    expect(reason('class A extends this.B {}')).toBeUndefined(); // this.B: B is no variable
    expect(reason('var B; class A extends this.B {}')).toMatch(/`this\.B` outside a class/);
  });

  it('`this.<name>` outside a class, unless <name> may be a top-level variable', () => {
    expect(reason('function R(bytes) { this.bytes = bytes; this.pos = 0; }')).toBeUndefined();
    expect(reason('var o = { v: 1, get: function () { return this.v; } };')).toBeUndefined();
    expect(reason('this.helper = 1;')).toBeUndefined();
    expect(reason('var pos = 0; function R() { this.pos = 1; }')).toMatch(/`this\.pos` outside a class, and `pos` may be a top-level variable/);
    expect(reason('function helper() {} function decodeUplink(i) { return this.helper(i); }')).toMatch(/`this\.helper`/);
    expect(reason('if (x) { var inner = 1; } function f() { return this.inner; }')).toMatch(/`this\.inner`/);
    expect(reason('var { a, b: [c] } = o; function f() { return this.c; }')).toMatch(/`this\.c`/);
  });

  it('any other `this` outside a class keeps the fresh path', () => {
    for (const s of ['function f() { return this; }', 'var self = this;', 'f.call(this);', 'function f() { return this[k]; }', 'var g = (() => this)();', 'this.#x']) {
      expect(reason(s), s).toMatch(/reaches the global object|could not be read/);
    }
    expect(reason('th\\u0069s.x = 1;')).toBe('the script reaches the global object (`this`)');
  });

  it('`this` in comments and strings does not count; text it cannot read precisely keeps the fresh path', () => {
    expect(reason('// this decodes\nvar s = "this"; var t = `this ${1}`; function decodeUplink() { return {}; }')).toBeUndefined();
    // `/"/` after `)` could be a division or a regular expression: either reading hides a quote.
    expect(reason('if (a) /"/.test(s); this.x = 1;')).toMatch(/could not be read precisely/);
    expect(reason('var x = 1; <!-- this\nthis.y = 1;')).toMatch(/could not be read precisely/);
    expect(reason('var s = "unterminated; this.x')).toMatch(/could not be read precisely/);
    // A Unicode space is a space, not part of a word that hides `this`.
    expect(thisProblem('var g = this\u2003;')).toMatch(/other than as `this.<name>`/);
  });
});

describe('which `prototype` and `constructor` keep the reused context', () => {
  it('the script’s own top-level constructors, never rebound', () => {
    expect(reason('function R(b) { this.b = b; } R.prototype.u8 = function () { return this.b[0]; };')).toBeUndefined();
    expect(reason('var R = function () {}; R.prototype = { f: function () {} }; R.prototype.constructor = R;')).toBeUndefined();
    expect(reason('class A {} A.prototype.x = 1; var a = new A(); a instanceof A;')).toBeUndefined();
  });

  it('anything else that names them keeps the fresh path', () => {
    const routed = [
      'Array.prototype.x = 1;',
      'function Array2() {} Array.prototype.x = 1;',
      'x = function Array() {}; Array.prototype.foo = 1;', // a named function expression binds only inside itself
      'function f() { function Array() {} } Array.prototype.foo = 1;', // not at the top level
      'function R() {} function g(R) { R.prototype.x = 1; } g(Array);', // rebound as a parameter
      'function R() {} R = Array; R.prototype.x = 1;', // reassigned
      'function R() {} R.prototype.x = 1; // see R.prototype',
      'function R() {} o["prototype"];',
      'function R() {} new R().constructor;',
    ];
    for (const s of routed) expect(reason(s), s).toMatch(/prototype|constructor/);
  });
});

describe('scripts that use `this` and their own prototypes, on the reused path', () => {
  it('the ES2015 fixture (class with private fields and arrow fields) now takes the reused path', async () => {
    const reused = await bothAgree('es2015', fixture('ttn-es2015.js'), [[1, 0, 200, 0, 215, 90, 0x0c, 0x1c, 5, 12], [1, 1, 2, 3, 4, 5, 6, 7, 1, 9], [2]]);
    expect(reused.statePath()).toEqual({ path: 'reused-context', repairs: 0 });
  });

  it('a class that keeps state in a static field and an ES5 reader with prototype methods', async () => {
    const cls = `class Counter { static n = 0; constructor() { Counter.n++; this.id = Counter.n; } }
      function decodeUplink(input) { new Counter(); var c = new Counter(); return { data: { id: c.id, n: Counter.n } }; }`;
    expect((await bothAgree('class-static', cls, [[1], [2], [3]])).statePath()?.path).toBe('reused-context');
    const es5 = `function Reader(bytes) { this.bytes = bytes; this.pos = 0; }
      Reader.prototype.u8 = function () { return this.bytes[this.pos++]; };
      Reader.prototype.count = 0;
      function decodeUplink(input) { var r = new Reader(input.bytes); Reader.prototype.count++; return { data: { a: r.u8(), b: r.u8(), count: Reader.prototype.count } }; }`;
    expect((await bothAgree('es5-reader', es5, [[1, 2], [3, 4], [5, 6]])).statePath()?.path).toBe('reused-context');
  });

  it('a sloppy function called without a receiver writes `this.<name>` on the global object: put back after each call', async () => {
    const source = `function Setter(v) { this.leftover = (this.leftover || 0) + v; }
      function decodeUplink(input) { Setter(input.bytes[0]); return { data: { leftover: leftover } }; }`;
    const reused = await bothAgree('sloppy-this', source, [[1], [2], [3]]);
    expect(reused.statePath()?.path).toBe('reused-context');
    expect(reused.statePath()?.repairs).toBeGreaterThanOrEqual(3);
  });
});

describe('the scan never throws, and what it lets through agrees with a fresh context (fixed seed)', () => {
  it('on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(typeof reuseVerdict(text).reuse).toBe('boolean');
        tokenize(text);
      }),
      { seed: 1207, numRuns: 2000 },
    );
  });

  // Pieces that use `this` in every form; combined at random. Whatever the scan sends to the
  // reused path must decode as a fresh context does, call after call.
  const pieces = [
    'class K { constructor(v) { this.v = v; } get() { return this.v; } }',
    'function S(v) { this.sv = v; }',
    'function T() { return this; }',
    'var top = 1;',
    'function U() { this.top = (this.top || 0) + 1; return this.top; }',
    'var o = { n: 0, inc: function () { this.n++; return this.n; } };',
    'function W() {} W.prototype.k = 0; W.prototype.bump = function () { W.prototype.k++; return this.k; };',
    'this.shared = (this.shared || 0) + 1;',
  ];
  const uses = [
    'new K(input.bytes[0]).get()',
    "(S(2), typeof sv === 'undefined' ? null : sv)",
    "typeof T() === 'object' ? (T().mark = (T().mark || 0) + 1) : 0",
    'U()',
    'o.inc()',
    'new W().bump()',
    "typeof shared === 'undefined' ? null : shared",
  ];
  it('over generated scripts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.subarray(pieces, { minLength: 1 }), fc.subarray(uses, { minLength: 1 }), async (decls, calls) => {
        const source = `${decls.join('\n')}
          function decodeUplink(input) { var out = []; ${calls.map((c) => `try { out.push(${c}); } catch (e) { out.push(String(e.name)); }`).join(' ')} return { data: { out: out } }; }`;
        await bothAgree('generated-this', source, [[1], [2], [3]]);
      }),
      { seed: 20261207, numRuns: 25 },
    );
  }, 180_000);
});
