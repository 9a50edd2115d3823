/*
 * ct2.c — CTranslate2 Whisper models (faster-whisper's directories): model.bin parsed from the
 * mapped bytes and mapped onto Whisper's tensor names, plus config.json (alignment heads),
 * preprocessor_config.json (feature_size) and vocabulary.json / vocabulary.txt.
 *
 * Reference (facts only): CTranslate2 python/ctranslate2/specs/model_spec.py (_serialize:
 * u32 binary version, u16-length NUL-terminated strings, spec name, u32 revision, u32 variable
 * count, each variable's name, u8 rank, u32 dims, u8 dtype id (float32, int8, int16, int32,
 * float16, bfloat16), u32 byte count and data, then u32 alias count and (alias, target) names;
 * _quantize: int8 weights have a per-row `<name>_scale` = 127 / max|row|), specs/whisper_spec.py
 * and transformer_spec.py (WhisperSpec revision 3: encoder conv1/conv2, position_encodings,
 * layer_N/{self_attention,ffn}, layer_norm; decoder embeddings, layer_N/{self_attention,
 * attention,ffn}, projection aliased to the embeddings; self-attention linear_0 is the fused
 * [3n][n] QKV, cross-attention linear_1 the fused [2n][n] KV, both with a zero key bias),
 * src/models/model.cc (the loader's checks; on x86 builds with oneDNN, int8 convolution weights
 * are dequantized to float at load and computed in float), src/models/whisper.cc (vocabulary).
 * Invariants: every size and offset is checked against the file length before it is read;
 * float weights and int8 values are used in place (a fused weight becomes row-range views);
 * only scales, convolutions of int8 models, 1-D parameters and misaligned floats are copied;
 * every variable of the file is accounted for, and anything unknown is an error naming it.
 */
#include "model/model.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define MAX_NAME 1024        /* longest variable name accepted */
#define MAX_RANK 8
#define MAX_VARS (1 << 20)
#define MAX_SIDE_FILE ((long)64 << 20)

enum { CT2_F32 = 0, CT2_I8 = 1, CT2_I16 = 2, CT2_I32 = 3, CT2_F16 = 4, CT2_BF16 = 5 };

static size_t item_size(int dtype)
{
    static const size_t sz[] = {4, 1, 2, 4, 2, 2};
    return dtype >= 0 && dtype <= CT2_BF16 ? sz[dtype] : 0;
}

static const char *dtype_name(int dtype)
{
    static const char *const n[] = {"float32", "int8", "int16", "int32", "float16", "bfloat16"};
    return dtype >= 0 && dtype <= CT2_BF16 ? n[dtype] : "unknown";
}

/* ---- model.bin ---------------------------------------------------------------------------- */

struct reader {
    const uint8_t *d;
    size_t size, off;
    struct auris_error *err;
};

static int get_u8(struct reader *r, uint32_t *v)
{
    if (r->size - r->off < 1)
        return -1;
    *v = r->d[r->off++];
    return 0;
}

static int get_u16(struct reader *r, uint32_t *v)
{
    if (r->size - r->off < 2)
        return -1;
    *v = (uint32_t)r->d[r->off] | ((uint32_t)r->d[r->off + 1] << 8);
    r->off += 2;
    return 0;
}

static int get_u32(struct reader *r, uint32_t *v)
{
    if (r->size - r->off < 4)
        return -1;
    const uint8_t *p = r->d + r->off;
    *v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    r->off += 4;
    return 0;
}

/* A u16-length string whose last byte is its only NUL; *s points into the bytes. */
static enum auris_err get_str(struct reader *r, const char **s, const char *what)
{
    uint32_t n;
    if (get_u16(r, &n) || n < 1 || n > MAX_NAME || r->size - r->off < n)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "truncated or invalid %s at byte %zu", what,
                           r->off);
    const char *p = (const char *)r->d + r->off;
    if (p[n - 1] != '\0' || memchr(p, '\0', n - 1))
        return auris__fail(r->err, AURIS_ERR_FORMAT, "%s at byte %zu is not a NUL-terminated "
                           "string", what, r->off);
    *s = p;
    r->off += n;
    return AURIS_OK;
}

int auris__ct2_detect(const uint8_t *d, size_t size)
{
    static const char spec[] = "WhisperSpec";
    if (size < 10)
        return 0;
    uint32_t version = (uint32_t)d[0] | ((uint32_t)d[1] << 8) | ((uint32_t)d[2] << 16) |
                       ((uint32_t)d[3] << 24);
    uint32_t n = (uint32_t)d[4] | ((uint32_t)d[5] << 8);
    if (version < 2 || version > 64 || n < 2 || n > 256 || size - 6 < n || d[6 + n - 1] != 0)
        return 0;
    /* any CTranslate2 spec name (so that others get a clear "not Whisper" message) */
    for (uint32_t i = 0; i + 1 < n; i++)
        if (!((d[6 + i] >= 'A' && d[6 + i] <= 'Z') || (d[6 + i] >= 'a' && d[6 + i] <= 'z') ||
              (d[6 + i] >= '0' && d[6 + i] <= '9') || d[6 + i] == '_'))
            return 0;
    (void)spec;
    return 1;
}

void auris__ct2_file_clear(struct auris__ct2_file *f)
{
    if (!f)
        return;
    free(f->vars);
    memset(f, 0, sizeof *f);
}

