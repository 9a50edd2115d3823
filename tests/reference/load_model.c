/*
 * load_model.c — loads one checkpoint with auris_model_load and reports the outcome, for the
 * hostile-input tests (test_hostile.py) and for manual checks.
 *
 * Usage: load_model MODEL [ASSETS_DIR]
 * Success: prints the dims as one line of "key=value" pairs plus a checksum of a few weights to
 * stdout and exits 0. Failure: prints "load_model: <error message>" (one line) to stderr and
 * exits 1. Invariant: any other exit status (a signal, a sanitizer abort) is a loader bug.
 */
#include "auris.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <stdio.h>

/* Sums a few elements of a weight so that every mapped or copied buffer is actually read. */
static double probe(const struct auris__tensor *t)
{
    int64_t n = t->ne[0] * t->ne[1] * (t->n_dims == 3 ? t->ne[2] : 1);
    double s = 0;
    for (int64_t i = 0; i < n; i += 1 + n / 7) {
        if (t->type == AURIS_DT_F32)
            s += ((const float *)t->data)[i];
        else
            s += auris__f16_to_f32(((const uint16_t *)t->data)[i]);
    }
    if (t->type == AURIS_DT_F32)
        s += ((const float *)t->data)[n - 1];
    else
        s += auris__f16_to_f32(((const uint16_t *)t->data)[n - 1]);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: load_model MODEL [ASSETS_DIR]\n");
        return 2;
    }
    struct auris_model_params params = auris_model_default_params();
    if (argc == 3)
        params.assets_dir = argv[2];
    struct auris_error err = {0};
    auris_model *m = NULL;
    if (auris_model_load(argv[1], &params, &m, &err) != AURIS_OK) {
        fprintf(stderr, "load_model: %s\n", err.message);
        return 1;
    }
    const struct auris_model_dims *d = auris_model_get_dims(m);
    double s = probe(&m->conv1_w) + probe(&m->tok_emb) + m->enc_pos[0] + m->dec_ln_b[0] +
               m->mel_filters[1];
    s += probe(&m->dec[d->n_text_layer - 1].cross.o_w) + probe(&m->enc[0].mlp2_w);
    printf("n_mels=%d n_audio_ctx=%d n_audio_state=%d n_audio_head=%d n_audio_layer=%d "
           "n_vocab=%d n_text_ctx=%d n_text_state=%d n_text_head=%d n_text_layer=%d "
           "multilingual=%d n_languages=%d tok_n_vocab=%d probe=%.6g\n",
           d->n_mels, d->n_audio_ctx, d->n_audio_state, d->n_audio_head, d->n_audio_layer,
           d->n_vocab, d->n_text_ctx, d->n_text_state, d->n_text_head, d->n_text_layer,
           (int)auris_model_is_multilingual(m), auris_model_n_languages(m),
           auris__tokenizer_n_vocab(m->tok), s);
    auris_model_free(m);
    return 0;
}
