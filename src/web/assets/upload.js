// SPDX-License-Identifier: AGPL-3.0-or-later
// The MASV upload protocol in a browser: a package's files sent as parts, several at a time,
// straight from the files on disk (Blob slices: memory does not grow with a file's size), each
// part retried on its own when the network or the server fails, then every file and the
// package finalized. Progress is reported as bytes acknowledged and in flight.
//
// For each file: POST …/files (the file and its create blueprint), the create blueprint replayed
// (an S3 CreateMultipartUpload: its UploadId), part blueprints fetched a window at a time
// (POST …/files/{id}?start=S&count=N), each part PUT to its blueprint (its ETag kept), then
// POST …/files/{id}/finalize. Last, POST …/finalize of the package.

import { ApiError, api, apiRetry, backoff, isTransient, retrying, sleep } from './common.js';

/** The size of the parts a file is cut into, unless the file needs bigger ones. */
const PART_SIZE = 32 * 1024 * 1024;
/** Part PUTs in flight at once, over all files. */
const PARTS_IN_FLIGHT = 4;
/** Files being started or finalized at once. */
const FILES_IN_FLIGHT = 3;
/** Part blueprints asked for in one call. */
const WINDOW = 64;
/** Attempts at one request before the upload fails: with the back-off, about five minutes. */
const ATTEMPTS = 14;
/** How long one part is tried before the upload fails: long enough for a server's idle
 * connections to time out (a part cut off without its connection closing keeps the part busy
 * until then) and for a server or network to come back. */
const PART_PATIENCE_MS = 10 * 60 * 1000;

/** A counting semaphore: run(fn) waits for a free slot, then runs fn. */
class Slots {
  constructor(n) {
    this.free = n;
    this.waiting = [];
  }

  async run(fn) {
    if (this.free > 0)
      this.free--;
    else
      await new Promise((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next();
      else
        this.free++;
    }
  }
}

/** The part size for a file of @size bytes within the server's limits (@spec). */
export function partSize(size, spec) {
  const min = spec.min_chunk_size || 5 * 1024 * 1024;
  const max = spec.max_chunk_size || 5 * 1024 * 1024 * 1024;
  const count = spec.max_chunk_count || spec.max_chunks_count || 10000;
  const mib = 1024 * 1024;
  const need = Math.ceil(Math.ceil(size / count) / mib) * mib;
  return Math.min(max, Math.max(min, PART_SIZE, need));
}

/**
 * The bytes of file @f ({size, chunk, etags, done}, as Upload.state() keeps it) that the server
 * acknowledged: all of a file done, else its parts with an ETag.
 */
export function acknowledged(f) {
  if (f.done)
    return f.size;
  return (f.etags || []).reduce((n, e, i) => n + (e ? Math.max(0, Math.min(f.chunk, f.size - i * f.chunk)) : 0), 0);
}

/** The UploadId of an S3 InitiateMultipartUpload answer. */
function uploadIdOf(xml) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const id = doc.getElementsByTagName('UploadId')[0]?.textContent;
  if (!id)
    throw new ApiError(502, 0, 'The storage did not start the upload.');
  return id;
}

/**
 * One upload of a package's files. @files: [{file: File, path: 'folder/sub', and, to resume an
 * upload, what its "saved" state said of the file: fileId, uploadId, chunk, etags, done}];
 * @token: the package's full token. Events (addEventListener): "progress" whenever bytes move,
 * "file" when a file is done (detail: its index), "saved" when what a later page needs to resume
 * changed (state()). start() resolves when the package is finalized and rejects with the error
 * that stopped it; cancel() stops it (start() then rejects with an AbortError).
 */
export class Upload extends EventTarget {
  constructor(packageId, token, files) {
    super();
    this.packageId = packageId;
    this.token = token;
    this.items = files.map((f) => {
      const it = { ...f, size: f.file.size, etags: [...(f.etags || [])], done: !!f.done,
                   inflight: new Map() };
      it.sent = acknowledged(it);
      return it;
    });
    this.total = this.items.reduce((n, it) => n + it.size, 0);
    this.abort = new AbortController();
    this.xhrs = new Set();
    this.parts = new Slots(PARTS_IN_FLIGHT);
    this.mine = new Set(); // ids of the files this upload made
  }

