// The bridge between the sandbox host and a codec script. This file is evaluated INSIDE QuickJS,
// in every fresh context, before the codec script, so it captures the built-ins it relies on
// while they are still pristine. It evaluates to the function `setup(configJson)`, which returns
// `{bind, bindLive, reload, takeLogs, check}`; the worker keeps handles to those. Nothing of this is reachable from
// the script except the `console` object it installs.
//
// Every call gets a context of its own (engine-worker.mjs), so this is parsed once per call:
// it is kept small. The rare slow path - saying where a result holds NaN, a cycle or a BigInt -
// lives in result-check.js and is evaluated only when a result needs it (`check`).
//
// Protocol: a bound caller takes the input as a JSON string and returns a string
//   <status><logs><reserved><payload>
// status: R = ok (payload is the result JSON), T = the script threw (payload describes it),
//         E = the result is unusable (payload says why), M = out of memory, S = stack overflow,
//         C = the result needs the slow check: the worker calls `check(source of result-check.js)`,
//             which answers with the same protocol;
// logs:   '+' when console output was captured during the call, '-' otherwise; reserved: '.'.
// The result is checked after the script ran in this context, where it may have replaced any
// built-in (`String.prototype.indexOf`, `Array.prototype.join`…): the bridge calls only
// functions captured here, through `apply`.
(function () {
  'use strict';
  var G = globalThis;
  var parse = JSON.parse;
  var stringify = JSON.stringify;
  var isArray = Array.isArray;
  var getPrototypeOf = Object.getPrototypeOf;
  var defineProperty = Object.defineProperty;
  var apply = Reflect.apply;
  var evalGlobal = G.eval;
  var StringOf = String;
  var DateCtor = Date;
  var strSlice = String.prototype.slice;
  var arrJoin = Array.prototype.join;
  var intrinsics = { objectKeys: Object.keys, isArray: isArray, apply: apply, strReplace: String.prototype.replace, stringify: stringify };
  var InternalErrorProto = typeof G.InternalError === 'function' ? G.InternalError.prototype : undefined;
  var SyntaxErrorProto = SyntaxError.prototype;

  return function setup(configJson) {
    var config = parse(configJson);
    var logs = [];
    var logChars = 0;
    var logDropped = 0;
    var pending;

    function clip(text, max) {
      return text.length > max ? apply(strSlice, text, [0, max]) + '\u2026' : text;
    }

    function describe(e) {
      try {
        if (e !== null && typeof e === 'object') {
          if (typeof e.message === 'string') return clip((typeof e.name === 'string' && e.name !== '' ? e.name + ': ' : '') + e.message, 1000);
          var json = stringify(e);
          if (json !== undefined) return clip(json, 1000);
        }
        return clip(StringOf(e), 1000);
      } catch {
        return 'a value that cannot be described';
      }
    }

    function show(value) {
      var t = typeof value;
      if (t === 'string') return value;
      if (t === 'function') return '[Function ' + (value.name || 'anonymous') + ']';
      if (t === 'symbol') return StringOf(value);
      if (value === null || t !== 'object') return StringOf(value);
      return describe(value);
    }

    function logger(level) {
      return function () {
        if (logs.length >= config.maxLogLines || logChars >= config.maxLogChars) {
          logDropped++;
          return;
        }
        var parts = [];
        for (var i = 0; i < arguments.length; i++) parts[i] = show(arguments[i]);
        var line = clip((level === 'log' ? '' : level + ': ') + apply(arrJoin, parts, [' ']), config.maxLogChars - logChars);
        logs[logs.length] = line;
        logChars += line.length;
      };
    }

    var levels = ['log', 'info', 'warn', 'error', 'debug', 'trace'];
    var con = {};
    for (var l = 0; l < levels.length; l++) con[levels[l]] = logger(levels[l]);
    defineProperty(G, 'console', { value: con, writable: true, configurable: true, enumerable: false });

    function takeLogs() {
      var out = logs;
      if (logDropped > 0) out[out.length] = '\u2026 ' + logDropped + ' more console line(s) dropped';
      return stringify(out);
    }

    function fatalCode(e) {
      if (e === null || typeof e !== 'object') return '';
      var proto = getPrototypeOf(e);
      if (InternalErrorProto !== undefined && proto === InternalErrorProto) {
        if (e.message === 'out of memory') return 'M';
        if (e.message === 'stack overflow') return 'S';
      }
      if (proto === SyntaxErrorProto && e.message === 'stack overflow') return 'S';
      return '';
    }

    function status(code, payload) {
      return code + (logs.length > 0 || logDropped > 0 ? '+' : '-') + '.' + payload;
    }

    // The Things Stack exports a script's result value by value: a property whose value is
    // `undefined` arrives as `null` (its key kept), where JSON.stringify would drop it; functions
    // and symbols still disappear. NaN and ±Infinity, which JSON would quietly turn into null,
    // send the result to the slow check, which says where they are.
    var nonFinite = false;
    function replacer(key, value) {
      if (value === undefined) return null;
      if (typeof value === 'number' && value - value !== 0) nonFinite = true;
      return value;
    }

    function kindOf(v) {
      return v === null ? 'null' : isArray(v) ? 'array' : typeof v;
    }

    function finish(result) {
      if (result === null || typeof result !== 'object' || isArray(result)) return status('E', 'result is not an object (got ' + kindOf(result) + ')');
      if (typeof result.then === 'function') return status('E', 'result is a Promise: async codec functions are not supported');
      var json;
      nonFinite = false;
      try {
        json = stringify(result, replacer);
      } catch (e) {
        var fatal = fatalCode(e);
        if (fatal !== '') return status(fatal, '');
        // A cycle, a BigInt, or nesting too deep for the stack: the slow check says where.
        pending = { result: result, error: describe(e) };
        return status('C', '');
      }
      if (nonFinite) {
        pending = { result: result, error: '' };
        return status('C', '');
      }
      if (json.length > config.maxResultBytes) return status('E', 'result exceeds ' + config.maxResultLabel);
      return status('R', json);
    }

    function check(source) {
      var p = pending;
      pending = undefined;
      if (p === undefined) return status('E', 'result cannot be serialized');
      try {
        var problem = evalGlobal(source)(intrinsics, config.maxDepth)(p.result);
        if (problem !== '') return status('E', problem);
      } catch (e) {
        var fatal = fatalCode(e);
        if (fatal !== '') return status(fatal, '');
      }
      return status('E', 'result cannot be serialized' + (p.error !== '' ? ': ' + p.error : ''));
    }

    function threw(e) {
      var code = fatalCode(e);
      return code !== '' ? status(code, '') : status('T', describe(e));
    }

    function end(result) {
      try {
        return finish(result);
      } catch (e) {
        var fatal = fatalCode(e);
        return fatal !== '' ? status(fatal, '') : status('E', 'result cannot be serialized: ' + describe(e));
      }
    }

    function toInput(json) {
      var input = parse(json);
      if (typeof input.recvTime === 'string') input.recvTime = new DateCtor(input.recvTime);
      return input;
    }

    // The call adapters of each style: TS013 and the legacy TTN v2 / ChirpStack v3 functions.
    var adapters = {
      ts013: function (a, b, c, input) {
        return a(input);
      },
      'v2-decode': function (a, b, c, input) {
        var decoded = a(input.bytes, input.fPort);
        if (typeof b === 'function') decoded = b(decoded, input.fPort);
        if (typeof c === 'function' && !c(decoded, input.fPort)) return { errors: ["the script's Validator rejected the decoded payload"] };
        return { data: decoded };
      },
      'v2-encode': function (a, b, c, input) {
        return { bytes: a(input.data, input.fPort), fPort: input.fPort };
      },
      'v3-decode': function (a, b, c, input) {
        return { data: a(input.fPort, input.bytes, input.variables) };
      },
      'v3-encode': function (a, b, c, input) {
        return { bytes: a(input.fPort, input.data, input.variables), fPort: input.fPort };
      },
    };

    // What the top-level code logged while the context was prepared is not the call's.
    function forgetLogs() {
      if (logs.length !== 0 || logDropped !== 0) {
        logs = [];
        logChars = 0;
        logDropped = 0;
      }
    }

    // One caller per codec operation, bound to the script's functions.
    function bind(kind, a, b, c) {
      var adapter = adapters[kind];
      if (adapter === undefined) throw new Error('unknown caller kind ' + kind);
      return function (json) {
        var result;
        forgetLogs();
        try {
          result = adapter(a, b, c, toInput(json));
        } catch (e) {
          return threw(e);
        }
        return end(result);
      };
    }

    // A reused context (engine-worker.mjs) runs the script's top-level code again for every
    // call, inside a wrapper function that returns the script's functions: `reload(loader)` does
    // that, and `bindLive` makes a caller that uses what the latest reload returned.
    var live;
    function reload(loader) {
      live = undefined;
      try {
        live = loader();
      } catch (e) {
        return threw(e);
      }
      return status('R', '');
    }

    function bindLive(kind, na, nb, nc) {
      var adapter = adapters[kind];
      if (adapter === undefined) throw new Error('unknown caller kind ' + kind);
      return function (json) {
        var entries = live;
        live = undefined;
        if (entries === undefined) return status('E', 'the script was not loaded for this call');
        var a = entries[na];
        if (typeof a !== 'function') return status('E', 'script defines no ' + na);
        var result;
        forgetLogs();
        try {
          result = adapter(a, nb === '' ? undefined : entries[nb], nc === '' ? undefined : entries[nc], toInput(json));
        } catch (e) {
          return threw(e);
        }
        return end(result);
      };
    }

    function seal() {}

    return { bind: bind, bindLive: bindLive, reload: reload, takeLogs: takeLogs, seal: seal, check: check };
  };
})();
