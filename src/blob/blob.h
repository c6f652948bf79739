/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * File bytes. The embedded store keeps each file as one data file under <data>/blobs/, named
 * only by the file's server-generated id. Parts of an upload are written where they belong in
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

/** Opens the store of @data_dir (creating its folders); NULL with @why on failure. */
struct blob *blob_open(const char *data_dir, char *why, size_t why_cap);
/** Frees @b; accepts NULL. */
void blob_close(struct blob *b);

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
/** Deletes the file and any side parts; BLOB_OK when there was nothing. */
enum blob_rc blob_file_remove(struct blob *b, const char *file_id);

/** CRC-32 of two pieces from theirs and the length of the second. */
uint32_t blob_crc32_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);

#endif /* CONSIGN_BLOB_H */
