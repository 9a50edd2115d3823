/*
 * test_timing.c — the model-free pieces of word-level timestamps: the median filter, DTW and its
 * backtrace, the alignment-weight pipeline, word splitting on spaces and on unicode boundaries,
 * words from a DTW path, merge_punctuations, the median-duration clamps, the per-segment word
 * adjustments, Python's round(x, 2) and the hallucination anomaly scores.
 *
 * Expected values were computed by a throwaway NumPy/PyTorch script restating the reference's
 * timing.py/transcribe.py expressions (torch.sort median over F.pad reflect, dtw_cpu with float32
 * costs, merge_punctuations, add_word_timestamps). Tokenizer tests need the shared data folder
 * (AURIS_SHARED_DATA) and are skipped without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "transcribe/transcribe.h"
#include "tokenizer/tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void test_median_filter(void **state)
{
    (void)state;
    float x[2][8] = {{3, 1, 4, 1, 5, 9, 2, 6}, {5, 3, 5, 8, 9, 7, 9, 3}};
    const float want7[2][8] = {{1, 3, 3, 3, 4, 4, 5, 5}, {5, 5, 5, 7, 7, 8, 8, 9}};
    assert_int_equal(auris__median_filter(&x[0][0], 2, 8, 7), 0);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 8; k++)
            assert_true(x[r][k] == want7[r][k]);

    float y[2][8] = {{3, 1, 4, 1, 5, 9, 2, 6}, {5, 3, 5, 8, 9, 7, 9, 3}};
    const float want3[2][8] = {{1, 3, 1, 4, 5, 5, 6, 2}, {3, 5, 5, 8, 8, 9, 7, 9}};
    assert_int_equal(auris__median_filter(&y[0][0], 2, 8, 3), 0);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 8; k++)
            assert_true(y[r][k] == want3[r][k]);

    /* no wider than the padding: returned unchanged */
    float z[3] = {1, 2, 3};
    assert_int_equal(auris__median_filter(z, 1, 3, 7), 0);
    assert_true(z[0] == 1 && z[1] == 2 && z[2] == 3);

    /* NaN sorts last, as torch.sort: reflect gives {NaN, 1, NaN} at 0, {1, NaN, 2} at 1 */
    float n[8] = {1, NAN, 2, 3, 4, 5, 6, 7};
    const float want_n[8] = {NAN, 2, 3, 3, 4, 5, 6, 6};
    assert_int_equal(auris__median_filter(n, 1, 8, 3), 0);
    assert_true(isnan(n[0]));
    for (int k = 1; k < 8; k++)
        assert_true(n[k] == want_n[k]);
    float two[2] = {0.0f, 0.1f}; /* length 2 > pad 1: reflect {0.1, 0, 0.1} and {0, 0.1, 0} */
    assert_int_equal(auris__median_filter(two, 1, 2, 3), 0);
    assert_true(two[0] == 0.1f && two[1] == 0.0f);
    assert_int_equal(auris__median_filter(n, 1, 8, 4), -1); /* even width refused */
}

static void check_path(const double *x, int N, int M, const int *want_text, const int *want_time,
                       int want_len)
{
    int ti[32], tt[32];
    int len = auris__dtw(x, N, M, ti, tt);
    assert_int_equal(len, want_len);
    for (int i = 0; i < len; i++) {
        assert_int_equal(ti[i], want_text[i]);
        assert_int_equal(tt[i], want_time[i]);
    }
}