static int cmp_var(const void *a, const void *b)
{
    return strcmp(((const struct auris__ct2_var *)a)->name,
                  ((const struct auris__ct2_var *)b)->name);
}

const struct auris__ct2_var *auris__ct2_find(const struct auris__ct2_file *f, const char *name)
{
    struct auris__ct2_var key = {.name = name};
    return bsearch(&key, f->vars, (size_t)(f->n_vars + f->n_aliases), sizeof *f->vars, cmp_var);
}

static enum auris_err parse_var(struct reader *r, struct auris__ct2_var *v)
{
    enum auris_err rc = get_str(r, &v->name, "variable name");
    if (rc)
        return rc;
    uint32_t rank, dt, nbytes;
    if (get_u8(r, &rank))
        return auris__fail(r->err, AURIS_ERR_FORMAT, "variable '%s' is truncated", v->name);
    if (rank > MAX_RANK)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "variable '%s' has rank %u", v->name, rank);
    v->rank = (int)rank;
    size_t numel = 1;
    for (uint32_t i = 0; i < rank; i++) {
        uint32_t dim;
        if (get_u32(r, &dim))
            return auris__fail(r->err, AURIS_ERR_FORMAT, "variable '%s' is truncated", v->name);
        v->shape[i] = dim;
        if (!auris__mul_ok(numel, dim, &numel))
            return auris__fail(r->err, AURIS_ERR_FORMAT, "variable '%s' is too large", v->name);
    }
    if (get_u8(r, &dt) || get_u32(r, &nbytes))
        return auris__fail(r->err, AURIS_ERR_FORMAT, "variable '%s' is truncated", v->name);
    size_t want = 0;
    if (!item_size((int)dt))
        return auris__fail(r->err, AURIS_ERR_FORMAT, "variable '%s' has unknown dtype %u", v->name,
                           dt);
    if (!auris__mul_ok(numel, item_size((int)dt), &want) || want != nbytes)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "variable '%s' holds %u bytes, but %s of its "
                           "shape needs %zu", v->name, nbytes, dtype_name((int)dt), want);
    if (r->size - r->off < nbytes)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "variable '%s' runs past the end of the file",
                           v->name);
    v->dtype = (int)dt;
    v->data = r->d + r->off;
    v->nbytes = nbytes;
    r->off += nbytes;
    return AURIS_OK;
}

enum auris_err auris__ct2_parse(const uint8_t *data, size_t size, struct auris__ct2_file *f,
                                struct auris_error *err)
{
    memset(f, 0, sizeof *f);
    struct reader r = {data, size, 0, err};
    uint32_t n_vars, n_alias = 0;
    enum auris_err rc;
    if (get_u32(&r, &f->version))
        return auris__fail(err, AURIS_ERR_FORMAT, "truncated CTranslate2 header");
    if (f->version < 4 || f->version > 6)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED, "CTranslate2 binary version %u is not "
                           "supported (4 to 6 are; re-convert with a current ctranslate2)",
                           f->version);
    if ((rc = get_str(&r, &f->spec, "spec name")))
        return rc;
    if (get_u32(&r, &f->revision) || get_u32(&r, &n_vars))
        return auris__fail(err, AURIS_ERR_FORMAT, "truncated CTranslate2 header");
    /* every variable takes at least 2 + 2 + 1 + 1 + 4 bytes */
    if (n_vars > MAX_VARS || n_vars > (size - r.off) / 10)
        return auris__fail(err, AURIS_ERR_FORMAT, "%u variables cannot fit in %zu bytes", n_vars,
                           size);
    f->vars = calloc((size_t)n_vars + 1, sizeof *f->vars);
    if (!f->vars)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n_vars; i++)
        if ((rc = parse_var(&r, &f->vars[i])))
            goto fail;
    f->n_vars = (int)n_vars;
    if (f->version >= 3 && get_u32(&r, &n_alias)) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "truncated alias table");
        goto fail;
    }
    if (n_alias > (size - r.off) / 4) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "%u aliases cannot fit in the file", n_alias);
        goto fail;
    }
    if (n_alias) {
        struct auris__ct2_var *v = realloc(f->vars, ((size_t)n_vars + n_alias) * sizeof *v);
        if (!v) {
            rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        f->vars = v;
    }
    qsort(f->vars, n_vars, sizeof *f->vars, cmp_var);
    for (uint32_t i = 1; i < n_vars; i++)
        if (!strcmp(f->vars[i - 1].name, f->vars[i].name)) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "variable '%s' appears twice", f->vars[i].name);
            goto fail;
        }
    for (uint32_t i = 0; i < n_alias; i++) {
        const char *alias, *target;
        if ((rc = get_str(&r, &alias, "alias name")) || (rc = get_str(&r, &target, "alias target")))
            goto fail;
        struct auris__ct2_var key = {.name = target};
        const struct auris__ct2_var *t = bsearch(&key, f->vars, n_vars, sizeof key, cmp_var);
        key.name = alias;
        if (!t || bsearch(&key, f->vars, n_vars, sizeof key, cmp_var)) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "alias '%s' -> '%s' %s", alias, target,
                             t ? "shadows a variable" : "names no variable");
            goto fail;
        }
        struct auris__ct2_var *a = &f->vars[n_vars + i];
        *a = *t;
        a->name = alias;
        a->alias_of = t->name;
    }
    f->n_aliases = (int)n_alias;
    qsort(f->vars + n_vars, n_alias, sizeof *f->vars, cmp_var);
    for (uint32_t i = 1; i < n_alias; i++)
        if (!strcmp(f->vars[n_vars + i - 1].name, f->vars[n_vars + i].name)) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "alias '%s' appears twice",
                             f->vars[n_vars + i].name);
            goto fail;
        }
    /* one sorted table of variables and aliases for lookups */
    qsort(f->vars, (size_t)n_vars + n_alias, sizeof *f->vars, cmp_var);
    if (r.off != size) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "%zu unexpected bytes after the alias table",
                         size - r.off);
        goto fail;
    }
    return AURIS_OK;
