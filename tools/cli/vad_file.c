/*
 * vad_file.c — Silero VAD model files in `auris info` and `auris convert`: recognising them by
 * their header, describing them, and converting whisper.cpp's ggml file to auris's native one.
 *
 * Reference: docs/FORMAT.md ("Silero VAD files"); src/vad/vad_native.c (reader and writer).
 * Invariants: a file is treated as a VAD model only when its first bytes say so
 * (auris__vad_sniff); every other file goes to the Whisper loaders unchanged.
 */
#include "cli/vad.h"
#include "vad/vad.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_vad_file_kind(const char *path)
{
    uint8_t head[AURIS__VAD_SNIFF_BYTES];
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return AURIS__VAD_NOT;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return (int)auris__vad_sniff(head, n);
}

static size_t n_parameters(const auris_vad *v)
{
    struct auris__vad_slot slots[AURIS__VAD_N_SLOTS];
    auris__vad_list_slots(v, slots);
    size_t n = 0;
    for (int i = 0; i < AURIS__VAD_N_SLOTS; i++)
        n += auris__vad_slot_count(&slots[i]);
    return n;
}

int cli_vad_info(const char *path)
{
    int kind = cli_vad_file_kind(path);
    struct auris_error err = {0};
    auris_vad *v = NULL;
    if (auris_vad_load(path, &v, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s (a Silero VAD model file)\n", err.message);
        return 1;
    }
    printf("{\"model\": \"silero-vad\", \"version\": \"%d.%d.%d\", \"format\": \"%s\", "
           "\"sample_rate\": 16000, \"window\": %d, \"context\": %d, \"n_parameters\": %zu}\n",
           v->version[0], v->version[1], v->version[2],
           kind == AURIS__VAD_NATIVE ? "native" : "ggml", VAD_WINDOW, VAD_CONTEXT,
           n_parameters(v));
    auris_vad_free(v);
    return 0;
}

int cli_vad_convert(const char *in, const char *out, const char *type)
{
    if (type && strcmp(type, "f32") != 0) {
        fprintf(stderr, "auris: error: argument --type: a Silero VAD model is written as f32 "
                        "only (its probabilities stay bit-identical), not '%s'\n", type);
        return 2;
    }
    struct auris_error err = {0};
    auris_vad *v = NULL;
    if (auris_vad_load(in, &v, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        return 1;
    }
    char *copy = strdup(in);
    int rc = 0;
    if (!copy || auris__vad_write_native(v, out, basename(copy), &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", copy ? err.message : "out of memory");
        rc = 1;
    }
    free(copy);
    auris_vad_free(v);
    return rc;
}
