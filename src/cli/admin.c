/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * consign admin: operator commands that work on the database directly, also while a server
 * runs on the same data directory. Their output is one JSON object on stdout, for scripts.
 */
#include "core/compat.h"
#include "cli/cli.h"

#include <getopt.h>
#include <jansson.h>

#include "auth/auth.h"
#include "core/err.h"
#include "core/clock.h"
#include "store/store.h"

static const char admin_usage[] =
    "usage: consign admin create-team [--data DIR | --database URL] --name NAME --email EMAIL\n"
    "                                 --password PASS\n"
    "       consign admin add-member [--data DIR | --database URL] --team TEAM_ID --email EMAIL\n"
    "                                --password PASS --role ROLE\n"
    "       consign admin usage [--data DIR | --database URL]\n"
    "       consign admin jobs [--data DIR | --database URL] [--state failed|queued|done]\n"
    "\n"
    "create-team  creates a team with EMAIL as its owner and an API key for the owner; prints\n"
    "             {\"team_id\", \"user_id\", \"membership_id\", \"api_key\"}\n"
    "add-member   adds EMAIL to the team with ROLE (owner, admin, member, guest or\n"
    "             integration_manager) and an API key; an existing user joins as the same user\n"
    "             and keeps its password; prints {\"user_id\", \"membership_id\", \"api_key\"}\n"
    "usage        what each team stores: packages and bytes per state; prints {\"bytes\",\n"
    "             \"teams\": [{\"team_id\", \"name\", \"bytes\", \"states\": {STATE: {\"packages\",\n"
    "             \"bytes\"}}}]} (bytes of files kept; an object store's unfinished parts are not\n"
    "             counted)\n"
    "jobs         the background jobs in a state (failed by default), the latest changed first,\n"
    "             at most 1000: {\"jobs\": [{\"id\", \"kind\", \"state\", \"attempts\",\n"
    "             \"max_attempts\", \"run_after\", \"updated_at\", \"last_error\", \"payload\"}]}\n"
    "\n"
    "--data defaults to CONSIGN_DATA, then ./var (its SQLite database). --database URL\n"
    "(postgres://USER:PASSWORD@HOST:PORT/NAME, default CONSIGN_DATABASE) works on the\n"
    "PostgreSQL database of servers started with the same --database instead.\n"
    "Exit status: 0 done, 1 refused or failed, 2 wrong invocation.\n";

struct admin_args {
    const char *data, *database, *name, *email, *password, *team, *role, *state;
};

static int parse(int argc, char **argv, struct admin_args *a)
{
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'd' },     { "database", required_argument, NULL, 'D' },
        { "name", required_argument, NULL, 'n' },     { "email", required_argument, NULL, 'e' },
        { "password", required_argument, NULL, 'p' }, { "team", required_argument, NULL, 't' },
        { "role", required_argument, NULL, 'r' },     { "state", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
    };
    int c;

    a->data = cli_env("CONSIGN_DATA", "./var");
    a->database = cli_env("CONSIGN_DATABASE", NULL);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->data = optarg;
            break;
        case 'D':
            a->database = optarg;
            break;
        case 'n':
            a->name = optarg;
            break;
        case 'e':
            a->email = optarg;
            break;
        case 'p':
            a->password = optarg;
            break;
        case 't':
            a->team = optarg;
            break;
        case 'r':
            a->role = optarg;
            break;
        case 's':
            a->state = optarg;
            break;
        case 'h':
            fputs(admin_usage, stdout);
            return 0;
        default:
            return cli_usage_error(admin_usage, "unknown or incomplete option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(admin_usage, "unexpected argument '%s'", argv[optind]);
    return -1;
}

static void print_json(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);

    puts(text);
    free(text);
    json_decref(j);
}

static enum store_rc usage_txn(struct store *s, void *vctx)
{
    void **c = vctx;

    return store_usage_list(s, c[0], c[1], c[2]);
}

/* consign admin usage: what each team stores, per state. */
static int usage(const struct admin_args *a)
{
    struct store *s;
    struct arena ar;
    struct usage_row *rows;
    size_t n = 0;
    void *ctx[] = { &ar, &rows, &n };
    json_t *teams = json_array(), *team = NULL;
    int64_t total = 0, team_bytes = 0;
    char why[512];

    s = store_open(&(struct store_cfg){ .data_dir = a->data, .database_url = a->database }, why,
                   sizeof(why));
    if (!s) {
        fprintf(stderr, "consign: cannot open the database: %s\n", why);
        json_decref(teams);
        return 1;
    }
    arena_init(&ar);
    if (store_run(s, "admin.usage", STORE_READ, usage_txn, ctx) < 0) {
        fprintf(stderr, "consign: usage: the database failed\n");
        arena_release(&ar);
        store_close(s);
        json_decref(teams);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct usage_row *u = &rows[i];

        if (!team || strcmp(json_string_value(json_object_get(team, "team_id")), u->team_id)) {
            team = json_pack("{s:s, s:s, s:I, s:{}}", "team_id", u->team_id, "name",
                             u->team_name ? u->team_name : "", "bytes", (json_int_t)0, "states");
            json_array_append_new(teams, team);
            team_bytes = 0;
        }
        json_object_set_new(json_object_get(team, "states"), package_state_name(u->state),
                            json_pack("{s:I, s:I}", "packages", (json_int_t)u->packages, "bytes",
                                      (json_int_t)u->bytes));
        team_bytes += u->bytes;
        total += u->bytes;
        json_object_set_new(team, "bytes", json_integer(team_bytes));
    }
    arena_release(&ar);
    store_close(s);
    print_json(json_pack("{s:I, s:o}", "bytes", (json_int_t)total, "teams", teams));
    return 0;
}

