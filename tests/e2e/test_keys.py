#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""API keys: create (value shown once), list, get, update, delete; which roles may; inactive,
expired and deleted keys; and a key working in its own team only."""
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Tap, is_error, is_id, is_iso, main_guard, make_team, with_server  # noqa: E402

KEY_FIELDS = {'id', 'name', 'description', 'expiry', 'state', 'team_id', 'user_id', 'membership_id',
              'created_at', 'updated_at'}
NO_EXPIRY = '0001-01-01T00:00:00.000Z'


def iso_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (t.microsecond // 1000)


def main(t):
    with_server(t, body)


def body(t, srv):
    a = make_team(srv, 'keysa')
    b = make_team(srv, 'keysb', roles=('owner',))
    ta, tb = a['team_id'], b['team_id']
    okey = a['owner']['api_key']
    members_a = '/v1/teams/%s/members' % ta
    keys_a = '/v1/teams/%s/api_keys' % ta
    st = {}

    def works(key, path=members_a):
        r = srv.get(path, key=key)
        assert r.status == 200, ('key should work: %r' % r)

    def refused(key, path=members_a):
        is_error(srv.get(path, key=key), 401, 2002)

    def create():
        r = srv.post(keys_a, {'name': 'CI upload', 'description': 'used by the build farm'}, key=okey)
        assert r.status == 201, r
        j = r.json
        assert set(j) == KEY_FIELDS | {'key'}, set(j)
        assert is_id(j['id']) and j['key'].startswith(j['id']) and len(j['key']) == 69, j
        assert (j['name'], j['description'], j['state'], j['expiry']) == (
            'CI upload', 'used by the build farm', 'active', NO_EXPIRY), j
        assert (j['team_id'], j['user_id'], j['membership_id']) == (
            ta, a['owner']['user_id'], a['owner']['membership_id']), j
        assert is_iso(j['created_at']) and j['created_at'] == j['updated_at'], j
        works(j['key'])
        st['k1'] = j
        # all fields optional
        r = srv.post(keys_a, {}, key=okey)
        assert r.status == 201 and r.json['name'] == '' and r.json['state'] == 'active', r
        st['k_empty'] = r.json
        # with a future expiry, given with an offset
        r = srv.post(keys_a, {'name': 'expiring', 'expiry': '2099-06-01T12:30:00+02:00'}, key=okey)
        assert r.status == 201 and r.json['expiry'].startswith('2099-06-01T10:30:00'), r
        works(r.json['key'])
        st['k_exp'] = r.json
    if not t.test('POST api_keys (owner): 201 with the key object and its value "key" (works at once)', create):
        return
    k1 = st['k1']

    def create_inactive():
        r = srv.post(keys_a, {'name': 'dormant', 'state': 'inactive'}, key=okey)
        assert r.status == 201 and r.json['state'] == 'inactive', r
        refused(r.json['key'])
        st['k_inactive'] = r.json
    t.test('a key created inactive is refused (401)', create_inactive)

    def roles_create():
        for role, want in (('owner', 201), ('admin', 201), ('integration_manager', 201),
                           ('member', 403), ('guest', 403)):
            r = srv.post(keys_a, {'name': 'by-%s' % role}, key=a[role]['api_key'])
            if want == 403:
                j = is_error(r, 403, 2005)
                assert j['errors'][0]['type'] == 'forbidden', j
                continue
            assert r.status == 201, (role, r)
            assert r.json['user_id'] == a[role]['user_id'], r.json
            assert r.json['membership_id'] == a[role]['membership_id'], r.json
            works(r.json['key'])
            st['by-' + role] = r.json
    t.test('owner, admin, integration_manager may create keys (their own); member and guest get 403', roles_create)

    def roles_list():
        for role, want in (('owner', 200), ('admin', 200), ('integration_manager', 200),
                           ('member', 403), ('guest', 403)):
            r = srv.get(keys_a, key=a[role]['api_key'])
            if want == 403:
                is_error(r, 403, 2005)
            else:
                assert r.status == 200, (role, r)
    t.test('listing keys: owner, admin, integration_manager 200; member, guest 403', roles_list)

    def listing():
        r = srv.get(keys_a, key=okey)
        assert r.status == 200 and isinstance(r.json, list), r
        ids = [k['id'] for k in r.json]
        for k in r.json:
            assert set(k) == KEY_FIELDS, set(k)  # never the value
            assert k['team_id'] == ta, k
        assert len(ids) == len(set(ids)), ids
        for name in ('k1', 'k_empty', 'k_exp', 'k_inactive', 'by-admin'):
            assert st[name]['id'] in ids, name
        for role in ('owner', 'admin', 'member', 'guest', 'integration_manager'):
            assert a[role]['api_key'][:26] in ids, role  # the keys made with the memberships
        assert b['owner']['api_key'][:26] not in ids
        assert k1['key'] not in r.raw.decode()
        created = [k['created_at'] for k in r.json]
        assert created == sorted(created, reverse=True), created
        listed = {k['id']: k for k in r.json}[k1['id']]
        assert listed == {f: k1[f] for f in KEY_FIELDS}, (listed, k1)
    t.test("GET team api_keys: all the team's keys, newest first, never the value", listing)

    def get_one():
        r = srv.get('/v1/api_keys/%s' % k1['id'], key=okey)
        assert r.status == 200, r
        assert r.json == {f: k1[f] for f in KEY_FIELDS}, (r.json, k1)
        assert 'key' not in r.json
        r = srv.get('/v1/api_keys/%s' % k1['id'], key=a['integration_manager']['api_key'])
        assert r.status == 200, r
        is_error(srv.get('/v1/api_keys/%s' % k1['id'], key=a['member']['api_key']), 403, 2005)
        is_error(srv.get('/v1/api_keys/%s' % k1['id'], key=a['guest']['api_key']), 403, 2005)
        is_error(srv.get('/v1/api_keys/01ARZ3NDEKTSV4RRFFQ69G5FAV', key=okey), 404, 1007)
    t.test('GET /v1/api_keys/{id}: the key without its value; member/guest 403; unknown id 404', get_one)

    def update():
        time.sleep(0.01)
        exp = iso_in(86400 * 30)
        r = srv.put('/v1/api_keys/%s' % k1['id'], {'name': 'renamed', 'description': 'new\ndescription',
                                                    'expiry': exp, 'state': 'active'}, key=okey)
        assert r.status == 200, r
        j = r.json
        assert set(j) == KEY_FIELDS, set(j)
        assert (j['name'], j['description'], j['state']) == ('renamed', 'new\ndescription', 'active'), j
        assert j['expiry'][:19] == exp[:19], (j['expiry'], exp)
        assert j['created_at'] == k1['created_at'] and j['updated_at'] > k1['updated_at'], j
        got = srv.get('/v1/api_keys/%s' % k1['id'], key=okey).json
        assert got == j, (got, j)
        # fields left out stay as they are
        r = srv.put('/v1/api_keys/%s' % k1['id'], {'description': 'only this'}, key=okey)
        assert r.status == 200 and r.json['name'] == 'renamed' and r.json['description'] == 'only this', r
        assert r.json['expiry'] == j['expiry'], r.json
        # expiry null or "" removes it
        r = srv.put('/v1/api_keys/%s' % k1['id'], {'expiry': None}, key=okey)
        assert r.status == 200 and r.json['expiry'] == NO_EXPIRY, r
        # read-only fields sent back are ignored
        r = srv.put('/v1/api_keys/%s' % k1['id'], dict(r.json, name='echoed', team_id=tb, id='x'), key=okey)
        assert r.status == 200 and r.json['name'] == 'echoed' and r.json['team_id'] == ta, r
        assert r.json['id'] == k1['id'], r
        works(k1['key'])
    t.test('PUT /v1/api_keys/{id}: changes name, description, expiry, state; the rest stays', update)

    def update_bad():
        p = '/v1/api_keys/%s' % k1['id']
        before = srv.get(p, key=okey).json
        for b_ in ({'expiry': '2020-01-01T00:00:00Z'}, {'expiry': iso_in(-5)}, {'expiry': '2024-02-30T00:00:00Z'},
                   {'expiry': 'garbage'}, {'state': 'paused'}, {'name': 'x' * 256}, {'name': 7},
                   {'name': 'ok', 'state': 'deleted'}, {'description': 'x' * 1001}):
            is_error(srv.put(p, b_, key=okey), 400, 1002)
        for raw in (b'', b'[]', b'{', b'{"name":"a","name":"b"}'):
            is_error(srv.put(p, raw=raw, key=okey), 400, 1001)
        assert srv.get(p, key=okey).json == before, 'a refused PUT changed the key'
        is_error(srv.put(p, {'name': 'member'}, key=a['member']['api_key']), 403, 2005)
        is_error(srv.put('/v1/api_keys/01ARZ3NDEKTSV4RRFFQ69G5FAV', {'name': 'x'}, key=okey), 404)
    t.test('PUT with a past or invalid expiry, bad state or fields: 400 and nothing changes; member 403',
           update_bad)

    def deactivate():
        p = '/v1/api_keys/%s' % k1['id']
        r = srv.put(p, {'state': 'inactive'}, key=okey)
        assert r.status == 200 and r.json['state'] == 'inactive', r
        refused(k1['key'])
        refused(k1['key'], keys_a)
        is_error(srv.get(p, key=k1['key']), 401, 2002)
        r = srv.put(p, {'state': 'active'}, key=okey)
        assert r.status == 200 and r.json['state'] == 'active', r
        works(k1['key'])
        # a key can switch itself off
        r = srv.put(p, {'state': 'inactive'}, key=k1['key'])
        assert r.status == 200, r
        refused(k1['key'])
        assert srv.put(p, {'state': 'active'}, key=okey).status == 200
        works(k1['key'])
    t.test('PUT state inactive: the key gets 401 everywhere; active again: it works again', deactivate)

    def expires():
        r = srv.post(keys_a, {'name': 'short-lived', 'expiry': iso_in(2.0)}, key=okey)
        assert r.status == 201, r
        k = r.json
        works(k['key'])
        deadline = time.time() + 2.5
        while time.time() < deadline:
            time.sleep(0.25)
        refused(k['key'])
        # a PUT cannot bring the past back, but a future expiry revives it
        is_error(srv.put('/v1/api_keys/%s' % k['id'], {'expiry': iso_in(-1)}, key=okey), 400, 1002)
        r = srv.put('/v1/api_keys/%s' % k['id'], {'expiry': iso_in(3600)}, key=okey)
        assert r.status == 200, r
        works(k['key'])
    t.test('a key past its expiry gets 401; a new future expiry makes it work again', expires)

    def delete():
        r = srv.post(keys_a, {'name': 'doomed'}, key=okey)
        k = r.json
        works(k['key'])
        is_error(srv.delete('/v1/api_keys/%s' % k['id'], key=a['member']['api_key']), 403, 2005)
        works(k['key'])
        r = srv.delete('/v1/api_keys/%s' % k['id'], key=okey)
        assert r.status == 204 and r.raw == b'', r
        assert r.header('access-control-allow-origin') == '*' and r.header('x-request-id'), r.headers
        refused(k['key'])
        is_error(srv.get('/v1/api_keys/%s' % k['id'], key=okey), 404, 1007)
        is_error(srv.put('/v1/api_keys/%s' % k['id'], {'name': 'x'}, key=okey), 404, 1007)
        is_error(srv.delete('/v1/api_keys/%s' % k['id'], key=okey), 404, 1007)
        assert k['id'] not in [x['id'] for x in srv.get(keys_a, key=okey).json]
        # a key may delete itself; it is refused from then on
        r = srv.post(keys_a, {'name': 'self-destruct'}, key=a['admin']['api_key'])
        k = r.json
        assert srv.delete('/v1/api_keys/%s' % k['id'], key=k['key']).status == 204
        refused(k['key'])
    t.test('DELETE /v1/api_keys/{id}: 204; the key then gets 401 and its id 404', delete)

    def team_scope():
        # one user in both teams: owner of A is made admin of B
        joined = srv.add_member(tb, a['owner']['email'], 'admin')
        key_a, key_b = okey, joined['api_key']
        members_b = '/v1/teams/%s/members' % tb
        works(key_b, members_b)
        for path in (members_b, '/v1/teams/%s/api_keys' % tb, '/v1.1/teams/%s/spaces' % tb):
            is_error(srv.get(path, key=key_a), 404, 1007)
        is_error(srv.post('/v1/teams/%s/api_keys' % tb, {'name': 'x'}, key=key_a), 404, 1007)
        is_error(srv.post('/v1/teams/%s/spaces' % tb, {'name': 'x'}, key=key_a), 404, 1007)
        is_error(srv.get(members_a, key=key_b), 404, 1007)
        # the keys of team B cannot be read, changed or deleted with a key of team A
        kb = srv.post('/v1/teams/%s/api_keys' % tb, {'name': 'b-key'}, key=b['owner']['api_key']).json
        for r in (srv.get('/v1/api_keys/%s' % kb['id'], key=key_a),
                  srv.put('/v1/api_keys/%s' % kb['id'], {'state': 'inactive'}, key=key_a),
                  srv.delete('/v1/api_keys/%s' % kb['id'], key=key_a)):
            is_error(r, 404, 1007)
        works(kb['key'], members_b)
        # the user's token, not bound to a team, works in both
        token = srv.post('/v1/auth', {'email': a['owner']['email'], 'password': 'correct horse battery'}).json['token']
        works_token = [srv.get(p, token=token).status for p in (members_a, members_b)]
        assert works_token == [200, 200], works_token
        r = srv.get('/v1/api_keys/%s' % kb['id'], token=token)
        assert r.status == 200, r
        # a stranger (owner of B only) gets 404 on team A's keys
        is_error(srv.get('/v1/api_keys/%s' % k1['id'], key=b['owner']['api_key']), 404, 1007)
    t.test("a key works in its own team only: 404 on another team's routes and keys, even for a member of both",
           team_scope)

    def guest_key():
        # a key has its user's role: the guest's key cannot list members
        is_error(srv.get(members_a, key=a['guest']['api_key']), 403, 2005)
        r = srv.get('/v1.1/teams/%s/spaces' % ta, key=a['guest']['api_key'])
        assert r.status == 200, r
    t.test("a key acts with its user's role (guest: members 403, spaces 200)", guest_key)


if __name__ == '__main__':
    main_guard(Tap(), main)
