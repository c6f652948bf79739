// SPDX-License-Identifier: AGPL-3.0-or-later
// The portal page in a real browser, as an outsider uses it: the portal's brand, terms and
// message; the access code (wrong, right, too many attempts); files refused by type or size
// before any byte is sent; a folder with a file of several parts uploaded with progress to the
// end, the package then finalized in the team's portal list with the right bytes (SHA-256,
// fetched through the API); files dropped on the page; a part whose connection is cut sent again
// by itself; cancel; a server killed mid-upload and started again; a phone-sized screen and the
// keyboard; a large file sent with the page's memory flat; and the page of a portal that does
// not exist.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { MIB, PORTAL_DOMAIN, SCALE, Server, brandServer, cleanup, launch, sha256, shot, tempDir, unique,
         watch, watchedPage, writeBytes, writeRandom } from './harness.mjs';

const CODE = 'open-sesame-42';

let srv, brand, browser, key, teamId, portal, allowed;

before(async () => {
  // Idle connections go after 10 s: a part whose page was closed under it is given up soon.
  srv = await new Server(['--portal-domain', PORTAL_DOMAIN, '--conn-timeout', '10']).start();
  brand = await brandServer();
  browser = await launch();
  const team = srv.team('portal');
  key = team.api_key;
  teamId = team.team_id;
  portal = await srv.ok('POST', `/v1/teams/${teamId}/portals`, {
    key,
    body: {
      name: 'Northlight Pictures — Dailies',
      subdomain: unique('dailies'),
      active: true,
      message: 'Send today\'s camera cards and sound here. Keep the folder structure as it is.',
      logo_url: `${brand.url}/logo.svg`,
      background_url: `${brand.url}/bg.svg`,
      primary_color: '#C2410C',
      has_access_code: true,
      access_code: CODE,
      recipients: ['post@example.org'],
      terms_of_service_enabled: true,
      terms_of_service: {
        title: 'Delivery terms',
        description: 'Material you send stays confidential and is used for this production only.',
        checkbox_label: 'I have the right to send this material',
        checkbox_url: 'https://example.org/terms',
      },
      file_type_restriction_enabled: true,
      file_types: ['.mov', '.wav', '.txt'],
      package_name_format_enabled: true,
      package_name_format: { label: 'JOB-1234 Title', value: '^JOB-[0-9]{4} .+' },
    },
  });
  allowed = [...srv.origins, brand.url];
});

after(async () => {
  await browser?.close();
  await brand?.close();
  await srv?.stop();
  cleanup();
});

test('the access code: a wrong one is refused, the right one opens the form', async () => {
  const { context, page } = await watchedPage(browser, allowed);
  await page.goto(`${srv.url}/portal/${portal.subdomain}`);
  await page.getByRole('heading', { name: 'Enter the access code' }).waitFor();
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), portal.name);
  assert.equal(await page.title(), `${portal.name} · Upload files`);
  // The brand: the logo loaded from the owner's host, the primary colour on the button.
  const logo = page.locator('#logo');
  await logo.waitFor();
  assert.equal(await logo.getAttribute('alt'), portal.name);
  assert.ok(await logo.evaluate((img) => img.complete && img.naturalWidth > 0), 'the logo loads');
  const bg = await page.locator('#gate-submit').evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(bg, 'rgb(194, 65, 12)');
  await shot(page, 'portal-1-access-code');

  await page.getByLabel('Access code').fill('not the code');
  await page.getByLabel('Access code').press('Enter');
  await page.getByText('That access code is not right').waitFor();
  await shot(page, 'portal-2-access-code-wrong');

  await page.getByLabel('Access code').fill(CODE);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Your e-mail address').waitFor();
  assert.ok(await page.getByText(portal.message).isVisible(), 'the portal message is shown');
  assert.ok(await page.getByText('Delivery terms').isVisible(), 'the terms are shown');
  assert.ok(await page.getByText('Accepted types: .mov, .wav, .txt').isVisible());
  assert.ok(await page.getByText('Format: JOB-1234 Title').isVisible());
  assert.equal(await page.evaluate(() => document.activeElement.id), 'sender', 'focus moves to the form');
  await shot(page, 'portal-3-form');
  // A reload in the same tab does not ask again.
  await page.reload();
  await page.getByLabel('Your e-mail address').waitFor();
  assert.ok(await page.getByLabel('Access code').isHidden());
  page.assertClean();
  await context.close();
});

