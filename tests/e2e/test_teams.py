#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Team members and teamspaces: who may see and create what, the shape of the records, and the
paging of GET /v1.1/teams/{id}/spaces (limits, no overlap, nothing skipped)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROLES, Tap, is_error, is_id, is_iso, main_guard, make_team, with_server  # noqa: E402

MEMBER_FIELDS = {'id', 'team_id', 'user_id', 'email', 'name', 'role', 'teamspaces', 'created_at',
                 'updated_at'}
SPACE_FIELDS = {'id', 'team_id', 'name', 'member_ids', 'created_at', 'updated_at'}


def main(t):
    with_server(t, body)


def body(t, srv):
    a = make_team(srv, 'teamsa')
    b = make_team(srv, 'teamsb', roles=('owner', 'member'))
    ta, tb = a['team_id'], b['team_id']
    okey = a['owner']['api_key']
    members_a = '/v1/teams/%s/members' % ta
    spaces_a = '/v1/teams/%s/spaces' % ta
    list_a = '/v1.1/teams/%s/spaces' % ta
    st = {}

    def members_shape():
        r = srv.get(members_a, key=okey)
        assert r.status == 200 and isinstance(r.json, list), r
        assert len(r.json) == len(ROLES), r.json
        by_role = {}
        for m in r.json:
            assert set(m) == MEMBER_FIELDS, set(m)
            assert is_id(m['id']) and is_id(m['user_id']) and m['team_id'] == ta, m
            assert m['teamspaces'] == [], m
            assert is_iso(m['created_at']) and is_iso(m['updated_at']), m
            by_role[m['role']] = m
        assert set(by_role) == set(ROLES), by_role
        for role in ROLES:
            m = by_role[role]
            assert (m['id'], m['user_id'], m['email']) == (
                a[role]['membership_id'], a[role]['user_id'], a[role]['email']), (role, m)
            assert m['name'] == a[role]['email'].split('@')[0], m
        assert r.json[0]['role'] == 'owner', 'members are listed in the order they joined'
        created = [m['created_at'] for m in r.json]
        assert created == sorted(created), created
    t.test('GET members: every membership as {id, team_id, user_id, email, name, role, teamspaces, created_at, updated_at}',
           members_shape)

    def members_access():
        for role in ('owner', 'admin', 'member', 'integration_manager'):
            r = srv.get(members_a, key=a[role]['api_key'])
            assert r.status == 200 and len(r.json) == len(ROLES), (role, r)
        is_error(srv.get(members_a, key=a['guest']['api_key']), 403, 2005)
        token = srv.login(a['guest']['email'])
        is_error(srv.get(members_a, token=token), 403, 2005)
        # not a member: 404, as if the team did not exist
        token_b = srv.login(b['member']['email'])
        is_error(srv.get(members_a, token=token_b), 404, 1007)
        is_error(srv.get(members_a, key=b['owner']['api_key']), 404, 1007)
        is_error(srv.get('/v1/teams/01ARZ3NDEKTSV4RRFFQ69G5FAV/members', token=token_b), 404, 1007)
        is_error(srv.get(members_a), 401, 2001)
        is_error(srv.get(members_a, key='garbage'), 401, 2002)
        is_error(srv.get(members_a, token='garbage'), 401, 2002)
        r = srv.get('/v1/teams/%s/members' % tb, key=b['owner']['api_key'])
        assert r.status == 200 and {m['team_id'] for m in r.json} == {tb} and len(r.json) == 2, r
    t.test('members: owner, admin, member, integration_manager 200; guest 403; outsider 404; no or bad credentials 401',
           members_access)

    def create_space():
        mids = [a['member']['membership_id'], a['guest']['membership_id']]
        r = srv.post(spaces_a, {'name': 'Post-production', 'member_ids': mids}, key=okey)
        assert r.status == 201, r
        j = r.json
        assert set(j) == SPACE_FIELDS, set(j)
        assert is_id(j['id']) and j['team_id'] == ta and j['name'] == 'Post-production', j
        assert sorted(j['member_ids']) == sorted(mids), j
        assert is_iso(j['created_at']) and j['created_at'] == j['updated_at'], j
        st['post'] = j
        r = srv.post(spaces_a, {'name': 'Empty'}, key=a['admin']['api_key'])
        assert r.status == 201 and r.json['member_ids'] == [], r
        st['empty'] = r.json
        r = srv.post(spaces_a, {'name': 'Nulls', 'member_ids': None}, key=okey)
        assert r.status == 201 and r.json['member_ids'] == [], r
        st['nulls'] = r.json
        r = srv.post(spaces_a, {'name': 'Integration', 'member_ids': [a['integration_manager']['membership_id']]},
                     key=okey)
        assert r.status == 201, r
        st['im'] = r.json
    if not t.test('POST spaces (owner, admin): 201 {id, team_id, name, member_ids, created_at, updated_at}',
                  create_space):
        return

    def create_forbidden():
        for role in ('member', 'guest', 'integration_manager'):
            is_error(srv.post(spaces_a, {'name': 'nope'}, key=a[role]['api_key']), 403, 2005)
        is_error(srv.post(spaces_a, {'name': 'nope'}, key=b['owner']['api_key']), 404, 1007)
        is_error(srv.post(spaces_a, {'name': 'nope'}), 401, 2001)
        names = [s['name'] for s in srv.get(list_a, key=okey).json['records']]
        assert 'nope' not in names, names
    t.test('POST spaces: member, guest, integration_manager 403; other team 404; none created', create_forbidden)

    def create_bad_members():
        other = b['member']['membership_id']
        for mids in ([other], [a['member']['membership_id'], other], ['01ARZ3NDEKTSV4RRFFQ69G5FAV'],
                     [a['member']['user_id']], [ta], ['bad'], [5], 'x', [[a['member']['membership_id']]]):
            j = is_error(srv.post(spaces_a, {'name': 'bad-members', 'member_ids': mids}, key=okey), 400, 1002)
            assert 'member_ids' in j['message'], j
        names = [s['name'] for s in srv.get(list_a, key=okey).json['records']]
        assert 'bad-members' not in names, ('a refused teamspace was created', names)
    t.test('POST spaces with a membership of another team, a user id or an unknown id: 400, nothing created',
           create_bad_members)

    def duplicate_member_ids():
        m = a['member']['membership_id']
        r = srv.post(spaces_a, {'name': 'Dupes', 'member_ids': [m, m]}, key=okey)
        if r.status == 400:
            return  # refusing duplicates is fine too
        assert r.status == 201, r
        st['dupes'] = 1
        listed = [s for s in srv.get(list_a, key=okey).json['records'] if s['id'] == r.json['id']]
        assert listed and listed[0]['member_ids'] == [m], listed
        assert r.json['member_ids'] == listed[0]['member_ids'], (
            'POST answered member_ids %r but the teamspace stored %r' % (r.json['member_ids'], listed[0]['member_ids']))
    t.test('POST spaces with a membership id twice: the answer shows what was stored', duplicate_member_ids)

    def members_show_spaces():
        ms = {m['id']: m for m in srv.get(members_a, key=okey).json}
        member_spaces = set(ms[a['member']['membership_id']]['teamspaces'])
        assert st['post']['id'] in member_spaces, ms
        assert ms[a['guest']['membership_id']]['teamspaces'] == [st['post']['id']], ms
        assert ms[a['integration_manager']['membership_id']]['teamspaces'] == [st['im']['id']], ms
        assert ms[a['owner']['membership_id']]['teamspaces'] == [], ms
    t.test("GET members lists each membership's teamspaces", members_show_spaces)

    # ---- listing and paging ----

    def make_many():
        for i in range(13):
            mids = [a['member']['membership_id']] if i % 3 == 0 else []
            r = srv.post(spaces_a, {'name': 'Bulk %02d' % (12 - i), 'member_ids': mids}, key=okey)
            assert r.status == 201, r
        # same names are allowed: order falls back to the id
        for _ in range(3):
            assert srv.post(spaces_a, {'name': 'Same'}, key=okey).status == 201
    t.test('create 16 more teamspaces (three with the same name)', make_many)

    def all_spaces(key, limit):
        seen = []
        total = None
        page = 1
        while True:
            r = srv.get('%s?page=%d&limit=%d' % (list_a, page, limit), key=key)
            assert r.status == 200, r
            j = r.json
            assert set(j) == {'metadata', 'records'} and isinstance(j['records'], list), j
            if total is None:
                total = j['metadata']['total']
            assert j['metadata']['total'] == total, 'total changed between pages'
            assert len(j['records']) <= limit, (limit, len(j['records']))
            for s in j['records']:
                assert set(s) == SPACE_FIELDS and s['team_id'] == ta, s
            if not j['records']:
                break
            seen.extend(j['records'])
            if len(j['records']) < limit:
                # the next page is empty
                r = srv.get('%s?page=%d&limit=%d' % (list_a, page + 1, limit), key=key)
                assert r.status == 200 and r.json['records'] == [] and r.json['metadata']['total'] == total, r
                break
            page += 1
            assert page < 100
        return seen, total

    def paging():
        everything = srv.get(list_a, key=okey).json
        n = everything['metadata']['total']
        assert n == 4 + st.get('dupes', 0) + 16, n
        assert len(everything['records']) == n, 'the default limit (50) returns them all'
        order = [(s['name'], s['id']) for s in everything['records']]
        assert order == sorted(order), order
        for limit in (1, 2, 3, 5, 7, 20, 50):
            seen, total = all_spaces(okey, limit)
            ids = [s['id'] for s in seen]
            assert total == n, (limit, total, n)
            assert len(ids) == len(set(ids)), ('pages overlap at limit %d' % limit, ids)
            assert ids == [s['id'] for s in everything['records']], ('pages skip or reorder at limit %d' % limit)
        r = srv.get(list_a + '?page=1000&limit=50', key=okey)
        assert r.status == 200 and r.json['records'] == [] and r.json['metadata']['total'] == n, r
        r = srv.get(list_a + '?page=2', key=okey)
        assert r.status == 200 and r.json['records'] == [], r
        r = srv.get(list_a + '?limit=50&page=1&unknown=1', key=okey)
        assert r.status == 200 and len(r.json['records']) == n, r
        r = srv.get(list_a + '?limit=%20%207&page=1', key=okey)
        assert r.status in (200, 400), r
        st['n'] = n
    t.test('GET /v1.1 spaces: {metadata:{total}, records}; sorted; pages of 1..50 neither overlap nor skip',
           paging)

    def bad_paging():
        for q in ('limit=0', 'limit=51', 'limit=x', 'limit=-1', 'limit=', 'limit=1.5', 'limit=1e1',
                  'limit=99999999999999999999999', 'page=0', 'page=-1', 'page=x', 'page=', 'page=1.0',
                  'page=99999999999999999999999', 'page=1&limit=0', 'limit=0x10'):
            j = is_error(srv.get('%s?%s' % (list_a, q), key=okey), 400, 1003)
            assert j['errors'][0]['type'] == 'invalid_query', j
    t.test('limit outside 1..50, page < 1, or not integers: 400 invalid_query (1003)', bad_paging)

    def visibility():
        expect_member = {st['post']['id']} | set()
        r = srv.get(list_a, key=a['admin']['api_key'])
        assert r.status == 200 and r.json['metadata']['total'] == st['n'], r
        for role in ('member', 'guest', 'integration_manager'):
            key = a[role]['api_key']
            seen, total = all_spaces(key, 2)
            mine = a[role]['membership_id']
            assert total == len(seen), (role, total, len(seen))
            for s in seen:
                assert mine in s['member_ids'], (role, s)
            ids = {s['id'] for s in seen}
            # every teamspace the role is in, and only those
            full = srv.get(list_a, key=okey).json['records']
            assert ids == {s['id'] for s in full if mine in s['member_ids']}, (role, ids)
            if role == 'member':
                assert st['post']['id'] in ids and len(ids) >= 6, ids
                expect_member = ids
            elif role == 'guest':
                assert ids == {st['post']['id']}, ids
            else:
                assert ids == {st['im']['id']}, ids
        assert expect_member
        r = srv.get('/v1.1/teams/%s/spaces' % tb, key=b['member']['api_key'])
        assert r.status == 200 and r.json == {'metadata': {'total': 0}, 'records': []}, r
        is_error(srv.get(list_a, key=b['owner']['api_key']), 404, 1007)
        is_error(srv.get(list_a), 401, 2001)
    t.test('owners and admins see every teamspace; member, guest, integration_manager only their own (total too)',
           visibility)


if __name__ == '__main__':
    main_guard(Tap(), main)
