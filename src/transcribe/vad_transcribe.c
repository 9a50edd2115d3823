/*
 * vad_transcribe.c — transcription of the speech Silero VAD finds (public auris_transcribe_vad):
 * speech segments, <= 30 s chunks of concatenated speech (vad_chunks.c), each chunk transcribed
 * on its own, times mapped back onto the original timeline, results in time order.
 *
 * Reference: faster-whisper 1.2.1 (vad_filter: get_speech_timestamps with max_speech_duration_s
 * 30, collect_chunks, SpeechTimestampsMap restoring segment and word times); whisper.cpp's VAD
 * options. Sequential mode (batch_size 0) runs auris_transcribe_pcm on each chunk with every
 * option (conditioning on previous text stays inside a chunk; the language detected in the
 * first chunk is kept for the others). Batched mode (vad_batch.c) decodes N chunks at once.
 * Invariants: audio without speech produces an empty result and runs no decoder pass; on failure
 * *out stays NULL and nothing leaks.
 */
#include "transcribe/transcribe.h"
#include "transcribe/vad_chunks.h"
#include "transcribe/vad_batch.h"
#include "decode/decode.h"
#include "vad/vad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Maps the times of one chunk's segment (and its words) onto the original timeline. */
static void map_segment(const struct auris__vad_plan *plan, int c, struct auris_segment *sg,
                        double t_max)
{
    sg->start = AURIS_MIN(t_max, auris__vad_map_time(plan, c, sg->start, false));
    sg->end = AURIS_MIN(t_max, auris__vad_map_time(plan, c, sg->end, true));
    sg->seek = (int)llround(auris__vad_map_time(plan, c, sg->seek / 100.0, false) * 100.0);
    for (int w = 0; w < sg->n_words; w++) {
        sg->words[w].start = AURIS_MIN(t_max, auris__vad_map_time(plan, c, sg->words[w].start, false));
        sg->words[w].end = AURIS_MIN(t_max, auris__vad_map_time(plan, c, sg->words[w].end, true));
    }
}

struct relay {
    const struct auris_transcribe_params *user;
    const struct auris__vad_plan *plan;
    int chunk;
    double t_max;
    int64_t done_before, total;
    struct auris_word words[64];
};

static bool relay_segment(void *ctx, const struct auris_segment *seg)
{
    struct relay *r = ctx;
    struct auris_segment copy = *seg;
    struct auris_word *w = r->words;
    if (seg->n_words > (int)AURIS_ARRAY_LEN(r->words))
        w = malloc((size_t)seg->n_words * sizeof *w);
    if (seg->n_words && !w)
        copy.n_words = 0;
    else if (seg->n_words)
        memcpy(w, seg->words, (size_t)seg->n_words * sizeof *w);
    copy.words = w;
    map_segment(r->plan, r->chunk, &copy, r->t_max);
    bool go = r->user->on_segment(r->user->user, &copy);
    if (w != r->words)
        free(w);
    return go;
}

static bool relay_progress(void *ctx, int64_t done, int64_t total)
{
    struct relay *r = ctx;
    (void)total;
    return r->user->on_progress(r->user->user, r->done_before + done, r->total);
}

static bool relay_language(void *ctx, const char *code, const float *probs, int n)
{
    struct relay *r = ctx;
    return r->user->on_language(r->user->user, code, probs, n);
}

/* Appends chunk result `cr` (mapped) to `out`; takes ownership of its segments. */
static enum auris_err append_result(struct auris_result *out, struct auris_result *cr,
                                    const struct auris__vad_plan *plan, int c, double t_max,
                                    struct auris_error *err)
{
    size_t n_text = strlen(cr->text ? cr->text : "");
    size_t have = out->text ? strlen(out->text) : 0;
    char *text = realloc(out->text, have + n_text + 1);
    struct auris_segment *segs =
        realloc(out->segments, (size_t)(out->n_segments + cr->n_segments + 1) * sizeof *segs);
    if (text)
        out->text = text;
    if (segs)
        out->segments = segs;
    if (!text || !segs)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory merging chunk results");
    memcpy(text + have, cr->text ? cr->text : "", n_text + 1);
    for (int i = 0; i < cr->n_segments; i++) {
        struct auris_segment *sg = &segs[out->n_segments++];
        *sg = cr->segments[i];
        sg->id = out->n_segments - 1;
        map_segment(plan, c, sg, t_max);
    }
    cr->n_segments = 0;
    if (!out->language[0])
        memcpy(out->language, cr->language, sizeof out->language);
    if (!out->language_probs && cr->language_probs) {
        out->language_probs = cr->language_probs;
        out->n_language_probs = cr->n_language_probs;
        cr->language_probs = NULL;
    }
    return AURIS_OK;
}

