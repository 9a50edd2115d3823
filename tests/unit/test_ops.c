/*
 * test_ops.c — the non-GEMM kernels (layer norm, GELU, bias + GELU, add, online softmax, im2col
 * rows), the GEMM's bias + GELU epilogue and flash attention, each ISA against its portable twin
 * and against double-precision references (flash attention against the score-matrix one).
 *
 * Every ISA this CPU supports is forced in turn (auris__kernels_force). Sizes cover the vector
 * tails (n % 8 != 0) and the GEMM's streaming (M <= 4) and blocked paths. Tolerances: GELU
 * absolute 6e-7 max(1, |x|) on every ISA and relative 1e-6 for x >= -2 on the vector ones (the
 * vector erf avoids 1 + erf's cancellation); im2col rows exact; the rest relative to magnitudes.
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

#include "kernels/kernels.h"
#include "isas.h"
#include "nn/ops.h"

static uint32_t rng_state = 4242u;
static float frand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

static float *rand_buf(size_t n, float scale, float offset)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale + offset;
    return p;
}

static double gelu_ref(double x)
{
    return 0.5 * x * erfc(-x / sqrt(2.0));
}

/* ---- layer norm --------------------------------------------------------------------------- */

static void layernorm_isa(const char *isa)
{
    static const int sizes[] = {1, 3, 7, 8, 9, 16, 17, 384, 390, 1280};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int n = sizes[s];
        float *x = rand_buf((size_t)n, 3.0f, 5.0f); /* an offset mean tests the centring */
        float *w = rand_buf((size_t)n, 1.0f, 0.0f), *b = rand_buf((size_t)n, 1.0f, 0.0f);
        float *y = malloc((size_t)(n + 1) * sizeof *y);
        assert_non_null(y);
        y[n] = 12345.0f; /* the tail must not write past n */
        auris__k_layernorm(n, x, y, w, b, 1e-5f);
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++)
            mean += x[i];
        mean /= n;
        for (int i = 0; i < n; i++)
            var += (x[i] - mean) * (x[i] - mean);
        var /= n;
        for (int i = 0; i < n; i++) {
            double want = (x[i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
            if (fabs(y[i] - want) > 2e-5)
                fail_msg("%s layernorm n=%d [%d]: %g vs %g", isa, n, i, y[i], want);
        }
        assert_true(y[n] == 12345.0f);
        auris__k_layernorm(n, x, x, w, b, 1e-5f); /* in place gives the same */
        for (int i = 0; i < n; i++)
            assert_true(x[i] == y[i]);
        free(x);
        free(w);
        free(b);
        free(y);
    }
}

static void test_layernorm(void **state)
{
    (void)state;
    assert_true(for_each_isa(layernorm_isa) >= 1);
}

/* ---- GELU --------------------------------------------------------------------------------- */

static void check_gelu(const char *isa, const float *in, const float *out, size_t n)
{
    int vector = strcmp(isa, "generic") != 0;
    for (size_t i = 0; i < n; i++) {
        double x = in[i], want = gelu_ref(x), err = fabs(out[i] - want);
        if (err > 6e-7 * fmax(1.0, fabs(x)))
            fail_msg("%s gelu(%.9g) = %.9g, want %.9g", isa, x, out[i], want);
        if (vector && x >= -2.0 && want != 0.0 && err / fabs(want) > 1e-6)
            fail_msg("%s gelu(%.9g) relative error %g", isa, x, err / fabs(want));
    }
}

