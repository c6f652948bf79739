/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Packages and tags on PostgreSQL. A list statement is assembled from fixed parts, picked by
 * which filters are present, and prepared once per connection per combination; the values are
 * always parameters (states as a text[], lists of ids as the JSON array the caller gives), so
 * no SQL is ever built from input. Orders, NULL placement and totals are SQLite's.
 */
#include "core/compat.h"

#define LOG_COMPONENT "store.pg"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "store/pg/pg_int.h"

#define STORE_OP(name, params, args) enum store_rc pg_##name params;
#include "store/store_ops.def"
#undef STORE_OP

/* Type OIDs of the parameters of the list statements (fixed by PostgreSQL's catalog). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_TEXT 25
#define OID_TEXT_ARRAY 1009

/* Characters (UTF-8 code points) of @s. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* ---- tags ---- */

#define TAG_COLS "id, team_id, name, created_at, updated_at"

static void read_tag(const PGresult *r, int row, struct arena *a, void *record)
{
    struct tag *t = record;

    *t = (struct tag){ 0 };
    pg_col_id(r, row, 0, t->id);
    pg_col_id(r, row, 1, t->team_id);
    t->name = pg_col_text(r, row, 2, a);
    t->created_at = pg_col_int(r, row, 3);
    t->updated_at = pg_col_int(r, row, 4);
}

enum store_rc pg_tag_insert(struct store *s, const struct tag *t)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, t->id);
    pg_add_text(&p, t->team_id);
    pg_add_text(&p, t->name);
    pg_add_int(&p, t->created_at);
    pg_add_int(&p, t->updated_at);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO tags (" TAG_COLS ") VALUES ($1, $2, $3, $4, $5) "
                              "ON CONFLICT DO NOTHING"),
                   &p, NULL, "tag insert");
}

enum store_rc pg_tag_get(struct store *s, const char *id, struct arena *a, struct tag *out)
{
    return pg_read_one_by(to_pg(s), "SELECT " TAG_COLS " FROM tags WHERE id = $1", id, a, read_tag,
                          out, "tag get");
}

enum store_rc pg_tag_by_name(struct store *s, const char *team_id, const char *name,
                             struct arena *a, struct tag *out)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, team_id);
    pg_add_text(&p, name);
    return pg_read_one(q,
                       pg_stmt(q, "SELECT " TAG_COLS " FROM tags WHERE team_id = $1 AND "
                                  "name = $2"),
                       &p, a, read_tag, out, "tag get");
}

enum store_rc pg_tags_list(struct store *s, const char *team_id, struct arena *a, struct tag **out,
                           size_t *n)
{
    return pg_read_rows_by(to_pg(s),
                           "SELECT " TAG_COLS " FROM tags WHERE team_id = $1 ORDER BY name, id",
                           team_id, a, sizeof(**out), read_tag, out, n, "tags list");
}

enum store_rc pg_tag_delete(struct store *s, const char *id)
{
    struct pg_store *q = to_pg(s);
    enum store_rc rc =
        pg_exec_by(q, "UPDATE packages SET tag_id = NULL WHERE tag_id = $1", id, "tag detach");

