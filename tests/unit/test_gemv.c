/*
 * test_gemv.c — the few-row streaming products (gemv.c twin, gemv_avx2.c) and the f16 store.
 *
 * For B in f32, f16 and bf16 (nt) and f32, f16 (nn): the AVX2 table against the portable twin
 * (relative to sum |a||b|, 2e-6), both against a double-precision reference, and on every
 * table each row of an M-row call bit-identical to the same row computed alone (what lets a
 * beam or batch decode exactly as one sequence). Sizes cross the 8-wide and 4-group tails, every
 * row-block height (1..6, and several blocks up to 16 rows) and the 16/32/64-column nn blocks.
 * nn's resume mode (acc 2) over K cut into pieces gives the bits of one call.
 * The f32 -> f16 store must give the same
 * bits on both tables (round to nearest even, subnormals, overflow to inf).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemv_impl.h"

static uint32_t rng = 777u;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

static uint16_t to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    return (uint16_t)(x >> 16);
}

/* B as stored (type bt) and as the f32 values it holds, [rows][cols] */
struct mat {
    void *raw;
    double *val;
};

static struct mat make_b(enum auris__dtype bt, size_t count)
{
    struct mat m = {malloc(count * 4 + 4), malloc(count * sizeof(double) + 8)};
    assert_non_null(m.raw);
    assert_non_null(m.val);
    for (size_t i = 0; i < count; i++) {
        float f = frand();
        if (bt == AURIS_DT_F16) {
            uint16_t h = auris__f32_to_f16(f);
            ((uint16_t *)m.raw)[i] = h;
            m.val[i] = auris__f16_to_f32(h);
        } else if (bt == AURIS_DT_BF16) {
            uint16_t h = to_bf16(f);
            ((uint16_t *)m.raw)[i] = h;
            m.val[i] = auris__bf16_to_f32(h);
        } else {
            ((float *)m.raw)[i] = f;
            m.val[i] = f;
        }
    }
    return m;
}

static float *rand_floats(size_t n)
{
    float *p = malloc(n * sizeof *p + 4);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

static const struct auris__gemv_ops *tables[2];
static int n_tables;

static int setup(void **state)
{
    (void)state;
    tables[0] = &auris__gemv_generic;
    n_tables = 1;
#if defined(AURIS_HAVE_X86)
    if (auris__kernels_force("avx2") == 0) /* the CPU has it */
        tables[n_tables++] = &auris__gemv_avx2;
    auris__kernels_force(NULL);
#endif
    return 0;
}

static void check_close(const char *what, float got, double want, double mag)
{
    if (fabs((double)got - want) > 2e-6 * (mag + 1e-3))
        fail_msg("%s: %.9g vs %.9g (magnitude %g)", what, (double)got, want, mag);
}

static void nt_case(enum auris__dtype bt, int M, int N, int K, int with_bias, int acc)
{
    int lda = K + 3, ldb = K + 5, ldc = N + 2;
    float *A = rand_floats((size_t)M * lda), *bias = rand_floats((size_t)N);
    struct mat B = make_b(bt, (size_t)N * ldb);
    float *C0 = rand_floats((size_t)M * ldc);
    float *C = malloc((size_t)M * ldc * sizeof *C), *C1 = malloc((size_t)ldc * sizeof *C1);
    float *first = malloc((size_t)M * ldc * sizeof *first);
    assert_non_null(C);
    assert_non_null(C1);
    assert_non_null(first);
    const float *bp = with_bias ? bias : NULL;
    for (int t = 0; t < n_tables; t++) {
        memcpy(C, C0, (size_t)M * ldc * sizeof *C);
        assert_int_equal(tables[t]->nt(M, 0, N, K, A, lda, B.raw, bt, ldb, bp, C, ldc, acc), 1);
        for (int m = 0; m < M; m++) {
            memcpy(C1, C0 + (size_t)m * ldc, (size_t)ldc * sizeof *C1);
            tables[t]->nt(1, 0, N, K, A + (size_t)m * lda, lda, B.raw, bt, ldb, bp, C1, ldc, acc);
            for (int n = 0; n < N; n++) {
                double want = acc ? C0[(size_t)m * ldc + n] : 0.0, mag = fabs(want);
                want += with_bias ? bias[n] : 0.0;
                for (int k = 0; k < K; k++) {
                    double p = (double)A[(size_t)m * lda + k] * B.val[(size_t)n * ldb + k];
                    want += p;
                    mag += fabs(p);
                }
                float got = C[(size_t)m * ldc + n];
                if (memcmp(&got, &C1[n], sizeof got) != 0)
                    fail_msg("%s nt bt=%d M=%d N=%d K=%d row %d col %d: %.9g batched, %.9g "
                             "alone", tables[t]->name, bt, M, N, K, m, n, (double)got,
                             (double)C1[n]);
                check_close(tables[t]->name, got, want, mag);
                if (t > 0) /* the twin, to the same tolerance */
                    check_close("twin", got, (double)first[(size_t)m * ldc + n], mag);
            }
        }
        if (t == 0)
            memcpy(first, C, (size_t)M * ldc * sizeof *C);
    }
    free(A);
    free(bias);
    free(B.raw);
    free(B.val);
    free(C0);
    free(C);
    free(C1);
    free(first);
}

static void test_nt(void **state)
{
    (void)state;
    static const enum auris__dtype types[] = {AURIS_DT_F32, AURIS_DT_F16, AURIS_DT_BF16};
    static const int Ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 16}, Ns[] = {1, 6, 37}, Ks[] = {8, 13, 64, 520};
    for (size_t t = 0; t < 3; t++)
        for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
            for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
                for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                    nt_case(types[t], Ms[a], Ns[b], Ks[c], (int)(c & 1), (int)(b & 1));
    /* a type the tables do not stream is refused untouched */
    float x = 1.0f;
    for (int t = 0; t < n_tables; t++)
        assert_int_equal(tables[t]->nt(1, 0, 1, 32, &x, 32, &x, AURIS_DT_Q8_0, 32, NULL, &x, 1,
                                       0), 0);
}

