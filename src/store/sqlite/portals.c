/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Portals on SQLite: the portal row, its access list, the team's list and the bulk archive of a
 * portal's packages. A team has few portals, so the list is one fixed statement: absent filters
 * are "(:x IS NULL OR …)" and the order is picked by CASE expressions on the bound sort key.
 */
#include "core/compat.h"

#define LOG_COMPONENT "store.sqlite"
#include "core/clock.h"
#include "core/log.h"
#include "store/sqlite/sqlite_int.h"

#define STORE_OP(name, params, args) enum store_rc sqlite_##name params;
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

static void read_portal(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct portal *p = record;
    int i = 0;

    *p = (struct portal){ 0 };
    sq_id(st, i++, p->id);
    sq_id(st, i++, p->team_id);
    p->created_by = sq_text(st, i++, a);
    p->name = sq_text(st, i++, a);
    p->subdomain = sq_text(st, i++, a);
    p->message = sq_text(st, i++, a);
    p->active = sqlite3_column_int(st, i++) != 0;
    p->has_access_code = sqlite3_column_int(st, i++) != 0;
    p->access_code = sq_text(st, i++, a);
    p->logo_url = sq_text(st, i++, a);
    p->background_url = sq_text(st, i++, a);
    p->primary_color = sq_text(st, i++, a);
    p->recipients = sq_text(st, i++, a);
    p->has_download_password = sqlite3_column_int(st, i++) != 0;
    p->download_password_hash = sq_text(st, i++, a);
    p->custom_expiry_days = sqlite3_column_int64(st, i++);
    p->cloud_connections = sq_text(st, i++, a);
    p->custom_webhooks = sq_text(st, i++, a);
    p->disable_upload_receipt = sqlite3_column_int(st, i++) != 0;
    p->tag_id = sq_text(st, i++, a);
    p->tag_name = sq_text(st, i++, a);
    p->access_level = portal_access_level_parse((const char *)sqlite3_column_text(st, i++));
    p->teamspace_id = sq_text(st, i++, a);
    p->teamspace_name = sq_text(st, i++, a);
    p->terms_of_service_enabled = sqlite3_column_int(st, i++) != 0;
    p->tos_checkbox_label = sq_text(st, i++, a);
    p->tos_checkbox_url = sq_text(st, i++, a);
    p->tos_title = sq_text(st, i++, a);
    p->tos_description = sq_text(st, i++, a);
    p->package_size_restriction_enabled = sqlite3_column_int(st, i++) != 0;
    p->max_package_size = sqlite3_column_int64(st, i++);
    p->max_file_size = sqlite3_column_int64(st, i++);
    p->max_file_count = sqlite3_column_int64(st, i++);
    p->file_type_restriction_enabled = sqlite3_column_int(st, i++) != 0;
    p->file_type_restriction_exclude = sqlite3_column_int(st, i++) != 0;
    p->file_types = sq_text(st, i++, a);
    p->expiry_enabled = sqlite3_column_int(st, i++) != 0;
    p->expiry = sq_time(st, i++);
    p->package_name_format_enabled = sqlite3_column_int(st, i++) != 0;
    p->name_format_value = sq_text(st, i++, a);
    p->name_format_label = sq_text(st, i++, a);
    p->created_at = sqlite3_column_int64(st, i++);
    p->updated_at = sqlite3_column_int64(st, i);
}

/* Binds by parameter name; a name the statement does not use is skipped (index 0). */
static void bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
    sq_bind_text(st, sqlite3_bind_parameter_index(st, name), v);
}

static void bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, name), v);
}

