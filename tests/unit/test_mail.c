/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The MIME builder: headers, encodings, refusals, line lengths; and .eml delivery. */
#include "core/compat.h"

#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail/mail.h"
#include "tap.h"

static char why[256];

static struct mail_message base(void)
{
    return (struct mail_message){
        .id = "01HZX3Q4M5N6P7R8S9T0V1W2X3",
        .date_ms = 1709210096000LL,
        .from_name = "Ada Lovelace",
        .from_addr = "consign@transfer.example.com",
        .reply_to = "ada@example.com",
        .to_addr = "bob@example.org",
        .subject = "Ada Lovelace sent you \"Dailies\"",
        .text = "Hello,\nyour files are ready.\n",
        .html = "<p>Hello,</p>\n<p>your files are ready.</p>\n",
    };
}

static enum mail_rc build(const struct mail_message *m, struct sbuf *out)
{
    why[0] = '\0';
    return mail_build(m, out, why, sizeof(why));
}

/* The header block, unfolded, in a malloc'd string ("Name: value\n" per header). */
static char *headers_of(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    size_t n = end ? (size_t)(end - msg) : strlen(msg);
    char *out = malloc(n + 2), *o = out;

    for (size_t i = 0; i < n; i++) {
        if (msg[i] == '\r' && msg[i + 1] == '\n' && (msg[i + 2] == ' ' || msg[i + 2] == '\t')) {
            i++;
            continue;
        }
        if (msg[i] == '\r' && msg[i + 1] == '\n') {
            *o++ = '\n';
            i++;
            continue;
        }
        *o++ = msg[i];
    }
    *o++ = '\n';
    *o = '\0';
    return out;
}

/* The value of header @name (case as written) in an unfolded block, or NULL; static buffer. */
static const char *header(const char *block, const char *name)
{
    static char val[4096];
    size_t n = strlen(name);

    for (const char *p = block; *p;) {
        const char *nl = strchr(p, '\n');

        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t len;

            while (*v == ' ')
                v++;
            len = (size_t)(nl - v);
            if (len >= sizeof(val))
                len = sizeof(val) - 1;
            memcpy(val, v, len);
            val[len] = '\0';
            return val;
        }
        p = nl + 1;
    }
    return NULL;
}

/* Decodes the encoded words of @v (whitespace between them dropped) and the plain text between
 * them; static buffer. */
static const char *decode_words(const char *v)
{
    static char out[4096];
    size_t o = 0;

    while (*v) {
        if (strncmp(v, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(v + 10, "?=");
            size_t got = 0;

            if (!end || sodium_base642bin((unsigned char *)out + o, sizeof(out) - o - 1, v + 10,
                                          (size_t)(end - v - 10), NULL, &got, NULL,
                                          sodium_base64_VARIANT_ORIGINAL) != 0)
                return "(bad encoded word)";
            o += got;
            v = end + 2;
            if (*v == ' ' && strncmp(v + 1, "=?UTF-8?B?", 10) == 0)
                v++;
            continue;
        }
        out[o++] = *v++;
    }
    out[o] = '\0';
    return out;
}

/* Quoted-printable decoding of @s up to @end; malloc'd. */
static char *qp_decode(const char *s, const char *end)
{
    char *out = malloc((size_t)(end - s) + 1), *o = out;

    while (s < end) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;
        } else if (s[0] == '=') {
            unsigned v;

            if (sscanf(s + 1, "%2X", &v) != 1)
                break;
            *o++ = (char)v;
            s += 3;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* The decoded body of the part of @type, or NULL; malloc'd. */
static char *part_body(const char *msg, const char *type)
{
    char want[128];
    const char *p, *body, *end;

    snprintf(want, sizeof(want), "Content-Type: %s; charset=UTF-8\r\n", type);
    p = strstr(msg, want);
    if (!p || !strstr(p, "Content-Transfer-Encoding: quoted-printable\r\n"))
        return NULL;
    body = strstr(p, "\r\n\r\n");
    end = body ? strstr(body, "\r\n--=_consign_") : NULL;
    return end ? qp_decode(body + 4, end) : NULL;
}

/* True when every line ends in CRLF (no bare CR or LF) and none is longer than @max. */
static bool lines_ok(const char *msg, size_t len, size_t max)
{
    size_t col = 0;

    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\r') {
            if (msg[i + 1] != '\n')
                return false;
            i++;
            col = 0;
        } else if (msg[i] == '\n') {
            return false;
        } else if (++col > max) {
            return false;
        }
    }
    return true;
}

static size_t longest_line(const char *s, const char *end)
{
    size_t best = 0, col = 0;

    for (; s < end; s++) {
        if (*s == '\r' || *s == '\n') {
            col = 0;
        } else if (++col > best) {
            best = col;
        }
    }
    return best;
}

