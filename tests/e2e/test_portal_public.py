#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Portals, the public side, as an uploader's page uses it without credentials: the public view
of a portal by its subdomain (no secret in it; 404 when unknown, deleted, inactive or past its
expiry), the creation of a package through it (access code in the body or X-Access-Code, 401
when wrong or missing, 429 after repeated failures even for the right code, the name format, the
sender's address, closed portals), the portal's restrictions on the package's files (type, file
size, file count, package size) when a file is added, when it is finalized with what it holds
and when the package is finalized, a refused file leaving nothing behind, and a whole upload
whose package lands in the portal's lists and the team's inbox (never among sent packages) with
the portal's tag, teamspace, download password and storage terms (custom_expiry_days)."""
import base64
import calendar
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DIRECT, MIB, Client, Tap, is_error, is_id, is_iso, main_guard,  # noqa: E402
                     make_team, replay, unique, with_server_no_5xx)

NOWHERE = '01ARZ3NDEKTSV4RRFFQ69G5FAV'
ZERO_TIME = '0001-01-01T00:00:00.000Z'
DAY = 86400
# Registry codes of the refusals.
ACCESS_CODE_INVALID, RATE_LIMITED, PORTAL_CLOSED = 2008, 2004, 3004
FILE_TYPE_REFUSED, PORTAL_LIMIT, GONE = 1011, 1012, 3003
PUBLIC_KEYS = {
    'id', 'name', 'subdomain', 'message', 'active', 'logo_url', 'background_url',
    'primary_color', 'has_access_code', 'has_download_password', 'terms_of_service_enabled',
    'terms_of_service', 'package_size_restriction_enabled', 'max_package_size', 'max_file_size',
    'max_file_count', 'file_type_restriction_enabled', 'file_type_restriction_exclude',
    'file_types', 'package_name_format_enabled', 'package_name_format', 'custom_expiry_days',
    'expiry_enabled', 'expiry',
}


def secs(iso):
    """Seconds since the epoch of an ISO 8601 UTC time."""
    return calendar.timegm(time.strptime(iso[:19], '%Y-%m-%dT%H:%M:%S'))


def iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime(t))


def claims(token):
    payload = token.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))


def bad(r, status, field, code=None):
    """Asserts @r is the error @status (registry @code) whose message names @field."""
    j = is_error(r, status, code)
    assert field in j['message'], 'the message does not name %r: %r' % (field, j['message'])
    return j


def main(t):
    with_server_no_5xx(t, body)


