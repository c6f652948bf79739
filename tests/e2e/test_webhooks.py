#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Custom webhooks: owners and admins create, list, change and delete them (members may not,
another team's answer 404), the signing secret is shown once; then package events reach a real
HTTP receiver on loopback, signed (HMAC-SHA256 of the body with that secret), with the
webhook's headers and body extras: created, finalized, downloaded, expired. An inactive webhook
or one not subscribed hears nothing; a receiver answering 500 is tried again with backoff (time
moved through CONSIGN_CLOCK_FILE, never waited for) and given up after 5 attempts; one that
hangs is given up at the timeout while the API and other deliveries go on. The expiry sweep
tells of the packages it expires too."""
import hashlib
import hmac
import http.server
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HOST, Client, Server, Tap, eventually, is_error, is_id,  # noqa: E402
                     is_iso, main_guard, make_team, new_package, replay)

EVENTS = ['package.created', 'package.finalized', 'package.downloaded', 'package.expired']


class Receiver:
    """An HTTP server on loopback that records what it is sent, per path. A path's answers are
    a list of statuses (the last repeats); 'hang' holds the request until release()."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = {}
        self.plans = {}
        self.released = threading.Event()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n)
                with rec.lock:
                    seen = rec.got.setdefault(self.path, [])
                    seen.append({'method': self.command, 'headers': dict(self.headers.items()),
                                 'body': body, 'at': time.monotonic()})
                    plan = rec.plans.get(self.path, [200])
                    answer = plan[min(len(seen), len(plan)) - 1]
                if answer == 'hang':
                    rec.released.wait(60)
                    answer = 200
                try:
                    self.send_response(answer)
                    self.send_header('Content-Length', '2')
                    self.end_headers()
                    self.wfile.write(b'ok')
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (a hang)

            do_POST = do_PUT = _any

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return 'http://%s:%d%s' % (HOST, self.port, path)

    def seen(self, path):
        with self.lock:
            return list(self.got.get(path, []))

    def events(self, path):
        return [json.loads(r['body'])['event'] for r in self.seen(path)]

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def signed_by(req, secret):
    """True when X-Consign-Signature is the HMAC-SHA256 of the body under @secret."""
    want = 'sha256=' + hmac.new(secret.encode(), req['body'], hashlib.sha256).hexdigest()
    return hmac.compare_digest(req['headers'].get('X-Consign-Signature', ''), want)


