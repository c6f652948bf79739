/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libc functions that must not be used: unbounded copies, silent number parsing and the
 * non-reentrant time functions. Each is redefined to a name that fails to compile, so a use is
 * caught at build time (the idea of git's banned.h). Use the slices and capped buffers of
 * core/str.h, str_to_i64() and the calendar code of core/clock.h instead.
 */
#ifndef CONSIGN_BANNED_H
#define CONSIGN_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_consign

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef atoll
#define atoll(x) BANNED(atoll)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)
#undef ctime
#define ctime(x) BANNED(ctime)
#undef asctime
#define asctime(x) BANNED(asctime)
#undef gets
#define gets(x) BANNED(gets)
#undef mktemp
#define mktemp(x) BANNED(mktemp)
#undef tmpnam
#define tmpnam(x) BANNED(tmpnam)

#endif /* CONSIGN_BANNED_H */
