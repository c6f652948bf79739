/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * For backends only: the table of functions a byte store provides and the base struct every
 * backend's store embeds first.
 */
#ifndef CONSIGN_BLOB_INT_H
#define CONSIGN_BLOB_INT_H

#include "blob/blob.h"

struct blob_ops {
    const char *name;
    bool direct; /* clients reach the bytes themselves (blob_direct()) */
    const char *(*origin)(const struct blob *b); /* blob_origin(); NULL: none */
    void (*close)(struct blob *b);
    enum blob_rc (*file_remove)(struct blob *b, const char *file_id);
    /* Direct stores only (NULL otherwise): */
    char *(*url)(struct blob *b, enum blob_url_kind kind, const char *file_id, uint32_t part,
                 const char *upload_id, const char *disposition, int64_t now_s, uint32_t ttl_s);
    enum blob_rc (*upload_parts)(struct blob *b, const char *file_id, const char *upload_id,
                                 struct arena *a, struct blob_part **parts, size_t *n);
    enum blob_rc (*upload_complete)(struct blob *b, const char *file_id, const char *upload_id,
                                    const struct blob_part *parts, size_t n, uint64_t *size);
    enum blob_rc (*upload_abort)(struct blob *b, const char *file_id, const char *upload_id);
    enum blob_rc (*read)(struct blob *b, const char *file_id, uint64_t first, uint64_t last,
                         blob_sink_fn *sink, void *ctx);
};

/** The base of every backend's store: must be its first member. */
struct blob {
    const struct blob_ops *ops;
};

struct blob *blob_local_open(const char *data_dir, char *why, size_t why_cap);
struct blob *blob_s3_open(const char *url, char *why, size_t why_cap);

#endif /* CONSIGN_BLOB_INT_H */
