/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The MASV API: the route table (routes.c), the dispatcher that checks credentials before a
 * handler runs, the helpers handlers share, and one file of handlers per resource.
 */
#ifndef CONSIGN_API_H
#define CONSIGN_API_H

#include "core/compat.h"

#include "auth/auth.h"
#include "blob/blob.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "json/jspec.h"
#include "json/jwrite.h"
#include "mail/mail.h"
#include "store/store.h"

/** What every handler may read; set up once at start and read-only afterwards. */
struct api_env {
    struct store_cfg store_cfg;
    uint8_t secret[AUTH_SECRET_LEN];
    const char *public_url; /* "http://127.0.0.1:8080", no trailing slash */
    const char *version;
    struct blob *blob;         /* file bytes */
    struct jobs *jobs;         /* this process's workers, woken when a job is queued; may be NULL */
    int64_t storage_period_ms; /* how long a finalized package is kept (API_STORAGE_PERIOD_MS) */
    int64_t abandon_after_ms;  /* a new package unchanged this long is cleaned up */
    const struct mail_cfg *mail; /* how mail leaves; NULL: this server sends none */
    /* Portal pages are also served at / of {subdomain}.{portal_domain} (lowercase, no dots at
     * either end); NULL: only at /portal/{subdomain}. */
    const char *portal_domain;
};

/** The storage period and the abandonment time when not configured: 7 and 14 days. */
#define API_STORAGE_PERIOD_MS (7LL * 86400000)
#define API_ABANDON_AFTER_MS (14LL * 86400000)
/** How often the expiry sweep runs. */
#define API_SWEEP_EVERY_MS (60LL * 1000)

/** Credentials a route takes (struct http_route.auth). */
enum api_auth {
    API_AUTH_NONE = 0, /* public */
    API_AUTH_USER,     /* X-API-KEY or X-User-Token */
    API_AUTH_PACKAGE,  /* X-Package-Token */
};

/** The kinds of background job and their handlers (lifecycle.c), for jobs_start(). */
extern const struct jobs_kind api_job_kinds[];
extern const size_t api_job_kinds_count;
/** Queues, in @s's transaction, the removal of package @package_id's bytes. */
enum store_rc api_purge_enqueue(struct store *s, const char *package_id);
/** Queues the recurring expiry sweep unless it is queued already (any server may call it). */
enum store_rc api_sweep_enqueue(struct store *s);

/** Attempts of a mail.send job: with the backoff, some two and a half hours of trying. */
#define API_MAIL_ATTEMPTS 12
/**
 * Inside the transaction that finalizes package @p: the mail it owes (notify.c). Each recipient
 * of a team package gets a download link of their own (with the package's access limit and
 * password) and a mail.send job that mails it. Queued with the state change, they exist once
 * however often the package is finalized. Portal packages: see notify_inbox() in notify.c.
 */
enum store_rc api_notify_finalized(struct store *s, const struct api_env *env,
                                   const struct package *p);
/** Runs a mail.send job: renders, builds and delivers one message (notify.c). */
enum jobs_outcome api_mail_send(void *env, struct store *s, const struct job *j, char *why,
                                size_t why_cap);
/** The URL a recipient opens, the download page of link @link_id with its @secret, in @a. */
char *api_link_url(const struct api_env *env, struct arena *a, const char *link_id,
                   const char *secret);

/** The package events a webhook may be told of. */
enum api_hook_event {
    API_HOOK_CREATED,
    API_HOOK_FINALIZED,
    API_HOOK_DOWNLOADED,
    API_HOOK_EXPIRED,
    API_HOOK_EVENT_COUNT,
};
/** Attempts of one delivery to a webhook before it is given up (failed, and listed so). */
#define API_HOOK_ATTEMPTS 5
/**
 * Queues, in @s's transaction, a delivery of @ev about package @p (as it is now) to each webhook
 * that wants it: the team's active webhooks subscribed to @ev for a team's package, the portal's
 * custom_webhooks (active and subscribed) for one received through a portal. *@queued counts
 * the deliveries queued (the caller wakes the workers after its commit when there are any).
 */
enum store_rc api_webhooks_enqueue(struct store *s, enum api_hook_event ev, const struct package *p,
                                   struct arena *a, int *queued);
/** The handler of "webhook.deliver" jobs (webhooks.c), in api_job_kinds. */
jobs_handler_fn api_webhook_deliver;

/** The route table and its length. */
extern const struct http_route api_routes[];
extern const size_t api_routes_count;

/** The dispatcher for struct http_app: resolves credentials, then runs the route's handler. */
void api_dispatch(struct req *rq);