test('too many wrong codes: the page says to wait', async () => {
  const other = await srv.ok('POST', `/v1/teams/${teamId}/portals`, {
    key, body: { name: 'Locked', subdomain: unique('locked'), active: true, has_access_code: true,
                 access_code: 'the-right-one' },
  });
  for (let i = 0; i < 10; i++) {
    const r = await srv.call('POST', `/v1/portals/${other.id}/access`, { body: { access_code: `wrong${i}` } });
    assert.equal(r.status, 401);
  }
  const { context, page } = await watchedPage(browser, allowed);
  await page.goto(`${srv.url}/portal/${other.subdomain}`);
  await page.getByLabel('Access code').fill('the-right-one');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText(/Too many attempts\. Wait \d+ minutes?/).waitFor();
  assert.ok(await page.getByLabel('Access code').isVisible(), 'the form stays closed');
  await shot(page, 'portal-4-too-many-attempts');
  page.assertClean();
  await context.close();
});

test('a folder with a file of several parts is uploaded, finalized and holds the right bytes', async () => {
  const dir = tempDir('folder');
  const files = {
    'shoot/day1/A001_C003.mov': writeRandom(dir, 'shoot/day1/A001_C003.mov', 37 * MIB + 12345),
    'shoot/day1/notes.txt': writeBytes(dir, 'shoot/day1/notes.txt', Buffer.from('Scene 12, take 3: the good one.\n')),
    'shoot/sound/roll_07.wav': writeRandom(dir, 'shoot/sound/roll_07.wav', 3 * MIB + 7),
  };
  writeRandom(dir, 'other/setup.exe', 1000);

  const { context, page } = await watchedPage(browser, allowed);
  await page.goto(`${srv.url}/portal/${portal.subdomain}`);
  await page.getByLabel('Access code').fill(CODE);
  await page.getByLabel('Access code').press('Enter');
  await page.getByLabel('Your e-mail address').waitFor();

  // A type the portal does not take is refused before anything is sent.
  await page.locator('#file-input').setInputFiles(join(dir, 'other/setup.exe'));
  await page.getByText('setup.exe: files of type .exe are not accepted here').waitFor();
  assert.equal(await page.locator('#file-list li').count(), 0);
  await shot(page, 'portal-5-type-refused');

  await page.locator('#folder-input').setInputFiles(join(dir, 'shoot'));
  await page.locator('#file-list li').nth(2).waitFor();
  assert.equal(await page.locator('#file-list li').count(), 3);
  assert.ok(await page.getByText('shoot/day1/A001_C003.mov').isVisible(), 'folders are kept');
  await page.getByLabel('Your e-mail address').fill('Camera.Dept@Example.net');
  await page.getByLabel('Package name').fill('Dailies day 1');
  await page.getByLabel(/Message/).fill('Cards A001 and sound roll 7.');

  // Sent without the terms and with a name of the wrong format: both are pointed out.
  await page.getByRole('button', { name: 'Send files' }).click();
  await page.getByText('The name does not have the format this portal asks for: JOB-1234 Title.').waitFor();
  await page.getByText('Tick the box to accept the terms before you send.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'package-name');
  await shot(page, 'portal-6-form-problems');
  let r = await srv.call('GET', `/v1.1/portals/${portal.id}/packages`, { key });
  assert.equal(r.json.data?.length ?? r.json.length ?? 0, 0, 'nothing was created');

  await page.getByLabel('Package name').fill('JOB-2291 Dailies day 1');
  assert.ok(await page.locator('#name-error').isHidden(), 'a corrected name is no longer marked');
  assert.equal(await page.getByLabel('Package name').getAttribute('aria-invalid'), 'false');
  await page.getByLabel('I have the right to send this material').check();
  assert.ok(await page.locator('#terms-error').isHidden(), 'ticked terms are no longer marked');
  await shot(page, 'portal-7-ready');
  await page.getByRole('button', { name: 'Send files' }).click();
  await page.getByRole('heading', { name: 'Sending your files' }).waitFor();
  await shot(page, 'portal-8-sending');
  await page.getByRole('heading', { name: 'Upload complete' }).waitFor({ timeout: 180000 });
  assert.match(await page.locator('#done-summary').textContent(), /^3 files \(.+\) delivered to Northlight/);
  assert.equal(await page.locator('#overall-percent').textContent(), '100%');
  await shot(page, 'portal-9-done');
  page.assertClean();
  await context.close();

  // The team sees one finalized package of this portal, with the uploader as sender.
  r = await srv.ok('GET', `/v1/portals/${portal.id}/packages`, { key });
  const list = Array.isArray(r) ? r : r.data;
  assert.equal(list.length, 1);
  const pkg = list[0];
  assert.equal(pkg.state, 'finalized');
  assert.equal(pkg.name, 'JOB-2291 Dailies day 1');
  assert.equal(pkg.sender, 'camera.dept@example.net');
  assert.equal(pkg.description, 'Cards A001 and sound roll 7.');
  assert.equal(pkg.total_files, 3);
  const token = pkg.access_token;
  assert.ok(token, 'the owner sees the package token');
  const got = (await srv.ok('GET', `/v1/packages/${pkg.id}/files`, { token })).filter((f) => f.kind === 'file');
  assert.equal(got.length, 3);
  for (const f of got) {
    const rel = `${f.path}/${f.name}`;
    assert.ok(files[rel], `an uploaded file: ${rel}`);
    assert.equal(f.size, files[rel].length, rel);
    const bytes = await srv.fetchFile(pkg.id, f.id, token);
    assert.equal(sha256(bytes), sha256(files[rel]), `the bytes of ${rel}`);
  }
});

/** A portal without code, terms or restrictions, named @name. */
function openPortal(name) {
  return srv.ok('POST', `/v1/teams/${teamId}/portals`, {
    key, body: { name, subdomain: unique('open'), active: true },
  });
}

/** The packages of portal @p in every state, legacy list. */
async function packagesOf(p) {
  const r = await srv.ok('GET', `/v1/portals/${p.id}/packages?new=true&finalized=true&expired=true&archived=true`, { key });
  return Array.isArray(r) ? r : r.data;
}

/** Fills the form of an open portal's page with @file and sends it. */
async function sendFile(page, p, file, name = 'Take') {
  await page.goto(`${srv.url}/portal/${p.subdomain}`);
  await page.getByLabel('Your e-mail address').fill('editor@example.org');
  await page.getByLabel('Package name').fill(name);
  await page.locator('#file-input').setInputFiles(file);
  await page.getByRole('button', { name: 'Send files' }).click();
  await page.getByRole('heading', { name: 'Sending your files' }).waitFor();
}

/** The one finalized package of portal @p holds @data as its one file. */
async function holds(p, data) {
  const list = (await packagesOf(p)).filter((x) => x.state === 'finalized');
  assert.equal(list.length, 1);
  const files = (await srv.ok('GET', `/v1/packages/${list[0].id}/files`, { token: list[0].access_token }))
    .filter((f) => f.kind === 'file');
  assert.equal(files.length, 1);
  assert.equal(sha256(await srv.fetchFile(list[0].id, files[0].id, list[0].access_token)), sha256(data));
}

/** Waits until the page has sent at least @ratio of the upload. */
async function sentAtLeast(page, ratio) {
  await page.waitForFunction((r) => document.getElementById('overall-bar').value >= r, ratio,
                             { timeout: 120000, polling: 50 });
}

test('files dropped on the page are taken like chosen ones', async () => {
  const p = await openPortal('Drop');
  const { context, page } = await watchedPage(browser, allowed);
  await page.goto(`${srv.url}/portal/${p.subdomain}`);
  await page.getByLabel('Your e-mail address').waitFor();
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['scene 4, take 2'], 'take2.txt', { type: 'text/plain' }));
    dt.items.add(new File([new Uint8Array(4096)], 'still.jpg', { type: 'image/jpeg' }));
    const zone = document.getElementById('drop');
    for (const type of ['dragenter', 'dragover', 'drop'])
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.locator('#file-list li').nth(1).waitFor();
  assert.deepEqual(await page.locator('#file-list .file-name').allTextContents(), ['take2.txt', 'still.jpg']);
  assert.equal(await page.locator('#file-count').textContent(), '2 files · 4.11 KB');
  // Removing one by its button leaves the other.
  await page.getByRole('button', { name: 'Remove take2.txt' }).click();
  assert.deepEqual(await page.locator('#file-list .file-name').allTextContents(), ['still.jpg']);
  page.assertClean();
  await context.close();
});

