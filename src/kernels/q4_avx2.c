/*
 * q4_avx2.c — AVX2 kernels for ggml's 4/5-bit block types (q4_0, q4_1, q5_0, q5_1): the int8
 * column kernel behind auris__gemv_qb (q8.c) and the row dequantization the encoder's panel
 * packing uses (gemm_avx2.c).
 *
 * Reference: the block layouts and products of q4.c (ggml-common.h, ggml's vec_dot_q4_0_q8_0 and
 * friends; facts only). A block's 16 bytes of nibbles become 32 code bytes in element order (low
 * nibbles = elements 0..15, high nibbles = 16..31); q5's 32 fifth bits are spread one per byte
 * by a byte shuffle and a bit mask and OR'd in as 16. Signed codes (_0 types, offset removed,
 * |q| <= 16) meet the int8 activations through vpsignb + vpmaddubsw as in q8_avx2.c; unsigned
 * codes (_1 types, 0..31) go straight into vpmaddubsw. Pairs stay far below int16 saturation
 * (2 * 31 * 127), so the block sums are exact. Eight columns at a time, their block sums
 * reduced into one vector and scaled in q4.c's operation order: both give the same bits; the
 * next 8 rows are prefetched meanwhile, as in q8_avx2.c.
 * Invariants: compiled with -mavx2 -mfma -mf16c, reached only after the run-time ISA check;
 * unaligned loads only; float steps are separate intrinsics (no contraction into FMA).
 */
#include "kernels/q8_impl.h"

#if defined(AURIS_HAVE_X86)
#include "kernels/simd_avx2.h"
#include <string.h>

static inline int has_min(enum auris__dtype t)
{
    return t == AURIS_DT_Q4_1 || t == AURIS_DT_Q5_1;
}

/* The 32 codes of one block, one byte each in element order; the _0 types' offset removed. */
static inline __m256i block_codes(enum auris__dtype t, const uint8_t *b)
{
    const int m = has_min(t), five = t == AURIS_DT_Q5_0 || t == AURIS_DT_Q5_1;
    const uint8_t *h = b + (m ? 4 : 2), *qs = five ? h + 4 : h;
    const __m128i lo = _mm_loadu_si128((const __m128i *)qs);
    __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(lo, 4), lo),
                                 _mm256_set1_epi8(0x0F));
    if (five) {
        uint32_t qh;
        memcpy(&qh, h, sizeof qh);
        /* byte e <- byte e / 8 of qh, then keep bit e % 8 of it */
        const __m256i spread = _mm256_shuffle_epi8(
            _mm256_set1_epi32((int)qh),
            _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                              0x0101010101010101LL, 0x0000000000000000LL));
        const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
        q = _mm256_or_si256(q, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
    }
    if (!m)
        q = _mm256_sub_epi8(q, _mm256_set1_epi8(five ? 16 : 8));
    return q;
}

/* The 8 int32 partial sums of codes x activations (lanes to be added). */
static inline __m256i block_dot(enum auris__dtype t, __m256i a, const uint8_t *w)
{
    const __m256i q = block_codes(t, w);
    const __m256i p = has_min(t) ? _mm256_maddubs_epi16(q, a)
                                 : _mm256_maddubs_epi16(_mm256_sign_epi8(q, q),
                                                        _mm256_sign_epi8(a, q));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* One column the scalar way (column tails), in q4.c's order with intrinsics for the floats. */
static float scalar_col(enum auris__dtype t, size_t bs, const int8_t *qa, const float *da,
                        const float *sa, int nb, const uint8_t *w)
{
    __m128 s = _mm_setzero_ps();
    for (int b = 0; b < nb; b++, w += bs) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)(qa + (size_t)b * AURIS__QK8_0));
        const int32_t isum = hsum_i32(block_dot(t, a, w));
        const __m128 scale = _mm_mul_ss(_mm_set_ss(da[b]), _mm_set_ss(auris__q8_block_d(w)));
        __m128 v = _mm_mul_ss(scale, _mm_cvtsi32_ss(_mm_setzero_ps(), isum));
        if (has_min(t))
            v = _mm_add_ss(v, _mm_mul_ss(_mm_set_ss(auris__q8_block_d(w + 2)), _mm_set_ss(sa[b])));
        s = _mm_add_ss(s, v);
    }
    return _mm_cvtss_f32(s);
}

/* One activation row against 8 weight rows w0 + j row_bytes: the 8 column sums (the greedy
 * step's loop, cheaper for one row than rows8's staging). */
static __m256 one_row8(enum auris__dtype t, const int8_t *qa, const float *da, const float *sa,
                       int nb, const uint8_t *w0, size_t row_bytes, struct row_prefetch *pf)
{
    const size_t bs = auris__dtype_block_bytes(t);
    __m256 s = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        row_prefetch_step(pf);
        const __m256i x = _mm256_loadu_si256((const __m256i *)(qa + (size_t)b * AURIS__QK8_0));
        const uint8_t *w = w0 + (size_t)b * bs;
        __m256i v[8];
        for (int j = 0; j < 8; j++)
            v[j] = block_dot(t, x, w + (size_t)j * row_bytes);
        const __m256 dw = gather8_f16(w, row_bytes);
        const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(da[b]), dw);
        __m256 y = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(reduce8_i32(v)));
        if (has_min(t))
            y = _mm256_add_ps(y, _mm256_mul_ps(gather8_f16(w + 2, row_bytes),
                                               _mm256_set1_ps(sa[b])));
        s = _mm256_add_ps(s, y);
    }
    return s;
}

