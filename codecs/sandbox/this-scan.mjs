// Decides, from a codec script's source, whether each `this` in it can be the global object of
// a reused context in a way the state guard does not see (reuse-scan.mjs). Plain JavaScript:
// the sandbox thread imports it without a TypeScript loader.
//
// In a reused context the script's top-level `var`/`function` are locals of the wrapper, not
// properties of the global object, and the guard watches the global object only under the names
// the source contains. So a `this` is harmless when it can never be the global object, or when it
// reaches it only under a literal name that is no variable of the script:
// - inside a class body (methods, constructors, field initializers, static blocks, and every
//   function nested in them): class code is strict, so `this` is an instance, the class or
//   `undefined`, never the global object - except in a computed member name (`[this.x]() {}`),
//   which is evaluated outside, and is treated as outside;
// - elsewhere (top level, sloppy functions called without a receiver): only `this.<name>`, where
//   `<name>` appears in the source only as a property name (`x.<name>`, `<name>: …`, a method
//   `<name>(…) {`), never as a variable. Then `this.<name>` on the global object is the property
//   `<name>` of the global object in the reused context as in a fresh one (a script variable of
//   that name would be a property there and a local here), and the guard watches it by name.
// Any other `this` (`return this`, `var self = this`, `f.call(this)`, `this[k]`) keeps the
// fresh-context path.
//
// The tokenizer is deliberately small: strings, template literals (nested), comments, regular
// expression literals (by the usual previous-token rule), numbers, words and punctuation. When it
// cannot make sense of the text (an unterminated literal, unbalanced brackets) the answer is
// "not harmless", so a misread never widens the fast path.