test('a part whose connection fails is sent again by itself', async () => {
  const p = await openPortal('Retry');
  const dir = tempDir('retry');
  const data = writeRandom(dir, 'take.mov', 40 * MIB + 5);
  const { context, page } = await watchedPage(browser, allowed);
  const puts = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT')
      puts.push(new URL(r.url()).searchParams.get('partNumber'));
  });
  let failed = 0;
  await page.route((u) => failed === 0 && u.searchParams.get('partNumber') === '2', async (route) => {
    failed++;
    await route.abort('connectionreset');
  });
  await sendFile(page, p, join(dir, 'take.mov'));
  await page.getByRole('heading', { name: 'Upload complete' }).waitFor({ timeout: 120000 });
  await page.unrouteAll();
  assert.equal(failed, 1, 'one connection was cut');
  assert.equal(puts.filter((n) => n === '2').length, 2, 'part 2 was sent twice');
  assert.equal(puts.filter((n) => n === '1').length, 1, 'part 1 once');
  page.assertClean();
  await context.close();
  await holds(p, data);
});

test('cancel stops the upload and removes the package; the files can be sent again', async () => {
  const p = await openPortal('Cancel');
  const dir = tempDir('cancel');
  const data = writeRandom(dir, 'long.mov', 128 * MIB);
  const { context, page } = await watchedPage(browser, allowed);
  await sendFile(page, p, join(dir, 'long.mov'), 'Long take');
  await sentAtLeast(page, 0.05);
  assert.ok(await page.evaluate(() => document.getElementById('overall-bar').value < 0.9),
            'cancelled while most of the file was still to send');
  await page.getByRole('button', { name: 'Cancel upload' }).click();
  await page.getByRole('heading', { name: 'Upload cancelled' }).waitFor();
  await shot(page, 'portal-12-cancelled');
  let list = await packagesOf(p);
  assert.equal(list.length, 1);
  assert.equal(list[0].state, 'expired', 'the cancelled package is deleted');
  await page.getByRole('button', { name: 'Back to the form' }).click();
  assert.equal(await page.locator('#file-list li').count(), 1, 'the file is still chosen');
  await page.getByRole('button', { name: 'Send files' }).click();
  await page.getByRole('heading', { name: 'Upload complete' }).waitFor({ timeout: 180000 });
  page.assertClean();
  await context.close();
  await holds(p, data);
  list = await packagesOf(p);
  assert.equal(list.length, 2);
});

