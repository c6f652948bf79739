/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * consign serve: configuration (options, each also an environment variable), the signing
 * secret, the first-start team, the server, and an orderly stop on SIGTERM or SIGINT.
 * Signals are blocked in every thread before any is started and taken with sigwait() here, so
 * no worker thread is interrupted and the stop cannot hang.
 */
#include "core/compat.h"
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_COMPONENT "serve"
#include "api/api.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"

static const char serve_usage[] =
    "usage: consign serve [--data DIR] [--database URL] [--storage URL] [--listen HOST:PORT]\n"
    "                     [--public-url URL] [--portal-domain DOMAIN] [--threads N] [--jobs N]\n"
    "                     [--storage-days N]\n"
    "                     [--abandon-days N] [--smtp-url URL] [--smtp-user USER]\n"
    "                     [--smtp-tls] [--mail-from ADDRESS] [--log-level LEVEL]\n"
    "                     [--shutdown-timeout SECONDS]\n"
    "                     [--conn-limit N] [--conn-timeout SECONDS] [--trust-forwarded]\n"
    "\n"
    "Runs the consign HTTP server. Each option can also be set in the environment variable\n"
    "named after it; an option on the command line wins.\n"
    "\n"
    "  --data DIR               data directory: database, secret, files   CONSIGN_DATA (./var)\n"
    "  --database URL           PostgreSQL instead of SQLite in DIR       CONSIGN_DATABASE (unset)\n"
    "                           (postgres://USER:PASSWORD@HOST:PORT/NAME)\n"
    "  --storage URL            where file bytes live: s3://BUCKET?endpoint=URL&region=R, with\n"
    "                           AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY  CONSIGN_STORAGE (DIR)\n"
    "  --listen HOST:PORT       address to listen on                      CONSIGN_LISTEN (127.0.0.1:8080)\n"
    "  --public-url URL         base URL clients reach this server at     CONSIGN_PUBLIC_URL (http://LISTEN)\n"
    "  --portal-domain DOMAIN   also serve each portal's page at          CONSIGN_PORTAL_DOMAIN (unset)\n"
    "                           https://SUBDOMAIN.DOMAIN/ (a wildcard DNS name pointing here);\n"
    "                           always at PUBLIC-URL/portal/SUBDOMAIN\n"
    "  --threads N              worker threads (0: one per core)          CONSIGN_THREADS (0)\n"
    "  --jobs N                 background job workers (0: none here)     CONSIGN_JOBS (2)\n"
    "  --storage-days N         days a finalized package is kept          CONSIGN_STORAGE_DAYS (7)\n"
    "  --abandon-days N         days before an unfinished package goes    CONSIGN_ABANDON_DAYS (14)\n"
    "  --smtp-url URL           send mail through this SMTP server        CONSIGN_SMTP_URL (unset)\n"
    "                           (smtp://HOST:PORT or smtps://HOST:PORT); unset: each message\n"
    "                           is written to DIR/mail/ID.eml instead\n"
    "  --smtp-user USER         SMTP user, with the password in CONSIGN_SMTP_PASSWORD\n"
    "                                                                     CONSIGN_SMTP_USER (unset)\n"
    "  --smtp-tls               smtp:// only with STARTTLS                CONSIGN_SMTP_TLS (0)\n"
    "  --mail-from ADDRESS      the From address of mail                  CONSIGN_MAIL_FROM\n"
    "                                                                     (consign@PUBLIC-URL-HOST)\n"
    "  --log-level LEVEL        error, warn, info or debug                CONSIGN_LOG_LEVEL (info)\n"
    "  --shutdown-timeout S     how long requests in flight may finish    CONSIGN_SHUTDOWN_TIMEOUT (30)\n"
    "  --conn-limit N           open connections at most                  CONSIGN_CONN_LIMIT (1024)\n"
    "  --conn-timeout S         idle seconds before a connection closes   CONSIGN_CONN_TIMEOUT (120)\n"
    "  --trust-forwarded        the client is the last X-Forwarded-For    CONSIGN_TRUST_FORWARDED (0)\n"
    "                           address (only behind a load balancer that every request passes)\n"
    "\n"
    "With --database the metadata lives in that PostgreSQL database (its schema is created or\n"
    "brought up to date on start; several servers may share it); DIR still holds the secret and\n"
    "the files. The URL takes libpq's parameters after '?', such as sslmode=require.\n"
    "\n"
    "The secret that signs tokens is CONSIGN_SECRET (at least 32 characters) when set, else the\n"
    "file DIR/secret, created on first start. On the first start with an empty database a team,\n"
    "its owner and an API key are created and printed once.\n";

