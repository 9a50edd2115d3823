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
#include <immintrin.h>

static inline int32_t hsum(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

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
    C[0] = hsum(c00) + tail_dot(k, K, a0, w0);
    C[1] = hsum(c01) + tail_dot(k, K, a0, w1);
    C[ldc] = hsum(c10) + tail_dot(k, K, a1, w0);
    C[ldc + 1] = hsum(c11) + tail_dot(k, K, a1, w1);
    C[2 * ldc] = hsum(c20) + tail_dot(k, K, a2, w0);
    C[2 * ldc + 1] = hsum(c21) + tail_dot(k, K, a2, w1);
    C[3 * ldc] = hsum(c30) + tail_dot(k, K, a3, w0);
    C[3 * ldc + 1] = hsum(c31) + tail_dot(k, K, a3, w1);
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
        C[j] = hsum(c[j]) + tail_dot(k, K, a, W + (size_t)j * ldw);
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

#endif /* AURIS_HAVE_X86 */