fail:
    auris__ct2_file_clear(f);
    return rc;
}

/* ---- mapping onto Whisper's names ------------------------------------------------------------- */

struct build {
    const struct auris__ct2_file *f;
    struct auris__checkpoint *ck;
    int cap;
    uint8_t *used;                 /* [n_vars + n_aliases], by index into f->vars */
    struct auris__i8r *desc;       /* descriptors, owned by ck */
    int n_desc, cap_desc;
    struct auris_error *err;
};

static int var_index(const struct build *b, const struct auris__ct2_var *v)
{
    return (int)(v - b->f->vars);
}

static enum auris_err add_raw(struct build *b, const char *name, int type, int n_dims,
                              const int64_t *ne, const void *data)
{
    struct auris__checkpoint *ck = b->ck;
    if (ck->n_tensors == b->cap) {
        int cap = b->cap ? b->cap * 2 : 256;
        struct auris__raw_tensor *t = realloc(ck->tensors, (size_t)cap * sizeof *t);
        if (!t)
            return auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory");
        ck->tensors = t;
        b->cap = cap;
    }
    struct auris__raw_tensor *t = &ck->tensors[ck->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = (enum auris__dtype)type;
    t->n_dims = n_dims;
    for (int i = 0; i < n_dims && i < 4; i++)
        t->ne[i] = ne[i];
    t->data = data;
    return AURIS_OK;
}

/* An owned 64-byte-aligned f32 buffer of n values, registered with the checkpoint. */
static float *own_f32(struct build *b, size_t n)
{
    float *p = auris__aligned_alloc(AURIS_MAX(n, 1) * sizeof *p);
    return auris__checkpoint_own(b->ck, p) ? NULL : p;
}

/* The per-row scales of int8 weight `v`, validated, as owned f32. */
static enum auris_err get_scales(struct build *b, const struct auris__ct2_var *v, float **out)
{
    char name[MAX_NAME + 8];
    snprintf(name, sizeof name, "%s_scale", v->alias_of ? v->alias_of : v->name);
    const struct auris__ct2_var *s = auris__ct2_find(b->f, name);
    if (!s)
        return auris__fail(b->err, AURIS_ERR_FORMAT, "int8 variable '%s' has no '%s'", v->name,
                           name);
    if (s->rank != 1 || s->shape[0] != v->shape[0] ||
        (s->dtype != CT2_F32 && s->dtype != CT2_F16 && s->dtype != CT2_BF16))
        return auris__fail(b->err, AURIS_ERR_FORMAT, "'%s' is not a float vector of %lld scales",
                           name, (long long)v->shape[0]);
    b->used[var_index(b, s)] = 1;
    float *p = own_f32(b, (size_t)s->shape[0]);
    if (!p)
        return auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory");
    auris__to_f32(s->dtype == CT2_F32 ? AURIS_DT_F32 : s->dtype == CT2_F16 ? AURIS_DT_F16
                  : AURIS_DT_BF16, s->data, (size_t)s->shape[0], p);
    for (int64_t i = 0; i < s->shape[0]; i++)
        if (!(p[i] > 0.0f) || !isfinite(p[i]))
            return auris__fail(b->err, AURIS_ERR_FORMAT, "'%s'[%lld] = %g is not a positive "
                               "finite scale", name, (long long)i, (double)p[i]);
    *out = p;
    return AURIS_OK;
}

static int auris_type(int ct2_dtype)
{
    return ct2_dtype == CT2_F32 ? AURIS_DT_F32 : ct2_dtype == CT2_F16 ? AURIS_DT_F16
                                                                     : AURIS_DT_BF16;
}

/* 1 when rows [r0, r0 + n) of a float vector are all zero (the fused key bias). */
static enum auris_err check_zero(struct build *b, const struct auris__ct2_var *v, int64_t r0,
                                 int64_t n)
{
    float *tmp = malloc((size_t)AURIS_MAX(n, 1) * sizeof *tmp);
    if (!tmp)
        return auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory");
    size_t es = item_size(v->dtype);
    auris__to_f32((enum auris__dtype)auris_type(v->dtype), v->data + (size_t)r0 * es, (size_t)n,
                  tmp);
    int64_t i = 0;
    while (i < n && tmp[i] == 0.0f)
        i++;
    free(tmp);
    if (i < n)
        return auris__fail(b->err, AURIS_ERR_UNSUPPORTED, "'%s' has a non-zero key bias (Whisper's "
                           "key projection has none)", v->name);
    return AURIS_OK;
}

/* Maps variable v onto `n_split` Whisper tensors taking equal row ranges (names[i] NULL: a
 * key-bias range that must be zero). */
static enum auris_err map_var(struct build *b, const struct auris__ct2_var *v,
                              const char *const *names, int n_split)
{
    enum auris_err rc;
    b->used[var_index(b, v)] = 1;
    if (v->rank < 1 || v->rank > 3 || v->shape[0] % n_split)
        return auris__fail(b->err, AURIS_ERR_FORMAT, "variable '%s' has an unexpected shape",
                           v->name);
    if (v->dtype == CT2_I16 || v->dtype == CT2_I32)
        return auris__fail(b->err, AURIS_ERR_UNSUPPORTED, "variable '%s' is %s (int16 models are "
                           "not supported; convert with --quantization int8 or a float type)",
                           v->name, dtype_name(v->dtype));
    const int64_t rows = v->shape[0] / n_split;
    size_t row_elems = 1;
    for (int i = 1; i < v->rank; i++)
        row_elems *= (size_t)v->shape[i]; /* bounded: the bytes exist */
    int64_t ne[3] = {rows, v->rank > 1 ? v->shape[1] : 1, v->rank > 2 ? v->shape[2] : 1};
    if (v->dtype != CT2_I8) {
        const size_t row_bytes = row_elems * item_size(v->dtype);
        for (int i = 0; i < n_split; i++) {
            if (!names[i]) {
                if ((rc = check_zero(b, v, rows * i, rows)))
                    return rc;
                continue;
            }
            if ((rc = add_raw(b, names[i], auris_type(v->dtype), v->rank, ne,
                              v->data + (size_t)(rows * i) * row_bytes)))
                return rc;
        }
        return AURIS_OK;
    }
    /* int8: weight matrices become descriptors; convolutions are dequantized (as CTranslate2
     * does on x86 builds with oneDNN) */
    if (v->rank == 1)
        return auris__fail(b->err, AURIS_ERR_FORMAT, "variable '%s' is int8 but not a weight",
                           v->name);
    float *scale;
    if ((rc = get_scales(b, v, &scale)))
        return rc;
    const int8_t *q = (const int8_t *)v->data;
    if (v->rank == 3) {
        float *w = own_f32(b, (size_t)v->shape[0] * row_elems);
        if (!w || n_split != 1)
            return auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory");
        for (int64_t o = 0; o < v->shape[0]; o++) {
            const float r = 1.0f / scale[o];
            for (size_t k = 0; k < row_elems; k++)
                w[(size_t)o * row_elems + k] = (float)q[(size_t)o * row_elems + k] * r;
        }
        return add_raw(b, names[0], AURIS_DT_F32, 3, ne, w);
    }
    for (int i = 0; i < n_split; i++) {
        if (!names[i])
            return auris__fail(b->err, AURIS_ERR_FORMAT, "variable '%s' is int8 but not a weight",
                               v->name);
        if (b->n_desc == b->cap_desc)
            return auris__fail(b->err, AURIS_ERR_INTERNAL, "int8 descriptor storage");
        struct auris__i8r *d = &b->desc[b->n_desc++];
        d->q = q + (size_t)(rows * i) * row_elems;
        d->scale = scale + rows * i;
        d->rows = rows;
        d->k = (int64_t)row_elems;
        if ((rc = add_raw(b, names[i], (int)AURIS_DT_I8R, 2, ne, d)))
            return rc;
    }
    return AURIS_OK;
}

/* Per-layer variables: <stack>/layer_<i>/<rest>. */
static const struct {
    const char *ct2;
    const char *wh[3];
    int n, dec_only;
} layer_map[] = {
    {"self_attention/layer_norm/gamma", {"attn_ln.weight"}, 1, 0},
    {"self_attention/layer_norm/beta", {"attn_ln.bias"}, 1, 0},
    {"self_attention/linear_0/weight", {"attn.query.weight", "attn.key.weight",
                                        "attn.value.weight"}, 3, 0},
    {"self_attention/linear_0/bias", {"attn.query.bias", NULL, "attn.value.bias"}, 3, 0},
    {"self_attention/linear_1/weight", {"attn.out.weight"}, 1, 0},
    {"self_attention/linear_1/bias", {"attn.out.bias"}, 1, 0},
    {"attention/layer_norm/gamma", {"cross_attn_ln.weight"}, 1, 1},
    {"attention/layer_norm/beta", {"cross_attn_ln.bias"}, 1, 1},
    {"attention/linear_0/weight", {"cross_attn.query.weight"}, 1, 1},
    {"attention/linear_0/bias", {"cross_attn.query.bias"}, 1, 1},
    {"attention/linear_1/weight", {"cross_attn.key.weight", "cross_attn.value.weight"}, 2, 1},
    {"attention/linear_1/bias", {NULL, "cross_attn.value.bias"}, 2, 1},
    {"attention/linear_2/weight", {"cross_attn.out.weight"}, 1, 1},
    {"attention/linear_2/bias", {"cross_attn.out.bias"}, 1, 1},
    {"ffn/layer_norm/gamma", {"mlp_ln.weight"}, 1, 0},
    {"ffn/layer_norm/beta", {"mlp_ln.bias"}, 1, 0},
    {"ffn/linear_0/weight", {"mlp.0.weight"}, 1, 0},
    {"ffn/linear_0/bias", {"mlp.0.bias"}, 1, 0},
    {"ffn/linear_1/weight", {"mlp.2.weight"}, 1, 0},
    {"ffn/linear_1/bias", {"mlp.2.bias"}, 1, 0},
};

static const struct {
    const char *ct2, *wh;
} top_map[] = {
    {"encoder/conv1/weight", "encoder.conv1.weight"},
    {"encoder/conv1/bias", "encoder.conv1.bias"},
    {"encoder/conv2/weight", "encoder.conv2.weight"},
    {"encoder/conv2/bias", "encoder.conv2.bias"},
    {"encoder/position_encodings/encodings", "encoder.positional_embedding"},
    {"encoder/layer_norm/gamma", "encoder.ln_post.weight"},
    {"encoder/layer_norm/beta", "encoder.ln_post.bias"},
    {"decoder/embeddings/weight", "decoder.token_embedding.weight"},
    {"decoder/position_encodings/encodings", "decoder.positional_embedding"},
    {"decoder/layer_norm/gamma", "decoder.ln.weight"},
    {"decoder/layer_norm/beta", "decoder.ln.bias"},
};

/* "<stack>/layer_<i>/" prefix: returns the rest and sets *layer, or NULL. */
static const char *layer_rest(const char *name, const char *stack, int *layer)
{
    size_t k = strlen(stack);
    if (strncmp(name, stack, k) || strncmp(name + k, "/layer_", 7))
        return NULL;
    const char *p = name + k + 7;
    int n = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        n = n * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || *p != '/' || (digits > 1 && p[-digits] == '0'))
        return NULL;
    *layer = n;
    return p + 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The decoder's output projection must be the embedding matrix itself. */
static enum auris_err check_projection(struct build *b, const struct auris__ct2_var *v)
{
    b->used[var_index(b, v)] = 1;
    const struct auris__ct2_var *e = auris__ct2_find(b->f, "decoder/embeddings/weight");
    const int same = e && (v->data == e->data ||
                           (v->dtype == e->dtype && v->nbytes == e->nbytes && v->rank == e->rank &&
                            !memcmp(v->shape, e->shape, sizeof v->shape) &&
                            !memcmp(v->data, e->data, v->nbytes)));
    if (!same)
        return auris__fail(b->err, AURIS_ERR_UNSUPPORTED, "decoder/projection/weight differs from "
                           "the token embedding (an untied output projection is not supported)");
    return AURIS_OK;
}

static enum auris_err map_one(struct build *b, const struct auris__ct2_var *v)
{
    for (size_t i = 0; i < AURIS_ARRAY_LEN(top_map); i++)
        if (!strcmp(v->name, top_map[i].ct2))
            return map_var(b, v, &top_map[i].wh, 1);
    if (!strcmp(v->name, "decoder/projection/weight"))
        return check_projection(b, v);
    int layer;
    const char *rest;
    const int enc = (rest = layer_rest(v->name, "encoder", &layer)) != NULL;
    if (enc || (rest = layer_rest(v->name, "decoder", &layer)) != NULL) {
        for (size_t i = 0; i < AURIS_ARRAY_LEN(layer_map); i++) {
            if (strcmp(rest, layer_map[i].ct2) || (enc && layer_map[i].dec_only))
                continue;
            char names[3][96];
            const char *np[3] = {NULL, NULL, NULL};
            for (int k = 0; k < layer_map[i].n; k++)
                if (layer_map[i].wh[k]) {
                    snprintf(names[k], sizeof names[k], "%s.blocks.%d.%s", enc ? "encoder" : "decoder",
                             layer, layer_map[i].wh[k]);
                    np[k] = names[k];
                }
            return map_var(b, v, np, layer_map[i].n);
        }
    }
    return auris__fail(b->err, AURIS_ERR_FORMAT, "unexpected CTranslate2 variable '%s'", v->name);
}

/* ---- scalars and dimensions ----------------------------------------------------------------- */

static int scalar_value(const struct auris__ct2_var *v, long *out)
{
    if (v->rank != 0)
        return -1;
    switch (v->dtype) {
    case CT2_I8:
        *out = (int8_t)v->data[0];
        return 0;
    case CT2_I16:
        *out = (int16_t)(v->data[0] | (v->data[1] << 8));
        return 0;
    case CT2_I32: {
        uint32_t u = (uint32_t)v->data[0] | ((uint32_t)v->data[1] << 8) |
                     ((uint32_t)v->data[2] << 16) | ((uint32_t)v->data[3] << 24);
        *out = (int32_t)u;
        return 0;
    }
    default:
        return -1;
    }
}

/* Known flags and their required values; num_heads is read into the dims. */
static enum auris_err check_scalar(struct build *b, const struct auris__ct2_var *v, int revision)
{
    static const struct {
        const char *name;
        long want;
    } req[] = {
        {"decoder/pre_norm", 1}, {"decoder/scale_embeddings", 0}, {"decoder/alibi", 0},
        {"decoder/start_from_zero_embedding", 0}, {"encoder/pre_norm", 1},
    };
    struct auris_model_dims *d = &b->ck->dims;
    long x = 0;
    b->used[var_index(b, v)] = 1;
    const int is_int = scalar_value(v, &x) == 0;
    if (!strcmp(v->name, "encoder/num_heads") || !strcmp(v->name, "decoder/num_heads")) {
        if (!is_int || x < 1 || x > 1024)
            return auris__fail(b->err, AURIS_ERR_FORMAT, "'%s' is not a head count", v->name);
        *(v->name[0] == 'e' ? &d->n_audio_head : &d->n_text_head) = (int)x;
        return AURIS_OK;
    }
    if (!strcmp(v->name, "decoder/activation")) {
        /* GELU (erf) is 3 since revision 3 (GELU variants), 1 before */
        if (!is_int || x != (revision >= 3 ? 3 : 1))
            return auris__fail(b->err, AURIS_ERR_UNSUPPORTED, "decoder/activation is not GELU");
        return AURIS_OK;
    }
    for (size_t i = 0; i < AURIS_ARRAY_LEN(req); i++)
        if (!strcmp(v->name, req[i].name)) {
            if (!is_int || x != req[i].want)
                return auris__fail(b->err, AURIS_ERR_UNSUPPORTED, "'%s' must be %ld for Whisper",
                                   v->name, req[i].want);
            return AURIS_OK;
        }
    auris__log(AURIS_LOG_DEBUG, "CTranslate2: ignoring the flag '%s'", v->name);
    return AURIS_OK;
}

static enum auris_err read_dims(struct build *b)
{
    const struct auris__ct2_file *f = b->f;
    struct auris_model_dims *d = &b->ck->dims;
    const struct auris__ct2_var *c1 = auris__ct2_find(f, "encoder/conv1/weight");
    const struct auris__ct2_var *emb = auris__ct2_find(f, "decoder/embeddings/weight");
    const struct auris__ct2_var *ep = auris__ct2_find(f, "encoder/position_encodings/encodings");
    const struct auris__ct2_var *dp = auris__ct2_find(f, "decoder/position_encodings/encodings");
    if (!c1 || c1->rank != 3 || !emb || emb->rank != 2 || !ep || ep->rank != 2 || !dp ||
        dp->rank != 2)
        return auris__fail(b->err, AURIS_ERR_FORMAT, "encoder/conv1/weight, decoder/embeddings/"
                           "weight or the position encodings are missing or misshapen");
    const int64_t v[] = {c1->shape[1], c1->shape[0], ep->shape[0], emb->shape[0], emb->shape[1],
                         dp->shape[0]};
    for (size_t i = 0; i < AURIS_ARRAY_LEN(v); i++)
        if (v[i] < 1 || v[i] > 1000000)
            return auris__fail(b->err, AURIS_ERR_FORMAT, "implausible model dimensions");
    d->n_mels = (int)v[0];
    d->n_audio_state = (int)v[1];
    d->n_audio_ctx = (int)v[2];
    d->n_vocab = (int)v[3];
    d->n_text_state = (int)v[4];
    d->n_text_ctx = (int)v[5];
    int n_enc = 0, n_dec = 0, layer;
    for (int i = 0; i < f->n_vars + f->n_aliases; i++) {
        if (layer_rest(f->vars[i].name, "encoder", &layer))
            n_enc = AURIS_MAX(n_enc, layer + 1);
        if (layer_rest(f->vars[i].name, "decoder", &layer))
            n_dec = AURIS_MAX(n_dec, layer + 1);
    }
    d->n_audio_layer = n_enc;
    d->n_text_layer = n_dec;
    if (!d->n_audio_head || !d->n_text_head)
        return auris__fail(b->err, AURIS_ERR_FORMAT, "encoder/num_heads or decoder/num_heads is "
                           "missing");
    return AURIS_OK;
}

/* ---- side files ------------------------------------------------------------------------------ */

static int is_reg(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int join(char *buf, size_t cap, const char *dir, const char *name)
{
    int w = snprintf(buf, cap, "%s/%s", dir, name);
    return w > 0 && (size_t)w < cap;
}

/* Reads a whole small file, NUL-terminated (*buf malloc'd). NOT_FOUND when it is absent. */
static enum auris_err read_small(const char *path, char **buf, size_t *len,
                                 struct auris_error *err)
{
    *buf = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return auris__fail(err, errno == ENOENT ? AURIS_ERR_NOT_FOUND : AURIS_ERR_IO,
                           "cannot open %s: %s", path, strerror(errno));
    enum auris_err rc = AURIS_OK;
    long n = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        n = ftell(fp);
    if (n < 0 || fseek(fp, 0, SEEK_SET) != 0)
        rc = auris__fail(err, AURIS_ERR_IO, "cannot read %s", path);
    else if (n > MAX_SIDE_FILE)
        rc = auris__fail(err, AURIS_ERR_FORMAT, "%s: %ld bytes is too large", path, n);
    else if (!(*buf = malloc((size_t)n + 1)))
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory reading %s", path);
    else if (fread(*buf, 1, (size_t)n, fp) != (size_t)n)
        rc = auris__fail(err, AURIS_ERR_IO, "cannot read %s", path);
    else {
        (*buf)[n] = '\0';
        *len = (size_t)n;
    }
    fclose(fp);
    if (rc) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

static enum auris_err read_json(const char *dir, const char *name, cJSON **out,
                                struct auris_error *err)
{
    char path[4096], *text = NULL;
    size_t len = 0;
    *out = NULL;
    if (!join(path, sizeof path, dir, name))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "path too long");
    enum auris_err rc = read_small(path, &text, &len, err);
    if (rc)
        return rc;
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*out)
        return auris__fail(err, AURIS_ERR_FORMAT, "%s is not valid JSON", name);
    return AURIS_OK;
}

/* config.json: the alignment heads ([[layer, head], ...]) into a mask owned by ck. */
static enum auris_err read_config(const char *dir, struct build *b)
{
    cJSON *c = NULL;
    enum auris_err rc = read_json(dir, "config.json", &c, b->err);
    if (rc == AURIS_ERR_NOT_FOUND)
        return AURIS_OK;
    if (rc)
        return rc;
    const struct auris_model_dims *d = &b->ck->dims;
    const cJSON *ah = cJSON_GetObjectItemCaseSensitive(c, "alignment_heads");
    if (!ah || cJSON_IsNull(ah))
        goto done;
    const size_t nl = (size_t)d->n_text_layer, nh = (size_t)d->n_text_head;
    uint8_t *mask = auris__aligned_alloc(AURIS_MAX(nl * nh, 1));
    if (auris__checkpoint_own(b->ck, mask)) {
        rc = auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory");
        goto done;
    }
    memset(mask, 0, nl * nh);
    if (!cJSON_IsArray(ah)) {
        rc = auris__fail(b->err, AURIS_ERR_FORMAT, "config.json: alignment_heads is not a list");
        goto done;
    }
    for (const cJSON *e = ah->child; e; e = e->next) {
        const cJSON *l = cJSON_GetArrayItem(e, 0), *h = cJSON_GetArrayItem(e, 1);
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsNumber(l) ||
            !cJSON_IsNumber(h) || l->valuedouble < 0 || l->valuedouble >= (double)nl ||
            h->valuedouble < 0 || h->valuedouble >= (double)nh ||
            l->valuedouble != (int)l->valuedouble || h->valuedouble != (int)h->valuedouble) {
            rc = auris__fail(b->err, AURIS_ERR_FORMAT, "config.json: alignment_heads holds an "
                             "entry outside the decoder's %zu layers of %zu heads", nl, nh);
            goto done;
        }
        mask[(size_t)l->valuedouble * nh + (size_t)h->valuedouble] = 1;
    }
    if (ah->child)
        b->ck->alignment_heads = mask;
done:
    cJSON_Delete(c);
    return rc;
}

