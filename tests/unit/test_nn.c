/*
 * test_nn.c — the encoder and decoder against a naive forward pass written here.
 *
 * A tiny random model is built in memory (odd sizes so attention crosses query blocks and the
 * gemm edges are exercised; f32 and f16 weights) and run through auris__encode/auris__decode.
 * The reference below follows openai/whisper model.py literally with double accumulation and
 * shares no code with src/nn: direct convolutions, per-head loops with q and k each scaled by
 * d^-1/4, -inf causal mask, softmax, erf GELU. Also checked: decoding token by token (KV cache)
 * equals decoding all at once, and invalid calls are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/nn.h"

/* ---- a tiny random model -------------------------------------------------------------------- */

#define MAX_ALLOCS 512

struct fixture {
    auris_model model;
    int f16;
    void *allocs[MAX_ALLOCS];
    int n_allocs;
    uint32_t rng;
};

static void *track(struct fixture *f, size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    assert_non_null(p);
    assert_true(f->n_allocs < MAX_ALLOCS);
    f->allocs[f->n_allocs++] = p;
    return p;
}

static float urand(struct fixture *f)
{
    f->rng = f->rng * 1664525u + 1013904223u;
    return (float)((f->rng >> 8) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

static float *vec(struct fixture *f, size_t n, float center, float spread)
{
    float *p = track(f, n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = center + spread * urand(f);
    return p;
}

/* A weight [d0][d1][d2] scaled by 1/sqrt(fan_in); in f16 mode the stored halves are the truth. */
static struct auris__tensor weight(struct fixture *f, int d0, int d1, int d2)
{
    size_t count = (size_t)d0 * d1 * (d2 ? d2 : 1);
    float scale = 1.0f / sqrtf((float)(count / (size_t)d0));
    struct auris__tensor t = {0};
    t.n_dims = d2 ? 3 : 2;
    t.ne[0] = d0;
    t.ne[1] = d1;
    t.ne[2] = d2;
    if (f->f16) {
        uint16_t *h = track(f, count * sizeof *h);
        for (size_t i = 0; i < count; i++)
            h[i] = auris__f32_to_f16(scale * urand(f));
        t.type = AURIS_DT_F16;
        t.data = h;
    } else {
        t.type = AURIS_DT_F32;
        t.data = vec(f, count, 0.0f, scale);
    }
    return t;
}

static void attn_weights(struct fixture *f, struct auris__attn *a, int n)
{
    a->ln_w = vec(f, (size_t)n, 1.0f, 0.2f);
    a->ln_b = vec(f, (size_t)n, 0.0f, 0.2f);
    a->q_w = weight(f, n, n, 0);
    a->q_b = vec(f, (size_t)n, 0.0f, 0.2f);
    a->k_w = weight(f, n, n, 0);
    a->v_w = weight(f, n, n, 0);
    a->v_b = vec(f, (size_t)n, 0.0f, 0.2f);
    a->o_w = weight(f, n, n, 0);
    a->o_b = vec(f, (size_t)n, 0.0f, 0.2f);
}

static void block_weights(struct fixture *f, struct auris__block *b, int n, int cross)
{
    attn_weights(f, &b->attn, n);
    if (cross)
        attn_weights(f, &b->cross, n);
    b->mlp_ln_w = vec(f, (size_t)n, 1.0f, 0.2f);
    b->mlp_ln_b = vec(f, (size_t)n, 0.0f, 0.2f);
    b->mlp0_w = weight(f, 4 * n, n, 0);
    b->mlp0_b = vec(f, 4 * (size_t)n, 0.0f, 0.2f);
    b->mlp2_w = weight(f, n, 4 * n, 0);
    b->mlp2_b = vec(f, (size_t)n, 0.0f, 0.2f);
}

static struct fixture *make_model(int f16)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->f16 = f16;
    f->rng = 777u + (uint32_t)f16;
    struct auris_model_dims d = {
        .n_mels = 10, .n_audio_ctx = 100, .n_audio_state = 40, .n_audio_head = 5,
        .n_audio_layer = 2, .n_vocab = 73, .n_text_ctx = 90, .n_text_state = 40,
        .n_text_head = 5, .n_text_layer = 2,
    };
    auris_model *m = &f->model;
    m->dims = d;
    int n = d.n_audio_state;
    m->conv1_w = weight(f, n, d.n_mels, 3);
    m->conv1_b = vec(f, (size_t)n, 0.0f, 0.2f);
    m->conv2_w = weight(f, n, n, 3);
    m->conv2_b = vec(f, (size_t)n, 0.0f, 0.2f);
    m->enc_pos = vec(f, (size_t)d.n_audio_ctx * n, 0.0f, 1.0f);
    m->enc = track(f, (size_t)d.n_audio_layer * sizeof *m->enc);
    for (int l = 0; l < d.n_audio_layer; l++)
        block_weights(f, &m->enc[l], n, 0);
    m->enc_ln_w = vec(f, (size_t)n, 1.0f, 0.2f);
    m->enc_ln_b = vec(f, (size_t)n, 0.0f, 0.2f);
    m->tok_emb = weight(f, d.n_vocab, n, 0);
    m->dec_pos = vec(f, (size_t)d.n_text_ctx * n, 0.0f, 0.5f);
    m->dec = track(f, (size_t)d.n_text_layer * sizeof *m->dec);
    for (int l = 0; l < d.n_text_layer; l++)
        block_weights(f, &m->dec[l], n, 1);
    m->dec_ln_w = vec(f, (size_t)n, 1.0f, 0.2f);
    m->dec_ln_b = vec(f, (size_t)n, 0.0f, 0.2f);
    return f;
}

static void free_model(struct fixture *f)
{
    for (int i = 0; i < f->n_allocs; i++)
        free(f->allocs[i]);
    free(f);
}

/* ---- the naive reference (double) --------------------------------------------------------- */

static double w_at(const struct auris__tensor *t, size_t i)
{
    if (t->type == AURIS_DT_F16)
        return auris__f16_to_f32(((const uint16_t *)t->data)[i]);
    return ((const float *)t->data)[i];
}

/* y[r][o] = b[o] + sum_i x[r][i] W[o][i] */
static void ref_linear(int rows, int in, int out, const double *x, const struct auris__tensor *W,
                       const float *b, double *y)
{
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < in; i++)
                s += x[(size_t)r * in + i] * w_at(W, (size_t)o * in + i);
            y[(size_t)r * out + o] = s;
        }
}