    if (rc < 0)
        return rc;
    return pg_exec_by(q, "DELETE FROM tags WHERE id = $1", id, "tag delete");
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

static void read_package(const PGresult *r, int row, struct arena *a, void *record)
{
    struct package *p = record;

    *p = (struct package){ 0 };
    pg_col_id(r, row, 0, p->id);
    pg_col_id(r, row, 1, p->team_id);
    p->inbox = pg_col_bool(r, row, 2);
    p->portal_id = pg_col_text(r, row, 3, a);
    p->teamspace_id = pg_col_text(r, row, 4, a);
    p->teamspace_name = pg_col_text(r, row, 5, a);
    p->sender_user_id = pg_col_text(r, row, 6, a);
    p->sender = pg_col_text(r, row, 7, a);
    p->name = pg_col_text(r, row, 8, a);
    p->description = pg_col_text(r, row, 9, a);
    p->recipients = pg_col_text(r, row, 10, a);
    p->password_hash = pg_col_text(r, row, 11, a);
    p->access_limit = pg_col_int(r, row, 12);
    p->state = package_state_parse(str_from(PQgetvalue(r, row, 13)));
    p->size = pg_col_int(r, row, 14);
    p->total_files = pg_col_int(r, row, 15);
    p->usage_total_bytes = pg_col_int(r, row, 16);
    p->expiry = pg_col_time(r, row, 17);
    p->custom_expiry = pg_col_bool(r, row, 18);
    p->unlimited_storage = pg_col_bool(r, row, 19);
    p->contains_virus = pg_col_bool(r, row, 20);
    p->custom_metadata_id = pg_col_text(r, row, 21, a);
    p->tag_id = pg_col_text(r, row, 22, a);
    p->tag_name = pg_col_text(r, row, 23, a);
    p->created_at = pg_col_int(r, row, 24);
    p->updated_at = pg_col_int(r, row, 25);
    p->usage_updated_at = pg_col_time(r, row, 26);
}

/* The fields store_package_update() writes, as $1 ... $15 in this order. */
static void add_changeable(struct pg_params *pp, const struct package *p)
{
    pg_add_text(pp, p->name);
    pg_add_text(pp, p->description ? p->description : "");
    pg_add_text(pp, p->recipients ? p->recipients : "[]");
    pg_add_text(pp, p->password_hash);
    pg_add_int(pp, p->access_limit);
    pg_add_text(pp, p->teamspace_id);
    pg_add_text(pp, p->tag_id);
    pg_add_text(pp, package_state_name(p->state));
    pg_add_int(pp, p->size);
    pg_add_int(pp, p->total_files);
    pg_add_time(pp, p->expiry);
    pg_add_bool(pp, p->custom_expiry);
    pg_add_bool(pp, p->unlimited_storage);
    pg_add_int(pp, p->updated_at);
    pg_add_time(pp, p->usage_updated_at);
}

enum store_rc pg_package_insert(struct store *s, const struct package *p)
{
    struct pg_store *q = to_pg(s);
    struct pg_params pp;

    pg_params_init(&pp);
    add_changeable(&pp, p);
    pg_add_text(&pp, p->id);
    pg_add_text(&pp, p->team_id);
    pg_add_bool(&pp, p->inbox);
    pg_add_text(&pp, p->portal_id);
    pg_add_text(&pp, p->sender_user_id);
    pg_add_text(&pp, p->sender);
    pg_add_int(&pp, p->usage_total_bytes);
    pg_add_bool(&pp, p->contains_virus);
    pg_add_text(&pp, p->custom_metadata_id ? p->custom_metadata_id : "");
    pg_add_int(&pp, p->created_at);
    return pg_exec(
        q,
        pg_stmt(q, "INSERT INTO packages (name, description, recipients, password_hash, "
                   "access_limit, teamspace_id, tag_id, state, size, total_files, expiry, "
                   "custom_expiry, unlimited_storage, updated_at, usage_updated_at, id, team_id, "
                   "inbox, portal_id, sender_user_id, sender, usage_total_bytes, contains_virus, "
                   "custom_metadata_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                   "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, "
                   "$25) ON CONFLICT DO NOTHING"),
        &pp, NULL, "package insert");
}

enum store_rc pg_packages_due(struct store *s, int64_t now, int64_t stale_before, int64_t limit,
                              struct arena *a, struct package **out, size_t *n)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    *out = NULL;
    *n = 0;
    pg_params_init(&p);
    pg_add_int(&p, now);
    pg_add_int(&p, stale_before);
    pg_add_int(&p, limit);
    return pg_read_rows(
        q,
        pg_stmt(q, "(SELECT " PKG_COLS PKG_FROM "WHERE p.state = 'finalized' AND "
                   "p.expiry IS NOT NULL AND p.expiry <= $1 ORDER BY p.expiry LIMIT $3) UNION ALL "
                   "(SELECT " PKG_COLS PKG_FROM "WHERE p.state = 'new' AND p.updated_at < $2 AND "
                   "NOT EXISTS (SELECT 1 FROM files f WHERE f.package_id = p.id AND "
                   "f.updated_at >= $2) ORDER BY p.updated_at LIMIT $3) LIMIT $3"),
        &p, a, sizeof(**out), read_package, out, n, "packages due");
}