struct serve_cfg {
    const char *data;
    const char *storage;
    const char *database;
    const char *listen;
    const char *public_url;
    char portal_domain[256]; /* lowercase, no dots at either end; empty when unset */
    const char *log_level;
    uint64_t threads;
    uint64_t jobs;
    uint64_t storage_days;
    uint64_t abandon_days;
    const char *smtp_url;
    const char *smtp_user;
    bool smtp_tls;
    const char *mail_from;
    uint64_t shutdown_timeout;
    uint64_t conn_limit;
    uint64_t conn_timeout;
    bool trust_forwarded;
};

static bool number(const char *text, uint64_t max, uint64_t *out)
{
    return str_to_u64(str_from(text), max, out);
}

/* Splits "HOST:PORT" or "[V6]:PORT". */
static bool split_listen(const char *listen, char *host, size_t cap, unsigned *port)
{
    const char *colon = strrchr(listen, ':');
    uint64_t p;
    size_t n;

    if (!colon || !number(colon + 1, 65535, &p))
        return false;
    n = (size_t)(colon - listen);
    if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n == 0 || n >= cap)
        return false;
    memcpy(host, listen, n);
    host[n] = '\0';
    *port = (unsigned)p;
    return true;
}

/* Reads DIR/secret, creating it (0600, 32 random bytes as hex) on first start. */
static bool load_secret(const char *dir, uint8_t secret[AUTH_SECRET_LEN])
{
    char *path = xasprintf("%s/secret", dir);
    char hex[2 * AUTH_SECRET_LEN + 2];
    bool ok = false;
    ssize_t n;
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        rand_bytes(secret, AUTH_SECRET_LEN);
        hex_encode(secret, AUTH_SECRET_LEN, hex);
        hex[2 * AUTH_SECRET_LEN] = '\n';
        ok = write(fd, hex, 2 * AUTH_SECRET_LEN + 1) == 2 * AUTH_SECRET_LEN + 1 && fsync(fd) == 0;
        close(fd);
        if (!ok)
            LOG_ERR("cannot write '%s': %s", path, strerror(errno));
        free(path);
        return ok;
    }
    if (errno != EEXIST) {
        LOG_ERR("cannot create '%s': %s", path, strerror(errno));
        free(path);
        return false;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, hex, sizeof(hex)) : -1;
    if (fd >= 0)
        close(fd);
    ok = n >= 2 * AUTH_SECRET_LEN &&
         hex_decode((struct str){ hex, 2 * AUTH_SECRET_LEN }, secret, AUTH_SECRET_LEN);
    if (!ok)
        LOG_ERR(
            "'%s' is not a secret written by consign (64 hex digits); remove it to make a new one "
            "(every token and signed link made so far stops working)",
            path);
    free(path);
    return ok;
}

/* On the first start with an empty database: a team, its owner and a key, printed once. */
static bool bootstrap(struct store *s, const char *public_url)
{
    struct provisioned p;
    uint8_t raw[12];
    char password[25], why[256];
    int64_t teams = 0;
    enum store_rc rc;
    enum err e;

    rc = store_team_count(s, &teams);
    if (rc < 0)
        return false;
    if (teams > 0)
        return true;
    rand_bytes(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), password);
    e = auth_provision_team(s, "My team", "admin@consign.localhost", str_from(password), &p, why,
                            sizeof(why));
    if (e != ERR_OK) {
        LOG_ERR("cannot create the first team: %s", why);
        return false;
    }
    printf("\n"
           "consign: first start with an empty database; created a team and its owner.\n"
           "These are shown once: keep them.\n"
           "\n"
           "  team id    %s\n"
           "  e-mail     admin@consign.localhost\n"
           "  password   %s\n"
           "  API key    %s\n"
           "\n"
           "Try it:\n"
           "  curl -H 'X-API-KEY: %s' %s/v1/teams/%s/members\n"
           "\n",
           p.team_id, password, p.api_key, p.api_key, public_url, p.team_id);
    fflush(stdout);
    return true;
}

/* @text as a portal domain: a DNS name of two labels or more ("upload.example.com", any case,
 * a trailing dot allowed), lowercased into @out; false when it is not one. */
