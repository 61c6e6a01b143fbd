// web.js — TextEncoder/TextDecoder, atob/btoa, structuredClone, DOMException and
// crypto.randomUUID/getRandomValues; compiled on first use (see prelude.js), called with
// the runner's internals.
'use strict';
const { native, toBytes } = internal;
const g = globalThis;
const define = (name, value) =>
  Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });

// --- text encoding.
class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(text = '') { return new Uint8Array(native.utf8Encode(String(text))); }
  encodeInto(text, dest) {
    const bytes = this.encode(text);
    const n = Math.min(bytes.length, dest.length);
    dest.set(bytes.subarray(0, n));
    return { read: text.length, written: n };
  }
}
class TextDecoder {
  constructor(label = 'utf-8', options = {}) {
    const l = String(label).toLowerCase();
    if (l !== 'utf-8' && l !== 'utf8') throw new RangeError(`The "${label}" encoding is not supported`);
    this.fatal = !!options.fatal;
    this.ignoreBOM = !!options.ignoreBOM;
  }
  get encoding() { return 'utf-8'; }
  decode(input) {
    if (input === undefined) return '';
    let text = native.utf8Decode(toBytes(input));
    if (this.fatal && text.includes('\uFFFD')) throw new TypeError('The encoded data was not valid for encoding utf-8');
    if (!this.ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return text;
  }
}
define('TextEncoder', TextEncoder);
define('TextDecoder', TextDecoder);

// --- atob / btoa (Latin-1 strings, as in browsers and Node).
define('btoa', (s) => {
  s = String(s);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) throw new Error('Invalid character');
    bytes[i] = c;
  }
  return native.base64Encode(bytes);
});
define('atob', (s) => {
  const bytes = new Uint8Array(native.base64Decode(String(s), true));
  let out = '';
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096));
  return out;
});

// --- structuredClone (plain data, Date, RegExp, Map, Set, typed arrays, cycles).
define('structuredClone', function structuredClone(value) {
  const seen = new Map();
  const clone = (v) => {
    if (typeof v === 'function' || typeof v === 'symbol') {
      throw new DOMException(`${String(v)} could not be cloned.`, 'DataCloneError');
    }
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return seen.get(v);
    let out;
    if (v instanceof Date) out = new Date(v.getTime());
    else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
    else if (v instanceof ArrayBuffer) out = v.slice(0);
    else if (ArrayBuffer.isView(v)) out = new v.constructor(v);
    else if (v instanceof Map) { out = new Map(); seen.set(v, out); v.forEach((val, k) => out.set(clone(k), clone(val))); return out; }
    else if (v instanceof Set) { out = new Set(); seen.set(v, out); v.forEach((val) => out.add(clone(val))); return out; }
    else if (v instanceof Error) { out = new v.constructor(v.message); out.stack = v.stack; }
    else if (Array.isArray(v)) { out = []; seen.set(v, out); v.forEach((val, i) => { out[i] = clone(val); }); return out; }
    else { out = {}; seen.set(v, out); for (const k of Object.keys(v)) out[k] = clone(v[k]); return out; }
    seen.set(v, out);
    return out;
  };
  return clone(value);
});
class DOMException extends Error {
  constructor(message = '', name = 'Error') { super(message); this.name = name; }
}
{
  // Ours only where the engine has none (the lazy accessor stands in for it until now).
  const existing = Object.getOwnPropertyDescriptor(g, 'DOMException');
  if (!existing || existing.get) define('DOMException', DOMException);
}

// --- crypto: randomUUID and getRandomValues (no subtle: say so when asked).
const crypto = {
  getRandomValues(array) {
    if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array) {
      throw new TypeError('The data argument must be an integer-type TypedArray');
    }
    if (array.byteLength > 65536) throw new RangeError('The ArrayBufferView byte length exceeds 65536');
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(native.randomBytes(array.byteLength)));
    return array;
  },
  randomUUID() {
    const b = new Uint8Array(native.randomBytes(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
  get subtle() { throw new Error('crypto.subtle is not available in the sandbox'); },
};
define('crypto', crypto);

