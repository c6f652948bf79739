/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * E-mail: builds a MIME message (multipart/alternative, a text/plain and a text/html part in
 * UTF-8, quoted-printable; non-ASCII display names and subjects as RFC 2047 encoded words) and
 * delivers it, either to an SMTP server through libcurl or, when none is configured, as an .eml
 * file in a folder, so that what would be sent can be read.
 *
 * Nothing a caller passes reaches a header unchecked: a header value with CR, LF or any other
 * control character, text that is not UTF-8, an address that is not a plain addr-spec, or a size
 * past the caps below is refused (MAIL_REFUSED), never escaped into something else.
 *
 * Threads: every function is thread-safe; a struct mail_cfg is read-only once made.
 */
#ifndef CONSIGN_MAIL_H
#define CONSIGN_MAIL_H

#include "core/compat.h"

#include "core/str.h"

/** Longest address (RFC 5321's path limit less its brackets). */
#define MAIL_ADDR_MAX 254
/** Longest display name and subject, in bytes of UTF-8 before encoding. */
#define MAIL_NAME_MAX 256
#define MAIL_SUBJECT_MAX 512
/** Longest text and HTML body, in bytes before encoding. */
#define MAIL_BODY_MAX (256u << 10)
/** Longest message built: both bodies at their worst (every byte quoted-printable) fit. */
#define MAIL_MESSAGE_MAX (2u << 20)
/** Longest message id (see struct mail_message.id). */
#define MAIL_ID_MAX 64

/** Results of building and delivering. */
enum mail_rc {
    MAIL_OK = 0,
    MAIL_REFUSED,   /* the message is not acceptable as given (a field of it, or its size) */
    MAIL_TRANSIENT, /* delivery failed for now (4xx, no connection, a full disk): try later */
    MAIL_PERMANENT, /* the server refused it for good (5xx): trying again cannot help */
};

/** A message to build. Every string is UTF-8 and borrowed; NULL fields are left out. */
struct mail_message {
    const char *id;        /* unique per message, [A-Za-z0-9._-]: the Message-ID is
                              <id@domain of from_addr>, the MIME boundary derives from it */
    int64_t date_ms;       /* the Date header (Unix ms) */
    const char *from_name; /* display name; NULL or "" for none */
    const char *from_addr;
    const char *reply_to; /* address, or NULL */
    const char *to_name;
    const char *to_addr;
    const char *subject;
    const char *text; /* the text/plain body; lines end in "\n" (or "\r\n") */
    const char *html; /* the text/html body */
};

/**
 * Builds @m as an RFC 5322 message with CRLF line ends. No line passes 998 characters; headers
 * are folded under 78 where they can be (a long address, Message-ID or word of an ASCII subject
 * cannot), body lines are at most 76. On MAIL_OK *@out (initialised here, released by the
 * caller) holds it; MAIL_REFUSED says why in @why.
 */
enum mail_rc mail_build(const struct mail_message *m, struct sbuf *out, char *why, size_t why_cap);

/** True when @addr is an address mail_build() takes: local@domain, printable ASCII. */
bool mail_address_is_valid(const char *addr);

/** How messages leave. Strings are borrowed for the life of the configuration. */
struct mail_cfg {
    const char *smtp_url;      /* smtp://HOST[:PORT] or smtps://...; NULL or "": write .eml */
    const char *smtp_user;     /* NULL: no authentication */
    const char *smtp_password; /* with smtp_user; never logged */
    bool smtp_starttls;        /* smtp://: refuse to send unless STARTTLS succeeds */
    const char *from;          /* the envelope sender and the From address */
    const char *dir;           /* where .eml files go without SMTP */
};

/** Checks @cfg (URL scheme, From address) and, without SMTP, makes its folder; @why on false. */
bool mail_cfg_check(const struct mail_cfg *cfg, char *why, size_t why_cap);

/**
 * Delivers message @msg (@len bytes, as mail_build() made it) to @to_addr from cfg->from.
 * Without SMTP it becomes @dir/@id.eml (written to a temporary name, synced, renamed), and an
 * existing one counts as delivered, so delivering one id again writes nothing. Through SMTP each
 * call sends: a caller that retries after a success it did not learn of sends twice (the
 * Message-ID stays the same). MAIL_OK, or a failure with a sentence in @why (no secret in it).
 * Blocks for at most a few minutes (connection and transfer time-outs).
 */
enum mail_rc mail_deliver(const struct mail_cfg *cfg, const char *id, const char *to_addr,
                          const char *msg, size_t len, char *why, size_t why_cap);

#endif /* CONSIGN_MAIL_H */