enum store_rc pg_package_get(struct store *s, const char *id, struct arena *a, struct package *out)
{
    return pg_read_one_by(to_pg(s), "SELECT " PKG_COLS PKG_FROM "WHERE p.id = $1", id, a,
                          read_package, out, "package get");
}

enum store_rc pg_package_update(struct store *s, const struct package *p)
{
    struct pg_store *q = to_pg(s);
    struct pg_params pp;

    pg_params_init(&pp);
    add_changeable(&pp, p);
    pg_add_text(&pp, p->id);
    return pg_exec(q,
                   pg_stmt(q, "UPDATE packages SET name = $1, description = $2, recipients = $3, "
                              "password_hash = $4, access_limit = $5, teamspace_id = $6, "
                              "tag_id = $7, state = $8, size = $9, total_files = $10, "
                              "expiry = $11, custom_expiry = $12, unlimited_storage = $13, "
                              "updated_at = $14, usage_updated_at = $15 WHERE id = $16"),
                   &pp, NULL, "package update");
}

/*
 * Every list statement takes the same parameters, by these numbers, each part naming those it
 * needs; the types are given at PREPARE, so a statement may leave some unused.
 */
#define LP_TEAM "$1"
#define LP_INBOX "$2"
#define LP_STATES "$3"
#define LP_PORTAL "$4"
#define LP_UID "$5"
#define LP_MID "$6"
#define LP_NAME_LIKE "$7"
#define LP_NAME "$8"
#define LP_SENDER "$9"
#define LP_TAGS "$10"
#define LP_SPACES "$11"
#define LP_CSTART "$12"
#define LP_CEND "$13"
#define LP_LIMIT "$14"
#define LP_OFFSET "$15"

static const Oid list_types[] = {
    OID_TEXT, OID_BOOL, OID_TEXT_ARRAY, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT,
    OID_TEXT, OID_TEXT, OID_TEXT,       OID_INT8, OID_INT8, OID_INT8, OID_INT8,
};

/*
 * Which filters are present picks the parts (so the planner can use the index that fits each
 * one; "($x IS NULL OR …)" would defeat it), the values are parameters.
 */
