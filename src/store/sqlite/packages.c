/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Packages and tags on SQLite. The list statements are fixed text: filters that may be absent
 * are written "(:x IS NULL OR …)", lists of ids arrive as one JSON array read with json_each(),
 * and the order is one of sixteen prepared variants, so no SQL is ever built from input.
 */
#include "core/compat.h"

#define LOG_COMPONENT "store.sqlite"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "store/sqlite/sqlite_int.h"

#define STORE_OP(name, params, args) enum store_rc sqlite_##name params;
#include "store/store_ops.def"
#undef STORE_OP

/* Characters (UTF-8 code points) of @s. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Binds by parameter name. A name the statement does not use gives index 0, which SQLite
 * refuses harmlessly (SQLITE_RANGE): one binder serves statements that use different fields. */
static int idx(sqlite3_stmt *st, const char *name)
{
    return sqlite3_bind_parameter_index(st, name);
}

static void bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
    sq_bind_text(st, idx(st, name), v);
}

static void bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
    sqlite3_bind_int64(st, idx(st, name), v);
}

static void bind_time(sqlite3_stmt *st, const char *name, int64_t v)
{
    sq_bind_time(st, idx(st, name), v);
}

/* ---- tags ---- */

static void read_tag(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct tag *t = record;

    *t = (struct tag){ 0 };
    sq_id(st, 0, t->id);
    sq_id(st, 1, t->team_id);
    t->name = sq_text(st, 2, a);
    t->created_at = sqlite3_column_int64(st, 3);
    t->updated_at = sqlite3_column_int64(st, 4);
}

#define TAG_COLS "id, team_id, name, created_at, updated_at"

enum store_rc sqlite_tag_insert(struct store *s, const struct tag *t)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "INSERT INTO tags (" TAG_COLS ") VALUES (?, ?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, t->id);
    sq_bind_text(st, 2, t->team_id);
    sq_bind_text(st, 3, t->name);
    sqlite3_bind_int64(st, 4, t->created_at);
    sqlite3_bind_int64(st, 5, t->updated_at);
    return sq_exec(q, st, "tag insert");
}

enum store_rc sqlite_tag_get(struct store *s, const char *id, struct arena *a, struct tag *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " TAG_COLS " FROM tags WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_read_one(q, st, a, read_tag, out, "tag get");
}

enum store_rc sqlite_tag_by_name(struct store *s, const char *team_id, const char *name,
                                 struct arena *a, struct tag *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " TAG_COLS " FROM tags WHERE team_id = ? AND name = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, team_id);
    sq_bind_text(st, 2, name);
    return sq_read_one(q, st, a, read_tag, out, "tag get");
}

enum store_rc sqlite_tags_list(struct store *s, const char *team_id, struct arena *a,
                               struct tag **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "SELECT " TAG_COLS " FROM tags WHERE team_id = ? ORDER BY name, id");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, team_id);
    return sq_read_rows(q, st, a, sizeof(**out), read_tag, out, n, "tags list");
}

enum store_rc sqlite_tag_delete(struct store *s, const char *id)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "UPDATE packages SET tag_id = NULL WHERE tag_id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    if (sq_exec(q, st, "tag detach") < 0)
        return STORE_HARD;
    st = sq_stmt(q, "DELETE FROM tags WHERE id = ?");
    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_exec(q, st, "tag delete");
}

/* ---- packages ---- */

#define PKG_COLS                                                                                   \
    "p.id, p.team_id, p.inbox, p.portal_id, p.teamspace_id, ts.name, p.sender_user_id, "           \
    "p.sender, p.name, p.description, p.recipients, p.password_hash, p.access_limit, p.state, "    \
    "p.size, p.total_files, p.usage_total_bytes, p.expiry, p.custom_expiry, "                      \
    "p.unlimited_storage, p.contains_virus, p.custom_metadata_id, p.tag_id, t.name, "              \
    "p.created_at, p.updated_at, p.usage_updated_at "
#define PKG_FROM                                                                                   \
    "FROM packages p LEFT JOIN teamspaces ts ON ts.id = p.teamspace_id "                           \
    "LEFT JOIN tags t ON t.id = p.tag_id "

