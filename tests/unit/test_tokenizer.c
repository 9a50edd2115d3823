/*
 * test_tokenizer.c — unit tests of src/tokenizer: languages, .tiktoken validation, BPE merge
 * order, decoding with U+FFFD replacement, and (with the shared data) the real vocabularies.
 *
 * Reference: openai/whisper tokenizer.py and tiktoken; expected ids come from
 * tests/reference/ref_tokenizer.py (checked against tiktoken itself), expected replacement from
 * Python's bytes.decode("utf-8", errors="replace"). Tests needing /work/shared/data skip
 * without it; the rest build a synthetic 50257-token vocabulary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tokenizer/tokenizer.h"

#define N_SYN 50257

/* ---- helpers ---------------------------------------------------------------------------- */

static const char *data_dir(void)
{
    const char *d = getenv("AURIS_SHARED_DATA");
    return d && *d ? d : NULL;
}

static struct auris__tokenizer *load_real(const char *name, int n_vocab)
{
    const char *d = data_dir();
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", d ? d : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fclose(f);
    struct auris__tokenizer *t = NULL;
    struct auris_error err;
    enum auris_err rc = auris__tokenizer_load_tiktoken(path, n_vocab, &t, &err);
    if (rc != AURIS_OK)
        fail_msg("%s", err.message);
    return t;
}

#define REAL_OR_SKIP(var, name, n_vocab)                                                        \
    struct auris__tokenizer *var = load_real(name, n_vocab);                                   \
    if (!var) {                                                                                \
        print_message("skipped: %s not found (set AURIS_SHARED_DATA to the shared data "       \
                      "folder)\n", name);                                                      \
        skip();                                                                                \
    }

/* Synthetic vocabulary: ranks 0..255 are the bytes, then "ab", "bc", "abc", " a", then
 * fillers "\xf8<k>" (0xF8 never occurs in UTF-8 text, so they never take part in merges). */
static struct auris__tokenizer *synthetic(int n_vocab, int n_tokens, enum auris_err *rc_out)
{
    static unsigned char store[N_SYN + 8][12];
    const unsigned char *toks[N_SYN + 8];
    uint32_t lens[N_SYN + 8];
    static const char *const merges[] = {"ab", "bc", "abc", " a"};
    for (int k = 0; k < n_tokens; k++) {
        if (k < 256) {
            store[k][0] = (unsigned char)k;
            lens[k] = 1;
        } else if (k < 260) {
            lens[k] = (uint32_t)strlen(merges[k - 256]);
            memcpy(store[k], merges[k - 256], lens[k]);
        } else {
            lens[k] = (uint32_t)snprintf((char *)store[k], sizeof(store[k]), "\xf8%d", k);
        }
        toks[k] = store[k];
    }
    struct auris__tokenizer *t = NULL;
    struct auris_error err;
    *rc_out = auris__tokenizer_from_tokens(toks, lens, n_tokens, n_vocab, &t, &err);
    return t;
}

static char *decode_ids(const struct auris__tokenizer *t, const int *ids, size_t n)
{
    char *s = NULL;
    struct auris_error err;
    enum auris_err rc = auris__tokenizer_decode(t, ids, n, &s, &err);
    if (rc != AURIS_OK)
        fail_msg("decode: %s", err.message);
    return s;
}

static void expect_encode(const struct auris__tokenizer *t, const char *text, const int *want,
                          size_t n_want)
{
    int *ids = NULL;
    size_t n = 0;
    struct auris_error err;
    enum auris_err rc = auris__tokenizer_encode(t, text, strlen(text), &ids, &n, &err);
    if (rc != AURIS_OK)
        fail_msg("encode \"%s\": %s", text, err.message);
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    free(ids);
}

/* ---- languages -------------------------------------------------------------------------- */

