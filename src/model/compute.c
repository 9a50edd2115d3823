/*
 * compute.c — the model's compute type (faster-whisper's --compute_type): which form each weight
 * matrix takes at load, and the conversions bind.c applies (f32, f16, CTranslate2 int8 rows).
 *
 * Reference (facts only): CTranslate2 python/ctranslate2/specs/model_spec.py (_quantize: int8
 * weights are round(w * scale) with scale = 127 / max|row| per output row, 1 for an all-zero
 * row; Linear and Embeddings weights are quantized, the rest keep their type, or the float type
 * the compute type names: int8_float32, int8_float16) and src/types.cc (names; "float" is
 * float32; float16/bfloat16 without efficient hardware support are refused, not emulated).
 * Invariants: conversions write owned 64-byte-aligned buffers registered with the model; the
 * source rows are read with auris__row_to_f32 semantics (any alignment, any stored type); the
 * mapped pages a converted or copied tensor came from are handed back to the kernel
 * (MADV_DONTNEED on a read-only file mapping: a later read simply faults them in again), so a
 * load costs what the model keeps, not that plus the file.
 */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const type_names[] = {
    [AURIS_COMPUTE_DEFAULT] = "default",         [AURIS_COMPUTE_FLOAT32] = "float32",
    [AURIS_COMPUTE_FLOAT16] = "float16",         [AURIS_COMPUTE_BFLOAT16] = "bfloat16",
    [AURIS_COMPUTE_INT8] = "int8",               [AURIS_COMPUTE_INT8_FLOAT32] = "int8_float32",
    [AURIS_COMPUTE_INT8_FLOAT16] = "int8_float16",
};

const char *auris_compute_type_name(enum auris_compute_type type)
{
    if ((unsigned)type >= AURIS_ARRAY_LEN(type_names))
        return NULL;
    return type_names[type];
}

int auris_compute_type_from_name(const char *name, enum auris_compute_type *out)
{
    if (!name || !out)
        return -1;
    if (!strcmp(name, "float")) {
        *out = AURIS_COMPUTE_FLOAT32;
        return 0;
    }
    for (size_t i = 0; i < AURIS_ARRAY_LEN(type_names); i++)
        if (!strcmp(name, type_names[i])) {
            *out = (enum auris_compute_type)i;
            return 0;
        }
    return -1;
}

enum auris_compute_type auris_model_compute_type(const auris_model *model)
{
    return model ? model->compute : AURIS_COMPUTE_DEFAULT;
}

enum auris_err auris__compute_check(enum auris_compute_type type, struct auris_error *err)
{
    if (!auris_compute_type_name(type))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "compute_type %d is not a compute type",
                           (int)type);
    if (type == AURIS_COMPUTE_BFLOAT16)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                           "compute_type bfloat16 needs native bf16 arithmetic (AVX512-BF16), which "
                           "auris does not use on this CPU (kernels: %s); use float32, float16 or "
                           "int8", auris__kernels_isa());
    return AURIS_OK;
}

enum auris__dtype auris__compute_target(enum auris_compute_type ct, enum auris__dtype stored,
                                        int is_linear)
{
    switch (ct) {
    case AURIS_COMPUTE_FLOAT32: return AURIS_DT_F32;
    case AURIS_COMPUTE_FLOAT16: return AURIS_DT_F16;
    case AURIS_COMPUTE_INT8:
    case AURIS_COMPUTE_INT8_FLOAT32:
    case AURIS_COMPUTE_INT8_FLOAT16:
        if (is_linear)
            return AURIS_DT_I8R;
        if (ct == AURIS_COMPUTE_INT8_FLOAT32)
            return AURIS_DT_F32;
        if (ct == AURIS_COMPUTE_INT8_FLOAT16)
            return AURIS_DT_F16;
        return stored == AURIS_DT_I8R ? AURIS_DT_F32 : stored;
    default: return stored;
    }
}

void auris__model_release_pages(const auris_model *m, const void *p, size_t bytes)
{
    const uintptr_t a = (uintptr_t)p, e = a + bytes;
    const long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0 || bytes == 0)
        return;
    for (int i = -1; i < m->n_maps; i++) {
        const uintptr_t b = (uintptr_t)(i < 0 ? m->map : m->maps[i].data);
        const size_t size = i < 0 ? m->map_size : m->maps[i].size;
        if (!b || a < b || e > b + size)
            continue;
        /* only whole pages inside the range: a neighbour's bytes stay mapped in place */
        uintptr_t lo = (a + (uintptr_t)pg - 1) / (uintptr_t)pg * (uintptr_t)pg;
        uintptr_t hi = e / (uintptr_t)pg * (uintptr_t)pg;
        if (hi > lo)
            (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
        return;
    }
}

/* q[0..k) = round(x * scale) with scale = 127 / max|x| (1 for a zero row); returns the scale. */
static float quantize_row(const float *x, int64_t k, int8_t *q)
{
    float amax = 0.0f;
    for (int64_t i = 0; i < k; i++)
        amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    const float scale = amax > 0.0f ? 127.0f / amax : 1.0f;
    for (int64_t i = 0; i < k; i++) {
        /* to nearest, ties to even (numpy's rint): |x * scale| <= 127 (+ an ulp), far below
         * 2^22, where adding and subtracting 1.5 * 2^23 rounds exactly so */
        float v = x[i] * scale;
        v = (v + 12582912.0f) - 12582912.0f;
        q[i] = (int8_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
    }
    return scale;
}

enum auris_err auris__weight_convert(auris_model *m, const char *name,
                                     const struct auris__tensor *src, enum auris__dtype want,
                                     struct auris__tensor *dst, struct auris_error *err)
{
    const int64_t k = src->ne[src->n_dims - 1];
    int64_t rows = 1;
    for (int i = 0; i < src->n_dims - 1; i++)
        rows *= src->ne[i];
    const size_t n = (size_t)rows * (size_t)k; /* bounded by bind's dims checks */
    size_t bytes;
    if (want == AURIS_DT_I8R) {
        bytes = 64 + (size_t)rows * sizeof(float) + n;
        bytes = (bytes + 63) / 64 * 64;
    } else {
        bytes = auris__dtype_bytes(want, n);
    }
    float *row = malloc((size_t)k * sizeof *row);
    void *buf = bytes ? auris__aligned_alloc(bytes) : NULL;
    if (!row || !buf) {
        free(row);
        auris__aligned_free(buf);
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory converting tensor '%s'", name);
    }
    struct auris__i8r *d = buf;
    float *scale = (float *)((char *)buf + 64);
    int8_t *q = (int8_t *)(scale + rows);
    for (int64_t r = 0; r < rows; r++) {
        auris__row_to_f32(src, r, row);
        if (want == AURIS_DT_I8R)
            scale[r] = quantize_row(row, k, q + (size_t)r * (size_t)k);
        else if (want == AURIS_DT_F32)
            memcpy((float *)buf + (size_t)r * (size_t)k, row, (size_t)k * sizeof *row);
        else
            for (int64_t i = 0; i < k; i++)
                ((uint16_t *)buf)[(size_t)r * (size_t)k + (size_t)i] = auris__f32_to_f16(row[i]);
    }
    free(row);
    if (want == AURIS_DT_I8R) {
        d->q = q;
        d->scale = scale;
        d->rows = rows;
        d->k = k;
    }
    if (auris__model_own(m, buf))
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for tensor '%s'", name);
    *dst = *src;
    dst->type = want;
    dst->data = buf;
    if (src->type != AURIS_DT_I8R)
        auris__model_release_pages(m, src->data, auris__dtype_bytes(src->type, n));
    return AURIS_OK;
}