static void gelu_isa(const char *isa)
{
    /* a dense grid over [-12, 12] (both polynomial pieces, the switch points, the tails) */
    size_t n = 480011;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++)
        x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
    x[0] = 0.0f;
    x[1] = -0.0f;
    x[2] = 1e-30f;
    x[3] = 0.921875f * 1.41421356f;
    x[4] = -0.921875f * 1.41421356f;
    x[5] = 4.0f * 1.41421356f;
    x[6] = 40.0f;
    x[7] = -40.0f;
    memcpy(y, x, n * sizeof *y);
    auris__k_gelu(y, n);
    check_gelu(isa, x, y, n);
    /* every tail length 1..8 */
    for (size_t len = 1; len <= 9; len++) {
        float t[10];
        for (size_t i = 0; i < 10; i++)
            t[i] = (float)i - 4.5f;
        auris__k_gelu(t, len);
        for (size_t i = 0; i < 10; i++) {
            float x0 = (float)i - 4.5f;
            if (i >= len)
                assert_true(t[i] == x0);
            else if (fabs(t[i] - gelu_ref(x0)) > 6e-7 * fmax(1.0, fabs(x0)))
                fail_msg("%s gelu tail len %zu [%zu]", isa, len, i);
        }
    }
    /* bias + GELU over a strided tile */
    int rows = 5, cols = 37, ldc = 41;
    float *c = rand_buf((size_t)rows * ldc, 4.0f, 0.0f), *bias = rand_buf((size_t)cols, 1.0f, 0.0f);
    float *c0 = malloc((size_t)rows * ldc * sizeof *c0);
    assert_non_null(c0);
    memcpy(c0, c, (size_t)rows * ldc * sizeof *c0);
    auris__k_bias_gelu(rows, cols, c, (size_t)ldc, bias);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < ldc; j++) {
            size_t k = (size_t)i * ldc + j;
            if (j >= cols) {
                assert_true(c[k] == c0[k]);
                continue;
            }
            double want = gelu_ref((double)(float)(c0[k] + bias[j]));
            if (fabs(c[k] - want) > 6e-7 * fmax(1.0, fabs(want)))
                fail_msg("%s bias_gelu [%d][%d]: %g vs %g", isa, i, j, c[k], want);
        }
    free(c);
    free(c0);
    free(bias);
    free(x);
    free(y);
}

static void test_gelu(void **state)
{
    (void)state;
    assert_true(for_each_isa(gelu_isa) >= 1);
}

/* ---- add, im2col rows --------------------------------------------------------------------- */

static void data_isa(const char *isa)
{
    (void)isa;
    for (int n = 1; n <= 40; n++) {
        float *x = rand_buf((size_t)n, 1.0f, 0.0f), *y = rand_buf((size_t)n, 1.0f, 0.0f);
        float *x0 = malloc((size_t)n * sizeof *x0);
        assert_non_null(x0);
        memcpy(x0, x, (size_t)n * sizeof *x0);
        auris__k_add(x, y, (size_t)n);
        for (int i = 0; i < n; i++)
            assert_true(x[i] == x0[i] + y[i]);
        free(x);
        free(y);
        free(x0);
    }
    /* time-major rows: every NULL pattern, lengths around the vector width */
    for (int n = 1; n <= 35; n += 3) {
        float *s[3] = {rand_buf((size_t)n, 1, 0), rand_buf((size_t)n, 1, 0), rand_buf((size_t)n, 1, 0)};
        float *d = malloc((size_t)(3 * n + 1) * sizeof *d);
        assert_non_null(d);
        for (int pat = 0; pat < 8; pat++) {
            const float *p[3];
            for (int k = 0; k < 3; k++)
                p[k] = (pat >> k) & 1 ? NULL : s[k];
            d[3 * n] = -7.0f;
            auris__k_interleave3(n, p[0], p[1], p[2], d);
            for (int i = 0; i < n; i++)
                for (int k = 0; k < 3; k++)
                    assert_true(d[3 * i + k] == (p[k] ? p[k][i] : 0.0f));
            assert_true(d[3 * n] == -7.0f);
        }
        for (int k = 0; k < 3; k++)
            free(s[k]);
        free(d);
    }
    /* channel-major rows: C channels of length T, every position including both ends */
    int T = 13;
    for (int C = 1; C <= 27; C += 2) {
        float *m = rand_buf((size_t)C * T, 1, 0), *d = malloc((size_t)3 * C * sizeof *d);
        assert_non_null(d);
        for (int t = 0; t < T; t++) {
            auris__k_unfold3(C, m + t, (size_t)T, t > 0, t < T - 1, d);
            for (int c = 0; c < C; c++)
                for (int k = 0; k < 3; k++) {
                    int p = t + k - 1;
                    float want = p >= 0 && p < T ? m[(size_t)c * T + p] : 0.0f;
                    assert_true(d[3 * c + k] == want);
                }
        }
        free(m);
        free(d);
    }
}