static void test_headers(void)
{
    struct mail_message m = base();
    struct sbuf out;
    char *h, *text, *html;

    is_int(build(&m, &out), MAIL_OK, "a plain message builds");
    h = headers_of(out.buf);
    is_str(header(h, "Date"), "Thu, 29 Feb 2024 12:34:56 +0000", "Date");
    is_str(header(h, "From"), "\"Ada Lovelace\" <consign@transfer.example.com>", "From");
    is_str(header(h, "Reply-To"), "ada@example.com", "Reply-To");
    is_str(header(h, "To"), "bob@example.org", "To");
    is_str(header(h, "Subject"), "Ada Lovelace sent you \"Dailies\"", "an ASCII subject as it is");
    is_str(header(h, "Message-ID"), "<01HZX3Q4M5N6P7R8S9T0V1W2X3@transfer.example.com>",
           "Message-ID from the id and the From domain");
    is_str(header(h, "MIME-Version"), "1.0", "MIME-Version");
    is_str(header(h, "Content-Type"),
           "multipart/alternative; boundary=\"=_consign_01HZX3Q4M5N6P7R8S9T0V1W2X3\"",
           "multipart/alternative with its boundary");
    ok(header(h, "Bcc") == NULL && header(h, "Cc") == NULL, "no other recipients");
    text = part_body(out.buf, "text/plain");
    html = part_body(out.buf, "text/html");
    is_str(text, "Hello,\r\nyour files are ready.\r\n", "the text part, CRLF line ends");
    is_str(html, "<p>Hello,</p>\r\n<p>your files are ready.</p>\r\n", "the HTML part");
    ok(strstr(out.buf, "\r\n--=_consign_01HZX3Q4M5N6P7R8S9T0V1W2X3--\r\n") != NULL,
       "the closing boundary");
    ok(lines_ok(out.buf, out.len, 78), "CRLF everywhere, no line over 78");
    free(text);
    free(html);
    free(h);
    {
        struct sbuf again;

        build(&m, &again);
        ok(again.len == out.len && memcmp(again.buf, out.buf, out.len) == 0,
           "the same message builds to the same bytes");
        sbuf_release(&again);
    }
    sbuf_release(&out);

    m.reply_to = NULL;
    m.from_name = "O\"Brien \\ Co";
    build(&m, &out);
    h = headers_of(out.buf);
    is_str(header(h, "From"), "\"O\\\"Brien \\\\ Co\" <consign@transfer.example.com>",
           "quotes and backslashes of a name escaped");
    ok(header(h, "Reply-To") == NULL, "no Reply-To when none is given");
    free(h);
    sbuf_release(&out);
}