#define ROWS_MAX 8 /* activation rows sharing one pass over a group of 8 weight rows */

/* Rows m0..m0+mr (mr <= ROWS_MAX) against 8 weight rows w0 + j row_bytes: each block's codes
 * and scales formed once for all mr rows, then per row the operations of the one-row loop
 * (block_dot, the same float order), so the same bits; s[i] the 8 column sums of row m0 + i. */
static void rows8(enum auris__dtype t, const struct auris__q8_rows *a, int m0, int mr,
                  const uint8_t *w0, size_t row_bytes, struct row_prefetch *pf,
                  __m256 s[ROWS_MAX])
{
    const int nb = a->nb, m_term = has_min(t);
    const size_t K = (size_t)nb * AURIS__QK8_0, bs = auris__dtype_block_bytes(t);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int i = 0; i < mr; i++)
        s[i] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        row_prefetch_step(pf);
        const uint8_t *w = w0 + (size_t)b * bs;
        __m256i q[8], u[8]; /* codes; the unsigned factor of vpmaddubsw (|q| or q) */
        for (int j = 0; j < 8; j++) {
            q[j] = block_codes(t, w + (size_t)j * row_bytes);
            u[j] = m_term ? q[j] : _mm256_sign_epi8(q[j], q[j]);
        }
        const __m256 dw = gather8_f16(w, row_bytes);
        const __m256 mw = m_term ? gather8_f16(w + 2, row_bytes) : _mm256_setzero_ps();
        for (int i = 0; i < mr; i++) {
            const size_t ab = (size_t)(m0 + i) * (size_t)nb + (size_t)b;
            const __m256i x = _mm256_loadu_si256(
                (const __m256i *)(a->qa + (size_t)(m0 + i) * K + (size_t)b * AURIS__QK8_0));
            __m256i v[8];
            for (int j = 0; j < 8; j++)
                v[j] = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(u[j], m_term ? x : _mm256_sign_epi8(x, q[j])), ones);
            const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(a->da[ab]), dw);
            __m256 y = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(reduce8_i32(v)));
            if (m_term)
                y = _mm256_add_ps(y, _mm256_mul_ps(mw, _mm256_set1_ps(a->sa[ab])));
            s[i] = _mm256_add_ps(s[i], y);
        }
    }
}

void auris__q4_cols_avx2(enum auris__dtype t, const struct auris__q8_rows *a, int n0, int n1,
                         const uint8_t *B, size_t row_bytes, const float *bias, float *C, int ldc,
                         int acc)
{
    const int nb = a->nb;
    const size_t K = (size_t)nb * AURIS__QK8_0;
    int n = n0;
    for (; n + 8 <= n1; n += 8) {
        const uint8_t *w0 = B + (size_t)n * row_bytes;
        struct row_prefetch pf = row_prefetch_start(n + 16 <= n1 ? w0 + 8 * row_bytes : NULL,
                                                    row_bytes, nb); /* the next 8 rows */
        for (int m0 = 0; m0 < a->M; pf.p = 0) {
            const int mr = AURIS_MIN(ROWS_MAX, a->M - m0);
            __m256 s[ROWS_MAX];
            if (mr == 1)
                s[0] = one_row8(t, a->qa + (size_t)m0 * K, a->da + (size_t)m0 * (size_t)nb,
                                a->sa + (size_t)m0 * (size_t)nb, nb, w0, row_bytes, &pf);
            else
                rows8(t, a, m0, mr, w0, row_bytes, &pf, s);
            for (int i = 0; i < mr; i++) {
                __m256 r = s[i];
                if (bias)
                    r = _mm256_add_ps(r, _mm256_loadu_ps(bias + n));
                float *c = C + (size_t)(m0 + i) * (size_t)ldc + n;
                if (acc)
                    r = _mm256_add_ps(_mm256_loadu_ps(c), r);
                _mm256_storeu_ps(c, r);
            }
            m0 += mr;
        }
    }
    for (; n < n1; n++)
        for (int m = 0; m < a->M; m++) {
            const size_t bs = auris__dtype_block_bytes(t);
            float v = scalar_col(t, bs, a->qa + (size_t)m * K, a->da + (size_t)m * (size_t)nb,
                                 a->sa + (size_t)m * (size_t)nb, nb, B + (size_t)n * row_bytes);
            if (bias)
                v = v + bias[n];
            float *c = C + (size_t)m * (size_t)ldc + n;
            *c = acc ? *c + v : v;
        }
}

void auris__qrow_to_f32_avx2(enum auris__dtype t, const uint8_t *b, size_t n, float *y)
{
    const size_t bs = auris__dtype_block_bytes(t);
    if (t == AURIS_DT_Q8_0 || !bs) { /* q8_0 packs through its own loads; here for completeness */
        for (size_t i = 0; i < n / AURIS__QK8_0; i++)
            auris__qblock_to_f32(t, b + i * bs, y + i * AURIS__QK8_0);
        return;
    }
    for (size_t i = 0; i < n / AURIS__QK8_0; i++, b += bs, y += AURIS__QK8_0) {
        const __m256i q = block_codes(t, b);
        const __m256 d = _mm256_set1_ps(auris__q8_block_d(b));
        const __m256 m = _mm256_set1_ps(has_min(t) ? auris__q8_block_d(b + 2) : 0.0f);
        const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
        const __m128i part[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
        for (int j = 0; j < 4; j++) {
            __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part[j])), d);
            if (has_min(t))
                v = _mm256_add_ps(v, m);
            _mm256_storeu_ps(y + 8 * j, v);
        }
    }
}
#endif
