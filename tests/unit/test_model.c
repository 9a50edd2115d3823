/*
 * test_model.c — unit tests of checkpoint binding and loading: dims validation, tensor
 * presence/shape/duplicate/unexpected checks, f16/bf16/misaligned handling, the ggml reader on a
 * tiny file written here, full auris_model_load of ggml and .pt files, the getters.
 *
 * Reference: openai/whisper model.py (names and shapes), whisper.cpp convert-pt-to-ggml.py (ggml
 * layout: squeezed shapes, conv biases as [n][1], f32 1-D tensors). The .pt case uses
 * tests/reference/gen_model.py through /usr/bin/python3 and skips when torch or the shared data
 * (vocabularies) are missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"

#define S 8        /* n_state of the tiny model */
#define H 2        /* heads */
#define TCTX 4     /* n_text_ctx */
#define VOCAB 51864
#define ACTX 1500
#define MELS 80

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *shared_data(void)
{
    const char *d = getenv("AURIS_SHARED_DATA");
    return d && *d ? d : "/work/shared/data";
}

static int have_file(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat sb;
    return stat(p, &sb) == 0;
}

static const char *tmp_dir(void)
{
    const char *d = getenv("AURIS_TEST_TMP");
    if (d && *d) {
        mkdir(d, 0777);
        return d;
    }
    return "/tmp";
}

static struct auris_model_dims tiny_dims(void)
{
    struct auris_model_dims d = {MELS, ACTX, S, H, 1, VOCAB, TCTX, S, H, 1};
    return d;
}

/* The official tensor list for tiny_dims(), in state-dict order. */
struct spec {
    char name[96];
    int n_dims;
    int64_t ne[3];
};

static int add(struct spec *v, int n, const char *name, int nd, int64_t a, int64_t b, int64_t c)
{
    snprintf(v[n].name, sizeof v[n].name, "%s", name);
    v[n].n_dims = nd;
    v[n].ne[0] = a;
    v[n].ne[1] = b;
    v[n].ne[2] = c;
    return n + 1;
}

static int add_block(struct spec *v, int n, const char *stack, int cross)
{
    char p[96];
    const char *att[2] = {"attn", "cross_attn"};
    for (int k = 0; k < 1 + cross; k++) {
#define A(suffix, nd, a, b) \
    (snprintf(p, sizeof p, "%s.blocks.0.%s%s", stack, att[k], suffix), n = add(v, n, p, nd, a, b, 1))
        A(".query.weight", 2, S, S);
        A(".query.bias", 1, S, 1);
        A(".key.weight", 2, S, S);
        A(".value.weight", 2, S, S);
        A(".value.bias", 1, S, 1);
        A(".out.weight", 2, S, S);
        A(".out.bias", 1, S, 1);
        A("_ln.weight", 1, S, 1);
        A("_ln.bias", 1, S, 1);
#undef A
    }
#define M(suffix, nd, a, b) \
    (snprintf(p, sizeof p, "%s.blocks.0.%s", stack, suffix), n = add(v, n, p, nd, a, b, 1))
    M("mlp.0.weight", 2, 4 * S, S);
    M("mlp.0.bias", 1, 4 * S, 1);
    M("mlp.2.weight", 2, S, 4 * S);
    M("mlp.2.bias", 1, S, 1);
    M("mlp_ln.weight", 1, S, 1);
    M("mlp_ln.bias", 1, S, 1);
#undef M
    return n;
}

static int official_specs(struct spec *v)
{
    int n = 0;
    n = add(v, n, "encoder.positional_embedding", 2, ACTX, S, 1);
    n = add(v, n, "encoder.conv1.weight", 3, S, MELS, 3);
    n = add(v, n, "encoder.conv1.bias", 1, S, 1, 1);
    n = add(v, n, "encoder.conv2.weight", 3, S, S, 3);
    n = add(v, n, "encoder.conv2.bias", 1, S, 1, 1);
    n = add_block(v, n, "encoder", 0);
    n = add(v, n, "encoder.ln_post.weight", 1, S, 1, 1);
    n = add(v, n, "encoder.ln_post.bias", 1, S, 1, 1);
    n = add(v, n, "decoder.positional_embedding", 2, TCTX, S, 1);
    n = add(v, n, "decoder.token_embedding.weight", 2, VOCAB, S, 1);
    n = add_block(v, n, "decoder", 1);
    n = add(v, n, "decoder.ln.weight", 1, S, 1, 1);
    n = add(v, n, "decoder.ln.bias", 1, S, 1, 1);
    return n;
}