def body(t, srv):
    team = make_team(srv, 'public', roles=('owner', 'member'))
    tid, okey = team['team_id'], team['owner']['api_key']
    st = {}

    def sub():
        return unique('pub').lower().replace('_', '-')

    def portal(**fields):
        doc = {'name': fields.pop('name', unique('Portal')), 'subdomain': sub(), 'active': True}
        doc.update(fields)
        r = srv.post('/v1/teams/%s/portals' % tid, doc, key=okey)
        assert r.status == 201, r
        return r.json

    def change(p, **fields):
        doc = dict(srv.get('/v1.1/portals/%s' % p['id'], key=okey).json)
        doc.update(fields)
        r = srv.put('/v1/portals/%s' % p['id'], doc, key=okey)
        assert r.status == 200, r
        return r.json

    def lookup(subdomain):
        return srv.get('/v1/subdomains/portals/%s' % subdomain)

    def create(p, name='Upload', sender='Uploader@Example.org', headers=None, **fields):
        doc = {'name': name, 'sender': sender, 'description': 'from outside'}
        doc.update(fields)
        return srv.post('/v1/portals/%s/packages' % p['id'], doc, headers=headers)

    def created(p, **kw):
        r = create(p, **kw)
        assert r.status == 201, r
        return r.json

    def send(c, pid, name, data, declare=True, chunk=5 * MIB):
        """Adds a file, sends its parts through the blueprints and finalizes it; (the file's
        id, the part blueprints, the Response of the file's finalize)."""
        extra = {'size': len(data)} if declare else {}
        parts = max(1, (len(data) + chunk - 1) // chunk)
        made, upload_id, bps = c.begin(pid, name, parts, **extra)
        fid = made['file']['id']
        extras = []
        for k in range(parts):
            r = replay(srv.port, bps[k], data[k * chunk:(k + 1) * chunk])
            assert r.status == 200, r
            extras.append({'partNumber': k + 1, 'etag': r.header('etag')})
        return fid, bps, c.finalize_file(pid, fid, upload_id, extras, size=len(data))

    def file_ids(c, pid):
        r = c.call('GET', '/v1/packages/%s/files' % pid)
        assert r.status == 200, r
        return [f['id'] for f in r.json if f['kind'] == 'file']

    r = srv.post('/v1/teams/%s/tags' % tid, {'name': unique('portal-tag')}, key=okey)
    assert r.status == 201, r
    st['tag'] = r.json
    r = srv.post('/v1/teams/%s/spaces' % tid, {'name': unique('space'), 'member_ids': []},
                 key=okey)
    assert r.status == 201, r
    st['space'] = r.json['id']

    # ---- the public view ----

    def public_view():
        p = portal(message='Send us your dailies', logo_url='https://example.org/l.png',
                   background_url='https://example.org/b.jpg', primary_color='#0078D4',
                   has_access_code=True, access_code='open sesame 42',
                   has_download_password=True, download_password='hunter22hunter',
                   recipients=['staff@example.org'], tag={'id': st['tag']['id']},
                   teamspace_id=st['space'], custom_expiry_days=9,
                   terms_of_service_enabled=True,
                   terms_of_service={'checkbox_label': 'I agree', 'checkbox_url':
                                     'https://example.org/tos', 'title': 'Terms',
                                     'description': 'Be nice'},
                   package_size_restriction_enabled=True, max_package_size=5000,
                   max_file_size=3000, max_file_count=4, file_type_restriction_enabled=True,
                   file_types=['.mov', '.MP4'], package_name_format_enabled=True,
                   package_name_format={'value': r'^[A-Z]+_\d{4}$', 'label': 'SHOW_1234'},
                   expiry_enabled=True, expiry='2099-01-02T03:04:05.678Z')
        r = lookup(p['subdomain'].upper())
        assert r.status == 200, r
        v = r.json
        assert set(v) == PUBLIC_KEYS, 'public view keys: %r' % sorted(v)
        for k in PUBLIC_KEYS - {'expiry'}:
            assert v[k] == p[k], '%s: %r, want %r' % (k, v[k], p[k])
        assert v['expiry'] == '2099-01-02T03:04:05.678Z', v
        assert v['has_access_code'] is True and v['has_download_password'] is True, v
        assert v['file_types'] == ['.mov', '.mp4'], v
        for secret in ('open sesame 42', 'hunter22', 'staff@example.org', tid, st['space'],
                       st['tag']['id']):
            assert secret not in r.raw.decode(), '%r is in the public view' % secret
        assert r.header('access-control-allow-origin') == '*', r.headers
        st['view'] = p
    t.test('public view: id, name, message, branding, terms, restrictions, whether a code and '
           'a password are set; no secret, recipient, team, tag or teamspace', public_view)

    def public_view_refused():
        for s in ('nosuchportal', 'ab', 'has_underscore', 'x' * 60, 'caf%C3%A9'):
            is_error(lookup(s), 404)
        p = portal(active=False)
        is_error(lookup(p['subdomain']), 404)
        change(p, active=True)
        assert lookup(p['subdomain']).status == 200
        q = portal(expiry_enabled=True, expiry=iso(time.time() - 60))
        is_error(lookup(q['subdomain']), 404)
        q = change(q, expiry_enabled=False)
        assert lookup(q['subdomain']).status == 200
        assert srv.delete('/v1/portals/%s' % q['id'], key=okey).status == 204
        is_error(lookup(q['subdomain']), 404)
    t.test('public view: 404 for an unknown subdomain, an inactive, expired or deleted portal',
           public_view_refused)

    # ---- creating a package ----

    def create_refused():
        is_error(create({'id': NOWHERE}), 404)
        is_error(create({'id': 'not-an-id'}), 404)
        gone = portal()
        assert srv.delete('/v1/portals/%s' % gone['id'], key=okey).status == 204
        is_error(create(gone), 404)
        bad(create(portal(active=False)), 403, 'not active', PORTAL_CLOSED)
        bad(create(portal(expiry_enabled=True, expiry=iso(time.time() - 60))), 403, 'expiry',
            PORTAL_CLOSED)
        assert create(portal(expiry_enabled=True, expiry=iso(time.time() + DAY))).status == 201
        p = portal()
        bad(create(p, sender='not an address'), 400, 'sender')
        bad(create(p, sender=''), 400, 'sender')
        r = srv.post('/v1/portals/%s/packages' % p['id'], {'name': 'x'})
        bad(r, 400, 'sender')
        bad(create(p, name=''), 400, 'name')
        bad(create(p, name=None), 400, 'name')
        is_error(srv.post('/v1/portals/%s/packages' % p['id'], raw='{', headers={
            'Content-Type': 'application/json'}), 400)
    t.test('create: 404 unknown or deleted portal, 403 inactive or past its expiry, 400 for '
           'a sender that is no address and a missing name', create_refused)

    def access_code():
        p = portal(has_access_code=True, access_code='Open Sesame')
        bad(create(p), 401, 'access_code', ACCESS_CODE_INVALID)
        bad(create(p, access_code='open sesame'), 401, 'access_code', ACCESS_CODE_INVALID)
        bad(create(p, access_code=''), 401, 'access_code', ACCESS_CODE_INVALID)
        bad(create(p, headers={'X-Access-Code': 'wrong'}), 401, 'access_code')
        pkg = created(p, access_code='Open Sesame')
        assert is_id(pkg['id']) and pkg['access_token'], pkg
        pkg = created(p, headers={'X-Access-Code': 'Open Sesame'})
        assert pkg['portal_id'] == p['id'], pkg
        # A portal without a code ignores one.
        assert create(portal(), access_code='anything').status == 201
    t.test('create: the access code in the body or X-Access-Code; 401 when wrong or missing',
           access_code)

    def code_rate_limit():
        p = portal(has_access_code=True, access_code='right code')
        other = portal(has_access_code=True, access_code='other code')
        for i in range(10):
            bad(create(p, access_code='guess %d' % i), 401, 'access_code', ACCESS_CODE_INVALID)
        r = create(p, access_code='right code')
        is_error(r, 429, RATE_LIMITED)
        assert int(r.header('retry-after')) > 0, r.headers
        is_error(create(p, access_code='guess again'), 429, RATE_LIMITED)
        # Counted per portal: another portal still answers.
        assert create(other, access_code='other code').status == 201
    t.test('create: after 10 wrong codes for a portal from one address, 429 with Retry-After, '
           'even for the right code', code_rate_limit)

    def name_format():
        p = portal(package_name_format_enabled=True,
                   package_name_format={'value': r'^[A-Z]+_\d{4}$', 'label': 'SHOW_1234'})
        for name in ('show_1234', 'SHOW_12345', 'SHOW 1234', 'x'):
            j = bad(create(p, name=name), 400, 'name')
            assert 'SHOW_1234' in j['message'], j
        assert created(p, name='SHOW_1234')['name'] == 'SHOW_1234'
        # A format that is not enabled is not enforced.
        q = portal(package_name_format_enabled=False,
                   package_name_format={'value': r'^\d+$', 'label': 'digits'})
        assert create(q, name='letters').status == 201
        # A pattern that would backtrack for ages is stopped by the match limits: refused.
        z = portal(package_name_format_enabled=True,
                   package_name_format={'value': r'^(a+)+$', 'label': 'a'})
        started = time.monotonic()
        bad(create(z, name='a' * 40 + 'b'), 400, 'name')
        assert time.monotonic() - started < 10, 'the name format ran too long'
    t.test('create: the name must match the name format when it is enabled (400 naming name)',
           name_format)

    def package_object():
        p = portal(tag={'id': st['tag']['id']}, teamspace_id=st['space'],
                   recipients=['staff@example.org', 'boss@example.org'],
                   has_download_password=True, download_password='hunter22hunter',
                   custom_expiry_days=3)
        before = time.time()
        pkg = created(p, name='Rushes', description='day 1')
        assert pkg['state'] == 'new' and pkg['name'] == 'Rushes', pkg
        assert pkg['description'] == 'day 1', pkg
        assert pkg['sender'] == 'uploader@example.org', pkg
        assert pkg['portal_id'] == p['id'], pkg
        assert pkg['tag'] == {'id': st['tag']['id'], 'name': st['tag']['name']}, pkg
        assert pkg['teamspace_id'] == st['space'], pkg
        assert pkg['recipients'] == ['staff@example.org', 'boss@example.org'], pkg
        assert pkg['password'] == '****', 'the download password is not inherited: %r' % pkg
        assert abs(secs(pkg['expiry']) - (before + 3 * DAY)) < 120, pkg['expiry']
        assert pkg['unlimited_storage'] is False, pkg
        c = claims(pkg['access_token'])
        assert c['lvl'] == 'f' and c['sub'] == pkg['id'], c
        assert not c.get('uid'), 'a portal upload token names a user: %r' % c
        assert 'hunter22' not in json.dumps(pkg), pkg
    t.test("create: an inbox package with the portal's tag, teamspace, recipients, download "
           'password and expiry, and a full package token issued to nobody', package_object)

    # ---- restrictions when files are added ----

    def restrictions_at_add():
        p = portal(file_type_restriction_enabled=True, file_types=['.mov', '.MP4', '.tar.gz'],
                   package_size_restriction_enabled=True, max_file_size=1000,
                   max_file_count=3, max_package_size=1500)
        pkg = created(p)
        c = Client(srv, pkg['access_token'])
        base = '/v1/packages/%s/files' % pkg['id']
        for name in ('notes.txt', 'movie.mov.txt', 'mov', '.mov', 'archive.gz'):
            j = bad(c.call('POST', base, {'name': name, 'size': 1}), 400, 'file_types',
                    FILE_TYPE_REFUSED)
            assert '.mov' in j['message'], j
        bad(c.call('POST', base, {'name': 'big.mov', 'size': 1001}), 413, 'max_file_size',
            PORTAL_LIMIT)
        c.add_file(pkg['id'], 'A.MOV', size=1000)
        c.add_file(pkg['id'], 'b.Mp4', size=400)
        bad(c.call('POST', base, {'name': 'c.mov', 'size': 101}), 413, 'max_package_size',
            PORTAL_LIMIT)
        c.add_file(pkg['id'], 'c.tar.gz', size=100)
        bad(c.call('POST', base, {'name': 'd.mov', 'size': 0}), 413, 'max_file_count',
            PORTAL_LIMIT)
        assert len(file_ids(c, pkg['id'])) == 3, 'a refused file was recorded'
        # Refused types instead of allowed ones.
        q = portal(file_type_restriction_enabled=True, file_type_restriction_exclude=True,
                   file_types=['.exe'])
        qc = Client(srv, created(q)['access_token'])
        qid = claims(qc.token)['sub']
        bad(qc.call('POST', '/v1/packages/%s/files' % qid, {'name': 'SETUP.EXE'}), 400,
            'file_types', FILE_TYPE_REFUSED)
        qc.add_file(qid, 'setup.mov')
        # Limits set without package_size_restriction_enabled are not enforced.
        u = portal(package_size_restriction_enabled=False, max_file_size=10)
        uc = Client(srv, created(u)['access_token'])
        uc.add_file(claims(uc.token)['sub'], 'big.bin', size=1000)
    t.test('add a file: type (case-insensitive end of the name), file size, package size and '
           'file count from the declared name and size; nothing recorded when refused',
           restrictions_at_add)

    def no_bytes_left(c, pid, fid, bps):
        """A refused file leaves no record, no bytes and no upload."""
        assert fid not in file_ids(c, pid), 'the refused file is still listed'
        r = replay(srv.port, bps[0], b'x' * 10)
        assert r.status != 200, 'the refused upload still takes parts: %r' % r
        if not DIRECT:
            for d in [srv.data] + [o.data for o in srv.others]:
                for root, _, names in os.walk(d):
                    left = [n for n in names if n.startswith(fid)]
                    assert not left, 'bytes of the refused file in %s: %r' % (root, left)

    def restrictions_at_file_finalize():
        p = portal(package_size_restriction_enabled=True, max_file_size=1000,
                   max_package_size=1500)
        pkg = created(p)
        c = Client(srv, pkg['access_token'])
        pid = pkg['id']
        # Undeclared sizes pass when added; what the parts hold is checked at finalize.
        fid, bps, r = send(c, pid, 'big.mov', b'b' * 1001, declare=False)
        bad(r, 413, 'max_file_size', PORTAL_LIMIT)
        no_bytes_left(c, pid, fid, bps)
        fid, bps, r = send(c, pid, 'one.mov', b'1' * 1000, declare=False)
        assert r.status == 200 and r.json['size'] == 1000, r
        fid, bps, r = send(c, pid, 'two.mov', b'2' * 501, declare=False)
        bad(r, 413, 'max_package_size', PORTAL_LIMIT)
        no_bytes_left(c, pid, fid, bps)
        fid, bps, r = send(c, pid, 'two.mov', b'2' * 500)
        assert r.status == 200, r
        done = c.finalize(pid)
        assert done['size'] == 1500 and done['total_files'] == 2, done
        st['finalized_pid'] = pid
    t.test('finalize a file: its actual size against max_file_size and max_package_size; a '
           'refused file is removed, record, bytes and upload', restrictions_at_file_finalize)

    def restrictions_at_package_finalize():
        p = portal(file_type_restriction_enabled=True, file_types=['.mov', '.mp4'])
        pkg = created(p)
        c = Client(srv, pkg['access_token'])
        pid = pkg['id']
        for name in ('a.mov', 'b.mp4'):
            _, _, r = send(c, pid, name, name.encode() * 100)
            assert r.status == 200, r
        final = '/v1/packages/%s/finalize' % pid
        # The team tightens its portal while the upload is under way.
        change(p, file_types=['.mov'])
        bad(c.call('POST', final), 400, 'file_types', FILE_TYPE_REFUSED)
        change(p, file_types=['.mov', '.mp4'], package_size_restriction_enabled=True,
               max_file_count=1)
        bad(c.call('POST', final), 413, 'max_file_count', PORTAL_LIMIT)
        change(p, max_file_count=0, max_file_size=399)
        bad(c.call('POST', final), 413, 'max_file_size', PORTAL_LIMIT)
        change(p, max_file_size=0, max_package_size=999)
        bad(c.call('POST', final), 413, 'max_package_size', PORTAL_LIMIT)
        r = srv.get('/v1.1/portals/%s/packages?status=new' % p['id'], key=okey)
        assert [x['id'] for x in r.json['records']] == [pid], 'a refused package changed: %r' % r
        assert len(file_ids(c, pid)) == 2, 'files went with the refusal'
        change(p, max_package_size=1000)
        assert c.finalize(pid)['size'] == 1000
        # A package whose portal is deleted takes no more files and is not finalized.
        q = portal()
        qpkg = created(q)
        qc = Client(srv, qpkg['access_token'])
        fid, bps, r = send(qc, qpkg['id'], 'x.mov', b'x' * 10)
        assert r.status == 200, r
        assert srv.delete('/v1/portals/%s' % q['id'], key=okey).status == 204
        bad(qc.call('POST', '/v1/packages/%s/files' % qpkg['id'], {'name': 'y.mov'}), 410,
            'portal', GONE)
        bad(qc.call('POST', '/v1/packages/%s/finalize' % qpkg['id']), 410, 'portal', GONE)
    t.test("finalize the package: every file against the portal's restrictions as they are "
           'then; nothing changes when refused; a deleted portal ends its uploads',
           restrictions_at_package_finalize)

    # ---- a whole upload ----

    def whole_upload():
        p = portal(has_access_code=True, access_code='let me in', tag={'id': st['tag']['id']},
                   teamspace_id=st['space'], custom_expiry_days=3,
                   recipients=['staff@example.org'], has_download_password=True,
                   download_password='hunter22hunter', file_type_restriction_enabled=True,
                   file_types=['.mov'], package_size_restriction_enabled=True,
                   max_file_size=20 * MIB, max_file_count=2, max_package_size=30 * MIB)
        r = lookup(p['subdomain'])
        assert r.status == 200 and r.json['has_access_code'] is True, r
        pkg = created({'id': r.json['id']}, name='Day 1', access_code='let me in')
        pid = pkg['id']
        c = Client(srv, pkg['access_token'])
        data = os.urandom(5 * MIB + 54321)
        _, _, r = send(c, pid, 'reel.MOV', data)
        assert r.status == 200 and r.json['size'] == len(data), r
        finalized_at = time.time()
        done = c.finalize(pid)
        assert done['state'] == 'finalized' and done['size'] == len(data), done
        assert done['tag']['id'] == st['tag']['id'] and done['portal_id'] == p['id'], done
        assert done['custom_expiry'] is True and done['unlimited_storage'] is False, done
        assert abs(secs(done['expiry']) - (finalized_at + 3 * DAY)) < 120, done['expiry']
        got = c.fetch(pid, [f for f in c.call('GET', '/v1/packages/%s/files' % pid).json
                            if f['kind'] == 'file'][0]['id'])
        assert got.status == 200 and got.raw == data, 'the bytes came back different'
        # The portal's lists, both.
        r = srv.get('/v1.1/portals/%s/packages' % p['id'], key=okey)
        assert r.status == 200 and r.json['metadata']['total'] == 1, r
        rec = r.json['records'][0]
        assert rec['id'] == pid and rec['tag']['id'] == st['tag']['id'], rec
        assert rec['expiry'] == done['expiry'] and rec['sender'] == 'uploader@example.org', rec
        r = srv.get('/v1/portals/%s/packages' % p['id'], key=okey)
        assert r.status == 200 and [x['id'] for x in r.json] == [pid], r
        # The team's: it is one of the team's packages, never one it sent.
        r = srv.get('/v1.1/teams/%s/packages/%s' % (tid, pid), key=okey)
        assert r.status == 200 and r.json['id'] == pid, r
        r = srv.get('/v1.1/teams/%s/packages?status=new,finalized,expired,archived' % tid,
                    key=okey)
        assert pid not in [x['id'] for x in r.json['records']], 'a portal package was sent'
        r = srv.get('/v1/teams/%s/packages?new=1&archived=1' % tid, key=okey)
        assert pid not in [x['id'] for x in r.json], 'a portal package in the legacy sent list'
        st['upload'] = pkg
    t.test('a whole public upload: lookup, create with the access code, a file of two parts '
           "through the blueprints, finalize; in the portal's lists with its tag and an expiry "
           'custom_expiry_days after finalize; a team package, never a sent one', whole_upload)

    def storage_terms():
        # -1: unlimited storage, no expiry; 0: the server's storage period (7 days).
        for days, want in ((-1, None), (0, 7 * DAY)):
            p = portal(custom_expiry_days=days)
            pkg = created(p)
            c = Client(srv, pkg['access_token'])
            _, _, r = send(c, pkg['id'], 'f.mov', b'f' * 10)
            assert r.status == 200, r
            at = time.time()
            done = c.finalize(pkg['id'])
            if want is None:
                assert done['unlimited_storage'] is True, done
                assert done['expiry'] == ZERO_TIME, done
            else:
                assert done['unlimited_storage'] is False, done
                assert done['custom_expiry'] is False, done
                assert abs(secs(done['expiry']) - (at + want)) < 120, done['expiry']
            st['terms_%d' % days] = (pkg, c)
        # The team's inbox holds them, its sent packages do not: once expired (deleted), the
        # inbox archive moves one and the sent archive none.
        pkg, c = st['terms_-1']
        assert c.call('DELETE', '/v1/packages/%s' % pkg['id']).status == 204
        now = time.time()
        window = {'expiry_start': iso(now - 3600), 'expiry_end': iso(now + 3600)}
        r = srv.put('/v1/teams/%s/archive' % tid, window, key=okey)
        assert r.status == 200 and r.json == {'total_updated': 0}, r
        r = srv.put('/v1/teams/%s/inbox/archive' % tid, window, key=okey)
        assert r.status == 200 and r.json == {'total_updated': 1}, r
    t.test('storage terms: custom_expiry_days -1 gives unlimited storage, 0 the storage period; '
           "the team's inbox holds portal packages, its sent packages do not", storage_terms)

    def secrets_not_logged():
        logs = ''
        for s in [srv] + srv.others:
            out, err = s.read_logs()
            logs += out + err
        for secret in ('open sesame 42', 'Open Sesame', 'let me in', 'right code',
                       'hunter22hunter'):
            assert secret not in logs, '%r is in the server log' % secret
    t.test('no access code or download password reaches the log', secrets_not_logged)


if __name__ == '__main__':
    main_guard(Tap(), main)
