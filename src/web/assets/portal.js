// SPDX-License-Identifier: AGPL-3.0-or-later
// The portal page: an outsider's way to send files to a team. It shows the portal's brand and
// terms, asks for the access code when there is one, takes files and folders (picker or drag and
// drop), checks them against the portal's restrictions before any byte is sent (the server
// checks again), then creates the package through the public API and uploads it (upload.js).

import { $, ApiError, announce, api, apiRetry, applyBrand, el, formatBytes, formatDate,
         formatDuration, formatRate, isTransient, plural, showState, waitMinutes } from './common.js';
import { Meter, Upload, acknowledged } from './upload.js';

const page = {
  portal: null,
  code: '',
  files: [], // [{file, path, key}]
  upload: null,
};

/** The portal's subdomain: /portal/{subdomain}, or the first label of {subdomain}.{domain}. */
function subdomain() {
  const m = location.pathname.match(/^\/portal\/([^/]+)\/?$/);
  if (m)
    return decodeURIComponent(m[1]);
  return location.hostname.split('.')[0];
}

/** The portal's rules that the page checks itself. */
function rules() {
  const p = page.portal;
  const sized = p.package_size_restriction_enabled;
  return {
    types: p.file_type_restriction_enabled ? (p.file_types || []).map((t) => t.toLowerCase()) : [],
    exclude: !!p.file_type_restriction_exclude,
    maxFile: sized && p.max_file_size > 0 ? p.max_file_size : 0,
    maxCount: sized && p.max_file_count > 0 ? p.max_file_count : 0,
    maxPackage: sized && p.max_package_size > 0 ? p.max_package_size : 0,
  };
}

/** Why the portal refuses @file, or ''. */
function refusal(file) {
  const r = rules();
  const name = file.name.toLowerCase();
  if (r.types.length) {
    const hit = r.types.some((t) => name.length > t.length && name.endsWith(t));
    if (hit === r.exclude) {
      const dot = name.lastIndexOf('.');
      const ext = dot > 0 ? name.slice(dot) : 'without an extension';
      return `${file.name}: files ${dot > 0 ? 'of type ' : ''}${ext} are not accepted here`;
    }
  }
  if (r.maxFile && file.size > r.maxFile)
    return `${file.name}: ${formatBytes(file.size)} is more than the ${formatBytes(r.maxFile)} a file may have here`;
  return '';
}

/** The portal's name format as a regular expression, or null when unset or not one in JS. */
function nameFormat() {
  const p = page.portal;
  const f = p.package_name_format;
  if (!p.package_name_format_enabled || !f?.value)
    return null;
  try {
    return new RegExp(f.value, 'u');
  } catch {
    return null; // PCRE the browser cannot read: the server alone checks it
  }
}

function setError(id, text) {
  const e = $(id);
  e.textContent = text || '';
  e.hidden = !text;
  const field = e.closest('.field');
  field?.classList.toggle('invalid', !!text);
  const input = field?.querySelector('input, textarea');
  if (input && input.type !== 'file')
    input.setAttribute('aria-invalid', text ? 'true' : 'false');
}

/* ---- the portal itself ---- */

function renderPortal() {
  const p = page.portal;
  document.title = `${p.name} · Upload files`;
  $('portal-name').textContent = p.name;
  if (p.message) {
    $('portal-message').textContent = p.message;
    $('portal-message').hidden = false;
  }
  applyBrand(p, $('logo'));

  const f = p.package_name_format;
  if (p.package_name_format_enabled && f?.value) {
    $('name-hint').textContent = f.label ? `Format: ${f.label}` : `Format: ${f.value}`;
    $('name-hint').hidden = false;
  }

  const r = rules();
  const list = $('rules');
  list.replaceChildren();
  if (r.types.length)
    list.append(el('li', { text: `${r.exclude ? 'Not accepted' : 'Accepted types'}: ${r.types.join(', ')}` }));
  if (r.maxFile)
    list.append(el('li', { text: `Files up to ${formatBytes(r.maxFile)}` }));
  if (r.maxCount)
    list.append(el('li', { text: `Up to ${plural(r.maxCount, 'file', 'files')} per package` }));
  if (r.maxPackage)
    list.append(el('li', { text: `Up to ${formatBytes(r.maxPackage)} in all` }));
  const until = p.expiry_enabled ? formatDate(p.expiry) : '';
  if (until)
    list.append(el('li', { text: `Open until ${until}` }));
  list.hidden = !list.children.length;
  if (r.types.length && !r.exclude)
    $('file-input').accept = r.types.join(',');

  const tos = p.terms_of_service;
  if (p.terms_of_service_enabled && tos) {
    $('terms').hidden = false;
    $('terms-title').textContent = tos.title || 'Terms of service';
    $('terms-description').textContent = tos.description || '';
    $('terms-description').hidden = !tos.description;
    $('terms-label').textContent = tos.checkbox_label || 'I agree to the terms of service';
    if (tos.checkbox_url && /^https?:\/\//i.test(tos.checkbox_url)) {
      $('terms-link').href = tos.checkbox_url;
      $('terms-link-row').hidden = false;
    }
  }
}

