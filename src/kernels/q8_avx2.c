/*
 * q8_avx2.c — AVX2 q8_0 x int8 column kernel and activation quantizer behind auris__gemv_q8_0
 * (q8.c).
 *
 * Reference: the usual AVX2 int8 dot product (as in ggml's mul_sum_i8_pairs): vpsignb moves the
 * weights' signs onto the activations, vpmaddubsw multiplies |w| (unsigned) by them and adds
 * pairs into int16, vpmaddwd by ones widens to int32. |w| <= 128 and |a| <= 127, so a pair is
 * at most 2 * 128 * 127 = 32512: no int16 saturation, the block sums are exact (a stored -128
 * is 0x80 = 128 as unsigned, its sign flip of a is exact). Eight columns at a time: their eight
 * block sums are reduced with vphaddd into one vector, scaled and accumulated in the operation
 * order of the portable kernel (q8_impl.h), so both give the same bits. While a group of 8 rows
 * is computed, the next group is prefetched a slice per block (simd_avx2.h row_prefetch): that
 * doubled the kernel's speed on DRAM-resident weights. The activation quantizer is q8.c's,
 * vectorised with the same operations per element.
 * Invariants: compiled with -mavx2 -mfma -mf16c, reached only after the run-time ISA check;
 * unaligned loads only; column tails go through the same scalar steps.
 */
#include "kernels/q8_impl.h"

#if defined(AURIS_HAVE_X86)
#include "kernels/simd_avx2.h"

#include <stdint.h>

/* The 8 int32 sums of 32 products a[j] * w[j] in one vector (lanes to be added). */
static inline __m256i block_dot(__m256i a, const uint8_t *w)
{
    const __m256i q = _mm256_loadu_si256((const __m256i *)(w + 2));
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* One column the scalar way; the float steps are intrinsics so that no compiler contracts
 * them into an FMA here (this file is built with -mfma; q8.c's twin has none). */
static inline float scalar_col(const int8_t *qa, const float *da, int nb, const uint8_t *w)
{
    __m128 s = _mm_setzero_ps();
    for (int b = 0; b < nb; b++, w += AURIS__Q8_0_BYTES) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)(qa + (size_t)b * AURIS__QK8_0));
        const int32_t isum = hsum_i32(block_dot(a, w));
        const __m128 scale = _mm_mul_ss(_mm_set_ss(da[b]), _mm_set_ss(auris__q8_block_d(w)));
        s = _mm_add_ss(s, _mm_mul_ss(scale, _mm_cvtsi32_ss(_mm_setzero_ps(), isum)));
    }
    return _mm_cvtss_f32(s);
}

/* Store 8 column sums s (+ bias, + C when acc) into row c. */
static inline void store8(__m256 s, const float *bias, float *c, int acc)
{
    if (bias)
        s = _mm256_add_ps(s, _mm256_loadu_ps(bias));
    if (acc)
        s = _mm256_add_ps(_mm256_loadu_ps(c), s);
    _mm256_storeu_ps(c, s);
}

/* One activation row against 8 weight rows w0 + j row_bytes: the 8 column sums. */
static __m256 one_row8(const int8_t *qa, const float *da, int nb, const uint8_t *w0,
                       size_t row_bytes, struct row_prefetch *pf)
{
    __m256 s = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        row_prefetch_step(pf);
        const __m256i x = _mm256_loadu_si256((const __m256i *)(qa + (size_t)b * AURIS__QK8_0));
        const uint8_t *w = w0 + (size_t)b * AURIS__Q8_0_BYTES;
        __m256i v[8];
        for (int j = 0; j < 8; j++)
            v[j] = block_dot(x, w + (size_t)j * row_bytes);
        const __m256 dw = gather8_f16(w, row_bytes);
        const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(da[b]), dw);
        s = _mm256_add_ps(s, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(reduce8_i32(v))));
    }
    return s;
}

#define ROWS_MAX 8 /* activation rows sharing one pass over a group of 8 weight rows */

/* Rows m0..m0+mr (2 <= mr <= ROWS_MAX) against 8 weight rows, each weight block read and its
 * |w| and scale formed once for all mr rows; per row the operations of one_row8, so the
 * same bits. */
