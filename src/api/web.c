/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The web pages consign serves to people rather than programs: the portal upload page
 * (/portal/{subdomain}, or / on {subdomain}.{portal domain}), the download page a link opens
 * (/download/{link_id}?secret=…) and the fixed assets they load (/assets/{name}). The bytes are
 * the files of src/web/assets/, embedded at build time (web/web.h), so no path a client sends
 * ever reaches the filesystem: a name is looked up in that table, and anything else is a 404.
 * The pages are static; their scripts speak the public API like any other client.
 *
 * Caching: a page is "no-cache" (revalidated with its ETag), since whether it exists depends on
 * the portal or link now. An asset requested with ?v= equal to its content hash, the URL pages
 * link to, is immutable for a year; requested otherwise (the modules a module imports), it is
 * revalidated like a page.
 *
 * Every answer carries a strict Content-Security-Policy: scripts, styles and fonts from consign
 * only, nothing inline; requests to consign and to where the blueprints send file bytes (the
 * public URL, the object store); images also from http and https hosts, since a portal's logo
 * and background are URLs its owner chose. No referrer leaves a page: the download page's
 * address carries the link's secret.
 */
#include "core/compat.h"
#include "api/api.h"
#include "web/web.h"

#include <ctype.h>
#include <string.h>

#define IMMUTABLE "public, max-age=31536000, immutable"
#define REVALIDATE "no-cache"
#define NOT_FOUND_PAGE "not-found.html"
#define PORTAL_PAGE "portal.html"
#define DOWNLOAD_PAGE "download.html"
/* Longest Host header looked at for a portal's subdomain. */
#define HOST_MAX 255

/* The scheme, host and port of @url ("https://x.example:8443/p" → "https://x.example:8443"),
 * in @a; NULL when @url is not an absolute http(s) URL. */
static const char *origin_of(struct arena *a, const char *url)
{
    const char *host, *end;

    if (!url)
        return NULL;
    if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else
        return NULL;
    end = host + strcspn(host, "/?#");
    if (end == host)
        return NULL;
    return arena_strndup(a, url, (size_t)(end - url));
}

static const char *csp(struct req *rq)
{
    const struct api_env *env = api_env(rq);
    /* The public URL may carry a path (behind a proxy); the store's endpoint is an origin. */
    const char *pub = origin_of(&rq->arena, env->public_url);
    const char *store = env->blob ? blob_origin(env->blob) : NULL;

    return arena_printf(&rq->arena,
                        "default-src 'none'; script-src 'self'; style-src 'self'; "
                        "img-src 'self' data: https: http:; font-src 'self'; "
                        "connect-src 'self'%s%s%s%s; manifest-src 'self'; base-uri 'none'; "
                        "form-action 'self'; frame-ancestors 'none'",
                        pub ? " " : "", pub ? pub : "", store ? " " : "", store ? store : "");
}

/* Whether @rq's If-None-Match names @etag (one of a list, or "*"). */
static bool etag_matches(const struct req *rq, const char *etag)
{
    struct str h = req_header(rq, "If-None-Match");
    size_t n = strlen(etag);

    if (!h.ptr)
        return false;
    for (size_t i = 0; i < h.len; i++) {
        if (h.ptr[i] == '*')
            return true;
        if (h.len - i >= n && memcmp(h.ptr + i, etag, n) == 0)
            return true;
    }
    return false;
}

/* Answers @w with @status: the security headers, @cache and the ETag; 304 when the client has
 * it already. */
static void asset_reply(struct req *rq, unsigned status, const struct web_asset *w,
                        const char *cache)
{
    char *body;

    resp_header_add(rq, "Content-Security-Policy", csp(rq));
    resp_header_add(rq, "X-Content-Type-Options", "nosniff");
    resp_header_add(rq, "X-Frame-Options", "DENY");
    resp_header_add(rq, "Referrer-Policy", "no-referrer");
    resp_header_add(rq, "Cache-Control", cache);
    resp_header_add(rq, "ETag", w->etag);
    if (status == 200 && etag_matches(rq, w->etag)) {
        resp_empty(rq, 304);
        return;
    }
    body = xmalloc(w->len + 1);
    memcpy(body, w->data, w->len + 1);
    resp_take(rq, status, w->content_type, body, w->len);
}

