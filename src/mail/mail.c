/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The MIME builder and the two ways a message leaves (see mail/mail.h). Bodies are always
 * quoted-printable: the messages are mostly ASCII, stay readable in an .eml file, and the
 * boundary "=_…" can never occur in quoted-printable text ('=' there is always followed by a hex
 * digit or a line end), so no body can end a part early. SMTP is libcurl's client, one
 * connection per message: mail is rare next to everything else consign does.
 */
#include "core/compat.h"
#include "mail/mail.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_COMPONENT "mail"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "core/mem.h"

/* Header lines are folded before they pass this many characters (RFC 5322's "SHOULD"). */
#define LINE_SOFT 78
/* Quoted-printable lines, the '=' of a soft break included (RFC 2045). */
#define QP_LINE 76
/* An encoded word is "=?UTF-8?B?" + base64 + "?=", at most 75 characters: 12 of frame, and
 * base64 of at most 45 bytes of text. */
#define EW_FRAME 12
#define EW_RAW 45
/* Characters of the message id that go into the MIME boundary. */
#define BOUNDARY_ID 40
#define CONNECT_TIMEOUT 30L
#define SEND_TIMEOUT 300L
#define SMTP_URL_MAX 2048

PRINTF_LIKE(3, 4) static bool fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- checks ---- */

/* Bytes of the UTF-8 sequence at @s (of @n bytes), 0 when there is none: overlong forms,
 * surrogates and code points past U+10FFFF are not UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    uint32_t cp, min;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static bool utf8_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = utf8_len((const unsigned char *)s + i, n - i);

        if (!l)
            return false;
        i += l;
    }
    return true;
}

/* Text for a header: UTF-8, at most @max bytes, and no control character: a CR or LF would end
 * the header and let the text write headers of its own. */
static bool header_text_ok(const char *s, size_t max, const char *what, char *why, size_t cap)
{
    size_t n = strlen(s);

    if (n > max)
        return fail(why, cap, "%s: longer than %zu bytes", what, max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f)
            return fail(why, cap, "%s: has a control character (CR, LF, ...)", what);
    }
    if (!utf8_ok(s, n))
        return fail(why, cap, "%s: not UTF-8", what);
    return true;
}

static bool body_ok(const char *s, const char *what, char *why, size_t cap)
{
    size_t n = strlen(s);

    if (n > MAIL_BODY_MAX)
        return fail(why, cap, "%s: longer than %u bytes", what, MAIL_BODY_MAX);
    if (!utf8_ok(s, n))
        return fail(why, cap, "%s: not UTF-8", what);
    return true;
}

/* A character of an unquoted local part (RFC 5322 atext, and '.'). */
static bool is_atext(unsigned char c)
{
    return c > ' ' && c < 0x7f && !strchr("()<>[]:;@\\,\"", c);
}

static bool domain_ok(const char *d, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > 253)
        return false;
    if (d[0] == '[') {
        /* An address literal: [192.0.2.1] or [IPv6:2001:db8::1]. */
        if (n < 3 || d[n - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < n; i++)
            if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'z') ||
                  (d[i] >= 'A' && d[i] <= 'Z') || d[i] == '.' || d[i] == ':'))
                return false;
        return true;
    }
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? d[i] : '.';

        if (c == '.') {
            if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
                return false;
            label = 0;
        } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   c == '-') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

bool mail_address_is_valid(const char *addr)
{
    const char *at;
    size_t n, local;

    if (!addr)
        return false;
    n = strlen(addr);
    at = strrchr(addr, '@');
    if (n < 3 || n > MAIL_ADDR_MAX || !at)
        return false;
    local = (size_t)(at - addr);
    if (local == 0 || local > 64 || addr[0] == '.' || addr[local - 1] == '.')
        return false;
    for (size_t i = 0; i < local; i++)
        if (!(is_atext((unsigned char)addr[i]) || addr[i] == '.') ||
            (addr[i] == '.' && addr[i + 1] == '.'))
            return false;
    return domain_ok(at + 1, n - local - 1);
}

static bool id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n == 0 || n > MAIL_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return id[0] != '.';
}

/* ---- headers ---- */

static void add_base64(struct sbuf *sb, const unsigned char *in, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4];

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);

        out[0] = abc[v >> 18 & 63];
        out[1] = abc[v >> 12 & 63];
        out[2] = i + 1 < n ? abc[v >> 6 & 63] : '=';
        out[3] = i + 2 < n ? abc[v & 63] : '=';
        sbuf_add(sb, out, 4);
    }
}

