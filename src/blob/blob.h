/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * File bytes, in one of two stores chosen at start:
 *
 * - The embedded store (the default) keeps each file as one data file under <data>/blobs/,
 *   and clients send and fetch bytes through consign's own signed /storage routes, which call
 *   the part writer and blob_file_open() below.
 * - An S3-compatible object store ("direct"): clients send parts and fetch files straight to
 *   and from it with pre-signed URLs (blob_url()); consign lists, completes and aborts
 *   multipart uploads and deletes objects. Objects are named "files/<xy>/<file id>".
 *
 * The embedded store in detail: each file is named only by the file's server-generated id. Parts of an upload are written where they belong in
 * that file (at (part - 1) * chunk size), so finalizing a file moves no byte; a part that
 * arrives before the chunk size is known waits in a side file of its own and is moved in at
 * finalize. Every part is on disk (fdatasync) before its writer is committed, and two writers
 * of one part exclude each other with a lock on the data file.
 *
 * Threads: a struct blob is shared by every thread; writers are not.
 */
#ifndef CONSIGN_BLOB_H
#define CONSIGN_BLOB_H

#include "core/compat.h"

#include "core/id.h"
#include "core/mem.h"

struct blob;
struct blob_writer;

/** Results of blob calls. */
enum blob_rc {
    BLOB_OK = 0,
    BLOB_BUSY,    /* another writer holds this part */
    BLOB_SHORT,   /* the part ended before its announced length, or went past it */
    BLOB_MISSING, /* no such file or part on disk */
    BLOB_IO,      /* the disk failed (logged) */
};

/**
 * Opens the byte store: the embedded one under @data_dir (creating its folders) when
 * @storage_url is NULL or empty, or the bucket of "s3://BUCKET?endpoint=URL&region=R" with the
 * credentials of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the bucket is created when it
 * does not exist). NULL with @why on failure.
 */
struct blob *blob_open(const char *data_dir, const char *storage_url, char *why, size_t why_cap);
/** Frees @b; accepts NULL. */
void blob_close(struct blob *b);
/** "local" or "s3". */
const char *blob_backend_name(const struct blob *b);
/** True for the object store: clients move bytes with pre-signed URLs, not through consign. */
bool blob_direct(const struct blob *b);
/**
 * Where clients send and fetch bytes themselves: the object store's endpoint
 * ("http://127.0.0.1:7480"), owned by @b; NULL for the embedded store, whose bytes go through
 * consign's own URLs.
 */
const char *blob_origin(const struct blob *b);

/* ---- the object store's side (blob_direct() only) ---- */

/** What a pre-signed URL lets a client do. */
enum blob_url_kind {
    BLOB_URL_CREATE, /* POST: start a multipart upload of the file; answers its UploadId */
    BLOB_URL_PART,   /* PUT: send one part of an upload; answers its ETag */
    BLOB_URL_GET,    /* GET (and Range): read the file */
};

/**
 * A pre-signed URL (malloc'd), valid @ttl_s seconds from @now_s: for BLOB_URL_PART, of part
 * @part of upload @upload_id; for BLOB_URL_GET, answering with @disposition as its
 * Content-Disposition when not NULL. NULL when the store cannot sign it (logged).
 */
char *blob_url(struct blob *b, enum blob_url_kind kind, const char *file_id, uint32_t part,
               const char *upload_id, const char *disposition, int64_t now_s, uint32_t ttl_s);

/** Longest ETag a store gives a part. */
#define BLOB_ETAG_MAX 128

/** A part of a multipart upload as the store holds it. */
struct blob_part {
    uint32_t number;
    uint64_t size;
    char etag[BLOB_ETAG_MAX + 1]; /* as the store wrote it, quotes included */
};

/**
 * The parts the store holds of upload @upload_id of the file, by number (in @a).
 * BLOB_MISSING when the store knows no such upload of this file; BLOB_IO when it failed.
 */
enum blob_rc blob_upload_parts(struct blob *b, const char *file_id, const char *upload_id,
                               struct arena *a, struct blob_part **parts, size_t *n);
/**
 * Joins @parts (numbers and ETags, in order) into the file and reads back its size into *@size.
 * BLOB_SHORT when the store refuses the list (a part missing, an ETag wrong, a part too small);
 * BLOB_MISSING when the upload is gone; BLOB_IO when the store failed.
 */
enum blob_rc blob_upload_complete(struct blob *b, const char *file_id, const char *upload_id,
                                  const struct blob_part *parts, size_t n, uint64_t *size);
/** Drops an unfinished upload and its parts; BLOB_OK when there was none. */
enum blob_rc blob_upload_abort(struct blob *b, const char *file_id, const char *upload_id);

/** Takes the next @n bytes of a read; false stops it. */
typedef bool blob_sink_fn(void *ctx, const void *p, size_t n);
/**
 * Reads bytes @first to @last (inclusive) of the file into @sink as they arrive, never whole.
 * Blocks for as long as the transfer takes (call it off the HTTP threads). BLOB_MISSING when
 * there is no such file; BLOB_IO when the store failed or the sink stopped.
 */
enum blob_rc blob_read(struct blob *b, const char *file_id, uint64_t first, uint64_t last,
                       blob_sink_fn *sink, void *ctx);

/* ---- the embedded store's side (not blob_direct()) ---- */

/** Marks a part whose place in the file is not known yet: it goes to a side file. */
#define BLOB_SIDE UINT64_MAX

/**
 * Starts writing part @part (1-based) of file @file_id: @len bytes at @offset of the file, or
 * into a side file when @offset is BLOB_SIDE. BLOB_BUSY when another writer has the part.
 */
enum blob_rc blob_part_begin(struct blob *b, const char *file_id, uint32_t part, uint64_t offset,
                             uint64_t len, struct blob_writer **out);
/** Appends the next bytes of the part; BLOB_SHORT past its length. */
enum blob_rc blob_part_write(struct blob_writer *w, const void *p, size_t n);
/**
 * Makes the part durable once all its bytes arrived: its CRC-32 in *@crc. BLOB_SHORT when
 * bytes are missing. The writer keeps the part's lock until blob_part_abort(): record the part
 * first, so that no other writer can start on it between its bytes and its record.
 */
enum blob_rc blob_part_commit(struct blob_writer *w, uint32_t *crc);
/**
 * Releases a writer and the part's lock; accepts NULL. A writer not committed has its side
 * file removed (in-place bytes are left: without a record they never count).
 */
void blob_part_abort(struct blob_writer *w);

/** Moves side part @part of @file_id to @offset of its file, durably; then removes it. */
enum blob_rc blob_part_place(struct blob *b, const char *file_id, uint32_t part, uint64_t offset);
/** Sets the file's length to @size (dropping anything past it) and makes it durable. */
enum blob_rc blob_file_seal(struct blob *b, const char *file_id, uint64_t size);
/** Opens the file for reading: a new descriptor in *@fd, owned by the caller. */
enum blob_rc blob_file_open(struct blob *b, const char *file_id, int *fd);
/* ---- both ---- */

/** Deletes the file (and any side parts); BLOB_OK when there was nothing. */
enum blob_rc blob_file_remove(struct blob *b, const char *file_id);

/** CRC-32 of two pieces from theirs and the length of the second. */
uint32_t blob_crc32_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);

#endif /* CONSIGN_BLOB_H */
