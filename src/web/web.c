/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Looking up the embedded web files by name: a binary search of the generated, sorted table. */
#include "core/compat.h"
#include "web/web.h"

#include <string.h>

const struct web_asset *web_asset_find(struct str name)
{
    size_t lo = 0, hi = web_assets_count;

    if (!name.ptr)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, n = strlen(web_assets[mid].name);
        int c = memcmp(web_assets[mid].name, name.ptr, n < name.len ? n : name.len);

        if (c == 0 && n != name.len)
            c = n < name.len ? -1 : 1;
        if (c == 0)
            return &web_assets[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
