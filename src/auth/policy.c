/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Credentials to principal, the access policy and account provisioning. The policy table below
 * is the one place that says what each role may do; handlers ask auth_team_access() and never
 * compare roles themselves.
 */
#include "core/compat.h"
#include "auth/auth.h"

#define LOG_COMPONENT "auth"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "json/jspec.h"

/* Rows: roles; columns: enum team_action. */
/* clang-format off */
static const bool policy[][9] = {
    /*                             VIEW   KEYS   SPACES ALL_SP LIST_SP PKGS   ALL_PKG DEL_TAG HOOKS */
    [ROLE_OWNER] =               { true,  true,  true,  true,  true,   true,  true,   true,   true },
    [ROLE_ADMIN] =               { true,  true,  true,  true,  true,   true,  true,   true,   true },
    [ROLE_MEMBER] =              { true,  false, false, false, true,   true,  false,  false,  false },
    [ROLE_GUEST] =               { false, false, false, false, true,   false, false,  false,  false },
    [ROLE_INTEGRATION_MANAGER] = { true,  true,  false, false, true,   true,  false,  false,  false },
};
/* clang-format on */

bool role_can(enum role role, enum team_action action)
{
    if ((size_t)role >= ARRAY_LEN(policy) || role == 0 || (size_t)action >= ARRAY_LEN(policy[0]))
        return false;
    return policy[role][action];
}

static enum err store_err(enum store_rc rc)
{
    return rc == STORE_RETRY ? ERR_STORE_UNAVAILABLE : ERR_INTERNAL;
}

struct resolve_ctx {
    struct str api_key;
    const char *team_id; /* or NULL */
    char user_id[ID_LEN + 1];
    int64_t now;
    struct arena *a;
    struct principal *out;
    enum err result;
};

static enum store_rc resolve_txn(struct store *s, void *vctx)
{
    struct resolve_ctx *c = vctx;
    struct principal *p = c->out;
    enum store_rc rc;

    c->result = ERR_AUTH_INVALID;
    if (c->api_key.ptr) {
        struct api_key k;
        uint8_t hash[API_KEY_HASH_LEN];
        char id[ID_LEN + 1];

        if (!auth_api_key_parse(c->api_key, id, hash))
            return STORE_NONE;
        rc = store_api_key_get(s, id, c->a, &k);
        if (rc != STORE_ONE)
            return rc;
        if (!auth_hash_equal(hash, k.secret_hash) || k.state != API_KEY_ACTIVE ||
            (k.expiry != TIME_UNSET && k.expiry <= c->now))
            return STORE_NONE;
        p->kind = PRINCIPAL_API_KEY;
        memcpy(p->key_id, k.id, sizeof(p->key_id));
        memcpy(p->key_team_id, k.team_id, sizeof(p->key_team_id));
        memcpy(c->user_id, k.user_id, sizeof(c->user_id));
    } else {
        p->kind = PRINCIPAL_USER_TOKEN;
    }
    rc = store_user_get(s, c->user_id, c->a, &p->user);
    if (rc != STORE_ONE)
        return rc;
    c->result = ERR_OK;
    /* A key works in its own team only: for another, auth_team_access() answers without this. */
    if (c->team_id && (p->kind != PRINCIPAL_API_KEY || strcmp(p->key_team_id, c->team_id) == 0)) {
        rc = store_membership_get(s, c->team_id, p->user.id, c->a, &p->membership);
        if (rc < 0)
            return rc;
        p->team_checked = true;
        p->team_member = rc == STORE_ONE;
        memcpy(p->team_id, c->team_id, sizeof(p->team_id));
    }
    return STORE_ONE;
}

enum err auth_resolve(struct store *s, const uint8_t secret[AUTH_SECRET_LEN], struct str api_key,
                      struct str user_token, struct str team_id, int64_t now, struct arena *a,
                      struct principal *out)
{
    struct resolve_ctx c = { .now = now, .a = a, .out = out };
    char team[ID_LEN + 1];
    enum store_rc rc;

