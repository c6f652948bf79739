/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Who a caller is and what they may do: password hashing (Argon2id), API keys (random, stored
 * as a hash, compared in constant time), signed tokens (HS256 JWT), account provisioning, and
 * the access policy, the one place that decides what a role may do in a team.
 * Thread-safe once auth_init() has returned.
 */
#ifndef CONSIGN_AUTH_H
#define CONSIGN_AUTH_H

#include "core/compat.h"

#include <jansson.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/store.h"

/** Bytes of the server's signing secret. */
#define AUTH_SECRET_LEN 32
/** Length of an API key as shown to its owner: a 26-character id and 43 characters of secret. */
#define AUTH_API_KEY_LEN 69
/** Longest password accepted (it is hashed, so the cap only bounds the work). */
#define AUTH_PASSWORD_MAX 1024
#define AUTH_PASSWORD_MIN 8
/** Longest token accepted before any parsing. */
#define AUTH_TOKEN_MAX 4096
/** Lifetime of a user token. */
#define AUTH_USER_TOKEN_TTL_S (24 * 3600)

/** Initialises libsodium; false when it cannot be used. Call once before anything else. */
MUST_CHECK bool auth_init(void);

/** Argon2id hash of @password in libsodium's string form (malloc'd), or NULL on failure. */
char *auth_password_hash(struct str password);
/** True when @password matches @hash. Constant time in the password. */
bool auth_password_verify(const char *hash, struct str password);
/** Spends the time of one verification, so a missing account answers as slowly as a wrong password. */
void auth_password_burn(struct str password);

/** A new API key: its id, the value shown once (NUL-terminated), and the hash to store. */
void auth_api_key_new(char id[ID_LEN + 1], char key[AUTH_API_KEY_LEN + 1],
                      uint8_t hash[API_KEY_HASH_LEN]);
/** Splits a presented key into its id and the hash of its secret; false when malformed. */
bool auth_api_key_parse(struct str key, char id[ID_LEN + 1], uint8_t hash[API_KEY_HASH_LEN]);
/** Constant-time comparison of two key hashes. */
bool auth_hash_equal(const uint8_t a[API_KEY_HASH_LEN], const uint8_t b[API_KEY_HASH_LEN]);
/**
 * True when @given is the text @want (a short code shared with outsiders, such as a portal's
 * access code). Both are hashed and the hashes compared in constant time, so the time taken
 * tells nothing of where they differ or of @want's length.
 */
bool auth_code_equal(struct str given, const char *want);

/** Signs @claims (borrowed) as an HS256 JWT; malloc'd result. */
char *auth_jwt_sign(const uint8_t secret[AUTH_SECRET_LEN], const json_t *claims);
/**
 * Verifies an HS256 JWT: shape, algorithm, signature (constant time), and "exp" after @now_s.
 * Returns the claims (the caller decrefs) or NULL.
 */
json_t *auth_jwt_verify(const uint8_t secret[AUTH_SECRET_LEN], struct str token, int64_t now_s);
/** A user token for @user_id valid for AUTH_USER_TOKEN_TTL_S from @now_s; malloc'd. */
char *auth_user_token_new(const uint8_t secret[AUTH_SECRET_LEN], const char *user_id,
                          int64_t now_s);
/** Checks a user token and gives its user id; false when invalid or expired. */
bool auth_user_token_check(const uint8_t secret[AUTH_SECRET_LEN], struct str token, int64_t now_s,
                           char user_id[ID_LEN + 1]);
/** What a package token allows. */
enum package_level {
    PACKAGE_LEVEL_FULL = 'f',     /* add files, links, expiry, rename, delete */
    PACKAGE_LEVEL_DOWNLOAD = 'd', /* list and download only */
};

/** Lifetime of a package token. */
#define AUTH_PACKAGE_TOKEN_TTL_S (30 * 86400)

/** What a valid package token grants. */
struct package_grant {
    char package_id[ID_LEN + 1];
    enum package_level level;
    char user_id[ID_LEN + 1]; /* who it was issued to; empty when nobody (a portal upload) */
};

/**
 * A package token (the claims MASV uses: exp, iat, imp, lvl, sub, typ "package", uid) for
 * @package_id at @level, issued to @user_id (may be NULL). Malloc'd.
 */
char *auth_package_token_new(const uint8_t secret[AUTH_SECRET_LEN], const char *package_id,
                             enum package_level level, const char *user_id, int64_t now_s);
/** Checks a package token; false when invalid, expired or not a package token. */
bool auth_package_token_check(const uint8_t secret[AUTH_SECRET_LEN], struct str token,
                              int64_t now_s, struct package_grant *out);

/** Length of a URL signature (base64url of an HMAC-SHA256). */
#define AUTH_SIG_LEN 43
/** Signs @text (a canonical description of a request) for a URL: @out gets AUTH_SIG_LEN + 1. */
void auth_url_sign(const uint8_t secret[AUTH_SECRET_LEN], const char *text,
                   char out[AUTH_SIG_LEN + 1]);
/** True when @sig is the signature of @text; constant-time. */
bool auth_url_check(const uint8_t secret[AUTH_SECRET_LEN], const char *text, struct str sig);

/**
 * The secret of link @link_id when consign makes the link itself (one per recipient of a
 * package, sent by mail): an HMAC of the id under @secret, so that it is kept nowhere but in the
 * message that carries it, and the job that sends the message later derives it again. @key gets
 * the link's id and secret as auth_api_key_new() writes a key (the secret is @key + ID_LEN),
 * @hash what the link stores. The caller wipes @key when done.
 */
