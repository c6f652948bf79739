#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The client side of `make bench-transfer` (bench/transfer.sh), standard library only.

  transfer.py upload PORT TEAM_ID API_KEY SRC PART_MIB PARALLEL
      Uploads SRC as one file of a new package the way a MASV client does: package, file,
      create blueprint, part blueprints, parts (PART_MIB each, PARALLEL at once, each on its own
      keep-alive connection, read from SRC in 1 MiB pieces), file finalize, package finalize.
      Checks the stored file's CRC-32 (its download ETag) against SRC's. Prints "key value"
      lines: upload_bytes, upload_s, client_cpu_s (sending the parts), finalize_ms,
      package_finalize_ms, package_id, package_token, file_id, file_url, zip_size, zip_url.
  transfer.py report RESULTS
      Prints the table of a run from the lines transfer.sh collected.
"""
import http.client
import json
import os
import queue
import resource
import statistics
import sys
import threading
import time
import urllib.parse
import zlib

MIB = 1 << 20
HOST = '127.0.0.1'


def path_of(url):
    u = urllib.parse.urlsplit(url)
    return u.path + ('?' + u.query if u.query else '')


class Api:
    """JSON calls on one keep-alive connection."""

    def __init__(self, port, headers):
        self.port = port
        self.headers = headers
        self.conn = http.client.HTTPConnection(HOST, port, timeout=600)
        self.conn.connect()

    def call(self, method, path, body=None, want=(200, 201)):
        hdrs = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs['Content-Type'] = 'application/json'
        self.conn.request(method, path, body=data, headers=hdrs)
        r = self.conn.getresponse()
        raw = r.read()
        if r.status not in want:
            sys.exit('%s %s: %d %s'
                     % (method, path, r.status, raw[:500].decode('utf-8', 'replace')))
        return r, raw

    def json(self, method, path, body=None):
        r, raw = self.call(method, path, body)
        return json.loads(raw) if raw else None

    def close(self):
        self.conn.close()


def crc32_of(path):
    """CRC-32 of the file at @path, kept in @path.crc32 for the next round."""
    try:
        return int(open(path + '.crc32').read())
    except (OSError, ValueError):
        pass
    crc = 0
    with open(path, 'rb') as f:
        while True:
            b = f.read(8 * MIB)
            if not b:
                break
            crc = zlib.crc32(b, crc)
    with open(path + '.crc32', 'w') as f:
        f.write('%d\n' % crc)
    return crc


def send_parts(port, src, size, chunk, bps, parallel):
    """PUTs every part; returns their ETags. Each worker keeps one connection."""
    todo = queue.Queue()
    for k in range(len(bps)):
        todo.put(k)
    etags = [None] * len(bps)
    errors = []

    def worker():
        conn = http.client.HTTPConnection(HOST, port, timeout=600)
        fd = os.open(src, os.O_RDONLY)
        try:
            while not errors:
                try:
                    k = todo.get_nowait()
                except queue.Empty:
                    return
                off = k * chunk
                n = min(chunk, size - off)
                bp = bps[k]
                conn.putrequest(bp['method'], path_of(bp['url']), skip_accept_encoding=True)
                for h, v in (bp.get('headers') or {}).items():
                    conn.putheader(h, v)
                conn.putheader('Content-Length', str(n))
                conn.endheaders()
                left = n
                while left:
                    piece = os.pread(fd, min(MIB, left), off)
                    if not piece:
                        raise IOError('%s ended early' % src)
                    conn.send(piece)
                    off += len(piece)
                    left -= len(piece)
                r = conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise IOError('part %d: %d %s' % (k + 1, r.status, body[:300]))
                etags[k] = r.getheader('ETag')
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        finally:
            os.close(fd)
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit('upload failed: %s' % errors[0])
    return etags


def upload(port, team, key, src, part_mib, parallel):
    port, part_mib, parallel = int(port), int(part_mib), int(parallel)
    size = os.path.getsize(src)
    chunk = part_mib * MIB
    want_crc = crc32_of(src)  # before the clock starts
    owner = Api(port, {'X-API-KEY': key})
    pkg = owner.json('POST', '/v1/teams/%s/packages' % team,
                     {'name': 'bench', 'description': 'make bench-transfer',
                      'recipients': ['bench@example.org']})
    owner.close()
    pid = pkg['id']
    api = Api(port, {'X-Package-Token': pkg['access_token']})
    created = api.json('POST', '/v1/packages/%s/files' % pid,
                       {'kind': 'file', 'name': 'bench.bin', 'path': '', 'size': size,
                        'chunk_size': chunk})
    fid = created['file']['id']
    bp = created['create_blueprint']
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    conn.request(bp['method'], path_of(bp['url']), body=(bp.get('body') or '').encode(),
                 headers=bp.get('headers') or {})
    r = conn.getresponse()
    xml = r.read().decode()
    conn.close()
    if r.status != 200 or '<UploadId>' not in xml:
        sys.exit('create blueprint: %d %s' % (r.status, xml[:300]))
    upload_id = xml.split('<UploadId>')[1].split('</UploadId>')[0]
    nparts = max(1, (size + chunk - 1) // chunk)
    bps = api.json('POST', '/v1/packages/%s/files/%s?start=0&count=%d' % (pid, fid, nparts),
                   {'upload_id': upload_id})
    if len(bps) != nparts:
        sys.exit('asked for %d part blueprints, got %d' % (nparts, len(bps)))
    api.close()

    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    etags = send_parts(port, src, size, chunk, bps, parallel)
    upload_s, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    client_cpu_s = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime

    # A fresh connection, opened before the clock starts: the old one may have idled out.
    api = Api(port, {'X-Package-Token': pkg['access_token']})
    body = {'chunk_extras': [{'partNumber': k + 1, 'etag': etags[k]} for k in range(nparts)],
            'file_extras': {'upload_id': upload_id}, 'size': size, 'chunk_size': chunk}
    t0 = time.perf_counter()
    done = api.json('POST', '/v1/packages/%s/files/%s/finalize' % (pid, fid), body)
    finalize_ms = (time.perf_counter() - t0) * 1000
    if done.get('size') != size:
        sys.exit('file finalize answered size %s, not %d' % (done.get('size'), size))
    t0 = time.perf_counter()
    api.json('POST', '/v1/packages/%s/finalize' % pid)
    package_finalize_ms = (time.perf_counter() - t0) * 1000

    files = api.json('GET', '/v1/packages/%s/files' % pid)
    zipw = [f for f in files if f['kind'] == 'zip_windows'][0]
    file_url = api.json('GET', '/v1/packages/%s/files/%s/download' % (pid, fid))['url']
    zip_url = api.json('GET', '/v1/packages/%s/files/%s/download' % (pid, zipw['id']))['url']
    api.close()
    # The stored bytes are SRC's: the download ETag is "<crc32>-<size in hex>".
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    conn.request('GET', path_of(file_url), headers={'Range': 'bytes=0-0'})
    r = conn.getresponse()
    r.read()
    conn.close()
    want_etag = '"%08x-%x"' % (want_crc, size)
    if r.status != 206 or r.getheader('ETag') != want_etag:
        sys.exit('stored file: %d, ETag %s, want %s' % (r.status, r.getheader('ETag'), want_etag))

    for k, v in (('upload_bytes', size), ('upload_s', '%.3f' % upload_s),
                 ('client_cpu_s', '%.2f' % client_cpu_s),
                 ('finalize_ms', '%.1f' % finalize_ms),
                 ('package_finalize_ms', '%.1f' % package_finalize_ms), ('package_id', pid),
                 ('package_token', pkg['access_token']), ('file_id', fid),
                 ('file_url', file_url), ('zip_size', zipw['size']), ('zip_url', zip_url)):
        print(k, v)


def report(path):
    one = {}
    many = {}
    for line in open(path):
        f = line.split()
        if f:
            one[f[0]] = f[1:]
            many.setdefault(f[0], []).append(f[1:])

    def num(k, i=0):
        return float(one[k][i])

    def mbs(rows):
        """MB/s of each "bytes seconds" row."""
        return [int(r[0]) / float(r[1]) / 1e6 for r in rows]

    def dl(who, streams):
        return mbs([r[2:] for r in many.get('dl', []) if r[0] == who and int(r[1]) == streams])

    med = statistics.median
    size = num('upload_bytes')
    rows = []
    up, dd = mbs(many['up']), mbs(many['dd'])
    rows.append(('upload, %d MiB parts x %d (MB/s)' % (num('parts', 0), num('parts', 1)),
                 '%.0f' % med(up), '%.0f dd' % med(dd), '%.2f' % (med(up) / med(dd)), '>= 0.8'))
    fin = [float(r[0]) for r in many['finalize_ms']]
    rows.append(('file finalize, %g GiB (ms)' % (size / (1 << 30)), '%.1f' % med(fin), '-', '-',
                 '< 100'))
    for s in (1, 4):
        c, n = med(dl('consign', s)), med(dl('nginx', s))
        rows.append(('download, %d stream%s (MB/s)' % (s, 's' if s > 1 else ''), '%.0f' % c,
                     '%.0f nginx' % n, '%.2f' % (c / n), '>= 0.9'))
    z, n = med(dl('zip', 1)), med(dl('nginx', 1))
    rows.append(('zip_windows download, 1 stream (MB/s)', '%.0f' % z, '%.0f nginx file' % n,
                 '%.2f' % (z / n), '>= 0.8'))
    rows.append(('server peak RSS (MiB, VmHWM)', '%.1f' % (num('vmhwm_kb') / 1024), '-', '-',
                 '-'))
    head = ('figure', 'consign', 'reference', 'ratio', 'target')
    w = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
    fmt = '%%-%ds  %%%ds  %%%ds  %%%ds  %%-%ds' % tuple(w)
    print(fmt % head)
    for r in rows:
        print((fmt % r).rstrip())
    print()
    print('file: %.2f GiB of random bytes; MB = 10^6 bytes; each figure is the median of its runs;'
          % (size / (1 << 30)))
    print('downloads with a warm page cache, consign and nginx in turns (the zip\'s reference is')
    print('every single-stream nginx run). Runs, in order:')
    lines = [('upload MB/s', ['%.0f' % v for v in up]), ('dd MB/s', ['%.0f' % v for v in dd]),
             ('file finalize ms', ['%.1f' % v for v in fin]),
             ('package finalize ms', [r[0] for r in many['package_finalize_ms']])]
    for who, s in (('consign', 1), ('nginx', 1), ('consign', 4), ('nginx', 4), ('zip', 1)):
        lines.append(('%s, %d stream%s MB/s' % (who, s, 's' if s > 1 else ''),
                      ['%.0f' % v for v in dl(who, s)]))
    lw = max(len(label) for label, _ in lines) + 1
    for label, vals in lines:
        print('  %-*s %s' % (lw, label + ':', ' '.join(vals)))
    gib = size / (1 << 30)
    nup, n1, n4, nz = len(up), len(dl('consign', 1)), len(dl('consign', 4)), len(dl('zip', 1))
    cpu_up = sum(float(r[0]) for r in many['cpu_up'])
    print('server CPU seconds per GiB (user+system): upload %.2f, file download %.2f, zip %.2f'
          % (cpu_up / (nup * gib), num('cpu_downloads') / ((n1 + 4 * n4) * gib),
             num('cpu_zip') / (nz * gib)))
    print('client CPU seconds per GiB uploaded (Python, user+system): %.2f'
          % (sum(float(r[0]) for r in many['client_cpu_s']) / (nup * gib)))
    print('server VmHWM after the uploads: %.1f MiB' % (num('rss_after_upload_kb') / 1024))
    print('load average at the start: %s; at the end: %s (other work on the machine shows here)'
          % (' '.join(one['load']), ' '.join(one.get('load_end', ['-']))))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == 'upload' and len(sys.argv) == 8:
        upload(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == 'report':
        report(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
