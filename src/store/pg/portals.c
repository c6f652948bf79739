/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Portals on PostgreSQL: the portal row, its access list, the team's list and the bulk archive
 * of a portal's packages. Statements, orders and totals are SQLite's: the list is one fixed
 * statement whose absent filters are NULL parameters and whose order is picked by CASE
 * expressions on the bound sort key.
 */
#include "core/compat.h"

#define LOG_COMPONENT "store.pg"
#include "core/clock.h"
#include "core/log.h"
#include "store/pg/pg_int.h"

#define STORE_OP(name, params, args) enum store_rc pg_##name params;
#include "store/store_ops.def"
#undef STORE_OP

#define PORTAL_COLS                                                                                \
    "p.id, p.team_id, p.created_by, p.name, p.subdomain, p.message, p.active, "                    \
    "p.has_access_code, p.access_code, p.logo_url, p.background_url, p.primary_color, "            \
    "p.recipients, p.has_download_password, p.download_password_hash, p.custom_expiry_days, "      \
    "p.cloud_connections, p.custom_webhooks, p.disable_upload_receipt, t.id, t.name, "             \
    "p.access_level, p.teamspace_id, ts.name, p.terms_of_service_enabled, p.tos_checkbox_label, "  \
    "p.tos_checkbox_url, p.tos_title, p.tos_description, p.package_size_restriction_enabled, "     \
    "p.max_package_size, p.max_file_size, p.max_file_count, p.file_type_restriction_enabled, "     \
    "p.file_type_restriction_exclude, p.file_types, p.expiry_enabled, p.expiry, "                  \
    "p.package_name_format_enabled, p.name_format_value, p.name_format_label, p.created_at, "      \
    "p.updated_at "
/* A tag deleted since (tags have no foreign key here) reads as no tag. */
#define PORTAL_FROM                                                                                \
    "FROM portals p LEFT JOIN tags t ON t.id = p.tag_id AND t.team_id = p.team_id "                \
    "LEFT JOIN teamspaces ts ON ts.id = p.teamspace_id "

static void read_portal(const PGresult *r, int row, struct arena *a, void *record)
{
    struct portal *p = record;
    int i = 0;

    *p = (struct portal){ 0 };
    pg_col_id(r, row, i++, p->id);
    pg_col_id(r, row, i++, p->team_id);
    p->created_by = pg_col_text(r, row, i++, a);
    p->name = pg_col_text(r, row, i++, a);
    p->subdomain = pg_col_text(r, row, i++, a);
    p->message = pg_col_text(r, row, i++, a);
    p->active = pg_col_bool(r, row, i++);
    p->has_access_code = pg_col_bool(r, row, i++);
    p->access_code = pg_col_text(r, row, i++, a);
    p->logo_url = pg_col_text(r, row, i++, a);
    p->background_url = pg_col_text(r, row, i++, a);
    p->primary_color = pg_col_text(r, row, i++, a);
    p->recipients = pg_col_text(r, row, i++, a);
    p->has_download_password = pg_col_bool(r, row, i++);
    p->download_password_hash = pg_col_text(r, row, i++, a);
    p->custom_expiry_days = pg_col_int(r, row, i++);
    p->cloud_connections = pg_col_text(r, row, i++, a);
    p->custom_webhooks = pg_col_text(r, row, i++, a);
    p->disable_upload_receipt = pg_col_bool(r, row, i++);
    p->tag_id = pg_col_text(r, row, i++, a);
    p->tag_name = pg_col_text(r, row, i++, a);
    p->access_level = portal_access_level_parse(PQgetvalue(r, row, i++));
    p->teamspace_id = pg_col_text(r, row, i++, a);
    p->teamspace_name = pg_col_text(r, row, i++, a);
    p->terms_of_service_enabled = pg_col_bool(r, row, i++);
    p->tos_checkbox_label = pg_col_text(r, row, i++, a);
    p->tos_checkbox_url = pg_col_text(r, row, i++, a);
    p->tos_title = pg_col_text(r, row, i++, a);
    p->tos_description = pg_col_text(r, row, i++, a);
    p->package_size_restriction_enabled = pg_col_bool(r, row, i++);
    p->max_package_size = pg_col_int(r, row, i++);
    p->max_file_size = pg_col_int(r, row, i++);
    p->max_file_count = pg_col_int(r, row, i++);
    p->file_type_restriction_enabled = pg_col_bool(r, row, i++);
    p->file_type_restriction_exclude = pg_col_bool(r, row, i++);
    p->file_types = pg_col_text(r, row, i++, a);
    p->expiry_enabled = pg_col_bool(r, row, i++);
    p->expiry = pg_col_time(r, row, i++);
    p->package_name_format_enabled = pg_col_bool(r, row, i++);
    p->name_format_value = pg_col_text(r, row, i++, a);
    p->name_format_label = pg_col_text(r, row, i++, a);
    p->created_at = pg_col_int(r, row, i++);
    p->updated_at = pg_col_int(r, row, i);
}

