/*
 * language.c — language detection on an encoded window: one decoder pass over
 * <|startoftranscript|>, the most likely language token and the softmax over the language
 * tokens.
 *
 * Reference: openai/whisper decoding.py detect_language (logits at the sot position, every
 * non-language token masked, argmax and softmax over what is left).
 * Invariants: uses the session's buffers only; the KV cache is left empty.
 */
#include "decode/decode.h"

#include <math.h>

int auris__detect_language_encoded(struct auris_session *s, float *probs)
{
    const auris_model *m = s->model;
    const struct auris__specials *sp = auris__tokenizer_specials(m->tok);
    if (sp->n_langs <= 0)
        return -1;
    auris__decoder_reset(&s->nn);
    int row = 0;
    if (auris__decode(&s->nn, &sp->sot, 1, &row, 1, s->logits) != AURIS_OK)
        return -1;
    const float *l = s->logits + sp->lang_begin;
    int best = auris__decode_argmax(l, sp->n_langs);
    if (probs) {
        double lse = auris__decode_log_sum_exp(l, sp->n_langs);
        for (int i = 0; i < sp->n_langs; i++)
            probs[i] = (float)exp((double)l[i] - lse);
    }
    auris__decoder_reset(&s->nn);
    return best;
}
