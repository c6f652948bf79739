#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""make bench-s3: the scale-out deployment's data path on this machine. Two servers behind nginx
on PostgreSQL and radosgw (the e2e harness starts them); a file of BENCH_S3_MIB MiB is uploaded
in 64 MiB parts through the pre-signed URLs consign hands out, finalized, then downloaded three
ways, three times each: straight from the object store (the pre-signed GET: the reference), and
the package's zip streamed by consign from ranged reads of the store, through the balancer and
from one server directly. Prints MB/s (10^6 bytes) and the ratios to the reference, and the
servers' peak RSS. Needs CONSIGN_BIN, CONSIGN_TEST_DATABASE, CONSIGN_TEST_S3 and AWS_* (set by
bench/s3.sh)."""
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', 'tests', 'e2e'))
os.environ['CONSIGN_E2E_SCALE'] = '1'
from harness import MIB, Client, Server, make_team, new_package, replay, upload_id_of  # noqa: E402


def curl(url):
    """Seconds to fetch @url to /dev/null; asserts a 200 of the whole."""
    t = time.monotonic()
    out = subprocess.run(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url],
                         capture_output=True, text=True, check=True).stdout
    assert out == '200', out
    return time.monotonic() - t


def main():
    size = int(os.environ.get('BENCH_S3_MIB', '512')) * MIB
    part = 64 * MIB
    srv = Server().start()
    try:
        team = make_team(srv, 'bench', roles=('owner',))
        pkg = new_package(srv, team['owner']['api_key'], team['team_id'], 'Bench')
        c = Client(srv, pkg['access_token'])
        created = c.add_file(pkg['id'], 'big.bin', size=size, chunk_size=part)
        fid = created['file']['id']
        uid = upload_id_of(replay(srv.port, created['create_blueprint']).raw)
        n = (size + part - 1) // part
        bps = c.blueprints(pkg['id'], fid, uid, n)
        chunk = os.urandom(part)
        t0 = time.monotonic()
        etags = []
        for k in range(n):
            r = replay(srv.port, bps[k], chunk[:min(part, size - k * part)])
            assert r.status == 200, r
            etags.append(r.header('etag'))
        up = time.monotonic() - t0
        t0 = time.monotonic()
        r = c.finalize_file(pkg['id'], fid, uid,
                            [{'partNumber': k + 1, 'etag': e} for k, e in enumerate(etags)],
                            size=size)
        fin = time.monotonic() - t0
        assert r.status == 200, r
        c.finalize(pkg['id'])
        direct = c.call('GET', '/v1/packages/%s/files/%s/download' % (pkg['id'], fid)).json['url']
        zipped = c.call('GET', '/v1/packages/%s/files/zip_mac/download' % pkg['id']).json['url']
        one = zipped.replace(':%d/' % srv.port, ':%d/' % srv.backend_port)
        runs = {'direct': [], 'zip': [], 'zip1': []}
        for _ in range(3):
            runs['direct'].append(size / curl(direct) / 1e6)
            runs['zip'].append(size / curl(zipped) / 1e6)
            runs['zip1'].append(size / curl(one) / 1e6)
        med = {k: statistics.median(v) for k, v in runs.items()}
        rss = [int(open('/proc/%d/status' % s.proc.pid).read().split('VmHWM:')[1].split()[0])
               for s in [srv] + srv.others]
        print('file: %d MiB, %d parts of 64 MiB' % (size // MIB, n))
        print('upload through pre-signed URLs (one at a time)   %7.0f MB/s' % (size / up / 1e6))
        print('file finalize (ListParts, Complete, HEAD)        %7.0f ms' % (fin * 1000))
        print('download, pre-signed GET from the store          %7.0f MB/s   reference' % med['direct'])
        print('zip streamed by consign, through the balancer    %7.0f MB/s   ratio %.2f'
              % (med['zip'], med['zip'] / med['direct']))
        print('zip streamed by consign, from one server         %7.0f MB/s   ratio %.2f'
              % (med['zip1'], med['zip1'] / med['direct']))
        print('peak RSS of the two servers                      %s kB' % ', '.join(map(str, rss)))
    finally:
        srv.stop()
        srv.cleanup()


if __name__ == '__main__':
    main()
