/*
 * test_ct2.c — CTranslate2 models: the int8 products against their twins, and the model.bin
 * parser and loader on small files built here byte by byte (test_ct2.py covers whole models
 * written by tests/reference/ct2_model.py).
 *
 * int8: for every ISA this CPU has (forced with auris__kernels_force), auris__gemm_i8r pooled,
 * serial and NULL-pool must equal auris__gemm_i8r_ref bit for bit (integer sums are exact and
 * the float steps are the same), on awkward sizes (K % 16 != 0, 1..5 rows, edges of the row
 * blocks, strides wider than rows, row-range views), with bias and accumulation, in the exact
 * and the saturating (AURIS_INT8_COMPAT=saturate) modes; and, exact, stay within int8
 * quantization error of the f32 product. The parser must reject every truncation of a valid
 * file, and a set of corruptions, with AURIS_ERR_FORMAT/UNSUPPORTED and a message.
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

#include "kernels/int8_impl.h"
#include "kernels/kernels.h"
#include "isas.h"
#include "model/model.h"

static uint32_t rng = 777u;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

/* An int8 weight [rows][k] quantized as CTranslate2 does (scale = 127 / max|row|). */
struct i8w {
    int8_t *q;
    float *scale;
    float *deq; /* q / scale, [rows][k] */
    struct auris__i8r d;
};

static void make_i8w(struct i8w *w, int rows, int k)
{
    w->q = malloc((size_t)rows * k);
    w->scale = malloc((size_t)rows * sizeof(float));
    w->deq = malloc((size_t)rows * k * sizeof(float));
    assert_true(w->q && w->scale && w->deq);
    float *row = malloc((size_t)k * sizeof(float));
    for (int r = 0; r < rows; r++) {
        float amax = 0;
        for (int i = 0; i < k; i++) {
            row[i] = frand() * (r % 3 == 2 ? 0.01f : 1.0f);
            amax = fmaxf(amax, fabsf(row[i]));
        }
        w->scale[r] = 127.0f / amax;
        for (int i = 0; i < k; i++)
            w->q[(size_t)r * k + i] = (int8_t)lrintf(row[i] * w->scale[r]);
        auris__i8r_row_to_f32(&(struct auris__i8r){w->q, w->scale, rows, k}, r,
                              w->deq + (size_t)r * k);
    }
    free(row);
    w->d = (struct auris__i8r){w->q, w->scale, rows, k};
}

static void free_i8w(struct i8w *w)
{
    free(w->q);
    free(w->scale);
    free(w->deq);
}

static void case_i8(struct auris__pool *pool, int M, int N, int K, int pad, int bias, int acc,
                    int sat)
{
    const int lda = K + pad, ldc = N + 2 * pad;
    struct i8w w;
    make_i8w(&w, N + 3, K);
    /* a row-range view (rows 3..N+3) as the loader makes of fused QKV weights */
    struct auris__i8r view = {w.q + (size_t)3 * K, w.scale + 3, N, K};
    float *A = malloc((size_t)M * lda * sizeof(float));
    float *b = malloc((size_t)N * sizeof(float));
    float *want = malloc((size_t)M * ldc * sizeof(float));
    float *got = malloc((size_t)M * ldc * sizeof(float));
    float *f32 = malloc((size_t)M * N * sizeof(float));
    assert_true(A && b && want && got && f32);
    for (int i = 0; i < M * lda; i++)
        A[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
    if (M > 1)
        for (int k = 0; k < K; k++)
            A[(size_t)lda + k] = 0.0f; /* an all-zero row: scale 1 */
    for (int n = 0; n < N; n++)
        b[n] = frand();
    for (int i = 0; i < M * ldc; i++)
        want[i] = got[i] = (float)(i % 5);
    auris__gemm_i8r_ref(M, N, K, A, lda, &view, bias ? b : NULL, want, ldc);
    if (acc)
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++)
                want[(size_t)m * ldc + n] = (float)((m * ldc + n) % 5) + want[(size_t)m * ldc + n];
    auris__gemm_i8r(pool, M, N, K, A, lda, &view, bias ? b : NULL, got, ldc, acc, NULL);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++)
            if (memcmp(&got[(size_t)m * ldc + n], &want[(size_t)m * ldc + n], sizeof(float)))
                fail_msg("%s M%d N%d K%d acc%d: [%d][%d] %.9g != ref %.9g", auris__kernels_isa(), M,
                         N, K, acc, m, n, got[(size_t)m * ldc + n], want[(size_t)m * ldc + n]);
    /* close to the float product: int8 activations and weights carry ~1/254 each (the
     * saturating compatibility mode is not: that is the point of it) */
    for (int m = 0; m < M && !sat; m++)
        for (int n = 0; n < N; n++) {
            double s = bias ? b[n] : 0, mag = 0;
            for (int k = 0; k < K; k++) {
                s += (double)A[(size_t)m * lda + k] * w.deq[(size_t)(n + 3) * K + k];
                mag += fabs((double)A[(size_t)m * lda + k] * w.deq[(size_t)(n + 3) * K + k]);
            }
            double y = want[(size_t)m * ldc + n] - (acc ? (double)((m * ldc + n) % 5) : 0.0);
            if (fabs(y - s) > 0.02 * mag + 1e-5)
                fail_msg("M%d N%d K%d: [%d][%d] %g vs float %g", M, N, K, m, n, y, s);
        }
    free(A);
    free(b);
    free(want);
    free(got);
    free(f32);
    free_i8w(&w);
}