static bool is_plain_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/*
 * Appends @s as RFC 2047 encoded words ("=?UTF-8?B?…?="), each whole UTF-8 characters, folding
 * the line ("\r\n ") before a word that would pass LINE_SOFT; *@col is the column. Whitespace
 * between two encoded words is not part of the text, so the words may be cut anywhere.
 */
static void add_encoded_words(struct sbuf *sb, const char *s, size_t *col)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    bool first = true;

    while (i < n) {
        size_t used = *col + (first ? 0 : 1) + EW_FRAME, room = 0, take = 0;

        if (used + 4 <= LINE_SOFT)
            room = (LINE_SOFT - used) / 4 * 3;
        if (room > EW_RAW)
            room = EW_RAW;
        while (i + take < n) {
            size_t l = utf8_len(p + i + take, n - i - take);

            if (l == 0)
                l = 1; /* never: the text was checked */
            if (take + l > room)
                break;
            take += l;
        }
        if (take == 0) {
            /* Not one more character fits on this line (a new line has room for several). */
            sbuf_add(sb, "\r\n ", 3);
            *col = 1;
            first = true;
            continue;
        }
        if (!first) {
            sbuf_add(sb, " ", 1);
            (*col)++;
        }
        sbuf_add(sb, "=?UTF-8?B?", 10);
        add_base64(sb, p + i, take);
        sbuf_add(sb, "?=", 2);
        *col += EW_FRAME + (take + 2) / 3 * 4;
        i += take;
        first = false;
    }
}

/* A display name: a quoted string when it is plain ASCII, else encoded words. */
static void add_phrase(struct sbuf *sb, const char *name, size_t *col)
{
    if (is_plain_ascii(name) && !strstr(name, "=?") && *col + strlen(name) + 2 <= LINE_SOFT) {
        sbuf_add(sb, "\"", 1);
        for (const char *p = name; *p; p++) {
            if (*p == '"' || *p == '\\') {
                sbuf_add(sb, "\\", 1);
                (*col)++;
            }
            sbuf_add(sb, p, 1);
            (*col)++;
        }
        sbuf_add(sb, "\"", 1);
        *col += 2;
        return;
    }
    add_encoded_words(sb, name, col);
}

/* "Name: display <addr>\r\n" or "Name: addr\r\n". */
static void add_mailbox(struct sbuf *sb, const char *header, const char *name, const char *addr)
{
    size_t col = strlen(header) + 2, alen = strlen(addr);

    sbuf_adds(sb, header);
    sbuf_add(sb, ": ", 2);
    if (name && name[0]) {
        add_phrase(sb, name, &col);
        if (col + alen + 3 > LINE_SOFT) {
            sbuf_add(sb, "\r\n", 2);
            col = 0;
        }
        sbuf_add(sb, " <", 2);
        sbuf_add(sb, addr, alen);
        sbuf_add(sb, ">\r\n", 3);
        return;
    }
    sbuf_add(sb, addr, alen);
    sbuf_add(sb, "\r\n", 2);
}

/*
 * "Subject: …\r\n": plain ASCII as it is, folded at spaces, so that a line passes LINE_SOFT only
 * where one word is longer; anything else (or text that looks like an encoded word) encoded.
 */
static void add_subject(struct sbuf *sb, const char *subject)
{
    size_t col = 9;

    sbuf_adds(sb, "Subject: ");
    if (!is_plain_ascii(subject) || strstr(subject, "=?")) {
        add_encoded_words(sb, subject, &col);
    } else {
        const char *p = subject;

        while (*p) {
            /* The next segment: its leading spaces, then a word. */
            size_t n = strspn(p, " ");

            n += strcspn(p + n, " ");
            if (col + n > LINE_SOFT && col > 9 && p[0] == ' ') {
                sbuf_add(sb, "\r\n", 2);
                col = 0;
            }
            sbuf_add(sb, p, n);
            col += n;
            p += n;
        }
    }
    sbuf_add(sb, "\r\n", 2);
}

/* ---- bodies ---- */

/*
 * Appends @s quoted-printable (RFC 2045 6.7) with CRLF line ends: lines of at most QP_LINE
 * characters, '=', bytes outside printable ASCII and whitespace before a line end encoded; a
 * '.' or "From " that would start a line too, for relays and mailboxes that treat those.
 */
