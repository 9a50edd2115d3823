/*
 * segments.c — speech segments from per-window speech probabilities (public auris_vad_segments*).
 *
 * Reference: silero-vad 6.2.0 utils_vad.py get_speech_timestamps (16 kHz, 512-sample windows,
 * use_max_poss_sil_at_max_speech=True, min_silence_at_max_speech=98 ms), followed step by step:
 * hysteresis between threshold and neg_threshold; silences shorter than min_silence_duration_ms
 * are bridged; segments longer than max_speech_duration_s are cut at the longest silence
 * (> 98 ms) seen inside them, else at the current window; segments not longer than
 * min_speech_duration_ms are dropped; then speech_pad_ms pads each side, splitting gaps shorter
 * than two pads in half. Times are sample indices, as the reference returns them.
 * Invariants: arithmetic matches the reference's Python (float thresholds compared in double,
 * integer sample positions, floor division); output segments are ordered and within the audio.
 */
#include "vad/vad.h"

#include <math.h>
#include <stdlib.h>

#define MIN_SILENCE_AT_MAX_SPEECH_MS 98

struct auris_vad_params auris_vad_default_params(void)
{
    struct auris_vad_params p = {
        .threshold = 0.5,
        .neg_threshold = NAN,
        .min_speech_duration_ms = 250,
        .max_speech_duration_s = INFINITY,
        .min_silence_duration_ms = 100,
        .speech_pad_ms = 30,
        .samples_overlap = 0.1,
    };
    return p;
}

struct seglist {
    struct auris_vad_segment *v;
    size_t n, cap;
};

static int push(struct seglist *l, int64_t start, int64_t end)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct auris_vad_segment *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return 0;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n].start = start;
    l->v[l->n].end = end;
    l->n++;
    return 1;
}

static int64_t floordiv2(int64_t a)
{
    return a >= 0 ? a / 2 : -((-a + 1) / 2);
}

/* A silence inside the current speech: where it began and how long it lasted. */
struct possible_end {
    int64_t at, dur;
};

struct scan {
    const struct auris_vad_params *p;
    double neg, min_speech, min_silence, max_speech, min_sil_max;
    int triggered, has_cur;
    int64_t cur_start, temp_end, prev_end, next_start;
    struct possible_end best; /* the longest possible end (first of equals, as Python's max) */
    int has_best;
};

static void reset_ends(struct scan *s)
{
    s->prev_end = s->next_start = s->temp_end = 0;
    s->has_best = 0;
}

/* One window of the reference's loop; returns 0 on allocation failure. */
static int step(struct scan *s, struct seglist *out, double prob, int64_t cur)
{
    double thr = s->p->threshold;
    if (prob >= thr && s->temp_end) {
        int64_t sil = cur - s->temp_end;
        if ((double)sil > s->min_sil_max && (!s->has_best || sil > s->best.dur)) {
            s->best.at = s->temp_end;
            s->best.dur = sil;
            s->has_best = 1;
        }
        s->temp_end = 0;
        if (s->next_start < s->prev_end)
            s->next_start = cur;
    }
    if (prob >= thr && !s->triggered) {
        s->triggered = 1;
        s->has_cur = 1;
        s->cur_start = cur;
        return 1;
    }
    if (s->triggered && (double)(cur - s->cur_start) > s->max_speech) {
        if (s->has_best) {
            s->prev_end = s->best.at;
            if (!push(out, s->cur_start, s->prev_end))
                return 0;
            s->has_cur = 0;
            s->next_start = s->prev_end + s->best.dur;
            if (s->next_start < s->prev_end + cur) {
                s->cur_start = s->next_start;
                s->has_cur = 1;
            } else {
                s->triggered = 0;
            }
            reset_ends(s);
        } else {
            /* the reference's prev_end is never set on this path: cut at the current window */
            if (!push(out, s->cur_start, cur))
                return 0;
            s->has_cur = 0;
            s->triggered = 0;
            reset_ends(s);
            return 1;
        }
    }
    if (prob < s->neg && s->triggered) {
        if (!s->temp_end)
            s->temp_end = cur;
        if ((double)(cur - s->temp_end) < s->min_silence)
            return 1;
        if ((double)(s->temp_end - s->cur_start) > s->min_speech &&
            !push(out, s->cur_start, s->temp_end))
            return 0;
        s->has_cur = 0;
        s->triggered = 0;
        reset_ends(s);
    }
    return 1;
}

