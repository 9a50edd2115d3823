/*
 * gemv_avx2.c — AVX2+FMA+F16C streaming products for 1 to 16 rows (the decoder's steps).
 *
 * Reference: the usual memory-bound GEMV — B is streamed once, converted on the fly — extended
 * to a few rows as CTranslate2 / whisper.cpp batch their beams: for every group of four B rows,
 * blocks of up to six rows of A (sizes as even as possible) run over the group two B rows at a
 * time (a block of two rows: all four at once) with all the sums in registers, B converted as
 * the FMAs consume it (so the memory stream overlaps the arithmetic instead of alternating
 * with it) and read from memory once for all rows (a second row block finds it in L1). Per
 * output the arithmetic is one 8-lane FMA chain over k in ascending order, the groups' four
 * sums reduced together (hsum4) and single tail columns alone (hsum), then the scalar k tail:
 * exactly what one row alone computes, so rows are bit-identical whatever M.
 * nn (B [K][N], attention weights times values, f32 or f16 values) keeps blocks of one to six
 * rows x 16 columns (64 for one row, 32 for two) in registers, reading each B row segment once
 * per row block, so up to six rows (a beam) read the values once.
 * Invariants: compiled with -mavx2 -mfma -mf16c and reached only after gemm.c's CPU check;
 * no allocation; M <= GV_MAX_M for nt. Prefetches only read ahead (never fault, never change
 * a result).
 */
#include "kernels/gemv_impl.h"

#if defined(AURIS_HAVE_X86)
#include "kernels/simd_avx2.h"

#define GV_MAX_M 16        /* rows of A per nt call (a decoder batch) */

/* Keeps a loaded A vector in a register: without it GCC folds the load into each of the
 * vector's FMAs, and the row blocks become bound by L1 loads (two per FMA pair) instead of by
 * the FMAs (about 1.2x slower from L1 or L3 at 4 to 16 rows). An empty asm: no instruction. */
#define GV_KEEP(v) __asm__("" : "+x"(v))

/* While all four B rows of a group are read per 8 k (one row or a 2-row block): one line of
 * the dense block two groups ahead per 8 k (f32 rows are twice as long: two lines). pf NULL:
 * nothing (strided rows were prefetched whole). */
#define GV_PREFETCH4(pf, k, T)                                                                 \
    do {                                                                                      \
        if (pf) {                                                                             \
            _mm_prefetch((pf) + (size_t)(k) * 4 * sizeof(T), _MM_HINT_T0);                    \
            if (sizeof(T) == 4)                                                               \
                _mm_prefetch((pf) + (size_t)(k) * 16 + 64, _MM_HINT_T0);                      \
        }                                                                                     \
    } while (0)

/* The same reduction trees as the GEMM's one-row GEMV (gemm_avx2.c): a single accumulator by
 * simd_avx2.h's hsum_f32, four accumulators reduced together here. */
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

/* Stores row m's four group sums h (plus the k tail, bias, acc) to C[m][n..n+4); without a k
 * tail as one vector, with the same float additions (sum + bias or + 0, then C + that). */
#define GV_STORE4(h, a, m, LOAD1)                                                             \
    do {                                                                                      \
        float *c = C + (size_t)(m) * ldc;                                                     \
        if (K8 == K) {                                                                        \
            __m128 v = _mm_add_ps((h), bias ? _mm_loadu_ps(bias + n) : _mm_setzero_ps());     \
            if (acc)                                                                          \
                v = _mm_add_ps(_mm_loadu_ps(c + n), v);                                       \
            _mm_storeu_ps(c + n, v);                                                          \
            break;                                                                            \
        }                                                                                     \
        float rr[4];                                                                          \
        _mm_storeu_ps(rr, (h));                                                               \
        for (int k = K8; k < K; k++) {                                                        \
            rr[0] += (a)[k] * LOAD1(b0 + k);                                                  \
            rr[1] += (a)[k] * LOAD1(b1 + k);                                                  \
            rr[2] += (a)[k] * LOAD1(b2 + k);                                                  \
            rr[3] += (a)[k] * LOAD1(b3 + k);                                                  \
        }                                                                                     \
        for (int i = 0; i < 4; i++) {                                                         \
            float v = rr[i] + (bias ? bias[n + i] : 0.0f);                                    \
            c[n + i] = acc ? c[n + i] + v : v;                                                \
        }                                                                                     \
    } while (0)

