/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Files, their upload parts and download links, on SQLite. */
#include "core/compat.h"

#include "core/clock.h"
#include "store/sqlite/sqlite_int.h"

#define STORE_OP(name, params, args) enum store_rc sqlite_##name params;
#include "store/store_ops.def"
#undef STORE_OP

/* ---- files ---- */

#define FILE_COLS                                                                                  \
    "id, package_id, kind, name, path, size, chunk_size, last_modified, upload_id, done, crc32, "  \
    "created_at, updated_at"

static void read_file(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct file *f = record;

    *f = (struct file){ 0 };
    sq_id(st, 0, f->id);
    sq_id(st, 1, f->package_id);
    f->kind = sq_text(st, 2, a);
    f->name = sq_text(st, 3, a);
    f->path = sq_text(st, 4, a);
    f->size = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
    f->chunk_size = sqlite3_column_int64(st, 6);
    f->last_modified = sqlite3_column_int64(st, 7);
    f->upload_id = sq_text(st, 8, a);
    f->done = sqlite3_column_int(st, 9) != 0;
    f->crc32 = (uint32_t)sqlite3_column_int64(st, 10);
    f->created_at = sqlite3_column_int64(st, 11);
    f->updated_at = sqlite3_column_int64(st, 12);
}

/* Binds the columns of FILE_COLS from the third on, starting at @i. */
static void bind_file_rest(sqlite3_stmt *st, int i, const struct file *f)
{
    sq_bind_text(st, i, f->kind);
    sq_bind_text(st, i + 1, f->name);
    sq_bind_text(st, i + 2, f->path);
    if (f->size < 0)
        sqlite3_bind_null(st, i + 3);
    else
        sqlite3_bind_int64(st, i + 3, f->size);
    if (f->chunk_size > 0)
        sqlite3_bind_int64(st, i + 4, f->chunk_size);
    else
        sqlite3_bind_null(st, i + 4);
    sqlite3_bind_int64(st, i + 5, f->last_modified);
    sq_bind_text(st, i + 6, f->upload_id);
    sqlite3_bind_int(st, i + 7, f->done);
    sqlite3_bind_int64(st, i + 8, f->crc32);
    sqlite3_bind_int64(st, i + 9, f->created_at);
    sqlite3_bind_int64(st, i + 10, f->updated_at);
}

enum store_rc sqlite_file_insert(struct store *s, const struct file *f)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "INSERT INTO files (" FILE_COLS
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, f->id);
    sq_bind_text(st, 2, f->package_id);
    bind_file_rest(st, 3, f);
    return sq_exec(q, st, "file insert");
}

enum store_rc sqlite_file_get(struct store *s, const char *id, struct arena *a, struct file *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " FILE_COLS " FROM files WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_read_one(q, st, a, read_file, out, "file get");
}

enum store_rc sqlite_file_update(struct store *s, const struct file *f)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "UPDATE files SET kind = ?, name = ?, path = ?, size = ?, "
                                  "chunk_size = ?, last_modified = ?, upload_id = ?, done = ?, "
                                  "crc32 = ?, created_at = ?, updated_at = ? WHERE id = ?");

    if (!st)
        return STORE_HARD;
    bind_file_rest(st, 1, f);
    sq_bind_text(st, 12, f->id);
    return sq_exec(q, st, "file update");
}

enum store_rc sqlite_file_delete(struct store *s, const char *id)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "DELETE FROM files WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_exec(q, st, "file delete");
}

enum store_rc sqlite_files_count(struct store *s, const char *package_id, int64_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT count(*) FROM files WHERE package_id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, package_id);
    return sq_read_count(q, st, n, "files count");
}

enum store_rc sqlite_files_list(struct store *s, const char *package_id, struct arena *a,
                                struct file **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "SELECT " FILE_COLS " FROM files WHERE package_id = ? ORDER BY created_at, id");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, package_id);
    return sq_read_rows(q, st, a, sizeof(**out), read_file, out, n, "files list");
}

/* ---- parts ---- */