static const char *or_empty(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

/* The fields store_portal_update() writes, as $1 ... $37 in this order. */
static void add_changeable(struct pg_params *pp, const struct portal *p)
{
    pg_add_text(pp, p->name);
    pg_add_text(pp, p->subdomain);
    pg_add_text(pp, or_empty(p->message, ""));
    pg_add_bool(pp, p->active);
    pg_add_bool(pp, p->has_access_code);
    pg_add_text(pp, or_empty(p->access_code, ""));
    pg_add_text(pp, or_empty(p->logo_url, ""));
    pg_add_text(pp, or_empty(p->background_url, ""));
    pg_add_text(pp, or_empty(p->primary_color, ""));
    pg_add_text(pp, or_empty(p->recipients, "[]"));
    pg_add_bool(pp, p->has_download_password);
    pg_add_text(pp, p->download_password_hash);
    pg_add_int(pp, p->custom_expiry_days);
    pg_add_text(pp, or_empty(p->cloud_connections, "[]"));
    pg_add_text(pp, or_empty(p->custom_webhooks, "[]"));
    pg_add_bool(pp, p->disable_upload_receipt);
    pg_add_text(pp, p->tag_id);
    pg_add_text(pp, portal_access_level_name(p->access_level ? p->access_level : PORTAL_REGULAR));
    pg_add_text(pp, p->teamspace_id);
    pg_add_bool(pp, p->terms_of_service_enabled);
    pg_add_text(pp, or_empty(p->tos_checkbox_label, ""));
    pg_add_text(pp, or_empty(p->tos_checkbox_url, ""));
    pg_add_text(pp, or_empty(p->tos_title, ""));
    pg_add_text(pp, or_empty(p->tos_description, ""));
    pg_add_bool(pp, p->package_size_restriction_enabled);
    pg_add_int(pp, p->max_package_size);
    pg_add_int(pp, p->max_file_size);
    pg_add_int(pp, p->max_file_count);
    pg_add_bool(pp, p->file_type_restriction_enabled);
    pg_add_bool(pp, p->file_type_restriction_exclude);
    pg_add_text(pp, or_empty(p->file_types, "[]"));
    pg_add_bool(pp, p->expiry_enabled);
    pg_add_time(pp, p->expiry);
    pg_add_bool(pp, p->package_name_format_enabled);
    pg_add_text(pp, or_empty(p->name_format_value, ""));
    pg_add_text(pp, or_empty(p->name_format_label, ""));
    pg_add_int(pp, p->updated_at);
}

/* Writes the access list of @p (after the old one, if any, was removed). */
static enum store_rc put_access(struct pg_store *q, const struct portal *p)
{
    for (size_t i = 0; i < p->naccess; i++) {
        struct pg_params pp;
        enum store_rc rc;

        pg_params_init(&pp);
        pg_add_text(&pp, p->id);
        pg_add_text(&pp, p->access_list[i]);
        rc = pg_exec(q,
                     pg_stmt(q, "INSERT INTO portal_access (portal_id, membership_id) "
                                "VALUES ($1, $2) ON CONFLICT DO NOTHING"),
                     &pp, NULL, "portal access insert");
        if (rc < 0)
            return rc;
    }
    return STORE_ONE;
}

/* Reads the access lists of @n portals at once. */
static enum store_rc get_access(struct pg_store *q, struct arena *a, struct portal *ps, size_t n)
{
    enum store_rc rc = STORE_HARD;
    const char **ids = arena_alloc(a, (n ? n : 1) * sizeof(*ids));
    struct pg_params pp;
    PGresult *r;
    int rows;

    for (size_t i = 0; i < n; i++)
        ids[i] = ps[i].id;
    pg_params_init(&pp);
    pg_add_text(&pp, pg_array_literal(ids, n, a));
    r = pg_query(q,
                 pg_stmt(q, "SELECT portal_id, membership_id FROM portal_access WHERE "
                            "portal_id = ANY ($1::text[]) ORDER BY portal_id, membership_id"),
                 &pp, "portal access list", &rc);
    if (!r)
        return rc;
    rows = PQntuples(r);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;

        ps[i].naccess = 0;
        for (int row = 0; row < rows; row++)
            ps[i].naccess += strcmp(PQgetvalue(r, row, 0), ps[i].id) == 0;
        ps[i].access_list = ps[i].naccess ? arena_alloc(a, ps[i].naccess * sizeof(char *)) : NULL;
        for (int row = 0; row < rows && k < ps[i].naccess; row++)
            if (strcmp(PQgetvalue(r, row, 0), ps[i].id) == 0)
                ps[i].access_list[k++] = pg_col_text(r, row, 1, a);
    }
    PQclear(r);
    return STORE_ONE;
}