test('a browser closed in the middle of an upload: opened again, it resumes without resending the parts already there', async () => {
  const p = await openPortal('Resume');
  const dir = tempDir('resume');
  const data = writeRandom(dir, 'ep104_master.mov', 256 * MIB + 99);
  const file = join(dir, 'ep104_master.mov');
  const { context, page } = await watchedPage(browser, allowed);
  await sendFile(page, p, file, 'EP104 master');
  // Three parts acknowledged, as the page keeps them for a later page.
  await page.waitForFunction(() => {
    const kept = Object.keys(localStorage).filter((k) => k.startsWith('consign.upload.'));
    return kept.length === 1 && JSON.parse(localStorage.getItem(kept[0])).files[0].etags.filter(Boolean).length >= 3;
  }, null, { timeout: 120000, polling: 50 });
  const there = await page.evaluate(() => {
    const kept = Object.keys(localStorage).find((k) => k.startsWith('consign.upload.'));
    return JSON.parse(localStorage.getItem(kept)).files[0].etags.flatMap((e, i) => (e ? [String(i + 1)] : []));
  });
  // The browser goes, and comes back with what it had stored.
  const stored = await context.storageState();
  await context.close();
  const context2 = await browser.newContext({ storageState: stored, viewport: { width: 1280, height: 900 } });
  const again = await watch(await context2.newPage(), allowed);
  const puts = new Set();
  again.on('request', (r) => {
    if (r.method() === 'PUT')
      puts.add(new URL(r.url()).searchParams.get('partNumber'));
  });
  await again.goto(`${srv.url}/portal/${p.subdomain}`);
  await again.getByText(/^An upload of 1 file \(1\d\d MB of 268 MB sent\) did not finish/).waitFor();
  assert.equal(await again.getByLabel('Package name').inputValue(), 'EP104 master', 'the form is filled in again');
  await shot(again, 'portal-13-resume');
  await again.locator('#file-input').setInputFiles(file);
  await again.getByRole('button', { name: 'Resume upload' }).click();
  try {
    await again.getByRole('heading', { name: 'Upload complete' }).waitFor({ timeout: 180000 });
  } catch (e) {
    // What the server saw of the parts, for whoever reads the log of a failure.
    console.error(srv.stderr.split('\n').filter((l) => /storage\.part|WARN|ERR/.test(l)).slice(-40).join('\n'));
    throw e;
  }
  // 9 parts of 32 MiB: those acknowledged before the page closed are not sent again, the others
  // are (some cut off in flight, tried until the server let go of them).
  const all = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];
  assert.deepEqual([...puts].sort(), all.filter((n) => !there.includes(n)),
                   `parts sent after the reload, with ${there} there before`);
  assert.equal((await packagesOf(p)).length, 1, 'one package, resumed, not a second one');
  again.assertClean();
  await context2.close();
  await holds(p, data);
});

