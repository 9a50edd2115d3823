/*
 * byte_reader.h — bounds-checked little-endian reads from an in-memory file (the ggml loaders:
 * Whisper models in src/model/ggml.c, Silero VAD in src/vad/vad_load.c).
 * Invariant: a read never goes past `size`; a failed read consumes nothing and returns 0.
 */
#ifndef AURIS_BYTE_READER_H
#define AURIS_BYTE_READER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct auris__rd {
    const uint8_t *d;
    size_t size, pos;
};

/* *p = the next n bytes; 1, or 0 when fewer than n remain. */
static inline int auris__rd_take(struct auris__rd *r, size_t n, const uint8_t **p)
{
    if (r->size - r->pos < n)
        return 0;
    *p = r->d + r->pos;
    r->pos += n;
    return 1;
}

/* *v = the next little-endian int32; 1, or 0 at the end of the data. */
static inline int auris__rd_i32(struct auris__rd *r, int32_t *v)
{
    const uint8_t *p;
    if (!auris__rd_take(r, 4, &p))
        return 0;
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                 ((uint32_t)p[3] << 24);
    memcpy(v, &u, sizeof *v);
    return 1;
}

#endif /* AURIS_BYTE_READER_H */
