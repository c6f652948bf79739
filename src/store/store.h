/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Persistence: the records consign keeps and the calls that read and write them. Callers see
 * domain-level functions, never SQL; a backend (store/sqlite/, later store/pg/) implements them
 * behind struct store_ops. Every call runs inside store_run(), which retries the whole
 * transaction when the backend reports a retryable conflict.
 *
 * Ownership: strings in records filled by a store call are allocated in the arena passed to it
 * and live as long as that arena. Records passed in are borrowed for the call.
 * Threads: a struct store is one connection; use it from one thread at a time.
 */
#ifndef CONSIGN_STORE_H
#define CONSIGN_STORE_H

#include "core/compat.h"
#include "core/id.h"
#include "core/mem.h"

/** Outcome of a storage call. Negative: failed. Zero or more: rows read or written. */
enum store_rc {
    STORE_HARD = -2,  /* connection lost, schema or our bug: give up (the backend logged it) */
    STORE_RETRY = -1, /* busy or serialization conflict: rerun the whole transaction */
    STORE_NONE = 0,   /* ran fine, nothing matched (or a unique key was already taken) */
    STORE_ONE = 1,    /* exactly one row */
};

/** Where the metadata lives. */
struct store_cfg {
    const char *data_dir;     /* SQLite: <data_dir>/consign.db */
    const char *database_url; /* NULL for SQLite */
};

struct store;

/**
 * Opens a connection and brings the schema up to date (numbered migrations, applied once even
 * when several processes start together). On failure returns NULL with a message in @why.
 */
struct store *store_open(const struct store_cfg *cfg, char *why, size_t why_cap);
/** Closes @s; accepts NULL. */
void store_close(struct store *s);
/** Name of the backend ("sqlite"). */
const char *store_backend_name(const struct store *s);
/** Schema version after migrations. */
int store_schema_version(struct store *s);

/** The body of a transaction. It must not answer HTTP: it reports through its result and @ctx. */
typedef enum store_rc store_txn_fn(struct store *s, void *ctx);

/** How a transaction will use the database. */
enum store_txn_kind {
    STORE_READ,  /* only reads */
    STORE_WRITE, /* writes: takes the write lock up front */
};

/**
 * BEGIN, @fn, COMMIT. A STORE_RETRY from @fn or the commit rolls back and reruns @fn (with a
 * short growing pause) a bounded number of times. Any negative result rolls back. Returns what
 * @fn returned, or STORE_RETRY when the retries ran out. @label names it in logs.
 */
MUST_CHECK enum store_rc store_run(struct store *s, const char *label, enum store_txn_kind kind,
                                   store_txn_fn *fn, void *ctx);

/**
 * Opens a read transaction that the STORE_READ runs which follow join, until store_unhold(): a
 * request's reads then see one snapshot and pay for one transaction (each costs locks and a
 * file size check). A STORE_WRITE run, or a read that must be retried, ends it first. Hold only
 * around work that returns promptly: an open read keeps the write-ahead log from being
 * checkpointed. False when it could not be opened (runs then work as without it).
 */
bool store_hold_read(struct store *s);
/** Ends what store_hold_read() opened, if it is still open. */
void store_unhold(struct store *s);

/** Roles of a membership, from most to least powerful (integration managers aside). */
enum role {
    ROLE_OWNER = 1,
    ROLE_ADMIN,
    ROLE_MEMBER,
    ROLE_GUEST,
    ROLE_INTEGRATION_MANAGER,
};

/** "owner" … "integration_manager"; NULL for an unknown value. */
const char *role_name(enum role r);
/** Parses a role name; 0 when unknown. */
enum role role_parse(const char *name);

struct user {
    char id[ID_LEN + 1];
    char *email; /* lowercase */
    char *name;
    char *password_hash; /* Argon2id, libsodium's string form */
    int64_t created_at;
    int64_t updated_at;
};

struct team {
    char id[ID_LEN + 1];
    char *name;
    int64_t created_at;
    int64_t updated_at;
};

