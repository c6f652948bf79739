#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""POST /v1/auth: the token and what it carries, identical answers for a wrong password and an
unknown address, tampered tokens, and the limit on failed sign-ins (per address, per client)."""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PASSWORD, Server, Tap, is_error, is_iso, main_guard, make_team, unique, with_server  # noqa: E402

# Failed sign-ins one client may make in the window before every sign-in from it is refused.
CLIENT_LIMIT = 50
EMAIL_LIMIT = 10


def main(t):
    with_server(t, body)
    client_limit(t)


def b64json(part):
    return json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b'=').decode()


def body(t, srv):
    a = make_team(srv, 'authA', roles=('owner', 'member'))
    b = make_team(srv, 'authB', roles=('owner',))
    c = make_team(srv, 'authC', roles=('owner',))
    # the member of A also joins B as admin
    joined = srv.add_member(b['team_id'], a['member']['email'], 'admin')
    failures = [0]  # failed sign-ins from this client so far (CLIENT_LIMIT)
    st = {}

    def fail_login(email, password='wrong password!'):
        failures[0] += 1
        return srv.post('/v1/auth', {'email': email, 'password': password})

    def login_ok():
        r = srv.post('/v1/auth', {'email': a['member']['email'], 'password': PASSWORD})
        assert r.status == 200, r
        assert r.header('content-type').startswith('application/json'), r.headers
        j = r.json
        assert set(j) >= {'token', 'user', 'teams'}, j
        u = j['user']
        assert set(u) >= {'id', 'email', 'name', 'created_at', 'updated_at'}, u
        assert u['id'] == a['member']['user_id'] and u['email'] == a['member']['email'], u
        assert isinstance(u['name'], str) and is_iso(u['created_at']) and is_iso(u['updated_at']), u
        assert 'password' not in json.dumps(j).lower().replace('"password"', ''), j
        assert 'password_hash' not in u, u
        teams = {x['id']: x for x in j['teams']}
        assert set(teams) == {a['team_id'], b['team_id']}, j['teams']
        assert teams[a['team_id']] == {'id': a['team_id'], 'name': a['name'], 'role': 'member',
                                      'membership_id': a['member']['membership_id']}, teams
        assert teams[b['team_id']]['role'] == 'admin', teams
        assert teams[b['team_id']]['membership_id'] == joined['membership_id'], teams
        parts = j['token'].split('.')
        assert len(parts) == 3, j['token']
        assert b64json(parts[0])['alg'] == 'HS256', parts[0]
        claims = b64json(parts[1])
        assert claims['sub'] == u['id'] and claims['exp'] > claims['iat'], claims
        st['token'] = j['token']
    if not t.test('POST /v1/auth: 200 {token, user{id,email,name,created_at,updated_at}, teams[{id,name,role,membership_id}]}',
                  login_ok):
        return
    token = st['token']

    def token_works():
        for team, want in ((a, 200), (b, 200)):
            r = srv.get('/v1/teams/%s/members' % team['team_id'], token=token)
            assert r.status == want, r
        r = srv.get('/v1/teams/%s/api_keys' % b['team_id'], token=token)  # admin in B
        assert r.status == 200, r
        is_error(srv.get('/v1/teams/%s/api_keys' % a['team_id'], token=token), 403, 2005)  # member in A
        is_error(srv.get('/v1/teams/%s/members' % c['team_id'], token=token), 404, 1007)  # not a member
    t.test('the token works as X-User-Token in every team of the user, with the role of each; 404 elsewhere',
           token_works)

    def email_case():
        r = srv.post('/v1/auth', {'email': a['owner']['email'].upper(), 'password': PASSWORD})
        assert r.status == 200 and r.json['user']['email'] == a['owner']['email'], r
    t.test('sign-in takes the e-mail in any case', email_case)

    def same_answer():
        r1 = fail_login(a['owner']['email'])
        r2 = fail_login('nobody-%s@example.com' % unique())
        r3 = fail_login('nobody@nowhere.example', PASSWORD)
        r4 = fail_login(a['owner']['email'], PASSWORD.upper())
        for r in (r1, r2, r3, r4):
            is_error(r, 401, 2003)
            assert 'token' not in r.json and r.header('retry-after') is None, r
        assert r1.json == r2.json == r3.json == r4.json, (r1.json, r2.json)
        assert r1.raw == r2.raw, (r1.raw, r2.raw)
        assert set(r1.headers) == set(r2.headers), (r1.headers, r2.headers)
    t.test('wrong password and unknown e-mail: 401 with identical bodies (no hint)', same_answer)

    def tampered():
        p = '/v1/teams/%s/members' % a['team_id']
        h, pl, sig = token.split('.')
        claims = b64json(pl)
        forged = [
            '.'.join((h, b64(dict(claims, sub=a['owner']['user_id'])), sig)),   # other user, old signature
            '.'.join((h, b64(dict(claims, exp=claims['exp'] + 3600)), sig)),
            '.'.join((b64({'alg': 'none', 'typ': 'JWT'}), pl, '')),
            '.'.join((b64({'alg': 'none', 'typ': 'JWT'}), pl, sig)),
            '.'.join((h, pl, sig[:-2] + ('AA' if sig[-2:] != 'AA' else 'BB'))),
            '.'.join((h, pl)),
            token + '.x',
            token[:-1],
            ' ' + token + 'x',
            h + '.' + pl + '.' + base64.urlsafe_b64encode(b'\x00' * 32).rstrip(b'=').decode(),
        ]
        for f in forged:
            is_error(srv.get(p, token=f), 401, 2002)
        # an API key in the token header is not a token
        is_error(srv.get(p, token=a['owner']['api_key']), 401, 2002)
        # a token in the key header is not a key
        is_error(srv.get(p, key=token), 401, 2002)
    t.test('tampered, forged (alg none, other sub) or truncated tokens: 401', tampered)

    def signed_tokens():
        # Tokens signed with the server's own secret: only the claims decide.
        secret = srv.signing_secret()

        def sign(header, claims):
            """An HS256 JWT of @header and @claims (a dict, or raw JSON text)."""
            h = b64(header)
            if isinstance(claims, str):
                p = base64.urlsafe_b64encode(claims.encode()).rstrip(b'=').decode()
            else:
                p = b64(claims)
            mac = hmac.new(secret, ('%s.%s' % (h, p)).encode(), hashlib.sha256).digest()
            return '%s.%s.%s' % (h, p, base64.urlsafe_b64encode(mac).rstrip(b'=').decode())

        hs256 = {'alg': 'HS256', 'typ': 'JWT'}
        uid = a['member']['user_id']
        now = int(time.time())
        good = {'typ': 'user', 'sub': uid, 'iat': now, 'exp': now + 600}
        p = '/v1/teams/%s/members' % a['team_id']
        r = srv.get(p, token=sign(hs256, good))
        assert r.status == 200, ('a well-formed token signed with the secret must work', r)
        bad = [
            (hs256, dict(good, exp=now - 5)),
            (hs256, dict(good, exp=now - 24 * 3600)),
            (hs256, {k: v for k, v in good.items() if k != 'exp'}),
            (hs256, dict(good, exp=str(now + 600))),
            (hs256, dict(good, exp=now + 600.5)),
            (hs256, dict(good, typ='key')),
            (hs256, {k: v for k, v in good.items() if k != 'typ'}),
            (hs256, dict(good, sub='01ARZ3NDEKTSV4RRFFQ69G5FAV')),
            (hs256, dict(good, sub='not-an-id')),
            (hs256, dict(good, sub=uid.lower())),
            (hs256, dict(good, sub=None)),
            ({'alg': 'none', 'typ': 'JWT'}, good),
            ({'alg': 'HS512', 'typ': 'JWT'}, good),
            ({'typ': 'JWT'}, good),
            (hs256, '{"typ":"user","sub":"%s","sub":"%s","exp":%d}' % (
                '01ARZ3NDEKTSV4RRFFQ69G5FAV', uid, now + 600)),
            (hs256, '["user"]'),
            (hs256, 'not json'),
        ]
        for header, claims in bad:
            is_error(srv.get(p, token=sign(header, claims)), 401, 2002)
    t.test('tokens signed with the server secret are still checked: expiry, typ, sub, alg, duplicate claims',
           signed_tokens)

    def rate_limit():
        email = 'locked-%s@example.com' % unique()
        locked = srv.add_member(a['team_id'], email, 'admin')
        # a success clears the count of its address
        for i in range(EMAIL_LIMIT - 1):
            is_error(fail_login(email), 401, 2003)
        assert srv.post('/v1/auth', {'email': email, 'password': PASSWORD}).status == 200
        for i in range(EMAIL_LIMIT):
            r = fail_login(email)
            is_error(r, 401, 2003)
        # the 11th attempt is refused, even with the right password
        for pw in (PASSWORD, 'wrong again!'):
            r = srv.post('/v1/auth', {'email': email, 'password': pw})
            j = is_error(r, 429, 2004)
            assert j['errors'][0]['type'] == 'rate_limited', j
            assert 'token' not in r.json, r
            ra = r.header('retry-after')
            assert ra is not None and ra.isdigit() and 1 <= int(ra) <= 15 * 60, r.headers
        r = srv.post('/v1/auth', {'email': email.upper(), 'password': PASSWORD})
        is_error(r, 429, 2004)
        # other addresses are not affected
        assert srv.post('/v1/auth', {'email': b['owner']['email'], 'password': PASSWORD}).status == 200
        # existing keys of the locked address still work
        assert srv.get('/v1/teams/%s/members' % a['team_id'], key=locked['api_key']).status == 200
    t.test('10 failed sign-ins for one address: then 429 rate_limited with Retry-After, even with the right password',
           rate_limit)

    def unknown_address_limited():
        email = 'ghost-%s@example.com' % unique()
        for i in range(EMAIL_LIMIT):
            is_error(fail_login(email), 401, 2003)
        r = srv.post('/v1/auth', {'email': email, 'password': 'whatever!'})
        is_error(r, 429, 2004)
        assert r.header('retry-after'), r.headers
    t.test('an unknown address is limited the same way (no hint that it does not exist)',
           unknown_address_limited)

    def concurrent_failures():
        email = c['owner']['email']
        results = []

        def go():
            failures[0] += 1
            results.append(srv.post('/v1/auth', {'email': email, 'password': 'wrong password!'}).status)
        threads = [threading.Thread(target=go) for _ in range(EMAIL_LIMIT + 4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert set(results) <= {401, 429}, results
        assert results.count(401) >= EMAIL_LIMIT - 2, results  # a few may race past the peek, none 5xx
        r = srv.post('/v1/auth', {'email': email, 'password': PASSWORD})
        is_error(r, 429, 2004)
    t.test('14 concurrent wrong sign-ins for one address: all 401 or 429, and the address is then locked',
           concurrent_failures)

    assert failures[0] < CLIENT_LIMIT, failures


def client_limit(t):
    """Failed sign-ins are also counted per client: past 50, every address is refused."""
    def run():
        with Server() as srv:
            srv.start()
            a = make_team(srv, 'clientlimit', roles=('owner',))
            for i in range(CLIENT_LIMIT):
                r = srv.post('/v1/auth', {'email': 'spray-%d@example.com' % i, 'password': 'guess guess'})
                is_error(r, 401, 2003)
            r = srv.post('/v1/auth', {'email': a['owner']['email'], 'password': PASSWORD})
            is_error(r, 429, 2004)
            assert r.header('retry-after'), r.headers
            # a restart does not reset the count: it is kept in the database
            srv.stop()
            srv.start()
            is_error(srv.post('/v1/auth', {'email': a['owner']['email'], 'password': PASSWORD}), 429, 2004)
            srv.stop()
    t.test('50 failed sign-ins from one client for different addresses: then 429 for all, also after a restart',
           run)


if __name__ == '__main__':
    main_guard(Tap(), main)
