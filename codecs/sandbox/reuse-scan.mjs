// Decides, from a codec script's source, whether the sandbox may serve its calls from one reused
// context (the script's top-level code re-run inside a wrapper function per call, see
// engine-worker.mjs) or must give every call a fresh context. Plain JavaScript: the sandbox
// thread imports it without a TypeScript loader.
//
// A reused context gives every call fresh top-level declarations (var/let/const/function/class,
// and every closure over them). What it cannot make fresh by itself is the global object and the
// built-ins, and, inside the wrapper, top-level `var`/`function` are not properties of the global
// object. So a script that names any way to the global object, to a prototype or to a property
// definition takes the fresh-context path; what else a call changes on the global object or on
// the built-ins the script names is checked after each call (vm/state-guard.js).
//
// The scan reads identifier-like words from the raw text, comments and strings included (so a
// word in a comment sends a script to the fresh path too: safe, and cheap), with `\u` escapes in
// identifiers decoded (`glob\u0061lThis` is `globalThis`). `this` is the one word read more
// closely (this-scan.mjs): inside a class body, and as `this.<name>` for a name that is no
// variable of the script, it cannot reach the global object in a way the guard does not watch.
// `prototype` (and `constructor`) likewise, where every occurrence is `X.prototype` of a
// constructor X the script declares at its top level and never rebinds: that object is made
// again by every call.
import { ownPrototypesOnly, thisProblem } from './this-scan.mjs';

/** Words that route a script to a fresh context per call, with the reason given for each. */
const ROUTED = new Map([
  ['this', 'reaches the global object (`this`)'],
  ['globalThis', 'reaches the global object (`globalThis`)'],
  ['eval', 'evaluates code (`eval`)'],
  ['Function', 'evaluates code (`Function`)'],
  ['constructor', 'can reach the Function constructor (`constructor`)'],
  ['import', 'imports a module (`import`)'],
  ['prototype', 'can change a built-in prototype (`prototype`)'],
  ['__proto__', 'can change a built-in prototype (`__proto__`)'],
  ['getPrototypeOf', 'can reach a built-in prototype (`getPrototypeOf`)'],
  ['setPrototypeOf', 'can change a prototype (`setPrototypeOf`)'],
  ['defineProperty', 'defines properties (`defineProperty`)'],
  ['defineProperties', 'defines properties (`defineProperties`)'],
  ['__defineGetter__', 'defines properties (`__defineGetter__`)'],
  ['__defineSetter__', 'defines properties (`__defineSetter__`)'],
  ['Reflect', 'can change built-ins (`Reflect`)'],
  ['getOwnPropertyNames', 'lists property names to write (`getOwnPropertyNames`)'],
  ['getOwnPropertyDescriptors', 'lists property names to write (`getOwnPropertyDescriptors`)'],
  ['getOwnPropertyDescriptor', 'reads property descriptors of built-ins (`getOwnPropertyDescriptor`)'],
  ['__lookupGetter__', 'reads property descriptors of built-ins (`__lookupGetter__`)'],
  ['__lookupSetter__', 'reads property descriptors of built-ins (`__lookupSetter__`)'],
  ['WeakRef', 'keeps engine-managed state (`WeakRef`)'],
  ['FinalizationRegistry', 'keeps engine-managed state (`FinalizationRegistry`)'],
]);

/**
 * `var undefined = 5` at the top of a script changes nothing (the global is read-only); inside
 * the wrapper it would declare a local. Declarations of these names take the fresh path.
 */
const SHADOWED_CONSTANT = /(?:\b(?:var|let|const)\s+|,\s*)(?:undefined|NaN|Infinity)\s*(?:[=;,]|$)/m;

/**
 * Whether every `constructor` in the source is a class's (or object literal's) own method
 * definition, `{ constructor(…) {`, after `{`, `}` or `;` and before `(`: that defines a
 * method and reaches nothing. Any other occurrence (`x.constructor`, `['constructor']`, a
 * destructuring `{ constructor } = f`, an escaped spelling, a comment) counts as a use.
 */
function onlyMethodDefinitions(source) {
  const at = /(?<![A-Za-z0-9_$\\])constructor(?![A-Za-z0-9_$])/g;
  let found = 0;
  for (const m of source.matchAll(at)) {
    found++;
    const before = source.slice(0, m.index).trimEnd();
    const after = source.slice(m.index + m[0].length).trimStart();
    if (!'{};'.includes(before.charAt(before.length - 1) || 'x') || after.charAt(0) !== '(') return false;
  }
  // An escaped spelling (`constru\u0063tor`) is not among the plain matches.
  return found > 0 && found === (source.match(/constructor/g) ?? []).length;
}

const WORD = /(?:[A-Za-z0-9_$]|\\u[0-9A-Fa-f]{4}|\\u\{[0-9A-Fa-f]{1,6}\})+/g;
const ESCAPE = /\\u(?:([0-9A-Fa-f]{4})|\{([0-9A-Fa-f]{1,6})\})/g;

function decodeEscapes(word) {
  return word.replace(ESCAPE, (_, four, braced) => {
    const code = parseInt(four ?? braced, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}

/** The distinct identifier-like words of a source text, escapes decoded. */
export function sourceWords(source) {
  const words = new Set();
  for (const m of source.matchAll(WORD)) {
    const w = m[0];
    words.add(w.includes('\\') ? decodeEscapes(w) : w);
  }
  return words;
}

/**
 * `{ reuse: true, names }` when the script may run in a reused context (`names`: the words of
 * the source, from which the sandbox picks the globals to watch), or `{ reuse: false, reason }`.
 */
export function reuseVerdict(source) {
  const words = sourceWords(source);
  for (const [word, reason] of ROUTED) {
    if (!words.has(word)) continue;
    if (word === 'constructor' && (onlyMethodDefinitions(source) || ownPrototypesOnly(source, 'constructor'))) continue;
    if (word === 'prototype' && ownPrototypesOnly(source, 'prototype')) continue;
    if (word === 'this') {
      const problem = thisProblem(source);
      if (problem === undefined) continue;
      return { reuse: false, reason: `the script ${problem}` };
    }
    return { reuse: false, reason: `the script ${reason}` };
  }
  if (SHADOWED_CONSTANT.test(source)) return { reuse: false, reason: 'the script declares undefined, NaN or Infinity' };
  return { reuse: true, names: [...words] };
}
