/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The store contract: every backend must pass this file. It runs against the backend that
 * CONSIGN_TEST_DATABASE names (empty: SQLite in a fresh temporary directory). On PostgreSQL it
 * creates a database of its own on that server, dropped at the end, so every run starts empty.
 * usage: test_store [postgresql]   with the argument, a missing PostgreSQL URL is a failure
 */
#include "core/compat.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/id.h"
#include "store/store.h"
#include "tap.h"

static struct store_cfg cfg;

static struct store *open_store(void)
{
    char why[256];
    struct store *s = store_open(&cfg, why, sizeof(why));

    if (!s)
        printf("# store_open: %s\n", why);
    return s;
}

struct ctx {
    struct arena *a;
    struct user *u;
    struct team *t;
    struct membership *m;
    struct api_key *k;
    struct teamspace *ts;
    struct membership *list;
    size_t n;
    int64_t total, count, reset;
    int calls;
};

static enum store_rc flaky_txn(struct store *s, void *vctx)
{
    struct ctx *c = vctx;

    (void)s;
    return ++c->calls < 3 ? STORE_RETRY : STORE_ONE;
}

static enum store_rc busy_txn(struct store *s, void *vctx)
{
    (void)s;
    ((struct ctx *)vctx)->calls++;
    return STORE_RETRY;
}

static enum store_rc team_count_txn(struct store *s, void *vctx)
{
    return store_team_count(s, &((struct ctx *)vctx)->count);
}

static enum store_rc insert_user_txn(struct store *s, void *vctx)
{
    return store_user_insert(s, ((struct ctx *)vctx)->u);
}

static enum store_rc insert_team_txn(struct store *s, void *vctx)
{
    return store_team_insert(s, ((struct ctx *)vctx)->t);
}

static enum store_rc insert_member_txn(struct store *s, void *vctx)
{
    return store_membership_insert(s, ((struct ctx *)vctx)->m);
}

static enum store_rc insert_key_txn(struct store *s, void *vctx)
{
    return store_api_key_insert(s, ((struct ctx *)vctx)->k);
}

static enum store_rc insert_space_txn(struct store *s, void *vctx)
{
    return store_teamspace_insert(s, ((struct ctx *)vctx)->ts);
}

static enum store_rc hit_txn(struct store *s, void *vctx)
{
    struct ctx *c = vctx;

    return store_ratelimit_hit(s, "k", c->total, 1000, &c->count, &c->reset);
}

static enum store_rc run(struct store *s, store_txn_fn *fn, struct ctx *c)
{
    return store_run(s, "test", STORE_WRITE, fn, c);
}

static struct user new_user(const char *email)
{
    struct user u = { .email = (char *)email,
                      .name = (char *)"N",
                      .password_hash = (char *)"h",
                      .created_at = 1,
                      .updated_at = 2 };

    id_new(u.id);
    return u;
}

/*
 * Several threads, each with its own connection, insert users at once, then packages of one
 * team (whose counters they all update): all must land.
 */
#define THREADS 4
#define PER_THREAD 25

static char busy_team[ID_LEN + 1];

static enum store_rc insert_package_txn(struct store *s, void *p)
{
    return store_package_insert(s, p);
}

static void *writer(void *arg)
{
    struct store *s = open_store();
    long failures = 0;

    for (int i = 0; s && i < PER_THREAD; i++) {
        char email[64];
        struct user u;
        struct ctx c = { .u = &u };

        snprintf(email, sizeof(email), "t%ld-%d@example.org", (long)(intptr_t)arg, i);
        u = new_user(email);
        if (run(s, insert_user_txn, &c) != STORE_ONE)
            failures++;
    }
    for (int i = 0; s && i < PER_THREAD; i++) {
        struct package p = { .sender = (char *)"busy@example.org",
                             .name = (char *)"Busy",
                             .state = PACKAGE_NEW,
                             .expiry = TIME_UNSET,
                             .usage_updated_at = TIME_UNSET,
                             .created_at = 1000 + i,
                             .updated_at = 1000 + i };

        id_new(p.id);
        memcpy(p.team_id, busy_team, sizeof(p.team_id));
        if (store_run(s, "test", STORE_WRITE, insert_package_txn, &p) != STORE_ONE)
            failures++;
    }
    store_close(s);
    return (void *)(intptr_t)(s ? failures : 2 * PER_THREAD);
}