static int64_t numel(const struct spec *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->n_dims; i++)
        n *= s->ne[i];
    return n;
}

/* An in-memory checkpoint: every tensor is f16 (or f32) with value 0.5 + index/1024. */
struct fixture {
    struct spec specs[128];
    int n;
    struct auris__checkpoint ck;
    uint8_t *pool; /* backing bytes, 64-aligned */
};

static uint16_t f16_of(int i)
{
    return auris__f32_to_f16(0.5f + (float)(i % 97) / 1024.0f);
}

static void fixture_make(struct fixture *f, enum auris__dtype type)
{
    memset(f, 0, sizeof *f);
    f->n = official_specs(f->specs);
    size_t total = 0;
    for (int i = 0; i < f->n; i++)
        total += (size_t)numel(&f->specs[i]) * 4 + 64;
    f->pool = auris__aligned_alloc(total);
    assert_non_null(f->pool);
    f->ck.dims = tiny_dims();
    f->ck.tensors = calloc((size_t)f->n + 4, sizeof *f->ck.tensors);
    assert_non_null(f->ck.tensors);
    size_t off = 0;
    for (int i = 0; i < f->n; i++) {
        struct auris__raw_tensor *t = &f->ck.tensors[i];
        const struct spec *s = &f->specs[i];
        snprintf(t->name, sizeof t->name, "%s", s->name);
        t->type = type;
        t->n_dims = s->n_dims;
        for (int d = 0; d < 4; d++)
            t->ne[d] = d < 3 && d < s->n_dims ? s->ne[d] : 1;
        t->data = f->pool + off;
        int64_t n = numel(s);
        for (int64_t k = 0; k < n; k++) {
            uint16_t h = f16_of((int)k);
            if (type == AURIS_DT_F16) {
                memcpy(f->pool + off + 2 * (size_t)k, &h, 2);
            } else {
                float x = auris__f16_to_f32(h);
                memcpy(f->pool + off + 4 * (size_t)k, &x, 4);
            }
        }
        off += ((size_t)n * (type == AURIS_DT_F16 ? 2 : 4) + 63) & ~(size_t)63;
    }
    f->ck.n_tensors = f->n;
}

static void fixture_free(struct fixture *f)
{
    free(f->ck.tensors);
    auris__aligned_free(f->pool);
}

static struct auris__raw_tensor *find(struct fixture *f, const char *name)
{
    for (int i = 0; i < f->ck.n_tensors; i++)
        if (strcmp(f->ck.tensors[i].name, name) == 0)
            return &f->ck.tensors[i];
    fail_msg("no tensor %s", name);
    return NULL;
}

/* Binds and returns the code; the error message goes to `e`. */
static enum auris_err bind(struct fixture *f, struct auris_error *e, auris_model **out)
{
    auris_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    memset(e, 0, sizeof *e);
    enum auris_err rc = auris__model_bind(m, &f->ck, e);
    if (out && rc == AURIS_OK)
        *out = m;
    else
        auris_model_free(m);
    return rc;
}

static void expect_bind_error(struct fixture *f, const char *needle)
{
    struct auris_error e;
    enum auris_err rc = bind(f, &e, NULL);
    if (rc != AURIS_ERR_FORMAT || !strstr(e.message, needle))
        fail_msg("expected FORMAT error with \"%s\", got %d \"%s\"", needle, rc, e.message);
}

/* ---- bind ----------------------------------------------------------------------------------- */

