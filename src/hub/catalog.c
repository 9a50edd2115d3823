/*
 * catalog.c — the official model names and vocabularies, URL rewriting, and the cache
 * directories.
 *
 * Reference: openai/whisper __init__.py (_MODELS; download_root defaults to
 * $XDG_CACHE_HOME/whisper or ~/.cache/whisper). The vocabularies are the files in
 * whisper/assets/ of openai/whisper at commit 839639a2 (the last commit touching them); their
 * SHA-256 match the copies in the project's shared data.
 * Invariants: every entry's sha256 is 64 lowercase hex digits; for models it equals the URL's
 * second-to-last path component and `file` its last (tests/unit/test_hub.c checks both).
 */
#include "hub/hub.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define OPENAI_MODELS "https://openaipublic.azureedge.net/main/whisper/models/"
#define MODEL(name, sha, file, vocab) {name, OPENAI_MODELS sha "/" file, sha, file, vocab}
#define GPT2 "gpt2.tiktoken"
#define MULTI "multilingual.tiktoken"

static const struct auris_hub_file models[] = {
    MODEL("tiny.en",
          "d3dd57d32accea0b295c96e26691aa14d8822fac7d9d27d5dc00b4ca2826dd03", "tiny.en.pt", GPT2),
    MODEL("tiny",
          "65147644a518d12f04e32d6f3b26facc3f8dd46e5390956a9424a650c0ce22b9", "tiny.pt", MULTI),
    MODEL("base.en",
          "25a8566e1d0c1e2231d1c762132cd20e0f96a85d16145c3a00adf5d1ac670ead", "base.en.pt", GPT2),
    MODEL("base",
          "ed3a0b6b1c0edf879ad9b11b1af5a0e6ab5db9205f891f668f8b0e6c6326e34e", "base.pt", MULTI),
    MODEL("small.en",
          "f953ad0fd29cacd07d5a9eda5624af0f6bcf2258be67c92b79389873d91e0872", "small.en.pt", GPT2),
    MODEL("small",
          "9ecf779972d90ba49c06d968637d720dd632c55bbf19d441fb42bf17a411e794", "small.pt", MULTI),
    MODEL("medium.en",
          "d7440d1dc186f76616474e0ff0b3b6b879abc9d1a4926b7adfa41db2d497ab4f", "medium.en.pt", GPT2),
    MODEL("medium",
          "345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1", "medium.pt", MULTI),
    MODEL("large-v1",
          "e4b87e7e0bf463eb8e6956e646f1e277e901512310def2c24bf0e11bd3c28e9a", "large-v1.pt", MULTI),
    MODEL("large-v2",
          "81f7c96c852ee8fc832187b0132e569d6c3065a3252ed18e56effd0b6a73e524", "large-v2.pt", MULTI),
    MODEL("large-v3",
          "e5b1a55b89c1367dacf97e3e19bfd829a01529dbfdeefa8caeb59b3f1b81dadb", "large-v3.pt", MULTI),
    MODEL("large",
          "e5b1a55b89c1367dacf97e3e19bfd829a01529dbfdeefa8caeb59b3f1b81dadb", "large-v3.pt", MULTI),
    MODEL("large-v3-turbo", "aff26ae408abcba5fbf8813c21e62b0941638c5f6eebfb145be0c9839262a19a",
          "large-v3-turbo.pt", MULTI),
    MODEL("turbo", "aff26ae408abcba5fbf8813c21e62b0941638c5f6eebfb145be0c9839262a19a",
          "large-v3-turbo.pt", MULTI),
};

#define ASSETS "https://raw.githubusercontent.com/openai/whisper/" \
               "839639a223b92ad61851baae9ad8a695ccb41ce5/whisper/assets/"
static const struct auris_hub_file vocabs[] = {
    {GPT2, ASSETS GPT2, "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
     GPT2, NULL},
    {MULTI, ASSETS MULTI, "b34b360dbb493e781e479794586d661700670d65564001f23024971d1f2fa126",
     MULTI, NULL},
};

