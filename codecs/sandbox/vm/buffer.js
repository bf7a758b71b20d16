// A minimal Node-style `Buffer` for ChirpStack-style codec scripts, evaluated INSIDE QuickJS.
// ChirpStack v4 puts a `Buffer` in scope of every codec; scripts written for it call
// `Buffer.from(bytes)`, `readUInt16BE`, `readFloatLE`, `toString('hex')` and the like. This is
// our own small implementation of that surface on top of Uint8Array/DataView (see README.md for
// the list); it is installed only for ChirpStack-style scripts and scripts that mention `Buffer`.
(function () {
  'use strict';
  var HEX = '0123456789abcdef';
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var B64_LOOKUP = {};
  for (var i = 0; i < B64.length; i++) B64_LOOKUP[B64.charAt(i)] = i;
  B64_LOOKUP['-'] = 62;
  B64_LOOKUP['_'] = 63;

  function encodingOf(enc) {
    var e = enc === undefined || enc === null ? 'utf8' : String(enc).toLowerCase();
    if (e === 'utf-8') return 'utf8';
    if (e === 'binary') return 'latin1';
    if (e === 'utf8' || e === 'hex' || e === 'base64' || e === 'base64url' || e === 'ascii' || e === 'latin1') return e;
    throw new TypeError('Unknown encoding: ' + enc);
  }

  function utf8Bytes(str) {
    var out = [];
    for (var i = 0; i < str.length; i++) {
      var c = str.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
        var d = str.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else {
          c = 0xfffd;
        }
      } else if (c >= 0xd800 && c <= 0xdfff) {
        c = 0xfffd;
      }
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  }

  // UTF-8 decoding with the WHATWG replacement rule (one U+FFFD per maximal invalid subpart),
  // which is what Node's Buffer#toString('utf8') does.
  function utf8Text(bytes, start, end) {
    var s = '';
    var i = start;
    while (i < end) {
      var b = bytes[i];
      if (b < 0x80) {
        s += String.fromCharCode(b);
        i++;
        continue;
      }
      var need = b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : 0;
      if (need === 0) {
        s += '\ufffd';
        i++;
        continue;
      }
      var cp = need === 1 ? b & 0x1f : need === 2 ? b & 0x0f : b & 0x07;
      var k = 1;
      for (; k <= need; k++) {
        if (i + k >= end) break;
        var cb = bytes[i + k];
        var lo = 0x80;
        var hi = 0xbf;
        if (k === 1) {
          if (b === 0xe0) lo = 0xa0;
          else if (b === 0xed) hi = 0x9f;
          else if (b === 0xf0) lo = 0x90;
          else if (b === 0xf4) hi = 0x8f;
        }
        if (cb < lo || cb > hi) break;
        cp = (cp << 6) | (cb & 0x3f);
      }
      if (k <= need) {
        s += '\ufffd';
        i += k;
        continue;
      }
      s += String.fromCodePoint(cp);
      i += need + 1;
    }
    return s;
  }

  function bytesFromString(str, enc) {
    var out = [];
    var i;
    if (enc === 'utf8') return utf8Bytes(str);
    if (enc === 'hex') {
      for (i = 0; i + 1 < str.length; i += 2) {
        var hi = HEX.indexOf(str.charAt(i).toLowerCase());
        var lo = HEX.indexOf(str.charAt(i + 1).toLowerCase());
        if (hi < 0 || lo < 0) break;
        out.push(hi * 16 + lo);
      }
      return out;
    }
    if (enc === 'base64' || enc === 'base64url') {
      var acc = 0;
      var bits = 0;
      for (i = 0; i < str.length; i++) {
        var ch = str.charAt(i);
        if (ch === '=') break;
        var v = B64_LOOKUP[ch];
        if (v === undefined) continue;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          out.push((acc >> bits) & 0xff);
        }
      }
      return out;
    }
    for (i = 0; i < str.length; i++) out.push(str.charCodeAt(i) & 0xff);
    return out;
  }

  function checkOffset(buf, offset, size) {
    if (offset === undefined) offset = 0;
    if (typeof offset !== 'number' || offset !== Math.floor(offset)) {
      throw new TypeError('The "offset" argument must be an integer. Received ' + String(offset));
    }
    if (offset < 0 || offset + size > buf.length) {
      throw new RangeError('Attempt to access memory outside buffer bounds');
    }
    return offset;
  }

  function checkValue(value, min, max) {
    if (typeof value !== 'number' || value < min || value > max) {
      throw new RangeError('The value of "value" is out of range. It must be >= ' + min + ' and <= ' + max + '. Received ' + String(value));
    }
  }

  function view(buf) {
    return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === 'string') {
        var bytes = bytesFromString(value, encodingOf(encodingOrOffset));
        var b = new Buffer(bytes.length);
        for (var i = 0; i < bytes.length; i++) b[i] = bytes[i];
        return b;
      }
      if (value instanceof ArrayBuffer) {
        var off = encodingOrOffset === undefined ? 0 : encodingOrOffset;
        return new Buffer(value, off, length === undefined ? value.byteLength - off : length);
      }
      if (value !== null && typeof value === 'object') {
        var src = value.type === 'Buffer' && Array.isArray(value.data) ? value.data : value;
        var n = src.length >>> 0;
        var out = new Buffer(n);
        for (var j = 0; j < n; j++) out[j] = src[j];
        return out;
      }
      throw new TypeError('The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.');
    }

    static alloc(size, fill, encoding) {
      var b = new Buffer(size);
      if (fill !== undefined && fill !== 0) {
        if (typeof fill === 'string') {
          var pattern = bytesFromString(fill, encodingOf(encoding));
          for (var i = 0; i < size && pattern.length > 0; i++) b[i] = pattern[i % pattern.length];
        } else {
          b.fill(fill);
        }
      }
      return b;
    }

    static allocUnsafe(size) {
      return new Buffer(size);
    }

    static isBuffer(value) {
      return value instanceof Buffer;
    }

    static isEncoding(enc) {
      try {
        encodingOf(enc);
        return typeof enc === 'string';
      } catch {
        return false;
      }
    }

    static byteLength(value, encoding) {
      if (typeof value === 'string') return bytesFromString(value, encodingOf(encoding)).length;
      return value.byteLength;
    }

    static concat(list, totalLength) {
      var total = 0;
      var i;
      if (totalLength === undefined) for (i = 0; i < list.length; i++) total += list[i].length;
      else total = totalLength;
      var out = Buffer.alloc(total);
      var pos = 0;
      for (i = 0; i < list.length && pos < total; i++) {
        var part = list[i];
        for (var j = 0; j < part.length && pos < total; j++) out[pos++] = part[j];
      }
      return out;
    }

    static compare(a, b) {
      return a.compare(b);
    }

    toString(encoding, start, end) {
      var enc = encodingOf(encoding);
      var s = start === undefined ? 0 : Math.max(0, start | 0);
      var e = end === undefined ? this.length : Math.min(this.length, end | 0);
      var out = '';
      var i;
      if (e <= s) return '';
      if (enc === 'utf8') return utf8Text(this, s, e);
      if (enc === 'hex') {
        for (i = s; i < e; i++) out += HEX.charAt(this[i] >> 4) + HEX.charAt(this[i] & 15);
        return out;
      }
      if (enc === 'base64' || enc === 'base64url') {
        var alphabet = enc === 'base64' ? B64 : B64.slice(0, 62) + '-_';
        for (i = s; i + 2 < e; i += 3) {
          var n = (this[i] << 16) | (this[i + 1] << 8) | this[i + 2];
          out += alphabet.charAt(n >> 18) + alphabet.charAt((n >> 12) & 63) + alphabet.charAt((n >> 6) & 63) + alphabet.charAt(n & 63);
        }
        var rest = e - i;
        if (rest === 1) {
          var r1 = this[i] << 16;
          out += alphabet.charAt(r1 >> 18) + alphabet.charAt((r1 >> 12) & 63) + (enc === 'base64' ? '==' : '');
        } else if (rest === 2) {
          var r2 = (this[i] << 16) | (this[i + 1] << 8);
          out += alphabet.charAt(r2 >> 18) + alphabet.charAt((r2 >> 12) & 63) + alphabet.charAt((r2 >> 6) & 63) + (enc === 'base64' ? '=' : '');
        }
        return out;
      }
      for (i = s; i < e; i++) out += String.fromCharCode(enc === 'ascii' ? this[i] & 0x7f : this[i]);
      return out;
    }

    toJSON() {
      return { type: 'Buffer', data: Array.prototype.slice.call(this) };
    }

    slice(start, end) {
      return this.subarray(start, end);
    }

    equals(other) {
      return this.compare(other) === 0;
    }

    compare(other) {
      var n = Math.min(this.length, other.length);
      for (var i = 0; i < n; i++) {
        if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
      }
      return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
    }

    copy(target, targetStart, sourceStart, sourceEnd) {
      var ts = targetStart === undefined ? 0 : targetStart;
      var ss = sourceStart === undefined ? 0 : sourceStart;
      var se = sourceEnd === undefined ? this.length : Math.min(sourceEnd, this.length);
      var n = 0;
      while (ss + n < se && ts + n < target.length) {
        target[ts + n] = this[ss + n];
        n++;
      }
      return n;
    }

    readUIntBE(offset, byteLength) {
      checkOffset(this, offset, byteLength);
      var v = 0;
      for (var i = 0; i < byteLength; i++) v = v * 256 + this[offset + i];
      return v;
    }

    readUIntLE(offset, byteLength) {
      checkOffset(this, offset, byteLength);
      var v = 0;
      for (var i = byteLength - 1; i >= 0; i--) v = v * 256 + this[offset + i];
      return v;
    }

    readIntBE(offset, byteLength) {
      var v = this.readUIntBE(offset, byteLength);
      var limit = Math.pow(2, 8 * byteLength - 1);
      return v >= limit ? v - limit * 2 : v;
    }

    readIntLE(offset, byteLength) {
      var v = this.readUIntLE(offset, byteLength);
      var limit = Math.pow(2, 8 * byteLength - 1);
      return v >= limit ? v - limit * 2 : v;
    }

    writeUIntBE(value, offset, byteLength) {
      checkOffset(this, offset, byteLength);
      checkValue(value, 0, Math.pow(2, 8 * byteLength) - 1);
      var v = Math.floor(value);
      for (var i = byteLength - 1; i >= 0; i--) {
        this[offset + i] = v % 256;
        v = Math.floor(v / 256);
      }
      return offset + byteLength;
    }

    writeUIntLE(value, offset, byteLength) {
      checkOffset(this, offset, byteLength);
      checkValue(value, 0, Math.pow(2, 8 * byteLength) - 1);
      var v = Math.floor(value);
      for (var i = 0; i < byteLength; i++) {
        this[offset + i] = v % 256;
        v = Math.floor(v / 256);
      }
      return offset + byteLength;
    }

    writeIntBE(value, offset, byteLength) {
      var limit = Math.pow(2, 8 * byteLength - 1);
      checkValue(value, -limit, limit - 1);
      return this.writeUIntBE(value < 0 ? value + limit * 2 : value, offset, byteLength);
    }

    writeIntLE(value, offset, byteLength) {
      var limit = Math.pow(2, 8 * byteLength - 1);
      checkValue(value, -limit, limit - 1);
      return this.writeUIntLE(value < 0 ? value + limit * 2 : value, offset, byteLength);
    }
  }

  // Fixed-width readers and writers, named as in Node (with the `Uint` aliases).
  var FIXED = [
    ['UInt8', 'Uint8', 1, 0, 255],
    ['Int8', 'Int8', 1, -128, 127],
    ['UInt16', 'Uint16', 2, 0, 0xffff],
    ['Int16', 'Int16', 2, -0x8000, 0x7fff],
    ['UInt32', 'Uint32', 4, 0, 0xffffffff],
    ['Int32', 'Int32', 4, -0x80000000, 0x7fffffff],
    ['Float', 'Float32', 4, -Infinity, Infinity],
    ['Double', 'Float64', 8, -Infinity, Infinity],
  ];
  FIXED.forEach(function (spec) {
    var name = spec[0];
    var dv = spec[1];
    var size = spec[2];
    var min = spec[3];
    var max = spec[4];
    var endians = size === 1 ? [''] : ['LE', 'BE'];
    endians.forEach(function (endian) {
      var little = endian === 'LE';
      var reader = function (offset) {
        var at = checkOffset(this, offset, size);
        return view(this)['get' + dv](at, little);
      };
      var writer = function (value, offset) {
        var at = checkOffset(this, offset, size);
        if (dv !== 'Float32' && dv !== 'Float64') checkValue(value, min, max);
        view(this)['set' + dv](at, +value, little);
        return at + size;
      };
      Buffer.prototype['read' + name + endian] = reader;
      Buffer.prototype['write' + name + endian] = writer;
      if (name.indexOf('UInt') === 0) {
        Buffer.prototype['readUint' + name.slice(4) + endian] = reader;
        Buffer.prototype['writeUint' + name.slice(4) + endian] = writer;
      }
    });
  });
  ['LE', 'BE'].forEach(function (endian) {
    var little = endian === 'LE';
    Buffer.prototype['readBigUInt64' + endian] = function (offset) {
      var at = checkOffset(this, offset, 8);
      return view(this).getBigUint64(at, little);
    };
    Buffer.prototype['readBigUint64' + endian] = Buffer.prototype['readBigUInt64' + endian];
    Buffer.prototype['readBigInt64' + endian] = function (offset) {
      var at = checkOffset(this, offset, 8);
      return view(this).getBigInt64(at, little);
    };
  });

  Object.defineProperty(globalThis, 'Buffer', { value: Buffer, writable: true, configurable: true, enumerable: false });
})();