/**
 * The store connection of the calling thread, opened on first use (one connection per worker
 * thread, closed when the thread ends). NULL when the database cannot be opened (logged).
 */
struct store *api_store(const struct api_env *env);
/** Closes the calling thread's connection, if any (for the main thread at exit). */
void api_store_release(void);

/* Helpers for handlers. Those named _or_reply set an error response when they return false. */

/** The environment of @rq. */
static inline const struct api_env *api_env(const struct req *rq)
{
    return rq->env;
}
/** The caller; valid on API_AUTH_USER routes. */
static inline const struct principal *api_principal(const struct req *rq)
{
    return rq->principal;
}
/** The store for this request, or false after a 503. */
bool api_store_or_reply(struct req *rq, struct store **out);
/** Parses the body as a JSON object and checks it against @spec; *@doc is decref'd by the caller. */
bool api_body_or_reply(struct req *rq, const struct jspec *spec, json_t **doc);
/**
 * Runs @fn in a transaction of @kind on this thread's store; on failure replies (503/500) and
 * returns the negative rc, else STORE_NONE or STORE_ONE.
 */
enum store_rc api_run_or_reply(struct req *rq, const char *label, enum store_txn_kind kind,
                               store_txn_fn *fn, void *ctx);
/** Replies to a failed store call (rc < 0): 503 when busy, 500 otherwise. */
void api_reply_store(struct req *rq, enum store_rc rc);
/**
 * The access decision for the team in path parameter "team_id": fills @m with the caller's
 * membership, or replies 404 (unknown or not the caller's team) or 403 (role).
 */
bool api_team_or_reply(struct req *rq, enum team_action action, struct membership *m);
/**
 * For X-Package-Token routes: the package of path parameter "package_id", which the token must
 * name (else 404); @need_full refuses download-only tokens (403). Fills @out.
 */
bool api_package_or_reply(struct req *rq, bool need_full, struct package *out);
/**
 * Failed attempts at a secret that outsiders present (a link's secret or password, a portal's
 * access code), counted under @key in the database, so that every server sees the same count:
 * at most @max in a window of @window_ms from the first. The caller sets @key (naming the
 * secret and the client's address), @max, @window_ms and @now; the calls fill the rest.
 */
struct api_fails {
    const char *key;
    int64_t max;
    int64_t window_ms;
    int64_t now;
    int64_t count;    /* in the current window */
    int64_t reset_at; /* when the window ends */
};
/** True while @f is below its maximum; else replies 429 with Retry-After (even to a caller who
 * now has the secret right). */
bool api_fails_below_or_reply(struct req *rq, struct api_fails *f);
/** Counts one failure of @f; a count the database refuses is logged, not answered. */
void api_fails_count(struct req *rq, struct api_fails *f);
/** Answers with a writer's text (a 500 if it outgrew its cap). */
void api_jw_reply(struct req *rq, unsigned status, struct jw *w);

/* Files and the upload protocol's limits (GET /v1/system/packages/spec). */
#define FILES_MAX_CHUNK_COUNT 10000
#define FILES_MAX_CHUNK_SIZE (INT64_C(5) << 30)
#define FILES_MIN_CHUNK_SIZE (5 << 20)
#define FILES_MAX_SIZE (FILES_MAX_CHUNK_COUNT * FILES_MAX_CHUNK_SIZE)
/** Characters of a file's name and folder path. */
/** Files in one package (all of them fit in one zip). */
#define FILES_MAX_COUNT 100000
#define FILES_NAME_MAX 1024
/** Longest upload id a client may name (an object store makes them). */
#define FILES_UPLOAD_ID_MAX 1024
#define FILES_PATH_MAX 4096
/** How long a blueprint's signed URL works. */
#define FILES_URL_TTL_S (7 * 24 * 3600)

/** Removes the bytes of file @f (and, in an object store, its unfinished upload); false when the
 * store failed (logged): the caller may try again, removing twice is harmless. */
bool api_file_bytes_remove(const struct api_env *env, const struct file *f);
/** Writes a file object. */
void api_file_write(struct jw *w, const struct file *f);
/**
 * A URL (in the arena) through which a client moves the bytes of file @f: BLOB_URL_CREATE
 * starts its upload, BLOB_URL_PART sends part @part of upload @upload_id, BLOB_URL_GET fetches
 * it. consign's own signed storage routes for the embedded store, the object store's
 * pre-signed URLs otherwise. NULL when the object store cannot sign one (logged).
 */
char *api_storage_url(struct req *rq, enum blob_url_kind kind, const struct file *f, uint32_t part,
                      const char *upload_id);
