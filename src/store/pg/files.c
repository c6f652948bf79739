/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Files, their upload parts and download links, on PostgreSQL. */
#include "core/compat.h"

#include "core/clock.h"
#include "store/pg/pg_int.h"

#define STORE_OP(name, params, args) enum store_rc pg_##name params;
#include "store/store_ops.def"
#undef STORE_OP

/* ---- files ---- */

#define FILE_COLS                                                                                  \
    "id, package_id, kind, name, path, size, chunk_size, last_modified, upload_id, done, crc32, "  \
    "created_at, updated_at"

static void read_file(const PGresult *r, int row, struct arena *a, void *record)
{
    struct file *f = record;

    *f = (struct file){ 0 };
    pg_col_id(r, row, 0, f->id);
    pg_col_id(r, row, 1, f->package_id);
    f->kind = pg_col_text(r, row, 2, a);
    f->name = pg_col_text(r, row, 3, a);
    f->path = pg_col_text(r, row, 4, a);
    f->size = PQgetisnull(r, row, 5) ? -1 : pg_col_int(r, row, 5);
    f->chunk_size = pg_col_int(r, row, 6);
    f->last_modified = pg_col_int(r, row, 7);
    f->upload_id = pg_col_text(r, row, 8, a);
    f->done = pg_col_bool(r, row, 9);
    f->crc32 = (uint32_t)pg_col_int(r, row, 10);
    f->created_at = pg_col_int(r, row, 11);
    f->updated_at = pg_col_int(r, row, 12);
}

/* Adds the columns of FILE_COLS from the third on. */
static void add_file_rest(struct pg_params *p, const struct file *f)
{
    pg_add_text(p, f->kind);
    pg_add_text(p, f->name);
    pg_add_text(p, f->path);
    if (f->size < 0)
        pg_add_text(p, NULL);
    else
        pg_add_int(p, f->size);
    if (f->chunk_size > 0)
        pg_add_int(p, f->chunk_size);
    else
        pg_add_text(p, NULL);
    pg_add_int(p, f->last_modified);
    pg_add_text(p, f->upload_id);
    pg_add_bool(p, f->done);
    pg_add_int(p, f->crc32);
    pg_add_int(p, f->created_at);
    pg_add_int(p, f->updated_at);
}

enum store_rc pg_file_insert(struct store *s, const struct file *f)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, f->id);
    pg_add_text(&p, f->package_id);
    add_file_rest(&p, f);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO files (" FILE_COLS ") VALUES ($1, $2, $3, $4, $5, $6, "
                              "$7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING"),
                   &p, NULL, "file insert");
}

enum store_rc pg_file_get(struct store *s, const char *id, struct arena *a, struct file *out)
{
    return pg_read_one_by(to_pg(s), "SELECT " FILE_COLS " FROM files WHERE id = $1", id, a,
                          read_file, out, "file get");
}

enum store_rc pg_file_update(struct store *s, const struct file *f)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    add_file_rest(&p, f);
    pg_add_text(&p, f->id);
    return pg_exec(q,
                   pg_stmt(q, "UPDATE files SET kind = $1, name = $2, path = $3, size = $4, "
                              "chunk_size = $5, last_modified = $6, upload_id = $7, done = $8, "
                              "crc32 = $9, created_at = $10, updated_at = $11 WHERE id = $12"),
                   &p, NULL, "file update");
}

enum store_rc pg_file_delete(struct store *s, const char *id)
{
    return pg_exec_by(to_pg(s), "DELETE FROM files WHERE id = $1", id, "file delete");
}

enum store_rc pg_files_count(struct store *s, const char *package_id, int64_t *n)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, package_id);
    return pg_read_count(q, pg_stmt(q, "SELECT count(*) FROM files WHERE package_id = $1"), &p, n,
                         "files count");
}

enum store_rc pg_files_list(struct store *s, const char *package_id, struct arena *a,
                            struct file **out, size_t *n)
{
    return pg_read_rows_by(to_pg(s),
                           "SELECT " FILE_COLS " FROM files WHERE package_id = $1 "
                           "ORDER BY created_at, id",
                           package_id, a, sizeof(**out), read_file, out, n, "files list");
}

/* ---- parts ---- */

