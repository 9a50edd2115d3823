/*
 * simd_avx2.h — private to the *_avx2.c files: vector math shared by them.
 *
 * exp_nonpos follows the Cephes expf scheme (range reduction by ln 2 split in two constants, a
 * degree-6 polynomial, 2^n built in the exponent bits).
 * Invariants: include only from files compiled with -mavx2 -mfma -mf16c (CMake does this for
 * *_avx2.c), which run only after gemm.c's CPU check.
 */
#ifndef AURIS_SIMD_AVX2_H
#define AURIS_SIMD_AVX2_H

#include <immintrin.h>

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

#endif /* AURIS_SIMD_AVX2_H */