  /**
   * What a page needs to resume this upload after a reload: the package, its token and, per
   * file, its identity on disk and the parts the server acknowledged.
   */
  state() {
    return {
      package_id: this.packageId,
      token: this.token,
      files: this.items.map((it) => ({
        name: it.file.name, path: it.path, size: it.size, modified: it.file.lastModified,
        fileId: it.fileId, uploadId: it.uploadId, chunk: it.chunk, etags: it.etags, done: it.done,
      })),
    };
  }

  saved() {
    this.dispatchEvent(new Event('saved'));
  }

  /** Bytes acknowledged by the server plus those of parts in flight. */
  get sent() {
    let n = 0;
    for (const it of this.items)
      n += this.fileSent(it);
    return n;
  }

  /** The bytes of item @it acknowledged and in flight. */
  fileSent(it) {
    let n = it.sent;
    for (const v of it.inflight.values())
      n += v;
    return Math.min(n, it.size);
  }

  headers() {
    return { 'X-Package-Token': this.token };
  }

  call(method, path, body) {
    return apiRetry(method, path, { body, headers: this.headers(), signal: this.abort.signal },
                    ATTEMPTS);
  }

  progress() {
    this.dispatchEvent(new Event('progress'));
  }

  async start() {
    const signal = this.abort.signal;
    const spec = await apiRetry('GET', '/v1/system/packages/spec', { signal });
    const files = new Slots(FILES_IN_FLIGHT);
    let failure = null;
    await Promise.all(this.items.map((it, i) => files.run(async () => {
      if (failure || signal.aborted)
        return;
      try {
        if (!it.done) {
          await this.sendFile(it, spec);
          it.done = true;
          this.saved();
        }
        this.dispatchEvent(new CustomEvent('file', { detail: i }));
      } catch (e) {
        failure ??= e;
        this.stop();
      }
    })));
    if (signal.aborted && !failure)
      throw new DOMException('The upload was cancelled.', 'AbortError');
    if (failure)
      throw failure;
    await this.call('POST', `/v1/packages/${this.packageId}/finalize`);
  }

  /** Stops every request in flight. */
  stop() {
    this.abort.abort();
    for (const x of this.xhrs)
      x.abort();
    this.xhrs.clear();
  }

  /** Stops the upload and removes the package it made (best effort). */
  async cancel() {
    this.stop();
    try {
      await api('DELETE', `/v1/packages/${this.packageId}`, { headers: this.headers() });
    } catch {
      // The package is left new and unfinished: the server cleans such packages up.
    }
  }

  async sendFile(it, spec) {
    const f = it.file;
    if (!it.fileId) {
      // A new file: made in the package, and its upload started at the storage.
      it.chunk = partSize(f.size, spec);
      const made = await this.createFile({
        kind: 'file',
        name: f.name,
        path: it.path,
        size: f.size,
        chunk_size: it.chunk,
        last_modified: new Date(f.lastModified || Date.now()).toISOString(),
      });
      const uploadId = uploadIdOf(await this.replayCreate(made.create_blueprint));
      it.fileId = made.file.id;
      it.uploadId = uploadId;
      it.etags = [];
      this.saved();
    }
    const { fileId, uploadId, chunk, etags } = it;
    const count = Math.max(1, Math.ceil(f.size / chunk));
    const windows = [];
    for (let start = 0; start < count; start += WINDOW)
      windows.push([start, Math.min(WINDOW, count - start)]);
    // One window of blueprints at a time is asked for; its parts go out through the slots.
    // Parts the server acknowledged before (an upload resumed) are not sent again.
    for (const [start, n] of windows) {
      if (etags.slice(start, start + n).filter(Boolean).length === n)
        continue;
      let bps = await this.blueprints(fileId, uploadId, start, n);
      await Promise.all(Array.from({ length: n }, (_, k) => etags[start + k] ? null : this.parts.run(async () => {
        const part = start + k + 1;
        const from = (part - 1) * chunk;
        const blob = f.slice(from, Math.min(f.size, from + chunk));
        let failing = 0; // when the part first failed
        for (let attempt = 1; ; attempt++) {
          this.abort.signal.throwIfAborted();
          try {
            etags[part - 1] = await this.put(it, part, bps[k], blob);
            it.sent += blob.size;
            it.inflight.delete(part);
            this.progress();
            this.saved();
            return;
          } catch (e) {
            it.inflight.delete(part);
            this.progress();
            if (this.abort.signal.aborted)
              throw new DOMException('The upload was cancelled.', 'AbortError');
            failing ||= Date.now();
            if (Date.now() - failing > PART_PATIENCE_MS)
              throw e;
            // A refused signature (expired after a long pause): new blueprints, then again. A
            // part another request still writes (one cut off a moment ago, its server not yet
            // aware): again, once that one is gone.
            if (e.status === 403)
              bps = await this.blueprints(fileId, uploadId, start, n);
            else if (!isTransient(e) && e.status !== 409)
              throw e;
            await sleep(backoff(attempt), this.abort.signal);
          }
        }
      })));
    }
    await this.call('POST', `/v1/packages/${this.packageId}/files/${fileId}/finalize`, {
      chunk_extras: etags.slice(0, count).map((etag, i) => ({ partNumber: String(i + 1), etag })),
      file_extras: { upload_id: uploadId },
      size: f.size,
      chunk_size: chunk,
    });
  }