static void read_package(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct package *p = record;

    *p = (struct package){ 0 };
    sq_id(st, 0, p->id);
    sq_id(st, 1, p->team_id);
    p->inbox = sqlite3_column_int(st, 2) != 0;
    p->portal_id = sq_text(st, 3, a);
    p->teamspace_id = sq_text(st, 4, a);
    p->teamspace_name = sq_text(st, 5, a);
    p->sender_user_id = sq_text(st, 6, a);
    p->sender = sq_text(st, 7, a);
    p->name = sq_text(st, 8, a);
    p->description = sq_text(st, 9, a);
    p->recipients = sq_text(st, 10, a);
    p->password_hash = sq_text(st, 11, a);
    p->access_limit = sqlite3_column_int64(st, 12);
    p->state = package_state_parse(str_from((const char *)sqlite3_column_text(st, 13)));
    p->size = sqlite3_column_int64(st, 14);
    p->total_files = sqlite3_column_int64(st, 15);
    p->usage_total_bytes = sqlite3_column_int64(st, 16);
    p->expiry = sq_time(st, 17);
    p->custom_expiry = sqlite3_column_int(st, 18) != 0;
    p->unlimited_storage = sqlite3_column_int(st, 19) != 0;
    p->contains_virus = sqlite3_column_int(st, 20) != 0;
    p->custom_metadata_id = sq_text(st, 21, a);
    p->tag_id = sq_text(st, 22, a);
    p->tag_name = sq_text(st, 23, a);
    p->created_at = sqlite3_column_int64(st, 24);
    p->updated_at = sqlite3_column_int64(st, 25);
    p->usage_updated_at = sq_time(st, 26);
}

/* Binds every field of @p the statement names (":name" and so on); others are skipped. */
static void bind_package(sqlite3_stmt *st, const struct package *p)
{
    bind_text(st, ":id", p->id);
    bind_text(st, ":team", p->team_id);
    bind_int(st, ":inbox", p->inbox);
    bind_text(st, ":portal", p->portal_id);
    bind_text(st, ":space", p->teamspace_id);
    bind_text(st, ":uid", p->sender_user_id);
    bind_text(st, ":sender", p->sender);
    bind_text(st, ":name", p->name);
    bind_text(st, ":desc", p->description ? p->description : "");
    bind_text(st, ":recipients", p->recipients ? p->recipients : "[]");
    bind_text(st, ":pw", p->password_hash);
    bind_int(st, ":limit", p->access_limit);
    bind_text(st, ":state", package_state_name(p->state));
    bind_int(st, ":size", p->size);
    bind_int(st, ":files", p->total_files);
    bind_int(st, ":usage", p->usage_total_bytes);
    bind_time(st, ":expiry", p->expiry);
    bind_int(st, ":custom", p->custom_expiry);
    bind_int(st, ":unlimited", p->unlimited_storage);
    bind_int(st, ":virus", p->contains_virus);
    bind_text(st, ":meta", p->custom_metadata_id ? p->custom_metadata_id : "");
    bind_text(st, ":tag", p->tag_id);
    bind_int(st, ":created", p->created_at);
    bind_int(st, ":updated", p->updated_at);
    bind_time(st, ":used", p->usage_updated_at);
}

enum store_rc sqlite_package_insert(struct store *s, const struct package *p)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "INSERT INTO packages (id, team_id, inbox, portal_id, teamspace_id, sender_user_id, "
           "sender, name, description, recipients, password_hash, access_limit, state, size, "
           "total_files, usage_total_bytes, expiry, custom_expiry, unlimited_storage, "
           "contains_virus, custom_metadata_id, tag_id, created_at, updated_at, usage_updated_at) "
           "VALUES (:id, :team, :inbox, :portal, :space, :uid, :sender, :name, :desc, :recipients, "
           ":pw, :limit, :state, :size, :files, :usage, :expiry, :custom, :unlimited, :virus, "
           ":meta, :tag, :created, :updated, :used)");

    if (!st)
        return STORE_HARD;
    bind_package(st, p);
    return sq_exec(q, st, "package insert");
}