static void test_languages(void **state)
{
    (void)state;
    assert_string_equal(auris_language_code(0), "en");
    assert_string_equal(auris_language_name(0), "english");
    assert_string_equal(auris_language_code(99), "yue");
    assert_string_equal(auris_language_code(97), "jw");
    assert_null(auris_language_code(100));
    assert_null(auris_language_code(-1));
    assert_null(auris_language_name(100));
    assert_int_equal(auris_language_index("de"), 2);
    assert_int_equal(auris_language_index("DE"), 2);
    assert_int_equal(auris_language_index("German"), 2);
    assert_int_equal(auris_language_index("haitian creole"), 80);
    assert_int_equal(auris_language_index("Mandarin"), 1);
    assert_int_equal(auris_language_index("castilian"), 3);
    assert_int_equal(auris_language_index("moldovan"), 25);
    assert_int_equal(auris_language_index("burmese"), auris_language_index("my"));
    assert_int_equal(auris_language_index("sinhalese"), auris_language_index("si"));
    assert_int_equal(auris_language_index("yue"), 99);
    assert_int_equal(auris_language_index("klingon"), -1);
    assert_int_equal(auris_language_index(""), -1);
    assert_int_equal(auris_language_index(NULL), -1);
}

/* ---- synthetic vocabulary --------------------------------------------------------------- */

static void test_synthetic_specials(void **state)
{
    (void)state;
    enum auris_err rc;
    struct auris__tokenizer *t = synthetic(51865, N_SYN, &rc);
    assert_int_equal(rc, AURIS_OK);
    const struct auris__specials *sp = auris__tokenizer_specials(t);
    assert_int_equal(sp->eot, 50257);
    assert_int_equal(sp->sot, 50258);
    assert_int_equal(sp->lang_begin, 50259);
    assert_int_equal(sp->n_langs, 99);
    assert_int_equal(sp->translate, 50358);
    assert_int_equal(sp->no_timestamps, 50363);
    assert_int_equal(sp->timestamp_begin, 50364);
    assert_int_equal(auris__tokenizer_language_token(t, "en"), 50259);
    assert_int_equal(auris__tokenizer_language_token(t, "yue"), -1);
    assert_string_equal(auris__tokenizer_special_text(t, 50364 + 1500), "<|30.00|>");
    assert_string_equal(auris__tokenizer_special_text(t, 50364 + 75), "<|1.50|>");
    const unsigned char *b = NULL;
    assert_int_equal(auris__tokenizer_token_bytes(t, 258, &b), 3);
    assert_memory_equal(b, "abc", 3);
    assert_int_equal(auris__tokenizer_token_bytes(t, 50257, &b), 0);
    assert_int_equal(auris__tokenizer_token_bytes(t, -1, &b), 0);
    auris__tokenizer_free(t);

    /* n_vocab must fit the base vocabulary exactly. */
    assert_null(synthetic(51864, N_SYN, &rc));
    assert_int_equal(rc, AURIS_ERR_FORMAT);
    assert_null(synthetic(51867, N_SYN, &rc));
    assert_int_equal(rc, AURIS_ERR_FORMAT);
    assert_null(synthetic(51865, 300, &rc));
    assert_int_equal(rc, AURIS_ERR_FORMAT);
    auris__tokenizer_free(NULL);
}

/* Old ggml conversions append "<|endoftext|>" to the base tokens: it is dropped. */
static void test_synthetic_trailing_eot(void **state)
{
    (void)state;
    const unsigned char **toks = malloc((N_SYN + 1) * sizeof(*toks));
    uint32_t *lens = malloc((N_SYN + 1) * sizeof(*lens));
    unsigned char(*store)[8] = malloc((size_t)N_SYN * 8);
    assert_true(toks && lens && store);
    for (int k = 0; k < N_SYN; k++) {
        if (k < 256) {
            store[k][0] = (unsigned char)k;
            lens[k] = 1;
        } else {
            lens[k] = (uint32_t)snprintf((char *)store[k], 8, "\xf8%d", k);
        }
        toks[k] = store[k];
    }
    toks[N_SYN] = (const unsigned char *)"<|endoftext|>";
    lens[N_SYN] = 13;
    struct auris__tokenizer *t = NULL;
    struct auris_error err;
    assert_int_equal(auris__tokenizer_from_tokens(toks, lens, N_SYN + 1, 51865, &t, &err),
                     AURIS_OK);
    assert_int_equal(auris__tokenizer_specials(t)->eot, N_SYN);
    auris__tokenizer_free(t);
    /* Any other extra token is an error. */
    toks[N_SYN] = (const unsigned char *)"<|other|>";
    lens[N_SYN] = 9;
    assert_int_equal(auris__tokenizer_from_tokens(toks, lens, N_SYN + 1, 51865, &t, &err),
                     AURIS_ERR_FORMAT);
    assert_null(t);
    free(toks);
    free(lens);
    free(store);
}