struct membership {
    char id[ID_LEN + 1];
    char team_id[ID_LEN + 1];
    char user_id[ID_LEN + 1];
    enum role role;
    int64_t created_at;
    int64_t updated_at;
    /* Filled by reads, ignored by writes: */
    char *email;
    char *name;
    char *team_name;
    char **teamspace_ids; /* the teamspaces the membership belongs to */
    size_t nteamspaces;
};

enum api_key_state { API_KEY_ACTIVE = 1, API_KEY_INACTIVE };

#define API_KEY_HASH_LEN 32

struct api_key {
    char id[ID_LEN + 1];
    char team_id[ID_LEN + 1];
    char user_id[ID_LEN + 1];
    char membership_id[ID_LEN + 1];
    char *name;
    char *description;
    uint8_t secret_hash[API_KEY_HASH_LEN];
    int64_t expiry; /* TIME_UNSET: never */
    enum api_key_state state;
    int64_t created_at;
    int64_t updated_at;
};

struct teamspace {
    char id[ID_LEN + 1];
    char team_id[ID_LEN + 1];
    char *name;
    int64_t created_at;
    int64_t updated_at;
    char **member_ids; /* membership ids */
    size_t nmembers;
};

/** A page of a list: 1-based @page of @limit records. */
struct store_page {
    int64_t page;
    int64_t limit;
};

struct tag {
    char id[ID_LEN + 1];
    char team_id[ID_LEN + 1];
    char *name;
    int64_t created_at;
    int64_t updated_at;
};

enum package_state {
    PACKAGE_NEW = 1,
    PACKAGE_FINALIZED,
    PACKAGE_EXPIRED,
    PACKAGE_ARCHIVED,
};

/** "new", "finalized", "expired", "archived"; NULL for an unknown value. */
const char *package_state_name(enum package_state st);
/** Parses a state name; 0 when unknown. */
enum package_state package_state_parse(struct str name);
/** The bit of @st in a set of states. */
#define PACKAGE_STATE_BIT(st) (1u << (st))

struct package {
    char id[ID_LEN + 1];
    char team_id[ID_LEN + 1];
    bool inbox;           /* received through a portal, not sent by the team */
    char *portal_id;      /* NULL for sent packages */
    char *teamspace_id;   /* NULL when in no teamspace */
    char *teamspace_name; /* read only */
    char *sender_user_id; /* the user who created it; NULL for portal packages */
    char *sender;         /* sender's address, lowercase */
    char *name;
    char *description;
    char *recipients;     /* JSON array of addresses */
    char *password_hash;  /* NULL: no default link password */
    int64_t access_limit; /* 0: no default */
    enum package_state state;
    int64_t size;
    int64_t total_files;
    int64_t usage_total_bytes;
    int64_t expiry; /* TIME_UNSET: none */
    bool custom_expiry;
    bool unlimited_storage;
    bool contains_virus;
    char *custom_metadata_id;
    char *tag_id;   /* NULL: no tag */
    char *tag_name; /* read only */
    int64_t created_at;
    int64_t updated_at;
    int64_t usage_updated_at; /* TIME_UNSET: never downloaded */
};

/** A file of a package. */
struct file {
    char id[ID_LEN + 1];
    char package_id[ID_LEN + 1];
    char *kind;
    char *name;
    char *path;
    int64_t size;       /* declared (-1: not declared) until done, then exact */
    int64_t chunk_size; /* bytes of every part but the last; 0 until known */
    int64_t last_modified;
    char *upload_id; /* NULL until the upload is initiated */
    bool done;       /* finalized: its bytes are whole and sealed */
    uint32_t crc32;  /* of the whole file, once done */
    int64_t created_at;
    int64_t updated_at;
};

/** A part of a file's upload whose bytes are durable. */
struct file_part {
    uint32_t part; /* 1-based */
    int64_t size;
    uint32_t crc32;
    bool side; /* waits in a side file for its place */
};

/** A download link of a package. */
struct link {
    char id[ID_LEN + 1];
    char package_id[ID_LEN + 1];
    uint8_t secret_hash[API_KEY_HASH_LEN];
    char *email;
    char *password_hash;  /* NULL: none */
    int64_t access_limit; /* 0: unlimited */
    int64_t access_count;
    int64_t expiry; /* TIME_UNSET: none */
    bool active;
    int64_t created_at;
    int64_t updated_at;
};

