/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Secrets: Argon2id passwords, API keys and HS256 tokens. API keys carry their id in the clear
 * and 256 random bits of secret; only SHA-256 of the secret is stored (a random 256-bit value
 * needs no slow hash) and the comparison is constant-time. libsodium does passwords, random
 * bytes and comparisons; SHA-256 and HMAC come from OpenSSL's libcrypto, whose SHA-256 uses the
 * processor's SHA instructions: a page of fifty packages signs fifty tokens.
 */
#include "core/compat.h"
#include "auth/auth.h"

/* The low-level SHA-256 interface is deprecated in OpenSSL 3 in favour of EVP, but kept and
 * supported; see mac() for why it is used. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sodium.h>

#include "core/id.h"

/* Bytes of the random part of an API key, and its base64url length. */
#define KEY_SECRET_BYTES 32
#define KEY_SECRET_CHARS 43

_Static_assert(ID_LEN + KEY_SECRET_CHARS == AUTH_API_KEY_LEN, "API key length");

bool auth_init(void)
{
    return sodium_init() >= 0;
}

char *auth_password_hash(struct str password)
{
    char out[crypto_pwhash_STRBYTES];

    if (password.len > AUTH_PASSWORD_MAX)
        return NULL;
    if (crypto_pwhash_str_alg(out, password.ptr, password.len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return NULL;
    return xstrdup(out);
}

bool auth_password_verify(const char *hash, struct str password)
{
    if (!hash || password.len > AUTH_PASSWORD_MAX)
        return false;
    return crypto_pwhash_str_verify(hash, password.ptr, password.len) == 0;
}

static char burn_hash[crypto_pwhash_STRBYTES];
static pthread_once_t burn_once = PTHREAD_ONCE_INIT;

static void burn_init(void)
{
    /* Hashing once is enough: only the cost of verifying matters. */
    if (crypto_pwhash_str_alg(burn_hash, "consign", 7, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        burn_hash[0] = '\0';
}

void auth_password_burn(struct str password)
{
    pthread_once(&burn_once, burn_init);
    if (burn_hash[0])
        (void)auth_password_verify(burn_hash, password);
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    SHA256(p, n, out);
}

static void secret_hash(const uint8_t *secret, size_t n, uint8_t hash[API_KEY_HASH_LEN])
{
    sha256(secret, n, hash);
}

void auth_api_key_new(char id[ID_LEN + 1], char key[AUTH_API_KEY_LEN + 1],
                      uint8_t hash[API_KEY_HASH_LEN])
{
    uint8_t secret[KEY_SECRET_BYTES];

    id_new(id);
    randombytes_buf(secret, sizeof(secret));
    memcpy(key, id, ID_LEN);
    sodium_bin2base64(key + ID_LEN, KEY_SECRET_CHARS + 1, secret, sizeof(secret),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    secret_hash(secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
}

/*
 * True when @s is only base64url characters. libsodium's decoder accepts some bytes outside the
 * alphabet as aliases of characters in it, which would give one secret several spellings.
 */
static bool is_b64url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool auth_api_key_parse(struct str key, char id[ID_LEN + 1], uint8_t hash[API_KEY_HASH_LEN])
{
    uint8_t secret[KEY_SECRET_BYTES];
    size_t n = 0;
    const char *end = NULL;

    if (key.len != AUTH_API_KEY_LEN || !id_is_valid((struct str){ key.ptr, ID_LEN }) ||
        !is_b64url(key.ptr + ID_LEN, KEY_SECRET_CHARS))
        return false;
    if (sodium_base642bin(secret, sizeof(secret), key.ptr + ID_LEN, KEY_SECRET_CHARS, NULL, &n,
                          &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != sizeof(secret) || end != key.ptr + key.len)
        return false;
    memcpy(id, key.ptr, ID_LEN);
    id[ID_LEN] = '\0';
    secret_hash(secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
    return true;
}

bool auth_hash_equal(const uint8_t a[API_KEY_HASH_LEN], const uint8_t b[API_KEY_HASH_LEN])
{
    return sodium_memcmp(a, b, API_KEY_HASH_LEN) == 0;
}

bool auth_code_equal(struct str given, const char *want)
{
    uint8_t a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    bool equal;

    if (!given.ptr || !want)
        return false;
    SHA256((const unsigned char *)given.ptr, given.len, a);
    SHA256((const unsigned char *)want, strlen(want), b);
    equal = sodium_memcmp(a, b, sizeof(a)) == 0;
    sodium_memzero(a, sizeof(a));
    sodium_memzero(b, sizeof(b));
    return equal;
}

bool auth_secret_from_text(const char *text, uint8_t secret[AUTH_SECRET_LEN])
{
    if (!text || strlen(text) < 32)
        return false;
    sha256(text, strlen(text), secret);
    return true;
}

/* ---- HS256 JWT ---- */

/* The header every token has, {"alg":"HS256","typ":"JWT"}, already in base64url with its dot. */
static const char jwt_header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.";

#define MAC_LEN 32

/*
 * HMAC-SHA256 (RFC 2104) over libcrypto's SHA-256 context, which is a plain struct: the states
 * after absorbing the key's inner and outer pads are kept per thread and copied by assignment,
 * so signing fifty tokens for a page costs fifty hashes of the messages and nothing else.
 * (The EVP interface allocates on every context copy, which showed in the package lists.)
 */
static _Thread_local struct {
    bool ready;
    uint8_t secret[AUTH_SECRET_LEN];
    SHA256_CTX inner, outer;
} mac_cache;

static void mac(const uint8_t secret[AUTH_SECRET_LEN], const char *p, size_t n,
                uint8_t out[MAC_LEN])
{
    uint8_t inner[MAC_LEN];
    SHA256_CTX c;

    /* Both sides are the server's own secret: an ordinary comparison will do. */
    if (!mac_cache.ready || memcmp(mac_cache.secret, secret, AUTH_SECRET_LEN) != 0) {
        uint8_t pad[SHA256_CBLOCK];

        memset(pad, 0x36, sizeof(pad));
        for (size_t i = 0; i < AUTH_SECRET_LEN; i++)
            pad[i] ^= secret[i];
        SHA256_Init(&mac_cache.inner);
        SHA256_Update(&mac_cache.inner, pad, sizeof(pad));
        for (size_t i = 0; i < sizeof(pad); i++)
            pad[i] ^= 0x36 ^ 0x5c;
        SHA256_Init(&mac_cache.outer);
        SHA256_Update(&mac_cache.outer, pad, sizeof(pad));
        sodium_memzero(pad, sizeof(pad));
        memcpy(mac_cache.secret, secret, AUTH_SECRET_LEN);
        mac_cache.ready = true;
    }
    c = mac_cache.inner;
    SHA256_Update(&c, p, n);
    SHA256_Final(inner, &c);
    c = mac_cache.outer;
    SHA256_Update(&c, inner, sizeof(inner));
    SHA256_Final(out, &c);
}

void auth_url_sign(const uint8_t secret[AUTH_SECRET_LEN], const char *text,
                   char out[AUTH_SIG_LEN + 1])
{
    uint8_t m[MAC_LEN];

    mac(secret, text, strlen(text), m);
    b64url_encode(m, sizeof(m), out);
}

bool auth_url_check(const uint8_t secret[AUTH_SECRET_LEN], const char *text, struct str sig)
{
    char want[AUTH_SIG_LEN + 1];

    if (sig.len != AUTH_SIG_LEN)
        return false;
    auth_url_sign(secret, text, want);
    return sodium_memcmp(want, sig.ptr, AUTH_SIG_LEN) == 0;
}

void auth_link_secret(const uint8_t secret[AUTH_SECRET_LEN], const char *link_id,
                      char key[AUTH_API_KEY_LEN + 1], uint8_t hash[API_KEY_HASH_LEN])
{
    char text[32 + ID_LEN];
    uint8_t m[MAC_LEN];

    _Static_assert(MAC_LEN == KEY_SECRET_BYTES, "a link secret is as long as a key's");
    /* A first line no URL signature or token starts with: the MACs never coincide. */
    snprintf(text, sizeof(text), "link-secret\n%.*s", ID_LEN, link_id);
    mac(secret, text, strlen(text), m);
    memcpy(key, link_id, ID_LEN);
    sodium_bin2base64(key + ID_LEN, KEY_SECRET_CHARS + 1, m, sizeof(m),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    secret_hash(m, sizeof(m), hash);
    sodium_memzero(m, sizeof(m));
}

/* Signs a JSON payload (its text) as an HS256 JWT: header.payload.signature, base64url. */
static char *sign_payload(const uint8_t secret[AUTH_SECRET_LEN], const char *payload, size_t len)
{
    const size_t hlen = sizeof(jwt_header_b64) - 1;
    uint8_t m[MAC_LEN];
    char *out = xmalloc(hlen + B64URL_LEN(len) + B64URL_LEN(MAC_LEN) + 2), *p = out;

    memcpy(p, jwt_header_b64, hlen);
    p += hlen;
    p += b64url_encode((const uint8_t *)payload, len, p);
    mac(secret, out, (size_t)(p - out), m);
    *p++ = '.';
    b64url_encode(m, sizeof(m), p);
    return out;
}

char *auth_jwt_sign(const uint8_t secret[AUTH_SECRET_LEN], const json_t *claims)
{
    char *payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    char *out;

    if (!payload)
        abort();
    out = sign_payload(secret, payload, strlen(payload));
    free(payload);
    return out;
}

/* Decodes base64url (no padding) into a malloc'd buffer; NULL when invalid. */
static uint8_t *b64url_decode(const char *p, size_t n, size_t *out_len)
{
    uint8_t *out;
    const char *end = NULL;

    if (!is_b64url(p, n))
        return NULL;
    out = xmalloc(n * 3 / 4 + 1);
    if (sodium_base642bin(out, n * 3 / 4 + 1, p, n, NULL, out_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != p + n) {
        free(out);
        return NULL;
    }
    return out;
}

json_t *auth_jwt_verify(const uint8_t secret[AUTH_SECRET_LEN], struct str token, int64_t now_s)
{
    struct str rest = token, h, p, sig;
    uint8_t want[MAC_LEN];
    uint8_t *got = NULL, *hdr = NULL, *body = NULL;
    size_t got_len = 0, hdr_len = 0, body_len = 0;
    json_t *header = NULL, *claims = NULL, *exp;
    json_error_t e;

    if (token.len == 0 || token.len > AUTH_TOKEN_MAX || !str_next(&rest, '.', &h) ||
        !str_next(&rest, '.', &p) || !str_next(&rest, '.', &sig) || rest.ptr)
        return NULL;
    got = b64url_decode(sig.ptr, sig.len, &got_len);
    if (!got || got_len != sizeof(want))
        goto fail;
    mac(secret, token.ptr, h.len + 1 + p.len, want);
    if (sodium_memcmp(want, got, sizeof(want)) != 0)
        goto fail;
    /* Only a token we signed gets this far; its header must still say what we sign with. */
    hdr = b64url_decode(h.ptr, h.len, &hdr_len);
    body = b64url_decode(p.ptr, p.len, &body_len);
    if (!hdr || !body)
        goto fail;
    header = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES, &e);
    if (!header || !json_is_string(json_object_get(header, "alg")) ||
        strcmp(json_string_value(json_object_get(header, "alg")), "HS256") != 0)
        goto fail;
    claims = json_loadb((const char *)body, body_len, JSON_REJECT_DUPLICATES, &e);
    if (!claims || !json_is_object(claims))
        goto fail;
    exp = json_object_get(claims, "exp");
    if (!json_is_integer(exp) || json_integer_value(exp) <= now_s)
        goto fail;
    json_decref(header);
    free(got);
    free(hdr);
    free(body);
    return claims;
fail:
    json_decref(header);
    json_decref(claims);
    free(got);
    free(hdr);
    free(body);
    return NULL;
}

char *auth_user_token_new(const uint8_t secret[AUTH_SECRET_LEN], const char *user_id, int64_t now_s)
{
    json_t *claims =
        json_pack("{s:s, s:s, s:I, s:I}", "typ", "user", "sub", user_id, "iat", (json_int_t)now_s,
                  "exp", (json_int_t)(now_s + AUTH_USER_TOKEN_TTL_S));
    char *t = auth_jwt_sign(secret, claims);

    json_decref(claims);
    return t;
}

bool auth_user_token_check(const uint8_t secret[AUTH_SECRET_LEN], struct str token, int64_t now_s,
                           char user_id[ID_LEN + 1])
{
    json_t *claims = auth_jwt_verify(secret, token, now_s);
    const char *typ, *sub;
    bool ok = false;

    if (!claims)
        return false;
    typ = json_string_value(json_object_get(claims, "typ"));
    sub = json_string_value(json_object_get(claims, "sub"));
    if (typ && strcmp(typ, "user") == 0 && sub && id_is_valid(str_from(sub))) {
        memcpy(user_id, sub, ID_LEN + 1);
        ok = true;
    }
    json_decref(claims);
    return ok;
}

char *auth_package_token_new(const uint8_t secret[AUTH_SECRET_LEN], const char *package_id,
                             enum package_level level, const char *user_id, int64_t now_s)
{
    char payload[256], *p = payload;

    /* Every value is an id or a number we made, so the claims need no escaping; the keys are in
     * sorted order, as jansson would write them. A page of a list signs fifty of these, so they
     * are assembled without printf; the ids come from the store, which holds only ids consign
     * made, so their length is all that is checked here. */
    if (strlen(package_id) != ID_LEN || (user_id && strlen(user_id) != ID_LEN))
        abort();
    p = stpcpy(p, "{\"exp\":");
    p += i64_format(now_s + AUTH_PACKAGE_TOKEN_TTL_S, p);
    p = stpcpy(p, ",\"iat\":");
    p += i64_format(now_s, p);
    p = stpcpy(p, ",\"imp\":false,\"lvl\":\"");
    *p++ = (char)level;
    p = stpcpy(p, "\",\"sub\":\"");
    p = stpcpy(p, package_id);
    p = stpcpy(p, "\",\"typ\":\"package\",\"uid\":\"");
    p = stpcpy(p, user_id ? user_id : "");
    p = stpcpy(p, "\"}");
    return sign_payload(secret, payload, (size_t)(p - payload));
}

bool auth_package_token_check(const uint8_t secret[AUTH_SECRET_LEN], struct str token,
                              int64_t now_s, struct package_grant *out)
{
    json_t *claims = auth_jwt_verify(secret, token, now_s);
    const char *typ, *sub, *lvl, *uid;
    bool ok = false;

    if (!claims)
        return false;
    typ = json_string_value(json_object_get(claims, "typ"));
    sub = json_string_value(json_object_get(claims, "sub"));
    lvl = json_string_value(json_object_get(claims, "lvl"));
    uid = json_string_value(json_object_get(claims, "uid"));
    if (typ && strcmp(typ, "package") == 0 && sub && id_is_valid(str_from(sub)) && lvl &&
        (strcmp(lvl, "f") == 0 || strcmp(lvl, "d") == 0) &&
        (!uid || uid[0] == '\0' || id_is_valid(str_from(uid)))) {
        memset(out, 0, sizeof(*out));
        memcpy(out->package_id, sub, ID_LEN + 1);
        out->level = lvl[0] == 'f' ? PACKAGE_LEVEL_FULL : PACKAGE_LEVEL_DOWNLOAD;
        if (uid && uid[0])
            memcpy(out->user_id, uid, ID_LEN + 1);
        ok = true;
    }
    json_decref(claims);
    return ok;
}

/* ---- webhooks ---- */

void auth_webhook_secret(const uint8_t secret[AUTH_SECRET_LEN], const char *webhook_id,
                         char out[AUTH_SIG_LEN + 1])
{
    char text[32 + ID_LEN];
    uint8_t m[MAC_LEN];

    /* A first line no URL signature, token or link secret starts with: the MACs never
     * coincide. */
    snprintf(text, sizeof(text), "webhook-secret\n%.*s", ID_LEN, webhook_id);
    mac(secret, text, strlen(text), m);
    sodium_bin2base64(out, AUTH_SIG_LEN + 1, m, sizeof(m),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(m, sizeof(m));
}

void auth_webhook_sign(const char *key, const void *body, size_t len,
                       char out[AUTH_WEBHOOK_SIG_HEX + 1])
{
    uint8_t m[MAC_LEN];
    unsigned mlen = sizeof(m);

    /* Any key length, unlike mac(): the key is the text a receiver was given. A failure
     * (libcrypto out of memory) signs with zeros, which no receiver accepts. */
    if (!HMAC(EVP_sha256(), key, (int)strlen(key), body, len, m, &mlen) || mlen != MAC_LEN)
        memset(m, 0, sizeof(m));
    hex_encode(m, sizeof(m), out);
}
