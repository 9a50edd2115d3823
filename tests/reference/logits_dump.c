/*
 * logits_dump.c — teacher-forced decoder logits of one model for a given token sequence, so that
 * test_families.py can compare the same sequence under differently stored weights (q8_0 vs f16).
 *
 * Reference: openai/whisper's first 30 s window (log_mel_spectrogram with N_SAMPLES of padding,
 * pad_or_trim) and one decoder call over the whole sequence.
 * Invariants: the output is raw little-endian float32 [n_tokens][n_vocab]; the model's own mel
 * filterbank is used; nothing is printed on stdout.
 *
 * Usage: logits_dump MODEL AUDIO TOKENS OUT [COMPUTE_TYPE [step]]
 *   TOKENS: comma-separated ids (the start sequence included); OUT: the .f32 file to write;
 *   COMPUTE_TYPE: the model-load compute type (int8, float32, ...; default: as stored);
 *   step: feed the tokens one decoder call each (the one-row products of real decoding)
 *   instead of one call over the whole sequence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "auris.h"
#include "model/model.h"
#include "nn/nn.h"

#define WINDOW 3000

static int parse_tokens(const char *s, int **out, int *n)
{
    int cap = 16, k = 0;
    int *t = malloc((size_t)cap * sizeof *t);
    while (t && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 1000000)
            break;
        if (k == cap) {
            int *u = realloc(t, (size_t)(cap *= 2) * sizeof *t);
            if (!u)
                break;
            t = u;
        }
        t[k++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (!*end) {
            *out = t;
            *n = k;
            return 0;
        }
    }
    free(t);
    return -1;
}

int main(int argc, char **argv)
{
    struct auris_model_params mp = auris_model_default_params();
    if (argc < 5 || argc > 7 || (argc >= 6 && auris_compute_type_from_name(argv[5], &mp.compute_type)) ||
        (argc == 7 && strcmp(argv[6], "step"))) {
        fprintf(stderr, "usage: logits_dump MODEL AUDIO TOKENS OUT [COMPUTE_TYPE [step]]\n");
        return 2;
    }
    struct auris_error err = {0};
    auris_model *m = NULL;
    struct auris__nn_state st;
    memset(&st, 0, sizeof st);
    float *pcm = NULL, *mel = NULL, *window = NULL, *logits = NULL;
    int *tokens = NULL, *rows = NULL, n = 0, n_frames = 0, rc = 1;
    size_t n_samples = 0;
    if (parse_tokens(argv[3], &tokens, &n)) {
        fprintf(stderr, "logits_dump: bad token list\n");
        goto done;
    }
    if (auris_model_load(argv[1], &mp, &m, &err) ||
        auris_audio_load(argv[2], &pcm, &n_samples, &err) ||
        auris__nn_state_init(&st, m, 2, &err)) {
        fprintf(stderr, "logits_dump: %s\n", err.message);
        goto done;
    }
    const struct auris_model_dims *d = auris_model_get_dims(m);
    if (n > d->n_text_ctx) {
        fprintf(stderr, "logits_dump: %d tokens exceed n_text_ctx\n", n);
        goto done;
    }
    window = malloc((size_t)d->n_mels * WINDOW * sizeof *window);
    logits = malloc((size_t)n * (size_t)d->n_vocab * sizeof *logits);
    rows = malloc((size_t)n * sizeof *rows);
    if (!window || !logits || !rows ||
        auris__log_mel(pcm, n_samples, AURIS_N_SAMPLES, m->mel_filters, d->n_mels, 2, &mel,
                       &n_frames, &err)) {
        fprintf(stderr, "logits_dump: log-mel failed: %s\n", err.message);
        goto done;
    }
    auris__mel_window(mel, d->n_mels, n_frames, 0, window);
    for (int i = 0; i < n; i++)
        rows[i] = i;
    int failed = auris__encode(&st, window) != AURIS_OK;
    if (argc == 7) /* one token per call: the rows go through the few-row (GEMV) products */
        for (int i = 0; i < n && !failed; i++)
            failed = auris__decode(&st, tokens + i, 1, rows, 1,
                                   logits + (size_t)i * (size_t)d->n_vocab) != AURIS_OK;
    else if (!failed)
        failed = auris__decode(&st, tokens, n, rows, n, logits) != AURIS_OK;
    if (failed) {
        fprintf(stderr, "logits_dump: the network failed (token out of range?)\n");
        goto done;
    }
    FILE *f = fopen(argv[4], "wb");
    if (!f || fwrite(logits, sizeof *logits, (size_t)n * (size_t)d->n_vocab, f) !=
                  (size_t)n * (size_t)d->n_vocab) {
        fprintf(stderr, "logits_dump: cannot write %s\n", argv[4]);
        if (f)
            fclose(f);
        goto done;
    }
    rc = fclose(f) ? 1 : 0;
done:
    free(rows);
    free(logits);
    free(window);
    free(mel);
    auris_free(pcm);
    free(tokens);
    auris__nn_state_free(&st);
    auris_model_free(m);
    return rc;
}
