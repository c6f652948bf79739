#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Packages and tags over HTTP, as a MASV client uses them: creating packages (the package
object, recipients, validation, who may), tags and how a tag object resolves on create and
update, the v1.1 list (status, paging, every sort key, every filter) and the legacy list, who
sees what, management with the package token (rename, delete, archive, unarchive, expiry) and
archiving in bulk by expiry window."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Client, Tap, download, eventually, is_error, is_id, is_iso,  # noqa: E402
                     main_guard, make_team, replay, unique, with_server_no_5xx)

PACKAGE_TYPES = {
    'access_limit': int, 'access_token': str, 'contains_virus': bool, 'created_at': str,
    'custom_expiry': bool, 'custom_metadata_id': str, 'description': str, 'expiry': str,
    'id': str, 'name': str, 'password': str, 'recipients': list, 'sender': str, 'size': int,
    'state': str, 'total_files': int, 'unlimited_storage': bool, 'updated_at': str,
    'usage_updated_at': str,
}
TAG_FIELDS = {'id', 'name', 'team_id', 'active', 'created_at', 'updated_at'}
STATES = ('new', 'finalized', 'expired', 'archived')
ALL = 'status=new,finalized,expired,archived'
NOWHERE = '01ARZ3NDEKTSV4RRFFQ69G5FAV'


def iso(t):
    """@t (seconds since the epoch) in the ISO 8601 form the API writes."""
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % (int(t * 1000) % 1000)


def is_package(p, tagged=None):
    """Asserts @p is a package object with every documented property of the right JSON type."""
    assert isinstance(p, dict), p
    for k, ty in PACKAGE_TYPES.items():
        assert k in p, 'package object lacks %r: %r' % (k, p)
        v = p[k]
        assert isinstance(v, ty), '%s: %r is not a %s' % (k, v, ty.__name__)
        if ty is int:
            assert not isinstance(v, bool), '%s: %r is a boolean, not an integer' % (k, v)
    assert is_id(p['id']), p['id']
    for k in ('created_at', 'updated_at', 'expiry', 'usage_updated_at'):
        assert is_iso(p[k]), (k, p[k])
    assert p['state'] in STATES, p['state']
    assert p['password'] in ('', '****'), 'password must be masked: %r' % p['password']
    assert all(isinstance(r, str) for r in p['recipients']), p['recipients']
    assert 'teamspace' in p, 'package object lacks teamspace: %r' % p
    ts = p['teamspace']
    assert ts is None or (isinstance(ts, dict) and is_id(ts.get('id')) and
                          isinstance(ts.get('name'), str)), ts
    assert p['access_token'], 'an empty access_token'
    if tagged is True:
        t = p.get('tag')
        assert isinstance(t, dict) and is_id(t.get('id')) and isinstance(t.get('name'), str), p
    elif tagged is False:
        assert 'tag' not in p, 'an untagged package carries tag %r' % p.get('tag')
    return p


def main(t):
    with_server_no_5xx(t, body)