static void test_dtw(void **state)
{
    (void)state;
    const double m[3][5] = {{0.1, 0.9, 0.2, 0.0, 0.5},
                            {0.7, 0.2, 0.8, 0.1, 0.3},
                            {0.2, 0.4, 0.1, 0.9, 0.6}};
    double x[15];
    for (int i = 0; i < 15; i++)
        x[i] = -m[i / 5][i % 5];
    const int t1[] = {0, 0, 1, 1, 2, 2, 2}, s1[] = {0, 1, 1, 2, 2, 3, 4};
    check_path(x, 3, 5, t1, s1, 7);

    /* all ties: the reference's else branch moves along time first */
    double zero[12] = {0};
    const int t2[] = {0, 1, 2, 2, 2, 2}, s2[] = {0, 0, 0, 1, 2, 3};
    check_path(zero, 3, 4, t2, s2, 6);

    /* no frames: the backtrace walks down column 0 with time index -1 */
    const int t3[] = {0, 1, 2}, s3[] = {-1, -1, -1};
    check_path(zero, 3, 0, t3, s3, 3);
}

static void test_alignment_weights(void **state)
{
    (void)state;
    float w[2][3][5] = {{{0.5f, -1.0f, 2.0f, 0.0f, 1.5f},
                         {1.0f, 0.2f, -0.3f, 0.8f, 0.1f},
                         {-0.5f, 0.4f, 0.9f, -1.2f, 0.3f}},
                        {{0.1f, 0.2f, 0.3f, 0.4f, 0.5f},
                         {2.0f, -2.0f, 1.0f, -1.0f, 0.0f},
                         {0.7f, 0.7f, -0.7f, 0.0f, 1.1f}}};
    const double want[3][5] = {
        {-0.0799223780632019, -0.11432412266731262, -0.11432412266731262, -0.0799223780632019,
         -0.0799223780632019},
        {-0.5189636945724487, -0.5189636945724487, -0.5189636945724487, -0.5189636945724487,
         -0.5189636945724487},
        {0.16261084377765656, 0.16261084377765656, -0.04536015912890434, -0.04536015912890434,
         0.16261084377765656}};
    float matrix[15];
    assert_int_equal(auris__alignment_weights(&w[0][0][0], 2, 3, 5, 7, matrix), 0);
    for (int i = 0; i < 15; i++)
        assert_true(fabs(matrix[i] - want[i / 5][i % 5]) < 1e-5);
}

static void test_py_round2(void **state)
{
    (void)state;
    /* the nearest doubles decide, as Python's round(x, 2) */
    assert_true(auris__py_round2(1.005) == 1.0);
    assert_true(auris__py_round2(0.125) == 0.12);
    assert_true(auris__py_round2(2.675) == 2.67);
    assert_true(auris__py_round2(0.145) == 0.14);
    assert_true(auris__py_round2(30.0 + 0.34) == 30.34);
}

static struct auris__word_timing wt(const char *word, int begin, int n, double start, double end)
{
    struct auris__word_timing t;
    t.word = auris__strdup(word);
    t.tok_begin = begin;
    t.n_tokens = n;
    t.start = start;
    t.end = end;
    t.probability = 0.5;
    return t;
}

static void test_merge_punctuations(void **state)
{
    (void)state;
    const char *words[] = {" \"", " Hello", ",", " world", ".", "\"", " (", "ok", ")",
                           " \xc2\xbf", " Qu\xc3\xa9", "?"};
    enum { N = 12 };
    struct auris__word_timing a[N];
    for (int i = 0; i < N; i++)
        a[i] = wt(words[i], i, 1, 0, 0);
    assert_int_equal(auris__merge_punctuations(a, N, NULL, NULL), 0);
    const char *want[N] = {"", " \" Hello,", "", " world.\"", "", "", "", " (ok)", "", "",
                           " \xc2\xbf Qu\xc3\xa9?", ""};
    const int want_n[N] = {0, 3, 0, 3, 0, 0, 0, 3, 0, 0, 3, 0};
    const int want_begin1 = 0, want_begin7 = 6, want_begin10 = 9;
    for (int i = 0; i < N; i++) {
        assert_string_equal(a[i].word, want[i]);
        assert_int_equal(a[i].n_tokens, want_n[i]);
    }
    assert_int_equal(a[1].tok_begin, want_begin1);
    assert_int_equal(a[7].tok_begin, want_begin7);
    assert_int_equal(a[10].tok_begin, want_begin10);
    for (int i = 0; i < N; i++)
        free(a[i].word);

    /* custom sets: nothing to prepend, "!" appended */
    struct auris__word_timing b[3] = {wt(" hi", 0, 1, 0, 0), wt("!", 1, 1, 0, 0),
                                      wt(" (", 2, 1, 0, 0)};
    assert_int_equal(auris__merge_punctuations(b, 3, "", "!"), 0);
    /* "" is in every string: " (" strips to "(", which is not in "" — not merged */
    assert_string_equal(b[0].word, " hi!");
    assert_string_equal(b[2].word, " (");
    for (int i = 0; i < 3; i++)
        free(b[i].word);
}

