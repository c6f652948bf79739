#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A server killed (SIGKILL) while a job is leased: the job is a webhook delivery whose receiver
holds the request. After a restart nobody takes the job while its lease lasts; once the lease
has run out (the clock moved through CONSIGN_CLOCK_FILE, never waited for) a worker runs it
again, it is delivered, recorded once, and never again."""
import json
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Server, Tap, admin, eventually, main_guard, make_team,  # noqa: E402
                     new_package)
from test_webhooks import Receiver  # noqa: E402

LEASE_MS = 10 * 60 * 1000  # JOBS_LEASE_MS


def body(t, srv, rx, clock):
    team = make_team(srv, 'crash', roles=('owner',))
    tid, key = team['team_id'], team['owner']['api_key']
    st = {}

    def move(ms):
        with open(clock, 'w') as f:
            f.write('%d\n' % ms)
        time.sleep(0.2)

    def leased_when_killed():
        rx.plans['/slow'] = ['hang', 200]
        r = srv.post('/v1/teams/%s/custom_webhooks' % tid,
                     {'name': 'slow', 'url': rx.url('/slow'), 'events': ['package.created']},
                     key=key)
        assert r.status == 201, r
        st['hook'] = r.json['id']
        st['pkg'] = new_package(srv, key, tid, 'Crash')
        eventually(lambda: len(rx.seen('/slow')) == 1, what='the delivery reaching the receiver')
        # the worker holds the job and waits for the receiver: kill the server now
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv.proc = None
        rx.released.set()
    t.test('a webhook delivery is in flight (its job leased) when the server is killed',
           leased_when_killed)

    def restarted():
        srv.start()
        time.sleep(2.5)  # the workers poll every second: they had their chances
        assert len(rx.seen('/slow')) == 1, 'the job ran again while its lease lasted'
        move(LEASE_MS + 60 * 1000)
        eventually(lambda: len(rx.seen('/slow')) == 2, what='the job run again after its lease')
        first, second = rx.seen('/slow')
        assert json.loads(first['body'])['id'] == json.loads(second['body'])['id'], \
            'the same delivery, sent again'
        assert json.loads(second['body'])['package']['id'] == st['pkg']['id']
        eventually(lambda: [a.get('status') for a in srv.get(
            '/v1/custom_webhooks/%s/deliveries' % st['hook'], key=key).json] == [200],
            what='the attempt recorded')
        # and never again, however long
        move(LEASE_MS * 10)
        time.sleep(2.5)
        assert len(rx.seen('/slow')) == 2, 'the finished job ran once more'
    t.test('after the restart the job waits out its lease, then runs once: delivered, one '
           'attempt recorded (200), never sent again', restarted)

    def failed_visibly():
        rx.plans['/down'] = [500]
        r = srv.post('/v1/teams/%s/custom_webhooks' % tid,
                     {'name': 'down', 'url': rx.url('/down'), 'events': ['package.created']},
                     key=key)
        assert r.status == 201, r
        new_package(srv, key, tid, 'Unheard')
        at = LEASE_MS * 11
        for n in range(1, 6):
            eventually(lambda: len(rx.seen('/down')) == n, what='attempt %d' % n)
            at += 3600 * 1000  # past any backoff
            move(at)
        time.sleep(2.5)
        assert len(rx.seen('/down')) == 5, 'more than 5 attempts'
        rc, doc, err = admin('jobs', *srv.store_args)
        assert rc == 0, err
        mine = [j for j in doc['jobs'] if j['kind'] == 'webhook.deliver']
        assert len(mine) == 1 and mine[0]['state'] == 'failed' and mine[0]['attempts'] == 5, doc
        assert mine[0]['last_error'], mine[0]
    t.test('a delivery that always fails is given up after 5 attempts and stays visible: '
           'consign admin jobs lists it as failed with its last error', failed_visibly)


def main(t):
    clock = tempfile.NamedTemporaryFile(prefix='consign-clock-', delete=False).name
    with open(clock, 'w') as f:
        f.write('0\n')
    rx = Receiver()
    srv = Server(env={'CONSIGN_CLOCK_FILE': clock}, args=['--jobs', '1'])
    try:
        srv.start()
        body(t, srv, rx, clock)
    finally:
        rx.released.set()
        if not t.test('the server stops on SIGTERM with exit 0 and no sanitizer report', srv.stop):
            srv.kill()
        srv.cleanup()
        os.unlink(clock)


if __name__ == '__main__':
    main_guard(Tap(), main)