test('a server killed in the middle of an upload: the page carries on once it is back', async () => {
  const p = await openPortal('Crash');
  const dir = tempDir('crash');
  const data = writeRandom(dir, 'reel.mov', 160 * MIB + 77);
  const { context, page } = await watchedPage(browser, allowed);
  let cut = 0;
  page.on('requestfailed', () => cut++);
  await sendFile(page, p, join(dir, 'reel.mov'), 'Reel');
  await sentAtLeast(page, 0.15);
  await srv.kill();
  // The page cannot finish without the server (the finalizes need it): still sending.
  assert.equal(await page.evaluate(() => document.body.dataset.current), 'sending',
               'the server was killed before the upload ended');
  await new Promise((r) => setTimeout(r, 1500));
  await srv.start(srv.port);
  await page.getByRole('heading', { name: 'Upload complete' }).waitFor({ timeout: 240000 });
  // On the embedded store the parts go through consign: the kill cut some of them off. (With an
  // object store they go there, and the server was needed again only for the finalizes.)
  if (!SCALE)
    assert.ok(cut > 0, 'requests were cut off by the kill');
  page.assertClean();
  await context.close();
  await holds(p, data);
});

test('at its own address on the portal domain, the page uploads across origins to the storage', async () => {
  const p = await openPortal('Own address');
  const dir = tempDir('domain');
  const data = writeRandom(dir, 'clip.mov', 36 * MIB + 1);
  const own = `http://${p.subdomain}.${PORTAL_DOMAIN}:${srv.port}`;
  const { context, page } = await watchedPage(browser, [...allowed, own]);
  await page.goto(`${own}/`);
  await page.getByRole('heading', { level: 1, name: 'Own address' }).waitFor();
  await page.getByLabel('Your e-mail address').fill('editor@example.org');
  await page.getByLabel('Package name').fill('From the portal domain');
  await page.locator('#file-input').setInputFiles(join(dir, 'clip.mov'));
  const puts = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT')
      puts.push(new URL(r.url()).origin);
  });
  await page.getByRole('button', { name: 'Send files' }).click();
  await page.getByRole('heading', { name: 'Upload complete' }).waitFor({ timeout: 120000 });
  assert.ok(puts.length >= 2 && puts.every((o) => o !== own), `parts went to the storage's origin: ${puts}`);
  page.assertClean();
  await context.close();
  await holds(p, data);
});

