// SPDX-License-Identifier: AGPL-3.0-or-later
// Shared code of the browser tests: the real consign binary (CONSIGN_BIN) on 127.0.0.1 with a
// temporary data directory, Debian's Chromium driven by playwright-core, calls of the API, the
// MASV upload protocol for setting things up, and screenshots under SCREENSHOT_DIR.
//
// With CONSIGN_BROWSER_SCALE=1 the server keeps its metadata in a new database of the
// PostgreSQL server of CONSIGN_TEST_DATABASE and its bytes in a new bucket of the S3 store of
// CONSIGN_TEST_S3 (both started by tests/run.sh): the pages then send and fetch bytes straight
// to and from the object store, across origins.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.CONSIGN_BIN || resolve(here, '../../build-san/consign');
export const SCALE = process.env.CONSIGN_BROWSER_SCALE === '1';
export const SHOTS = process.env.SCREENSHOT_DIR || resolve(here, '../../test-output/screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SANITIZER = /AddressSanitizer|LeakSanitizer|runtime error:/;
export const MIB = 1 << 20;
/** A portal domain the browser resolves to 127.0.0.1 (servers started with --portal-domain). */
export const PORTAL_DOMAIN = 'upload.test';
export const PASSWORD = 'correct horse battery';

let counter = 0;
/** A name no other test of this run uses. */
export function unique(label) {
  counter += 1;
  return `${label}${process.pid}${counter}${randomBytes(3).toString('hex')}`.toLowerCase();
}

export function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** A new temporary directory, removed by cleanup(). */
const temps = [];
export function tempDir(label) {
  const d = mkdtempSync(join(tmpdir(), `consign-browser-${label}-`));
  temps.push(d);
  return d;
}

/** The environment of a consign process: none of the caller's CONSIGN_* settings. */
function consignEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('CONSIGN_'))
      env[k] = v;
  env.ASAN_OPTIONS ??= 'detect_leaks=1:halt_on_error=1';
  env.UBSAN_OPTIONS ??= 'halt_on_error=1:print_stacktrace=1';
  return { ...env, ...extra };
}

/** Where the server keeps things: --data alone, or a new database and bucket (SCALE). */
function storeArgs(data) {
  if (!SCALE)
    return { admin: ['--data', data], serve: [] };
  const db = process.env.CONSIGN_TEST_DATABASE;
  const s3 = process.env.CONSIGN_TEST_S3;
  if (!db || !s3)
    throw new Error('CONSIGN_BROWSER_SCALE needs CONSIGN_TEST_DATABASE and CONSIGN_TEST_S3 (tests/run.sh starts them)');
  const name = unique('browser');
  const r = spawnSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', db, '-c', `CREATE DATABASE ${name}`]);
  if (r.status !== 0)
    throw new Error(`psql: ${r.stderr}`);
  const u = new URL(db);
  u.pathname = `/${name}`;
  const bucket = new URL(s3);
  const storage = `s3://${name}${bucket.search}`;
  return { admin: ['--database', u.toString()], serve: ['--database', u.toString(), '--storage', storage] };
}

/** A running `consign serve`: its port, URL and the admin CLI on its store. */
export class Server {
  constructor(args = []) {
    this.data = tempDir('data');
    this.store = storeArgs(this.data);
    this.args = args;
    this.stderr = '';
  }

