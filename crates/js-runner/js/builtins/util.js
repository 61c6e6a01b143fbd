// node:util — format, inspect, promisify, callbackify, types, TextEncoder/TextDecoder.
'use strict';
const { format, inspect } = globalThis.__sandbox_util;
module.exports = {
  format,
  inspect,
  promisify: (fn) => (...args) => new Promise((resolve, reject) => fn(...args, (e, r) => (e ? reject(e) : resolve(r)))),
  callbackify: (fn) => (...args) => { const cb = args.pop(); fn(...args).then((r) => cb(null, r), (e) => cb(e)); },
  inherits: (ctor, superCtor) => { Object.setPrototypeOf(ctor.prototype, superCtor.prototype); Object.setPrototypeOf(ctor, superCtor); },
  deprecate: (fn) => fn,
  isDeepStrictEqual: (a, b) => JSON.stringify(a) === JSON.stringify(b),
  types: { isPromise: (p) => p instanceof Promise, isDate: (d) => d instanceof Date, isRegExp: (r) => r instanceof RegExp },
  TextEncoder,
  TextDecoder,
};
