/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Slices, capped buffers, hex and the arena. */
#include "core/compat.h"

#include "core/mem.h"
#include "core/str.h"
#include "tap.h"

int main(void)
{
    struct str rest = STR_LIT("a,,b"), f;
    struct sbuf sb;
    struct arena a;
    uint64_t v;
    uint8_t bytes[4];
    char hex[9];
    int n = 0;

    ok(str_eq(STR_LIT("abc"), str_from("abc")), "equal slices");
    ok(!str_eq(STR_LIT("abc"), STR_LIT("abd")), "different slices");
    ok(str_eq_nocase(STR_LIT("X-Api-Key"), "x-api-key"), "case-insensitive equality");
    ok(!str_eq_nocase(STR_LIT("X-Api-Ke"), "x-api-key"), "length matters");
    ok(str_has_ctl((struct str){ "a\0b", 3 }), "NUL is a control character");
    ok(!str_has_ctl(STR_LIT("a\tb")), "tab is not");

    ok(str_to_u64(STR_LIT("18446744073709551615"), UINT64_MAX, &v) && v == UINT64_MAX, "max u64");
    ok(!str_to_u64(STR_LIT("18446744073709551616"), UINT64_MAX, &v), "overflow refused");
    ok(!str_to_u64(STR_LIT("+1"), 10, &v), "sign refused");
    ok(!str_to_u64(STR_LIT(" 1"), 10, &v), "space refused");
    ok(!str_to_u64(STR_LIT(""), 10, &v), "empty refused");
    ok(!str_to_u64(STR_LIT("11"), 10, &v), "over max refused");
    ok(str_to_u64(STR_LIT("007"), 10, &v) && v == 7, "leading zeros");

    while (str_next(&rest, ',', &f))
        n++;
    is_int(n, 3, "split keeps empty fields");
    ok(str_eq(str_trim(STR_LIT(" \tx y\t ")), STR_LIT("x y")), "trim");

    sbuf_init(&sb, 8);
    ok(sbuf_adds(&sb, "12345678"), "fill to the cap");
    ok(!sbuf_adds(&sb, "9"), "one byte past the cap is refused");
    ok(sb.overflow && sb.len == 8 && strcmp(sb.buf, "12345678") == 0,
       "buffer unchanged after refusal");
    sbuf_release(&sb);
    ok(sbuf_addf(&sb, "%d-%s", 42, "x") && strcmp(sb.buf, "42-x") == 0, "formatted append");
    ok(!sbuf_addf(&sb, "%s", "too long!"), "formatted append past the cap");
    free(sbuf_detach(&sb, NULL));

    {
        char num[24];

        ok(i64_format(0, num) == 1 && strcmp(num, "0") == 0, "format 0");
        ok(i64_format(-42, num) == 3 && strcmp(num, "-42") == 0, "format -42");
        ok(i64_format(INT64_MAX, num) == 19 && strcmp(num, "9223372036854775807") == 0,
           "format the largest");
        ok(i64_format(INT64_MIN, num) == 20 && strcmp(num, "-9223372036854775808") == 0,
           "format the smallest");
        sbuf_init(&sb, 64);
        ok(sbuf_add_i64(&sb, 1234567890123LL) && strcmp(sb.buf, "1234567890123") == 0,
           "append a number");
        sbuf_release(&sb);
    }
    hex_encode((const uint8_t *)"\x00\xff\x10\xab", 4, hex);
    is_str(hex, "00ff10ab", "hex encode");
    ok(hex_decode(STR_LIT("00FF10ab"), bytes, 4) && bytes[1] == 0xff && bytes[3] == 0xab,
       "hex decode");
    ok(!hex_decode(STR_LIT("00ff10a"), bytes, 4), "odd length refused");
    ok(!hex_decode(STR_LIT("00ff10ag"), bytes, 4), "non-hex refused");
    {
        /* RFC 4648 section 10, in the URL alphabet and without padding. */
        static const char *const want[] = {
            "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"
        };
        char b64[16];
        bool all = true;

        for (size_t i = 0; i < 7; i++)
            all &= b64url_encode((const uint8_t *)"foobar", i, b64) == strlen(want[i]) &&
                   strcmp(b64, want[i]) == 0 && B64URL_LEN(i) == strlen(want[i]);
        ok(all, "base64url of the RFC 4648 vectors");
        b64url_encode((const uint8_t *)"\xfb\xff", 2, b64);
        is_str(b64, "-_8", "base64url uses - and _");
    }

    arena_init(&a);
    for (int i = 0; i < 10000; i++) {
        char *p = arena_printf(&a, "item %d", i);

        if (i == 9999)
            is_str(p, "item 9999", "arena keeps every allocation");
    }
    ok(((uintptr_t)arena_alloc(&a, 3) % _Alignof(max_align_t)) == 0, "arena alignment");
    ok(arena_alloc(&a, 3u << 20) != NULL, "large allocation gets its own block");
    is_str(arena_strndup(&a, "abcdef", 3), "abc", "strndup");
    arena_release(&a);
    ok(a.head == NULL, "released arena is empty");
    return done_testing();
}