enum list_part {
    PART_PORTAL = 1 << 0,
    PART_SCOPE = 1 << 1,
    PART_NAME_TRGM = 1 << 2,
    PART_NAME_SHORT = 1 << 3,
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

/*
 * The name filter folds case under the database's collation, the one pg_trgm builds the index
 * with. From three characters the trigram index finds the candidates (ILIKE, indexable); a
 * shorter name has no trigram, and is written as a plain substring test that the planner does
 * not mistake for an index search.
 */
static const struct {
    enum list_part part;
    const char *sql;
} where_parts[] = {
    { PART_PORTAL, "AND p.portal_id = " LP_PORTAL " " },
    { PART_SCOPE,
      "AND (p.sender_user_id = " LP_UID " OR p.teamspace_id IN "
      "(SELECT teamspace_id FROM teamspace_members WHERE membership_id = " LP_MID ")) " },
    { PART_NAME_TRGM, "AND (p.name COLLATE \"default\") ILIKE " LP_NAME_LIKE " " },
    { PART_NAME_SHORT, "AND strpos(lower(p.name COLLATE \"default\"), lower(" LP_NAME
                       " COLLATE \"default\")) > 0 " },
    { PART_SENDER, "AND p.sender = " LP_SENDER " " },
    { PART_TAGS,
      "AND p.tag_id = ANY (ARRAY(SELECT jsonb_array_elements_text(" LP_TAGS "::jsonb))) " },
    { PART_SPACES,
      "AND p.teamspace_id = ANY (ARRAY(SELECT jsonb_array_elements_text(" LP_SPACES "::jsonb))) " },
    { PART_CSTART, "AND p.created_at >= " LP_CSTART " " },
    { PART_CEND, "AND p.created_at <= " LP_CEND " " },
    { PART_TAG_ONE, "AND p.tag_id = (" LP_TAGS "::jsonb ->> 0) " },
    { PART_SPACE_ONE, "AND p.teamspace_id = (" LP_SPACES "::jsonb ->> 0) " },
};

/* Sort keys; the nullable ones put NULLs first ascending, as SQLite does. */
static const struct {
    const char *column;
    bool nullable;
} sort_columns[PACKAGE_SORT_COUNT] = {
    [PACKAGE_SORT_CREATED_AT] = { "p.created_at", false },
    [PACKAGE_SORT_NAME] = { "p.name", false },
    [PACKAGE_SORT_SIZE] = { "p.size", false },
    [PACKAGE_SORT_USAGE] = { "p.usage_total_bytes", false },
    [PACKAGE_SORT_EXPIRY] = { "p.expiry", true },
    [PACKAGE_SORT_SENDER] = { "p.sender", false },
    [PACKAGE_SORT_STATE] = { "p.state", false },
    [PACKAGE_SORT_TEAMSPACE] = { "p.teamspace_id", true },
};

/* True for a JSON array of exactly one id, as the API layer writes it: ["…"]. */
static bool json_array_of_one(const char *json)
{
    return strlen(json) == ID_LEN + 4;
}

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
        parts |= utf8_chars(q->name) >= 3 ? PART_NAME_TRGM : PART_NAME_SHORT;
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

static const struct pg_prepared *list_stmt(struct pg_store *q, unsigned parts,
                                           enum package_sort sort, bool desc)
{
    uint32_t key = parts << 8 | (uint32_t)sort << 1 | desc;
    const struct pg_prepared *st = pg_stmt_keyed(q, key);
    const char *dir, *nulls;
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
    sbuf_adds(&sb, "WHERE p.team_id = " LP_TEAM " AND p.inbox = " LP_INBOX " ");
    sbuf_adds(&sb, parts & PART_STATE_ONE ? "AND p.state = (" LP_STATES ")[1] "
                                          : "AND p.state = ANY (" LP_STATES ") ");
    for (size_t i = 0; i < ARRAY_LEN(where_parts); i++)
        if (parts & where_parts[i].part)
            sbuf_adds(&sb, where_parts[i].sql);
    /* Ties are broken by creation time and then id in the same direction, so pages never
     * overlap or skip. A reversed page is read from the other end, then turned around. */
    if (!(parts & PART_COUNT)) {
        if (parts & PART_REVERSED)
            desc = !desc;
        dir = desc ? "DESC" : "ASC";
        nulls = !sort_columns[sort].nullable ? "" : desc ? " NULLS LAST" : " NULLS FIRST";
        if (sort == PACKAGE_SORT_CREATED_AT)
            sbuf_addf(&sb, "ORDER BY p.created_at %s, p.id %s ", dir, dir);
        else
            sbuf_addf(&sb, "ORDER BY %s %s%s, p.created_at %s, p.id %s ", sort_columns[sort].column,
                      dir, nulls, dir, dir);
        sbuf_adds(&sb, "LIMIT " LP_LIMIT " OFFSET " LP_OFFSET);
    }
    if (sb.overflow) {
        LOG_BUG("list statement too long");
        q->failed = STORE_HARD;
        st = NULL;
    } else {
        st = pg_stmt_keep(q, key, sb.buf, (int)ARRAY_LEN(list_types), list_types);
    }
    sbuf_release(&sb);
    return st;
}

/* The text[] of the names of the states in @set. */
static char *states_array(unsigned set, struct arena *a)
{
    const char *names[PACKAGE_ARCHIVED + 1];
    size_t n = 0;

    for (enum package_state st = PACKAGE_NEW; st <= PACKAGE_ARCHIVED; st++)
        if (set & PACKAGE_STATE_BIT(st))
            names[n++] = package_state_name(st);
    return pg_array_literal(names, n, a);
}

/* A LIKE pattern that finds @s anywhere, with the pattern characters of @s escaped (backslash
 * is ILIKE's escape character). */
/* The values of a query that are derived from it once, for both the count and the page. */
struct query_values {
    const char *states;
    const char *name_like;
};

static void query_values_init(struct query_values *v, const struct package_query *q,
                              struct arena *a)
{
    v->states = states_array(q->states, a);
    v->name_like = q->name ? store_like_pattern(q->name, a) : NULL;
}

/* The parameters LP_TEAM ... LP_OFFSET of a list statement. */
static void add_query(struct pg_params *p, const struct package_query *q,
                      const struct query_values *v, int64_t limit, int64_t offset)
{
    pg_params_init(p);
    pg_add_text(p, q->team_id);
    pg_add_bool(p, q->inbox);
    pg_add_text(p, v->states);
    pg_add_text(p, q->portal_id);
    pg_add_text(p, q->scope.user_id);
    pg_add_text(p, q->scope.membership_id);
    pg_add_text(p, v->name_like);
    pg_add_text(p, q->name);
    pg_add_text(p, q->sender);
    pg_add_text(p, q->tags_json);
    pg_add_text(p, q->teamspaces_json);
    pg_add_time(p, q->created_start);
    pg_add_time(p, q->created_end);
    if (limit < 0)
        pg_add_text(p, NULL); /* LIMIT NULL: every row */
    else
        pg_add_int(p, limit);
    pg_add_int(p, offset);
}

#define DAY_MS INT64_C(86400000)

/*
 * The number of matches of a list filtered by creation time alone: the per-day counters of the
 * whole days inside [start, end], plus the rows of the partial days at either end.
 */
static enum store_rc count_created(struct pg_store *q, const struct package_query *pq,
                                   const struct query_values *v, int64_t *total)
{
    int64_t lo = pq->created_start == TIME_UNSET || pq->created_start < 0 ? 0 : pq->created_start;
    int64_t hi = pq->created_end == TIME_UNSET ? INT64_MAX / 2 : pq->created_end;
    int64_t dlo = (lo + DAY_MS - 1) / DAY_MS, dhi = (hi + 1) / DAY_MS - 1;
    int64_t e1lo = lo, e1hi = hi, e2lo = 1, e2hi = 0;
    struct pg_params p;

    if (dlo <= dhi) {
        e1hi = dlo * DAY_MS - 1;
        e2lo = (dhi + 1) * DAY_MS;
        e2hi = hi;
    }
    pg_params_init(&p);
    pg_add_text(&p, pq->team_id);
    pg_add_bool(&p, pq->inbox);
    pg_add_text(&p, v->states);
    pg_add_int(&p, dlo);
    pg_add_int(&p, dhi);
    pg_add_int(&p, e1lo);
    pg_add_int(&p, e1hi);
    pg_add_int(&p, e2lo);
    pg_add_int(&p, e2hi);
    return pg_read_count(
        q,
        pg_stmt(q, "SELECT (coalesce((SELECT sum(n) FROM package_days WHERE team_id = $1 AND "
                   "inbox = $2 AND day >= $4 AND day <= $5 AND state = ANY ($3::text[])), 0) + "
                   "(SELECT count(*) FROM packages p WHERE p.team_id = $1 AND p.inbox = $2 AND "
                   "p.state = ANY ($3::text[]) AND p.created_at >= $6 AND p.created_at <= $7) + "
                   "(SELECT count(*) FROM packages p WHERE p.team_id = $1 AND p.inbox = $2 AND "
                   "p.state = ANY ($3::text[]) AND p.created_at >= $8 AND p.created_at <= $9)"
                   ")::bigint"),
        &p, total, "packages count by day");
}

/* The number of matches of @pq. With no filter but the states, or one sender, tag or teamspace
 * filter, it is a sum of counters; otherwise the matches are counted. */
static enum store_rc count_matches(struct pg_store *q, const struct package_query *pq,
                                   const struct query_values *v, unsigned parts, int64_t *total)
{
    /* One sender, tag or teamspace (or a list of them) and nothing else: their counters. The
     * value is $4 in each. */
    static const struct {
        unsigned part;
        const char *sql;
    } facets[] = {
        { PART_SENDER, "SELECT coalesce(sum(n), 0)::bigint FROM package_facets WHERE team_id = "
                       "$1 AND inbox = $2 AND facet = 'sender' AND value = $4 AND "
                       "state = ANY ($3::text[])" },
        { PART_TAG_ONE | PART_TAGS,
          "SELECT coalesce(sum(n), 0)::bigint FROM package_facets WHERE team_id = $1 AND inbox = "
          "$2 AND facet = 'tag' AND value = ANY (ARRAY(SELECT jsonb_array_elements_text("
          "$4::jsonb))) AND state = ANY ($3::text[])" },
        { PART_SPACE_ONE | PART_SPACES,
          "SELECT coalesce(sum(n), 0)::bigint FROM package_facets WHERE team_id = $1 AND inbox = "
          "$2 AND facet = 'teamspace' AND value = ANY (ARRAY(SELECT jsonb_array_elements_text("
          "$4::jsonb))) AND state = ANY ($3::text[])" },
    };
    const char *facet_value[] = { pq->sender, pq->tags_json, pq->teamspaces_json };
    /* How the states are matched is no filter: the counters are kept per state. */
    unsigned filters = parts & ~(unsigned)PART_STATE_ONE;
    struct pg_params p;

    if ((filters & ~(PART_CSTART | PART_CEND)) == 0 && filters != 0)
        return count_created(q, pq, v, total);
    pg_params_init(&p);
    pg_add_text(&p, pq->team_id);
    pg_add_bool(&p, pq->inbox);
    pg_add_text(&p, v->states);
    if (filters == 0)
        return pg_read_count(q,
                             pg_stmt(q, "SELECT coalesce(sum(n), 0)::bigint FROM package_counts "
                                        "WHERE team_id = $1 AND inbox = $2 AND "
                                        "state = ANY ($3::text[])"),
                             &p, total, "packages count");
    for (size_t i = 0; i < ARRAY_LEN(facets); i++) {
        if ((filters & ~facets[i].part) == 0) {
            pg_add_text(&p, facet_value[i]);
            return pg_read_count(q, pg_stmt(q, facets[i].sql), &p, total, "packages count");
        }
    }
    add_query(&p, pq, v, 0, 0);
    return pg_read_count(q, list_stmt(q, parts | PART_COUNT, 0, false), &p, total,
                         "packages count");
}

/*
 * A page and the number of all matches in one pass, for the name filter: its matches come from
 * the trigram index, which is the costly part, and are few enough to be counted as they are
 * sorted. Every row carries the count in its last column.
 */
static enum store_rc page_and_count(struct pg_store *q, const struct package_query *pq,
                                    const struct query_values *v, unsigned parts, struct arena *a,
                                    struct package **out, size_t *n, int64_t *total)
{
    enum store_rc rc = STORE_HARD;
    struct pg_params p;
    PGresult *r;
    int rows;

