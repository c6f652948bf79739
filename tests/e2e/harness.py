# SPDX-License-Identifier: AGPL-3.0-or-later
"""Shared code of the end-to-end tests: they run the real consign binary (CONSIGN_BIN).

- Tap: numbered TAP test points; each test is a function, a failed assert is a `not ok`.
- Server: starts `consign serve` on a free port of 127.0.0.1 with a temporary data directory,
  waits for /healthz, and stops it with SIGTERM, checking that it exits 0 and that its stderr
  carries no sanitizer report.
- request(): one request on a fresh connection; returns (status, headers, parsed JSON body).
- admin(): runs `consign admin ...` and parses the JSON it prints.
- Client and its helpers: the MASV upload protocol (package, file, create blueprint, part
  windows, parts, finalize) and downloads through blueprints.

With CONSIGN_E2E_SCALE=1 a Server is the scale-out deployment instead: two `consign serve`
processes, each with a data directory of its own, sharing one database and one byte store,
behind nginx balancing requests between them round robin (each request of this harness is a new
connection, so consecutive requests alternate: an upload started on one server finishes on the
other). The database is a new PostgreSQL database on the server of CONSIGN_TEST_DATABASE, and
the bytes a new bucket of the S3 store of CONSIGN_TEST_S3, when those are set; without them both
processes share the SQLite database and files of one data directory.
Standard library only.
"""
import hashlib
import http.client as httpclient
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

