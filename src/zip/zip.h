/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The ZIP archive of a whole package, streamed without temporary files. A plan fixes the layout
 * of the archive before its first byte is sent: every entry is stored (no compression: media
 * does not compress), with its CRC-32 and size known up front, so the exact length of the
 * archive is known at once and any byte range of it can be produced on demand (HTTP Range).
 * Header bytes are generated from the plan; file bytes come from a reader the caller gives.
 *
 * The format is ZIP64 for every entry whatever its size (APPNOTE 6.3: version needed 4.5, the
 * zip64 extended information extra field in local and central headers, then the zip64 end of
 * central directory record and locator before the classic end record), with UTF-8 names
 * (general purpose bit 11) and the modification time both as a DOS date and time (UTC) and as an
 * extended timestamp extra field (0x5455). Sizes are always in the headers; so is the CRC-32
 * of an entry whose CRC is known before streaming. An entry whose CRC is not (its bytes are in
 * an object store and were never read by consign) has the data descriptor flag, a CRC of 0 in
 * its local header, and a zip64 data descriptor after its bytes (APPNOTE 4.3.9); its CRC is asked
 * for only when the descriptor or the central directory is written, by which time a reader
 * streaming the archive from the start has seen all its bytes.
 */
#ifndef CONSIGN_ZIP_H
#define CONSIGN_ZIP_H

#include "core/compat.h"

#include <sys/types.h>

/** Most entries in one archive. */
#define ZIP_ENTRIES_MAX 100000
/** Longest archive path zip_entry_name() makes, in bytes. */
#define ZIP_NAME_MAX 1024
/** Longest component (folder or file name) of an archive path, in bytes: what filesystems take. */
#define ZIP_COMPONENT_MAX 255
/** Most memory one plan may take, its names, entries and the table that finds duplicates. */
#define ZIP_PLAN_MEM_MAX ((size_t)64 << 20)

/** One file of the archive, as the caller describes it to zip_plan_new(). */
struct zip_entry {
    const char *name; /* archive path, UTF-8, as produced by zip_entry_name(); borrowed */
    uint64_t size;    /* bytes of the file */
    uint32_t crc32;   /* CRC-32 of the whole file, when known before streaming */
    bool crc_later;   /* not known: zip_plan_read_crc() asks for it when it must write it */
    int64_t mtime_ms; /* Unix milliseconds, UTC */
    void *ctx;        /* the caller's handle of the file, passed back to the reader */
};

/** The layout of an archive: where each header, file and directory record lies. Immutable. */
struct zip_plan;

/**
 * Reads file bytes for zip_plan_read(): fills @buf with the @n bytes of the file of @entry_ctx
 * that start at @off (never past the entry's size). Returns @n, or -1 on an error; anything else
 * (a short read) is taken as an error too, since the archive's length is already promised.
 * @cls is the closure given to zip_plan_read().
 */
typedef ssize_t zip_read_fn(void *cls, void *entry_ctx, uint64_t off, void *buf, size_t n);

/**
 * Plans the archive of the @n @entries, in their order. Names are made safe again with
 * zip_entry_name(NULL, name, false) (a name zip_entry_name() made is unchanged by it). A name
 * that would overwrite another on extraction, ignoring ASCII case so that Windows and macOS do
 * not overwrite either, or that would be a file where another entry needs a folder, gets " (2)",
 * " (3)"... before its extension ("a.txt", "a (2).txt"; the folder keeps its name), so an archive
 * path may be up to 16 bytes longer than ZIP_NAME_MAX. The plan copies what it needs: @entries
 * and their names may be freed once it returns, but each ctx must stay valid for the reader.
 * Returns NULL when @n passes ZIP_ENTRIES_MAX, when the plan would take more than about
 * ZIP_PLAN_MEM_MAX bytes (millions of distinct folders), when names chosen to collide in its
 * table of names pass its cap on probes, or when the archive would be longer than INT64_MAX
 * bytes: the caller answers that the package is too large to zip. Free it with
 * zip_plan_free(). Thread-safe (touches no shared state).
 */
struct zip_plan *zip_plan_new(const struct zip_entry *entries, size_t n);

/** Exact length in bytes of the archive of @p. */
uint64_t zip_plan_size(const struct zip_plan *p);
/** Number of entries of @p. */
size_t zip_plan_count(const struct zip_plan *p);
/** The archive path of entry @i (< zip_plan_count()), duplicates renamed; owned by @p. */
const char *zip_plan_name(const struct zip_plan *p, size_t i);

/**
 * Writes the archive bytes [@pos, @pos + @max) of @p, clipped at its end, into @buf: header
 * bytes are generated, file bytes are asked of @rd with @cls. Any @pos works, and reading in
 * pieces of any size gives exactly the bytes of one read of the whole. Each call costs a binary
 * search over the entries plus the bytes it writes. Returns the bytes written (@max unless the
 * end is reached), 0 at or past the end (or for a @max of 0), -1 when @rd fails (@buf then holds
 * anything). A plan is immutable: any number of threads may read it at once, if @rd allows it.
 */
ssize_t zip_plan_read(const struct zip_plan *p, uint64_t pos, void *buf, size_t max,
                      zip_read_fn *rd, void *cls);

/**
 * Gives the CRC-32 of the entry of @entry_ctx (one planned with crc_later) into *@crc; false when
 * it cannot (the read then fails). @cls is the closure given to zip_plan_read_crc().
 */
typedef bool zip_crc_fn(void *cls, void *entry_ctx, uint32_t *crc);

/** zip_plan_read() for plans with crc_later entries: their CRCs come from @crc. */
ssize_t zip_plan_read_crc(const struct zip_plan *p, uint64_t pos, void *buf, size_t max,
                          zip_read_fn *rd, zip_crc_fn *crc, void *cls);

/** Frees @p; NULL is fine. */
void zip_plan_free(struct zip_plan *p);

/**
 * The archive path of a file from its client-given folder @path (NULL or "" for none) and
 * @name, made safe to extract: backslashes are separators like '/'; empty, "." and ".."
 * components are dropped (so "../../etc/passwd" becomes "etc/passwd" and no path is absolute);
 * a drive ("C:") at the start of @path or of @name is dropped; control characters (C0, DEL, C1)
 * and bytes that are not UTF-8 become '_'. With @windows, also the characters <>:"|?* and the
 * dots and spaces that end a component become '_', and a device name (CON, NUL, COM1,
 * "aux.txt"...) gets a '_' after it. A component longer than ZIP_COMPONENT_MAX bytes is cut,
 * keeping its extension; a path longer than ZIP_NAME_MAX keeps its file name and as many of its
 * leading folders as fit. Cuts fall between UTF-8 characters. An empty result is "file".
 * Applying it again to its result (with the same or a false @windows) changes nothing.
 * Returns a malloc'd string the caller frees. Thread-safe.
 */
char *zip_entry_name(const char *path, const char *name, bool windows);

#endif /* CONSIGN_ZIP_H */