/* Padding as the reference applies it after the scan. */
static void pad(struct seglist *l, double pad_samples, int64_t n_samples)
{
    for (size_t i = 0; i < l->n; i++) {
        struct auris_vad_segment *sp = &l->v[i];
        if (i == 0)
            sp->start = (int64_t)fmax(0.0, (double)sp->start - pad_samples);
        if (i + 1 < l->n) {
            struct auris_vad_segment *nx = &l->v[i + 1];
            int64_t sil = nx->start - sp->end;
            if ((double)sil < 2 * pad_samples) {
                sp->end += floordiv2(sil);
                nx->start = AURIS_MAX((int64_t)0, nx->start - floordiv2(sil));
            } else {
                sp->end = (int64_t)fmin((double)n_samples, (double)sp->end + pad_samples);
                nx->start = (int64_t)fmax(0.0, (double)nx->start - pad_samples);
            }
        } else {
            sp->end = (int64_t)fmin((double)n_samples, (double)sp->end + pad_samples);
        }
    }
}

enum auris_err auris_vad_segments_from_probs(const float *probs, size_t n_probs,
                                             size_t n_samples,
                                             const struct auris_vad_params *params,
                                             struct auris_vad_segment **segments,
                                             size_t *n_segments, struct auris_error *err)
{
    if ((!probs && n_probs) || !segments || !n_segments)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: NULL argument");
    *segments = NULL;
    *n_segments = 0;
    struct auris_vad_params p = params ? *params : auris_vad_default_params();
    if (!(p.threshold >= 0.0 && p.threshold <= 1.0))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: threshold %g is not in [0, 1]",
                           p.threshold);
    if (!isnan(p.neg_threshold) && !(p.neg_threshold >= 0.0 && p.neg_threshold <= 1.0))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: neg_threshold %g is not in [0, 1]",
                           p.neg_threshold);
    if (p.min_speech_duration_ms < 0 || p.min_silence_duration_ms < 0 || p.speech_pad_ms < 0 ||
        !(p.max_speech_duration_s > 0.0))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: durations must be >= 0 and "
                           "max_speech_duration_s > 0");
    if (p.min_speech_duration_ms > 86400000 || p.min_silence_duration_ms > 86400000 ||
        p.speech_pad_ms > 86400000)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: a duration exceeds one day");
    const double sr = AURIS_SAMPLE_RATE;
    struct scan s = {0};
    s.p = &p;
    s.neg = isnan(p.neg_threshold) ? fmax(p.threshold - 0.15, 0.01) : p.neg_threshold;
    s.min_speech = sr * p.min_speech_duration_ms / 1000;
    s.min_silence = sr * p.min_silence_duration_ms / 1000;
    double pad_samples = sr * p.speech_pad_ms / 1000;
    s.max_speech = sr * p.max_speech_duration_s - VAD_WINDOW - 2 * pad_samples;
    s.min_sil_max = sr * MIN_SILENCE_AT_MAX_SPEECH_MS / 1000;
    struct seglist out = {0};
    for (size_t i = 0; i < n_probs; i++)
        if (!step(&s, &out, (double)probs[i], (int64_t)i * VAD_WINDOW))
            goto nomem;
    if (s.has_cur && (double)((int64_t)n_samples - s.cur_start) > s.min_speech &&
        !push(&out, s.cur_start, (int64_t)n_samples))
        goto nomem;
    pad(&out, pad_samples, (int64_t)n_samples);
    *segments = out.v;
    *n_segments = out.n;
    return AURIS_OK;
nomem:
    free(out.v);
    return auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory for segments");
}

enum auris_err auris_vad_segments(const auris_vad *vad, const float *pcm, size_t n_samples,
                                  const struct auris_vad_params *params,
                                  struct auris_vad_segment **segments, size_t *n_segments,
                                  struct auris_error *err)
{
    float *probs = NULL;
    size_t n_probs = 0;
    enum auris_err e = auris_vad_probs(vad, pcm, n_samples, &probs, &n_probs, err);
    if (e == AURIS_OK)
        e = auris_vad_segments_from_probs(probs, n_probs, n_samples, params, segments,
                                          n_segments, err);
    free(probs);
    return e;
}
