// Evaluated INSIDE QuickJS, only in a reused context (engine-worker.mjs), after the bridge and
// Buffer and before the script's code has ever run. It evaluates to `setup(namesJson)`, which
// takes a snapshot of what a call could change and the wrapper cannot make fresh, and returns
// `check()`, called after every call. `namesJson`: the words of the script's source.
//
// What a call can change without naming the global object, a prototype or a property
// definition (those scripts get a fresh context per call, reuse-scan.mjs): the global object
// (implicit globals `x = 1`, a replaced or deleted global the script names), and the globals
// the script names that are objects or functions (`Math.round10 = …`, `var m = Math;
// m.max = …`, `console.log = …`, `Object.freeze(JSON)`). An assignment always creates an
// enumerable property (only a property definition makes another), and replacing or deleting
// one means naming it, so the check after each call is cheap: the count of enumerable own keys,
// prototype and extensibility of each of those objects, and the value of every property the
// script names on them (compiled once into one function with the names as literals: QuickJS
// reads a literal name far faster than a computed one, and far faster than it lists an
// object's own keys). Only when that sees a change is every own property of those objects
// compared with the snapshot and put back. Not seen: an existing property replaced under a
// name the source does not contain (computed at run time, `Math[input.name] = …`).
//
// `check()` answers 0 when everything is as it was, 1 when it put back what changed (keys added
// by the call deleted, changed or deleted properties defined again as they were, and the result
// verified), 2 when it cannot (a prototype or extensibility changed, a key cannot be deleted,
// the order of keys differs after the repair): the sandbox then gives up the reused context.
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
  var parse = JSON.parse;
  var stringify = JSON.stringify;
  var FunctionCtor = Function;

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

  return function setup(namesJson) {
    var names = parse(namesJson);
    var named = create(null);
    for (var n = 0; n < names.length; n++) named[names[n]] = true;
    // The objects watched (the global object first), their snapshots for the repair, and the
    // (object, name) pairs whose values the fast check compares: the data properties whose
    // names occur in the source. (All of them would cost ~0.1 µs each per call: 10 µs for the
    // global object, 5 µs for Math, measured.)
    var objects = [G];
    var full = [snap(G)];
    var pairValues = [];
    var pairCode = [];
    function watchNamed(index, s) {
      for (var i = 0; i < s.keys.length; i++) {
        var key = s.keys[i];
        if (typeof key !== 'string' || named[key] !== true || !s.data[i]) continue;
        var p = pairValues.length;
        pairValues[p] = s.values[i];
        pairCode[p] = '((t = o[' + index + '][' + stringify(key) + ']) === v[' + p + '] || (t !== t && v[' + p + '] !== v[' + p + ']))';
      }
    }
    var globals = full[0];
    watchNamed(0, globals);
    for (var k = 0; k < globals.keys.length; k++) {
      var value = globals.values[k];
      if (globals.data[k] && named[globals.keys[k]] === true && value !== null && (typeof value === 'object' || typeof value === 'function') && value !== G) {
        var index = objects.length;
        objects[index] = value;
        full[index] = snap(value);
        watchNamed(index, full[index]);
      }
    }
    var protos = [];
    var exts = [];
    var counts = [];
    for (var m = 0; m < objects.length; m++) {
      protos[m] = getProto(objects[m]);
      exts[m] = isExtensible(objects[m]);
      counts[m] = keysOf(objects[m]).length;
    }
    var pairsSame = new FunctionCtor('o', 'v', 'var t; return ' + (pairCode.length > 0 ? pairCode.join(' && ') : 'true') + ';');

    function clean() {
      for (var i = 0; i < objects.length; i++) {
        var o = objects[i];
        if (getProto(o) !== protos[i] || isExtensible(o) !== exts[i] || keysOf(o).length !== counts[i]) return false;
      }
      return pairsSame(objects, pairValues);
    }

    return function check() {
      try {
        if (clean()) return 0;
        for (var x = 0; x < full.length; x++) {
          if (!same(full[x]) && !repair(full[x])) return 2;
        }
        return clean() ? 1 : 2;
      } catch {
        return 2;
      }
    };
  };
})();