enum store_rc sqlite_package_get(struct store *s, const char *id, struct arena *a,
                                 struct package *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " PKG_COLS PKG_FROM "WHERE p.id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_read_one(q, st, a, read_package, out, "package get");
}

enum store_rc sqlite_packages_due(struct store *s, int64_t now, int64_t stale_before, int64_t limit,
                                  struct arena *a, struct package **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "SELECT * FROM (SELECT " PKG_COLS PKG_FROM "WHERE p.state = 'finalized' AND "
           "p.expiry IS NOT NULL AND p.expiry <= ?1 ORDER BY p.expiry LIMIT ?3) UNION ALL "
           "SELECT * FROM (SELECT " PKG_COLS PKG_FROM "WHERE p.state = 'new' AND "
           "p.updated_at < ?2 AND NOT EXISTS (SELECT 1 FROM files f WHERE f.package_id = p.id "
           "AND f.updated_at >= ?2) ORDER BY p.updated_at LIMIT ?3) LIMIT ?3");

    *out = NULL;
    *n = 0;
    if (!st)
        return STORE_HARD;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, stale_before);
    sqlite3_bind_int64(st, 3, limit);
    return sq_read_rows(q, st, a, sizeof(**out), read_package, out, n, "packages due");
}

enum store_rc sqlite_package_update(struct store *s, const struct package *p)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "UPDATE packages SET name = :name, description = :desc, recipients = :recipients, "
           "password_hash = :pw, access_limit = :limit, teamspace_id = :space, tag_id = :tag, "
           "state = :state, size = :size, total_files = :files, expiry = :expiry, "
           "custom_expiry = :custom, unlimited_storage = :unlimited, updated_at = :updated, "
           "usage_updated_at = :used WHERE id = :id");

    if (!st)
        return STORE_HARD;
    bind_package(st, p);
    return sq_exec(q, st, "package update");
}

/*
 * A list statement is assembled from fixed parts: which filters are present picks the parts
 * (so SQLite can use the index that fits each one; "(:x IS NULL OR …)" would defeat it), the
 * values are bound. The statement is prepared once per connection per combination.
 */
enum list_part {
    PART_PORTAL = 1 << 0,
    PART_SCOPE = 1 << 1,
    PART_NAME_FTS = 1 << 2,
    PART_NAME_LIKE = 1 << 3,
    PART_SENDER = 1 << 4,
    PART_TAGS = 1 << 5,
    PART_SPACES = 1 << 6,
    PART_CSTART = 1 << 7,
    PART_CEND = 1 << 8,
    PART_TAG_ONE = 1 << 9,    /* one tag: an equality, which the tag index keeps in order */
    PART_SPACE_ONE = 1 << 10, /* one teamspace, likewise */
    PART_COUNT = 1 << 11,     /* the count, not the page */
    PART_REVERSED = 1 << 12,  /* the page read from the other end (a deep page) */
    PART_WINDOW = 1 << 13,    /* each row carries the count of all matches (one pass) */
    PART_STATE_ONE = 1 << 14, /* one state: an equality, which the state index keeps in order */
};

static const struct {
    enum list_part part;
    const char *sql;
} where_parts[] = {
    { PART_PORTAL, "AND p.portal_id = :portal " },
    { PART_SCOPE, "AND (p.sender_user_id = :uid OR p.teamspace_id IN "
                  "(SELECT teamspace_id FROM teamspace_members WHERE membership_id = :mid)) " },
    { PART_NAME_FTS, "AND p.seq IN (SELECT rowid FROM packages_names WHERE packages_names "
                     "MATCH :name_phrase) " },
    { PART_NAME_LIKE, "AND p.name LIKE :name_like ESCAPE '\\' " },
    { PART_SENDER, "AND p.sender = :sender " },
    { PART_TAGS, "AND p.tag_id IN (SELECT value FROM json_each(:tags)) " },
    { PART_SPACES, "AND p.teamspace_id IN (SELECT value FROM json_each(:spaces)) " },
    { PART_CSTART, "AND p.created_at >= :cstart " },
    { PART_CEND, "AND p.created_at <= :cend " },
    { PART_TAG_ONE, "AND p.tag_id = json_extract(:tags, '$[0]') " },
    { PART_SPACE_ONE, "AND p.teamspace_id = json_extract(:spaces, '$[0]') " },
};

