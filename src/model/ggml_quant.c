/*
 * ggml_quant.c — dequantization of ggml's block formats q4_0, q4_1, q5_0, q5_1 and q8_0.
 *
 * Reference (facts only): whisper.cpp ggml/src/ggml-common.h (block layouts) and ggml-quants.c
 * (dequantize_row_*). Every block holds 32 values; all fields are little-endian and packed:
 *   q4_0  f16 d, u8 qs[16]                 x[j] = (lo nibble - 8) d, x[j+16] = (hi nibble - 8) d
 *   q4_1  f16 d, f16 m, u8 qs[16]          x = nibble d + m
 *   q5_0  f16 d, u32 qh, u8 qs[16]         5th bit of x[j] is bit j of qh; x = (q - 16) d
 *   q5_1  f16 d, f16 m, u32 qh, u8 qs[16]  x = q d + m
 *   q8_0  f16 d, i8 qs[32]                 x = q d
 * Invariants: the products are computed in float exactly as ggml does (int * float, then + m),
 * so the f32 output is bit-identical to ggml's; blocks are read bytewise (any alignment).
 */
#include "model/model.h"

size_t auris__ggml_block_bytes(int type)
{
    switch (type) {
    case AURIS__GGML_Q4_0: return 2 + 16;
    case AURIS__GGML_Q4_1: return 4 + 16;
    case AURIS__GGML_Q5_0: return 2 + 4 + 16;
    case AURIS__GGML_Q5_1: return 4 + 4 + 16;
    case AURIS__GGML_Q8_0: return 2 + 32;
    default: return 0;
    }
}

static float half_at(const uint8_t *p)
{
    return auris__f16_to_f32((uint16_t)(p[0] | (p[1] << 8)));
}

/* One block of 32 values into y[32]. */
static void dequant_block(int type, const uint8_t *b, float *y)
{
    const float d = half_at(b);
    switch (type) {
    case AURIS__GGML_Q4_0:
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((b[2 + j] & 0x0F) - 8) * d;
            y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
        }
        break;
    case AURIS__GGML_Q4_1: {
        const float m = half_at(b + 2);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(b[4 + j] & 0x0F) * d + m;
            y[j + 16] = (float)(b[4 + j] >> 4) * d + m;
        }
        break;
    }
    case AURIS__GGML_Q5_0:
    case AURIS__GGML_Q5_1: {
        const int has_m = type == AURIS__GGML_Q5_1;
        const uint8_t *h = b + (has_m ? 4 : 2), *qs = h + 4;
        const uint32_t qh = (uint32_t)h[0] | ((uint32_t)h[1] << 8) | ((uint32_t)h[2] << 16) |
                            ((uint32_t)h[3] << 24);
        const float m = has_m ? half_at(b + 2) : 0.0f;
        const int off = has_m ? 0 : 16;
        for (int j = 0; j < 16; j++) {
            int x0 = (qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10);
            int x1 = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
            if (has_m) {
                y[j] = (float)x0 * d + m;
                y[j + 16] = (float)x1 * d + m;
            } else {
                y[j] = (float)(x0 - off) * d;
                y[j + 16] = (float)(x1 - off) * d;
            }
        }
        break;
    }
    case AURIS__GGML_Q8_0:
        for (int j = 0; j < 32; j++)
            y[j] = (float)(int8_t)b[2 + j] * d;
        break;
    default:
        break;
    }
}

int auris__ggml_dequantize_f32(int type, const uint8_t *src, size_t n_blocks, float *dst)
{
    size_t bs = auris__ggml_block_bytes(type);
    if (!bs)
        return -1;
    for (size_t i = 0; i < n_blocks; i++)
        dequant_block(type, src + i * bs, dst + i * AURIS__GGML_QK);
    return 0;
}

int auris__ggml_dequantize_f16(int type, const uint8_t *src, size_t n_blocks, uint16_t *dst)
{
    size_t bs = auris__ggml_block_bytes(type);
    if (!bs)
        return -1;
    float y[AURIS__GGML_QK];
    for (size_t i = 0; i < n_blocks; i++) {
        dequant_block(type, src + i * bs, y);
        for (int j = 0; j < AURIS__GGML_QK; j++)
            dst[i * AURIS__GGML_QK + (size_t)j] = auris__f32_to_f16(y[j]);
    }
    return 0;
}