static void add_qp(struct sbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool eol = p[1] == '\n' || p[1] == '\0' || (p[1] == '\r' && p[2] == '\n');
        char tok[3];
        size_t n;

        if (c == '\r' && p[1] == '\n')
            continue;
        if (c == '\n') {
            sbuf_add(sb, "\r\n", 2);
            col = 0;
            continue;
        }
        for (int pass = 0; pass < 2; pass++) {
            bool lit = (c > ' ' && c < 0x7f && c != '=') || ((c == ' ' || c == '\t') && !eol);

            if (col == 0 && (c == '.' || (c == 'F' && strncmp(p, "From ", 5) == 0)))
                lit = false;
            if (lit) {
                tok[0] = (char)c;
                n = 1;
            } else {
                tok[0] = '=';
                tok[1] = hex[c >> 4];
                tok[2] = hex[c & 15];
                n = 3;
            }
            if (col + n <= QP_LINE - 1)
                break;
            sbuf_add(sb, "=\r\n", 3); /* a soft break, then the same character again */
            col = 0;
        }
        sbuf_add(sb, tok, n);
        col += n;
    }
}

static void add_part(struct sbuf *sb, const char *boundary, const char *type, const char *body)
{
    sbuf_addf(sb, "\r\n--%s\r\n", boundary);
    sbuf_addf(sb, "Content-Type: %s; charset=UTF-8\r\n", type);
    sbuf_adds(sb, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    add_qp(sb, body);
}

enum mail_rc mail_build(const struct mail_message *m, struct sbuf *out, char *why, size_t why_cap)
{
    char date[TIME_RFC5322_LEN], boundary[16 + BOUNDARY_ID];
    const char *domain;

    sbuf_init(out, MAIL_MESSAGE_MAX);
    if (!id_ok(m->id)) {
        fail(why, why_cap, "id: not 1 to %d characters of [A-Za-z0-9._-]", MAIL_ID_MAX);
        return MAIL_REFUSED;
    }
    if (!mail_address_is_valid(m->from_addr) || !mail_address_is_valid(m->to_addr) ||
        (m->reply_to && !mail_address_is_valid(m->reply_to))) {
        fail(why, why_cap, "%s: not an address this server sends to or from",
             !mail_address_is_valid(m->from_addr) ? "from"
             : !mail_address_is_valid(m->to_addr) ? "to"
                                                  : "reply-to");
        return MAIL_REFUSED;
    }
    if ((m->from_name && !header_text_ok(m->from_name, MAIL_NAME_MAX, "from name", why, why_cap)) ||
        (m->to_name && !header_text_ok(m->to_name, MAIL_NAME_MAX, "to name", why, why_cap)) ||
        !m->subject || !header_text_ok(m->subject, MAIL_SUBJECT_MAX, "subject", why, why_cap) ||
        !m->text || !body_ok(m->text, "text", why, why_cap) || !m->html ||
        !body_ok(m->html, "html", why, why_cap))
        return MAIL_REFUSED;

    domain = strrchr(m->from_addr, '@') + 1;
    snprintf(boundary, sizeof(boundary), "=_consign_%.*s", BOUNDARY_ID, m->id);
    time_format_rfc5322(m->date_ms, date);
    sbuf_addf(out, "Date: %s\r\n", date);
    add_mailbox(out, "From", m->from_name, m->from_addr);
    if (m->reply_to)
        add_mailbox(out, "Reply-To", NULL, m->reply_to);
    add_mailbox(out, "To", m->to_name, m->to_addr);
    add_subject(out, m->subject);
    sbuf_addf(out, "Message-ID: <%s@%s>\r\n", m->id, domain);
    sbuf_adds(out, "MIME-Version: 1.0\r\n");
    sbuf_adds(out, "Auto-Submitted: auto-generated\r\n");
    sbuf_addf(out, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n", boundary);
    sbuf_adds(out, "\r\nThis is a message in MIME format: a text and an HTML version.\r\n");
    add_part(out, boundary, "text/plain", m->text);
    add_part(out, boundary, "text/html", m->html);
    sbuf_addf(out, "\r\n--%s--\r\n", boundary);
    if (out->overflow) {
        sbuf_release(out);
        fail(why, why_cap, "the message would pass %u bytes", MAIL_MESSAGE_MAX);
        return MAIL_REFUSED;
    }
    return MAIL_OK;
}

/* ---- delivery ---- */

bool mail_cfg_check(const struct mail_cfg *cfg, char *why, size_t why_cap)
{
    if (!mail_address_is_valid(cfg->from))
        return fail(why, why_cap, "'%s' is not an e-mail address to send from", cfg->from);
    if (cfg->smtp_url && cfg->smtp_url[0]) {
        if (strncasecmp(cfg->smtp_url, "smtp://", 7) != 0 &&
            strncasecmp(cfg->smtp_url, "smtps://", 8) != 0)
            return fail(why, why_cap, "the SMTP URL must start with smtp:// or smtps://");
        if (strlen(cfg->smtp_url) > SMTP_URL_MAX || str_has_ctl(str_from(cfg->smtp_url)))
            return fail(why, why_cap, "the SMTP URL is too long or has control characters");
        return true;
    }
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST)
        return fail(why, why_cap, "cannot make '%s': %s", cfg->dir, strerror(errno));
    return true;
}

/* Writes all of @p; false with errno on failure. */
static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* The message as @dir/@id.eml, which appears whole or not at all. */
static enum mail_rc write_eml(const struct mail_cfg *cfg, const char *id, const char *msg,
                              size_t len, char *why, size_t cap)
{
    char *path = xasprintf("%s/%s.eml", cfg->dir, id), *tmp = NULL, rnd[ID_LEN + 1];
    enum mail_rc rc = MAIL_TRANSIENT;
    struct stat st;
    int fd = -1, dfd = -1;

    if (stat(path, &st) == 0) {
        snprintf(why, cap, "%s.eml was written before", id);
        rc = MAIL_OK;
        goto out;
    }
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        fail(why, cap, "cannot make '%s': %s", cfg->dir, strerror(errno));
        goto out;
    }
    id_new(rnd);
    /* A dot name: whoever reads *.eml never sees a half-written one. */
    tmp = xasprintf("%s/.%s.%s.tmp", cfg->dir, id, rnd + 16);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || !write_all(fd, msg, len) || fsync(fd) != 0) {
        fail(why, cap, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        fail(why, cap, "cannot rename '%s': %s", tmp, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    dfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        fail(why, cap, "cannot sync '%s': %s", cfg->dir, strerror(errno));
        goto out;
    }
    snprintf(why, cap, "written to %s", path);
    rc = MAIL_OK;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(path);
    return rc;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void curl_setup(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

struct upload {
    const char *p;
    size_t left;
};

static size_t upload_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t n = size * nitems < u->left ? size * nitems : u->left;

    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static enum mail_rc send_smtp(const struct mail_cfg *cfg, const char *to_addr, const char *msg,
                              size_t len, char *why, size_t cap)
{
    struct upload up = { msg, len };
    struct curl_slist *rcpt = NULL;
    char err[CURL_ERROR_SIZE] = "", *from = xasprintf("<%s>", cfg->from),
         *to = xasprintf("<%s>", to_addr);
    enum mail_rc rc = MAIL_TRANSIENT;
    long code = 0;
    CURLcode res;
    CURL *h;

    pthread_once(&curl_once, curl_setup);
    h = curl_ready ? curl_easy_init() : NULL;
    if (!h) {
        fail(why, cap, "libcurl cannot be initialised");
        goto out;
    }
    rcpt = curl_slist_append(NULL, to);
    curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, SEND_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    if (cfg->smtp_user && cfg->smtp_user[0]) {
        curl_easy_setopt(h, CURLOPT_USERNAME, cfg->smtp_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->smtp_password ? cfg->smtp_password : "");
    }
    if (cfg->smtp_starttls)
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    res = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (res == CURLE_OK) {
        snprintf(why, cap, "accepted by the SMTP server (%ld)", code);
        rc = MAIL_OK;
        goto out;
    }
    /* The reply decides: 5xx is final, 4xx asks to come back; without one (no connection,
     * a time-out, TLS) it may work later, unless the URL itself cannot work. */
    if (code >= 500 && code <= 599)
        rc = MAIL_PERMANENT;
    else if (code < 400 && (res == CURLE_UNSUPPORTED_PROTOCOL || res == CURLE_URL_MALFORMAT))
        rc = MAIL_PERMANENT;
    if (code)
        fail(why, cap, "the SMTP server answered %ld (%s)", code,
             err[0] ? err : curl_easy_strerror(res));
    else
        fail(why, cap, "SMTP: %s", err[0] ? err : curl_easy_strerror(res));
out:
    curl_slist_free_all(rcpt);
    if (h)
        curl_easy_cleanup(h);
    free(from);
    free(to);
    return rc;
}

enum mail_rc mail_deliver(const struct mail_cfg *cfg, const char *id, const char *to_addr,
                          const char *msg, size_t len, char *why, size_t why_cap)
{
    if (!id_ok(id) || !mail_address_is_valid(to_addr) || len > MAIL_MESSAGE_MAX) {
        fail(why, why_cap, "not a message mail_build() made");
        return MAIL_REFUSED;
    }
    if (cfg->smtp_url && cfg->smtp_url[0])
        return send_smtp(cfg, to_addr, msg, len, why, why_cap);
    return write_eml(cfg, id, msg, len, why, why_cap);
}
