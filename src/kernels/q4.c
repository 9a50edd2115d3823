/*
 * q4.c — ggml's 4- and 5-bit block types (q4_0, q4_1, q5_0, q5_1) computed from their blocks:
 * the one dequantization of every block type (auris__to_f32 and the GEMM's panel packing use
 * it) and the portable column kernels of their int8 dot products (q8.c drives them).
 *
 * Reference (facts only): whisper.cpp ggml/src/ggml-common.h (block layouts), ggml-quants.c
 * dequantize_row_* and ggml-cpu quants.c ggml_vec_dot_q4_0_q8_0, _q4_1_q8_1, _q5_0_q8_0,
 * _q5_1_q8_1. Every block holds 32 values, fields little-endian and packed:
 *   q4_0  f16 d, u8 qs[16]                 x[j] = (lo nibble - 8) d, x[j+16] = (hi nibble - 8) d
 *   q4_1  f16 d, f16 m, u8 qs[16]          x = nibble d + m
 *   q5_0  f16 d, u32 qh, u8 qs[16]         5th bit of x[j] is bit j of qh; x = (q - 16) d
 *   q5_1  f16 d, f16 m, u32 qh, u8 qs[16]  x = q d + m
 *   q8_0  f16 d, i8 qs[32]                 x = q d
 * The products: activations quantized per block of 32 (q8.c: d_a, q_a, and s_a = d_a sum q_a,
 * ggml's q8_1 "s"), then per block (d_w d_a) * isum (+ m_w s_a for the _1 types), isum the exact
 * integer sum of the weight codes (offset removed for the _0 types) times q_a.
 * Invariants: dequantized values are bit-identical to ggml's (int * float, then + m); blocks are
 * read bytewise (any alignment); the column kernels follow q8_impl.h's operation order, so the
 * AVX2 twins (q4_avx2.c) give the same bits.
 */
#include "kernels/q8_impl.h"

#include <string.h>

size_t auris__dtype_block_bytes(enum auris__dtype t)
{
    switch (t) {
    case AURIS_DT_Q4_0: return 2 + 16;
    case AURIS_DT_Q4_1: return 4 + 16;
    case AURIS_DT_Q5_0: return 2 + 4 + 16;
    case AURIS_DT_Q5_1: return 4 + 4 + 16;
    case AURIS_DT_Q8_0: return AURIS__Q8_0_BYTES;
    default: return 0;
    }
}

/* The 32 integer codes of one 4/5-bit block in element order, with the _0 types' offset
 * removed (so x = code d, or code d + m). */
static void block_codes(enum auris__dtype t, const uint8_t *b, int32_t q[32])
{
    const int has_m = t == AURIS_DT_Q4_1 || t == AURIS_DT_Q5_1;
    const int five = t == AURIS_DT_Q5_0 || t == AURIS_DT_Q5_1;
    const uint8_t *h = b + (has_m ? 4 : 2), *qs = five ? h + 4 : h;
    const uint32_t qh = five ? (uint32_t)h[0] | ((uint32_t)h[1] << 8) | ((uint32_t)h[2] << 16) |
                                   ((uint32_t)h[3] << 24)
                             : 0;
    const int32_t off = has_m ? 0 : five ? 16 : 8;
    for (int j = 0; j < 16; j++) {
        int32_t x0 = (int32_t)(qs[j] & 0x0F) | (int32_t)(((qh >> j) & 1u) << 4);
        int32_t x1 = (int32_t)(qs[j] >> 4) | (int32_t)(((qh >> (j + 16)) & 1u) << 4);
        q[j] = x0 - off;
        q[j + 16] = x1 - off;
    }
}

void auris__qblock_to_f32(enum auris__dtype t, const uint8_t *b, float *y)
{
    const float d = auris__q8_block_d(b);
    if (t == AURIS_DT_Q8_0) {
        for (int j = 0; j < 32; j++)
            y[j] = (float)(int8_t)b[2 + j] * d;
        return;
    }
    int32_t q[32];
    block_codes(t, b, q);
    if (t == AURIS_DT_Q4_1 || t == AURIS_DT_Q5_1) {
        const float m = auris__q8_block_d(b + 2);
        for (int j = 0; j < 32; j++)
            y[j] = (float)q[j] * d + m;
    } else {
        for (int j = 0; j < 32; j++)
            y[j] = (float)q[j] * d;
    }
}

/* One row of activations against one 4/5-bit row of B. */
static float dot_col(enum auris__dtype t, size_t bs, const struct auris__q8_rows *a, int m,
                     const uint8_t *w)
{
    const int nb = a->nb, has_m = t == AURIS_DT_Q4_1 || t == AURIS_DT_Q5_1;
    const int8_t *qa = a->qa + (size_t)m * (size_t)nb * AURIS__QK8_0;
    const float *da = a->da + (size_t)m * (size_t)nb, *sa = a->sa + (size_t)m * (size_t)nb;
    float s = 0.0f;
    for (int b = 0; b < nb; b++, w += bs) {
        int32_t q[32], isum = 0;
        block_codes(t, w, q);
        for (int j = 0; j < 32; j++)
            isum += q[j] * (int32_t)qa[(size_t)b * AURIS__QK8_0 + (size_t)j];
        const float scale = da[b] * auris__q8_block_d(w);
        float v = scale * (float)isum;
        if (has_m) {
            const float mw = auris__q8_block_d(w + 2) * sa[b];
            v = v + mw;
        }
        s = s + v;
    }
    return s;
}

void auris__q4_cols_generic(enum auris__dtype t, const struct auris__q8_rows *a, int n0, int n1,
                            const uint8_t *B, size_t row_bytes, const float *bias, float *C,
                            int ldc, int acc)
{
    const size_t bs = auris__dtype_block_bytes(t);
    for (int n = n0; n < n1; n++)
        for (int m = 0; m < a->M; m++) {
            float v = dot_col(t, bs, a, m, B + (size_t)n * row_bytes);
            if (bias)
                v = v + bias[n];
            float *c = C + (size_t)m * (size_t)ldc + n;
            *c = acc ? *c + v : v;
        }
}