struct jobs_ctx {
    enum job_state state;
    struct arena *a;
    struct job *list;
    size_t n;
};

static enum store_rc jobs_txn(struct store *s, void *vctx)
{
    struct jobs_ctx *c = vctx;

    return store_jobs_list(s, c->state, 1000, c->a, &c->list, &c->n);
}

static json_t *time_json(int64_t ms)
{
    char iso[TIME_ISO_LEN];

    if (ms == TIME_UNSET)
        return json_null();
    time_format_iso(ms, iso);
    return json_string(iso);
}

/* consign admin jobs: what the job queue holds in a state; failed jobs stay to be looked at. */
static int jobs(const struct admin_args *a)
{
    struct arena ar;
    struct jobs_ctx c = { .state = job_state_parse(a->state ? a->state : "failed"), .a = &ar };
    json_t *list;
    struct store *s;
    char why[512];

    if (!c.state)
        return cli_usage_error(admin_usage, "--state: '%s' is not failed, queued or done",
                               a->state);
    s = store_open(&(struct store_cfg){ .data_dir = a->data, .database_url = a->database }, why,
                   sizeof(why));
    if (!s) {
        fprintf(stderr, "consign: cannot open the database: %s\n", why);
        return 1;
    }
    arena_init(&ar);
    if (store_run(s, "admin.jobs", STORE_READ, jobs_txn, &c) < 0) {
        fprintf(stderr, "consign: jobs: the database failed\n");
        arena_release(&ar);
        store_close(s);
        return 1;
    }
    list = json_array();
    for (size_t i = 0; i < c.n; i++) {
        const struct job *j = &c.list[i];
        json_t *payload = json_loads(j->payload ? j->payload : "null", JSON_DECODE_ANY, NULL);

        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:s?, s:o}", "id", j->id, "kind",
                      j->kind, "state", job_state_name(j->state), "attempts",
                      (json_int_t)j->attempts, "max_attempts", (json_int_t)j->max_attempts,
                      "run_after", time_json(j->run_after), "updated_at", time_json(j->updated_at),
                      "last_error", j->last_error, "payload", payload ? payload : json_null()));
    }
    arena_release(&ar);
    store_close(s);
    print_json(json_pack("{s:o}", "jobs", list));
    return 0;
}

int cmd_admin(int argc, char **argv)
{
    struct admin_args a = { 0 };
    struct provisioned p;
    struct store *s = NULL;
    const char *sub;
    char why[512];
    enum err e;
    int rc;

    if (argc < 2)
        return cli_usage_error(admin_usage, "admin needs a subcommand");
    sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(admin_usage, stdout);
        return 0;
    }
    if (strcmp(sub, "create-team") != 0 && strcmp(sub, "add-member") != 0 &&
        strcmp(sub, "usage") != 0 && strcmp(sub, "jobs") != 0)
        return cli_usage_error(admin_usage, "'%s' is not an admin subcommand", sub);
    rc = parse(argc - 1, argv + 1, &a);
    if (rc >= 0)
        return rc;
    if (strcmp(sub, "usage") == 0)
        return usage(&a);
    if (strcmp(sub, "jobs") == 0)
        return jobs(&a);
    if (!a.email || !a.password)
        return cli_usage_error(admin_usage, "%s needs --email and --password", sub);
    if (strcmp(sub, "create-team") == 0 && !a.name)
        return cli_usage_error(admin_usage, "create-team needs --name");
    if (strcmp(sub, "add-member") == 0 && (!a.team || !a.role))
        return cli_usage_error(admin_usage, "add-member needs --team and --role");
    if (a.role && !role_parse(a.role))
        return cli_usage_error(admin_usage, "--role: '%s' is not a role", a.role);
    if (!auth_init()) {
        fprintf(stderr, "consign: libsodium cannot be initialised\n");
        return 1;
    }
    s = store_open(&(struct store_cfg){ .data_dir = a.data, .database_url = a.database }, why,
                   sizeof(why));
    if (!s) {
        fprintf(stderr, "consign: cannot open the database: %s\n", why);
        return 1;
    }
    if (strcmp(sub, "create-team") == 0)
        e = auth_provision_team(s, a.name, a.email, str_from(a.password), &p, why, sizeof(why));
    else
        e = auth_provision_member(s, a.team, a.email, str_from(a.password), role_parse(a.role), &p,
                                  why, sizeof(why));
    store_close(s);
    if (e != ERR_OK) {
        fprintf(stderr, "consign: %s: %s\n", sub, why);
        return 1;
    }
    if (strcmp(sub, "create-team") == 0)
        print_json(json_pack("{s:s, s:s, s:s, s:s}", "team_id", p.team_id, "user_id", p.user_id,
                             "membership_id", p.membership_id, "api_key", p.api_key));
    else
        print_json(json_pack("{s:s, s:s, s:s}", "user_id", p.user_id, "membership_id",
                             p.membership_id, "api_key", p.api_key));
    return 0;
}
