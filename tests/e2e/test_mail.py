#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Mail when a package is finalized: each recipient gets one message from the sender with a
download link of their own, through a real SMTP server on loopback (aiosmtpd, Debian's
python3-aiosmtpd) or, without --smtp-url, as .eml files in DATA/mail. Checks what arrives
(envelope, From, Reply-To, To, Subject, both MIME parts, with Python's email parser), that the
link resolves and downloads the file, that nothing is sent twice (finalize again, a restart,
two servers on one database in the scale-out run), and that delivery retries a 4xx and gives up
on a 5xx. Time is moved through the clock file (CONSIGN_CLOCK_FILE), never waited for."""
import collections
import email
import email.policy
import email.utils
import os
import re
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HOST, SCALE, Client, Server, Tap, eventually, free_port,  # noqa: E402
                     is_error, main_guard, make_team, replay)

try:
    from aiosmtpd.controller import Controller
except ImportError:  # a Python of its own (pyenv, a venv) next to Debian's python3-aiosmtpd
    sys.path.append('/usr/lib/python3/dist-packages')
    from aiosmtpd.controller import Controller

SECOND = 1000
LINK_RE = re.compile(r'(http://[^\s"<>]+/download/([0-7][0-9A-HJKMNP-TV-Z]{25})\?secret=([A-Za-z0-9_-]{43}))')
NAME = 'Rushes \u2014 d\u00eda 3 \u00abΩmega\u00bb'


class Sink:
    """The SMTP server's handler: keeps every message it accepts; a recipient with codes in
    `answers` gets the next of them to its RCPT instead of a 250."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []  # (envelope sender, envelope recipients, raw bytes)
        self.answers = {}
        self.rcpt_attempts = collections.Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_attempts[address] += 1
            queued = self.answers.get(address)
            if queued:
                return queued.pop(0)
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content or envelope.content))
        return '250 2.0.0 Queued'

    def to(self, rcpt):
        with self.lock:
            return [m for m in self.messages if rcpt in m[1]]


class Clock:
    def __init__(self):
        self.path = tempfile.NamedTemporaryFile(prefix='consign-clock-', delete=False).name
        self.ms = 0
        self.move(0)

    def move(self, ms):
        """Moves the servers' clock @ms further (and gives them time to see it)."""
        self.ms += ms
        with open(self.path, 'w') as f:
            f.write('%d\n' % self.ms)
        time.sleep(0.2)