/* R rows of A (1..6) against one group's four B rows, two B rows at a time: sums[r][c] = the
 * 8-lane FMA chain of A row r and B row c over k < K8 (ascending, from zero). B is loaded and
 * converted as the FMAs consume it (2 B vectors, R A vectors, 2R FMAs per 8 k: 2R + 3 of the 16
 * registers), so the memory stream is spread over all the arithmetic; pf (when not NULL) is the
 * block two groups ahead, one prefetch per 8 k covering it. */
#define DEFINE_NT_ROWS(NAME, T, LOAD8, R)                                                      \
    static inline void NAME(int K8, const float *A, int lda, const T *b0, const T *b1,          \
                            const T *b2, const T *b3, const char *pf, __m256 (*sums)[4])        \
    {                                                                                           \
        for (int p = 0; p < 2; p++) {                                                           \
            const T *x = p ? b2 : b0, *y = p ? b3 : b1;                                         \
            __m256 s[R][2];                                                                     \
            _Pragma("GCC unroll 6") for (int r = 0; r < R; r++) s[r][0] = s[r][1] =             \
                _mm256_setzero_ps();                                                            \
            for (int k = 0; k < K8; k += 8) {                                                   \
                if (pf)                                                                         \
                    _mm_prefetch(pf + ((size_t)p * K8 + k) * 2 * sizeof(T), _MM_HINT_T0);       \
                __m256 u = LOAD8(x + k), v = LOAD8(y + k);                                      \
                _Pragma("GCC unroll 6") for (int r = 0; r < R; r++)                             \
                {                                                                               \
                    __m256 a = _mm256_loadu_ps(A + (size_t)r * lda + k);                        \
                    GV_KEEP(a);                                                                 \
                    s[r][0] = _mm256_fmadd_ps(a, u, s[r][0]);                                   \
                    s[r][1] = _mm256_fmadd_ps(a, v, s[r][1]);                                   \
                }                                                                               \
            }                                                                                   \
            _Pragma("GCC unroll 6") for (int r = 0; r < R; r++)                                 \
            {                                                                                   \
                sums[r][2 * p] = s[r][0];                                                       \
                sums[r][2 * p + 1] = s[r][1];                                                   \
            }                                                                                   \
        }                                                                                       \
    }

/* Two rows of A against all four B rows of the group at once: 8 independent FMA chains (the
 * 2 x 2 blocking has 4, and waits on FMA latency), the same chain per output as above. */
#define DEFINE_NT_ROWS2(NAME, T, LOAD8)                                                        \
    static inline void NAME(int K8, const float *A, int lda, const T *b0, const T *b1,          \
                            const T *b2, const T *b3, const char *pf, __m256 (*sums)[4])        \
    {                                                                                           \
        __m256 s[2][4];                                                                         \
        _Pragma("GCC unroll 2") for (int r = 0; r < 2; r++) s[r][0] = s[r][1] = s[r][2] =       \
            s[r][3] = _mm256_setzero_ps();                                                      \
        for (int k = 0; k < K8; k += 8) {                                                       \
            GV_PREFETCH4(pf, k, T);                                                             \
            __m256 u0 = LOAD8(b0 + k), u1 = LOAD8(b1 + k), u2 = LOAD8(b2 + k),                  \
                   u3 = LOAD8(b3 + k);                                                          \
            _Pragma("GCC unroll 2") for (int r = 0; r < 2; r++)                                 \
            {                                                                                   \
                __m256 a = _mm256_loadu_ps(A + (size_t)r * lda + k);                            \
                GV_KEEP(a);                                                                     \
                s[r][0] = _mm256_fmadd_ps(a, u0, s[r][0]);                                      \
                s[r][1] = _mm256_fmadd_ps(a, u1, s[r][1]);                                      \
                s[r][2] = _mm256_fmadd_ps(a, u2, s[r][2]);                                      \
                s[r][3] = _mm256_fmadd_ps(a, u3, s[r][3]);                                      \
            }                                                                                   \
        }                                                                                       \
        _Pragma("GCC unroll 2") for (int r = 0; r < 2; r++)                                     \
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) sums[r][c] = s[r][c];           \
    }

