// SPDX-License-Identifier: AGPL-3.0-or-later
// What the portal and download pages share: calls to consign's API, the words for sizes, times
// and dates, the page states and the portal's brand. No framework: the DOM as it is.

/** An answer of the API that is not a success: its status, registry code and message. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || `the server answered ${status}`);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Whether @e is worth trying again: the network, a server busy or restarting, a time-out. */
export function isTransient(e) {
  if (e instanceof ApiError)
    return e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500;
  return e instanceof TypeError; // fetch: the network failed
}

/** Waits @ms milliseconds, or less when @signal aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/** The back-off before attempt @n (1-based) of something that failed: 1 s, 2 s, 4 s … 30 s. */
export function backoff(n) {
  const base = Math.min(30000, 1000 * 2 ** (n - 1));
  return base / 2 + Math.random() * base / 2;
}

/**
 * One call of the API: @method on @path with the JSON @body (or none) and @headers. Resolves to
 * the parsed JSON (null for an empty answer); rejects with an ApiError.
 */
export async function api(method, path, { body, headers = {}, signal } = {}) {
  const init = { method, headers: { ...headers }, signal, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError')
      throw e;
    throw new ApiError(0, 0, 'The server cannot be reached. Check your connection.');
  }
  const text = await r.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null;
  }
  if (!r.ok) {
    const err = doc?.errors?.[0];
    throw new ApiError(r.status, err?.code ?? 0, doc?.message,
                       Number(r.headers.get('Retry-After')) || 0);
  }
  return doc;
}

/**
 * fn() again on transient failures, with back-off (or the server's Retry-After), up to
 * @attempts times in all; @beforeRetry() runs before each new attempt. Stops when @signal
 * aborts.
 */
export async function retrying(fn, { attempts = 6, signal, beforeRetry } = {}) {
  for (let n = 1; ; n++) {
    try {
      return await fn();
    } catch (e) {
      if (n >= attempts || !isTransient(e) || signal?.aborted)
        throw e;
      await sleep(e.retryAfter ? e.retryAfter * 1000 : backoff(n), signal);
      await beforeRetry?.();
    }
  }
}

/** api() again on transient failures, with back-off, up to @attempts times. */
export function apiRetry(method, path, opts = {}, attempts = 6) {
  return retrying(() => api(method, path, opts), { attempts, signal: opts.signal });
}

/** The whole minutes a refusal (429) says to wait, at least one. */
export function waitMinutes(e) {
  return Math.max(1, Math.ceil((e.retryAfter || 60) / 60));
}

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** @n bytes for people: "512 bytes", "1.5 MB", "300 GB" (decimal units, as disks are sold). */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0)
    return '';
  if (n < 1000)
    return n === 1 ? '1 byte' : `${n} bytes`;
  let i = 0;
  while (n >= 1000 && i < UNITS.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n >= 100 ? Math.round(n) : n.toFixed(n >= 10 ? 1 : 2)} ${UNITS[i]}`;
}

/** A transfer rate in bytes per second. */
export function formatRate(bps) {
  return `${formatBytes(Math.round(bps))}/s`;
}

/** @s seconds for people: "45 s", "12 min", "2 h 5 min". */
export function formatDuration(s) {
  if (!Number.isFinite(s) || s < 0)
    return '';
  s = Math.ceil(s);
  if (s < 60)
    return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60)
    return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** The unset time of the API. */
const ZERO_TIME = '0001-01-01T00:00:00.000Z';

/** An ISO 8601 time as a date in the reader's own words, or '' when unset. */
export function formatDate(iso) {
  if (!iso || iso === ZERO_TIME)
    return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()))
    return '';
  return d.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
}

/** "1 file", "3 files". */
export function plural(n, one, many) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** Shortcut for document.getElementById. */
export const $ = (id) => document.getElementById(id);

/**
 * A new element: el('li', {class: 'x', text: 'y'}, child…). Attributes are set as attributes,
 * except "text" (textContent); never HTML, so nothing a portal or uploader wrote is markup.
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false)
      continue;
    if (k === 'text')
      e.textContent = v;
    else
      e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children)
    if (c !== null && c !== undefined)
      e.append(c);
  return e;
}

/** Shows the <section data-state> named @name, hides the others, and moves focus to it. */
export function showState(name, { focus = true } = {}) {
  let shown = null;
  for (const s of document.querySelectorAll('[data-state]')) {
    s.hidden = s.dataset.state !== name;
    if (!s.hidden)
      shown = s;
  }
  document.body.dataset.current = name;
  if (focus && shown) {
    const h = shown.querySelector('h1, h2');
    if (h) {
      h.tabIndex = -1;
      h.focus({ preventScroll: false });
    }
  }
  return shown;
}

/** Whether @c is an HTML hex colour (#abc or #aabbcc). */
function isHexColor(c) {
  return typeof c === 'string' && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(c);
}

/** @c as [r, g, b] from 0 to 255. */
function rgb(c) {
  let h = c.slice(1);
  if (h.length === 3)
    h = [...h].map((x) => x + x).join('');
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
}

/** The relative luminance of an sRGB colour (WCAG 2). */
function luminance([r, g, b]) {
  const f = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}

/** The contrast ratio of two colours (WCAG 2), from 1 to 21. */
function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const WHITE = [255, 255, 255];
const INK = [17, 20, 24];
/** The lightest ground the brand's colour is text on (--wash, behind the terms). */
const WASH = [246, 248, 250];

/** Whether @url is an absolute http(s) URL, the only kind a brand image may come from. */
function isWebUrl(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Puts a portal's brand on the page: its primary colour, its background image and its logo (in
 * @logo, an <img>, with the portal's name as its text alternative). Whatever the colour, text
 * stays readable (WCAG AA, 4.5:1): on the colour, white or ink, whichever contrasts more; in
 * the colour on the page's light grounds (links), the colour darkened as far as it takes.
 */
export function applyBrand(portal, logo) {
  const root = document.documentElement.style;
  if (isHexColor(portal.primary_color)) {
    const c = rgb(portal.primary_color);
    root.setProperty('--brand', portal.primary_color);
    root.setProperty('--on-brand', contrast(c, WHITE) >= contrast(c, INK) ? '#ffffff' : '#111418');
    let ink = c;
    for (let i = 0; i < 40 && contrast(ink, WASH) < 4.6; i++)
      ink = ink.map((v) => Math.floor(v * 0.92));
    root.setProperty('--brand-ink', `rgb(${ink.join(', ')})`);
  }
  if (portal.background_url && isWebUrl(portal.background_url)) {
    document.documentElement.classList.add('has-backdrop');
    root.setProperty('--backdrop', `url("${encodeURI(portal.background_url).replace(/"/g, '%22')}")`);
  }
  if (logo && portal.logo_url && isWebUrl(portal.logo_url)) {
    logo.alt = portal.name || '';
    logo.addEventListener('error', () => { logo.hidden = true; }, { once: true });
    logo.src = portal.logo_url;
    logo.hidden = false;
  }
}

/** A live region's text, replaced only when it says something new (screen readers). */
export function announce(region, text) {
  if (region.textContent !== text)
    region.textContent = text;
}