const WORD_START = /[A-Za-z_$\\#]/;
const WORD_PART = /[A-Za-z0-9_$\\]/;
const ESCAPE = /\\u(?:([0-9A-Fa-f]{4})|\{([0-9A-Fa-f]{1,6})\})/g;
/** Words after which a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);
/** What a misread `/` (regular expression or division) could hide or invent. */
const STRUCTURE = /['"`{}[\]]|\/\*|\/\/|\bthis\b|\bclass\b/;
const SPACE = /\s/;

function decode(word) {
  return word.includes('\\')
    ? word.replace(ESCAPE, (_, four, braced) => {
        const code = parseInt(four ?? braced, 16);
        return code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD';
      })
    : word;
}

/**
 * Tokens of a source text: `{ t: 'w' | 'p' | 'n' | 's' | 'r', v }` (word, punctuation, number,
 * string or template piece, regular expression). Braces opening a template substitution are
 * `${`. Returns undefined when the text does not tokenize (then nothing is proven).
 */
export function tokenize(source) {
  // HTML-like comments (`<!--`, `-->`, Annex B) end a line in a script: not read here.
  if (source.includes('<!--') || source.includes('-->')) return undefined;
  const tokens = [];
  const stack = []; // '{', '(', '[', or '`' for a template substitution
  let i = 0;
  const n = source.length;
  const last = () => tokens[tokens.length - 1];
  const regexAllowed = () => {
    const p = last();
    if (p === undefined) return true;
    if (p.t === 'n' || p.t === 's' || p.t === 'r') return false;
    if (p.t === 'w') return BEFORE_REGEX.has(p.v);
    return !(p.v === ')' || p.v === ']' || p.v === '}');
  };
  // After `)`, `}`, `++` or `--` a `/` may be either (`if (x) /re/`, `(a) / b`); it is read as a
  // division. Where reading it as a regular expression would put a quote, bracket, comment or
  // `this`/`class` inside the literal, the two readings differ in what matters: no answer.
  const ambiguous = () => {
    const p = last();
    const q = tokens[tokens.length - 2];
    if (!p || p.t !== 'p') return false;
    if (!(p.v === ')' || p.v === '}' || ((p.v === '+' || p.v === '-') && q && q.t === 'p' && q.v === p.v))) return false;
    let k = i + 1;
    let inClass = false;
    while (k < n && (inClass || source[k] !== '/')) {
      const d = source[k];
      if (d === '\n' || d === '\r' || d === '\u2028' || d === '\u2029') return false;
      if (d === '\\') k++;
      else if (d === '[') inClass = true;
      else if (d === ']') inClass = false;
      k++;
    }
    return k < n && STRUCTURE.test(source.slice(i + 1, k));
  };
  /** Reads template characters from i (after a backtick or a substitution's `}`). */
  const template = () => {
    while (i < n) {
      const c = source[i];
      if (c === '\\') i += 2;
      else if (c === '`') {
        i++;
        tokens.push({ t: 's', v: '`' });
        return true;
      } else if (c === '$' && source[i + 1] === '{') {
        i += 2;
        tokens.push({ t: 'p', v: '${' });
        stack.push('`');
        return true;
      } else i++;
    }
    return false;
  };
  while (i < n) {
    const c = source[i];
    if (SPACE.test(c)) {
      i++;
    } else if (c === '/' && source[i + 1] === '/') {
      while (i < n && source[i] !== '\n' && source[i] !== '\r' && source[i] !== '\u2028' && source[i] !== '\u2029') i++;
    } else if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && source[i] !== c) {
        if (source[i] === '\\') i++;
        else if (source[i] === '\n') return undefined;
        i++;
      }
      if (i >= n) return undefined;
      i++;
      tokens.push({ t: 's', v: c });
    } else if (c === '`') {
      i++;
      if (!template()) return undefined;
    } else if (c === '/' && ambiguous()) {
      return undefined;
    } else if (c === '/' && regexAllowed()) {
      i++;
      let inClass = false;
      while (i < n && (inClass || source[i] !== '/')) {
        const d = source[i];
        if (d === '\n' || d === '\r') return undefined;
        if (d === '\\') i++;
        else if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        i++;
      }
      if (i >= n) return undefined;
      i++;
      while (i < n && WORD_PART.test(source[i])) i++;
      tokens.push({ t: 'r', v: '/' });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      i++;
      while (i < n && (/[0-9A-Za-z_.]/.test(source[i]) || ((source[i] === '+' || source[i] === '-') && /[eE]/.test(source[i - 1]) && !/^0[xX]/.test(source.slice(i - 20, i))))) i++;
      tokens.push({ t: 'n', v: '0' });
    } else if (WORD_START.test(c) || c.charCodeAt(0) > 0x7f) {
      const start = i;
      i++;
      while (i < n && (WORD_PART.test(source[i]) || (source.charCodeAt(i) > 0x7f && !SPACE.test(source[i])))) {
        if (source[i] === '\\') {
          const m = /^\\u(?:[0-9A-Fa-f]{4}|\{[0-9A-Fa-f]{1,6}\})/.exec(source.slice(i, i + 10));
          if (!m) return undefined;
          i += m[0].length;
        } else i++;
      }
      const raw = source.slice(start, i);
      tokens.push({ t: 'w', v: decode(raw), escaped: raw.includes('\\') });
    } else if (c === '.' && source[i + 1] === '.' && source[i + 2] === '.') {
      i += 3;
      tokens.push({ t: 'p', v: '...' });
    } else if (c === '?' && source[i + 1] === '.' && !/[0-9]/.test(source[i + 2] ?? '')) {
      i += 2;
      tokens.push({ t: 'p', v: '.' });
    } else if (c === '=' && source[i + 1] === '>') {
      i += 2;
      tokens.push({ t: 'p', v: '=>' });
    } else if (c === '{' || c === '(' || c === '[') {
      i++;
      stack.push(c);
      tokens.push({ t: 'p', v: c });
    } else if (c === '}' || c === ')' || c === ']') {
      i++;
      const open = stack.pop();
      if (c === '}' && open === '`') {
        tokens.push({ t: 'p', v: '}' });
        if (!template()) return undefined;
        continue;
      }
      if (open !== { '}': '{', ')': '(', ']': '[' }[c]) return undefined;
      tokens.push({ t: 'p', v: c });
    } else {
      i++;
      tokens.push({ t: 'p', v: c });
    }
  }
  return stack.length === 0 ? tokens : undefined;
}

