// prelude.js — the globals a Lambda handler expects, installed once per instance before
// any handler module runs: console, process, timers, queueMicrotask, TextEncoder and
// TextDecoder, URL and URLSearchParams, atob/btoa, structuredClone, a Buffer subset,
// crypto.randomUUID/getRandomValues, and Math.random seeded from WASI randomness (the
// engine's own seed comes from the clock, which the sandbox may hold still).
(function () {
  'use strict';
  const native = globalThis.__native;
  const g = globalThis;
  let unseedRandom = null;
  const define = (name, value) =>
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });

  // --- Math.random: xorshift128+ seeded from WASI's random_get in every invocation
  // (`begin`: the instance may start from a snapshot taken once for all of them), on
  // first use, since most handlers never call it.
  {
    let s0 = 1n;
    let s1 = 2n;
    let seeded = false;
    const mask = (1n << 64n) - 1n;
    unseedRandom = () => { seeded = false; };
    const seedRandom = () => {
      const seed = new Uint32Array(native.randomBytes(16));
      s0 = (BigInt(seed[0]) << 32n) | BigInt(seed[1]) || 1n;
      s1 = (BigInt(seed[2]) << 32n) | BigInt(seed[3]) || 2n;
      seeded = true;
    };
    Math.random = function random() {
      if (!seeded) seedRandom();
      let x = s0;
      const y = s1;
      s0 = y;
      x = (x ^ (x << 23n)) & mask;
      s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
      return Number(((s1 + y) & mask) >> 11n) / 9007199254740992;
    };
  }

  // --- inspect: what console.log prints for non-strings (Node's shape, abridged).
  function inspect(value, depth = 2, seen = new Set()) {
    switch (typeof value) {
      case 'string': return seen.size ? `'${value.replace(/'/g, "\\'")}'` : value;
      case 'number': case 'boolean': case 'undefined': return String(value);
      case 'bigint': return `${value}n`;
      case 'symbol': return value.toString();
      case 'function': return `[Function: ${value.name || '(anonymous)'}]`;
    }
    if (value === null) return 'null';
    if (value instanceof Error) return value.stack ? `${value.name}: ${value.message}\n${value.stack}`.replace(/\n$/, '') : String(value);
    if (seen.has(value)) return '[Circular *]';
    if (value instanceof Date) return isNaN(value) ? 'Invalid Date' : value.toISOString();
    if (value instanceof RegExp) return String(value);
    if (depth < 0) return Array.isArray(value) ? '[Array]' : '[Object]';
    seen.add(value);
    try {
      if (Array.isArray(value)) {
        const items = value.map((v) => inspect(v, depth - 1, seen));
        return items.length ? `[ ${items.join(', ')} ]` : '[]';
      }
      // Buffer only if a handler already loaded it (inspecting must not load it).
      const buffer = Object.getOwnPropertyDescriptor(g, 'Buffer');
      if (buffer && buffer.value && value instanceof buffer.value) {
        return `<Buffer ${Array.from(value.subarray(0, 50), (b) => b.toString(16).padStart(2, '0')).join(' ')}${value.length > 50 ? ' ...' : ''}>`;
      }
      if (value instanceof Map) {
        return `Map(${value.size}) { ${Array.from(value, ([k, v]) => `${inspect(k, depth - 1, seen)} => ${inspect(v, depth - 1, seen)}`).join(', ')} }`;
      }
      if (value instanceof Set) {
        return `Set(${value.size}) { ${Array.from(value, (v) => inspect(v, depth - 1, seen)).join(', ')} }`;
      }
      if (value instanceof Promise) return 'Promise { <pending> }';
      const keys = Object.keys(value);
      const name = value.constructor && value.constructor !== Object && value.constructor.name ? `${value.constructor.name} ` : '';
      if (!keys.length) return `${name}{}`;
      const body = keys.map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${inspect(value[k], depth - 1, seen)}`);
      return `${name}{ ${body.join(', ')} }`;
    } finally {
      seen.delete(value);
    }
  }

  function format(...args) {
    let first = args[0];
    let out = [];
    if (typeof first === 'string' && /%[sdifjoOc%]/.test(first) && args.length > 1) {
      let i = 1;
      first = first.replace(/%([sdifjoOc%])/g, (m, f) => {
        if (f === '%') return '%';
        if (i >= args.length) return m;
        const a = args[i++];
        switch (f) {
          case 's': return typeof a === 'string' ? a : inspect(a, 1);
          case 'd': case 'i': return String(f === 'i' ? parseInt(a) : Number(a));
          case 'f': return String(parseFloat(a));
          case 'j': try { return JSON.stringify(a); } catch { return '[Circular]'; }
          case 'c': return '';
          default: return inspect(a);
        }
      });
      out.push(first);
      args = args.slice(i);
    } else {
      out.push(inspect(first));
      args = args.slice(1);
    }
    for (const a of args) out.push(inspect(a));
    return out.join(' ');
  }

  // --- console: every call is one or more log lines on stderr, like Lambda's.
  const timers = new Map();
  const counts = new Map();
  const line = (level, args) => native.write(2, (level ? `${level}\t` : '') + format(...args) + '\n');
  const console = {
    log: (...a) => line('', a),
    info: (...a) => line('INFO', a),
    debug: (...a) => line('DEBUG', a),
    trace: (...a) => line('TRACE', [...a, new Error().stack]),
    warn: (...a) => line('WARN', a),
    error: (...a) => line('ERROR', a),
    dir: (o) => line('', [o]),
    table: (o) => line('', [o]),
    assert: (ok, ...a) => { if (!ok) line('ERROR', ['Assertion failed', ...a]); },
    time: (label = 'default') => timers.set(label, native.monotonic()),
    timeEnd: (label = 'default') => {
      if (timers.has(label)) line('', [`${label}: ${(native.monotonic() - timers.get(label)).toFixed(3)}ms`]);
      timers.delete(label);
    },
    timeLog: (label = 'default', ...a) => {
      if (timers.has(label)) line('', [`${label}: ${(native.monotonic() - timers.get(label)).toFixed(3)}ms`, ...a]);
    },
    count: (label = 'default') => { counts.set(label, (counts.get(label) || 0) + 1); line('', [`${label}: ${counts.get(label)}`]); },
    countReset: (label = 'default') => counts.delete(label),
    group: (...a) => { if (a.length) line('', a); },
    groupEnd: () => {},
  };
  define('console', console);

  // --- process: the environment the manifest gives, and little else.
  const process = {
    env: {},
    argv: ['node', 'handler'],
    platform: 'linux',
    arch: 'wasm32',
    version: 'v20.0.0',
    versions: { node: '20.0.0', quickjs: 'sandbox' },
    release: { name: 'node' },
    pid: 1,
    exitCode: undefined,
    cwd: () => '/var/task',
    uptime: () => native.monotonic() / 1000,
    hrtime: Object.assign((prev) => {
      const ms = native.monotonic();
      let s = Math.floor(ms / 1000), ns = Math.floor((ms % 1000) * 1e6);
      if (prev) { s -= prev[0]; ns -= prev[1]; if (ns < 0) { s -= 1; ns += 1e9; } }
      return [s, ns];
    }, { bigint: () => BigInt(Math.floor(native.monotonic() * 1e6)) }),
    memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
    nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
    emitWarning: (w) => line('WARN', [w]),
    on() { return process; }, once() { return process; }, off() { return process; }, emit() { return false; },
    exit(code) { throw new Error(`process.exit(${code === undefined ? '' : code}) is not available to handlers: return or throw instead`); },
    stdout: { write: (s) => { native.write(2, String(s)); return true; } },
    stderr: { write: (s) => { native.write(2, String(s)); return true; } },
  };
  define('process', process);

  // --- microtasks and timers. Timers run inside the invocation: run.js's tick fires
  // the earliest due one and the runner sleeps until the next.
  define('queueMicrotask', (fn) => { Promise.resolve().then(() => fn()); });
  let nextTimer = 1;
  const pending = new Map();
  function addTimer(fn, ms, args, repeat) {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
    const id = nextTimer++;
    const delay = Math.max(0, Number(ms) || 0);
    pending.set(id, { id, fn, args, due: native.monotonic() + delay, delay: repeat ? Math.max(1, delay) : null });
    return new Timeout(id);
  }
  class Timeout {
    constructor(id) { this.id = id; }
    ref() { return this; }
    unref() { return this; }
    hasRef() { return true; }
    refresh() { const t = pending.get(this.id); if (t) t.due = native.monotonic() + (t.delay || 0); return this; }
    [Symbol.toPrimitive]() { return this.id; }
  }
  const clear = (t) => { if (t != null) pending.delete(typeof t === 'object' ? t.id : Number(t)); };
  define('setTimeout', (fn, ms, ...args) => addTimer(fn, ms, args, false));
  define('setInterval', (fn, ms, ...args) => addTimer(fn, ms, args, true));
  define('setImmediate', (fn, ...args) => addTimer(fn, 0, args, false));
  define('clearTimeout', clear);
  define('clearInterval', clear);
  define('clearImmediate', clear);
  // For run.js: ms until the earliest timer (Infinity when none); fire it when due.
  const timerQueue = {
    wait() {
      let earliest = null;
      for (const t of pending.values()) if (!earliest || t.due < earliest.due) earliest = t;
      return earliest ? Math.max(0, earliest.due - native.monotonic()) : Infinity;
    },
    fireDue() {
      let earliest = null;
      for (const t of pending.values()) if (!earliest || t.due < earliest.due) earliest = t;
      if (!earliest || earliest.due > native.monotonic()) return false;
      if (earliest.delay === null) pending.delete(earliest.id);
      else earliest.due += earliest.delay;
      earliest.fn(...earliest.args);
      return true;
    },
  };

  // --- globals most handlers never touch are compiled on first use: parsing them
  // in every fresh instance would cost more than the handler itself.
  const toBytes = (input) => {
    if (input instanceof Uint8Array) return input;
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError('The "input" argument must be an ArrayBuffer or ArrayBufferView');
  };
  const internal = { inspect, format, timerQueue, native, toBytes };
  const loaded = new Set();
  function lazy(file, names) {
    for (const name of names) {
      Object.defineProperty(g, name, {
        configurable: true,
        enumerable: false,
        get() {
          if (!loaded.has(file)) {
            loaded.add(file);
            native.compileFunction(`<sandbox ${file}>`, 'internal', native.source(file))(internal);
          }
          // A value now; still the accessor only if the file failed to define it.
          const own = Object.getOwnPropertyDescriptor(g, name);
          return own && !own.get ? own.value : undefined;
        },
        set(value) { define(name, value); },
      });
    }
  }
  lazy('web', ['TextEncoder', 'TextDecoder', 'atob', 'btoa', 'structuredClone', 'crypto', ...(typeof g.DOMException === 'undefined' ? ['DOMException'] : [])]);
  lazy('url', ['URL', 'URLSearchParams']);
  lazy('buffer', ['Buffer']);

  // The time origin is this invocation's, read on first use.
  let timeOrigin = null;
  const performance = {
    now: () => native.monotonic(),
    get timeOrigin() {
      if (timeOrigin === null) timeOrigin = Date.now() - native.monotonic();
      return timeOrigin;
    },
  };
  define('performance', performance);

  // Everything that must be this invocation's rather than the snapshot's (the runner
  // may start from memory captured once, before any invocation): randomness, the
  // environment, the time origin. run.js calls it before the handler loads. From a
  // per-bundle snapshot (`preloaded`) the environment is already the function's: the
  // host uses a snapshot only with the environment it was taken with.
  internal.begin = (preloaded) => {
    unseedRandom();
    timeOrigin = null;
    if (!preloaded) process.env = native.env();
  };

  g.__sandbox_internal = internal;
})();