static bool domain_normalize(const char *text, char *out, size_t cap)
{
    size_t n = strlen(text), label = 0, labels = 1;

    if (n > 0 && text[n - 1] == '.')
        n--;
    if (n == 0 || n >= cap || n > 200)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];

        if (ch == '.') {
            if (label == 0 || text[i - 1] == '-')
                return false;
            label = 0;
            labels++;
        } else if (isalnum(ch) || (ch == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    if (label == 0 || text[n - 1] == '-' || labels < 2)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)text[i]);
    out[n] = '\0';
    return true;
}

static int parse(int argc, char **argv, struct serve_cfg *cfg)
{
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'd' },
        { "storage", required_argument, NULL, 's' },
        { "database", required_argument, NULL, 'D' },
        { "listen", required_argument, NULL, 'l' },
        { "public-url", required_argument, NULL, 'u' },
        { "portal-domain", required_argument, NULL, 'P' },
        { "threads", required_argument, NULL, 't' },
        { "jobs", required_argument, NULL, 'j' },
        { "storage-days", required_argument, NULL, 'K' },
        { "abandon-days", required_argument, NULL, 'A' },
        { "smtp-url", required_argument, NULL, 'M' },
        { "smtp-user", required_argument, NULL, 'U' },
        { "smtp-tls", no_argument, NULL, 'E' },
        { "mail-from", required_argument, NULL, 'f' },
        { "log-level", required_argument, NULL, 'L' },
        { "shutdown-timeout", required_argument, NULL, 'S' },
        { "conn-limit", required_argument, NULL, 'c' },
        { "conn-timeout", required_argument, NULL, 'T' },
        { "trust-forwarded", no_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *threads = cli_env("CONSIGN_THREADS", "0");
    const char *jobs = cli_env("CONSIGN_JOBS", "2");
    const char *storage_days = cli_env("CONSIGN_STORAGE_DAYS", "7");
    const char *abandon_days = cli_env("CONSIGN_ABANDON_DAYS", "14");
    const char *shutdown = cli_env("CONSIGN_SHUTDOWN_TIMEOUT", "30");
    const char *conn_limit = cli_env("CONSIGN_CONN_LIMIT", "1024");
    const char *conn_timeout = cli_env("CONSIGN_CONN_TIMEOUT", "120");
    const char *forwarded = cli_env("CONSIGN_TRUST_FORWARDED", "0");
    const char *smtp_tls = cli_env("CONSIGN_SMTP_TLS", "0");
    const char *portal_domain = cli_env("CONSIGN_PORTAL_DOMAIN", NULL);
    int c;

    cfg->data = cli_env("CONSIGN_DATA", "./var");
    cfg->storage = cli_env("CONSIGN_STORAGE", NULL);
    cfg->database = cli_env("CONSIGN_DATABASE", NULL);
    cfg->listen = cli_env("CONSIGN_LISTEN", "127.0.0.1:8080");
    cfg->public_url = cli_env("CONSIGN_PUBLIC_URL", NULL);
    cfg->log_level = cli_env("CONSIGN_LOG_LEVEL", "info");
    cfg->smtp_url = cli_env("CONSIGN_SMTP_URL", NULL);
    cfg->smtp_user = cli_env("CONSIGN_SMTP_USER", NULL);
    cfg->mail_from = cli_env("CONSIGN_MAIL_FROM", NULL);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            cfg->data = optarg;
            break;
        case 's':
            cfg->storage = optarg;
            break;
        case 'D':
            cfg->database = optarg;
            break;
        case 'l':
            cfg->listen = optarg;
            break;
        case 'u':
            cfg->public_url = optarg;
            break;
        case 'P':
            portal_domain = optarg;
            break;
        case 't':
            threads = optarg;
            break;
        case 'j':
            jobs = optarg;
            break;
        case 'K':
            storage_days = optarg;
            break;
        case 'A':
            abandon_days = optarg;
            break;
        case 'M':
            cfg->smtp_url = optarg;
            break;
        case 'U':
            cfg->smtp_user = optarg;
            break;
        case 'E':
            smtp_tls = "1";
            break;
        case 'f':
            cfg->mail_from = optarg;
            break;
        case 'L':
            cfg->log_level = optarg;
            break;
        case 'S':
            shutdown = optarg;
            break;
        case 'c':
            conn_limit = optarg;
            break;
        case 'T':
            conn_timeout = optarg;
            break;
        case 'F':
            forwarded = "1";
            break;
        case 'h':
            fputs(serve_usage, stdout);
            return 0;
        default:
            return cli_usage_error(serve_usage, "unknown or incomplete option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(serve_usage, "unexpected argument '%s'", argv[optind]);
    if (!number(threads, 256, &cfg->threads))
        return cli_usage_error(serve_usage, "--threads: '%s' is not a number from 0 to 256",
                               threads);
    if (!number(jobs, 64, &cfg->jobs))
        return cli_usage_error(serve_usage, "--jobs: '%s' is not a number from 0 to 64", jobs);
    if (!number(storage_days, 36500, &cfg->storage_days) || cfg->storage_days == 0)
        return cli_usage_error(serve_usage, "--storage-days: '%s' is not a number from 1 to 36500",
                               storage_days);
    if (!number(abandon_days, 36500, &cfg->abandon_days) || cfg->abandon_days == 0)
        return cli_usage_error(serve_usage, "--abandon-days: '%s' is not a number from 1 to 36500",
                               abandon_days);
    if (!number(shutdown, 86400, &cfg->shutdown_timeout))
        return cli_usage_error(serve_usage, "--shutdown-timeout: '%s' is not a number of seconds",
                               shutdown);
    if (!number(conn_limit, 1000000, &cfg->conn_limit) || cfg->conn_limit == 0)
        return cli_usage_error(serve_usage, "--conn-limit: '%s' is not a positive number",
                               conn_limit);
    if (!number(conn_timeout, 86400, &cfg->conn_timeout))
        return cli_usage_error(serve_usage, "--conn-timeout: '%s' is not a number of seconds",
                               conn_timeout);
    if (strcmp(forwarded, "0") != 0 && strcmp(forwarded, "1") != 0)
        return cli_usage_error(serve_usage, "CONSIGN_TRUST_FORWARDED: '%s' is not 0 or 1",
                               forwarded);
    cfg->trust_forwarded = forwarded[0] == '1';
    if (strcmp(smtp_tls, "0") != 0 && strcmp(smtp_tls, "1") != 0)
        return cli_usage_error(serve_usage, "CONSIGN_SMTP_TLS: '%s' is not 0 or 1", smtp_tls);
    cfg->smtp_tls = smtp_tls[0] == '1';
    if (cfg->mail_from && !mail_address_is_valid(cfg->mail_from))
        return cli_usage_error(serve_usage, "--mail-from: '%s' is not an e-mail address",
                               cfg->mail_from);
    if (portal_domain && portal_domain[0] &&
        !domain_normalize(portal_domain, cfg->portal_domain, sizeof(cfg->portal_domain)))
        return cli_usage_error(serve_usage, "--portal-domain: '%s' is not a DNS name",
                               portal_domain);
    if (!log_set_level(cfg->log_level))
        return cli_usage_error(serve_usage, "--log-level: '%s' is not error, warn, info or debug",
                               cfg->log_level);
    return -1;
}

/*
 * The From address when --mail-from is not given: consign@ the host of the public URL (or of
 * the listen address), an IP address as an address literal. NULL when that makes no address.
 */
static char *default_mail_from(const char *public_url, const char *listen_host)
{
    const char *h = listen_host, *end;
    char *host, *from;

    if (public_url) {
        const char *at;

        h = strstr(public_url, "://");
        h = h ? h + 3 : public_url;
        end = h + strcspn(h, "/?#");
        at = memchr(h, '@', (size_t)(end - h));
        if (at)
            h = at + 1;
        if (h[0] == '[')
            end = h + strcspn(h, "]") + 1;
        else
            end = h + strcspn(h, ":/?#");
    } else {
        end = h + strlen(h);
    }
    host = xmemdup0(h, (size_t)(end - h));
    if (host[0] == '[') {
        host[strlen(host) - 1] = '\0';
        from = xasprintf("consign@[IPv6:%s]", host + 1);
    } else if (strchr(host, ':')) {
        from = xasprintf("consign@[IPv6:%s]", host);
    } else if (host[0] && strspn(host, "0123456789.") == strlen(host)) {
        from = xasprintf("consign@[%s]", host);
    } else {
        for (char *p = host; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        from = xasprintf("consign@%s", host);
    }
    free(host);
    if (!mail_address_is_valid(from)) {
        free(from);
        return NULL;
    }
    return from;
}

/* --public-url without its trailing slashes, or http://HOST:PORT; NULL for port 0 (not known
 * before the server starts). */
static char *make_public_url(const char *given, const char *host, unsigned port)
{
    if (given) {
        size_t n = strlen(given);

        while (n > 0 && given[n - 1] == '/')
            n--;
        return xmemdup0(given, n);
    }
    if (port == 0)
        return NULL;
    return xasprintf(strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host, port);
}

static enum store_rc sweep_txn(struct store *s, void *ctx)
{
    (void)ctx;
    return api_sweep_enqueue(s);
}

/*
 * For tests that move time instead of waiting for it: with CONSIGN_CLOCK_FILE set, the clock
 * runs that file's number of milliseconds ahead (read every 50 ms). Never set in production.
 */
static void *clock_follower(void *arg)
{
    const char *path = arg;

    for (;;) {
        FILE *f = fopen(path, "r");
        long long ms;

        if (f) {
            if (fscanf(f, "%lld", &ms) == 1)
                clock_set_offset_ms(ms);
            fclose(f);
        }
        usleep(50 * 1000);
    }
    return NULL;
}

static void clock_follow_file(void)
{
    const char *path = getenv("CONSIGN_CLOCK_FILE");
    pthread_t th;

    if (!path || !path[0])
        return;
    LOG_WARN("the clock follows %s (CONSIGN_CLOCK_FILE: for tests only)", path);
    if (pthread_create(&th, NULL, clock_follower, (void *)path) == 0)
        pthread_detach(th);
}

/*
 * consign serve, or with @http false consign worker: the same configuration, but only the
 * background job workers run (a separate process for jobs, beside servers started with --jobs 0).
 */
static int run(int argc, char **argv, bool http)
{
    struct serve_cfg cfg = { 0 };
    struct api_env env = { .version = CONSIGN_VERSION };
    struct http_server_opts opts = { 0 };
    struct http_router *router = NULL;
    struct http_server *srv = NULL;
    struct http_app app;
    struct store *s = NULL;
    struct mail_cfg mail = { 0 };
    char host[256], why[512], *public_url = NULL, *mail_from = NULL, *mail_dir = NULL;
    const char *secret_text;
    sigset_t sigs;
    int rc, sig = 0;

    rc = parse(argc, argv, &cfg);
    if (rc >= 0)
        return rc;
    if (!http && cfg.jobs == 0)
        return cli_usage_error(serve_usage, "consign worker runs jobs: --jobs must be at least 1");
    if (!split_listen(cfg.listen, host, sizeof(host), &opts.port))
        return cli_usage_error(serve_usage, "--listen: '%s' is not HOST:PORT", cfg.listen);
    opts.host = host;
    opts.threads = (unsigned)cfg.threads;
    opts.conn_limit = (unsigned)cfg.conn_limit;
    opts.conn_timeout = (unsigned)cfg.conn_timeout;
    opts.trust_forwarded = cfg.trust_forwarded;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!auth_init()) {
        LOG_ERR("libsodium cannot be initialised");
        return 1;
    }
    env.store_cfg.data_dir = cfg.data;
    env.store_cfg.database_url = cfg.database;
    s = store_open(&env.store_cfg, why, sizeof(why));
    if (!s) {
        LOG_ERR("cannot open the database: %s", why);
        return 1;
    }
    secret_text = getenv("CONSIGN_SECRET");
    if (secret_text && secret_text[0]) {
        if (!auth_secret_from_text(secret_text, env.secret)) {
            LOG_ERR("CONSIGN_SECRET must have at least 32 characters");
            rc = 1;
            goto out;
        }
    } else if (!load_secret(cfg.data, env.secret)) {
        rc = 1;
        goto out;
    }
    env.blob = blob_open(cfg.data, cfg.storage, why, sizeof(why));
    if (!env.blob) {
        LOG_ERR("cannot open the file storage: %s", why);
        rc = 1;
        goto out;
    }
    mail_from = cfg.mail_from ? xstrdup(cfg.mail_from) : default_mail_from(cfg.public_url, host);
    if (!mail_from) {
        LOG_ERR("the public URL's host makes no From address for mail: give --mail-from");
        rc = 1;
        goto out;
    }
    mail_dir = xasprintf("%s/mail", cfg.data);
    mail = (struct mail_cfg){ .smtp_url = cfg.smtp_url,
                              .smtp_user = cfg.smtp_user,
                              .smtp_password = getenv("CONSIGN_SMTP_PASSWORD"),
                              .smtp_starttls = cfg.smtp_tls,
                              .from = mail_from,
                              .dir = mail_dir };
    if (!mail_cfg_check(&mail, why, sizeof(why))) {
        LOG_ERR("mail: %s", why);
        rc = 1;
        goto out;
    }
    env.mail = &mail;
    env.storage_period_ms = (int64_t)cfg.storage_days * 86400000;
    env.abandon_after_ms = (int64_t)cfg.abandon_days * 86400000;
    env.portal_domain = cfg.portal_domain[0] ? cfg.portal_domain : NULL;
    if (store_run(s, "serve.sweep", STORE_WRITE, sweep_txn, NULL) < 0) {
        LOG_ERR("cannot queue the expiry sweep");
        rc = 1;
        goto out;
    }
    clock_follow_file();
    {
        struct jobs_cfg jc = { .store = env.store_cfg,
                               .kinds = api_job_kinds,
                               .nkinds = api_job_kinds_count,
                               .env = &env,
                               .workers = (unsigned)cfg.jobs };

        /* Its workers start once the public URL, which messages carry, is known. */
        env.jobs = jobs_new(&jc);
    }
    /* The public URL is set before the first request can arrive: from --public-url, or from
     * the listen address; only a port the system picks (0) is known after the start. */
    if (!http && !cfg.public_url && opts.port == 0) {
        /* The links in messages need the address the servers answer at. */
        LOG_ERR("consign worker needs --public-url (or a --listen port) for the links it sends");
        rc = 1;
        goto out;
    }
    public_url = make_public_url(cfg.public_url, host, opts.port);
    env.public_url = public_url;
    if (http) {
        router = http_router_new(api_routes, api_routes_count);
        app = (struct http_app){ .router = router, .dispatch = api_dispatch, .env = &env };
        if (!http_server_start(&opts, &app, &srv)) {
            rc = 1;
            goto out;
        }
        if (!public_url) {
            public_url = make_public_url(NULL, host, http_server_port(srv));
            env.public_url = public_url;
        }
    }
    if (http && !bootstrap(s, public_url)) {
        rc = 1;
        goto out;
    }
    if (!jobs_begin(env.jobs, why, sizeof(why))) {
        LOG_ERR("%s", why);
        rc = 1;
        goto out;
    }
    /* The database by its kind only: its URL may carry a password. */
    if (http)
        LOG_INFO("consign %s listening on %s:%u (data %s, database %s, public URL %s)",
                 CONSIGN_VERSION, host, http_server_port(srv), cfg.data, store_backend_name(s),
                 public_url);
    else
        LOG_INFO("consign %s worker: %llu job workers (data %s, database %s, public URL %s)",
                 CONSIGN_VERSION, (unsigned long long)cfg.jobs, cfg.data, store_backend_name(s),
                 public_url);
    /* Not the SMTP URL: it may carry a password. */
    if (mail.smtp_url && mail.smtp_url[0])
        LOG_INFO("mail goes through the SMTP server of --smtp-url%s, from %s",
                 mail.smtp_starttls ? " (STARTTLS)" : "", mail.from);
    else
        LOG_INFO("mail is written to %s/ID.eml (no --smtp-url), from %s", mail.dir, mail.from);
    /* The main thread's connection served migrations and bootstrap; workers open their own. */
    store_close(s);
    s = NULL;
    while (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
        ;
    if (http) {
        LOG_INFO("%s: no new connections; letting requests in flight finish (up to %llus)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", (unsigned long long)cfg.shutdown_timeout);
        http_server_quiesce(srv);
        if (!http_server_wait_idle(srv, (int64_t)cfg.shutdown_timeout * 1000))
            LOG_WARN("requests still in flight after %llus; closing them",
                     (unsigned long long)cfg.shutdown_timeout);
    } else {
        LOG_INFO("%s: letting the jobs that run finish", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    rc = 0;
out:
    http_server_stop(srv);
    /* After the HTTP threads: a handler may still wake the workers until then. */
    jobs_stop(env.jobs);
    http_router_free(router);
    store_close(s);
    blob_close(env.blob);
    free(public_url);
    free(mail_from);
    free(mail_dir);
    if (rc == 0)
        LOG_INFO("stopped");
    return rc;
}

int cmd_serve(int argc, char **argv)
{
    return run(argc, argv, true);
}

int cmd_worker(int argc, char **argv)
{
    return run(argc, argv, false);
}