static void test_i8_twins(void **state)
{
    (void)state;
    static const int sizes[][3] = {{1, 1, 1},   {1, 7, 15},   {1, 70, 384}, {2, 33, 17},
                                   {3, 64, 64}, {4, 130, 48}, {5, 9, 100},  {97, 67, 40},
                                   {200, 300, 72}};
    struct auris__pool *pool = auris__pool_create(3);
    assert_non_null(pool);
    FOR_EACH_ISA(isa) {
        for (int sat = 0; sat < 2; sat++) {
            if (sat)
                setenv("AURIS_INT8_COMPAT", "saturate", 1);
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                for (int v = 0; v < 4; v++)
                    case_i8(v & 1 ? pool : NULL, sizes[s][0], sizes[s][1], sizes[s][2],
                            v & 2 ? 5 : 0, v != 1, v == 3, sat);
            unsetenv("AURIS_INT8_COMPAT");
        }
    }
    auris__kernels_force(NULL);
    auris__pool_free(pool);
}

/* The saturating mode really saturates: pairs of large products clip at 32767. */
static void test_i8_saturate(void **state)
{
    (void)state;
    int8_t a[4] = {127, 127, -128, 5}, w[4] = {127, 127, 127, -3};
    int32_t exact, sat;
    auris__i8_dot_generic(1, 1, 4, a, 4, w, 4, &exact, 1);
    auris__i8_dot_sat_generic(1, 1, 4, a, 4, w, 4, &sat, 1);
    assert_int_equal(exact, 127 * 127 * 2 - 128 * 127 - 15);
    /* pair 0: 255*127*2 = 64770 -> 32767; pair 1: 0*127 + 133*-3 = -399; minus 128*378 */
    assert_int_equal(sat, 32767 - 399 - 128 * (127 + 127 + 127 - 3));
}

typedef void (*i8_dot)(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                       size_t ldw, int32_t *C, size_t ldc);
#if defined(AURIS_TEST_VNNI_PROBE)
void auris__i8_dot_vnni_probe(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                              size_t ldw, int32_t *C, size_t ldc);
void auris__i8_dot_avxvnni_probe(int M, int N, int K, const int8_t *A, size_t lda,
                                 const int8_t *W, size_t ldw, int32_t *C, size_t ldc);
#endif

/* One dot kernel against the portable one at the ends of the int8 range: W with -128 and
 * +-127, A with +-127 (the quantizer's range) and random values, every row-tile shape (8, 4,
 * 2 and 1 rows and the rest), odd column counts and K tails. */