/** Where a background job is in its life. */
enum job_state {
    JOB_QUEUED = 1, /* waiting for run_after, or for a worker (also while one holds a lease) */
    JOB_DONE,       /* ran to its end */
    JOB_FAILED,     /* gave up after max_attempts; kept to be looked at */
};

/**
 * A background job: a row, so that any server's workers can run it and a restart loses none.
 * A worker claims a queued job whose run_after has come and whose lease (if any) has run out,
 * holding it under a lease until lease_until; one whose worker died is claimed again once the
 * lease runs out. Jobs are idempotent: running one twice does no harm.
 */
struct job {
    char id[ID_LEN + 1];
    char *kind;    /* what to do: "package.expire", "mail.send", ... */
    char *payload; /* its arguments, JSON text consign wrote */
    char *dedupe;  /* NULL, or a key no other queued job of the kind has (enqueueing twice
                      queues once) */
    enum job_state state;
    int64_t run_after;    /* not before (Unix ms) */
    int64_t attempts;     /* claims so far */
    int64_t max_attempts; /* then JOB_FAILED */
    char *lease_owner;    /* the worker holding it, or NULL */
    int64_t lease_until;  /* TIME_UNSET when not leased */
    char *last_error;     /* of the last failed attempt, or NULL */
    int64_t created_at;
    int64_t updated_at;
};

/** "queued", "done", "failed"; NULL for anything else. */
const char *job_state_name(enum job_state st);
/** The state named @name; 0 when none is. */
enum job_state job_state_parse(const char *name);

/** What a team stores in packages of one state (consign admin usage). */
struct usage_row {
    char team_id[ID_LEN + 1];
    char *team_name;
    enum package_state state;
    int64_t packages;
    int64_t bytes; /* file bytes kept: finalized files, and parts of unfinished ones received
                      by this server (an object store's unfinished parts are not counted) */
};

/** Which packages of a team a caller may see. */
struct package_scope {
    bool all;                  /* owners and admins */
    const char *user_id;       /* otherwise: those this user sent... */
    const char *membership_id; /* ...and those of this membership's teamspaces */
};

/** Sort keys of the package lists. */
enum package_sort {
    PACKAGE_SORT_CREATED_AT = 0,
    PACKAGE_SORT_NAME,
    PACKAGE_SORT_SIZE,
    PACKAGE_SORT_USAGE,
    PACKAGE_SORT_EXPIRY,
    PACKAGE_SORT_SENDER,
    PACKAGE_SORT_STATE,
    PACKAGE_SORT_TEAMSPACE,
    PACKAGE_SORT_COUNT,
};

/** A list of packages: the filters, the order and the page. */
struct package_query {
    const char *team_id;
    bool inbox;
    const char *portal_id; /* inbox only: one portal's packages; NULL for all */
    struct package_scope scope;
    unsigned states;                    /* PACKAGE_STATE_BIT()s; 0 matches nothing */
    const char *name;                   /* substring, NULL for any */
    const char *sender;                 /* exact address, NULL for any */
    const char *tags_json;              /* JSON array of tag ids, NULL for any */
    const char *teamspaces_json;        /* JSON array of teamspace ids, NULL for any */
    int64_t created_start, created_end; /* inclusive; TIME_UNSET: open */
    enum package_sort sort;
    bool desc;
    struct store_page page; /* limit 0: every match (legacy lists) */
};

/** Who may see a private portal: its access list; a regular one: everyone, or its teamspace. */
enum portal_access_level {
    PORTAL_REGULAR = 1,
    PORTAL_PRIVATE,
};

/** "regular", "private"; NULL for an unknown value. */
const char *portal_access_level_name(enum portal_access_level l);
/** Parses an access level name; 0 when unknown. */
enum portal_access_level portal_access_level_parse(const char *name);

/**
 * A portal: a branded upload page through which outsiders send packages to a team, with every
 * field of MASV's create and update tables. Lists the API checks and writes itself are kept as
 * compact JSON text consign wrote (NULL in a record to insert means "[]").
 * Secrets: @access_code is kept as given, because managers read it back (MASV returns it); it
 * is a code shared with uploaders, not a password. The download password is kept only as an
 * Argon2id hash, which the portal's packages inherit as their link password. Neither is ever
 * logged.
 */
