/*
 * test_decode.c — decoding helpers that need no model: the compression ratio (equal to Python's
 * len(b) / len(zlib.compress(b))) and Python-compatible str.strip(). (The writers' tests are in
 * test_output.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decode/decode.h"

#include <stdio.h>
#include <stdlib.h>

static void test_compression_ratio(void **state)
{
    (void)state;
    /* expected values printed by CPython's zlib on the same strings */
    const char *jfk = "And so my fellow Americans, ask not what your country can do for you, "
                      "ask what you can do for your country.";
    assert_float_equal(auris__compression_ratio(jfk, strlen(jfk)), 1.3544303797468353, 1e-12);
    char a100[101];
    memset(a100, 'a', 100);
    a100[100] = 0;
    assert_float_equal(auris__compression_ratio(a100, 100), 8.333333333333334, 1e-12);
    const char *u = "h\xc3\xa9llo w\xc3\xb6rld \xe4\xbd\xa0\xe5\xa5\xbd";
    assert_float_equal(auris__compression_ratio(u, strlen(u)), 0.6896551724137931, 1e-12);
    assert_float_equal(auris__compression_ratio("", 0), 0.0, 0.0);
}

static void check_strip(const char *in, const char *want)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", in);
    auris__strip_inplace(buf);
    assert_string_equal(buf, want);
}

static void test_strip(void **state)
{
    (void)state;
    check_strip("  hello  ", "hello");
    check_strip(" And so my fellow", "And so my fellow");
    check_strip("\t\n x \r\n", "x");
    check_strip("", "");
    check_strip("   ", "");
    check_strip("\xe3\x80\x80wide\xe3\x80\x80", "wide");          /* U+3000 */
    check_strip("\xc2\xa0nbsp\xc2\xa0", "nbsp");                  /* U+00A0 */
    check_strip("caf\xc3\xa9 ", "caf\xc3\xa9");                   /* é is not space */
    check_strip(" \xe2\x80\x8b", "\xe2\x80\x8b");                /* U+200B is not space */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compression_ratio),
        cmocka_unit_test(test_strip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
