/*
 * int8_avx2.c — AVX2 exact int8 dot-product blocks for auris__gemm_i8r (int8.c).
 *
 * Reference: the sign-extend-and-vpmaddwd scheme (int8 widened to int16 with vpmovsxbw, pairs
 * multiplied and summed into int32 by vpmaddwd): unlike vpmaddubsw it cannot saturate, so the
 * sums equal the portable kernel's exactly. VNNI (vpdpbusd) is the speed issue's next step.
 * Invariants: compiled with -mavx2 (CMake does this for *_avx2.c) and reached only after the
 * run-time ISA check; unaligned loads only; tails (rows, columns, K % 16) handled in place.
 */
#include "kernels/int8_impl.h"

#if defined(AURIS_HAVE_X86)
#include "kernels/simd_avx2.h"

static inline __m256i load16(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

static inline int32_t tail_dot(int k0, int K, const int8_t *a, const int8_t *w)
{
    int32_t s = 0;
    for (int k = k0; k < K; k++)
        s += (int32_t)a[k] * (int32_t)w[k];
    return s;
}

/* 4 rows of A x 2 rows of W. */
static void tile_4x2(int K, const int8_t *A, size_t lda, const int8_t *W, size_t ldw,
                     int32_t *C, size_t ldc)
{
    __m256i c00 = _mm256_setzero_si256(), c01 = _mm256_setzero_si256();
    __m256i c10 = _mm256_setzero_si256(), c11 = _mm256_setzero_si256();
    __m256i c20 = _mm256_setzero_si256(), c21 = _mm256_setzero_si256();
    __m256i c30 = _mm256_setzero_si256(), c31 = _mm256_setzero_si256();
    const int8_t *a0 = A, *a1 = A + lda, *a2 = A + 2 * lda, *a3 = A + 3 * lda;
    const int8_t *w0 = W, *w1 = W + ldw;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256i b0 = load16(w0 + k), b1 = load16(w1 + k), x;
        x = load16(a0 + k);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, b0));
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, b1));
        x = load16(a1 + k);
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, b0));
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, b1));
        x = load16(a2 + k);
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, b0));
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, b1));
        x = load16(a3 + k);
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, b0));
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, b1));
    }
    C[0] = hsum_i32(c00) + tail_dot(k, K, a0, w0);
    C[1] = hsum_i32(c01) + tail_dot(k, K, a0, w1);
    C[ldc] = hsum_i32(c10) + tail_dot(k, K, a1, w0);
    C[ldc + 1] = hsum_i32(c11) + tail_dot(k, K, a1, w1);
    C[2 * ldc] = hsum_i32(c20) + tail_dot(k, K, a2, w0);
    C[2 * ldc + 1] = hsum_i32(c21) + tail_dot(k, K, a2, w1);
    C[3 * ldc] = hsum_i32(c30) + tail_dot(k, K, a3, w0);
    C[3 * ldc + 1] = hsum_i32(c31) + tail_dot(k, K, a3, w1);
}

/* 1 row of A x 4 rows of W (row tails and the decoder's one-row steps). */
static void tile_1x4(int K, const int8_t *a, const int8_t *W, size_t ldw, int nw, int32_t *C)
{
    __m256i c[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256()};
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256i x = load16(a + k);
        for (int j = 0; j < nw; j++)
            c[j] = _mm256_add_epi32(c[j], _mm256_madd_epi16(x, load16(W + (size_t)j * ldw + k)));
    }
    for (int j = 0; j < nw; j++)
        C[j] = hsum_i32(c[j]) + tail_dot(k, K, a, W + (size_t)j * ldw);
}

void auris__i8_dot_avx2(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                        size_t ldw, int32_t *C, size_t ldc)
{
    int i = 0;
    for (; i + 4 <= M; i += 4) {
        int j = 0;
        for (; j + 2 <= N; j += 2)
            tile_4x2(K, A + (size_t)i * lda, lda, W + (size_t)j * ldw, ldw, C + (size_t)i * ldc + j,
                     ldc);
        for (; j < N; j++)
            for (int r = 0; r < 4; r++)
                tile_1x4(K, A + (size_t)(i + r) * lda, W + (size_t)j * ldw, ldw, 1,
                         C + (size_t)(i + r) * ldc + j);
    }
    for (; i < M; i++)
        for (int j = 0; j < N; j += 4)
            tile_1x4(K, A + (size_t)i * lda, W + (size_t)j * ldw, ldw, AURIS_MIN(4, N - j),
                     C + (size_t)i * ldc + j);
}

