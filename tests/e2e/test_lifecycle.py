#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Packages die on schedule: finalizing sets expiry to now + the storage period (--storage-days),
unlimited storage has none, PUT expiry moves it; when the time comes the expiry sweep (a
background job) expires the package, its links answer 410 and its bytes go, and a package left
new past --abandon-days is cleaned up the same way. Time is moved through the clock file
(CONSIGN_CLOCK_FILE), never waited for."""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Client, Server, Tap, download, eventually, is_error,  # noqa: E402
                     main_guard, make_team, new_package, replay)

DAY = 86400 * 1000


def iso_ms(s):
    """Unix milliseconds of an ISO 8601 UTC time as consign writes it."""
    return int(time.mktime(time.strptime(s[:19], '%Y-%m-%dT%H:%M:%S')) - time.timezone) * 1000 + \
        int(s[20:23])


def body(t, srv, clock):
    team = make_team(srv, 'life', roles=('owner',))
    key, tid = team['owner']['api_key'], team['team_id']
    st = {}

    def move(days):
        """Moves the servers' clock to @days after the start (and gives them time to see it)."""
        with open(clock, 'w') as f:
            f.write('%d\n' % int(days * DAY))
        time.sleep(0.2)

    def state(pid):
        r = srv.get('/v1.1/teams/%s/packages/%s' % (tid, pid), key=key)
        assert r.status == 200, r
        return r.json

    def uploaded(name):
        pkg = new_package(srv, key, tid, name)
        c = Client(srv, pkg['access_token'])
        data = os.urandom(1000)
        created, upload_id, bps = c.begin(pkg['id'], name + '.bin', 1)
        r = replay(srv.port, bps[0], data)
        assert r.status == 200, r
        r = c.finalize_file(pkg['id'], created['file']['id'], upload_id,
                            [{'partNumber': 1, 'etag': r.header('etag')}], size=len(data))
        assert r.status == 200, r
        return pkg, c, created['file']['id'], c.finalize(pkg['id'])

    def schedule():
        before = int(time.time() * 1000)
        pkg, c, fid, fin = uploaded('Soon')
        exp = iso_ms(fin['expiry'])
        assert before + 3 * DAY - 5000 <= exp <= int(time.time() * 1000) + 3 * DAY + 5000, (
            'finalize sets expiry to now + 3 days (--storage-days 3)', fin['expiry'])
        r = c.call('POST', '/v1/packages/%s/links' % pkg['id'], {})
        assert r.status == 201, r
        dl = c.call('GET', '/v1/packages/%s/files/%s/download' % (pkg['id'], fid))
        assert dl.status == 200, dl
        st['soon'] = (pkg, r.json, dl.json)
        # unlimited: no expiry at all
        p2, c2, _, _ = uploaded('Forever')
        r = c2.call('PUT', '/v1/packages/%s/expiry' % p2['id'], {'unlimited_storage': True})
        assert r.status == 200 and r.json['unlimited_storage'] is True, r
        st['forever'] = p2
        # moved to ten days away
        p3, c3, _, _ = uploaded('Later')
        when = time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime(time.time() + 10 * 86400))
        r = c3.call('PUT', '/v1/packages/%s/expiry' % p3['id'], {'expiry': when})
        assert r.status == 200, r
        st['later'] = p3
        # never finalized
        st['abandoned'] = new_package(srv, key, tid, 'Abandoned')
    t.test('finalize sets expiry to now + the storage period; unlimited storage and a moved '
           'expiry are kept', schedule)

    def expires():
        pkg, link, dl = st['soon']
        assert download(srv.port, dl).status == 200
        move(3.01)
        eventually(lambda: state(pkg['id'])['state'] == 'expired', what='the expiry of Soon')
        got = state(pkg['id'])
        assert got['name'] == 'Soon' and got['recipients'] == ['editor@example.com'], got
        is_error(srv.get('/v1/links/%s?secret=%s' % (link['id'], link['download_secret'])), 410)
        eventually(lambda: download(srv.port, dl).status in (404, 410),
                   what='the bytes of an expired package going')
        for k in ('forever', 'later'):
            assert state(st[k]['id'])['state'] == 'finalized', k
        assert state(st['abandoned']['id'])['state'] == 'new', 'abandoned too early'
    t.test('three days on, the sweep expires it: metadata kept, its link 410, its bytes gone; the '
           'unlimited and the moved package stay; the new one is not yet abandoned', expires)

    def abandoned():
        move(14.5)  # past --abandon-days 14 after its creation
        eventually(lambda: state(st['abandoned']['id'])['state'] == 'expired',
                   what='the cleanup of an abandoned package')
        assert state(st['later']['id'])['state'] == 'expired', 'the moved expiry came too'
        assert state(st['forever']['id'])['state'] == 'finalized', 'unlimited is unlimited'
    t.test('a package left new past the abandonment time is cleaned up the same way; the moved '
           'expiry comes; unlimited storage never does', abandoned)


def main(t):
    clock = tempfile.NamedTemporaryFile(prefix='consign-clock-', delete=False).name
    with open(clock, 'w') as f:
        f.write('0\n')
    srv = Server(env={'CONSIGN_CLOCK_FILE': clock}, args=['--storage-days', '3',
                                                          '--abandon-days', '14'])
    try:
        srv.start()
        body(t, srv, clock)
    finally:
        if not t.test('the server stops on SIGTERM with exit 0 and no sanitizer report', srv.stop):
            srv.kill()
        srv.cleanup()
        os.unlink(clock)


if __name__ == '__main__':
    main_guard(Tap(), main)