/** Index of the token closing the bracket opened at `open`, or -1. */
function closing(tokens, open) {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const v = tokens[k].t === 'p' ? tokens[k].v : '';
    if (v === '{' || v === '(' || v === '[' || v === '${') depth++;
    else if (v === '}' || v === ')' || v === ']') {
      depth--;
      if (depth === 0) return k;
    }
  }
  return -1;
}

/**
 * Class bodies as token ranges `{ open, close, keys }`, `keys` the ranges of the square brackets
 * at the body's own level (computed member names, and conservatively any other bracket there).
 * Undefined when a class's heritage cannot be read.
 */
function classBodies(tokens) {
  const bodies = [];
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k];
    if (tok.t !== 'w' || tok.v !== 'class' || tok.escaped) continue;
    const prev = tokens[k - 1];
    if (prev && prev.t === 'p' && prev.v === '.') continue; // x.class
    const next = tokens[k + 1];
    if (next && next.t === 'p' && next.v === ':') continue; // { class: 1 }
    let j = k + 1;
    if (tokens[j] && tokens[j].t === 'w' && tokens[j].v !== 'extends') j++;
    if (tokens[j] && tokens[j].t === 'w' && tokens[j].v === 'extends') {
      j++;
      let depth = 0;
      for (; j < tokens.length; j++) {
        const t = tokens[j];
        if (t.t === 'w' && (t.v === 'function' || t.v === 'class') && depth === 0) return undefined;
        if (t.t !== 'p') continue;
        if (t.v === '(' || t.v === '[') depth++;
        else if (t.v === ')' || t.v === ']') depth--;
        else if ((t.v === '{' || t.v === '${') && depth === 0) break;
      }
    }
    const open = tokens[j];
    if (!open || open.t !== 'p' || open.v !== '{') return undefined;
    const close = closing(tokens, j);
    if (close < 0) return undefined;
    const keys = [];
    let depth = 0;
    for (let m = j + 1; m < close; m++) {
      const t = tokens[m];
      if (t.t !== 'p') continue;
      if (t.v === '[' && depth === 0) {
        const end = closing(tokens, m);
        if (end < 0) return undefined;
        keys.push([m, end]);
        m = end;
      } else if (t.v === '{' || t.v === '(' || t.v === '${') depth++;
      else if (t.v === '}' || t.v === ')') depth--;
    }
    bodies.push({ open: j, close, keys });
  }
  return bodies;
}

const is = (t, type, v) => t !== undefined && t.t === type && (v === undefined || t.v === v);

/** Token ranges of function bodies that are certainly ones: `function …(…) {…}` and `=> {…}`. */
function functionBodies(tokens) {
  const ranges = [];
  for (let k = 0; k < tokens.length; k++) {
    let open = -1;
    if (is(tokens[k], 'w', 'function') && !is(tokens[k - 1], 'p', '.')) {
      let j = k + 1;
      if (is(tokens[j], 'p', '*')) j++;
      if (is(tokens[j], 'w')) j++;
      if (!is(tokens[j], 'p', '(')) continue;
      const close = closing(tokens, j);
      if (close >= 0 && is(tokens[close + 1], 'p', '{')) open = close + 1;
    } else if (is(tokens[k], 'p', '=>') && is(tokens[k + 1], 'p', '{')) {
      open = k + 1;
    }
    if (open < 0) continue;
    const close = closing(tokens, open);
    if (close >= 0) ranges.push([open, close]);
  }
  return ranges;
}

/**
 * The names the script may declare at its top level (so, in a reused context, locals of the
 * wrapper that a fresh context would make properties of the global object): every name bound by
 * `var`/`let`/`const`/`function`/`class` outside the function bodies found above, patterns
 * included. A superset: names of nested blocks, methods' bodies and initializers may be in it.
 */
