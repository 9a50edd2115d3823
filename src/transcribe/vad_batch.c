/*
 * vad_batch.c — the batched VAD pipeline (see vad_batch.h): up to batch_size chunks are encoded
 * one after the other (each encoder output's cross-attention K/V kept in its own batch slot) and
 * decoded together, greedily, as one decoder batch.
 *
 * Reference: openai/whisper decoding.py run on a batch of audio (GreedyDecoder at temperature 0:
 * argmax of the filtered logits, log-probabilities summed while a sequence has not ended, ended
 * sequences fed <|endoftext|>, the loop ends when every sequence has); transcribe.py's per-window
 * no-speech skip and segment splitting; faster-whisper's BatchedInferencePipeline (one window per
 * chunk, no fallback, no conditioning). The start sequence is fed one token per step so that every
 * product has one row per sequence (the multi-row GEMV path gives every row the bits it would get
 * alone): a chunk's tokens never depend on batch_size. A sequence that ends leaves the batch
 * (its cache slot is dropped, the others keep theirs and their audio's cross K/V through
 * nn.bcross_index), so the rest of the loop pays only for live sequences; the per-sequence
 * filters, argmax and log-probabilities of a step run as one pool task per sequence.
 * Invariants: buffers are allocated once per call, before any decoding; every chunk's segments
 * are appended in time order; nothing leaks on failure.
 */
#include "transcribe/vad_batch.h"
#include "transcribe/transcribe.h"
#include "audio/audio.h"
#include "decode/decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct batch {
    auris_session *s;
    const struct auris_transcribe_params *p;
    struct auris__decode_layout lay;
    struct auris__decode_options o;
    int *suppress;
    int V, stride, len0, sot_index, input_stride;
    int *tok;            /* [B][stride] running sequences */
    float *logits;       /* [B][V] */
    bool slot0_ready;    /* chunk 0 already encoded into slot 0 (language detection) */
    float sum[AURIS_MAX_BATCH];
    double no_speech[AURIS_MAX_BATCH];
    int seg_frames[AURIS_MAX_BATCH]; /* content frames of each chunk's window (<= 3000) */
    struct auris__span *spans;       /* [n_text_ctx + 2] */
};

/* Mel window of chunk audio pcm[0..n) encoded; its cross K/V stored in batch slot b. */
static enum auris_err encode_chunk(struct batch *bt, const float *pcm, size_t n, int b,
                                   struct auris_error *err)
{
    auris_session *s = bt->s;
    const auris_model *m = s->model;
    float *mel = NULL;
    int n_frames = 0;
    enum auris_err e = auris__log_mel(pcm, n, AURIS_N_SAMPLES, m->mel_filters, m->dims.n_mels,
                                      auris__pool_size(s->nn.pool), &mel, &n_frames, err);
    if (e != AURIS_OK)
        return e;
    int content = n_frames - AURIS_N_FRAMES;
    bt->seg_frames[b] = AURIS_MIN(AURIS_N_FRAMES, content);
    auris__window_from(mel, m->dims.n_mels, n_frames, 0, bt->seg_frames[b], s->mel_window);
    free(mel);
    e = auris__encode(&s->nn, s->mel_window);
    if (e != AURIS_OK)
        return auris__fail(err, e, "encoder failed");
    auris__nn_batch_store(&s->nn, b);
    return AURIS_OK;
}

/* Feeds token column `col` of the n_live live sequences (batch positions live[]); the logits
 * of the new position to bt->logits [n_live][V] when `want_logits` (a start token between
 * <|startoftranscript|> and the last needs none: the vocabulary pass is skipped). */
static enum auris_err feed(struct batch *bt, int n_live, const int *live, int col,
                           bool want_logits, struct auris_error *err)
{
    int last[AURIS_MAX_BATCH], row = 0;
    for (int i = 0; i < n_live; i++)
        last[i] = bt->tok[(size_t)live[i] * bt->stride + col];
    enum auris_err e = auris__decode_batch(&bt->s->nn, n_live, last, 1, &row,
                                           want_logits ? 1 : 0, bt->logits);
    return e == AURIS_OK ? AURIS_OK : auris__fail(err, e, "decoder forward pass failed");
}