const struct auris_hub_file *auris_hub_model_at(int index)
{
    if (index < 0 || (size_t)index >= AURIS_ARRAY_LEN(models))
        return NULL;
    return &models[index];
}

const struct auris_hub_file *auris_hub_find_model(const char *name)
{
    for (size_t i = 0; name && i < AURIS_ARRAY_LEN(models); i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

const struct auris_hub_file *auris_hub_find_vocab(const char *file)
{
    for (size_t i = 0; file && i < AURIS_ARRAY_LEN(vocabs); i++)
        if (strcmp(vocabs[i].file, file) == 0)
            return &vocabs[i];
    return NULL;
}

enum auris_err auris_hub_url(const struct auris_hub_file *f, const char *base, char **out,
                             struct auris_error *err)
{
    if (!f || !out || !f->url || !f->sha256 || !f->file)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_url: NULL argument");
    *out = NULL;
    if (!base || !*base) {
        *out = auris__strdup(f->url);
    } else {
        size_t nb = strlen(base);
        while (nb > 0 && base[nb - 1] == '/')
            nb--;
        /* "<base>/<sha>/<file>": the same layout as the official server below its prefix, so a
         * test server keyed by hash serves models and vocabularies alike */
        size_t n = nb + strlen(f->sha256) + strlen(f->file) + 3;
        *out = malloc(n);
        if (*out)
            snprintf(*out, n, "%.*s/%s/%s", (int)nb, base, f->sha256, f->file);
    }
    if (!*out)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory building the URL of %s", f->file);
    return AURIS_OK;
}

static enum auris_err join_env(const char *dir, const char *tail, const char *what, char **out,
                               struct auris_error *err)
{
    size_t n = strlen(dir) + strlen(tail) + 2;
    *out = malloc(n);
    if (!*out)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory locating the %s", what);
    snprintf(*out, n, "%s%s%s", dir, *tail ? "/" : "", tail);
    return AURIS_OK;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

enum auris_err auris_hub_cache_dir(char **out, struct auris_error *err)
{
    const char *e;
    if (!out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_cache_dir: NULL argument");
    *out = NULL;
    if ((e = env("AURIS_CACHE")))
        return join_env(e, "", "cache directory", out, err);
    if ((e = env("XDG_CACHE_HOME")))
        return join_env(e, "auris", "cache directory", out, err);
    if ((e = env("HOME")))
        return join_env(e, ".cache/auris", "cache directory", out, err);
    return auris__fail(err, AURIS_ERR_NOT_FOUND,
                       "no cache directory: set AURIS_CACHE (HOME and XDG_CACHE_HOME are unset)");
}

enum auris_err auris_hub_whisper_cache_dir(char **out, struct auris_error *err)
{
    const char *e;
    if (!out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_whisper_cache_dir: NULL");
    *out = NULL;
    if ((e = env("XDG_CACHE_HOME")))
        return join_env(e, "whisper", "reference's cache", out, err);
    if ((e = env("HOME")))
        return join_env(e, ".cache/whisper", "reference's cache", out, err);
    return auris__fail(err, AURIS_ERR_NOT_FOUND, "HOME and XDG_CACHE_HOME are unset");
}

enum auris_err auris_hub_mkdirs(const char *dir, struct auris_error *err)
{
    if (!dir || !*dir)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_mkdirs: empty directory name");
    char *p = auris__strdup(dir);
    if (!p)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory creating %s", dir);
    enum auris_err rc = AURIS_OK;
    /* create each prefix in turn; EEXIST is fine as long as it ends up a directory */
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        struct stat sb;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            rc = auris__fail(err, AURIS_ERR_IO, "cannot create directory %s: %s", p,
                             strerror(errno));
            break;
        }
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            rc = auris__fail(err, AURIS_ERR_IO, "%s exists and is not a directory", p);
            break;
        }
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    return rc;
}
