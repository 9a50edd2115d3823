/*
 * ops_avx2.c — AVX2+FMA versions of the non-GEMM hot loops (layer norm, GELU with a vector erf,
 * bias + GELU over a GEMM tile, add, the online-softmax block step, the im2col rows).
 *
 * Reference: the portable twins in ops_generic.c (same contracts, see ops_impl.h).
 * GELU: with z = |x|/sqrt 2, for z < 0.921875 erf(z) = z P(z^2) (P of degree 6, relative error
 * 4e-10 in exact arithmetic), above it erfc(z) = exp(z R(z)) (R of degree 10 in z, fitted to
 * log(erfc(z))/z on [0.921875, 4]; 2e-9). Both polynomials were fitted for this file by
 * iteratively reweighted least squares on Chebyshev nodes. gelu(x) is then 0.5 (x + |x| erf z)
 * near 0, x - 0.5 x erfc z for large positive x and 0.5 x erfc z for large negative x (so the
 * tail keeps its relative accuracy instead of cancelling in 1 + erf); z > 4 gives max(x, 0).
 * Measured in float against a double erfc: |error| <= 2.4e-7 (half an ulp of x near 4),
 * relative <= 1.3e-7 for x >= 0 and <= 7.5e-7 for -2 <= x < 0 (libm's 0.5x(1+erff) is worse).
 * Invariants: compiled with -mavx2 -mfma -mf16c; reached only after gemm.c's CPU check.
 */
#include "kernels/ops_impl.h"

#if defined(AURIS_HAVE_X86)
#include "kernels/simd_avx2.h"

#include <math.h>
#include <stdint.h>

static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* mask of the first n (0..7) lanes, for tails */
static inline __m256i tail_mask(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* ---- layer norm --------------------------------------------------------------------------- */

static void layernorm_avx2(int n, const float *x, float *y, const float *w, const float *b,
                           float eps)
{
    int n8 = n & ~7, rem = n - n8;
    __m256i tm = tail_mask(rem);
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n8; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i < n8; i += 8)
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    if (rem)
        s1 = _mm256_add_ps(s1, _mm256_maskload_ps(x + n8, tm));
    float mean = hsum_f32(_mm256_add_ps(s0, s1)) / (float)n;
    __m256 vm = _mm256_set1_ps(mean);
    __m256 v0 = _mm256_setzero_ps(), v1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= n8; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
        v0 = _mm256_fmadd_ps(d0, d0, v0);
        v1 = _mm256_fmadd_ps(d1, d1, v1);
    }
    for (; i < n8; i += 8) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        v0 = _mm256_fmadd_ps(d0, d0, v0);
    }
    if (rem) { /* masked-off lanes load 0 and must not count: mask the difference too */
        __m256 d1 = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + n8, tm), vm),
                                  _mm256_castsi256_ps(tm));
        v1 = _mm256_fmadd_ps(d1, d1, v1);
    }
    float var = hsum_f32(_mm256_add_ps(v0, v1)) / (float)n;
    __m256 inv = _mm256_set1_ps(1.0f / sqrtf(var + eps));
    for (i = 0; i < n8; i += 8) {
        __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), inv);
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(t, _mm256_loadu_ps(w + i), _mm256_loadu_ps(b + i)));
    }
    if (rem) {
        __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + n8, tm), vm), inv);
        __m256 r = _mm256_fmadd_ps(t, _mm256_maskload_ps(w + n8, tm), _mm256_maskload_ps(b + n8, tm));
        _mm256_maskstore_ps(y + n8, tm, r);
    }
}

/* ---- GELU --------------------------------------------------------------------------------- */

