#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Portals over HTTP, the team side, as a MASV client uses it: creating a portal (every field of
the create table, its type and default), reading, updating (PUT and POST, the full-object
workflow, secrets kept), deleting, every validation rule, the v1.1 and legacy lists with each
parameter, who sees and may change what (private portals and their access lists), a portal's
package lists with each parameter and the archive of its packages by expiry window.

To give the lists many portal packages in every state and at chosen times without uploading
each, this script writes packages (and webhooks) into the database itself (SQLite through
Python's sqlite3, PostgreSQL through psql); test_portal_public.py makes portal packages the way
uploaders do."""
import calendar
import os
import random
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Tap, is_error, is_id, is_iso, main_guard, make_team, unique,  # noqa: E402
                     with_server_no_5xx)

NOWHERE = '01ARZ3NDEKTSV4RRFFQ69G5FAV'
ZERO_TIME = '0001-01-01T00:00:00.000Z'
PORTAL_TYPES = {
    'access_code': str, 'access_level': str, 'access_list': list, 'active': bool,
    'background_url': str, 'cloud_connections': list, 'created_at': str,
    'custom_expiry_days': int, 'custom_webhooks': list, 'disable_upload_receipt': bool,
    'download_password': str, 'expiry': str, 'expiry_enabled': bool,
    'file_type_restriction_enabled': bool, 'file_type_restriction_exclude': bool,
    'file_types': list, 'has_access_code': bool, 'has_download_password': bool, 'id': str,
    'logo_url': str, 'max_file_count': int, 'max_file_size': int, 'max_package_size': int,
    'message': str, 'name': str, 'package_name_format': dict,
    'package_name_format_enabled': bool, 'package_size_restriction_enabled': bool,
    'primary_color': str, 'recipients': list, 'subdomain': str, 'terms_of_service': dict,
    'terms_of_service_enabled': bool, 'updated_at': str, 'teamspace_id': str,
}
CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'


def is_portal(p):
    """Asserts @p is a portal object with every documented property of the right JSON type."""
    assert isinstance(p, dict), p
    for k, ty in PORTAL_TYPES.items():
        assert k in p, 'portal object lacks %r: %r' % (k, p)
        assert isinstance(p[k], ty), '%s: %r is not a %s' % (k, p[k], ty.__name__)
        if ty is int:
            assert not isinstance(p[k], bool), '%s: %r is a boolean' % (k, p[k])
    assert is_id(p['id']), p
    for k in ('created_at', 'updated_at', 'expiry'):
        assert is_iso(p[k]), (k, p[k])
    assert p['access_level'] in ('regular', 'private'), p
    assert set(p['terms_of_service']) == {'checkbox_label', 'checkbox_url', 'description',
                                          'title'}, p['terms_of_service']
    assert set(p['package_name_format']) == {'label', 'value'}, p['package_name_format']
    assert 'teamspace' in p, p
    assert p['download_password'] in ('', '****'), 'the download password leaked: %r' % p
    return p


def new_id():
    return '01' + ''.join(random.choice(CROCKFORD) for _ in range(24))


def db_insert(srv, table, row):
    """Writes @row (a dict of columns) into @table of the server's database, as the parts of
    consign that are not there yet will."""
    cols = ', '.join(row)
    if srv.store_args[0] == '--database':
        def q(v):
            if v is None:
                return 'NULL'
            if isinstance(v, bool):
                return 'true' if v else 'false'
            return "'%s'" % v.replace("'", "''") if isinstance(v, str) else str(v)
        sql = 'INSERT INTO %s (%s) VALUES (%s)' % (table, cols, ', '.join(q(v) for v in
                                                                         row.values()))
        subprocess.run(['psql', '-q', '-v', 'ON_ERROR_STOP=1', srv.store_args[1], '-c', sql],
                       check=True, capture_output=True)
    else:
        db = sqlite3.connect(os.path.join(srv.data, 'consign.db'), timeout=30)
        with db:
            db.execute('INSERT INTO %s (%s) VALUES (%s)' % (table, cols, ', '.join(
                '?' * len(row))), list(row.values()))
        db.close()


def put_package(srv, team, portal, name, state='finalized', created=None, expiry=None,
                tag=None, sender='uploader@example.org'):
    """A package received through @portal, as the public side will make it (times in
    milliseconds since the epoch); returns its id."""
    pid = new_id()
    created = int(time.time() * 1000) if created is None else created
    db_insert(srv, 'packages', {
        'id': pid, 'team_id': team, 'inbox': True, 'portal_id': portal, 'sender': sender,
        'name': name, 'state': state, 'expiry': expiry, 'created_at': created,
        'updated_at': created, 'tag_id': tag})
    return pid


def put_webhook(srv, team):
    """A custom webhook of @team (the webhook routes are not there yet); returns its id."""
    wid = new_id()
    now = int(time.time() * 1000)
    db_insert(srv, 'webhooks', {'id': wid, 'team_id': team, 'name': 'hook',
                                'url': 'https://example.org/hook', 'method': 'POST',
                                'created_at': now, 'updated_at': now})
    return wid


def bad(r, field):
    """Asserts @r is a 400 whose message names @field."""
    j = is_error(r, 400)
    assert field in j['message'], 'the message does not name %r: %r' % (field, j['message'])


def main(t):
    with_server_no_5xx(t, body)


def body(t, srv):
    a = make_team(srv, 'porta', roles=('owner', 'admin', 'member', 'guest',
                                       'integration_manager'))
    b = make_team(srv, 'portb', roles=('owner', 'member'))
    ta, tb = a['team_id'], b['team_id']
    okey, akey, mkey = a['owner']['api_key'], a['admin']['api_key'], a['member']['api_key']
    ikey, gkey = a['integration_manager']['api_key'], a['guest']['api_key']
    create_a = '/v1/teams/%s/portals' % ta
    st = {}

    def sub():
        return unique('p').lower().replace('_', '-')

    def create(key=okey, team=ta, **fields):
        doc = {'name': fields.pop('name', unique('Portal')), 'subdomain': fields.pop(
            'subdomain', sub())}
        doc.update(fields)
        r = srv.post('/v1/teams/%s/portals' % team, doc, key=key)
        assert r.status == 201, r
        return is_portal(r.json)

    def get(pid, key=okey):
        return srv.get('/v1.1/portals/%s' % pid, key=key)

    def full_update(pid, key=okey, method='PUT', **changes):
        """GET, change, PUT: the workflow the seed recommends."""
        r = get(pid, key)
        assert r.status == 200, r
        doc = dict(r.json)
        doc.update(changes)
        return srv.req(method, '/v1/portals/%s' % pid, body=doc, key=key)

    def space(name, members):
        r = srv.post('/v1/teams/%s/spaces' % ta, {'name': name, 'member_ids': members}, key=okey)
        assert r.status == 201, r
        return r.json['id']

    st['hook'] = put_webhook(srv, ta)
    st['hook_b'] = put_webhook(srv, tb)
    st['space_m'] = space(unique('sp'), [a['member']['membership_id']])
    st['space_x'] = space(unique('sp'), [])
    r = srv.post('/v1/teams/%s/tags' % ta, {'name': unique('tag')}, key=okey)
    st['tag1'] = r.json
    r = srv.post('/v1/teams/%s/tags' % tb, {'name': unique('tag')}, key=b['owner']['api_key'])
    st['tag_b'] = r.json

    # ---- create and read ----

    def create_full():
        s = sub().upper()
        doc = {
            'name': 'Dailies', 'subdomain': s, 'message': 'Hello\nworld', 'active': True,
            'has_access_code': True, 'access_code': 'open sesame',
            'logo_url': 'https://example.org/logo.png',
            'background_url': 'https://example.org/bg.jpg', 'primary_color': '#0078D4',
            'recipients': ['Ann@Example.org', {'email': 'bob@example.org'}, 'ann@example.org'],
            'has_download_password': True, 'download_password': 'hunter22hunter',
            'custom_expiry_days': -1,
            'cloud_connections': [{'id': '01J0VK7K95A2ACFRW3Z93DJ7B2',
                                   'target_action': 'transfer', 'sync_metadata': True}],
            'disable_upload_receipt': True,
            'custom_webhooks': [{'id': st['hook']}],
            'tag': {'name': 'portal-tag'}, 'access_level': 'regular', 'access_list': [],
            'teamspace_id': st['space_m'], 'terms_of_service_enabled': True,
            'terms_of_service': {'checkbox_label': 'I agree', 'checkbox_url':
                                 'http://test.com/tos.html', 'title': 'Terms',
                                 'description': 'Be\nnice'},
            'package_size_restriction_enabled': True, 'max_package_size': 53687091200,
            'max_file_size': 1073741824, 'max_file_count': 10,
            'file_type_restriction_enabled': True, 'file_type_restriction_exclude': True,
            'file_types': ['.MOV', '.mp4', '.mov', '.tar.gz'],
            'expiry_enabled': True, 'expiry': '2031-01-02T03:04:05.678Z',
            'package_name_format_enabled': True,
            'package_name_format': {'value': r'^[A-Z]+_\d{4}$', 'label': 'UPPER_1234'},
        }
        before = time.time()
        r = srv.post(create_a, doc, key=okey)
        assert r.status == 201, r
        p = is_portal(r.json)
        want = dict(doc)
        want.update({
            'subdomain': s.lower(), 'recipients': ['ann@example.org', 'bob@example.org'],
            'download_password': '****', 'file_types': ['.mov', '.mp4', '.tar.gz'],
        })
        for k in ('tag', 'teamspace_id'):
            want.pop(k)
        for k, v in want.items():
            assert p[k] == v, '%s: %r, want %r' % (k, p[k], v)
        assert p['tag']['name'] == 'portal-tag' and is_id(p['tag']['id']), p['tag']
        assert p['teamspace_id'] == st['space_m'] and p['teamspace']['id'] == st['space_m'], p
        assert p['team_id'] == ta, p
        assert abs(calendar.timegm(time.strptime(p['created_at'][:19], '%Y-%m-%dT%H:%M:%S')) -
                   before) < 60, p['created_at']
        assert 'hunter22' not in r.raw.decode(), 'the download password is in the answer'
        r2 = get(p['id'])
        assert r2.status == 200 and r2.json == p, (r2, p)
        st['full'] = p
    t.test('create: every field of the create table is stored and returned as given', create_full)

    def defaults():
        p = create(name='Plain')
        want = {'active': False, 'has_access_code': False, 'access_code': '', 'message': '',
                'has_download_password': False, 'download_password': '',
                'custom_expiry_days': 0, 'cloud_connections': [], 'custom_webhooks': [],
                'disable_upload_receipt': False, 'access_level': 'regular', 'access_list': [],
                'teamspace': None, 'teamspace_id': '', 'terms_of_service_enabled': False,
                'terms_of_service': {'checkbox_label': '', 'checkbox_url': '', 'title': '',
                                     'description': ''},
                'package_size_restriction_enabled': False, 'max_package_size': 0,
                'max_file_size': 0, 'max_file_count': 0, 'file_type_restriction_enabled': False,
                'file_type_restriction_exclude': False, 'file_types': [],
                'expiry_enabled': False, 'expiry': ZERO_TIME,
                'package_name_format_enabled': False,
                'package_name_format': {'label': '', 'value': ''}, 'recipients': [],
                'logo_url': '', 'background_url': '', 'primary_color': ''}
        for k, v in want.items():
            assert p[k] == v, '%s: %r, want %r' % (k, p[k], v)
        assert 'tag' not in p, 'an untagged portal carries a tag: %r' % p
    t.test('create: the documented defaults for every field left out', defaults)

    def seed_example():
        # The seed's own request: has_access_code, download password, custom expiry.
        r = srv.post(create_a, {'name': 'Seed', 'message': 'Hi', 'subdomain': sub(),
                                'recipients': ['r1@example.org'], 'access_code': 'ACCESS',
                                'has_access_code': True, 'download_password': 'DLPASSWORD',
                                'has_download_password': True, 'custom_expiry_days': 14},
                     key=okey)
        assert r.status == 201, r
        p = is_portal(r.json)
        assert p['access_code'] == 'ACCESS' and p['custom_expiry_days'] == 14, p
    t.test("create: the seed's example request", seed_example)

    # ---- validation ----

    def validation():
        cases = [
            ({'name': None}, 'name'),
            ({'subdomain': None}, 'subdomain'),
            ({'name': '', 'subdomain': sub()}, 'name'),
            ({'subdomain': 'ab'}, 'subdomain'),
            ({'subdomain': 'a' * 54}, 'subdomain'),
            ({'subdomain': '-abc'}, 'subdomain'),
            ({'subdomain': 'abc-'}, 'subdomain'),
            ({'subdomain': 'ab_c'}, 'subdomain'),
            ({'subdomain': 'ab.cd'}, 'subdomain'),
            ({'subdomain': 12345}, 'subdomain'),
            ({'custom_expiry_days': -2}, 'custom_expiry_days'),
            ({'custom_expiry_days': 65536}, 'custom_expiry_days'),
            ({'custom_expiry_days': 'soon'}, 'custom_expiry_days'),
            ({'has_access_code': True}, 'access_code'),
            ({'has_access_code': True, 'access_code': ''}, 'access_code'),
            ({'has_download_password': True}, 'download_password'),
            ({'has_download_password': True, 'download_password': ''}, 'download_password'),
            ({'terms_of_service_enabled': True}, 'checkbox_label'),
            ({'terms_of_service_enabled': True, 'terms_of_service': {'title': 'T'}},
             'checkbox_label'),
            ({'terms_of_service': 'yes'}, 'terms_of_service'),
            ({'package_size_restriction_enabled': True}, 'max_package_size'),
            ({'package_size_restriction_enabled': True, 'max_file_size': 0}, 'max_file_size'),
            ({'max_file_size': -1}, 'max_file_size'),
            ({'file_type_restriction_enabled': True}, 'file_types'),
            ({'file_type_restriction_enabled': True, 'file_types': []}, 'file_types'),
            ({'file_types': ['mov']}, 'file_types'),
            ({'file_types': ['.']}, 'file_types'),
            ({'file_types': ['.m ov']}, 'file_types'),
            ({'file_types': '.mov'}, 'file_types'),
            ({'package_name_format_enabled': True}, 'package_name_format'),
            ({'package_name_format_enabled': True,
              'package_name_format': {'value': '([a-z', 'label': 'x'}}, 'package_name_format'),
            ({'package_name_format_enabled': True,
              'package_name_format': {'value': '(?<n>a)\\k<m>', 'label': 'x'}},
             'package_name_format'),
            ({'package_name_format_enabled': True,
              'package_name_format': {'value': '(' * 60 + 'a' + ')' * 60, 'label': 'x'}},
             'package_name_format'),
            ({'access_level': 'secret'}, 'access_level'),
            ({'access_level': 'private', 'has_access_code': True, 'access_code': 'c'},
             'access_list'),
            ({'access_level': 'private', 'has_access_code': True, 'access_code': 'c',
              'access_list': [a['member']['membership_id']], 'teamspace_id': st['space_m']},
             'teamspace_id'),
            ({'access_level': 'private', 'access_list': [a['member']['membership_id']]},
             'access_code'),
            ({'access_level': 'private', 'has_access_code': True, 'access_code': 'c',
              'access_list': [b['member']['membership_id']]}, 'access_list'),
            ({'access_level': 'private', 'has_access_code': True, 'access_code': 'c',
              'access_list': ['not-an-id']}, 'access_list'),
            ({'teamspace_id': NOWHERE}, 'teamspace_id'),
            ({'teamspace_id': 'garbage'}, 'teamspace_id'),
            ({'tag': {'id': st['tag_b']['id']}}, 'tag'),
            ({'tag': {'id': 'garbage'}}, 'tag'),
            ({'tag': 'x'}, 'tag'),
            ({'custom_webhooks': [{'id': 'nope'}]}, 'custom_webhooks'),
            ({'custom_webhooks': {}}, 'custom_webhooks'),
            ({'custom_webhooks': [{'id': NOWHERE}]}, 'custom_webhooks'),
            ({'custom_webhooks': [st['hook'], {'id': st['hook_b']}]}, 'custom_webhooks'),
            ({'cloud_connections': [{'id': '01J0VK7K95A2ACFRW3Z93DJ7B2'}]},
             'cloud_connections'),
            ({'configure_cloud_connections': True}, 'cloud_connections'),
            ({'recipients': ['not an address']}, 'recipients'),
            ({'recipients': 'a@example.org'}, 'recipients'),
            ({'primary_color': 'blue'}, 'primary_color'),
            ({'logo_url': 'javascript:alert(1)'}, 'logo_url'),
            ({'background_url': 'ftp://x'}, 'background_url'),
            ({'expiry_enabled': True}, 'expiry'),
            ({'expiry': 'tomorrow'}, 'expiry'),
            ({'active': 'yes'}, 'active'),
            ({'message': 'm' * 10001}, 'message'),
        ]
        for fields, field in cases:
            doc = {'name': 'V', 'subdomain': sub()}
            doc.update(fields)
            doc = {k: v for k, v in doc.items() if v is not None}  # None: left out
            r = srv.post(create_a, doc, key=okey)
            try:
                bad(r, field)
            except AssertionError as e:
                raise AssertionError('%r: %s' % (fields, e))
        r = srv.post(create_a, raw='{"name": "x", "subdomain": ', key=okey,
                     headers={'Content-Type': 'application/json'})
        is_error(r, 400)
        r = srv.post(create_a, raw='[1, 2]', key=okey, headers={'Content-Type': 'application/json'})
        is_error(r, 400)
    t.test('create: every rule answers 400 naming the field', validation)

    def subdomain_conflict():
        s = sub()
        create(subdomain=s)
        r = srv.post(create_a, {'name': 'again', 'subdomain': s.upper()}, key=okey)
        j = is_error(r, 409)
        assert 'subdomain' in j['message'], j
        r = srv.post('/v1/teams/%s/portals' % tb, {'name': 'again', 'subdomain': s},
                     key=b['owner']['api_key'])
        is_error(r, 409)
        p = create()
        r = full_update(p['id'], subdomain=s)
        is_error(r, 409)
        assert get(p['id']).json['subdomain'] == p['subdomain'], 'a refused update changed it'
    t.test('the subdomain is unique across the server (case-insensitive): 409', subdomain_conflict)

    # ---- update ----

    def update_full_object():
        p = st['full']
        r = full_update(p['id'], name='Renamed', active=False, custom_expiry_days=30,
                        message='bye', tag={}, teamspace_id='', file_types=['.wav'],
                        cloud_connections=[], configure_cloud_connections=False)
        assert r.status == 200, r
        u = is_portal(r.json)
        assert u['name'] == 'Renamed' and u['active'] is False and u['message'] == 'bye', u
        assert u['custom_expiry_days'] == 30 and u['file_types'] == ['.wav'], u
        assert 'tag' not in u, 'an empty tag object takes the tag off: %r' % u
        assert u['teamspace'] is None and u['teamspace_id'] == '', u
        # Secrets survive the round trip: the code as it was, the password still set.
        assert u['access_code'] == 'open sesame' and u['has_download_password'] is True, u
        assert u['download_password'] == '****', u
        # Cloud connections change only with configure_cloud_connections.
        assert u['cloud_connections'] == p['cloud_connections'], u
        assert u['updated_at'] >= p['updated_at'] and u['created_at'] == p['created_at'], u
        for k in ('recipients', 'terms_of_service', 'package_name_format', 'custom_webhooks',
                  'max_package_size', 'expiry', 'subdomain'):
            assert u[k] == p[k], '%s changed: %r -> %r' % (k, p[k], u[k])
        assert get(p['id']).json == u
        st['full'] = u
    t.test('update: GET, change, PUT keeps what was not changed, secrets included',
           update_full_object)

    def update_partial_and_post():
        p = create(has_access_code=True, access_code='abc')
        r = srv.post('/v1/portals/%s' % p['id'], {'name': 'Posted', 'subdomain': p['subdomain'],
                                                 'active': True, 'has_access_code': True},
                     key=okey)
        assert r.status == 200, r
        assert r.json['name'] == 'Posted' and r.json['access_code'] == 'abc', r.json
        r = srv.put('/v1/portals/%s' % p['id'], {'name': 'P', 'subdomain': p['subdomain'],
                                                'active': True, 'has_access_code': False,
                                                'access_code': 'ignored'}, key=okey)
        assert r.status == 200 and r.json['access_code'] == '', 'a disabled code is dropped: %r' % r
        for missing in ('name', 'subdomain', 'active', 'has_access_code'):
            doc = {'name': 'P', 'subdomain': p['subdomain'], 'active': True,
                   'has_access_code': False}
            doc.pop(missing)
            bad(srv.put('/v1/portals/%s' % p['id'], doc, key=okey), missing)
        r = full_update(p['id'], has_download_password=True)
        bad(r, 'download_password')
        r = full_update(p['id'], has_download_password=True, download_password='s3cret-pw')
        assert r.status == 200 and r.json['download_password'] == '****', r
        r = full_update(p['id'], has_download_password=False)
        assert r.status == 200 and r.json['download_password'] == '', r
        r = full_update(p['id'], configure_cloud_connections=True,
                        cloud_connections=[{'id': '01J0VK7K95A2ACFRW3Z93DJ7B2',
                                            'target_action': 'transfer'}])
        assert r.status == 200 and r.json['cloud_connections'] == [
            {'id': '01J0VK7K95A2ACFRW3Z93DJ7B2', 'target_action': 'transfer',
             'sync_metadata': False}], r
        r = full_update(p['id'], tag={'id': st['tag1']['id']})
        assert r.status == 200 and r.json['tag']['id'] == st['tag1']['id'], r
        r = full_update(p['id'], custom_expiry_days=70000)
        bad(r, 'custom_expiry_days')
        r = srv.put('/v1/portals/%s' % NOWHERE, {'name': 'P', 'subdomain': sub(), 'active': True,
                                                'has_access_code': False}, key=okey)
        is_error(r, 404)
        r = srv.put('/v1/portals/garbage', {}, key=okey)
        is_error(r, 404)
    t.test('update: PUT and POST, the four required fields, secrets, tags, 404s',
           update_partial_and_post)

    # ---- access ----

    def access_policy():
        team_wide = create(name='team-wide')
        in_space = create(name='in-space', teamspace_id=st['space_m'])
        other_space = create(name='other-space', teamspace_id=st['space_x'])
        private = create(name='private', access_level='private', has_access_code=True,
                         access_code='pc', access_list=[a['member']['membership_id']])
        hidden = create(name='hidden', access_level='private', has_access_code=True,
                        access_code='hc', access_list=[{'membership_id':
                                                        a['admin']['membership_id']}])
        assert hidden['access_list'][0]['membership_id'] == a['admin']['membership_id']
        assert hidden['access_list'][0]['email'] == a['admin']['email'], hidden
        for p in (team_wide, in_space, private):
            assert get(p['id'], mkey).status == 200, p['name']
        for p in (other_space, hidden):
            is_error(get(p['id'], mkey), 404)
        for key in (okey, akey):
            for p in (team_wide, in_space, other_space, private, hidden):
                assert get(p['id'], key).status == 200
        # Integration managers are members: their teamspaces (none here).
        assert get(team_wide['id'], ikey).status == 200
        is_error(get(in_space['id'], ikey), 404)
        is_error(get(team_wide['id'], gkey), 403)
        is_error(srv.post(create_a, {'name': 'g', 'subdomain': sub()}, key=gkey), 403)
        is_error(srv.get('/v1.1/teams/%s/portals' % ta, key=gkey), 403)
        # Another team's key, or no key at all.
        is_error(get(team_wide['id'], b['owner']['api_key']), 404)
        is_error(srv.get('/v1.1/portals/%s' % team_wide['id']), 401)
        is_error(srv.get('/v1.1/teams/%s/portals' % ta, key=b['owner']['api_key']), 404)
        # The member's list holds exactly what they see.
        r = srv.get('/v1.1/teams/%s/portals?limit=50&name=' % ta, key=mkey)
        ids = {p['id'] for p in r.json['records']}
        assert {team_wide['id'], in_space['id'], private['id']} <= ids, r.json
        assert not {other_space['id'], hidden['id']} & ids, r.json
        assert r.json['metadata']['total'] == len(ids), r.json
        r = srv.get('/v1/teams/%s/portals' % ta, key=mkey)
        assert {p['id'] for p in r.json} == ids, 'the legacy list shows the same'
        # Deleting: owners, admins and the creator.
        is_error(srv.delete('/v1/portals/%s' % team_wide['id'], key=mkey), 403)
        mine = create(key=mkey, name='members-own')
        assert srv.delete('/v1/portals/%s' % mine['id'], key=mkey).status == 204
        # A member may not create in a teamspace they are not in.
        bad(srv.post(create_a, {'name': 'x', 'subdomain': sub(), 'teamspace_id': st['space_x']},
                     key=mkey), 'teamspace_id')
        st['private'] = private
    t.test('access: per role and teamspace; private portals to owners, admins and the list',
           access_policy)

    def private_update_rules():
        p = st['private']
        mid = a['member']['membership_id']
        r = full_update(p['id'], key=mkey, message='changed by the member')
        assert r.status == 200 and r.json['message'] == 'changed by the member', r
        r = full_update(p['id'], key=mkey, access_level='regular')
        is_error(r, 403)
        r = full_update(p['id'], key=mkey, access_list=[a['admin']['membership_id']])
        is_error(r, 403)
        r = full_update(p['id'], key=mkey, access_list=[mid, a['admin']['membership_id']])
        assert r.status == 200 and len(r.json['access_list']) == 2, r
        assert get(p['id']).json['access_level'] == 'private'
        is_error(srv.delete('/v1/portals/%s' % p['id'], key=mkey), 403)
        # The admin may do both.
        r = full_update(p['id'], key=akey, access_list=[a['admin']['membership_id']])
        assert r.status == 200, r
        is_error(get(p['id'], mkey), 404)
        r = full_update(p['id'], key=akey, access_level='regular')
        assert r.status == 200 and r.json['access_level'] == 'regular', r
        assert r.json['access_list'] == [], 'a regular portal has no access list: %r' % r.json
        assert get(p['id'], mkey).status == 200
    t.test('update: a member on the access list may change the portal, not its list or level',
           private_update_rules)

    # ---- delete ----

    def delete():
        p = create(name='doomed')
        pkg = put_package(srv, ta, p['id'], 'left behind')
        r = srv.delete('/v1/portals/%s' % p['id'], key=okey)
        assert r.status == 204 and not r.raw, r
        is_error(get(p['id']), 404)
        is_error(srv.delete('/v1/portals/%s' % p['id'], key=okey), 404)
        is_error(srv.get('/v1.1/portals/%s/packages' % p['id'], key=okey), 404)
        r = srv.get('/v1.1/teams/%s/packages/%s' % (ta, pkg), key=okey)
        assert r.status == 200 and r.json['id'] == pkg, 'its packages stay: %r' % r
        assert create(subdomain=p['subdomain'])['subdomain'] == p['subdomain'], (
            'the subdomain is free again')
        is_error(srv.delete('/v1/portals/%s' % NOWHERE, key=okey), 404)
    t.test('delete: 204; it is gone, its packages stay, its subdomain is free', delete)

    # ---- the team's lists ----

    def lists():
        lt = make_team(srv, 'portl', roles=('owner',))
        key, team = lt['owner']['api_key'], lt['team_id']
        tag = srv.post('/v1/teams/%s/tags' % team, {'name': 'lt'}, key=key).json['id']
        sp = srv.post('/v1/teams/%s/spaces' % team, {'name': 's'}, key=key).json['id']
        made = []
        prefix = sub()
        for i, (name, active) in enumerate([('bravo', True), ('Alpha', False),
                                            ('charlie 100%', True), ('delta', False),
                                            ('echo', False)]):
            extra = {}
            if i == 1:
                extra['tag'] = {'id': tag}
            if i in (2, 3):
                extra['teamspace_id'] = sp
            made.append(create(key=key, team=team, name=name, active=active,
                               subdomain='%s-%d' % (prefix, i), **extra))
            time.sleep(0.005)
        ids = [p['id'] for p in made]
        base = '/v1.1/teams/%s/portals' % team

        def page(q, total=5):
            r = srv.get(base + q, key=key)
            assert r.status == 200, r
            assert set(r.json) == {'metadata', 'records'} and r.json['metadata'] == {
                'total': total}, (q, r.json)
            for p in r.json['records']:
                is_portal(p)
            return [p['id'] for p in r.json['records']]
        assert page('') == ids[::-1], 'newest first by default'
        assert page('?sort=created_at') == ids
        assert page('?sort=-created_at') == ids[::-1]
        by_name = sorted(made, key=lambda p: p['name'])
        assert page('?sort=name') == [p['id'] for p in by_name]
        assert page('?sort=-name') == [p['id'] for p in by_name][::-1]
        act = sorted(made, key=lambda p: (p['active'], p['id']))
        assert page('?sort=active') == [p['id'] for p in act]
        assert page('?sort=-active') == [p['id'] for p in act][::-1]
        assert page('?limit=2') == ids[::-1][:2]
        assert page('?limit=2&page=3') == ids[::-1][4:]
        assert page('?limit=2&page=4') == []
        assert page('?name=HARL', 1) == [ids[2]], 'name contains, case-insensitively'
        assert page('?name=100%25', 1) == [ids[2]]
        assert page('?name=zzz', 0) == []
        assert page('?subdomain=%s-3' % prefix, 1) == [ids[3]]
        assert page('?subdomain=%s' % prefix.upper(), 5) == ids[::-1], 'case-insensitively'
        assert page('?tags=%s' % tag, 1) == [ids[1]]
        assert page('?tags=%s,%s' % (tag, NOWHERE), 1) == [ids[1]]
        assert page('?teamspaces=%s' % sp, 2) == [ids[3], ids[2]]
        assert page('?teamspaces=%s&sort=name&name=e' % sp, 2) == [ids[2], ids[3]]
        for q in ('?limit=0', '?limit=51', '?page=0', '?page=x', '?sort=size', '?sort=-',
                  '?tags=nope', '?teamspaces=1,2', '?name=' + 'n' * 300):
            is_error(srv.get(base + q, key=key), 400)
        r = srv.get('/v1/teams/%s/portals' % team, key=key)
        assert r.status == 200 and isinstance(r.json, list), r
        assert [p['id'] for p in r.json] == ids[::-1], 'the legacy list: a bare array'
        for p in r.json:
            is_portal(p)
        r = srv.get('/v1.1/teams/%s/portals' % NOWHERE, key=key)
        is_error(r, 404)
    t.test('lists: v1.1 with page, limit, every sort, name, subdomain, tags, teamspaces; legacy',
           lists)

    # ---- a portal's packages ----

    def portal_packages():
        p = create(name='inbox', tag={'id': st['tag1']['id']})
        pid = p['id']
        day = 86400000
        t0 = int(time.time() * 1000) - 10 * day
        pk = {
            'old': put_package(srv, ta, pid, 'old', created=t0, tag=st['tag1']['id']),
            'mid': put_package(srv, ta, pid, 'mid', created=t0 + 3 * day,
                               sender='other@example.org'),
            'new': put_package(srv, ta, pid, 'new', created=t0 + 6 * day, state='new'),
            'exp': put_package(srv, ta, pid, 'exp', created=t0 + 7 * day, state='expired',
                               expiry=t0 + 8 * day),
            'arc': put_package(srv, ta, pid, 'arc', created=t0 + 8 * day, state='archived',
                               expiry=t0 + 9 * day),
        }
        other = create(name='other inbox')
        put_package(srv, ta, other['id'], 'elsewhere')
        base = '/v1.1/portals/%s/packages' % pid

        def page(q, total):
            r = srv.get(base + q, key=okey)
            assert r.status == 200, (q, r)
            assert r.json['metadata']['total'] == total, (q, r.json['metadata'])
            for rec in r.json['records']:
                assert rec['portal_id'] == pid and rec['access_token'], rec
            return [rec['id'] for rec in r.json['records']]
        # finalized and expired by default, newest first
        assert page('', 3) == [pk['exp'], pk['mid'], pk['old']]
        assert page('?sort=created_at', 3) == [pk['old'], pk['mid'], pk['exp']]
        assert page('?sort=name', 3) == [pk['exp'], pk['mid'], pk['old']]
        assert page('?limit=1&page=2', 3) == [pk['mid']]
        assert page('?tags=%s' % st['tag1']['id'], 1) == [pk['old']]
        assert page('?sender=OTHER@example.org', 1) == [pk['mid']]
        start = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime((t0 + 2 * day) / 1000))
        end = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime((t0 + 7 * day - 1000) / 1000))
        assert page('?created_at_start=%s' % start, 2) == [pk['exp'], pk['mid']]
        assert page('?created_at_end=%s' % end, 2) == [pk['mid'], pk['old']]
        assert page('?created_at_start=%s&created_at_end=%s' % (start, end), 1) == [pk['mid']]
        assert page('?status=new,archived', 2) == [pk['arc'], pk['new']]
        for q in ('?limit=0', '?sort=bogus', '?tags=x', '?created_at_start=yesterday',
                  '?page=-1'):
            is_error(srv.get(base + q, key=okey), 400)
        legacy = '/v1/portals/%s/packages' % pid

        def flags(q):
            r = srv.get(legacy + q, key=okey)
            assert r.status == 200 and isinstance(r.json, list), (q, r)
            return {rec['id'] for rec in r.json}
        assert flags('') == {pk['old'], pk['mid'], pk['exp']}
        assert flags('?expired=0') == {pk['old'], pk['mid']}
        assert flags('?finalized=false&expired=0&new=1') == {pk['new']}
        assert flags('?archived=true&finalized=0&expired=0') == {pk['arc']}
        assert flags('?expired=1&finalized=1&new=0&archived=1') == {
            pk['old'], pk['mid'], pk['exp'], pk['arc']}
        is_error(srv.get(legacy + '?new=maybe', key=okey), 400)
        # Who sees the portal sees its packages; others get 404.
        assert srv.get(base, key=mkey).status == 200
        hidden = create(name='hidden inbox', access_level='private', has_access_code=True,
                        access_code='x', access_list=[a['admin']['membership_id']])
        put_package(srv, ta, hidden['id'], 'secret')
        is_error(srv.get('/v1.1/portals/%s/packages' % hidden['id'], key=mkey), 404)
        is_error(srv.get('/v1/portals/%s/packages' % hidden['id'], key=mkey), 404)
        r = srv.get('/v1.1/portals/%s/packages' % hidden['id'], key=akey)
        assert r.status == 200 and r.json['metadata']['total'] == 1, r
        is_error(srv.get(base, key=b['owner']['api_key']), 404)
        is_error(srv.get(base, key=gkey), 403)
        is_error(srv.get('/v1.1/portals/%s/packages' % NOWHERE, key=okey), 404)
        st['pk'], st['inbox'], st['t0'] = pk, pid, t0
    t.test("a portal's packages: v1.1 (page, limit, sort, tags, sender, created_at_*) and legacy",
           portal_packages)

    def archive():
        pk, pid, t0 = st['pk'], st['inbox'], st['t0']
        day = 86400000

        def iso(ms):
            return time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime(ms / 1000))
        window = {'expiry_start': iso(t0), 'expiry_end': iso(t0 + 10 * day)}
        r = srv.put('/v1/portals/%s/packages/archive' % pid, window, key=okey)
        assert r.status == 200 and r.json == {'total_updated': 1}, r
        r = srv.get('/v1/portals/%s/packages?archived=1&finalized=0&expired=0' % pid, key=okey)
        assert {x['id'] for x in r.json} == {pk['exp'], pk['arc']}, r.json
        r = srv.post('/v1/portals/%s/packages/unarchive' % pid, window, key=okey)
        assert r.status == 200 and r.json == {'total_updated': 2}, r
        r = srv.post('/v1/portals/%s/packages/%s/archive' % (pid, pk['arc']), window, key=okey)
        assert r.status == 200 and r.json == {'total_updated': 1}, r
        r = srv.put('/v1/portals/%s/packages/%s/unarchive' % (pid, pk['exp']), window, key=okey)
        assert r.status == 200 and r.json == {'total_updated': 0}, 'not archived: %r' % r
        r = srv.put('/v1/portals/%s/packages/%s/archive' % (pid, pk['exp']),
                    {'expiry_start': iso(t0), 'expiry_end': iso(t0 + day)}, key=okey)
        assert r.status == 200 and r.json == {'total_updated': 0}, 'outside the window: %r' % r
        r = srv.put('/v1/portals/%s/packages/archive' % pid, {}, key=okey)
        assert r.status == 200 and r.json == {'total_updated': 0}, 'the zero window: %r' % r
        is_error(srv.put('/v1/portals/%s/packages/%s/archive' % (pid, NOWHERE), window,
                         key=okey), 404)
        is_error(srv.put('/v1/portals/%s/packages/archive' % pid, {'expiry_start': 'x'},
                         key=okey), 400)
        is_error(srv.put('/v1/portals/%s/packages/archive' % NOWHERE, window, key=okey), 404)
        is_error(srv.put('/v1/portals/%s/packages/archive' % pid, window,
                         key=b['owner']['api_key']), 404)
        # The team's inbox archive reaches portal packages too.
        r = srv.put('/v1/teams/%s/inbox/archive' % ta, window, key=okey)
        assert r.status == 200 and r.json['total_updated'] >= 1, r
    t.test("a portal's packages: archive and unarchive by expiry window, by both routes",
           archive)

    def secrets_not_logged():
        out, err = srv.read_logs()
        for secret in ('open sesame', 'hunter22hunter', 'DLPASSWORD', 's3cret-pw'):
            assert secret not in out + err, '%r is in the server log' % secret
    t.test('no access code or download password reaches the log', secrets_not_logged)


if __name__ == '__main__':
    main_guard(Tap(), main)