static const char *or_empty(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

/* Binds every field of @p the statement names. */
static void bind_portal(sqlite3_stmt *st, const struct portal *p)
{
    bind_text(st, ":id", p->id);
    bind_text(st, ":team", p->team_id);
    bind_text(st, ":created_by", p->created_by);
    bind_text(st, ":name", p->name);
    bind_text(st, ":subdomain", p->subdomain);
    bind_text(st, ":message", or_empty(p->message, ""));
    bind_int(st, ":active", p->active);
    bind_int(st, ":has_code", p->has_access_code);
    bind_text(st, ":code", or_empty(p->access_code, ""));
    bind_text(st, ":logo", or_empty(p->logo_url, ""));
    bind_text(st, ":background", or_empty(p->background_url, ""));
    bind_text(st, ":color", or_empty(p->primary_color, ""));
    bind_text(st, ":recipients", or_empty(p->recipients, "[]"));
    bind_int(st, ":has_pw", p->has_download_password);
    bind_text(st, ":pw", p->download_password_hash);
    bind_int(st, ":days", p->custom_expiry_days);
    bind_text(st, ":clouds", or_empty(p->cloud_connections, "[]"));
    bind_text(st, ":hooks", or_empty(p->custom_webhooks, "[]"));
    bind_int(st, ":no_receipt", p->disable_upload_receipt);
    bind_text(st, ":tag", p->tag_id);
    bind_text(st, ":level",
              portal_access_level_name(p->access_level ? p->access_level : PORTAL_REGULAR));
    bind_text(st, ":space", p->teamspace_id);
    bind_int(st, ":tos", p->terms_of_service_enabled);
    bind_text(st, ":tos_label", or_empty(p->tos_checkbox_label, ""));
    bind_text(st, ":tos_url", or_empty(p->tos_checkbox_url, ""));
    bind_text(st, ":tos_title", or_empty(p->tos_title, ""));
    bind_text(st, ":tos_desc", or_empty(p->tos_description, ""));
    bind_int(st, ":sized", p->package_size_restriction_enabled);
    bind_int(st, ":max_pkg", p->max_package_size);
    bind_int(st, ":max_file", p->max_file_size);
    bind_int(st, ":max_count", p->max_file_count);
    bind_int(st, ":typed", p->file_type_restriction_enabled);
    bind_int(st, ":exclude", p->file_type_restriction_exclude);
    bind_text(st, ":types", or_empty(p->file_types, "[]"));
    bind_int(st, ":expiring", p->expiry_enabled);
    sq_bind_time(st, sqlite3_bind_parameter_index(st, ":expiry"), p->expiry);
    bind_int(st, ":formatted", p->package_name_format_enabled);
    bind_text(st, ":format", or_empty(p->name_format_value, ""));
    bind_text(st, ":format_label", or_empty(p->name_format_label, ""));
    bind_int(st, ":created", p->created_at);
    bind_int(st, ":updated", p->updated_at);
}

/* Writes the access list of @p (after the old one, if any, was removed). */
static enum store_rc put_access(struct sqlite_store *q, const struct portal *p)
{
    for (size_t i = 0; i < p->naccess; i++) {
        sqlite3_stmt *st = sq_stmt(q, "INSERT OR IGNORE INTO portal_access (portal_id, "
                                      "membership_id) VALUES (?, ?)");

        if (!st)
            return STORE_HARD;
        sq_bind_text(st, 1, p->id);
        sq_bind_text(st, 2, p->access_list[i]);
        if (sq_exec(q, st, "portal access insert") < 0)
            return STORE_HARD;
    }
    return STORE_ONE;
}

/* Reads the access lists of @n portals. */
static enum store_rc get_access(struct sqlite_store *q, struct arena *a, struct portal *ps,
                                size_t n)
{
    sqlite3_stmt *st = sq_stmt(q, "SELECT membership_id FROM portal_access WHERE portal_id = ? "
                                  "ORDER BY membership_id");
    int rc = SQLITE_DONE;

    if (!st)
        return STORE_HARD;
    for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
        size_t cap = 0;

        sqlite3_reset(st);
        sq_bind_text(st, 1, ps[i].id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            *(char **)sq_push(a, (void **)&ps[i].access_list, &ps[i].naccess, &cap,
                              sizeof(char *)) = sq_text(st, 0, a);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_ONE : sq_fail(q, rc, "portal access list");
}

enum store_rc sqlite_portal_insert(struct store *s, const struct portal *p)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "INSERT INTO portals (id, team_id, created_by, name, subdomain, message, active, "
           "has_access_code, access_code, logo_url, background_url, primary_color, recipients, "
           "has_download_password, download_password_hash, custom_expiry_days, "
           "cloud_connections, custom_webhooks, disable_upload_receipt, tag_id, access_level, "
           "teamspace_id, terms_of_service_enabled, tos_checkbox_label, tos_checkbox_url, "
           "tos_title, tos_description, package_size_restriction_enabled, max_package_size, "
           "max_file_size, max_file_count, file_type_restriction_enabled, "
           "file_type_restriction_exclude, file_types, expiry_enabled, expiry, "
           "package_name_format_enabled, name_format_value, name_format_label, created_at, "
           "updated_at) VALUES (:id, :team, :created_by, :name, :subdomain, :message, :active, "
           ":has_code, :code, :logo, :background, :color, :recipients, :has_pw, :pw, :days, "
           ":clouds, :hooks, :no_receipt, :tag, :level, :space, :tos, :tos_label, :tos_url, "
           ":tos_title, :tos_desc, :sized, :max_pkg, :max_file, :max_count, :typed, :exclude, "
           ":types, :expiring, :expiry, :formatted, :format, :format_label, :created, :updated)");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    bind_portal(st, p);
    rc = sq_exec(q, st, "portal insert");
    if (rc != STORE_ONE)
        return rc;
    return put_access(q, p);
}