/** Records that package @package_id was downloaded now (its usage_updated_at). */
void api_download_recorded(struct req *rq, const char *package_id);
/** A signed URL of the whole package as a zip. */
char *api_storage_zip_url(struct req *rq, const char *package_id, bool windows);
/** The ETag of a received part, without quotes. */
void api_part_etag(const struct api_env *env, const char *file_id, const struct file_part *p,
                   char out[AUTH_SIG_LEN + 1]);
/** Bytes of the zip of @files. */
uint64_t api_zip_size(const struct api_env *env, const struct file *files, size_t n, bool windows);

/** Answers with one package object. */
void api_package_reply(struct req *rq, unsigned status, const struct package *p);
/** True when @p is in one of @states (PACKAGE_STATE_BIT); else a 409 saying @what. */
bool api_package_state_or_reply(struct req *rq, const struct package *p, unsigned states,
                                const char *what);
/** Reads ?page= and ?limit= (1-based page; limit 1..@max_limit, default @max_limit). */
bool api_page_or_reply(struct req *rq, int64_t max_limit, struct store_page *page);
/**
 * Reads ?sort=KEY or ?sort=-KEY (descending) with KEY one of @names: its index into *@sort and
 * the direction into *@desc. Left as they are (the caller's defaults) when there is no sort;
 * a 400 listing @names for an unknown key.
 */
bool api_sort_or_reply(struct req *rq, const char *const *names, size_t n, unsigned *sort,
                       bool *desc);
/** Copies path parameter @name into @out when it has the shape of an id; else replies 404. */
bool api_id_param_or_reply(struct req *rq, const char *name, char out[ID_LEN + 1]);
/** {"metadata": {"total": n}, "records": records} (steals @records). */
json_t *api_page_json(int64_t total, json_t *records);

/** A tag object of a request: an id, a name, both or neither (strings in the request arena). */
struct tag_ref {
    char *id;
    char *name;
};

/** Reads a request's "tag" value (anything that is not an object means no tag). */
void api_tag_ref_parse(json_t *v, struct arena *a, struct tag_ref *out);
/**
 * Inside a write transaction: the tag @ref names for team @team_id (found by id, else found or
 * created by name), its id and name in *@tag_id and *@tag_name (in @a), or NULL in both for
 * none. STORE_RETRY when a concurrent create raced.
 */
enum store_rc api_tag_resolve(struct store *s, const char *team_id, const struct tag_ref *ref,
                              struct arena *a, char **tag_id, char **tag_name);

/**
 * Reads "recipients": an array of addresses, as strings or {"email": …} objects, checked,
 * lowercased and kept once each, as a JSON array in the request arena.
 */
bool api_recipients_or_reply(struct req *rq, json_t *v, char **out);
/** Query parameter @name, a comma list of ids, as a JSON array in the arena (NULL when absent). */
bool api_ids_query_or_reply(struct req *rq, const char *name, const char **out);
/** Query parameter @name as text of at most @max characters (NULL when absent or empty). */
bool api_text_query_or_reply(struct req *rq, const char *name, size_t max, const char **out);
/** The body {expiry_start, expiry_end} of an archive by expiry window; each defaults to the zero
 * time, as documented. */
bool api_expiry_window_or_reply(struct req *rq, int64_t *start, int64_t *end);
/**
 * Answers with the packages received through portal @portal_id of team @team_id: a page with
 * the v1.1 list's parameters when @paged, else the legacy list's bare array. The caller has
 * checked that the caller sees the portal (who sees it sees all its packages).
 */
void api_portal_packages_list(struct req *rq, const char *team_id, const char *portal_id,
                              bool paged);
/**
 * Whether package name @name matches portal @p's name format (true when it has none enabled).
 * The pattern runs with PCRE2's match and depth limits: one that runs into them is no match.
 * For the public side, which creates packages through a portal.
 */
bool api_portal_name_matches(const struct portal *p, struct str name);
/**
 * The public view of portal @p, for its uploaders' page: its name, message, branding, terms of
 * service, restrictions, storage terms and expiry, and whether it has an access code and a
 * download password; never a secret, a recipient, its team, tag, teamspace or access list.
 */
json_t *api_portal_public_json(const struct portal *p);
/**
 * The portal of @subdomain (any case), as its public page sees it: 1 and *@out (its strings in
 * @rq's arena) when it exists and takes uploads, 0 when it does not (unknown, deleted, inactive
 * or past its expiry: nothing replied), -1 when the store failed (the error reply queued).
 */
int api_portal_public_find(struct req *rq, struct str subdomain, struct portal *out);