enum store_rc pg_portal_insert(struct store *s, const struct portal *p)
{
    struct pg_store *q = to_pg(s);
    struct pg_params pp;
    enum store_rc rc;

    pg_params_init(&pp);
    add_changeable(&pp, p);
    pg_add_text(&pp, p->id);
    pg_add_text(&pp, p->team_id);
    pg_add_text(&pp, p->created_by);
    pg_add_int(&pp, p->created_at);
    /* ON CONFLICT DO NOTHING: a taken subdomain is no error that would abort the transaction. */
    rc = pg_exec(
        q,
        pg_stmt(q, "INSERT INTO portals (name, subdomain, message, active, has_access_code, "
                   "access_code, logo_url, background_url, primary_color, recipients, "
                   "has_download_password, download_password_hash, custom_expiry_days, "
                   "cloud_connections, custom_webhooks, disable_upload_receipt, tag_id, "
                   "access_level, teamspace_id, terms_of_service_enabled, tos_checkbox_label, "
                   "tos_checkbox_url, tos_title, tos_description, "
                   "package_size_restriction_enabled, max_package_size, max_file_size, "
                   "max_file_count, file_type_restriction_enabled, file_type_restriction_exclude, "
                   "file_types, expiry_enabled, expiry, package_name_format_enabled, "
                   "name_format_value, name_format_label, updated_at, id, team_id, created_by, "
                   "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                   "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, "
                   "$29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41) "
                   "ON CONFLICT DO NOTHING"),
        &pp, NULL, "portal insert");
    if (rc != STORE_ONE)
        return rc;
    return put_access(q, p);
}

static enum store_rc portal_where(struct store *s, const char *sql, const char *key,
                                  struct arena *a, struct portal *out)
{
    struct pg_store *q = to_pg(s);
    enum store_rc rc = pg_read_one_by(q, sql, key, a, read_portal, out, "portal get");

    if (rc == STORE_ONE)
        rc = get_access(q, a, out, 1);
    return rc;
}

enum store_rc pg_portal_get(struct store *s, const char *id, struct arena *a, struct portal *out)
{
    return portal_where(
        s, "SELECT " PORTAL_COLS PORTAL_FROM "WHERE p.id = $1 AND p.deleted_at IS NULL", id, a,
        out);
}

