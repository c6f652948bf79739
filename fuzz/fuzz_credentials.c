/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Credentials as clients present them, with a fixed secret and a fixed "now":
 *  - auth_api_key_parse(): on success the id is the first 26 characters and valid, the secret
 *    part is the canonical base64url of 32 bytes and the hash is SHA-256 of those bytes;
 *  - auth_jwt_verify() and auth_user_token_check() on the input as a token; a token accepted
 *    is made only of base64url characters and dots;
 *  - the same with the input's first two dot-separated parts re-signed with the secret, so the
 *    code behind the signature check (header and claims decoding, "alg", "exp") sees arbitrary
 *    bytes: whatever it accepts has alg HS256 and an integer exp after now;
 *  - when the input is a JSON object: it is signed as claims (with an "exp" in the future) by
 *    auth_jwt_sign(), and auth_jwt_verify() must give back equal claims, refuse it once expired,
 *    and refuse it with another secret;
 *  - when the input is an id: auth_user_token_new() then auth_user_token_check() gives it back.
 */
#include "fuzz.h"

#include <jansson.h>
#include <sodium.h>

#include "auth/auth.h"
#include "core/id.h"

#define NOW_S 1700000000LL

static const uint8_t secret[AUTH_SECRET_LEN] = "consign-fuzz-secret-0123456789ab";
static const uint8_t other[AUTH_SECRET_LEN] = "consign-fuzz-other--0123456789ab";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!auth_init())
        abort();
    return 0;
}

static void check_claims(json_t *claims, const char *what)
{
    json_t *exp;

    if (!claims)
        return;
    FUZZ_CHECK(json_is_object(claims), "%s: claims are not an object", what);
    exp = json_object_get(claims, "exp");
    FUZZ_CHECK(json_is_integer(exp) && json_integer_value(exp) > NOW_S,
               "%s: accepted without a future integer exp", what);
}

