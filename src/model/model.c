/*
 * model.c — auris_model_load and friends: map the file, detect its format from its bytes, parse,
 * bind, and attach the mel filterbank and the tokenizer.
 *
 * Reference: openai/whisper __init__.py (load_model, _ALIGNMENT_HEADS), model.py (the default
 * alignment heads: every head of the decoder's second half), tokenizer.py (get_encoding picks
 * multilingual.tiktoken or gpt2.tiktoken), audio.py (mel_filters); whisper.cpp ggml files embed
 * both the filters and the base vocabulary. Hugging Face directories go through hf.c.
 * Invariants: the maps are read-only and live as long as the model; every buffer the model owns
 * is in model->owned (plus path, tok and the maps), released on the single path
 * auris_model_free, which also cleans up half-built models on failure.
 */
#include "model/model.h"
#include "audio/audio.h"
#include "tokenizer/tokenizer.h"
#include "vad/vad.h"

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
    struct auris_model_params p = {.assets_dir = NULL, .official_name = NULL,
                                   .compute_type = AURIS_COMPUTE_DEFAULT};
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

int auris__checkpoint_own(struct auris__checkpoint *ck, void *p)
{
    if (!p)
        return -1;
    if (ck->n_owned == ck->cap_owned) {
        int cap = ck->cap_owned ? ck->cap_owned * 2 : 64;
        void **o = realloc(ck->owned, (size_t)cap * sizeof *o);
        if (!o) {
            auris__aligned_free(p);
            return -1;
        }
        ck->owned = o;
        ck->cap_owned = cap;
    }
    ck->owned[ck->n_owned++] = p;
    return 0;
}

void auris__checkpoint_clear(struct auris__checkpoint *ck)
{
    if (!ck)
        return;
    free(ck->tensors);
    free(ck->vocab);
    free(ck->vocab_len);
    free(ck->vocab_bytes);
    free(ck->specials);
    free(ck->special_pool);
    for (int i = 0; i < ck->n_owned; i++)
        auris__aligned_free(ck->owned[i]);
    free(ck->owned);
    memset(ck, 0, sizeof *ck);
}

/* Moves the checkpoint's converted weights into the model (bind pointed at them). */
static enum auris_err adopt_owned(auris_model *m, struct auris__checkpoint *ck,
                                  struct auris_error *err)
{
    while (ck->n_owned > 0) {
        void *p = ck->owned[ck->n_owned - 1];
        ck->n_owned--;
        if (auris__model_own(m, p))
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    }
    return AURIS_OK;
}

