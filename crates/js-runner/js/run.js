// run.js — loads the handler and runs it once: the CommonJS loader (require, module,
// exports, JSON modules, built-ins), finding `handler` in CommonJS or ES module exports,
// calling it sync, async or callback style with Lambda's context, and reporting the
// result (stdout, JSON) or the failure (stderr, message and stack, exit status 1).
(function () {
  'use strict';
  const internal = globalThis.__sandbox_internal;
  const { native, timerQueue, inspect } = internal;
  delete globalThis.__sandbox_internal;
  delete globalThis.__native;
  // For the built-in modules (@sandbox/functions, node:util), hidden from enumeration.
  const hidden = (name, value) => Object.defineProperty(globalThis, name, { value, enumerable: false });
  // While the module loads for a per-bundle snapshot (`preload`) there are no services:
  // a module that calls them at module scope is not snapshotted and loads per invocation.
  let preloading = false;
  let preloadProblem = null;
  hidden('__sandbox_call', (request) => {
    if (preloading) {
      preloadProblem = preloadProblem || 'it calls the sandbox services at module scope';
      throw new Error('the sandbox services are not available while the module is snapshotted');
    }
    return native.hostCall(request);
  });
  hidden('__sandbox_util', { format: internal.format, inspect: internal.inspect });

  // --- stack traces: type-stripped TypeScript reports the .ts file's lines.
  const lineMaps = new Map();
  function mapStack(stack) {
    if (!stack || !lineMaps.size) return stack;
    // `file:line:column` → `file:line` of the .ts source (columns are the stripped
    // code's, so they are left out rather than misleading).
    return String(stack).replace(/([^\s()]+?):(\d+)(?::(\d+))?(?=[)\s]|$)/g, (whole, file, line) => {
      const map = lineMaps.get(file);
      if (!map) return whole;
      const original = map[Number(line) - 1];
      return original ? `${file}:${original}` : whole;
    });
  }
  function describe(error) {
    if (error instanceof Error) {
      // The runner's own frames (`<sandbox run>`, the native call into the handler) are
      // noise in a handler's stack.
      const stack = mapStack(error.stack || '')
        .split('\n')
        .filter((frame) => !frame.includes('(<sandbox ') && !frame.includes('at call (native)'))
        .join('\n')
        .replace(/\s+$/, '');
      return `${error.name || 'Error'}: ${error.message}${stack ? '\n' + stack : ''}`;
    }
    return `Uncaught ${inspect(error)}`;
  }

  // --- CommonJS.
  const cache = new Map();
  const infos = new Map();
  function info(id) {
    if (!infos.has(id)) {
      const found = native.module(id);
      if (found && found.lines) lineMaps.set(id, found.lines);
      infos.set(id, found);
    }
    return infos.get(id);
  }
  function requireFrom(fromId, specifier) {
    const from = info(fromId);
    // Built-in modules require each other by bare name.
    const builtin = fromId.startsWith('builtin:') ? `builtin:${specifier.replace(/^node:/, '')}` : null;
    const id = (from && from.deps[specifier]) || builtin || (info(specifier) ? specifier : null);
    if (!id) {
      const error = new Error(`Cannot find module '${specifier}' required from ${fromId}: the sandbox resolves require() when it loads the handler, so only string-literal specifiers it found are available`);
      error.code = 'MODULE_NOT_FOUND';
      throw error;
    }
    return requireId(id);
  }
  function requireId(id) {
    const cached = cache.get(id);
    if (cached) return cached.exports;
    const m = info(id);
    if (!m) throw new Error(`Cannot find module '${id}'`);
    if (m.kind === 'esm') return native.importSync(id);
    const module = { id, filename: id, exports: {}, loaded: false, children: [], paths: [] };
    cache.set(id, module);
    try {
      if (m.kind === 'json') {
        try { module.exports = JSON.parse(m.source); } catch (e) { throw new SyntaxError(`${id}: ${e.message}`); }
      } else {
        const dirname = id.includes('/') ? id.slice(0, id.lastIndexOf('/')) : '.';
        const require = makeRequire(id);
        module.require = require;
        // Bundled modules may come as bytecode; built-ins are compiled from source.
        const fn = id.startsWith('builtin:')
          ? native.compileFunction(id, 'exports, require, module, __filename, __dirname', m.source)
          : native.cjsFunction(id);
        fn.call(module.exports, module.exports, require, module, id, dirname);
      }
    } catch (e) {
      cache.delete(id);
      throw e;
    }
    module.loaded = true;
    return module.exports;
  }
  function makeRequire(id) {
    const require = (specifier) => requireFrom(id, String(specifier));
    require.resolve = (specifier) => { const m = info(id); const r = m && m.deps[specifier]; if (!r) throw new Error(`Cannot find module '${specifier}'`); return r; };
    require.cache = {};
    require.main = undefined;
    return require;
  }

  // --- one invocation.
  let outcome = null; // { ok: value } | { error }
  // The entry module's exports when this instance starts from a per-bundle snapshot:
  // the module scope ran once, when the snapshot was taken (Lambda's init phase).
  let preloaded = null;
  let preloadResult = null; // { ok: exports } | { error }
  let context = null;
  let entryKind = null;
  function settle(result) { if (!outcome) outcome = result; }

  function findHandler(exports) {
    if (exports && typeof exports.handler === 'function') return exports.handler;
    const d = exports && exports.default;
    if (d && typeof d.handler === 'function') return d.handler;
    if (typeof d === 'function') return d;
    return null;
  }

  function invoke(exports, event) {
    const handler = findHandler(exports);
    if (!handler) {
      const names = exports && typeof exports === 'object' ? Object.keys(exports) : [];
      settle({ error: new TypeError(`the handler module exports no function named \`handler\` (it exports: ${names.join(', ') || 'nothing'}); write \`exports.handler = async (event) => ...\` or \`export async function handler(event)\``) });
      return;
    }
    const callback = (error, result) => settle(error ? { error } : { ok: result });
    let returned;
    try {
      returned = handler.call(undefined, event, context, callback);
    } catch (error) {
      settle({ error });
      return;
    }
    if (returned && typeof returned.then === 'function') {
      returned.then((ok) => settle({ ok }), (error) => settle({ error: error === undefined ? new Error('the handler rejected with undefined') : error }));
    } else if (handler.length < 3) {
      settle({ ok: returned });
    }
    // A callback-style handler (three parameters) that returned nothing: wait for it.
  }

  globalThis.__sandbox = {
    requireId,
    start(entry, contextJson, eventText) {
      internal.begin(preloaded !== null);
      const meta = JSON.parse(contextJson);
      const deadline = native.monotonic() + meta.timeoutMs;
      context = {
        awsRequestId: meta.requestId,
        functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
        functionVersion: '$LATEST',
        invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
        memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        logGroupName: `/aws/lambda/${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
        logStreamName: 'sandbox',
        callbackWaitsForEmptyEventLoop: true,
        getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - native.monotonic())),
        done: (error, result) => settle(error ? { error } : { ok: result }),
        succeed: (result) => settle({ ok: result }),
        fail: (error) => settle({ error }),
      };
      let event;
      try {
        event = eventText.trim() ? JSON.parse(eventText) : null;
      } catch (error) {
        settle({ error: new SyntaxError(`the event is not JSON: ${error.message}`) });
        return;
      }
      if (preloaded) {
        invoke(preloaded, event);
        return;
      }
      entryKind = info(entry) && info(entry).kind;
      try {
        if (entryKind === 'esm') {
          import(entry).then((namespace) => invoke(namespace, event), (error) => settle({ error }));
        } else {
          invoke(requireId(entry), event);
        }
      } catch (error) {
        settle({ error });
      }
    },
    // Per-bundle snapshot, first half: load the entry module (its module scope runs)
    // with this function's environment; the runner drains microtasks, then calls
    // `preloadDone`.
    preload(entry) {
      internal.begin();
      preloading = true;
      try {
        if (info(entry) && info(entry).kind === 'esm') {
          import(entry).then((ok) => { preloadResult = { ok }; }, (error) => { preloadResult = { error }; });
        } else {
          preloadResult = { ok: requireId(entry) };
        }
      } catch (error) {
        preloadResult = { error };
      }
    },
    // '' when the snapshot may be taken, else why not (the bundle then loads in every
    // invocation, as without snapshots, and reports its own errors there).
    preloadDone() {
      preloading = false;
      if (preloadProblem) return preloadProblem;
      if (!preloadResult) return 'its module scope awaits something that needs an invocation';
      if (preloadResult.error) return 'its module scope throws';
      if (!findHandler(preloadResult.ok)) return 'it exports no handler';
      if (timerQueue.wait() !== Infinity) return 'its module scope leaves timers pending';
      preloaded = preloadResult.ok;
      preloadResult = null;
      return '';
    },
    // Called by the runner after draining microtasks: -1 once settled, 0 after firing
    // a due timer, else how long to sleep before the next one.
    tick() {
      if (outcome) return -1;
      if (timerQueue.fireDue()) return 0;
      const wait = timerQueue.wait();
      // Nothing left that could settle the result: wait for the host's timeout, as
      // Lambda does for a promise that never settles.
      return wait === Infinity ? 3600 * 1000 : wait;
    },
    finish() {
      if ('error' in outcome) {
        native.write(2, `ERROR\tInvoke Error\t${describe(outcome.error)}\n`);
        return 1;
      }
      const value = outcome.ok;
      let text;
      try {
        text = value === undefined ? 'null' : JSON.stringify(value);
      } catch (error) {
        native.write(2, `ERROR\tthe handler's result cannot be serialized to JSON: ${describe(error)}\n`);
        return 1;
      }
      native.write(1, text === undefined ? 'null' : text);
      return 0;
    },
  };
})();
