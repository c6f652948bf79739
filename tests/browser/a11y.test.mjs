// SPDX-License-Identifier: AGPL-3.0-or-later
// The pages against WCAG 2.1 A and AA as axe-core checks them (names and labels, contrast,
// roles, landmarks, focus), in each state a person meets: the portal page's access code, its
// form with every problem pointed out and with files chosen, the upload's end, the download
// page's password prompt, its files and a refused link, and the 404 page; for a portal in the
// default colours and for brands whose colour is too light or too dark for text as it is.
//
// axe-core is injected as a script, which the pages' own Content-Security-Policy forbids: these
// contexts bypass it (the other browser tests keep it and check that nothing violates it).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MIB, Server, cleanup, launch, tempDir, unique, writeRandom } from './harness.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

let srv, browser, key, teamId, dir;

before(async () => {
  srv = await new Server().start();
  browser = await launch();
  const team = srv.team('a11y');
  key = team.api_key;
  teamId = team.team_id;
  dir = tempDir('a11y');
  writeRandom(dir, 'clip.mov', 2 * MIB);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  cleanup();
});

/** A page in a context that lets axe-core in. */
async function open(viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ bypassCSP: true, viewport });
  return { context, page: await context.newPage() };
}

/** Runs axe-core on @page as it is now; fails listing every violation found. */
async function audit(page, what) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } })
    .then((r) => r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)),
  TAGS);
  assert.deepEqual(found, [], `${what}: ${found.join('\n')}`);
}

function portal(fields) {
  return srv.ok('POST', `/v1/teams/${teamId}/portals`, {
    key,
    body: {
      name: 'Harbour Post — Deliveries', subdomain: unique('a11y'), active: true,
      message: 'Upload finished masters and deliverables here.',
      terms_of_service_enabled: true,
      terms_of_service: { title: 'Terms', description: 'Keep it confidential.',
                          checkbox_label: 'I accept the terms', checkbox_url: 'https://example.org/t' },
      package_name_format_enabled: true,
      package_name_format: { label: 'SHOW_EP_v01', value: '^[A-Z]+_[0-9]+_v[0-9]+$' },
      ...fields,
    },
  });
}

for (const [label, color] of [['the default colours', undefined], ['a light brand colour', '#FACC15'],
                              ['a middle brand colour', '#3B82F6'], ['a dark brand colour', '#1E1B4B']]) {
  test(`the portal page in every state, with ${label}`, async () => {
    const p = await portal({ primary_color: color, has_access_code: true, access_code: 'harbour-7' });
    const { context, page } = await open();
    await page.goto(`${srv.url}/portal/${p.subdomain}`);
    await page.getByLabel('Access code').waitFor();
    await audit(page, 'access code');
    await page.getByLabel('Access code').fill('wrong');
    await page.getByLabel('Access code').press('Enter');
    await page.getByText('That access code is not right').waitFor();
    await audit(page, 'wrong access code');
    await page.getByLabel('Access code').fill('harbour-7');
    await page.getByLabel('Access code').press('Enter');
    await page.getByRole('button', { name: 'Send files' }).click();
    await page.getByText('Tick the box to accept the terms before you send.').waitFor();
    await audit(page, 'the form with its problems');
    await page.getByLabel('Your e-mail address').fill('post@example.org');
    await page.getByLabel('Package name').fill('HARBOUR_104_v01');
    await page.locator('#file-input').setInputFiles(join(dir, 'clip.mov'));
    await page.getByLabel('I accept the terms').check();
    await audit(page, 'the form with a file');
    await page.getByRole('button', { name: 'Send files' }).click();
    await page.getByRole('heading', { name: 'Upload complete' }).waitFor({ timeout: 60000 });
    await audit(page, 'the upload complete');
    await context.close();
  });
}

test('the portal page on a phone-sized screen, and the 404 page', async () => {
  const p = await portal({});
  const { context, page } = await open({ width: 390, height: 844 });
  await page.goto(`${srv.url}/portal/${p.subdomain}`);
  await page.getByLabel('Your e-mail address').waitFor();
  await audit(page, 'the form on a phone');
  await page.goto(`${srv.url}/portal/not-a-portal`);
  await page.getByRole('heading', { name: 'Nothing here' }).waitFor();
  await audit(page, 'the 404 page');
  await context.close();
});

test('the download page: password, files, a refused link', async () => {
  const pkg = await srv.ok('POST', `/v1/teams/${teamId}/packages`, {
    key, body: { name: 'Masters', description: '', recipients: [] },
  });
  await srv.upload(pkg, [{ name: 'a.mov', path: 'reel 1', data: Buffer.alloc(1000, 1) },
                         { name: 'b.wav', path: '', data: Buffer.alloc(10, 2) }]);
  const l = await srv.ok('POST', `/v1/packages/${pkg.id}/links`, { token: pkg.access_token, body: { password: 'p4ss' } });
  const { context, page } = await open();
  await page.goto(`${srv.url}/download/${l.id}?secret=${l.download_secret}`);
  await page.getByLabel('Password').waitFor();
  await audit(page, 'the password prompt');
  await page.getByLabel('Password').fill('p4ss');
  await page.getByLabel('Password').press('Enter');
  await page.getByRole('button', { name: 'Download a.mov' }).waitFor();
  await audit(page, 'the files');
  await page.goto(`${srv.url}/download/${l.id}?secret=${'x'.repeat(l.download_secret.length)}`);
  await page.getByRole('heading', { name: 'This link is not valid' }).waitFor();
  await audit(page, 'a refused link');
  await context.close();
});