static void nn_case(enum auris__dtype bt, int M, int N, int K, int acc)
{
    int lda = K + 1, ldb = N + 3, ldc = N + 1;
    float *A = rand_floats((size_t)M * lda);
    struct mat B = make_b(bt, (size_t)K * ldb);
    float *C0 = rand_floats((size_t)M * ldc);
    float *C = malloc((size_t)M * ldc * sizeof *C), *C1 = malloc((size_t)ldc * sizeof *C1);
    float *first = malloc((size_t)M * ldc * sizeof *first);
    assert_non_null(C);
    assert_non_null(C1);
    assert_non_null(first);
    for (int t = 0; t < n_tables; t++) {
        memcpy(C, C0, (size_t)M * ldc * sizeof *C);
        assert_int_equal(tables[t]->nn(M, 0, N, K, A, lda, B.raw, bt, ldb, C, ldc, acc), 1);
        for (int m = 0; m < M; m++) {
            memcpy(C1, C0 + (size_t)m * ldc, (size_t)ldc * sizeof *C1);
            tables[t]->nn(1, 0, N, K, A + (size_t)m * lda, lda, B.raw, bt, ldb, C1, ldc, acc);
            for (int n = 0; n < N; n++) {
                double want = acc ? C0[(size_t)m * ldc + n] : 0.0, mag = fabs(want);
                for (int k = 0; k < K; k++) {
                    double p = (double)A[(size_t)m * lda + k] * B.val[(size_t)k * ldb + n];
                    want += p;
                    mag += fabs(p);
                }
                float got = C[(size_t)m * ldc + n];
                if (memcmp(&got, &C1[n], sizeof got) != 0)
                    fail_msg("%s nn bt=%d M=%d N=%d K=%d row %d col %d differs from alone",
                             tables[t]->name, bt, M, N, K, m, n);
                check_close(tables[t]->name, got, want, mag);
                if (t > 0)
                    check_close("twin", got, (double)first[(size_t)m * ldc + n], mag);
            }
        }
        if (t == 0)
            memcpy(first, C, (size_t)M * ldc * sizeof *C);
    }
    free(A);
    free(B.raw);
    free(B.val);
    free(C0);
    free(C);
    free(C1);
    free(first);
}

static void test_nn(void **state)
{
    (void)state;
    static const int Ms[] = {1, 2, 3, 4, 5, 6, 7, 12, 13}, Ns[] = {8, 16, 27, 64, 72, 100}, Ks[] = {1, 50, 300};
    for (int t = 0; t < 2; t++)
        for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
            for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
                for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                    nn_case(t ? AURIS_DT_F16 : AURIS_DT_F32, Ms[a], Ns[b], Ks[c], (int)(c & 1));
}