struct portal {
    char id[ID_LEN + 1];
    char team_id[ID_LEN + 1];
    char *created_by; /* user id of the creator; NULL when unknown */
    char *name;
    char *subdomain; /* a lowercase DNS label, unique among live portals of the server */
    char *message;
    bool active;
    bool has_access_code;
    char *access_code; /* "" when none */
    char *logo_url;
    char *background_url;
    char *primary_color;
    char *recipients; /* JSON array of addresses */
    bool has_download_password;
    char *download_password_hash; /* Argon2id; NULL when none */
    int64_t custom_expiry_days;   /* -1: unlimited; 0: the team's default */
    char *cloud_connections;      /* JSON array of {id, target_action, sync_metadata} */
    char *custom_webhooks;        /* JSON array of {id} */
    bool disable_upload_receipt;
    char *tag_id;   /* NULL: no tag (reads give NULL for a tag deleted since) */
    char *tag_name; /* read only */
    enum portal_access_level access_level;
    char **access_list; /* membership ids (private portals); @naccess of them */
    size_t naccess;
    char *teamspace_id;   /* NULL when in no teamspace */
    char *teamspace_name; /* read only */
    bool terms_of_service_enabled;
    char *tos_checkbox_label;
    char *tos_checkbox_url;
    char *tos_title;
    char *tos_description;
    bool package_size_restriction_enabled;
    int64_t max_package_size; /* bytes; 0: none */
    int64_t max_file_size;    /* bytes; 0: none */
    int64_t max_file_count;   /* 0: none */
    bool file_type_restriction_enabled;
    bool
        file_type_restriction_exclude; /* the types are refused rather than the only ones allowed */
    char *file_types;                  /* JSON array of ".ext" */
    bool expiry_enabled;
    int64_t expiry; /* TIME_UNSET: the zero time */
    bool package_name_format_enabled;
    char *name_format_value; /* a PCRE2 pattern */
    char *name_format_label;
    int64_t created_at;
    int64_t updated_at;
};

/** Which portals of a team a caller may see. */
struct portal_scope {
    bool all;                  /* owners and admins */
    const char *membership_id; /* otherwise: regular portals in no teamspace or in one of this
                                  membership's, and private ones whose access list has it */
};

/** Sort keys of the portal list. */
enum portal_sort {
    PORTAL_SORT_CREATED_AT = 0,
    PORTAL_SORT_NAME,
    PORTAL_SORT_ACTIVE,
    PORTAL_SORT_COUNT,
};

/** A list of portals: the filters, the order (ties broken by id) and the page. */
struct portal_query {
    const char *team_id;
    struct portal_scope scope;
    const char *name;            /* substring (ASCII case-insensitive), NULL for any */
    const char *subdomain;       /* substring, NULL for any */
    const char *tags_json;       /* JSON array of tag ids, NULL for any */
    const char *teamspaces_json; /* JSON array of teamspace ids, NULL for any */
    enum portal_sort sort;
    bool desc;
    struct store_page page; /* limit 0: every match (legacy list) */
};

/**
 * A custom webhook: where a team's package events are sent. @events, @headers and @body_extras
 * are compact JSON text the API checked and wrote (NULL in a record to insert means "[]" or
 * "{}"). Its signing secret is not a field: it is derived from the server's secret and the id.
 */
struct webhook {
    char id[ID_LEN + 1];
    char team_id[ID_LEN + 1];
    char *name;
    char *url;         /* http:// or https://, without credentials */
    char *method;      /* "POST" or "PUT" */
    char *events;      /* JSON array of event names ("package.created", ...) */
    char *headers;     /* JSON object of header names and values sent with each delivery */
    char *body_extras; /* JSON object merged into each delivery's body */
    bool active;
    int64_t created_at;
    int64_t updated_at;
};