static void read_part(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct file_part *p = record;

    (void)a;
    p->part = (uint32_t)sqlite3_column_int64(st, 0);
    p->size = sqlite3_column_int64(st, 1);
    p->crc32 = (uint32_t)sqlite3_column_int64(st, 2);
    p->side = sqlite3_column_int(st, 3) != 0;
}

enum store_rc sqlite_file_part_put(struct store *s, const char *file_id, const struct file_part *p)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "INSERT OR REPLACE INTO file_parts (file_id, part, size, crc32, "
                                  "side) VALUES (?, ?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, file_id);
    sqlite3_bind_int64(st, 2, p->part);
    sqlite3_bind_int64(st, 3, p->size);
    sqlite3_bind_int64(st, 4, p->crc32);
    sqlite3_bind_int(st, 5, p->side);
    return sq_exec(q, st, "part put");
}

enum store_rc sqlite_file_part_delete(struct store *s, const char *file_id, uint32_t part)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "DELETE FROM file_parts WHERE file_id = ? AND part = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, file_id);
    sqlite3_bind_int64(st, 2, part);
    return sq_exec(q, st, "part delete");
}

enum store_rc sqlite_file_parts_list(struct store *s, const char *file_id, struct arena *a,
                                     struct file_part **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "SELECT part, size, crc32, side FROM file_parts WHERE file_id = ? ORDER BY part");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, file_id);
    return sq_read_rows(q, st, a, sizeof(**out), read_part, out, n, "parts list");
}

/* ---- links ---- */

#define LINK_COLS                                                                                  \
    "id, package_id, secret_hash, email, password_hash, access_limit, access_count, expiry, "      \
    "active, created_at, updated_at"

static void read_link(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct link *l = record;
    const void *h = sqlite3_column_blob(st, 2);

    *l = (struct link){ 0 };
    sq_id(st, 0, l->id);
    sq_id(st, 1, l->package_id);
    if (h && sqlite3_column_bytes(st, 2) == API_KEY_HASH_LEN)
        memcpy(l->secret_hash, h, API_KEY_HASH_LEN);
    l->email = sq_text(st, 3, a);
    l->password_hash = sq_text(st, 4, a);
    l->access_limit = sqlite3_column_int64(st, 5);
    l->access_count = sqlite3_column_int64(st, 6);
    l->expiry = sq_time(st, 7);
    l->active = sqlite3_column_int(st, 8) != 0;
    l->created_at = sqlite3_column_int64(st, 9);
    l->updated_at = sqlite3_column_int64(st, 10);
}

enum store_rc sqlite_link_insert(struct store *s, const struct link *l)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "INSERT INTO links (" LINK_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, l->id);
    sq_bind_text(st, 2, l->package_id);
    sqlite3_bind_blob(st, 3, l->secret_hash, API_KEY_HASH_LEN, SQLITE_STATIC);
    sq_bind_text(st, 4, l->email);
    sq_bind_text(st, 5, l->password_hash);
    sqlite3_bind_int64(st, 6, l->access_limit);
    sqlite3_bind_int64(st, 7, l->access_count);
    sq_bind_time(st, 8, l->expiry);
    sqlite3_bind_int(st, 9, l->active);
    sqlite3_bind_int64(st, 10, l->created_at);
    sqlite3_bind_int64(st, 11, l->updated_at);
    return sq_exec(q, st, "link insert");
}

enum store_rc sqlite_link_get(struct store *s, const char *id, struct arena *a, struct link *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " LINK_COLS " FROM links WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_read_one(q, st, a, read_link, out, "link get");
}

enum store_rc sqlite_link_update(struct store *s, const struct link *l)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "UPDATE links SET access_count = ?, active = ?, updated_at = ? "
                                  "WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sqlite3_bind_int64(st, 1, l->access_count);
    sqlite3_bind_int(st, 2, l->active);
    sqlite3_bind_int64(st, 3, l->updated_at);
    sq_bind_text(st, 4, l->id);
    return sq_exec(q, st, "link update");
}

enum store_rc sqlite_links_list(struct store *s, const char *package_id, struct arena *a,
                                struct link **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "SELECT " LINK_COLS " FROM links WHERE package_id = ? ORDER BY created_at, id");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, package_id);
    return sq_read_rows(q, st, a, sizeof(**out), read_link, out, n, "links list");
}
