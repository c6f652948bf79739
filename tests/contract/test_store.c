/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The store contract: every backend must pass this file. It runs against the backend that
 * CONSIGN_TEST_DATABASE names (empty: SQLite in a fresh temporary directory).
 */
#include "core/compat.h"

#include <pthread.h>
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

/* Several threads, each with its own connection, insert users at once: all must land. */
#define THREADS 4
#define PER_THREAD 25

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
    store_close(s);
    return (void *)(intptr_t)(s ? failures : PER_THREAD);
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

int main(void)
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
    if (!mkdtemp(dir))
        return 99;
    cfg.data_dir = dir;
    s = open_store();
    if (!s)
        return 99;
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
    created_ranges(s, &a, t.id, u.id);

    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, writer, (void *)i);
    for (int i = 0; i < THREADS; i++) {
        void *r;

        pthread_join(th[i], &r);
        failures += (long)(intptr_t)r;
    }
    is_int(failures, 0, "%d threads writing at once all succeed", THREADS);
    store_close(s);
    arena_release(&a);
    {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", dir);
    }
    return done_testing();
}
