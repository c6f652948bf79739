#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The scale-out deployment loses a server: two servers behind the balancer, one is killed
(SIGKILL) in the middle of an upload. A client that retries what failed finishes the upload
through the other server, with every byte right; the killed server is started again on the same
address and serves requests started before it died. Run with CONSIGN_E2E_SCALE=1 only."""
import hashlib
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MIB, SCALE, Client, Server, Tap, download, main_guard,  # noqa: E402
                     make_team, new_package, replay, upload_id_of)


def retried(fn, tries=20):
    """@fn() until it gives an answer that is not the balancer's 502/503/504 (a server that
    went away); the answer."""
    for _ in range(tries):
        r = fn()
        if r.status not in (502, 503, 504):
            return r
        time.sleep(0.2)
    return r


def body(t, srv):
    team = make_team(srv, 'failover', roles=('owner',))
    key, tid = team['owner']['api_key'], team['team_id']
    data = os.urandom(11 * MIB)
    st = {}

    def kill_mid_upload():
        pkg = new_package(srv, key, tid, 'Failover')
        c = Client(srv, pkg['access_token'])
        created = c.add_file(pkg['id'], 'take2.mov', size=len(data), chunk_size=5 * MIB)
        fid = created['file']['id']
        upload_id = upload_id_of(replay(srv.port, created['create_blueprint']).raw)
        bps = c.blueprints(pkg['id'], fid, upload_id, 3)
        etags = [replay(srv.port, bps[0], data[:5 * MIB]).header('etag')]
        # one of the two servers dies without a word
        twin = srv.others[0]
        st['twin_port'] = twin.port
        twin.proc.send_signal(signal.SIGKILL)
        twin.proc.wait()
        for k in (1, 2):
            r = replay(srv.port, bps[k], data[k * 5 * MIB:(k + 1) * 5 * MIB])
            assert r.status == 200, r
            etags.append(r.header('etag'))
        extras = [{'partNumber': k + 1, 'etag': e} for k, e in enumerate(etags)]
        r = retried(lambda: c.finalize_file(pkg['id'], fid, upload_id, extras, size=len(data)))
        assert r.status == 200 and r.json['size'] == len(data), r
        r = retried(lambda: c.call('POST', '/v1/packages/%s/finalize' % pkg['id']))
        assert r.status == 200 and r.json['state'] == 'finalized', r
        bp = retried(lambda: c.call('GET', '/v1/packages/%s/files/%s/download' % (pkg['id'], fid)))
        assert bp.status == 200, bp
        got = download(srv.port, bp.json)
        assert got.status == 200 and hashlib.sha256(got.raw).digest() == hashlib.sha256(data).digest()
        st.update(pkg=pkg, client=c, fid=fid)
    t.test('a server is killed in the middle of an upload: retrying what failed, the client '
           'finishes it through the other server and downloads exactly its bytes',
           kill_mid_upload)

    def restart():
        twin = srv.others[0]
        twin.want_port = st['twin_port']
        twin._start_one(True, 30)
        c, pkg = st['client'], st['pkg']
        # every request now succeeds on the first try, whichever server gets it
        for _ in range(6):
            r = c.call('GET', '/v1/packages/%s/files' % pkg['id'])
            assert r.status == 200 and r.json[0]['id'] == st['fid'], r
        r = c.call('GET', '/v1/packages/%s/files/zip_mac/download' % pkg['id'])
        assert r.status == 200, r
        got = download(srv.port, r.json)
        assert got.status == 200 and data in got.raw, 'the zip does not hold the file'
    t.test('the killed server starts again on its address and serves the package made while it '
           'was down (files, zip)', restart)


def main(t):
    assert SCALE, 'this test needs CONSIGN_E2E_SCALE=1 (two servers behind a balancer)'
    srv = Server()
    try:
        srv.start()
        body(t, srv)
    finally:
        if not t.test('both servers stop on SIGTERM with exit 0 and no sanitizer report', srv.stop):
            srv.kill()
        srv.cleanup()


if __name__ == '__main__':
    main_guard(Tap(), main)