/** Why a request is refused: an error of the registry and the message naming the rule. */
struct api_refusal {
    enum err err; /* ERR_OK: not refused */
    const char *why;
};

/**
 * Sets the storage terms of package @pkg made through portal @p, counted from @from: its
 * custom_expiry_days (-1: unlimited storage, no expiry; n > 0: n days) or else @period_ms (the
 * server's storage period). At creation, and again at finalize, when the count starts.
 */
void api_portal_package_expiry(const struct portal *p, int64_t from, int64_t period_ms,
                               struct package *pkg);
/**
 * Inside a transaction: whether package @pkg may hold its files under its portal's
 * restrictions, with @f the file a request adds or finalizes (its size the declared or the
 * actual one), or with @f NULL every file as it is (at the package's finalize). Reads the
 * portal into @p (strings in @a) and the package's files. A refusal goes into @out (ERR_OK when
 * none, always for a package not made through a portal): ERR_GONE when the portal was deleted,
 * ERR_FILE_TYPE_REFUSED, ERR_PORTAL_LIMIT. Returns the store's status (STORE_ONE when checked).
 */
enum store_rc api_portal_files_check(struct store *s, const struct package *pkg,
                                     const struct file *f, struct arena *a, struct portal *p,
                                     struct api_refusal *out);
/**
 * At a file's finalize, before its bytes are joined: whether file @f of package @pkg may be
 * @size bytes under the portal's restrictions. When not, the file is removed (record and
 * bytes, or the object store's upload) and the refusal answered.
 */
bool api_portal_file_final_or_reply(struct req *rq, const struct package *pkg, const struct file *f,
                                    int64_t size);

/* Handlers, one file per resource. */
void api_health(struct req *rq);
void api_auth_login(struct req *rq);
void api_members_list(struct req *rq);
void api_keys_create(struct req *rq);
void api_keys_list(struct req *rq);
void api_keys_get(struct req *rq);
void api_keys_update(struct req *rq);
void api_keys_delete(struct req *rq);
void api_spaces_create(struct req *rq);
void api_spaces_list(struct req *rq);
void api_tags_create(struct req *rq);
void api_tags_list(struct req *rq);
void api_tags_delete(struct req *rq);
void api_packages_create(struct req *rq);
void api_packages_list(struct req *rq);
void api_packages_list_legacy(struct req *rq);
void api_packages_get(struct req *rq);
void api_package_update(struct req *rq);
void api_package_expiry(struct req *rq);
void api_package_delete(struct req *rq);
void api_package_archive(struct req *rq);
void api_package_unarchive(struct req *rq);
void api_team_archive(struct req *rq);
void api_team_unarchive(struct req *rq);
void api_inbox_archive(struct req *rq);
void api_inbox_unarchive(struct req *rq);
void api_portals_create(struct req *rq);
void api_portals_list(struct req *rq);
void api_portals_list_legacy(struct req *rq);
void api_portals_get(struct req *rq);
void api_portal_update(struct req *rq);
void api_portal_delete(struct req *rq);
void api_portal_packages(struct req *rq);
void api_portal_packages_legacy(struct req *rq);
void api_portal_archive(struct req *rq);
void api_portal_unarchive(struct req *rq);
void api_portal_public_get(struct req *rq);
void api_portal_access(struct req *rq);
/* The web pages (web.c): the portal page, the download page and the fixed assets they load. */
void api_web_root(struct req *rq);
void api_web_portal_page(struct req *rq);
void api_web_download_page(struct req *rq);
void api_web_asset(struct req *rq);
void api_portal_packages_create(struct req *rq);
void api_spec(struct req *rq);
void api_files_create(struct req *rq);
void api_files_blueprints(struct req *rq);
void api_files_finalize(struct req *rq);
void api_files_delete(struct req *rq);
void api_files_list(struct req *rq);
void api_files_download(struct req *rq);
void api_package_finalize(struct req *rq);
void api_storage_initiate(struct req *rq);
void api_storage_part(struct req *rq);
void api_storage_get(struct req *rq);
void api_storage_zip(struct req *rq);
void api_links_create(struct req *rq);
void api_links_list(struct req *rq);
void api_links_delete(struct req *rq);
void api_links_resolve(struct req *rq);
void api_webhooks_create(struct req *rq);
void api_webhooks_list(struct req *rq);
void api_webhooks_get(struct req *rq);
void api_webhooks_update(struct req *rq);
void api_webhooks_delete(struct req *rq);
void api_webhooks_deliveries(struct req *rq);

#endif /* CONSIGN_API_H */