static const char *const sort_columns[PACKAGE_SORT_COUNT] = {
    [PACKAGE_SORT_CREATED_AT] = "p.created_at",
    [PACKAGE_SORT_NAME] = "p.name",
    [PACKAGE_SORT_SIZE] = "p.size",
    [PACKAGE_SORT_USAGE] = "p.usage_total_bytes",
    [PACKAGE_SORT_EXPIRY] = "p.expiry",
    [PACKAGE_SORT_SENDER] = "p.sender",
    [PACKAGE_SORT_STATE] = "p.state",
    [PACKAGE_SORT_TEAMSPACE] = "p.teamspace_id",
};

/* True for a JSON array of exactly one id, as the API layer writes it: ["…"]. */
static bool json_array_of_one(const char *json)
{
    return strlen(json) == ID_LEN + 4;
}

/* Trigram search needs three characters; shorter names are matched with LIKE. */
static unsigned parts_of(const struct package_query *q)
{
    unsigned parts = 0;

    if (q->portal_id)
        parts |= PART_PORTAL;
    if (__builtin_popcount(q->states) == 1)
        parts |= PART_STATE_ONE;
    if (!q->scope.all)
        parts |= PART_SCOPE;
    if (q->name)
        parts |= utf8_chars(q->name) >= 3 ? PART_NAME_FTS : PART_NAME_LIKE;
    if (q->sender)
        parts |= PART_SENDER;
    if (q->tags_json)
        parts |= json_array_of_one(q->tags_json) ? PART_TAG_ONE : PART_TAGS;
    if (q->teamspaces_json)
        parts |= json_array_of_one(q->teamspaces_json) ? PART_SPACE_ONE : PART_SPACES;
    if (q->created_start != TIME_UNSET)
        parts |= PART_CSTART;
    if (q->created_end != TIME_UNSET)
        parts |= PART_CEND;
    return parts;
}

static sqlite3_stmt *list_stmt(struct sqlite_store *q, unsigned parts, enum package_sort sort,
                               bool desc)
{
    uint32_t key = parts << 8 | (uint32_t)sort << 1 | desc;
    const char *dir = desc ? "DESC" : "ASC";
    sqlite3_stmt *st = sq_stmt_keyed(q, key);
    struct sbuf sb;

    if (st)
        return st;
    sbuf_init(&sb, 8192);
    if (parts & PART_COUNT)
        sbuf_adds(&sb, "SELECT count(*) FROM packages p ");
    else if (parts & PART_WINDOW)
        sbuf_adds(&sb, "SELECT " PKG_COLS ", count(*) OVER () " PKG_FROM);
    else
        sbuf_adds(&sb, "SELECT " PKG_COLS PKG_FROM);
    sbuf_adds(&sb, "WHERE p.team_id = :team AND p.inbox = :inbox ");
    sbuf_adds(&sb, parts & PART_STATE_ONE
                       ? "AND p.state = json_extract(:states, '$[0]') "
                       : "AND p.state IN (SELECT value FROM json_each(:states)) ");
    for (size_t i = 0; i < ARRAY_LEN(where_parts); i++)
        if (parts & where_parts[i].part)
            sbuf_adds(&sb, where_parts[i].sql);
    /* Ties are broken by creation time and then id in the same direction, so pages never
     * overlap or skip. A reversed page is read from the other end, then turned around. */
    if (!(parts & PART_COUNT)) {
        if (parts & PART_REVERSED)
            dir = desc ? "ASC" : "DESC";
        if (sort == PACKAGE_SORT_CREATED_AT)
            sbuf_addf(&sb, "ORDER BY p.created_at %s, p.id %s ", dir, dir);
        else
            sbuf_addf(&sb, "ORDER BY %s %s, p.created_at %s, p.id %s ", sort_columns[sort], dir,
                      dir, dir);
        sbuf_adds(&sb, "LIMIT :limit OFFSET :offset");
    }
    st = sb.overflow ? NULL : sq_stmt_keep(q, key, sb.buf);
    sbuf_release(&sb);
    return st;
}