static enum store_rc portal_where(struct store *s, sqlite3_stmt *st, const char *key,
                                  struct arena *a, struct portal *out)
{
    struct sqlite_store *q = to_sqlite(s);
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, key);
    rc = sq_read_one(q, st, a, read_portal, out, "portal get");
    if (rc == STORE_ONE)
        rc = get_access(q, a, out, 1);
    return rc;
}

enum store_rc sqlite_portal_get(struct store *s, const char *id, struct arena *a,
                                struct portal *out)
{
    return portal_where(s,
                        sq_stmt(to_sqlite(s), "SELECT " PORTAL_COLS PORTAL_FROM
                                              "WHERE p.id = ? AND p.deleted_at IS NULL"),
                        id, a, out);
}

enum store_rc sqlite_portal_by_subdomain(struct store *s, const char *subdomain, struct arena *a,
                                         struct portal *out)
{
    return portal_where(s,
                        sq_stmt(to_sqlite(s), "SELECT " PORTAL_COLS PORTAL_FROM
                                              "WHERE p.subdomain = ? AND p.deleted_at IS NULL"),
                        subdomain, a, out);
}

enum store_rc sqlite_portal_update(struct store *s, const struct portal *p)
{
    struct sqlite_store *q = to_sqlite(s);
    /* A taken subdomain changes nothing (STORE_NONE), as a conflict on the unique index would. */
    sqlite3_stmt *st = sq_stmt(
        q, "UPDATE portals SET name = :name, subdomain = :subdomain, message = :message, "
           "active = :active, has_access_code = :has_code, access_code = :code, logo_url = :logo, "
           "background_url = :background, primary_color = :color, recipients = :recipients, "
           "has_download_password = :has_pw, download_password_hash = :pw, "
           "custom_expiry_days = :days, cloud_connections = :clouds, custom_webhooks = :hooks, "
           "disable_upload_receipt = :no_receipt, tag_id = :tag, access_level = :level, "
           "teamspace_id = :space, terms_of_service_enabled = :tos, tos_checkbox_label = "
           ":tos_label, tos_checkbox_url = :tos_url, tos_title = :tos_title, tos_description = "
           ":tos_desc, package_size_restriction_enabled = :sized, max_package_size = :max_pkg, "
           "max_file_size = :max_file, max_file_count = :max_count, "
           "file_type_restriction_enabled = :typed, file_type_restriction_exclude = :exclude, "
           "file_types = :types, expiry_enabled = :expiring, expiry = :expiry, "
           "package_name_format_enabled = :formatted, name_format_value = :format, "
           "name_format_label = :format_label, updated_at = :updated WHERE id = :id AND "
           "deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM portals o WHERE o.subdomain = "
           ":subdomain AND o.id <> :id AND o.deleted_at IS NULL)");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    bind_portal(st, p);
    rc = sq_exec(q, st, "portal update");
    if (rc != STORE_ONE)
        return rc;
    st = sq_stmt(q, "DELETE FROM portal_access WHERE portal_id = ?");
    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, p->id);
    if (sq_exec(q, st, "portal access clear") < 0)
        return STORE_HARD;
    return put_access(q, p);
}

enum store_rc sqlite_portal_delete(struct store *s, const char *id, int64_t now)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "UPDATE portals SET deleted_at = ?1, updated_at = ?1 "
                                  "WHERE id = ?2 AND deleted_at IS NULL");

    if (!st)
        return STORE_HARD;
    sqlite3_bind_int64(st, 1, now);
    sq_bind_text(st, 2, id);
    return sq_exec(q, st, "portal delete");
}

/* What a member sees: regular portals in no teamspace or one of theirs, private ones whose
 * access list has them. Owners and admins (:all) see every portal. */
