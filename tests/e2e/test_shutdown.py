#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""SIGTERM: the server stops accepting connections, lets the requests in flight finish (up to
--shutdown-timeout), then exits 0 with no sanitizer report."""
import json
import os
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HOST, Server, Tap, is_error, main_guard, make_team, raw_response  # noqa: E402


def read_response(sock, timeout=20):
    """Reads one whole response (Content-Length framed) from @sock."""
    sock.settimeout(timeout)
    data = b''
    while True:
        head, sep, rest = data.partition(b'\r\n\r\n')
        if sep:
            m = re.search(rb'(?i)content-length:\s*(\d+)', head)
            if m and len(rest) >= int(m.group(1)):
                return data
            if not m and not head.startswith(b'HTTP/1.1 1'):
                return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def after_sigterm(err, pattern):
    """Log lines matching @pattern written after the SIGTERM line."""
    pos = err.find('SIGTERM')
    assert pos >= 0, 'no SIGTERM line in the log:\n' + err[-2000:]
    return [l for l in err[pos:].splitlines() if re.search(pattern, l)]


def main(t):
    def in_flight_body():
        with Server() as srv:
            srv.start()
            team = make_team(srv, 'sd', roles=('owner',))
            body = json.dumps({'name': 'finished after SIGTERM'}).encode()
            head = ('POST /v1/teams/%s/spaces HTTP/1.1\r\nHost: x\r\nX-API-KEY: %s\r\n'
                    'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n'
                    % (team['team_id'], team['owner']['api_key'], len(body))).encode()
            c = socket.create_connection((HOST, srv.port), timeout=20)
            c.sendall(head + body[:10])
            time.sleep(0.3)
            srv.send_signal(signal.SIGTERM)
            time.sleep(0.6)
            assert srv.alive(), 'the server exited with a request in flight'
            # no new connections
            try:
                s2 = socket.create_connection((HOST, srv.port), timeout=2)
                s2.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
                got = s2.recv(100)
                s2.close()
                assert not got, 'a new connection was served after SIGTERM: %r' % got
            except OSError:
                pass
            c.sendall(body[10:])
            r = raw_response(read_response(c))
            c.close()
            assert r.status == 201, r
            assert r.json['name'] == 'finished after SIGTERM', r.json
            t0 = time.monotonic()
            srv.stop(timeout=15)
            assert time.monotonic() - t0 < 5, 'exit took %.1fs after the request finished' % (time.monotonic() - t0)
            assert after_sigterm(srv.stderr_text, r'POST /v1/teams/\S+/spaces 201'), srv.stderr_text[-1500:]
    t.test('SIGTERM while a request body is still arriving: no new connections, the request completes (201), exit 0',
           in_flight_body)

    def slow_logins():
        last = None
        for attempt in range(3):
            with Server(args=['--threads', '8']) as srv:
                srv.start()
                n = 4
                conns = []
                for i in range(n):
                    c = socket.create_connection((HOST, srv.port), timeout=30)
                    c.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
                    assert raw_response(read_response(c)).status == 200
                    conns.append(c)
                results = [None] * n
                go = threading.Barrier(n + 1)

                def login(i):
                    body = json.dumps({'email': 'slow-%d@example.com' % i, 'password': 'not the password'}).encode()
                    go.wait()
                    conns[i].sendall(b'POST /v1/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                                     b'Content-Length: %d\r\n\r\n' % len(body) + body)
                    try:
                        results[i] = raw_response(read_response(conns[i]))
                    except OSError as e:
                        results[i] = e
                threads = [threading.Thread(target=login, args=(i,)) for i in range(n)]
                for th in threads:
                    th.start()
                go.wait()
                time.sleep(0.05)
                t0 = time.monotonic()
                srv.send_signal(signal.SIGTERM)
                for th in threads:
                    th.join(30)
                for c in conns:
                    c.close()
                for r in results:
                    assert not isinstance(r, Exception) and r is not None, results
                    is_error(r, 401, 2003)
                srv.stop(timeout=15)
                took = time.monotonic() - t0
                assert took < 8, 'exit took %.1fs' % took
                finished = after_sigterm(srv.stderr_text, r'POST /v1/auth 401')
                if finished:
                    return
                last = srv.stderr_text
        raise AssertionError('no sign-in was still in flight at SIGTERM in 3 attempts:\n' + (last or '')[-1500:])
    t.test('SIGTERM during concurrent slow sign-ins (Argon2id): every one gets its 401, exit 0 promptly',
           slow_logins)

    def idle_connections():
        with Server() as srv:
            srv.start()
            conns = []
            for i in range(5):
                c = socket.create_connection((HOST, srv.port), timeout=10)
                c.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
                assert raw_response(read_response(c)).status == 200
                conns.append(c)
            c = socket.create_connection((HOST, srv.port), timeout=10)  # connected, nothing sent
            conns.append(c)
            time.sleep(0.1)
            t0 = time.monotonic()
            srv.stop(timeout=15)
            took = time.monotonic() - t0
            for c in conns:
                c.close()
            assert took < 3, 'idle keep-alive connections delayed the exit by %.1fs' % took
    t.test('idle keep-alive connections do not delay the exit', idle_connections)

    def stuck_request():
        with Server(args=['--shutdown-timeout', '1']) as srv:
            srv.start()
            c = socket.create_connection((HOST, srv.port), timeout=10)
            c.sendall(b'POST /v1/auth HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"email"')
            time.sleep(0.2)
            t0 = time.monotonic()
            srv.stop(timeout=15)
            took = time.monotonic() - t0
            c.close()
            assert 0.8 <= took < 5, 'with --shutdown-timeout 1, exit after %.1fs' % took
            assert 'still in flight' in srv.stderr_text, srv.stderr_text[-1500:]
    t.test('a request that never completes is cut after --shutdown-timeout; exit 0', stuck_request)

    def under_load():
        with Server() as srv:
            srv.start()
            team = make_team(srv, 'load', roles=('owner',))
            stop = threading.Event()
            counts = {'ok': 0, 'refused': 0, 'bad': []}
            lock = threading.Lock()

            def hammer():
                while not stop.is_set():
                    try:
                        r = srv.get('/v1/teams/%s/members' % team['team_id'], key=team['owner']['api_key'],
                                    timeout=10)
                        with lock:
                            if r.status == 200:
                                counts['ok'] += 1
                            else:
                                counts['bad'].append(r)
                    except OSError:
                        with lock:
                            counts['refused'] += 1
                        time.sleep(0.01)
            threads = [threading.Thread(target=hammer) for _ in range(6)]
            for th in threads:
                th.start()
            time.sleep(0.7)
            t0 = time.monotonic()
            srv.send_signal(signal.SIGTERM)
            rc = srv.wait_exit(15)
            took = time.monotonic() - t0
            stop.set()
            for th in threads:
                th.join()
            srv.proc = None
            _, err = srv.read_logs()
            assert rc == 0, (rc, err[-1500:])
            assert 'AddressSanitizer' not in err and 'runtime error:' not in err and 'LeakSanitizer' not in err, err[-3000:]
            assert took < 5, took
            assert counts['ok'] > 10 and not counts['bad'], counts
    t.test('SIGTERM under load from 6 clients: every answer is a 200, exit 0 within 5s', under_load)


if __name__ == '__main__':
    main_guard(Tap(), main)