  /** Starts the server on @port (0: a free one), on the same data as before if it ran. */
  async start(port = 0) {
    const argv = ['serve', '--data', this.data, '--listen', `127.0.0.1:${port}`, ...this.store.serve,
                  ...this.args];
    this.stderr = '';
    this.proc = spawn(BIN, argv, { env: consignEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', () => {});
    this.exited = new Promise((res) => this.proc.on('exit', (code, sig) => res({ code, sig })));
    this.port = await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`consign did not start:\n${this.stderr}`)), 30000);
      this.proc.stderr.on('data', (d) => {
        this.stderr += d;
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(this.stderr);
        if (m) {
          clearTimeout(t);
          res(Number(m[1]));
        }
      });
      this.proc.on('exit', () => rej(new Error(`consign exited before listening:\n${this.stderr}`)));
    });
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  /** The origins a page of this server may send requests to: the server's own and, with an
   * object store (SCALE), the store's, where blueprints send bytes. */
  get origins() {
    const s3 = SCALE ? new URL(process.env.CONSIGN_TEST_S3).searchParams.get('endpoint') : null;
    return [this.url, ...(s3 ? [new URL(s3).origin] : [])];
  }

  /** Kills the server with SIGKILL, as a crash or a power cut would. */
  async kill() {
    this.proc.kill('SIGKILL');
    await this.exited;
    this.proc = null;
  }

  /** Stops the server with SIGTERM: it must exit 0 with no sanitizer report. */
  async stop() {
    if (!this.proc)
      return;
    this.proc.kill('SIGTERM');
    const { code, sig } = await this.exited;
    this.proc = null;
    if (code !== 0 || SANITIZER.test(this.stderr))
      throw new Error(`consign exited ${code ?? sig}:\n${this.stderr.slice(-4000)}`);
  }

  admin(...args) {
    const r = spawnSync(BIN, ['admin', args[0], ...this.store.admin, ...args.slice(1)],
                        { env: consignEnv(), encoding: 'utf8' });
    if (r.status !== 0 || SANITIZER.test(r.stderr))
      throw new Error(`consign admin ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** A team and its owner's API key. */
  team(label = 'team') {
    const tag = unique(label);
    return this.admin('create-team', '--name', `Team ${tag}`, '--email', `owner-${tag}@example.com`,
                      '--password', PASSWORD);
  }

  /**
   * One request of the API: {status, json, headers, raw}. @key: an API key; @token: a package
   * token; @body: JSON.
   */
  async call(method, path, { body, key, token, headers = {} } = {}) {
    const h = { ...headers };
    if (key)
      h['X-API-KEY'] = key;
    if (token)
      h['X-Package-Token'] = token;
    if (body !== undefined)
      h['Content-Type'] = 'application/json';
    const r = await fetch(this.url + path, { method, headers: h,
                                             body: body === undefined ? undefined : JSON.stringify(body) });
    const raw = Buffer.from(await r.arrayBuffer());
    let json = null;
    try {
      json = raw.length ? JSON.parse(raw.toString('utf8')) : null;
    } catch {
      json = null;
    }
    return { status: r.status, json, headers: r.headers, raw };
  }

  async ok(method, path, opts = {}, want = [200, 201, 204]) {
    const r = await this.call(method, path, opts);
    if (!want.includes(r.status))
      throw new Error(`${method} ${path}: ${r.status} ${r.raw.toString('utf8').slice(0, 400)}`);
    return r.json;
  }

  /**
   * Uploads @files ([{name, path, data}]) into package @pkg (its access_token) with the MASV
   * protocol, parts of @chunk bytes, @parallel at once; returns the package after its finalize.
   */
  async upload(pkg, files, chunk = 5 * MIB, parallel = 1) {
    const token = pkg.access_token;
    for (const f of files) {
      const made = await this.ok('POST', `/v1/packages/${pkg.id}/files`, {
        token, body: { kind: 'file', name: f.name, path: f.path || '', size: f.data.length, chunk_size: chunk },
      });
      const bp = made.create_blueprint;
      const xml = await (await fetch(bp.url, { method: bp.method, headers: bp.headers, body: bp.body || undefined })).text();
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(xml)[1];
      const parts = Math.max(1, Math.ceil(f.data.length / chunk));
      const bps = await this.ok('POST', `/v1/packages/${pkg.id}/files/${made.file.id}?start=0&count=${parts}`,
                                { token, body: { upload_id: uploadId } });
      const extras = new Array(parts);
      let next = 0;
      const sender = async () => {
        while (next < parts) {
          const k = next++;
          const r = await fetch(bps[k].url, { method: 'PUT', headers: bps[k].headers,
                                              body: f.data.subarray(k * chunk, (k + 1) * chunk) });
          if (!r.ok)
            throw new Error(`part ${k + 1}: ${r.status}`);
          extras[k] = { partNumber: k + 1, etag: r.headers.get('etag') };
        }
      };
      await Promise.all(Array.from({ length: parallel }, sender));
      await this.ok('POST', `/v1/packages/${pkg.id}/files/${made.file.id}/finalize`, {
        token, body: { chunk_extras: extras, file_extras: { upload_id: uploadId }, size: f.data.length, chunk_size: chunk },
      });
    }
    return this.ok('POST', `/v1/packages/${pkg.id}/finalize`, { token });
  }

  /** The bytes of file @fileId of package @pkgId, through its download blueprint. */
  async fetchFile(pkgId, fileId, token) {
    const bp = await this.ok('GET', `/v1/packages/${pkgId}/files/${fileId}/download`, { token });
    const r = await fetch(bp.url);
    if (!r.ok)
      throw new Error(`download ${fileId}: ${r.status}`);
    return Buffer.from(await r.arrayBuffer());
  }
}

/** Headless Chromium as the machine notes say to start it here. */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage', `--host-resolver-rules=MAP *.${PORTAL_DOMAIN} 127.0.0.1`],
  });
}

/**
 * A page in a new context, watched (watch()). Downloads are accepted.
 */
export async function watchedPage(browser, allowed, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  return { context, page: await watch(await context.newPage(), allowed) };
}

/**
 * Watches @page: every request it makes must go to @allowed origins, and no
 * Content-Security-Policy violation, uncaught error or console error may happen.
 * page.assertClean() asserts that. Returns @page.
 */
export async function watch(page, allowed) {
  const problems = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && !allowed.includes(u.origin))
      problems.push(`request to another host: ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A refused API call is logged by the browser as a failed resource: the page handles it.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      problems.push(`console error: ${m.text()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.assertClean = () => {
    if (problems.length)
      throw new Error(problems.join('\n'));
  };
  return page;
}

/** Saves a screenshot of @page as NAME.png under SHOTS. */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${SCALE ? 'scale-' : ''}${name}.png`), fullPage: true });
}

