/*
 * session.c — creation and release of auris_session, the per-request state.
 *
 * Invariants: the buffers a transcription needs are allocated here from the model's dimensions,
 * except those sized by the decoding options (beams, samples), which auris__decode_window
 * reserves before its loop and keeps for later windows; auris_session_free releases all of it
 * (NULL-safe, single cleanup path). auris__session_encode runs the encoder on a window only
 * when it is not the one already encoded (a copy of its input is kept to tell).
 */
#include "decode/decode.h"

#include <stdlib.h>
#include <string.h>

struct auris_session_params auris_session_default_params(void)
{
    struct auris_session_params p = {.n_threads = 0};
    return p;
}

void auris_session_free(auris_session *s)
{
    if (!s)
        return;
    auris__nn_state_free(&s->nn);
    auris__decode_work_free(&s->work);
    auris__aligned_free(s->mel_window);
    auris__aligned_free(s->mel_encoded);
    auris__aligned_free(s->logits);
    auris__aligned_free(s->logprobs);
    free(s->tokens);
    free(s);
}

enum auris_err auris_session_create(const auris_model *model,
                                    const struct auris_session_params *params,
                                    auris_session **out, struct auris_error *err)
{
    if (!model || !out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_session_create: NULL argument");
    *out = NULL;
    struct auris_session_params p = params ? *params : auris_session_default_params();
    const struct auris_model_dims *d = &model->dims;
    enum auris_err rc;
    auris_session *s = calloc(1, sizeof *s);
    if (!s)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory creating a session");
    s->model = model;
    s->n_blank = -1;
    rc = auris__nn_state_init(&s->nn, model, p.n_threads, err);
    if (rc != AURIS_OK)
        goto fail;
    s->mel_window = auris__aligned_alloc((size_t)d->n_mels * AURIS_N_FRAMES * sizeof(float));
    s->mel_encoded = auris__aligned_alloc((size_t)d->n_mels * AURIS_N_FRAMES * sizeof(float));
    s->logits = auris__aligned_alloc(2 * (size_t)d->n_vocab * sizeof(float));
    s->logprobs = auris__aligned_alloc((size_t)d->n_vocab * sizeof(float));
    s->tokens = malloc(((size_t)d->n_text_ctx + 1) * sizeof(int));
    if (!s->mel_window || !s->mel_encoded || !s->logits || !s->logprobs || !s->tokens) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory creating a session");
        goto fail;
    }
    *out = s;
    return AURIS_OK;
fail:
    auris_session_free(s);
    return rc;
}

enum auris_err auris__session_encode(auris_session *s)
{
    if (!s || !s->mel_window)
        return AURIS_ERR_INVALID_ARG;
    size_t bytes = (size_t)s->model->dims.n_mels * AURIS_N_FRAMES * sizeof(float);
    if (s->encoded_at && s->encoded_at == s->nn.n_encodes &&
        memcmp(s->mel_window, s->mel_encoded, bytes) == 0) {
        s->nn.n_past = 0; /* what auris__encode leaves */
        return AURIS_OK;
    }
    s->encoded_at = 0;
    enum auris_err rc = auris__encode(&s->nn, s->mel_window);
    if (rc != AURIS_OK)
        return rc;
    memcpy(s->mel_encoded, s->mel_window, bytes);
    s->encoded_at = s->nn.n_encodes;
    return AURIS_OK;
}