static void page_reply(struct req *rq, unsigned status, const char *name)
{
    const struct web_asset *w = web_asset_find(str_from(name));

    if (!w) /* the build embeds every page: a missing one is a broken build */
        abort();
    asset_reply(rq, status, w, REVALIDATE);
}

/* The portal page for @subdomain, or the page that says there is none. */
static void portal_page(struct req *rq, struct str subdomain)
{
    struct portal p;
    int found = api_portal_public_find(rq, subdomain, &p);

    if (found < 0)
        return;
    page_reply(rq, found ? 200 : 404, found ? PORTAL_PAGE : NOT_FOUND_PAGE);
}

void api_web_portal_page(struct req *rq)
{
    portal_page(rq, req_param(rq, "subdomain"));
}

/* The first label of @rq's Host when the rest is the portal domain ("acme" of
 * "acme.upload.example:8443"); an empty slice otherwise. */
static struct str host_subdomain(const struct req *rq)
{
    const char *domain = api_env(rq)->portal_domain;
    struct str host = req_header(rq, "Host"), none = { 0 };
    size_t n, d, dot;

    if (!domain || !host.ptr || host.len > HOST_MAX)
        return none;
    n = host.len;
    for (size_t i = 0; i < host.len; i++) {
        if (host.ptr[i] == ':') {
            n = i;
            break;
        }
    }
    if (n > 0 && host.ptr[n - 1] == '.') /* the absolute form, "acme.upload.example." */
        n--;
    d = strlen(domain);
    if (n < d + 2 || host.ptr[n - d - 1] != '.')
        return none;
    for (size_t i = 0; i < d; i++) {
        if (tolower((unsigned char)host.ptr[n - d + i]) != (unsigned char)domain[i])
            return none;
    }
    dot = n - d - 1;
    for (size_t i = 0; i < dot; i++) {
        if (host.ptr[i] == '.')
            return none;
    }
    return (struct str){ .ptr = host.ptr, .len = dot };
}

/* Whether @rq comes from a browser that asks for a page ("Accept: text/html, …"). */
static bool wants_html(const struct req *rq)
{
    struct str accept = req_header(rq, "Accept");

    return accept.ptr && memmem(accept.ptr, accept.len, "text/html", 9) != NULL;
}

void api_web_root(struct req *rq)
{
    struct str sub = host_subdomain(rq);

    if (sub.len)
        portal_page(rq, sub);
    else if (wants_html(rq)) /* a person at the server's address: a page that says where to go */
        page_reply(rq, 404, NOT_FOUND_PAGE);
    else /* a program: the API's own answer */
        resp_error(rq, ERR_NOT_FOUND, NULL);
}

void api_web_download_page(struct req *rq)
{
    /* Whether the link exists, needs a password or is spent is the page's first API call:
     * answering it here would count an access of the link for every reload. */
    if (!id_is_valid(req_param(rq, "link_id"))) {
        page_reply(rq, 404, NOT_FOUND_PAGE);
        return;
    }
    page_reply(rq, 200, DOWNLOAD_PAGE);
}

void api_web_asset(struct req *rq)
{
    const struct web_asset *w = web_asset_find(req_param(rq, "name"));
    struct str v;

    if (!w || w->page) {
        page_reply(rq, 404, NOT_FOUND_PAGE);
        return;
    }
    if (req_query(rq, "v", &v) && str_eq_cstr(v, w->version))
        asset_reply(rq, 200, w, IMMUTABLE);
    else
        asset_reply(rq, 200, w, REVALIDATE);
}