#define DEFINE_NT(NAME, T, LOAD8, LOAD1)                                                       \
    DEFINE_NT_ROWS(NAME##_r1, T, LOAD8, 1)                                                     \
    DEFINE_NT_ROWS2(NAME##_r2, T, LOAD8)                                                       \
    DEFINE_NT_ROWS(NAME##_r3, T, LOAD8, 3)                                                     \
    DEFINE_NT_ROWS(NAME##_r4, T, LOAD8, 4)                                                     \
    DEFINE_NT_ROWS(NAME##_r5, T, LOAD8, 5)                                                     \
    DEFINE_NT_ROWS(NAME##_r6, T, LOAD8, 6)                                                     \
    static void NAME(int M, int n0, int n1, int K, const float *A, int lda, const T *B,       \
                     int ldb, const float *bias, float *C, int ldc, int acc)                  \
    {                                                                                         \
        const int K8 = K & ~7;                                                                \
        __m256 s[GV_MAX_M][4];                                                                \
        int n = n0;                                                                           \
        for (; n + 4 <= n1; n += 4) {                                                         \
            const T *b0 = B + (size_t)n * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb; \
            /* dense rows: the next groups are a contiguous block, pull one line of it per  \
             * 8 k; short strided rows (an attention head's keys): all of group +2 now */    \
            const char *pf = (const char *)(b0 + (size_t)8 * ldb);                            \
            if (ldb != K) {                                                                   \
                for (int r = 0; r < 4 && K * (int)sizeof(T) <= 512; r++)                      \
                    for (int o = 0; o < K * (int)sizeof(T); o += 64)                          \
                        _mm_prefetch(pf + (size_t)r * ldb * sizeof(T) + o, _MM_HINT_T0);      \
                pf = NULL;                                                                    \
            }                                                                                 \
            if (M == 1) {                                                                     \
                __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();                   \
                __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();                   \
                for (int k = 0; k < K8; k += 8) {                                             \
                    GV_PREFETCH4(pf, k, T);                                                   \
                    __m256 av = _mm256_loadu_ps(A + k);                                       \
                    s0 = _mm256_fmadd_ps(av, LOAD8(b0 + k), s0);                              \
                    s1 = _mm256_fmadd_ps(av, LOAD8(b1 + k), s1);                              \
                    s2 = _mm256_fmadd_ps(av, LOAD8(b2 + k), s2);                              \
                    s3 = _mm256_fmadd_ps(av, LOAD8(b3 + k), s3);                              \
                }                                                                             \
                GV_STORE4(gv_hsum4(s0, s1, s2, s3), A, 0, LOAD1);                             \
                continue;                                                                     \
            }                                                                                 \
            /* blocks of up to six rows, as even as possible (8 = 4 + 4, not 6 + 2: a block  \
             * of two waits on FMA latency); later blocks find the group's B rows in L1 */    \
            for (int m0 = 0, take; m0 < M; m0 += take) {                                      \
                const float *a = A + (size_t)m0 * lda;                                        \
                const char *p = m0 ? NULL : pf;                                               \
                int nblk = (M - m0 + 5) / 6;                                                  \
                take = (M - m0 + nblk - 1) / nblk;                                            \
                switch (take) {                                                               \
                case 1: NAME##_r1(K8, a, lda, b0, b1, b2, b3, p, s + m0); break;              \
                case 2: NAME##_r2(K8, a, lda, b0, b1, b2, b3, p, s + m0); break;              \
                case 3: NAME##_r3(K8, a, lda, b0, b1, b2, b3, p, s + m0); break;              \
                case 4: NAME##_r4(K8, a, lda, b0, b1, b2, b3, p, s + m0); break;              \
                case 5: NAME##_r5(K8, a, lda, b0, b1, b2, b3, p, s + m0); break;              \
                default: NAME##_r6(K8, a, lda, b0, b1, b2, b3, p, s + m0); break;             \
                }                                                                             \
            }                                                                                 \
            for (int m = 0; m < M; m++)                                                       \
                GV_STORE4(gv_hsum4(s[m][0], s[m][1], s[m][2], s[m][3]), A + (size_t)m * lda,  \
                          m, LOAD1);                                                          \
        }                                                                                     \
        for (; n < n1; n++) { /* single tail columns: B row in L1 after the first A row */  \
            const T *b0 = B + (size_t)n * ldb;                                                \
            for (int m = 0; m < M; m++) {                                                     \
                const float *a = A + (size_t)m * lda;                                         \
                __m256 s0 = _mm256_setzero_ps();                                              \
                for (int k = 0; k < K8; k += 8)                                               \
                    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), LOAD8(b0 + k), s0);          \
                float v = hsum_f32(s0);                                                        \
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

/* ---- nn: C[m][j] = sum_k A[m][k] B[k][j], blocks of MC rows x NC columns in registers ---- */

/* Every output is one FMA chain over k ascending (columns of the 8-wide blocks) or a scalar sum
 * (the last n1-n0 mod 8 columns), whatever MC and NC: so any row split gives the same bits.
 * acc 1 adds C to the finished chain; acc 2 starts the chain from C (a product over K split
 * into consecutive pieces then has the bits of one call over all of K). */
#define DEFINE_NN(NAME, T, LOAD8, LOAD1, MC, NC)                                               \
    static void NAME(int n0, int n1, int K, const float *A, int lda, const void *Bv, int ldb, \
                     float *C, int ldc, int acc)                                              \
    {                                                                                         \
        const T *B = Bv;                                                                      \
        int j = n0;                                                                           \
        for (; j + NC <= n1; j += NC) {                                                       \
            __m256 s[MC][NC / 8];                                                             \
            _Pragma("GCC unroll 8") for (int i = 0; i < MC; i++)                              \
                _Pragma("GCC unroll 8") for (int c = 0; c < NC / 8; c++) s[i][c] =            \
                    acc == 2 ? _mm256_loadu_ps(C + (size_t)i * ldc + j + 8 * c)               \
                             : _mm256_setzero_ps();                                           \
            /* the first block pulls row k + 8 of the whole [n0, n1) range (strided rows) */ \
            const int pf_all = (n1 - n0) * (int)sizeof(T);                                  \
            const int pf_len = j == n0 && pf_all <= 512 ? pf_all : 0;                         \
            for (int k = 0; k < K; k++) {                                                     \
                const T *b = B + (size_t)k * ldb + j;                                         \
                for (int o = 0; o < pf_len; o += 64)                                          \
                    _mm_prefetch((const char *)(b + (size_t)8 * ldb) + o, _MM_HINT_T0);       \
                __m256 v[NC / 8];                                                             \
                _Pragma("GCC unroll 8") for (int c = 0; c < NC / 8; c++) v[c] = LOAD8(b + 8 * c); \
                _Pragma("GCC unroll 8") for (int i = 0; i < MC; i++)                          \
                {                                                                             \
                    __m256 a = _mm256_broadcast_ss(A + (size_t)i * lda + k);                  \
                    _Pragma("GCC unroll 8") for (int c = 0; c < NC / 8; c++) s[i][c] =        \
                        _mm256_fmadd_ps(a, v[c], s[i][c]);                                    \
                }                                                                             \
            }                                                                                 \
            _Pragma("GCC unroll 8") for (int i = 0; i < MC; i++)                              \
                _Pragma("GCC unroll 8") for (int c = 0; c < NC / 8; c++)                      \
            {                                                                                 \
                float *cp = C + (size_t)i * ldc + j + 8 * c;                                  \
                if (acc == 1)                                                                 \
                    s[i][c] = _mm256_add_ps(s[i][c], _mm256_loadu_ps(cp));                    \
                _mm256_storeu_ps(cp, s[i][c]);                                                \
            }                                                                                 \
        }                                                                                     \
        for (; j + 8 <= n1; j += 8)                                                           \
            for (int i = 0; i < MC; i++) {                                                    \
                float *c = C + (size_t)i * ldc + j;                                           \
                __m256 s0 = acc == 2 ? _mm256_loadu_ps(c) : _mm256_setzero_ps();              \
                for (int k = 0; k < K; k++)                                                   \
                    s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(A + (size_t)i * lda + k),        \
                                         LOAD8(B + (size_t)k * ldb + j), s0);                 \
                if (acc == 1)                                                                 \
                    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(c));                               \
                _mm256_storeu_ps(c, s0);                                                      \
            }                                                                                 \
        for (; j < n1; j++)                                                                   \
            for (int i = 0; i < MC; i++) {                                                    \
                float *c = C + (size_t)i * ldc + j;                                           \
                float sum = acc == 2 ? *c : 0.0f;                                             \
                for (int k = 0; k < K; k++)                                                   \
                    sum += A[(size_t)i * lda + k] * LOAD1(B + (size_t)k * ldb + j);           \
                *c = acc == 1 ? *c + sum : sum;                                               \
            }                                                                                 \
    }

/* one to six rows at once, so a beam's (<= 6 rows) values are read once; 1 and 2 rows take
 * wider column blocks (a whole 64-wide head for one row) for enough independent chains */
#define DEFINE_NN_SET(P, T, LOAD8, LOAD1)                                                      \
    DEFINE_NN(P##_1, T, LOAD8, LOAD1, 1, 64)                                                   \
    DEFINE_NN(P##_2, T, LOAD8, LOAD1, 2, 32)                                                   \
    DEFINE_NN(P##_3, T, LOAD8, LOAD1, 3, 16)                                                   \
    DEFINE_NN(P##_4, T, LOAD8, LOAD1, 4, 16)                                                   \
    DEFINE_NN(P##_5, T, LOAD8, LOAD1, 5, 16)                                                   \
    DEFINE_NN(P##_6, T, LOAD8, LOAD1, 6, 16)

DEFINE_NN_SET(nn_f32, float, LOAD8_F32, LOAD1_F32)
DEFINE_NN_SET(nn_f16, uint16_t, LOAD8_F16, LOAD1_F16)

typedef void (*nn_fn)(int, int, int, const float *, int, const void *, int, float *, int, int);

static int nn_avx2(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
                   enum auris__dtype bt, int ldb, float *C, int ldc, int acc)
{
    static const nn_fn f32[6] = {nn_f32_1, nn_f32_2, nn_f32_3, nn_f32_4, nn_f32_5, nn_f32_6};
    static const nn_fn f16[6] = {nn_f16_1, nn_f16_2, nn_f16_3, nn_f16_4, nn_f16_5, nn_f16_6};
    const nn_fn *f;
    if (bt == AURIS_DT_F32)
        f = f32;
    else if (bt == AURIS_DT_F16)
        f = f16;
    else
        return 0;
    for (int m = 0; m < M; m += 6) {
        int mc = M - m < 6 ? M - m : 6;
        f[mc - 1](n0, n1, K, A + (size_t)m * lda, lda, B, ldb, C + (size_t)m * ldc, ldc, acc);
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