enum store_rc pg_portal_by_subdomain(struct store *s, const char *subdomain, struct arena *a,
                                     struct portal *out)
{
    return portal_where(
        s, "SELECT " PORTAL_COLS PORTAL_FROM "WHERE p.subdomain = $1 AND p.deleted_at IS NULL",
        subdomain, a, out);
}

enum store_rc pg_portal_update(struct store *s, const struct portal *p)
{
    struct pg_store *q = to_pg(s);
    enum store_rc rc = STORE_HARD;
    struct pg_params pp;
    PGresult *r;
    int64_t n;

    pg_params_init(&pp);
    add_changeable(&pp, p);
    pg_add_text(&pp, p->id);
    /* A taken subdomain changes nothing (STORE_NONE). */
    r = pg_query(
        q,
        pg_stmt(q, "UPDATE portals SET name = $1, subdomain = $2, message = $3, active = $4, "
                   "has_access_code = $5, access_code = $6, logo_url = $7, background_url = $8, "
                   "primary_color = $9, recipients = $10, has_download_password = $11, "
                   "download_password_hash = $12, custom_expiry_days = $13, cloud_connections = "
                   "$14, custom_webhooks = $15, disable_upload_receipt = $16, tag_id = $17, "
                   "access_level = $18, teamspace_id = $19, terms_of_service_enabled = $20, "
                   "tos_checkbox_label = $21, tos_checkbox_url = $22, tos_title = $23, "
                   "tos_description = $24, package_size_restriction_enabled = $25, "
                   "max_package_size = $26, max_file_size = $27, max_file_count = $28, "
                   "file_type_restriction_enabled = $29, file_type_restriction_exclude = $30, "
                   "file_types = $31, expiry_enabled = $32, expiry = $33, "
                   "package_name_format_enabled = $34, name_format_value = $35, "
                   "name_format_label = $36, updated_at = $37 WHERE id = $38 AND deleted_at IS "
                   "NULL AND NOT EXISTS (SELECT 1 FROM portals o WHERE o.subdomain = $2 AND "
                   "o.id <> $38 AND o.deleted_at IS NULL)"),
        &pp, "portal update", &rc);
    /* A portal that took the subdomain in a transaction committed meanwhile: the unique index
     * refused it and aborted this transaction; run it again, and it sees that portal. */
    if (!r)
        return rc == STORE_NONE ? STORE_RETRY : rc;
    n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (n == 0)
        return STORE_NONE;
    rc = pg_exec_by(q, "DELETE FROM portal_access WHERE portal_id = $1", p->id,
                    "portal access clear");
    if (rc < 0)
        return rc;
    return put_access(q, p);
}

enum store_rc pg_portal_delete(struct store *s, const char *id, int64_t now)
{
    struct pg_store *q = to_pg(s);
    struct pg_params pp;

    pg_params_init(&pp);
    pg_add_int(&pp, now);
    pg_add_text(&pp, id);
    return pg_exec(q,
                   pg_stmt(q, "UPDATE portals SET deleted_at = $1, updated_at = $1 WHERE id = $2 "
                              "AND deleted_at IS NULL"),
                   &pp, NULL, "portal delete");
}

/* What a member sees: regular portals in no teamspace or one of theirs, private ones whose
 * access list has them. Owners and admins ($2) see every portal. */
#define PORTALS_WHERE                                                                              \
    "WHERE p.team_id = $1 AND p.deleted_at IS NULL AND ($2::boolean OR (p.access_level = "         \
    "'regular' AND (p.teamspace_id IS NULL OR p.teamspace_id IN (SELECT teamspace_id FROM "        \
    "teamspace_members WHERE membership_id = $3::text))) OR (p.access_level = 'private' AND "      \
    "EXISTS (SELECT 1 FROM portal_access x WHERE x.portal_id = p.id AND x.membership_id = "        \
    "$3::text))) AND ($4::text IS NULL OR p.name ILIKE $4::text) "                                 \
    "AND ($5::text IS NULL OR p.subdomain ILIKE $5::text) "                                        \
    "AND ($6::jsonb IS NULL OR p.tag_id IN (SELECT jsonb_array_elements_text($6::jsonb))) "        \
    "AND ($7::jsonb IS NULL OR p.teamspace_id IN (SELECT jsonb_array_elements_text($7::jsonb))) "

