/*
 * common.c — the version query, error messages, the log callback, half/bfloat conversion and
 * aligned allocation.
 *
 * Reference: IEEE 754-2008 binary16; bfloat16 is the top half of a binary32.
 */
#include "common.h"
#include "kernels/kernels.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define AURIS_STR_(x) #x
#define AURIS_STR(x) AURIS_STR_(x)

const char *auris_version(void)
{
    return AURIS_STR(AURIS_VERSION_MAJOR) "." AURIS_STR(AURIS_VERSION_MINOR) "." AURIS_STR(
        AURIS_VERSION_PATCH);
}

const char *auris_kernels_isa(void)
{
    return auris__kernels_isa();
}

static auris_log_fn g_log_fn;
static void *g_log_user;

const char *auris_strerror(enum auris_err code)
{
    switch (code) {
    case AURIS_OK: return "success";
    case AURIS_ERR_INVALID_ARG: return "invalid argument";
    case AURIS_ERR_NOMEM: return "out of memory";
    case AURIS_ERR_IO: return "input/output error";
    case AURIS_ERR_FORMAT: return "malformed file";
    case AURIS_ERR_AUDIO: return "unreadable audio";
    case AURIS_ERR_UNSUPPORTED: return "not supported";
    case AURIS_ERR_NOT_FOUND: return "not found";
    case AURIS_ERR_TOKENIZER: return "tokenizer error";
    case AURIS_ERR_CANCELLED: return "cancelled";
    case AURIS_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

enum auris_err auris__fail(struct auris_error *err, enum auris_err code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        /* keep it one line: a message is printed as "auris: <message>" */
        for (char *p = err->message; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return code;
}

void auris_set_log_callback(auris_log_fn fn, void *user)
{
    g_log_fn = fn;
    g_log_user = user;
}

void auris__log(enum auris_log_level level, const char *fmt, ...)
{
    if (!g_log_fn)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_log_fn(g_log_user, level, buf);
}

void auris_free(void *p)
{
    free(p);
}

float auris__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t auris__f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xff) /* inf / NaN (keep NaN quiet) */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) { /* subnormal or zero, round to nearest even */
        if (e < -10)
            return (uint16_t)sign;
        man |= 0x800000u;
        int shift = 14 - e;
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++; /* may carry into the exponent, which is the right answer */
    return (uint16_t)h;
}

float auris__bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void *auris__aligned_alloc(size_t n_bytes)
{
    if (n_bytes == 0)
        n_bytes = 64;
    if (n_bytes > SIZE_MAX - 63)
        return NULL;
    size_t rounded = (n_bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, rounded);
}

void auris__aligned_free(void *p)
{
    free(p);
}

char *auris__strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