static void test_encodings(void)
{
    struct mail_message m = base();
    const char *name = "Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m",
               *subject = "Zo\xc3\xab sent you \xe2\x80\x9cRushes \xe2\x80\x94 \xe7\xac\xac"
                          "3\xe6\x97\xa5\xe2\x80\x9d \xf0\x9f\x8e\xac";
    char long_subject[MAIL_SUBJECT_MAX + 1], *h, *text;
    struct sbuf out;
    const char *v;

    m.from_name = name;
    m.subject = subject;
    m.to_name = "J\xc3\xbcrgen";
    m.text = "Gr\xc3\xbc\xc3\x9f"
             "e = 100%\n.hidden\nFrom here\ntrailing space \nand a tab\t\n";
    is_int(build(&m, &out), MAIL_OK, "non-ASCII names and subject build");
    h = headers_of(out.buf);
    v = header(h, "From");
    ok(v && strncmp(v, "=?UTF-8?B?", 10) == 0, "a non-ASCII display name is an encoded word");
    ok(v && strstr(v, " <consign@transfer.example.com>") != NULL, "its address as it is");
    {
        char dn[512];

        snprintf(dn, sizeof(dn), "%.*s", v ? (int)(strstr(v, " <") - v) : 0, v ? v : "");
        is_str(decode_words(dn), name, "the display name decodes to the name");
    }
    v = header(h, "Subject");
    ok(v && strncmp(v, "=?UTF-8?B?", 10) == 0, "a non-ASCII subject is encoded");
    is_str(decode_words(v ? v : ""), subject, "the subject decodes to the text (4-byte emoji too)");
    v = header(h, "To");
    ok(v && strstr(v, " <bob@example.org>"), "To with an encoded name");
    text = part_body(out.buf, "text/plain");
    is_str(text,
           "Gr\xc3\xbc\xc3\x9f"
           "e = 100%\r\n.hidden\r\nFrom here\r\ntrailing space \r\nand a tab\t\r\n",
           "the text decodes to itself");
    ok(strstr(out.buf, "Gr=C3=BC=C3=9Fe =3D 100%\r\n") != NULL, "UTF-8 and '=' quoted-printable");
    ok(strstr(out.buf, "\r\n=2Ehidden\r\n") && strstr(out.buf, "\r\n=46rom here\r\n"),
       "a leading '.' and \"From \" are encoded");
    ok(strstr(out.buf, "trailing space=20\r\n") && strstr(out.buf, "and a tab=09\r\n"),
       "whitespace before a line end is encoded");
    ok(lines_ok(out.buf, out.len, 78), "no line over 78");
    free(text);
    free(h);
    sbuf_release(&out);

    /* Long: a subject of the largest size in both kinds, and a body of one very long line. */
    memset(long_subject, 'x', sizeof(long_subject) - 1);
    for (size_t i = 7; i < sizeof(long_subject) - 1; i += 8)
        long_subject[i] = ' ';
    long_subject[sizeof(long_subject) - 1] = '\0';
    m = base();
    m.subject = long_subject;
    {
        char *body = malloc(200001);

        /* "é" (c3 a9) and 'a' repeated: one 200 kB line. */
        for (size_t i = 0; i + 2 < 200000; i += 3) {
            body[i] = (char)0xc3;
            body[i + 1] = (char)0xa9;
            body[i + 2] = 'a';
        }
        body[199998] = 'b';
        body[199999] = 'c';
        body[200000] = '\0';
        m.text = body;
        is_int(build(&m, &out), MAIL_OK, "a %d-byte subject and a 200 kB line build",
               MAIL_SUBJECT_MAX);
        ok(lines_ok(out.buf, out.len, 998), "no line over 998");
        {
            const char *b = strstr(out.buf, "Content-Type: text/plain");
            const char *e = strstr(b, "\r\n--=_consign_");

            ok(longest_line(strstr(b, "\r\n\r\n") + 4, e) <= 76,
               "quoted-printable lines of at most 76");
        }
        h = headers_of(out.buf);
        is_str(header(h, "Subject"), long_subject, "a long ASCII subject unfolds to itself");
        free(h);
        text = part_body(out.buf, "text/plain");
        ok(text && strcmp(text, body) == 0, "the long line decodes to itself");
        free(text);
        sbuf_release(&out);

        for (size_t i = 0; i < sizeof(long_subject) - 1; i++)
            long_subject[i] = i % 2 ? (char)0xa9 : (char)0xc3;
        long_subject[sizeof(long_subject) - 1] = '\0';
        m.text = "short";
        is_int(build(&m, &out), MAIL_OK, "a %d-byte non-ASCII subject builds", MAIL_SUBJECT_MAX);
        ok(lines_ok(out.buf, out.len, 78), "its encoded words fold under 78");
        h = headers_of(out.buf);
        is_str(decode_words(header(h, "Subject")), long_subject, "and decode to it");
        free(h);
        sbuf_release(&out);
        free(body);
    }
}