static void test_synthetic_bad_tokens(void **state)
{
    (void)state;
    static unsigned char bytes[256];
    const unsigned char *toks[3] = {bytes, bytes, bytes};
    uint32_t lens[3] = {1, 1, 1};
    struct auris__tokenizer *t = NULL;
    struct auris_error err;
    /* Duplicate byte strings. */
    assert_int_equal(auris__tokenizer_from_tokens(toks, lens, 3, 51865, &t, &err),
                     AURIS_ERR_FORMAT);
    assert_null(t);
    uint32_t huge[1] = {1u << 20};
    assert_int_equal(auris__tokenizer_from_tokens(toks, huge, 1, 51865, &t, &err),
                     AURIS_ERR_FORMAT);
    assert_int_equal(auris__tokenizer_from_tokens(toks, lens, 0, 51865, &t, &err),
                     AURIS_ERR_FORMAT);
}

static void test_synthetic_merges(void **state)
{
    (void)state;
    enum auris_err rc;
    struct auris__tokenizer *t = synthetic(51865, N_SYN, &rc);
    assert_int_equal(rc, AURIS_OK);
    expect_encode(t, "abc", (const int[]){258}, 1); /* whole piece is a token */
    /* ab (256) beats bc (257); then ab+c is abc (258). */
    expect_encode(t, "abcd", (const int[]){258, 'd'}, 2);
    /* bcab: ab (256) merges first, then bc (257); no "bcab" token. */
    expect_encode(t, "bcab", (const int[]){257, 256}, 2);
    /* " ab": " a" (259) loses to "ab" (256): [" ", "ab"]. */
    expect_encode(t, " ab", (const int[]){' ', 256}, 2);
    /* Pieces: "It", "'s", " x", "  " + " " split, "12". */
    expect_encode(t, "It's x   12",
                  (const int[]){'I', 't', '\'', 's', ' ', 'x', ' ', ' ', ' ', '1', '2'}, 11);
    expect_encode(t, "", (const int[]){0}, 0);

    int *ids = NULL;
    size_t n = 0;
    struct auris_error err;
    static const char *const bad[] = {"\xff", "a\xc3", "\xed\xa0\x80", "\xc0\xaf",
                                      "\xf4\x90\x80\x80", "x<|endoftext|>y", "<|en|>",
                                      "<|0.00|>", "<|30.00|>"};
    for (size_t i = 0; i < AURIS_ARRAY_LEN(bad); i++) {
        rc = auris__tokenizer_encode(t, bad[i], strlen(bad[i]), &ids, &n, &err);
        assert_int_equal(rc, AURIS_ERR_TOKENIZER);
        assert_null(ids);
    }
    /* Near-misses of special tokens are ordinary text. */
    static const char *const ok[] = {"<|yue|>", "<|30.02|>", "<|EN|>", "<|endoftext", "<||>"};
    for (size_t i = 0; i < AURIS_ARRAY_LEN(ok); i++) {
        rc = auris__tokenizer_encode(t, ok[i], strlen(ok[i]), &ids, &n, &err);
        assert_int_equal(rc, AURIS_OK);
        free(ids);
    }
    /* A long run must not take quadratic time per merge; "ab" x 20000 merges pairwise. */
    size_t len = 40000;
    char *big = malloc(len + 1);
    assert_non_null(big);
    for (size_t i = 0; i < len; i++)
        big[i] = "ab"[i % 2];
    big[len] = 0;
    rc = auris__tokenizer_encode(t, big, len, &ids, &n, &err);
    assert_int_equal(rc, AURIS_OK);
    assert_int_equal(n, len / 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], 256);
    free(ids);
    free(big);
    auris__tokenizer_free(t);
}

struct repl_case {
    const char *in, *want;
};

