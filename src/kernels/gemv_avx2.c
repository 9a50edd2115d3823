/*
 * gemv_avx2.c — AVX2+FMA+F16C streaming products for 1 to 16 rows (the decoder's steps).
 *
 * Reference: the usual memory-bound GEMV — B is streamed once, converted on the fly — extended
 * to a few rows as CTranslate2 / whisper.cpp batch their beams: for every group of four B rows
 * the rows are converted once per slice of GV_KC columns into an L1 buffer and every row of A
 * (two at a time) runs over that buffer, so beam 5 reads each weight from memory once per step
 * and converts it once instead of once per row pair. Per output the arithmetic is one 8-lane
 * FMA chain over k in ascending order (partial accumulators carried across slices), the
 * groups' four sums reduced together (hsum4) and single tail columns alone (hsum), then the
 * scalar k tail: exactly what one row alone computes, so rows are bit-identical whatever M.
 * nn (B [K][N], attention weights times values, f32 or f16 values) keeps blocks of up to six
 * rows x 16 columns in registers, reading each B row segment once per row block.
 * Invariants: compiled with -mavx2 -mfma -mf16c and reached only after gemm.c's CPU check;
 * no allocation (the slice buffer is on the stack); M <= AURIS__GEMV_MAX_M for nt.
 */
#include "kernels/gemv_impl.h"

#if defined(AURIS_HAVE_X86)
#include <immintrin.h>

#define GV_KC 256          /* columns of a group's four B rows converted per slice (4 KB) */
#define GV_MAX_M 16        /* rows of A per nt call (a decoder batch) */

/* The same reduction trees as the GEMM's one-row GEMV (gemm_avx2.c): a single accumulator
 * ((l+h) pairs), four accumulators reduced together. */
