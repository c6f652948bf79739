/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * In-process API calls for tests: a fresh data directory, the real route table and dispatcher,
 * and requests run through http_loopback() exactly as the server runs them.
 */
#ifndef CONSIGN_TEST_LOOP_H
#define CONSIGN_TEST_LOOP_H

#include "api/api.h"

/** Creates team @name with owner @email (password @password) and a key; bails out on failure. */
void loop_team(const char *name, const char *email, const char *password, struct provisioned *out);
/** Adds @email to @team_id with @role and a key; bails out on failure. */
void loop_member(const char *team_id, const char *email, const char *password, enum role role,
                 struct provisioned *out);

/** The answer of one call; release with loop_free(). */
struct loop_resp {
    unsigned status;
    json_t *json; /* parsed body, or NULL */
    char *body;
    struct req rq;
};

/** Sets up a temporary data directory and the app; false on failure. */
bool loop_init(void);
/** Removes the data directory. */
void loop_done(void);
/** The environment (secret, store config) of the app. */
struct api_env *loop_env(void);
/** The store connection of the test thread. */
struct store *loop_store(void);
/**
 * Calls @method @target with @body (may be NULL) and credentials: @key for X-API-KEY or, when it
 * starts with "token:", X-User-Token. NULL @key sends none.
 */
struct loop_resp loop_call(const char *method, const char *target, const char *key,
                           const char *body);
/** Like loop_call() with a NULL-terminated list of extra "Name: value" headers. */
struct loop_resp loop_call_h(const char *method, const char *target, const char *const *headers,
                             const char *body, size_t body_len);
void loop_free(struct loop_resp *r);
/** The registry code of an error answer (errors[0].code), or 0. */
int loop_err_code(const struct loop_resp *r);
/** Value of a response header, or NULL. */
const char *loop_header(const struct loop_resp *r, const char *name);

#endif