    memset(out, 0, sizeof(*out));
    if (api_key.ptr) {
        c.api_key = api_key;
    } else if (user_token.ptr) {
        if (!auth_user_token_check(secret, user_token, now / 1000, c.user_id))
            return ERR_AUTH_INVALID;
    } else {
        return ERR_AUTH_REQUIRED;
    }
    if (team_id.ptr && id_is_valid(team_id)) {
        memcpy(team, team_id.ptr, ID_LEN);
        team[ID_LEN] = '\0';
        c.team_id = team;
    }
    rc = store_run(s, "auth.resolve", STORE_READ, resolve_txn, &c);
    if (rc < 0)
        return store_err(rc);
    if (c.result != ERR_OK)
        memset(out, 0, sizeof(*out));
    return c.result;
}

struct access_ctx {
    const char *team_id;
    const char *user_id;
    struct arena *a;
    struct membership *m;
};

static enum store_rc access_txn(struct store *s, void *vctx)
{
    struct access_ctx *c = vctx;

    return store_membership_get(s, c->team_id, c->user_id, c->a, c->m);
}

enum err auth_team_access(struct store *s, const struct principal *p, struct str team_id,
                          enum team_action action, struct arena *a, struct membership *membership)
{
    struct access_ctx c = { .user_id = p->user.id, .a = a, .m = membership };
    char id[ID_LEN + 1];
    enum store_rc rc;

    if (!id_is_valid(team_id) || p->kind == PRINCIPAL_NONE)
        return ERR_NOT_FOUND;
    memcpy(id, team_id.ptr, ID_LEN);
    id[ID_LEN] = '\0';
    /* A key works in its own team only; elsewhere the team is simply not there. */
    if (p->kind == PRINCIPAL_API_KEY && strcmp(p->key_team_id, id) != 0)
        return ERR_NOT_FOUND;
    c.team_id = id;
    if (p->team_checked && strcmp(p->team_id, id) == 0) {
        /* Read with the credentials: the same transaction's view. */
        if (p->team_member)
            *membership = p->membership;
        rc = p->team_member ? STORE_ONE : STORE_NONE;
    } else {
        rc = store_run(s, "auth.team_access", STORE_READ, access_txn, &c);
        if (rc < 0)
            return store_err(rc);
    }
    if (rc == STORE_NONE)
        return ERR_NOT_FOUND;
    return role_can(membership->role, action) ? ERR_OK : ERR_FORBIDDEN;
}

/* ---- provisioning ---- */

struct provision_ctx {
    const char *team_id; /* existing team, or NULL to create one named team_name */
    const char *team_name;
    const char *email;
    const char *password_hash; /* for a new user */
    struct str password;
    enum role role;
    struct provisioned *out;
    struct arena a;
    enum err result;
    char why[160];
};

static void user_name_from_email(const char *email, char *out, size_t cap)
{
    const char *at = strchr(email, '@');
    size_t n = at ? (size_t)(at - email) : strlen(email);

    snprintf(out, cap, "%.*s", (int)n, email);
}

static enum store_rc provision_txn(struct store *s, void *vctx)
{
    struct provision_ctx *c = vctx;
    struct provisioned *out = c->out;
    int64_t now = clock_now_ms();
    struct user u = { 0 };
    struct membership m = { 0 };
    struct api_key k = { 0 };
    enum store_rc rc;

