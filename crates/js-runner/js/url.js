// url.js (compiled on first use, see prelude.js) — WHATWG URL and URLSearchParams for special schemes (http, https, ws, wss,
// file) and opaque ones (mailto:, urn:), enough for parsing and building request URLs.
'use strict';
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  const DEFAULT_PORTS = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21' };
  const SPECIAL = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:', 'file:']);

  const encodeForm = (s) => encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const decodeForm = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };

  class URLSearchParams {
    constructor(init = '') {
      this._list = [];
      this._url = null;
      if (init instanceof URLSearchParams) this._list = init._list.map((p) => [...p]);
      else if (typeof init === 'object' && init !== null) {
        if (typeof init[Symbol.iterator] === 'function') for (const [k, v] of init) this._list.push([String(k), String(v)]);
        else for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
      } else this._parse(String(init));
    }
    _parse(s) {
      this._list = [];
      if (s.startsWith('?')) s = s.slice(1);
      for (const part of s.split('&')) {
        if (!part) continue;
        const i = part.indexOf('=');
        this._list.push(i < 0 ? [decodeForm(part), ''] : [decodeForm(part.slice(0, i)), decodeForm(part.slice(i + 1))]);
      }
    }
    _update() { if (this._url) { const s = this.toString(); this._url._search = s ? '?' + s : ''; } }
    get size() { return this._list.length; }
    append(k, v) { this._list.push([String(k), String(v)]); this._update(); }
    delete(k, v) { this._list = this._list.filter(([a, b]) => !(a === String(k) && (v === undefined || b === String(v)))); this._update(); }
    get(k) { const p = this._list.find(([a]) => a === String(k)); return p ? p[1] : null; }
    getAll(k) { return this._list.filter(([a]) => a === String(k)).map(([, b]) => b); }
    has(k, v) { return this._list.some(([a, b]) => a === String(k) && (v === undefined || b === String(v))); }
    set(k, v) {
      k = String(k);
      const i = this._list.findIndex(([a]) => a === k);
      if (i < 0) this._list.push([k, String(v)]);
      else { this._list[i][1] = String(v); this._list = this._list.filter(([a], j) => j <= i || a !== k); }
      this._update();
    }
    sort() { this._list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this._update(); }
    forEach(fn, self) { for (const [k, v] of this._list) fn.call(self, v, k, this); }
    keys() { return this._list.map(([k]) => k)[Symbol.iterator](); }
    values() { return this._list.map(([, v]) => v)[Symbol.iterator](); }
    entries() { return this._list.map((p) => [...p])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(([k, v]) => `${encodeForm(k)}=${encodeForm(v)}`).join('&'); }
  }

  const PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]*:)(\/\/(?:([^:@/?#]*)(?::([^@/?#]*))?@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;

  function normalizePath(path) {
    const out = [];
    const segments = path.split('/');
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i];
      if (s === '..') { if (out.length > 1) out.pop(); if (i === segments.length - 1) out.push(''); }
      else if (s === '.') { if (i === segments.length - 1) out.push(''); }
      else out.push(s);
    }
    const joined = out.join('/');
    return joined.startsWith('/') ? joined : '/' + joined;
  }
  const encodePath = (p) => p.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, (c) => encodeURIComponent(c));
  const encodeQuery = (q) => q.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/g, (c) => encodeURIComponent(c));

  class URL {
    constructor(input, base) {
      input = String(input).trim();
      let m = PATTERN.exec(input);
      if (!m) {
        if (base === undefined) throw new TypeError(`Invalid URL: ${input}`);
        const b = base instanceof URL ? base : new URL(base);
        m = PATTERN.exec(URL._resolve(input, b));
        if (!m) throw new TypeError(`Invalid URL: ${input}`);
      }
      this._protocol = m[1].toLowerCase();
      this._username = m[3] || '';
      this._password = m[4] || '';
      this._hostname = (m[5] || '').toLowerCase();
      this._port = m[6] && m[6] !== DEFAULT_PORTS[this._protocol] ? m[6] : '';
      const special = SPECIAL.has(this._protocol);
      if (special && this._protocol !== 'file:' && !this._hostname) throw new TypeError(`Invalid URL: ${input}`);
      this._opaque = !special && m[2] === undefined;
      let path = m[7] || '';
      if (!this._opaque) path = normalizePath(encodePath(path.replace(/\\/g, special ? '/' : '\\')) || '/');
      this._pathname = path;
      this._search = m[8] && m[8] !== '?' ? encodeQuery(m[8]) : '';
      this._hash = m[9] && m[9] !== '#' ? m[9] : '';
      this._params = new URLSearchParams(this._search);
      this._params._url = this;
    }
    static _resolve(input, b) {
      if (input.startsWith('//')) return b.protocol + input;
      if (input.startsWith('/')) return `${b.origin === 'null' ? b.protocol : b.origin}${input}`;
      if (input.startsWith('?')) return `${b.origin}${b.pathname}${input}`;
      if (input.startsWith('#')) return `${b.origin}${b.pathname}${b.search}${input}`;
      const dir = b.pathname.slice(0, b.pathname.lastIndexOf('/') + 1);
      return `${b.origin}${dir}${input}`;
    }
    static canParse(input, base) { try { new URL(input, base); return true; } catch { return false; } }
    get protocol() { return this._protocol; }
    set protocol(v) { v = String(v); this._protocol = v.endsWith(':') ? v : v + ':'; }
    get username() { return this._username; }
    set username(v) { this._username = encodeURIComponent(v); }
    get password() { return this._password; }
    set password(v) { this._password = encodeURIComponent(v); }
    get hostname() { return this._hostname; }
    set hostname(v) { this._hostname = String(v).toLowerCase(); }
    get port() { return this._port; }
    set port(v) { v = String(v); this._port = v === DEFAULT_PORTS[this._protocol] ? '' : v; }
    get host() { return this._port ? `${this._hostname}:${this._port}` : this._hostname; }
    set host(v) { const [h, p] = String(v).split(':'); this.hostname = h; this.port = p || ''; }
    get origin() { return SPECIAL.has(this._protocol) && this._protocol !== 'file:' ? `${this._protocol}//${this.host}` : 'null'; }
    get pathname() { return this._pathname; }
    set pathname(v) { v = String(v); this._pathname = normalizePath(encodePath(v.startsWith('/') ? v : '/' + v)); }
    get search() { return this._search; }
    set search(v) { v = String(v); this._search = v && v !== '?' ? (v.startsWith('?') ? v : '?' + v) : ''; this._params._parse(this._search); }
    get searchParams() { return this._params; }
    get hash() { return this._hash; }
    set hash(v) { v = String(v); this._hash = v && v !== '#' ? (v.startsWith('#') ? v : '#' + v) : ''; }
    get href() {
      if (this._opaque) return `${this._protocol}${this._pathname}${this._search}${this._hash}`;
      const auth = this._username ? `${this._username}${this._password ? ':' + this._password : ''}@` : '';
      return `${this._protocol}//${auth}${this.host}${this._pathname}${this._search}${this._hash}`;
    }
    set href(v) { Object.assign(this, new URL(v)); this._params._url = this; }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }
  define('URL', URL);
  define('URLSearchParams', URLSearchParams);