/** What came of one attempt to deliver an event to a webhook. */
struct webhook_attempt {
    char id[ID_LEN + 1];
    char webhook_id[ID_LEN + 1];
    char delivery_id[ID_LEN + 1]; /* the same for every attempt of one delivery */
    char *event;
    char package_id[ID_LEN + 1];
    int64_t attempt;     /* 1-based */
    int64_t status;      /* the receiver's HTTP status; 0 when none came */
    char *error;         /* why it failed ("" when it did not) */
    int64_t duration_ms; /* from the start of the request to its end */
    int64_t at;          /* when it ended */
};

/* Users. */
/** Inserts @u; STORE_NONE when the email is taken. */
enum store_rc store_user_insert(struct store *s, const struct user *u);
enum store_rc store_user_get(struct store *s, const char *id, struct arena *a, struct user *out);
enum store_rc store_user_by_email(struct store *s, const char *email, struct arena *a,
                                  struct user *out);

/* Teams. */
enum store_rc store_team_insert(struct store *s, const struct team *t);
enum store_rc store_team_get(struct store *s, const char *id, struct arena *a, struct team *out);
/** Number of teams, in *@n. */
enum store_rc store_team_count(struct store *s, int64_t *n);

/* Memberships. */
/** Inserts @m; STORE_NONE when the user already belongs to the team. */
enum store_rc store_membership_insert(struct store *s, const struct membership *m);
/** The membership of @user_id in @team_id (with email, name and teamspaces). */
enum store_rc store_membership_get(struct store *s, const char *team_id, const char *user_id,
                                   struct arena *a, struct membership *out);
/** Every membership of @team_id, oldest first, in a new array in @a; the count is returned. */
enum store_rc store_members_list(struct store *s, const char *team_id, struct arena *a,
                                 struct membership **out, size_t *n);
/** Every membership of @user_id (with team names), in a new array in @a. */
enum store_rc store_memberships_of_user(struct store *s, const char *user_id, struct arena *a,
                                        struct membership **out, size_t *n);

/* API keys. */
enum store_rc store_api_key_insert(struct store *s, const struct api_key *k);
enum store_rc store_api_key_get(struct store *s, const char *id, struct arena *a,
                                struct api_key *out);
/** Keys of @team_id, newest first. */
enum store_rc store_api_keys_list(struct store *s, const char *team_id, struct arena *a,
                                  struct api_key **out, size_t *n);
/** Writes name, description, expiry, state and updated_at of @k. */
enum store_rc store_api_key_update(struct store *s, const struct api_key *k);
enum store_rc store_api_key_delete(struct store *s, const char *id);

/* Teamspaces. */
/** Inserts @t and its members. */
enum store_rc store_teamspace_insert(struct store *s, const struct teamspace *t);
/**
 * One page of the teamspaces of @team_id ordered by name then id; only those that have
 * @membership_id as a member when it is not NULL. *@total counts every match.
 */
enum store_rc store_teamspaces_list(struct store *s, const char *team_id, const char *membership_id,
                                    struct store_page page, struct arena *a, struct teamspace **out,
                                    size_t *n, int64_t *total);

/* Tags. */
/** Inserts @t; STORE_NONE when the team has a tag of that name. */
enum store_rc store_tag_insert(struct store *s, const struct tag *t);
/** The tag @id (of any team: callers check the team). */
enum store_rc store_tag_get(struct store *s, const char *id, struct arena *a, struct tag *out);
/** The tag of @team_id named exactly @name. */
enum store_rc store_tag_by_name(struct store *s, const char *team_id, const char *name,
                                struct arena *a, struct tag *out);
/** The tags of @team_id by name. */
enum store_rc store_tags_list(struct store *s, const char *team_id, struct arena *a,
                              struct tag **out, size_t *n);
/** Deletes tag @id and takes it off every package that had it. */
enum store_rc store_tag_delete(struct store *s, const char *id);

/* Packages. */
enum store_rc store_package_insert(struct store *s, const struct package *p);
/** Package @id with its tag and teamspace names. */
enum store_rc store_package_get(struct store *s, const char *id, struct arena *a,
                                struct package *out);
/**
 * Writes the changeable fields of @p: name, description, recipients, password_hash,
 * access_limit, teamspace_id, tag_id, state, size, total_files, expiry, custom_expiry,
 * unlimited_storage, updated_at, usage_updated_at.
 */
