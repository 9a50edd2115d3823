/*
 * model.c — auris_model_load and friends: map the file, detect its format from its bytes, parse,
 * bind, and attach the mel filterbank and the tokenizer.
 *
 * Reference: openai/whisper __init__.py (load_model), tokenizer.py (get_encoding picks
 * multilingual.tiktoken or gpt2.tiktoken), audio.py (mel_filters); whisper.cpp ggml files embed
 * both the filters and the base vocabulary.
 * Invariants: the map is read-only and lives as long as the model; every buffer the model owns
 * is in model->owned (plus path, tok and the map), released on the single path
 * auris_model_free, which also cleans up half-built models on failure.
 */
#include "model/model.h"
#include "audio/audio.h"
#include "tokenizer/tokenizer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_FILTER_BINS (AURIS_N_FFT / 2 + 1)

struct auris_model_params auris_model_default_params(void)
{
    struct auris_model_params p = {.assets_dir = NULL};
    return p;
}

int auris__model_own(auris_model *model, void *p)
{
    if (!p)
        return -1;
    if (model->n_owned == model->cap_owned) {
        int cap = model->cap_owned ? model->cap_owned * 2 : 256;
        void **o = realloc(model->owned, (size_t)cap * sizeof *o);
        if (!o) {
            auris__aligned_free(p);
            return -1;
        }
        model->owned = o;
        model->cap_owned = cap;
    }
    model->owned[model->n_owned++] = p;
    return 0;
}

void auris__checkpoint_clear(struct auris__checkpoint *ck)
{
    if (!ck)
        return;
    free(ck->tensors);
    free(ck->vocab);
    free(ck->vocab_len);
    memset(ck, 0, sizeof *ck);
}

void auris_model_free(auris_model *model)
{
    if (!model)
        return;
    for (int i = 0; i < model->n_owned; i++)
        auris__aligned_free(model->owned[i]);
    free(model->owned);
    auris__tokenizer_free(model->tok);
    if (model->map)
        munmap(model->map, model->map_size);
    free(model->path);
    free(model);
}

const struct auris_model_dims *auris_model_get_dims(const auris_model *model)
{
    return model ? &model->dims : NULL;
}

bool auris_model_is_multilingual(const auris_model *model)
{
    return model && model->dims.n_vocab >= 51865;
}

int auris_model_n_languages(const auris_model *model)
{
    if (!auris_model_is_multilingual(model))
        return 0;
    return model->dims.n_vocab - 51765 - 1;
}

/* ---- file access -------------------------------------------------------------------------- */

static enum auris_err map_file(const char *path, auris_model *m, struct auris_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return auris__fail(err, errno == ENOENT ? AURIS_ERR_NOT_FOUND : AURIS_ERR_IO,
                           "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    enum auris_err rc = AURIS_OK;
    if (fstat(fd, &sb) != 0) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s: not a regular file", path);
    } else if (sb.st_size < 8) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "%s: file of %lld bytes is not a Whisper checkpoint",
                         path, (long long)sb.st_size);
    } else if ((uint64_t)sb.st_size > SIZE_MAX) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s: file too large to map", path);
    } else {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = auris__fail(err, AURIS_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        } else {
            m->map = p;
            m->map_size = (size_t)sb.st_size;
        }
    }
    close(fd);
    return rc;
}

/* Re-issues a loader/bind error with the file name in front ("model.pt: tensor ..."). */
static enum auris_err with_path(struct auris_error *err, const char *path, enum auris_err rc,
                                const struct auris_error *inner)
{
    return auris__fail(err, rc, "%s: %s", path, inner->message);
}

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Where .tiktoken files are looked for, in order (see auris_model_params). */
static int asset_dirs(const char *model_path, const struct auris_model_params *params,
                      char dirs[4][1024])
{
    int n = 0;
    const char *e;
    if (params && params->assets_dir && *params->assets_dir)
        snprintf(dirs[n++], 1024, "%s", params->assets_dir);
    if ((e = getenv("AURIS_ASSETS")) && *e)
        snprintf(dirs[n++], 1024, "%s", e);
    const char *slash = strrchr(model_path, '/');
    if (!slash)
        snprintf(dirs[n++], 1024, ".");
    else if (slash == model_path)
        snprintf(dirs[n++], 1024, "/");
    else
        snprintf(dirs[n++], 1024, "%.*s", (int)(slash - model_path), model_path);
    if ((e = getenv("AURIS_CACHE")) && *e)
        snprintf(dirs[n++], 1024, "%s", e);
    else if ((e = getenv("XDG_CACHE_HOME")) && *e)
        snprintf(dirs[n++], 1024, "%s/auris", e);
    else if ((e = getenv("HOME")) && *e)
        snprintf(dirs[n++], 1024, "%s/.cache/auris", e);
    return n;
}