async function load() {
  try {
    page.portal = await apiRetry('GET', `/v1/subdomains/portals/${encodeURIComponent(subdomain())}`,
                                 {}, 4);
  } catch (e) {
    showState('missing');
    return;
  }
  renderPortal();
  // A code this tab gave before (a reload) is tried again rather than asked for.
  const kept = page.portal.has_access_code ? sessionStorage.getItem(codeKey()) : null;
  if (kept) {
    try {
      await api('POST', `/v1/portals/${page.portal.id}/access`, { body: { access_code: kept } });
      page.code = kept;
    } catch {
      sessionStorage.removeItem(codeKey());
    }
  }
  const gate = page.portal.has_access_code && !page.code;
  offerResume();
  showState(gate ? 'gate' : 'form', { focus: false });
  (gate ? $('access-code') : $('sender')).focus();
}

/** Where this tab keeps the access code it was given. */
function codeKey() {
  return `consign.portal.${page.portal.id}.code`;
}

/* ---- the access code ---- */

function waitText(e) {
  return `Too many attempts. Wait ${plural(waitMinutes(e), 'minute', 'minutes')} before you try again.`;
}

async function checkCode(ev) {
  ev.preventDefault();
  const code = $('access-code').value;
  if (!code) {
    setError('gate-error', 'Enter the access code.');
    $('access-code').focus();
    return;
  }
  $('gate-submit').disabled = true;
  try {
    await api('POST', `/v1/portals/${page.portal.id}/access`, { body: { access_code: code } });
    page.code = code;
    sessionStorage.setItem(codeKey(), code);
    setError('gate-error', '');
    showState('form', { focus: false });
    $('sender').focus();
  } catch (e) {
    if (e.status === 429)
      setError('gate-error', waitText(e));
    else if (e.status === 401)
      setError('gate-error', 'That access code is not right. Check it and try again.');
    else if (e.status === 403 || e.status === 404)
      showState('missing');
    else
      setError('gate-error', e.message);
    $('access-code').select();
  } finally {
    $('gate-submit').disabled = false;
  }
}

/* ---- choosing files ---- */

function addFiles(list) {
  const problems = [];
  const known = new Set(page.files.map((f) => f.key));
  for (const { file, path } of list) {
    const key = `${path}/${file.name}/${file.size}`;
    if (known.has(key))
      continue;
    const why = refusal(file);
    if (why) {
      problems.push(why);
      continue;
    }
    known.add(key);
    page.files.push({ file, path, key });
  }
  setError('files-error', problems.length ? problems.join('. ') + '.' : '');
  renderFiles();
}

/** The folder of a file chosen with the folder picker ("shoot/day1" of "shoot/day1/a.mov"). */
function folderOf(file) {
  const rel = file.webkitRelativePath || '';
  const cut = rel.lastIndexOf('/');
  return cut > 0 ? rel.slice(0, cut) : '';
}

function fromInput(input) {
  addFiles([...input.files].map((file) => ({ file, path: folderOf(file) })));
  input.value = '';
}

function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

/** Every file under a dropped entry, with the folders that lead to it. */
async function walk(entry, dir, out) {
  if (entry.isFile) {
    out.push({ file: await entryFile(entry), path: dir });
  } else if (entry.isDirectory) {
    const sub = dir ? `${dir}/${entry.name}` : entry.name;
    const reader = entry.createReader();
    for (;;) {
      const batch = await readEntries(reader);
      if (!batch.length)
        break;
      for (const e of batch)
        await walk(e, sub, out);
    }
  }
}

async function onDrop(ev) {
  ev.preventDefault();
  $('drop').classList.remove('over');
  if (page.upload)
    return;
  // The entries must be taken before the first await: the drop's data goes away after it.
  const items = [...(ev.dataTransfer?.items || [])];
  const entries = items.map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  const out = [];
  if (entries.length) {
    for (const e of entries)
      await walk(e, '', out);
  } else {
    for (const file of ev.dataTransfer?.files || [])
      out.push({ file, path: '' });
  }
  addFiles(out);
}

