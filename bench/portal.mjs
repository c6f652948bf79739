// SPDX-License-Identifier: AGPL-3.0-or-later
// make bench-portal: one large file uploaded through the portal page in headless Chromium, next
// to references measured in the same run on the same filesystem: dd writing the same bytes with
// fdatasync, and a program sending them with the same MASV protocol (16 MiB parts, 4 at once)
// from Node. Prints each one's time and rate, the page's rate as a ratio of both, and the
// page's largest JS heap growth during its upload. Each figure is the median of its runs.
// usage: CONSIGN_BIN=build/consign node bench/portal.mjs [GIB]   (default 1; 0.25 works)

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MIB, Server, cleanup, launch, tempDir, unique, writeRandom } from '../tests/browser/harness.mjs';

const gib = Number(process.argv[2] || process.env.BENCH_PORTAL_GIB || 1);
const runs = 3;
if (!(gib > 0)) {
  console.error('bench/portal.mjs: the size must be a positive number of GiB');
  process.exit(2);
}
const size = Math.round(gib * 1024 * MIB);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (s) => `${(size / MIB / s).toFixed(0)} MiB/s`;

const srv = await new Server().start();
const team = srv.team('bench');
const dir = tempDir('bench');
const data = writeRandom(dir, 'master.mov', size);
const file = join(dir, 'master.mov');
const browser = await launch();

async function page() {
  const p = await srv.ok('POST', `/v1/teams/${team.team_id}/portals`, {
    key: team.api_key, body: { name: 'Bench', subdomain: unique('bench'), active: true },
  });
  const context = await browser.newContext();
  const tab = await context.newPage();
  const cdp = await context.newCDPSession(tab);
  await cdp.send('Performance.enable');
  const heap = async () => (await cdp.send('Performance.getMetrics')).metrics
    .find((m) => m.name === 'JSHeapUsedSize').value;
  await tab.goto(`${srv.url}/portal/${p.subdomain}`);
  await tab.getByLabel('Your e-mail address').fill('bench@example.org');
  await tab.getByLabel('Package name').fill('Bench');
  await tab.locator('#file-input').setInputFiles(file);
  const before = await heap();
  let peak = before;
  const t0 = performance.now();
  await tab.getByRole('button', { name: 'Send files' }).click();
  const done = tab.getByRole('heading', { name: 'Upload complete' });
  while (!(await done.isVisible())) {
    peak = Math.max(peak, await heap());
    await tab.waitForTimeout(50);
  }
  const s = (performance.now() - t0) / 1000;
  await context.close();
  return { s, heap: peak - before };
}

async function program() {
  const pkg = await srv.ok('POST', `/v1/teams/${team.team_id}/packages`, {
    key: team.api_key, body: { name: 'Bench', description: '', recipients: [] },
  });
  const t0 = performance.now();
  await srv.upload(pkg, [{ name: 'master.mov', path: '', data }], 16 * MIB, 4);
  return (performance.now() - t0) / 1000;
}

function dd() {
  const out = join(dir, 'dd.out');
  const t0 = performance.now();
  const r = spawnSync('dd', [`if=${file}`, `of=${out}`, 'bs=16M', 'conv=fdatasync'], { stdio: 'ignore' });
  if (r.status !== 0)
    throw new Error('dd failed');
  const s = (performance.now() - t0) / 1000;
  spawnSync('rm', ['-f', out]);
  return s;
}

const pages = [], programs = [], dds = [];
for (let i = 0; i < runs; i++) {
  dds.push(dd());
  programs.push(await program());
  pages.push(await page());
}
await browser.close();
await srv.stop();
cleanup();

const pageS = median(pages.map((x) => x.s));
const progS = median(programs);
const ddS = median(dds);
console.log(`portal page upload of ${gib} GiB, median of ${runs} runs`);
console.log(`  dd (fdatasync)            ${ddS.toFixed(2)} s  ${rate(ddS)}`);
console.log(`  a program, same protocol  ${progS.toFixed(2)} s  ${rate(progS)}`);
console.log(`  the portal page           ${pageS.toFixed(2)} s  ${rate(pageS)}`);
console.log(`  page / dd rate            ${(ddS / pageS).toFixed(2)}`);
console.log(`  page / program rate       ${(progS / pageS).toFixed(2)}`);
console.log(`  page JS heap growth       ${(Math.max(...pages.map((x) => x.heap)) / MIB).toFixed(1)} MiB (largest of the runs)`);