static void ref_ln(int rows, int n, const double *x, const float *w, const float *b, double *y)
{
    for (int r = 0; r < rows; r++) {
        const double *xr = x + (size_t)r * n;
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++)
            mean += xr[i];
        mean /= n;
        for (int i = 0; i < n; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        var /= n;
        for (int i = 0; i < n; i++)
            y[(size_t)r * n + i] = (xr[i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
    }
}

static double ref_gelu(double v)
{
    return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
}

/* MultiHeadAttention.forward: x [nq][n], xa [nk][n] (xa == x for self-attention). */
static void ref_mha(const struct auris__attn *w, int n, int n_head, int nq, const double *x,
                    int nk, const double *xa, int causal, double *out)
{
    double *q = malloc(sizeof(double) * nq * n), *k = malloc(sizeof(double) * nk * n);
    double *v = malloc(sizeof(double) * nk * n), *wv = malloc(sizeof(double) * nq * n);
    double *p = malloc(sizeof(double) * nk);
    assert_true(q && k && v && wv && p);
    ref_linear(nq, n, n, x, &w->q_w, w->q_b, q);
    ref_linear(nk, n, n, xa, &w->k_w, NULL, k);
    ref_linear(nk, n, n, xa, &w->v_w, w->v_b, v);
    int dh = n / n_head;
    double scale = pow((double)dh, -0.25);
    for (int h = 0; h < n_head; h++)
        for (int i = 0; i < nq; i++) {
            double mx = -INFINITY;
            for (int j = 0; j < nk; j++) {
                double s = 0;
                for (int c = 0; c < dh; c++)
                    s += (q[(size_t)i * n + h * dh + c] * scale) *
                         (k[(size_t)j * n + h * dh + c] * scale);
                if (causal && j > i)
                    s = -INFINITY;
                p[j] = s;
                if (s > mx)
                    mx = s;
            }
            double sum = 0;
            for (int j = 0; j < nk; j++) {
                p[j] = exp(p[j] - mx);
                sum += p[j];
            }
            for (int c = 0; c < dh; c++) {
                double acc = 0;
                for (int j = 0; j < nk; j++)
                    acc += p[j] / sum * v[(size_t)j * n + h * dh + c];
                wv[(size_t)i * n + h * dh + c] = acc;
            }
        }
    ref_linear(nq, n, n, wv, &w->o_w, w->o_b, out);
    free(q);
    free(k);
    free(v);
    free(wv);
    free(p);
}

static void ref_block(const struct auris__block *b, int n, int n_head, int rows, double *x,
                      const double *xa, int n_xa, int causal)
{
    size_t rn = (size_t)rows * n;
    double *t = malloc(sizeof(double) * rn), *o = malloc(sizeof(double) * rn);
    double *h = malloc(sizeof(double) * rn * 4);
    assert_true(t && o && h);
    ref_ln(rows, n, x, b->attn.ln_w, b->attn.ln_b, t);
    ref_mha(&b->attn, n, n_head, rows, t, rows, t, causal, o);
    for (size_t i = 0; i < rn; i++)
        x[i] += o[i];
    if (xa) {
        ref_ln(rows, n, x, b->cross.ln_w, b->cross.ln_b, t);
        ref_mha(&b->cross, n, n_head, rows, t, n_xa, xa, 0, o);
        for (size_t i = 0; i < rn; i++)
            x[i] += o[i];
    }
    ref_ln(rows, n, x, b->mlp_ln_w, b->mlp_ln_b, t);
    ref_linear(rows, n, 4 * n, t, &b->mlp0_w, b->mlp0_b, h);
    for (size_t i = 0; i < rn * 4; i++)
        h[i] = ref_gelu(h[i]);
    ref_linear(rows, 4 * n, n, h, &b->mlp2_w, b->mlp2_b, o);
    for (size_t i = 0; i < rn; i++)
        x[i] += o[i];
    free(t);
    free(o);
    free(h);
}

/* Conv1d(k=3, padding=1, stride) on x [cin][tin] -> y [cout][tout] */
static void ref_conv(const struct auris__tensor *W, const float *b, int cin, int cout,
                     const double *x, int tin, int stride, double *y, int tout)
{
    for (int o = 0; o < cout; o++)
        for (int t = 0; t < tout; t++) {
            double s = b[o];
            for (int c = 0; c < cin; c++)
                for (int k = 0; k < 3; k++) {
                    int p = t * stride + k - 1;
                    if (p >= 0 && p < tin)
                        s += w_at(W, ((size_t)o * cin + c) * 3 + k) * x[(size_t)c * tin + p];
                }
            y[(size_t)o * tout + t] = s;
        }
}

/* AudioEncoder.forward: mel [n_mels][2T] -> out [T][n] */
static void ref_encoder(const auris_model *m, const float *mel, double *out)
{
    const struct auris_model_dims *d = &m->dims;
    int T = d->n_audio_ctx, n = d->n_audio_state, C = d->n_mels;
    double *xm = malloc(sizeof(double) * C * 2 * T), *h1 = malloc(sizeof(double) * n * 2 * T);
    double *h2 = malloc(sizeof(double) * n * T);
    assert_true(xm && h1 && h2);
    for (int i = 0; i < C * 2 * T; i++)
        xm[i] = mel[i];
    ref_conv(&m->conv1_w, m->conv1_b, C, n, xm, 2 * T, 1, h1, 2 * T);
    for (int i = 0; i < n * 2 * T; i++)
        h1[i] = ref_gelu(h1[i]);
    ref_conv(&m->conv2_w, m->conv2_b, n, n, h1, 2 * T, 2, h2, T);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < n; c++)
            out[(size_t)t * n + c] = ref_gelu(h2[(size_t)c * T + t]) + m->enc_pos[(size_t)t * n + c];
    for (int l = 0; l < d->n_audio_layer; l++)
        ref_block(&m->enc[l], n, d->n_audio_head, T, out, NULL, 0, 0);
    ref_ln(T, n, out, m->enc_ln_w, m->enc_ln_b, out);
    free(xm);
    free(h1);
    free(h2);
}

/* TextDecoder.forward without cache: logits [S][n_vocab] */
static void ref_decoder(const auris_model *m, const double *xa, const int *tok, int S,
                        double *logits)
{
    const struct auris_model_dims *d = &m->dims;
    int n = d->n_text_state;
    double *x = malloc(sizeof(double) * S * n), *y = malloc(sizeof(double) * S * n);
    assert_true(x && y);
    for (int i = 0; i < S; i++)
        for (int c = 0; c < n; c++)
            x[(size_t)i * n + c] =
                w_at(&m->tok_emb, (size_t)tok[i] * n + c) + m->dec_pos[(size_t)i * n + c];
    for (int l = 0; l < d->n_text_layer; l++)
        ref_block(&m->dec[l], n, d->n_text_head, S, x, xa, d->n_audio_ctx, 1);
    ref_ln(S, n, x, m->dec_ln_w, m->dec_ln_b, y);
    ref_linear(S, n, d->n_vocab, y, &m->tok_emb, NULL, logits);
    free(x);
    free(y);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void expect_close_d(const float *got, const double *want, size_t count, double tol,
                           const char *what)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        double e = fabs(got[i] - want[i]) / (1.0 + fabs(want[i]));
        if (!(e <= worst)) {
            worst = e;
            at = i;
        }
    }
    if (!(worst <= tol))
        fail_msg("%s: error %g at %zu (got %g want %g)", what, worst, at, got[at], want[at]);
}