static void test_data_movement(void **state)
{
    (void)state;
    assert_true(for_each_isa(data_isa) >= 1);
}

/* ---- online softmax ----------------------------------------------------------------------- */

static void softmax_isa(const char *isa)
{
    static const int blocks[] = {1, 5, 8, 64, 100, 256, 1500};
    int len = 1500;
    float *s0 = rand_buf((size_t)len, 40.0f, 3.0f), *v = rand_buf((size_t)len, 1.0f, 0.0f);
    float *s = malloc((size_t)len * sizeof *s);
    assert_non_null(s);
    float scale = 0.125f;
    double mx = -INFINITY, sum = 0, dot = 0;
    for (int j = 0; j < len; j++)
        mx = fmax(mx, scale * (double)s0[j]);
    for (int j = 0; j < len; j++) {
        double e = exp(scale * (double)s0[j] - mx);
        sum += e;
        dot += e * v[j];
    }
    double want = dot / sum;
    for (size_t bi = 0; bi < sizeof blocks / sizeof *blocks; bi++) {
        int kb = blocks[bi];
        memcpy(s, s0, (size_t)len * sizeof *s);
        float m = -INFINITY, l = 0.0f;
        double acc = 0;
        for (int j0 = 0; j0 < len; j0 += kb) {
            int w = len - j0 < kb ? len - j0 : kb;
            float alpha = auris__k_softmax_block(s + j0, w, scale, &m, &l);
            if (j0 == 0)
                assert_true(alpha == 0.0f);
            acc *= alpha;
            for (int j = 0; j < w; j++)
                acc += (double)s[j0 + j] * v[j0 + j];
        }
        assert_true(fabs(m - mx) <= 1e-6 * fabs(mx));
        double got = acc / l;
        if (fabs(got - want) > 2e-6 * (fabs(want) + 1e-3))
            fail_msg("%s online softmax, blocks of %d: %.9g vs %.9g", isa, kb, got, want);
    }
    free(s0);
    free(s);
    free(v);
}

static void test_softmax_block(void **state)
{
    (void)state;
    assert_true(for_each_isa(softmax_isa) >= 1);
    float m = 1.0f, l = 2.0f;
    assert_true(auris__k_softmax_block(NULL, 0, 1.0f, &m, &l) == 1.0f);
    assert_true(m == 1.0f && l == 2.0f);
}

/* ---- the vocabulary's log-sum-exp --------------------------------------------------------- */

static double lse_ref(const float *x, int n)
{
    double mx = -INFINITY, s = 0.0;
    for (int i = 0; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY)
        return -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] != -INFINITY)
            s += exp((double)x[i] - mx);
    return mx + log(s);
}

static void lse_isa(const char *isa)
{
    /* vocabulary sizes (odd tails), logits of random-weight scale, suppressed (-inf) entries,
     * one dominant entry, and entries far below the maximum (exp underflows) */
    static const int ns[] = {1, 7, 8, 9, 100, 2049, 51865, 51866};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        int n = ns[t];
        float *x = rand_buf((size_t)n, 12.0f, 3.0f);
        for (int i = 0; i < n; i += 5)
            x[i] = -INFINITY;
        if (n > 100) {
            x[n / 2] = 80.0f;
            x[n / 3] = -200.0f;
        }
        x[n > 1 ? 1 : 0] = 0.5f; /* never all -inf */
        double want = lse_ref(x, n), got = auris__k_log_sum_exp(x, n);
        if (!(fabs(got - want) <= 1e-6 * (1.0 + fabs(want))))
            fail_msg("%s log_sum_exp n=%d: %.9g vs %.9g", isa, n, got, want);
        if (strcmp(isa, "generic") == 0 && got != want) /* the old double formula, exactly */
            fail_msg("generic log_sum_exp n=%d: %.17g vs %.17g", n, got, want);
        for (int i = 0; i < n; i++)
            x[i] = -INFINITY;
        assert_true(auris__k_log_sum_exp(x, n) == -INFINITY);
        if (n > 1) { /* a NaN among finite entries poisons the sum */
            x[0] = 0.5f;
            x[n - 1] = NAN;
            assert_true(isnan(auris__k_log_sum_exp(x, n)));
        }
        free(x);
    }
    assert_true(auris__k_log_sum_exp(NULL, 0) == -INFINITY);
}