static void rows8(const struct auris__q8_rows *a, int m0, int mr, const uint8_t *w0,
                  size_t row_bytes, struct row_prefetch *pf, __m256 s[ROWS_MAX])
{
    const int nb = a->nb;
    const size_t K = (size_t)nb * AURIS__QK8_0;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int i = 0; i < mr; i++)
        s[i] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        row_prefetch_step(pf);
        const uint8_t *w = w0 + (size_t)b * AURIS__Q8_0_BYTES;
        __m256i q[8], aw[8];
        for (int j = 0; j < 8; j++) {
            q[j] = _mm256_loadu_si256((const __m256i *)(w + (size_t)j * row_bytes + 2));
            aw[j] = _mm256_sign_epi8(q[j], q[j]);
        }
        const __m256 dw = gather8_f16(w, row_bytes);
        for (int i = 0; i < mr; i++) {
            const int m = m0 + i;
            const __m256i x = _mm256_loadu_si256(
                (const __m256i *)(a->qa + (size_t)m * K + (size_t)b * AURIS__QK8_0));
            __m256i v[8];
            for (int j = 0; j < 8; j++)
                v[j] = _mm256_madd_epi16(_mm256_maddubs_epi16(aw[j], _mm256_sign_epi8(x, q[j])),
                                         ones);
            const float dab = a->da[(size_t)m * (size_t)nb + (size_t)b];
            const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(dab), dw);
            s[i] = _mm256_add_ps(s[i], _mm256_mul_ps(scale, _mm256_cvtepi32_ps(reduce8_i32(v))));
        }
    }
}

void auris__q8_cols_avx2(const struct auris__q8_rows *a, int n0, int n1, const uint8_t *B,
                         size_t row_bytes, const float *bias, float *C, int ldc, int acc)
{
    const int nb = a->nb;
    const size_t K = (size_t)nb * AURIS__QK8_0;
    int n = n0;
    for (; n + 8 <= n1; n += 8) {
        const uint8_t *w0 = B + (size_t)n * row_bytes;
        const float *bn = bias ? bias + n : NULL;
        /* the next group of 8 rows, a slice per block during the first pass */
        struct row_prefetch pf = row_prefetch_start(n + 16 <= n1 ? w0 + 8 * row_bytes : NULL,
                                                    row_bytes, nb);
        for (int m0 = 0; m0 < a->M; pf.p = 0) {
            const int mr = AURIS_MIN(ROWS_MAX, a->M - m0);
            if (mr == 1) {
                const __m256 s = one_row8(a->qa + (size_t)m0 * K, a->da + (size_t)m0 * (size_t)nb,
                                          nb, w0, row_bytes, &pf);
                store8(s, bn, C + (size_t)m0 * (size_t)ldc + n, acc);
            } else {
                __m256 s[ROWS_MAX];
                rows8(a, m0, mr, w0, row_bytes, &pf, s);
                for (int i = 0; i < mr; i++)
                    store8(s[i], bn, C + (size_t)(m0 + i) * (size_t)ldc + n, acc);
            }
            m0 += mr;
        }
    }
    for (; n < n1; n++)
        for (int m = 0; m < a->M; m++) {
            float v = scalar_col(a->qa + (size_t)m * K, a->da + (size_t)m * (size_t)nb, nb,
                                 B + (size_t)n * row_bytes);
            if (bias)
                v = v + bias[n];
            float *c = C + (size_t)m * (size_t)ldc + n;
            *c = acc ? *c + v : v;
        }
}

void auris__q8_quantize_avx2(const float *x, int K, int8_t *q, float *d, float *sa)
{
    const __m256 magic = _mm256_set1_ps(12582912.0f), hi = _mm256_set1_ps(127.0f);
    const __m256 lo = _mm256_set1_ps(-127.0f);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int b = 0; b < K / AURIS__QK8_0; b++) {
        const float *xb = x + (size_t)b * AURIS__QK8_0;
        __m256 v[4], mx = _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(xb + 8 * i);
            /* maxps returns its 2nd operand when either is NaN: q8.c's "fabsf(x) > amax ?" */
            mx = _mm256_max_ps(_mm256_and_ps(v[i], abs_mask), mx);
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4); /* the lanes hold no NaN: any order is exact */
        const float db = amax / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
        __m256i iq[4];
        for (int i = 0; i < 4; i++) {
            __m256 t = _mm256_mul_ps(v[i], _mm256_set1_ps(id));
            t = _mm256_sub_ps(_mm256_add_ps(t, magic), magic);
            t = _mm256_and_ps(t, _mm256_cmp_ps(t, t, _CMP_ORD_Q)); /* NaN: 0 */
            iq[i] = _mm256_cvtps_epi32(_mm256_max_ps(_mm256_min_ps(t, hi), lo));
        }
        const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(iq[0], iq[1]),
                                             _mm256_packs_epi32(iq[2], iq[3]));
        _mm256_storeu_si256((__m256i *)(q + (size_t)b * AURIS__QK8_0),
                            _mm256_permutevar8x32_epi32(p, order));
        const int32_t sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(iq[0], iq[1]),
                                                      _mm256_add_epi32(iq[2], iq[3])));
        d[b] = db;
        sa[b] = db * (float)sum;
    }
}
#endif