static void test_refusals(void)
{
    static const struct {
        const char *field, *value;
    } bad[] = {
        { "subject", "Hello\r\nBcc: victim@example.com" },
        { "subject", "Hello\nBcc: victim@example.com" },
        { "subject", "Hello\rX" },
        { "subject", "tab\tis a control character too" },
        { "subject", "\xc3\x28 not UTF-8" },
        { "subject", "overlong \xc0\xaf" },
        { "subject", "surrogate \xed\xa0\x80" },
        { "from_name", "Ada\r\nBcc: victim@example.com" },
        { "from_name", "Ada\n" },
        { "to_name", "Bob\r\n" },
        { "to_addr", "bob@example.org\r\nBcc: victim@example.com" },
        { "to_addr", "bob@example.org>, victim@example.com" },
        { "to_addr", "bob smith@example.org" },
        { "to_addr", "\"bob\"@example.org" },
        { "to_addr", "bob@" },
        { "to_addr", "@example.org" },
        { "to_addr", "bob@exa mple.org" },
        { "to_addr", "bob@-example.org" },
        { "from_addr", "consign@example.com\n" },
        { "reply_to", "ada@example.com\r\nX: y" },
        { "id", "../../etc/passwd" },
        { "id", "a\r\nb" },
        { "id", "" },
        { "text", "\xff" },
    };
    struct sbuf out;

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct mail_message m = base();

        if (strcmp(bad[i].field, "subject") == 0)
            m.subject = bad[i].value;
        else if (strcmp(bad[i].field, "from_name") == 0)
            m.from_name = bad[i].value;
        else if (strcmp(bad[i].field, "to_name") == 0)
            m.to_name = bad[i].value;
        else if (strcmp(bad[i].field, "to_addr") == 0)
            m.to_addr = bad[i].value;
        else if (strcmp(bad[i].field, "from_addr") == 0)
            m.from_addr = bad[i].value;
        else if (strcmp(bad[i].field, "reply_to") == 0)
            m.reply_to = bad[i].value;
        else if (strcmp(bad[i].field, "id") == 0)
            m.id = bad[i].value;
        else
            m.text = bad[i].value;
        is_int(build(&m, &out), MAIL_REFUSED, "refused: %s %zu (%s)", bad[i].field, i, why);
        ok(out.len == 0, "and nothing built");
        sbuf_release(&out);
    }
    {
        struct mail_message m = base();
        char *big = malloc(MAIL_BODY_MAX + 2), subject[MAIL_SUBJECT_MAX + 2],
             name[MAIL_NAME_MAX + 2];

        memset(big, 'a', MAIL_BODY_MAX + 1);
        big[MAIL_BODY_MAX + 1] = '\0';
        m.html = big;
        is_int(build(&m, &out), MAIL_REFUSED, "a body past the cap is refused");
        big[MAIL_BODY_MAX] = '\0';
        is_int(build(&m, &out), MAIL_OK, "a body at the cap builds");
        sbuf_release(&out);
        free(big);
        m = base();
        memset(subject, 's', sizeof(subject) - 1);
        subject[sizeof(subject) - 1] = '\0';
        m.subject = subject;
        is_int(build(&m, &out), MAIL_REFUSED, "a subject past the cap is refused");
        m = base();
        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        m.from_name = name;
        is_int(build(&m, &out), MAIL_REFUSED, "a name past the cap is refused");
    }
    ok(mail_address_is_valid("a.b+c@example.com"), "an ordinary address");
    ok(mail_address_is_valid("consign@[127.0.0.1]") && mail_address_is_valid("x@[IPv6:::1]"),
       "address literals");
    ok(mail_address_is_valid("consign@localhost"), "a one-label domain");
    ok(!mail_address_is_valid("a..b@example.com") && !mail_address_is_valid(".a@example.com"),
       "dots in the wrong place");
    ok(!mail_address_is_valid(NULL) && !mail_address_is_valid("x@[1.2.3.4"), "nothing, half");
}

static void test_eml(void)
{
    char dir[] = "/tmp/consign-mail-XXXXXX", path[256], sub[160];
    struct mail_cfg cfg = { .from = "consign@example.com" };
    struct mail_message m = base();
    struct sbuf out;
    struct stat st;
    DIR *d;
    struct dirent *e;
    int files = 0;
    FILE *f;

    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    snprintf(sub, sizeof(sub), "%s/mail", dir);
    cfg.dir = sub;
    ok(mail_cfg_check(&cfg, why, sizeof(why)), "the configuration without SMTP makes its folder");
    ok(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077) == 0,
       "a folder only the server reads");
    build(&m, &out);
    is_int(mail_deliver(&cfg, m.id, m.to_addr, out.buf, out.len, why, sizeof(why)), MAIL_OK,
           "written as a file");
    snprintf(path, sizeof(path), "%s/%s.eml", sub, m.id);
    ok(stat(path, &st) == 0 && (size_t)st.st_size == out.len && (st.st_mode & 077) == 0,
       "ID.eml, whole, readable by the server only");
    f = fopen(path, "w");
    if (f) {
        fputs("changed", f);
        fclose(f);
    }
    is_int(mail_deliver(&cfg, m.id, m.to_addr, out.buf, out.len, why, sizeof(why)), MAIL_OK,
           "delivering the same id again succeeds");
    ok(stat(path, &st) == 0 && st.st_size == 7, "without writing it again");
    d = opendir(sub);
    while (d && (e = readdir(d)))
        files += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) ? 1 : 0;
    if (d)
        closedir(d);
    is_int(files, 1, "no temporary file is left");
    is_int(mail_deliver(&cfg, "../x", m.to_addr, out.buf, out.len, why, sizeof(why)), MAIL_REFUSED,
           "an id that is a path is refused");
    unlink(path);
    rmdir(sub);
    rmdir(dir);

    cfg.smtp_url = "smtp://127.0.0.1:1";
    is_int(mail_deliver(&cfg, m.id, m.to_addr, out.buf, out.len, why, sizeof(why)), MAIL_TRANSIENT,
           "an SMTP server that cannot be reached: try again later (%s)", why);
    cfg.smtp_url = "http://127.0.0.1:1";
    ok(!mail_cfg_check(&cfg, why, sizeof(why)), "an URL that is not SMTP is refused");
    cfg.smtp_url = "smtps://mail.example.com";
    cfg.from = "not an address";
    ok(!mail_cfg_check(&cfg, why, sizeof(why)), "a From that is not an address is refused");
    sbuf_release(&out);
}

int main(void)
{
    test_headers();
    test_encodings();
    test_refusals();
    test_eml();
    return done_testing();
}