  /**
   * Adds a file to the package. When an attempt fails on the way back (the server made the
   * file but its answer was lost), the file it may have made is removed before the next
   * attempt, so that the package never holds a file nobody uploads.
   */
  async createFile(body) {
    const path = `/v1/packages/${this.packageId}/files`;
    const opts = { headers: this.headers(), signal: this.abort.signal };
    const removeStrays = async () => {
      try {
        for (const f of await api('GET', path, opts)) {
          if (f.kind === 'file' && !f.finalized && !this.mine.has(f.id) &&
              f.name === body.name && f.path === body.path)
            await api('DELETE', `${path}/${f.id}`, opts);
        }
      } catch (e) {
        if (!isTransient(e))
          throw e;
      }
    };
    const made = await retrying(() => api('POST', path, { ...opts, body }),
                                { attempts: ATTEMPTS, signal: this.abort.signal, beforeRetry: removeStrays });
    this.mine.add(made.file.id);
    return made;
  }

  blueprints(fileId, uploadId, start, count) {
    return this.call('POST',
      `/v1/packages/${this.packageId}/files/${fileId}?start=${start}&count=${count}`,
      { upload_id: uploadId });
  }

  /** Sends the create blueprint as it is; the storage's XML answer. */
  replayCreate(bp) {
    return retrying(async () => {
      const r = await fetch(bp.url, { method: bp.method || 'POST', headers: bp.headers || {},
                                      body: bp.body || undefined, signal: this.abort.signal });
      if (!r.ok)
        throw new ApiError(r.status, 0, 'The storage refused to start the upload.');
      return r.text();
    }, { attempts: ATTEMPTS, signal: this.abort.signal });
  }

  /** PUTs @blob as part @part of item @it to blueprint @bp; resolves to the part's ETag. An
   * XMLHttpRequest rather than fetch, since only it reports the progress of a request body. */
  put(it, part, bp, blob) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      this.xhrs.add(x);
      x.open(bp.method || 'PUT', bp.url);
      for (const [k, v] of Object.entries(bp.headers || {}))
        x.setRequestHeader(k, v);
      x.upload.onprogress = (ev) => {
        it.inflight.set(part, ev.loaded);
        this.progress();
      };
      x.onload = () => {
        this.xhrs.delete(x);
        const etag = x.getResponseHeader('ETag');
        if (x.status >= 200 && x.status < 300 && etag)
          resolve(etag);
        else
          reject(new ApiError(x.status || 502, 0, `Part ${part} was refused (${x.status}).`));
      };
      x.onerror = x.ontimeout = () => {
        this.xhrs.delete(x);
        reject(new ApiError(0, 0, 'The connection was lost.'));
      };
      x.onabort = () => {
        this.xhrs.delete(x);
        reject(new DOMException('The upload was cancelled.', 'AbortError'));
      };
      it.inflight.set(part, 0);
      x.send(blob);
    });
  }
}

/** Tracks the speed of a transfer from samples of bytes sent, and the time left. */
export class Meter {
  constructor() {
    this.samples = [];
  }

  /** Records @bytes sent so far at @now (ms); the speed over the last ten seconds. */
  sample(bytes, now = performance.now()) {
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 10000)
      this.samples.shift();
    const [t0, b0] = this.samples[0];
    return now - t0 > 500 ? ((bytes - b0) * 1000) / (now - t0) : 0;
  }
}