static inline float gv_hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m128 gv_hsum4(__m256 a, __m256 b, __m256 c, __m256 d)
{
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

static inline __m256 bf16x8(const uint16_t *p)
{
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

#define LOAD8_F32(p) _mm256_loadu_ps(p)
#define LOAD1_F32(p) (*(p))
#define LOAD8_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LOAD1_F16(p) _cvtsh_ss(*(p))
#define LOAD8_BF16(p) bf16x8(p)
#define LOAD1_BF16(p) auris__bf16_to_f32(*(p))

/* Stores row m's four group sums (plus the k tail, bias, acc) to C[m][n..n+4). */
#define GV_STORE4(rr, a, m, LOAD1)                                                                 \
    do {                                                                                      \
        for (int k = K8; k < K; k++) {                                                        \
            rr[0] += (a)[k] * LOAD1(b0 + k);                                                  \
            rr[1] += (a)[k] * LOAD1(b1 + k);                                                  \
            rr[2] += (a)[k] * LOAD1(b2 + k);                                                  \
            rr[3] += (a)[k] * LOAD1(b3 + k);                                                  \
        }                                                                                     \
        float *c = C + (size_t)(m) * ldc;                                                     \
        for (int i = 0; i < 4; i++) {                                                         \
            float v = rr[i] + (bias ? bias[n + i] : 0.0f);                                    \
            c[n + i] = acc ? c[n + i] + v : v;                                                \
        }                                                                                     \
    } while (0)

#define DEFINE_NT(NAME, T, LOAD8, LOAD1)                                                       \
    static void NAME(int M, int n0, int n1, int K, const float *A, int lda, const T *B,       \
                     int ldb, const float *bias, float *C, int ldc, int acc)                  \
    {                                                                                         \
        const int K8 = K & ~7;                                                                \
        _Alignas(32) float buf[4 * GV_KC];                                                    \
        __m256 s[GV_MAX_M][4];                                                                \
        int n = n0;                                                                           \
        for (; n + 4 <= n1; n += 4) {                                                         \
            const T *b0 = B + (size_t)n * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb; \
            /* the next groups are a contiguous block; pull one line of it per 8 k */       \
            const char *pf = (const char *)(b0 + (size_t)8 * ldb);                            \
            if (M == 1) {                                                                     \
                __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();                   \
                __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();                   \
                for (int k = 0; k < K8; k += 8) {                                             \
                    _mm_prefetch(pf + (size_t)k * 4 * sizeof(T), _MM_HINT_T0);                \
                    if (sizeof(T) == 4)                                                       \
                        _mm_prefetch(pf + (size_t)k * 16 + 64, _MM_HINT_T0);                  \
                    __m256 av = _mm256_loadu_ps(A + k);                                       \
                    s0 = _mm256_fmadd_ps(av, LOAD8(b0 + k), s0);                              \
                    s1 = _mm256_fmadd_ps(av, LOAD8(b1 + k), s1);                              \
                    s2 = _mm256_fmadd_ps(av, LOAD8(b2 + k), s2);                              \
                    s3 = _mm256_fmadd_ps(av, LOAD8(b3 + k), s3);                              \
                }                                                                             \
                float r[4];                                                                   \
                _mm_storeu_ps(r, gv_hsum4(s0, s1, s2, s3));                                   \
                GV_STORE4(r, A, 0, LOAD1);                                                       \
                continue;                                                                     \
            }                                                                                 \
            for (int m = 0; m < M; m++)                                                       \
                s[m][0] = s[m][1] = s[m][2] = s[m][3] = _mm256_setzero_ps();                  \
            for (int k0 = 0; k0 < K8; k0 += GV_KC) {                                          \
                const int kc = K8 - k0 < GV_KC ? K8 - k0 : GV_KC;                             \
                for (int k = 0; k < kc; k += 8) { /* B read and converted once */           \
                    _mm_prefetch(pf + (size_t)(k0 + k) * 4 * sizeof(T), _MM_HINT_T0);         \
                    if (sizeof(T) == 4)                                                       \
                        _mm_prefetch(pf + (size_t)(k0 + k) * 16 + 64, _MM_HINT_T0);           \
                    _mm256_store_ps(buf + k, LOAD8(b0 + k0 + k));                             \
                    _mm256_store_ps(buf + GV_KC + k, LOAD8(b1 + k0 + k));                     \
                    _mm256_store_ps(buf + 2 * GV_KC + k, LOAD8(b2 + k0 + k));                 \
                    _mm256_store_ps(buf + 3 * GV_KC + k, LOAD8(b3 + k0 + k));                 \
                }                                                                             \
                int m = 0;                                                                    \
                for (; m + 2 <= M; m += 2) {                                                  \
                    const float *a = A + (size_t)m * lda + k0, *a2 = a + lda;                 \
                    __m256 s0 = s[m][0], s1 = s[m][1], s2 = s[m][2], s3 = s[m][3];            \
                    __m256 t0 = s[m + 1][0], t1 = s[m + 1][1];                                \
                    __m256 t2 = s[m + 1][2], t3 = s[m + 1][3];                                \
                    for (int k = 0; k < kc; k += 8) {                                         \
                        __m256 v0 = _mm256_load_ps(buf + k);                                  \
                        __m256 v1 = _mm256_load_ps(buf + GV_KC + k);                          \
                        __m256 v2 = _mm256_load_ps(buf + 2 * GV_KC + k);                      \
                        __m256 v3 = _mm256_load_ps(buf + 3 * GV_KC + k);                      \
                        __m256 av = _mm256_loadu_ps(a + k), aw = _mm256_loadu_ps(a2 + k);     \
                        s0 = _mm256_fmadd_ps(av, v0, s0);                                     \
                        s1 = _mm256_fmadd_ps(av, v1, s1);                                     \
                        s2 = _mm256_fmadd_ps(av, v2, s2);                                     \
                        s3 = _mm256_fmadd_ps(av, v3, s3);                                     \
                        t0 = _mm256_fmadd_ps(aw, v0, t0);                                     \
                        t1 = _mm256_fmadd_ps(aw, v1, t1);                                     \
                        t2 = _mm256_fmadd_ps(aw, v2, t2);                                     \
                        t3 = _mm256_fmadd_ps(aw, v3, t3);                                     \
                    }                                                                         \
                    s[m][0] = s0, s[m][1] = s1, s[m][2] = s2, s[m][3] = s3;                   \
                    s[m + 1][0] = t0, s[m + 1][1] = t1, s[m + 1][2] = t2, s[m + 1][3] = t3;   \
                }                                                                             \
                if (m < M) {                                                                  \
                    const float *a = A + (size_t)m * lda + k0;                                \
                    __m256 s0 = s[m][0], s1 = s[m][1], s2 = s[m][2], s3 = s[m][3];            \
                    for (int k = 0; k < kc; k += 8) {                                         \
                        __m256 av = _mm256_loadu_ps(a + k);                                   \
                        s0 = _mm256_fmadd_ps(av, _mm256_load_ps(buf + k), s0);                \
                        s1 = _mm256_fmadd_ps(av, _mm256_load_ps(buf + GV_KC + k), s1);        \
                        s2 = _mm256_fmadd_ps(av, _mm256_load_ps(buf + 2 * GV_KC + k), s2);    \
                        s3 = _mm256_fmadd_ps(av, _mm256_load_ps(buf + 3 * GV_KC + k), s3);    \
                    }                                                                         \
                    s[m][0] = s0, s[m][1] = s1, s[m][2] = s2, s[m][3] = s3;                   \
                }                                                                             \
            }                                                                                 \
            for (int m = 0; m < M; m++) {                                                     \
                float r[4];                                                                   \
                _mm_storeu_ps(r, gv_hsum4(s[m][0], s[m][1], s[m][2], s[m][3]));               \
                GV_STORE4(r, A + (size_t)m * lda, m, LOAD1);                                      \
            }                                                                                 \
        }                                                                                     \
        for (; n < n1; n++) { /* single tail columns: B row in L1 after the first A row */  \
            const T *b0 = B + (size_t)n * ldb;                                                \
            for (int m = 0; m < M; m++) {                                                     \
                const float *a = A + (size_t)m * lda;                                         \
                __m256 s0 = _mm256_setzero_ps();                                              \
                for (int k = 0; k < K8; k += 8)                                               \
                    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), LOAD8(b0 + k), s0);          \
                float v = gv_hsum(s0);                                                        \
                for (int k = K8; k < K; k++)                                                  \
                    v += a[k] * LOAD1(b0 + k);                                                \
                v += bias ? bias[n] : 0.0f;                                                   \
                float *c = C + (size_t)m * ldc + n;                                           \
                *c = acc ? *c + v : v;                                                        \
            }                                                                                 \
        }                                                                                     \
    }

