#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The data path as a MASV client drives it: package, files, create blueprint, part windows,
parts in parallel, file finalize, package finalize, links, resolve, file list, downloads of
each file and of the zip (with Range), and the refusals along the way."""
import hashlib
import io
import os
import sys
import threading
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MIB, Client as BaseClient, Tap, download, is_error, is_id, main_guard,  # noqa: E402
                     make_team, new_package, replay, request, split_url, upload_id_of, DIRECT, eventually,
                     with_server)


class Client(BaseClient):
    """A MASV client that uploads whole files."""

    def upload(self, pid, name, data, chunk, path='', parallel=4, declare=True):
        """The whole protocol for one file; returns the finalized file object."""
        extra = {'size': len(data), 'chunk_size': chunk} if declare else {}
        parts = max(1, (len(data) + chunk - 1) // chunk)
        created, upload_id, bps = self.begin(pid, name, parts, path, **extra)
        fid = created['file']['id']
        etags = [None] * parts
        errors = []

        def send(k):
            try:
                piece = data[k * chunk:(k + 1) * chunk]
                assert 'partNumber=%d' % (k + 1) in bps[k]['url'], bps[k]['url']
                res = replay(self.srv.port, bps[k], piece)
                assert res.status == 200, res
                etags[k] = res.header('etag')
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        # Last part first, then the rest in parallel: order must not matter.
        order = list(range(parts))[::-1]
        threads = []
        for k in order:
            th = threading.Thread(target=send, args=(k,))
            th.start()
            threads.append(th)
            if len(threads) >= parallel:
                threads.pop(0).join()
        for th in threads:
            th.join()
        assert not errors, errors
        extras = [{'partNumber': str(k + 1) if k % 2 else k + 1,
                   'etag': etags[k] if k % 2 else etags[k].strip('"')} for k in range(parts)]
        r = self.finalize_file(pid, fid, upload_id, extras, size=len(data), chunk_size=chunk)
        assert r.status == 200, r
        return r.json


def main(t):
    with_server(t, body)


def body(t, srv):
    if True:
        team = make_team(srv, 'transfer', roles=('owner',))
        key = team['owner']['api_key']
        tid = team['team_id']
        big = os.urandom(17 * MIB + 12345)
        small = b'hello, consign\n' * 1000
        state = {}

        def spec():
            r = srv.get('/v1/system/packages/spec')
            assert r.status == 200, r
            assert r.json == {'max_chunk_count': 10000, 'max_chunks_count': 10000,
                              'max_chunk_size': 5 << 30, 'min_chunk_size': 5 << 20}, r.json
        t.test('GET /v1/system/packages/spec answers the chunk limits', spec)

        def full_sequence():
            pkg = new_package(srv, key, tid)
            c = Client(srv, pkg['access_token'])
            state.update(pkg=pkg, client=c)
            f1 = c.upload(pkg['id'], 'reel1.mov', big, 5 * MIB, path='rushes/day1')
            assert f1['size'] == len(big) and f1['name'] == 'reel1.mov', f1
            # a file whose chunk size is never declared: part 1 tells it
            f2 = c.upload(pkg['id'], 'notes.txt', small, 5 * MIB, declare=False)
            f3 = c.upload(pkg['id'], 'undeclared.bin', big, 5 * MIB, declare=False, parallel=8)
            assert f3['size'] == len(big)
            r = c.call('POST', '/v1/packages/%s/finalize' % pkg['id'])
            assert r.status == 200, r
            assert r.json['state'] == 'finalized', r.json
            assert r.json['size'] == 2 * len(big) + len(small), r.json
            assert r.json['total_files'] == 3, r.json
            state['files'] = {'reel1.mov': big, 'notes.txt': small, 'undeclared.bin': big}
            state['paths'] = {'reel1.mov': 'rushes/day1', 'notes.txt': '', 'undeclared.bin': ''}
        t.test('package, files, create blueprint (S3 XML), part windows, parts out of order and in '
               'parallel, file finalize (string and number partNumber, quoted and bare ETags), '
               'package finalize sets size and total_files', full_sequence)

        def links_and_downloads():
            pkg, c = state['pkg'], state['client']
            r = c.call('POST', '/v1/packages/%s/links' % pkg['id'],
                       {'email': 'viewer@example.com', 'access_limit': 3})
            assert r.status == 201, r
            link = r.json
            assert is_id(link['id']) and link['download_secret'], link
            assert link['access_limit'] == 3 and link['access_limit_enabled'] is True, link
            assert link['password'] == '' and link['active'] is True, link
            r = c.call('GET', '/v1/packages/%s/links' % pkg['id'])
            # the recipient's own link (made at finalize, and mailed), then this one
            assert r.status == 200 and r.json[-1]['id'] == link['id'], r
            assert [l['email'] for l in r.json] == ['editor@example.com', 'viewer@example.com'], r
            assert all('download_secret' not in l for l in r.json), 'a list must not show secrets'
            r = srv.get('/v1/links/%s?secret=%s' % (link['id'], link['download_secret']))
            assert r.status == 200, r
            res = r.json
            assert res['package_id'] == pkg['id'] and res['name'] == 'Dailies', res
            assert res['package_size'] == 2 * len(big) + len(small), res
            assert res['recipient_email'] == 'viewer@example.com', res
            dtok = res['package_token']
            # a download token lists and downloads, and nothing else
            r = c.call('GET', '/v1/packages/%s/files' % pkg['id'], token=dtok)
            assert r.status == 200, r
            files = r.json
            kinds = [f['kind'] for f in files]
            assert kinds == ['file', 'file', 'file', 'zip_windows', 'zip_mac'], kinds
            for f in files[:3]:
                assert set(f) >= {'id', 'kind', 'name', 'path', 'size', 'last_modified',
                                  'virus_detected'}, f
                assert f['path'] == state['paths'][f['name']], f
            r = c.call('POST', '/v1/packages/%s/links' % pkg['id'], {}, token=dtok)
            is_error(r, 403)
            r = c.call('POST', '/v1/packages/%s/files' % pkg['id'], {'name': 'x'}, token=dtok)
            is_error(r, 403)
            for f in files[:3]:
                r = c.call('GET', '/v1/packages/%s/files/%s/download' % (pkg['id'], f['id']),
                           token=dtok)
                assert r.status == 200, r
                bp = r.json
                want = state['files'][f['name']]
                got = download(srv.port, bp)
                assert got.status == 200, got
                assert int(got.header('content-length')) == len(want)
                assert hashlib.sha256(got.raw).digest() == hashlib.sha256(want).digest(), f['name']
                assert got.header('etag') and got.header('accept-ranges') == 'bytes', got.headers
                cd = got.header('content-disposition')
                assert cd.startswith('attachment; filename="') and f['name'] in cd, cd
                # ranges at the boundaries
                n = len(want)
                for rng, lo, hi in (('bytes=0-0', 0, 0), ('bytes=0-%d' % (n - 1), 0, n - 1),
                                    ('bytes=%d-' % (n - 1), n - 1, n - 1), ('bytes=-10', n - 10, n - 1),
                                    ('bytes=5-%d' % (n + 100), 5, n - 1)):
                    got = download(srv.port, bp, {'Range': rng})
                    assert got.status == 206, (rng, got)
                    assert got.raw == want[lo:hi + 1], rng
                    assert got.header('content-range') == 'bytes %d-%d/%d' % (lo, hi, n), got.headers
                got = download(srv.port, bp, {'Range': 'bytes=%d-' % n})
                # (an object store need not say the length in its 416)
                assert got.status == 416 and (DIRECT or got.header('content-range') == 'bytes */%d' % n), got
            # the zip: every file, with its folder, byte for byte
            for z in files[3:]:
                r = c.call('GET', '/v1/packages/%s/files/%s/download' % (pkg['id'], z['id']),
                           token=dtok)
                assert r.status == 200, r
                got = download(srv.port, r.json)
                assert got.status == 200, got
                assert len(got.raw) == z['size'] == int(got.header('content-length')), (len(got.raw), z)
                with zipfile.ZipFile(io.BytesIO(got.raw)) as zf:
                    assert zf.testzip() is None
                    names = sorted(zf.namelist())
                    assert names == sorted(['rushes/day1/reel1.mov', 'notes.txt', 'undeclared.bin']), names
                    for name, want in state['files'].items():
                        full = (state['paths'][name] + '/' + name).lstrip('/')
                        assert zf.read(full) == want, name
                # a range in the middle of the zip is the same bytes
                mid = download(srv.port, r.json, {'Range': 'bytes=1000-2000000'})
                assert mid.status == 206 and mid.raw == got.raw[1000:2000001], mid
            # the access limit counts resolutions
            for _ in range(2):
                r = srv.get('/v1/links/%s?secret=%s' % (link['id'], link['download_secret']))
                assert r.status == 200, r
            r = srv.get('/v1/links/%s?secret=%s' % (link['id'], link['download_secret']))
            is_error(r, 403)
            # a download updated the package's usage time
            r = srv.get('/v1.1/teams/%s/packages/%s' % (tid, pkg['id']), key=key)
            assert r.status == 200 and not r.json['usage_updated_at'].startswith('0001'), r.json
            state['link'] = link
        t.test('links: create (201 with download_secret), list, resolve to a download token; '
               'files list with zip entries; each file downloads with Content-Length, ETag, '
               'Content-Disposition and exact ranges (206/416); both zips hold every file and '
               'serve ranges; access_limit gives 403', links_and_downloads)

        def refusals():
            pkg, c = state['pkg'], state['client']
            link = state['link']
            r = srv.get('/v1/links/%s?secret=%s' % (link['id'], 'A' * 43))
            is_error(r, 401)
            # guessing is rate limited per link and client: 10 failures, then 429
            for _ in range(9):
                is_error(srv.get('/v1/links/%s?secret=%s' % (link['id'], 'B' * 43)), 401)
            r = srv.get('/v1/links/%s?secret=%s' % (link['id'], link['download_secret']))
            is_error(r, 429)
            assert int(r.header('retry-after')) > 0, r.headers
            # a password link
            r = c.call('POST', '/v1/packages/%s/links' % pkg['id'], {'password': 'sesame'})
            assert r.status == 201 and r.json['password'] == '****', r
            pl = r.json
            r = srv.get('/v1/links/%s?secret=%s' % (pl['id'], pl['download_secret']))
            is_error(r, 401)
            r = srv.get('/v1/links/%s?secret=%s' % (pl['id'], pl['download_secret']),
                        headers={'X-Link-Password': 'wrong'})
            is_error(r, 401)
            r = srv.get('/v1/links/%s?secret=%s' % (pl['id'], pl['download_secret']),
                        headers={'X-Link-Password': 'sesame'})
            assert r.status == 200, r
            # after finalize, files can no longer change
            r = c.call('POST', '/v1/packages/%s/files' % pkg['id'], {'name': 'late.txt'})
            is_error(r, 409)
            # a tampered or expired storage URL
            r = c.call('GET', '/v1/packages/%s/files' % pkg['id'])
            fid = r.json[0]['id']
            bp = c.call('GET', '/v1/packages/%s/files/%s/download' % (pkg['id'], fid)).json
            to, url = split_url(bp['url'])
            if DIRECT:
                # the object store checks its own signatures (expiry: contract_s3)
                r = request(to, 'GET', url.replace('X-Amz-Signature=', 'X-Amz-Signature=0'))
                assert r.status == 403, r
            else:
                r = request(to, 'GET', url.replace('sig=', 'sig=x'))
                is_error(r, 403)
                r = request(to, 'GET', url.replace('expires=', 'expires=1'))
                is_error(r, 403)
            # another package's token sees nothing of this one
            other = new_package(srv, key, tid, 'Other')
            r = c.call('GET', '/v1/packages/%s/files' % pkg['id'], token=other['access_token'])
            is_error(r, 404)
            # deleting the link: 204, then 410
            r = c.call('DELETE', '/v1/links/%s' % pl['id'])
            assert r.status == 204, r
            r = srv.get('/v1/links/%s?secret=%s' % (pl['id'], pl['download_secret']),
                        headers={'X-Link-Password': 'sesame'})
            is_error(r, 410)
            # deleting the package: links answer 410
            r = c.call('POST', '/v1/packages/%s/links' % pkg['id'], {})
            l3 = r.json
            ids = [f['id'] for f in c.call('GET', '/v1/packages/%s/files' % pkg['id']).json
                   if f['kind'] == 'file']
            urls = [c.call('GET', '/v1/packages/%s/files/%s/download' % (pkg['id'], i)).json
                    for i in ids]
            on_disk = lambda: {n for _, _, fs in os.walk(os.path.join(srv.data, 'blobs'))  # noqa: E731
                               for n in fs}
            assert all(download(srv.port, u, {'Range': 'bytes=0-0'}).status == 206 for u in urls)
            assert DIRECT or set(ids) <= on_disk(), 'the files are on disk before the delete'
            r = c.call('DELETE', '/v1/packages/%s' % pkg['id'])
            assert r.status == 204, r
            # its bytes go in the background, soon: from the disk, or from the object store
            eventually(lambda: not set(ids) & on_disk(), what='removing the deleted bytes')
            # and URLs handed out before the delete fetch nothing any more
            for u in urls:
                eventually(lambda: download(srv.port, u, {'Range': 'bytes=0-0'}).status in (404, 410),
                           what='the object store forgetting a deleted file')
            r = srv.get('/v1/links/%s?secret=%s' % (l3['id'], l3['download_secret']))
            is_error(r, 410)
        t.test('refusals: wrong secret 401 (10 failures: 429 even for the right one), password links (missing/wrong 401, right 200), files '
               'after finalize 409, tampered or expired signed URL 403, another package 404, '
               'deleted link 410, deleted package 410 with its bytes gone from disk', refusals)

        def browsers():
            pkg = new_package(srv, key, tid, 'Browser')
            c = Client(srv, pkg['access_token'])
            _, _, bps = c.begin(pkg['id'], 'clip.mp4', 1, size=3, chunk_size=3)
            to, url = split_url(bps[0]['url'])
            r = request(to, 'OPTIONS', url, headers={
                'Origin': 'https://portal.example.com', 'Access-Control-Request-Method': 'PUT',
                'Access-Control-Request-Headers': 'content-type'})
            assert r.status in ((200, 204) if DIRECT else (204,)), r  # an object store may say 200
            assert 'PUT' in r.header('access-control-allow-methods'), r.headers
            assert 'content-type' in r.header('access-control-allow-headers').lower(), r.headers
            r = replay(srv.port, bps[0], b'abc', headers={'Origin': 'https://portal.example.com'})
            assert r.status == 200 and r.header('access-control-allow-origin') == '*', r.headers
            exposed = [h.strip().lower() for h in r.header('access-control-expose-headers').split(',')]
            assert 'etag' in exposed, exposed
        t.test('browsers: a part URL answers the CORS preflight for PUT, and a part\'s answer '
               'exposes its ETag to the page', browsers)

        def upload_rules():
            pkg = new_package(srv, key, tid, 'Rules')
            c = Client(srv, pkg['access_token'])
            pid = pkg['id']
            r = c.call('POST', '/v1/packages/%s/finalize' % pid)
            is_error(r, 400)
            created = c.add_file(pid, '../../etc/passwd', path='../..')
            fid = created['file']['id']
            upload_id = upload_id_of(replay(srv.port, created['create_blueprint']).raw)
            r = c.call('POST', '/v1/packages/%s/files/%s?start=0&count=3' % (pid, fid),
                       {'upload_id': 'nope'})
            is_error(r, 400)
            r = c.call('POST', '/v1/packages/%s/files/%s?start=0&count=0' % (pid, fid),
                       {'upload_id': upload_id})
            is_error(r, 400)
            bps = c.call('POST', '/v1/packages/%s/files/%s?start=0&count=3' % (pid, fid),
                         {'upload_id': upload_id}).json
            data = os.urandom(11 * MIB)
            etags = []
            for k in range(3):
                res = replay(srv.port, bps[k], data[k * 5 * MIB:(k + 1) * 5 * MIB])
                assert res.status == 200, res
                etags.append(res.header('etag'))
            # re-sending a part replaces it: same bytes, same ETag
            res = replay(srv.port, bps[1], data[5 * MIB:10 * MIB])
            assert res.header('etag') == etags[1]
            if not DIRECT:
                # a part larger than the chunk size is refused (an object store takes any size:
                # finalize refuses the list instead)
                res = replay(srv.port, bps[2], os.urandom(6 * MIB))
                is_error(res, 400)
                # the parts already lie where they belong in the file's one data file, named by
                # the file's id: finalizing has nothing to copy
                blob = os.path.join(srv.data, 'blobs', fid[-2:], fid)
                with open(blob, 'rb') as fh:
                    assert fh.read() == data, 'the data file does not hold the parts in place'
            fin = lambda ex, size=len(data): c.call(  # noqa: E731
                'POST', '/v1/packages/%s/files/%s/finalize' % (pid, fid),
                {'chunk_extras': ex, 'file_extras': {'upload_id': upload_id}, 'size': size})
            good = [{'partNumber': k + 1, 'etag': etags[k]} for k in range(3)]
            is_error(fin(good[:2] + [{'partNumber': 3, 'etag': '"0000"'}]), 400)
            is_error(fin(good[:2]), 400)
            is_error(fin(good, size=len(data) + 1), 400)
            # the refused part left part 3 as it was; its spelling part_number is taken too
            r = fin([{'part_number': g['partNumber'], 'etag': g['etag']} for g in good])
            assert r.status == 200, r
            r = fin(good)
            assert r.status == 200 and r.json['size'] == len(data), r
            assert r.json['name'] == '../../etc/passwd' and r.json['path'] == '../..', r.json
            # the name is data: nothing was written outside the data dir
            assert not os.path.exists(os.path.join(srv.data, '..', 'etc', 'passwd'))
            # a file added and deleted before finalize is gone
            extra = c.add_file(pid, 'drop.me')
            r = c.call('DELETE', '/v1/packages/%s/files/%s' % (pid, extra['file']['id']))
            assert r.status == 204, r
            r = c.call('POST', '/v1/packages/%s/finalize' % pid)
            assert r.status == 200 and r.json['total_files'] == 1, r
            with zipfile.ZipFile(io.BytesIO(download(
                    srv.port, c.call('GET', '/v1/packages/%s/files/zip_mac/download' % pid).json).raw)) as zf:
                assert zf.namelist() == ['etc/passwd'], zf.namelist()
                assert zf.read('etc/passwd') == data
        def past_declared_size():
            pkg = new_package(srv, key, tid, 'Declared')
            c = Client(srv, pkg['access_token'])
            _, _, bps = c.begin(pkg['id'], 'ten.bin', 2, size=5 * MIB + 10, chunk_size=5 * MIB)
            r = replay(srv.port, bps[1], b'x' * 11)
            assert r.status == 413, 'a part past the declared size: %r' % r
            r = replay(srv.port, bps[1], b'x' * 10)
            assert r.status == 200, r
        if not DIRECT:  # an object store takes the bytes itself; finalize refuses the sizes
            t.test('a part that ends past the file\'s declared size is 413 before any byte is '
                   'written', past_declared_size)

        t.test('upload rules: empty package 400, wrong upload_id 400, re-sent part same ETag, parts in '
               'place in the file before finalize, '
               'oversized part 400, wrong ETag / missing part / wrong size 400, ../ kept as data '
               'and made safe in the zip, delete before finalize', upload_rules)


if __name__ == '__main__':
    main_guard(Tap(), main)