/* acc 2 (resume): K split into consecutive pieces, the first with acc 0 and the rest with 2,
 * gives each output the bits of one call over all of K (attention over a beam's keys kept in
 * several cache slots). Pieces of every length, including ones that end off a multiple of 8. */
static void test_nn_resume(void **state)
{
    (void)state;
    static const int Ms[] = {1, 2, 5, 6, 7}, Ns[] = {8, 27, 64}, cuts[][4] = {
        {4, 0}, {1, 0}, {8, 13, 0}, {3, 4, 9, 0}, {100, 0}};
    enum { K = 150 };
    for (int ty = 0; ty < 2; ty++)
        for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
            for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
                for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
                    enum auris__dtype bt = ty ? AURIS_DT_F16 : AURIS_DT_F32;
                    int M = Ms[a], N = Ns[b], lda = K + 3, ldb = N + 5, ldc = N + 2;
                    float *A = rand_floats((size_t)M * lda);
                    struct mat B = make_b(bt, (size_t)K * ldb);
                    float *one = rand_floats((size_t)M * ldc), *split = rand_floats((size_t)M * ldc);
                    size_t es = bt == AURIS_DT_F16 ? 2 : 4;
                    for (int t = 0; t < n_tables; t++) {
                        tables[t]->nn(M, 0, N, K, A, lda, B.raw, bt, ldb, one, ldc, 0);
                        int k0 = 0;
                        for (int p = 0; k0 < K; p++) {
                            int len = cuts[c][p] ? cuts[c][p] : K - k0;
                            len = len < K - k0 ? len : K - k0;
                            tables[t]->nn(M, 0, N, len, A + k0, lda,
                                          (const char *)B.raw + (size_t)k0 * ldb * es, bt, ldb,
                                          split, ldc, p ? 2 : 0);
                            k0 += len;
                        }
                        for (int m = 0; m < M; m++)
                            if (memcmp(one + (size_t)m * ldc, split + (size_t)m * ldc,
                                       (size_t)N * sizeof(float)) != 0)
                                fail_msg("%s nn resume bt=%d M=%d N=%d cuts %zu row %d differs",
                                         tables[t]->name, bt, M, N, c, m);
                    }
                    free(A);
                    free(B.raw);
                    free(B.val);
                    free(one);
                    free(split);
                }
}

static void test_to_f16(void **state)
{
    (void)state;
    enum { N = 4099 };
    float *src = malloc(N * sizeof *src);
    uint16_t *h0 = malloc(N * sizeof *h0), *h1 = malloc(N * sizeof *h1);
    assert_non_null(src);
    assert_non_null(h0);
    assert_non_null(h1);
    static const float special[] = {0.0f, -0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f, 1e6f,
                                    -1e6f, 6.1e-5f, 5.9e-8f, 3e-8f, 1e-9f, INFINITY, -INFINITY};
    for (int i = 0; i < N; i++) {
        float f = frand();
        src[i] = i < (int)(sizeof special / sizeof *special)
                     ? special[i]
                     : f * powf(2.0f, (float)(i % 48) - 30.0f); /* 2^-30 .. 2^17 */
    }
    auris__gemv_generic.to_f16(src, h0, N);
    for (int i = 0; i < N; i++) { /* within half an f16 ulp where representable */
        float back = auris__f16_to_f32(h0[i]);
        if (isfinite(back) && fabsf(src[i]) >= 6.2e-5f && fabsf(src[i]) < 65504.0f)
            assert_true(fabsf(back - src[i]) <= fabsf(src[i]) * 0x1p-11f);
    }
    for (int t = 1; t < n_tables; t++) {
        tables[t]->to_f16(src, h1, N);
        for (int i = 0; i < N; i++)
            if (h0[i] != h1[i])
                fail_msg("%s to_f16 of %.9g: %04x vs %04x", tables[t]->name, (double)src[i],
                         h1[i], h0[i]);
    }
    free(src);
    free(h0);
    free(h1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nt),
        cmocka_unit_test(test_nn),
        cmocka_unit_test(test_nn_resume),
        cmocka_unit_test(test_to_f16),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
