/*
 * test_hub.c — unit tests of src/hub without a network: the SHA-256 wrapper on the FIPS 180-2
 * vectors (one-shot, streamed in odd pieces, peek, files), URL rewriting for
 * AURIS_MODEL_BASE_URL, cache directory precedence ($AURIS_CACHE, $XDG_CACHE_HOME, $HOME), the
 * name table (every entry's hash is 64 hex digits equal to its URL's second-to-last component),
 * directory creation, and offline resolution (paths, unknown names, cached files that verify or
 * not). Downloads themselves are tested by tests/reference/test_download.py.
 *
 * Reference: openai/whisper __init__.py (_MODELS, _download).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub/hub.h"

static char tmp[1024];

static int setup_tmp(void **state)
{
    (void)state;
    const char *d = getenv("AURIS_TEST_TMP");
    snprintf(tmp, sizeof tmp, "%s/hub-%ld", d && *d ? d : "/tmp", (long)getpid());
    struct auris_error err = {0};
    return auris_hub_mkdirs(tmp, &err) == AURIS_OK ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* ---- SHA-256 -------------------------------------------------------------------------------- */

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    assert_int_equal(auris_hub_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(auris_hub_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(auris_hub_sha256_hex(m, strlen(m), hex), 0);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_streaming(void **state)
{
    (void)state;
    /* one million 'a', fed in pieces of awkward sizes */
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    auris_hub_sha256 *h = auris_hub_sha256_new();
    assert_non_null(h);
    char hex[65], peek[65];
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        assert_int_equal(auris_hub_sha256_update(h, a + off, n), 0);
        off += n;
        step = step * 3 + 7;
        if (off == 500000 + 0) /* peeking must not disturb the running digest */
            assert_int_equal(auris_hub_sha256_peek(h, peek), 0);
    }
    assert_int_equal(auris_hub_sha256_peek(h, peek), 0);
    assert_int_equal(auris_hub_sha256_final(h, hex), 0);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    assert_string_equal(peek, hex);
    /* reset and reuse */
    assert_int_equal(auris_hub_sha256_reset(h), 0);
    assert_int_equal(auris_hub_sha256_update(h, "abc", 3), 0);
    assert_int_equal(auris_hub_sha256_final(h, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(auris_hub_sha256_update(NULL, "x", 1), -1);
    auris_hub_sha256_free(h);
    auris_hub_sha256_free(NULL);

    /* the same bytes through a file */
    char path[1200];
    snprintf(path, sizeof path, "%s/million_a", tmp);
    write_file(path, a, 1000000);
    struct auris_error err = {0};
    assert_int_equal(auris_hub_sha256_file(path, NULL, NULL, hex, &err), AURIS_OK);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    snprintf(path, sizeof path, "%s/does-not-exist", tmp);
    assert_int_equal(auris_hub_sha256_file(path, NULL, NULL, hex, &err), AURIS_ERR_IO);
    assert_non_null(strstr(err.message, "does-not-exist"));
    free(a);
}

/* ---- the catalogue ------------------------------------------------------------------------ */

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void test_name_table(void **state)
{
    (void)state;
    static const char *names[] = {"tiny.en", "tiny", "base.en", "base", "small.en", "small",
                                  "medium.en", "medium", "large-v1", "large-v2", "large-v3",
                                  "large", "large-v3-turbo", "turbo"};
    const struct auris_hub_file *f;
    int n = 0;
    for (; (f = auris_hub_model_at(n)); n++) {
        assert_string_equal(f->name, names[n]);
        assert_true(is_hex64(f->sha256));
        /* the reference's rule: url.split("/")[-2] is the hash, the basename the file */
        const char *last = strrchr(f->url, '/');
        assert_non_null(last);
        assert_string_equal(last + 1, f->file);
        assert_true(last - f->url > 65);
        assert_memory_equal(last - 64, f->sha256, 64);
        assert_int_equal(last[-65], '/');
        assert_int_equal(strncmp(f->url, "https://openaipublic.azureedge.net/main/whisper/models/",
                                 55), 0);
        size_t len = strlen(f->name);
        int english = len > 3 && strcmp(f->name + len - 3, ".en") == 0;
        assert_string_equal(f->vocab, english ? "gpt2.tiktoken" : "multilingual.tiktoken");
        assert_ptr_equal(auris_hub_find_model(f->name), f);
        assert_non_null(auris_hub_find_vocab(f->vocab));
    }
    assert_int_equal(n, 14);
    assert_null(auris_hub_model_at(-1));
    assert_null(auris_hub_find_model("tiny.en.pt"));
    assert_null(auris_hub_find_model(NULL));
    assert_string_equal(auris_hub_find_model("large")->sha256,
                        auris_hub_find_model("large-v3")->sha256);
    assert_string_equal(auris_hub_find_model("turbo")->file, "large-v3-turbo.pt");
    assert_string_equal(auris_hub_find_model("tiny.en")->sha256,
                        "d3dd57d32accea0b295c96e26691aa14d8822fac7d9d27d5dc00b4ca2826dd03");

    f = auris_hub_find_vocab("gpt2.tiktoken");
    assert_non_null(f);
    assert_string_equal(f->sha256,
                        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930");
    assert_null(f->vocab);
    f = auris_hub_find_vocab("multilingual.tiktoken");
    assert_non_null(f);
    assert_string_equal(f->sha256,
                        "b34b360dbb493e781e479794586d661700670d65564001f23024971d1f2fa126");
    assert_non_null(strstr(f->url, "/whisper/assets/multilingual.tiktoken"));
    assert_null(auris_hub_find_vocab("other.tiktoken"));
}

static void test_url_rewrite(void **state)
{
    (void)state;
    const struct auris_hub_file *f = auris_hub_find_model("tiny.en");
    struct auris_error err = {0};
    char *url = NULL;
    assert_int_equal(auris_hub_url(f, NULL, &url, &err), AURIS_OK);
    assert_string_equal(url, f->url);
    free(url);
    assert_int_equal(auris_hub_url(f, "", &url, &err), AURIS_OK);
    assert_string_equal(url, f->url);
    free(url);
    assert_int_equal(auris_hub_url(f, "http://127.0.0.1:8080/base//", &url, &err), AURIS_OK);
    assert_string_equal(url, "http://127.0.0.1:8080/base/"
                             "d3dd57d32accea0b295c96e26691aa14d8822fac7d9d27d5dc00b4ca2826dd03"
                             "/tiny.en.pt");
    free(url);
    f = auris_hub_find_vocab("gpt2.tiktoken");
    assert_int_equal(auris_hub_url(f, "http://h", &url, &err), AURIS_OK);
    assert_string_equal(url, "http://h/"
                             "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
                             "/gpt2.tiktoken");
    free(url);
    assert_int_equal(auris_hub_url(NULL, "http://h", &url, &err), AURIS_ERR_INVALID_ARG);
}

/* ---- directories -------------------------------------------------------------------------- */

static void expect_dir(enum auris_err (*fn)(char **, struct auris_error *), const char *want)
{
    struct auris_error err = {0};
    char *d = NULL;
    assert_int_equal(fn(&d, &err), AURIS_OK);
    assert_string_equal(d, want);
    free(d);
}

static void test_cache_dir_precedence(void **state)
{
    (void)state;
    char *saved[3];
    const char *vars[3] = {"AURIS_CACHE", "XDG_CACHE_HOME", "HOME"};
    for (int i = 0; i < 3; i++)
        saved[i] = getenv(vars[i]) ? strdup(getenv(vars[i])) : NULL;

    setenv("AURIS_CACHE", "/a/cache", 1);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    expect_dir(auris_hub_cache_dir, "/a/cache");
    expect_dir(auris_hub_whisper_cache_dir, "/xdg/whisper");
    setenv("AURIS_CACHE", "", 1); /* empty counts as unset */
    expect_dir(auris_hub_cache_dir, "/xdg/auris");
    unsetenv("AURIS_CACHE");
    expect_dir(auris_hub_cache_dir, "/xdg/auris");
    unsetenv("XDG_CACHE_HOME");
    expect_dir(auris_hub_cache_dir, "/home/u/.cache/auris");
    expect_dir(auris_hub_whisper_cache_dir, "/home/u/.cache/whisper");
    unsetenv("HOME");
    struct auris_error err = {0};
    char *d = NULL;
    assert_int_equal(auris_hub_cache_dir(&d, &err), AURIS_ERR_NOT_FOUND);
    assert_null(d);
    assert_non_null(strstr(err.message, "AURIS_CACHE"));

    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
    }
}

static void test_mkdirs(void **state)
{
    (void)state;
    char path[1200], file[1300];
    struct auris_error err = {0};
    snprintf(path, sizeof path, "%s/x/y/z/", tmp);
    assert_int_equal(auris_hub_mkdirs(path, &err), AURIS_OK);
    assert_int_equal(auris_hub_mkdirs(path, &err), AURIS_OK); /* idempotent */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    snprintf(file, sizeof file, "%s/x/file", tmp);
    write_file(file, "x", 1);
    snprintf(path, sizeof path, "%s/x/file/sub", tmp);
    assert_int_equal(auris_hub_mkdirs(path, &err), AURIS_ERR_IO);
    assert_non_null(strstr(err.message, "not a directory"));
}

/* ---- offline resolution ------------------------------------------------------------------- */

static void test_resolve_offline(void **state)
{
    (void)state;
    char cache[1200], path[1300];
    struct auris_error err = {0};
    char *out = NULL;
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    setenv("AURIS_CACHE", cache, 1);
    struct auris_hub_options o = auris_hub_default_options();
    o.download = false;
    o.reuse_whisper_cache = false;

    /* an existing path comes back unchanged, even offline */
    snprintf(path, sizeof path, "%s/x/file", tmp);
    assert_int_equal(auris_hub_resolve(path, &o, &out, &err), AURIS_OK);
    assert_string_equal(out, path);
    free(out);

    assert_int_equal(auris_hub_resolve("tiny-but-not-really", &o, &out, &err),
                     AURIS_ERR_NOT_FOUND);
    assert_null(out);
    assert_non_null(strstr(err.message, "large-v3-turbo"));
    assert_int_equal(auris_hub_resolve("tiny.en", &o, &out, &err), AURIS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "downloading is disabled"));

    /* a made-up entry whose bytes are cached: verified, returned; then corrupted: refused */
    char sha[65];
    assert_int_equal(auris_hub_sha256_hex("hello", 5, sha), 0);
    struct auris_hub_file f = {"fake", "https://invalid.example/x/fake.pt", sha, "fake.pt", NULL};
    assert_int_equal(auris_hub_mkdirs(cache, &err), AURIS_OK);
    snprintf(path, sizeof path, "%s/fake.pt", cache);
    write_file(path, "hello", 5);
    char *loc = NULL;
    assert_int_equal(auris_hub_locate(&f, &o, &loc, NULL, &err), AURIS_OK);
    assert_string_equal(loc, path);
    free(loc);
    assert_int_equal(auris_hub_fetch(&f, &o, &out, &err), AURIS_OK);
    assert_string_equal(out, path);
    free(out);
    write_file(path, "hellO", 5);
    assert_int_equal(auris_hub_fetch(&f, &o, &out, &err), AURIS_ERR_FORMAT);
    assert_null(out);
    unlink(path);
    assert_int_equal(auris_hub_locate(&f, &o, &loc, NULL, &err), AURIS_OK);
    assert_null(loc);

    /* the reference's cache is reused when it verifies */
    char home[1200], wdir[1300];
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char *saved_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    snprintf(home, sizeof home, "%s/home", tmp);
    snprintf(wdir, sizeof wdir, "%s/.cache/whisper", home);
    assert_int_equal(auris_hub_mkdirs(wdir, &err), AURIS_OK);
    snprintf(path, sizeof path, "%s/.cache/whisper/fake.pt", home);
    write_file(path, "hello", 5);
    setenv("HOME", home, 1);
    unsetenv("XDG_CACHE_HOME");
    f.vocab = "gpt2.tiktoken";
    o.fetch_vocab = false;
    o.reuse_whisper_cache = true;
    bool in_whisper = false;
    assert_int_equal(auris_hub_locate(&f, &o, &loc, &in_whisper, &err), AURIS_OK);
    assert_string_equal(loc, path);
    assert_true(in_whisper);
    free(loc);
    assert_int_equal(auris_hub_fetch(&f, &o, &out, &err), AURIS_OK);
    assert_string_equal(out, path);
    free(out);
    o.model_dir = cache; /* an explicit download root never looks elsewhere */
    assert_int_equal(auris_hub_fetch(&f, &o, &out, &err), AURIS_ERR_NOT_FOUND);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    if (saved_xdg)
        setenv("XDG_CACHE_HOME", saved_xdg, 1);
    free(saved_home);
    free(saved_xdg);
    unsetenv("AURIS_CACHE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_streaming),
        cmocka_unit_test(test_name_table),
        cmocka_unit_test(test_url_rewrite),
        cmocka_unit_test(test_cache_dir_precedence),
        cmocka_unit_test(test_mkdirs),
        cmocka_unit_test(test_resolve_offline),
    };
    return cmocka_run_group_tests(tests, setup_tmp, NULL);
}