DEFINE_NT(nt_f32, float, LOAD8_F32, LOAD1_F32)
DEFINE_NT(nt_f16, uint16_t, LOAD8_F16, LOAD1_F16)
DEFINE_NT(nt_bf16, uint16_t, LOAD8_BF16, LOAD1_BF16)

static int nt_avx2(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
                   enum auris__dtype bt, int ldb, const float *bias, float *C, int ldc, int acc)
{
    if (M < 1 || M > GV_MAX_M)
        return 0;
    switch (bt) {
    case AURIS_DT_F32:
        nt_f32(M, n0, n1, K, A, lda, B, ldb, bias, C, ldc, acc);
        return 1;
    case AURIS_DT_F16:
        nt_f16(M, n0, n1, K, A, lda, B, ldb, bias, C, ldc, acc);
        return 1;
    case AURIS_DT_BF16:
        nt_bf16(M, n0, n1, K, A, lda, B, ldb, bias, C, ldc, acc);
        return 1;
    default:
        return 0;
    }
}

/* ---- nn: C[m][j] = sum_k A[m][k] B[k][j], blocks of MC rows x 16 columns in registers ---- */

#define DEFINE_NN(NAME, T, LOAD8, LOAD1, MC)                                                   \
    static void NAME(int n0, int n1, int K, const float *A, int lda, const void *Bv, int ldb, \
                     float *C, int ldc, int acc)                                              \
    {                                                                                         \
        const T *B = Bv;                                                                      \
        int j = n0;                                                                           \
        for (; j + 16 <= n1; j += 16) {                                                       \
            __m256 s[MC][2];                                                                  \
            _Pragma("GCC unroll 8") for (int i = 0; i < MC; i++) s[i][0] = s[i][1] =          \
                _mm256_setzero_ps();                                                          \
            for (int k = 0; k < K; k++) {                                                     \
                const T *b = B + (size_t)k * ldb + j;                                         \
                __m256 v0 = LOAD8(b), v1 = LOAD8(b + 8);                                      \
                _Pragma("GCC unroll 8") for (int i = 0; i < MC; i++)                          \
                {                                                                             \
                    __m256 a = _mm256_broadcast_ss(A + (size_t)i * lda + k);                  \
                    s[i][0] = _mm256_fmadd_ps(a, v0, s[i][0]);                                \
                    s[i][1] = _mm256_fmadd_ps(a, v1, s[i][1]);                                \
                }                                                                             \
            }                                                                                 \
            _Pragma("GCC unroll 8") for (int i = 0; i < MC; i++)                              \
            {                                                                                 \
                float *c = C + (size_t)i * ldc + j;                                           \
                if (acc) {                                                                    \
                    s[i][0] = _mm256_add_ps(s[i][0], _mm256_loadu_ps(c));                     \
                    s[i][1] = _mm256_add_ps(s[i][1], _mm256_loadu_ps(c + 8));                 \
                }                                                                             \
                _mm256_storeu_ps(c, s[i][0]);                                                 \
                _mm256_storeu_ps(c + 8, s[i][1]);                                             \
            }                                                                                 \
        }                                                                                     \
        for (; j + 8 <= n1; j += 8)                                                           \
            for (int i = 0; i < MC; i++) {                                                    \
                __m256 s0 = _mm256_setzero_ps();                                              \
                for (int k = 0; k < K; k++)                                                   \
                    s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(A + (size_t)i * lda + k),        \
                                         LOAD8(B + (size_t)k * ldb + j), s0);                 \
                float *c = C + (size_t)i * ldc + j;                                           \
                if (acc)                                                                      \
                    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(c));                               \
                _mm256_storeu_ps(c, s0);                                                      \
            }                                                                                 \
        for (; j < n1; j++)                                                                   \
            for (int i = 0; i < MC; i++) {                                                    \
                float sum = 0.0f;                                                             \
                for (int k = 0; k < K; k++)                                                   \
                    sum += A[(size_t)i * lda + k] * LOAD1(B + (size_t)k * ldb + j);           \
                float *c = C + (size_t)i * ldc + j;                                           \
                *c = acc ? *c + sum : sum;                                                    \
            }                                                                                 \
    }