/* True when @s has only characters of the base64url alphabet and dots. */
static bool token_alphabet(struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static void check_user_token(struct str token, const char *what)
{
    char uid[ID_LEN + 1];

    memset(uid, 'x', sizeof(uid));
    if (auth_user_token_check(secret, token, NOW_S, uid))
        FUZZ_CHECK(uid[ID_LEN] == '\0' && id_is_valid((struct str){ uid, ID_LEN }),
                   "%s: user token check gave a bad id", what);
}

static void api_key(struct str in)
{
    char id[ID_LEN + 1];
    uint8_t hash[API_KEY_HASH_LEN], raw[64], want[API_KEY_HASH_LEN];
    char again[64];
    size_t n = 0;

    if (!auth_api_key_parse(in, id, hash))
        return;
    FUZZ_CHECK(in.len == AUTH_API_KEY_LEN, "a key of %zu characters parsed", in.len);
    FUZZ_CHECK(strlen(id) == ID_LEN && memcmp(id, in.ptr, ID_LEN) == 0 && id_is_valid(str_from(id)),
               "the id is not the key's first %d characters", ID_LEN);
    FUZZ_CHECK(sodium_base642bin(raw, sizeof(raw), in.ptr + ID_LEN, in.len - ID_LEN, NULL, &n, NULL,
                                 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
                   n == 32,
               "the secret part is not base64url of 32 bytes");
    sodium_bin2base64(again, sizeof(again), raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    FUZZ_CHECK(strlen(again) == in.len - ID_LEN &&
                   memcmp(again, in.ptr + ID_LEN, strlen(again)) == 0,
               "two spellings of one key secret are accepted: '%.*s' and '%s'",
               (int)(in.len - ID_LEN), in.ptr + ID_LEN, again);
    crypto_hash_sha256(want, raw, n);
    FUZZ_CHECK(memcmp(want, hash, sizeof(want)) == 0, "the hash is not SHA-256 of the secret");
}

/* The first two dot-separated parts of @in, signed with the secret. */
static void resigned(struct str in)
{
    struct str rest = in, h, p;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    char sig[sodium_base64_ENCODED_LEN(sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    crypto_auth_hmacsha256_state st;
    char *token;
    size_t len;
    json_t *claims;

    if (!str_next(&rest, '.', &h) || !str_next(&rest, '.', &p))
        return;
    crypto_auth_hmacsha256_init(&st, secret, sizeof(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)h.ptr, h.len + 1 + p.len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(sig, sizeof(sig), mac, sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    len = h.len + 1 + p.len + 1 + strlen(sig);
    token = xmalloc(len);
    memcpy(token, h.ptr, h.len + 1 + p.len);
    token[h.len + 1 + p.len] = '.';
    memcpy(token + h.len + 2 + p.len, sig, strlen(sig));

    claims = auth_jwt_verify(secret, (struct str){ token, len }, NOW_S);
    if (claims) {
        uint8_t hdr[4096];
        size_t hn = 0;
        const char *end = NULL;
        json_t *header;
        json_error_t e;

        check_claims(claims, "re-signed token");
        FUZZ_CHECK(len <= AUTH_TOKEN_MAX, "a token of %zu bytes accepted", len);
        FUZZ_CHECK(sodium_base642bin(hdr, sizeof(hdr), h.ptr, h.len, NULL, &hn, &end,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
                       end == h.ptr + h.len,
                   "accepted a header that is not base64url");
        header = json_loadb((const char *)hdr, hn, 0, &e);
        FUZZ_CHECK(header && json_is_string(json_object_get(header, "alg")) &&
                       strcmp(json_string_value(json_object_get(header, "alg")), "HS256") == 0,
                   "accepted a header without alg HS256");
        json_decref(header);
        json_decref(claims);
    }
    check_user_token((struct str){ token, len }, "re-signed token");
    free(token);
}

static void sign_claims(const uint8_t *data, size_t size)
{
    json_error_t e;
    json_t *claims = json_loadb((const char *)data, size, 0, &e), *back;
    char *token;
    size_t len;

    if (!claims)
        return;
    if (!json_is_object(claims)) {
        json_decref(claims);
        return;
    }
    json_object_set_new(claims, "exp", json_integer(NOW_S + 3600));
    token = auth_jwt_sign(secret, claims);
    FUZZ_CHECK(token, "auth_jwt_sign gave NULL");
    len = strlen(token);
    if (len <= AUTH_TOKEN_MAX) {
        back = auth_jwt_verify(secret, (struct str){ token, len }, NOW_S);
        FUZZ_CHECK(back, "a token auth_jwt_sign made (%zu bytes) does not verify", len);
        FUZZ_CHECK(json_equal(back, claims), "the verified claims differ from those signed");
        json_decref(back);
        FUZZ_CHECK(!auth_jwt_verify(secret, (struct str){ token, len }, NOW_S + 3600),
                   "an expired token verifies");
        FUZZ_CHECK(!auth_jwt_verify(other, (struct str){ token, len }, NOW_S),
                   "a token verifies with another secret");
        check_user_token((struct str){ token, len }, "signed claims");
    } else {
        FUZZ_CHECK(!auth_jwt_verify(secret, (struct str){ token, len }, NOW_S),
                   "a token of %zu bytes verifies", len);
    }
    free(token);
    json_decref(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = xmemdup0(data, size);
    struct str in = { copy, size };
    json_t *claims;

    api_key(in);
    claims = auth_jwt_verify(secret, in, NOW_S);
    check_claims(claims, "input token");
    FUZZ_CHECK(!claims || token_alphabet(in),
               "a token with bytes outside base64url verifies (another spelling of a signed one)");
    json_decref(claims);
    check_user_token(in, "input token");
    resigned(in);
    sign_claims(data, size);
    if (id_is_valid(in)) {
        char *tok = auth_user_token_new(secret, copy, NOW_S), uid[ID_LEN + 1];

        FUZZ_CHECK(auth_user_token_check(secret, str_from(tok), NOW_S, uid) &&
                       strcmp(uid, copy) == 0,
                   "a user token for %s does not check", copy);
        FUZZ_CHECK(
            !auth_user_token_check(secret, str_from(tok), NOW_S + AUTH_USER_TOKEN_TTL_S, uid),
            "a user token outlives its TTL");
        free(tok);
    }
    free(copy);
    return 0;
}
