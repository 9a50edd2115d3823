/*
 * convert_tool.c — test helper: loads a checkpoint and writes it as a native file, or dumps
 * teacher-forced logits for comparing weight types.
 * Usage: convert_tool IN OUT f32|f16|bf16|q8_0 [ASSETS_DIR]
 *        convert_tool --logits MODEL OUT.f32 [ASSETS_DIR]
 *        convert_tool --session-bytes MODEL [ASSETS_DIR]
 * The logits mode encodes a fixed pseudo-random mel window, feeds a fixed 64-token sequence
 * (start sequence, then ordinary text tokens) and writes the [64][n_vocab] f32 logits raw.
 * The session-bytes mode prints the heap bytes one auris_session_create takes for MODEL (glibc
 * mallinfo2 before and after), with the caches and work buffers reserved for BEAM sequences as
 * `auris bench` (its beam-5 pass) and a beam-5 transcription reserve them: the "buffers" of the
 * native and CTranslate2 memory tests.
 * Prints one-line errors; exit 1 on failure. Lets the native tests run without depending on how
 * the CLI wires `auris convert`.
 */
#include "decode/decode.h"
#include "model/model.h"
#include "nn/nn.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SEQ 64
#define BEAM 5

static int dump_logits(const auris_model *m, const char *out)
{
    const struct auris_model_dims *d = auris_model_get_dims(m);
    struct auris__nn_state st;
    struct auris_error err = {0};
    if (auris__nn_state_init(&st, m, 0, &err) != AURIS_OK) {
        fprintf(stderr, "convert_tool: %s\n", err.message);
        return 1;
    }
    size_t n_mel = (size_t)d->n_mels * AURIS_N_FRAMES;
    float *mel = malloc(n_mel * sizeof *mel);
    float *logits = malloc((size_t)N_SEQ * (size_t)d->n_vocab * sizeof *logits);
    int seq[N_SEQ], rows[N_SEQ], rc = 1;
    uint32_t x = 12345u;
    for (size_t i = 0; mel && i < n_mel; i++) { /* xorshift: reproducible log-mel-like values */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        mel[i] = (float)(x % 2000u) / 1000.0f - 1.0f;
    }
    seq[0] = d->n_vocab >= 51865 ? 50258 : 50257; /* <|startoftranscript|> */
    for (int i = 1; i < N_SEQ; i++)
        seq[i] = (i * 7919) % 50000; /* ordinary text tokens */
    for (int i = 0; i < N_SEQ; i++)
        rows[i] = i;
    FILE *f = NULL;
    if (mel && logits && auris__encode(&st, mel) == AURIS_OK &&
        auris__decode(&st, seq, N_SEQ, rows, N_SEQ, logits) == AURIS_OK &&
        (f = fopen(out, "wb")) != NULL &&
        fwrite(logits, sizeof *logits, (size_t)N_SEQ * d->n_vocab, f) == (size_t)N_SEQ * d->n_vocab)
        rc = 0;
    if (f && fclose(f) != 0)
        rc = 1;
    if (rc)
        fprintf(stderr, "convert_tool: computing or writing the logits failed\n");
    free(mel);
    free(logits);
    auris__nn_state_free(&st);
    return rc;
}

static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static int session_bytes(const auris_model *m)
{
    struct auris_error err = {0};
    struct auris_session_params sp = {.n_threads = 0};
    auris_session *s = NULL;
    size_t before = heap_bytes();
    const struct auris_model_dims *d = auris_model_get_dims(m);
    if (auris_session_create(m, &sp, &s, &err) != AURIS_OK ||
        auris__nn_reserve(&s->nn, BEAM, &err) != AURIS_OK ||
        auris__decode_work_reserve(&s->work, d->n_vocab, d->n_text_ctx, BEAM, 1, &err) !=
            AURIS_OK) {
        fprintf(stderr, "convert_tool: %s\n", err.message);
        auris_session_free(s);
        return 1;
    }
    printf("%zu\n", heap_bytes() - before);
    auris_session_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--session-bytes")) {
        struct auris_model_params p = auris_model_default_params();
        if (argc > 3)
            p.assets_dir = argv[3];
        struct auris_error err = {0};
        auris_model *m = NULL;
        if (auris_model_load(argv[2], &p, &m, &err) != AURIS_OK) {
            fprintf(stderr, "convert_tool: %s\n", err.message);
            return 1;
        }
        int rc = session_bytes(m);
        auris_model_free(m);
        return rc;
    }
    if (argc >= 4 && !strcmp(argv[1], "--logits")) {
        struct auris_model_params p = auris_model_default_params();
        if (argc > 4)
            p.assets_dir = argv[4];
        struct auris_error err = {0};
        auris_model *m = NULL;
        if (auris_model_load(argv[2], &p, &m, &err) != AURIS_OK) {
            fprintf(stderr, "convert_tool: %s\n", err.message);
            return 1;
        }
        int rc = dump_logits(m, argv[3]);
        auris_model_free(m);
        return rc;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: convert_tool IN OUT f32|f16|bf16|q8_0 [ASSETS_DIR]\n");
        return 2;
    }
    enum auris__dtype t;
    if (!strcmp(argv[3], "f32"))
        t = AURIS_DT_F32;
    else if (!strcmp(argv[3], "f16"))
        t = AURIS_DT_F16;
    else if (!strcmp(argv[3], "bf16"))
        t = AURIS_DT_BF16;
    else if (!strcmp(argv[3], "q8_0"))
        t = AURIS_DT_Q8_0;
    else {
        fprintf(stderr, "convert_tool: unknown type %s\n", argv[3]);
        return 2;
    }
    struct auris_model_params p = auris_model_default_params();
    if (argc > 4)
        p.assets_dir = argv[4];
    struct auris_error err = {0};
    auris_model *m = NULL;
    if (auris_model_load(argv[1], &p, &m, &err) != AURIS_OK) {
        fprintf(stderr, "convert_tool: %s\n", err.message);
        return 1;
    }
    int rc = 0;
    if (auris__native_write(m, argv[2], t, &err) != AURIS_OK) {
        fprintf(stderr, "convert_tool: %s\n", err.message);
        rc = 1;
    }
    auris_model_free(m);
    return rc;
}
