/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* ULIDs: shape, validity checks and time order. */
#include "core/compat.h"

#include "core/id.h"
#include "tap.h"

int main(void)
{
    char a[ID_LEN + 1], b[ID_LEN + 1];
    bool all_valid = true, distinct = true;

    id_new_at(1000, a);
    id_new_at(2000, b);
    is_int(strlen(a), ID_LEN, "26 characters");
    ok(strcmp(a, b) < 0, "ids sort by time");
    id_new_at(0xFFFFFFFFFFFFLL, a);
    ok(a[0] == '7', "largest timestamp starts with 7");
    for (int i = 0; i < 2000; i++) {
        id_new(a);
        id_new(b);
        all_valid &= id_is_valid(str_from(a)) && id_is_valid(str_from(b));
        distinct &= strcmp(a, b) != 0;
    }
    ok(all_valid, "new ids are valid");
    ok(distinct, "new ids differ");
    ok(id_is_valid(STR_LIT("01M8166BWWZP2J6X829RJMGMBZ")), "a real id");
    ok(!id_is_valid(STR_LIT("01M8166BWWZP2J6X829RJMGMB")), "too short");
    ok(!id_is_valid(STR_LIT("01M8166BWWZP2J6X829RJMGMBZZ")), "too long");
    ok(!id_is_valid(STR_LIT("81M8166BWWZP2J6X829RJMGMBZ")), "first digit over 7");
    ok(!id_is_valid(STR_LIT("01m8166bwwzp2j6x829rjmgmbz")), "lowercase");
    ok(!id_is_valid(STR_LIT("01M8166BWWZP2J6X829RJMGMBU")), "U is not Crockford");
    ok(!id_is_valid(STR_LIT("01M8166BWWZP2J6X829RJMGMB/")), "punctuation");
    ok(!id_is_valid((struct str){ "01M8166BWWZP2J6X829RJMGMB\0", 26 }), "NUL");
    return done_testing();
}