/* One greedy step of the live sequences, one pool task per sequence: the filters, the argmax
 * and the token's log-probability (GreedyDecoder.update at temperature 0). */
struct select_ctx {
    struct batch *bt;
    const int *live;
    int len;
    int next[AURIS_MAX_BATCH];
    float logprob[AURIS_MAX_BATCH];
};

static void select_task(void *c, int i, int thread)
{
    struct select_ctx *sc = c;
    struct batch *bt = sc->bt;
    (void)thread;
    const int *row = bt->tok + (size_t)sc->live[i] * bt->stride;
    float *x = bt->logits + (size_t)i * bt->V;
    auris__decode_filter(&bt->lay, &bt->o, bt->len0, row, sc->len, x);
    int next = auris__decode_argmax(x, bt->V);
    sc->next[i] = next;
    sc->logprob[i] = (float)((double)x[next] - auris__decode_log_sum_exp(x, bt->V));
}

/* Drops the sequences that just ended from the decoder batch: the survivors keep their order,
 * their self-attention cache slots (no copy) and their audio's cross K/V slot. */
static enum auris_err compact(struct batch *bt, int *n_live, int *live, const int *next,
                              struct auris_error *err)
{
    struct auris__nn_state *nn = &bt->s->nn;
    int src[AURIS_MAX_BATCH], k = 0;
    for (int i = 0; i < *n_live; i++)
        if (next[i] != bt->lay.eot) {
            src[k] = i;
            live[k++] = live[i];
        }
    if (k == *n_live || k == 0) {
        *n_live = k;
        return AURIS_OK;
    }
    enum auris_err e = auris__kv_reorder(nn, k, src);
    if (e != AURIS_OK)
        return auris__fail(err, e, "decoder cache compaction failed");
    for (int i = 0; i < k; i++)
        nn->bcross_index[i] = live[i];
    *n_live = k;
    return AURIS_OK;
}

/* Greedy decoding of nb encoded chunks together; returns the length reached. Sequences that
 * end leave the batch (the reference feeds them <|endoftext|> until all have ended, which
 * changes nothing in the others: every row's products are independent). */
static enum auris_err decode_batch(struct batch *bt, int nb, int *len_out,
                                   struct auris_error *err)
{
    struct auris__nn_state *nn = &bt->s->nn;
    const int V = bt->V, n_ctx = bt->lay.n_text_ctx;
    int zeros[AURIS_MAX_BATCH] = {0}, live[AURIS_MAX_BATCH], n_live = nb;
    enum auris_err e = auris__nn_reserve(nn, nb, err);
    if (e != AURIS_OK)
        return e;
    auris__decoder_reset(nn);
    if ((e = auris__kv_reorder(nn, nb, zeros)) != AURIS_OK)
        return auris__fail(err, e, "decoder cache setup failed");
    for (int b = 0; b < nb; b++) {
        if (b > 0)
            memcpy(bt->tok + (size_t)b * bt->stride, bt->tok, (size_t)bt->len0 * sizeof *bt->tok);
        bt->sum[b] = 0.0f;
        live[b] = b;
        nn->bcross_index[b] = b;
    }
    nn->bcross_on = true;
    for (int t = 0; t < bt->len0 && e == AURIS_OK; t++) {
        e = feed(bt, nb, live, t, t == bt->sot_index || t == bt->len0 - 1, err);
        for (int b = 0; e == AURIS_OK && t == bt->sot_index && b < nb; b++) {
            const float *x = bt->logits + (size_t)b * V;
            bt->no_speech[b] = exp((double)x[bt->lay.no_speech] - auris__decode_log_sum_exp(x, V));
        }
    }
    int len = bt->len0;
    const int sample_len = bt->o.sample_len;
    struct select_ctx sc = {.bt = bt, .live = live};
    for (int i = 0; e == AURIS_OK && i < sample_len; i++) {
        sc.len = len;
        auris__pool_run(nn->pool, select_task, &sc, n_live);
        for (int k = 0; k < n_live; k++) {
            int b = live[k];
            bt->tok[(size_t)b * bt->stride + len] = sc.next[k];
            bt->sum[b] += sc.logprob[k];
        }
        len++;
        if ((e = compact(bt, &n_live, live, sc.next, err)) != AURIS_OK)
            break;
        if (n_live == 0 || len > n_ctx)
            break;
        e = feed(bt, n_live, live, len - 1, true, err);
    }
    nn->bcross_on = false;
    auris__decoder_reset(nn);
    *len_out = len;
    return e;
}