static void read_part(const PGresult *r, int row, struct arena *a, void *record)
{
    struct file_part *p = record;

    (void)a;
    p->part = (uint32_t)pg_col_int(r, row, 0);
    p->size = pg_col_int(r, row, 1);
    p->crc32 = (uint32_t)pg_col_int(r, row, 2);
    p->side = pg_col_bool(r, row, 3);
}

enum store_rc pg_file_part_put(struct store *s, const char *file_id, const struct file_part *part)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, file_id);
    pg_add_int(&p, part->part);
    pg_add_int(&p, part->size);
    pg_add_int(&p, part->crc32);
    pg_add_bool(&p, part->side);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO file_parts (file_id, part, size, crc32, side) "
                              "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (file_id, part) DO UPDATE "
                              "SET size = EXCLUDED.size, crc32 = EXCLUDED.crc32, "
                              "side = EXCLUDED.side"),
                   &p, NULL, "part put");
}

enum store_rc pg_file_part_delete(struct store *s, const char *file_id, uint32_t part)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, file_id);
    pg_add_int(&p, part);
    return pg_exec(q, pg_stmt(q, "DELETE FROM file_parts WHERE file_id = $1 AND part = $2"), &p,
                   NULL, "part delete");
}

enum store_rc pg_file_parts_list(struct store *s, const char *file_id, struct arena *a,
                                 struct file_part **out, size_t *n)
{
    return pg_read_rows_by(to_pg(s),
                           "SELECT part, size, crc32, side FROM file_parts WHERE file_id = $1 "
                           "ORDER BY part",
                           file_id, a, sizeof(**out), read_part, out, n, "parts list");
}

/* ---- links ---- */

#define LINK_COLS                                                                                  \
    "id, package_id, secret_hash, email, password_hash, access_limit, access_count, expiry, "      \
    "active, created_at, updated_at"

static void read_link(const PGresult *r, int row, struct arena *a, void *record)
{
    struct link *l = record;

    *l = (struct link){ 0 };
    pg_col_id(r, row, 0, l->id);
    pg_col_id(r, row, 1, l->package_id);
    pg_col_bytes(r, row, 2, l->secret_hash, API_KEY_HASH_LEN);
    l->email = pg_col_text(r, row, 3, a);
    l->password_hash = pg_col_text(r, row, 4, a);
    l->access_limit = pg_col_int(r, row, 5);
    l->access_count = pg_col_int(r, row, 6);
    l->expiry = pg_col_time(r, row, 7);
    l->active = pg_col_bool(r, row, 8);
    l->created_at = pg_col_int(r, row, 9);
    l->updated_at = pg_col_int(r, row, 10);
}

enum store_rc pg_link_insert(struct store *s, const struct link *l)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, l->id);
    pg_add_text(&p, l->package_id);
    pg_add_bytes(&p, l->secret_hash, API_KEY_HASH_LEN);
    pg_add_text(&p, l->email);
    pg_add_text(&p, l->password_hash);
    pg_add_int(&p, l->access_limit);
    pg_add_int(&p, l->access_count);
    pg_add_time(&p, l->expiry);
    pg_add_bool(&p, l->active);
    pg_add_int(&p, l->created_at);
    pg_add_int(&p, l->updated_at);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO links (" LINK_COLS ") VALUES ($1, $2, $3, $4, $5, $6, "
                              "$7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"),
                   &p, NULL, "link insert");
}

enum store_rc pg_link_get(struct store *s, const char *id, struct arena *a, struct link *out)
{
    return pg_read_one_by(to_pg(s), "SELECT " LINK_COLS " FROM links WHERE id = $1", id, a,
                          read_link, out, "link get");
}

enum store_rc pg_link_update(struct store *s, const struct link *l)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_int(&p, l->access_count);
    pg_add_bool(&p, l->active);
    pg_add_int(&p, l->updated_at);
    pg_add_text(&p, l->id);
    return pg_exec(q,
                   pg_stmt(q, "UPDATE links SET access_count = $1, active = $2, updated_at = $3 "
                              "WHERE id = $4"),
                   &p, NULL, "link update");
}

enum store_rc pg_links_list(struct store *s, const char *package_id, struct arena *a,
                            struct link **out, size_t *n)
{
    return pg_read_rows_by(to_pg(s),
                           "SELECT " LINK_COLS " FROM links WHERE package_id = $1 "
                           "ORDER BY created_at, id",
                           package_id, a, sizeof(**out), read_link, out, n, "links list");
}
