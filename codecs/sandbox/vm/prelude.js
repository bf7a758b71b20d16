// The bridge between the sandbox host and a codec script. This file is evaluated INSIDE QuickJS,
// in every fresh context, before the codec script, so it captures the built-ins it relies on
// while they are still pristine. It evaluates to the function `setup(configJson)`, which returns
// `{bind, takeLogs}`; the worker keeps handles to those two functions. Nothing of this is
// reachable from the script except the `console` object it installs.
//
// Protocol: a bound caller takes the input as a JSON string and returns a string
//   <status><logs><reserved><payload>
// status: R = ok (payload is the result JSON), T = the script threw (payload describes it),
//         E = the result is unusable (payload says why), M = out of memory, S = stack overflow;
// logs:   '+' when console output was captured during the call, '-' otherwise;
// third:  always '.' (kept so the protocol's offsets stay put).
// A context serves one call only (engine-worker.mjs), so nothing here has to undo what a call
// did. But the call's own result is checked after the script ran in the same context, where it
// may have replaced any built-in (`String.prototype.indexOf`, `Array.prototype.join`…): the
// checks below call only functions captured here, before the script, through `apply`.
(function () {
  'use strict';
  var G = globalThis;
  var parse = JSON.parse;
  var stringify = JSON.stringify;
  var objectKeys = Object.keys;
  var isArray = Array.isArray;
  var getPrototypeOf = Object.getPrototypeOf;
  var defineProperty = Object.defineProperty;
  var StringOf = String;
  var apply = Reflect.apply;
  var strIndexOf = String.prototype.indexOf;
  var strSlice = String.prototype.slice;
  var strReplace = String.prototype.replace;
  var arrJoin = Array.prototype.join;
  var DateCtor = Date;
  var InternalErrorProto = typeof G.InternalError === 'function' ? G.InternalError.prototype : undefined;
  var SyntaxErrorProto = SyntaxError.prototype;

  return function setup(configJson) {
    var config = parse(configJson);
    var maxDepth = config.maxDepth;
    var maxResultChars = config.maxResultBytes;
    var maxResultLabel = config.maxResultLabel;
    var maxLogLines = config.maxLogLines;
    var maxLogChars = config.maxLogChars;

    var logs = [];
    var logChars = 0;
    var logDropped = 0;

    function clip(text, max) {
      return text.length > max ? apply(strSlice, text, [0, max]) + '…' : text;
    }

    function show(value) {
      var t = typeof value;
      if (t === 'string') return value;
      if (t === 'function') return '[Function ' + (value.name || 'anonymous') + ']';
      if (t === 'symbol') return value.toString();
      if (value === null || t !== 'object') return StringOf(value);
      try {
        if (typeof value.message === 'string' && typeof value.name === 'string') return value.name + ': ' + value.message;
        var json = stringify(value);
        return json === undefined ? StringOf(value) : json;
      } catch {
        return '[object]';
      }
    }

    function logger(level) {
      return function () {
        if (logs.length >= maxLogLines || logChars >= maxLogChars) {
          logDropped++;
          return;
        }
        var parts = [];
        for (var i = 0; i < arguments.length; i++) parts[i] = show(arguments[i]);
        var line = clip((level === 'log' ? '' : level + ': ') + apply(arrJoin, parts, [' ']), maxLogChars - logChars);
        logs[logs.length] = line;
        logChars += line.length;
      };
    }

    defineProperty(G, 'console', {
      value: {
        log: logger('log'),
        info: logger('info'),
        warn: logger('warn'),
        error: logger('error'),
        debug: logger('debug'),
        trace: logger('trace'),
      },
      writable: true,
      configurable: true,
      enumerable: false,
    });

    function takeLogs() {
      var out = logs;
      if (logDropped > 0) out[out.length] = '… ' + logDropped + ' more console line(s) dropped';
      logs = [];
      logChars = 0;
      logDropped = 0;
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

    function describe(e) {
      try {
        if (e !== null && typeof e === 'object') {
          var message = e.message;
          var name = e.name;
          if (typeof message === 'string') {
            return clip((typeof name === 'string' && name !== '' ? name + ': ' : '') + message, 1000);
          }
          var json = stringify(e);
          if (json !== undefined) return clip(json, 1000);
        }
        return clip(StringOf(e), 1000);
      } catch {
        return 'a value that cannot be described';
      }
    }

    function kindOf(v) {
      if (v === null) return 'null';
      if (isArray(v)) return 'array';
      return typeof v;
    }

    // The checks JSON.stringify would not make: it silently turns NaN/Infinity into null and
    // throws on cycles without saying where. Objects with toJSON (Date) are serialized by it.
    // Returns '' when fine, else the problem with '{}' for the path; `where` receives the path
    // (innermost key first), so the common case builds no strings. Primitives are checked
    // inline: function calls are what costs in an interpreter.
    function primitiveProblem(v, t) {
      if (t === 'number') return v - v === 0 ? '' : 'result contains a non-finite number at {} (' + v + ')';
      if (t === 'bigint') return 'result contains a BigInt at {} (not representable in JSON)';
      return '';
    }

    function check(value, depth, ancestors, where) {
      if (typeof value.toJSON === 'function') return '';
      for (var a = 0; a < depth; a++) {
        if (ancestors[a] === value) return 'result is cyclic at {}';
      }
      if (depth >= maxDepth) return 'result is nested deeper than ' + maxDepth + ' levels at {}';
      ancestors[depth] = value;
      var bad = '';
      var child;
      var t;
      if (isArray(value)) {
        for (var i = 0; i < value.length; i++) {
          child = value[i];
          t = typeof child;
          if (t === 'object' && child !== null) bad = check(child, depth + 1, ancestors, where);
          else if ((t === 'number' && child - child !== 0) || t === 'bigint') bad = primitiveProblem(child, t);
          if (bad !== '') {
            where[where.length] = '[' + i + ']';
            return bad;
          }
        }
      } else {
        var keys = objectKeys(value);
        for (var k = 0; k < keys.length; k++) {
          child = value[keys[k]];
          t = typeof child;
          if (t === 'object' && child !== null) bad = check(child, depth + 1, ancestors, where);
          else if ((t === 'number' && child - child !== 0) || t === 'bigint') bad = primitiveProblem(child, t);
          if (bad !== '') {
            where[where.length] = depth === 0 ? keys[k] : '.' + keys[k];
            return bad;
          }
        }
      }
      return '';
    }

    function problemOf(result) {
      var where = [];
      var bad = check(result, 0, [], where);
      if (bad === '') return '';
      var path = '';
      for (var i = where.length - 1; i >= 0; i--) path += where[i];
      return apply(strReplace, bad, ['{}', path]);
    }

    function status(code, payload) {
      return code + (logs.length > 0 || logDropped > 0 ? '+' : '-') + '.' + payload;
    }

    // The Things Stack exports a script's result from its VM value by value: a property whose
    // value is `undefined` arrives as `null` (its key kept), where JSON.stringify would drop it.
    // The replacer does what TTS does; functions and symbols still disappear.
    function undefinedAsNull(key, value) {
      return value === undefined ? null : value;
    }

    function finish(result) {
      if (result === null || typeof result !== 'object' || isArray(result)) {
        return status('E', 'result is not an object (got ' + kindOf(result) + ')');
      }
      if (typeof result.then === 'function') {
        return status('E', 'result is a Promise: async codec functions are not supported');
      }
      var json;
      try {
        json = stringify(result, undefinedAsNull);
      } catch (e) {
        // A cycle, a BigInt or nesting too deep for the stack: say where.
        var where = problemOf(result);
        if (where !== '') return status('E', where);
        var fatal = fatalCode(e);
        return fatal !== '' ? status(fatal, '') : status('E', 'result cannot be serialized: ' + describe(e));
      }
      // NaN and Infinity serialize as null: only when there is a null can there be one, so the
      // common result is never walked.
      if (apply(strIndexOf, json, ['null']) >= 0) {
        var bad = problemOf(result);
        if (bad !== '') return status('E', bad);
      }
      if (json.length > maxResultChars) return status('E', 'result exceeds ' + maxResultLabel);
      return status('R', json);
    }

    // Per call: reset the console capture (only when the last call used it), call, check.
    // Written without a closure per call: allocations are what costs in an interpreter.
    function begin() {
      if (logs.length !== 0 || logDropped !== 0) {
        logs = [];
        logChars = 0;
        logDropped = 0;
      }
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

    // One caller per codec operation, bound to the script's functions once per context.
    function bind(kind, a, b, c) {
      if (kind === 'ts013') {
        return function (json) {
          var result;
          begin();
          try {
            result = a(toInput(json));
          } catch (e) {
            return threw(e);
          }
          return end(result);
        };
      }
      if (kind === 'v2-decode') {
        return function (json) {
          var result;
          begin();
          try {
            var input = toInput(json);
            var decoded = a(input.bytes, input.fPort);
            if (typeof b === 'function') decoded = b(decoded, input.fPort);
            if (typeof c === 'function' && !c(decoded, input.fPort)) {
              result = { errors: ["the script's Validator rejected the decoded payload"] };
            } else {
              result = { data: decoded };
            }
          } catch (e) {
            return threw(e);
          }
          return end(result);
        };
      }
      if (kind === 'v2-encode') {
        return function (json) {
          var result;
          begin();
          try {
            var input = toInput(json);
            result = { bytes: a(input.data, input.fPort), fPort: input.fPort };
          } catch (e) {
            return threw(e);
          }
          return end(result);
        };
      }
      if (kind === 'v3-decode') {
        return function (json) {
          var result;
          begin();
          try {
            var input = toInput(json);
            result = { data: a(input.fPort, input.bytes, input.variables) };
          } catch (e) {
            return threw(e);
          }
          return end(result);
        };
      }
      if (kind === 'v3-encode') {
        return function (json) {
          var result;
          begin();
          try {
            var input = toInput(json);
            result = { bytes: a(input.fPort, input.data, input.variables), fPort: input.fPort };
          } catch (e) {
            return threw(e);
          }
          return end(result);
        };
      }
      throw new Error('unknown caller kind ' + kind);
    }

    // Kept for the worker, which calls it once the script is loaded: nothing to record now.
    function seal() {}

    return { bind: bind, takeLogs: takeLogs, seal: seal };
  };
})();
