#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Durability of the data path: uploads that survive SIGKILL of the server (between parts, in
the middle of a part, right after a file finalize), memory that stays flat while 64 parts of
100 MiB are in flight, one writer per part, and file names that stay data."""
import hashlib
import io
import json
import os
import re
import select
import socket
import threading
import time
import sys
import urllib.parse
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HOST, MIB, Client, Tap, is_error, main_guard, make_team, new_package,  # noqa: E402
                     raw_response, read_response, replay, sanitizer_report, split_url,
                     with_server)

CHUNK = 5 * MIB


# ---- the server process ----

def proc_field(pid, name, field):
    """A number from /proc/@pid/@name ("VmRSS:   1234 kB" or "rchar: 1234")."""
    with open('/proc/%d/%s' % (pid, name)) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise AssertionError('no %s in /proc/%d/%s' % (field, pid, name))


def rss(srv):
    """The server's resident set, in bytes."""
    return proc_field(srv.proc.pid, 'status', 'VmRSS') * 1024


def written(srv):
    """Bytes the server has written to files so far (part bodies go to disk with pwrite)."""
    return proc_field(srv.proc.pid, 'io', 'wchar')


def wait_written(srv, since, n, timeout=30):
    """Waits until the server has written @n more bytes than @since to its files."""
    deadline = time.monotonic() + timeout
    while written(srv) - since < n:
        assert time.monotonic() < deadline, 'the server wrote %d of %d bytes in %ds' % (
            written(srv) - since, n, timeout)
        time.sleep(0.01)


def restart(srv):
    """SIGKILL, then a new server on the same data dir and port (the blueprints name the port)."""
    port = srv.port
    srv.kill()
    _, err = srv.read_logs()
    rep = sanitizer_report(err)
    assert rep is None, 'sanitizer report (%s) before the kill:\n%s' % (rep, err[-4000:])
    srv.want_port = port
    srv.start()
    assert srv.port == port, (srv.port, port)
    return err


# ---- raw requests ----

def open_put(port, bp, length, first=b'', headers=''):
    """A connection that sent the head of part blueprint @bp's PUT (Content-Length @length) and
    the first bytes of its body."""
    assert bp['method'] == 'PUT' and bp['headers'] == {}, bp
    head = 'PUT %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %d\r\n%s\r\n' % (
        split_url(bp['url'])[1], HOST, port, length, headers)
    s = socket.create_connection((HOST, port), timeout=30)
    s.sendall(head.encode() + first)
    return s


def answered(s):
    """What the server sent on @s so far without waiting (b'' when nothing)."""
    if not select.select([s], [], [], 0)[0]:
        return b''
    try:
        return s.recv(65536) or b'<closed>'
    except OSError as e:
        return ('<%s>' % e).encode()


def error_text(r):
    return r.json['message'] if isinstance(r.json, dict) else ''


def sha(b):
    return hashlib.sha256(b).hexdigest()


def zip_members(c, pid, kind='zip_mac'):
    """{name: bytes} of the package zip, after checking every CRC."""
    got = c.fetch(pid, kind)
    assert got.status == 200, got
    with zipfile.ZipFile(io.BytesIO(got.raw)) as zf:
        assert zf.testzip() is None, 'a zip member fails its CRC'
        return {n: zf.read(n) for n in zf.namelist()}


# ---- 1. crash and resume ----