enum store_rc store_package_update(struct store *s, const struct package *p);
/** One page of @q (every match when its limit is 0), and the number of all matches. */
enum store_rc store_packages_list(struct store *s, const struct package_query *q, struct arena *a,
                                  struct package **out, size_t *n, int64_t *total);
/**
 * Moves the packages of @team_id (sent, or received when @inbox) in state @from whose expiry is
 * within [@start, @end] and that @scope may see to state @to; *@updated counts them.
 */
enum store_rc store_packages_move_by_expiry(struct store *s, const char *team_id, bool inbox,
                                            const struct package_scope *scope,
                                            enum package_state from, enum package_state to,
                                            int64_t start, int64_t end, int64_t now,
                                            int64_t *updated);
/** The teamspace @id of @team_id (without members). */
enum store_rc store_teamspace_get(struct store *s, const char *team_id, const char *id,
                                  struct arena *a, struct teamspace *out);

/* Portals. */
/** Inserts @p and its access list; STORE_NONE when a live portal has its subdomain. */
enum store_rc store_portal_insert(struct store *s, const struct portal *p);
/** The live portal @id (of any team: callers check the team), with its access list. */
enum store_rc store_portal_get(struct store *s, const char *id, struct arena *a,
                               struct portal *out);
/** The live portal whose subdomain is exactly @subdomain (lowercase), with its access list. */
enum store_rc store_portal_by_subdomain(struct store *s, const char *subdomain, struct arena *a,
                                        struct portal *out);
/**
 * Writes every field of @p but its id, team, creator and created_at, and replaces its access
 * list. STORE_NONE when another live portal has its subdomain or @p is not a live portal.
 */
enum store_rc store_portal_update(struct store *s, const struct portal *p);
/** Deletes portal @id at @now: its packages stay, its subdomain is free again. */
enum store_rc store_portal_delete(struct store *s, const char *id, int64_t now);
/** One page of @q (every match when its limit is 0), with access lists, and the number of all
 * matches. */
enum store_rc store_portals_list(struct store *s, const struct portal_query *q, struct arena *a,
                                 struct portal **out, size_t *n, int64_t *total);
/**
 * Moves the packages of portal @portal_id (only @package_id when it is not NULL) in state
 * @from whose expiry is within [@start, @end] to state @to; *@updated counts them.
 */
enum store_rc store_portal_packages_move(struct store *s, const char *portal_id,
                                         const char *package_id, enum package_state from,
                                         enum package_state to, int64_t start, int64_t end,
                                         int64_t now, int64_t *updated);

/* Webhooks. */
enum store_rc store_webhook_insert(struct store *s, const struct webhook *w);
/** The webhook @id (of any team: callers check the team). */
enum store_rc store_webhook_get(struct store *s, const char *id, struct arena *a,
                                struct webhook *out);
/** Writes every field of @w but its id, team and created_at; STORE_NONE when there is none. */
enum store_rc store_webhook_update(struct store *s, const struct webhook *w);
/** Deletes webhook @id and its attempts; STORE_NONE when there is none. */
enum store_rc store_webhook_delete(struct store *s, const char *id);
/** The webhooks of @team_id, oldest first. */
enum store_rc store_webhooks_list(struct store *s, const char *team_id, struct arena *a,
                                  struct webhook **out, size_t *n);
/**
 * Records attempt @at of its webhook and forgets that webhook's attempts beyond the latest
 * @keep. STORE_NONE (nothing recorded) when the webhook is gone.
 */
enum store_rc store_webhook_attempt_insert(struct store *s, const struct webhook_attempt *at,
                                           int64_t keep);
/** At most @limit attempts of webhook @webhook_id, the latest first. */
enum store_rc store_webhook_attempts_list(struct store *s, const char *webhook_id, int64_t limit,
                                          struct arena *a, struct webhook_attempt **out, size_t *n);

/* Files, parts and links. */
enum store_rc store_file_insert(struct store *s, const struct file *f);
enum store_rc store_file_get(struct store *s, const char *id, struct arena *a, struct file *out);
/** Writes every field of @f but its id and package; STORE_NONE when there is no such file. */
enum store_rc store_file_update(struct store *s, const struct file *f);
/** Deletes file @id and its parts. */
enum store_rc store_file_delete(struct store *s, const char *id);
/** How many files @package_id has. */
enum store_rc store_files_count(struct store *s, const char *package_id, int64_t *n);
/** The files of @package_id in the order they were added. */
enum store_rc store_files_list(struct store *s, const char *package_id, struct arena *a,
                               struct file **out, size_t *n);