function topLevelNames(tokens) {
  const inBody = new Uint8Array(tokens.length);
  for (const [a, z] of functionBodies(tokens)) inBody.fill(1, a, z + 1);
  const names = new Set();
  const pattern = (j) => {
    const close = closing(tokens, j);
    const end = close < 0 ? tokens.length - 1 : close;
    for (let m = j; m <= end; m++) if (tokens[m].t === 'w') names.add(tokens[m].v);
    return end;
  };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (inBody[k] || t.t !== 'w' || is(tokens[k - 1], 'p', '.')) continue;
    if (t.v === 'function' || t.v === 'class') {
      let j = k + 1;
      if (is(tokens[j], 'p', '*')) j++;
      if (is(tokens[j], 'w')) names.add(tokens[j].v);
      continue;
    }
    if (t.v !== 'var' && t.v !== 'let' && t.v !== 'const') continue;
    // binding [= initializer] (, binding [= initializer])* up to `;` at this level
    let j = k + 1;
    for (;;) {
      const b = tokens[j];
      if (is(b, 'w')) names.add(b.v);
      else if (is(b, 'p', '{') || is(b, 'p', '[')) j = pattern(j);
      else break;
      j++;
      let depth = 0;
      for (; j < tokens.length; j++) {
        const x = tokens[j];
        if (x.t !== 'p') continue;
        if (x.v === '(' || x.v === '[' || x.v === '{' || x.v === '${') depth++;
        else if (x.v === ')' || x.v === ']' || x.v === '}') depth--;
        if (depth < 0 || (depth === 0 && (x.v === ',' || x.v === ';'))) break;
      }
      if (!is(tokens[j], 'p', ',')) break;
      j++;
    }
  }
  return names;
}

/** Brace/paren/bracket depth before each token. */
function depths(tokens) {
  const out = new Int32Array(tokens.length);
  let d = 0;
  for (let k = 0; k < tokens.length; k++) {
    const v = tokens[k].t === 'p' ? tokens[k].v : '';
    if (v === '}' || v === ')' || v === ']') d--;
    out[k] = d;
    if (v === '{' || v === '(' || v === '[' || v === '${') d++;
  }
  return out;
}

/**
 * The script's own constructors whose `.prototype` is a fresh object of every call: names
 * declared at the very top level (no enclosing bracket) by `function X`, `class X`, or
 * `var|let|const X = function|class`, and otherwise only used as `X.…`, `X(…)`, `new X` or
 * `instanceof X`, or read as `= X;` / `return X;` - never in a position that could bind X to
 * anything else (a parameter, a pattern, an assignment, another declaration).
 */
function ownConstructors(tokens) {
  const depth = depths(tokens);
  const declared = new Map(); // name -> declaration token index
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (depth[k] !== 0 || t.t !== 'w') continue;
    // A statement's start, so a declaration (`x = function X(){}` binds X only inside itself).
    const prev = tokens[k - 1];
    if (prev !== undefined && !is(prev, 'p', ';') && !is(prev, 'p', '}')) continue;
    if ((t.v === 'function' || t.v === 'class') && is(tokens[k + 1], 'w')) declared.set(tokens[k + 1].v, k + 1);
    else if ((t.v === 'var' || t.v === 'let' || t.v === 'const') && is(tokens[k + 1], 'w') && is(tokens[k + 2], 'p', '=') && (is(tokens[k + 3], 'w', 'function') || is(tokens[k + 3], 'w', 'class'))) {
      declared.set(tokens[k + 1].v, k + 1);
    }
  }
  const own = new Set();
  for (const [name, at] of declared) {
    let clean = true;
    for (let k = 0; k < tokens.length && clean; k++) {
      const t = tokens[k];
      if (t.t !== 'w' || t.v !== name || k === at) continue;
      if (t.escaped) clean = false;
      else if (is(tokens[k - 1], 'p', '.')) continue;
      else if (is(tokens[k + 1], 'p', '.') || is(tokens[k + 1], 'p', '(') || is(tokens[k - 1], 'w', 'new') || is(tokens[k - 1], 'w', 'instanceof')) continue;
      // a plain read: `… = X;`, `return X;` (an assignment to X would be followed by `=`)
      else if ((is(tokens[k - 1], 'p', '=') || is(tokens[k - 1], 'w', 'return')) && (is(tokens[k + 1], 'p', ';') || is(tokens[k + 1], 'p', ',') || is(tokens[k + 1], 'p', ')') || is(tokens[k + 1], 'p', '}'))) continue;
      else clean = false;
    }
    if (clean && !tokens[at].escaped) own.add(name);
  }
  return own;
}