static enum auris_err load_tokenizer(auris_model *m, const struct auris__checkpoint *ck,
                                     const struct auris_model_params *params,
                                     struct auris_error *err)
{
    /* ggml files embed the base vocabulary; a ggml file with an empty one (or a .pt) falls
     * back to the .tiktoken search below */
    if (ck->n_vocab_tokens > 0)
        return auris__tokenizer_from_tokens(ck->vocab, ck->vocab_len, ck->n_vocab_tokens,
                                            m->dims.n_vocab, &m->tok, err);
    const char *file = auris_model_is_multilingual(m) ? "multilingual.tiktoken" : "gpt2.tiktoken";
    char dirs[4][1024], path[1100], looked[400] = "";
    int n = asset_dirs(m->path, params, dirs);
    for (int i = 0; i < n; i++) {
        int w = snprintf(path, sizeof path, "%s/%s", dirs[i], file);
        if (w > 0 && (size_t)w < sizeof path && is_file(path))
            return auris__tokenizer_load_tiktoken(path, m->dims.n_vocab, &m->tok, err);
        size_t l = strlen(looked);
        if (snprintf(looked + l, sizeof looked - l, "%s%s", i ? ", " : "", dirs[i]) < 0)
            looked[l] = '\0';
    }
    return auris__fail(err, AURIS_ERR_NOT_FOUND,
                       "%s: the vocabulary %s was not found (looked in %s); pass --assets DIR or "
                       "set AURIS_ASSETS to the folder holding it",
                       m->path, file, looked);
}

static enum auris_err load_mel_filters(auris_model *m, struct auris_error *err)
{
    if (m->mel_filters) /* embedded in a ggml file; bind made an owned copy */
        return AURIS_OK;
    float *f = auris__aligned_alloc((size_t)m->dims.n_mels * N_FILTER_BINS * sizeof *f);
    if (auris__model_own(m, f))
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for the mel filters");
    m->mel_filters = f;
    enum auris_err rc = auris__mel_filters(m->dims.n_mels, f);
    if (rc)
        return auris__fail(err, rc, "cannot compute the %d-band mel filterbank", m->dims.n_mels);
    return AURIS_OK;
}

/* Parses the mapped file in whichever format its first bytes announce. */
static enum auris_err parse(const auris_model *m, struct auris__checkpoint *ck,
                            struct auris_error *err)
{
    const uint8_t *d = m->map;
    if (memcmp(d, "PK\x03\x04", 4) == 0 || memcmp(d, "PK\x05\x06", 4) == 0 ||
        memcmp(d, "PK\x06\x06", 4) == 0)
        return auris__load_pt(d, m->map_size, ck, err);
    uint32_t magic = (uint32_t)d[0] | ((uint32_t)d[1] << 8) | ((uint32_t)d[2] << 16) |
                     ((uint32_t)d[3] << 24);
    if (magic == 0x67676d6cu)
        return auris__load_ggml(d, m->map_size, ck, err);
    if (memcmp(d, "GGUF", 4) == 0)
        return auris__load_native(d, m->map_size, ck, err);
    if (d[0] == 0x80 && d[1] == 0x02 && d[2] == 0x8a)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED, "legacy (pre-1.6) torch serialisation is "
                           "not supported; re-save it with a current torch.save");
    return auris__fail(err, AURIS_ERR_FORMAT, "not a Whisper checkpoint (expected an OpenAI .pt "
                       "zip archive or a whisper.cpp ggml .bin)");
}

enum auris_err auris_model_load(const char *path, const struct auris_model_params *params,
                                auris_model **out, struct auris_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !*path || !out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_model_load: path and out are required");
    struct auris__checkpoint ck = {0};
    struct auris_error inner = {0};
    enum auris_err rc;
    auris_model *m = calloc(1, sizeof *m);
    if (!m)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    m->path = auris__strdup(path);
    if (!m->path) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = map_file(path, m, err)))
        goto fail;
    if ((rc = parse(m, &ck, &inner)) || (rc = auris__model_bind(m, &ck, &inner))) {
        with_path(err, path, rc, &inner);
        goto fail;
    }
    if ((rc = load_mel_filters(m, err)) || (rc = load_tokenizer(m, &ck, params, err)))
        goto fail;
    auris__checkpoint_clear(&ck);
    auris__log(AURIS_LOG_INFO, "loaded %s: n_mels %d, audio %d x %d, text %d x %d, n_vocab %d",
               path, m->dims.n_mels, m->dims.n_audio_layer, m->dims.n_audio_state,
               m->dims.n_text_layer, m->dims.n_text_state, m->dims.n_vocab);
    *out = m;
    return AURIS_OK;
fail:
    auris__checkpoint_clear(&ck);
    auris_model_free(m);
    return rc;
}