/* Segments of chunk c (sequence b) as transcribe.py makes them from one window. */
static enum auris_err chunk_segments(struct batch *bt, int b, int len,
                                     const struct auris__vad_plan *plan, int c, double t_max,
                                     struct auris_result *out, struct auris_error *err)
{
    const struct auris__tokenizer *tok = bt->s->model->tok;
    const int eot = bt->lay.eot, tb = bt->lay.timestamp_begin;
    const int *row = bt->tok + (size_t)b * bt->stride + bt->len0;
    int n = 0;
    while (bt->len0 + n < len && row[n] != eot)
        n++;
    struct auris__decode_result d = {0};
    d.n_tokens = n;
    d.sum_logprob = bt->sum[b];
    d.avg_logprob = d.sum_logprob / (double)(n + 1);
    d.no_speech_prob = bt->no_speech[b];
    if (auris__should_skip(d.avg_logprob, d.no_speech_prob, bt->p->logprob_threshold,
                           bt->p->no_speech_threshold))
        return AURIS_OK;
    enum auris_err e = auris__tokenizer_decode(tok, row, (size_t)n, &d.text, err);
    if (e != AURIS_OK)
        return e;
    auris__strip_inplace(d.text);
    d.compression_ratio = auris__compression_ratio(d.text, strlen(d.text));
    free(d.text);
    int delta = 0;
    int n_spans = auris__split_window(row, n, tb, 0.0, bt->seg_frames[b], bt->input_stride,
                                      bt->spans, &delta);
    struct auris_segment *segs =
        realloc(out->segments, (size_t)(out->n_segments + n_spans + 1) * sizeof *segs);
    if (!segs)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    out->segments = segs;
    for (int i = 0; i < n_spans; i++) {
        const struct auris__span *sp = &bt->spans[i];
        struct auris_segment *sg = &segs[out->n_segments];
        memset(sg, 0, sizeof *sg);
        int k = sp->end - sp->begin, n_text = 0;
        sg->tokens = malloc((size_t)(k > 0 ? k : 1) * sizeof *sg->tokens);
        if (!sg->tokens)
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        for (int j = 0; j < k; j++)
            if (row[sp->begin + j] < eot)
                sg->tokens[n_text++] = row[sp->begin + j];
        e = auris__tokenizer_decode(tok, sg->tokens, (size_t)n_text, &sg->text, err);
        if (e != AURIS_OK) {
            free(sg->tokens);
            return e;
        }
        memcpy(sg->tokens, row + sp->begin, (size_t)k * sizeof *sg->tokens);
        sg->n_tokens = k;
        sg->id = out->n_segments;
        double a = auris__vad_map_time(plan, c, sp->start, false);
        double z = auris__vad_map_time(plan, c, sp->end_time, true);
        sg->start = AURIS_MIN(t_max, a);
        sg->end = AURIS_MIN(t_max, z);
        sg->seek = (int)llround(auris__vad_map_time(plan, c, 0.0, false) * 100.0);
        sg->avg_logprob = d.avg_logprob;
        sg->compression_ratio = d.compression_ratio;
        sg->no_speech_prob = d.no_speech_prob;
        out->n_segments++;
        if (bt->p->on_segment && !bt->p->on_segment(bt->p->user, sg))
            return auris__fail(err, AURIS_ERR_CANCELLED, "cancelled by the segment callback");
        char *probe = auris__strdup(sg->text);
        if (!probe)
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        auris__strip_inplace(probe);
        if (sp->start == sp->end_time || probe[0] == '\0') {
            sg->text[0] = '\0';
            sg->n_tokens = 0;
            sg->has_words = true; /* the reference sets segment["words"] = [] */
        }
        free(probe);
    }
    return AURIS_OK;
}