static void test_bind_ok(void **state)
{
    (void)state;
    for (int ty = 0; ty <= 1; ty++) {
        struct fixture f;
        fixture_make(&f, ty ? AURIS_DT_F16 : AURIS_DT_F32);
        struct auris_error e;
        auris_model *m = NULL;
        assert_int_equal(bind(&f, &e, &m), AURIS_OK);
        assert_int_equal(m->dims.n_vocab, VOCAB);
        /* weights stay in the map (aligned) and keep their type */
        assert_ptr_equal(m->tok_emb.data, find(&f, "decoder.token_embedding.weight")->data);
        assert_int_equal(m->tok_emb.type, ty ? AURIS_DT_F16 : AURIS_DT_F32);
        assert_int_equal(m->tok_emb.ne[0], VOCAB);
        assert_int_equal(m->tok_emb.ne[1], S);
        assert_int_equal(m->conv1_w.n_dims, 3);
        assert_int_equal(m->conv1_w.ne[1], MELS);
        assert_int_equal(m->dec[0].mlp0_w.ne[0], 4 * S);
        assert_non_null(m->dec[0].cross.k_w.data);
        /* f32 vectors aligned in the map are used in place; f16 ones become owned, aligned
         * f32 copies */
        if (ty) {
            assert_ptr_not_equal(m->enc_pos, find(&f, "encoder.positional_embedding")->data);
            assert_int_equal((uintptr_t)m->enc_pos % 64, 0);
            assert_int_equal((uintptr_t)m->dec[0].cross.ln_b % 64, 0);
        } else {
            assert_ptr_equal(m->enc_pos, find(&f, "encoder.positional_embedding")->data);
        }
        for (int k = 0; k < 4 * S; k++)
            assert_float_equal(m->enc[0].mlp0_b[k], auris__f16_to_f32(f16_of(k)), 0);
        assert_float_equal(m->dec_pos[TCTX * S - 1], auris__f16_to_f32(f16_of(TCTX * S - 1)), 0);
        assert_null(m->mel_filters); /* no embedded filters */
        auris_model_free(m);
        fixture_free(&f);
    }
    auris_model_free(NULL);
}

static void test_bind_misaligned_and_bf16(void **state)
{
    (void)state;
    struct fixture f;
    fixture_make(&f, AURIS_DT_F16);
    /* a misaligned f16 weight: shift the data by one byte into a private buffer */
    struct auris__raw_tensor *t = find(&f, "decoder.blocks.0.mlp.2.weight");
    size_t bytes = (size_t)(S * 4 * S) * 2;
    uint8_t *mis = malloc(bytes + 1);
    assert_non_null(mis);
    memcpy(mis + 1, t->data, bytes);
    const void *orig = t->data;
    t->data = mis + 1;
    /* a bf16 weight: 0x3fc0 = 1.5 */
    struct auris__raw_tensor *q = find(&f, "encoder.blocks.0.attn.query.weight");
    uint16_t *bf = malloc((size_t)S * S * 2);
    assert_non_null(bf);
    for (int i = 0; i < S * S; i++)
        bf[i] = 0x3fc0;
    q->data = bf;
    q->is_bf16 = 1;
    struct auris_error e;
    auris_model *m = NULL;
    assert_int_equal(bind(&f, &e, &m), AURIS_OK);
    assert_ptr_not_equal(m->dec[0].mlp2_w.data, mis + 1);
    assert_int_equal((uintptr_t)m->dec[0].mlp2_w.data % 2, 0);
    assert_memory_equal(m->dec[0].mlp2_w.data, orig, bytes);
    /* bf16 weights from .pt/safetensors are widened to owned f32 */
    assert_int_equal(m->enc[0].attn.q_w.type, AURIS_DT_F32);
    assert_float_equal(((const float *)m->enc[0].attn.q_w.data)[S * S - 1], 1.5f, 0);
    auris_model_free(m);
    free(mis);
    free(bf);
    fixture_free(&f);
}