BIN = os.environ.get('CONSIGN_BIN') or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build-san', 'consign')
HOST = '127.0.0.1'
SANITIZER_MARKERS = ('AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'ThreadSanitizer')
ROLES = ('owner', 'admin', 'member', 'guest', 'integration_manager')
SCALE = os.environ.get('CONSIGN_E2E_SCALE') == '1'
# File bytes in an object store: clients reach it with its own pre-signed URLs.
DIRECT = SCALE and bool(os.environ.get('CONSIGN_TEST_S3'))
NGINX = '/usr/sbin/nginx'
PASSWORD = 'correct horse battery'


def base_env(extra=None):
    """The environment for a consign process: none of the CONSIGN_* settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('CONSIGN_')}
    env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:halt_on_error=1')
    env.setdefault('UBSAN_OPTIONS', 'halt_on_error=1:print_stacktrace=1')
    if extra:
        env.update(extra)
    return env


def sanitizer_report(text):
    """The first sanitizer marker found in @text, or None."""
    for m in SANITIZER_MARKERS:
        if m in text:
            return m
    return None


def run(args, env=None, timeout=60, input=None):
    """Runs consign with @args; returns (exit code, stdout, stderr) as text."""
    p = subprocess.run([BIN] + list(args), env=base_env(env), capture_output=True, text=True,
                       timeout=timeout, input=input)
    rep = sanitizer_report(p.stderr)
    assert rep is None, 'sanitizer report (%s) from consign %s:\n%s' % (rep, ' '.join(args), p.stderr)
    return p.returncode, p.stdout, p.stderr


def admin(*args, env=None):
    """Runs `consign admin ARGS`; returns (exit code, parsed JSON or None, stderr)."""
    rc, out, err = run(['admin'] + list(args), env=env)
    doc = None
    if rc == 0:
        lines = [l for l in out.splitlines() if l.strip()]
        assert len(lines) == 1, 'admin printed %r' % out
        doc = json.loads(lines[0])
    return rc, doc, err


def admin_ok(*args, env=None):
    rc, doc, err = admin(*args, env=env)
    assert rc == 0, 'consign admin %s exited %d: %s' % (' '.join(args), rc, err)
    return doc


class Response:
    """An HTTP answer: status, headers (case-insensitive lookups), raw body and parsed JSON."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.json = None
        if raw:
            try:
                self.json = json.loads(raw)
            except ValueError:
                self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    # Allows `status, headers, body = resp`.
    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    def __repr__(self):
        return 'Response(%d, %r)' % (self.status, self.raw[:400])


def request(port, method, path, body=None, headers=None, raw=None, timeout=30):
    """One request on a new connection. @body is JSON-encoded; @raw is sent as it is."""
    conn = httpclient.HTTPConnection(HOST, port, timeout=timeout)
    hdrs = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault('Content-Type', 'application/json')
    if isinstance(data, str):
        data = data.encode()
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw_body = r.read()
        hs = {}
        for k, v in r.getheaders():
            k = k.lower()
            hs[k] = hs[k] + ', ' + v if k in hs else v
        return Response(r.status, hs, raw_body)
    finally:
        conn.close()


def _complete(data):
    """True when @data holds a whole final response (interim 1xx answers are skipped)."""
    while True:
        head, sep, body = data.partition(b'\r\n\r\n')
        if not sep:
            return False
        status, hs, _ = parse_raw_response(head + sep)
        if 100 <= status < 200:
            data = body
            continue
        if status in (204, 304):
            return True
        if 'content-length' in hs:
            return len(body) >= int(hs['content-length'])
        return False


def raw_exchange(port, data, timeout=10, half_close=False, pause=0):
    """Sends raw bytes on a new connection and returns what comes back, until a whole response
    is in, the server closes the connection, or @timeout passes (b'' on a reset).
    @data may be a list of byte strings, sent with @pause seconds between them."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        parts = data if isinstance(data, list) else [data]
        for i, part in enumerate(parts):
            if i and pause:
                time.sleep(pause)
            try:
                s.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
        if half_close:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        return read_response(s, timeout)
    finally:
        s.close()


def read_response(s, timeout=10):
    """What comes back on socket @s until a whole response is in, the server closes the
    connection, or @timeout passes (b'' on a reset)."""
    out = b''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout, OSError):
            break
        if not chunk:
            break
        out += chunk
        if _complete(out):
            break
    return out


def final_response(data):
    """The final (non-1xx) response of raw bytes, parsed as parse_raw_response() does."""
    while True:
        status, hs, body = parse_raw_response(data)
        if 100 <= status < 200:
            data = data.partition(b'\r\n\r\n')[2]
            continue
        return status, hs, body


def parse_raw_response(data):
    """(status, headers dict lowercased, body bytes) of a raw HTTP/1.1 response; status 0 when
    nothing came back."""
    if not data:
        return 0, {}, b''
    head, _, body = data.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    m = re.match(r'HTTP/1\.[01] (\d{3})', lines[0])
    status = int(m.group(1)) if m else 0
    hs = {}
    for l in lines[1:]:
        k, _, v = l.partition(':')
        hs[k.strip().lower()] = v.strip()
    if 'content-length' in hs:
        body = body[:int(hs['content-length'])]
    return status, hs, body


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """A consign server on 127.0.0.1 with its own data directory (temporary unless given); with
    SCALE, two servers behind a load balancer (see the module's documentation)."""

    def __init__(self, data=None, env=None, args=(), port=0, use_env_config=False):
        self.tmp = None
        if data is None:
            self.tmp = tempfile.mkdtemp(prefix='consign-e2e-')
            data = os.path.join(self.tmp, 'data')
            os.mkdir(data)
        self.data = data
        self.env = dict(env or {})
        self.args = list(args)
        self.want_port = port
        self.use_env_config = use_env_config
        self.proc = None
        self.port = None
        self.stdout_text = ''
        self.stderr_text = ''
        self.logdir = tempfile.mkdtemp(prefix='consign-e2e-log-')
        self.starts = 0
        self.store_args = ['--data', self.data]
        self.others = []  # with SCALE: the second server, a Server of its own
        self.balancer = None
        if SCALE:
            self._scale_out()

    # -- the scale-out deployment --

    def _scale_out(self):
        """Gives this server a new database and bucket (when configured) and a twin."""
        name = unique('e2e').replace('-', '').lower()
        url = os.environ.get('CONSIGN_TEST_DATABASE')
        # Under make test the services must be there: never a silent fall back to SQLite.
        if os.environ.get('CONSIGN_E2E_NEED_SERVICES') == '1':
            assert url and os.environ.get('CONSIGN_TEST_S3'), (
                'the scale-out tests need PostgreSQL and an S3 store (CONSIGN_TEST_DATABASE, '
                'CONSIGN_TEST_S3): tests/run.sh starts them')
        if url:
            subprocess.run(['psql', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c',
                            'CREATE DATABASE %s' % name], check=True, capture_output=True)
            u = urllib.parse.urlsplit(url)
            self.store_args = ['--database', urllib.parse.urlunsplit(
                (u.scheme, u.netloc, '/' + name, u.query, ''))]
            self.args += self.store_args
        s3 = os.environ.get('CONSIGN_TEST_S3')
        if s3:
            u = urllib.parse.urlsplit(s3)
            self.args += ['--storage', urllib.parse.urlunsplit(
                (u.scheme, name.replace('_', '-'), u.path, u.query, ''))]
        self.env.setdefault('CONSIGN_SECRET', 'e2e-shared-secret-' + 'x' * 32)
        self.balanced_port = free_port() if not self.want_port else self.want_port
        self.args += ['--public-url', 'http://%s:%d' % (HOST, self.balanced_port),
                      '--trust-forwarded']
        twin_data = os.path.join(self.tmp or tempfile.mkdtemp(prefix='consign-e2e-'), 'twin')
        if not url:
            twin_data = self.data  # SQLite: one database file, shared
        else:
            os.makedirs(twin_data, exist_ok=True)
        twin = Server.__new__(Server)
        twin.__dict__.update(self.__dict__)
        twin.data = twin_data
        twin.tmp = None
        twin.others = []
        twin.logdir = tempfile.mkdtemp(prefix='consign-e2e-log-')
        twin.want_port = 0
        self.others = [twin]
        self.want_port = 0

    def _balance(self):
        """nginx in front of this server and its twin, as the README tells operators to set it
        up for large uploads: no buffering of requests or answers, long timeouts, no retry of a
        request on the other server."""
        conf_dir = tempfile.mkdtemp(prefix='consign-e2e-nginx-')
        backends = ''.join('    server %s:%d;\n' % (HOST, s.port) for s in [self] + self.others)
        conf = os.path.join(conf_dir, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write("""worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %(d)s; proxy_temp_path %(d)s; fastcgi_temp_path %(d)s;
  uwsgi_temp_path %(d)s; scgi_temp_path %(d)s;
  upstream consign {
%(backends)s  }
  server {
    listen %(host)s:%(port)d;
    client_max_body_size 0;
    location / {
      proxy_pass http://consign;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_next_upstream off;
    }
  }
}
""" % {'d': conf_dir, 'backends': backends, 'host': HOST, 'port': self.balanced_port})
        self.balancer = subprocess.Popen([NGINX, '-c', conf, '-p', conf_dir],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.balancer_dir = conf_dir
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if request(self.balanced_port, 'GET', '/healthz', timeout=5).status == 200:
                    return
            except OSError:
                pass
            if self.balancer.poll() is not None:
                raise AssertionError('nginx exited: %s' % self.balancer.stderr.read())
            time.sleep(0.05)
        raise AssertionError('nginx did not answer in 10s')

    # -- lifecycle --

    def start(self, wait=True, timeout=30):
        self._start_one(wait, timeout)
        if self.others:
            for o in self.others:
                o._start_one(True, timeout)
            if self.port is None:
                self.wait_ready(timeout)
            self.backend_port = self.port
            self._balance()
            self.port = self.balanced_port
        return self

    def _start_one(self, wait, timeout):
        self.starts += 1
        self.out_path = os.path.join(self.logdir, 'stdout.%d' % self.starts)
        self.err_path = os.path.join(self.logdir, 'stderr.%d' % self.starts)
        listen = '%s:%d' % (HOST, self.want_port)
        env = dict(self.env)
        if self.use_env_config:
            env.setdefault('CONSIGN_DATA', self.data)
            env.setdefault('CONSIGN_LISTEN', listen)
            argv = [BIN, 'serve'] + self.args
        else:
            argv = [BIN, 'serve', '--data', self.data, '--listen', listen] + self.args
        with open(self.out_path, 'wb') as out, open(self.err_path, 'wb') as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=base_env(env))
        if wait:
            self.wait_ready(timeout)

    def read_logs(self):
        with open(self.out_path, 'r', errors='replace') as f:
            self.stdout_text = f.read()
        with open(self.err_path, 'r', errors='replace') as f:
            self.stderr_text = f.read()
        return self.stdout_text, self.stderr_text

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, err = self.read_logs()
            m = re.search(r'listening on 127\.0\.0\.1:(\d+)', err)
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise AssertionError('consign serve exited %d before listening:\n%s'
                                     % (self.proc.returncode, err))
            time.sleep(0.02)
        else:
            raise AssertionError('consign serve did not log "listening on" in %ds' % timeout)
        while time.monotonic() < deadline:
            try:
                r = self.get('/healthz', timeout=5)
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError('/healthz did not answer 200 in %ds' % timeout)

    def send_signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError('consign serve did not exit within %ds of SIGTERM' % timeout)

    def stop(self, timeout=60, sig=signal.SIGTERM):
        """SIGTERM, then asserts exit code 0 and no sanitizer report. Returns the exit code. The
        wait is longer than the server's own --shutdown-timeout (30 s), which it may use up
        finishing requests in flight on a loaded machine."""
        balanced = self.balancer is not None
        self._stop_balancer()
        for o in self.others:
            o.stop(timeout, sig)
            # Both servers must have answered: otherwise the run proved nothing about two.
            assert not balanced or ' http rid=' in o.stderr_text, (
                'the second server answered no request')
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        self.proc = None
        _, err = self.read_logs()
        rep = sanitizer_report(err)
        assert rep is None, 'sanitizer report (%s) in server stderr:\n%s' % (rep, err[-6000:])
        assert rc == 0, 'consign serve exited %d after SIGTERM; stderr:\n%s' % (rc, err[-3000:])
        return rc

    def _stop_balancer(self):
        if self.balancer is not None:
            self.balancer.terminate()
            self.balancer.wait()
            self.balancer = None
            shutil.rmtree(self.balancer_dir, ignore_errors=True)
            self.port = self.backend_port

    def kill(self):
        self._stop_balancer()
        for o in self.others:
            o.kill()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.kill()
        for o in self.others:
            o.cleanup()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.logdir, ignore_errors=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signing_secret(self):
        """The key the server signs tokens with: SHA-256 of CONSIGN_SECRET when that is set,
        else the bytes of DIR/secret."""
        if 'CONSIGN_SECRET' in self.env:
            return hashlib.sha256(self.env['CONSIGN_SECRET'].encode()).digest()
        with open(os.path.join(self.data, 'secret')) as f:
            return bytes.fromhex(f.read().strip())

    # -- the first-start block --

    def bootstrap(self):
        """The credentials printed on first start: dict with team_id, email, password, api_key,
        curl (the suggested command line)."""
        out, _ = self.read_logs()
        info = {}
        for key, pat in (('team_id', r'team id\s+(\S+)'), ('email', r'e-mail\s+(\S+)'),
                         ('password', r'password\s+(\S+)'), ('api_key', r'API key\s+(\S+)')):
            m = re.search(pat, out)
            if m:
                info[key] = m.group(1)
        m = re.search(r'^\s*(curl .*)$', out, re.M)
        if m:
            info['curl'] = m.group(1).strip()
        return info

    # -- requests --

    def req(self, method, path, body=None, key=None, token=None, headers=None, raw=None,
            timeout=30):
        hdrs = dict(headers or {})
        if key is not None:
            hdrs['X-API-KEY'] = key
        if token is not None:
            hdrs['X-User-Token'] = token
        return request(self.port, method, path, body=body, headers=hdrs, raw=raw, timeout=timeout)

    def get(self, path, **kw):
        return self.req('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.req('POST', path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.req('PUT', path, body=body, **kw)

    def delete(self, path, **kw):
        return self.req('DELETE', path, **kw)

    def login(self, email, password=PASSWORD):
        r = self.post('/v1/auth', {'email': email, 'password': password})
        assert r.status == 200, 'login of %s: %r' % (email, r)
        return r.json['token']

    def admin(self, *args):
        return admin(*args, *self.store_args)

    def create_team(self, name, email, password=PASSWORD):
        return admin_ok('create-team', *self.store_args, '--name', name, '--email', email,
                        '--password', password)

    def add_member(self, team, email, role, password=PASSWORD):
        return admin_ok('add-member', *self.store_args, '--team', team, '--email', email,
                        '--password', password, '--role', role)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def raw_response(data):
    """A Response made from raw bytes (see raw_exchange())."""
    status, hs, body = final_response(data)
    return Response(status, hs, body)


_unique = [0]


def unique(prefix='u'):
    """A name no other call of this process returns."""
    _unique[0] += 1
    return '%s%d-%d' % (prefix, os.getpid(), _unique[0])


def make_team(server, label, roles=ROLES):
    """A team made with the admin CLI: owner (create-team) plus one member per role in @roles
    (besides owner). Returns {'team_id', role: {'email', 'user_id', 'membership_id', 'api_key'}}."""
    tag = unique(label).lower()
    owner_email = 'owner-%s@example.com' % tag
    t = server.create_team('Team %s' % tag, owner_email)
    team = {'team_id': t['team_id'], 'name': 'Team %s' % tag,
            'owner': {'email': owner_email, 'user_id': t['user_id'],
                      'membership_id': t['membership_id'], 'api_key': t['api_key']}}
    for role in roles:
        if role == 'owner':
            continue
        email = '%s-%s@example.com' % (role.replace('_', '-'), tag)
        m = server.add_member(t['team_id'], email, role)
        team[role] = {'email': email, 'user_id': m['user_id'],
                      'membership_id': m['membership_id'], 'api_key': m['api_key']}
    return team


# ---- the MASV upload protocol ----

MIB = 1 << 20


def split_url(url):
    """(port, path with query) of a blueprint URL: this server's, or the object store's (both
    on 127.0.0.1 in tests)."""
    u = urllib.parse.urlsplit(url)
    assert u.hostname == HOST, url
    return u.port or 80, u.path + ('?' + u.query if u.query else '')


def replay(port, bp, data=None, headers=None):
    """Sends a blueprint as a client would: its method, URL, headers and body."""
    hdrs = dict(bp.get('headers') or {})
    hdrs.update(headers or {})
    body = data if data is not None else (bp.get('body') or '').encode()
    to, path = split_url(bp['url'])
    return request(to, bp['method'], path, raw=body, headers=hdrs, timeout=120)


def upload_id_of(xml):
    text = xml.decode()
    assert text.index('<Bucket>') < text.index('<Key>') < text.index('<UploadId>'), text
    return text.split('<UploadId>')[1].split('</UploadId>')[0]


def new_package(srv, key, team, name='Dailies'):
    r = srv.post('/v1/teams/%s/packages' % team, {'name': name, 'description': 'cut 3',
                                                   'recipients': ['editor@example.com']}, key=key)
    assert r.status == 201, r
    return r.json


def download(port, bp, headers=None):
    assert bp['method'] == 'GET' and bp['headers'] == {}, bp
    to, path = split_url(bp['url'])
    return request(to, 'GET', path, headers=headers, timeout=120)


class Client:
    """A MASV client with one package's token."""

    def __init__(self, srv, token):
        self.srv = srv
        self.token = token

    def call(self, method, path, body=None, token=None, headers=None):
        hdrs = {'X-Package-Token': token or self.token}
        hdrs.update(headers or {})
        return self.srv.req(method, path, body=body, headers=hdrs)

    def add_file(self, pid, name, path='', **extra):
        body = {'kind': 'file', 'name': name, 'path': path}
        body.update(extra)
        r = self.call('POST', '/v1/packages/%s/files' % pid, body)
        assert r.status == 201, r
        return r.json

    def initiate(self, created):
        """Replays the create blueprint of an added file; returns the UploadId."""
        r = replay(self.srv.port, created['create_blueprint'])
        assert r.status == 200, r
        return upload_id_of(r.raw)

    def blueprints(self, pid, fid, upload_id, count, start=0):
        """The part blueprints of parts start + 1 to start + count."""
        r = self.call('POST', '/v1/packages/%s/files/%s?start=%d&count=%d' % (pid, fid, start, count),
                      {'upload_id': upload_id})
        assert r.status == 200 and len(r.json) == count, r
        return r.json

    def begin(self, pid, name, parts, path='', **extra):
        """Adds a file, initiates its upload and gets the blueprints of parts 1 to @parts:
        (the answer to the file's creation, the UploadId, the blueprints)."""
        created = self.add_file(pid, name, path, **extra)
        upload_id = self.initiate(created)
        return created, upload_id, self.blueprints(pid, created['file']['id'], upload_id, parts)

    def finalize_file(self, pid, fid, upload_id, extras, **fields):
        """POST files/{id}/finalize with @extras as chunk_extras; the Response, unchecked."""
        body = {'chunk_extras': extras, 'file_extras': {'upload_id': upload_id}}
        body.update(fields)
        return self.call('POST', '/v1/packages/%s/files/%s/finalize' % (pid, fid), body)

    def finalize(self, pid):
        """Finalizes the package; the package object."""
        r = self.call('POST', '/v1/packages/%s/finalize' % pid)
        assert r.status == 200 and r.json['state'] == 'finalized', r
        return r.json

    def fetch(self, pid, fid, token=None):
        """Downloads file (or zip_mac, zip_windows) @fid through its download blueprint."""
        r = self.call('GET', '/v1/packages/%s/files/%s/download' % (pid, fid), token=token)
        assert r.status == 200, r
        return download(self.srv.port, r.json)


# ---- checks ----

def eventually(check, timeout=15, what='the condition'):
    """Calls @check() until it is true (background work: a job removing bytes), at most
    @timeout seconds; asserts it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        assert time.monotonic() < deadline, '%s did not happen in %ds' % (what, timeout)
        time.sleep(0.05)


def is_error(r, status, err_code=None, headers=True):
    """Asserts @r is the JSON error of @status (and of registry code @err_code, when given)."""
    assert r.status == status, 'expected %d, got %r' % (status, r)
    ct = r.header('content-type') or ''
    assert ct.startswith('application/json'), 'error Content-Type %r (%r)' % (ct, r)
    j = r.json
    assert isinstance(j, dict), 'error body is not a JSON object: %r' % r
    assert j.get('code') == status, 'error body code %r, want %d' % (j.get('code'), status)
    assert isinstance(j.get('message'), str) and j['message'], 'error message: %r' % j
    errs = j.get('errors')
    assert isinstance(errs, list) and len(errs) >= 1, 'errors[]: %r' % j
    for e in errs:
        assert isinstance(e, dict), j
        assert isinstance(e.get('code'), int) and not isinstance(e.get('code'), bool), j
        assert isinstance(e.get('msg'), str) and e['msg'], j
        assert isinstance(e.get('type'), str) and e['type'], j
    if err_code is not None:
        assert errs[0]['code'] == err_code, 'registry code %r, want %d: %r' % (
            errs[0]['code'], err_code, j)
    if headers:
        common_headers(r)
    return j


def common_headers(r):
    assert r.header('access-control-allow-origin') == '*', 'no CORS origin header: %r' % r.headers
    assert r.header('x-request-id'), 'no X-Request-Id: %r' % r.headers


ISO_RE = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$')
ID_RE = re.compile(r'^[0-7][0-9A-HJKMNP-TV-Z]{25}$')


def is_iso(s):
    return isinstance(s, str) and ISO_RE.match(s) is not None


def is_id(s):
    return isinstance(s, str) and ID_RE.match(s) is not None


# ---- TAP ----

class Tap:
    """Collects TAP test points. `t.test(fn)` runs fn and reports ok / not ok."""

    def __init__(self):
        self.n = 0
        self.failed = []
        self.started = time.monotonic()

    def point(self, ok, desc, diag=None, todo=None):
        """One test point. A failed point with @todo (a known bug of the server, not fixed yet) is
        reported as `not ok ... # TODO @todo`, which TAP counts as an expected failure."""
        self.n += 1
        desc = desc.replace('\n', ' ').replace('#', '')
        directive = ' # TODO ' + todo.replace('\n', ' ').replace('#', '') if todo and not ok else ''
        print('%s %d - %s%s' % ('ok' if ok else 'not ok', self.n, desc, directive), flush=True)
        if not ok:
            if not todo:
                self.failed.append(desc)
            if diag:
                for line in diag.rstrip().splitlines():
                    print('# ' + line, flush=True)
                # stderr too, so that `meson test --print-errorlogs` shows why
                print('not ok %d - %s%s\n%s' % (self.n, desc, directive, diag.rstrip()),
                      file=sys.stderr, flush=True)

    def test(self, desc, fn, *args, todo=None, **kw):
        """Runs fn(*args, **kw) as one test point; @todo: see point()."""
        try:
            fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 - any failure is a failed test point
            tb = traceback.format_exc()
            self.point(False, desc, tb + ('\n' + str(e) if str(e) not in tb else ''), todo)
            return False
        self.point(True, desc)
        return True

    def done(self):
        print('1..%d' % self.n, flush=True)
        print('# %d failed, %.1fs' % (len(self.failed), time.monotonic() - self.started),
              flush=True)
        sys.exit(1 if self.failed else 0)


def with_server(t, body, args=()):
    """Starts a server (with the extra serve @args), runs @body(t, server), then checks that it
    stops cleanly on SIGTERM (exit 0, no sanitizer report) and removes its data."""
    srv = Server(args=args)
    try:
        srv.start()
        body(t, srv)
    finally:
        if not t.test('server stops on SIGTERM with exit 0 and no sanitizer report', srv.stop):
            srv.kill()
        srv.cleanup()


def with_server_no_5xx(t, body, args=()):
    """with_server(), and a test point that no request @body made was answered with a 5xx
    status: bad input must never be a server error."""
    def counting(tt, srv):
        fives = []
        plain_req = srv.req

        def req(*a, **kw):
            r = plain_req(*a, **kw)
            if r.status >= 500:
                fives.append('%s %s -> %r' % (a[0], a[1], r))
            return r
        srv.req = req
        body(tt, srv)

        def no_5xx():
            assert not fives, '%d answers of 5xx:\n%s' % (len(fives), '\n'.join(fives))
        tt.test('no request of this script was answered with a 5xx status', no_5xx)
    with_server(t, counting, args)


def main_guard(tap, body):
    """Runs @body(tap), turning an unexpected exception into a failed point, then tap.done()."""
    try:
        body(tap)
    except Exception:  # noqa: BLE001
        tap.point(False, 'unexpected error in the test script', traceback.format_exc())
    tap.done()
