#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The web pages as HTTP sees them (what they do in a browser is tests/browser/): the portal page
of an open portal and the page that says there is none, the download page, the assets the pages
link to (their types, the year-long cache of a hashed URL, ETag and 304), no name a client sends
reaching the filesystem, the security headers on every page, the portal page at the root of
{subdomain}.{--portal-domain}, the root answering a page to a browser and JSON to a program, and
POST /v1/portals/{id}/access: 204 for the right code, 401 for a wrong one, 429 after ten, counted
with the failures of package creation."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Tap, is_error, main_guard, make_team, unique,  # noqa: E402
                     with_server_no_5xx)

HTML = {'Accept': 'text/html,application/xhtml+xml,*/*;q=0.8'}
DOMAIN = 'upload.example.com'
ASSET_RE = re.compile(r'(?:href|src)="(/assets/([a-z0-9.-]+)\?v=([0-9a-f]{16}))"')
TYPES = {'.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
         '.svg': 'image/svg+xml'}


def main(t):
    with_server_no_5xx(t, body, args=('--portal-domain', 'Upload.Example.COM.'))


def secure(r):
    """Asserts the headers every page and asset carries."""
    csp = r.header('content-security-policy') or ''
    for d in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
              "frame-ancestors 'none'", "base-uri 'none'"):
        assert d in csp, 'CSP lacks %r: %r' % (d, csp)
    assert 'unsafe-inline' not in csp and 'unsafe-eval' not in csp, csp
    assert r.header('x-content-type-options') == 'nosniff', r.headers
    assert r.header('referrer-policy') == 'no-referrer', r.headers
    assert r.header('x-frame-options') == 'DENY', r.headers