def crash_and_resume(t, srv):
    team = make_team(srv, 'crash', roles=('owner',))
    pkg = new_package(srv, team['owner']['api_key'], team['team_id'], 'Crash')
    pid = pkg['id']
    c = Client(srv, pkg['access_token'])
    data = os.urandom(40 * MIB + 12345)
    nparts = (len(data) + CHUNK - 1) // CHUNK
    piece = lambda k: data[(k - 1) * CHUNK:k * CHUNK]  # noqa: E731
    created, upload_id, bps = c.begin(pid, 'reel.mov', nparts, 'day1', size=len(data),
                                      chunk_size=CHUNK)
    fid = created['file']['id']
    st = {'bps': bps}
    etags = {}

    def put(k, body=None):
        r = replay(srv.port, st['bps'][k - 1], piece(k) if body is None else body)
        assert r.status == 200 and r.header('etag'), (k, r)
        return r.header('etag')

    def resume():
        """After a restart: the same UploadId from the create blueprint, fresh part blueprints."""
        assert c.initiate(created) == upload_id, 'a new UploadId after the restart'
        st['bps'] = c.blueprints(pid, fid, upload_id, nparts)

    def extras(parts, tags=None):
        tags = tags or etags
        return [{'partNumber': k, 'etag': tags[k]} for k in parts]

    def between_parts():
        for k in (1, 2, 3):
            etags[k] = put(k)
        restart(srv)
        resume()
        # parts 1-3 count with their ETags: the only complaint is the size they add up to
        r = c.finalize_file(pid, fid, upload_id, extras((1, 2, 3)))
        is_error(r, 400)
        assert 'parts hold %d bytes' % (3 * CHUNK) in error_text(r), r
        # ...and an ETag is still checked against the part on disk
        r = c.finalize_file(pid, fid, upload_id, extras((1, 2, 3), {**etags, 3: etags[1]}))
        is_error(r, 400)
        assert 'etag of part 3' in error_text(r), r
    t.test('SIGKILL between parts: after a restart on the same data dir the create blueprint '
           'gives the same UploadId and the three parts acknowledged before the kill count '
           'with their ETags (finalize complains only of the size; a wrong ETag is 400)',
           between_parts)

    def mid_part():
        for k in (4, 5):
            etags[k] = put(k)
        # part 6 (never sent) and part 2 (acknowledged, sent again with other bytes) are cut
        # off half way through their bodies
        since = written(srv)
        socks = [open_put(srv.port, st['bps'][5], CHUNK, piece(6)[:CHUNK // 2]),
                 open_put(srv.port, st['bps'][1], CHUNK, os.urandom(CHUNK // 2))]
        wait_written(srv, since, CHUNK)
        time.sleep(0.2)
        for s in socks:
            assert answered(s) == b'', 'a half-sent part was answered'
        err = restart(srv)
        for s in socks:
            s.close()
        puts = re.findall(r'PUT /storage/files/\S+ (\d+) ', err)
        assert puts == ['200', '200'], 'PUTs logged before the kill: %r (parts 4 and 5 only)' % puts
        resume()
        # part 2's record went when its bytes started being overwritten
        r = c.finalize_file(pid, fid, upload_id, extras(range(1, 6)))
        is_error(r, 400)
        assert 'part 2 was not received' in error_text(r), r
        tag = put(2)
        assert tag == etags[2], 'the same bytes of part 2 got another ETag: %s, %s' % (tag, etags[2])
        # the half part 6 does not count
        r = c.finalize_file(pid, fid, upload_id, extras(range(1, 7), {**etags, 6: etags[5]}))
        is_error(r, 400)
        assert 'part 6 was not received' in error_text(r), r
        for k in range(6, nparts + 1):
            etags[k] = put(k)
    t.test('SIGKILL in the middle of two part bodies (a new part and a re-sent acknowledged '
           'one): neither counts after the restart (finalize: "not received"), sending them '
           'again gives the same ETag for the same bytes, the other parts are kept',
           mid_part)

    def finalize_cut_off():
        # a second file, finalized with a 200 before a kill
        small = os.urandom(CHUNK + 777)
        created2, up2, bps2 = c.begin(pid, 'notes.bin', 2, size=len(small), chunk_size=CHUNK)
        fid2 = created2['file']['id']
        tags2 = {k: replay(srv.port, bps2[k - 1], small[(k - 1) * CHUNK:k * CHUNK]).header('etag')
                 for k in (1, 2)}
        r = c.finalize_file(pid, fid2, up2, extras((1, 2), tags2))
        assert r.status == 200, r
        done2 = r.json
        # the big file's finalize, cut off by SIGKILL: first with its last byte unsent, then
        # sent whole (the kill follows at once)
        body = json.dumps({'chunk_extras': extras(range(1, nparts + 1)),
                           'file_extras': {'upload_id': upload_id}, 'size': len(data)}).encode()
        raw = ('POST /v1/packages/%s/files/%s/finalize HTTP/1.1\r\nHost: x\r\n'
               'X-Package-Token: %s\r\nContent-Type: application/json\r\n'
               'Content-Length: %d\r\n\r\n' % (pid, fid, c.token, len(body))).encode() + body
        logged = r'POST /v1/packages/%s/files/%s/finalize (\d+) ' % (pid, fid)
        for cut in (1, 0):
            earlier = len(re.findall(logged, srv.read_logs()[1]))
            s = socket.create_connection((HOST, srv.port), timeout=30)
            s.sendall(raw[:len(raw) - cut])
            if cut:
                time.sleep(0.2)
            err = restart(srv)
            s.close()
            fins = re.findall(logged, err)[earlier:]
            if cut:
                assert not fins, 'a finalize without its last byte was logged: %r' % fins
            else:
                r = c.call('GET', '/v1/packages/%s/files' % pid)
                assert r.status == 200, r
                done = [f['finalized'] for f in r.json if f['id'] == fid]
                print('# the finalize sent whole was %s before the kill, and %s' % (
                    'answered' if fins else 'not answered',
                    'took effect' if done == [True] else 'did not take effect'), flush=True)
        # the finalize can be repeated: 200 with the file; then again, the same answer
        r = c.finalize_file(pid, fid, upload_id, extras(range(1, nparts + 1)), size=len(data))
        assert r.status == 200, r
        f = r.json
        assert f['id'] == fid and f['size'] == len(data) and f['finalized'] is True, f
        assert f['name'] == 'reel.mov' and f['path'] == 'day1', f
        r = c.finalize_file(pid, fid, upload_id, extras(range(1, nparts + 1)), size=len(data))
        assert r.status == 200 and r.json == f, (r, f)
        # the file finalized before the kill still is
        r = c.finalize_file(pid, fid2, up2, extras((1, 2), tags2))
        assert r.status == 200 and r.json == done2, (r, done2)
        p = c.finalize(pid)
        assert p['total_files'] == 2 and p['size'] == len(data) + len(small), p
        got = c.fetch(pid, fid)
        assert got.status == 200 and int(got.header('content-length')) == len(data), got
        assert sha(got.raw) == sha(data), 'the downloaded file is not the uploaded one'
        got = c.fetch(pid, fid2)
        assert got.status == 200 and sha(got.raw) == sha(small), got
        members = zip_members(c, pid)
        assert sorted(members) == ['day1/reel.mov', 'notes.bin'], sorted(members)
        assert sha(members['day1/reel.mov']) == sha(data), 'the zip holds other bytes'
        assert members['notes.bin'] == small
    t.test('SIGKILL with a file finalize sent but for its last byte, then right after it is '
           'sent whole: after the restarts the finalize answers 200 with the file, and again '
           'the same; a file finalized before the kills still is; '
           'the package finalizes; the file and the zip (CRCs checked) hold exactly the bytes '
           'sent, SHA-256 equal', finalize_cut_off)


# ---- 2. memory ----

def flat_memory(t, srv):
    team = make_team(srv, 'mem', roles=('owner',))
    pkg = new_package(srv, team['owner']['api_key'], team['team_id'], 'Memory')
    pid = pkg['id']
    c = Client(srv, pkg['access_token'])
    big, n = 100 * MIB, 64
    created, upload_id, bps = c.begin(pid, 'huge.bin', n, size=n * big, chunk_size=big)
    fid = created['file']['id']
    block = os.urandom(MIB)
    socks = []

    def in_flight():
        for _ in range(5):
            assert srv.get('/healthz').status == 200
        base = rss(srv)
        since = written(srv)
        for bp in bps:
            socks.append(open_put(srv.port, bp, big))
        for s in socks:
            for _ in range(3):
                s.sendall(block)
        wait_written(srv, since, n * 3 * MIB)
        time.sleep(0.2)
        for k, s in enumerate(socks):
            got = answered(s)
            assert got == b'', 'part %d was answered: %r' % (k + 1, got[:300])
        first = rss(srv)
        for s in socks:
            for _ in range(5):
                s.sendall(block)
        wait_written(srv, since, n * 8 * MIB)
        time.sleep(0.2)
        second = rss(srv)
        for k, s in enumerate(socks):
            assert answered(s) == b'', 'part %d was answered' % (k + 1)
        print('# VmRSS %.1f MiB before; %+.1f MiB with 64 parts in flight after 192 MiB; '
              '%+.1f MiB more after 320 MiB more' % (base / MIB, (first - base) / MIB,
                                                     (second - first) / MIB), flush=True)
        assert first - base < 64 * MIB, 'RSS grew %.1f MiB' % ((first - base) / MIB)
        assert second - first < 32 * MIB, 'RSS grew %.1f MiB more with 320 MiB more sent' % (
            (second - first) / MIB)
    t.test('64 PUTs of 100 MiB parts in flight at once (3 MiB, then 8 MiB, of each sent): the '
           "server's VmRSS grows less than 64 MiB over its level before them (measured as growth: "
           'the sanitizer build has a large baseline), and less than 32 MiB while 320 MiB more '
           'arrive', in_flight)

    def aborted():
        for s in socks:
            s.close()
        deadline = time.monotonic() + 30
        while True:
            _, err = srv.read_logs()
            if len(re.findall(r'PUT /storage/files/\S+ \d+ \S+ .* aborted', err)) >= n:
                break
            assert time.monotonic() < deadline, 'the aborted parts were not logged:\n' + err[-3000:]
            time.sleep(0.05)
        assert srv.get('/healthz').status == 200
        tags = ['"%s"' % ('A' * 43)] * n
        r = c.finalize_file(pid, fid, upload_id,
                            [{'partNumber': k + 1, 'etag': tags[k]} for k in range(n)])
        is_error(r, 400)
        assert 'part 1 was not received' in error_text(r), r
        # every part can be sent again: the aborted writers let go of their parts
        for k, bp in enumerate(bps):
            r = replay(srv.port, bp, b'x')
            assert r.status == 200, (k + 1, r)
    t.test('closing the 64 connections aborts the parts: /healthz answers, finalize with those '
           'parts is 400 (part 1 not received), and each part can be sent again (200, not 409)',
           aborted)


# ---- 3. one writer per part ----

def one_writer(t, srv):
    team = make_team(srv, 'writer', roles=('owner',))
    pkg = new_package(srv, team['owner']['api_key'], team['team_id'], 'Writers')
    pid = pkg['id']
    c = Client(srv, pkg['access_token'])
    size = 4 * MIB
    expected = {}

    def one_part_file(name, client=c, package=pid):
        created, upload_id, bps = client.begin(package, name, 1, size=size, chunk_size=size)
        return created['file']['id'], upload_id, bps[0]

    def finalize_with(fid, upload_id, tags):
        """Finalizes with the first ETag of @tags accepted; returns it."""
        for tag in tags:
            r = c.finalize_file(pid, fid, upload_id, [{'partNumber': 1, 'etag': tag}], size=size)
            if r.status == 200:
                return tag
            is_error(r, 400)
            assert 'not that of the part received' in error_text(r), r
        raise AssertionError('no ETag of a 200 was accepted: %r' % (tags,))

    def overlapping():
        fid, upload_id, bp = one_part_file('overlap.bin')
        a, b = os.urandom(size), os.urandom(size)
        since = written(srv)
        s = open_put(srv.port, bp, size, a[:size // 2])
        wait_written(srv, since, size // 2)
        r = replay(srv.port, bp, b)
        is_error(r, 409)
        s.sendall(a[size // 2:])
        ra = raw_response(read_response(s, 30))
        s.close()
        assert ra.status == 200 and ra.header('etag'), ra
        assert finalize_with(fid, upload_id, [ra.header('etag')]) == ra.header('etag')
        expected[fid] = a
    t.test('a PUT of a part while another PUT of it is half way: 409; the first then completes '
           '(200) and its ETag finalizes the file', overlapping)

    def racing():
        outcomes = {}
        for i in range(6):
            fid, upload_id, bp = one_part_file('race%d.bin' % i)
            bodies = [os.urandom(size), os.urandom(size)]
            res = [None, None]
            go = threading.Barrier(2)

            def send(j):
                go.wait()
                res[j] = replay(srv.port, bp, bodies[j])
            ths = [threading.Thread(target=send, args=(j,)) for j in (0, 1)]
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            statuses = tuple(sorted(r.status for r in res))
            assert statuses in ((200, 200), (200, 409)), res
            for r in res:
                if r.status == 409:
                    is_error(r, 409)
            outcomes[statuses] = outcomes.get(statuses, 0) + 1
            ok = [j for j in (0, 1) if res[j].status == 200]
            tag = finalize_with(fid, upload_id, [res[j].header('etag') for j in ok])
            expected[fid] = bodies[[j for j in ok if res[j].header('etag') == tag][0]]
        print('# concurrent pairs: %s' % ', '.join('%s x%d' % (k, v) for k, v in outcomes.items()),
              flush=True)
    t.test('two PUTs of one part at once, six times: 200 and 409, or 200 and 200 when they do '
           'not overlap; the file finalizes with the ETag of a 200', racing)

    def takeover():
        # Two writers of one part: A sends all but its last byte; then, while sprayers knock
        # on the part (409 while A holds it), A's last byte goes. The first sprayer that gets
        # the part ("100 Continue") sends half a body of b'B' and is cut off. A's ETag must
        # then be refused (the part was being overwritten) or name bytes that are A's.
        tp = new_package(srv, team['owner']['api_key'], team['team_id'], 'Takeover')
        tc = Client(srv, tp['access_token'])
        kept = {}
        rounds = 40
        for i in range(rounds):
            fid, upload_id, bp = one_part_file('takeover%d.bin' % i, tc, tp['id'])
            a = os.urandom(size)
            since = written(srv)
            s = open_put(srv.port, bp, size, a[:-1])
            wait_written(srv, since, size - 1)
            took, odd = [], []

            def spray():
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not took:
                    b = open_put(srv.port, bp, size, headers='Expect: 100-continue\r\n')
                    got = b''
                    while b'\r\n\r\n' not in got:
                        chunk = b.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                    if got.startswith(b'HTTP/1.1 100 '):
                        took.append(got)
                        b.sendall(b'B' * (size // 2))
                        time.sleep(0.05)
                        b.close()
                        return
                    b.close()
                    if not got.startswith(b'HTTP/1.1 409 '):
                        odd.append(got[:300])
            ths = [threading.Thread(target=spray) for _ in range(8)]
            for th in ths:
                th.start()
            time.sleep(0.02)
            s.sendall(a[-1:])
            ra = raw_response(read_response(s, 30))
            s.close()
            for th in ths:
                th.join()
            assert ra.status == 200, ra
            assert took, 'no second writer got the part'
            assert not odd, 'a knocking writer got neither 409 nor 100 Continue: %r' % odd[0]
            r = tc.finalize_file(tp['id'], fid, upload_id,
                                 [{'partNumber': 1, 'etag': ra.header('etag')}], size=size)
            if r.status == 200:
                kept[fid] = a
            else:
                is_error(r, 400)
                assert 'part 1 was not received' in error_text(r), r
                assert tc.call('DELETE', '/v1/packages/%s/files/%s' % (tp['id'], fid)).status == 204
        print("# takeover: the first writer's ETag was accepted in %d of %d rounds" % (
            len(kept), rounds), flush=True)
        if not kept:
            return
        tc.finalize(tp['id'])
        mixed = []
        for fid, want in kept.items():
            got = tc.fetch(tp['id'], fid)
            assert got.status == 200, got
            if sha(got.raw) != sha(want):
                mixed.append('%s (%d KiB of the cut-off writer)' % (
                    fid, got.raw.count(b'B' * 1024)))
        assert not mixed, ("finalize accepted the first writer's ETag but the file holds other "
                           'bytes: ' + ', '.join(mixed))
    t.test('a PUT that takes a part the moment the previous writer finishes, then is cut off '
           "(40 rounds, 8 knocking writers): the first writer's ETag is accepted only if the "
           'bytes are its own', takeover)

    def downloads():
        c.finalize(pid)
        for fid, want in expected.items():
            got = c.fetch(pid, fid)
            assert got.status == 200, got
            assert sha(got.raw) == sha(want), 'file %s: the bytes are not those of the ETag' % fid
        members = zip_members(c, pid)
        assert len(members) == len(expected), sorted(members)
    t.test('every file downloads as exactly the body whose ETag finalized it, never a mix; the '
           'zip passes its CRCs', downloads)


# ---- 4. names are data ----

# Stored as sent: dot segments, absolute paths, quotes, ';', a backslash and C1 control
# characters (U+0085, U+009B: NUL-free control characters that are valid UTF-8).
STORED = (
    ('../../x', '/etc/../../y'),
    ('q"uo;te\\back\u0085nel\u009bcsi \u00e9t\u00e9.txt', 'a/../../b'),
    ('/abs', '..'),
)
# Refused (400 invalid_field): C0 control characters and DEL, in a name or a path.
REFUSED = (
    ('ctl\x01\x1b[31m.txt', ''),
    ('hdr\r\nX-Injected: 1', ''),
    ('del\x7f', ''),
    ('tab.txt', 'a\tb'),
)


def is_control(ch):
    return ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f


def quoted_filename(cd):
    """The filename="..." of a Content-Disposition, read up to the "; filename*=" after it, and
    the name filename* gives."""
    m = re.match(r'attachment; filename="(.*)"; filename\*=UTF-8\'\'(\S*)$', cd)
    assert m, 'Content-Disposition %r' % cd
    return m.group(1), urllib.parse.unquote(m.group(2))


def safe_names(t, srv):
    def names():
        parent = os.path.dirname(os.path.abspath(srv.data))
        before = sorted(os.listdir(parent))
        outside = [os.path.normpath(os.path.join(base, rel))
                   for base in (srv.data, os.path.join(srv.data, 'blobs', 'xx'), os.getcwd())
                   for rel in ('../../x', '../../y', '../x', '../y', 'x', 'y', '/abs')]
        existed = {p for p in outside if os.path.lexists(p)}
        team = make_team(srv, 'names', roles=('owner',))
        pkg = new_package(srv, team['owner']['api_key'], team['team_id'], 'Names')
        pid = pkg['id']
        c = Client(srv, pkg['access_token'])
        for name, path in REFUSED:
            r = c.call('POST', '/v1/packages/%s/files' % pid, {'kind': 'file', 'name': name,
                                                                'path': path})
            is_error(r, 400, 1002)
        files = {}
        for i, (name, path) in enumerate(STORED):
            body = ('%d %r\n' % (i, name)).encode() * 100
            created, upload_id, bps = c.begin(pid, name, 1, path, size=len(body), chunk_size=CHUNK)
            f = created['file']
            assert f['name'] == name and f['path'] == path, f
            r = replay(srv.port, bps[0], body)
            assert r.status == 200, r
            r = c.finalize_file(pid, f['id'], upload_id, [{'partNumber': 1, 'etag': r.header('etag')}])
            assert r.status == 200 and r.json['name'] == name and r.json['path'] == path, r
            files[f['id']] = (name, body)
        r = c.call('GET', '/v1/packages/%s/files' % pid)
        assert r.status == 200 and sorted(f['id'] for f in r.json) == sorted(files), r
        c.finalize(pid)
        for fid, (name, body) in files.items():
            got = c.fetch(pid, fid)
            assert got.status == 200 and got.raw == body, got
            plain, exact = quoted_filename(got.header('content-disposition'))
            bad = [ch for ch in plain if ch in '/"\\' or is_control(ch) or ord(ch) > 0x7e]
            assert not bad, 'filename="%s" has %r' % (plain, bad)
            assert exact == name, (exact, name)
        for kind in ('zip_mac', 'zip_windows'):
            members = zip_members(c, pid, kind)
            assert sorted(members.values()) == sorted(b for _, b in files.values()), kind
            for m in members:
                parts = m.split('/')
                assert not m.startswith('/') and '..' not in parts and '' not in parts, (kind, m)
                assert not any(is_control(ch) for ch in m), (kind, m)
        after = sorted(os.listdir(parent))
        assert after == before, 'new entries next to the data dir: %r' % sorted(set(after) - set(before))
        appeared = [p for p in outside if os.path.lexists(p) and p not in existed]
        assert not appeared, appeared
        for root, dirs, fnames in os.walk(srv.data):
            for n in dirs + fnames:
                assert n not in ('x', 'y', 'b', 'abs') and not any(
                    is_control(ch) or ch in '"\\;' for ch in n), os.path.join(root, n)
    t.test('names "../../x" (path "/etc/../../y"), one with quotes, ";", a backslash and C1 '
           'control characters, "/abs" (path ".."): stored as sent (201), uploaded and downloaded '
           'byte for byte with a Content-Disposition whose quoted filename has no "/", quote, '
           'backslash or control character (filename* gives the exact name); C0 controls, CR LF '
           'and DEL in a name or path are 400 invalid_field; the zips hold no ".." or absolute '
           'name; nothing appears next to the data dir or outside it', names)


def main(t):
    with_server(t, crash_and_resume)
    with_server(t, flat_memory)
    # 8 worker threads, as on an 8-core machine: writers of one part really run side by side
    with_server(t, lambda t, srv: (one_writer(t, srv), safe_names(t, srv)), args=('--threads', '8'))


if __name__ == '__main__':
    main_guard(Tap(), main)