function renderFiles() {
  const list = $('file-list');
  list.replaceChildren(...page.files.map((f, i) => {
    const shown = f.path ? `${f.path}/${f.file.name}` : f.file.name;
    const remove = el('button', { type: 'button', class: 'icon remove', 'aria-label': `Remove ${shown}`, title: 'Remove' });
    remove.textContent = '×';
    remove.addEventListener('click', () => {
      page.files.splice(i, 1);
      renderFiles();
      (list.querySelectorAll('button.remove')[i] || $('pick-files')).focus();
    });
    return el('li', { class: 'file' },
      el('span', { class: 'file-name', text: shown, title: shown }),
      el('span', { class: 'file-size', text: formatBytes(f.file.size) }), remove);
  }));
  const total = page.files.reduce((n, f) => n + f.file.size, 0);
  $('file-count').textContent = `${plural(page.files.length, 'file', 'files')} · ${formatBytes(total)}`;
  $('file-summary').hidden = !page.files.length;
}

/* ---- sending ---- */

/* Each check shows its field's problem (or clears it) and returns the control to focus, or
 * null when the field is fine. */

function checkSender() {
  const sender = $('sender');
  const bad = !sender.value.trim() || !sender.checkValidity();
  setError('sender-error', bad ? 'Enter your e-mail address, such as name@example.com.' : '');
  return bad ? sender : null;
}

function checkName() {
  const name = $('package-name');
  const re = nameFormat();
  const label = page.portal.package_name_format?.label;
  let why = '';
  if (!name.value.trim())
    why = 'Give the package a name.';
  else if (re && !re.test(name.value.trim()))
    why = `The name does not have the format this portal asks for${label ? `: ${label}` : ''}.`;
  setError('name-error', why);
  return why ? name : null;
}

function checkFiles() {
  const r = rules();
  const total = page.files.reduce((n, f) => n + f.file.size, 0);
  let why = '';
  if (!page.files.length)
    why = 'Add at least one file.';
  else if (r.maxCount && page.files.length > r.maxCount)
    why = `This portal takes at most ${plural(r.maxCount, 'file', 'files')}; remove ${page.files.length - r.maxCount}.`;
  else if (r.maxPackage && total > r.maxPackage)
    why = `These files add up to ${formatBytes(total)}, more than the ${formatBytes(r.maxPackage)} this portal takes.`;
  setError('files-error', why);
  return why ? $('pick-files') : null;
}

function checkTerms() {
  const bad = !$('terms').hidden && !$('terms-check').checked;
  setError('terms-error', bad ? 'Tick the box to accept the terms before you send.' : '');
  return bad ? $('terms-check') : null;
}

/** Checks the form; the first problem's field gets the focus. True when all is well. */
function validate() {
  const bad = [checkSender(), checkName(), checkFiles(), checkTerms()].filter(Boolean);
  bad[0]?.focus();
  return !bad.length;
}

/** Once a field was found wrong, it is checked again as it is corrected. */
function recheck(input, check) {
  input.addEventListener('input', () => {
    if (input.getAttribute('aria-invalid') === 'true')
      check();
  });
}

async function send(ev) {
  ev.preventDefault();
  setError('form-error', '');
  if (!validate())
    return;
  $('send').disabled = true;
  const earlier = savedUpload();
  if (earlier && matchSaved(earlier)) {
    startUpload({ id: earlier.package_id, access_token: earlier.token, name: earlier.name,
                  sender: earlier.sender }, earlier);
    return;
  }
  if (earlier)
    discardSaved(earlier); // other files: that upload is given up for this one
  let pkg;
  try {
    pkg = await apiRetry('POST', `/v1/portals/${page.portal.id}/packages`, {
      body: {
        name: $('package-name').value.trim(),
        sender: $('sender').value.trim(),
        description: $('description').value,
        access_code: page.code || undefined,
      },
    }, 3);
  } catch (e) {
    $('send').disabled = false;
    refused(e);
    return;
  }
  startUpload(pkg);
}

/** Shows why the server refused the package. */
function refused(e) {
  if (e.status === 401 && page.portal.has_access_code) {
    setError('gate-error', 'The access code has changed. Enter the new one.');
    showState('gate');
    return;
  }
  if (e.status === 429) {
    setError('form-error', waitText(e));
    return;
  }
  if (e.status === 403 || e.status === 404) {
    showState('missing');
    return;
  }
  const m = e.message || 'The portal refused the package.';
  if (/^name:/.test(m))
    setError('name-error', m.replace(/^name:\s*/, 'The name ') + '.');
  else if (/^sender:/.test(m))
    setError('sender-error', 'Enter a valid e-mail address.');
  else
    setError('form-error', m);
}

