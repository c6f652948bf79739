// SPDX-License-Identifier: AGPL-3.0-or-later
// The download page in a real browser, as a recipient uses it: the password prompt (wrong,
// then right), the package's name, sender, size, expiry and files by folder, one file and the
// whole package as a zip downloaded and compared byte for byte, a reload that does not count
// against the access limit, and the pages of a link used up, withdrawn, expired, or whose
// package was deleted.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MIB, Server, cleanup, launch, sha256, shot, tempDir, watchedPage,
         zipDigests } from './harness.mjs';

let srv, browser, key, teamId, pkg, allowed, files;

/** A new link of @pkg with @fields: {id, download_secret, …}. */
const link = (fields = {}, p = pkg) =>
  srv.ok('POST', `/v1/packages/${p.id}/links`, { token: p.access_token, body: fields });
const address = (l) => `${srv.url}/download/${l.id}?secret=${l.download_secret}`;

/** A finalized team package of @list ([{name, path, data}]). */
async function packageOf(name, list) {
  const made = await srv.ok('POST', `/v1/teams/${teamId}/packages`, {
    key, body: { name, description: 'Conform and audio stems', recipients: ['client@example.org'] },
  });
  await srv.upload(made, list);
  return made;
}

before(async () => {
  srv = await new Server().start();
  browser = await launch();
  const team = srv.team('download');
  key = team.api_key;
  teamId = team.team_id;
  files = [
    { name: 'R1_v3.mov', path: 'reels', data: randomBytes(11 * MIB + 321) },
    { name: 'R2_v3.mov', path: 'reels', data: randomBytes(2 * MIB) },
    { name: 'stems.wav', path: 'audio/final', data: randomBytes(777777) },
    { name: 'EDL.txt', path: '', data: Buffer.from('001  A001C003 V C 01:00:00:00\n') },
  ];
  pkg = await packageOf('Episode 104 — picture lock', files);
  allowed = srv.origins;
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  cleanup();
});

test('a password link: wrong password, right password, then the files by folder', async () => {
  const l = await link({ password: 'lock-104', access_limit: 5 });
  const { context, page } = await watchedPage(browser, allowed);
  await page.goto(address(l));
  await page.getByRole('heading', { name: 'Enter the password' }).waitFor();
  await shot(page, 'download-1-password');
  await page.getByLabel('Password').fill('wrong');
  await page.getByLabel('Password').press('Enter');
  await page.getByText('That password is not right').waitFor();
  await shot(page, 'download-2-password-wrong');
  await page.getByLabel('Password').fill('lock-104');
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('heading', { level: 1, name: pkg.name }).waitFor();
  assert.equal(await page.locator('#sender').textContent(), pkg.sender);
  assert.equal(await page.locator('#count').textContent(), '4 files');
  const total = files.reduce((n, f) => n + f.data.length, 0);
  assert.equal(await page.locator('#size').textContent(), `${(total / 1e6).toFixed(1)} MB`);
  assert.ok((await page.locator('#expiry').textContent()).length > 0, 'the expiry is shown');
  // Folders as headings, the top level first.
  assert.deepEqual(await page.locator('.folder-name').allTextContents(), ['audio/final', 'reels']);
  assert.deepEqual(await page.locator('.file-name').allTextContents(),
                   ['EDL.txt', 'stems.wav', 'R1_v3.mov', 'R2_v3.mov']);
  await shot(page, 'download-3-files');

  // One file, then everything as a zip: the bytes are the ones uploaded.
  const dir = tempDir('saved');
  let wait = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download R1_v3.mov' }).click();
  let d = await wait;
  assert.equal(d.suggestedFilename(), 'R1_v3.mov');
  await d.saveAs(join(dir, 'one'));
  assert.equal(sha256(readFileSync(join(dir, 'one'))), sha256(files[0].data));
  await page.getByText('R1_v3.mov: the download has started').waitFor();

  wait = page.waitForEvent('download');
  await page.getByRole('button', { name: /Download everything \(\.zip, / }).click();
  d = await wait;
  assert.match(d.suggestedFilename(), /\.zip$/);
  await d.saveAs(join(dir, 'all.zip'));
  const want = Object.fromEntries(files.map((f) => [f.path ? `${f.path}/${f.name}` : f.name, sha256(f.data)]));
  assert.deepEqual(zipDigests(join(dir, 'all.zip')), want);

  // A reload keeps the link open without counting another access.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: pkg.name }).waitFor();
  const links = await srv.ok('GET', `/v1/packages/${pkg.id}/links`, { token: pkg.access_token });
  const mine = (Array.isArray(links) ? links : links.data).find((x) => x.id === l.id);
  assert.equal(mine.access_count, 1, 'one access: the wrong password and the reload did not count');
  page.assertClean();
  await context.close();
});

test('a link opened as often as it may be: the page says it is used up', async () => {
  const l = await link({ access_limit: 1 });
  let { context, page } = await watchedPage(browser, allowed);
  await page.goto(address(l));
  await page.getByRole('heading', { level: 1, name: pkg.name }).waitFor();
  page.assertClean();
  await context.close();
  ({ context, page } = await watchedPage(browser, allowed));
  await page.goto(address(l));
  await page.getByRole('heading', { name: 'This link has been used up' }).waitFor();
  await shot(page, 'download-4-used-up');
  page.assertClean();
  await context.close();
});

test('withdrawn, expired and deleted: each has a page of its own', async () => {
  const { context, page } = await watchedPage(browser, allowed);
  const withdrawn = await link();
  await srv.ok('DELETE', `/v1/links/${withdrawn.id}`, { token: pkg.access_token });
  await page.goto(address(withdrawn));
  await page.getByRole('heading', { name: 'This link was withdrawn' }).waitFor();
  await shot(page, 'download-5-withdrawn');

  const soon = await link({ expiry: new Date(Date.now() + 1500).toISOString() });
  await new Promise((r) => setTimeout(r, 2000));
  await page.goto(address(soon));
  await page.getByRole('heading', { name: 'This link has expired' }).waitFor();
  await shot(page, 'download-6-expired');

  const gone = await packageOf('Old cut', [{ name: 'old.mov', path: '', data: randomBytes(1000) }]);
  const l = await link({}, gone);
  await srv.ok('DELETE', `/v1/packages/${gone.id}`, { token: gone.access_token });
  await page.goto(address(l));
  await page.getByRole('heading', { name: 'These files are no longer available' }).waitFor();
  await shot(page, 'download-7-deleted');

  await page.goto(`${srv.url}/download/${l.id}?secret=${'A'.repeat(l.download_secret.length)}`);
  await page.getByRole('heading', { name: 'This link is not valid' }).waitFor();
  await shot(page, 'download-8-not-valid');
  page.assertClean();
  await context.close();
});