/* preprocessor_config.json (when present): feature_size must be the model's n_mels. */
static enum auris_err read_preprocessor(const char *dir, struct build *b)
{
    cJSON *c = NULL;
    enum auris_err rc = read_json(dir, "preprocessor_config.json", &c, b->err);
    if (rc == AURIS_ERR_NOT_FOUND)
        return AURIS_OK;
    if (rc)
        return rc;
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(c, "feature_size");
    if (fs && (!cJSON_IsNumber(fs) || fs->valuedouble != b->ck->dims.n_mels))
        rc = auris__fail(b->err, AURIS_ERR_FORMAT, "preprocessor_config.json: feature_size is "
                         "not the model's %d mel bands", b->ck->dims.n_mels);
    cJSON_Delete(c);
    return rc;
}

/* Token i of the vocabulary (GPT-2 byte-level text); ids below n_base are BPE tokens, the
 * rest special tokens checked later against Whisper's layout (auris__hf_check_specials). */
static enum auris_err add_token(struct build *b, int id, const char *s, size_t len, int n_base,
                                size_t *bytes_used, size_t *pool_used)
{
    struct auris__checkpoint *ck = b->ck;
    if (id < n_base) {
        int n = auris__gpt2_token_bytes(s, len, ck->vocab_bytes + *bytes_used, len);
        if (n < 0) /* an empty token is legal (multilingual id 50256) */
            return auris__fail(b->err, AURIS_ERR_FORMAT, "vocabulary: token %d '%.40s' is not in "
                               "GPT-2's byte alphabet", id, s);
        ck->vocab[id] = ck->vocab_bytes + *bytes_used;
        ck->vocab_len[id] = (uint32_t)n;
        *bytes_used += (size_t)n;
        return AURIS_OK;
    }
    memcpy(ck->special_pool + *pool_used, s, len);
    ck->special_pool[*pool_used + len] = '\0';
    ck->specials[ck->n_specials].text = ck->special_pool + *pool_used;
    ck->specials[ck->n_specials++].id = id;
    *pool_used += len + 1;
    return AURIS_OK;
}