test('on a phone-sized screen the form fits and works with the keyboard', async () => {
  const open = await srv.ok('POST', `/v1/teams/${teamId}/portals`, {
    key, body: { name: 'Field uploads', subdomain: unique('field'), active: true,
                 expiry_enabled: true, expiry: '2099-06-30T18:00:00.000Z',
                 message: 'Drop your clips here from set.', primary_color: '#0E7490',
                 package_size_restriction_enabled: true, max_file_size: 2 * MIB,
                 max_file_count: 2, max_package_size: 3 * MIB },
  });
  const { context, page } = await watchedPage(browser, allowed, { width: 390, height: 844 });
  await page.goto(`${srv.url}/portal/${open.subdomain}`);
  await page.getByLabel('Your e-mail address').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
  assert.ok(await page.getByText('Files up to 2.10 MB').isVisible());
  assert.ok(await page.getByText('Up to 2 files per package').isVisible());
  assert.ok(await page.getByText(/^Open until June 30, 2099/).isVisible(), 'the portal says until when it is open');
  // Tab moves through the fields in reading order.
  await page.getByLabel('Your e-mail address').focus();
  const order = [];
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.id));
  }
  assert.deepEqual(order, ['package-name', 'description', 'pick-files', 'pick-folder', 'send']);
  const dir = tempDir('phone');
  writeRandom(dir, 'big.mov', 3 * MIB);
  // A file over the size limit is refused up front.
  await page.locator('#file-input').setInputFiles(join(dir, 'big.mov'));
  await page.getByText(/big\.mov: 3\.15 MB is more than the 2\.10 MB a file may have here/).waitFor();
  await shot(page, 'portal-10-phone');
  page.assertClean();
  await context.close();
});

test('a large file is sent in slices: the page\'s memory stays flat', async () => {
  const open = await srv.ok('POST', `/v1/teams/${teamId}/portals`, {
    key, body: { name: 'Big files', subdomain: unique('big'), active: true },
  });
  const dir = tempDir('big');
  const size = 192 * MIB;
  const data = writeRandom(dir, 'master.mov', size);
  const { context, page } = await watchedPage(browser, allowed);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const heap = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'JSHeapUsedSize').value;
  };
  await page.goto(`${srv.url}/portal/${open.subdomain}`);
  await page.getByLabel('Your e-mail address').fill('editor@example.org');
  await page.getByLabel('Package name').fill('Master');
  await page.locator('#file-input').setInputFiles(join(dir, 'master.mov'));
  await page.getByText('1 file · 201 MB').waitFor();
  const before = await heap();
  let peak = before;
  await page.getByRole('button', { name: 'Send files' }).click();
  const done = page.getByRole('heading', { name: 'Upload complete' });
  while (!(await done.isVisible())) {
    peak = Math.max(peak, await heap());
    await page.waitForTimeout(100);
  }
  assert.ok(peak - before < 24 * MIB,
            `the JS heap grew by ${((peak - before) / MIB).toFixed(1)} MiB while ${size / MIB} MiB were sent`);
  page.assertClean();
  await context.close();
  const r = await srv.ok('GET', `/v1/portals/${open.id}/packages`, { key });
  const pkg = (Array.isArray(r) ? r : r.data)[0];
  const f = (await srv.ok('GET', `/v1/packages/${pkg.id}/files`, { token: pkg.access_token }))[0];
  assert.equal(sha256(await srv.fetchFile(pkg.id, f.id, pkg.access_token)), sha256(data));
});

test('a portal that does not exist, or is switched off, has a page that says so', async () => {
  const off = await srv.ok('POST', `/v1/teams/${teamId}/portals`, {
    key, body: { name: 'Closed', subdomain: unique('closed'), active: false },
  });
  const { context, page } = await watchedPage(browser, allowed);
  for (const sub of ['no-such-portal', off.subdomain]) {
    const r = await page.goto(`${srv.url}/portal/${sub}`);
    assert.equal(r.status(), 404);
    await page.getByRole('heading', { name: 'Nothing here' }).waitFor();
  }
  await shot(page, 'portal-11-not-found');
  page.assertClean();
  await context.close();
});
