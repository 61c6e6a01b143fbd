// buffer.js (compiled on first use, see prelude.js) — the part of Node's Buffer handlers use to move between strings and bytes:
// utf-8, base64, base64url, hex, latin1/binary and ascii encodings, concat, compare,
// equals, slicing, JSON form. A Buffer is a Uint8Array, as in Node.
'use strict';
  const { native, toBytes } = internal;
  const normalize = (enc) => {
    const e = String(enc || 'utf8').toLowerCase();
    if (e === 'utf-8' || e === 'utf8') return 'utf8';
    if (e === 'base64' || e === 'base64url' || e === 'hex' || e === 'ascii') return e;
    if (e === 'latin1' || e === 'binary') return 'latin1';
    if (e === 'ucs2' || e === 'ucs-2' || e === 'utf16le' || e === 'utf-16le') return 'utf16le';
    throw new TypeError(`Unknown encoding: ${enc}`);
  };

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === 'string') return Buffer._fromString(value, encodingOrOffset);
      if (value instanceof ArrayBuffer) {
        const offset = encodingOrOffset || 0;
        return new Buffer(value, offset, length === undefined ? value.byteLength - offset : length);
      }
      if (ArrayBuffer.isView(value)) { const b = new Buffer(value.byteLength); b.set(toBytes(value)); return b; }
      if (value && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data);
      if (Array.isArray(value) || (value && typeof value.length === 'number')) {
        const b = new Buffer(value.length);
        for (let i = 0; i < value.length; i++) b[i] = value[i] & 255;
        return b;
      }
      throw new TypeError('The first argument must be of type string, Buffer, ArrayBuffer, Array, or Array-like Object');
    }
    static _fromString(s, enc) {
      switch (normalize(enc)) {
        case 'utf8': return Buffer._wrap(native.utf8Encode(s));
        case 'base64': case 'base64url': return Buffer._wrap(native.base64Decode(s, false));
        case 'hex': {
          const n = Math.floor(s.length / 2);
          const b = new Buffer(n);
          for (let i = 0; i < n; i++) {
            const v = parseInt(s.substr(i * 2, 2), 16);
            if (Number.isNaN(v)) return b.subarray(0, i);
            b[i] = v;
          }
          return b;
        }
        case 'utf16le': {
          const b = new Buffer(s.length * 2);
          for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); b[i * 2] = c & 255; b[i * 2 + 1] = c >> 8; }
          return b;
        }
        default: {
          const b = new Buffer(s.length);
          for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 255;
          return b;
        }
      }
    }
    static _wrap(arrayBuffer) { return new Buffer(arrayBuffer, 0, arrayBuffer.byteLength); }
    static alloc(size, fill) { const b = new Buffer(size); if (fill !== undefined) b.fill(typeof fill === 'string' ? fill.charCodeAt(0) : fill); return b; }
    static allocUnsafe(size) { return new Buffer(size); }
    static isBuffer(b) { return b instanceof Buffer; }
    static isEncoding(e) { try { normalize(e); return true; } catch { return false; } }
    static byteLength(value, enc) {
      if (typeof value !== 'string') return value.byteLength;
      return Buffer._fromString(value, enc).length;
    }
    static concat(list, total) {
      if (total === undefined) total = list.reduce((n, b) => n + b.length, 0);
      const out = Buffer.alloc(total);
      let at = 0;
      for (const b of list) { if (at >= total) break; out.set(b.subarray(0, total - at), at); at += b.length; }
      return out;
    }
    static compare(a, b) { return a.compare(b); }
    toString(enc, start = 0, end = this.length) {
      const view = start === 0 && end === this.length ? this : this.subarray(start, end);
      switch (normalize(enc)) {
        case 'utf8': return native.utf8Decode(view);
        case 'base64': return native.base64Encode(view);
        case 'base64url': return native.base64Encode(view).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        case 'hex': return Array.from(view, (x) => x.toString(16).padStart(2, '0')).join('');
        case 'utf16le': { let s = ''; for (let i = 0; i + 1 < view.length; i += 2) s += String.fromCharCode(view[i] | (view[i + 1] << 8)); return s; }
        case 'ascii': { let s = ''; for (const x of view) s += String.fromCharCode(x & 127); return s; }
        default: { let s = ''; for (let i = 0; i < view.length; i += 4096) s += String.fromCharCode.apply(null, view.subarray(i, i + 4096)); return s; }
      }
    }
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
    equals(other) { return this.compare(other) === 0; }
    compare(other) {
      const n = Math.min(this.length, other.length);
      for (let i = 0; i < n; i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
      return this.length === other.length ? 0 : this.length < other.length ? -1 : 1;
    }
    slice(start, end) { return this.subarray(start, end); }
    subarray(start, end) { const v = Uint8Array.prototype.subarray.call(this, start, end); return new Buffer(v.buffer, v.byteOffset, v.length); }
    write(s, offset = 0, enc = 'utf8') { const b = Buffer.from(s, enc); const n = Math.min(b.length, this.length - offset); this.set(b.subarray(0, n), offset); return n; }
    copy(target, targetStart = 0, start = 0, end = this.length) { const part = this.subarray(start, end); const n = Math.min(part.length, target.length - targetStart); target.set(part.subarray(0, n), targetStart); return n; }
    indexOf(value, from = 0, enc) {
      if (typeof value === 'number') return Uint8Array.prototype.indexOf.call(this, value, from);
      const needle = typeof value === 'string' ? Buffer.from(value, enc) : value;
      outer: for (let i = from; i <= this.length - needle.length; i++) {
        for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
        return i;
      }
      return -1;
    }
    includes(value, from, enc) { return this.indexOf(value, from, enc) !== -1; }
    readUInt8(o = 0) { return this[o]; }
    readUInt16BE(o = 0) { return (this[o] << 8) | this[o + 1]; }
    readUInt32BE(o = 0) { return ((this[o] << 24) >>> 0) + ((this[o + 1] << 16) | (this[o + 2] << 8) | this[o + 3]); }
    writeUInt8(v, o = 0) { this[o] = v; return o + 1; }
  }
  Object.defineProperty(globalThis, 'Buffer', { value: Buffer, writable: true, configurable: true, enumerable: false });