/** A small HTTP server of a portal owner's brand images (logo and background), elsewhere. */
export async function brandServer() {
  const logo = '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="64" viewBox="0 0 240 64">' +
    '<rect x="0" y="8" width="48" height="48" rx="10" fill="#C2410C"/>' +
    '<path d="M14 42 24 20l10 22" fill="none" stroke="#fff" stroke-width="5" stroke-linejoin="round"/>' +
    '<text x="62" y="44" font-family="DejaVu Sans, sans-serif" font-size="28" font-weight="700" fill="#1f2937">Northlight</text></svg>';
  const bg = '<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="1000" viewBox="0 0 1600 1000">' +
    '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1c1917"/>' +
    '<stop offset="0.55" stop-color="#7c2d12"/><stop offset="1" stop-color="#f59e0b"/></linearGradient></defs>' +
    '<rect width="1600" height="1000" fill="url(#g)"/>' +
    '<circle cx="1250" cy="260" r="180" fill="#fbbf24" opacity="0.35"/></svg>';
  const srv = createServer((req, res) => {
    const body = req.url.startsWith('/logo') ? logo : req.url.startsWith('/bg') ? bg : null;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'image/svg+xml' }).end(body);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${srv.address().port}`;
  return { url, close: () => new Promise((r) => srv.close(r)) };
}

/** @data written to @dir/@rel (folders made); returns @data. */
export function writeBytes(dir, rel, data) {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), data);
  return data;
}

/** @size random bytes, written to @dir/@rel (folders made); returns the bytes. */
export function writeRandom(dir, rel, size) {
  return writeBytes(dir, rel, randomBytes(size));
}

/** The entries of zip file @path as {name: sha256}, read by Python's zipfile (CRCs checked). */
export function zipDigests(path) {
  const py = 'import hashlib, json, sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if not i.is_dir()}))\n';
  const r = spawnSync('python3', ['-c', py, path], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`zipfile: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function cleanup() {
  for (const d of temps.splice(0))
    rmSync(d, { recursive: true, force: true });
}