static int argmax_ref(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static void argmax_isa(const char *isa)
{
    static const int ns[] = {1, 2, 7, 8, 9, 17, 1000, 51865};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        int n = ns[t];
        float *x = rand_buf((size_t)n, 5.0f, 0.0f);
        for (int v = 0; v < 6; v++) {
            if (v == 1) /* ties: the first of equal maxima */
                for (int i = n / 3; i < n; i += 7)
                    x[i] = 9.0f;
            if (v == 2 && n > 2)
                x[n - 1] = 20.0f; /* in the tail */
            if (v == 3)
                for (int i = 0; i < n; i += 3)
                    x[i] = NAN;
            if (v == 4)
                x[0] = NAN; /* the plain loop then keeps index 0 */
            if (v == 5)
                for (int i = 0; i < n; i++)
                    x[i] = i % 2 ? -0.0f : -INFINITY;
            int got = auris__k_argmax(x, n), want = argmax_ref(x, n);
            if (got != want)
                fail_msg("%s argmax n=%d variant %d: %d vs %d", isa, n, v, got, want);
        }
        free(x);
    }
    assert_int_equal(auris__k_argmax(NULL, 0), 0);
}

static void test_argmax(void **state)
{
    (void)state;
    assert_true(for_each_isa(argmax_isa) >= 1);
}

static void test_log_sum_exp(void **state)
{
    (void)state;
    assert_true(for_each_isa(lse_isa) >= 1);
}

/* ---- the GEMM epilogue -------------------------------------------------------------------- */

static struct auris__pool *g_pool;