#define PORTALS_WHERE                                                                              \
    "WHERE p.team_id = :team AND p.deleted_at IS NULL AND (:all OR (p.access_level = "             \
    "'regular' AND (p.teamspace_id IS NULL OR p.teamspace_id IN (SELECT teamspace_id FROM "        \
    "teamspace_members WHERE membership_id = :mid))) OR (p.access_level = 'private' AND EXISTS "   \
    "(SELECT 1 FROM portal_access x WHERE x.portal_id = p.id AND x.membership_id = :mid))) "       \
    "AND (:name IS NULL OR p.name LIKE :name ESCAPE '\\') "                                        \
    "AND (:sub IS NULL OR p.subdomain LIKE :sub ESCAPE '\\') "                                     \
    "AND (:tags IS NULL OR p.tag_id IN (SELECT value FROM json_each(:tags))) "                     \
    "AND (:spaces IS NULL OR p.teamspace_id IN (SELECT value FROM json_each(:spaces))) "

static void bind_query(sqlite3_stmt *st, const struct portal_query *pq, struct arena *a)
{
    bind_text(st, ":team", pq->team_id);
    bind_int(st, ":all", pq->scope.all);
    bind_text(st, ":mid", pq->scope.membership_id);
    bind_text(st, ":name", store_like_pattern(pq->name, a));
    bind_text(st, ":sub", store_like_pattern(pq->subdomain, a));
    bind_text(st, ":tags", pq->tags_json);
    bind_text(st, ":spaces", pq->teamspaces_json);
}

enum store_rc sqlite_portals_list(struct store *s, const struct portal_query *pq, struct arena *a,
                                  struct portal **out, size_t *n, int64_t *total)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st;
    enum store_rc rc;

    *out = NULL;
    *n = 0;
    if ((unsigned)pq->sort >= PORTAL_SORT_COUNT)
        return STORE_HARD;
    st = sq_stmt(q, "SELECT count(*) FROM portals p " PORTALS_WHERE);
    if (!st)
        return STORE_HARD;
    bind_query(st, pq, a);
    rc = sq_read_count(q, st, total, "portals count");
    if (rc < 0)
        return rc;
    /* Ties are broken by id in the same direction, so pages never overlap or skip. */
    st = sq_stmt(q, "SELECT " PORTAL_COLS PORTAL_FROM PORTALS_WHERE
                    "ORDER BY CASE WHEN :sort = 1 AND NOT :desc THEN p.name END ASC, "
                    "CASE WHEN :sort = 1 AND :desc THEN p.name END DESC, "
                    "CASE WHEN :sort = 2 AND NOT :desc THEN p.active END ASC, "
                    "CASE WHEN :sort = 2 AND :desc THEN p.active END DESC, "
                    "CASE WHEN :sort = 0 AND NOT :desc THEN p.created_at END ASC, "
                    "CASE WHEN :sort = 0 AND :desc THEN p.created_at END DESC, "
                    "CASE WHEN NOT :desc THEN p.id END ASC, CASE WHEN :desc THEN p.id END DESC "
                    "LIMIT :limit OFFSET :offset");
    if (!st)
        return STORE_HARD;
    bind_query(st, pq, a);
    bind_int(st, ":sort", pq->sort);
    bind_int(st, ":desc", pq->desc);
    bind_int(st, ":limit", pq->page.limit > 0 ? pq->page.limit : -1);
    bind_int(st, ":offset", pq->page.limit > 0 ? (pq->page.page - 1) * pq->page.limit : 0);
    rc = sq_read_rows(q, st, a, sizeof(**out), read_portal, out, n, "portals list");
    if (rc == STORE_ONE)
        rc = get_access(q, a, *out, *n);
    return rc;
}

enum store_rc sqlite_portal_packages_move(struct store *s, const char *portal_id,
                                          const char *package_id, enum package_state from,
                                          enum package_state to, int64_t start, int64_t end,
                                          int64_t now, int64_t *updated)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "UPDATE packages SET state = :to, updated_at = :now WHERE portal_id = :portal AND "
           "inbox = 1 AND state = :from AND expiry IS NOT NULL AND expiry >= :start AND "
           "expiry <= :end AND (:pkg IS NULL OR id = :pkg)");
    enum store_rc rc;

    *updated = 0;
    if (!st)
        return STORE_HARD;
    bind_text(st, ":to", package_state_name(to));
    bind_int(st, ":now", now);
    bind_text(st, ":portal", portal_id);
    bind_text(st, ":from", package_state_name(from));
    bind_int(st, ":start", start);
    bind_int(st, ":end", end);
    bind_text(st, ":pkg", package_id);
    rc = sq_exec(q, st, "portal packages move");
    if (rc < 0)
        return rc;
    *updated = sqlite3_changes(q->db);
    return STORE_ONE;
}