static inline __m256 gelu8(__m256 x)
{
    const __m256 c = _mm256_set1_ps(0.921875f), zmax = _mm256_set1_ps(4.0f);
    const __m256 half = _mm256_set1_ps(0.5f);
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 z = _mm256_mul_ps(ax, _mm256_set1_ps(0.70710678118654752f));
    /* erf(z) = z P(z^2) near 0 */
    __m256 u = _mm256_mul_ps(z, z);
    __m256 p = _mm256_set1_ps(8.397793698252526e-05f);
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-8.149805628381579e-04f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(5.20171605967365e-03f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-2.685970227108514e-02f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.1283701619938899e-01f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-3.7612634188429617e-01f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(1.1283791666921879f));
    __m256 ga = _mm256_mul_ps(half, _mm256_fmadd_ps(ax, _mm256_mul_ps(z, p), x));
    /* erfc(z) = exp(z R(z)) away from 0 */
    __m256 zb = _mm256_min_ps(_mm256_max_ps(z, c), zmax);
    __m256 r = _mm256_set1_ps(3.762378553151535e-08f);
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(-1.0727552676448315e-06f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(1.3583470139431897e-05f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(-9.908351201755143e-05f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(4.393757756143957e-04f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(-9.983380237994681e-04f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(-1.1161786369119288e-03f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(2.0641057848618194e-02f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(-1.0384169546843494e-01f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(-6.361874491382915e-01f));
    r = _mm256_fmadd_ps(r, zb, _mm256_set1_ps(-1.1284557451911166f));
    __m256 t = exp_nonpos(_mm256_mul_ps(zb, r));
    __m256 hx = _mm256_mul_ps(half, x);
    __m256 gpos = _mm256_fnmadd_ps(hx, t, x), gneg = _mm256_mul_ps(hx, t);
    __m256 gb = _mm256_blendv_ps(gpos, gneg, x); /* sign bit of x picks the negative branch */
    __m256 g = _mm256_blendv_ps(gb, ga, _mm256_cmp_ps(z, c, _CMP_LT_OQ));
    return _mm256_blendv_ps(g, _mm256_max_ps(x, _mm256_setzero_ps()),
                            _mm256_cmp_ps(z, zmax, _CMP_GT_OQ));
}

static void gelu_avx2(float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i tm = tail_mask((int)(n - i));
        _mm256_maskstore_ps(x + i, tm, gelu8(_mm256_maskload_ps(x + i, tm)));
    }
}

static void bias_gelu_avx2(int rows, int cols, float *c, size_t ldc, const float *bias)
{
    int c8 = cols & ~7;
    __m256i tm = tail_mask(cols - c8);
    for (int i = 0; i < rows; i++) {
        float *r = c + (size_t)i * ldc;
        int j = 0;
        for (; j < c8; j += 8) {
            __m256 v = _mm256_loadu_ps(r + j);
            if (bias)
                v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
            _mm256_storeu_ps(r + j, gelu8(v));
        }
        if (j < cols) {
            __m256 v = _mm256_maskload_ps(r + j, tm);
            if (bias)
                v = _mm256_add_ps(v, _mm256_maskload_ps(bias + j, tm));
            _mm256_maskstore_ps(r + j, tm, gelu8(v));
        }
    }
}

static void add_avx2(float *x, const float *y, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(x + i + 8,
                         _mm256_add_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i < n; i++)
        x[i] += y[i];
}

/* ---- online softmax ----------------------------------------------------------------------- */

static float softmax_block_avx2(float *s, int len, float scale, float *m, float *l)
{
    int n8 = len & ~7, rem = len - n8;
    __m256i tm = tail_mask(rem);
    __m256 vs = _mm256_set1_ps(scale);
    __m256 vmx = _mm256_set1_ps(-INFINITY);
    for (int j = 0; j < n8; j += 8)
        vmx = _mm256_max_ps(vmx, _mm256_mul_ps(vs, _mm256_loadu_ps(s + j)));
    float mx = hmax8(vmx);
    for (int j = n8; j < len; j++)
        mx = scale * s[j] > mx ? scale * s[j] : mx;
    mx = mx > *m ? mx : *m;
    float alpha = expf(*m - mx); /* 0 on the first block (m = -inf) */
    __m256 vm = _mm256_set1_ps(mx), sum = _mm256_setzero_ps();
    for (int j = 0; j < n8; j += 8) {
        __m256 e = exp_nonpos(_mm256_fmsub_ps(vs, _mm256_loadu_ps(s + j), vm));
        _mm256_storeu_ps(s + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (rem) {
        __m256 e = exp_nonpos(_mm256_fmsub_ps(vs, _mm256_maskload_ps(s + n8, tm), vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(tm));
        _mm256_maskstore_ps(s + n8, tm, e);
        sum = _mm256_add_ps(sum, e);
    }
    *l = *l * alpha + hsum_f32(sum);
    *m = mx;
    return alpha;
}

/* ---- the vocabulary's log-sum-exp --------------------------------------------------------- */

/* exp in float (exp_nonpos, ~1e-7 relative) over 32 lanes, each lane's partial sums moved into
 * double every LSE_FLUSH elements so that rounding does not grow with the vocabulary; -inf
 * entries (suppressed tokens) add exactly 0. Max and sum are two vectorised passes. */
#define LSE_FLUSH 2048

static double log_sum_exp_avx2(const float *x, int n)
{
    int n8 = n & ~7, rem = n - n8;
    __m256i tm = tail_mask(rem);
    __m256 ninf = _mm256_set1_ps(-INFINITY), vmx = ninf;
    for (int i = 0; i < n8; i += 8)
        vmx = _mm256_max_ps(vmx, _mm256_loadu_ps(x + i));
    float mx = hmax8(vmx);
    for (int i = n8; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY)
        return -INFINITY;
    __m256 vm = _mm256_set1_ps(mx);
    double s = 0.0;
    for (int c0 = 0; c0 < n8; c0 += LSE_FLUSH) {
        int c1 = c0 + LSE_FLUSH < n8 ? c0 + LSE_FLUSH : n8;
        __m256 acc = _mm256_setzero_ps();
        for (int i = c0; i < c1; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i);
            __m256 e = exp_nonpos(_mm256_sub_ps(v, vm));
            acc = _mm256_add_ps(acc, _mm256_andnot_ps(_mm256_cmp_ps(v, ninf, _CMP_EQ_OQ), e));
        }
        s += (double)hsum_f32(acc);
    }
    if (rem) {
        __m256 v = _mm256_maskload_ps(x + n8, tm);
        __m256 keep = _mm256_andnot_ps(_mm256_cmp_ps(v, ninf, _CMP_EQ_OQ), _mm256_castsi256_ps(tm));
        s += (double)hsum_f32(_mm256_and_ps(exp_nonpos(_mm256_sub_ps(v, vm)), keep));
    }
    return (double)mx + log(s);
}

/* The first maximum: the maximum by a vectorised pass, then the first index holding it. NaN
 * entries never win (the generic loop's x[i] > x[best] skips them), unless x[0] is NaN and so
 * the generic loop keeps index 0: that case is handed to the scalar loop. */
static int argmax_avx2(const float *x, int n)
{
    if (x[0] != x[0]) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (x[i] > x[best])
                best = i;
        return best;
    }
    int n8 = n & ~7;
    __m256 vmx = _mm256_set1_ps(x[0]);
    for (int i = 0; i < n8; i += 8)
        vmx = _mm256_max_ps(_mm256_loadu_ps(x + i), vmx); /* a NaN load keeps vmx */
    float mx = hmax8(vmx);
    for (int i = n8; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    __m256 vm = _mm256_set1_ps(mx);
    for (int i = 0; i < n8; i += 8) {
        int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), vm, _CMP_EQ_OQ));
        if (hit)
            return i + __builtin_ctz((unsigned)hit);
    }
    for (int i = n8; i < n; i++)
        if (x[i] == mx)
            return i;
    return 0;
}

/* ---- im2col rows -------------------------------------------------------------------------- */

/* out[0..24) = a0 b0 c0 a1 b1 c1 ... a7 b7 c7: one index vector per output serves all three
 * sources, two blends pick the source of each lane */
static inline void store_interleave3(float *d, __m256 a, __m256 b, __m256 c)
{
    const __m256i i0 = _mm256_setr_epi32(0, 0, 0, 1, 1, 1, 2, 2);
    const __m256i i1 = _mm256_setr_epi32(2, 3, 3, 3, 4, 4, 4, 5);
    const __m256i i2 = _mm256_setr_epi32(5, 5, 6, 6, 6, 7, 7, 7);
    __m256 o0 = _mm256_permutevar8x32_ps(a, i0); /* lanes 0 3 6 from a */
    o0 = _mm256_blend_ps(o0, _mm256_permutevar8x32_ps(b, i0), 0x92); /* 1 4 7 */
    o0 = _mm256_blend_ps(o0, _mm256_permutevar8x32_ps(c, i0), 0x24); /* 2 5 */
    __m256 o1 = _mm256_permutevar8x32_ps(a, i1); /* 1 4 7 */
    o1 = _mm256_blend_ps(o1, _mm256_permutevar8x32_ps(b, i1), 0x24); /* 2 5 */
    o1 = _mm256_blend_ps(o1, _mm256_permutevar8x32_ps(c, i1), 0x49); /* 0 3 6 */
    __m256 o2 = _mm256_permutevar8x32_ps(a, i2); /* 2 5 */
    o2 = _mm256_blend_ps(o2, _mm256_permutevar8x32_ps(b, i2), 0x49); /* 0 3 6 */
    o2 = _mm256_blend_ps(o2, _mm256_permutevar8x32_ps(c, i2), 0x92); /* 1 4 7 */
    _mm256_storeu_ps(d, o0);
    _mm256_storeu_ps(d + 8, o1);
    _mm256_storeu_ps(d + 16, o2);
}

static inline __m256 load_or_zero(const float *p)
{
    return p ? _mm256_loadu_ps(p) : _mm256_setzero_ps();
}

static void interleave3_avx2(int n, const float *s0, const float *s1, const float *s2,
                             float *dst)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        store_interleave3(dst + 3 * i, load_or_zero(s0 ? s0 + i : NULL),
                          load_or_zero(s1 ? s1 + i : NULL), load_or_zero(s2 ? s2 + i : NULL));
    for (; i < n; i++) {
        dst[3 * i + 0] = s0 ? s0[i] : 0.0f;
        dst[3 * i + 1] = s1 ? s1[i] : 0.0f;
        dst[3 * i + 2] = s2 ? s2[i] : 0.0f;
    }
}

/* Channel-major input: the three taps of 8 channels are gathered (stride ld), then interleaved.
 * Rows at the padding (a missing tap) and offsets beyond int32 take the scalar loop. */
static void unfold3_avx2(int C, const float *src, size_t ld, int has_prev, int has_next,
                         float *dst)
{
    int c = 0;
    if (has_prev && has_next && ld <= (size_t)INT32_MAX / 8 &&
        (size_t)C * ld <= (size_t)INT32_MAX - 8 * ld) {
        const __m256i step = _mm256_set1_epi32((int)(8 * ld));
        __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                         _mm256_set1_epi32((int)ld));
        for (; c + 8 <= C; c += 8) {
            __m256 a = _mm256_i32gather_ps(src - 1, idx, 4);
            __m256 b = _mm256_i32gather_ps(src, idx, 4);
            __m256 d = _mm256_i32gather_ps(src + 1, idx, 4);
            store_interleave3(dst + 3 * c, a, b, d);
            idx = _mm256_add_epi32(idx, step);
        }
    }
    for (; c < C; c++) {
        const float *p = src + (size_t)c * ld;
        dst[3 * c + 0] = has_prev ? p[-1] : 0.0f;
        dst[3 * c + 1] = p[0];
        dst[3 * c + 2] = has_next ? p[1] : 0.0f;
    }
}

const struct auris__ops auris__ops_avx2 = {
    "avx2", layernorm_avx2, gelu_avx2, bias_gelu_avx2, add_avx2, softmax_block_avx2,
    unfold3_avx2, interleave3_avx2, log_sum_exp_avx2, argmax_avx2,
};

#endif /* AURIS_HAVE_X86 */