function progressRows() {
  return page.files.map((f) => {
    const shown = f.path ? `${f.path}/${f.file.name}` : f.file.name;
    const bar = el('progress', { max: '1', value: '0', 'aria-label': `Progress of ${shown}` });
    const status = el('span', { class: 'file-status', text: 'Waiting' });
    const li = el('li', { class: 'file' },
      el('span', { class: 'file-name', text: shown, title: shown }),
      el('span', { class: 'file-size', text: formatBytes(f.file.size) }), status, bar);
    return { li, bar, status };
  });
}

/* ---- resuming after a reload ----
 * While an upload runs, what it takes to resume it is kept in this browser (localStorage): the
 * package, its token and, per file, the parts the server acknowledged. A page opened later on
 * this portal offers to resume it: the same files chosen again (the browser cannot keep them),
 * the parts already there are not sent again. It is removed when the upload ends, is cancelled
 * or is refused. */

function savedKey() {
  return `consign.upload.${page.portal.id}`;
}

/** The interrupted upload kept for this portal, or null. */
function savedUpload() {
  try {
    const s = JSON.parse(localStorage.getItem(savedKey()));
    return s?.package_id && s.token && Array.isArray(s.files) ? s : null;
  } catch {
    return null;
  }
}

/** Whether the files chosen are exactly those of @saved (by folder, name, size and date). */
function matchSaved(saved) {
  if (saved.files.length !== page.files.length)
    return false;
  return saved.files.every((s) => page.files.some(({ file, path }) =>
    path === s.path && file.name === s.name && file.size === s.size && file.lastModified === s.modified));
}

/** Forgets the upload kept for this portal: the form sends anew. */
function forgetSaved() {
  localStorage.removeItem(savedKey());
  $('resume').hidden = true;
  $('send').textContent = 'Send files';
}

/** Forgets @saved and removes its package (best effort). */
function discardSaved(saved) {
  forgetSaved();
  api('DELETE', `/v1/packages/${saved.package_id}`, { headers: { 'X-Package-Token': saved.token } })
    .catch(() => {});
}

/** Offers to resume an upload this browser did not finish, its fields filled in again. */
function offerResume() {
  const saved = savedUpload();
  if (!saved)
    return;
  const total = saved.files.reduce((n, f) => n + f.size, 0);
  const sent = saved.files.reduce((n, f) => n + acknowledged(f), 0);
  $('resume-text').textContent =
    `An upload of ${plural(saved.files.length, 'file', 'files')} (${formatBytes(sent)} of ` +
    `${formatBytes(total)} sent) did not finish. Choose the same files again to send the rest.`;
  $('resume').hidden = false;
  $('sender').value = saved.sender || '';
  $('package-name').value = saved.name || '';
  $('description').value = saved.description || '';
  $('send').textContent = 'Resume upload';
}

function startUpload(pkg, earlier = null) {
  const upload = new Upload(pkg.id, pkg.access_token, page.files.map(({ file, path }) => {
    const s = earlier?.files.find((x) => x.path === path && x.name === file.name);
    return s ? { file, path, fileId: s.fileId, uploadId: s.uploadId, chunk: s.chunk, etags: s.etags,
                 done: s.done } : { file, path };
  }));
  page.upload = upload;
  const keep = () => localStorage.setItem(savedKey(), JSON.stringify({
    ...upload.state(), name: pkg.name ?? $('package-name').value.trim(),
    sender: pkg.sender ?? $('sender').value.trim(), description: $('description').value,
  }));
  let keeping = 0;
  upload.addEventListener('saved', () => {
    if (!keeping)
      keeping = setTimeout(() => { keeping = 0; if (page.upload === upload) keep(); }, 500);
  });
  keep();
  $('resume').hidden = true;
  const rows = progressRows();
  $('progress-list').replaceChildren(...rows.map((r) => r.li));
  $('overall-bar').value = 0;
  $('overall-percent').textContent = '0%';
  $('overall-eta').textContent = '';
  $('cancel').disabled = false;
  showState('sending');

  const meter = new Meter();
  let frame = 0;
  let spoken = -1;
  const paint = () => {
    frame = 0;
    const sent = upload.sent;
    const total = upload.total || 1;
    const ratio = upload.total ? sent / total : 0;
    const pct = Math.floor(ratio * 100);
    const rate = meter.sample(sent);
    $('overall-bar').value = ratio;
    $('overall-percent').textContent = `${pct}%`;
    $('overall-detail').textContent = `${formatBytes(sent)} of ${formatBytes(upload.total)}`;
    $('overall-eta').textContent = rate > 0
      ? `${formatRate(rate)} · about ${formatDuration((total - sent) / rate)} left` : '';
    upload.items.forEach((it, i) => {
      const r = rows[i];
      const s = upload.fileSent(it);
      r.bar.value = it.size ? s / it.size : (it.done ? 1 : 0);
      if (!it.done && (s > 0 || it.inflight.size))
        r.status.textContent = `${Math.floor((it.size ? s / it.size : 0) * 100)}%`;
    });
    // Screen readers hear every tenth.
    if (Math.floor(pct / 10) !== spoken) {
      spoken = Math.floor(pct / 10);
      const done = upload.items.filter((it) => it.done).length;
      announce($('live'), `${pct}% sent, ${done} of ${plural(upload.items.length, 'file', 'files')} complete.`);
    }
  };
  upload.addEventListener('progress', () => {
    if (!frame)
      frame = requestAnimationFrame(paint);
  });
  upload.addEventListener('file', (ev) => {
    const r = rows[ev.detail];
    r.bar.value = 1;
    r.status.textContent = 'Done';
    r.li.classList.add('complete');
    paint();
  });
  const ticker = setInterval(paint, 1000);
  window.addEventListener('beforeunload', guard);

  upload.start().then(() => {
    paint();
    finished(pkg, upload);
  }, (e) => {
    if (e?.name === 'AbortError' && page.upload !== upload)
      return; // cancelled: the cancel button showed its page
    failed(e, upload);
  }).finally(() => {
    clearInterval(ticker);
    window.removeEventListener('beforeunload', guard);
  });
}

