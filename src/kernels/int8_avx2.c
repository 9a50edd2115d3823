/*
 * int8_avx2.c — AVX2 exact int8 dot-product blocks for auris__gemm_i8r (int8.c).
 *
 * Reference: the sign trick of llama.cpp's AVX2 q8 dot products (facts only): vpmaddubsw on
 * |w| and a carrying w's sign multiplies 32 byte pairs per instruction and, with the
 * activations in [-127, 127], can never saturate, so the sums equal the portable kernel's bit
 * for bit. Measured on Zen 3 (standalone, one thread, data in L1/L2): 19-20 products per
 * cycle, against 13-16 for vpmovsxbw + vpmaddwd with A pre-widened to int16 (twice the bytes
 * of A per product) and ~11 for widening both operands in the loop (the first version). CPUs
 * with AVX-512 VNNI use int8_avx512vnni.c instead.
 * Invariants: compiled with -mavx2 (CMake does this for *_avx2.c) and reached only after the
 * run-time ISA check; unaligned loads only; tails (rows, K % 32) handled in place; A's values
 * are the quantizer's (-127..127), W may hold -128.
 */
#include "kernels/int8_impl.h"

#if defined(AURIS_HAVE_X86)
#include "kernels/simd_avx2.h"

static inline int32_t tail_dot(int k0, int K, const int8_t *a, const int8_t *w)
{
    int32_t s = 0;
    for (int k = k0; k < K; k++)
        s += (int32_t)a[k] * (int32_t)w[k];
    return s;
}

static inline __m256i load32(const int8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Row r of a tile, one step of 32 k: c_r += a_r . w as 8 int32 lanes, exactly. vpmaddubsw
 * multiplies |w| (unsigned; 128 for -128) by a carrying w's sign (vpsignb; a is the
 * quantizer's, in [-127, 127], so the negation never wraps): each pair sum is at most
 * 2 * 128 * 127 = 32512 and cannot saturate; vpmaddwd by ones widens the pairs to int32.
 * Written out with A's load because gcc, given the intrinsics, hoists all the tile's loads
 * ahead and spills accumulators to the stack. AT&T operand order: vpsignb t *= sign(b);
 * vpmaddubsw u (unsigned) by t (signed). */
#define ROW(r)                                                                                     \
    __asm__("vmovdqu %[x], %[t]\n\t"                                                               \
            "vpsignb %[b], %[t], %[t]\n\t"                                                         \
            "vpmaddubsw %[t], %[u], %[t]\n\t"                                                      \
            "vpmaddwd %[one], %[t], %[t]\n\t"                                                      \
            "vpaddd %[t], %[c], %[c]"                                                              \
            : [c] "+x"(c##r), [t] "=&x"(t)                                                         \
            : [x] "m"(*(const __m256i_u *)(a##r + k)), [b] "x"(b), [u] "x"(u), [one] "x"(ones))
#define ROW_PTR(r) const int8_t *a##r = A + (size_t)(r) * lda

/* C[r * ldc] = row r's sum, for the first R rows (the vector sums, then the K % 32 tail). */
static inline void store_rows(int R, const __m256i c[8], int k, int K, const int8_t *A,
                              size_t lda, const int8_t *W, int32_t *C, size_t ldc)
{
    int32_t s[8];
    _mm256_storeu_si256((__m256i *)s, reduce8_i32(c));
    for (int r = 0; r < R; r++)
        C[(size_t)r * ldc] = s[r] + (k < K ? tail_dot(k, K, A + (size_t)r * lda, W) : 0);
}

/* 8 rows of A x 1 row of W: each W load (from L2) serves 8 A rows (from L1); the live set
 * (8 accumulators + 6) stays in registers. */
static void tile_8x1(int K, const int8_t *A, size_t lda, const int8_t *W, int32_t *C, size_t ldc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
            c7 = c0, t;
    ROW_PTR(0);
    ROW_PTR(1);
    ROW_PTR(2);
    ROW_PTR(3);
    ROW_PTR(4);
    ROW_PTR(5);
    ROW_PTR(6);
    ROW_PTR(7);
    int k = 0;
    for (; k + 32 <= K; k += 32) {
        const __m256i b = load32(W + k), u = _mm256_abs_epi8(b);
        ROW(0);
        ROW(1);
        ROW(2);
        ROW(3);
        ROW(4);
        ROW(5);
        ROW(6);
        ROW(7);
    }
    const __m256i c[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
    store_rows(8, c, k, K, A, lda, W, C, ldc);
}

/* 1 to 4 rows of A (R) x 1 row of W: row tails and the decoder's few-row steps (rows past R
 * repeat row 0; their sums are dropped). */
static void tile_4x1(int R, int K, const int8_t *A, size_t lda, const int8_t *W, int32_t *C,
                     size_t ldc)
{
    const __m256i ones = _mm256_set1_epi16(1), z = _mm256_setzero_si256();
    __m256i c0 = z, c1 = z, c2 = z, c3 = z, t;
    const int8_t *a0 = A, *a1 = R > 1 ? A + lda : A, *a2 = R > 2 ? A + 2 * lda : A,
                 *a3 = R > 3 ? A + 3 * lda : A;
    int k = 0;
    if (R == 1) {
        for (; k + 32 <= K; k += 32) {
            const __m256i b = load32(W + k), u = _mm256_abs_epi8(b);
            ROW(0);
        }
    } else {
        for (; k + 32 <= K; k += 32) {
            const __m256i b = load32(W + k), u = _mm256_abs_epi8(b);
            ROW(0);
            ROW(1);
            ROW(2);
            ROW(3);
        }
    }
    const __m256i c[8] = {c0, c1, c2, c3, z, z, z, z};
    store_rows(R, c, k, K, A, lda, W, C, ldc);
}

/* Blocks of 8 rows, then one block of the last 1 to 7 rows (as 4 + the rest), over every
 * column; a block's rows stay in L1 while W's rows stream past them. */
void auris__i8_dot_avx2(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                        size_t ldw, int32_t *C, size_t ldc)
{
    int i = 0;
    for (; i + 8 <= M; i += 8)
        for (int j = 0; j < N; j++)
            tile_8x1(K, A + (size_t)i * lda, lda, W + (size_t)j * ldw, C + (size_t)i * ldc + j, ldc);
    for (; i < M; i += 4) {
        const int R = AURIS_MIN(4, M - i);
        for (int j = 0; j < N; j++)
            tile_4x1(R, K, A + (size_t)i * lda, lda, W + (size_t)j * ldw, C + (size_t)i * ldc + j,
                     ldc);
    }
}

/* As auris__i8_quantize_row_generic: max |x| (exact in any order), scale = 127 / amax, then
 * per value (x * scale) + 128 rounded to nearest even (vroundps), clamped to [1, 255] (maxps
 * returns its second operand, 1, for NaN), minus 128. */
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
    const __m256 lo = _mm256_set1_ps(1.0f), hi = _mm256_set1_ps(255.0f);
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