static void test_clamp_durations(void **state)
{
    (void)state;
    struct auris__word_timing a[6] = {wt(" a", 0, 1, 0.0, 0.2), wt(" b", 1, 1, 0.2, 0.6),
                                      wt(".", 2, 1, 0.6, 2.0),  wt(" c", 3, 1, 2.0, 2.0),
                                      wt(" d", 4, 1, 2.0, 3.5), wt(" e", 5, 1, 3.5, 3.8)};
    double max_d = -1;
    double median = auris__clamp_word_durations(a, 6, &max_d);
    assert_true(median == 0.39999999999999997);
    assert_true(max_d == 0.7999999999999999);
    assert_true(a[2].start == 0.6 && fabs(a[2].end - 1.4) < 1e-12); /* sentence end truncated */
    assert_true(a[4].start == 2.0 && a[4].end == 3.5);             /* neither word is a mark */
    /* after a sentence end the long word keeps its end */
    struct auris__word_timing b[3] = {wt(" x", 0, 1, 0.0, 0.1), wt("!", 1, 1, 0.1, 0.2),
                                      wt(" y", 2, 1, 0.2, 3.0)};
    median = auris__clamp_word_durations(b, 3, &max_d);
    assert_true(median == 0.1);
    assert_true(fabs(b[2].start - 2.8) < 1e-12 && b[2].end == 3.0);
    /* long medians are capped at 0.7; no durations: 0 */
    struct auris__word_timing c[1] = {wt(" z", 0, 1, 1.0, 1.0)};
    assert_true(auris__clamp_word_durations(c, 1, &max_d) == 0.0 && max_d == 0.0);
    struct auris__word_timing d[1] = {wt(" z", 0, 1, 0.0, 5.0)};
    assert_true(auris__clamp_word_durations(d, 1, &max_d) == 0.7);
    for (int i = 0; i < 6; i++)
        free(a[i].word);
    for (int i = 0; i < 3; i++)
        free(b[i].word);
    free(c[0].word);
    free(d[0].word);
}

static void test_assign_words(void **state)
{
    (void)state;
    struct auris_segment segs[2];
    memset(segs, 0, sizeof segs);
    segs[0].seek = segs[1].seek = 3000;
    segs[0].start = 31.0;
    segs[0].end = 33.0;
    segs[1].start = 33.0;
    segs[1].end = 36.0;
    const int n_text[2] = {3, 2};
    struct auris__word_timing a[5] = {wt(" one", 0, 1, 0.0, 2.5), wt(" two", 1, 2, 2.5, 2.9),
                                      wt("", 3, 0, 2.9, 2.9), wt(" three", 3, 1, 3.0, 3.4),
                                      wt(" four", 4, 1, 3.4, 7.0)};
    struct auris_error err;
    assert_int_equal(auris__assign_words(segs, 2, n_text, a, 5, 30.0, 0.3, 0.6, 29.0, &err),
                     AURIS_OK);
    assert_true(segs[0].has_words && segs[1].has_words);
    assert_int_equal(segs[0].n_words, 2);
    assert_int_equal(segs[1].n_words, 2);
    assert_string_equal(segs[0].words[0].word, " one");
    assert_true(fabs(segs[0].words[0].start - 31.9) < 1e-9 && segs[0].words[0].end == 32.5);
    assert_true(segs[0].words[1].start == 32.5 && segs[0].words[1].end == 32.9);
    assert_true(fabs(segs[0].start - 31.9) < 1e-9 && segs[0].end == 32.9);
    assert_true(segs[1].words[0].start == 33.0 && segs[1].words[0].end == 33.4);
    assert_true(segs[1].words[1].start == 33.4 && segs[1].words[1].end == 36.0);
    assert_true(segs[1].start == 33.0 && segs[1].end == 36.0);
    for (int s = 0; s < 2; s++) {
        for (int w = 0; w < segs[s].n_words; w++)
            free(segs[s].words[w].word);
        free(segs[s].words);
    }
    for (int i = 0; i < 5; i++)
        free(a[i].word);
}

