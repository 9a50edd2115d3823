/*
 * gemm_avx2.c — AVX2+FMA micro-kernel (4x24), F16C packing, and the q8_0 float GEMV fallback.
 *
 * Reference: BLIS's sgemm micro-kernel shapes for 16 ymm registers (12 accumulators: BLIS
 * haswell's 6x16, or 4x24 with three B loads and four broadcasts per k, which Zen 3 runs
 * faster); 8x8 in-register transposes for packing [N][K] weights into 24-wide (AVX2) or 16-wide
 * (the AVX-512 kernel's) panels.
 * B may be f32, f16 (F16C), bf16 (shift into the top half) or q8_0 (int8 widened, times the
 * block's scale; the q8_0 GEMV sums each block unscaled and applies d once).
 * Invariants: compiled with -mavx2 -mfma -mf16c (CMake does this for *_avx2.c) and only reached
 * after gemm.c's run-time check; packed panels are 64-byte aligned (aligned loads are safe).
 */
#include "kernels/gemm_impl.h"
#include "kernels/q8_impl.h"

#if defined(AURIS_HAVE_X86)
#include "kernels/simd_avx2.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

/* One row of the 4x24 kernel: three FMAs of a's broadcast element k against the B vectors. */
#define ROW3(ap, c0, c1, c2)                                                                  \
    do {                                                                                      \
        __m256 x = _mm256_broadcast_ss((ap) + k);                                             \
        c0 = _mm256_fmadd_ps(x, b0, c0);                                                      \
        c1 = _mm256_fmadd_ps(x, b1, c1);                                                      \
        c2 = _mm256_fmadd_ps(x, b2, c2);                                                      \
    } while (0)

/* The same for the first two B vectors (kernel_4x16_nr24). */
#define ROW2(ap, c0, c1)                                                                      \
    do {                                                                                      \
        __m256 x = _mm256_broadcast_ss((ap) + k);                                             \
        c0 = _mm256_fmadd_ps(x, b0, c0);                                                      \
        c1 = _mm256_fmadd_ps(x, b1, c1);                                                      \
    } while (0)

#define STORE_VEC(cr, r)                                                                      \
    do {                                                                                      \
        if (acc)                                                                              \
            r = _mm256_add_ps(r, _mm256_loadu_ps(cr));                                        \
        _mm256_storeu_ps(cr, r);                                                              \
    } while (0)

/* 4 rows x 24 columns (12 accumulators, three B loads and four broadcasts per k): on Zen 3 it
 * sustained about 79 GFLOP/s of a core's 91 in a cache-resident loop where 6x16 (two B loads, six
 * broadcasts for the same twelve FMAs) gave 57-71. A is read in place (four row streams):
 * packing it cost a strided scalar store per element. */
static void kernel_4x24(int kc, const float *restrict a, int lda, const float *restrict b,
                        float *restrict c, int ldc, int acc)
{
    const float *restrict a0p = a, *restrict a1p = a + lda, *restrict a2p = a + 2 * (size_t)lda;
    const float *restrict a3p = a + 3 * (size_t)lda;
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c02 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps(), c12 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c22 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c32 = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), b2 = _mm256_load_ps(b + 16);
        ROW3(a0p, c00, c01, c02);
        ROW3(a1p, c10, c11, c12);
        ROW3(a2p, c20, c21, c22);
        ROW3(a3p, c30, c31, c32);
        b += 24;
    }
    float *r0 = c, *r1 = c + ldc, *r2 = c + 2 * (size_t)ldc, *r3 = c + 3 * (size_t)ldc;
    STORE_VEC(r0, c00);
    STORE_VEC(r0 + 8, c01);
    STORE_VEC(r0 + 16, c02);
    STORE_VEC(r1, c10);
    STORE_VEC(r1 + 8, c11);
    STORE_VEC(r1 + 16, c12);
    STORE_VEC(r2, c20);
    STORE_VEC(r2 + 8, c21);
    STORE_VEC(r2 + 16, c22);
    STORE_VEC(r3, c30);
    STORE_VEC(r3 + 8, c31);
    STORE_VEC(r3 + 16, c32);
}

