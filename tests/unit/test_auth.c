/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Passwords, API keys, tokens and the policy table. */
#include "core/compat.h"

#include "auth/auth.h"
#include "core/clock.h"
#include "tap.h"

int main(void)
{
    uint8_t secret[AUTH_SECRET_LEN] = { 1, 2, 3 }, other[AUTH_SECRET_LEN] = { 9 };
    uint8_t h1[API_KEY_HASH_LEN], h2[API_KEY_HASH_LEN];
    char id[ID_LEN + 1], id2[ID_LEN + 1], key[AUTH_API_KEY_LEN + 1], uid[ID_LEN + 1];
    char *hash, *tok, *tampered;
    int64_t now = clock_now_ms() / 1000;
    json_t *claims;

    if (!auth_init())
        return 99;
    hash = auth_password_hash(STR_LIT("correct horse"));
    ok(hash && strncmp(hash, "$argon2id$", 10) == 0, "Argon2id hash");
    ok(auth_password_verify(hash, STR_LIT("correct horse")), "right password");
    ok(!auth_password_verify(hash, STR_LIT("correct hors")), "wrong password");
    ok(!auth_password_verify(NULL, STR_LIT("x")), "no hash");
    free(hash);

    auth_api_key_new(id, key, h1);
    is_int(strlen(key), AUTH_API_KEY_LEN, "key length");
    ok(strncmp(key, id, ID_LEN) == 0, "key starts with its id");
    ok(auth_api_key_parse(str_from(key), id2, h2), "key parses");
    ok(strcmp(id, id2) == 0 && auth_hash_equal(h1, h2), "parsed id and hash match");
    key[40] = key[40] == 'A' ? 'B' : 'A';
    ok(auth_api_key_parse(str_from(key), id2, h2) && !auth_hash_equal(h1, h2),
       "changed secret, other hash");
    ok(!auth_api_key_parse((struct str){ key, AUTH_API_KEY_LEN - 1 }, id2, h2),
       "short key refused");
    {
        char alias[AUTH_API_KEY_LEN + 1];

        auth_api_key_new(id, alias, h1);
        alias[ID_LEN] = (char)0x80;
        ok(!auth_api_key_parse(str_from(alias), id2, h2), "a byte outside base64url is refused");
    }
    key[68] = '=';
    ok(!auth_api_key_parse(str_from(key), id2, h2), "padding refused");
    ok(!auth_api_key_parse(STR_LIT(""), id2, h2), "empty key refused");

    tok = auth_user_token_new(secret, "01M8166BWWZP2J6X829RJMGMBZ", now);
    ok(auth_user_token_check(secret, str_from(tok), now, uid), "token verifies");
    is_str(uid, "01M8166BWWZP2J6X829RJMGMBZ", "token names its user");
    ok(!auth_user_token_check(other, str_from(tok), now, uid), "another secret refuses it");
    ok(!auth_user_token_check(secret, str_from(tok), now + AUTH_USER_TOKEN_TTL_S, uid), "expired");
    tampered = xstrdup(tok);
    tampered[strlen(tampered) - 2] ^= 1;
    ok(!auth_user_token_check(secret, str_from(tampered), now, uid), "changed signature refused");
    free(tampered);
    tampered = xstrdup(tok);
    tampered[40] ^= 1;
    ok(!auth_user_token_check(secret, str_from(tampered), now, uid), "changed payload refused");
    free(tampered);
    free(tok);
    claims = json_pack("{s:s, s:s, s:I}", "typ", "package", "sub", "01M8166BWWZP2J6X829RJMGMBZ",
                       "exp", (json_int_t)(now + 60));
    tok = auth_jwt_sign(secret, claims);
    json_decref(claims);
    claims = auth_jwt_verify(secret, str_from(tok), now);
    ok(claims && strcmp(json_string_value(json_object_get(claims, "typ")), "package") == 0,
       "generic token verifies with its claims");
    ok(!auth_user_token_check(secret, str_from(tok), now, uid),
       "a token of another type is no user token");
    json_decref(claims);
    free(tok);
    tok = auth_user_token_new(secret, "01M8166BWWZP2J6X829RJMGMBZ", now);
    tampered = xstrdup(tok);
    tampered[strlen(tampered) - 5] = (char)0xDF;
    ok(!auth_user_token_check(secret, str_from(tampered), now, uid),
       "a high byte in the signature is refused");
    free(tampered);
    free(tok);
    {
        struct package_grant g;

        tok = auth_package_token_new(secret, "01M8166BWWZP2J6X829RJMGMBZ", PACKAGE_LEVEL_DOWNLOAD,
                                     NULL, now);
        ok(auth_package_token_check(secret, str_from(tok), now, &g) &&
               strcmp(g.package_id, "01M8166BWWZP2J6X829RJMGMBZ") == 0 &&
               g.level == PACKAGE_LEVEL_DOWNLOAD && g.user_id[0] == '\0',
           "package token: package, level d, no user");
        ok(!auth_user_token_check(secret, str_from(tok), now, uid),
           "a package token is no user token");
        ok(!auth_package_token_check(secret, str_from(tok), now + AUTH_PACKAGE_TOKEN_TTL_S, &g),
           "package token expires");
        claims = auth_jwt_verify(secret, str_from(tok), now);
        ok(claims && json_is_false(json_object_get(claims, "imp")) &&
               strcmp(json_string_value(json_object_get(claims, "typ")), "package") == 0,
           "with MASV's claims");
        json_decref(claims);
        free(tok);
        tok = auth_package_token_new(secret, "01M8166BWWZP2J6X829RJMGMBZ", PACKAGE_LEVEL_FULL,
                                     "01M8166BWWRSVMQPJDT5H1859Z", now);
        ok(auth_package_token_check(secret, str_from(tok), now, &g) &&
               g.level == PACKAGE_LEVEL_FULL &&
               strcmp(g.user_id, "01M8166BWWRSVMQPJDT5H1859Z") == 0,
           "package token: level f, its user");
        ok(!auth_package_token_check(other, str_from(tok), now, &g), "another secret refuses it");
        free(tok);
    }
    ok(!auth_jwt_verify(secret, STR_LIT("a.b"), now), "two parts refused");
    ok(!auth_jwt_verify(secret, STR_LIT("a.b.c.d"), now), "four parts refused");
    /* A token with alg "none" and no signature must never pass. */
    ok(!auth_jwt_verify(secret, STR_LIT("eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9."), now),
       "alg none refused");

    ok(role_can(ROLE_OWNER, TEAM_MANAGE_KEYS) && role_can(ROLE_ADMIN, TEAM_MANAGE_KEYS) &&
           role_can(ROLE_INTEGRATION_MANAGER, TEAM_MANAGE_KEYS),
       "owners, admins and integration managers manage keys");
    ok(!role_can(ROLE_MEMBER, TEAM_MANAGE_KEYS) && !role_can(ROLE_GUEST, TEAM_MANAGE_KEYS),
       "members and guests do not");
    ok(!role_can(ROLE_GUEST, TEAM_VIEW), "guests do not see the team");
    ok(role_can(ROLE_GUEST, TEAM_LIST_SPACES) && !role_can(ROLE_GUEST, TEAM_SEE_ALL_SPACES),
       "guests list only their own teamspaces");
    ok(!role_can((enum role)0, TEAM_VIEW) && !role_can((enum role)42, TEAM_VIEW),
       "unknown roles can nothing");
    is_int(role_parse("integration_manager"), ROLE_INTEGRATION_MANAGER, "role names");
    is_int(role_parse("root"), 0, "unknown role name");
    {
        /* A webhook's secret derives from its id (against Python's hmac module); a delivery is
         * signed with that text as the key, as a receiver checks it (RFC 4231, case 2, too). */
        char ws[AUTH_SIG_LEN + 1], ws2[AUTH_SIG_LEN + 1], sig[AUTH_WEBHOOK_SIG_HEX + 1];
        const char body[] = "{\"event\":\"package.created\"}";

        auth_webhook_secret(secret, "01M8166BWWZP2J6X829RJMGMBZ", ws);
        is_str(ws, "rOoCDvLbhwEQpvqWhiqUqh0FK7WJE6GC7hARK19noDE", "a webhook secret, known answer");
        auth_webhook_secret(secret, "01M8166BWWZP2J6X829RJMGMBY", ws2);
        ok(strcmp(ws, ws2) != 0, "another webhook, another secret");
        auth_webhook_secret(other, "01M8166BWWZP2J6X829RJMGMBZ", ws2);
        ok(strcmp(ws, ws2) != 0, "another server secret, another");
        auth_webhook_sign(ws, body, strlen(body), sig);
        is_str(sig, "80d9539d0bde69a0874dd4535a7c1e62a40601ad91d98ba9d73b4b2b79d101d6",
               "a delivery's signature, known answer");
        auth_webhook_sign("Jefe", "what do ya want for nothing?", 28, sig);
        is_str(sig, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
               "HMAC-SHA256 of RFC 4231 case 2");
    }
    {
        /* HMAC-SHA256 against Python's hmac module, with a message of more than one block and
         * the key switched between calls (the per-thread keyed state must follow it). */
        uint8_t k[AUTH_SECRET_LEN];
        char sig[AUTH_SIG_LEN + 1], a200[201];

        for (size_t i = 0; i < sizeof(k); i++)
            k[i] = (uint8_t)i;
        memset(a200, 'a', 200);
        a200[200] = '\0';
        auth_url_sign(k, "GET /storage/files/x 1700000000", sig);
        is_str(sig, "pD7ODt7c_BjhIKhVxmlIycQY4bRtud6KmD8z9qtTan4", "HMAC-SHA256 known answer");
        auth_url_sign(secret, "GET /storage/files/x 1700000000", sig);
        ok(strcmp(sig, "pD7ODt7c_BjhIKhVxmlIycQY4bRtud6KmD8z9qtTan4") != 0, "another key differs");
        auth_url_sign(k, a200, sig);
        is_str(sig, "cANPrr6mmaO2p47Dcrl6g5BhNIdFRUVTKcDepezN5u4", "a multi-block message");
    }
    {
        /* A link consign makes itself: its secret derives from its id, and resolves as any. */
        char k1[AUTH_API_KEY_LEN + 1], k2[AUTH_API_KEY_LEN + 1];

        auth_link_secret(secret, "01M8166BWWZP2J6X829RJMGMBZ", k1, h1);
        is_int(strlen(k1), AUTH_API_KEY_LEN, "a derived link key has a key's length");
        ok(auth_api_key_parse(str_from(k1), id2, h2) && auth_hash_equal(h1, h2) &&
               strcmp(id2, "01M8166BWWZP2J6X829RJMGMBZ") == 0,
           "a derived link secret parses to its id and the hash stored");
        auth_link_secret(secret, "01M8166BWWZP2J6X829RJMGMBZ", k2, h2);
        ok(strcmp(k1, k2) == 0, "deriving again gives the same secret");
        auth_link_secret(other, "01M8166BWWZP2J6X829RJMGMBZ", k2, h2);
        ok(strcmp(k1, k2) != 0 && !auth_hash_equal(h1, h2), "another server secret, another");
        auth_link_secret(secret, "01M8166BWWZP2J6X829RJMGMBY", k2, h2);
        ok(strcmp(k1 + ID_LEN, k2 + ID_LEN) != 0, "another link, another secret");
    }
    return done_testing();
}