def body(t, srv):
    a = make_team(srv, 'pkga', roles=('owner', 'admin', 'member', 'guest'))
    b = make_team(srv, 'pkgb', roles=('owner', 'member'))
    ta, tb = a['team_id'], b['team_id']
    okey = a['owner']['api_key']
    create_a = '/v1/teams/%s/packages' % ta
    tags_a = '/v1/teams/%s/tags' % ta
    st = {}

    def get_pkg(team, pid, key):
        return srv.get('/v1.1/teams/%s/packages/%s' % (team, pid), key=key)

    def pkg_req(method, pid, token, body=None, suffix=''):
        hdrs = {} if token is None else {'X-Package-Token': token}
        if body is None and method in ('PUT', 'POST'):
            body = {}
        return srv.req(method, '/v1/packages/%s%s' % (pid, suffix), body=body, headers=hdrs)

    def new_pkg(key, team=ta, **extra):
        doc = {'name': extra.pop('name', unique('pkg')), 'description': 'd',
               'recipients': ['r@example.org']}
        doc.update(extra)
        r = srv.post('/v1/teams/%s/packages' % team, doc, key=key)
        assert r.status == 201, r
        return r.json

    # ---- create ----

    def create_full():
        before = time.time()
        r = srv.post(create_a, {
            'name': 'Reel 1', 'description': 'first\ncut',
            'recipients': ['Ann@Example.org', {'email': 'bob@example.org'}, 'ann@example.org',
                           {'email': 'BOB@EXAMPLE.ORG'}, '  carol@example.org  '],
            'password': 'hunter22', 'access_limit': 3, 'tag': {'name': 'dailies'}}, key=okey)
        assert r.status == 201, r
        assert (r.header('content-type') or '').startswith('application/json'), r.headers
        p = is_package(r.json, tagged=True)
        assert p['state'] == 'new' and p['name'] == 'Reel 1' and p['description'] == 'first\ncut', p
        assert p['recipients'] == ['ann@example.org', 'bob@example.org', 'carol@example.org'], (
            'recipients are lowercased and kept once each, in order', p['recipients'])
        assert p['password'] == '****' and p['access_limit'] == 3, p
        assert p['sender'] == a['owner']['email'], p
        assert p['size'] == 0 and p['total_files'] == 0 and p['contains_virus'] is False, p
        assert p['unlimited_storage'] is False and p['custom_expiry'] is False, p
        assert p['teamspace'] is None, p
        assert p['tag']['name'] == 'dailies', p
        assert p['created_at'] == p['updated_at'], p
        assert p['created_at'] >= iso(before - 5) and p['expiry'] > p['created_at'], p
        st['reel1'] = p
        st['dailies'] = p['tag']['id']
        # the same package, read back
        r = get_pkg(ta, p['id'], okey)
        assert r.status == 200, r
        g = is_package(r.json, tagged=True)
        for k in PACKAGE_TYPES:
            if k not in ('access_token',):
                assert g[k] == p[k], (k, g[k], p[k])
        assert g['tag'] == p['tag'], (g['tag'], p['tag'])
    if not t.test('POST packages: 201, every property of the package object with its JSON type; '
                  'recipients as strings or {email}, lowercased, once each', create_full):
        return

    def create_minimal():
        r = srv.post(create_a, {'name': 'Bare', 'description': '', 'recipients': []},
                     key=a['member']['api_key'])
        assert r.status == 201, r
        p = is_package(r.json, tagged=False)
        assert p['password'] == '' and p['access_limit'] == 0 and p['recipients'] == [], p
        assert p['sender'] == a['member']['email'] and p['state'] == 'new', p
        st['bare'] = p
        r = srv.post(create_a, {'name': 'Nullish', 'description': 'x', 'recipients': ['x@example.org'],
                                'password': '', 'tag': None}, key=a['admin']['api_key'])
        assert r.status == 201, r
        is_package(r.json, tagged=False)
        assert r.json['password'] == '', r.json
    t.test('POST packages without password, access_limit or tag: password "", access_limit 0, no tag',
           create_minimal)

    def create_invalid():
        good = {'name': 'n', 'description': 'd', 'recipients': ['a@example.org']}
        for field in ('name', 'description', 'recipients'):
            doc = dict(good)
            del doc[field]
            is_error(srv.post(create_a, doc, key=okey), 400, 1002)
        bads = [
            {'name': ''}, {'name': 5}, {'name': None}, {'description': 5},
            {'recipients': 'a@example.org'}, {'recipients': {'email': 'a@example.org'}},
            {'recipients': ['not-an-address']}, {'recipients': ['a@example.org', 'b@']},
            {'recipients': ['@example.org']}, {'recipients': [5]}, {'recipients': [None]},
            {'recipients': [{'email': 5}]}, {'recipients': [{'address': 'a@example.org'}]},
            {'recipients': ['']}, {'recipients': [['a@example.org']]},
            {'access_limit': -1}, {'access_limit': 'x'}, {'password': 5},
            {'teamspace_id': NOWHERE}, {'teamspace_id': 'bad'},
        ]
        for bad in bads:
            doc = dict(good)
            doc.update(bad)
            is_error(srv.post(create_a, doc, key=okey), 400)
        is_error(srv.post(create_a, raw='{"name":', key=okey, headers={'Content-Type': 'application/json'}), 400, 1001)
        is_error(srv.post(create_a, raw='', key=okey), 400)
        names = [p['name'] for p in srv.get('/v1.1/teams/%s/packages?status=new' % ta, key=okey).json['records']]
        assert 'n' not in names, ('a refused package was created', names)
    t.test('POST packages: missing name, description or recipients, a bad address or field: 400, '
           'nothing created', create_invalid)

    def create_access():
        doc = {'name': 'nope', 'description': '', 'recipients': []}
        is_error(srv.post(create_a, doc, key=a['guest']['api_key']), 403, 2005)
        is_error(srv.post(create_a, doc, key=b['owner']['api_key']), 404, 1007)
        is_error(srv.post('/v1/teams/%s/packages' % NOWHERE, doc, key=okey), 404, 1007)
        is_error(srv.post(create_a, doc), 401, 2001)
        is_error(srv.post(create_a, doc, key='garbage'), 401, 2002)
        tok = srv.login(a['member']['email'])
        r = srv.post(create_a, {'name': 'by token', 'description': '', 'recipients': []}, token=tok)
        assert r.status == 201 and r.json['sender'] == a['member']['email'], r
    t.test('POST packages: guest 403; another team or an unknown team 404; no or bad credentials 401; '
           'a user token works', create_access)

    def token_works():
        p = st['reel1']
        r = pkg_req('PUT', p['id'], p['access_token'], {'name': 'Reel 1 v2'})
        assert r.status == 200, r
        q = is_package(r.json)
        assert q['name'] == 'Reel 1 v2' and q['id'] == p['id'], q
        assert q['description'] == 'first\ncut' and q['recipients'] == p['recipients'], (
            'a rename keeps the other fields', q)
        assert q['access_limit'] == 3 and q['password'] == '****', q
        assert q['updated_at'] >= p['updated_at'] and q['created_at'] == p['created_at'], q
        st['reel1'] = q
    t.test('the access_token of the created package works as X-Package-Token on PUT /v1/packages/{id}',
           token_works)

    # ---- tags ----

    def tag_create():
        r = srv.post(tags_a, {'name': 'promo'}, key=a['member']['api_key'])
        assert r.status == 201, r
        j = r.json
        assert set(j) == TAG_FIELDS, set(j)
        assert is_id(j['id']) and j['name'] == 'promo' and j['team_id'] == ta and j['active'] is True, j
        assert is_iso(j['created_at']) and is_iso(j['updated_at']), j
        st['promo'] = j
        r = srv.post(tags_a, {'name': 'promo'}, key=okey)
        assert r.status in (200, 201, 409), r
        if r.status != 409:
            assert r.json['id'] == j['id'], ('the same name made a second tag', r.json, j)
        for tag in ('keep', 'drop', 'shared name'):
            r = srv.post(tags_a, {'name': tag}, key=okey)
            assert r.status == 201 and r.json['name'] == tag, r
            st[tag] = r.json
        r = srv.post('/v1/teams/%s/tags' % tb, {'name': 'shared name'}, key=b['owner']['api_key'])
        assert r.status == 201 and r.json['team_id'] == tb and r.json['id'] != st['shared name']['id'], r
        st['theirs'] = r.json
        for bad in ({}, {'name': ''}, {'name': 5}, {'name': None}, {'name': 'x' * 300}):
            is_error(srv.post(tags_a, bad, key=okey), 400)
        is_error(srv.post(tags_a, {'name': 'g'}, key=a['guest']['api_key']), 403, 2005)
        is_error(srv.post(tags_a, {'name': 'g'}, key=b['owner']['api_key']), 404, 1007)
        is_error(srv.post(tags_a, {'name': 'g'}), 401, 2001)
    if not t.test('POST tags: 201 {id, name, team_id, active, created_at, updated_at}; bad name 400; '
                  'guest 403; other team 404', tag_create):
        return

    def tag_list():
        r = srv.get(tags_a, key=a['member']['api_key'])
        assert r.status == 200 and isinstance(r.json, list), r
        for tg in r.json:
            assert set(tg) == TAG_FIELDS and tg['team_id'] == ta, tg
        names = [tg['name'] for tg in r.json]
        assert sorted(names) == sorted(['dailies', 'promo', 'keep', 'drop', 'shared name']), names
        assert len(set(tg['id'] for tg in r.json)) == len(r.json), r.json
        r = srv.get('/v1/teams/%s/tags' % tb, key=b['member']['api_key'])
        assert r.status == 200 and [tg['name'] for tg in r.json] == ['shared name'], r
        is_error(srv.get(tags_a, key=b['owner']['api_key']), 404, 1007)
        is_error(srv.get(tags_a, key=a['guest']['api_key']), 403, 2005)
        is_error(srv.get(tags_a), 401, 2001)
    t.test("GET tags: the team's tags, each once, and no other team's", tag_list)

    def tag_on_create():
        key = okey

        def tag_of(tag, **kw):
            doc = {'name': unique('tagged'), 'description': '', 'recipients': []}
            if tag is not ...:
                doc['tag'] = tag
            doc.update(kw)
            r = srv.post(create_a, doc, key=key)
            assert r.status == 201, (tag, r)
            is_package(r.json)
            return r.json.get('tag')

        promo = st['promo']
        assert tag_of({'id': promo['id']}) == {'id': promo['id'], 'name': 'promo'}
        assert tag_of({'id': promo['id'], 'name': 'keep'})['id'] == promo['id'], 'a known id wins'
        # another team's id: never applied; falls back to the name, found...
        got = tag_of({'id': st['theirs']['id'], 'name': 'shared name'})
        assert got == {'id': st['shared name']['id'], 'name': 'shared name'}, got
        # ...or created
        got = tag_of({'id': st['theirs']['id'], 'name': 'fresh from create'})
        assert got and got['id'] not in (st['theirs']['id'],) and got['name'] == 'fresh from create', got
        made = [tg for tg in srv.get(tags_a, key=key).json if tg['name'] == 'fresh from create']
        assert len(made) == 1 and made[0]['id'] == got['id'], made
        assert tag_of({'id': NOWHERE, 'name': 'keep'})['id'] == st['keep']['id'], 'unknown id: by name'
        assert tag_of({'id': 'not-an-id', 'name': 'keep'})['id'] == st['keep']['id'], 'bad id: by name'
        assert tag_of({'name': 'fresh from create'})['id'] == got['id'], 'name finds the tag again'
        for tag in ({'id': NOWHERE}, {'id': st['theirs']['id']}, {'id': 'garbage'}, {}, None, ...,
                    {'name': ''}):
            assert tag_of(tag) is None, ('no tag expected for %r' % (tag,))
        theirs = srv.get('/v1/teams/%s/tags' % tb, key=b['owner']['api_key']).json
        assert [tg['name'] for tg in theirs] == ['shared name'], ('team B tags changed', theirs)
    def tag_race():
        results = []

        def create(i):
            results.append(srv.post(create_a, {'name': 'race %d' % i, 'description': '',
                                               'recipients': [], 'tag': {'name': 'raced'}}, key=okey))

        def tag(i):
            results.append(srv.post(tags_a, {'name': 'raced'}, key=a['admin']['api_key']))
        threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
        threads += [threading.Thread(target=tag, args=(i,)) for i in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(results) == 12 and all(r.status == 201 for r in results), results
        ids = {(r.json.get('tag') or r.json)['id'] for r in results}
        made = [tg['id'] for tg in srv.get(tags_a, key=okey).json if tg['name'] == 'raced']
        assert len(made) == 1 and ids == set(made), ('one name, one tag', ids, made)
    t.test('12 concurrent requests that find or create the same new tag name: all 201, one tag',
           tag_race)

    t.test('tag on create: own id wins; unknown or other team id falls back to the name (found or '
           'created); no name and bad id, {} or missing: no tag', tag_on_create)

    def tag_on_update():
        p = new_pkg(okey, tag={'name': 'keep'})
        assert p['tag']['id'] == st['keep']['id'], p
        pid, tok = p['id'], p['access_token']

        def put(body, method='PUT'):
            r = pkg_req(method, pid, tok, body)
            assert r.status == 200, (body, r)
            is_package(r.json)
            g = get_pkg(ta, pid, okey).json
            assert g.get('tag') == r.json.get('tag'), ('answer and store disagree', g, r.json)
            return r.json.get('tag')

        assert put({'name': 'u1', 'tag': {'id': st['promo']['id']}})['id'] == st['promo']['id']
        assert put({'name': 'u2', 'tag': {'id': st['promo']['id']}}, 'POST')['id'] == st['promo']['id']
        got = put({'tag': {'id': st['theirs']['id'], 'name': 'fresh from update'}})
        assert got['name'] == 'fresh from update' and got['id'] != st['theirs']['id'], got
        assert put({'tag': {'id': NOWHERE, 'name': 'keep'}})['id'] == st['keep']['id']
        assert put({'name': 'u3'}) is None, 'a missing tag removes the tag'
        assert put({'tag': {'id': st['keep']['id']}})['id'] == st['keep']['id']
        assert put({'tag': {}}) is None, 'an empty tag object removes the tag'
        assert put({'tag': {'id': st['keep']['id']}})['id'] == st['keep']['id']
        assert put({'tag': {'id': st['theirs']['id']}}) is None, "another team's id alone: no tag"
        st['tagged_keep'] = p
    t.test('tag on update: own id, fallback to name, and a missing or empty tag removes it', tag_on_update)

    def tag_delete():
        drop = st['drop']
        p = new_pkg(okey, tag={'id': drop['id']})
        assert p['tag']['id'] == drop['id'], p
        path = '/v1/tags/%s' % drop['id']
        is_error(srv.delete(path, key=a['member']['api_key']), 403, 2005)
        is_error(srv.delete(path, key=a['guest']['api_key']), 403, 2005)
        is_error(srv.delete(path, key=b['owner']['api_key']), 404, 1007)
        is_error(srv.delete(path), 401, 2001)
        is_error(srv.delete('/v1/tags/%s' % NOWHERE, key=okey), 404, 1007)
        is_error(srv.delete('/v1/tags/garbage', key=okey), 404)
        is_error(srv.delete('/v1/tags/%s' % st['theirs']['id'], key=okey), 404, 1007)
        r = srv.delete(path, key=a['admin']['api_key'])
        assert r.status == 204 and r.raw == b'', r
        ids = [tg['id'] for tg in srv.get(tags_a, key=okey).json]
        assert drop['id'] not in ids and st['keep']['id'] in ids, ids
        is_error(srv.delete(path, key=okey), 404, 1007)
        g = get_pkg(ta, p['id'], okey)
        assert g.status == 200 and 'tag' not in g.json, ('the package keeps a deleted tag', g)
        r = srv.get('/v1.1/teams/%s/packages?status=new&tags=%s' % (ta, drop['id']), key=okey)
        assert r.status == 200 and r.json['metadata']['total'] == 0, r
        r = srv.delete('/v1/tags/%s' % st['promo']['id'], key=okey)
        assert r.status == 204, r
        theirs = srv.get('/v1/teams/%s/tags' % tb, key=b['owner']['api_key']).json
        assert [tg['id'] for tg in theirs] == [st['theirs']['id']], theirs
    t.test('DELETE /v1/tags/{id}: owner, admin 204; member, guest 403; other team or unknown 404; '
           'its packages lose it', tag_delete)

    # ---- management with the package token ----

    def manage_update():
        p = new_pkg(a['member']['api_key'], name='Managed', description='keep me',
                    recipients=['One@example.org'], access_limit=2)
        pid, tok = p['id'], p['access_token']
        st['managed'] = p
        r = pkg_req('POST', pid, tok, {'name': 'Managed 2'})
        assert r.status == 200 and r.json['name'] == 'Managed 2', r
        ro = {'name': 'Managed 3', 'state': 'finalized', 'size': 999, 'total_files': 7,
              'id': NOWHERE, 'sender': 'evil@example.org', 'created_at': '2001-01-01T00:00:00.000Z',
              'contains_virus': True, 'unlimited_storage': True, 'custom_expiry': True,
              'expiry': '2001-01-01T00:00:00.000Z', 'access_token': 'x',
              'usage_updated_at': '2001-01-01T00:00:00.000Z'}
        r = pkg_req('PUT', pid, tok, ro)
        assert r.status == 200, r
        q = is_package(r.json)
        assert q['name'] == 'Managed 3' and q['id'] == pid, q
        for k in ('state', 'size', 'total_files', 'sender', 'created_at', 'contains_virus',
                  'unlimited_storage', 'custom_expiry', 'expiry', 'usage_updated_at'):
            assert q[k] == p[k], ('read-only field %s changed: %r -> %r' % (k, p[k], q[k]))
        assert q['description'] == 'keep me' and q['recipients'] == ['one@example.org'], q
        g = get_pkg(ta, pid, okey).json
        for k in ('state', 'size', 'total_files', 'sender', 'name', 'expiry', 'created_at'):
            assert g[k] == q[k], (k, g[k], q[k])
        r = pkg_req('PUT', pid, tok, {'name': 'Managed 4', 'description': 'new words',
                                      'recipients': ['Two@example.org', 'two@example.org']})
        assert r.status == 200, r
        assert r.json['description'] == 'new words' and r.json['recipients'] == ['two@example.org'], r.json
        for bad in ({'name': ''}, {'name': None}, {'name': 5}, {'recipients': ['nope']},
                    {'recipients': 'a@example.org'}, {'access_limit': -5}):
            is_error(pkg_req('PUT', pid, tok, bad), 400)
        is_error(srv.req('PUT', '/v1/packages/%s' % pid, raw='{',
                         headers={'X-Package-Token': tok, 'Content-Type': 'application/json'}), 400, 1001)
        assert get_pkg(ta, pid, okey).json['name'] == 'Managed 4', 'a refused update changed the name'
        # a token handed out by the answer works too
        r = pkg_req('PUT', pid, q['access_token'], {'name': 'Managed 5'})
        assert r.status == 200 and r.json['name'] == 'Managed 5', r
    t.test('PUT and POST /v1/packages/{id}: rename, read-only fields ignored, other fields kept; '
           'bad fields 400', manage_update)

    def whole_object():
        # The tags document says to send the complete package object back: what GET gives, with
        # a new name, changes the name and nothing else.
        p = new_pkg(okey, name='Whole', password='pw', access_limit=4, tag={'name': 'keep'},
                    recipients=['w1@example.org', 'w2@example.org'])
        g = get_pkg(ta, p['id'], okey).json
        g['name'] = 'Whole 2'
        r = pkg_req('PUT', p['id'], p['access_token'], g)
        assert r.status == 200, r
        q = is_package(r.json, tagged=True)
        assert q['name'] == 'Whole 2', q
        for k in PACKAGE_TYPES:
            if k not in ('name', 'updated_at', 'access_token'):
                assert q[k] == g[k], ('%s changed: %r -> %r' % (k, g[k], q[k]))
        assert q['tag'] == g['tag'] and q['teamspace'] == g['teamspace'], q
        again = get_pkg(ta, p['id'], okey).json
        assert again['password'] == '****' and again['tag'] == g['tag'], again
    t.test('PUT /v1/packages/{id} with the complete package object as GET gives it: only the name '
           'changes (password, tag, recipients kept)', whole_object)

    def manage_auth():
        p, other = st['managed'], st['reel1']
        pid, tok = p['id'], p['access_token']
        for method, suffix in (('PUT', ''), ('POST', ''), ('DELETE', ''), ('PUT', '/archive'),
                               ('POST', '/unarchive'), ('PUT', '/expiry'), ('POST', '/expiry')):
            is_error(pkg_req(method, pid, None, suffix=suffix), 401, 2001)
            is_error(pkg_req(method, pid, 'garbage', suffix=suffix), 401, 2002)
            is_error(pkg_req(method, pid, tok[:-3] + ('AAA' if not tok.endswith('AAA') else 'BBB'),
                             suffix=suffix), 401, 2002)
            is_error(pkg_req(method, other['id'], tok, suffix=suffix), 404, 1007)
            is_error(pkg_req(method, NOWHERE, tok, suffix=suffix), 404, 1007)
        # an API key is not a package token
        is_error(srv.put('/v1/packages/%s' % pid, {'name': 'x'}, key=okey), 401, 2001)
        g = get_pkg(ta, pid, okey).json
        assert g['state'] == 'new' and g['name'] == 'Managed 5', g
        g = get_pkg(ta, other['id'], okey).json
        assert g['state'] == 'new' and g['name'] == 'Reel 1 v2', g
    t.test("package token: none 401, garbage or tampered 401; one package's token on another id 404",
           manage_auth)

    def manage_states():
        p = st['managed']
        pid, tok = p['id'], p['access_token']
        for method in ('PUT', 'POST'):
            is_error(pkg_req(method, pid, tok, {'expiry': iso(time.time() + 30 * 86400)},
                             suffix='/expiry'), 409, 3001)
            is_error(pkg_req(method, pid, tok, {'unlimited_storage': True}, suffix='/expiry'), 409, 3001)
            is_error(pkg_req(method, pid, tok, suffix='/archive'), 409, 3001)
            is_error(pkg_req(method, pid, tok, suffix='/unarchive'), 409, 3001)
        before = time.time()
        r = pkg_req('DELETE', pid, tok)
        assert r.status == 204 and r.raw == b'', r
        g = get_pkg(ta, pid, okey)
        assert g.status == 200, g
        g = is_package(g.json)
        assert g['state'] == 'expired', g
        assert g['name'] == 'Managed 5' and g['recipients'] == ['two@example.org'], (
            'delete keeps name and recipients', g)
        assert g['description'] == 'new words' and g['sender'] == a['member']['email'], g
        assert iso(before - 5) <= g['expiry'] <= iso(time.time() + 5), (
            'deleting sets the expiry to now', g['expiry'])
        r = pkg_req('DELETE', pid, tok)
        assert r.status == 204, 'deleting twice: %r' % r
        g2 = get_pkg(ta, pid, okey).json
        assert g2['state'] == 'expired' and g2['expiry'] == g['expiry'], (
            'a second delete moved the expiry', g['expiry'], g2['expiry'])
        is_error(pkg_req('PUT', pid, tok, {'name': 'after'}), 409, 3001)
        is_error(pkg_req('POST', pid, tok, {'name': 'after'}), 409, 3001)
        is_error(pkg_req('PUT', pid, tok, {'expiry': iso(time.time() + 86400)}, suffix='/expiry'), 409, 3001)
        is_error(pkg_req('POST', pid, tok, suffix='/unarchive'), 409, 3001)
        for method in ('PUT', 'POST'):
            r = pkg_req(method, pid, tok, suffix='/archive')
            assert r.status == 204 and r.raw == b'', r
            assert get_pkg(ta, pid, okey).json['state'] == 'archived'
            is_error(pkg_req('PUT', pid, tok, suffix='/archive'), 409, 3001)
            is_error(pkg_req('POST', pid, tok, suffix='/archive'), 409, 3001)
            is_error(pkg_req('PUT', pid, tok, {'name': 'after'}), 409, 3001)
            r = pkg_req(method, pid, tok, suffix='/unarchive')
            assert r.status == 204 and r.raw == b'', r
            g = get_pkg(ta, pid, okey).json
            assert g['state'] == 'expired' and g['name'] == 'Managed 5', g
        # the package token keeps working after the state changes
        r = pkg_req('PUT', pid, tok, suffix='/archive')
        assert r.status == 204, r
        r = pkg_req('PUT', pid, tok, suffix='/unarchive')
        assert r.status == 204, r
    t.test('DELETE 204 then expired with name and recipients kept; archive/unarchive (PUT and POST) '
           '204 or 409; expiry of a new package 409; an expired package cannot be renamed',
           manage_states)

    def finalized_rules():
        # A package made the way a MASV client makes one: a file uploaded and finalized.
        p = new_pkg(a['member']['api_key'], name='Final cut', recipients=['one@example.org'])
        pid, tok = p['id'], p['access_token']
        c = Client(srv, tok)
        data = b'final bytes ' * 1000
        created, upload_id, bps = c.begin(pid, 'reel.mov', 1)
        r = replay(srv.port, bps[0], data)
        assert r.status == 200, r
        r = c.finalize_file(pid, created['file']['id'], upload_id,
                            [{'partNumber': 1, 'etag': r.header('etag')}], size=len(data))
        assert r.status == 200, r
        fin = is_package(c.finalize(pid))
        assert fin['size'] == len(data) and fin['total_files'] == 1, fin
        # listed by default, in both lists
        ids = [x['id'] for x in srv.get('/v1.1/teams/%s/packages?name=Final%%20cut' % ta,
                                        key=okey).json['records']]
        assert ids == [pid], ids
        r = srv.get('/v1/teams/%s/packages' % ta, key=okey)
        assert r.status == 200 and pid in [x['id'] for x in r.json], r
        # renamed and updated while finalized (PUT and POST), read-only fields ignored
        for method, name in (('PUT', 'Final cut 2'), ('POST', 'Final cut 3')):
            r = pkg_req(method, pid, tok, {'name': name, 'state': 'new', 'size': 1})
            assert r.status == 200, r
            g = is_package(r.json)
            assert (g['name'], g['state'], g['size']) == (name, 'finalized', len(data)), g
        # expiry: a date in the future, then unlimited, by both verbs
        when = iso(time.time() + 30 * 86400)
        for method in ('PUT', 'POST'):
            r = pkg_req(method, pid, tok, {'expiry': when}, suffix='/expiry')
            assert r.status == 200, r
            g = is_package(r.json)
            assert g['expiry'][:19] == when[:19] and g['custom_expiry'] is True, g
            assert g['unlimited_storage'] is False, g
            assert get_pkg(ta, pid, okey).json['expiry'] == g['expiry'], 'expiry not stored'
        r = pkg_req('PUT', pid, tok, {'unlimited_storage': True}, suffix='/expiry')
        assert r.status == 200 and r.json['unlimited_storage'] is True, r
        assert get_pkg(ta, pid, okey).json['unlimited_storage'] is True
        # bad expiries are 400s and change nothing
        for bad in ({}, {'expiry': 'tomorrow'}, {'expiry': iso(time.time() - 86400)},
                    {'expiry': 5}, {'unlimited_storage': 'yes'}):
            is_error(pkg_req('PUT', pid, tok, bad, suffix='/expiry'), 400)
        assert get_pkg(ta, pid, okey).json['unlimited_storage'] is True
        r = c.call('GET', '/v1/packages/%s/files' % pid)
        assert r.status == 200 and [f['name'] for f in r.json if f['kind'] == 'file'] == [
            'reel.mov'], r
        # archive and unarchive need an expired package
        for method in ('PUT', 'POST'):
            is_error(pkg_req(method, pid, tok, suffix='/archive'), 409, 3001)
            is_error(pkg_req(method, pid, tok, suffix='/unarchive'), 409, 3001)
        # the bytes are there until the package is deleted; then it is expired, bytes gone
        dl = srv.req('GET', '/v1/packages/%s/files/%s/download' % (pid, created['file']['id']),
                     headers={'X-Package-Token': tok})
        assert dl.status == 200, dl
        r = download(srv.port, dl.json)
        assert r.status == 200 and r.raw == data, r
        r = pkg_req('DELETE', pid, tok)
        assert r.status == 204, r
        g = get_pkg(ta, pid, okey).json
        assert g['state'] == 'expired' and g['name'] == 'Final cut 3', g
        assert g['recipients'] == ['one@example.org'] and g['size'] == len(data), g
        eventually(lambda: download(srv.port, dl.json).status in (404, 410),
                   what='a deleted package\'s bytes becoming unreachable')
        is_error(pkg_req('PUT', pid, tok, {'expiry': when}, suffix='/expiry'), 409, 3001)
        is_error(pkg_req('PUT', pid, tok, {'name': 'later'}), 409, 3001)
    t.test('a finalized package (uploaded as a MASV client does) is listed, renamed by PUT and '
           'POST, its expiry set or made unlimited by both verbs, bad expiries 400; archive 409; '
           'DELETE expires it and its bytes go', finalized_rules)

    lists(t, srv, st)


def lists(t, srv, st):
    """The v1.1 and legacy lists, visibility and bulk archiving, in a team of their own so that
    every count is exact."""
    L = make_team(srv, 'pkgl', roles=('owner', 'admin', 'member', 'guest', 'integration_manager'))
    tl = L['team_id']
    m2email = 'member2-%s@example.com' % unique('m').lower()
    m2 = srv.add_member(tl, m2email, 'member')
    L['member2'] = {'email': m2email, 'api_key': m2['api_key'], 'membership_id': m2['membership_id']}
    other = make_team(srv, 'pkgo', roles=('owner',))
    okey = L['owner']['api_key']
    lst = '/v1.1/teams/%s/packages' % tl
    legacy = '/v1/teams/%s/packages' % tl
    pk = []
    s = {}

    def page(q='', key=okey):
        r = srv.get(lst + ('?' + q if q else ''), key=key)
        assert r.status == 200, (q, r)
        j = r.json
        assert set(j) == {'metadata', 'records'} and set(j['metadata']) == {'total'}, j.keys()
        assert isinstance(j['metadata']['total'], int) and isinstance(j['records'], list), j
        return j

    def ids_of(q='', key=okey):
        return [p['id'] for p in page(q, key)['records']]

    # sender, teamspace?, tag, final state
    plan = [
        ('owner', True, 'T1', 'new'), ('owner', True, None, 'expired'),
        ('owner', False, 'T2', 'archived'), ('admin', False, 'T1', 'new'),
        ('admin', False, None, 'expired'), ('member', False, 'T2', 'new'),
        ('member', False, None, 'expired'), ('member', False, 'T1', 'archived'),
        ('member2', False, None, 'new'), ('member2', False, None, 'expired'),
        ('member2', False, 'T2', 'archived'), ('owner', False, None, 'new'),
        ('admin', False, None, 'expired'), ('member', True, None, 'new'),
        ('member2', False, None, 'new'),
    ]
    words = ('Trailer', 'Reel', 'Dailies')

    def setup():
        r = srv.post('/v1/teams/%s/spaces' % tl, {'name': 'Editors',
                                                 'member_ids': [L['member']['membership_id']]},
                     key=okey)
        assert r.status == 201, r
        s['space'] = r.json
        r = srv.post('/v1/teams/%s/spaces' % tl, {'name': 'Empty'}, key=okey)
        assert r.status == 201, r
        s['space2'] = r.json
        for name in ('T1', 'T2'):
            r = srv.post('/v1/teams/%s/tags' % tl, {'name': name}, key=okey)
            assert r.status == 201, r
            s[name] = r.json['id']
        for i, (who, in_space, tag, _) in enumerate(plan):
            doc = {'name': '%s %02d' % (words[i % 3], (i * 7) % 15), 'description': 'p%d' % i,
                   'recipients': ['r%d@example.org' % i]}
            if in_space:
                doc['teamspace_id'] = s['space']['id']
            if tag:
                doc['tag'] = {'id': s[tag]}
            r = srv.post('/v1/teams/%s/packages' % tl, doc, key=L[who]['api_key'])
            assert r.status == 201, (i, r)
            p = is_package(r.json, tagged=bool(tag))
            if in_space:
                assert p['teamspace'] == {'id': s['space']['id'], 'name': 'Editors'}, p
            pk.append(p)
            if i % 5 == 4:
                time.sleep(0.01)  # some distinct creation instants, some shared
        # a member may not put a package in a teamspace it is not in
        is_error(srv.post('/v1/teams/%s/packages' % tl, {
            'name': 'x', 'description': '', 'recipients': [], 'teamspace_id': s['space2']['id']},
            key=L['member']['api_key']), 400, 1002)
        is_error(srv.post('/v1/teams/%s/packages' % tl, {
            'name': 'x', 'description': '', 'recipients': [], 'teamspace_id': s['space']['id']},
            key=L['member2']['api_key']), 400, 1002)
        # everything is new: the default list is empty
        j = page()
        assert j == {'metadata': {'total': 0}, 'records': []}, j
        for i, (_, _, _, state) in enumerate(plan):
            if state in ('expired', 'archived'):
                r = pkg_delete(pk[i])
                assert r.status == 204, (i, r)
            if state == 'archived':
                r = srv.put('/v1/packages/%s/archive' % pk[i]['id'],
                            headers={'X-Package-Token': pk[i]['access_token']}, body={})
                assert r.status == 204, (i, r)
        s['expect'] = {p['id']: plan[i][3] for i, p in enumerate(pk)}
        full = page(ALL)
        assert full['metadata']['total'] == len(plan), full['metadata']
        got = {p['id']: p['state'] for p in full['records']}
        assert got == s['expect'], got
        s['full'] = full['records']

    def pkg_delete(p):
        return srv.delete('/v1/packages/%s' % p['id'], headers={'X-Package-Token': p['access_token']})

    if not t.test('list team: 15 packages by four senders, three in a teamspace, six tagged; '
                  'deleted ones expired, some of them archived', setup):
        return

    def of_state(*states):
        return {i for i, v in s['expect'].items() if v in states}

    def status_filter():
        j = page()
        assert set(p['id'] for p in j['records']) == of_state('finalized', 'expired'), j
        assert j['metadata']['total'] == 5 and len(j['records']) == 5, j['metadata']
        for q, states in (
                ('status=new', ('new',)), ('status=expired', ('expired',)),
                ('status=archived', ('archived',)), ('status=finalized', ()),
                ('status=new&status=expired', ('new', 'expired')),
                ('status=new,archived', ('new', 'archived')),
                ('status[]=archived&status[]=expired', ('archived', 'expired')),
                ('status[]=new', ('new',)),
                ('status=new,%20expired', ('new', 'expired')),
                ('status=new&status=archived,expired', ('new', 'archived', 'expired')),
                ('status=', ('finalized', 'expired')),
                (ALL, STATES)):
            j = page(q)
            assert set(p['id'] for p in j['records']) == of_state(*states), (q, j)
            assert j['metadata']['total'] == len(of_state(*states)), (q, j['metadata'])
            for p in j['records']:
                assert p['state'] in states, (q, p['state'])
        for q in ('status=bogus', 'status=new,bogus', 'status=NEW_'):
            is_error(srv.get(lst + '?' + q, key=okey), 400, 1003)
    t.test('v1.1 status: default finalized+expired (new not listed); one, repeated keys, comma '
           'lists, status[]; unknown 400', status_filter)

    def paging():
        everything = ids_of(ALL)
        assert len(everything) == 15
        for limit in (1, 2, 4, 7, 15, 50):
            seen = []
            n = 1
            while True:
                j = page('%s&page=%d&limit=%d' % (ALL, n, limit))
                assert j['metadata']['total'] == 15, (limit, n, j['metadata'])
                assert len(j['records']) <= limit, (limit, n)
                if not j['records']:
                    break
                seen += [p['id'] for p in j['records']]
                n += 1
                assert n < 40
            assert len(seen) == len(set(seen)), ('pages overlap at limit %d' % limit, seen)
            assert seen == everything, ('pages skip or reorder at limit %d' % limit)
        j = page('%s&page=100&limit=50' % ALL)
        assert j == {'metadata': {'total': 15}, 'records': []}, j
        j = page('%s&limit=3' % ALL)
        assert [p['id'] for p in j['records']] == everything[:3], 'page defaults to 1'
        for q in ('limit=0', 'limit=51', 'limit=x', 'limit=-1', 'limit=', 'limit=1.5',
                  'page=0', 'page=-1', 'page=x', 'page=', 'page=1&limit=0'):
            j = is_error(srv.get('%s?%s&%s' % (lst, ALL, q), key=okey), 400, 1003)
            assert j['errors'][0]['type'] == 'invalid_query', j
    t.test('v1.1 paging: metadata.total; pages of 1..50 neither overlap nor skip; limit 0, 51, x '
           'and page 0: 400', paging)

    def sorting():
        full = page(ALL)['records']
        byid = {p['id']: p for p in full}
        default = [p['id'] for p in full]
        want = [p['id'] for p in sorted(full, key=lambda p: (p['created_at'], p['id']), reverse=True)]
        assert default == want, 'the default order is created_at descending'
        for field, key in (('name', lambda p: (p['name'], p['id'])),
                           ('created_at', lambda p: (p['created_at'], p['id'])),
                           ('expiry', lambda p: (p['expiry'], p['id'])),
                           ('sender', lambda p: (p['sender'], p['id']))):
            for desc in (False, True):
                q = '%s&sort=%s%s' % (ALL, '-' if desc else '', field)
                got = ids_of(q)
                exp = [p['id'] for p in sorted(full, key=key, reverse=desc)]
                assert got == exp, ('sort=%s%s' % ('-' if desc else '', field),
                                    [(byid[i][field], i) for i in got])
                # and paging keeps the order
                paged = []
                for n in (1, 2, 3, 4):
                    paged += ids_of('%s&limit=4&page=%d' % (q, n))
                assert paged == exp, ('pages of sort=%s' % field, paged)
        # status: grouped by state, in name order or in lifecycle order, ties by id
        asc, desc = ids_of(ALL + '&sort=status'), ids_of(ALL + '&sort=-status')
        orders = [sorted(STATES), list(STATES)]
        cands = [[p['id'] for p in sorted(full, key=lambda p, o=o: (o.index(p['state']), p['id']))]
                 for o in orders]
        assert asc in cands, ('sort=status', [byid[i]['state'] for i in asc])
        assert desc == list(reversed(asc)), ('sort=-status is not the reverse of sort=status',
                                             [byid[i]['state'] for i in desc])
        # the keys every record shares a value of here: accepted, ties by id, desc the reverse
        for field in ('size', 'usage_total_bytes', 'teamspace_id'):
            asc, desc = ids_of('%s&sort=%s' % (ALL, field)), ids_of('%s&sort=-%s' % (ALL, field))
            assert sorted(asc) == sorted(byid) and desc == list(reversed(asc)), field
            if field == 'size':
                assert asc == sorted(byid), 'equal sizes are ordered by id'
        for q in ('sort=bogus', 'sort=-bogus', 'sort=-', 'sort=Name', 'sort=name,expiry',
                  'sort=--name'):
            is_error(srv.get('%s?%s&%s' % (lst, ALL, q), key=okey), 400, 1003)
    t.test('v1.1 sort: name, created_at, expiry, sender, status, ascending and -descending (also '
           'across pages); unknown 400', sorting)

    def filters():
        full = s['full']

        def check(q, pred, key=okey):
            j = page('%s&%s' % (ALL, q), key=key)
            exp = {p['id'] for p in full if pred(p)}
            got = [p['id'] for p in j['records']]
            assert set(got) == exp and len(got) == len(exp), (q, len(got), len(exp))
            assert j['metadata']['total'] == len(exp), (q, j['metadata'])
            return len(exp)

        assert check('name=Trailer', lambda p: 'Trailer' in p['name']) == 5
        assert check('name=ailer%200', lambda p: 'ailer 0' in p['name']) >= 1
        assert check('name=%s' % pk[4]['name'].replace(' ', '%20'),
                     lambda p: p['id'] == pk[4]['id']) == 1
        assert check('name=nothing-like-this', lambda p: False) == 0
        assert check('name=%25', lambda p: '%' in p['name']) == 0, "'%' is no wildcard"
        assert check('name=_', lambda p: '_' in p['name']) == 0, "'_' is no wildcard"
        assert check('sender=%s' % L['member']['email'],
                     lambda p: p['sender'] == L['member']['email']) == 4
        assert check('sender=%s' % L['member2']['email'].upper(),
                     lambda p: p['sender'] == L['member2']['email']) == 4
        assert check('sender=nobody@example.org', lambda p: False) == 0
        assert check('sender=member', lambda p: False) == 0, 'sender is the whole address'
        assert check('tags=%s' % s['T1'], lambda p: p.get('tag', {}).get('id') == s['T1']) == 3
        assert check('tags=%s,%s' % (s['T1'], s['T2']), lambda p: 'tag' in p) == 6
        assert check('tags=%s,%s' % (s['T2'], NOWHERE),
                     lambda p: p.get('tag', {}).get('id') == s['T2']) == 3
        assert check('teamspaces=%s' % s['space']['id'], lambda p: p['teamspace'] is not None) == 3
        assert check('teamspaces=%s' % s['space2']['id'], lambda p: False) == 0
        assert check('teamspaces=%s,%s' % (s['space2']['id'], s['space']['id']),
                     lambda p: p['teamspace'] is not None) == 3
        # filters combine
        assert check('sender=%s&tags=%s' % (L['member']['email'], s['T2']),
                     lambda p: p['sender'] == L['member']['email'] and
                     p.get('tag', {}).get('id') == s['T2']) == 1
        # created_at bounds are inclusive
        created = sorted(p['created_at'] for p in full)
        mid = pk[6]['created_at']
        assert check('created_at_start=%s' % mid, lambda p: p['created_at'] >= mid) >= 9
        assert check('created_at_end=%s' % mid, lambda p: p['created_at'] <= mid) >= 7
        assert check('created_at_start=%s&created_at_end=%s' % (mid, mid),
                     lambda p: p['created_at'] == mid) >= 1
        first, last = created[0], created[-1]
        assert check('created_at_start=%s&created_at_end=%s' % (first, last), lambda p: True) == 15
        assert check('created_at_start=%s' % iso(time.time() + 3600), lambda p: False) == 0
        assert check('created_at_end=%s' % iso(time.time() - 3600), lambda p: False) == 0
        day_after = time.strftime('%Y-%m-%d', time.gmtime(time.time() + 86400))
        assert check('created_at_end=%s' % day_after, lambda p: True) == 15
        assert check('created_at_start=2000-01-01T00:00:00%2B02:00', lambda p: True) == 15
        for q in ('created_at_start=yesterday', 'created_at_end=2024-13-01',
                  'created_at_start=2024-02-30', 'created_at_end=2024-01-01T25:00:00Z',
                  'created_at_start=1700000000', 'tags=bad', 'teamspaces=bad',
                  'tags=%s,bad' % s['T1']):
            is_error(srv.get('%s?%s&%s' % (lst, ALL, q), key=okey), 400, 1003)
    t.test('v1.1 filters: name substring, sender, tags (comma ids), teamspaces, inclusive '
           'created_at_start/end; a bad date or id 400', filters)

    def date_only_bounds():
        # "created on or before a date": a date without a time takes in the whole of that day
        full = s['full']
        day = min(p['created_at'] for p in full)[:10]
        on_or_before = {p['id'] for p in full if p['created_at'][:10] <= day}
        on_or_after = {p['id'] for p in full if p['created_at'][:10] >= day}
        j = page('%s&created_at_start=%s' % (ALL, day))
        assert {p['id'] for p in j['records']} == on_or_after, ('created_at_start=%s' % day, j['metadata'])
        j = page('%s&created_at_end=%s' % (ALL, day))
        assert {p['id'] for p in j['records']} == on_or_before, (
            'GET %s?%s&created_at_end=%s: want the %d packages created on %s, got %d'
            % (lst, ALL, day, len(on_or_before), day, j['metadata']['total']))
        j = page('%s&created_at_start=%s&created_at_end=%s' % (ALL, day, day))
        assert j['metadata']['total'] == len(on_or_before & on_or_after), (
            'created_at_start=created_at_end=%s: want %d, got %d'
            % (day, len(on_or_before & on_or_after), j['metadata']['total']))
    t.test('v1.1 created_at_end given as a date (YYYY-MM-DD) includes the packages created that day',
           date_only_bounds)

    def visibility():
        every = {p['id'] for p in pk}
        for role in ('owner', 'admin'):
            j = page(ALL, key=L[role]['api_key'])
            assert {p['id'] for p in j['records']} == every and j['metadata']['total'] == 15, role
        mine = {p['id'] for i, p in enumerate(pk) if plan[i][0] == 'member' or plan[i][1]}
        j = page(ALL, key=L['member']['api_key'])
        assert {p['id'] for p in j['records']} == mine and j['metadata']['total'] == len(mine) == 6, (
            'a member sees what it sent and its teamspace\'s', j['metadata'])
        j = page(key=L['member']['api_key'])
        assert {p['id'] for p in j['records']} == {pk[1]['id'], pk[6]['id']}, j
        m2 = {p['id'] for i, p in enumerate(pk) if plan[i][0] == 'member2'}
        j = page(ALL, key=L['member2']['api_key'])
        assert {p['id'] for p in j['records']} == m2 and j['metadata']['total'] == 4, j['metadata']
        j = page(ALL, key=L['integration_manager']['api_key'])
        assert j == {'metadata': {'total': 0}, 'records': []}, j
        is_error(srv.get(lst, key=L['guest']['api_key']), 403, 2005)
        is_error(srv.get(legacy, key=L['guest']['api_key']), 403, 2005)
        is_error(srv.get(lst, key=other['owner']['api_key']), 404, 1007)
        is_error(srv.get(lst), 401, 2001)
        r = srv.get(legacy + '?archived=1&new=1', key=L['member']['api_key'])
        assert r.status == 200 and {p['id'] for p in r.json} == mine, r
        # one package
        one = '/v1.1/teams/%s/packages/%%s' % tl
        for i, p in enumerate(pk):
            r = srv.get(one % p['id'], key=L['member']['api_key'])
            if p['id'] in mine:
                assert r.status == 200 and r.json['id'] == p['id'], (i, r)
                is_package(r.json)
            else:
                is_error(r, 404, 1007)
            r = srv.get(one % p['id'], key=L['admin']['api_key'])
            assert r.status == 200 and r.json['state'] == plan[i][3], (i, r)
        is_error(srv.get(one % pk[0]['id'], key=L['member2']['api_key']), 404, 1007)
        is_error(srv.get(one % pk[0]['id'], key=L['guest']['api_key']), 403, 2005)
        is_error(srv.get(one % pk[0]['id'], key=other['owner']['api_key']), 404, 1007)
        is_error(srv.get('/v1.1/teams/%s/packages/%s' % (other['team_id'], pk[0]['id']),
                         key=other['owner']['api_key']), 404, 1007)
        is_error(srv.get(one % NOWHERE, key=okey), 404, 1007)
        is_error(srv.get(one % 'garbage', key=okey), 404)
        # the token a list hands out manages the package
        rec = [p for p in page('status=new', key=L['member']['api_key'])['records']
               if p['id'] == pk[13]['id']][0]
        r = srv.put('/v1/packages/%s' % rec['id'], {'name': rec['name']},
                    headers={'X-Package-Token': rec['access_token']})
        assert r.status == 200 and r.json['name'] == rec['name'], r
    t.test('visibility: owner and admin see all; a member what it sent and its teamspace\'s; guest '
           '403; one package a member may not see 404', visibility)

    def legacy_list():
        r = srv.get(legacy, key=okey)
        assert r.status == 200 and isinstance(r.json, list), r
        assert {p['id'] for p in r.json} == of_state('finalized', 'expired') and len(r.json) == 5, r
        for p in r.json:
            is_package(p)
            assert isinstance(p.get('links'), list), p
        created = [p['created_at'] for p in r.json]
        assert created == sorted(created, reverse=True), created
        for q, states in (
                ('', ('expired', 'finalized')),
                ('expired=true&finalized=true&new=false&archived=false', ('expired', 'finalized')),
                ('new=1', ('new', 'expired', 'finalized')),
                ('new=true&expired=0', ('new', 'finalized')),
                ('archived=1', ('archived', 'expired', 'finalized')),
                ('archived=true&expired=false', ('archived', 'finalized')),
                ('expired=0', ('finalized',)),
                ('expired=false&finalized=false', ()),
                ('new=1&archived=1', STATES),
                ('new=TRUE&archived=True', STATES),
                ('expired=', ('expired', 'finalized'))):
            r = srv.get(legacy + ('?' + q if q else ''), key=okey)
            assert r.status == 200 and isinstance(r.json, list), (q, r)
            got = [p['id'] for p in r.json]
            assert set(got) == of_state(*states) and len(got) == len(set(got)), (q, len(got))
        for q in ('expired=maybe', 'new=2', 'archived=x', 'finalized=-1', 'new=truee'):
            is_error(srv.get('%s?%s' % (legacy, q), key=okey), 400, 1003)
        is_error(srv.get(legacy, key=other['owner']['api_key']), 404, 1007)
        is_error(srv.get(legacy), 401, 2001)
    t.test('legacy GET /v1/teams/{id}/packages: bare array with links; defaults expired+finalized; '
           'flags 1/0/true/false; a bad flag 400', legacy_list)

    def bulk():
        now = time.time()
        win = {'expiry_start': iso(now - 3600), 'expiry_end': iso(now + 3600)}
        bulk_a = '/v1/teams/%s/archive' % tl
        bulk_u = '/v1/teams/%s/unarchive' % tl

        def moved(r):
            assert r.status == 200 and set(r.json) == {'total_updated'}, r
            assert isinstance(r.json['total_updated'], int), r
            return r.json['total_updated']

        for path in (bulk_a, bulk_u, '/v1/teams/%s/inbox/archive' % tl,
                     '/v1/teams/%s/inbox/unarchive' % tl):
            is_error(srv.put(path, win, key=L['guest']['api_key']), 403, 2005)
            is_error(srv.post(path, win, key=L['guest']['api_key']), 403, 2005)
            is_error(srv.put(path, win, key=other['owner']['api_key']), 404, 1007)
            is_error(srv.put(path, win), 401, 2001)
            for bad in ({'expiry_start': 'yesterday', 'expiry_end': win['expiry_end']},
                        {'expiry_start': win['expiry_start'], 'expiry_end': '2024-13-45'},
                        {'expiry_start': 5, 'expiry_end': win['expiry_end']}):
                is_error(srv.put(path, bad, key=okey), 400)
            is_error(srv.post(path, raw='{', key=okey, headers={'Content-Type': 'application/json'}), 400, 1001)
        # both bounds are inclusive: a window of one instant holds the packages expiring then
        exp = [p for p in s['full'] if p['state'] == 'expired']
        one = exp[0]['expiry']
        n_at = len([p for p in exp if p['expiry'] == one])
        assert moved(srv.put(bulk_a, {'expiry_start': one, 'expiry_end': one}, key=okey)) == n_at
        assert moved(srv.post(bulk_u, {'expiry_start': one, 'expiry_end': one}, key=okey)) == n_at
        assert set(ids_of('status=expired')) == of_state('expired')
        # a window that holds no expiry, and the documented zero-time defaults
        assert moved(srv.put(bulk_a, {'expiry_start': iso(now - 7200), 'expiry_end': iso(now - 3600)},
                             key=okey)) == 0
        assert moved(srv.put(bulk_a, {'expiry_start': win['expiry_end'], 'expiry_end': win['expiry_start']},
                             key=okey)) == 0
        assert moved(srv.post(bulk_a, {}, key=okey)) == 0
        assert set(ids_of('status=expired')) == of_state('expired'), 'nothing moved'
        # the member archives what it may see: its own expired package and its teamspace's
        assert moved(srv.post(bulk_a, win, key=L['member']['api_key'])) == 2
        assert set(ids_of('status=archived')) == of_state('archived') | {pk[1]['id'], pk[6]['id']}
        assert moved(srv.put(bulk_a, win, key=L['member2']['api_key'])) == 1
        assert moved(srv.put(bulk_a, win, key=L['integration_manager']['api_key'])) == 0
        assert moved(srv.put(bulk_a, win, key=okey)) == 2
        assert ids_of('status=expired') == [], 'every expired package is archived'
        assert page() == {'metadata': {'total': 0}, 'records': []}
        assert moved(srv.post(bulk_a, win, key=okey)) == 0
        # new packages are never archived, even in a window that holds their expiry
        assert moved(srv.put(bulk_a, {'expiry_start': iso(now - 86400), 'expiry_end': iso(now + 30 * 86400)},
                             key=okey)) == 0
        assert len(ids_of('status=new')) == 7
        # unarchive: the member's, then the rest
        assert moved(srv.put(bulk_u, win, key=L['member']['api_key'])) == 3
        assert moved(srv.post(bulk_u, win, key=okey)) == 5
        assert set(ids_of('status=expired')) == of_state('expired', 'archived')
        assert ids_of('status=archived') == []
        # portal (inbox) packages do not exist yet
        for method in ('PUT', 'POST'):
            for path in ('inbox/archive', 'inbox/unarchive'):
                r = srv.req(method, '/v1/teams/%s/%s' % (tl, path), body=win, key=okey)
                assert moved(r) == 0, (method, path)
        assert set(ids_of('status=expired')) == of_state('expired', 'archived')
        # and the v1.1 date format with an offset is taken
        w2 = {'expiry_start': time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime(now - 3600)),
              'expiry_end': time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime(now + 3600))}
        assert moved(srv.put(bulk_a, w2, key=okey)) == 8
    t.test('bulk archive/unarchive (PUT and POST) by expiry window: 200 {total_updated}, only the '
           'expired packages the caller sees; inbox 0; bad date 400; guest 403', bulk)


if __name__ == '__main__':
    main_guard(Tap(), main)