/* The JSON array of the names of the states in @set. */
static char *states_json(unsigned set, struct arena *a)
{
    char buf[96];
    size_t n = 0;

    buf[n++] = '[';
    for (enum package_state st = PACKAGE_NEW; st <= PACKAGE_ARCHIVED; st++)
        if (set & PACKAGE_STATE_BIT(st))
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\"", n > 1 ? "," : "",
                                  package_state_name(st));
    buf[n++] = ']';
    return arena_strndup(a, buf, n);
}

/* An FTS5 phrase that matches @s literally: quoted, with its quotes doubled. */
static char *fts_phrase(const char *s, struct arena *a)
{
    size_t n = strlen(s), k = 0;
    char *out = arena_alloc(a, 2 * n + 3);

    out[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            out[k++] = '"';
        out[k++] = s[i];
    }
    out[k++] = '"';
    out[k] = '\0';
    return out;
}

/* The values of a query that are derived from it once, for both the count and the page. */
struct query_values {
    const char *states;
    const char *name_phrase;
    const char *name_like;
};

static void query_values_init(struct query_values *v, const struct package_query *q,
                              struct arena *a)
{
    v->states = states_json(q->states, a);
    v->name_phrase = q->name ? fts_phrase(q->name, a) : NULL;
    v->name_like = q->name ? store_like_pattern(q->name, a) : NULL;
}

static void bind_query(sqlite3_stmt *st, const struct package_query *q,
                       const struct query_values *v)
{
    bind_text(st, ":team", q->team_id);
    bind_int(st, ":inbox", q->inbox);
    bind_text(st, ":states", v->states);
    bind_text(st, ":portal", q->portal_id);
    bind_text(st, ":uid", q->scope.user_id);
    bind_text(st, ":mid", q->scope.membership_id);
    bind_text(st, ":name_phrase", v->name_phrase);
    bind_text(st, ":name_like", v->name_like);
    bind_text(st, ":sender", q->sender);
    bind_text(st, ":tags", q->tags_json);
    bind_text(st, ":spaces", q->teamspaces_json);
    bind_int(st, ":cstart", q->created_start);
    bind_int(st, ":cend", q->created_end);
}

#define DAY_MS INT64_C(86400000)

/*
 * The number of matches of a list filtered by creation time alone: the per-day counters of the
 * whole days inside [start, end], plus the rows of the partial days at either end.
 */
static enum store_rc count_created(struct sqlite_store *q, const struct package_query *pq,
                                   const struct query_values *v, int64_t *total)
{
    int64_t lo = pq->created_start == TIME_UNSET || pq->created_start < 0 ? 0 : pq->created_start;
    int64_t hi = pq->created_end == TIME_UNSET ? INT64_MAX / 2 : pq->created_end;
    int64_t dlo = (lo + DAY_MS - 1) / DAY_MS, dhi = (hi + 1) / DAY_MS - 1;
    int64_t e1lo = lo, e1hi = hi, e2lo = 1, e2hi = 0;
    sqlite3_stmt *st;

    if (dlo <= dhi) {
        e1hi = dlo * DAY_MS - 1;
        e2lo = (dhi + 1) * DAY_MS;
        e2hi = hi;
    }
    st = sq_stmt(q,
                 "SELECT coalesce((SELECT sum(n) FROM package_days WHERE team_id = :team AND "
                 "inbox = :inbox AND day >= :dlo AND day <= :dhi AND state IN (SELECT value FROM "
                 "json_each(:states))), 0) + (SELECT count(*) FROM packages p WHERE p.team_id = "
                 ":team AND p.inbox = :inbox AND p.state IN (SELECT value FROM json_each(:states)) "
                 "AND p.created_at >= :e1lo AND p.created_at <= :e1hi) + (SELECT count(*) FROM "
                 "packages p WHERE p.team_id = :team AND p.inbox = :inbox AND p.state IN (SELECT "
                 "value FROM json_each(:states)) AND p.created_at >= :e2lo AND p.created_at <= "
                 ":e2hi)");
    if (!st)
        return STORE_HARD;
    bind_query(st, pq, v);
    bind_int(st, ":dlo", dlo);
    bind_int(st, ":dhi", dhi);
    bind_int(st, ":e1lo", e1lo);
    bind_int(st, ":e1hi", e1hi);
    bind_int(st, ":e2lo", e2lo);
    bind_int(st, ":e2hi", e2hi);
    return sq_read_count(q, st, total, "packages count by day");
}