/** Records (or replaces) a durable part of @file_id. */
enum store_rc store_file_part_put(struct store *s, const char *file_id, const struct file_part *p);
/** Forgets a part (its bytes are about to be rewritten). */
enum store_rc store_file_part_delete(struct store *s, const char *file_id, uint32_t part);
/** The recorded parts of @file_id by number. */
enum store_rc store_file_parts_list(struct store *s, const char *file_id, struct arena *a,
                                    struct file_part **out, size_t *n);
enum store_rc store_link_insert(struct store *s, const struct link *l);
enum store_rc store_link_get(struct store *s, const char *id, struct arena *a, struct link *out);
/** Writes access_count, active and updated_at of @l. */
enum store_rc store_link_update(struct store *s, const struct link *l);
/** The links of @package_id, oldest first. */
enum store_rc store_links_list(struct store *s, const char *package_id, struct arena *a,
                               struct link **out, size_t *n);

/**
 * Packages whose time is up, across every team, at most @limit: finalized ones whose expiry is
 * not after @now, and new ones (abandoned uploads) that neither they nor their files changed
 * since @stale_before.
 */
enum store_rc store_packages_due(struct store *s, int64_t now, int64_t stale_before, int64_t limit,
                                 struct arena *a, struct package **out, size_t *n);

/** Packages and stored bytes per team and state, by team name, then state. */
enum store_rc store_usage_list(struct store *s, struct arena *a, struct usage_row **out, size_t *n);

/* Background jobs. */
/** A queued job; STORE_NONE (nothing added) when a queued job of its kind has its dedupe key. */
enum store_rc store_job_insert(struct store *s, const struct job *j);
/**
 * Claims the queued job with the earliest run_after not after @now whose lease is free or ran
 * out: leased to @owner until @now + @lease_ms, its attempts counted, into @out (STORE_ONE);
 * STORE_NONE when there is none. Two claims never get one job while the first lease lasts,
 * whatever process makes them (PostgreSQL: FOR UPDATE SKIP LOCKED).
 */
enum store_rc store_job_claim(struct store *s, const char *owner, int64_t now, int64_t lease_ms,
                              struct arena *a, struct job *out);
/**
 * Ends @owner's lease of job @id: JOB_DONE, JOB_FAILED with @error, or JOB_QUEUED again at
 * @run_after with @error (a retry). STORE_NONE when @owner no longer holds it (its lease ran out
 * and another worker claimed the job).
 */
enum store_rc store_job_finish(struct store *s, const char *id, const char *owner,
                               enum job_state state, int64_t run_after, const char *error,
                               int64_t now);
enum store_rc store_job_get(struct store *s, const char *id, struct arena *a, struct job *out);
/** At most @limit jobs in @state, the latest changed first. */
enum store_rc store_jobs_list(struct store *s, enum job_state state, int64_t limit, struct arena *a,
                              struct job **out, size_t *n);

/* Rate limits, kept in the database so that every server process sees the same counts. */
/**
 * Counts one event for @key in a fixed window of @window_ms starting at its first event;
 * *@count is the number of events in the current window including this one, and *@reset_at
 * when the window ends.
 */
enum store_rc store_ratelimit_hit(struct store *s, const char *key, int64_t now, int64_t window_ms,
                                  int64_t *count, int64_t *reset_at);
/** Reads the count of @key without counting (0 when its window is over). */
enum store_rc store_ratelimit_peek(struct store *s, const char *key, int64_t now, int64_t window_ms,
                                   int64_t *count, int64_t *reset_at);
/** Forgets @key. */
enum store_rc store_ratelimit_clear(struct store *s, const char *key);
/** Forgets every key whose window started before @before (so the table does not grow). */
enum store_rc store_ratelimit_prune(struct store *s, int64_t before);

#endif /* CONSIGN_STORE_H */