void auth_link_secret(const uint8_t secret[AUTH_SECRET_LEN], const char *link_id,
                      char key[AUTH_API_KEY_LEN + 1], uint8_t hash[API_KEY_HASH_LEN]);

/** Derives the signing secret from configured text (at least 32 characters). */
bool auth_secret_from_text(const char *text, uint8_t secret[AUTH_SECRET_LEN]);

/** How a caller proved who they are. */
enum principal_kind {
    PRINCIPAL_NONE = 0,
    PRINCIPAL_USER_TOKEN,
    PRINCIPAL_API_KEY,
    PRINCIPAL_PACKAGE, /* a package token: rights on one package, no user identity */
};

/** The authenticated caller of a request. */
struct principal {
    enum principal_kind kind;
    struct user user;
    /** For an API key: the key and the one team it works in. */
    char key_id[ID_LEN + 1];
    char key_team_id[ID_LEN + 1];
    /** For a package token: what it grants. */
    struct package_grant grant;
    /**
     * The caller's membership of the team the request addresses, read with the credentials
     * (one read instead of two); team_checked says it was looked for, in team_id.
     */
    bool team_checked;
    bool team_member;
    char team_id[ID_LEN + 1];
    struct membership membership;
};

/**
 * Resolves credentials: an API key (@api_key) or a user token (@user_token), whichever is
 * present (the key wins). ERR_AUTH_REQUIRED when neither is, ERR_AUTH_INVALID when the one given
 * is wrong, inactive, expired or its user is gone, ERR_STORE_UNAVAILABLE when the database is
 * busy. When @team_id is an id (the team a route addresses), the caller's membership of it is
 * read in the same transaction, for auth_team_access(). Strings of @out live in @a.
 */
MUST_CHECK enum err auth_resolve(struct store *s, const uint8_t secret[AUTH_SECRET_LEN],
                                 struct str api_key, struct str user_token, struct str team_id,
                                 int64_t now, struct arena *a, struct principal *out);

/** What a caller may want to do in a team. */
enum team_action {
    TEAM_VIEW,           /* see the team and its members */
    TEAM_MANAGE_KEYS,    /* create, list, change and delete API keys */
    TEAM_MANAGE_SPACES,  /* create teamspaces */
    TEAM_SEE_ALL_SPACES, /* list every teamspace, not only one's own */
    TEAM_LIST_SPACES,    /* list teamspaces at all (one's own at least) */
    TEAM_PACKAGES,       /* create packages, see one's own and one's teamspaces', use tags */
    TEAM_ALL_PACKAGES,   /* see and manage every package of the team */
    TEAM_DELETE_TAGS,    /* delete the team's tags */
    TEAM_MANAGE_HOOKS,   /* create, list, change and delete custom webhooks */
};

/** True when @role may do @action; the policy table. */
bool role_can(enum role role, enum team_action action);

/**
 * The access decision for a team route: the caller's membership of @team_id (filled into
 * @membership) and whether its role allows @action. ERR_NOT_FOUND when the team does not exist,
 * the caller is not a member, or an API key of another team is used (never a hint that the
 * team exists); ERR_FORBIDDEN when the role does not allow @action.
 */
MUST_CHECK enum err auth_team_access(struct store *s, const struct principal *p, struct str team_id,
                                     enum team_action action, struct arena *a,
                                     struct membership *membership);

/** What provisioning created. */
struct provisioned {
    char team_id[ID_LEN + 1];
    char user_id[ID_LEN + 1];
    char membership_id[ID_LEN + 1];
    char api_key[AUTH_API_KEY_LEN + 1];
    bool user_existed;
};

/**
 * Creates a team named @team_name with the user @email as its owner, and an API key for that
 * membership. A new user is created with @password; an existing one joins as the same user and
 * keeps the password it has.
 */
MUST_CHECK enum err auth_provision_team(struct store *s, const char *team_name, const char *email,
                                        struct str password, struct provisioned *out, char *why,
                                        size_t why_cap);
/**
 * Adds @email to team @team_id with @role and an API key: an existing user joins as the same
 * user (its password is kept), a new one is created with @password. ERR_ALREADY_EXISTS when
 * already a member; ERR_NOT_FOUND when the team does not exist.
 */
MUST_CHECK enum err auth_provision_member(struct store *s, const char *team_id, const char *email,
                                          struct str password, enum role role,
                                          struct provisioned *out, char *why, size_t why_cap);

/**
 * The signing secret of webhook @webhook_id, as its creator is shown it: base64url of an HMAC
 * of the id under @secret (AUTH_SIG_LEN characters and a NUL into @out). It is derived rather
 * than kept, so the database holds nothing that signs deliveries; each delivery derives it
 * again. Changing the server's secret changes every webhook's. The caller wipes @out when done.
 */
void auth_webhook_secret(const uint8_t secret[AUTH_SECRET_LEN], const char *webhook_id,
                         char out[AUTH_SIG_LEN + 1]);
/** Hex digits of a webhook signature (an HMAC-SHA256). */
#define AUTH_WEBHOOK_SIG_HEX 64
/**
 * The signature of a webhook delivery: HMAC-SHA256 of the @len bytes of @body under @key (the
 * webhook's secret text as its creator was shown it), in lowercase hex, NUL-terminated, into
 * @out. What a receiver computes to check X-Consign-Signature.
 */
void auth_webhook_sign(const char *key, const void *body, size_t len,
                       char out[AUTH_WEBHOOK_SIG_HEX + 1]);

#endif /* CONSIGN_AUTH_H */