static void check_dot(const char *name, i8_dot dot)
{
    enum { MAXM = 19, MAXN = 5, MAXK = 200 };
    static int8_t A[MAXM * MAXK], W[MAXN * MAXK];
    int32_t want[MAXM * MAXN], got[MAXM * MAXN];
    static const int8_t wv[] = {-128, 127, -127, -128, 1, 0};
    static const int8_t av[] = {127, -127, -127, 127, 0, -1};
    for (int i = 0; i < MAXM * MAXK; i++)
        A[i] = i % 9 == 8 ? (int8_t)(frand() * 127.0f) : av[(i / 3) % 6];
    for (int i = 0; i < MAXN * MAXK; i++)
        W[i] = i % 7 == 6 ? (int8_t)(frand() * 127.0f) : wv[i % 6];
    static const int ks[] = {1, 32, 64, 65, 95, 128, 200};
    for (int M = 1; M <= MAXM; M++)
        for (int N = 1; N <= MAXN; N += 2)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                const int K = ks[ki];
                for (int i = 0; i < MAXM * MAXN; i++)
                    got[i] = want[i] = -7; /* a store missed, or one past N, shows */
                auris__i8_dot_generic(M, N, K, A, MAXK, W, MAXK, want, MAXN);
                dot(M, N, K, A, MAXK, W, MAXK, got, MAXN);
                for (int i = 0; i < MAXM * MAXN; i++)
                    if (got[i] != want[i])
                        fail_msg("%s M%d N%d K%d: [%d][%d] %d != %d", name, M, N, K, i / MAXN,
                                 i % MAXN, got[i], want[i]);
            }
    /* the largest pairs, 2 * 128 * 127 of either sign (the AVX2 sign trick must not saturate),
     * and sums at the K bound, where VNNI's offset sums wrap past 2^32 and come back */
    static int8_t a2[AURIS__I8_MAX_K], w2[AURIS__I8_MAX_K];
    static const struct {
        int8_t a0, a1, w;
        int K;
        int32_t want;
    } cases[] = {
        {127, 127, -128, 64, 64 * 127 * -128}, {-127, -127, -128, 64, 64 * 127 * 128},
        {127, -127, -128, 64, 0},               {127, 127, 127, AURIS__I8_MAX_K, 2114060288},
        {127, 127, -128, AURIS__I8_MAX_K, -2130706432},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int K = cases[t].K;
        for (int k = 0; k < K; k++) {
            a2[k] = k % 64 < 32 ? cases[t].a0 : cases[t].a1; /* pairs (k, k+1) share a sign */
            w2[k] = cases[t].w;
        }
        int32_t c = 0;
        dot(1, 1, K, a2, (size_t)K, w2, (size_t)K, &c, 1);
        if (c != cases[t].want)
            fail_msg("%s: extreme case %zu: %d != %d", name, t, c, cases[t].want);
    }
}

/* Every ISA dot kernel this machine can run, and the VNNI kernels' probe builds everywhere. */
static void test_i8_dot_extremes(void **state)
{
    (void)state;
    int ran = 0;
#if defined(AURIS_HAVE_X86)
    if (auris__kernels_force("avx2") == 0) {
        check_dot("avx2", auris__i8_dot_avx2);
        ran++;
    }
    auris__kernels_force(NULL);
    if (auris__cpu_has_avx512vnni()) {
        check_dot("avx512vnni", auris__i8_dot_avx512vnni);
        ran++;
    }
    if (auris__cpu_has_avxvnni()) {
        check_dot("avxvnni", auris__i8_dot_avxvnni);
        ran++;
    }
#endif
#if defined(AURIS_TEST_VNNI_PROBE)
    check_dot("avx512vnni probe", auris__i8_dot_vnni_probe);
    check_dot("avxvnni probe", auris__i8_dot_avxvnni_probe);
    ran += 2;
#endif
    if (!ran)
        skip();
}

/* The gemm_nt hook and the dtype helpers treat AURIS_DT_I8R as a descriptor. */
static void test_i8_hooks(void **state)
{
    (void)state;
    struct i8w w;
    make_i8w(&w, 20, 48);
    float A[3 * 48], y1[3 * 20], y2[3 * 20], deq[20 * 48];
    for (int i = 0; i < 3 * 48; i++)
        A[i] = frand();
    auris__gemm_nt(NULL, 3, 20, 48, A, 48, &w.d, AURIS_DT_I8R, 48, NULL, y1, 20);
    auris__gemm_i8r_ref(3, 20, 48, A, 48, &w.d, NULL, y2, 20);
    assert_memory_equal(y1, y2, sizeof y1);
    assert_false(auris__dtype_known(AURIS_DT_I8R));
    assert_int_equal(auris__dtype_bytes(AURIS_DT_I8R, 48), 0);
    auris__to_f32(AURIS_DT_I8R, &w.d, 20 * 48, deq);
    assert_memory_equal(deq, w.deq, sizeof deq);
    struct auris__tensor t = {AURIS_DT_I8R, &w.d, 2, {20, 48, 1}};
    float row[48];
    auris__row_to_f32(&t, 7, row);
    assert_memory_equal(row, w.deq + 7 * 48, sizeof row);
    /* K past the exact-int32 bound, or a descriptor of the wrong width: a no-op */
    y1[0] = 42.0f;
    auris__gemm_i8r(NULL, 1, 20, 47, A, 48, &w.d, NULL, y1, 20, 0, NULL);
    assert_true(y1[0] == 42.0f);
    free_i8w(&w);
}