/* The options batched decoding supports; INVALID_ARG for the ones it cannot honour (the
 * common checks ran before, in auris__check_transcribe_params). */
static enum auris_err check_batched(const struct auris_transcribe_params *p,
                                    struct auris_error *err)
{
    const char *bad = p->word_timestamps ? "word timestamps"
                      : (p->prefix && p->prefix[0]) ? "a prefix"
                      : p->initial_prompt ? "an initial prompt"
                      : !isnan(p->patience) ? "a patience"
                      : !isnan(p->length_penalty) ? "a length penalty"
                      : (p->temperatures && p->n_temperatures > 0 && p->temperatures[0] != 0.0)
                          ? "a temperature other than 0"
                          : NULL;
    if (bad)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "batched decoding does not support %s "
                           "(it is greedy at temperature 0, without prompts)", bad);
    return AURIS_OK;
}

/* Language, options, layout and buffers; detects the language on chunk 0 when not given. */
static enum auris_err setup(struct batch *bt, const float *pcm, const struct auris__vad_plan *plan,
                            float *buf, int batch_size, struct auris_result *out,
                            struct auris_error *err)
{
    auris_session *s = bt->s;
    const auris_model *m = s->model;
    const struct auris_transcribe_params *p = bt->p;
    enum auris_err e = auris__nn_batch_reserve(&s->nn, batch_size, err);
    if (e != AURIS_OK)
        return e;
    int lang = 0;
    if (p->language) {
        lang = auris_language_index(p->language);
        if (lang < 0)
            return auris__fail(err, AURIS_ERR_INVALID_ARG, "unknown language '%s'", p->language);
    }
    if (auris_model_n_languages(m) == 0)
        lang = 0;
    else if (!p->language) {
        auris__vad_chunk_audio(plan, 0, pcm, buf);
        e = encode_chunk(bt, buf, (size_t)plan->chunks[0].n_samples, 0, err);
        if (e != AURIS_OK)
            return e;
        int nl = auris_model_n_languages(m);
        out->language_probs = malloc((size_t)nl * sizeof(float));
        if (!out->language_probs)
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        out->n_language_probs = nl;
        bt->slot0_ready = true;
        lang = auris__detect_language_encoded(s, out->language_probs);
        if (lang < 0)
            return auris__fail(err, AURIS_ERR_INTERNAL, "language detection failed");
        if (p->on_language && !p->on_language(p->user, auris_language_code(lang),
                                              out->language_probs, nl))
            return auris__fail(err, AURIS_ERR_CANCELLED, "cancelled by the language callback");
    }
    snprintf(out->language, sizeof out->language, "%s", auris_language_code(lang));
    memset(&bt->o, 0, sizeof bt->o);
    bt->o.task = p->task;
    bt->o.language_token = auris__tokenizer_language_token(m->tok, auris_language_code(lang));
    bt->o.without_timestamps = p->without_timestamps;
    bt->o.suppress_blank = p->suppress_blank;
    bt->o.sample_len = p->sample_len > 0 ? p->sample_len : m->dims.n_text_ctx / 2;
    bt->o.temperature = 0.0f;
    bt->o.beam_size = 1;
    bt->o.best_of = 1;
    bt->o.patience = NAN;
    bt->o.length_penalty = NAN;
    bt->o.max_initial_timestamp = p->max_initial_timestamp;
    size_t n_sup = 0;
    e = auris__suppress_tokens(m->tok, p->suppress_tokens, &bt->suppress, &n_sup, err);
    if (e != AURIS_OK)
        return e;
    bt->o.suppress = bt->suppress;
    bt->o.n_suppress = n_sup;
    if ((e = auris__decode_layout_of(s, &bt->o, &bt->lay, err)) != AURIS_OK)
        return e;
    bt->V = bt->lay.n_vocab;
    bt->stride = bt->lay.n_text_ctx + 2;
    bt->input_stride = AURIS_N_FRAMES / m->dims.n_audio_ctx;
    bt->tok = malloc((size_t)batch_size * bt->stride * sizeof *bt->tok);
    bt->logits = malloc((size_t)batch_size * bt->V * sizeof *bt->logits);
    bt->spans = malloc(((size_t)bt->lay.n_text_ctx + 2) * sizeof *bt->spans);
    if (!bt->tok || !bt->logits || !bt->spans)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for a batch of %d", batch_size);
    bt->len0 = auris__initial_tokens(&bt->lay, &bt->o, bt->tok, bt->stride, &bt->sot_index);
    if (bt->len0 < 1 || bt->sot_index < 0)
        return auris__fail(err, AURIS_ERR_INTERNAL, "batched decoding: no start sequence");
    return AURIS_OK;
}