static void expect_close_f(const float *got, const float *want, size_t count, double tol,
                           const char *what)
{
    for (size_t i = 0; i < count; i++)
        if (!(fabs(got[i] - want[i]) <= tol * (1.0 + fabs(want[i]))))
            fail_msg("%s: %g vs %g at %zu", what, got[i], want[i], i);
}

static void run_forward(int f16, int n_threads)
{
    struct fixture *f = make_model(f16);
    const auris_model *m = &f->model;
    const struct auris_model_dims *d = &m->dims;
    int T = d->n_audio_ctx, n = d->n_audio_state, V = d->n_vocab;
    float *mel = vec(f, (size_t)d->n_mels * 2 * T, 0.0f, 1.0f);
    double *enc_ref = track(f, sizeof(double) * T * n);
    ref_encoder(m, mel, enc_ref);

    struct auris__nn_state st;
    struct auris_error err = {0};
    assert_int_equal(auris__nn_state_init(&st, m, n_threads, &err), AURIS_OK);
    assert_int_equal(auris__encode(&st, mel), AURIS_OK);
    expect_close_d(st.enc_x, enc_ref, (size_t)T * n, 1e-4, "encoder output");

    /* all tokens at once, every row, vs the reference */
    enum { S = 80 }; /* crosses an attention query block */
    int tok[S], rows[S];
    for (int i = 0; i < S; i++) {
        tok[i] = (i * 31 + 7) % V;
        rows[i] = i;
    }
    double *want = track(f, sizeof(double) * S * V);
    ref_decoder(m, enc_ref, tok, S, want);
    float *all = track(f, sizeof(float) * S * V), *step = track(f, sizeof(float) * S * V);
    assert_int_equal(auris__decode(&st, tok, S, rows, S, all), AURIS_OK);
    assert_int_equal(st.n_past, S);
    expect_close_d(all, want, (size_t)S * V, 1e-4, "batched logits");

    /* the KV cache: one token at a time, then chunks, give the same logits */
    auris__decoder_reset(&st);
    for (int i = 0; i < S; i++) {
        int r0 = 0;
        assert_int_equal(auris__decode(&st, tok + i, 1, &r0, 1, step + (size_t)i * V), AURIS_OK);
    }
    expect_close_f(step, all, (size_t)S * V, 1e-4, "token-by-token logits");
    auris__decoder_reset(&st);
    int pos = 0, chunk[] = {3, 1, 5, 71};
    for (size_t c = 0; c < AURIS_ARRAY_LEN(chunk); c++) {
        int sel[2] = {chunk[c] - 1, 0}; /* last row first, like the decoder's [last, sot] */
        float out[2 * 73];
        assert_int_equal(auris__decode(&st, tok + pos, chunk[c], rows, 0, NULL), AURIS_OK);
        /* rewind this chunk and redo it asking for rows */
        st.n_past -= chunk[c];
        assert_int_equal(auris__decode(&st, tok + pos, chunk[c], sel, 2, out), AURIS_OK);
        expect_close_f(out, all + (size_t)(pos + chunk[c] - 1) * V, (size_t)V, 1e-4, "chunk last");
        expect_close_f(out + V, all + (size_t)pos * V, (size_t)V, 1e-4, "chunk first");
        pos += chunk[c];
    }
    assert_int_equal(pos, S);

    /* refused: past the context, bad ids, bad rows */
    int ten[10] = {0}, bad = V, r_bad = 1;
    assert_int_equal(auris__decode(&st, ten, 10, NULL, 0, NULL), AURIS_OK);
    assert_int_equal(auris__decode(&st, ten, 1, NULL, 0, NULL), AURIS_ERR_INVALID_ARG);
    auris__decoder_reset(&st);
    assert_int_equal(auris__decode(&st, &bad, 1, NULL, 0, NULL), AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__decode(&st, ten, 1, &r_bad, 1, all), AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__decode(&st, ten, 0, NULL, 0, NULL), AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__encode(&st, NULL), AURIS_ERR_INVALID_ARG);
    assert_int_equal(st.n_past, 0);

    /* encode resets the cache and is repeatable */
    assert_int_equal(auris__decode(&st, tok, 4, NULL, 0, NULL), AURIS_OK);
    assert_int_equal(auris__encode(&st, mel), AURIS_OK);
    assert_int_equal(st.n_past, 0);
    expect_close_d(st.enc_x, enc_ref, (size_t)T * n, 1e-4, "encoder output again");

    auris__nn_state_free(&st);
    auris__nn_state_free(&st); /* idempotent */
    free_model(f);
}