static void test_bind_tensor_errors(void **state)
{
    (void)state;
    struct fixture f;

    fixture_make(&f, AURIS_DT_F16);
    snprintf(find(&f, "decoder.blocks.0.mlp.0.weight")->name, 96, "decoder.blocks.0.mlp.0.weigh");
    expect_bind_error(&f, "tensor 'decoder.blocks.0.mlp.0.weight' is missing");
    fixture_free(&f);

    fixture_make(&f, AURIS_DT_F16);
    find(&f, "decoder.blocks.0.mlp.0.weight")->ne[1] = S - 1;
    expect_bind_error(&f, "tensor 'decoder.blocks.0.mlp.0.weight' has shape [32,7], expected [32,8]");
    fixture_free(&f);

    fixture_make(&f, AURIS_DT_F16);
    find(&f, "encoder.conv1.weight")->n_dims = 2;
    expect_bind_error(&f, "tensor 'encoder.conv1.weight' has shape [8,80], expected [8,80,3]");
    fixture_free(&f);

    fixture_make(&f, AURIS_DT_F16); /* duplicated: append a second copy */
    f.ck.tensors[f.ck.n_tensors] = *find(&f, "encoder.ln_post.bias");
    f.ck.n_tensors++;
    expect_bind_error(&f, "tensor 'encoder.ln_post.bias' appears more than once");
    fixture_free(&f);

    fixture_make(&f, AURIS_DT_F16); /* unexpected extra tensor */
    f.ck.tensors[f.ck.n_tensors] = *find(&f, "encoder.ln_post.bias");
    snprintf(f.ck.tensors[f.ck.n_tensors].name, 96, "decoder.blocks.1.attn.key.weight");
    f.ck.n_tensors++;
    expect_bind_error(&f, "unexpected tensor 'decoder.blocks.1.attn.key.weight'");
    fixture_free(&f);

    fixture_make(&f, AURIS_DT_F16); /* a size-1 dimension is a shape error in .pt files... */
    struct auris__raw_tensor *b = find(&f, "encoder.conv1.bias");
    b->n_dims = 2;
    b->ne[1] = 1;
    expect_bind_error(&f, "tensor 'encoder.conv1.bias' has shape [8,1], expected [8]");
    f.ck.squeezed = 1; /* ...but whisper.cpp's converter writes exactly that */
    struct auris_error e;
    auris_model *m = NULL;
    assert_int_equal(bind(&f, &e, &m), AURIS_OK);
    auris_model_free(m);
    find(&f, "encoder.conv1.weight")->ne[2] = 1; /* squeezing never hides a real mismatch */
    expect_bind_error(&f, "tensor 'encoder.conv1.weight' has shape [8,80,1], expected [8,80,3]");
    fixture_free(&f);
}