/* Files, their parts and links of one package of team @team_id. */
static void files_and_links(struct store *s, struct arena *a, const char *team_id,
                            const char *user_id)
{
    struct package p = { .sender = (char *)"ann@example.org",
                         .name = (char *)"P",
                         .state = PACKAGE_NEW,
                         .expiry = TIME_UNSET,
                         .usage_updated_at = TIME_UNSET,
                         .created_at = 10,
                         .updated_at = 10 };
    struct file f = { .kind = (char *)"file",
                      .name = (char *)"a.mov",
                      .path = (char *)"x/y",
                      .size = -1,
                      .last_modified = 9,
                      .created_at = 11,
                      .updated_at = 11 },
                f2, got, *list = NULL;
    struct file_part parts[3] = { { .part = 2, .size = 5, .crc32 = 0xdeadbeef, .side = true },
                                  { .part = 1, .size = 7, .crc32 = 1 },
                                  { .part = 2, .size = 6, .crc32 = 0xffffffff } },
                     *pl = NULL;
    struct link l = { .email = (char *)"v@example.org",
                      .access_limit = 3,
                      .expiry = TIME_UNSET,
                      .active = true,
                      .created_at = 12,
                      .updated_at = 12 },
                lgot, *ll = NULL;
    size_t n = 0;
    int64_t count = -1;

    id_new(p.id);
    memcpy(p.team_id, team_id, ID_LEN + 1);
    p.sender_user_id = (char *)user_id;
    is_int(store_package_insert(s, &p), STORE_ONE, "package inserted");
    id_new(f.id);
    memcpy(f.package_id, p.id, ID_LEN + 1);
    is_int(store_file_insert(s, &f), STORE_ONE, "file inserted");
    f2 = f;
    id_new(f2.id);
    f2.name = (char *)"b.wav";
    f2.created_at = 12;
    f2.size = 0;
    is_int(store_file_insert(s, &f2), STORE_ONE, "second file inserted");
    is_int(store_file_get(s, f.id, a, &got), STORE_ONE, "file read");
    ok(got.size == -1 && got.chunk_size == 0 && !got.upload_id && !got.done &&
           strcmp(got.path, "x/y") == 0 && got.last_modified == 9,
       "an undeclared size, no chunk size, no upload yet");
    got.upload_id = (char *)"01ARZ3NDEKTSV4RRFFQ69G5FAV";
    got.chunk_size = 5 << 20;
    got.size = 123456789012LL;
    got.done = true;
    got.crc32 = 0xfedcba98;
    is_int(store_file_update(s, &got), STORE_ONE, "file updated");
    is_int(store_file_get(s, f.id, a, &got), STORE_ONE, "file read again");
    ok(got.done && got.size == 123456789012LL && got.chunk_size == 5 << 20 &&
           got.crc32 == 0xfedcba98 && strcmp(got.upload_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV") == 0,
       "every updated field kept (a CRC with the high bit set too)");
    is_int(store_files_count(s, p.id, &count), STORE_ONE, "files counted");
    is_int(count, 2, "two files");
    is_int(store_files_list(s, p.id, a, &list, &n), STORE_ONE, "files listed");
    ok(n == 2 && strcmp(list[0].id, f.id) == 0 && strcmp(list[1].id, f2.id) == 0,
       "files in the order they were added");

    for (int i = 0; i < 3; i++)
        is_int(store_file_part_put(s, f.id, &parts[i]), STORE_ONE, "part put %d", i);
    is_int(store_file_parts_list(s, f.id, a, &pl, &n), STORE_ONE, "parts listed");
    ok(n == 2 && pl[0].part == 1 && pl[0].size == 7 && pl[1].part == 2 && pl[1].size == 6 &&
           pl[1].crc32 == 0xffffffff && !pl[1].side,
       "parts by number; putting a part again replaces it");
    is_int(store_file_part_delete(s, f.id, 2), STORE_ONE, "part deleted");
    store_file_parts_list(s, f.id, a, &pl, &n);
    ok(n == 1 && pl[0].part == 1, "one part left");
    is_int(store_file_delete(s, f2.id), STORE_ONE, "file deleted");
    is_int(store_file_get(s, f2.id, a, &got), STORE_NONE, "a deleted file is gone");

    for (size_t i = 0; i < sizeof(l.secret_hash); i++)
        l.secret_hash[i] = (uint8_t)(i * 7 + 1);
    id_new(l.id);
    memcpy(l.package_id, p.id, ID_LEN + 1);
    is_int(store_link_insert(s, &l), STORE_ONE, "link inserted");
    is_int(store_link_get(s, l.id, a, &lgot), STORE_ONE, "link read");
    ok(memcmp(lgot.secret_hash, l.secret_hash, sizeof(l.secret_hash)) == 0 &&
           lgot.access_limit == 3 && lgot.access_count == 0 && lgot.active &&
           lgot.expiry == TIME_UNSET && !lgot.password_hash &&
           strcmp(lgot.email, "v@example.org") == 0,
       "link fields kept");
    lgot.access_count = 2;
    lgot.active = false;
    lgot.updated_at = 20;
    is_int(store_link_update(s, &lgot), STORE_ONE, "link updated");
    is_int(store_links_list(s, p.id, a, &ll, &n), STORE_ONE, "links listed");
    ok(n == 1 && ll[0].access_count == 2 && !ll[0].active && ll[0].updated_at == 20,
       "count, state and time updated");
}

/*
 * Totals of lists filtered by creation time, against counting by hand: packages on both sides
 * of day boundaries, in several states, some moved to another state after creation.
 */
static void created_ranges(struct store *s, struct arena *a, const char *team_id,
                           const char *user_id)
{
    enum { N = 60 };
    const int64_t day = 86400000, base = 20000 * day;
    int64_t at[N];
    enum package_state st[N];
    static const int64_t cuts[] = {
        TIME_UNSET,      0, 1, -1, 86399999, 86400000, 86400001, 2 * 86400000 - 1, 3 * 86400000,
        4 * 86400000 + 5
    };
    bool all = true;

    for (int i = 0; i < N; i++) {
        struct package p = { .sender = (char *)"c@example.org",
                             .name = (char *)"Clip",
                             .state = PACKAGE_FINALIZED,
                             .expiry = TIME_UNSET,
                             .usage_updated_at = TIME_UNSET };

        /* Around each of five day boundaries: -2 ms ... +9 ms, and mid-day. */
        at[i] = base + (i % 5) * day + (i / 5 % 12 == 11 ? day / 2 : i / 5 % 12 - 2);
        st[i] = i % 3 == 0 ? PACKAGE_EXPIRED : PACKAGE_FINALIZED;
        id_new(p.id);
        memcpy(p.team_id, team_id, ID_LEN + 1);
        p.sender_user_id = (char *)user_id;
        p.created_at = p.updated_at = at[i];
        if (store_package_insert(s, &p) != STORE_ONE)
            all = false;
        if (st[i] != PACKAGE_FINALIZED) {
            p.state = st[i];
            if (store_package_update(s, &p) != STORE_ONE)
                all = false;
        }
    }
    ok(all, "%d packages around day boundaries", N);
    for (size_t i = 0; i < ARRAY_LEN(cuts); i++)
        for (size_t k = 0; k < ARRAY_LEN(cuts); k++) {
            int64_t lo = cuts[i] == TIME_UNSET ? TIME_UNSET : base + cuts[i];
            int64_t hi = cuts[k] == TIME_UNSET ? TIME_UNSET : base + cuts[k];
            struct package_query q = { .team_id = team_id,
                                       .scope = { .all = true },
                                       .states = PACKAGE_STATE_BIT(PACKAGE_FINALIZED) |
                                                 PACKAGE_STATE_BIT(PACKAGE_EXPIRED),
                                       .created_start = lo,
                                       .created_end = hi,
                                       .page = { .page = 1, .limit = 5 } };
            struct package *out;
            size_t n;
            int64_t total = -1, want = 0;

            for (int j = 0; j < N; j++)
                want += (lo == TIME_UNSET || at[j] >= lo) && (hi == TIME_UNSET || at[j] <= hi);
            if (store_packages_list(s, &q, a, &out, &n, &total) < 0 || total != want) {
                printf("# [%lld, %lld]: total %lld, want %lld\n", (long long)cuts[i],
                       (long long)cuts[k], (long long)total, (long long)want);
                all = false;
            }
        }
    ok(all, "creation-time totals match a count by hand at every day boundary");
    /* The name filter counts as it pages (trigrams from three characters, LIKE below). */
    for (int fts = 0; fts < 2; fts++) {
        struct package_query q = { .team_id = team_id,
                                   .scope = { .all = true },
                                   .states = PACKAGE_STATE_BIT(PACKAGE_FINALIZED) |
                                             PACKAGE_STATE_BIT(PACKAGE_EXPIRED),
                                   .name = fts ? "LIP" : "li",
                                   .created_start = TIME_UNSET,
                                   .created_end = TIME_UNSET,
                                   .page = { .page = 12, .limit = 5 } };
        struct package *out;
        size_t n;
        int64_t total = -1;

        ok(store_packages_list(s, &q, a, &out, &n, &total) >= 0 && n == 5 && total == N,
           "name %s: the last page is full and the total is every match", q.name);
        q.page.page = 13;
        ok(store_packages_list(s, &q, a, &out, &n, &total) >= 0 && n == 0 && total == N,
           "name %s: a page past the end is empty and still has the total", q.name);
    }
}

/* ---- lists against a reference computed here ---- */

#define LN 48

/* The packages of the list test as the store should have them, and what a query needs. */
struct lists {
    struct package p[LN];
    char ids[LN][ID_LEN + 1];
    char space_ids[2][ID_LEN + 1]; /* the member is in the first only */
    char tag_ids[2][ID_LEN + 1];
    char *tag_lists[2];     /* JSON arrays of the tag ids */
    const char *user_id;    /* the member's user */
    enum package_sort sort; /* the order ref_cmp() applies */
    bool desc;
};

static struct lists L;

/* NULL (TIME_UNSET) first ascending, as SQLite orders. */
static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_text(const char *a, const char *b)
{
    if (!a || !b)
        return !a && !b ? 0 : !a ? -1 : 1;
    return strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
}

static int ref_cmp(const void *va, const void *vb)
{
    const struct package *a = *(const struct package *const *)va;
    const struct package *b = *(const struct package *const *)vb;
    int c = 0;

    switch (L.sort) {
    case PACKAGE_SORT_CREATED_AT:
    case PACKAGE_SORT_COUNT:
        break;
    case PACKAGE_SORT_NAME:
        c = cmp_text(a->name, b->name);
        break;
    case PACKAGE_SORT_SIZE:
        c = cmp_i64(a->size, b->size);
        break;
    case PACKAGE_SORT_USAGE:
        c = cmp_i64(a->usage_total_bytes, b->usage_total_bytes);
        break;
    case PACKAGE_SORT_EXPIRY:
        c = cmp_i64(a->expiry, b->expiry);
        break;
    case PACKAGE_SORT_SENDER:
        c = cmp_text(a->sender, b->sender);
        break;
    case PACKAGE_SORT_STATE:
        c = cmp_text(package_state_name(a->state), package_state_name(b->state));
        break;
    case PACKAGE_SORT_TEAMSPACE:
        c = cmp_text(a->teamspace_id, b->teamspace_id);
        break;
    }
    if (!c)
        c = cmp_i64(a->created_at, b->created_at);
    if (!c)
        c = strcmp(a->id, b->id);
    return L.desc ? -c : c;
}

/* Whether @ids (a JSON array of ids, as the API writes it) names @id. */
static bool json_has(const char *ids, const char *id)
{
    return id && strstr(ids, id) != NULL;
}

static bool ref_match(const struct package *p, const struct package_query *q)
{
    if (p->inbox != q->inbox || !(q->states & PACKAGE_STATE_BIT(p->state)))
        return false;
    if (q->portal_id && (!p->portal_id || strcmp(p->portal_id, q->portal_id) != 0))
        return false;
    if (!q->scope.all && !(p->sender_user_id && strcmp(p->sender_user_id, L.user_id) == 0) &&
        !(p->teamspace_id && strcmp(p->teamspace_id, L.space_ids[0]) == 0))
        return false;
    if (q->name && !strcasestr(p->name, q->name))
        return false;
    if (q->sender && strcmp(p->sender, q->sender) != 0)
        return false;
    if (q->tags_json && !json_has(q->tags_json, p->tag_id))
        return false;
    if (q->teamspaces_json && !json_has(q->teamspaces_json, p->teamspace_id))
        return false;
    if (q->created_start != TIME_UNSET && p->created_at < q->created_start)
        return false;
    return q->created_end == TIME_UNSET || p->created_at <= q->created_end;
}

/* Pages through @q and compares every page and the total with the reference. */
static bool list_matches(struct store *s, struct arena *a, struct package_query q,
                         const char *label)
{
    static int said; /* the first few differences are enough to go on */
    const struct package *want[LN];
    size_t nwant = 0, at = 0;
    int64_t limit = q.page.limit;

    for (int i = 0; i < LN; i++)
        if (ref_match(&L.p[i], &q))
            want[nwant++] = &L.p[i];
    L.sort = q.sort;
    L.desc = q.desc;
    qsort(want, nwant, sizeof(want[0]), ref_cmp);
    for (q.page.page = 1;; q.page.page++) {
        struct package *out = NULL;
        size_t n = 0;
        int64_t total = -1;
        enum store_rc rc = store_packages_list(s, &q, a, &out, &n, &total);
        size_t expect = limit == 0                   ? nwant
                        : nwant - at < (size_t)limit ? nwant - at
                                                     : (size_t)limit;

        if (rc < 0 || total != (int64_t)nwant || n != expect ||
            rc != (n ? STORE_ONE : STORE_NONE)) {
            if (said++ < 10)
                printf("# %s, sort %d%s, page %lld: rc %d, %zu rows (want %zu), total %lld (want "
                       "%zu)\n",
                       label, q.sort, q.desc ? " desc" : "", (long long)q.page.page, rc, n, expect,
                       (long long)total, nwant);
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            const struct package *w = want[at + i];

            if (strcmp(out[i].id, w->id) != 0 || out[i].state != w->state ||
                cmp_text(out[i].tag_id, w->tag_id) ||
                cmp_text(out[i].teamspace_id, w->teamspace_id) || out[i].expiry != w->expiry ||
                strcmp(out[i].name, w->name) != 0) {
                if (said++ < 10)
                    printf("# %s, sort %d%s, page %lld, row %zu: %s (%s), want %s (%s)\n", label,
                           q.sort, q.desc ? " desc" : "", (long long)q.page.page, i, out[i].id,
                           out[i].name, w->id, w->name);
                return false;
            }
        }
        at += n;
        if (limit == 0 || n == 0)
            return true;
    }
}

/* Packages of every kind in a team of their own, their lists under every order and filter
 * against a reference, and again after moves and a tag deletion changed them. */
static void lists(struct store *s, struct arena *a, const char *user_id)
{
    static const char *const names[] = { "Report 10% final", "report_10", "Weekly REPORT",
                                         "clip 10",          "Zeta",      "alpha",
                                         "Report 100",       "B-roll" };
    static const char *const senders[] = { "b@x.org", "a@x.org", "c@x.org" };
    static const unsigned all_states =
        PACKAGE_STATE_BIT(PACKAGE_NEW) | PACKAGE_STATE_BIT(PACKAGE_FINALIZED) |
        PACKAGE_STATE_BIT(PACKAGE_EXPIRED) | PACKAGE_STATE_BIT(PACKAGE_ARCHIVED);
    const int64_t base = 1700000000000;
    struct team t = { .name = (char *)"Lists", .created_at = 1, .updated_at = 1 };
    struct membership m = { .role = ROLE_MEMBER, .created_at = 1, .updated_at = 1 };
    struct teamspace ts = { .created_at = 1, .updated_at = 1 };
    struct tag tg = { .created_at = 1, .updated_at = 1 };
    char other_user[ID_LEN + 1], *member_ids[1], one_tag[ID_LEN + 5], one_space[ID_LEN + 5];
    bool all = true;
    int64_t moved = -1, want_moved = 0;

    memset(&L, 0, sizeof(L));
    L.user_id = user_id;
    id_new(other_user);
    id_new(t.id);
    is_int(store_team_insert(s, &t), STORE_ONE, "lists: a team of their own");
    id_new(m.id);
    memcpy(m.team_id, t.id, sizeof(m.team_id));
    memcpy(m.user_id, user_id, sizeof(m.user_id));
    is_int(store_membership_insert(s, &m), STORE_ONE, "lists: a member");
    member_ids[0] = m.id;
    for (int i = 0; i < 2; i++) {
        char name[8];

        snprintf(name, sizeof(name), "ts%d", i);
        ts.name = name;
        id_new(ts.id);
        memcpy(ts.team_id, t.id, sizeof(ts.team_id));
        ts.member_ids = member_ids;
        ts.nmembers = i == 0;
        memcpy(L.space_ids[i], ts.id, sizeof(ts.id));
        all &= store_teamspace_insert(s, &ts) == STORE_ONE;
        snprintf(name, sizeof(name), "tag%d", i);
        tg.name = name;
        id_new(tg.id);
        memcpy(tg.team_id, t.id, sizeof(tg.team_id));
        memcpy(L.tag_ids[i], tg.id, sizeof(tg.id));
        all &= store_tag_insert(s, &tg) == STORE_ONE;
        all &= store_tag_insert(s, &tg) == STORE_NONE; /* the same id again */
    }
    id_new(tg.id);
    tg.name = (char *)"tag0";
    is_int(store_tag_insert(s, &tg), STORE_NONE, "lists: a second tag of the same name is refused");
    L.tag_lists[0] = arena_printf(a, "[\"%s\",\"%s\"]", L.tag_ids[0], L.tag_ids[1]);
    snprintf(one_tag, sizeof(one_tag), "[\"%s\"]", L.tag_ids[0]);
    snprintf(one_space, sizeof(one_space), "[\"%s\"]", L.space_ids[0]);
    for (int i = 0; i < LN; i++) {
        struct package *p = &L.p[i];
        enum package_state final = (enum package_state)(PACKAGE_NEW + i % 4);

        *p = (struct package){ .inbox = i % 6 == 5,
                               .portal_id = i % 6 == 5 ? (char *)(i % 12 == 5 ? "P1" : "P2") : NULL,
                               .sender_user_id = i % 2 ? other_user : (char *)user_id,
                               .sender = (char *)senders[i % 3],
                               .name = (char *)names[i % 8],
                               .state = PACKAGE_NEW,
                               .size = (i * 7919) % 23,
                               .usage_total_bytes = i % 4 * 10,
                               .expiry = i % 3 == 0 ? TIME_UNSET : (i * 13) % 50 * 1000,
                               .teamspace_id = i % 3 == 0 ? NULL : L.space_ids[i % 2],
                               .tag_id = i % 4 == 0 ? NULL : L.tag_ids[i % 2],
                               .created_at = base + (i * 37) % 20 * 1000,
                               .usage_updated_at = TIME_UNSET };
        id_new(L.ids[i]);
        memcpy(p->id, L.ids[i], sizeof(p->id));
        memcpy(p->team_id, t.id, sizeof(p->team_id));
        p->updated_at = p->created_at;
        all &= store_package_insert(s, p) == STORE_ONE;
        all &= store_package_insert(s, p) == STORE_NONE; /* the same id again */
        /* A later change of state, tag and teamspace moves the counters along. */
        if (final != PACKAGE_NEW || i % 5 == 1) {
            p->state = final;
            if (i % 5 == 1)
                p->tag_id = p->tag_id ? NULL : L.tag_ids[1];
            all &= store_package_update(s, p) == STORE_ONE;
        }
    }
    ok(all, "lists: %d packages, teamspaces and tags stored; taken ids refused", LN);

    {
        struct package_query base_q = { .team_id = t.id,
                                        .scope = { .all = true },
                                        .states = all_states,
                                        .created_start = TIME_UNSET,
                                        .created_end = TIME_UNSET,
                                        .page = { .page = 1, .limit = 7 } };
        struct {
            const char *label;
            struct package_query q;
        } cases[32];
        size_t nc = 0;

#define CASE(lbl, ...)                                                                             \
    do {                                                                                           \
        cases[nc].label = lbl;                                                                     \
        cases[nc].q = base_q;                                                                      \
        __VA_ARGS__;                                                                               \
        nc++;                                                                                      \
    } while (0)
        CASE("every package");
        CASE("every package on one page", cases[nc].q.page.limit = 0);
        CASE("no state", cases[nc].q.states = 0);
        CASE("one state", cases[nc].q.states = PACKAGE_STATE_BIT(PACKAGE_FINALIZED));
        CASE("two states", cases[nc].q.states =
                               PACKAGE_STATE_BIT(PACKAGE_NEW) | PACKAGE_STATE_BIT(PACKAGE_EXPIRED));
        CASE("name 'report'", cases[nc].q.name = "report");
        CASE("name 'REPORT 10' across case", cases[nc].q.name = "REPORT 10");
        CASE("name '10%' (escaped)", cases[nc].q.name = "10%");
        CASE("name '_1' (short, escaped)", cases[nc].q.name = "_1");
        CASE("name 'a' (short)", cases[nc].q.name = "a");
        CASE("name on one page", cases[nc].q.name = "report", cases[nc].q.page.limit = 0);
        CASE("sender", cases[nc].q.sender = "b@x.org");
        CASE("one tag", cases[nc].q.tags_json = one_tag);
        CASE("two tags", cases[nc].q.tags_json = L.tag_lists[0]);
        CASE("no tag at all", cases[nc].q.tags_json = "[]");
        CASE("one teamspace", cases[nc].q.teamspaces_json = one_space);
        CASE("created range", cases[nc].q.created_start = base + 3000,
             cases[nc].q.created_end = base + 12000);
        CASE("created from", cases[nc].q.created_start = base + 15000);
        CASE("sender, tag and creation", cases[nc].q.sender = "a@x.org",
             cases[nc].q.tags_json = one_tag, cases[nc].q.created_start = base + 2000);
        CASE("one state and one tag", cases[nc].q.states = PACKAGE_STATE_BIT(PACKAGE_ARCHIVED),
             cases[nc].q.tags_json = one_tag);
        CASE("inbox", cases[nc].q.inbox = true);
        CASE("inbox of one portal", cases[nc].q.inbox = true, cases[nc].q.portal_id = "P1");
#undef CASE
        for (int round = 0; round < 3; round++) {
            for (size_t c = 0; c < nc; c++)
                for (int scoped = 0; scoped < 2; scoped++)
                    for (int sort = 0; sort < PACKAGE_SORT_COUNT; sort++)
                        for (int desc = 0; desc < 2; desc++) {
                            struct package_query q = cases[c].q;

                            q.sort = (enum package_sort)sort;
                            q.desc = desc;
                            if (scoped)
                                q.scope = (struct package_scope){ .user_id = user_id,
                                                                  .membership_id = m.id };
                            all &= list_matches(s, a, q, cases[c].label);
                        }
            if (round == 0) {
                ok(all, "lists: every order of every filter, page by page, with its total");
                /* Finalized packages expiring within [5 s, 30 s] archived, then back. */
                is_int(store_packages_move_by_expiry(
                           s, t.id, false, &(struct package_scope){ .all = true },
                           PACKAGE_FINALIZED, PACKAGE_ARCHIVED, 5000, 30000, base + 99, &moved),
                       STORE_ONE, "lists: packages moved by expiry");
                for (int i = 0; i < LN; i++) {
                    struct package *p = &L.p[i];

                    if (!p->inbox && p->state == PACKAGE_FINALIZED && p->expiry != TIME_UNSET &&
                        p->expiry >= 5000 && p->expiry <= 30000) {
                        p->state = PACKAGE_ARCHIVED;
                        want_moved++;
                    }
                }
                is_int(moved, want_moved, "lists: the packages in the expiry range moved");
            } else if (round == 1) {
                ok(all, "lists: the same after the move");
                is_int(store_tag_delete(s, L.tag_ids[1]), STORE_ONE, "lists: a tag deleted");
                for (int i = 0; i < LN; i++)
                    if (L.p[i].tag_id && strcmp(L.p[i].tag_id, L.tag_ids[1]) == 0)
                        L.p[i].tag_id = NULL;
            } else {
                ok(all, "lists: the same after the tag deletion (its packages lost it)");
            }
        }
    }
}

/* ---- PostgreSQL: a database of the run's own ---- */

/* Runs @sql on the server of @url; false (said) when it fails. */
/* ---- portals ---- */

/* The fields of two portals that differ, by name, into @why (empty when none). */
static void portal_diff(const struct portal *a, const struct portal *b, char *why, size_t cap)
{
    size_t k = 0;

#define DIFF_TEXT(f)                                                                               \
    if (cmp_text(a->f, b->f) && k < cap)                                                           \
    k += (size_t)snprintf(why + k, cap - k, " " #f)
#define DIFF_VAL(f)                                                                                \
    if (a->f != b->f && k < cap)                                                                   \
    k += (size_t)snprintf(why + k, cap - k, " " #f)
    why[0] = '\0';
    DIFF_TEXT(id);
    DIFF_TEXT(team_id);
    DIFF_TEXT(created_by);
    DIFF_TEXT(name);
    DIFF_TEXT(subdomain);
    DIFF_TEXT(message);
    DIFF_VAL(active);
    DIFF_VAL(has_access_code);
    DIFF_TEXT(access_code);
    DIFF_TEXT(logo_url);
    DIFF_TEXT(background_url);
    DIFF_TEXT(primary_color);
    DIFF_TEXT(recipients);
    DIFF_VAL(has_download_password);
    DIFF_TEXT(download_password_hash);
    DIFF_VAL(custom_expiry_days);
    DIFF_TEXT(cloud_connections);
    DIFF_TEXT(custom_webhooks);
    DIFF_VAL(disable_upload_receipt);
    DIFF_TEXT(tag_id);
    DIFF_VAL(access_level);
    DIFF_VAL(naccess);
    DIFF_TEXT(teamspace_id);
    DIFF_VAL(terms_of_service_enabled);
    DIFF_TEXT(tos_checkbox_label);
    DIFF_TEXT(tos_checkbox_url);
    DIFF_TEXT(tos_title);
    DIFF_TEXT(tos_description);
    DIFF_VAL(package_size_restriction_enabled);
    DIFF_VAL(max_package_size);
    DIFF_VAL(max_file_size);
    DIFF_VAL(max_file_count);
    DIFF_VAL(file_type_restriction_enabled);
    DIFF_VAL(file_type_restriction_exclude);
    DIFF_TEXT(file_types);
    DIFF_VAL(expiry_enabled);
    DIFF_VAL(expiry);
    DIFF_VAL(package_name_format_enabled);
    DIFF_TEXT(name_format_value);
    DIFF_TEXT(name_format_label);
    DIFF_VAL(created_at);
    DIFF_VAL(updated_at);
#undef DIFF_TEXT
#undef DIFF_VAL
    for (size_t i = 0; i < a->naccess && i < b->naccess && k < cap; i++)
        if (strcmp(a->access_list[i], b->access_list[i]) != 0)
            k += (size_t)snprintf(why + k, cap - k, " access_list[%zu]", i);
}

/* A portal with only what is required, in @team. */
static struct portal plain_portal(const char *team, const char *name, const char *subdomain,
                                  int64_t created_at)
{
    struct portal p = { .name = (char *)name,
                        .subdomain = (char *)subdomain,
                        .access_level = PORTAL_REGULAR,
                        .expiry = TIME_UNSET,
                        .created_at = created_at,
                        .updated_at = created_at };

    id_new(p.id);
    memcpy(p.team_id, team, ID_LEN + 1);
    return p;
}

/* The ids of a page, in order, separated by spaces. */
static const char *portal_ids(const struct portal *ps, size_t n, struct arena *a)
{
    char *out = arena_alloc(a, n * (ID_LEN + 1) + 1);
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (i)
            out[k++] = ' ';
        memcpy(out + k, ps[i].id, ID_LEN);
        k += ID_LEN;
    }
    out[k] = '\0';
    return out;
}

/* Lists @q and compares the order with @want (ids separated by spaces) and the total. */
static void portals_listed(struct store *s, struct arena *a, struct portal_query q,
                           const char *want, int64_t want_total, const char *label)
{
    struct portal *out = NULL;
    size_t n = 0;
    int64_t total = -1;
    enum store_rc rc = store_portals_list(s, &q, a, &out, &n, &total);
    const char *got = portal_ids(out, n, a);

    ok(rc == (n ? STORE_ONE : STORE_NONE) && total == want_total && strcmp(got, want) == 0,
       "portals: %s", label);
    if (total != want_total || strcmp(got, want) != 0)
        printf("#   got total %lld [%s]\n#   want total %lld [%s]\n", (long long)total, got,
               (long long)want_total, want);
}

static const char *join_ids(struct arena *a, int n, ...)
{
    char *out = arena_alloc(a, (size_t)n * (ID_LEN + 1) + 1);
    size_t k = 0;
    va_list ap;

    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        if (i)
            out[k++] = ' ';
        memcpy(out + k, va_arg(ap, const char *), ID_LEN);
        k += ID_LEN;
    }
    va_end(ap);
    out[k] = '\0';
    return out;
}

/* Portals in a team of their own: every field kept, the subdomain unique among live portals,
 * updates, deletion, the list's orders, filters, totals and who sees what, and the bulk archive
 * of a portal's packages. */
static void portals(struct store *s, struct arena *a)
{
    struct team t = { .name = (char *)"Portals", .created_at = 1, .updated_at = 1 };
    struct user u1 = new_user("portal-admin@example.org"), u2 = new_user("portal-m@example.org");
    struct membership m1 = { .role = ROLE_ADMIN, .created_at = 1, .updated_at = 1 };
    struct membership m2 = { .role = ROLE_MEMBER, .created_at = 2, .updated_at = 2 };
    struct teamspace sp1 = { .name = (char *)"one", .created_at = 1, .updated_at = 1 };
    struct teamspace sp2 = { .name = (char *)"two", .created_at = 1, .updated_at = 1 };
    struct tag tg1 = { .name = (char *)"t1", .created_at = 1, .updated_at = 1 };
    struct tag tg2 = { .name = (char *)"t2", .created_at = 1, .updated_at = 1 };
    char *m2_ids[1], *access[2];
    struct portal full, got, other, p[6];
    struct portal_query q;
    char why[512], tags[64], spaces[64];
    int64_t updated = -1;

    id_new(t.id);
    id_new(m1.id);
    id_new(m2.id);
    id_new(sp1.id);
    id_new(sp2.id);
    id_new(tg1.id);
    id_new(tg2.id);
    memcpy(m1.team_id, t.id, ID_LEN + 1);
    memcpy(m2.team_id, t.id, ID_LEN + 1);
    memcpy(m1.user_id, u1.id, ID_LEN + 1);
    memcpy(m2.user_id, u2.id, ID_LEN + 1);
    memcpy(sp1.team_id, t.id, ID_LEN + 1);
    memcpy(sp2.team_id, t.id, ID_LEN + 1);
    memcpy(tg1.team_id, t.id, ID_LEN + 1);
    memcpy(tg2.team_id, t.id, ID_LEN + 1);
    m2_ids[0] = m2.id;
    sp1.member_ids = m2_ids;
    sp1.nmembers = 1;
    ok(store_team_insert(s, &t) == STORE_ONE && store_user_insert(s, &u1) == STORE_ONE &&
           store_user_insert(s, &u2) == STORE_ONE && store_membership_insert(s, &m1) == STORE_ONE &&
           store_membership_insert(s, &m2) == STORE_ONE &&
           store_teamspace_insert(s, &sp1) == STORE_ONE &&
           store_teamspace_insert(s, &sp2) == STORE_ONE && store_tag_insert(s, &tg1) == STORE_ONE &&
           store_tag_insert(s, &tg2) == STORE_ONE,
       "portals: a team with an admin, a member, two teamspaces (the member in one), two tags");

    /* Every field, none at its default. */
    full = (struct portal){
        .created_by = u1.id,
        .name = (char *)"Dailies \"upload\"",
        .subdomain = (char *)"dailies-1",
        .message = (char *)"Hello\nworld",
        .active = true,
        .has_access_code = true,
        .access_code = (char *)"open sesame",
        .logo_url = (char *)"https://example.org/logo.png",
        .background_url = (char *)"https://example.org/bg.jpg",
        .primary_color = (char *)"#0078D4",
        .recipients = (char *)"[\"a@example.org\",\"b@example.org\"]",
        .has_download_password = true,
        .download_password_hash = (char *)"$argon2id$v=19$m=65536,t=2,p=1$xx$yy",
        .custom_expiry_days = -1,
        .cloud_connections =
            (char *)"[{\"id\":\"01J0VK7K95A2ACFRW3Z93DJ7B2\",\"target_action\":\"transfer\","
                    "\"sync_metadata\":true}]",
        .custom_webhooks = (char *)"[{\"id\":\"01CTJE8TGGEZDNW91C67JSHQW5\"}]",
        .disable_upload_receipt = true,
        .tag_id = tg1.id,
        .access_level = PORTAL_REGULAR,
        .teamspace_id = sp1.id,
        .terms_of_service_enabled = true,
        .tos_checkbox_label = (char *)"I agree",
        .tos_checkbox_url = (char *)"https://example.org/tos",
        .tos_title = (char *)"Terms",
        .tos_description = (char *)"Be nice",
        .package_size_restriction_enabled = true,
        .max_package_size = 53687091200LL,
        .max_file_size = 1073741824LL,
        .max_file_count = 10,
        .file_type_restriction_enabled = true,
        .file_type_restriction_exclude = true,
        .file_types = (char *)"[\".mov\",\".mp4\"]",
        .expiry_enabled = true,
        .expiry = 1893456000000LL,
        .package_name_format_enabled = true,
        .name_format_value = (char *)"^[A-Z]+_\\d{4}$",
        .name_format_label = (char *)"UPPER_1234",
        .created_at = 100,
        .updated_at = 101,
    };
    id_new(full.id);
    memcpy(full.team_id, t.id, ID_LEN + 1);
    is_int(store_portal_insert(s, &full), STORE_ONE, "portals: inserted with every field");
    is_int(store_portal_get(s, full.id, a, &got), STORE_ONE, "portals: read back");
    portal_diff(&got, &full, why, sizeof(why));
    ok(!why[0], "portals: every field round trips%s%s", why[0] ? ": differs in" : "", why);
    ok(got.tag_name && strcmp(got.tag_name, "t1") == 0 && got.teamspace_name &&
           strcmp(got.teamspace_name, "one") == 0,
       "portals: with the names of its tag and teamspace");
    is_int(store_portal_by_subdomain(s, "dailies-1", a, &got), STORE_ONE, "portals: by subdomain");
    is_str(got.id, full.id, "portals: the subdomain finds it");
    is_int(store_portal_by_subdomain(s, "dailies", a, &got), STORE_NONE,
           "portals: a subdomain is matched whole");

    other = plain_portal(t.id, "Other", "dailies-1", 102);
    is_int(store_portal_insert(s, &other), STORE_NONE,
           "portals: a taken subdomain is STORE_NONE on insert");
    other = plain_portal(t.id, "Other", "other-1", 102);
    is_int(store_portal_insert(s, &other), STORE_ONE, "portals: another subdomain is fine");
    is_int(store_portal_get(s, other.id, a, &got), STORE_ONE, "portals: a plain portal read");
    ok(!got.active && !got.has_access_code && strcmp(got.access_code, "") == 0 &&
           strcmp(got.recipients, "[]") == 0 && strcmp(got.file_types, "[]") == 0 &&
           strcmp(got.cloud_connections, "[]") == 0 && strcmp(got.custom_webhooks, "[]") == 0 &&
           !got.tag_id && !got.teamspace_id && got.access_level == PORTAL_REGULAR &&
           got.naccess == 0 && got.expiry == TIME_UNSET && !got.download_password_hash &&
           strcmp(got.message, "") == 0 && strcmp(got.tos_checkbox_label, "") == 0,
       "portals: defaults where nothing was given");

    /* Update: private, an access list, no teamspace, no tag, other values everywhere. */
    full.name = (char *)"Renamed";
    full.subdomain = (char *)"renamed-1";
    full.active = false;
    full.access_level = PORTAL_PRIVATE;
    access[0] = m1.id;
    access[1] = m2.id;
    if (strcmp(m1.id, m2.id) > 0) {
        access[0] = m2.id;
        access[1] = m1.id;
    }
    full.access_list = access;
    full.naccess = 2;
    full.teamspace_id = NULL;
    full.tag_id = tg2.id;
    full.has_download_password = false;
    full.download_password_hash = NULL;
    full.custom_expiry_days = 65535;
    full.max_file_count = 0;
    full.expiry = TIME_UNSET;
    full.file_types = (char *)"[]";
    full.updated_at = 200;
    is_int(store_portal_update(s, &full), STORE_ONE, "portals: updated");
    store_portal_get(s, full.id, a, &got);
    portal_diff(&got, &full, why, sizeof(why));
    ok(!why[0], "portals: every updated field kept, the access list too%s%s",
       why[0] ? ": differs in" : "", why);
    is_int(store_portal_by_subdomain(s, "dailies-1", a, &got), STORE_NONE,
           "portals: the old subdomain no longer resolves");
    full.access_list = m2_ids;
    full.naccess = 1;
    is_int(store_portal_update(s, &full), STORE_ONE, "portals: the access list replaced");
    store_portal_get(s, full.id, a, &got);
    ok(got.naccess == 1 && strcmp(got.access_list[0], m2.id) == 0,
       "portals: the access list is what the last update said");
    other.subdomain = (char *)"renamed-1";
    other.updated_at = 300;
    is_int(store_portal_update(s, &other), STORE_NONE,
           "portals: a taken subdomain is STORE_NONE on update");
    store_portal_get(s, other.id, a, &got);
    ok(strcmp(got.subdomain, "other-1") == 0 && got.updated_at == 102,
       "portals: and the refused update changed nothing");
    other.subdomain = (char *)"other-1";

    /* Deletion frees the subdomain; the row is no longer read. */
    is_int(store_portal_delete(s, full.id, 400), STORE_ONE, "portals: deleted");
    is_int(store_portal_get(s, full.id, a, &got), STORE_NONE, "portals: a deleted portal is gone");
    is_int(store_portal_by_subdomain(s, "renamed-1", a, &got), STORE_NONE,
           "portals: its subdomain stops resolving");
    is_int(store_portal_delete(s, full.id, 401), STORE_NONE, "portals: deleting twice: STORE_NONE");
    full.updated_at = 402;
    is_int(store_portal_update(s, &full), STORE_NONE, "portals: a deleted portal is not updated");
    p[0] = plain_portal(t.id, "beta", "renamed-1", 500);
    is_int(store_portal_insert(s, &p[0]), STORE_ONE,
           "portals: a new portal takes the freed subdomain");

    /* The list: p[0] "beta" (regular, no teamspace) and other "Other" exist already. */
    p[1] = plain_portal(t.id, "Alpha", "alpha-x", 500); /* ties p[0] on created_at */
    p[1].active = true;
    p[1].tag_id = tg1.id;
    p[2] = plain_portal(t.id, "gamma", "gamma-x", 600);
    p[2].teamspace_id = sp1.id; /* the member's teamspace */
    p[2].tag_id = tg2.id;
    p[3] = plain_portal(t.id, "delta", "delta-y", 700);
    p[3].teamspace_id = sp2.id; /* not the member's */
    p[3].active = true;
    p[4] = plain_portal(t.id, "epsilon", "eps-y", 800);
    p[4].access_level = PORTAL_PRIVATE;
    p[4].access_list = m2_ids; /* the member is on its list */
    p[4].naccess = 1;
    p[5] = plain_portal(t.id, "zeta 100%", "zeta-y", 900);
    p[5].access_level = PORTAL_PRIVATE; /* without the member */
    access[0] = m1.id;
    p[5].access_list = access;
    p[5].naccess = 1;
    for (int i = 1; i < 6; i++)
        if (store_portal_insert(s, &p[i]) != STORE_ONE)
            ok(0, "portals: list portal %d inserted", i);
    q = (struct portal_query){ .team_id = t.id,
                               .scope = { .all = true },
                               .sort = PORTAL_SORT_CREATED_AT,
                               .desc = true,
                               .page = { 1, 50 } };
    {
        /* p[0] and p[1] share created_at 500: their order is their ids'. */
        const char *lo = strcmp(p[0].id, p[1].id) < 0 ? p[0].id : p[1].id;
        const char *hi = lo == p[0].id ? p[1].id : p[0].id;

        portals_listed(s, a, q,
                       join_ids(a, 7, p[5].id, p[4].id, p[3].id, p[2].id, hi, lo, other.id), 7,
                       "newest first by default, ties by id descending");
        q.desc = false;
        portals_listed(s, a, q,
                       join_ids(a, 7, other.id, lo, hi, p[2].id, p[3].id, p[4].id, p[5].id), 7,
                       "created_at ascending, ties by id ascending");
        q.sort = PORTAL_SORT_ACTIVE;
        {
            /* Inactive first: other, p0, p2, p4, p5 by id; then p1, p3 by id. */
            const char *in[5] = { other.id, p[0].id, p[2].id, p[4].id, p[5].id };
            const char *act[2] = { p[1].id, p[3].id };

            for (int i = 0; i < 5; i++)
                for (int k = i + 1; k < 5; k++)
                    if (strcmp(in[i], in[k]) > 0) {
                        const char *x = in[i];

                        in[i] = in[k];
                        in[k] = x;
                    }
            if (strcmp(act[0], act[1]) > 0) {
                act[0] = p[3].id;
                act[1] = p[1].id;
            }
            portals_listed(s, a, q,
                           join_ids(a, 7, in[0], in[1], in[2], in[3], in[4], act[0], act[1]), 7,
                           "active ascending, ties by id");
            q.desc = true;
            portals_listed(s, a, q,
                           join_ids(a, 7, act[1], act[0], in[4], in[3], in[2], in[1], in[0]), 7,
                           "active descending, ties by id descending");
        }
    }
    q.sort = PORTAL_SORT_NAME;
    q.desc = false;
    portals_listed(s, a, q,
                   join_ids(a, 7, p[1].id, other.id, p[0].id, p[3].id, p[4].id, p[2].id, p[5].id),
                   7, "by name (byte order)");
    q.desc = true;
    q.page = (struct store_page){ 2, 3 };
    portals_listed(s, a, q, join_ids(a, 3, p[3].id, p[0].id, other.id), 7,
                   "by name descending, page 2 of 3");
    q.page = (struct store_page){ 3, 3 };
    portals_listed(s, a, q, join_ids(a, 1, p[1].id), 7, "the last page");
    q.page = (struct store_page){ 4, 3 };
    portals_listed(s, a, q, "", 7, "past the last page: none, the total still");
    q.page = (struct store_page){ 1, 0 };
    q.desc = false;
    q.name = "ETA";
    portals_listed(s, a, q, join_ids(a, 2, p[0].id, p[5].id), 2,
                   "name contains, ASCII case-insensitively");
    q.name = "100%";
    portals_listed(s, a, q, join_ids(a, 1, p[5].id), 1, "a % in the name filter is literal");
    q.name = "_";
    portals_listed(s, a, q, "", 0, "so is an _");
    q.name = NULL;
    q.subdomain = "-y";
    portals_listed(s, a, q, join_ids(a, 3, p[3].id, p[4].id, p[5].id), 3, "subdomain contains");
    q.subdomain = NULL;
    snprintf(tags, sizeof(tags), "[\"%s\"]", tg1.id);
    q.tags_json = tags;
    portals_listed(s, a, q, join_ids(a, 1, p[1].id), 1, "one tag");
    snprintf(tags, sizeof(tags), "[\"%s\",\"%s\"]", tg1.id, tg2.id);
    portals_listed(s, a, q, join_ids(a, 2, p[1].id, p[2].id), 2, "either of two tags");
    q.tags_json = NULL;
    snprintf(spaces, sizeof(spaces), "[\"%s\",\"%s\"]", sp1.id, sp2.id);
    q.teamspaces_json = spaces;
    portals_listed(s, a, q, join_ids(a, 2, p[3].id, p[2].id), 2, "either of two teamspaces");
    q.tags_json = tags;
    q.teamspaces_json = spaces;
    portals_listed(s, a, q, join_ids(a, 1, p[2].id), 1, "tags and teamspaces together");
    q.tags_json = NULL;
    q.teamspaces_json = NULL;
    /* What the member sees: regular portals in no teamspace or theirs, private ones with them
     * on the list. */
    q.scope = (struct portal_scope){ .all = false, .membership_id = m2.id };
    portals_listed(s, a, q, join_ids(a, 5, p[1].id, other.id, p[0].id, p[4].id, p[2].id), 5,
                   "a member sees the team's, their teamspace's and their private portals");
    q.scope.membership_id = m1.id;
    portals_listed(s, a, q, join_ids(a, 4, p[1].id, other.id, p[0].id, p[5].id), 4,
                   "a membership in no teamspace sees the team's portals and p5, on whose list "
                   "it is");
    q.scope.membership_id = m2.id;
    q.page = (struct store_page){ 2, 2 };
    portals_listed(s, a, q, join_ids(a, 2, p[0].id, p[4].id), 5,
                   "and its pages count what it sees");
    q.scope.all = true;
    q.page = (struct store_page){ 1, 50 };
    q.team_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    portals_listed(s, a, q, "", 0, "another team's list is empty");

    /* The bulk archive of one portal's expired packages by expiry window. */
    {
        struct package pk[4];

        for (int i = 0; i < 4; i++) {
            pk[i] = (struct package){ .inbox = true,
                                      .portal_id = i < 3 ? p[1].id : p[2].id,
                                      .sender = (char *)"up@example.org",
                                      .name = (char *)"up",
                                      .state = i == 2 ? PACKAGE_FINALIZED : PACKAGE_EXPIRED,
                                      .expiry = 1000 + i * 100,
                                      .usage_updated_at = TIME_UNSET,
                                      .created_at = 10,
                                      .updated_at = 10 };
            id_new(pk[i].id);
            memcpy(pk[i].team_id, t.id, ID_LEN + 1);
            if (store_package_insert(s, &pk[i]) != STORE_ONE)
                ok(0, "portals: package %d inserted", i);
        }
        is_int(store_portal_packages_move(s, p[1].id, NULL, PACKAGE_EXPIRED, PACKAGE_ARCHIVED, 1000,
                                          1100, 5000, &updated),
               STORE_ONE, "portals: packages archived by expiry window");
        is_int(updated, 2, "portals: the expired ones of that portal in the window");
        store_package_get(s, pk[3].id, a, &pk[3]);
        store_package_get(s, pk[2].id, a, &pk[2]);
        ok(pk[3].state == PACKAGE_EXPIRED && pk[2].state == PACKAGE_FINALIZED,
           "portals: another portal's and a finalized package are left alone");
        is_int(store_portal_packages_move(s, p[1].id, pk[1].id, PACKAGE_ARCHIVED, PACKAGE_EXPIRED,
                                          0, 5000, 5001, &updated),
               STORE_ONE, "portals: one package unarchived");
        is_int(updated, 1, "portals: only the one named");
        store_package_get(s, pk[1].id, a, &pk[1]);
        store_package_get(s, pk[0].id, a, &pk[0]);
        ok(pk[1].state == PACKAGE_EXPIRED && pk[1].updated_at == 5001 &&
               pk[0].state == PACKAGE_ARCHIVED,
           "portals: it is expired again, the other still archived");
        store_portal_packages_move(s, p[2].id, pk[1].id, PACKAGE_EXPIRED, PACKAGE_ARCHIVED, 0, 5000,
                                   5002, &updated);
        is_int(updated, 0, "portals: a package of another portal is not moved through this one");
    }
}

static bool pg_admin(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    bool good =
        r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);

    if (!good)
        printf("# %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return good;
}

/* @url with its database name replaced by @db, in a new string. */
static char *with_database(const char *url, const char *db)
{
    const char *host = strstr(url, "://");
    const char *path = host ? strchr(host + 3, '/') : NULL;
    const char *query = strchr(url, '?');
    size_t head;

    if (!host)
        return NULL;
    if (query && path && path > query)
        path = NULL;
    head = path ? (size_t)(path - url) : query ? (size_t)(query - url) : strlen(url);
    return xasprintf("%.*s/%s%s", (int)head, url, db, query ? query : "");
}

/* Cuts the connections of every session of the database @db but the admin's own. */
static bool pg_drop_sessions(const char *admin_url, const char *db)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND "
             "pid <> pg_backend_pid()",
             db);
    return pg_admin(admin_url, sql);
}