/* Speech segments for transcription: the user's options with max_speech_duration_s <= 30. */
static enum auris_err find_speech(const auris_vad *vad, struct auris__pool *pool,
                                  const float *pcm, size_t n,
                                  const struct auris_vad_params *vp, struct auris__vad_plan *plan,
                                  struct auris_error *err)
{
    struct auris_vad_params p = vp ? *vp : auris_vad_default_params();
    if (!(p.max_speech_duration_s <= AURIS_CHUNK_SECONDS))
        p.max_speech_duration_s = AURIS_CHUNK_SECONDS;
    if (!(p.samples_overlap >= 0.0 && p.samples_overlap <= AURIS_CHUNK_SECONDS))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: samples_overlap %g is not in "
                           "[0, 30] s", p.samples_overlap);
    /* the probabilities on the session's threads (as auris_vad_probs computes them) */
    float *probs = NULL;
    size_t n_probs = 0;
    struct auris_vad_segment *segs = NULL;
    size_t n_segs = 0;
    enum auris_err e = auris__vad_probs_pool(vad, pool, pcm, n, &probs, &n_probs, err);
    if (e == AURIS_OK)
        e = auris_vad_segments_from_probs(probs, n_probs, n, &p, &segs, &n_segs, err);
    free(probs);
    if (e == AURIS_OK)
        e = auris__vad_plan_make(segs, n_segs, n, p.samples_overlap, plan, err);
    free(segs);
    return e;
}

static enum auris_err run_sequential(auris_session *s, const float *pcm,
                                     const struct auris__vad_plan *plan, float *buf,
                                     const struct auris_transcribe_params *params,
                                     double t_max, struct auris_result *out,
                                     struct auris_error *err)
{
    struct relay rl = {.user = params, .plan = plan, .t_max = t_max};
    for (int c = 0; c < plan->n_chunks; c++)
        rl.total += plan->chunks[c].n_samples / AURIS_HOP_LENGTH;
    struct auris_transcribe_params p = *params;
    p.user = &rl;
    p.on_segment = params->on_segment ? relay_segment : NULL;
    p.on_progress = params->on_progress ? relay_progress : NULL;
    p.on_language = params->on_language ? relay_language : NULL;
    enum auris_err e = AURIS_OK;
    for (int c = 0; c < plan->n_chunks && e == AURIS_OK; c++) {
        rl.chunk = c;
        auris__vad_chunk_audio(plan, c, pcm, buf);
        struct auris_result *cr = NULL;
        e = auris_transcribe_pcm(s, buf, (size_t)plan->chunks[c].n_samples, &p, &cr, err);
        if (e == AURIS_OK)
            e = append_result(out, cr, plan, c, t_max, err);
        auris_result_free(cr);
        rl.done_before += plan->chunks[c].n_samples / AURIS_HOP_LENGTH;
        if (c == 0 && !p.language && out->language[0]) {
            p.language = out->language; /* detected once, kept for the other chunks */
            p.on_language = NULL;
        }
    }
    return e;
}

enum auris_err auris_transcribe_vad(auris_session *session, const auris_vad *vad,
                                    const struct auris_vad_params *vad_params, int batch_size,
                                    const float *pcm, size_t n_samples,
                                    const struct auris_transcribe_params *params,
                                    struct auris_result **out, struct auris_error *err)
{
    if (!session || !vad || !out || (!pcm && n_samples))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_transcribe_vad: NULL argument");
    *out = NULL;
    struct auris_transcribe_params p = params ? *params : auris_transcribe_default_params();
    if (p.n_clip_timestamps > 0)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "clip_timestamps and VAD both choose what "
                           "to transcribe: give one of them");
    if (batch_size < 0 || batch_size > AURIS_MAX_BATCH)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "batch_size %d is not in 0..%d",
                           batch_size, AURIS_MAX_BATCH);
    int lang_unused;
    enum auris_err e = auris__check_transcribe_params(session->model, &p, &lang_unused, err);
    if (e != AURIS_OK)
        return e;
    struct auris__vad_plan plan;
    e = find_speech(vad, session->nn.pool, pcm, n_samples, vad_params, &plan, err);
    if (e != AURIS_OK)
        return e;
    struct auris_result *r = calloc(1, sizeof *r);
    float *buf = plan.n_chunks ? malloc((size_t)AURIS_N_SAMPLES * sizeof *buf) : NULL;
    if (r)
        r->text = calloc(1, 1);
    if (!r || !r->text || (plan.n_chunks && !buf)) {
        e = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (p.language && auris_language_index(p.language) >= 0)
        snprintf(r->language, sizeof r->language, "%s",
                 auris_language_code(auris_language_index(p.language)));
    double t_max = (double)n_samples / AURIS_SAMPLE_RATE;
    if (plan.n_chunks == 0)
        e = AURIS_OK; /* no speech: nothing to decode */
    else if (batch_size == 0)
        e = run_sequential(session, pcm, &plan, buf, &p, t_max, r, err);
    else
        e = auris__vad_run_batched(session, pcm, &plan, buf, &p, batch_size, t_max, r, err);
done:
    free(buf);
    auris__vad_plan_free(&plan);
    if (e != AURIS_OK) {
        auris_result_free(r);
        return e;
    }
    *out = r;
    return AURIS_OK;
}
