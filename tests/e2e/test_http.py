#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The HTTP edge of the real server: error format, routing (404, 405 + Allow), CORS, request
ids, size limits (body, headers, URI) and hostile input. Nothing may give a 500 or crash the
server; afterwards it must still answer /healthz and stop cleanly with no sanitizer report."""
import os
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HOST, Response, Tap, common_headers, httpclient, is_error, is_id,  # noqa: E402
                     main_guard, make_team, raw_exchange, raw_response, with_server)

BODY_MAX = 1 << 20


def main(t):
    with_server(t, body)


def body(t, srv):
    team = make_team(srv, 'http', roles=('owner',))
    tid = team['team_id']
    key = team['owner']['api_key']
    keys_path = '/v1/teams/%s/api_keys' % tid
    spaces_path = '/v1/teams/%s/spaces' % tid

    def healthy():
        r = srv.get('/healthz')
        assert r.status == 200 and r.json and r.json.get('status') == 'ok', r

    # ---- basics ----

    def health():
        r = srv.get('/healthz')
        assert r.status == 200, r
        assert r.header('content-type').startswith('application/json'), r.headers
        assert r.json['status'] == 'ok', r.json
        assert isinstance(r.json.get('version'), str) and r.json['version'], r.json
        common_headers(r)
        assert is_id(r.header('x-request-id')), r.headers
    t.test('GET /healthz: 200 {"status":"ok"} JSON with CORS and X-Request-Id', health)

    def head():
        r = srv.req('HEAD', '/healthz')
        assert r.status == 200 and r.raw == b'', r
    t.test('HEAD /healthz: 200 without a body', head)

    def request_ids():
        r = srv.get('/healthz', headers={'X-Request-Id': 'e2e-req.42_X'})
        assert r.header('x-request-id') == 'e2e-req.42_X', r.headers
        r = srv.get('/no/such/path', headers={'X-Request-Id': 'abc-123'})
        is_error(r, 404)
        assert r.header('x-request-id') == 'abc-123', r.headers
        r = srv.get('/healthz', headers={'X-Request-Id': 'a' * 40})
        assert r.header('x-request-id') == 'a' * 40, r.headers
        for bad in ('has space', 'a' * 41, 'semi;colon', 'slash/x', 'quote"x', 'x<y>'):
            r = srv.get('/healthz', headers={'X-Request-Id': bad})
            got = r.header('x-request-id')
            assert got and got != bad and is_id(got), (bad, got)
        a = srv.get('/healthz').header('x-request-id')
        b = srv.get('/healthz').header('x-request-id')
        assert a != b, (a, b)
    t.test('X-Request-Id: a sane one is echoed, an odd one replaced by a fresh id', request_ids)

    def keep_alive():
        req = ('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
               'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').encode()
        s = socket.create_connection((HOST, srv.port), timeout=10)
        s.sendall(req)
        data = b''
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
        s.close()
        assert data.count(b'HTTP/1.1 200') == 2, data
    t.test('two pipelined requests on one connection both answered', keep_alive)

    def http10():
        r = raw_response(raw_exchange(srv.port, b'GET /healthz HTTP/1.0\r\n\r\n'))
        assert r.status == 200 and r.json['status'] == 'ok', r
        common_headers(r)
        many = '&'.join('a%d=%d' % (i, i) for i in range(300))
        r = raw_response(raw_exchange(srv.port, ('GET /v1.1/teams/%s/spaces?%s HTTP/1.1\r\nHost: x\r\n'
                                                 'X-API-KEY: %s\r\n\r\n' % (tid, many, key)).encode()))
        assert r.status == 200, r
    t.test('HTTP/1.0 requests and 300 query arguments are served', http10)

    # ---- routing ----

    def not_found():
        for path in ('/', '/nope', '/v1', '/v1/teams', '/v1/auth/x', '/healthz/x', '/v2/auth',
                     '/v1/teams/%s' % tid, '/v1/teams/%s/members/x' % tid, '/v1//auth',
                     '/v1/api_keys', '/v1.1/teams/%s/members' % tid, '/HEALTHZ'):
            r = srv.get(path, key=key)
            is_error(r, 404, 1007)
            assert r.json['errors'][0]['type'] == 'not_found', r.json
        r = srv.post('/v1/nothing', {'a': 1})
        is_error(r, 404, 1007)
    t.test('unknown paths: 404 JSON error (code 1007, type not_found)', not_found)

    def method_not_allowed():
        cases = [
            ('GET', '/v1/auth', {'POST'}),
            ('PUT', '/v1/auth', {'POST'}),
            ('DELETE', '/healthz', {'GET', 'HEAD'}),
            ('POST', '/healthz', {'GET'}),
            ('POST', '/v1/api_keys/01ARZ3NDEKTSV4RRFFQ69G5FAV', {'GET', 'PUT', 'DELETE'}),
            ('PATCH', keys_path, {'GET', 'POST'}),
            ('DELETE', '/v1/teams/%s/members' % tid, {'GET'}),
            ('PUT', '/v1.1/teams/%s/spaces' % tid, {'GET'}),
            ('GET', spaces_path, {'POST'}),
        ]
        for method, path, want in cases:
            r = srv.req(method, path, key=key, raw=b'{}' if method in ('PUT', 'POST', 'PATCH') else None)
            is_error(r, 405, 1008)
            allow = {m.strip() for m in (r.header('allow') or '').split(',') if m.strip()}
            assert want <= allow, (method, path, allow)
            assert method not in allow, (method, path, allow)
    t.test('known path, wrong method: 405 JSON with an Allow header listing the methods',
           method_not_allowed)

    def unknown_method():
        # RFC 9110: 405 MUST carry Allow; an unrecognised method should get 501.
        for path in ('/healthz', '/v1/auth'):
            r = srv.req('BREW', path)
            assert r.status in (405, 501), r
            is_error(r, r.status)
            if r.status == 405:
                assert r.header('allow'), 'BREW %s: 405 without an Allow header: %r' % (path, r.headers)
    t.test('unknown method (BREW): 501, or 405 with an Allow header (RFC 9110)', unknown_method)

    def preflight():
        for path in ('/v1/teams/%s/members' % tid, '/v1/auth', '/v1/api_keys/01ARZ3NDEKTSV4RRFFQ69G5FAV',
                     '/healthz', '/v1.1/teams/%s/spaces' % tid):
            r = srv.req('OPTIONS', path, headers={'Origin': 'https://app.example.com',
                                                  'Access-Control-Request-Method': 'POST',
                                                  'Access-Control-Request-Headers': 'x-api-key'})
            assert r.status == 204, (path, r)
            assert r.raw == b'', r
            assert r.header('access-control-allow-origin') == '*', r.headers
            methods = {m.strip() for m in r.header('access-control-allow-methods').split(',')}
            assert {'GET', 'POST', 'PUT', 'DELETE'} <= methods, methods
            allowed = {h.strip().lower() for h in r.header('access-control-allow-headers').split(',')}
            assert {'x-api-key', 'x-user-token', 'content-type'} <= allowed, allowed
            assert r.header('x-request-id'), r.headers
        is_error(srv.req('OPTIONS', '/no/such/thing'), 404)
    t.test('OPTIONS preflight: 204 with Access-Control-Allow-Origin/Methods/Headers; unknown path 404',
           preflight)

    # ---- credentials ----

    def credentials():
        p = '/v1/teams/%s/members' % tid
        j = is_error(srv.get(p), 401, 2001)
        assert j['errors'][0]['type'] == 'auth_required', j
        for bad in ('garbage', '', 'x' * 69, key[:-1] + ('A' if key[-1] != 'A' else 'B'), key + 'x',
                    '01ARZ3NDEKTSV4RRFFQ69G5FAV' + 'A' * 43, key.lower()):
            is_error(srv.get(p, key=bad), 401, 2002)
        for bad in ('garbage', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', '.' * 3, 'x' * 5000):
            is_error(srv.get(p, token=bad), 401, 2002)
        is_error(srv.post(keys_path, {'name': 'x'}), 401, 2001)
        is_error(srv.get('/v1/api_keys/01ARZ3NDEKTSV4RRFFQ69G5FAV'), 401, 2001)
        # credentials are checked before the path: no hint of what exists
        is_error(srv.get('/v1/teams/garbage/members'), 401, 2001)
        is_error(srv.get('/v1/teams/garbage/members', key='garbage'), 401, 2002)
        # a good key next to a bad token: the key wins
        r = srv.get(p, key=key, token='garbage')
        assert r.status == 200, r
    t.test('no credentials: 401 auth_required (2001); bad key or token: 401 auth_invalid (2002)',
           credentials)

    def bad_ids():
        for tid_bad in ('garbage', tid.lower(), tid[:-1], tid + 'A', '8' + tid[1:], 'I' * 26,
                        'U' * 26, '01ARZ3NDEKTSV4RRFFQ69G5FAV', '%00' + tid[3:], '..', '%2e%2e',
                        tid[:10] + '%2F' + tid[13:], "'%20OR%201=1--" + 'A' * 12):
            for path in ('/v1/teams/%s/members', '/v1/teams/%s/api_keys', '/v1.1/teams/%s/spaces'):
                r = srv.get(path % tid_bad, key=key)
                assert r.status in (404, 400), (path % tid_bad, r)
                is_error(r, r.status)
            is_error(srv.post(spaces_path.replace(tid, tid_bad), {'name': 'x'}, key=key), 404)
        for kid in ('garbage', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'x' * 300, tid):
            is_error(srv.get('/v1/api_keys/%s' % kid, key=key), 404)
            is_error(srv.put('/v1/api_keys/%s' % kid, {'name': 'n'}, key=key), 404)
            is_error(srv.delete('/v1/api_keys/%s' % kid, key=key), 404)
        healthy()
    t.test('unknown or malformed ids in paths: 404, never 500', bad_ids)

    # ---- JSON bodies ----

    def post_keys(raw):
        return srv.post(keys_path, key=key, raw=raw, headers={'Content-Type': 'application/json'})

    def malformed_json():
        for raw in (b'', b'{', b'}', b'not json', b'{"name": }', b"{'name': 'x'}", b'{"name": "x",}',
                    b'[]', b'[{"name": "x"}]', b'"name"', b'42', b'null', b'true', b'{} x', b'{}{}',
                    b'{"name": NaN}', b'{"name": 1e999}', b'{"name": "\xff\xfe"}',
                    b'{"name": "\xc0\xaf"}', b'{"name": "\\ud800"}', b'\xef\xbb\xbf{}',
                    b'{"name": "unterminated}', b'{"a":' * 10, b'\x00\x00\x00\x00'):
            r = post_keys(raw)
            j = is_error(r, 400)
            assert j['errors'][0]['code'] in (1000, 1001), (raw, j)
        healthy()
    t.test('malformed or non-object JSON: 400 invalid_json (1001)', malformed_json)

    def duplicate_keys():
        j = is_error(post_keys(b'{"name": "a", "name": "b"}'), 400, 1001)
        assert 'dup' in j['message'].lower(), j
        is_error(post_keys(b'{"name": "a", "x": {"k": 1, "k": 2}}'), 400, 1001)
    t.test('duplicate keys in the body: 400 invalid_json', duplicate_keys)

    def nesting():
        ok = b'{"name": "deep-ok", "x": ' + b'[' * 31 + b']' * 31 + b'}'
        r = post_keys(ok)
        assert r.status == 201, ('32 levels must be accepted', r)
        for depth in (33, 100, 5000, 200000):
            raw = b'{"name": "deep", "x": ' + b'[' * (depth - 1) + b']' * (depth - 1) + b'}'
            if len(raw) > BODY_MAX:
                raw = b'[' * 100000
            is_error(post_keys(raw), 400, 1001)
        is_error(post_keys(b'{"x":' * 40 + b'1' + b'}' * 40), 400, 1001)
        is_error(post_keys(b'[' * 100000), 400, 1001)  # unbalanced too
        healthy()
    t.test('deeply nested JSON: 400 past 32 levels, no crash', nesting)

    def wrong_types():
        cases = [
            {'name': 1}, {'name': ['x']}, {'name': {'a': 'b'}}, {'name': True},
            {'description': 5}, {'state': 1}, {'state': 'enabled'}, {'state': 'ACTIVE'},
            {'state': ''}, {'expiry': 1893456000}, {'expiry': True}, {'expiry': ['2099-01-01']},
            {'name': 'a' * 256}, {'name': '\u00e9' * 256}, {'description': 'd' * 1001},
            {'name': 'tab\there'}, {'name': 'nl\nhere'}, {'name': 'nul\u0000here'},
            {'name': 'del\u007fhere'}, {'name': 'esc\u001b[31m'}, {'description': 'bell\u0007'},
            {'description': 'nul\u0000'},
        ]
        for b in cases:
            j = is_error(srv.post(keys_path, b, key=key), 400, 1002)
            assert j['errors'][0]['type'] == 'invalid_field', j
        healthy()
    t.test('wrong types, over-long strings, control characters: 400 invalid_field (1002)',
           wrong_types)

    def limits_accepted():
        r = srv.post(keys_path, {'name': 'n' * 255, 'description': 'line1\nline2\ttab\r\n' + 'd' * 900},
                     key=key)
        assert r.status == 201, r
        assert r.json['name'] == 'n' * 255, r.json
        assert r.json['description'].startswith('line1\nline2\t'), r.json
        r = srv.post(keys_path, {'name': '\u00e9\u6f22\U0001F600' * 85}, key=key)
        assert r.status == 201, ('255 multi-byte characters must fit', r)
        assert r.json['name'] == '\u00e9\u6f22\U0001F600' * 85
    t.test('limits are exact: 255-character names (also multi-byte) and multi-line descriptions accepted',
           limits_accepted)

    def bad_dates():
        for bad in ('2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2099-13-01T00:00:00Z',
                    '2099-00-10T00:00:00Z', '2099-01-32T00:00:00Z', '2099-01-01T24:00:00Z',
                    '2099-01-01T23:60:00Z', '2099-01-01T23:59:60Z', 'garbage', 'tomorrow',
                    '2099', '2099-1-1', '2099-01-01T', '2099-01-01T10', '2099-01-01T10:00:00+25:00',
                    '2099-01-01T10:00:00Zjunk', '0000-01-01T00:00:00Z', '99999-01-01T00:00:00Z',
                    '2099-01-01T10:00:00.Z', ' 2099-01-01T10:00:00Z', '2099-01-01T10:00:00Z ',
                    '2020-01-01T00:00:00Z', '1999-12-31T23:59:59.999Z'):
            j = is_error(srv.post(keys_path, {'name': 'd', 'expiry': bad}, key=key), 400, 1002)
            assert 'expiry' in j['message'], j
        r = srv.post(keys_path, {'name': 'leap', 'expiry': '2096-02-29T12:00:00+02:00'}, key=key)
        assert r.status == 201, r
        assert r.json['expiry'].startswith('2096-02-29T10:00:00'), r.json
    t.test('invalid or past ISO 8601 dates: 400 naming the field; valid leap day accepted',
           bad_dates)

    def login_input():
        for b in ({}, {'email': 'a@b.cd'}, {'password': 'xxxxxxxx'}, {'email': 5, 'password': 'x'},
                  {'email': 'a@b.cd', 'password': ['x']}, {'email': 'a' * 300 + '@b.cd', 'password': 'x'},
                  {'email': 'a@b.cd', 'password': 'p' * 1025}, {'email': 'a@b.cd\u0000', 'password': 'x'}):
            is_error(srv.post('/v1/auth', b), 400, 1002)
        is_error(srv.post('/v1/auth', raw=b'{"email":'), 400, 1001)
    t.test('POST /v1/auth with missing or wrongly typed fields: 400', login_input)

    def spaces_input():
        for b in ({}, {'name': ''}, {'name': '   '}, {'name': None}, {'name': 5},
                  {'name': 'x', 'member_ids': 'abc'}, {'name': 'x', 'member_ids': [1]},
                  {'name': 'x', 'member_ids': {'a': 1}}, {'name': 'x', 'member_ids': ['garbage']},
                  {'name': 'x', 'member_ids': [None]}, {'name': 'x', 'member_ids': ['01ARZ3NDEKTSV4RRFFQ69G5FAV']},
                  {'name': 's' * 256}):
            is_error(srv.post(spaces_path, b, key=key), 400, 1002)
    t.test('POST spaces with bad fields: 400 invalid_field', spaces_input)

    # ---- size limits ----

    def near_limit():
        pad = BODY_MAX - 200
        raw = ('{"name": "big-body", "pad": "%s"}' % ('p' * pad)).encode()
        assert len(raw) < BODY_MAX
        r = srv.post(spaces_path, key=key, raw=raw, headers={'Content-Type': 'application/json'})
        assert r.status == 201, r
        raw = ('{"name": "exact", "pad": "%s"}' % ('p' * (BODY_MAX - 30))).encode()
        raw = raw[:-2] + b'p' * (BODY_MAX - len(raw)) + raw[-2:]
        assert len(raw) == BODY_MAX, len(raw)
        r = srv.post(spaces_path, key=key, raw=raw, headers={'Content-Type': 'application/json'})
        assert r.status == 201, ('a body of exactly 1 MiB is allowed', r)
    t.test('a JSON body of up to exactly 1 MiB is accepted', near_limit)

    def head_of(path, extra):
        return ('POST %s HTTP/1.1\r\nHost: x\r\nX-API-KEY: %s\r\nContent-Type: application/json\r\n%s\r\n'
                % (path, key, extra)).encode()

    big = ('{"name": "too-big", "pad": "%s"}' % ('p' * BODY_MAX)).encode()

    class NetworkConnection(httpclient.HTTPConnection):
        """An http.client connection with a small send buffer, as over a real network: a large
        body is still on its way while the server answers, instead of sitting whole in the
        loopback's buffers."""

        def connect(self):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
            s.settimeout(self.timeout)
            s.connect((self.host, self.port))
            self.sock = s

    def client_post(body_bytes, chunked=False):
        """POSTs as an ordinary HTTP client does (http.client: headers, then the body, then the
        answer). Returns the Response, or the exception the client got."""
        conn = NetworkConnection(HOST, srv.port, timeout=30)
        hdrs = {'X-API-KEY': key, 'Content-Type': 'application/json'}
        try:
            if chunked:
                def gen():
                    for i in range(0, len(body_bytes), 65536):
                        yield body_bytes[i:i + 65536]
                conn.request('POST', spaces_path, body=gen(), headers=hdrs, encode_chunked=True)
            else:
                conn.request('POST', spaces_path, body=body_bytes, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        except (OSError, httpclient.HTTPException) as e:
            return e
        finally:
            conn.close()

    def expect_413(what, got, headers=True):
        assert isinstance(got, Response), (
            '%s: expected a 413 JSON response, the client got %r (no response at all)' % (what, got))
        is_error(got, 413, 1004, headers=headers)

    def too_large_content_length():
        for attempt in range(2):
            expect_413('POST of %d bytes with Content-Length (attempt %d)' % (len(big), attempt + 1),
                       client_post(big))
        with tempfile.NamedTemporaryFile() as f:
            f.write(big)
            f.flush()
            p = subprocess.run(['curl', '-sS', '-o', '-', '-w', '\\n%{http_code}', '--data-binary',
                                '@' + f.name, '-H', 'Content-Type: application/json', '-H',
                                'X-API-KEY: ' + key, 'http://%s:%d%s' % (HOST, srv.port, spaces_path)],
                               capture_output=True, text=True, timeout=60)
        assert p.stdout.strip().endswith('413'), (
            'curl --data-binary @1MiB+ file: expected 413, curl exited %d: %s %s'
            % (p.returncode, p.stdout[-200:], p.stderr.strip()))
        healthy()
    t.test('JSON body over 1 MiB with Content-Length: the client gets 413 body_too_large JSON',
           too_large_content_length)

    def too_large_one_byte():
        raw = b'{"name": "x", "pad": "' + b'p' * (BODY_MAX - 23) + b'"}'
        assert len(raw) == BODY_MAX + 1
        expect_413('POST of 1 MiB + 1 byte', client_post(raw))
        huge = b'{"name": "x", "pad": "' + b'p' * (8 * BODY_MAX) + b'"}'
        expect_413('POST of 8 MiB', client_post(huge))
    t.test('bodies of 1 MiB + 1 byte and of 8 MiB with Content-Length: 413', too_large_one_byte)

    def too_large_expect_continue():
        # a client that waits for "100 Continue" must get the final 413 without sending the body
        data = raw_exchange(srv.port, head_of(spaces_path, 'Content-Length: %d\r\nExpect: 100-continue\r\n'
                                              % len(big)), timeout=5)
        r = raw_response(data)
        assert r.status == 413, 'Expect: 100-continue with a 1 MiB+ body: got %r' % data[:300]
        is_error(r, 413, 1004)
        healthy()
    t.test('Expect: 100-continue with Content-Length over 1 MiB: 413 without the body being sent',
           too_large_expect_continue)

    def too_large_chunked():
        expect_413('chunked POST of %d bytes' % len(big), client_post(big, chunked=True), headers=False)
        huge = b'{"name": "x", "pad": "' + b'p' * (4 * BODY_MAX) + b'"}'
        expect_413('chunked POST of 4 MiB', client_post(huge, chunked=True), headers=False)
        healthy()
    t.test('JSON body over 1 MiB in chunked transfer encoding: the client gets 413 JSON',
           too_large_chunked)

    def too_large_chunked_headers():
        # however the client sends it, the 413 carries the headers every answer has
        chunks = b''
        for i in range(0, len(big), 60000):
            c = big[i:i + 60000]
            chunks += b'%x\r\n' % len(c) + c + b'\r\n'
        chunks += b'0\r\n\r\n'
        data = raw_exchange(srv.port, head_of(spaces_path, 'Transfer-Encoding: chunked\r\n'
                                              'X-Request-Id: chunked-413\r\n') + chunks)
        r = raw_response(data)
        if r.status == 0:
            return  # the answer was lost; too_large_chunked reports that
        is_error(r, 413, 1004)
        assert r.header('x-request-id') == 'chunked-413', r.headers
    t.test('the 413 of an over-long chunked body has CORS and X-Request-Id headers',
           too_large_chunked_headers)

    def small_chunked():
        raw = b'{"name": "chunked-space"}'
        chunks = b''.join(b'%x\r\n%s\r\n' % (len(raw[i:i + 5]), raw[i:i + 5]) for i in range(0, len(raw), 5))
        chunks += b'0\r\n\r\n'
        r = raw_response(raw_exchange(srv.port, head_of(spaces_path, 'Transfer-Encoding: chunked\r\n') + chunks))
        assert r.status == 201 and r.json['name'] == 'chunked-space', r
    t.test('a small chunked JSON body is read whole', small_chunked)

    def expect_continue():
        raw = b'{"name": "after-continue"}'
        c = socket.create_connection((HOST, srv.port), timeout=10)
        try:
            c.sendall(head_of(spaces_path, 'Content-Length: %d\r\nExpect: 100-continue\r\n' % len(raw)))
            got = c.recv(65536)
            assert got.startswith(b'HTTP/1.1 100'), got
            c.sendall(raw)
            data = got.partition(b'\r\n\r\n')[2]
            while True:
                r = raw_response(data)
                if r.status and r.json is not None:
                    break
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            c.close()
        assert r.status == 201 and r.json['name'] == 'after-continue', (r, data)
    t.test('Expect: 100-continue with a small body: 100, then 201', expect_continue)

    def slow_body():
        raw = b'{"name": "slow-space"}'
        parts = [head_of(spaces_path, 'Content-Length: %d\r\n' % len(raw))] + [raw[i:i + 4] for i in range(0, len(raw), 4)]
        r = raw_response(raw_exchange(srv.port, parts, pause=0.05))
        assert r.status == 201 and r.json['name'] == 'slow-space', r
    t.test('a body arriving in small pieces is read whole', slow_body)

    def many_headers():
        extra = ''.join('X-H%d: v\r\n' % i for i in range(101))
        data = raw_exchange(srv.port, ('GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n' % extra).encode())
        r = raw_response(data)
        is_error(r, 431, 1005)
        # 100 in all (Host + 99) is still fine
        extra = ''.join('X-H%d: v\r\n' % i for i in range(99))
        r = raw_response(raw_exchange(srv.port, ('GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n' % extra).encode()))
        assert r.status == 200, r
    t.test('more than 100 headers: 431 JSON headers_too_large; 100 are fine', many_headers)

    def big_headers():
        extra = ''.join('X-H%d: %s\r\n' % (i, 'a' * 1000) for i in range(26))
        r = raw_response(raw_exchange(srv.port, ('GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n' % extra).encode()))
        is_error(r, 431, 1005)
        extra = ''.join('X-H%d: %s\r\n' % (i, 'a' * 1000) for i in range(22))
        r = raw_response(raw_exchange(srv.port, ('GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n' % extra).encode()))
        assert r.status == 200, r
        r = srv.get('/v1/teams/%s/members' % tid, key=key, headers={'X-Pad': 'p' * 25000})
        is_error(r, 431, 1005)
        # up to the connection's memory (about 60 KiB), the answer is still the JSON one
        extra = ''.join('X-H%d: %s\r\n' % (i, 'a' * 990) for i in range(50))
        r = raw_response(raw_exchange(srv.port, ('GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n' % extra).encode()))
        is_error(r, 431, 1005)
        r = srv.get('/healthz', headers={'X-Pad': 'p' * 40000})
        is_error(r, 431, 1005)
    t.test('headers over 24 KiB in all (26, 40, 50 KiB): 431 JSON; 22 KiB are fine', big_headers)

    def huge_header():
        data = raw_exchange(srv.port, ('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n'
                                       % ('a' * 200 * 1024)).encode())
        status = raw_response(data).status
        assert status == 0 or 400 <= status < 500, data[:300]
        data = raw_exchange(srv.port, ('GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n'
                                       % ''.join('X-%d: %s\r\n' % (i, 'b' * 8000) for i in range(30))).encode())
        status = raw_response(data).status
        assert status == 0 or 400 <= status < 500, data[:300]
        healthy()
    t.test('a 200 KiB header: 4xx or closed, and the server answers afterwards', huge_header)

    def long_uri():
        r = srv.get('/' + 'a' * 5000)
        is_error(r, 414, 1006)
        r = srv.get('/v1/teams/%s/members' % ('A' * 40000), key=key)
        assert r.status in (414, 431, 404), r
        healthy()
    t.test('a path over 4096 bytes: 414 uri_too_long', long_uri)

    def garbage_requests():
        for data in (b'HELLO\r\n\r\n', b'GET\r\n\r\n', b'GET / HTTP/9.9\r\n\r\n', b'\x00\xff' * 100 + b'\r\n\r\n',
                     b'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
                     b'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
                     b'POST /v1/auth HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
                     b'GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n', b'GET /healthz HTTP/1.1\r\n' + b'X: y\r\n' * 5):
            data = raw_exchange(srv.port, data, timeout=3, half_close=True)
            status = raw_response(data).status
            assert status == 0 or status < 500 or status == 505, data[:200]
        healthy()
    t.test('garbage request lines and framing: no 5xx, server still answers', garbage_requests)

    def concurrent():
        errors = []

        def worker(n):
            try:
                for i in range(8):
                    r = srv.get('/v1/teams/%s/members' % tid, key=key) if i % 2 else srv.get('/healthz')
                    if r.status != 200:
                        errors.append(r)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors[:3]
    t.test('16 clients at once: every request answered 200', concurrent)

    def no_500_in_log():
        _, err = srv.read_logs()
        bad = [l for l in err.splitlines() if ' 500 ' in l or ' 503 ' in l or 'BUG' in l]
        assert not bad, bad[:5]
    t.test('no 500, 503 or BUG in the server log', no_500_in_log)
    t.test('server still answers /healthz after all of that', healthy)


if __name__ == '__main__':
    main_guard(Tap(), main)