    arena_release(&c->a);
    c->result = ERR_INTERNAL;
    if (c->team_id) {
        struct team t;

        rc = store_team_get(s, c->team_id, &c->a, &t);
        if (rc == STORE_NONE) {
            c->result = ERR_NOT_FOUND;
            snprintf(c->why, sizeof(c->why), "no team '%s'", c->team_id);
        }
        if (rc != STORE_ONE)
            return rc;
        memcpy(out->team_id, t.id, sizeof(out->team_id));
    } else {
        struct team t = { .name = (char *)c->team_name, .created_at = now, .updated_at = now };

        id_new(t.id);
        rc = store_team_insert(s, &t);
        if (rc != STORE_ONE)
            return rc < 0 ? rc : STORE_HARD;
        memcpy(out->team_id, t.id, sizeof(out->team_id));
    }
    rc = store_user_by_email(s, c->email, &c->a, &u);
    if (rc < 0)
        return rc;
    out->user_existed = rc == STORE_ONE;
    if (rc == STORE_NONE) {
        char name[128];

        id_new(u.id);
        u.email = (char *)c->email;
        user_name_from_email(c->email, name, sizeof(name));
        u.name = name;
        u.password_hash = (char *)c->password_hash;
        u.created_at = u.updated_at = now;
        rc = store_user_insert(s, &u);
        if (rc != STORE_ONE)
            return rc < 0 ? rc : STORE_RETRY; /* inserted meanwhile by someone else */
    }
    memcpy(out->user_id, u.id, sizeof(out->user_id));
    id_new(m.id);
    memcpy(m.team_id, out->team_id, sizeof(m.team_id));
    memcpy(m.user_id, u.id, sizeof(m.user_id));
    m.role = c->role;
    m.created_at = m.updated_at = now;
    rc = store_membership_insert(s, &m);
    if (rc == STORE_NONE) {
        c->result = ERR_ALREADY_EXISTS;
        snprintf(c->why, sizeof(c->why), "'%s' is already a member of team %s", c->email,
                 out->team_id);
        return STORE_NONE;
    }
    if (rc < 0)
        return rc;
    memcpy(out->membership_id, m.id, sizeof(out->membership_id));
    auth_api_key_new(k.id, out->api_key, k.secret_hash);
    memcpy(k.team_id, out->team_id, sizeof(k.team_id));
    memcpy(k.user_id, u.id, sizeof(k.user_id));
    memcpy(k.membership_id, m.id, sizeof(k.membership_id));
    k.name = "default";
    k.description = "created with the membership";
    k.expiry = TIME_UNSET;
    k.state = API_KEY_ACTIVE;
    k.created_at = k.updated_at = now;
    rc = store_api_key_insert(s, &k);
    if (rc != STORE_ONE)
        return rc < 0 ? rc : STORE_HARD;
    c->result = ERR_OK;
    return STORE_ONE;
}

static enum err provision(struct store *s, struct provision_ctx *c, char *why, size_t why_cap)
{
    enum store_rc rc;
    char *hash, email[256];

    if (c->password.len < AUTH_PASSWORD_MIN || c->password.len > AUTH_PASSWORD_MAX) {
        snprintf(why, why_cap, "the password must have %d to %d characters", AUTH_PASSWORD_MIN,
                 AUTH_PASSWORD_MAX);
        return ERR_INVALID_FIELD;
    }
    if (!email_is_valid(str_from(c->email))) {
        snprintf(why, why_cap, "'%.200s' is not an e-mail address", c->email);
        return ERR_INVALID_FIELD;
    }
    /* Addresses are kept lowercase so that one person is one user. */
    snprintf(email, sizeof(email), "%s", c->email);
    for (char *p = email; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    c->email = email;
    hash = auth_password_hash(c->password);
    if (!hash) {
        snprintf(why, why_cap, "cannot hash the password");
        return ERR_INTERNAL;
    }
    c->password_hash = hash;
    arena_init(&c->a);
    rc = store_run(s, "auth.provision", STORE_WRITE, provision_txn, c);
    arena_release(&c->a);
    free(hash);
    if (rc < 0) {
        snprintf(why, why_cap, "%s",
                 rc == STORE_RETRY ? "the database stayed busy" : "database failure");
        return store_err(rc);
    }
    if (c->result != ERR_OK)
        snprintf(why, why_cap, "%s", c->why);
    return c->result;
}

enum err auth_provision_team(struct store *s, const char *team_name, const char *email,
                             struct str password, struct provisioned *out, char *why,
                             size_t why_cap)
{
    struct provision_ctx c = {
        .team_name = team_name, .email = email, .password = password, .role = ROLE_OWNER, .out = out
    };

    memset(out, 0, sizeof(*out));
    if (!team_name || !team_name[0] || strlen(team_name) > 255) {
        snprintf(why, why_cap, "the team name must have 1 to 255 characters");
        return ERR_INVALID_FIELD;
    }
    return provision(s, &c, why, why_cap);
}

enum err auth_provision_member(struct store *s, const char *team_id, const char *email,
                               struct str password, enum role role, struct provisioned *out,
                               char *why, size_t why_cap)
{
    struct provision_ctx c = {
        .team_id = team_id, .email = email, .password = password, .role = role, .out = out
    };

    memset(out, 0, sizeof(*out));
    if (!id_is_valid(str_from(team_id))) {
        snprintf(why, why_cap, "no team '%s'", team_id);
        return ERR_NOT_FOUND;
    }
    return provision(s, &c, why, why_cap);
}
