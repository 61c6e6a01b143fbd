// node:crypto, the parts that need no cipher: randomUUID, getRandomValues, randomBytes,
// randomInt and webcrypto.getRandomValues. Hashes, HMAC and ciphers are not provided.
'use strict';
const c = globalThis.crypto;
const missing = (name) => () => { throw new Error(`crypto.${name} is not available in the sandbox`); };
module.exports = {
  randomUUID: () => c.randomUUID(),
  getRandomValues: (a) => c.getRandomValues(a),
  randomBytes: (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i += 65536) c.getRandomValues(b.subarray(i, Math.min(n, i + 65536))); return b; },
  randomInt: (min, max) => { if (max === undefined) { max = min; min = 0; } return min + Math.floor(Math.random() * (max - min)); },
  webcrypto: c,
  createHash: missing('createHash'),
  createHmac: missing('createHmac'),
};