static void test_bind_dims(void **state)
{
    (void)state;
    static const struct {
        int field; /* index into the dims struct as an int array */
        int value;
        const char *msg;
    } cases[] = {
        {0, 81, "n_mels = 81"},
        {1, 1499, "n_audio_ctx = 1499"},
        {2, 9, "n_audio_state 9 is not a multiple of n_audio_head 2"},
        {3, 0, "n_audio_head = 0"},
        {4, -1, "n_audio_layer = -1"},
        {5, 40000, "n_vocab = 40000"},
        {5, 51867, "n_vocab = 51867"},
        {6, 1 << 30, "n_text_ctx"},
        {7, 100000, "n_text_state = 100000"},
        {9, 1000, "n_text_layer = 1000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture f;
        fixture_make(&f, AURIS_DT_F16);
        int *fields = &f.ck.dims.n_mels;
        fields[cases[i].field] = cases[i].value;
        expect_bind_error(&f, cases[i].msg);
        fixture_free(&f);
    }
    /* embedded filters must match n_mels */
    struct fixture f;
    fixture_make(&f, AURIS_DT_F16);
    static float filters[128 * 201];
    f.ck.mel_filters = filters;
    f.ck.filters_n_mels = 128;
    f.ck.filters_n_fft = 201;
    expect_bind_error(&f, "embedded mel filters have shape [128][201], expected [80][201]");
    fixture_free(&f);
}

/* --compute_type at load: the names, the refusals, and what bind makes of f16 weights. */
static void test_compute_type(void **state)
{
    (void)state;
    enum auris_compute_type ct = AURIS_COMPUTE_DEFAULT;
    static const char *const names[] = {"default", "float32", "float16", "bfloat16", "int8",
                                        "int8_float32", "int8_float16"};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(auris_compute_type_from_name(names[i], &ct), 0);
        assert_int_equal((int)ct, i);
        assert_string_equal(auris_compute_type_name(ct), names[i]);
    }
    assert_int_equal(auris_compute_type_from_name("float", &ct), 0);
    assert_int_equal(ct, AURIS_COMPUTE_FLOAT32);
    assert_int_equal(auris_compute_type_from_name("int16", &ct), -1);
    assert_int_equal(auris_compute_type_from_name(NULL, &ct), -1);
    assert_null(auris_compute_type_name((enum auris_compute_type)7));
    assert_int_equal(auris_model_default_params().compute_type, AURIS_COMPUTE_DEFAULT);
    assert_int_equal(auris_model_compute_type(NULL), AURIS_COMPUTE_DEFAULT);
    struct auris_model_params p = auris_model_default_params();
    auris_model *out = NULL;
    struct auris_error e = {0};
    p.compute_type = AURIS_COMPUTE_BFLOAT16; /* refused before the file is even opened */
    assert_int_equal(auris_model_load("/nonexistent/model.bin", &p, &out, &e),
                     AURIS_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.message, "bfloat16"));
    p.compute_type = (enum auris_compute_type)99;
    assert_int_equal(auris_model_load("/nonexistent/model.bin", &p, &out, &e),
                     AURIS_ERR_INVALID_ARG);
    assert_null(out);

    static const enum auris_compute_type cts[] = {AURIS_COMPUTE_FLOAT32, AURIS_COMPUTE_INT8,
                                                  AURIS_COMPUTE_INT8_FLOAT32};
    for (size_t c = 0; c < AURIS_ARRAY_LEN(cts); c++) {
        struct fixture f;
        fixture_make(&f, AURIS_DT_F16);
        auris_model *m = calloc(1, sizeof *m);
        assert_non_null(m);
        m->compute = cts[c];
        assert_int_equal(auris__model_bind(m, &f.ck, &e), AURIS_OK);
        assert_int_equal(auris_model_compute_type(m), cts[c]);
        const int int8 = cts[c] != AURIS_COMPUTE_FLOAT32;
        const struct auris__tensor *lin[] = {&m->enc[0].attn.q_w, &m->enc[0].mlp2_w,
                                             &m->dec[0].cross.k_w, &m->tok_emb};
        float row[4 * S];
        for (size_t i = 0; i < AURIS_ARRAY_LEN(lin); i++) {
            const struct auris__tensor *t = lin[i];
            assert_int_equal(t->type, int8 ? AURIS_DT_I8R : AURIS_DT_F32);
            const int64_t k = t->ne[1];
            for (int64_t r = 0; r < t->ne[0]; r += 7) {
                auris__row_to_f32(t, r, row);
                for (int64_t j = 0; j < k; j++) { /* the fixture's value of element r*k+j */
                    float want = auris__f16_to_f32(f16_of((int)(r * k + j)));
                    /* int8: within half a step of the row's scale (max |w| < 0.6) */
                    assert_true(fabsf(row[j] - want) <= (int8 ? 0.6f / 127.0f * 0.5f + 1e-6f : 0.0f));
                }
            }
        }
        if (int8) {
            const struct auris__i8r *d = m->enc[0].mlp0_w.data;
            assert_int_equal(d->rows, 4 * S);
            assert_int_equal(d->k, S);
        }
        /* convolutions: stored type under int8, f32 under float32 and int8_float32 */
        assert_int_equal(m->conv1_w.type,
                         cts[c] == AURIS_COMPUTE_INT8 ? AURIS_DT_F16 : AURIS_DT_F32);
        assert_int_equal(m->conv2_w.type,
                         cts[c] == AURIS_COMPUTE_INT8 ? AURIS_DT_F16 : AURIS_DT_F32);
        auris_model_free(m);
        fixture_free(&f);
    }
}

static void test_getters(void **state)
{
    (void)state;
    assert_null(auris_model_get_dims(NULL));
    assert_false(auris_model_is_multilingual(NULL));
    assert_int_equal(auris_model_n_languages(NULL), 0);
    struct auris_model_params p = auris_model_default_params();
    assert_null(p.assets_dir);
    auris_model m;
    memset(&m, 0, sizeof m);
    static const int vocab[3] = {51864, 51865, 51866}, langs[3] = {0, 99, 100};
    for (int i = 0; i < 3; i++) {
        m.dims.n_vocab = vocab[i];
        assert_int_equal(auris_model_is_multilingual(&m), i > 0);
        assert_int_equal(auris_model_n_languages(&m), langs[i]);
        assert_int_equal(auris_model_get_dims(&m)->n_vocab, vocab[i]);
    }
    struct auris_error e;
    auris_model *out = (auris_model *)&m;
    assert_int_equal(auris_model_load(NULL, NULL, &out, &e), AURIS_ERR_INVALID_ARG);
    assert_null(out);
    assert_int_equal(auris_model_load("/nonexistent/model.bin", NULL, &out, &e),
                     AURIS_ERR_NOT_FOUND);
    assert_non_null(strstr(e.message, "/nonexistent/model.bin"));
}

