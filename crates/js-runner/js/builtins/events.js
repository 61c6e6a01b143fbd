// node:events — EventEmitter, enough for libraries that extend it.
'use strict';
class EventEmitter {
  constructor() { this._events = new Map(); }
  on(name, fn) { if (!this._events) this._events = new Map(); (this._events.get(name) || this._events.set(name, []).get(name)).push(fn); return this; }
  addListener(name, fn) { return this.on(name, fn); }
  prependListener(name, fn) { this.on(name, fn); const l = this._events.get(name); l.unshift(l.pop()); return this; }
  once(name, fn) { const w = (...a) => { this.off(name, w); fn.apply(this, a); }; w.listener = fn; return this.on(name, w); }
  off(name, fn) { const l = this._events && this._events.get(name); if (l) { const i = l.findIndex((x) => x === fn || x.listener === fn); if (i >= 0) l.splice(i, 1); } return this; }
  removeListener(name, fn) { return this.off(name, fn); }
  removeAllListeners(name) { if (!this._events) return this; if (name === undefined) this._events.clear(); else this._events.delete(name); return this; }
  emit(name, ...args) {
    const l = this._events && this._events.get(name);
    if (!l || !l.length) { if (name === 'error') throw args[0] instanceof Error ? args[0] : new Error(String(args[0])); return false; }
    for (const fn of [...l]) fn.apply(this, args);
    return true;
  }
  listeners(name) { return [...((this._events && this._events.get(name)) || [])]; }
  listenerCount(name) { return this.listeners(name).length; }
  eventNames() { return this._events ? [...this._events.keys()] : []; }
  setMaxListeners() { return this; }
  getMaxListeners() { return 10; }
}
EventEmitter.EventEmitter = EventEmitter;
EventEmitter.defaultMaxListeners = 10;
EventEmitter.once = (emitter, name) => new Promise((resolve) => emitter.once(name, (...a) => resolve(a)));
module.exports = EventEmitter;