/* vocabulary.json (a list of strings) or vocabulary.txt (one token per line), in id order. */
static enum auris_err read_vocab(const char *dir, struct build *b)
{
    struct auris__checkpoint *ck = b->ck;
    char path[4096], *text = NULL;
    size_t len = 0;
    cJSON *list = NULL;
    enum auris_err rc;
    int is_json = 1;
    if (!join(path, sizeof path, dir, "vocabulary.json"))
        return auris__fail(b->err, AURIS_ERR_INVALID_ARG, "path too long");
    if (!is_reg(path)) {
        is_json = 0;
        if (!join(path, sizeof path, dir, "vocabulary.txt"))
            return auris__fail(b->err, AURIS_ERR_INVALID_ARG, "path too long");
        if (!is_reg(path))
            return AURIS_OK; /* no vocabulary: the .tiktoken search applies */
    }
    if ((rc = read_small(path, &text, &len, b->err)))
        return rc;
    int count = 0;
    if (is_json) {
        list = cJSON_ParseWithLength(text, len);
        if (!cJSON_IsArray(list)) {
            rc = auris__fail(b->err, AURIS_ERR_FORMAT, "vocabulary.json is not a JSON list");
            goto done;
        }
        count = cJSON_GetArraySize(list);
    } else {
        for (size_t i = 0; i < len; i++)
            count += text[i] == '\n';
        count += len > 0 && text[len - 1] != '\n';
    }
    const int n_base = ck->dims.n_vocab >= 51865 ? 50257 : 50256;
    if (count < n_base) {
        rc = auris__fail(b->err, AURIS_ERR_FORMAT, "the vocabulary has %d tokens, fewer than the "
                         "%d BPE tokens of Whisper's", count, n_base);
        goto done;
    }
    ck->vocab = calloc((size_t)n_base, sizeof *ck->vocab);
    ck->vocab_len = calloc((size_t)n_base, sizeof *ck->vocab_len);
    ck->vocab_bytes = malloc(len + 1);
    ck->specials = calloc((size_t)(count - n_base + 1), sizeof *ck->specials);
    ck->special_pool = malloc(len + (size_t)count + 1);
    if (!ck->vocab || !ck->vocab_len || !ck->vocab_bytes || !ck->specials || !ck->special_pool) {
        rc = auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory for the vocabulary");
        goto done;
    }
    size_t bytes_used = 0, pool_used = 0;
    if (is_json) {
        int id = 0;
        for (const cJSON *e = list->child; e && !rc; e = e->next, id++) {
            if (!cJSON_IsString(e)) {
                rc = auris__fail(b->err, AURIS_ERR_FORMAT, "vocabulary.json: entry %d is not a "
                                 "string", id);
                break;
            }
            size_t n = strlen(e->valuestring);
            if (n > len) { /* cannot happen: the text came from the file */
                rc = auris__fail(b->err, AURIS_ERR_FORMAT, "vocabulary.json: entry %d", id);
                break;
            }
            rc = add_token(b, id, e->valuestring, n, n_base, &bytes_used, &pool_used);
        }
    } else {
        size_t start = 0;
        for (int id = 0; id < count && !rc; id++) {
            size_t end = start;
            while (end < len && text[end] != '\n')
                end++;
            if (memchr(text + start, '\0', end - start)) {
                rc = auris__fail(b->err, AURIS_ERR_FORMAT, "vocabulary.txt: line %d holds a NUL "
                                 "byte", id + 1);
                break;
            }
            rc = add_token(b, id, text + start, end - start, n_base, &bytes_used, &pool_used);
            start = end + 1;
        }
    }
    if (!rc)
        ck->n_vocab_tokens = n_base;
done:
    cJSON_Delete(list);
    free(text);
    return rc;
}