/* ---- ggml ----------------------------------------------------------------------------------- */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void i32(struct buf *b, int32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

/* Writes the tiny model as whisper.cpp's converter would: squeezed shapes, conv biases as
 * [n][1], 1-D tensors and positional embeddings f32, the rest f16; `n_tokens` vocabulary
 * entries; `qtype` >= 0 gives the first 2-D tensor that ggml type instead. */
static void write_ggml(struct buf *b, int n_tokens, int qtype)
{
    struct spec specs[128];
    int n = official_specs(specs);
    i32(b, 0x67676d6c);
    const struct auris_model_dims d = tiny_dims();
    const int h[11] = {d.n_vocab, d.n_audio_ctx, d.n_audio_state, d.n_audio_head,
                       d.n_audio_layer, d.n_text_ctx, d.n_text_state, d.n_text_head,
                       d.n_text_layer, d.n_mels, 1};
    for (int i = 0; i < 11; i++)
        i32(b, h[i]);
    i32(b, MELS);
    i32(b, 201);
    for (int i = 0; i < MELS * 201; i++) {
        float x = (float)i / 1000.0f;
        put(b, &x, 4);
    }
    i32(b, n_tokens);
    for (int i = 0; i < n_tokens; i++) {
        char tok[16];
        int len = snprintf(tok, sizeof tok, "t%d", i);
        i32(b, len);
        put(b, tok, (size_t)len);
    }
    int quantised = 0;
    for (int i = 0; i < n; i++) {
        const struct spec *s = &specs[i];
        int64_t ne[3];
        int nd = s->n_dims;
        memcpy(ne, s->ne, sizeof ne);
        if (strstr(s->name, "conv") && strstr(s->name, "bias")) {
            nd = 2;
            ne[1] = 1;
        }
        int f32 = nd < 2 || strstr(s->name, "positional") || strstr(s->name, "bias");
        int ttype = f32 ? 0 : 1;
        if (!f32 && qtype >= 0 && !quantised) {
            ttype = qtype;
            quantised = 1;
        }
        i32(b, nd);
        i32(b, (int32_t)strlen(s->name));
        i32(b, ttype);
        for (int k = 0; k < nd; k++)
            i32(b, (int32_t)ne[nd - 1 - k]);
        put(b, s->name, strlen(s->name));
        int64_t cnt = numel(s);
        for (int64_t k = 0; k < cnt; k++) {
            uint16_t hv = f16_of((int)k);
            if (ttype == 0) {
                float x = auris__f16_to_f32(hv);
                put(b, &x, 4);
            } else {
                put(b, &hv, 2);
            }
        }
    }
}

static void test_ggml_parse_and_bind(void **state)
{
    (void)state;
    struct buf b = {0};
    write_ggml(&b, 3, -1);
    struct auris__checkpoint ck;
    struct auris_error e = {0};
    assert_int_equal(auris__load_ggml(b.p, b.n, &ck, &e), AURIS_OK);
    assert_int_equal(ck.n_vocab_tokens, 3);
    assert_int_equal(ck.vocab_len[2], 2);
    assert_memory_equal(ck.vocab[2], "t2", 2);
    assert_int_equal(ck.filters_n_mels, MELS);
    auris_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    assert_int_equal(auris__model_bind(m, &ck, &e), AURIS_OK);
    assert_float_equal(m->conv2_b[S - 1], auris__f16_to_f32(f16_of(S - 1)), 0);
    assert_float_equal(m->mel_filters[MELS * 201 - 1], (float)(MELS * 201 - 1) / 1000.0f, 0);
    assert_int_equal((uintptr_t)m->mel_filters % 64, 0);
    assert_int_equal(m->dec[0].attn.q_w.type, AURIS_DT_F16);
    assert_int_equal((uintptr_t)m->dec[0].attn.q_w.data % 2, 0);
    auris_model_free(m);
    auris__checkpoint_clear(&ck);
    auris__checkpoint_clear(&ck);
    free(b.p);
}

static void test_ggml_hostile(void **state)
{
    (void)state;
    struct buf b = {0};
    write_ggml(&b, 3, -1);
    /* every cut point in the header, vocabulary and first tensors, then a stride through data */
    const size_t vocab_at = 4 + 44 + 8 + (size_t)MELS * 201 * 4;
    for (size_t cut = 0; cut < b.n;
         cut += cut < 128 || (cut >= vocab_at - 8 && cut < vocab_at + 1200) ? 1 : 4099) {
        uint8_t *c = malloc(cut ? cut : 1);
        assert_non_null(c);
        memcpy(c, b.p, cut);
        struct auris__checkpoint ck;
        struct auris_error e = {0};
        enum auris_err rc = auris__load_ggml(c, cut, &ck, &e);
        if (rc == AURIS_OK) { /* ends between two tensors: binding must notice */
            auris_model *m = calloc(1, sizeof *m);
            assert_non_null(m);
            rc = auris__model_bind(m, &ck, &e);
            auris_model_free(m);
            auris__checkpoint_clear(&ck);
        }
        assert_int_equal(rc, AURIS_ERR_FORMAT);
        assert_true(strlen(e.message) > 0);
        free(c);
    }
    free(b.p);

    struct buf q = {0};
    write_ggml(&q, 0, 2);
    struct auris__checkpoint ck;
    struct auris_error e = {0};
    assert_int_equal(auris__load_ggml(q.p, q.n, &ck, &e), AURIS_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.message, "ggml type q4_0"));
    free(q.p);

    struct buf u = {0};
    write_ggml(&u, 0, 77);
    assert_int_equal(auris__load_ggml(u.p, u.n, &ck, &e), AURIS_ERR_FORMAT);
    assert_non_null(strstr(e.message, "unknown ggml type 77"));
    free(u.p);
}