int auris__model_add_map(auris_model *model, struct auris__mapping map)
{
    struct auris__mapping *n = realloc(model->maps, ((size_t)model->n_maps + 1) * sizeof *n);
    if (!n) {
        munmap(map.data, map.size);
        return -1;
    }
    model->maps = n;
    model->maps[model->n_maps++] = map;
    return 0;
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
    for (int i = 0; i < model->n_maps; i++)
        munmap(model->maps[i].data, model->maps[i].size);
    free(model->maps);
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

enum auris_err auris__map_file(const char *path, struct auris__mapping *out,
                               struct auris_error *err)
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
            out->data = p;
            out->size = (size_t)sb.st_size;
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
static enum auris_err parse(const auris_model *m, const char *file, struct auris__checkpoint *ck,
                            struct auris_error *err)
{
    const uint8_t *d = m->map;
    if (auris__vad_sniff(d, m->map_size) != AURIS__VAD_NOT) /* its ggml header reads as zeros */
        return auris__fail(err, AURIS_ERR_FORMAT, "a Silero VAD model, not a Whisper checkpoint "
                           "(load it with auris_vad_load; the CLI takes it as --vad_model)");
    if (auris__ct2_detect(d, m->map_size)) { /* CTranslate2: side files next to model.bin */
        char dir[4096];
        const char *slash = strrchr(file, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
        if (slash == file)
            snprintf(dir, sizeof dir, "/");
        return auris__load_ct2(d, m->map_size, dir, ck, err);
    }
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
                       "zip archive, a whisper.cpp ggml .bin, a Hugging Face directory or a "
                       "CTranslate2 model.bin)");
}

/* The reference's default for unnamed models (every head of the decoder's second half), or
 * the published table of `name`, whose decoder shape must match the model's. */
static enum auris_err set_alignment_heads(auris_model *m, const char *name,
                                          struct auris_error *err)
{
    const int nl = m->dims.n_text_layer, nh = m->dims.n_text_head;
    if (!name && m->alignment_heads) /* the file carries its own (native format) */
        return AURIS_OK;
    uint8_t *mask = m->alignment_heads;
    if (!mask) {
        mask = auris__aligned_alloc((size_t)nl * (size_t)nh);
        if (auris__model_own(m, mask))
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        m->alignment_heads = mask;
    }
    if (!name) {
        for (int l = 0; l < nl; l++)
            memset(mask + (size_t)l * (size_t)nh, l >= nl / 2, (size_t)nh);
        return AURIS_OK;
    }
    memset(mask, 0, (size_t)nl * (size_t)nh);
    int tl, th, n;
    const uint8_t(*pairs)[2];
    if (auris__alignment_table(name, &tl, &th, &pairs, &n))
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "unknown official model name '%s' (known: tiny.en, tiny, base.en, base, "
                           "small.en, small, medium.en, medium, large-v1, large-v2, large-v3, large, "
                           "large-v3-turbo, turbo)", name);
    if (tl != nl || th != nh)
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "%s: the model has %d decoder layers of %d heads, but the official "
                           "model '%s' has %d of %d", m->path, nl, nh, name, tl, th);
    for (int i = 0; i < n; i++)
        mask[pairs[i][0] * nh + pairs[i][1]] = 1;
    return AURIS_OK;
}

/* Reads the checkpoint at `path` into ck: a Hugging Face directory (or one of its files), or a
 * single mapped file whose first bytes announce its format. */
static enum auris_err read_checkpoint(auris_model *m, const char *path,
                                      struct auris__checkpoint *ck, struct auris_error *err)
{
    struct auris_error inner = {0};
    enum auris_err rc;
    char ct2_file[4096];
    if (auris__ct2_model_file(path, ct2_file, sizeof ct2_file)) { /* a CTranslate2 directory */
        path = ct2_file;
    } else if (auris__is_hf_path(path)) {
        if ((rc = auris__load_hf(path, m, ck, &inner)))
            return with_path(err, path, rc, &inner);
        return AURIS_OK;
    }
    struct auris__mapping map = {0};
    if ((rc = auris__map_file(path, &map, err)))
        return rc;
    m->map = map.data;
    m->map_size = map.size;
    if ((rc = parse(m, path, ck, &inner)))
        return with_path(err, path, rc, &inner);
    return AURIS_OK;
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
    m->compute = params ? params->compute_type : AURIS_COMPUTE_DEFAULT;
    if ((rc = auris__compute_check(m->compute, err)))
        goto fail;
    if ((rc = read_checkpoint(m, path, &ck, err)))
        goto fail;
    if ((rc = auris__model_bind(m, &ck, &inner))) {
        with_path(err, path, rc, &inner);
        goto fail;
    }
    if ((rc = adopt_owned(m, &ck, err)) || (rc = load_mel_filters(m, err)) ||
        (rc = load_tokenizer(m, &ck, params, err)))
        goto fail;
    if (ck.n_vocab_tokens > 0) /* the tokenizer copied the embedded vocabulary (ggml) */
        auris__model_release_pages(m, ck.vocab[0],
                                   (size_t)(ck.vocab[ck.n_vocab_tokens - 1] - ck.vocab[0]) +
                                       ck.vocab_len[ck.n_vocab_tokens - 1]);
    if (ck.n_specials && (rc = auris__hf_check_specials(m->tok, &ck, &inner))) {
        with_path(err, path, rc, &inner);
        goto fail;
    }
    if ((rc = set_alignment_heads(m, params ? params->official_name : NULL, err)))
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