/* The number of matches of @pq. With no filter but the states, or one sender, tag or teamspace
 * filter, it is a sum of counters; otherwise the matches are counted. */
static enum store_rc count_matches(struct sqlite_store *q, const struct package_query *pq,
                                   const struct query_values *v, unsigned parts, int64_t *total)
{
    /* How the states are matched is no filter: the counters are kept per state. */
    unsigned filters = parts & ~(unsigned)PART_STATE_ONE;
    sqlite3_stmt *st;

    /* One sender, tag or teamspace (or a list of them) and nothing else: their counters. */
    static const struct {
        unsigned part;
        const char *sql;
    } facets[] = {
        { PART_SENDER, "SELECT coalesce(sum(n), 0) FROM package_facets WHERE team_id = :team AND "
                       "inbox = :inbox AND facet = 'sender' AND value = :sender AND state IN "
                       "(SELECT value FROM json_each(:states))" },
        { PART_TAG_ONE | PART_TAGS,
          "SELECT coalesce(sum(n), 0) FROM package_facets WHERE team_id = :team AND inbox = "
          ":inbox AND facet = 'tag' AND value IN (SELECT DISTINCT value FROM json_each(:tags)) "
          "AND state IN (SELECT value FROM json_each(:states))" },
        { PART_SPACE_ONE | PART_SPACES,
          "SELECT coalesce(sum(n), 0) FROM package_facets WHERE team_id = :team AND inbox = "
          ":inbox AND facet = 'teamspace' AND value IN (SELECT DISTINCT value FROM "
          "json_each(:spaces)) AND state IN (SELECT value FROM json_each(:states))" },
    };

    st = NULL;
    for (size_t i = 0; i < ARRAY_LEN(facets); i++)
        if (filters && (filters & ~facets[i].part) == 0)
            st = sq_stmt(q, facets[i].sql);
    if (filters == 0) {
        st = sq_stmt(q, "SELECT coalesce(sum(n), 0) FROM package_counts WHERE team_id = :team "
                        "AND inbox = :inbox AND state IN (SELECT value FROM json_each(:states))");
    } else if ((filters & ~(PART_CSTART | PART_CEND)) == 0) {
        return count_created(q, pq, v, total);
    } else if (!st) {
        st = list_stmt(q, parts | PART_COUNT, 0, false);
    }
    if (!st)
        return STORE_HARD;
    bind_query(st, pq, v);
    return sq_read_count(q, st, total, "packages count");
}

/*
 * A page and the number of all matches in one pass, for the name filter: its matches come from
 * the trigram index, which is the costly part, and are few enough to be counted as they are
 * sorted. Every row carries the count in its last column.
 */
static enum store_rc page_and_count(struct sqlite_store *q, const struct package_query *pq,
                                    const struct query_values *v, unsigned parts, struct arena *a,
                                    struct package **out, size_t *n, int64_t *total)
{
    sqlite3_stmt *st = list_stmt(q, parts | PART_WINDOW, pq->sort, pq->desc);
    size_t cap = 0;
    int rc;