/* A LIKE pattern that finds @s anywhere, with the pattern characters of @s escaped (backslash
 * is LIKE's escape character). */
enum store_rc pg_portals_list(struct store *s, const struct portal_query *pq, struct arena *a,
                              struct portal **out, size_t *n, int64_t *total)
{
    struct pg_store *q = to_pg(s);
    struct pg_params pp;
    enum store_rc rc;

    *out = NULL;
    *n = 0;
    if ((unsigned)pq->sort >= PORTAL_SORT_COUNT)
        return STORE_HARD;
    pg_params_init(&pp);
    pg_add_text(&pp, pq->team_id);
    pg_add_bool(&pp, pq->scope.all);
    pg_add_text(&pp, pq->scope.membership_id);
    pg_add_text(&pp, store_like_pattern(pq->name, a));
    pg_add_text(&pp, store_like_pattern(pq->subdomain, a));
    pg_add_text(&pp, pq->tags_json);
    pg_add_text(&pp, pq->teamspaces_json);
    rc = pg_read_count(q, pg_stmt(q, "SELECT count(*) FROM portals p " PORTALS_WHERE), &pp, total,
                       "portals count");
    if (rc < 0)
        return rc;
    pg_add_int(&pp, pq->sort);
    pg_add_bool(&pp, pq->desc);
    if (pq->page.limit > 0)
        pg_add_int(&pp, pq->page.limit);
    else
        pg_add_text(&pp, NULL); /* LIMIT NULL: every row */
    pg_add_int(&pp, pq->page.limit > 0 ? (pq->page.page - 1) * pq->page.limit : 0);
    /* Ties are broken by id in the same direction, so pages never overlap or skip. */
    rc = pg_read_rows(q,
                      pg_stmt(q, "SELECT " PORTAL_COLS PORTAL_FROM PORTALS_WHERE
                                 "ORDER BY CASE WHEN $8::int = 1 AND NOT $9::boolean THEN p.name "
                                 "END ASC, CASE WHEN $8::int = 1 AND $9::boolean THEN p.name END "
                                 "DESC, CASE WHEN $8::int = 2 AND NOT $9::boolean THEN p.active "
                                 "END ASC, CASE WHEN $8::int = 2 AND $9::boolean THEN p.active END "
                                 "DESC, CASE WHEN $8::int = 0 AND NOT $9::boolean THEN "
                                 "p.created_at END ASC, CASE WHEN $8::int = 0 AND $9::boolean "
                                 "THEN p.created_at END DESC, CASE WHEN NOT $9::boolean THEN p.id "
                                 "END ASC, CASE WHEN $9::boolean THEN p.id END DESC "
                                 "LIMIT $10::bigint OFFSET $11::bigint"),
                      &pp, a, sizeof(**out), read_portal, out, n, "portals list");
    if (rc == STORE_ONE)
        rc = get_access(q, a, *out, *n);
    return rc;
}

enum store_rc pg_portal_packages_move(struct store *s, const char *portal_id,
                                      const char *package_id, enum package_state from,
                                      enum package_state to, int64_t start, int64_t end,
                                      int64_t now, int64_t *updated)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;
    enum store_rc rc;

    pg_params_init(&p);
    pg_add_text(&p, package_state_name(to));
    pg_add_int(&p, now);
    pg_add_text(&p, portal_id);
    pg_add_text(&p, package_state_name(from));
    pg_add_int(&p, start);
    pg_add_int(&p, end);
    pg_add_text(&p, package_id);
    rc = pg_exec(q,
                 pg_stmt(q, "UPDATE packages SET state = $1, updated_at = $2 WHERE portal_id = $3 "
                            "AND inbox AND state = $4 AND expiry IS NOT NULL AND expiry >= $5 AND "
                            "expiry <= $6 AND ($7::text IS NULL OR id = $7::text)"),
                 &p, updated, "portal packages move");
    return rc < 0 ? rc : STORE_ONE;
}
