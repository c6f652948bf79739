/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Choosing the byte store, and the calls every store answers; see blob/blob.h. */
#include "core/compat.h"
#include "blob/blob.h"

#include <zlib.h>

#include "blob/blob_int.h"

struct blob *blob_open(const char *data_dir, const char *storage_url, char *why, size_t why_cap)
{
    if (!storage_url || !storage_url[0])
        return blob_local_open(data_dir, why, why_cap);
    if (strncmp(storage_url, "s3://", 5) == 0)
        return blob_s3_open(storage_url, why, why_cap);
    snprintf(why, why_cap,
             "'%s': the byte store is an s3:// URL, or nothing for the data directory",
             storage_url);
    return NULL;
}

void blob_close(struct blob *b)
{
    if (b)
        b->ops->close(b);
}

const char *blob_backend_name(const struct blob *b)
{
    return b->ops->name;
}

bool blob_direct(const struct blob *b)
{
    return b->ops->direct;
}

const char *blob_origin(const struct blob *b)
{
    return b->ops->origin ? b->ops->origin(b) : NULL;
}

enum blob_rc blob_file_remove(struct blob *b, const char *file_id)
{
    return b->ops->file_remove(b, file_id);
}

/* The calls of direct stores: a caller that asks the embedded store for them has a bug. */
static void need_direct(const struct blob *b)
{
    if (!b->ops->direct)
        abort();
}

char *blob_url(struct blob *b, enum blob_url_kind kind, const char *file_id, uint32_t part,
               const char *upload_id, const char *disposition, int64_t now_s, uint32_t ttl_s)
{
    need_direct(b);
    return b->ops->url(b, kind, file_id, part, upload_id, disposition, now_s, ttl_s);
}

enum blob_rc blob_upload_parts(struct blob *b, const char *file_id, const char *upload_id,
                               struct arena *a, struct blob_part **parts, size_t *n)
{
    need_direct(b);
    return b->ops->upload_parts(b, file_id, upload_id, a, parts, n);
}

enum blob_rc blob_upload_complete(struct blob *b, const char *file_id, const char *upload_id,
                                  const struct blob_part *parts, size_t n, uint64_t *size)
{
    need_direct(b);
    return b->ops->upload_complete(b, file_id, upload_id, parts, n, size);
}

enum blob_rc blob_upload_abort(struct blob *b, const char *file_id, const char *upload_id)
{
    need_direct(b);
    return b->ops->upload_abort(b, file_id, upload_id);
}

enum blob_rc blob_read(struct blob *b, const char *file_id, uint64_t first, uint64_t last,
                       blob_sink_fn *sink, void *ctx)
{
    need_direct(b);
    return b->ops->read(b, file_id, first, last, sink, ctx);
}

uint32_t blob_crc32_combine(uint32_t crc1, uint32_t crc2, uint64_t len2)
{
    return (uint32_t)crc32_combine64(crc1, crc2, (z_off64_t)len2);
}