static const char *admin_url;
static char test_db[64];

/* A transaction whose connection is cut in its middle. */
static enum store_rc cut_txn(struct store *s, void *vctx)
{
    struct ctx *c = vctx;
    enum store_rc rc = store_team_count(s, &c->count);

    if (rc < 0 || !pg_drop_sessions(admin_url, test_db))
        return STORE_HARD;
    c->calls++;
    return store_team_count(s, &c->count);
}

/* A lost connection fails the transaction in flight and comes back at the next one. */
/* ---- background jobs ---- */

static struct job new_job(const char *kind, const char *dedupe, int64_t run_after)
{
    struct job j = { .kind = (char *)kind,
                     .payload = (char *)"{\"n\":1}",
                     .dedupe = (char *)dedupe,
                     .run_after = run_after,
                     .max_attempts = 3,
                     .created_at = run_after };

    id_new(j.id);
    return j;
}

struct claimer {
    long index;
    int claimed;
    int failures;
    char **ids; /* the ids this one claimed */
};

#define CLAIM_JOBS 40

/* One worker of a process of its own: its own connection, claiming until nothing is left. */
static void *claim_all(void *arg)
{
    struct claimer *c = arg;
    struct store *s = open_store();
    struct arena a;
    char owner[32];

    if (!s) {
        c->failures++;
        return NULL;
    }
    arena_init(&a);
    snprintf(owner, sizeof(owner), "worker-%ld", c->index);
    for (;;) {
        struct job j;
        enum store_rc rc = store_job_claim(s, owner, 5000, 60000, &a, &j);

        if (rc == STORE_RETRY)
            continue;
        if (rc == STORE_NONE)
            break;
        if (rc != STORE_ONE) {
            c->failures++;
            break;
        }
        c->ids[c->claimed++] = xstrdup(j.id);
        if (store_job_finish(s, j.id, owner, JOB_DONE, j.run_after, NULL, 5001) != STORE_ONE)
            c->failures++;
    }
    arena_release(&a);
    store_close(s);
    return NULL;
}