static void test_decode_replacement(void **state)
{
    (void)state;
    enum auris_err rc;
    struct auris__tokenizer *t = synthetic(51866, N_SYN, &rc);
    assert_int_equal(rc, AURIS_OK);
#define R "\xef\xbf\xbd"
    /* Expected strings are Python's bytes.decode("utf-8", errors="replace"). */
    static const struct repl_case cases[] = {
        {"\xe4\xb8\xad", "\xe4\xb8\xad"},
        {"\x80", R},
        {"\xc0\xaf", R R},
        {"\xe0\x80\xaf", R R R},
        {"\xed\xa0\x80", R R R},
        {"\xf0\x9f\x98", R},
        {"\xf0\x9f\x98" "A", R "A"},
        {"\xe2\x82x", R "x"},
        {"\xf4\x90\x80\x80", R R R R},
        {"\xf5", R},
        {"\xff", R},
        {"\xc2", R},
        {"\xe1\x80\xe1\x80\x80", R "\xe1\x80\x80"},
        {"\xf1\x80\x80\xc2\xa9", R "\xc2\xa9"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
    };
    for (size_t c = 0; c < AURIS_ARRAY_LEN(cases); c++) {
        int ids[8];
        size_t n = strlen(cases[c].in);
        for (size_t i = 0; i < n; i++) /* one byte per token: characters split across tokens */
            ids[i] = (unsigned char)cases[c].in[i];
        char *s = decode_ids(t, ids, n);
        assert_string_equal(s, cases[c].want);
        free(s);
    }
#undef R
    const struct auris__specials *sp = auris__tokenizer_specials(t);
    int ids[] = {sp->eot, sp->sot, sp->lang_begin + 99, sp->transcribe, sp->no_timestamps,
                 sp->timestamp_begin, 'h', 'i', sp->timestamp_begin + 1500};
    char *s = decode_ids(t, ids, AURIS_ARRAY_LEN(ids));
    assert_string_equal(s, "<|endoftext|><|startoftranscript|><|yue|><|transcribe|>"
                           "<|notimestamps|>hi");
    free(s);
    s = decode_ids(t, NULL, 0);
    assert_string_equal(s, "");
    free(s);
    /* Embedded NUL: the length variant reports it. */
    int nul[] = {'a', 0, 'b'};
    size_t len = 0;
    struct auris_error err;
    assert_int_equal(auris__tokenizer_decode_len(t, nul, 3, &s, &len, &err), AURIS_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 3);
    free(s);
    int bad[] = {'a', 51866};
    s = (char *)1;
    assert_int_equal(auris__tokenizer_decode(t, bad, 2, &s, &err), AURIS_ERR_INVALID_ARG);
    assert_null(s);
    int neg[] = {-1};
    assert_int_equal(auris__tokenizer_decode(t, neg, 1, &s, &err), AURIS_ERR_INVALID_ARG);
    auris__tokenizer_free(t);
}

/* ---- malformed .tiktoken files ---------------------------------------------------------- */

static enum auris_err load_text(const char *text, size_t len, struct auris_error *err)
{
    const char *tmp = getenv("AURIS_TEST_TMP");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tok_bad.tiktoken", tmp && *tmp ? tmp : "/tmp");
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    fwrite(text, 1, len, f);
    fclose(f);
    struct auris__tokenizer *t = (struct auris__tokenizer *)1;
    enum auris_err rc = auris__tokenizer_load_tiktoken(path, 51865, &t, err);
    assert_null(t);
    remove(path);
    return rc;
}

static void test_malformed_files(void **state)
{
    (void)state;
    static const struct {
        const char *text, *where;
    } cases[] = {
        {"", "no tokens"},
        {"IQ== 0\nSGV$bG8= 1\n", ":2:"},    /* bad base64 character */
        {"IQ== 0\nQ 1\n", ":2:"},           /* 1 data character: not base64 */
        {"IQ== 0\nQUJD= 1\n", ":2:"},       /* padding past a full quantum */
        {"IQ== 0\nIg== 2\n", ":2:"},        /* gap in ranks */
        {"IQ== 1\n", ":1:"},                /* does not start at 0 */
        {"IQ== 0\nIg==\n", ":2:"},          /* truncated line */
        {"IQ== 0\nIg==", ":2:"},            /* truncated last line, no newline */
        {"IQ== 0\n\nIg== 1\n", ":2:"},      /* blank line */
        {"IQ== 0\nIg== 1x\n", ":2:"},       /* junk after the rank */
        {"IQ== 0\nIg== 1 2\n", ":2:"},      /* three fields */
        {"IQ== 0\nIg== 99999999999\n", ":2:"},
        {"IQ== 0\nIQ== 1\n", "repeats"},    /* duplicate token */
        {"IQ== 0\nIg== 1\n", "base tokens"}, /* valid syntax, wrong n_vocab */
    };
    for (size_t c = 0; c < AURIS_ARRAY_LEN(cases); c++) {
        struct auris_error err;
        memset(&err, 0, sizeof(err));
        enum auris_err rc = load_text(cases[c].text, strlen(cases[c].text), &err);
        if (rc != AURIS_ERR_FORMAT || !strstr(err.message, cases[c].where))
            fail_msg("case %zu: rc %d, message \"%s\" lacks \"%s\"", c, (int)rc, err.message,
                     cases[c].where);
        assert_non_null(strstr(err.message, "tok_bad.tiktoken"));
    }
    /* NUL bytes inside the file. */
    struct auris_error err;
    assert_int_equal(load_text("IQ== 0\nI\0== 1\n", 14, &err), AURIS_ERR_FORMAT);

    struct auris__tokenizer *t = NULL;
    assert_int_equal(auris__tokenizer_load_tiktoken("/nonexistent/x.tiktoken", 51865, &t, &err),
                     AURIS_ERR_NOT_FOUND);
    assert_null(t);
    assert_int_equal(auris__tokenizer_load_tiktoken(NULL, 51865, &t, &err),
                     AURIS_ERR_INVALID_ARG);
}

/* ---- the real vocabularies -------------------------------------------------------------- */

static void test_real_specials(void **state)
{
    (void)state;
    REAL_OR_SKIP(g, "gpt2.tiktoken", 51864);
    const struct auris__specials *sp = auris__tokenizer_specials(g);
    assert_int_equal(auris__tokenizer_n_vocab(g), 51864);
    assert_int_equal(sp->eot, 50256);
    assert_int_equal(sp->sot, 50257);
    assert_int_equal(sp->n_langs, 0);
    assert_int_equal(sp->n_lang_tokens, 99);
    assert_int_equal(sp->multilingual, 0);
    assert_int_equal(sp->translate, 50357);
    assert_int_equal(sp->transcribe, 50358);
    assert_int_equal(sp->sot_lm, 50359);
    assert_int_equal(sp->sot_prev, 50360);
    assert_int_equal(sp->no_speech, 50361);
    assert_int_equal(sp->no_timestamps, 50362);
    assert_int_equal(sp->timestamp_begin, 50363);
    assert_int_equal(auris__tokenizer_language_token(g, "en"), -1);
    auris__tokenizer_free(g);

    REAL_OR_SKIP(m, "multilingual.tiktoken", 51865);
    sp = auris__tokenizer_specials(m);
    assert_int_equal(sp->eot, 50257);
    assert_int_equal(sp->sot, 50258);
    assert_int_equal(sp->n_langs, 99);
    assert_int_equal(sp->translate, 50358);
    assert_int_equal(sp->transcribe, 50359);
    assert_int_equal(sp->sot_lm, 50360);
    assert_int_equal(sp->sot_prev, 50361);
    assert_int_equal(sp->no_speech, 50362);
    assert_int_equal(sp->no_timestamps, 50363);
    assert_int_equal(sp->timestamp_begin, 50364);
    assert_int_equal(auris__tokenizer_language_token(m, "en"), 50259);
    assert_int_equal(auris__tokenizer_language_token(m, "su"), 50357);
    assert_int_equal(auris__tokenizer_language_token(m, "yue"), -1);
    /* The multilingual vocabulary's rank 50256 is the empty token ("=" in the file). */
    assert_int_equal(auris__tokenizer_token_bytes(m, 50256, NULL), 0);
    auris__tokenizer_free(m);

    REAL_OR_SKIP(v3, "multilingual.tiktoken", 51866);
    sp = auris__tokenizer_specials(v3);
    assert_int_equal(sp->n_langs, 100);
    assert_int_equal(auris__tokenizer_language_token(v3, "yue"), 50358);
    assert_int_equal(auris__tokenizer_language_token(v3, "Cantonese"), 50358);
    assert_int_equal(sp->translate, 50359);
    assert_int_equal(sp->transcribe, 50360);
    assert_int_equal(sp->no_timestamps, 50364);
    assert_int_equal(sp->timestamp_begin, 50365);
    auris__tokenizer_free(v3);

    /* A vocabulary that does not fit the model's size. */
    char path[1024];
    snprintf(path, sizeof(path), "%s/gpt2.tiktoken", data_dir());
    struct auris__tokenizer *t = NULL;
    struct auris_error err;
    assert_int_equal(auris__tokenizer_load_tiktoken(path, 51865, &t, &err), AURIS_ERR_FORMAT);
    assert_null(t);
}

static void test_real_encode_decode(void **state)
{
    (void)state;
    REAL_OR_SKIP(g, "gpt2.tiktoken", 51864);
    REAL_OR_SKIP(m, "multilingual.tiktoken", 51866);
    /* Expected ids from ref_tokenizer.py (which matches tiktoken). */
    expect_encode(g, " Hello world", (const int[]){18435, 995}, 2);
    expect_encode(m, " Hello world", (const int[]){2425, 1002}, 2);
    expect_encode(g, "Hello, world!", (const int[]){15496, 11, 995, 0}, 4);
    expect_encode(m, "Hello, world!", (const int[]){15947, 11, 1002, 0}, 4);
    expect_encode(g, "It's 2024.", (const int[]){1026, 338, 48609, 13}, 4);
    expect_encode(m, "It's 2024.", (const int[]){3522, 311, 45237, 13}, 4);
    expect_encode(g, "\xe4\xb8\xad\xe6\x96\x87", (const int[]){40792, 23877, 229}, 3);
    expect_encode(m, "\xe4\xb8\xad\xe6\x96\x87", (const int[]){5975, 17174}, 2);
    expect_encode(g, " \xe4\xbd\xa0\xe5\xa5\xbd", (const int[]){220, 19526, 254, 25001, 121}, 5);
    expect_encode(m, " \xe4\xbd\xa0\xe5\xa5\xbd", (const int[]){10930, 2131}, 2);
    expect_encode(g, "  x", (const int[]){220, 2124}, 2);

    /* "中文" in gpt2 splits 文 across tokens 23877 and 229: alone each part is U+FFFD. */
    int ids[] = {40792, 23877, 229};
    char *s = decode_ids(g, ids, 3);
    assert_string_equal(s, "\xe4\xb8\xad\xe6\x96\x87");
    free(s);
    s = decode_ids(g, ids, 2);
    assert_string_equal(s, "\xe4\xb8\xad\xef\xbf\xbd");
    free(s);
    s = decode_ids(g, ids + 2, 1);
    assert_string_equal(s, "\xef\xbf\xbd");
    free(s);
    auris__tokenizer_free(g);
    auris__tokenizer_free(m);
}

static void test_real_non_speech(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int n_vocab;
        size_t n;
        int first[5], last[3];
    } cases[] = {
        {"gpt2.tiktoken", 51864, 84, {1, 2, 7, 8, 9}, {40549, 47282, 49146}},
        {"multilingual.tiktoken", 51865, 82, {1, 2, 7, 8, 9}, {47425, 49870, 50254}},
        {"multilingual.tiktoken", 51866, 82, {1, 2, 7, 8, 9}, {47425, 49870, 50254}},
    };
    for (size_t c = 0; c < AURIS_ARRAY_LEN(cases); c++) {
        REAL_OR_SKIP(t, cases[c].file, cases[c].n_vocab);
        int *ids = NULL;
        size_t n = 0;
        struct auris_error err;
        assert_int_equal(auris__tokenizer_non_speech(t, &ids, &n, &err), AURIS_OK);
        assert_int_equal(n, cases[c].n);
        for (int i = 0; i < 5; i++)
            assert_int_equal(ids[i], cases[c].first[i]);
        for (int i = 0; i < 3; i++)
            assert_int_equal(ids[n - 3 + (size_t)i], cases[c].last[i]);
        for (size_t i = 1; i < n; i++)
            assert_true(ids[i - 1] < ids[i]);
        free(ids);
        auris__tokenizer_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_synthetic_specials),
        cmocka_unit_test(test_synthetic_trailing_eot),
        cmocka_unit_test(test_synthetic_bad_tokens),
        cmocka_unit_test(test_synthetic_merges),
        cmocka_unit_test(test_decode_replacement),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_real_specials),
        cmocka_unit_test(test_real_encode_decode),
        cmocka_unit_test(test_real_non_speech),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
