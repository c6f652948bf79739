#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The command line of the real binary: help and usage errors, `consign serve` options and
their environment variables, the first-start credentials (and the curl line they suggest), the
signing secret (file and CONSIGN_SECRET), restarts, and listening on a port already in use."""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, HOST, Client, Server, Tap, base_env, eventually, free_port,  # noqa: E402
                     is_error, is_id, main_guard, make_team, new_package, replay, request, run,
                     sanitizer_report)


def main(t):
    tmp = tempfile.mkdtemp(prefix='consign-e2e-cli-')
    try:
        body(t, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def body(t, tmp):
    def helps():
        rc, out, err = run(['--help'])
        assert rc == 0, (rc, err)
        assert 'usage: consign' in out and 'serve' in out and 'admin' in out, out
        rc, out, err = run(['serve', '--help'])
        assert rc == 0, (rc, err)
        for opt in ('--data', '--listen', '--public-url', '--threads', '--log-level',
                    '--shutdown-timeout', '--conn-limit', '--conn-timeout', 'CONSIGN_DATA',
                    'CONSIGN_LISTEN', 'CONSIGN_SECRET'):
            assert opt in out, (opt, out)
        rc, out, err = run(['admin', '--help'])
        assert rc == 0, (rc, err)
        assert 'create-team' in out and 'add-member' in out, out
        rc, out, err = run(['admin', 'create-team', '--help'])
        assert rc == 0 and 'create-team' in out, (rc, out, err)
        rc, out, _ = run(['--version'])
        assert rc == 0 and re.match(r'consign \d+\.\d+\.\d+', out), out
    t.test('consign --help, serve --help, admin --help, --version: exit 0 with usage on stdout', helps)

    def errors_cmd():
        rc, out, _ = run(['errors'])
        assert rc == 0, rc
        for row in ('| 1004 | 413 | `body_too_large`', '| 2004 | 429 | `rate_limited`',
                    '| 1007 | 404 | `not_found`'):
            assert row in out, (row, out)
    t.test('consign errors prints the error registry', errors_cmd)

    nodata = os.path.join(tmp, 'never-created')

    def usage_errors():
        d = ['--data', nodata]
        cases = [
            [], ['bogus'], ['--bogus'], ['serve', '--bogus'] + d, ['serve', 'extra'] + d,
            ['serve', '--listen'], ['serve', '--listen', 'nonsense'] + d,
            ['serve', '--listen', '127.0.0.1'] + d, ['serve', '--listen', '127.0.0.1:'] + d,
            ['serve', '--listen', '127.0.0.1:65536'] + d, ['serve', '--listen', '127.0.0.1:-1'] + d,
            ['serve', '--listen', ':8080'] + d, ['serve', '--listen', '127.0.0.1:80x'] + d,
            ['serve', '--threads', 'x'] + d, ['serve', '--threads', '-1'] + d,
            ['serve', '--threads', '257'] + d, ['serve', '--threads', ''] + d,
            ['serve', '--threads', '1.5'] + d, ['serve', '--log-level', 'loud'] + d,
            ['serve', '--conn-limit', '0'] + d, ['serve', '--conn-limit', 'many'] + d,
            ['serve', '--shutdown-timeout', 'soon'] + d, ['serve', '--conn-timeout', '-5'] + d,
            ['serve', '--portal-domain', 'localhost'] + d,
            ['serve', '--portal-domain', '*.upload.example.com'] + d,
            ['serve', '--portal-domain', 'upload..example.com'] + d,
            ['serve', '--portal-domain', '-upload.example.com'] + d,
            ['serve', '--portal-domain', 'upload.example.com/x'] + d,
            ['serve', '--portal-domain', 'a' * 64 + '.example.com'] + d,
            ['admin'], ['admin', 'bogus'], ['admin', 'create-team'],
            ['admin', 'create-team', '--data', nodata, '--email', 'a@example.com', '--password', 'x' * 12],
            ['admin', 'create-team', '--data', nodata, '--name', 'n', '--password', 'x' * 12],
            ['admin', 'create-team', '--data', nodata, '--name', 'n', '--email', 'a@example.com'],
            ['admin', 'create-team', '--data', nodata, '--name', 'n', '--email', 'a@example.com',
             '--password', 'x' * 12, '--bogus'],
            ['admin', 'create-team', '--data', nodata, '--name', 'n', '--email', 'a@example.com',
             '--password', 'x' * 12, 'extra'],
            ['admin', 'add-member', '--data', nodata, '--team', '01ARZ3NDEKTSV4RRFFQ69G5FAV',
             '--email', 'a@example.com', '--password', 'x' * 12],
            ['admin', 'add-member', '--data', nodata, '--email', 'a@example.com',
             '--password', 'x' * 12, '--role', 'admin'],
            ['admin', 'add-member', '--data', nodata, '--team', '01ARZ3NDEKTSV4RRFFQ69G5FAV',
             '--email', 'a@example.com', '--password', 'x' * 12, '--role', 'boss'],
            ['admin', 'add-member', '--data', nodata, '--team', '01ARZ3NDEKTSV4RRFFQ69G5FAV',
             '--email', 'a@example.com', '--password', 'x' * 12, '--role', 'OWNER'],
            ['errors', 'extra'],
        ]
        for args in cases:
            rc, out, err = run(args, timeout=20)
            assert rc == 2, ('consign %s: exit %d, want 2; stderr %r' % (' '.join(args), rc, err[-300:]))
            assert 'usage' in err, ('consign %s: no usage on stderr: %r' % (' '.join(args), err))
        rc, _, err = run(['serve', '--data', nodata, '--listen', '127.0.0.1:0'],
                         env={'CONSIGN_THREADS': 'lots'}, timeout=20)
        assert rc == 2 and 'usage' in err, (rc, err)
        rc, _, err = run(['serve', '--data', nodata], env={'CONSIGN_LISTEN': 'nowhere'}, timeout=20)
        assert rc == 2 and 'usage' in err, (rc, err)
        assert not os.path.exists(nodata), 'a wrong invocation created the data directory'
    t.test('wrong invocations (unknown option or command, missing or bad arguments): exit 2, usage on stderr',
           usage_errors)

    # ---- first start ----

    srv = Server(data=os.path.join(tmp, 'first'))
    state = {}

    def first_start():
        srv.start()
        out, err = srv.read_logs()
        assert re.search(r'listening on 127\.0\.0\.1:%d\b' % srv.port, err), err
        b = srv.bootstrap()
        for k in ('team_id', 'email', 'password', 'api_key', 'curl'):
            assert k in b, ('first-start block lacks %s:\n%s' % (k, out))
        assert is_id(b['team_id']), b
        assert b['email'] == 'admin@consign.localhost', b
        assert len(b['password']) >= 8, b
        assert len(b['api_key']) == 69 and is_id(b['api_key'][:26]), b
        want = "curl -H 'X-API-KEY: %s' http://127.0.0.1:%d/v1/teams/%s/members" % (
            b['api_key'], srv.port, b['team_id'])
        assert b['curl'] == want, (b['curl'], want)
        state.update(b)
    if not t.test('first start: prints team id, e-mail, password, API key and a curl line', first_start):
        srv.cleanup()
        return

    def curl_line():
        p = subprocess.run(['sh', '-c', state['curl'] + ' -sS -w "\\n%{http_code}"'], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, (p.returncode, p.stderr)
        body_text, _, code = p.stdout.rpartition('\n')
        assert code == '200', (code, p.stdout)
        members = json.loads(body_text)
        assert isinstance(members, list) and len(members) == 1, members
        m = members[0]
        assert m['email'] == 'admin@consign.localhost' and m['role'] == 'owner', m
        assert m['team_id'] == state['team_id'] and is_id(m['id']) and is_id(m['user_id']), m
        # and the exact line, as printed, through sh
        p = subprocess.run(['sh', '-c', state['curl']], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and json.loads(p.stdout)[0]['role'] == 'owner', (p.stdout, p.stderr)
    t.test('the printed curl line, run by sh, lists the members: the owner', curl_line)

    def printed_password():
        r = srv.post('/v1/auth', {'email': state['email'], 'password': state['password']})
        assert r.status == 200, r
        teams = r.json['teams']
        assert [x['id'] for x in teams] == [state['team_id']] and teams[0]['role'] == 'owner', teams
        state['token'] = r.json['token']
    t.test('the printed e-mail and password sign in as owner of the printed team', printed_password)

    def secret_file():
        st_dir = os.stat(srv.data)
        assert stat.S_IMODE(st_dir.st_mode) == 0o700, 'data dir made with mode %o' % stat.S_IMODE(st_dir.st_mode)
        path = os.path.join(srv.data, 'secret')
        st = os.stat(path)
        assert stat.S_ISREG(st.st_mode), st
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        with open(path) as f:
            text = f.read()
        assert re.fullmatch(r'[0-9a-f]{64}\n', text), repr(text)
        state['secret'] = text
    t.test('first start makes DIR (mode 0700) and DIR/secret (mode 0600, 64 hex digits)', secret_file)

    def restart():
        srv.stop()
        srv.start()
        out, _ = srv.read_logs()
        assert 'API key' not in out and 'password' not in out and 'curl' not in out, out
        assert out.strip() == '', out
        with open(os.path.join(srv.data, 'secret')) as f:
            assert f.read() == state['secret'], 'the secret changed on restart'
        p = '/v1/teams/%s/members' % state['team_id']
        r = srv.get(p, token=state['token'])
        assert r.status == 200, ('a token from before the restart: %r' % r)
        r = srv.get(p, key=state['api_key'])
        assert r.status == 200 and r.json[0]['role'] == 'owner', r
        srv.stop(sig=signal.SIGINT)
    t.test('restart on the same data dir: no new credentials; old token and key still work; SIGINT exits 0',
           restart)
    srv.cleanup()

    # ---- CONSIGN_SECRET ----

    def env_secret():
        data = os.path.join(tmp, 'envsecret')
        secret_a = 'A' * 20 + 'secret-for-e2e-tests!'
        s = Server(data=data, env={'CONSIGN_SECRET': secret_a})
        try:
            s.start()
            b = s.bootstrap()
            assert not os.path.exists(os.path.join(data, 'secret')), 'secret file made despite CONSIGN_SECRET'
            token = s.login(b['email'], b['password'])
            p = '/v1/teams/%s/members' % b['team_id']
            assert s.get(p, token=token).status == 200
            s.stop()
            s.start()  # same CONSIGN_SECRET: the token still works
            assert s.get(p, token=token).status == 200
            s.stop()
            s.env = {'CONSIGN_SECRET': 'B' * 40}
            s.start()  # another secret: tokens signed with the first one are refused
            is_error(s.get(p, token=token), 401, 2002)
            assert s.get(p, key=b['api_key']).status == 200  # keys do not depend on the secret
            s.stop()
            s.env = {}
            s.start()  # the secret file now: still not the one that signed
            assert os.path.exists(os.path.join(data, 'secret'))
            is_error(s.get(p, token=token), 401, 2002)
            token2 = s.login(b['email'], b['password'])
            s.stop()
            s.env = {'CONSIGN_SECRET': 'x' * 32}  # exactly 32 characters is enough
            s.start()
            is_error(s.get(p, token=token2), 401, 2002)
            s.stop()
        finally:
            s.cleanup()
    t.test('CONSIGN_SECRET signs tokens instead of the file; tokens survive restarts only with the same secret',
           env_secret)

    def short_secret():
        data = os.path.join(tmp, 'shortsecret')
        for short in ('x' * 31, 'short'):
            rc, out, err = run(['serve', '--data', data, '--listen', '127.0.0.1:0'],
                               env={'CONSIGN_SECRET': short}, timeout=30)
            assert rc == 1, (rc, err)
            assert 'CONSIGN_SECRET' in err, err
            assert 'API key' not in out, out
    t.test('CONSIGN_SECRET shorter than 32 characters: exit 1', short_secret)

    def bad_secret_file():
        data = os.path.join(tmp, 'badsecret')
        os.mkdir(data)
        with open(os.path.join(data, 'secret'), 'w') as f:
            f.write('not hex at all\n')
        rc, _, err = run(['serve', '--data', data, '--listen', '127.0.0.1:0'], timeout=30)
        assert rc == 1, (rc, err)
        assert 'secret' in err, err
    t.test('a secret file that is not 64 hex digits: exit 1', bad_secret_file)

    def bad_data_dir():
        afile = os.path.join(tmp, 'a-file')
        with open(afile, 'w') as f:
            f.write('x')
        for data in (os.path.join(tmp, 'missing-parent', 'data'), afile):
            rc, out, err = run(['serve', '--data', data, '--listen', '127.0.0.1:0'], timeout=30)
            assert rc == 1, (data, rc, err)
            assert 'API key' not in out, out
            rc, _, err = run(['admin', 'create-team', '--data', data, '--name', 'n', '--email',
                              'a@example.com', '--password', 'x' * 12], timeout=30)
            assert rc == 1, (data, rc, err)
    t.test('a data directory that cannot be made or is a file: serve and admin exit 1', bad_data_dir)

    # ---- environment variables and options ----

    def env_config():
        data = os.path.join(tmp, 'envcfg')
        s = Server(data=data, use_env_config=True,
                   env={'CONSIGN_PUBLIC_URL': 'https://files.example.test/', 'CONSIGN_THREADS': '2',
                        'CONSIGN_CONN_LIMIT': '50', 'CONSIGN_SHUTDOWN_TIMEOUT': '5'})
        try:
            s.start()
            b = s.bootstrap()
            assert b['curl'].endswith("https://files.example.test/v1/teams/%s/members" % b['team_id']), b['curl']
            assert os.path.exists(os.path.join(data, 'consign.db')) or os.listdir(data), os.listdir(data)
            assert os.path.exists(os.path.join(data, 'secret'))
            assert 'public URL https://files.example.test' in s.stderr_text, s.stderr_text
            s.stop()
        finally:
            s.cleanup()
    t.test('CONSIGN_DATA, CONSIGN_LISTEN, CONSIGN_PUBLIC_URL (trailing slash dropped) and friends are honoured',
           env_config)

    def flags_win():
        data = os.path.join(tmp, 'flags')
        s = Server(data=data, env={'CONSIGN_LISTEN': 'not-an-address', 'CONSIGN_DATA': os.path.join(tmp, 'wrongdir'),
                                   'CONSIGN_PUBLIC_URL': 'http://env.example.test'},
                   args=['--public-url', 'http://flag.example.test:8443', '--threads', '1'])
        try:
            s.start()
            b = s.bootstrap()
            assert b['curl'].endswith('http://flag.example.test:8443/v1/teams/%s/members' % b['team_id']), b
            assert not os.path.exists(os.path.join(tmp, 'wrongdir')), 'CONSIGN_DATA used despite --data'
            assert os.path.exists(os.path.join(data, 'secret'))
            s.stop()
        finally:
            s.cleanup()
    t.test('command-line options win over the environment', flags_win)

    def log_level():
        data = os.path.join(tmp, 'quiet')
        port = free_port()
        errp = os.path.join(tmp, 'quiet.err')
        with open(errp, 'wb') as ef:
            p = subprocess.Popen([BIN, 'serve', '--data', data, '--listen', '%s:%d' % (HOST, port),
                                  '--log-level', 'error'], stdout=subprocess.DEVNULL, stderr=ef,
                                 env=base_env())
        try:
            deadline = time.monotonic() + 30
            ok = False
            while time.monotonic() < deadline and not ok:
                try:
                    ok = request(port, 'GET', '/healthz', timeout=2).status == 200
                except OSError:
                    time.sleep(0.05)
            assert ok, 'no answer on %d' % port
            request(port, 'GET', '/nope')
            p.send_signal(signal.SIGTERM)
            assert p.wait(30) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        with open(errp) as f:
            err = f.read()
        assert sanitizer_report(err) is None, err
        assert ' INFO ' not in err and 'listening' not in err, err
    t.test('--log-level error: no INFO lines (no access log, no listening line)', log_level)

    def conn_timeout():
        s = Server(data=os.path.join(tmp, 'conntimeout'), args=['--conn-timeout', '1'])
        try:
            s.start()
            c = socket.create_connection((HOST, s.port), timeout=10)
            c.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
            time.sleep(0.2)
            first = c.recv(65536)
            assert first.startswith(b'HTTP/1.1 200'), first
            t0 = time.monotonic()
            rest = c.recv(65536)  # idle: the server must close after about a second
            waited = time.monotonic() - t0
            c.close()
            assert rest == b'', rest
            assert waited < 8, waited
            s.stop()
        finally:
            s.cleanup()
    t.test('--conn-timeout 1 closes an idle keep-alive connection', conn_timeout)

    def trust_forwarded():
        # Behind a load balancer every peer is the balancer: the address it appends to
        # X-Forwarded-For is the client (per-client limits and logs depend on it), but only
        # when the operator says every request comes through it.
        for args, env, want in (([], {}, []),
                                (['--trust-forwarded'], {}, ['2001:db8::7', '203.0.113.9']),
                                ([], {'CONSIGN_TRUST_FORWARDED': '1'},
                                 ['2001:db8::7', '203.0.113.9'])):
            s = Server(data=os.path.join(tmp, 'fwd%d' % len(os.listdir(tmp))), args=args, env=env)
            try:
                s.start()
                for value in ('198.51.100.1, 203.0.113.9', ' 2001:DB8:0::7', 'not-an-address'):
                    r = s.get('/healthz', headers={'X-Forwarded-For': value})
                    assert r.status == 200, r
                s.stop()
                # (log lines of different threads may come in any order)
                got = re.findall(r'GET /healthz 200 .* client=(\S+)', s.stderr_text)
                assert sorted(a for a in got if a != '127.0.0.1') == want, (args, env, got)
            finally:
                s.cleanup()
        rc, _, err = run(['serve', '--data', os.path.join(tmp, 'fwdbad')],
                         env={'CONSIGN_TRUST_FORWARDED': 'yes'})
        assert rc == 2 and 'CONSIGN_TRUST_FORWARDED' in err, (rc, err)
    t.test('--trust-forwarded (or CONSIGN_TRUST_FORWARDED=1) takes the client from the last '
           'X-Forwarded-For address; without it the header is ignored', trust_forwarded)

    def port_in_use_by_other():
        hold = socket.socket()
        hold.bind((HOST, 0))
        hold.listen()
        port = hold.getsockname()[1]
        try:
            rc, out, err = run(['serve', '--data', os.path.join(tmp, 'inuse1'), '--listen',
                                '%s:%d' % (HOST, port)], timeout=30)
            assert rc == 1, (rc, err)
            assert 'cannot listen' in err, err
        finally:
            hold.close()
    t.test('listening on a port another program holds: exit 1', port_in_use_by_other)

    def port_in_use_by_consign():
        a = Server(data=os.path.join(tmp, 'inuse-a'))
        b = Server(data=os.path.join(tmp, 'inuse-b'))
        try:
            a.start()
            info = a.bootstrap()
            # a second server, with another data directory, on the same port
            b.want_port = a.port
            b.start(wait=False)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and b.alive() and 'listening on' not in b.read_logs()[1]:
                time.sleep(0.05)
            if b.alive():
                wrong = 0
                for _ in range(20):
                    r = a.get('/v1/teams/%s/members' % info['team_id'], key=info['api_key'])
                    wrong += r.status != 200
                b.stop()
                raise AssertionError(
                    'a second consign started on port %d, which a running consign serves, and shares it '
                    '(SO_REUSEPORT): %d of 20 requests with the first server\'s key were answered by the '
                    'second server (401)' % (a.port, wrong))
            rc = b.proc.returncode
            err = b.read_logs()[1]
            b.proc = None
            assert rc == 1, (rc, err)
            assert 'cannot listen' in err, err
            a.stop()
        finally:
            a.cleanup()
            b.cleanup()
    t.test('listening on a port a running consign already serves: exit 1 (not silently sharing it)',
           port_in_use_by_consign)

    def worker():
        # a server that runs no jobs, and a separate `consign worker` that runs them
        s = Server(data=os.path.join(tmp, 'jobs0'), args=['--jobs', '0'])
        w = None
        try:
            s.start()
            team = make_team(s, 'worker', roles=('owner',))
            pkg = new_package(s, team['owner']['api_key'], team['team_id'])
            c = Client(s, pkg['access_token'])
            created, upload_id, bps = c.begin(pkg['id'], 'w.bin', 1)
            r = replay(s.port, bps[0], b'worker bytes')
            r = c.finalize_file(pkg['id'], created['file']['id'], upload_id,
                                [{'partNumber': 1, 'etag': r.header('etag')}], size=12)
            assert r.status == 200, r
            c.finalize(pkg['id'])
            r = c.call('DELETE', '/v1/packages/%s' % pkg['id'])
            assert r.status == 204, r
            fid = created['file']['id']
            blob = os.path.join(s.data, 'blobs', fid[-2:], fid)
            time.sleep(1.5)
            assert os.path.exists(blob), 'a server with --jobs 0 ran a job'
            rc, _, err = run(['worker', '--data', s.data, '--jobs', '0'])
            assert rc == 2 and 'at least 1' in err, (rc, err)
            w = subprocess.Popen([BIN, 'worker', '--data', s.data, '--public-url',
                                  'http://%s:%d' % (HOST, s.port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=base_env(), text=True)
            eventually(lambda: not os.path.exists(blob), what='the worker removing the bytes')
            w.send_signal(signal.SIGTERM)
            _, err = w.communicate(timeout=60)
            assert w.returncode == 0 and sanitizer_report(err) is None, (w.returncode, err)
            assert 'worker: 2 job workers' in err, err
            w = None
            s.stop()
        finally:
            if w is not None:
                w.kill()
                w.wait()
            s.cleanup()
    t.test('consign worker runs the jobs of servers started with --jobs 0 (a deleted package\'s '
           'bytes go), stops on SIGTERM with exit 0; --jobs 0 is refused there', worker)


if __name__ == '__main__':
    main_guard(Tap(), main)
