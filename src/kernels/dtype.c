/*
 * dtype.c — sizes of the weight element types and their conversion to f32.
 *
 * Reference: ggml's type table (docs/gguf.md, ggml.h): F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3,
 * Q5_0 = 6, Q5_1 = 7, Q8_0 = 8 (blocks of 32, layouts in q4.c, which dequantizes them),
 * BF16 = 30 (upper 16 bits of an f32).
 * Invariants: sources are read byte by byte (or with memcpy), so any alignment is fine; sizes
 * are overflow-checked; nothing allocates.
 */
#include "kernels/kernels.h"
#include "kernels/q8_impl.h"

int auris__dtype_known(enum auris__dtype t)
{
    return t == AURIS_DT_F32 || t == AURIS_DT_F16 || t == AURIS_DT_BF16 ||
           auris__dtype_block_bytes(t) != 0;
}

size_t auris__dtype_bytes(enum auris__dtype t, size_t n)
{
    size_t out = 0;
    switch (t) {
    case AURIS_DT_F32:
        return auris__mul_ok(n, 4, &out) ? out : 0;
    case AURIS_DT_F16:
    case AURIS_DT_BF16:
        return auris__mul_ok(n, 2, &out) ? out : 0;
    default:
        if (!auris__dtype_block_bytes(t) || n % AURIS__QK8_0)
            return 0;
        return auris__mul_ok(n / AURIS__QK8_0, auris__dtype_block_bytes(t), &out) ? out : 0;
    }
}

void auris__to_f32(enum auris__dtype t, const void *src, size_t n, float *dst)
{
    const uint8_t *s = src;
    if (t == AURIS_DT_I8R) { /* `src` is the descriptor; the first n values, row-major */
        const struct auris__i8r *w = src;
        if (w->k > 0 && n % (size_t)w->k == 0 && n / (size_t)w->k <= (size_t)w->rows) {
            for (size_t r = 0; r < n / (size_t)w->k; r++)
                auris__i8r_row_to_f32(w, (int64_t)r, dst + r * (size_t)w->k);
            return;
        }
    }
    switch (t) {
    case AURIS_DT_F32:
        memcpy(dst, src, n * sizeof *dst);
        return;
    case AURIS_DT_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = auris__f16_to_f32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
        return;
    case AURIS_DT_BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = auris__bf16_to_f32((uint16_t)(s[2 * i] | (s[2 * i + 1] << 8)));
        return;
    default:
        break;
    }
    const size_t bs = auris__dtype_block_bytes(t);
    if (!bs) {
        memset(dst, 0, n * sizeof *dst);
        return;
    }
    for (size_t b = 0; b < n / AURIS__QK8_0; b++, s += bs)
        auris__qblock_to_f32(t, s, dst + b * AURIS__QK8_0);
}
