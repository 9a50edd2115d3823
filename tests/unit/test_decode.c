/*
 * test_decode.c — decoding helpers that need no model: the compression ratio (equal to Python's
 * len(b) / len(zlib.compress(b))), Python-compatible str.strip(), and the txt/json writers with
 * their all-or-nothing file creation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decode/decode.h"
#include "output/output.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

static struct auris_result *make_result(void)
{
    struct auris_result *r = calloc(1, sizeof *r);
    r->text = strdup(" Hello \"world\" \xe4\xbd\xa0\xe5\xa5\xbd");
    snprintf(r->language, sizeof r->language, "en");
    r->n_segments = 2;
    r->segments = calloc(2, sizeof *r->segments);
    for (int i = 0; i < 2; i++) {
        struct auris_segment *s = &r->segments[i];
        s->id = i;
        s->seek = i * 3000;
        s->start = i * 30.0;
        s->end = i * 30.0 + 11.0;
        s->text = strdup(i == 0 ? " Hello \"world\"" : " \xe4\xbd\xa0\xe5\xa5\xbd\n");
        s->n_tokens = 2;
        s->tokens = malloc(2 * sizeof(int));
        s->tokens[0] = 50364 + i;
        s->tokens[1] = 220;
        s->avg_logprob = -0.25;
        s->compression_ratio = 1.5;
        s->no_speech_prob = 0.125;
    }
    return r;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_writers(void **state)
{
    (void)state;
    const char *tmp = getenv("AURIS_TEST_TMP");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/writers-%d", tmp ? tmp : "/tmp", (int)getpid());
    mkdir(dir, 0777);
    struct auris_result *r = make_result();
    struct auris_error err;
    assert_int_equal(auris__write_output_file(dir, "clip", AURIS_FMT_TXT, r, &err), AURIS_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/clip.txt", dir);
    assert_string_equal(slurp(path), "Hello \"world\"\n\xe4\xbd\xa0\xe5\xa5\xbd\n");
    assert_int_equal(auris__write_output_file(dir, "clip", AURIS_FMT_JSON, r, &err), AURIS_OK);
    snprintf(path, sizeof path, "%s/clip.json", dir);
    const char *j = slurp(path);
    assert_non_null(strstr(j, "\"text\":\" Hello \\\"world\\\" \xe4\xbd\xa0\xe5\xa5\xbd\""));
    assert_non_null(strstr(j, "\"tokens\":[50364,220]"));
    assert_non_null(strstr(j, "\"language\":\"en\""));
    assert_non_null(strstr(j, "\"no_speech_prob\":0.125"));
    /* no temporary file is left behind */
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
            n++;
    closedir(d);
    assert_int_equal(n, 2);
    /* an unwritable directory fails cleanly */
    assert_int_equal(auris__write_output_file("/nonexistent/dir", "x", AURIS_FMT_TXT, r, &err),
                     AURIS_ERR_IO);
    assert_true(strlen(err.message) > 0);
    auris_result_free(r);
    unlink(path);
    snprintf(path, sizeof path, "%s/clip.txt", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compression_ratio),
        cmocka_unit_test(test_strip),
        cmocka_unit_test(test_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