static void jobs(struct store *s, struct arena *a)
{
    struct job j1 = new_job("test.first", NULL, 1000), j2 = new_job("test.second", "k", 2000);
    struct job dup = new_job("test.second", "k", 500), later = new_job("test.later", NULL, 9000);
    struct job got, *list;
    size_t n;

    is_int(store_job_insert(s, &j1), STORE_ONE, "job inserted");
    is_int(store_job_insert(s, &j2), STORE_ONE, "a job with a dedupe key");
    is_int(store_job_insert(s, &dup), STORE_NONE, "the same kind and key again: not added");
    is_int(store_job_insert(s, &later), STORE_ONE, "a job for later");
    is_int(store_job_claim(s, "w1", 999, 1000, a, &got), STORE_NONE,
           "nothing to claim before its run_after");
    is_int(store_job_claim(s, "w1", 3000, 1000, a, &got), STORE_ONE, "claim at 3000");
    ok(strcmp(got.id, j1.id) == 0 && got.attempts == 1 && strcmp(got.lease_owner, "w1") == 0 &&
           got.lease_until == 4000 && strcmp(got.payload, "{\"n\":1}") == 0 &&
           got.state == JOB_QUEUED,
       "the earliest, leased to w1 until 4000, attempt 1, its payload");
    is_int(store_job_claim(s, "w2", 3000, 1000, a, &got), STORE_ONE, "a second claim");
    is_str(got.id, j2.id, "... takes the next job, not the leased one");
    is_int(store_job_claim(s, "w3", 3500, 1000, a, &got), STORE_NONE,
           "both leased, the third not due: nothing");
    is_int(store_job_finish(s, j1.id, "w2", JOB_DONE, 0, NULL, 3600), STORE_NONE,
           "a worker that does not hold the lease cannot finish the job");
    is_int(store_job_finish(s, j1.id, "w1", JOB_QUEUED, 6000, "boom", 3600), STORE_ONE,
           "w1 fails it: queued again for 6000");
    is_int(store_job_get(s, j1.id, a, &got), STORE_ONE, "read back");
    ok(got.state == JOB_QUEUED && got.run_after == 6000 && got.lease_owner == NULL &&
           got.lease_until == TIME_UNSET && strcmp(got.last_error, "boom") == 0,
       "queued, lease ended, the error kept");
    /* w2 dies: its lease runs out at 4000 and the job goes to someone else */
    is_int(store_job_claim(s, "w3", 4001, 1000, a, &got), STORE_ONE,
           "a lease that ran out is claimed again");
    ok(strcmp(got.id, j2.id) == 0 && got.attempts == 2 && strcmp(got.lease_owner, "w3") == 0,
       "... by w3, attempt 2");
    is_int(store_job_finish(s, j2.id, "w2", JOB_DONE, 0, NULL, 4002), STORE_NONE,
           "the dead worker's late finish is refused");
    is_int(store_job_finish(s, j2.id, "w3", JOB_DONE, 0, NULL, 4002), STORE_ONE, "w3 finishes it");
    is_int(store_job_insert(s, &dup), STORE_ONE,
           "with the keyed job done, the same key may be queued again");
    is_int(store_job_claim(s, "w1", 6000, 1000, a, &got), STORE_ONE, "claim at 6000");
    ok(strcmp(got.id, dup.id) == 0, "the re-queued key, due at 500, comes first");
    is_int(store_job_finish(s, dup.id, "w1", JOB_DONE, 0, NULL, 6001), STORE_ONE, "done");
    is_int(store_job_claim(s, "w1", 6000, 1000, a, &got), STORE_ONE, "claim again");
    ok(strcmp(got.id, j1.id) == 0 && got.attempts == 2, "the retried job, attempt 2");
    is_int(store_job_finish(s, j1.id, "w1", JOB_FAILED, 0, "gave up", 6002), STORE_ONE,
           "failed for good");
    is_int(store_jobs_list(s, JOB_FAILED, 10, a, &list, &n), STORE_ONE, "failed jobs");
    ok(n == 1 && strcmp(list[0].id, j1.id) == 0 && strcmp(list[0].last_error, "gave up") == 0,
       "... the one, with its error");
    is_int(store_jobs_list(s, JOB_DONE, 10, a, &list, &n), STORE_ONE, "done jobs");
    ok(n == 2 && strcmp(list[0].id, dup.id) == 0, "two, the latest first");
    is_int(store_job_claim(s, "w1", 8999, 1000, a, &got), STORE_NONE, "the later one is not due");
    is_int(store_job_claim(s, "w1", 9000, 1000, a, &got), STORE_ONE, "then it is");
    is_int(store_job_finish(s, later.id, "w1", JOB_DONE, 0, NULL, 9001), STORE_ONE, "done");

    /* Many workers, each with a connection of its own, empty a queue: each job once. */
    {
        enum { WORKERS = 4 };
        pthread_t th[WORKERS];
        struct claimer cl[WORKERS];
        int total = 0, failures = 0, twice = 0;

        for (int i = 0; i < CLAIM_JOBS; i++) {
            struct job j = new_job("test.many", NULL, 100 + i);

            if (store_job_insert(s, &j) != STORE_ONE)
                failures++;
        }
        for (long i = 0; i < WORKERS; i++) {
            cl[i] = (struct claimer){ .index = i, .ids = xcalloc(CLAIM_JOBS, sizeof(char *)) };
            pthread_create(&th[i], NULL, claim_all, &cl[i]);
        }
        for (int i = 0; i < WORKERS; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < WORKERS; i++) {
            total += cl[i].claimed;
            failures += cl[i].failures;
            for (int k = 0; k < cl[i].claimed; k++)
                for (int o = 0; o < WORKERS; o++)
                    for (int m = 0; m < cl[o].claimed; m++)
                        if ((o != i || m != k) && strcmp(cl[i].ids[k], cl[o].ids[m]) == 0)
                            twice++;
        }
        is_int(failures, 0, "%d workers claiming at once: no failure", WORKERS);
        is_int(total, CLAIM_JOBS, "every job claimed");
        is_int(twice, 0, "none claimed twice");
        for (int i = 0; i < WORKERS; i++) {
            for (int k = 0; k < cl[i].claimed; k++)
                free(cl[i].ids[k]);
            free(cl[i].ids);
        }
    }
}

