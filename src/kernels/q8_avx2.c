/*
 * q8_avx2.c — AVX2 q8_0 x int8 column kernel for auris__gemv_q8_0 (q8.c).
 *
 * Reference: the usual AVX2 int8 dot product (as in ggml's mul_sum_i8_pairs): vpsignb moves the
 * weights' signs onto the activations, vpmaddubsw multiplies |w| (unsigned) by them and adds
 * pairs into int16, vpmaddwd by ones widens to int32. |w| <= 128 and |a| <= 127, so a pair is
 * at most 2 * 128 * 127 = 32512: no int16 saturation, the block sums are exact (a stored -128
 * is 0x80 = 128 as unsigned, its sign flip of a is exact). Eight columns at a time: their eight
 * block sums are reduced with vphaddd into one vector, scaled and accumulated in the operation
 * order of the portable kernel (q8_impl.h), so both give the same bits.
 * Invariants: compiled with -mavx2 -mfma -mf16c, reached only after the run-time ISA check;
 * unaligned loads only; column tails go through the same scalar steps.
 */
#include "kernels/q8_impl.h"

#if defined(AURIS_HAVE_X86)
#include "kernels/simd_avx2.h"

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

void auris__q8_cols_avx2(const struct auris__q8_rows *a, int n0, int n1, const uint8_t *B,
                         size_t row_bytes, const float *bias, float *C, int ldc, int acc)
{
    const int nb = a->nb;
    const size_t K = (size_t)nb * AURIS__QK8_0;
    int n = n0;
    for (; n + 8 <= n1; n += 8) {
        const uint8_t *w0 = B + (size_t)n * row_bytes;
        for (int m = 0; m < a->M; m++) {
            const int8_t *qa = a->qa + (size_t)m * K;
            const float *da = a->da + (size_t)m * (size_t)nb;
            __m256 s = _mm256_setzero_ps();
            for (int b = 0; b < nb; b++) {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(qa + (size_t)b * AURIS__QK8_0));
                const uint8_t *w = w0 + (size_t)b * AURIS__Q8_0_BYTES;
                __m256i v[8];
                uint16_t h[8];
                for (int j = 0; j < 8; j++) {
                    const uint8_t *wj = w + (size_t)j * row_bytes;
                    v[j] = block_dot(x, wj);
                    h[j] = (uint16_t)(wj[0] | (wj[1] << 8));
                }
                const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
                const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(da[b]), dw);
                s = _mm256_add_ps(s, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(reduce8_i32(v))));
            }
            if (bias)
                s = _mm256_add_ps(s, _mm256_loadu_ps(bias + n));
            float *c = C + (size_t)m * (size_t)ldc + n;
            if (acc)
                s = _mm256_add_ps(_mm256_loadu_ps(c), s);
            _mm256_storeu_ps(c, s);
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
#endif