function guard(ev) {
  ev.preventDefault();
  ev.returnValue = '';
}

function finished(pkg, upload) {
  page.upload = null;
  forgetSaved();
  const n = upload.items.length;
  $('done-summary').textContent =
    `${plural(n, 'file', 'files')} (${formatBytes(upload.total)}) delivered to ${page.portal.name}.`;
  $('done-detail').textContent = `Package “${pkg.name}”, sent by ${pkg.sender || $('sender').value.trim()}.`;
  page.files = [];
  renderFiles();
  $('send').disabled = false;
  showState('done');
}

function failed(e, upload) {
  page.upload = null;
  $('send').disabled = false;
  let why = e?.message || 'Something went wrong.';
  if (isTransient(e)) {
    // The network or the server is away: what was sent stays, and trying again sends the rest.
    if (e instanceof ApiError && e.status === 0)
      why = 'The connection to the server was lost and did not come back.';
    $('failed-why').textContent = `${why} What was sent is kept: try again to send the rest.`;
    $('send').textContent = 'Resume upload';
  } else {
    upload.cancel();
    forgetSaved();
    $('failed-why').textContent = `${why} Nothing was delivered; your files are still selected.`;
  }
  showState('failed');
}

async function cancel() {
  const upload = page.upload;
  if (!upload)
    return;
  page.upload = null;
  $('cancel').disabled = true;
  forgetSaved();
  await upload.cancel();
  $('send').disabled = false;
  showState('cancelled');
}

function backToForm() {
  showState('form', { focus: false });
  $('send').focus();
}

/* ---- wiring ---- */

function wire() {
  $('gate-form').addEventListener('submit', checkCode);
  $('upload-form').addEventListener('submit', send);
  $('pick-files').addEventListener('click', () => $('file-input').click());
  $('pick-folder').addEventListener('click', () => $('folder-input').click());
  $('file-input').addEventListener('change', (ev) => fromInput(ev.target));
  $('folder-input').addEventListener('change', (ev) => fromInput(ev.target));
  $('clear-files').addEventListener('click', () => {
    page.files = [];
    setError('files-error', '');
    renderFiles();
    $('pick-files').focus();
  });
  const drop = $('drop');
  for (const t of ['dragenter', 'dragover'])
    drop.addEventListener(t, (ev) => {
      ev.preventDefault();
      drop.classList.add('over');
    });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', onDrop);
  // A file dropped beside the zone is not opened by the browser in place of the page.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => ev.preventDefault());
  $('cancel').addEventListener('click', cancel);
  $('again').addEventListener('click', backToForm);
  $('retry').addEventListener('click', backToForm);
  $('discard').addEventListener('click', () => {
    const saved = savedUpload();
    if (saved)
      discardSaved(saved);
    $('sender').focus();
  });
  $('back').addEventListener('click', backToForm);
  $('terms-check').addEventListener('change', () => {
    if ($('terms-check').checked)
      setError('terms-error', '');
  });
  recheck($('sender'), checkSender);
  recheck($('package-name'), checkName);
}

wire();
load();