static int write_file(const char *path, const struct buf *b)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(b->p, 1, b->n, f);
    return fclose(f) == 0 && w == b->n ? 0 : -1;
}

/* ggml with no embedded vocabulary falls back to gpt2.tiktoken, found through assets_dir */
static void test_load_ggml_file(void **state)
{
    (void)state;
    if (!have_file(shared_data(), "gpt2.tiktoken"))
        skip();
    struct buf b = {0};
    write_ggml(&b, 0, -1);
    char path[1024];
    snprintf(path, sizeof path, "%s/test_model_tiny.bin", tmp_dir());
    assert_int_equal(write_file(path, &b), 0);
    free(b.p);

    struct auris_model_params p = auris_model_default_params();
    p.assets_dir = "/nonexistent-assets";
    auris_model *m = NULL;
    struct auris_error e = {0};
    setenv("AURIS_ASSETS", "/nonexistent-env-assets", 1);
    setenv("AURIS_CACHE", "/nonexistent-cache", 1);
    assert_int_equal(auris_model_load(path, &p, &m, &e), AURIS_ERR_NOT_FOUND);
    assert_null(m);
    assert_non_null(strstr(e.message, "gpt2.tiktoken"));
    assert_non_null(strstr(e.message, "/nonexistent-assets, /nonexistent-env-assets"));
    assert_non_null(strstr(e.message, "/nonexistent-cache"));
    assert_non_null(strstr(e.message, "AURIS_ASSETS"));

    setenv("AURIS_ASSETS", shared_data(), 1);
    assert_int_equal(auris_model_load(path, &p, &m, &e), AURIS_OK);
    assert_int_equal(auris_model_get_dims(m)->n_text_ctx, TCTX);
    assert_false(auris_model_is_multilingual(m));
    assert_non_null(m->tok);
    auris_model_free(m);
    unsetenv("AURIS_ASSETS");
    unsetenv("AURIS_CACHE");
    unlink(path);
}

/* A Silero VAD file (whisper.cpp's ggml layout: magic, type length 10, "silero-16k") is named as
 * such instead of failing on its first "hyperparameter". */
