/*
 * simd_avx2.h — private to the *_avx2.c files: vector code shared by them (the one home of
 * their horizontal sums, the block kernels' scale gather and prefetch, and exp_nonpos).
 *
 * The float horizontal sum adds the halves, then (l+h) pairs, then the last two: every caller
 * that must reproduce another kernel's bits relies on this one tree. exp_nonpos follows the
 * Cephes expf scheme (range reduction by ln 2 split in two constants, a
 * degree-6 polynomial, 2^n built in the exponent bits).
 * Invariants: include only from files compiled with -mavx2 -mfma -mf16c (CMake does this for
 * *_avx2.c), which run only after gemm.c's CPU check.
 */
#ifndef AURIS_SIMD_AVX2_H
#define AURIS_SIMD_AVX2_H

#include <immintrin.h>
#include <stdint.h>

/* The sum of v's 8 floats: ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)). */
static inline float hsum_f32(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The sum of v's 8 int32 lanes (wrapping, as integer adds do). */
static inline int32_t hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Eight int32 horizontal sums at once: out lane j = the sum of the 8 lanes of v[j]. */
static inline __m256i reduce8_i32(const __m256i v[8])
{
    const __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
    return _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                            _mm256_permute2x128_si256(h0123, h4567, 0x31));
}

/* exp(x) for x <= 0 (softmax arguments): x = n ln2 + r with |r| <= ln2/2, degree-6 polynomial
 * in r, times 2^n; relative error ~1e-7. Inputs below -87 flush to ~0; NaN stays NaN. */
static inline __m256 exp_nonpos(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x); /* maxps returns its 2nd operand for NaN */
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

/* The little-endian f16 at w + j * stride (j < 8) as 8 floats. Scalar loads into one vector:
 * on Zen 3 this beat a vpgatherdd in the q8_0 kernel. */
static inline __m256 gather8_f16(const uint8_t *w, size_t stride)
{
    uint16_t h[8];
    for (int j = 0; j < 8; j++) {
        const uint8_t *p = w + (size_t)j * stride;
        h[j] = (uint16_t)(p[0] | (p[1] << 8));
    }
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
}

/* The block kernels walk 8 rows of nb blocks at once, each row a separate stream, which the
 * hardware prefetchers follow badly (q8_0 logits from DRAM ran at half the f16 kernel's
 * bandwidth on Zen 3). The next 8 rows are 8 row_bytes of contiguous memory [p, end): after
 * each of the nb blocks the kernel moves this prefetch one nb-th further (rounded down, so it
 * never passes end), one prefetch a cache line, and the next group arrives meanwhile. */
struct row_prefetch {
    uintptr_t p, next; /* the next line to prefetch (0: none), the end of the current slice */
    size_t step;       /* 8 row_bytes / nb */
};

/* Starts prefetching the 8 rows at next (NULL: none). Addresses are integers: the last
 * prefetch may start up to 63 bytes past the rows (prefetches never fault). */
static inline struct row_prefetch row_prefetch_start(const uint8_t *next, size_t row_bytes,
                                                     int nb)
{
    struct row_prefetch r = {(uintptr_t)next, (uintptr_t)next, 8 * row_bytes / (size_t)nb};
    return r;
}

/* One block's slice. */
static inline void row_prefetch_step(struct row_prefetch *r)
{
    if (!r->p)
        return;
    r->next += r->step;
    for (; r->p < r->next; r->p += 64)
        _mm_prefetch((const char *)r->p, _MM_HINT_T0);
}

#endif /* AURIS_SIMD_AVX2_H */