DEFINE_NN(nn_f32_6, float, LOAD8_F32, LOAD1_F32, 6)
DEFINE_NN(nn_f32_4, float, LOAD8_F32, LOAD1_F32, 4)
DEFINE_NN(nn_f32_2, float, LOAD8_F32, LOAD1_F32, 2)
DEFINE_NN(nn_f32_1, float, LOAD8_F32, LOAD1_F32, 1)
DEFINE_NN(nn_f16_6, uint16_t, LOAD8_F16, LOAD1_F16, 6)
DEFINE_NN(nn_f16_4, uint16_t, LOAD8_F16, LOAD1_F16, 4)
DEFINE_NN(nn_f16_2, uint16_t, LOAD8_F16, LOAD1_F16, 2)
DEFINE_NN(nn_f16_1, uint16_t, LOAD8_F16, LOAD1_F16, 1)

typedef void (*nn_fn)(int, int, int, const float *, int, const void *, int, float *, int, int);

static int nn_avx2(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
                   enum auris__dtype bt, int ldb, float *C, int ldc, int acc)
{
    nn_fn f6, f4, f2, f1;
    if (bt == AURIS_DT_F32) {
        f6 = nn_f32_6, f4 = nn_f32_4, f2 = nn_f32_2, f1 = nn_f32_1;
    } else if (bt == AURIS_DT_F16) {
        f6 = nn_f16_6, f4 = nn_f16_4, f2 = nn_f16_2, f1 = nn_f16_1;
    } else {
        return 0;
    }
    int m = 0;
    while (m < M) {
        int left = M - m, mc = left >= 6 ? 6 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        nn_fn f = mc == 6 ? f6 : mc == 4 ? f4 : mc == 2 ? f2 : f1;
        f(n0, n1, K, A + (size_t)m * lda, lda, B, ldb, C + (size_t)m * ldc, ldc, acc);
        m += mc;
    }
    return 1;
}

static void to_f16_avx2(const float *src, uint16_t *dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        dst[i] = auris__f32_to_f16(src[i]);
}

const struct auris__gemv_ops auris__gemv_avx2 = {"avx2", nt_avx2, nn_avx2, to_f16_avx2};

#endif /* AURIS_HAVE_X86 */
