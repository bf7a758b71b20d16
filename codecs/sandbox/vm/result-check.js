// The slow path of the bridge (prelude.js), evaluated INSIDE QuickJS only when a result holds
// NaN/±Infinity or cannot be serialized (a cycle, a BigInt, nesting too deep): it says what and
// where, e.g. `result contains a non-finite number at data.nested.list[2] (Infinity)`.
// It runs after the script, so it uses only the built-ins the prelude captured before it
// (`intrinsics`), never ones the script could have replaced. Evaluates to
// `(intrinsics, maxDepth) => (result) => problem` ('' when it finds none).
/* eslint-disable-next-line @typescript-eslint/no-unused-expressions -- the file is evaluated for its value, inside QuickJS */
(function (intrinsics, maxDepth) {
  'use strict';
  var objectKeys = intrinsics.objectKeys;
  var isArray = intrinsics.isArray;
  var apply = intrinsics.apply;
  var strReplace = intrinsics.strReplace;

  function primitiveProblem(v, t) {
    if (t === 'number') return v - v === 0 ? '' : 'result contains a non-finite number at {} (' + v + ')';
    if (t === 'bigint') return 'result contains a BigInt at {} (not representable in JSON)';
    return '';
  }

  // Returns '' when fine, else the problem with '{}' for the path; `where` receives the path
  // (innermost key first). Objects with toJSON (Date) are serialized by JSON itself.
  function check(value, depth, ancestors, where) {
    if (typeof value.toJSON === 'function') return '';
    for (var a = 0; a < depth; a++) {
      if (ancestors[a] === value) return 'result is cyclic at {}';
    }
    if (depth >= maxDepth) return 'result is nested deeper than ' + maxDepth + ' levels at {}';
    ancestors[depth] = value;
    var arr = isArray(value);
    var keys = arr ? null : objectKeys(value);
    var n = arr ? value.length : keys.length;
    for (var i = 0; i < n; i++) {
      var child = arr ? value[i] : value[keys[i]];
      var t = typeof child;
      var bad = '';
      if (t === 'object' && child !== null) bad = check(child, depth + 1, ancestors, where);
      else if (t === 'number' || t === 'bigint') bad = primitiveProblem(child, t);
      if (bad !== '') {
        where[where.length] = arr ? '[' + i + ']' : depth === 0 ? keys[i] : '.' + keys[i];
        return bad;
      }
    }
    return '';
  }

  return function problemOf(result) {
    var where = [];
    var bad = check(result, 0, [], where);
    if (bad === '') return '';
    var path = '';
    for (var i = where.length - 1; i >= 0; i--) path += where[i];
    return apply(strReplace, bad, ['{}', path]);
  };
});
