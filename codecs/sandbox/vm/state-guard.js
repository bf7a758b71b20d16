// Evaluated INSIDE QuickJS, only in a reused context (engine-worker.mjs), after the bridge and
// Buffer and before the script's code has ever run. It evaluates to `setup(namesJson)`, which
// takes a snapshot of what a call could change and the wrapper cannot make fresh, and returns
// `check()`, called after every call. `namesJson`: the words of the script's source.
//
// What a call can change without naming the global object, a prototype or a property
// definition (those scripts get a fresh context per call, reuse-scan.mjs): the global object
// (implicit globals `x = 1`, a replaced or deleted global the script names, `this.x` where
// `this` is the global object), the globals the script names that are objects or functions
// (`Math.round10 = …`, `var m = Math; m.max = …`, `console.log = …`, `Object.freeze(JSON)`,
// `Math['fl' + 'oor'] = …`) and their `prototype` objects. The routes to anything else under a
// name built at run time get tripwires (below). An assignment always creates an enumerable
// property (only a property definition, behind a tripwire, makes another), so the check after
// each call is cheap: the count of enumerable own keys, prototype and extensibility of each of
// those objects, and the value of every property watched (compiled once into one function with
// the names as literals). Only when that sees a change is every own property of those objects
// compared with the snapshot and put back.
//
// `check()` answers 0 when everything is as it was, 1 when it put back what changed (keys added
// by the call deleted, changed or deleted properties defined again as they were, and the result
// verified), 2 when it cannot (a prototype or extensibility changed, a key cannot be deleted,
// the order of keys differs after the repair), 3 when the call used a tripwire (below): the
// sandbox then gives up the reused context.
// It uses only built-ins captured here, before any script code ran.
(function () {
  'use strict';
  var G = globalThis;
  var ownKeys = Reflect.ownKeys;
  var gopd = Object.getOwnPropertyDescriptor;
  var defineProperty = Object.defineProperty;
  var getProto = Object.getPrototypeOf;
  var isExtensible = Object.isExtensible;
  var deleteProperty = Reflect.deleteProperty;
  var hasOwn = Object.prototype.hasOwnProperty;
  var apply = Reflect.apply;
  var create = Object.create;
  var keysOf = Object.keys;
  var assign = Object.assign;
  var parse = JSON.parse;
  var stringify = JSON.stringify;
  var FunctionCtor = Function;
  var isFrozen = Object.isFrozen;
  // Called through `apply`: after setup, methods read by name could be method markers (below).
  var arrConcat = Array.prototype.concat;
  var arrJoin = Array.prototype.join;
  var reTest = RegExp.prototype.test;
  var mapGet = Map.prototype.get;
  var mapSet = Map.prototype.set;
  var setHas = Set.prototype.has;

  function sameValue(a, b) {
    return a === b || (a !== a && b !== b);
  }

  /** The state of one object: keys in order, and per key its value or its getter and setter. */
  function snap(o) {
    var keys = ownKeys(o);
    var data = [];
    var values = [];
    var getters = [];
    var setters = [];
    var descs = [];
    for (var i = 0; i < keys.length; i++) {
      var d = gopd(o, keys[i]);
      descs[i] = d;
      data[i] = apply(hasOwn, d, ['value']);
      values[i] = d.value;
      getters[i] = d.get;
      setters[i] = d.set;
    }
    return { o: o, keys: keys, data: data, values: values, getters: getters, setters: setters, descs: descs, proto: getProto(o), ext: isExtensible(o) };
  }

  // A data property read is a plain read: only a property definition (defineProperty and the
  // like, which send a script to a fresh context) could turn it into a getter. Written for
  // QuickJS's interpreter, which runs this after every call: locals, no helper calls per key.
  function same(s) {
    var o = s.o;
    if (getProto(o) !== s.proto || isExtensible(o) !== s.ext) return false;
    var keys = ownKeys(o);
    var was = s.keys;
    var n = was.length;
    if (keys.length !== n) return false;
    var data = s.data;
    var values = s.values;
    for (var i = 0; i < n; i++) {
      var k = keys[i];
      if (k !== was[i]) return false;
      if (data[i]) {
        var v = o[k];
        var w = values[i];
        if (v !== w && (v === v || w === w)) return false;
      } else {
        var d = gopd(o, k);
        if (d.get !== s.getters[i] || d.set !== s.setters[i]) return false;
      }
    }
    return true;
  }

  function includes(list, key) {
    for (var i = 0; i < list.length; i++) if (list[i] === key) return true;
    return false;
  }

  function repair(s) {
    var o = s.o;
    if (getProto(o) !== s.proto || isExtensible(o) !== s.ext) return false;
    var keys = ownKeys(o);
    for (var i = 0; i < keys.length; i++) {
      if (!includes(s.keys, keys[i]) && !deleteProperty(o, keys[i])) return false;
    }
    for (var j = 0; j < s.keys.length; j++) {
      var d = gopd(o, s.keys[j]);
      var was = s.descs[j];
      var intact =
        d !== undefined &&
        d.enumerable === was.enumerable &&
        d.configurable === was.configurable &&
        (s.data[j] ? d.writable === was.writable && sameValue(d.value, was.value) : d.get === was.get && d.set === was.set);
      if (!intact) defineProperty(o, s.keys[j], was);
    }
    return same(s);
  }

  var getOwnSymbols = Object.getOwnPropertySymbols;
  var hasOwnCall = FunctionCtor.prototype.call.bind(hasOwn);

  // What the source scan (reuse-scan.mjs) refuses by name gets a tripwire in a reused context,
  // so that a script on this path cannot reach it under a name built at run time either
  // (`[]['constr' + 'uctor']['constr' + 'uctor']('return this')()`, `Object['getProto' +
  // 'typeOf']`, `o['__pro' + 'to__']`): the ways to the global object, to code evaluation, to
  // prototypes and to property definitions. Each such property becomes an accessor that gives
  // what the property gave (the call goes on exactly as in a fresh context) and records that it
  // was used; the check after that call then answers 3 and the codec gets a fresh context per
  // call from then on (the call itself started from the post-load state, so it was right). The
  // script's source names none of them (else it would not be here), so nothing it does by name
  // meets a tripwire.
  // `constructor` of the other built-in prototypes (`[]['constr' + 'uctor']` is Array) is read
  // by the built-ins themselves for species (`map`, `slice`, `then`), so it cannot be a
  // tripwire: reading it marks that constructor and its prototype, which the check after the
  // call then compares with their snapshot too. Buffer's own stays as it is (the script names
  // Buffer, which is watched anyway).
  var HARD_GLOBALS = ['globalThis', 'eval', 'Function', 'Reflect', 'WeakRef', 'FinalizationRegistry'];
  // getOwnPropertyDescriptor and __lookupGetter__/__lookupSetter__ expose the accessor functions
  // of the method markers below (and are routed by name, reuse-scan.mjs); getOwnPropertySymbols
  // hands out symbol keys, so it is a tripwire only where the source does not name it (named,
  // symbol-keyed changes are counted after every call instead).
  var HARD_OBJECT = ['getPrototypeOf', 'setPrototypeOf', 'defineProperty', 'defineProperties', 'getOwnPropertyNames', 'getOwnPropertyDescriptors', 'getOwnPropertyDescriptor'];
  var HARD_OBJECT_PROTO = ['__proto__', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__'];
  var tripped = false;
  var touched = [];

  function isObject(v) {
    return v !== null && (typeof v === 'object' || typeof v === 'function');
  }

  /** Assignment through an accessor that stands for a writable data property. */
  function assignThrough(holder, key, receiver, v, setHeld) {
    if (receiver === holder) setHeld(v);
    else if (isObject(receiver)) defineProperty(receiver, key, { value: v, writable: true, enumerable: true, configurable: true });
  }

  /** A tripwire on `o[key]`: the same value (or accessor behaviour), and `tripped` once used. */
  function tripwire(o, key) {
    var d = gopd(o, key);
    if (d === undefined || !d.configurable) return;
    if (apply(hasOwn, d, ['value'])) {
      var value = d.value;
      var hold = function (v) {
        value = v;
      };
      defineProperty(o, key, {
        get: function () {
          tripped = true;
          return value;
        },
        set: function (v) {
          tripped = true;
          assignThrough(o, key, this, v, hold);
        },
        enumerable: d.enumerable,
        configurable: true,
      });
      return;
    }
    var get = d.get;
    var set = d.set;
    defineProperty(o, key, {
      get:
        get &&
        function () {
          tripped = true;
          return apply(get, this, []);
        },
      set:
        set &&
        function (v) {
          tripped = true;
          apply(set, this, [v]);
        },
      enumerable: d.enumerable,
      configurable: true,
    });
  }

  /** `o.constructor` (a built-in constructor C): reading it marks C and C.prototype for the check. */
  function marker(o, group) {
    var d = gopd(o, 'constructor');
    var value = d.value;
    var hold = function (v) {
      value = v;
    };
    defineProperty(o, 'constructor', {
      get: function () {
        if (!group.touched) {
          group.touched = true;
          touched[touched.length] = group;
        }
        return value;
      },
      set: function (v) {
        tripped = true;
        assignThrough(o, 'constructor', this, v, hold);
      },
      enumerable: d.enumerable,
      configurable: true,
    });
  }

  /** Every object reachable from the global object and the engine's hidden prototypes. */
  function intrinsics() {
    var seen = [];
    var queue = [G, getProto(function* () {}), getProto(async function () {}), getProto(async function* () {}), getProto((function* () {})()), getProto([][Symbol.iterator]()), getProto(new Map().entries()), getProto(new Set().values()), getProto(''[Symbol.iterator]()), getProto(''.matchAll(/x/g)), getProto(Uint8Array)];
    // Iterator helpers (`[].values().map(f)`) and `Iterator.from` wrappers have prototypes of
    // their own that no property leads to.
    var IteratorCtor = G.Iterator;
    if (typeof IteratorCtor === 'function' && typeof IteratorCtor.prototype.map === 'function') queue[queue.length] = getProto([].values().map(function (x) { return x; }));
    if (typeof IteratorCtor === 'function' && typeof IteratorCtor.from === 'function') queue[queue.length] = getProto(IteratorCtor.from({ next: function () { return { done: true, value: undefined }; } }));
    var mark = new Set();
    while (queue.length > 0) {
      var o = queue.pop();
      if (!isObject(o) || mark.has(o)) continue;
      mark.add(o);
      seen[seen.length] = o;
      queue[queue.length] = getProto(o);
      var keys = ownKeys(o);
      for (var i = 0; i < keys.length; i++) {
        var d = gopd(o, keys[i]);
        if (d === undefined) continue;
        if (apply(hasOwn, d, ['value'])) queue[queue.length] = d.value;
        else {
          queue[queue.length] = d.get;
          queue[queue.length] = d.set;
        }
      }
    }
    return seen;
  }

  // Method markers. A built-in function is an object a call can change (`[]['pu' + 'sh'].x = 1`,
  // `delete Math['fl' + 'oor'].name`, `Object.freeze(''['sp' + 'lit'])`) and a later call could
  // see, and ~450 of them are property values (~470 properties, with Buffer): comparing all
  // built-ins after every call costs more than the call (~125 µs for one Object.assign over
  // the 651 built-in objects, measured). So each property holding
  // one becomes an accessor that gives the same value and, when read, records its function:
  // after that call, the functions read are compared with their state before any script code
  // touched them (the snapshot is taken at the first read, which is the first moment a script
  // can hold the function) and put back. A call that reads none costs nothing. Replacing the
  // method itself (`Math['fl' + 'oor'] = f`) goes through the setter and is undone after the call.
  var touchedFns = [];
  var deletesSeen = true;
  var symbolsSeen = true;
  var dirtyProps = [];
  var records = new Map();
  var markerGetters = new Set();
  var setAdd = Set.prototype.add;

  function recordOf(fn) {
    var rec = apply(mapGet, records, [fn]);
    if (rec === undefined) {
      rec = { fn: fn, t: false, s: undefined, ps: undefined, n: 0, ns: 0, quick: false };
      apply(mapSet, records, [fn, rec]);
    }
    return rec;
  }

  function touchFunction(rec) {
    rec.t = true;
    touchedFns[touchedFns.length] = rec;
    if (rec.s !== undefined) return;
    rec.s = snap(rec.fn);
    // An ordinary function's own `prototype` object (Buffer's and console's functions) is one
    // more object a script reaches from it.
    var pd = gopd(rec.fn, 'prototype');
    if (pd !== undefined && apply(hasOwn, pd, ['value']) && isObject(pd.value)) rec.ps = snap(pd.value);
    rec.n = keysOf(rec.fn).length;
    rec.ns = getOwnSymbols(rec.fn).length;
    // A function without writable own properties (every built-in C function: `name` and
    // `length` are read-only) can only change by an addition (enumerable: assignments make no
    // other kind), a deletion or its extensibility: two counts and a flag tell, without a key
    // list. Deletions need `delete` in the source (Reflect is a tripwire).
    var writable = false;
    for (var i = 0; i < rec.s.descs.length; i++) if (rec.s.descs[i].writable === true || rec.s.descs[i].set !== undefined) writable = true;
    rec.quick = !writable && rec.ps === undefined;
  }

  function methodMarker(o, key, d, rec) {
    var p = { orig: d.value, value: d.value, dirty: false };
    var writable = d.writable;
    var get = function () {
      if (!rec.t) touchFunction(rec);
      return p.value;
    };
    apply(setAdd, markerGetters, [get]);
    defineProperty(o, key, {
      get: get,
      set: function (v) {
        // Not writable, or the holder frozen: an assignment a fresh context refuses (silently in
        // sloppy code, which is what happens here); the codec then gets a fresh context per call.
        if (!writable || isFrozen(o)) {
          tripped = true;
          return;
        }
        if (this !== o) {
          assignThrough(o, key, this, v, undefined);
          return;
        }
        p.value = v;
        if (!p.dirty) {
          p.dirty = true;
          dirtyProps[dirtyProps.length] = p;
        }
      },
      enumerable: d.enumerable,
      configurable: true,
    });
  }

  /** 0/1/2 as `settle`, for a function a call read through a method marker. */
  function settleFunction(rec) {
    var f = rec.fn;
    // (Its prototype cannot change without a tripwire: setPrototypeOf, __proto__, Reflect.)
    if (rec.quick && !deletesSeen && isExtensible(f) === rec.s.ext && keysOf(f).length === rec.n && (!symbolsSeen || getOwnSymbols(f).length === rec.ns)) return 0;
    var verdict = 0;
    var list = rec.ps === undefined ? [rec.s] : [rec.s, rec.ps];
    for (var i = 0; i < list.length; i++) {
      if (same(list[i])) continue;
      if (!repair(list[i])) return 2;
      verdict = 1;
    }
    return verdict;
  }

  var IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

  /**
   * A watch over objects: `entries` [{o, all}] - every string-keyed property of `o` when `all`,
   * else only those the source names. `clean()` says whether each is as in its snapshot: key
   * count, prototype, extensibility, watched values (compiled once into one function of closure
   * variables and literal names, which QuickJS reads far faster than computed names or key
   * lists: ~0.1 µs per computed read, measured), and that watched accessors are still there (one
   * could only be deleted here: redefining it needs defineProperty). `full`: the snapshots, for
   * the repair.
   */
  function watcher(entries, named, symbols, batchFrom, deletes) {
    var objects = [];
    var batchStart = -1;
    var full = [];
    var pairCode = [];
    var pairValues = [];
    var hasCode = [];
    for (var e = 0; e < entries.length; e++) {
      if (e === batchFrom) batchStart = objects.length;
      var o = entries[e].o;
      var dup = false;
      for (var x = 0; x < objects.length; x++) if (objects[x] === o) dup = true;
      if (dup) continue;
      var index = objects.length;
      objects[index] = o;
      var sn = snap(o);
      full[index] = sn;
      for (var i = 0; i < sn.keys.length; i++) {
        var key = sn.keys[i];
        if (typeof key !== 'string') continue;
        // A source with `delete` can delete a built-in function's `name` or `length` under a
        // name built at run time: those are compared too, with the own-ness where a deleted
        // property would read the same through the prototype (a `length` of 0, a `name` of '').
        var nameOrLength = deletes && typeof o === 'function' && (key === 'name' || key === 'length');
        if (!entries[e].all && named[key] !== true && !nameOrLength) continue;
        var ref = apply(reTest, IDENT, [key]) ? 'o' + index + '.' + key : 'o' + index + '[' + stringify(key) + ']';
        if (!sn.data[i]) {
          // A method marker can only go by `delete` (redefining it needs a tripwire); a
          // replacement goes through its setter, which records it.
          if (!deletes && apply(setHas, markerGetters, [sn.getters[i]])) continue;
          hasCode[hasCode.length] = 'h(o' + index + ', ' + stringify(key) + ')';
          continue;
        }
        if (deletes && readsSameWhenDeleted(o, key, sn.values[i])) hasCode[hasCode.length] = 'h(o' + index + ', ' + stringify(key) + ')';
        var p = pairValues.length;
        pairValues[p] = sn.values[i];
        pairCode[p] = sn.values[i] !== sn.values[i] ? '(t = ' + ref + ', t !== t)' : ref + ' === v' + p;
      }
    }
    var protos = [];
    var exts = [];
    var counts = [];
    var symbolCounts = [];
    var params = [];
    var args = [];
    for (var m = 0; m < objects.length; m++) {
      protos[m] = getProto(objects[m]);
      exts[m] = isExtensible(objects[m]);
      counts[m] = keysOf(objects[m]).length;
      symbolCounts[m] = getOwnSymbols(objects[m]).length;
      params[params.length] = 'o' + m;
      args[args.length] = objects[m];
    }
    for (var b = 0; b < pairValues.length; b++) {
      params[params.length] = 'v' + b;
      args[args.length] = pairValues[b];
    }
    params[params.length] = 'h';
    args[args.length] = hasOwnCall;
    var body = apply(arrConcat, pairCode, [hasCode]);
    var valuesSame = apply(new FunctionCtor(apply(arrJoin, params, [', ']), 'return function () { var t; return ' + (body.length > 0 ? apply(arrJoin, body, [' && ']) : 'true') + '; };'), undefined, args);
    // From `batchStart` on (built-in functions, which have no enumerable own properties of their
    // own), additions are seen in one call: Object.assign copies every enumerable own property,
    // symbol-keyed ones too, of all of them into one new object, which must stay empty. That is
    // one C call instead of a key list per function.
    var end = batchStart < 0 ? objects.length : batchStart;
    var batch = [undefined];
    var batchEmpty = true;
    for (var bi = end; bi < objects.length; bi++) {
      batch[batch.length] = objects[bi];
      if (counts[bi] !== 0 || symbolCounts[bi] !== 0) batchEmpty = false;
    }
    if (!batchEmpty) end = objects.length;
    function clean() {
      for (var i = 0; i < end; i++) {
        var o = objects[i];
        if (getProto(o) !== protos[i] || isExtensible(o) !== exts[i] || keysOf(o).length !== counts[i]) return false;
        if (symbols && getOwnSymbols(o).length !== symbolCounts[i]) return false;
      }
      if (end < objects.length) {
        for (var j = end; j < objects.length; j++) if (isExtensible(objects[j]) !== exts[j] || getProto(objects[j]) !== protos[j]) return false;
        var into = create(null);
        batch[0] = into;
        apply(assign, undefined, batch);
        batch[0] = undefined;
        for (var k in into) return false;
        if (getOwnSymbols(into).length !== 0) return false;
      }
      return valuesSame();
    }
    return { full: full, clean: clean };
  }

  /** Whether `o[key]`, once deleted, would read `value` through o's prototypes (or a getter). */
  function readsSameWhenDeleted(o, key, value) {
    for (var p = getProto(o); p !== null; p = getProto(p)) {
      var d = gopd(p, key);
      if (d === undefined) continue;
      return !apply(hasOwn, d, ['value']) || sameValue(d.value, value);
    }
    return value === undefined;
  }

  /** 0 clean, 1 put back, 2 cannot be put back. */
  function settle(w) {
    if (w.clean()) return 0;
    for (var x = 0; x < w.full.length; x++) if (!same(w.full[x]) && !repair(w.full[x])) return 2;
    return w.clean() ? 1 : 2;
  }

  return function setup(namesJson) {
    var names = parse(namesJson);
    var named = create(null);
    for (var n = 0; n < names.length; n++) named[names[n]] = true;
    // Symbol keys reach a script through Symbol, a Proxy's traps or getOwnPropertySymbols
    // (a tripwire where unnamed; Reflect.ownKeys and getOwnPropertyDescriptors are tripwires).
    var symbols = named['Symbol'] === true || named['Proxy'] === true || named['getOwnPropertySymbols'] === true;
    var deletes = named['delete'] === true;
    deletesSeen = deletes;
    symbolsSeen = symbols;

    // The tripwires and markers, before any snapshot (the snapshots hold them).
    var all = intrinsics();
    var functionKinds = [FunctionCtor, getProto(function* () {}).constructor, getProto(async function () {}).constructor, getProto(async function* () {}).constructor];
    var keepCtor = typeof G.Buffer === 'function' ? G.Buffer.prototype : undefined;
    var groups = [];
    for (var i = 0; i < all.length; i++) {
      var o = all[i];
      if (o === keepCtor) continue;
      var d = gopd(o, 'constructor');
      if (d === undefined || !d.configurable) continue;
      // An accessor `constructor` (Iterator.prototype's) leads to a constructor no marker watches.
      if (!apply(hasOwn, d, ['value'])) {
        tripwire(o, 'constructor');
        continue;
      }
      var c = d.value;
      var cp = typeof c === 'function' ? gopd(c, 'prototype') : undefined;
      var kind = false;
      for (var f = 0; f < functionKinds.length; f++) if (functionKinds[f] === c) kind = true;
      if (kind || cp === undefined || !isObject(cp.value)) {
        tripwire(o, 'constructor');
      } else {
        var group = { ctor: c, proto: cp.value, touched: false, watch: undefined };
        groups[groups.length] = group;
        marker(o, group);
      }
    }
    for (var h = 0; h < HARD_OBJECT.length; h++) tripwire(Object, HARD_OBJECT[h]);
    if (named['getOwnPropertySymbols'] !== true) tripwire(Object, 'getOwnPropertySymbols');
    for (var q = 0; q < HARD_OBJECT_PROTO.length; q++) tripwire(Object.prototype, HARD_OBJECT_PROTO[q]);
    for (var r = 0; r < HARD_GLOBALS.length; r++) tripwire(G, HARD_GLOBALS[r]);

    // What is watched after every call: the global object (under the names the source
    // contains: it is reachable only under literal names now), each global the script names
    // that is an object or function, and the `prototype` object of each such constructor
    // (`Array['proto' + 'type']` reaches it without the word) - those with every property, as a
    // name built at run time can replace any of them (`Math['fl' + 'oor'] = …`). With `Symbol`
    // named, symbol-keyed additions are counted too, and Array.prototype[Symbol.unscopables]
    // (an object reachable from any array) is watched.
    var entries = [{ o: G, all: false }];
    var globals = snap(G);
    for (var k = 0; k < globals.keys.length; k++) {
      var value = globals.values[k];
      if (!globals.data[k] || named[globals.keys[k]] !== true || !isObject(value) || value === G) continue;
      entries[entries.length] = { o: value, all: true };
      var pd = typeof value === 'function' ? gopd(value, 'prototype') : undefined;
      if (pd !== undefined && apply(hasOwn, pd, ['value']) && isObject(pd.value)) entries[entries.length] = { o: pd.value, all: true };
    }
    if (symbols) entries[entries.length] = { o: Array.prototype[Symbol.unscopables], all: true };
    // Built-in functions reached as values under a name the source contains: methods of the
    // objects above and of the prototypes every literal reaches (`[].push.x = 1`,
    // `Math.max.cache = {}`, `''.split.y = 2`): their key count and extensibility (and any
    // property of theirs the source names).
    // Date.prototype: every script gets a Date (`recvTime`). The prototype chains of the named
    // globals: `Uint8Array` names its methods on %TypedArray%.prototype (`subarray`, `set`).
    var holders = [Object.prototype, FunctionCtor.prototype, Array.prototype, String.prototype, Number.prototype, Boolean.prototype, RegExp.prototype, Symbol.prototype, Promise.prototype, Error.prototype, Date.prototype];
    for (var e = 1; e < entries.length; e++) {
      for (var ho = entries[e].o; ho !== null && ho !== Object.prototype && ho !== FunctionCtor.prototype; ho = getProto(ho)) holders[holders.length] = ho;
    }
    var methods = [];
    for (var hi = 0; hi < holders.length; hi++) {
      var hk = ownKeys(holders[hi]);
      for (var ki = 0; ki < hk.length; ki++) {
        if (typeof hk[ki] !== 'string' || named[hk[ki]] !== true) continue;
        var md = gopd(holders[hi], hk[ki]);
        if (md !== undefined && apply(hasOwn, md, ['value']) && typeof md.value === 'function') methods[methods.length] = { o: md.value, all: false };
      }
    }
    // Every other built-in function, reached as a property value (`[]['pu' + 'sh']`,
    // `Math['fl' + 'oor']`, `input.recvTime['get' + 'Time']`, a symbol-keyed method, Buffer's
    // and console's functions): a method marker (below), so that a call which reads it gets it
    // checked after that call. A function under a key that cannot be redefined is watched after
    // every call instead.
    var holderSet = new Set(holders);
    for (var ai = 0; ai < all.length; ai++) {
      var hobj = all[ai];
      if (hobj === G) continue;
      var ak = ownKeys(hobj);
      for (var aj = 0; aj < ak.length; aj++) {
        var key = ak[aj];
        if (key === 'constructor' || (typeof key === 'string' && named[key] === true && apply(setHas, holderSet, [hobj]))) continue;
        var ad = gopd(hobj, key);
        if (ad === undefined || !apply(hasOwn, ad, ['value']) || typeof ad.value !== 'function') continue;
        if (!ad.configurable) methods[methods.length] = { o: ad.value, all: false };
        else methodMarker(hobj, key, ad, recordOf(ad.value));
      }
    }
    var main = watcher(apply(arrConcat, entries, [methods]), named, symbols, entries.length, deletes);
    // A marked constructor's snapshot is taken now; its compiled check when it is first needed.
    for (var g = 0; g < groups.length; g++) groups[g].snaps = [snap(groups[g].ctor), snap(groups[g].proto)];

    /** 0/1/2 as `settle`, for a marked constructor and its prototype. */
    function settleGroup(group) {
      if (group.watch !== undefined) return settle(group.watch);
      // First time: compared with the snapshots of setup in full (the compiled check is built
      // from the objects as they are, so only once they are as in the snapshots).
      var verdict = 0;
      for (var x = 0; x < group.snaps.length; x++) {
        if (same(group.snaps[x])) continue;
        if (!repair(group.snaps[x])) return 2;
        verdict = 1;
      }
      var w = watcher([{ o: group.ctor, all: true }, { o: group.proto, all: true }], named, symbols, -1, deletes);
      w.full = group.snaps;
      group.watch = w;
      return verdict;
    }

    return function check() {
      var verdict = 0;
      if (!tripped) {
        try {
          verdict = settle(main);
          for (var t = 0; t < touched.length && verdict !== 2; t++) {
            var v = settleGroup(touched[t]);
            if (v > verdict) verdict = v;
          }
          for (var f = 0; f < touchedFns.length && verdict !== 2; f++) {
            var fv = settleFunction(touchedFns[f]);
            if (fv > verdict) verdict = fv;
          }
          for (var r = 0; r < dirtyProps.length; r++) {
            dirtyProps[r].value = dirtyProps[r].orig;
            verdict = verdict > 1 ? verdict : 1;
          }
        } catch {
          verdict = 2;
        }
      }
      for (var u = 0; u < touched.length; u++) touched[u].touched = false;
      touched.length = 0;
      for (var w = 0; w < touchedFns.length; w++) touchedFns[w].t = false;
      touchedFns.length = 0;
      for (var x = 0; x < dirtyProps.length; x++) dirtyProps[x].dirty = false;
      dirtyProps.length = 0;
      if (tripped) return 3;
      return verdict;
    };
  };
})();