static void reconnects(struct store *s)
{
    struct ctx c = { 0 };

    ok(pg_drop_sessions(admin_url, test_db), "postgresql: every session of the database cut");
    is_int(store_run(s, "t", STORE_READ, team_count_txn, &c), STORE_ONE,
           "postgresql: a connection found lost at the start is made again");
    is_int(store_run(s, "t", STORE_WRITE, cut_txn, &c), STORE_HARD,
           "postgresql: a connection lost in a transaction fails it");
    is_int(c.calls, 1, "postgresql: once, not rerun");
    is_int(store_run(s, "t", STORE_READ, team_count_txn, &c), STORE_ONE,
           "postgresql: the next transaction reconnects");
    ok(c.count > 0, "postgresql: and reads");
    ok(store_hold_read(s), "postgresql: a held read after a reconnection");
    store_unhold(s);
}

/* Webhooks: a team's list, changes, and the attempts of each, latest first and kept few. */
static void webhooks(struct store *s, struct arena *a)
{
    struct team t = { .name = (char *)"Hooks", .created_at = 1, .updated_at = 1 };
    struct team t2 = { .name = (char *)"Other hooks", .created_at = 1, .updated_at = 1 };
    struct webhook w[3], got, *list;
    struct webhook_attempt at, *tries;
    size_t n = 0;

    id_new(t.id);
    id_new(t2.id);
    ok(store_team_insert(s, &t) == STORE_ONE && store_team_insert(s, &t2) == STORE_ONE,
       "webhooks: two teams");
    for (int i = 0; i < 3; i++) {
        w[i] = (struct webhook){ .name = (char *)(i == 0   ? "first"
                                                  : i == 1 ? "second"
                                                           : "theirs"),
                                 .url = (char *)"https://hooks.example.org/in?x=1",
                                 .method = (char *)(i == 1 ? "PUT" : "POST"),
                                 .events = (char *)"[\"package.created\",\"package.expired\"]",
                                 .headers = (char *)"{\"X-Team\":\"a b\"}",
                                 .body_extras = (char *)"{\"source\":{\"n\":1}}",
                                 .active = i != 1,
                                 .created_at = 10 + i,
                                 .updated_at = 10 + i };
        id_new(w[i].id);
        memcpy(w[i].team_id, i == 2 ? t2.id : t.id, ID_LEN + 1);
        is_int(store_webhook_insert(s, &w[i]), STORE_ONE, "webhook %d inserted", i);
    }
    is_int(store_webhook_insert(s, &w[0]), STORE_NONE, "the same id again is STORE_NONE");
    is_int(store_webhook_get(s, w[1].id, a, &got), STORE_ONE, "webhook read");
    ok(strcmp(got.team_id, t.id) == 0 && strcmp(got.name, "second") == 0 &&
           strcmp(got.url, w[1].url) == 0 && strcmp(got.method, "PUT") == 0 &&
           strcmp(got.events, w[1].events) == 0 && strcmp(got.headers, w[1].headers) == 0 &&
           strcmp(got.body_extras, w[1].body_extras) == 0 && !got.active && got.created_at == 11 &&
           got.updated_at == 11,
       "every field round trips");
    {
        struct webhook bare = { .url = (char *)"http://127.0.0.1:9/",
                                .method = (char *)"POST",
                                .created_at = 20,
                                .updated_at = 20 };

        id_new(bare.id);
        memcpy(bare.team_id, t2.id, ID_LEN + 1);
        ok(store_webhook_insert(s, &bare) == STORE_ONE &&
               store_webhook_get(s, bare.id, a, &got) == STORE_ONE &&
               strcmp(got.events, "[]") == 0 && strcmp(got.headers, "{}") == 0 &&
               strcmp(got.body_extras, "{}") == 0 && strcmp(got.name, "") == 0,
           "absent lists are stored empty");
        is_int(store_webhook_delete(s, bare.id), STORE_ONE, "and deleted");
    }
    is_int(store_webhooks_list(s, t.id, a, &list, &n), STORE_ONE, "a team's webhooks");
    ok(n == 2 && strcmp(list[0].id, w[0].id) == 0 && strcmp(list[1].id, w[1].id) == 0,
       "its two, oldest first, not the other team's (%zu)", n);

    got = w[1];
    got.name = (char *)"renamed";
    got.url = (char *)"http://[::1]:8080/x";
    got.method = (char *)"POST";
    got.events = (char *)"[\"package.downloaded\"]";
    got.headers = (char *)"{}";
    got.body_extras = (char *)"{\"k\":[1,2]}";
    got.active = true;
    got.updated_at = 99;
    is_int(store_webhook_update(s, &got), STORE_ONE, "webhook updated");
    is_int(store_webhook_get(s, w[1].id, a, &got), STORE_ONE, "read back");
    ok(strcmp(got.name, "renamed") == 0 && strcmp(got.url, "http://[::1]:8080/x") == 0 &&
           strcmp(got.method, "POST") == 0 && strcmp(got.events, "[\"package.downloaded\"]") == 0 &&
           strcmp(got.headers, "{}") == 0 && strcmp(got.body_extras, "{\"k\":[1,2]}") == 0 &&
           got.active && got.updated_at == 99 && got.created_at == 11 &&
           strcmp(got.team_id, t.id) == 0,
       "the changes persisted; team and creation kept");

    at = (struct webhook_attempt){ .event = (char *)"package.created", .error = (char *)"" };
    id_new(at.delivery_id);
    id_new(at.package_id);
    memcpy(at.webhook_id, w[0].id, ID_LEN + 1);
    for (int i = 1; i <= 5; i++) {
        id_new(at.id);
        at.attempt = i;
        at.status = i < 5 ? 500 : 204;
        at.error = (char *)(i < 5 ? "the receiver answered 500" : "");
        at.duration_ms = 10 * i;
        at.at = 1000 + i;
        if (store_webhook_attempt_insert(s, &at, 3) != STORE_ONE)
            ok(0, "attempt %d recorded", i);
    }
    memcpy(at.webhook_id, w[2].id, ID_LEN + 1);
    id_new(at.id);
    at.at = 5000;
    is_int(store_webhook_attempt_insert(s, &at, 3), STORE_ONE, "another webhook's attempt");
    is_int(store_webhook_attempts_list(s, w[0].id, 10, a, &tries, &n), STORE_ONE,
           "the attempts of a webhook");
    ok(n == 3 && tries[0].attempt == 5 && tries[1].attempt == 4 && tries[2].attempt == 3,
       "the latest three only, latest first (%zu)", n);
    ok(n >= 2 && tries[0].status == 204 && strcmp(tries[0].error, "") == 0 &&
           tries[1].status == 500 && strcmp(tries[1].error, "the receiver answered 500") == 0 &&
           tries[0].duration_ms == 50 && tries[0].at == 1005 &&
           strcmp(tries[0].event, "package.created") == 0 &&
           strcmp(tries[0].delivery_id, at.delivery_id) == 0 &&
           strcmp(tries[0].package_id, at.package_id) == 0 &&
           strcmp(tries[0].webhook_id, w[0].id) == 0,
       "every field of an attempt round trips");
    is_int(store_webhook_attempts_list(s, w[0].id, 2, a, &tries, &n), STORE_ONE, "a capped list");
    ok(n == 2 && tries[0].attempt == 5, "as many as asked (%zu)", n);

    is_int(store_webhook_delete(s, w[0].id), STORE_ONE, "webhook deleted");
    is_int(store_webhook_get(s, w[0].id, a, &got), STORE_NONE, "it is gone");
    is_int(store_webhook_attempts_list(s, w[0].id, 10, a, &tries, &n), STORE_NONE,
           "and its attempts with it");
    is_int(store_webhook_delete(s, w[0].id), STORE_NONE, "deleting it again: STORE_NONE");
    is_int(store_webhook_update(s, &w[0]), STORE_NONE, "updating it: STORE_NONE");
    memcpy(at.webhook_id, w[0].id, ID_LEN + 1);
    id_new(at.id);
    is_int(store_webhook_attempt_insert(s, &at, 3), STORE_NONE,
           "an attempt that ends after its webhook is deleted is not recorded");
    is_int(store_webhook_attempts_list(s, w[0].id, 10, a, &tries, &n), STORE_NONE,
           "nothing of it is left");
    is_int(store_webhooks_list(s, t.id, a, &list, &n), STORE_ONE, "the team's list");
    ok(n == 1 && strcmp(list[0].id, w[1].id) == 0, "has the other one only");
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/consign-store-XXXXXX";
    struct arena a;
    struct store *s, *s2;
    struct user u, got;
    struct team t, tgot;
    struct membership m, m2, mgot, *list;
    struct api_key k, kgot, *keys;
    struct teamspace ts, *spaces;
    struct ctx c = { 0 };
    char *ids[1];
    size_t n;
    int64_t count = 0, total = 0, reset = 0;
    pthread_t th[THREADS];
    long failures = 0;

    arena_init(&a);
    cfg.database_url = getenv("CONSIGN_TEST_DATABASE");
    if (cfg.database_url && !cfg.database_url[0])
        cfg.database_url = NULL;
    if (argc > 1 && strcmp(argv[1], "postgresql") == 0 &&
        (!cfg.database_url || strncmp(cfg.database_url, "postgres", 8) != 0)) {
        printf("Bail out! CONSIGN_TEST_DATABASE must name a PostgreSQL database "
               "(tests/run.sh starts one with scripts/pg.sh)\n");
        return 1;
    }
    if (cfg.database_url) {
        char id[ID_LEN + 1], sql[128];

        id_new(id);
        for (char *p = id; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        snprintf(test_db, sizeof(test_db), "consign_contract_%s", id);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", test_db);
        admin_url = cfg.database_url;
        cfg.database_url = with_database(admin_url, test_db);
        if (!cfg.database_url || !pg_admin(admin_url, sql)) {
            printf("Bail out! cannot create a database on the server of CONSIGN_TEST_DATABASE\n");
            return 1;
        }
    }
    if (!mkdtemp(dir))
        return 99;
    cfg.data_dir = dir;
    s = open_store();
    if (!s)
        return 99;
    printf("# backend %s\n", store_backend_name(s));
    ok(strcmp(store_backend_name(s), admin_url ? "postgresql" : "sqlite") == 0,
       "the backend the URL names (%s)", store_backend_name(s));
    {
        char why[256];
        struct store_cfg other = { .data_dir = dir, .database_url = "mysql://localhost/x" };

        ok(!store_open(&other, why, sizeof(why)) && strstr(why, "postgres://"),
           "an unknown kind of database URL is refused: %s", why);
    }
    ok(store_schema_version(s) >= 1, "schema migrated (version %d)", store_schema_version(s));
    s2 = open_store();
    ok(s2 && store_schema_version(s2) == store_schema_version(s),
       "a second open finds it migrated");
    store_close(s2);

    c.calls = 0;
    is_int(store_run(s, "t", STORE_WRITE, flaky_txn, &c), STORE_ONE, "retry then success");
    is_int(c.calls, 3, "the body ran until it succeeded");
    c.calls = 0;
    is_int(store_run(s, "t", STORE_READ, busy_txn, &c), STORE_RETRY, "always busy gives up");
    ok(c.calls > 3, "after several attempts (%d)", c.calls);

    u = new_user("ann@example.org");
    c.u = &u;
    is_int(run(s, insert_user_txn, &c), STORE_ONE, "user inserted");
    {
        struct user dup = new_user("ann@example.org");

        c.u = &dup;
        is_int(run(s, insert_user_txn, &c), STORE_NONE, "same email again is STORE_NONE");
    }
    is_int(store_user_by_email(s, "ann@example.org", &a, &got), STORE_ONE, "user by email");
    is_str(got.id, u.id, "same id");
    is_str(got.password_hash, "h", "hash kept");
    is_int(store_user_get(s, u.id, &a, &got), STORE_ONE, "user by id");
    is_int(store_user_by_email(s, "bob@example.org", &a, &got), STORE_NONE, "unknown email");

    t = (struct team){ .name = (char *)"Team", .created_at = 5, .updated_at = 5 };
    id_new(t.id);
    c.t = &t;
    is_int(run(s, insert_team_txn, &c), STORE_ONE, "team inserted");
    is_int(store_team_get(s, t.id, &a, &tgot), STORE_ONE, "team read");
    is_str(tgot.name, "Team", "team name");
    is_int(store_team_count(s, &count), STORE_ONE, "team count");
    is_int(count, 1, "one team");

    /* A held read: the reads that follow share its snapshot; a write ends it. */
    ok(store_hold_read(s), "read held");
    is_int(store_run(s, "t", STORE_READ, team_count_txn, &c), STORE_ONE, "read joins it");
    is_int(c.count, 1, "one team in the snapshot");
    s2 = open_store();
    {
        struct team other = { .name = (char *)"Other", .created_at = 5, .updated_at = 5 };

        id_new(other.id);
        c.t = &other;
        is_int(run(s2, insert_team_txn, &c), STORE_ONE, "another connection adds a team");
        is_int(store_run(s, "t", STORE_READ, team_count_txn, &c), STORE_ONE, "read again");
        is_int(c.count, 1, "the held snapshot does not see it");
        id_new(other.id);
        other.name = (char *)"Third";
        is_int(run(s, insert_team_txn, &c), STORE_ONE, "a write on the holding connection");
        is_int(store_run(s, "t", STORE_READ, team_count_txn, &c), STORE_ONE, "read after it");
        is_int(c.count, 3, "the write ended the snapshot: both new teams seen");
    }
    store_unhold(s);
    store_close(s2);

    m = (struct membership){ .role = ROLE_ADMIN, .created_at = 6, .updated_at = 6 };
    id_new(m.id);
    memcpy(m.team_id, t.id, sizeof(m.team_id));
    memcpy(m.user_id, u.id, sizeof(m.user_id));
    c.m = &m;
    is_int(run(s, insert_member_txn, &c), STORE_ONE, "membership inserted");
    m2 = m;
    id_new(m2.id);
    c.m = &m2;
    is_int(run(s, insert_member_txn, &c), STORE_NONE,
           "second membership of the same user is STORE_NONE");
    is_int(store_membership_get(s, t.id, u.id, &a, &mgot), STORE_ONE, "membership read");
    ok(mgot.role == ROLE_ADMIN && strcmp(mgot.email, "ann@example.org") == 0 &&
           strcmp(mgot.team_name, "Team") == 0,
       "membership with role, email and team name");
    is_int(store_membership_get(s, t.id, "01M8166BWWZP2J6X829RJMGMBZ", &a, &mgot), STORE_NONE,
           "no membership of a stranger");

    k = (struct api_key){ .name = (char *)"ci",
                          .description = (char *)"d",
                          .expiry = TIME_UNSET,
                          .state = API_KEY_ACTIVE,
                          .created_at = 7,
                          .updated_at = 7 };
    id_new(k.id);
    memcpy(k.team_id, t.id, sizeof(k.team_id));
    memcpy(k.user_id, u.id, sizeof(k.user_id));
    memcpy(k.membership_id, m.id, sizeof(k.membership_id));
    memset(k.secret_hash, 0xab, sizeof(k.secret_hash));
    c.k = &k;
    is_int(run(s, insert_key_txn, &c), STORE_ONE, "key inserted");
    is_int(store_api_key_get(s, k.id, &a, &kgot), STORE_ONE, "key read");
    ok(memcmp(kgot.secret_hash, k.secret_hash, sizeof(k.secret_hash)) == 0, "hash round trip");
    ok(kgot.expiry == TIME_UNSET && kgot.state == API_KEY_ACTIVE, "expiry unset, active");
    kgot.state = API_KEY_INACTIVE;
    kgot.expiry = 123456;
    kgot.name = (char *)"renamed";
    is_int(store_api_key_update(s, &kgot), STORE_ONE, "key updated");
    is_int(store_api_keys_list(s, t.id, &a, &keys, &n), STORE_ONE, "keys listed");
    ok(n == 1 && keys[0].state == API_KEY_INACTIVE && keys[0].expiry == 123456 &&
           strcmp(keys[0].name, "renamed") == 0,
       "update persisted");
    is_int(store_api_key_delete(s, k.id), STORE_ONE, "key deleted");
    is_int(store_api_key_get(s, k.id, &a, &kgot), STORE_NONE, "deleted key is gone");

    for (int i = 0; i < 7; i++) {
        char name[16];

        snprintf(name, sizeof(name), "space %d", i);
        ts = (struct teamspace){ .name = arena_strdup(&a, name), .created_at = 8, .updated_at = 8 };
        id_new(ts.id);
        memcpy(ts.team_id, t.id, sizeof(ts.team_id));
        ids[0] = m.id;
        ts.member_ids = ids;
        ts.nmembers = i % 2 == 0 ? 1 : 0;
        c.ts = &ts;
        if (run(s, insert_space_txn, &c) != STORE_ONE)
            ok(0, "teamspace %d inserted", i);
    }
    is_int(
        store_teamspaces_list(s, t.id, NULL, (struct store_page){ 1, 5 }, &a, &spaces, &n, &total),
        STORE_ONE, "teamspaces page 1");
    ok(n == 5 && total == 7 && strcmp(spaces[0].name, "space 0") == 0 && spaces[0].nmembers == 1,
       "five of seven, by name, with members");
    is_int(
        store_teamspaces_list(s, t.id, NULL, (struct store_page){ 2, 5 }, &a, &spaces, &n, &total),
        STORE_ONE, "teamspaces page 2");
    ok(n == 2 && strcmp(spaces[1].name, "space 6") == 0, "the last two");
    is_int(
        store_teamspaces_list(s, t.id, m.id, (struct store_page){ 1, 50 }, &a, &spaces, &n, &total),
        STORE_ONE, "teamspaces of one membership");
    ok(n == 4 && total == 4, "only those it is in");
    is_int(
        store_teamspaces_list(s, t.id, NULL, (struct store_page){ 3, 5 }, &a, &spaces, &n, &total),
        STORE_NONE, "past the last page");
    is_int(store_members_list(s, t.id, &a, &list, &n), STORE_ONE, "members listed");
    ok(n == 1 && list[0].nteamspaces == 4, "member with its four teamspaces");
    is_int(store_memberships_of_user(s, u.id, &a, &list, &n), STORE_ONE, "memberships of a user");
    ok(n == 1 && strcmp(list[0].team_name, "Team") == 0, "with the team name");

    c.total = 10000;
    is_int(run(s, hit_txn, &c), STORE_ONE, "first event");
    is_int(c.count, 1, "counted once");
    run(s, hit_txn, &c);
    c.total = 10999;
    run(s, hit_txn, &c);
    is_int(c.count, 3, "three in the window");
    is_int(c.reset, 11000, "window ends a window after its first event");
    is_int(store_ratelimit_peek(s, "k", 10999, 1000, &count, &reset), STORE_ONE, "peek");
    is_int(count, 3, "peek does not count");
    c.total = 11000;
    run(s, hit_txn, &c);
    is_int(c.count, 1, "a new window starts over");
    is_int(store_ratelimit_prune(s, 10000), STORE_ONE, "prune before the window");
    store_ratelimit_peek(s, "k", 11001, 1000, &count, &reset);
    is_int(count, 1, "a current window survives pruning");
    is_int(store_ratelimit_prune(s, 11001), STORE_ONE, "prune after it");
    store_ratelimit_peek(s, "k", 11001, 1000, &count, &reset);
    is_int(count, 0, "a pruned window is gone");
    c.total = 11000;
    run(s, hit_txn, &c);
    is_int(store_ratelimit_clear(s, "k"), STORE_ONE, "clear");
    store_ratelimit_peek(s, "k", 11001, 1000, &count, &reset);
    is_int(count, 0, "cleared");

    files_and_links(s, &a, t.id, u.id);
    jobs(s, &a);
    created_ranges(s, &a, t.id, u.id);
    lists(s, &a, u.id);
    portals(s, &a);
    webhooks(s, &a);
    if (admin_url)
        reconnects(s);

    {
        struct team busy = { .name = (char *)"Busy", .created_at = 1, .updated_at = 1 };

        id_new(busy.id);
        memcpy(busy_team, busy.id, sizeof(busy_team));
        is_int(store_team_insert(s, &busy), STORE_ONE, "a team for concurrent packages");
    }
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, writer, (void *)i);
    for (int i = 0; i < THREADS; i++) {
        void *r;

        pthread_join(th[i], &r);
        failures += (long)(intptr_t)r;
    }
    is_int(failures, 0, "%d threads writing at once all succeed", THREADS);
    {
        struct package_query q = { .team_id = busy_team,
                                   .scope = { .all = true },
                                   .states = PACKAGE_STATE_BIT(PACKAGE_NEW),
                                   .sender = "busy@example.org",
                                   .created_start = TIME_UNSET,
                                   .created_end = TIME_UNSET,
                                   .page = { .page = 1, .limit = 1 } };
        struct package *out;

        total = -1;
        ok(store_packages_list(s, &q, &a, &out, &n, &total) == STORE_ONE &&
               total == THREADS * PER_THREAD,
           "their packages are all counted (%lld)", (long long)total);
        q.sender = NULL;
        total = -1;
        ok(store_packages_list(s, &q, &a, &out, &n, &total) == STORE_ONE &&
               total == THREADS * PER_THREAD,
           "by state too (%lld)", (long long)total);
    }
    store_close(s);
    arena_release(&a);
    if (admin_url) {
        char sql[128];

        snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", test_db);
        ok(pg_admin(admin_url, sql), "postgresql: the run's database dropped");
        free((char *)cfg.database_url);
    }
    {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", dir);
    }
    return done_testing();
}
