/*
 * test_output.c — golden-file tests of every output format.
 *
 * Each input result tests/reference/golden/<case>.json (a result dict in the reference's
 * shape) is loaded into a struct auris_result and written by every writer; the bytes must equal
 * the golden files, which were produced by the reference's own writers (openai/whisper utils.py
 * WriteTXT/WriteVTT/WriteSRT/WriteTSV/WriteJSON) on the same dicts. Covered: non-ASCII text
 * (accents, CJK, emoji), control characters, "-->" in text, tabs, a cleared segment, times over
 * an hour and over ten hours, half-millisecond rounding (ties to even), and for word-timed
 * results max_line_width / max_line_count / max_words_per_line / highlight_words.
 * Also: format_timestamp, format names, and the all-or-nothing file writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "output/output.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char golden_dir[1024];

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = 0;
    if (len)
        *len = got;
    return buf;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_non_null(v);
    return v->valuedouble;
}

static char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return strdup(v->valuestring);
}

/* Builds a result from a reference-shaped dict. */
static struct auris_result *load_result(const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.json", golden_dir, name);
    char *text = slurp(path, NULL);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    struct auris_result *r = calloc(1, sizeof *r);
    r->text = str(root, "text");
    char *lang = str(root, "language");
    snprintf(r->language, sizeof r->language, "%s", lang);
    free(lang);
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(root, "segments");
    r->n_segments = cJSON_GetArraySize(segs);
    r->segments = calloc((size_t)r->n_segments + 1, sizeof *r->segments);
    int i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, segs)
    {
        struct auris_segment *g = &r->segments[i++];
        g->id = (int)num(s, "id");
        g->seek = (int)num(s, "seek");
        g->start = num(s, "start");
        g->end = num(s, "end");
        g->text = str(s, "text");
        const cJSON *toks = cJSON_GetObjectItemCaseSensitive(s, "tokens");
        g->n_tokens = cJSON_GetArraySize(toks);
        g->tokens = calloc((size_t)g->n_tokens + 1, sizeof *g->tokens);
        int k = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, toks) g->tokens[k++] = t->valueint;
        g->temperature = num(s, "temperature");
        g->avg_logprob = num(s, "avg_logprob");
        g->compression_ratio = num(s, "compression_ratio");
        g->no_speech_prob = num(s, "no_speech_prob");
        const cJSON *words = cJSON_GetObjectItemCaseSensitive(s, "words");
        if (words) {
            g->has_words = true;
            g->n_words = cJSON_GetArraySize(words);
            g->words = calloc((size_t)g->n_words + 1, sizeof *g->words);
            int w = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, words)
            {
                g->words[w].word = str(x, "word");
                g->words[w].start = num(x, "start");
                g->words[w].end = num(x, "end");
                g->words[w].probability = num(x, "probability");
                w++;
            }
        }
    }
    cJSON_Delete(root);
    return r;
}

static void check_golden(const struct auris_result *r, enum auris__format fmt,
                         const struct auris__writer_options *o, const char *golden)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(auris__write_format(f, fmt, r, o), 0);
    fclose(f);
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", golden_dir, golden);
    size_t glen = 0;
    char *want = slurp(path, &glen);
    if (!want)
        fail_msg("missing golden file %s", path);
    if (glen != len || memcmp(want, buf, len) != 0) {
        fprintf(stderr, "--- %s: expected ---\n%s\n--- got ---\n%s\n", golden, want, buf);
        fail_msg("output differs from %s", golden);
    }
    free(want);
    free(buf);
}

static void test_segments_golden(void **state)
{
    (void)state;
    struct auris_result *r = load_result("segments");
    check_golden(r, AURIS_FMT_TXT, NULL, "segments.out.txt");
    check_golden(r, AURIS_FMT_TSV, NULL, "segments.out.tsv");
    check_golden(r, AURIS_FMT_JSON, NULL, "segments.out.json");
    check_golden(r, AURIS_FMT_VTT, NULL, "segments.default.vtt");
    check_golden(r, AURIS_FMT_SRT, NULL, "segments.default.srt");
    /* the subtitle options only act on word-timed results */
    struct auris__writer_options o = {10, 1, 2, true};
    check_golden(r, AURIS_FMT_VTT, &o, "segments.default.vtt");
    auris_result_free(r);
}