    *total = 0;
    if (!st)
        return STORE_HARD;
    bind_query(st, pq, v);
    bind_int(st, ":limit", pq->page.limit);
    bind_int(st, ":offset", (pq->page.page - 1) * pq->page.limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_package(st, a, sq_push(a, (void **)out, n, &cap, sizeof(**out)));
        *total = sqlite3_column_int64(st, sqlite3_column_count(st) - 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(q, rc, "packages page and count");
    return *n ? STORE_ONE : STORE_NONE;
}

enum store_rc sqlite_packages_list(struct store *s, const struct package_query *pq, struct arena *a,
                                   struct package **out, size_t *n, int64_t *total)
{
    struct sqlite_store *q = to_sqlite(s);
    unsigned parts = parts_of(pq);
    struct query_values v;
    int64_t offset, limit;
    sqlite3_stmt *st;
    enum store_rc rc;

    *out = NULL;
    *n = 0;
    if ((unsigned)pq->sort >= PACKAGE_SORT_COUNT)
        return STORE_HARD;
    query_values_init(&v, pq, a);
    if ((parts & (PART_NAME_FTS | PART_NAME_LIKE)) && pq->page.limit > 0) {
        rc = page_and_count(q, pq, &v, parts, a, out, n, total);
        if (rc != STORE_NONE || pq->page.page == 1)
            return rc;
        /* A page past the end carries no count: count apart. */
        rc = count_matches(q, pq, &v, parts, total);
        return rc < 0 ? rc : STORE_NONE;
    }
    rc = count_matches(q, pq, &v, parts, total);
    if (rc < 0)
        return rc;
    /* A deep page is read from the far end: the deepest costs what the first does. */
    if (store_page_window(&pq->page, *total, &limit, &offset))
        parts |= PART_REVERSED;
    st = list_stmt(q, parts, pq->sort, pq->desc);
    if (!st)
        return STORE_HARD;
    bind_query(st, pq, &v);
    bind_int(st, ":limit", limit);
    bind_int(st, ":offset", offset);
    rc = sq_read_rows(q, st, a, sizeof(**out), read_package, out, n, "packages list");
    if (rc > 0 && (parts & PART_REVERSED))
        store_packages_reverse(*out, *n);
    return rc;
}

enum store_rc sqlite_packages_move_by_expiry(struct store *s, const char *team_id, bool inbox,
                                             const struct package_scope *scope,
                                             enum package_state from, enum package_state to,
                                             int64_t start, int64_t end, int64_t now,
                                             int64_t *updated)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "UPDATE packages SET state = :to, updated_at = :now WHERE team_id = :team AND "
           "inbox = :inbox AND state = :from AND expiry IS NOT NULL AND expiry >= :start AND "
           "expiry <= :end AND (:all OR sender_user_id = :uid OR teamspace_id IN "
           "(SELECT teamspace_id FROM teamspace_members WHERE membership_id = :mid))");
    enum store_rc rc;

    *updated = 0;
    if (!st)
        return STORE_HARD;
    bind_text(st, ":to", package_state_name(to));
    bind_int(st, ":now", now);
    bind_text(st, ":team", team_id);
    bind_int(st, ":inbox", inbox);
    bind_text(st, ":from", package_state_name(from));
    bind_int(st, ":start", start);
    bind_int(st, ":end", end);
    bind_int(st, ":all", scope->all);
    bind_text(st, ":uid", scope->user_id);
    bind_text(st, ":mid", scope->membership_id);
    rc = sq_exec(q, st, "packages move by expiry");
    if (rc < 0)
        return rc;
    *updated = sqlite3_changes(q->db);
    return STORE_ONE;
}

/* Bytes a file holds: all of it once finalized, else the parts received so far. */
#define FILE_BYTES                                                                                 \
    "CASE WHEN f.done THEN f.size ELSE coalesce((SELECT sum(fp.size) FROM file_parts fp "          \
    "WHERE fp.file_id = f.id), 0) END"

static void read_usage(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct usage_row *u = record;

    sq_id(st, 0, u->team_id);
    u->team_name = sq_text(st, 1, a);
    u->state = package_state_parse(str_from((const char *)sqlite3_column_text(st, 2)));
    u->packages = sqlite3_column_int64(st, 3);
    u->bytes = sqlite3_column_int64(st, 4);
}

enum store_rc sqlite_usage_list(struct store *s, struct arena *a, struct usage_row **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "SELECT p.team_id, t.name, p.state, count(*), coalesce(sum(CASE WHEN p.state IN "
           "('new', 'finalized') THEN (SELECT coalesce(sum(" FILE_BYTES "), 0) FROM files f "
           "WHERE f.package_id = p.id) ELSE 0 END), 0) FROM packages p JOIN teams t ON "
           "t.id = p.team_id GROUP BY p.team_id, t.name, p.state ORDER BY t.name, p.team_id, "
           "p.state");

    *out = NULL;
    *n = 0;
    if (!st)
        return STORE_HARD;
    return sq_read_rows(q, st, a, sizeof(**out), read_usage, out, n, "usage list");
}