/* The result's text: the decoded text tokens of every segment, in order (transcribe.py). */
static enum auris_err result_text(auris_session *s, struct auris_result *out,
                                  struct auris_error *err)
{
    const int eot = auris__tokenizer_specials(s->model->tok)->eot;
    size_t n = 0;
    for (int i = 0; i < out->n_segments; i++)
        n += (size_t)out->segments[i].n_tokens;
    int *all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (int i = 0; i < out->n_segments; i++)
        for (int j = 0; j < out->segments[i].n_tokens; j++)
            if (out->segments[i].tokens[j] < eot)
                all[k++] = out->segments[i].tokens[j];
    free(out->text);
    out->text = NULL;
    enum auris_err e = auris__tokenizer_decode(s->model->tok, all, k, &out->text, err);
    free(all);
    return e;
}

enum auris_err auris__vad_run_batched(auris_session *s, const float *pcm,
                                      const struct auris__vad_plan *plan, float *buf,
                                      const struct auris_transcribe_params *p, int batch_size,
                                      double t_max, struct auris_result *out,
                                      struct auris_error *err)
{
    enum auris_err e = check_batched(p, err);
    if (e != AURIS_OK)
        return e;
    struct batch bt;
    memset(&bt, 0, sizeof bt);
    bt.s = s;
    bt.p = p;
    e = setup(&bt, pcm, plan, buf, batch_size, out, err);
    int64_t done = 0, total = 0;
    for (int c = 0; c < plan->n_chunks; c++)
        total += plan->chunks[c].n_samples / AURIS_HOP_LENGTH;
    for (int c0 = 0; e == AURIS_OK && c0 < plan->n_chunks; c0 += batch_size) {
        int nb = AURIS_MIN(batch_size, plan->n_chunks - c0);
        for (int b = 0; e == AURIS_OK && b < nb; b++) {
            if (c0 + b == 0 && bt.slot0_ready)
                continue; /* encoded for language detection already */
            auris__vad_chunk_audio(plan, c0 + b, pcm, buf);
            e = encode_chunk(&bt, buf, (size_t)plan->chunks[c0 + b].n_samples, b, err);
        }
        int len = 0;
        if (e == AURIS_OK)
            e = decode_batch(&bt, nb, &len, err);
        for (int b = 0; e == AURIS_OK && b < nb; b++) {
            e = chunk_segments(&bt, b, len, plan, c0 + b, t_max, out, err);
            done += plan->chunks[c0 + b].n_samples / AURIS_HOP_LENGTH;
        }
        if (e == AURIS_OK && p->on_progress && !p->on_progress(p->user, done, total))
            e = auris__fail(err, AURIS_ERR_CANCELLED, "cancelled by the progress callback");
    }
    if (e == AURIS_OK)
        e = result_text(s, out, err);
    s->nn.bcross_on = false;
    free(bt.suppress);
    free(bt.tok);
    free(bt.logits);
    free(bt.spans);
    return e;
}