def body(t, srv, rx, clock):
    team = make_team(srv, 'hooks', roles=('owner', 'admin', 'member'))
    other = make_team(srv, 'hooks-other', roles=('owner',))
    tid, key = team['team_id'], team['owner']['api_key']
    okey = other['owner']['api_key']
    st = {'offset': 0}

    def create(spec, k=key, team_id=tid):
        return srv.post('/v1/teams/%s/custom_webhooks' % team_id, spec, key=k)

    def hook(path, events=EVENTS, **extra):
        spec = {'name': 'hook ' + path, 'url': rx.url(path), 'events': events}
        spec.update(extra)
        r = create(spec)
        assert r.status == 201, r
        return r.json

    def advance(ms):
        """Moves the servers' clock @ms further (and gives them time to see it)."""
        st['offset'] += ms
        with open(clock, 'w') as f:
            f.write('%d\n' % st['offset'])
        time.sleep(0.2)

    def attempts(hid):
        r = srv.get('/v1/custom_webhooks/%s/deliveries' % hid, key=key)
        assert r.status == 200, r
        return r.json

    # ---- managing webhooks ----

    def crud():
        r = create({'name': 'Build server', 'url': rx.url('/crud'), 'method': 'put',
                    'events': ['package.created', 'package.expired', 'package.created'],
                    'headers': {'Authorization': 'Bearer t0k', 'X-Env': 'test'},
                    'body_extras': {'source': 'consign', 'n': [1, 2]}, 'active': False})
        assert r.status == 201, r
        h = r.json
        assert is_id(h['id']) and h['team_id'] == tid and h['name'] == 'Build server', h
        assert h['method'] == 'PUT' and h['active'] is False, h
        assert h['events'] == ['package.created', 'package.expired'], 'kept once each: %r' % h
        assert h['headers'] == {'Authorization': 'Bearer t0k', 'X-Env': 'test'}, h
        assert h['body_extras'] == {'source': 'consign', 'n': [1, 2]}, h
        assert is_iso(h['created_at']) and is_iso(h['updated_at']), h
        assert isinstance(h['secret'], str) and len(h['secret']) == 43, h
        st['crud'] = h
        r = srv.get('/v1/teams/%s/custom_webhooks' % tid, key=key)
        assert r.status == 200 and [x['id'] for x in r.json] == [h['id']], r
        assert 'secret' not in r.json[0] and h['secret'] not in r.raw.decode(), (
            'the secret is shown once only')
        r = srv.get('/v1/custom_webhooks/%s' % h['id'], key=key)
        assert r.status == 200 and r.json['url'] == rx.url('/crud'), r
        assert 'secret' not in r.json and h['secret'] not in r.raw.decode(), r
        r = srv.put('/v1/custom_webhooks/%s' % h['id'], {'name': 'Renamed', 'active': True,
                                                          'headers': {}}, key=key)
        assert r.status == 200 and r.json['name'] == 'Renamed' and r.json['active'] is True, r
        assert r.json['headers'] == {} and r.json['method'] == 'PUT', 'others kept: %r' % r.json
        assert r.json['events'] == ['package.created', 'package.expired'], r.json
        assert 'secret' not in r.json, r.json
        r = srv.get('/v1/custom_webhooks/%s' % h['id'], key=key)
        assert r.json['name'] == 'Renamed' and r.json['body_extras'] == h['body_extras'], r
        r = create({'name': 'By an admin', 'url': 'https://example.org/in', 'events': EVENTS},
                   k=team['admin']['api_key'])
        assert r.status == 201 and r.json['method'] == 'POST' and r.json['active'] is True, r
        assert srv.delete('/v1/custom_webhooks/%s' % r.json['id'], key=key).status == 204
        is_error(srv.get('/v1/custom_webhooks/%s' % r.json['id'], key=key), 404)
        is_error(srv.delete('/v1/custom_webhooks/%s' % r.json['id'], key=key), 404)
    t.test('owners and admins create, list, read, change and delete webhooks; the signing '
           'secret is in the answer to the creation only', crud)

    def access():
        hid = st['crud']['id']
        mkey = team['member']['api_key']
        is_error(create({'name': 'x', 'url': rx.url('/x'), 'events': EVENTS}, k=mkey), 403)
        is_error(srv.get('/v1/teams/%s/custom_webhooks' % tid, key=mkey), 403)
        is_error(srv.get('/v1/custom_webhooks/%s' % hid, key=mkey), 403)
        is_error(srv.put('/v1/custom_webhooks/%s' % hid, {'active': False}, key=mkey), 403)
        is_error(srv.delete('/v1/custom_webhooks/%s' % hid, key=mkey), 403)
        is_error(srv.get('/v1/custom_webhooks/%s/deliveries' % hid, key=mkey), 403)
        for r in (srv.get('/v1/custom_webhooks/%s' % hid, key=okey),
                  srv.put('/v1/custom_webhooks/%s' % hid, {'active': False}, key=okey),
                  srv.delete('/v1/custom_webhooks/%s' % hid, key=okey),
                  srv.get('/v1/custom_webhooks/%s/deliveries' % hid, key=okey),
                  srv.get('/v1/teams/%s/custom_webhooks' % tid, key=okey),
                  create({'name': 'x', 'url': rx.url('/x'), 'events': EVENTS}, k=okey)):
            is_error(r, 404)
        r = srv.get('/v1/teams/%s/custom_webhooks' % other['team_id'], key=okey)
        assert r.status == 200 and r.json == [], 'the other team has none: %r' % r
        is_error(srv.get('/v1/teams/%s/custom_webhooks' % tid), 401)
        is_error(srv.get('/v1/custom_webhooks/01M8166BWWZP2J6X829RJMGMBZ', key=key), 404)
        is_error(srv.get('/v1/custom_webhooks/nope', key=key), 404)
        assert srv.get('/v1/custom_webhooks/%s' % hid, key=key).json['active'] is True, (
            'nothing the others tried changed it')
    t.test('members are refused (403); another team sees no webhook of this one (404)', access)

    def validation():
        good = {'name': 'v', 'url': rx.url('/v'), 'events': EVENTS}
        cases = [
            ({'url': 'ftp://example.org/in'}, 'url'),
            ({'url': 'file:///etc/passwd'}, 'url'),
            ({'url': 'http://user:pw@example.org/in'}, 'url'),
            ({'url': 'http://user@example.org/in'}, 'url'),
            ({'url': 'example.org/in'}, 'url'),
            ({'url': 'http://exa mple.org/'}, 'url'),
            ({'url': 'http://example.org/' + 'a' * 2100}, 'url'),
            ({'url': None}, 'url'),
            ({'name': ''}, 'name'),
            ({'method': 'GET'}, 'method'),
            ({'events': []}, 'events'),
            ({'events': ['package.created', 'package.nope']}, 'events[1]'),
            ({'events': 'package.created'}, 'events'),
            ({'headers': {'X-A': 'one\r\nX-Injected: two'}}, 'headers.X-A'),
            ({'headers': {'X-A': 'line\nbreak'}}, 'headers.X-A'),
            ({'headers': {'Bad Name': 'v'}}, 'headers'),
            ({'headers': {'X-A\r\nX-B': 'v'}}, 'headers'),
            ({'headers': {'Content-Type': 'text/plain'}}, 'headers.Content-Type'),
            ({'headers': {'x-consign-signature': 'sha256=00'}}, 'headers.x-consign-signature'),
            ({'headers': {'X-A': 1}}, 'headers.X-A'),
            ({'headers': {'X-A': 'v' * 1025}}, 'headers.X-A'),
            ({'headers': {'X-%d' % i: 'v' for i in range(21)}}, 'headers'),
            ({'headers': ['X-A: v']}, 'headers'),
            ({'body_extras': [1]}, 'body_extras'),
            ({'body_extras': {'event': 'forged'}}, 'body_extras.event'),
            ({'body_extras': {'package': {}}}, 'body_extras.package'),
            ({'body_extras': {'big': 'x' * 17000}}, 'body_extras'),
            ({'active': 'yes'}, 'active'),
        ]
        for change, field in cases:
            spec = dict(good)
            spec.update(change)
            j = is_error(create(spec), 400)
            assert j['message'].startswith(field), 'want the field %s named: %s (%r)' % (
                field, j['message'], change)
        for missing in ('url', 'events', 'name'):
            spec = {k: v for k, v in good.items() if k != missing}
            j = is_error(create(spec), 400)
            assert missing in j['message'], (missing, j)
        hid = st['crud']['id']
        j = is_error(srv.put('/v1/custom_webhooks/%s' % hid, {'url': 'gopher://x/'}, key=key), 400)
        assert j['message'].startswith('url'), j
        is_error(srv.get('/v1/custom_webhooks/%s/deliveries?limit=0' % hid, key=key), 400)
        r = srv.get('/v1/teams/%s/custom_webhooks' % tid, key=key)
        assert [x['id'] for x in r.json] == [hid], 'nothing refused was kept: %r' % r.json
        assert r.json[0]['url'] == rx.url('/crud'), r.json
    t.test('only http(s) URLs without credentials, POST or PUT, the four events, headers '
           'without line breaks and capped, body extras an object of capped size: else 400 '
           'naming the field', validation)

    # ---- events ----

    def subscribed():
        assert srv.delete('/v1/custom_webhooks/%s' % st['crud']['id'], key=key).status == 204
        st['a'] = hook('/a', headers={'X-Token': 'abc def', 'X-Env': 'e2e'},
                       body_extras={'source': 'consign-e2e', 'nested': {'k': [1, 'two']}})
        st['b'] = hook('/b', active=False)
        st['c'] = hook('/c', events=['package.finalized'], method='PUT')
    t.test('three webhooks: all events, inactive, finalized only', subscribed)

    def created():
        pkg = new_package(srv, key, tid, 'Hooked')
        st['pkg'] = pkg
        eventually(lambda: rx.seen('/a'), what='package.created at the receiver')
        req = rx.seen('/a')[0]
        assert req['method'] == 'POST', req['method']
        assert signed_by(req, st['a']['secret']), ('the signature is the HMAC of the body under '
                                                   'the secret shown at creation', req['headers'])
        h = req['headers']
        assert h.get('Content-Type') == 'application/json', h
        assert h.get('X-Token') == 'abc def' and h.get('X-Env') == 'e2e', h
        assert h.get('X-Consign-Event') == 'package.created', h
        doc = json.loads(req['body'])
        assert doc['event'] == 'package.created' and is_iso(doc['time']), doc
        assert is_id(doc['id']) and h.get('X-Consign-Delivery') == doc['id'], doc
        p = doc['package']
        assert p['id'] == pkg['id'] and p['team_id'] == tid and p['name'] == 'Hooked', p
        assert p['state'] == 'new' and p['recipients'] == ['editor@example.com'], p
        assert p['sender'] == team['owner']['email'] and p['portal_id'] is None, p
        assert 'access_token' not in p and 'password' not in p, 'no secrets: %r' % p
        assert pkg['access_token'] not in req['body'].decode(), 'no token anywhere'
        assert doc['portal'] is None, doc
        assert doc['source'] == 'consign-e2e' and doc['nested'] == {'k': [1, 'two']}, (
            'body_extras at the top level', doc)
        assert not signed_by(req, st['c']['secret']), 'another webhook, another secret'
    t.test('a package is created: package.created arrives, signed, with the headers and body '
           'extras, the package without its token', created)

    def upload(pkg):
        """Uploads one file to @pkg and finalizes it: (client, file id, bytes)."""
        c = Client(srv, pkg['access_token'])
        data = os.urandom(3000)
        made, upload_id, bps = c.begin(pkg['id'], 'cut.bin', 1)
        r = replay(srv.port, bps[0], data)
        assert r.status == 200, r
        r = c.finalize_file(pkg['id'], made['file']['id'], upload_id,
                            [{'partNumber': 1, 'etag': r.header('etag')}], size=len(data))
        assert r.status == 200, r
        c.finalize(pkg['id'])
        return c, made['file']['id'], data

    def finalized():
        pkg = st['pkg']
        c, fid, data = upload(pkg)
        assert c.call('POST', '/v1/packages/%s/finalize' % pkg['id']).status == 200
        st['client'], st['file'], st['data'] = c, fid, data
        eventually(lambda: 'package.finalized' in rx.events('/a'), what='package.finalized')
        eventually(lambda: rx.seen('/c'), what='package.finalized at the finalized-only hook')
        req = [r for r in rx.seen('/a') if json.loads(r['body'])['event'] == 'package.finalized']
        assert len(req) == 1 and signed_by(req[0], st['a']['secret']), req
        p = json.loads(req[0]['body'])['package']
        assert p['state'] == 'finalized' and p['size'] == 3000 and p['total_files'] == 1, p
        cr = rx.seen('/c')[0]
        assert cr['method'] == 'PUT' and signed_by(cr, st['c']['secret']), cr['headers']
        assert json.loads(cr['body'])['event'] == 'package.finalized', cr
    t.test('upload and finalize (twice): package.finalized arrives once, also at the webhook '
           'subscribed to it alone (by PUT)', finalized)

    def downloaded():
        r = st['client'].fetch(st['pkg']['id'], st['file'])
        assert r.status == 200 and r.raw == st['data'], r
        eventually(lambda: 'package.downloaded' in rx.events('/a'), what='package.downloaded')
        req = [r for r in rx.seen('/a') if json.loads(r['body'])['event'] == 'package.downloaded']
        assert signed_by(req[0], st['a']['secret']), req[0]['headers']
        assert json.loads(req[0]['body'])['package']['id'] == st['pkg']['id']
    t.test('a file is downloaded: package.downloaded arrives', downloaded)

    def expired():
        c = st['client']
        assert c.call('DELETE', '/v1/packages/%s' % st['pkg']['id']).status == 204
        assert c.call('DELETE', '/v1/packages/%s' % st['pkg']['id']).status == 204
        eventually(lambda: 'package.expired' in rx.events('/a'), what='package.expired')
        time.sleep(1.5)
        assert rx.events('/a') == EVENTS, 'each event once, in order: %r' % rx.events('/a')
        req = rx.seen('/a')[-1]
        assert signed_by(req, st['a']['secret'])
        assert json.loads(req['body'])['package']['state'] == 'expired'
        assert rx.seen('/b') == [], 'the inactive webhook heard nothing'
        assert rx.events('/c') == ['package.finalized'], 'only what it is subscribed to'
        got = attempts(st['a']['id'])
        assert [a['event'] for a in got] == EVENTS[::-1], 'latest first: %r' % got
        for a in got:
            assert a['status'] == 200 and a['attempt'] == 1 and a['error'] == '', a
            assert a['package_id'] == st['pkg']['id'] and is_iso(a['at']), a
            assert isinstance(a['duration_ms'], int) and a['duration_ms'] >= 0, a
        assert len(attempts(st['c']['id'])) == 1
        assert attempts(st['b']['id']) == []
        r = srv.get('/v1/custom_webhooks/%s/deliveries?limit=2' % st['a']['id'], key=key)
        assert r.status == 200 and len(r.json) == 2, r
    t.test('the package is deleted (twice): package.expired arrives once; the inactive webhook '
           'heard nothing, the finalized-only one only that; every attempt is listed', expired)

    def quiet():
        for h in ('a', 'c'):
            r = srv.put('/v1/custom_webhooks/%s' % st[h]['id'], {'active': False}, key=key)
            assert r.status == 200 and r.json['active'] is False, r
    t.test('the first webhooks are switched off', quiet)

    def retried():
        rx.plans['/flaky'] = [500, 500, 200]
        h = hook('/flaky', events=['package.created'])
        pkg = new_package(srv, key, tid, 'Flaky')
        eventually(lambda: len(rx.seen('/flaky')) == 1, what='the first attempt')
        time.sleep(1.5)
        assert len(rx.seen('/flaky')) == 1, 'no second attempt before the backoff'
        advance(7000)
        eventually(lambda: len(rx.seen('/flaky')) == 2, what='the second attempt, 5 s on')
        advance(13000)
        eventually(lambda: len(rx.seen('/flaky')) == 3, what='the third attempt, 10 s more on')
        advance(60000)
        time.sleep(1.5)
        got = rx.seen('/flaky')
        assert len(got) == 3, 'delivered on the third: no fourth (%d)' % len(got)
        assert len({r['body'] for r in got}) == 1, 'every attempt sends the same bytes'
        assert all(signed_by(r, h['secret']) for r in got)
        assert len({r['headers']['X-Consign-Delivery'] for r in got}) == 1
        assert json.loads(got[0]['body'])['package']['id'] == pkg['id']
        tries = attempts(h['id'])
        assert [(a['attempt'], a['status']) for a in tries] == [(3, 200), (2, 500), (1, 500)], (
            tries)
        assert tries[1]['error'] == 'the receiver answered 500', tries[1]
        assert len({a['delivery_id'] for a in tries}) == 1, tries
        srv.put('/v1/custom_webhooks/%s' % h['id'], {'active': False}, key=key)
    t.test('a receiver answering 500, 500, then 200 gets the event on the third attempt, after '
           'the backoff; the attempts list 200, 500, 500', retried)

    def gives_up():
        rx.plans['/down'] = [503]
        h = hook('/down', events=['package.created'])
        new_package(srv, key, tid, 'Nobody listens')
        for n, wait in ((1, 0), (2, 7000), (3, 13000), (4, 23000), (5, 43000)):
            advance(wait)
            eventually(lambda: len(rx.seen('/down')) == n, what='attempt %d' % n)
        advance(3600 * 1000)
        time.sleep(2)
        assert len(rx.seen('/down')) == 5, 'given up after 5 attempts'
        tries = attempts(h['id'])
        assert [(a['attempt'], a['status']) for a in tries] == [(n, 503) for n in (5, 4, 3, 2, 1)]
        srv.delete('/v1/custom_webhooks/%s' % h['id'], key=key)
    t.test('a receiver that always fails is tried 5 times with backoff, then given up; every '
           'attempt is listed', gives_up)

    def hangs():
        rx.plans['/hang'] = ['hang']
        slow = hook('/hang', events=['package.created'])
        fine = hook('/fine', events=['package.created'])
        started = time.monotonic()
        new_package(srv, key, tid, 'Hang on')
        assert time.monotonic() - started < 5, 'the API does not wait for receivers'
        eventually(lambda: rx.seen('/hang'), what='the request to the hanging receiver')
        eventually(lambda: rx.seen('/fine'), what='the other webhook served meanwhile')
        for _ in range(3):
            t0 = time.monotonic()
            r = srv.get('/v1/teams/%s/custom_webhooks' % tid, key=key)
            assert r.status == 200 and time.monotonic() - t0 < 2, 'the API answers meanwhile'
        eventually(lambda: attempts(slow['id']), timeout=30, what='the attempt timing out')
        a = attempts(slow['id'])[0]
        assert a['status'] == 0 and 'timed out' in a['error'], a
        assert 9000 <= a['duration_ms'] <= 20000, 'given up at the timeout (10 s): %r' % a
        assert time.monotonic() - started < 25
        rx.released.set()
        srv.delete('/v1/custom_webhooks/%s' % slow['id'], key=key)
        srv.delete('/v1/custom_webhooks/%s' % fine['id'], key=key)
    t.test('a receiver that hangs is given up at the timeout; the API and the other webhook go '
           'on meanwhile', hangs)

    def swept():
        h = hook('/swept', events=['package.expired'])
        pkg = new_package(srv, key, tid, 'Kept a week')
        upload(pkg)
        time.sleep(1)
        assert rx.seen('/swept') == [], 'not before its time'
        advance(8 * 86400 * 1000)  # past the storage period (7 days)
        eventually(lambda: rx.seen('/swept'), timeout=30, what='package.expired from the sweep')
        req = rx.seen('/swept')[0]
        doc = json.loads(req['body'])
        assert signed_by(req, h['secret']) and doc['event'] == 'package.expired', doc
        assert doc['package']['id'] == pkg['id'] and doc['package']['state'] == 'expired', doc
    t.test('the storage period ends: the expiry sweep expires the package and package.expired '
           'arrives', swept)


def main(t):
    clock = tempfile.NamedTemporaryFile(prefix='consign-clock-', delete=False).name
    with open(clock, 'w') as f:
        f.write('0\n')
    rx = Receiver()
    srv = Server(env={'CONSIGN_CLOCK_FILE': clock})
    try:
        srv.start()
        body(t, srv, rx, clock)
    finally:
        rx.released.set()
        if not t.test('the server stops on SIGTERM with exit 0 and no sanitizer report', srv.stop):
            srv.kill()
        srv.cleanup()
        rx.close()
        os.unlink(clock)


if __name__ == '__main__':
    main_guard(Tap(), main)
