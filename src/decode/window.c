/*
 * window.c — one 30 s window as the reference's DecodingTask.run: the network as the logits
 * source of the state machine in task.c, then the text and its compression ratio.
 *
 * Reference: openai/whisper decoding.py — PyTorchInference (the first pass feeds every initial
 * token, later passes only the last one; rearrange_kv_cache), DecodingTask.run (text =
 * tokenizer.decode(tokens).strip(), compression_ratio(text)).
 * The n_group sequences start identical, so the first pass runs one sequence and the KV cache
 * is then shared out by auris__kv_reorder (the reference computes n_group equal copies).
 * Invariants: buffers are reserved before the loop (auris__nn_reserve, work reserve); the
 * session's model is only read.
 */
#include "decode/decode.h"

#include <math.h>
#include <stdlib.h>

struct nn_source {
    struct auris__nn_state *nn;
    int n_vocab;
    auris_abort_fn should_abort; /* the caller's cancellation, polled before each pass */
    void *abort_user;
};

static bool aborted(const struct nn_source *c)
{
    return c->should_abort && c->should_abort(c->abort_user);
}

static enum auris_err nn_first(void *ctx, const int *tokens, int n_tokens, int sot_index,
                               float *out)
{
    struct nn_source *c = ctx;
    if (aborted(c))
        return AURIS_ERR_CANCELLED;
    auris__decoder_reset(c->nn);
    int rows[2] = {n_tokens - 1, sot_index};
    return auris__decode_batch(c->nn, 1, tokens, n_tokens, rows, 2, out);
}

static enum auris_err nn_reorder(void *ctx, int n_seq, const int *src)
{
    struct nn_source *c = ctx;
    return auris__kv_reorder(c->nn, n_seq, src);
}

static enum auris_err nn_step(void *ctx, int n_seq, const int *tokens, int stride, int len,
                              float *out)
{
    struct nn_source *c = ctx;
    int last[AURIS__MAX_GROUP];
    if (aborted(c))
        return AURIS_ERR_CANCELLED;
    if (n_seq < 1 || n_seq > AURIS__MAX_GROUP || len < 1)
        return AURIS_ERR_INVALID_ARG;
    for (int i = 0; i < n_seq; i++)
        last[i] = tokens[(size_t)i * stride + len - 1];
    int row = 0;
    return auris__decode_batch(c->nn, n_seq, last, 1, &row, 1, out);
}

enum auris_err auris__decode_layout_of(struct auris_session *s,
                                      const struct auris__decode_options *o,
                                      struct auris__decode_layout *lay, struct auris_error *err)
{
    const auris_model *m = s->model;
    const struct auris__specials *sp = auris__tokenizer_specials(m->tok);
    memset(lay, 0, sizeof *lay);
    lay->n_vocab = m->dims.n_vocab;
    lay->n_text_ctx = m->dims.n_text_ctx;
    lay->n_audio_ctx = m->dims.n_audio_ctx;
    lay->eot = sp->eot;
    lay->sot = sp->sot;
    lay->sot_prev = sp->sot_prev;
    lay->no_timestamps = sp->no_timestamps;
    lay->no_speech = sp->no_speech;
    lay->timestamp_begin = sp->timestamp_begin;
    if (s->n_blank < 0) { /* tokenizer.encode(" "), once per session */
        int *ids = NULL;
        size_t n = 0;
        enum auris_err rc = auris__tokenizer_encode(m->tok, " ", 1, &ids, &n, err);
        if (rc != AURIS_OK)
            return rc;
        if (n > AURIS_ARRAY_LEN(s->blank))
            n = AURIS_ARRAY_LEN(s->blank);
        memcpy(s->blank, ids, n * sizeof *ids);
        free(ids);
        s->n_blank = (int)n;
    }
    memcpy(lay->blank, s->blank, (size_t)s->n_blank * sizeof *s->blank);
    lay->n_blank = s->n_blank;
    lay->n_sot_seq = auris__sot_sequence(m->tok, o, lay->sot_seq);
    return AURIS_OK;
}

enum auris_err auris__decode_window(struct auris_session *s, const struct auris__decode_options *o,
                                    struct auris__decode_result *res, struct auris_error *err)
{
    if (!s || !o || !res)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris__decode_window: NULL argument");
    memset(res, 0, sizeof *res);
    const auris_model *m = s->model;
    struct auris__decode_layout lay;
    enum auris_err rc = auris__decode_layout_of(s, o, &lay, err);
    if (rc != AURIS_OK)
        return rc;
    int fin_cap = 0;
    int n_group = auris__decode_group_size(o, &fin_cap, err);
    if (n_group < 0)
        return AURIS_ERR_INVALID_ARG;
    rc = auris__nn_reserve(&s->nn, n_group, err);
    if (rc == AURIS_OK)
        rc = auris__decode_work_reserve(&s->work, lay.n_vocab, lay.n_text_ctx, n_group, fin_cap,
                                        err);
    if (rc != AURIS_OK)
        return rc;

    struct nn_source ctx = {&s->nn, lay.n_vocab, o->should_abort, o->abort_user};
    struct auris__logits_source src = {&ctx, nn_first, nn_reorder, nn_step};
    rc = auris__decode_run(&lay, o, &src, &s->work, res, err);
    auris__decoder_reset(&s->nn);
    if (rc != AURIS_OK) {
        auris__decode_result_clear(res);
        return rc;
    }
    rc = auris__tokenizer_decode(m->tok, res->tokens, (size_t)res->n_tokens, &res->text, err);
    if (rc != AURIS_OK) {
        auris__decode_result_clear(res);
        return rc;
    }
    auris__strip_inplace(res->text);
    res->compression_ratio = auris__compression_ratio(res->text, strlen(res->text));
    return AURIS_OK;
}