/* The first 16 or 8 columns of a 24-wide panel (a last panel of 16: an attention head's 64
 * values, a 256-key block; of 8: the last of 512 or 2048 columns), stored straight to C instead
 * of through the edge tile; per output the same FMA chain as kernel_4x24. The accumulators are
 * named scalars, not an array: gcc kept an array's copy on the stack and stored it every k (seven
 * stores per eight FMAs, a third of the 4x24 kernel's speed). */
static void kernel_4x16_nr24(int kc, const float *restrict a, int lda, const float *restrict b,
                             float *restrict c, int ldc, int acc)
{
    const float *restrict a0p = a, *restrict a1p = a + lda, *restrict a2p = a + 2 * (size_t)lda;
    const float *restrict a3p = a + 3 * (size_t)lda;
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        ROW2(a0p, c00, c01);
        ROW2(a1p, c10, c11);
        ROW2(a2p, c20, c21);
        ROW2(a3p, c30, c31);
        b += 24;
    }
    float *r0 = c, *r1 = c + ldc, *r2 = c + 2 * (size_t)ldc, *r3 = c + 3 * (size_t)ldc;
    STORE_VEC(r0, c00);
    STORE_VEC(r0 + 8, c01);
    STORE_VEC(r1, c10);
    STORE_VEC(r1 + 8, c11);
    STORE_VEC(r2, c20);
    STORE_VEC(r2 + 8, c21);
    STORE_VEC(r3, c30);
    STORE_VEC(r3 + 8, c31);
}

static void kernel_4x8_nr24(int kc, const float *restrict a, int lda, const float *restrict b,
                            float *restrict c, int ldc, int acc)
{
    const float *restrict a0p = a, *restrict a1p = a + lda, *restrict a2p = a + 2 * (size_t)lda;
    const float *restrict a3p = a + 3 * (size_t)lda;
    __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
    __m256 c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b);
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0p + k), b0, c0);
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1p + k), b0, c1);
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a2p + k), b0, c2);
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3p + k), b0, c3);
        b += 24;
    }
    STORE_VEC(c, c0);
    STORE_VEC(c + ldc, c1);
    STORE_VEC(c + 2 * (size_t)ldc, c2);
    STORE_VEC(c + 3 * (size_t)ldc, c3);
}
#undef ROW3
#undef ROW2
#undef STORE_VEC

static inline void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

static inline __m256 bf16x8(const uint16_t *p)
{
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

static inline float q8_scale(const uint8_t *blk)
{
    uint16_t h;
    memcpy(&h, blk, sizeof h);
    return _cvtsh_ss(h);
}

/* 8 int8 at p as floats (unscaled) */
static inline __m256 i8x8(const uint8_t *p)
{
    long long v;
    memcpy(&v, p, sizeof v);
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(v)));
}

/* 8 elements from idx; for Q8_0, idx % 8 == 0 so they share one block */
static inline __m256 load8(const void *B, enum auris__dtype bt, size_t idx)
{
    switch (bt) {
    case AURIS_DT_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)B + idx)));
    case AURIS_DT_BF16:
        return bf16x8((const uint16_t *)B + idx);
    case AURIS_DT_Q8_0: {
        const uint8_t *blk = (const uint8_t *)B + idx / AURIS__QK8_0 * AURIS__Q8_0_BYTES;
        return _mm256_mul_ps(_mm256_set1_ps(q8_scale(blk)), i8x8(blk + 2 + idx % AURIS__QK8_0));
    }
    default: /* f32 (the 4/5-bit blocks never come here: pack_panels dequantizes them) */
        break;
    }
    return _mm256_loadu_ps((const float *)B + idx);
}