static void test_words_golden(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct auris__writer_options o;
    } sets[] = {
        {"default", {0, 0, 0, false}}, {"w20", {20, 0, 0, false}},
        {"w20c2", {20, 2, 0, false}},  {"n3", {0, 0, 3, false}},
        {"c2n2", {0, 2, 2, false}},    {"hl", {0, 0, 0, true}},
        {"w16c1hl", {16, 1, 0, true}},
    };
    struct auris_result *r = load_result("words");
    check_golden(r, AURIS_FMT_TXT, NULL, "words.out.txt");
    check_golden(r, AURIS_FMT_TSV, NULL, "words.out.tsv");
    check_golden(r, AURIS_FMT_JSON, NULL, "words.out.json");
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "words.%s.vtt", sets[i].name);
        check_golden(r, AURIS_FMT_VTT, &sets[i].o, name);
        snprintf(name, sizeof name, "words.%s.srt", sets[i].name);
        check_golden(r, AURIS_FMT_SRT, &sets[i].o, name);
    }
    auris_result_free(r);
}

static void check_ts(double t, bool hours, char marker, const char *want)
{
    char buf[32];
    auris__format_timestamp(t, hours, marker, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_format_timestamp(void **state)
{
    (void)state;
    check_ts(0.0, false, '.', "00:00.000");
    check_ts(0.0, true, ',', "00:00:00,000");
    check_ts(11.0, false, '.', "00:11.000");
    check_ts(0.0005, false, '.', "00:00.000"); /* 0.5 ms: ties to even */
    check_ts(0.0015, false, '.', "00:00.002");
    check_ts(0.0025, false, '.', "00:00.002");
    check_ts(59.9996, false, '.', "01:00.000");
    check_ts(3599.9996, false, '.', "01:00:00.000");
    check_ts(3661.001, true, ',', "01:01:01,001");
    check_ts(36000.0, false, '.', "10:00:00.000");
    check_ts(-1.0, false, '.', "00:00.000");
}

static void test_format_names(void **state)
{
    (void)state;
    const char *names[] = {"txt", "vtt", "srt", "tsv", "json", "all"};
    for (int i = 0; i < 6; i++)
        assert_int_equal(auris__format_parse(names[i]), i);
    assert_int_equal(auris__format_parse("docx"), -1);
    assert_int_equal(auris__format_parse(NULL), -1);
    assert_string_equal(auris__format_ext(AURIS_FMT_SRT), "srt");
    assert_null(auris__format_ext(AURIS_FMT_ALL));
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_files(void **state)
{
    (void)state;
    const char *tmp = getenv("AURIS_TEST_TMP");
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/output-%d", tmp ? tmp : "/tmp", (int)getpid());
    mkdir(dir, 0777);
    struct auris_result *r = load_result("segments");
    struct auris_error err;
    assert_int_equal(auris__write_output_file(dir, "clip", AURIS_FMT_ALL, r, NULL, &err),
                     AURIS_OK);
    assert_int_equal(count_entries(dir), 5); /* no temporary file left behind */
    const char *exts[] = {"txt", "vtt", "srt", "tsv", "json"};
    const char *golden[] = {"segments.out.txt", "segments.default.vtt", "segments.default.srt",
                            "segments.out.tsv", "segments.out.json"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/clip.%s", dir, exts[i]);
        char *got = slurp(path, NULL);
        char gpath[1200];
        snprintf(gpath, sizeof gpath, "%s/%s", golden_dir, golden[i]);
        char *want = slurp(gpath, NULL);
        assert_non_null(got);
        assert_non_null(want);
        assert_string_equal(got, want);
        free(got);
        free(want);
        unlink(path);
    }
    assert_int_equal(auris__write_output_file(dir, "one", AURIS_FMT_SRT, r, NULL, &err),
                     AURIS_OK);
    assert_int_equal(count_entries(dir), 1);
    snprintf(path, sizeof path, "%s/one.srt", dir);
    unlink(path);
    /* an unwritable directory fails cleanly */
    assert_int_equal(auris__write_output_file("/nonexistent/dir", "x", AURIS_FMT_ALL, r, NULL,
                                              &err),
                     AURIS_ERR_IO);
    assert_true(strlen(err.message) > 0);
    auris_result_free(r);
    rmdir(dir);
}

static void test_empty_result(void **state)
{
    (void)state;
    struct auris_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.language, sizeof r.language, "de");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(auris__write_json(f, &r), 0);
    assert_int_equal(auris__write_vtt(f, &r, NULL), 0);
    assert_int_equal(auris__write_tsv(f, &r), 0);
    fclose(f);
    assert_string_equal(buf, "{\"text\": \"\", \"segments\": [], \"language\": \"de\"}"
                             "WEBVTT\n\nstart\tend\ttext\n");
    free(buf);
}

int main(void)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    snprintf(golden_dir, sizeof golden_dir, "%.*s/../reference/golden",
             slash ? (int)(slash - file) : 1, slash ? file : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segments_golden), cmocka_unit_test(test_words_golden),
        cmocka_unit_test(test_format_timestamp), cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_files),           cmocka_unit_test(test_empty_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