def parse(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        assert not part.defects, 'defects in the message: %r\n%s' % (part.defects, raw[:3000])
    return msg


def parts(msg):
    """(text, html) of a multipart/alternative message, decoded, with "\\n" line ends."""
    assert msg.get_content_type() == 'multipart/alternative', msg.get_content_type()
    kinds = {p.get_content_type(): p for p in msg.iter_parts()}
    assert set(kinds) == {'text/plain', 'text/html'}, list(kinds)
    for p in kinds.values():
        assert p.get_content_charset() == 'utf-8', p.get_content_charset()
    return tuple(kinds[k].get_content().replace('\r\n', '\n') for k in ('text/plain', 'text/html'))


def uploaded(srv, key, team_id, recipients, **extra):
    """A package to @recipients with one file in it, not finalized: (package, client, file id,
    the file's bytes)."""
    body = {'name': NAME, 'description': 'Cut 3\nwith <notes> & more', 'recipients': recipients}
    body.update(extra)
    r = srv.post('/v1/teams/%s/packages' % team_id, body, key=key)
    assert r.status == 201, r
    pkg = r.json
    c = Client(srv, pkg['access_token'])
    data = os.urandom(3000)
    created, upload_id, bps = c.begin(pkg['id'], 'reel.bin', 1)
    r = replay(srv.port, bps[0], data)
    assert r.status == 200, r
    r = c.finalize_file(pkg['id'], created['file']['id'], upload_id,
                        [{'partNumber': 1, 'etag': r.header('etag')}], size=len(data))
    assert r.status == 200, r
    return pkg, c, created['file']['id'], data


def check_link(srv, pkg, fid, data, text, html, rcpt, password=None):
    """The message's link (in both parts) is the recipient's, resolves and downloads the file."""
    found = LINK_RE.findall(text)
    assert len(found) == 1, 'one link in the text: %r' % text
    url, link_id, secret = found[0]
    assert url in html.replace('&amp;', '&'), 'the HTML part carries the same link'
    assert url.startswith('http://%s:%d/' % (HOST, srv.port)), (url, srv.port)
    # The link opens the download page, which resolves it through the API.
    page = srv.get('/' + url.split('/', 3)[3])
    assert page.status == 200 and b'download.js' in page.raw, page
    path = 'v1/links/%s?secret=%s' % (link_id, secret)
    if password:
        is_error(srv.get('/' + path), 401)
    r = srv.get('/' + path, headers={'X-Link-Password': password} if password else None)
    assert r.status == 200, r
    assert r.json['recipient_email'] == rcpt and r.json['package_id'] == pkg['id'], r.json
    got = Client(srv, r.json['package_token']).fetch(pkg['id'], fid)
    assert got.status == 200 and got.raw == data, 'the download through the link'
    return link_id


def logs(srv):
    out = []
    for s in [srv] + srv.others:
        out.append(s.read_logs()[1])
    return '\n'.join(out)


def smtp(t):
    sink = Sink()
    ctl = Controller(sink, hostname=HOST, port=free_port())
    ctl.start()
    clock = Clock()
    srv = Server(env={'CONSIGN_CLOCK_FILE': clock.path},
                 args=['--smtp-url', 'smtp://%s:%d' % (HOST, ctl.port),
                       '--mail-from', 'transfers@consign.example'])
    st = {}
    try:
        srv.start()
        team = make_team(srv, 'mail', roles=('owner',))
        owner = team['owner']
        key, tid = owner['api_key'], team['team_id']
        rcpts = ['ann@example.com', 'bjorn@example.org']

        def delivered():
            pkg, c, fid, data = uploaded(srv, key, tid, ['Ann@Example.com', {'email': rcpts[1]}],
                                         access_limit=5)
            st.update(pkg=pkg, c=c, fid=fid, data=data)
            assert not sink.messages, 'nothing is sent before the package is finalized'
            c.finalize(pkg['id'])
            eventually(lambda: all(len(sink.to(r)) >= 1 for r in rcpts), timeout=30,
                       what='a message to each recipient')
            time.sleep(1.5)  # a second message would come now
            sender = owner['email'].split('@')[0]
            ids, links = set(), set()
            for r in rcpts:
                got = sink.to(r)
                assert len(got) == 1, '%d messages to %s' % (len(got), r)
                mail_from, rcpt_tos, raw = got[0]
                assert mail_from == 'transfers@consign.example' and rcpt_tos == [r], got[0][:2]
                msg = parse(raw)
                frm = msg['From'].addresses
                assert len(frm) == 1 and frm[0].addr_spec == 'transfers@consign.example', frm
                assert frm[0].display_name == sender, frm
                assert [a.addr_spec for a in msg['Reply-To'].addresses] == [owner['email']]
                assert [a.addr_spec for a in msg['To'].addresses] == [r], msg['To']
                assert msg['Cc'] is None and msg['Bcc'] is None
                assert msg['Subject'] == '%s sent you "%s"' % (sender, NAME), msg['Subject']
                assert b'=?UTF-8?B?' in raw.split(b'\r\n\r\n')[0], 'the subject is encoded'
                assert email.utils.parsedate_to_datetime(msg['Date']) is not None
                assert re.match(r'^<[0-9A-Z]{26}@consign\.example>$', msg['Message-ID']), \
                    msg['Message-ID']
                ids.add(msg['Message-ID'])
                assert max(len(line) for line in raw.split(b'\r\n')) <= 998
                text, html = parts(msg)
                assert NAME in text and 'Cut 3\nwith <notes> & more' in text, text
                assert '&lt;notes&gt; &amp; more' in html and '<notes>' not in html, html
                assert 'opened 5 times' in text, 'the access limit is told'
                links.add(check_link(srv, pkg, fid, data, text, html, r))
            assert len(ids) == 2 and len(links) == 2, 'a message and a link of its own each'
            r = c.call('GET', '/v1/packages/%s/links' % pkg['id'])
            assert r.status == 200, r
            mine = {l['id']: l for l in r.json}
            assert set(mine) == links, (set(mine), links)
            assert sorted(l['email'] for l in mine.values()) == rcpts
            assert all(l['access_limit'] == 5 and l['active'] for l in mine.values()), mine
            assert all('download_secret' not in l for l in mine.values())
        t.test('finalize sends each recipient one message through SMTP: envelope, From (the '
               'sender\'s name, the configured address), Reply-To (the sender), To, an encoded '
               'non-ASCII subject, Date, Message-ID, text and HTML parts that parse cleanly; the '
               'link in it is the recipient\'s own, resolves and downloads the file', delivered)

        def once():
            pkg, c = st['pkg'], st['c']
            r = c.call('POST', '/v1/packages/%s/finalize' % pkg['id'])
            assert r.status == 200 and r.json['state'] == 'finalized', r
            time.sleep(2)
            for r in rcpts:
                assert len(sink.to(r)) == 1, 'finalizing again sent %s another' % r
            srv.stop()
            srv.start()
            time.sleep(2.5)
            for r in rcpts:
                assert len(sink.to(r)) == 1, 'the restart sent %s another' % r
        t.test('finalizing again, and a restart, send nothing more%s' %
               (' (two servers on one database)' if SCALE else ''), once)

        def retry():
            sink.answers['later@example.com'] = ['451 4.7.1 Greylisted, try again later']
            sink.answers['gone@example.com'] = ['550 5.1.1 No such mailbox']
            pkg, c, fid, data = uploaded(srv, key, tid, ['later@example.com', 'gone@example.com'])
            c.finalize(pkg['id'])
            eventually(lambda: sink.rcpt_attempts['later@example.com'] == 1 and
                       sink.rcpt_attempts['gone@example.com'] == 1, timeout=30,
                       what='the first attempts')
            time.sleep(1.5)
            assert not sink.to('later@example.com') and not sink.to('gone@example.com')
            assert sink.rcpt_attempts['later@example.com'] == 1, 'retried before the backoff'
            clock.move(60 * SECOND)  # past the first backoff (5 s)
            eventually(lambda: len(sink.to('later@example.com')) == 1, timeout=30,
                       what='the message after a 451')
            assert sink.rcpt_attempts['later@example.com'] == 2
            text, html = parts(parse(sink.to('later@example.com')[0][2]))
            check_link(srv, pkg, fid, data, text, html, 'later@example.com')
            clock.move(86400 * SECOND)
            time.sleep(2.5)
            assert sink.rcpt_attempts['gone@example.com'] == 1, 'a 550 is final: no retry'
            assert not sink.to('gone@example.com') and len(sink.to('later@example.com')) == 1
            assert re.search(r'mail\.send\) failed after 1 attempts: the SMTP server answered 550',
                             logs(srv)), 'the failure is logged'
        t.test('a 451 is retried after the backoff (the clock moved, not waited for) and arrives '
               'once; a 550 fails the job at once, logged, and is never tried again', retry)
    finally:
        if not t.test('the server stops on SIGTERM with exit 0 and no sanitizer report', srv.stop):
            srv.kill()
        srv.cleanup()
        ctl.stop()
        os.unlink(clock.path)


def eml(t):
    srv = Server()
    try:
        srv.start()
        team = make_team(srv, 'eml', roles=('owner',))
        owner = team['owner']
        rcpts = ['cleo@example.com', 'dev@example.net']

        def files():
            out = {}
            for s in [srv] + srv.others:
                d = os.path.join(s.data, 'mail')
                for n in os.listdir(d) if os.path.isdir(d) else []:
                    out[n] = os.path.join(d, n)
            return out

        def written():
            pkg, c, fid, data = uploaded(srv, owner['api_key'], team['team_id'], rcpts,
                                         password='sesame-sesame')
            c.finalize(pkg['id'])
            eventually(lambda: len(files()) >= 2, timeout=30, what='two .eml files')
            time.sleep(1.5)
            got = files()
            assert len(got) == 2, sorted(got)
            seen = []
            for n, path in got.items():
                assert re.match(r'^[0-9A-Z]{26}\.eml$', n), 'named by an id: %r' % n
                assert os.stat(path).st_mode & 0o077 == 0, 'readable by the server only'
                with open(path, 'rb') as f:
                    raw = f.read()
                msg = parse(raw)
                to = [a.addr_spec for a in msg['To'].addresses]
                assert len(to) == 1 and to[0] in rcpts, to
                assert msg['Message-ID'] == '<%s@[127.0.0.1]>' % n[:-4], (msg['Message-ID'], n)
                assert [a.addr_spec for a in msg['From'].addresses] == ['consign@[127.0.0.1]']
                text, html = parts(msg)
                assert 'password' in text, 'the message says the link asks for a password'
                check_link(srv, pkg, fid, data, text, html, to[0], password='sesame-sesame')
                seen.append(to[0])
            assert sorted(seen) == rcpts, seen
            r = c.call('POST', '/v1/packages/%s/finalize' % pkg['id'])
            assert r.status == 200, r
            time.sleep(2)
            assert len(files()) == 2, 'finalizing again wrote more: %r' % sorted(files())
        t.test('without --smtp-url each recipient\'s message is DATA/mail/ID.eml (mode 0600, '
               'From consign@ the public URL\'s host), one per recipient, parseable, with a link '
               'that needs the package\'s password and downloads the file; finalizing again '
               'writes no more', written)
    finally:
        if not t.test('the server stops on SIGTERM with exit 0 and no sanitizer report', srv.stop):
            srv.kill()
        srv.cleanup()


def main(t):
    smtp(t)
    eml(t)


if __name__ == '__main__':
    main_guard(Tap(), main)