/** Raw occurrences of a word in the text, comments and strings included, escapes decoded. */
function rawCount(source, word) {
  let count = 0;
  for (const m of source.matchAll(/(?:[A-Za-z0-9_$]|\\u[0-9A-Fa-f]{4}|\\u\{[0-9A-Fa-f]{1,6}\})+/g)) if (decode(m[0]) === word) count++;
  return count;
}

/**
 * Whether every `prototype` (and every `constructor` that is not a method definition) of the
 * source is the script's own constructor's: `X.prototype…` or `X.prototype.constructor` with X
 * from `ownConstructors`. Every occurrence in the raw text must be such a token, so a word in a
 * string (`o['prototype']`) or a comment does not pass.
 */
export function ownPrototypesOnly(source, word) {
  const tokens = tokenize(source);
  if (tokens === undefined) return false;
  const own = ownConstructors(tokens);
  let safe = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.t !== 'w' || t.v !== word || t.escaped) continue;
    if (word === 'prototype' && is(tokens[k - 1], 'p', '.') && is(tokens[k - 2], 'w') && own.has(tokens[k - 2].v) && !is(tokens[k - 3], 'p', '.')) safe++;
    else if (
      word === 'constructor' &&
      is(tokens[k - 1], 'p', '.') &&
      is(tokens[k - 2], 'w', 'prototype') &&
      is(tokens[k - 3], 'p', '.') &&
      is(tokens[k - 4], 'w') &&
      own.has(tokens[k - 4].v) &&
      !is(tokens[k - 5], 'p', '.')
    )
      safe++;
    else if (word === 'constructor' && is(tokens[k + 1], 'p', '(') && (is(tokens[k - 1], 'p', '{') || is(tokens[k - 1], 'p', '}') || is(tokens[k - 1], 'p', ';'))) safe++;
    else return false;
  }
  return safe > 0 && safe === rawCount(source, word);
}

/**
 * `undefined` when every `this` of the source is harmless in a reused context (see the top of
 * this file), else why not.
 */
export function thisProblem(source) {
  const tokens = tokenize(source);
  if (tokens === undefined) return 'uses `this` (and its text could not be read precisely)';
  const bodies = classBodies(tokens);
  if (bodies === undefined) return 'uses `this` (and a class heritage could not be read precisely)';
  let declared;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.t !== 'w' || t.v !== 'this') continue;
    if (t.escaped) return 'reaches the global object (`this`)';
    if (is(tokens[k - 1], 'p', '.')) continue; // x.this: a property name
    if (bodies.some((b) => k > b.open && k < b.close && !b.keys.some(([a, z]) => k > a && k < z))) continue;
    const name = tokens[k + 2];
    if (!is(tokens[k + 1], 'p', '.') || !is(name, 'w') || name.v.startsWith('#')) {
      return 'reaches the global object (`this` outside a class, other than as `this.<name>`)';
    }
    declared ??= topLevelNames(tokens);
    if (declared.has(name.v)) return `reaches the global object (\`this.${name.v}\` outside a class, and \`${name.v}\` may be a top-level variable of the script)`;
  }
  return undefined;
}
