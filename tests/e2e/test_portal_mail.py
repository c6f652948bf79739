#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Mail about packages that arrive through a portal (written as .eml files: no --smtp-url): each
of the portal's recipients hears that a package arrived, with its name, sender, size and file
list and a download link of their own that works; the uploader gets a receipt without a link,
unless the portal says disable_upload_receipt."""
import email
import email.policy
import glob
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Client, Tap, eventually, main_guard, make_team, replay,  # noqa: E402
                     unique, with_server)


def main(t):
    with_server(t, body)


def messages(srv):
    """The .eml files written so far, parsed: [(to, subject, text, html)]."""
    out = []
    for path in sorted(glob.glob(os.path.join(srv.data, 'mail', '*.eml'))):
        with open(path, 'rb') as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        text = m.get_body(('plain',)).get_content()
        html = m.get_body(('html',)).get_content()
        out.append((str(m['To']), str(m['Subject']), text, html))
    return out


def body(t, srv):
    team = make_team(srv, 'pmail', roles=('owner',))
    tid, key = team['team_id'], team['owner']['api_key']

    def upload(receipt):
        r = srv.post('/v1/teams/%s/portals' % tid, {
            'name': 'Dailies intake', 'subdomain': unique('pm').lower(), 'active': True,
            'recipients': ['editor@example.org', 'producer@example.org'],
            'disable_upload_receipt': not receipt}, key=key)
        assert r.status == 201, r
        portal = r.json
        r = srv.post('/v1/portals/%s/packages' % portal['id'],
                     {'name': 'Reel %s' % receipt, 'sender': 'shooter@example.net',
                      'description': 'day 1'})
        assert r.status == 201, r
        pkg = r.json
        c = Client(srv, pkg['access_token'])
        data = b'portal bytes ' * 100
        created, upload_id, bps = c.begin(pkg['id'], 'a001.mov', 1, path='day1')
        r = replay(srv.port, bps[0], data)
        assert r.status == 200, r
        r = c.finalize_file(pkg['id'], created['file']['id'], upload_id,
                            [{'partNumber': 1, 'etag': r.header('etag')}], size=len(data))
        assert r.status == 200, r
        c.finalize(pkg['id'])
        return pkg, data

    def with_receipt():
        pkg, data = upload(True)
        eventually(lambda: len(messages(srv)) == 3, what='three messages')
        got = messages(srv)
        arrived = [m for m in got if 'arrived' in m[1]]
        receipt = [m for m in got if m[1].startswith('Received')]
        assert sorted(m[0] for m in arrived) == ['editor@example.org', 'producer@example.org'], got
        assert len(receipt) == 1 and receipt[0][0] == 'shooter@example.net', got
        for to, subject, text, html in arrived:
            assert '"Reel True" arrived from shooter@example.net' == subject, subject
            assert 'day1/a001.mov' in text and 'day1/a001.mov' in html, text
            url = re.search(r'(http://\S+/download/\S+)', text).group(1)
            u = urllib.parse.urlsplit(url)
            r = srv.get(u.path.replace('/download/', '/v1/links/') + '?' + u.query)
            assert r.status == 200 and r.json['package_id'] == pkg['id'], r
        to, subject, text, html = receipt[0]
        assert '/download/' not in text and 'day1/a001.mov' in text, text
    t.test('a portal package finalized: each portal recipient gets "arrived" with the file list '
           'and a working link of their own; the uploader a receipt without a link', with_receipt)

    def without_receipt():
        before = len(messages(srv))
        upload(False)
        eventually(lambda: len(messages(srv)) == before + 2, what='two more messages')
        new = messages(srv)
        assert not [m for m in new if m[1] == 'Received: "Reel False"'], new
    t.test('with disable_upload_receipt only the recipients hear of it', without_receipt)


if __name__ == '__main__':
    main_guard(Tap(), main)