static inline float load1(const void *B, enum auris__dtype bt, size_t idx)
{
    if (bt == AURIS_DT_F16)
        return _cvtsh_ss(((const uint16_t *)B)[idx]);
    if (bt != AURIS_DT_F32)
        return auris__b_elem(B, bt, idx);
    return ((const float *)B)[idx];
}

/* Rows r0..r0+nrows of B (the rest zero) into the 8 lanes at d of nr-wide panel rows, 8 k at a
 * time by a transpose. */
static void pack_half(int nr, int kc, int nrows, const void *B, enum auris__dtype bt, size_t ldb,
                      int r0, float *d)
{
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; i++)
            r[i] = i < nrows ? load8(B, bt, (size_t)(r0 + i) * ldb + k) : _mm256_setzero_ps();
        transpose8(r);
        for (int t = 0; t < 8; t++)
            _mm256_store_ps(d + (size_t)(k + t) * nr, r[t]);
    }
    for (; k < kc; k++)
        for (int i = 0; i < 8; i++)
            d[(size_t)k * nr + i] = i < nrows ? load1(B, bt, (size_t)(r0 + i) * ldb + k) : 0.0f;
}

/* nr-wide panels (16 or 24); each eighth of a panel (8 rows of B) is moved 8 k at a time by a
 * transpose. 4/5-bit blocks are first dequantized, 8 row slices at a time, into a small f32
 * buffer. */
static void pack_panels(int nr, int kc, int nc, const void *B, enum auris__dtype bt, size_t ldb,
                        float *dst)
{
    const int dequant = bt != AURIS_DT_Q8_0 && auris__dtype_block_bytes(bt) != 0;
    _Alignas(32) float rows[8][AURIS__KC];
    int n_panels = (nc + nr - 1) / nr;
    for (int p = 0; p < n_panels; p++) {
        float *d = dst + (size_t)p * kc * nr;
        for (int h = 0; h < nr / 8; h++) {
            int r0 = p * nr + h * 8;
            int nrows = AURIS_MAX(0, AURIS_MIN(8, nc - r0));
            if (!dequant || nrows == 0) {
                pack_half(nr, kc, nrows, B, bt, ldb, r0, d + h * 8);
                continue;
            }
            for (int i = 0; i < nrows; i++) /* kc is whole blocks (K % 32 == 0) */
                auris__qrow_to_f32_avx2(bt, auris__b_ptr(B, bt, (size_t)(r0 + i) * ldb),
                                        (size_t)kc, rows[i]);
            pack_half(nr, kc, nrows, rows, AURIS_DT_F32, AURIS__KC, 0, d + h * 8);
        }
    }
}

static void pack_b_nt_avx2_16(int kc, int nc, const void *B, enum auris__dtype bt, size_t ldb,
                              float *dst)
{
    pack_panels(16, kc, nc, B, bt, ldb, dst);
}

static void pack_b_nt_avx2_24(int kc, int nc, const void *B, enum auris__dtype bt, size_t ldb,
                              float *dst)
{
    pack_panels(24, kc, nc, B, bt, ldb, dst);
}

/* One q8_0 block of 32 against a[0..32): the integer-valued products, unscaled. */
static inline __m256 q8_block_dot(const float *a, const uint8_t *q, __m256 acc)
{
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a), i8x8(q), acc);
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + 8), i8x8(q + 8), acc);
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + 16), i8x8(q + 16), acc);
    return _mm256_fmadd_ps(_mm256_loadu_ps(a + 24), i8x8(q + 24), acc);
}