static void gemm_gelu_isa(const char *isa)
{
    static const int shapes[][3] = {{1, 40, 24}, {3, 19, 33}, {4, 64, 7}, {5, 17, 9},
                                    {97, 300, 260}, {200, 33, 512}, {13, 1, 1}, {6, 16, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        int lda = K + 3, ldb = K + 1, ldc = N + 5;
        float *A = rand_buf((size_t)M * lda, 1, 0), *B = rand_buf((size_t)N * ldb, 1, 0);
        float *bias = rand_buf((size_t)N, 1, 0);
        float *want = malloc((size_t)M * N * sizeof *want), *C = malloc((size_t)M * ldc * sizeof *C);
        assert_non_null(want);
        assert_non_null(C);
        auris__gemm_nt_ref(M, N, K, A, lda, B, AURIS_DT_F32, ldb, bias, want, N);
        for (int pooled = 0; pooled < 2; pooled++) {
            for (size_t i = 0; i < (size_t)M * ldc; i++)
                C[i] = -99.0f;
            auris__gemm_nt_gelu(pooled ? g_pool : NULL, M, N, K, A, lda, B, AURIS_DT_F32, ldb,
                                bias, C, ldc);
            for (int m = 0; m < M; m++)
                for (int n = 0; n < ldc; n++) {
                    float got = C[(size_t)m * ldc + n];
                    if (n >= N) {
                        assert_true(got == -99.0f);
                        continue;
                    }
                    double w = gelu_ref(want[(size_t)m * N + n]);
                    double tol = 1e-5 * (sqrt((double)K) + 1.0);
                    if (fabs(got - w) > tol)
                        fail_msg("%s gemm_nt_gelu %dx%dx%d [%d][%d]: %g vs %g", isa, M, N, K, m,
                                 n, got, w);
                }
        }
        free(A);
        free(B);
        free(bias);
        free(want);
        free(C);
    }
}

static void test_gemm_gelu(void **state)
{
    (void)state;
    g_pool = auris__pool_create(2);
    assert_non_null(g_pool);
    assert_true(for_each_isa(gemm_gelu_isa) >= 1);
    auris__pool_free(g_pool);
    g_pool = NULL;
}

/* ---- flash attention against the score-matrix attention ----------------------------------- */

static void flash_isa(const char *isa)
{
    static const int shapes[][4] = {/* n_q, n_kv, n_head, d_head */
                                    {300, 300, 2, 64}, {75, 600, 3, 20}, {5, 257, 1, 8},
                                    {1, 1, 1, 4}};
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        int nq = shapes[c][0], nkv = shapes[c][1], nh = shapes[c][2], dh = shapes[c][3];
        int n = nh * dh, ld = n + 3;
        float *q = rand_buf((size_t)nq * ld, 4, 0), *k = rand_buf((size_t)nkv * ld, 4, 0);
        float *v = rand_buf((size_t)nkv * ld, 1, 0);
        float *o1 = calloc((size_t)nq * ld, sizeof *o1), *o2 = calloc((size_t)nq * ld, sizeof *o2);
        size_t s1 = (size_t)AURIS__ATT_QB * nkv, s2 = AURIS__FLASH_STRIDE;
        float *b1 = malloc(2 * s1 * sizeof *b1), *b2 = malloc(2 * s2 * sizeof *b2);
        assert_true(o1 && o2 && b1 && b2);
        struct auris__attention a = {0};
        a.q = q;
        a.k = k;
        a.v = v;
        a.ldq = a.ldk = a.ldv = a.ldo = ld;
        a.n_q = nq;
        a.n_kv = nkv;
        a.n_head = nh;
        a.d_head = dh;
        a.causal_past = -1;
        a.out = o1;
        a.s_buf = b1;
        a.s_stride = s1;
        auris__attention_run(g_pool, &a);
        a.out = o2;
        a.s_buf = b2;
        a.s_stride = s2;
        auris__flash_pack_floats(nkv, nh, dh, &a.v_pack_len, &a.k_pack_len);
        a.v_pack = auris__aligned_alloc(a.v_pack_len * sizeof(float));
        a.k_pack = auris__aligned_alloc(a.k_pack_len * sizeof(float));
        assert_true(a.v_pack && a.k_pack);
        for (size_t i = 0; i < (size_t)nq * ld; i++)
            o2[i] = NAN; /* flash must overwrite its output, never read it first */
        auris__attention_flash(g_pool, &a);
        for (int i = 0; i < nq; i++)
            for (int j = 0; j < n; j++) {
                float x = o1[(size_t)i * ld + j], y = o2[(size_t)i * ld + j];
                if (!(fabsf(x - y) <= 2e-5f))
                    fail_msg("%s flash attention %dx%d h%d d%d [%d][%d]: %g vs %g", isa, nq, nkv,
                             nh, dh, i, j, y, x);
            }
        /* the keys packed into the value input itself (as the encoder does): the same bits */
        {
            size_t vn = (size_t)nkv * ld, len = vn > a.k_pack_len ? vn : a.k_pack_len;
            float *o3 = malloc((size_t)nq * ld * sizeof *o3);
            float *v2 = auris__aligned_alloc(len * sizeof *v2);
            assert_true(o3 && v2);
            memcpy(v2, v, vn * sizeof *v2);
            float *kp = a.k_pack;
            a.v = v2;
            a.k_pack = v2;
            a.out = o3;
            auris__attention_flash(g_pool, &a);
            a.k_pack = kp;
            a.v = v;
            auris__aligned_free(v2);
            for (int i = 0; i < nq; i++)
                for (int j = 0; j < n; j++)
                    if (o3[(size_t)i * ld + j] != o2[(size_t)i * ld + j])
                        fail_msg("%s flash attention, keys packed over the values: [%d][%d]", isa,
                                 i, j);
            free(o3);
        }
        free(q);
        free(k);
        free(v);
        free(o1);
        free(o2);
        free(b1);
        free(b2);
        auris__aligned_free(a.v_pack);
        auris__aligned_free(a.k_pack);
    }
}

static void test_flash_attention(void **state)
{
    (void)state;
    g_pool = auris__pool_create(2);
    assert_non_null(g_pool);
    assert_true(for_each_isa(flash_isa) >= 1);
    auris__pool_free(g_pool);
    g_pool = NULL;
}

/* ---- head-major K/V (the decoder's cross-attention layout) --------------------------------- */