    *total = 0;
    add_query(&p, pq, v, pq->page.limit, (pq->page.page - 1) * pq->page.limit);
    r = pg_query(q, list_stmt(q, parts | PART_WINDOW, pq->sort, pq->desc), &p,
                 "packages page and count", &rc);
    if (!r)
        return rc;
    rows = PQntuples(r);
    if (rows > 0) {
        *out = arena_alloc(a, (size_t)rows * sizeof(**out));
        for (int i = 0; i < rows; i++)
            read_package(r, i, a, &(*out)[i]);
        *n = (size_t)rows;
        *total = pg_col_int(r, rows - 1, PQnfields(r) - 1);
    }
    PQclear(r);
    return rows ? STORE_ONE : STORE_NONE;
}

enum store_rc pg_packages_list(struct store *s, const struct package_query *pq, struct arena *a,
                               struct package **out, size_t *n, int64_t *total)
{
    struct pg_store *q = to_pg(s);
    unsigned parts = parts_of(pq);
    struct query_values v;
    int64_t offset, limit;
    struct pg_params p;
    enum store_rc rc;

    *out = NULL;
    *n = 0;
    if ((unsigned)pq->sort >= PACKAGE_SORT_COUNT)
        return STORE_HARD;
    query_values_init(&v, pq, a);
    if ((parts & (PART_NAME_TRGM | PART_NAME_SHORT)) && pq->page.limit > 0) {
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
    add_query(&p, pq, &v, limit, offset);
    rc = pg_read_rows(q, list_stmt(q, parts, pq->sort, pq->desc), &p, a, sizeof(**out),
                      read_package, out, n, "packages list");
    if (rc > 0 && (parts & PART_REVERSED))
        store_packages_reverse(*out, *n);
    return rc;
}

enum store_rc pg_packages_move_by_expiry(struct store *s, const char *team_id, bool inbox,
                                         const struct package_scope *scope, enum package_state from,
                                         enum package_state to, int64_t start, int64_t end,
                                         int64_t now, int64_t *updated)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;
    enum store_rc rc;

