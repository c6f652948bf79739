/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The web pages and their assets (src/web/assets/), embedded into the binary at build time by
 * tools/embed-web.py: the portal upload page, the download page and what they load. Nothing
 * here touches the filesystem or HTTP; api/web.c serves these bytes.
 *
 * Everything is read-only static data: safe to read from any thread.
 */
#ifndef CONSIGN_WEB_H
#define CONSIGN_WEB_H

#include "core/compat.h"

#include "core/str.h"

/** One embedded file. Every pointer is static data owned by the table. */
struct web_asset {
    const char *name;          /* its file name in src/web/assets/ ("portal.css") */
    const char *content_type;  /* media type, with the charset of text */
    const char *etag;          /* strong ETag, quoted: the start of the content's SHA-256 */
    const char *version;       /* the same hash unquoted: the ?v= of the URL pages link to */
    bool page;                 /* an HTML page: served by its route, never under /assets/ */
    const unsigned char *data; /* the bytes (NUL-terminated beyond len) */
    size_t len;
};

/** Every embedded file, in name order (strcmp). */
extern const struct web_asset web_assets[];
/** How many rows web_assets[] has. */
extern const size_t web_assets_count;

/** The embedded file called @name, or NULL. Thread-safe. */
const struct web_asset *web_asset_find(struct str name);

#endif /* CONSIGN_WEB_H */
