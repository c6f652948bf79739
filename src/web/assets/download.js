// SPDX-License-Identifier: AGPL-3.0-or-later
// The download page a link opens (/download/{link_id}?secret=…): it resolves the link (asking
// for its password when it has one), lists the package's files by folder, and downloads one
// file or the whole package as a zip through the signed URLs the API hands out. Opening a link
// counts against its access limit, so the download token it gives is kept for this tab: a
// reload does not count again.

import { $, api, apiRetry, el, formatBytes, formatDate, plural, showState, waitMinutes } from './common.js';

const linkId = decodeURIComponent(location.pathname.split('/')[2] || '');
const secret = new URLSearchParams(location.search).get('secret') || '';
const KEPT = `consign.link.${linkId}`;
const LINK_PASSWORD = 2009;
const ACCESS_LIMIT = 2006;

let link = null; // the link's answer: package_id, name, package_token, …

function tokenHeaders() {
  return { 'X-Package-Token': link.package_token };
}

function problem(title, text) {
  $('problem-title').textContent = title;
  $('problem-text').textContent = text;
  document.title = title;
  showState('problem');
}

function setPasswordError(text) {
  $('password-error').textContent = text;
  $('password-error').hidden = !text;
  $('password').setAttribute('aria-invalid', text ? 'true' : 'false');
}

/** Shows what a refused link means to the person holding it. */
function refused(e, password) {
  if (e.status === 401 && e.code === LINK_PASSWORD) {
    showState('password', { focus: !password });
    setPasswordError(password ? 'That password is not right. Check it and try again.' : '');
    $('password').select();
    $('password').focus();
    return;
  }
  if (e.status === 401 || e.status === 404 || e.status === 400)
    return problem('This link is not valid',
      'Check that you opened the whole address from the message you received.');
  if (e.status === 403 && e.code === ACCESS_LIMIT)
    return problem('This link has been used up',
      'It could be opened only a limited number of times, and that many downloads have been made. Ask the sender for a new link.');
  if (e.status === 410) {
    if (/link was deleted/.test(e.message))
      return problem('This link was withdrawn', 'The sender no longer shares these files through it.');
    if (/link has expired/.test(e.message))
      return problem('This link has expired', 'Ask the sender for a new link.');
    return problem('These files are no longer available',
      'They were kept for a limited time, which has passed, or the sender deleted them.');
  }
  if (e.status === 409)
    return problem('These files are not ready yet',
      'The sender has not finished uploading them. Try again in a few minutes.');
  if (e.status === 429)
    return problem('Too many attempts', `Wait ${plural(waitMinutes(e), 'minute', 'minutes')}, then open the link again.`);
  return problem('Something went wrong', e.message || 'The server could not open the link.');
}

/** The link, resolved now (counted as an access) or as this tab resolved it before with the
 * same secret. */
async function resolve(password) {
  try {
    const kept = JSON.parse(sessionStorage.getItem(KEPT));
    if (kept?.secret === secret && kept.link?.package_token)
      return { link: kept.link, kept: true };
  } catch {
    // nothing usable kept
  }
  sessionStorage.removeItem(KEPT);
  const headers = password ? { 'X-Link-Password': password } : {};
  const doc = await api('GET', `/v1/links/${encodeURIComponent(linkId)}?secret=${encodeURIComponent(secret)}`,
                        { headers });
  sessionStorage.setItem(KEPT, JSON.stringify({ secret, link: doc }));
  return { link: doc, kept: false };
}

async function open(password) {
  let files;
  try {
    const r = await resolve(password);
    link = r.link;
    try {
      files = await apiRetry('GET', `/v1/packages/${link.package_id}/files`, { headers: tokenHeaders() });
    } catch (e) {
      if (!r.kept || ![401, 403, 404, 410].includes(e.status))
        throw e;
      // What this tab kept no longer opens the package: ask the link again.
      sessionStorage.removeItem(KEPT);
      return open(password);
    }
  } catch (e) {
    refused(e, password);
    return;
  }
  render(files);
}

/** The files grouped by folder: [[path, [file…]]…], the top level first, folders by name. */
function byFolder(files) {
  const groups = new Map();
  for (const f of files) {
    const k = f.path || '';
    if (!groups.has(k))
      groups.set(k, []);
    groups.get(k).push(f);
  }
  const keys = [...groups.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
  return keys.map((k) => [k, groups.get(k).sort((a, b) => a.name.localeCompare(b.name))]);
}

function render(all) {
  const files = all.filter((f) => f.kind === 'file');
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  const zip = all.find((f) => f.kind === (mac ? 'zip_mac' : 'zip_windows')) ||
              all.find((f) => f.kind.startsWith('zip'));
  document.title = `${link.name} · Download`;
  $('title').textContent = link.name;
  $('sender').textContent = link.sender_email || 'Unknown';
  $('size').textContent = formatBytes(link.package_size);
  $('count').textContent = plural(files.length, 'file', 'files');
  const until = formatDate(link.expiry);
  $('expiry').textContent = until;
  $('expiry-row').hidden = !until;

  const all_ = $('download-all');
  all_.hidden = !zip;
  if (zip) {
    $('download-all-label').textContent = `Download everything (.zip, ${formatBytes(zip.size)})`;
    all_.onclick = () => download(zip.id, 'The zip of every file');
  }

  const tree = $('tree');
  tree.replaceChildren();
  for (const [path, group] of byFolder(files)) {
    const list = el('ul', { class: 'file-list' });
    for (const f of group) {
      const btn = el('button', { type: 'button', class: 'secondary small', 'aria-label': `Download ${f.name}` });
      btn.textContent = 'Download';
      btn.addEventListener('click', () => download(f.id, f.name));
      list.append(el('li', { class: 'file' },
        el('span', { class: 'file-name', text: f.name, title: f.name }),
        el('span', { class: 'file-size', text: formatBytes(f.size) }), btn));
    }
    if (path) {
      const folder = el('div', { class: 'folder' },
        el('h3', { class: 'folder-name' }, folderIcon(), el('span', { text: path })), list);
      tree.append(folder);
    } else {
      tree.append(list);
    }
  }
  showState('package');
}

function folderIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'folder-icon');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', 'M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2.5h8.5A1.5 1.5 0 0 1 21 9v8.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5Z');
  svg.append(p);
  return svg;
}

/** Downloads file @id (or a zip entry) through its signed URL; the browser saves it. */
async function download(id, label) {
  const status = $('download-status');
  const err = $('download-error');
  err.hidden = true;
  status.textContent = `Preparing ${label}…`;
  try {
    const bp = await apiRetry('GET', `/v1/packages/${link.package_id}/files/${encodeURIComponent(id)}/download`,
                              { headers: tokenHeaders() });
    const a = el('a', { href: bp.url, download: '', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    status.textContent = `${label}: the download has started. Your browser shows its progress.`;
  } catch (e) {
    status.textContent = '';
    if (e.status === 410 || e.status === 401) {
      sessionStorage.removeItem(KEPT);
      refused(e);
      return;
    }
    err.textContent = `${label} could not be downloaded: ${e.message}`;
    err.hidden = false;
  }
}

$('password-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const pw = $('password').value;
  if (!pw) {
    setPasswordError('Enter the password.');
    $('password').focus();
    return;
  }
  $('password-submit').disabled = true;
  open(pw).finally(() => { $('password-submit').disabled = false; });
});

if (!linkId || !secret)
  problem('This link is not valid', 'Check that you opened the whole address from the message you received.');
else
  open('');
