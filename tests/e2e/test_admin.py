#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""`consign admin create-team` and `add-member`: the JSON they print, their exit codes, existing
users joining as themselves, and running them while a server serves the same data directory
(also several at once, next to API traffic)."""
import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, MIB, PASSWORD, ROLES, SCALE, Client, Tap, admin, base_env,  # noqa: E402
                     is_error, is_id, main_guard, new_package, replay, unique, with_server)


def main(t):
    with_server(t, body)


def body(t, srv):
    d = srv.data
    st = {}

    def members(team_id, key):
        r = srv.get('/v1/teams/%s/members' % team_id, key=key)
        assert r.status == 200, r
        return r.json

    def create_team():
        email = 'founder-%s@example.com' % unique()
        rc, j, err = admin('create-team', *srv.store_args, '--name', 'Acme Films', '--email', email,
                           '--password', PASSWORD)
        assert rc == 0, (rc, err)
        assert set(j) == {'team_id', 'user_id', 'membership_id', 'api_key'}, j
        for k in ('team_id', 'user_id', 'membership_id'):
            assert is_id(j[k]), j
        assert len({j['team_id'], j['user_id'], j['membership_id']}) == 3, j
        assert len(j['api_key']) == 69 and is_id(j['api_key'][:26]), j
        ms = members(j['team_id'], j['api_key'])
        assert len(ms) == 1, ms
        m = ms[0]
        assert (m['id'], m['user_id'], m['team_id'], m['email'], m['role']) == (
            j['membership_id'], j['user_id'], j['team_id'], email, 'owner'), (m, j)
        r = srv.post('/v1/auth', {'email': email, 'password': PASSWORD})
        assert r.status == 200, r
        assert r.json['user']['id'] == j['user_id'], r.json
        assert [(x['id'], x['name'], x['role'], x['membership_id']) for x in r.json['teams']] == [
            (j['team_id'], 'Acme Films', 'owner', j['membership_id'])], r.json
        # the key made with the membership is listed under the team's keys
        r = srv.get('/v1/teams/%s/api_keys' % j['team_id'], key=j['api_key'])
        assert r.status == 200 and [k['id'] for k in r.json] == [j['api_key'][:26]], r
        assert r.json[0]['membership_id'] == j['membership_id'] and r.json[0]['state'] == 'active', r.json
        st['team'] = j
        st['owner_email'] = email
    if not t.test('create-team (server running): prints {team_id, user_id, membership_id, api_key}; '
                  'the key, the owner and the login work at once', create_team):
        return
    team = st['team']['team_id']
    okey = st['team']['api_key']

    def add_members():
        st['members'] = {}
        for role in ROLES:
            email = '%s-%s@example.com' % (role, unique())
            rc, j, err = admin('add-member', *srv.store_args, '--team', team, '--email', email,
                               '--password', PASSWORD, '--role', role)
            assert rc == 0, (role, rc, err)
            assert set(j) == {'user_id', 'membership_id', 'api_key'}, j
            assert is_id(j['user_id']) and is_id(j['membership_id']) and len(j['api_key']) == 69, j
            st['members'][role] = dict(j, email=email)
        ms = {m['id']: m for m in members(team, okey)}
        for role, j in st['members'].items():
            m = ms[j['membership_id']]
            assert (m['role'], m['user_id'], m['email']) == (role, j['user_id'], j['email']), (m, j)
            # each member's own key acts in the team with that member's role
            r = srv.get('/v1/teams/%s/members' % team, key=j['api_key'])
            if role == 'guest':
                is_error(r, 403, 2005)
            else:
                assert r.status == 200, (role, r)
    t.test('add-member with each role: prints {user_id, membership_id, api_key}; role shows in the API',
           add_members)

    def existing_user_joins():
        other = admin('create-team', *srv.store_args, '--name', 'Other Team', '--email',
                      'other-owner-%s@example.com' % unique(), '--password', PASSWORD)[1]
        # the first team's owner joins the other team with another password: same user, old password kept
        rc, j, err = admin('add-member', *srv.store_args, '--team', other['team_id'], '--email',
                           st['owner_email'].upper(), '--password', 'a-different-password', '--role', 'member')
        assert rc == 0, (rc, err)
        assert j['user_id'] == st['team']['user_id'], (j, st['team'])
        assert j['membership_id'] != st['team']['membership_id'], j
        r = srv.post('/v1/auth', {'email': st['owner_email'], 'password': PASSWORD})
        assert r.status == 200, ('the existing password must be kept', r)
        roles = {x['id']: x['role'] for x in r.json['teams']}
        assert roles == {team: 'owner', other['team_id']: 'member'}, roles
        is_error(srv.post('/v1/auth', {'email': st['owner_email'], 'password': 'a-different-password'}), 401)
        # create-team with an existing e-mail: the same user owns the new team
        rc, j2, err = admin('create-team', *srv.store_args, '--name', 'Third Team', '--email',
                            st['owner_email'], '--password', 'yet-another-password')
        assert rc == 0, (rc, err)
        assert j2['user_id'] == st['team']['user_id'], j2
        st['other'] = other
    t.test('an existing e-mail (any case) joins as the same user_id and keeps its password', existing_user_joins)

    def refusals():
        m = st['members']['member']
        # already a member (also spelled in another case)
        for email in (m['email'], m['email'].upper()):
            rc, j, err = admin('add-member', *srv.store_args, '--team', team, '--email', email,
                               '--password', PASSWORD, '--role', 'admin')
            assert rc == 1 and j is None, (rc, j, err)
            assert 'already' in err, err
        ms = {x['id']: x for x in members(team, okey)}
        assert ms[m['membership_id']]['role'] == 'member', 'a refused add-member changed the role'
        for tid in ('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'garbage', team.lower(), ''):
            rc, j, err = admin('add-member', *srv.store_args, '--team', tid, '--email',
                               'nobody-%s@example.com' % unique(), '--password', PASSWORD, '--role', 'member')
            assert rc == 1, (tid, rc, err)
        for pw in ('1234567', '', 'x' * 1025):
            rc, _, err = admin('add-member', *srv.store_args, '--team', team, '--email',
                               'shortpw-%s@example.com' % unique(), '--password', pw, '--role', 'member')
            assert rc == 1, (len(pw), rc, err)
            rc, _, err = admin('create-team', *srv.store_args, '--name', 'n', '--email',
                               'shortpw-%s@example.com' % unique(), '--password', pw)
            assert rc == 1, (len(pw), rc, err)
        rc, j, err = admin('add-member', *srv.store_args, '--team', team, '--email',
                           'eight-%s@example.com' % unique(), '--password', '12345678', '--role', 'guest')
        assert rc == 0, ('8 characters are enough', rc, err)
        for email in ('not-an-email', 'a@b', '@example.com', 'a b@example.com', 'x' * 300 + '@example.com'):
            rc, _, err = admin('add-member', *srv.store_args, '--team', team, '--email', email,
                               '--password', PASSWORD, '--role', 'member')
            assert rc == 1, (email, rc, err)
        for name in ('', 'n' * 256):
            rc, _, err = admin('create-team', *srv.store_args, '--name', name, '--email',
                               'named-%s@example.com' % unique(), '--password', PASSWORD)
            assert rc == 1, (len(name), rc, err)
        for role in ('boss', 'Owner', 'integration-manager', ''):
            rc, _, err = admin('add-member', *srv.store_args, '--team', team, '--email',
                               'role-%s@example.com' % unique(), '--password', PASSWORD, '--role', role)
            assert rc == 2 and 'usage' in err, (role, rc, err)
        # nothing of the refused attempts was created
        emails = {x['email'] for x in members(team, okey)}
        assert not [e for e in emails if e.startswith(('nobody-', 'shortpw-', 'role-'))], emails
    t.test('refusals: already a member, unknown team, short password, bad e-mail or name exit 1; bad role exits 2',
           refusals)

    def env_data():
        # the store a server uses, from the environment: CONSIGN_DATA, or CONSIGN_DATABASE
        env = {'CONSIGN_DATABASE': srv.store_args[1]} if SCALE else {'CONSIGN_DATA': d}
        p = subprocess.run([BIN, 'admin', 'add-member', '--team', team, '--email',
                            'envdata-%s@example.com' % unique(), '--password', PASSWORD, '--role', 'member'],
                           env=base_env(env), capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        j = json.loads(p.stdout)
        assert j['membership_id'] in {x['id'] for x in members(team, okey)}, j
    t.test('admin takes the store from CONSIGN_DATA (or CONSIGN_DATABASE) when no option names it',
           env_data)

    def concurrent():
        errors = []
        made = []
        lock = threading.Lock()
        stop = threading.Event()
        api_counts = [0]

        def api_traffic(n):
            try:
                i = 0
                while not stop.is_set():
                    i += 1
                    if i % 3 == 0:
                        r = srv.post('/v1/teams/%s/api_keys' % team, {'name': 'load-%d-%d' % (n, i)}, key=okey)
                        want = 201
                    elif i % 3 == 1:
                        r = srv.post('/v1/teams/%s/spaces' % team, {'name': 'load-%d-%d' % (n, i)}, key=okey)
                        want = 201
                    else:
                        r = srv.get('/v1/teams/%s/members' % team, key=okey)
                        want = 200
                    with lock:
                        api_counts[0] += 1
                    if r.status != want:
                        errors.append(('api', r))
            except Exception as e:  # noqa: BLE001
                errors.append(('api', repr(e)))

        def admin_job(n):
            try:
                email = 'conc-%d-%s@example.com' % (n, unique())
                if n % 4 == 3:
                    rc, j, err = admin('create-team', *srv.store_args, '--name', 'Concurrent %d' % n,
                                       '--email', email, '--password', PASSWORD)
                else:
                    rc, j, err = admin('add-member', *srv.store_args, '--team', team, '--email', email,
                                       '--password', PASSWORD, '--role', ROLES[n % len(ROLES)])
                if rc != 0:
                    errors.append(('admin', n, rc, err))
                    return
                with lock:
                    made.append((n, email, j))
            except Exception as e:  # noqa: BLE001
                errors.append(('admin', n, repr(e)))

        api = [threading.Thread(target=api_traffic, args=(n,)) for n in range(3)]
        jobs = [threading.Thread(target=admin_job, args=(n,)) for n in range(10)]
        for th in api:
            th.start()
        for th in jobs:
            th.start()
        for th in jobs:
            th.join()
        stop.set()
        for th in api:
            th.join()
        assert not errors, errors[:4]
        assert api_counts[0] >= 10, api_counts
        assert len(made) == 10, made
        ms = {x['id']: x for x in members(team, okey)}
        for n, email, j in made:
            if 'team_id' in j:
                r = srv.get('/v1/teams/%s/members' % j['team_id'], key=j['api_key'])
                assert r.status == 200 and r.json[0]['email'] == email, r
            else:
                assert ms[j['membership_id']]['email'] == email, (j, ms.get(j['membership_id']))
                assert ms[j['membership_id']]['role'] == ROLES[n % len(ROLES)]
                r = srv.get('/v1/teams/%s/members' % team, key=j['api_key'])
                assert r.status in (200, 403), r
                r = srv.post('/v1/auth', {'email': email, 'password': PASSWORD})
                assert r.status == 200, r
    t.test('10 admin commands at once, next to API traffic on the same data dir: all succeed, no 5xx',
           concurrent)

    def log_clean():
        _, err = srv.read_logs()
        bad = [l for l in err.splitlines() if ' 500 ' in l or ' 503 ' in l or 'ERROR' in l]
        assert not bad, bad[:5]
    t.test('no 5xx or ERROR in the server log', log_clean)

    def usage():
        # a team of its own: a finalized package of 6 MiB + 10 bytes, one with a part of 5 MiB
        # received but not finalized, and one deleted
        j = admin('create-team', *srv.store_args, '--name', 'Usage', '--email',
                  'usage-%s@example.com' % unique(), '--password', PASSWORD)[1]
        key, tid = j['api_key'], j['team_id']

        def upload(name, sizes, finalize):
            pkg = new_package(srv, key, tid, name)
            c = Client(srv, pkg['access_token'])
            created, upload_id, bps = c.begin(pkg['id'], name + '.bin', len(sizes))
            extras = []
            for k, size in enumerate(sizes):
                r = replay(srv.port, bps[k], os.urandom(size))
                assert r.status == 200, r
                extras.append({'partNumber': k + 1, 'etag': r.header('etag')})
            if finalize:
                r = c.finalize_file(pkg['id'], created['file']['id'], upload_id, extras,
                                    size=sum(sizes))
                assert r.status == 200, r
                c.finalize(pkg['id'])
            return pkg
        upload('done', [5 * MIB, MIB + 10], True)
        upload('half', [5 * MIB], False)
        gone = upload('gone', [10], True)
        r = srv.delete('/v1/packages/%s' % gone['id'], headers={'X-Package-Token': gone['access_token']})
        assert r.status == 204, r
        rc, doc, err = admin('usage', *srv.store_args)
        assert rc == 0, err
        mine = [x for x in doc['teams'] if x['team_id'] == tid]
        assert len(mine) == 1 and mine[0]['name'] == 'Usage', doc
        want = {'finalized': {'packages': 1, 'bytes': 6 * MIB + 10},
                'new': {'packages': 1, 'bytes': 0 if SCALE else 5 * MIB},
                'expired': {'packages': 1, 'bytes': 0}}
        assert mine[0]['states'] == want, mine[0]
        assert mine[0]['bytes'] == sum(v['bytes'] for v in want.values()), mine[0]
        assert doc['bytes'] == sum(x['bytes'] for x in doc['teams']), doc
    t.test('admin usage: packages and stored bytes per team and state (a finalized file, the '
           'parts of an unfinished one, nothing for an expired package)', usage)


if __name__ == '__main__':
    main_guard(Tap(), main)
