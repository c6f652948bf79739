/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The direct JSON writer: commas, nesting, escaping, and output that jansson reads back. */
#include "core/compat.h"

#include <jansson.h>

#include "core/clock.h"
#include "json/jwrite.h"
#include "tap.h"

int main(void)
{
    static const char tricky[] = "q\"b\\s/\n\r\t\x01\x1f\x7f é 日本";
    struct jw w;
    json_error_t e;
    json_t *doc;
    size_t len;
    char *text;

    jw_init(&w, 4096);
    jw_object_begin(&w);
    jw_kstring(&w, "s", tricky);
    jw_kint(&w, "i", -9007199254740993LL);
    jw_kbool(&w, "t", true);
    jw_ktime(&w, "at", 1667333388249LL);
    jw_key(&w, "n");
    jw_null(&w);
    jw_key(&w, "a");
    jw_array_begin(&w);
    jw_int(&w, 1);
    jw_object_begin(&w);
    jw_object_end(&w);
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_string(&w, NULL);
    jw_array_end(&w);
    jw_key(&w, "raw");
    jw_raw(&w, "[\"x\"]");
    jw_kplain(&w, "id", "01M8166BWWZP2J6X829RJMGMBZ");
    jw_kstring(&w, "empty", "");
    jw_kstring(&w, "end", "ends in a quote\"");
    jw_object_end(&w);
    text = jw_take(&w, &len);
    ok(text && len == strlen(text), "text and length");
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    ok(doc != NULL, "jansson reads it back (%s)", doc ? "ok" : e.text);
    ok(doc && strcmp(json_string_value(json_object_get(doc, "s")), tricky) == 0,
       "every character survives escaping");
    ok(doc && json_integer_value(json_object_get(doc, "i")) == -9007199254740993LL,
       "64-bit integer");
    ok(doc && json_is_true(json_object_get(doc, "t")) && json_is_null(json_object_get(doc, "n")),
       "true and null");
    ok(doc &&
           strcmp(json_string_value(json_object_get(doc, "at")), "2022-11-01T20:09:48.249Z") == 0,
       "time");
    ok(doc && json_array_size(json_object_get(doc, "a")) == 4 &&
           json_is_null(json_array_get(json_object_get(doc, "a"), 3)),
       "nested array with object, array and null");
    ok(doc && json_is_array(json_object_get(doc, "raw")), "raw JSON kept");
    ok(doc &&
           strcmp(json_string_value(json_object_get(doc, "id")), "01M8166BWWZP2J6X829RJMGMBZ") == 0,
       "plain string");
    ok(doc && strcmp(json_string_value(json_object_get(doc, "empty")), "") == 0 &&
           strcmp(json_string_value(json_object_get(doc, "end")), "ends in a quote\"") == 0,
       "empty string, escape as the last byte");
    json_decref(doc);
    free(text);

    jw_init(&w, 16);
    jw_array_begin(&w);
    jw_string(&w, "this is longer than sixteen bytes");
    jw_array_end(&w);
    ok(jw_take(&w, &len) == NULL, "past the cap there is no text");
    return done_testing();
}