/* The same f16 keys and values, as column slices [n_kv][n] and head-major [n_head][n_kv][d],
 * batched over two slots (kv_index reversed): every output bit-identical. */
static void head_major_isa(const char *isa)
{
    const int nq = 1, nkv = 300, nh = 3, dh = 16, n = nh * dh, nb = 2;
    const size_t slot = (size_t)nkv * n; /* elements per batch slot, in both layouts */
    float *q = rand_buf((size_t)nb * nq * n, 2, 0);
    float *kf = rand_buf((size_t)nb * slot, 2, 0), *vf = rand_buf((size_t)nb * slot, 1, 0);
    uint16_t *kc = malloc(nb * slot * 2), *vc = malloc(nb * slot * 2);
    uint16_t *kh = malloc(nb * slot * 2), *vh = malloc(nb * slot * 2);
    float *o1 = calloc((size_t)nb * nq * n, sizeof *o1), *o2 = calloc((size_t)nb * nq * n, 4);
    size_t ss = (size_t)AURIS__ATT_QB * nkv;
    float *sb = malloc(2 * ss * sizeof *sb);
    assert_true(kc && vc && kh && vh && o1 && o2 && sb);
    auris__k_f32_to_f16(kf, kc, nb * slot);
    auris__k_f32_to_f16(vf, vc, nb * slot);
    for (int b = 0; b < nb; b++)
        for (int t = 0; t < nkv; t++)
            for (int h = 0; h < nh; h++)
                for (int c = 0; c < dh; c++) {
                    size_t from = b * slot + (size_t)t * n + (size_t)h * dh + c;
                    size_t to = b * slot + ((size_t)h * nkv + t) * dh + c;
                    kh[to] = kc[from];
                    vh[to] = vc[from];
                }
    static const int index[2] = {1, 0};
    struct auris__attention a = {0};
    a.q = q;
    a.k = kc;
    a.v = vc;
    a.ldq = a.ldk = a.ldv = a.ldo = n;
    a.n_q = nq;
    a.n_kv = nkv;
    a.n_head = nh;
    a.d_head = dh;
    a.causal_past = -1;
    a.s_buf = sb;
    a.s_stride = ss;
    a.n_batch = nb;
    a.kv_index = index;
    a.kv_bstride = slot;
    a.kv_type = AURIS_DT_F16;
    a.out = o1;
    auris__attention_run(g_pool, &a);
    a.k = kh;
    a.v = vh;
    a.ldk = a.ldv = dh;
    a.kv_hstride = (size_t)nkv * dh;
    a.out = o2;
    auris__attention_run(g_pool, &a);
    for (int i = 0; i < nb * nq * n; i++)
        if (memcmp(&o1[i], &o2[i], sizeof *o1) != 0)
            fail_msg("%s head-major attention [%d]: %g vs %g", isa, i, o2[i], o1[i]);
    /* one batch whose index is not 0 (the last live chunk of a VAD batch): it still attends
     * to its own slot, and gets batch 0's bits of the two-slot run */
    static const int one[1] = {1};
    a.n_batch = 1;
    a.kv_index = one;
    memset(o2, 0, (size_t)nb * nq * n * sizeof *o2);
    auris__attention_run(g_pool, &a);
    for (int i = 0; i < nq * n; i++)
        if (memcmp(&o1[i], &o2[i], sizeof *o1) != 0)
            fail_msg("%s single batch at slot 1 [%d]: %g vs %g", isa, i, o2[i], o1[i]);
    free(q);
    free(kf);
    free(vf);
    free(kc);
    free(vc);
    free(kh);
    free(vh);
    free(o1);
    free(o2);
    free(sb);
}

static void test_head_major_attention(void **state)
{
    (void)state;
    g_pool = auris__pool_create(2);
    assert_non_null(g_pool);
    assert_true(for_each_isa(head_major_isa) >= 1);
    auris__pool_free(g_pool);
    g_pool = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_data_movement),
        cmocka_unit_test(test_softmax_block),
        cmocka_unit_test(test_log_sum_exp),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_gemm_gelu),
        cmocka_unit_test(test_flash_attention),
        cmocka_unit_test(test_head_major_attention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