static void test_load_vad_file(void **state)
{
    (void)state;
    uint8_t head[64] = {0x6c, 0x6d, 0x67, 0x67, 10, 0, 0, 0};
    memcpy(head + 8, "silero-16k", 10);
    struct buf b = {head, sizeof head, sizeof head};
    char path[1024];
    snprintf(path, sizeof path, "%s/test_model_vad.bin", tmp_dir());
    assert_int_equal(write_file(path, &b), 0);
    auris_model *m = NULL;
    struct auris_error e = {0};
    assert_int_equal(auris_model_load(path, NULL, &m, &e), AURIS_ERR_FORMAT);
    assert_null(m);
    assert_non_null(strstr(e.message, "Silero VAD model"));
    unlink(path);
}

/* The generated micro checkpoints (.pt and .bin of the same weights) load to identical models. */
static void test_load_generated(void **state)
{
    (void)state;
    char gen[1024], dir[1024], cmd[4096];
    /* CMake compiles with absolute source paths: tests/unit/test_model.c */
    const char *slash = strrchr(__FILE__, '/');
    snprintf(gen, sizeof gen, "%.*s/../reference/gen_model.py",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    if (access("/usr/bin/python3", X_OK) != 0 || access(gen, R_OK) != 0 ||
        !have_file(shared_data(), "multilingual.tiktoken") ||
        !have_file(shared_data(), "mel_filters.npz"))
        skip();
    snprintf(dir, sizeof dir, "%s/test_model_gen", tmp_dir());
    snprintf(cmd, sizeof cmd,
             "AURIS_SHARED_DATA='%s' /usr/bin/python3 '%s' --size micro --seed 3 --out '%s' "
             ">/dev/null 2>&1",
             shared_data(), gen, dir);
    if (system(cmd) != 0)
        skip(); /* no torch */
    auris_model *m[2] = {NULL, NULL};
    const char *ext[2] = {"pt", "bin"};
    struct auris_model_params p = auris_model_default_params();
    p.assets_dir = shared_data();
    for (int i = 0; i < 2; i++) {
        char path[1100];
        struct auris_error e = {0};
        snprintf(path, sizeof path, "%s/micro-s3.%s", dir, ext[i]);
        if (auris_model_load(path, &p, &m[i], &e) != AURIS_OK)
            fail_msg("%s: %s", path, e.message);
    }
    assert_memory_equal(&m[0]->dims, &m[1]->dims, sizeof m[0]->dims);
    assert_int_equal(auris_model_n_languages(m[0]), 99);
    const struct auris_model_dims *d = &m[0]->dims;
    /* same f16 weights, same f32 biases and embeddings, same filters (to float rounding) */
    assert_int_equal(m[0]->tok_emb.type, AURIS_DT_F16);
    assert_int_equal(m[1]->tok_emb.type, AURIS_DT_F16);
    assert_memory_equal(m[0]->tok_emb.data, m[1]->tok_emb.data,
                        (size_t)d->n_vocab * (size_t)d->n_text_state * 2);
    assert_memory_equal(m[0]->conv1_w.data, m[1]->conv1_w.data,
                        (size_t)d->n_audio_state * (size_t)d->n_mels * 3 * 2);
    assert_memory_equal(m[0]->dec[1].cross.o_b, m[1]->dec[1].cross.o_b,
                        (size_t)d->n_text_state * 4);
    assert_memory_equal(m[0]->enc_pos, m[1]->enc_pos,
                        (size_t)d->n_audio_ctx * (size_t)d->n_audio_state * 4);
    for (int i = 0; i < d->n_mels * 201; i++)
        assert_float_equal(m[0]->mel_filters[i], m[1]->mel_filters[i], 1e-6);
    auris_model_free(m[0]);
    auris_model_free(m[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_ok),
        cmocka_unit_test(test_bind_misaligned_and_bf16),
        cmocka_unit_test(test_bind_tensor_errors),
        cmocka_unit_test(test_bind_dims),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_compute_type),
        cmocka_unit_test(test_ggml_parse_and_bind),
        cmocka_unit_test(test_ggml_hostile),
        cmocka_unit_test(test_load_ggml_file),
        cmocka_unit_test(test_load_vad_file),
        cmocka_unit_test(test_load_generated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