static void test_forward_f32_1thread(void **s)
{
    (void)s;
    run_forward(0, 1);
}

static void test_forward_f32_2threads(void **s)
{
    (void)s;
    run_forward(0, 2);
}

static void test_forward_f16_2threads(void **s)
{
    (void)s;
    run_forward(1, 2);
}

static void test_forward_generic_isa(void **s)
{
    (void)s;
    assert_int_equal(auris__kernels_force("generic"), 0);
    run_forward(1, 2);
    assert_int_equal(auris__kernels_force(NULL), 0);
}

static void test_bad_dims(void **s)
{
    (void)s;
    struct fixture *f = make_model(0);
    struct auris__nn_state st;
    struct auris_error err = {0};
    f->model.dims.n_text_state = 48; /* != n_audio_state */
    assert_int_equal(auris__nn_state_init(&st, &f->model, 1, &err), AURIS_ERR_UNSUPPORTED);
    f->model.dims.n_text_state = 40;
    f->model.dims.n_audio_head = 3; /* 40 % 3 != 0 */
    assert_int_equal(auris__nn_state_init(&st, &f->model, 1, &err), AURIS_ERR_UNSUPPORTED);
    assert_int_equal(auris__nn_state_init(&st, NULL, 1, &err), AURIS_ERR_INVALID_ARG);
    auris__nn_state_free(NULL);
    free_model(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_dims),
        cmocka_unit_test(test_forward_f32_1thread),
        cmocka_unit_test(test_forward_f32_2threads),
        cmocka_unit_test(test_forward_f16_2threads),
        cmocka_unit_test(test_forward_generic_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