static void test_words_from_path(void **state)
{
    (void)state;
    /* 3 text tokens + <|notimestamps|> row: rows 0..3, words of 1 and 2 tokens, then eot */
    const int ti[] = {0, 0, 1, 2, 2, 3, 3};
    const int tt[] = {0, 1, 2, 3, 4, 5, 6};
    char *words[3] = {auris__strdup(" a"), auris__strdup(" bc"), auris__strdup("<|endoftext|>")};
    const int len[3] = {1, 2, 1};
    const float probs[3] = {0.5f, 0.25f, 0.75f};
    struct auris__word_timing out[3];
    int n = auris__words_from_path(ti, tt, 7, words, len, 3, probs, out);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].word, " a");
    assert_true(out[0].start == 0.0 && out[0].end == 2 / 50.0);
    assert_true(out[0].probability == 0.5);
    assert_true(out[1].start == 2 / 50.0 && out[1].end == 5 / 50.0);
    assert_true(out[1].probability == 0.5);
    assert_int_equal(out[1].tok_begin, 1);
    assert_int_equal(out[1].n_tokens, 2);
    free(out[0].word);
    free(out[1].word);
    free(words[2]);
    /* only <|endoftext|>: no words */
    assert_int_equal(auris__words_from_path(ti, tt, 7, words, len, 1, probs, out), 0);
}

static void test_anomaly(void **state)
{
    (void)state;
    struct auris_word w = {"x", 1.0, 1.05, 0.1};
    assert_true(fabs(auris__word_anomaly_score(&w) - (1.0 + (0.133 - 0.05) * 15)) < 1e-9);
    struct auris_word longw = {"x", 0.0, 3.0, 0.5};
    assert_true(auris__word_anomaly_score(&longw) == 1.0);
    struct auris_word ok = {"x", 0.0, 0.5, 0.9};
    assert_true(auris__word_anomaly_score(&ok) == 0.0);

    struct auris_word words[3] = {{" hi", 0.0, 0.5, 0.9}, {",", 0.5, 0.5, 0.01}, {" yo", 0.5, 1.0, 0.9}};
    struct auris_segment s;
    memset(&s, 0, sizeof s);
    assert_false(auris__is_segment_anomaly(NULL));
    assert_false(auris__is_segment_anomaly(&s));
    s.words = words;
    s.n_words = 3;
    assert_false(auris__is_segment_anomaly(&s)); /* "," is punctuation: not scored */
    words[2].probability = 0.1;                  /* score 1 + 0.01 >= 2? no */
    assert_false(auris__is_segment_anomaly(&s));
    words[0].probability = 0.1; /* score 2 + 0.01 >= 2 */
    assert_true(auris__is_segment_anomaly(&s));
}

static const char *data_dir(void)
{
    const char *d = getenv("AURIS_SHARED_DATA");
    return d && *d ? d : NULL;
}

