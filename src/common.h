/*
 * common.h — internals shared by every module: error reporting, logging, half-precision
 * conversion and small allocation helpers.
 *
 * Invariants: nothing here prints or aborts; errors travel as enum auris_err plus an optional
 * struct auris_error message (see auris.h).
 */
#ifndef AURIS_COMMON_H
#define AURIS_COMMON_H

#include "auris.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define AURIS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AURIS_PRINTF(a, b)
#endif

/* Sets err (when non-NULL) to `code` and a formatted one-line message; returns `code` so that
 * callers can write `return auris__fail(err, AURIS_ERR_FORMAT, "...", ...);`. */
enum auris_err auris__fail(struct auris_error *err, enum auris_err code, const char *fmt, ...)
    AURIS_PRINTF(3, 4);

/* Emits one log line through the installed callback (no-op when none). */
void auris__log(enum auris_log_level level, const char *fmt, ...) AURIS_PRINTF(2, 3);

/* IEEE half <-> float, exact for every finite value, inf and NaN. */
float auris__f16_to_f32(uint16_t h);
uint16_t auris__f32_to_f16(float f);
/* bfloat16 -> float (exact). */
float auris__bf16_to_f32(uint16_t h);

/* 64-byte aligned allocation (cache lines and AVX-512 loads); free with auris__aligned_free.
 * Returns NULL on overflow or failure. */
void *auris__aligned_alloc(size_t n_bytes);
void auris__aligned_free(void *p);

/* Overflow-checked a*b; returns 0 and leaves *out untouched on overflow. */
static inline int auris__mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* Duplicates a NUL-terminated string with malloc; NULL on failure or NULL input. */
char *auris__strdup(const char *s);

#define AURIS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AURIS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define AURIS_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* AURIS_COMMON_H */