/* ---- model.bin bytes -------------------------------------------------------------------- */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static void put_str(struct buf *b, const char *s)
{
    uint16_t n = (uint16_t)(strlen(s) + 1);
    uint8_t x[2] = {(uint8_t)n, (uint8_t)(n >> 8)};
    put(b, x, 2);
    put(b, s, n);
}

/* A variable of `rank` dims (shape[]), dtype id `dt`, with deterministic bytes. */
static void put_var(struct buf *b, const char *name, int rank, const uint32_t *shape, int dt)
{
    static const int isz[] = {4, 1, 2, 4, 2, 2};
    put_str(b, name);
    uint8_t r = (uint8_t)rank, d = (uint8_t)dt;
    put(b, &r, 1);
    uint32_t n = 1;
    for (int i = 0; i < rank; i++) {
        put_u32(b, shape[i]);
        n *= shape[i];
    }
    put(b, &d, 1);
    put_u32(b, n * (uint32_t)isz[dt]);
    for (uint32_t i = 0; i < n * (uint32_t)isz[dt]; i++) {
        uint8_t x = (uint8_t)(i * 7 + 1);
        put(b, &x, 1);
    }
}

/* A small valid container: three variables, a scalar, one alias. */
static struct buf sample(void)
{
    struct buf b = {0};
    put_u32(&b, 6);
    put_str(&b, "WhisperSpec");
    put_u32(&b, 3);
    put_u32(&b, 4);
    const uint32_t s2[] = {4, 8}, s1[] = {4};
    put_var(&b, "decoder/embeddings/weight", 2, s2, 1);
    put_var(&b, "decoder/embeddings/weight_scale", 1, s1, 0);
    put_var(&b, "decoder/num_heads", 0, NULL, 2);
    put_var(&b, "encoder/conv1/bias", 1, s1, 4);
    put_u32(&b, 1);
    put_str(&b, "decoder/projection/weight");
    put_str(&b, "decoder/embeddings/weight");
    return b;
}

static void test_parse_valid(void **state)
{
    (void)state;
    struct buf b = sample();
    struct auris__ct2_file f;
    struct auris_error err = {0};
    assert_true(auris__ct2_detect(b.p, b.n));
    assert_int_equal(auris__ct2_parse(b.p, b.n, &f, &err), AURIS_OK);
    assert_int_equal(f.version, 6);
    assert_string_equal(f.spec, "WhisperSpec");
    assert_int_equal(f.n_vars, 4);
    assert_int_equal(f.n_aliases, 1);
    const struct auris__ct2_var *e = auris__ct2_find(&f, "decoder/embeddings/weight");
    const struct auris__ct2_var *p = auris__ct2_find(&f, "decoder/projection/weight");
    assert_non_null(e);
    assert_non_null(p);
    assert_ptr_equal(p->data, e->data);
    assert_string_equal(p->alias_of, "decoder/embeddings/weight");
    assert_int_equal(e->rank, 2);
    assert_int_equal(e->shape[1], 8);
    assert_int_equal(e->dtype, 1);
    assert_null(auris__ct2_find(&f, "nothing"));
    auris__ct2_file_clear(&f);
    auris__ct2_file_clear(&f);
    auris__ct2_file_clear(NULL);
    free(b.p);
}