static struct auris__tokenizer *load_tok(const char *name, int n_vocab)
{
    char path[1024];
    const char *d = data_dir();
    snprintf(path, sizeof path, "%s/%s", d ? d : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fclose(f);
    struct auris__tokenizer *t = NULL;
    struct auris_error err;
    if (auris__tokenizer_load_tiktoken(path, n_vocab, &t, &err) != AURIS_OK)
        fail_msg("%s", err.message);
    return t;
}

static void test_split_spaces(void **state)
{
    (void)state;
    struct auris__tokenizer *t = load_tok("gpt2.tiktoken", 51864);
    if (!t) {
        print_message("skipped: gpt2.tiktoken not found (set AURIS_SHARED_DATA)\n");
        skip();
    }
    const char *text = " Hello world, it's ok.";
    int *ids = NULL;
    size_t n = 0;
    struct auris_error err;
    assert_int_equal(auris__tokenizer_encode(t, text, strlen(text), &ids, &n, &err), AURIS_OK);
    int *tok = malloc((n + 1) * sizeof *tok);
    memcpy(tok, ids, n * sizeof *tok);
    tok[n] = auris__tokenizer_specials(t)->eot;
    char **words = NULL;
    int *len = NULL, nw = 0;
    assert_int_equal(auris__split_word_tokens(t, tok, (int)n + 1, false, &words, &len, &nw, &err),
                     AURIS_OK);
    const char *want[] = {" Hello", " world", ",", " it's", " ok", ".", "<|endoftext|>"};
    assert_int_equal(nw, 7);
    int total = 0;
    for (int i = 0; i < nw; i++) {
        assert_string_equal(words[i], want[i]);
        total += len[i];
        free(words[i]);
    }
    assert_int_equal(total, (int)n + 1);
    assert_int_equal(len[3], 2); /* " it" + "'s" */
    free(words);
    free(len);
    free(tok);
    free(ids);
    auris__tokenizer_free(t);
}

static void test_split_unicode(void **state)
{
    (void)state;
    struct auris__tokenizer *t = load_tok("multilingual.tiktoken", 51865);
    if (!t) {
        print_message("skipped: multilingual.tiktoken not found (set AURIS_SHARED_DATA)\n");
        skip();
    }
    /* rare characters are split over several byte tokens; words end on whole characters */
    const char *text = "\xe9\xbe\x98\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c\xe3\x80\x82";
    int *ids = NULL;
    size_t n = 0;
    struct auris_error err;
    assert_int_equal(auris__tokenizer_encode(t, text, strlen(text), &ids, &n, &err), AURIS_OK);
    char **words = NULL;
    int *len = NULL, nw = 0;
    assert_int_equal(auris__split_word_tokens(t, ids, (int)n, true, &words, &len, &nw, &err),
                     AURIS_OK);
    char joined[256] = "";
    int total = 0;
    assert_true(nw >= 1 && nw <= (int)n);
    for (int i = 0; i < nw; i++) {
        assert_null(strstr(words[i], "\xef\xbf\xbd"));
        assert_true(strlen(joined) + strlen(words[i]) < sizeof joined);
        strcat(joined, words[i]);
        total += len[i];
        free(words[i]);
    }
    assert_string_equal(joined, text);
    assert_int_equal(total, (int)n);
    assert_true(auris__splits_on_unicode("ja") && auris__splits_on_unicode("yue"));
    assert_false(auris__splits_on_unicode("en") || auris__splits_on_unicode(NULL));
    free(words);
    free(len);
    free(ids);
    auris__tokenizer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median_filter),    cmocka_unit_test(test_dtw),
        cmocka_unit_test(test_alignment_weights), cmocka_unit_test(test_py_round2),
        cmocka_unit_test(test_merge_punctuations), cmocka_unit_test(test_clamp_durations),
        cmocka_unit_test(test_assign_words),     cmocka_unit_test(test_words_from_path),
        cmocka_unit_test(test_anomaly),          cmocka_unit_test(test_split_spaces),
        cmocka_unit_test(test_split_unicode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