/* One row of A against q8_0 rows of B (K % 32 == 0): each block's sum is scaled by its d. */
static void gemv1_q8_0(int n0, int n1, int K, const float *a, const void *B, int ldb,
                       const float *bias, float *c, int acc)
{
    const size_t row_bytes = (size_t)ldb / AURIS__QK8_0 * AURIS__Q8_0_BYTES;
    const int nblk = K / AURIS__QK8_0;
    int n = n0;
    for (; n + 2 <= n1; n += 2) {
        const uint8_t *b0 = (const uint8_t *)B + (size_t)n * row_bytes, *b1 = b0 + row_bytes;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        for (int i = 0; i < nblk; i++, b0 += AURIS__Q8_0_BYTES, b1 += AURIS__Q8_0_BYTES) {
            const float *ak = a + (size_t)i * AURIS__QK8_0;
            __m256 t0 = q8_block_dot(ak, b0 + 2, _mm256_setzero_ps());
            __m256 t1 = q8_block_dot(ak, b1 + 2, _mm256_setzero_ps());
            s0 = _mm256_fmadd_ps(_mm256_set1_ps(q8_scale(b0)), t0, s0);
            s1 = _mm256_fmadd_ps(_mm256_set1_ps(q8_scale(b1)), t1, s1);
        }
        float r[2] = {hsum_f32(s0), hsum_f32(s1)};
        for (int i = 0; i < 2; i++) {
            float v = r[i] + (bias ? bias[n + i] : 0.0f);
            c[n + i] = acc ? c[n + i] + v : v;
        }
    }
    for (; n < n1; n++) {
        const uint8_t *b0 = (const uint8_t *)B + (size_t)n * row_bytes;
        __m256 s0 = _mm256_setzero_ps();
        for (int i = 0; i < nblk; i++, b0 += AURIS__Q8_0_BYTES)
            s0 = _mm256_fmadd_ps(_mm256_set1_ps(q8_scale(b0)),
                                 q8_block_dot(a + (size_t)i * AURIS__QK8_0, b0 + 2,
                                              _mm256_setzero_ps()),
                                 s0);
        float v = hsum_f32(s0) + (bias ? bias[n] : 0.0f);
        c[n] = acc ? c[n] + v : v;
    }
}

/* M rows of A against q8_0 rows of B: row by row over the same columns (the float fallback
 * of q8.c; its result for a row does not depend on M). */
static void gemv_q8_0_avx2(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
                           int ldb, const float *bias, float *C, int ldc, int acc)
{
    for (int m = 0; m < M; m++)
        gemv1_q8_0(n0, n1, K, A + (size_t)m * lda, B, ldb, bias, C + (size_t)m * ldc, acc);
}

static void softmax_avx2(float *x, int len, float scale)
{
    __m256 vmx = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= len; j += 8)
        vmx = _mm256_max_ps(vmx, _mm256_loadu_ps(x + j));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmx), _mm256_extractf128_ps(vmx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float mx = _mm_cvtss_f32(m4);
    for (; j < len; j++)
        mx = x[j] > mx ? x[j] : mx;
    __m256 vm = _mm256_set1_ps(mx), vs = _mm256_set1_ps(scale), sum = _mm256_setzero_ps();
    for (j = 0; j + 8 <= len; j += 8) {
        __m256 e = exp_nonpos(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm), vs));
        _mm256_storeu_ps(x + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    float s = hsum_f32(sum);
    for (; j < len; j++) {
        x[j] = expf((x[j] - mx) * scale);
        s += x[j];
    }
    __m256 inv = _mm256_set1_ps(1.0f / s);
    for (j = 0; j + 8 <= len; j += 8)
        _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), inv));
    for (; j < len; j++)
        x[j] *= 1.0f / s;
}

const struct auris__isa auris__isa_avx2 = {
    "avx2", 4, 24, kernel_4x24, pack_b_nt_avx2_24, gemv_q8_0_avx2, softmax_avx2,
    {kernel_4x8_nr24, kernel_4x16_nr24},
};

const struct auris__isa auris__isa_avx512 = {
    "avx512", 12, 16, auris__kernel_12x16_avx512, pack_b_nt_avx2_16, gemv_q8_0_avx2,
    softmax_avx2, {NULL, NULL},
};

#endif /* AURIS_HAVE_X86 */