/* Every prefix of a valid file is an error with a message (run under ASan, exact-size copies). */
static void test_parse_truncated(void **state)
{
    (void)state;
    struct buf b = sample();
    for (size_t n = 0; n < b.n; n++) {
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, b.p, n);
        struct auris__ct2_file f;
        struct auris_error err = {0};
        enum auris_err rc = auris__ct2_parse(c, n, &f, &err);
        if (rc == AURIS_OK || !err.message[0])
            fail_msg("prefix of %zu bytes: rc %d '%s'", n, rc, err.message);
        struct auris__checkpoint ck;
        err.message[0] = '\0';
        rc = auris__load_ct2(c, n, NULL, &ck, &err);
        if (rc == AURIS_OK || !err.message[0])
            fail_msg("load of a %zu-byte prefix: rc %d '%s'", n, rc, err.message);
        free(c);
    }
    free(b.p);
}

/* Corruptions of single fields. */
static void test_parse_hostile(void **state)
{
    (void)state;
    struct buf b = sample();
    const size_t name0 = 4 + 2 + 12 + 4 + 4; /* first variable's name length */
    struct {
        size_t off;
        uint8_t val;
        const char *words;
    } cases[] = {
        {0, 7, "binary version"},                  /* version 7 */
        {0, 3, "binary version"},                  /* version 3 */
        {4 + 2 + 11, 'X', "NUL"},                  /* spec string without its NUL */
        {name0, 0, "variable name"},               /* name length 0 */
        {name0 + 2 + 26, 9, "rank"},               /* rank 9 */
        {name0 + 2 + 26 + 1 + 8, 6, "dtype"},      /* dtype id 6 */
        {name0 + 2 + 26 + 1 + 8 + 1, 33, "bytes"}, /* byte count 33 for 32 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *c = malloc(b.n);
        memcpy(c, b.p, b.n);
        c[cases[i].off] = cases[i].val;
        struct auris__ct2_file f;
        struct auris_error err = {0};
        enum auris_err rc = auris__ct2_parse(c, b.n, &f, &err);
        if (rc == AURIS_OK || !strstr(err.message, cases[i].words))
            fail_msg("case %zu: rc %d '%s' (want '%s')", i, rc, err.message, cases[i].words);
        free(c);
    }
    /* trailing bytes, a duplicate name, an alias shadowing a variable */
    struct buf t = sample();
    put(&t, "\0", 1);
    struct auris__ct2_file f;
    struct auris_error err = {0};
    assert_int_equal(auris__ct2_parse(t.p, t.n, &f, &err), AURIS_ERR_FORMAT);
    assert_non_null(strstr(err.message, "unexpected bytes"));
    free(t.p);
    struct buf d = {0};
    const uint32_t s1[] = {2};
    put_u32(&d, 6);
    put_str(&d, "WhisperSpec");
    put_u32(&d, 3);
    put_u32(&d, 2);
    put_var(&d, "a", 1, s1, 0);
    put_var(&d, "a", 1, s1, 0);
    put_u32(&d, 0);
    assert_int_equal(auris__ct2_parse(d.p, d.n, &f, &err), AURIS_ERR_FORMAT);
    assert_non_null(strstr(err.message, "twice"));
    d.n -= 4 + (2 + 2 + 1 + 4 + 1 + 4 + 8);
    d.p[4 + 2 + 12 + 4] = 1; /* one variable */
    put_u32(&d, 1);
    put_str(&d, "a");
    put_str(&d, "a");
    assert_int_equal(auris__ct2_parse(d.p, d.n, &f, &err), AURIS_ERR_FORMAT);
    assert_non_null(strstr(err.message, "shadows"));
    free(d.p);
    /* the loader: another spec, and a Whisper file missing its dimensions */
    struct buf o = {0};
    put_u32(&o, 6);
    put_str(&o, "TransformerSpec");
    put_u32(&o, 1);
    put_u32(&o, 0);
    put_u32(&o, 0);
    struct auris__checkpoint ck;
    assert_int_equal(auris__load_ct2(o.p, o.n, NULL, &ck, &err), AURIS_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "not Whisper"));
    free(o.p);
    assert_int_not_equal(auris__load_ct2(b.p, b.n, NULL, &ck, &err), AURIS_OK);
    assert_true(err.message[0] != '\0');
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_i8_twins),
        cmocka_unit_test(test_i8_hooks),
        cmocka_unit_test(test_i8_saturate),
        cmocka_unit_test(test_i8_dot_extremes),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