    pg_params_init(&p);
    pg_add_text(&p, package_state_name(to));
    pg_add_int(&p, now);
    pg_add_text(&p, team_id);
    pg_add_bool(&p, inbox);
    pg_add_text(&p, package_state_name(from));
    pg_add_int(&p, start);
    pg_add_int(&p, end);
    pg_add_bool(&p, scope->all);
    pg_add_text(&p, scope->user_id);
    pg_add_text(&p, scope->membership_id);
    rc = pg_exec(q,
                 pg_stmt(q, "UPDATE packages SET state = $1, updated_at = $2 WHERE team_id = $3 "
                            "AND inbox = $4 AND state = $5 AND expiry IS NOT NULL AND "
                            "expiry >= $6 AND expiry <= $7 AND ($8::boolean OR "
                            "sender_user_id = $9 OR teamspace_id IN (SELECT teamspace_id FROM "
                            "teamspace_members WHERE membership_id = $10))"),
                 &p, updated, "packages move by expiry");
    return rc < 0 ? rc : STORE_ONE;
}

/* Bytes a file holds: all of it once finalized, else the parts received so far. */
#define FILE_BYTES                                                                                 \
    "CASE WHEN f.done THEN f.size ELSE coalesce((SELECT sum(fp.size) FROM file_parts fp "          \
    "WHERE fp.file_id = f.id), 0) END"

static void read_usage(const PGresult *r, int row, struct arena *a, void *record)
{
    struct usage_row *u = record;

    pg_col_id(r, row, 0, u->team_id);
    u->team_name = pg_col_text(r, row, 1, a);
    u->state = package_state_parse(str_from(PQgetvalue(r, row, 2)));
    u->packages = pg_col_int(r, row, 3);
    u->bytes = pg_col_int(r, row, 4);
}

enum store_rc pg_usage_list(struct store *s, struct arena *a, struct usage_row **out, size_t *n)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    *out = NULL;
    *n = 0;
    pg_params_init(&p);
    return pg_read_rows(
        q,
        pg_stmt(q, "SELECT p.team_id, t.name, p.state, count(*), coalesce(sum(CASE WHEN p.state "
                   "IN ('new', 'finalized') THEN (SELECT coalesce(sum(" FILE_BYTES "), 0) FROM "
                   "files f WHERE f.package_id = p.id) ELSE 0 END), 0)::bigint FROM packages p "
                   "JOIN teams t ON t.id = p.team_id GROUP BY p.team_id, t.name, p.state "
                   "ORDER BY t.name, p.team_id, p.state"),
        &p, a, sizeof(**out), read_usage, out, n, "usage list");
}
