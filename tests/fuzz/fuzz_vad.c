/*
 * fuzz_vad.c — libFuzzer target: Silero VAD model files, whisper.cpp's ggml layout
 * (src/vad/vad_load.c) or auris's native one (src/vad/vad_native.c, chosen by the "GGUF" magic,
 * parsed with its checksum and again without it), then, for whatever parses, one stream over a
 * few windows of a fixed signal.
 *
 * Reference: whisper.cpp models/convert-silero-vad-to-ggml.py (the layout); docs/FORMAT.md.
 * Invariants: the parser sees an exactly-sized heap copy of the input; a failure carries a
 * message; every outcome frees the model and the stream.
 */
#include "vad/vad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    struct auris_vad *v = calloc(1, sizeof *v);
    if (!buf || !v) {
        free(buf);
        free(v);
        return 0;
    }
    if (size)
        memcpy(buf, data, size);
    struct auris_error err = {0};
    enum auris_err rc;
    if (size >= 4 && memcmp(buf, "GGUF", 4) == 0) {
        /* native: with the checksum, then without it so that the tensor infos are reached */
        rc = auris__vad_parse_native(buf, size, v, 1, &err);
        if (rc != AURIS_OK && err.message[0] == '\0')
            __builtin_trap();
        if (rc != AURIS_OK) {
            auris_vad_free(v);
            v = calloc(1, sizeof *v);
            if (!v) {
                free(buf);
                return 0;
            }
            memset(&err, 0, sizeof err);
            rc = auris__vad_parse_native(buf, size, v, 0, &err);
        }
    } else {
        rc = auris__vad_parse_ggml(buf, size, v, &err);
    }
    if (rc != AURIS_OK && err.message[0] == '\0')
        __builtin_trap();
    if (rc == AURIS_OK) {
        float pcm[3 * AURIS_VAD_WINDOW / 2], probs[4];
        for (size_t i = 0; i < AURIS_ARRAY_LEN(pcm); i++)
            pcm[i] = 0.5f * sinf(0.05f * (float)i);
        auris_vad_stream *s = NULL;
        size_t n = 0;
        if (auris_vad_stream_create(v, &s, &err) == AURIS_OK &&
            auris_vad_stream_feed(s, pcm, AURIS_ARRAY_LEN(pcm), probs, 4, &n, &err) == AURIS_OK)
            n += (size_t)auris_vad_stream_flush(s, probs + n);
        for (size_t i = 0; i < n; i++)
            if (!(probs[i] >= 0.0f && probs[i] <= 1.0f))
                __builtin_trap();
        auris_vad_stream_free(s);
    }
    auris_vad_free(v);
    free(buf);
    return 0;
}