/* ---- entry points ---------------------------------------------------------------------------- */

int auris__ct2_model_file(const char *path, char *out, size_t cap)
{
    char dir[4096], p[4096];
    if (!path || strlen(path) >= sizeof dir)
        return 0;
    if (is_dir(path)) {
        snprintf(dir, sizeof dir, "%s", path);
    } else if (ends_with(path, "/config.json") || !strcmp(path, "config.json")) {
        const char *slash = strrchr(path, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        if (slash == path)
            snprintf(dir, sizeof dir, "/");
    } else {
        return 0;
    }
    if (!join(p, sizeof p, dir, "model.safetensors") || is_reg(p) ||
        !join(p, sizeof p, dir, "model.safetensors.index.json") || is_reg(p) ||
        !join(p, sizeof p, dir, "model.bin") || !is_reg(p))
        return 0;
    int w = snprintf(out, cap, "%s", p);
    return w > 0 && (size_t)w < cap;
}

enum auris_err auris__load_ct2(const uint8_t *data, size_t size, const char *dir,
                               struct auris__checkpoint *ck, struct auris_error *err)
{
    memset(ck, 0, sizeof *ck);
    struct auris__ct2_file f;
    enum auris_err rc = auris__ct2_parse(data, size, &f, err);
    if (rc)
        return rc;
    struct build b = {.f = &f, .ck = ck, .err = err};
    const int n_all = f.n_vars + f.n_aliases;
    if (strcmp(f.spec, "WhisperSpec") != 0) {
        rc = auris__fail(err, AURIS_ERR_UNSUPPORTED, "a CTranslate2 %s model is not Whisper",
                         f.spec);
        goto fail;
    }
    if (f.revision < 1 || f.revision > 3) {
        rc = auris__fail(err, AURIS_ERR_UNSUPPORTED, "WhisperSpec revision %u is not supported "
                         "(1 to 3 are)", f.revision);
        goto fail;
    }
    b.used = calloc((size_t)AURIS_MAX(n_all, 1), 1);
    b.cap_desc = 3 * AURIS_MAX(n_all, 1);
    b.desc = auris__aligned_alloc((size_t)b.cap_desc * sizeof *b.desc);
    if (!b.used || auris__checkpoint_own(ck, b.desc)) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n_all && !rc; i++)
        if (f.vars[i].rank == 0)
            rc = check_scalar(&b, &f.vars[i], (int)f.revision);
    if (rc || (rc = read_dims(&b)))
        goto fail;
    for (int i = 0; i < n_all && !rc; i++) {
        const struct auris__ct2_var *v = &f.vars[i];
        if (v->rank != 0 && !ends_with(v->name, "_scale"))
            rc = map_one(&b, v);
    }
    for (int i = 0; i < n_all && !rc; i++)
        if (!b.used[i]) /* scales whose weight is not int8, or of nothing */
            rc = auris__fail(err, AURIS_ERR_FORMAT, "unexpected CTranslate2 variable '%s'",
                             f.vars[i].name);
    if (rc)
        goto fail;
    if (dir && ((rc = read_config(dir, &b)) || (rc = read_preprocessor(dir, &b)) ||
                (rc = read_vocab(dir, &b))))
        goto fail;
    ck->squeezed = 0;
    free(b.used);
    auris__ct2_file_clear(&f);
    return AURIS_OK;
fail:
    free(b.used);
    auris__ct2_file_clear(&f);
    auris__checkpoint_clear(ck);
    return rc;
}