def body(t, srv):
    team = make_team(srv, 'web', roles=('owner',))
    tid, key = team['team_id'], team['owner']['api_key']
    sub = unique('web').lower().replace('_', '-')
    r = srv.post('/v1/teams/%s/portals' % tid, {'name': 'Web', 'subdomain': sub, 'active': True,
                                                'has_access_code': True,
                                                'access_code': 'let-me-in'}, key=key)
    assert r.status == 201, r
    portal = r.json

    def switch(active):
        doc = dict(srv.get('/v1.1/portals/%s' % portal['id'], key=key).json, active=active)
        r = srv.put('/v1/portals/%s' % portal['id'], doc, key=key)
        assert r.status == 200, r

    def portal_page():
        r = srv.get('/portal/%s' % sub, headers=HTML)
        assert r.status == 200, r
        assert r.header('content-type') == 'text/html; charset=utf-8', r.headers
        assert r.header('cache-control') == 'no-cache', r.headers
        secure(r)
        text = r.raw.decode()
        assert '<script type="module" src="/assets/portal.js?v=' in text, text[:600]
        assert 'let-me-in' not in text and portal['id'] not in text, 'the page is the same for all'
        # Any case: subdomains are names.
        assert srv.get('/portal/%s' % sub.upper()).status == 200
        r2 = srv.get('/portal/%s' % sub, headers={'If-None-Match': r.header('etag')})
        assert r2.status == 304 and not r2.raw, r2
        r3 = srv.req('HEAD', '/portal/%s' % sub)
        assert r3.status == 200 and not r3.raw, r3
        assert r3.header('content-length') == str(len(r.raw)), r3.headers
    t.test('the portal page: HTML, revalidated, with a strict CSP and no secret', portal_page)

    def missing_pages():
        switch(False)
        for path in ('/portal/%s' % sub, '/portal/no-such-portal', '/portal/x', '/portal/%2e%2e',
                     '/download/not-an-id', '/download/01arz3ndektsv4rrffq69g5fav'):
            r = srv.get(path, headers=HTML)
            assert r.status == 404, (path, r)
            assert r.header('content-type') == 'text/html; charset=utf-8', (path, r.headers)
            assert b'Nothing here' in r.raw, (path, r)
            secure(r)
        switch(True)
    t.test('a portal unknown, inactive or not a name, and a link id that is none: the 404 page',
           missing_pages)

    def download_page():
        r = srv.get('/download/01ARZ3NDEKTSV4RRFFQ69G5FAV?secret=abc', headers=HTML)
        assert r.status == 200, r
        secure(r)
        assert b'/assets/download.js?v=' in r.raw, r
        # Nothing was resolved: the page itself asks the API.
        assert b'01ARZ3NDEKTSV4RRFFQ69G5FAV' not in r.raw
    t.test('the download page is served for any link id; the page resolves the link itself',
           download_page)

    def assets():
        pages = [srv.get(p).raw.decode() for p in ('/portal/%s' % sub,
                                                   '/download/01ARZ3NDEKTSV4RRFFQ69G5FAV')]
        linked = {m.group(2): m for p in pages for m in ASSET_RE.finditer(p)}
        assert set(linked) >= {'web.css', 'portal.js', 'download.js', 'favicon.svg'}, linked
        for name, m in linked.items():
            r = srv.get(m.group(1))
            assert r.status == 200, (name, r)
            assert r.header('content-type') == TYPES[os.path.splitext(name)[1]], (name, r.headers)
            assert r.header('cache-control') == 'public, max-age=31536000, immutable', r.headers
            assert r.header('etag') == '"%s"' % m.group(3), (name, r.headers)
            secure(r)
            # Without the hash (or with another): the same bytes, revalidated.
            for q in ('', '?v=0000000000000000'):
                r2 = srv.get('/assets/%s%s' % (name, q))
                assert r2.status == 200 and r2.raw == r.raw, (name, q, r2)
                assert r2.header('cache-control') == 'no-cache', r2.headers
            r3 = srv.get('/assets/%s' % name, headers={'If-None-Match': 'W/"x", %s' % r.header('etag')})
            assert r3.status == 304, r3
        # The modules a module imports are found by name.
        r = srv.get('/assets/common.js')
        assert r.status == 200 and b'export async function api' in r.raw, r
    t.test('assets: the right types, a year under their hashed URL, revalidated otherwise',
           assets)

    def no_filesystem():
        for path in ('/assets/portal.html', '/assets/..%2f..%2fetc%2fpasswd', '/assets/%2e%2e',
                     '/assets/WEB.CSS', '/assets/' + 'a' * 3000,
                     '/assets/web.c', '/assets/meson.build', '/assets/'):
            r = srv.get(path, headers=HTML)
            assert r.status in (400, 404, 414), (path, r)  # 400: nginx's own, in front
            assert b'root:' not in r.raw, (path, r)
        r = srv.post('/assets/web.css', {'x': 1})
        is_error(r, 405)
    t.test('no name a client sends reaches the filesystem: pages and unknown names are 404',
           no_filesystem)

    def portal_domain():
        for host in ('%s.%s' % (sub, DOMAIN), '%s.%s:8443' % (sub.upper(), DOMAIN.upper()),
                     '%s.%s.' % (sub, DOMAIN)):
            r = srv.get('/', headers=dict(HTML, Host=host))
            assert r.status == 200 and b'/assets/portal.js?v=' in r.raw, (host, r)
            secure(r)
        for host in ('no-such.%s' % DOMAIN, 'a.%s.%s' % (sub, DOMAIN), DOMAIN,
                     '%s.other.example.com' % sub, '%s.%s' % (sub, 'xupload.example.com')):
            r = srv.get('/', headers=dict(HTML, Host=host))
            assert r.status == 404 and b'Nothing here' in r.raw, (host, r)
        # A program at the root gets the API's answer; a browser, a page.
        is_error(srv.get('/'), 404, 1007)
        r = srv.get('/', headers=HTML)
        assert r.status == 404 and r.header('content-type').startswith('text/html'), r
    t.test('with --portal-domain, the portal page at the root of its subdomain; '
           'the root answers JSON to programs', portal_domain)

    def access_code():
        path = '/v1/portals/%s/access' % portal['id']
        r = srv.post(path, {'access_code': 'let-me-in'})
        assert r.status == 204 and not r.raw, r
        r = srv.post(path, {}, headers={'X-Access-Code': 'let-me-in'})
        assert r.status == 204, r
        is_error(srv.post(path, {}), 401, 2008)
        is_error(srv.post(path, {'access_code': 5}), 400)
        is_error(srv.post('/v1/portals/01ARZ3NDEKTSV4RRFFQ69G5FAV/access', {}), 404)
        is_error(srv.post('/v1/portals/nope/access', {}), 404)
        r = srv.post('/v1/teams/%s/portals' % tid, {'name': 'Open', 'subdomain': sub + 'o',
                                                    'active': True}, key=key)
        assert srv.post('/v1/portals/%s/access' % r.json['id'], {}).status == 204
        # Ten failures in all (the one above, eight here, one at package creation), then 429,
        # even for the right code, here and at package creation.
        for i in range(8):
            is_error(srv.post(path, {'access_code': 'wrong %d' % i}), 401, 2008)
        r = srv.post('/v1/portals/%s/packages' % portal['id'],
                     {'name': 'x', 'sender': 'a@example.org', 'access_code': 'wrong'})
        is_error(r, 401, 2008)
        r = srv.post(path, {'access_code': 'let-me-in'})
        is_error(r, 429, 2004)
        assert int(r.header('retry-after')) > 0, r.headers
        r = srv.post('/v1/portals/%s/packages' % portal['id'],
                     {'name': 'x', 'sender': 'a@example.org', 'access_code': 'let-me-in'})
        is_error(r, 429, 2004)
        switch(False)
        is_error(srv.post(path, {'access_code': 'let-me-in'}), 403, 3004)
    t.test('POST /v1/portals/{id}/access: 204 right, 401 wrong, 429 after ten failures shared '
           'with package creation, 403 closed, 404 unknown', access_code)


if __name__ == '__main__':
    main_guard(Tap(), main)
