// node:path (POSIX): join, resolve, dirname, basename, extname, normalize, relative.
'use strict';
function normalize(p) {
  const absolute = p.startsWith('/');
  const out = [];
  for (const s of p.split('/')) {
    if (!s || s === '.') continue;
    if (s === '..') { if (out.length && out[out.length - 1] !== '..') out.pop(); else if (!absolute) out.push('..'); }
    else out.push(s);
  }
  const joined = out.join('/');
  return (absolute ? '/' : '') + joined || (absolute ? '/' : '.');
}
const path = {
  sep: '/',
  delimiter: ':',
  normalize,
  join: (...parts) => normalize(parts.filter((x) => x !== '').join('/') || '.'),
  resolve: (...parts) => { let r = ''; for (const p of parts) r = p.startsWith('/') ? p : `${r}/${p}`; return normalize(r.startsWith('/') ? r : `/var/task/${r}`); },
  isAbsolute: (p) => p.startsWith('/'),
  dirname: (p) => { const i = p.replace(/\/+$/, '').lastIndexOf('/'); return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i); },
  basename: (p, ext) => { let b = p.replace(/\/+$/, ''); b = b.slice(b.lastIndexOf('/') + 1); return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b; },
  extname: (p) => { const b = path.basename(p); const i = b.lastIndexOf('.'); return i <= 0 ? '' : b.slice(i); },
  relative: (from, to) => {
    const a = path.resolve(from).split('/').filter(Boolean), b = path.resolve(to).split('/').filter(Boolean);
    let i = 0; while (i < a.length && a[i] === b[i]) i++;
    return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
  },
};
path.posix = path;
module.exports = path;
