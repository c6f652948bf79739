/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The embedded web files: the table in name order, every file found by its name and only by it,
 * the pages' links to their assets rewritten to hashed URLs, and each file's ETag its hash. */
#include "core/compat.h"

#include <string.h>

#include "tap.h"
#include "web/web.h"

int main(void)
{
    bool sorted = true, found = true, tagged = true, linked = true;
    const struct web_asset *page;

    ok(web_assets_count >= 9, "the pages and their assets are embedded (%zu files)",
       web_assets_count);
    for (size_t i = 0; i < web_assets_count; i++) {
        const struct web_asset *w = &web_assets[i];
        size_t n = strlen(w->name);

        if (i > 0)
            sorted &= strcmp(web_assets[i - 1].name, w->name) < 0;
        found &= web_asset_find(str_from(w->name)) == w;
        /* A name cut short or made longer is another name. */
        found &= web_asset_find((struct str){ w->name, n - 1 }) != w;
        tagged &= strlen(w->version) == 16 && strlen(w->etag) == 18 && w->etag[0] == '"' &&
                  memcmp(w->etag + 1, w->version, 16) == 0;
        tagged &= w->data[w->len] == '\0';
        if (w->page)
            linked &= strstr((const char *)w->data, "{{asset:") == NULL;
    }
    ok(sorted, "the table is in name order");
    ok(found, "each file is found by its name, and not by a shorter one");
    ok(tagged, "each file has a 16-digit hash, quoted as its ETag, and ends in a NUL");
    ok(linked, "no page still holds an {{asset:…}} placeholder");
    page = web_asset_find(STR_LIT("portal.html"));
    ok(page && page->page && strcmp(page->content_type, "text/html; charset=utf-8") == 0,
       "portal.html is a page");
    ok(page && strstr((const char *)page->data, "/assets/portal.js?v=") != NULL,
       "it links to its script under a hashed URL");
    ok(web_asset_find(STR_LIT("web.css")) && !web_asset_find(STR_LIT("web.css"))->page,
       "web.css is an asset");
    ok(!web_asset_find(STR_LIT("")), "the empty name is nothing");
    ok(!web_asset_find((struct str){ NULL, 0 }), "no name is nothing");
    ok(!web_asset_find(STR_LIT("../web.css")), "a path is nothing");
    ok(!web_asset_find(STR_LIT("WEB.CSS")), "names are exact");
    ok(!web_asset_find(STR_LIT("a")) && !web_asset_find(STR_LIT("zzzz")),
       "names before the first and after the last");
    ok(!web_asset_find((struct str){ "web.css\0x", 9 }), "a NUL is part of the name");
    return done_testing();
}
