// Small helpers of the dashboard: DOM building, number and time formats,
// and the requests the page makes (relative URLs, so the page works under
// any base path and behind a proxy; a 401 goes to the login page).

/** The first element matching sel under root. */
export const $ = (sel, root = document) => root.querySelector(sel);

/**
 * el builds an element: attrs sets properties (class, text, and any DOM
 * property or aria-/data- attribute); children are nodes or strings.
 * Text always goes in as text, never as HTML.
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('aria-') || k.startsWith('data-') || k === 'role' || k === 'for' || k === 'scope') e.setAttribute(k, v === true ? 'true' : String(v));
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** setText sets node's text only when it differs (no needless layout). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fmts = [0, 1, 2].map((d) => new Intl.NumberFormat('en-US', { minimumFractionDigits: 0, maximumFractionDigits: d }));

/** num formats v with at most digits decimals; null and NaN as "-". */
export function num(v, digits = 0) {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  return digits === 0 ? intFmt.format(v) : fmts[Math.min(digits, 2)].format(v);
}

/** bytes formats a size in B, KiB, MiB or GiB. */
export function bytes(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${num(v, i === 0 ? 0 : 1)} ${units[i]}`;
}

/** duration formats milliseconds as 1h 2m 3s. */
export function duration(ms) {
  if (!(ms >= 0)) return '-';
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return (h ? `${h}h ` : '') + (h || m ? `${m}m ` : '') + `${s}s`;
}

/** clock formats epoch milliseconds as local HH:MM:SS. */
export function clock(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** dateTime formats epoch milliseconds as local YYYY-MM-DD HH:MM:SS. */
export function dateTime(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${clock(ms)}`;
}

/** pct formats a percentile (0.95) as its label ("95"). */
export const pctLabel = (p) => String(+(p * 100).toFixed(4));

/** toLogin sends the browser to the login page (it comes back here). */
export function toLogin() { location.assign('login'); }

/**
 * api fetches a path relative to the page. A 401 (the login expired or
 * was never there) goes to the login page; other failures throw with the
 * server's message.
 */
export async function api(path, opts = {}) {
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store', ...opts });
  if (r.status === 401) {
    toLogin();
    throw new Error('not logged in');
  }
  if (!r.ok) throw new Error(`${r.status} ${(await r.text()).trim()}`);
  return r;
}

/** post sends form fields as application/x-www-form-urlencoded. */
export function post(path, fields = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  }
  return api(path, { method: 'POST', body });
}

/** download saves blob as a file named name. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Functions called when the theme changes (the charts redraw). */
export const themeListeners = [];
