// Evaluated INSIDE QuickJS, only in a reused context (engine-worker.mjs), after the bridge and
// Buffer and before the script's code has ever run. It evaluates to `setup(namesJson)`, which
// takes a snapshot of what a call could change and the wrapper cannot make fresh, and returns
// `check()`, called after every call:
//   - the global object: every own key, in order, with its value (data) or getter/setter
//     (accessor), its prototype and extensibility: implicit globals (`x = 1` without a
//     declaration), `this.x = …` (sloppy functions called plainly), a replaced `console`;
//   - every global object or function whose name occurs in the script's source (`Math`,
//     `JSON`, `Object`, `console`, `Buffer`, `parseInt`…): the same, so `Math.round10 = …` or
//     `var m = Math; m.max = …` is seen.
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
  var parse = JSON.parse;

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
  // like, which send a script to a fresh context) could turn it into a getter.
  function same(s) {
    var o = s.o;
    if (getProto(o) !== s.proto || isExtensible(o) !== s.ext) return false;
    var keys = ownKeys(o);
    var was = s.keys;
    if (keys.length !== was.length) return false;
    for (var i = 0; i < keys.length; i++) {
      if (keys[i] !== was[i]) return false;
      if (s.data[i]) {
        if (!sameValue(o[keys[i]], s.values[i])) return false;
      } else {
        var d = gopd(o, keys[i]);
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
    var watched = [snap(G)];
    var globals = watched[0];
    for (var k = 0; k < globals.keys.length; k++) {
      var v = globals.values[k];
      if (globals.data[k] && named[globals.keys[k]] === true && v !== null && (typeof v === 'object' || typeof v === 'function') && v !== G) {
        watched[watched.length] = snap(v);
      }
    }

    return function check() {
      try {
        var clean = true;
        for (var w = 0; w < watched.length && clean; w++) clean = same(watched[w]);
        if (clean) return 0;
        for (var x = 0; x < watched.length; x++) {
          if (!same(watched[x]) && !repair(watched[x])) return 2;
        }
        return 1;
      } catch {
        return 2;
      }
    };
  };
})();