/* As auris__i8_quantize_row_generic: max |x| (exact in any order), scale = 127 / amax, then
 * per value (x * scale) + 128 rounded to nearest even (vroundps), clamped to [0, 255], minus 128. */
float auris__i8_quantize_row_avx2(const float *x, int K, int8_t *q)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= K; k += 8)
        m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), m);
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    float amax = 0.0f;
    for (int i = 0; i < 8; i++)
        amax = lanes[i] > amax ? lanes[i] : amax;
    for (int t = k; t < K; t++) {
        float a = x[t] < 0.0f ? -x[t] : x[t];
        amax = a > amax ? a : amax;
    }
    const float scale = amax != 0.0f ? 127.0f / amax : 1.0f;
    const __m256 vs = _mm256_set1_ps(scale), v128 = _mm256_set1_ps(128.0f);
    const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(255.0f);
    const __m256i off = _mm256_set1_epi32(128);
    for (k = 0; k + 8 <= K; k += 8) {
        __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x + k), vs);
        t = _mm256_add_ps(t, v128);
        t = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
        __m256i v = _mm256_sub_epi32(_mm256_cvtps_epi32(t), off);
        __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(q + k), _mm_packs_epi16(p16, p16));
    }
    if (k < K)
        auris__i8_quantize_tail(x, k, K, scale, q);
    return scale;
}

/* As auris__i8_dequant_generic: (float)c * r, / w_scale, + bias, (+ y): the same IEEE steps. */
void auris__i8_dequant_avx2(const int32_t *c, int n, float r_a_scale, const float *w_scale,
                            const float *bias, float *y, int acc)
{
    const __m256 r = _mm256_set1_ps(r_a_scale);
    int x = 0;
    for (; x + 8 <= n; x += 8) {
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(c + x))), r);
        v = _mm256_div_ps(v, _mm256_loadu_ps(w_scale + x));
        if (bias)
            v = _mm256_add_ps(v, _mm256_loadu_ps(bias + x));
        if (acc)
            v = _mm256_add_ps(_mm256_loadu_ps(y + x), v);
        _mm256_storeu_ps(y + x, v);
    }
    if (x < n)
        auris__i8_dequant_generic(c + x, n - x, r_a_scale, w_scale + x, bias ? bias + x : NULL,
                                  y + x, acc);
}

/* AURIS_INT8_COMPAT=saturate (int8_impl.h): vpmaddubsw on (A + 128) as u8 and W as s8 saturates
 * each pair at int16 exactly as oneDNN's kernel does; vpmaddwd with ones widens to int32; the
 * compensation 128 * sum(W) is subtracted. Pairs start at even k (tails continue the pairing). */
void auris__i8_dot_sat_avx2(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                            size_t ldw, int32_t *C, size_t ldc)
{
    const __m256i bias = _mm256_set1_epi8((char)0x80), ones8 = _mm256_set1_epi8(1);
    const __m256i ones16 = _mm256_set1_epi16(1);
    const int K32 = K / 32 * 32;
    for (int i = 0; i < M; i++) {
        const int8_t *a = A + (size_t)i * lda;
        for (int j = 0; j < N; j++) {
            const int8_t *w = W + (size_t)j * ldw;
            __m256i acc = _mm256_setzero_si256(), ws = _mm256_setzero_si256();
            for (int k = 0; k < K32; k += 32) {
                __m256i au = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + k)), bias);
                __m256i wv = _mm256_loadu_si256((const __m256i *)(w + k));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(au, wv), ones16));
                ws = _mm256_add_epi32(ws, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, wv), ones16));
            }
            int32_t tail = 0;
            if (K32 < K)
                auris__i8_dot_sat_generic(1, 1, K - K32, a + K32, 0, w + K32, 0, &tail, 1);
            C[(size_t)i * ldc + j] = hsum_i32(acc) - 128 * hsum_i32(ws) + tail;
        }
    }
}

#endif /* AURIS_HAVE_X86 */
