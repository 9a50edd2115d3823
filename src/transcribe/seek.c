/*
 * seek.c — the model-free arithmetic of the transcription loop (see transcribe.h).
 *
 * Reference: openai/whisper transcribe.py transcribe() — the consecutive-timestamp split, the
 * single_timestamp_ending rule, seeking to the last timestamp, the duration taken from the last
 * timestamp when no two are consecutive, decode_with_fallback's needs_fallback, the no-speech
 * skip, carry_initial_prompt's prompt, clip_timestamps' seek points; and cli()'s temperature
 * schedule built with np.arange. Times are computed in double in the reference's operation
 * order so that they print identically.
 * Invariants: pure functions; no allocation; every index written is bounded by the documented
 * output capacity.
 */
#include "transcribe/transcribe.h"

#include <math.h>

double auris__py_round(double x)
{
    /* rint in the default rounding mode is round-half-to-even, as Python's round(float) */
    return rint(x);
}

int auris__split_window(const int *tokens, int n, int tb, double time_offset, int segment_size,
                        int input_stride, struct auris__span *spans, int *seek_delta)
{
    const double time_precision = (double)(input_stride * AURIS_HOP_LENGTH) / AURIS_SAMPLE_RATE;
    const bool single_ending = n >= 2 && tokens[n - 2] < tb && tokens[n - 1] >= tb;
    int n_spans = 0, last = 0;
    bool any_consecutive = false;
    for (int i = 1; i < n; i++) {
        if (!(tokens[i - 1] >= tb && tokens[i] >= tb))
            continue;
        /* slice tokens[last, i): from a timestamp to the timestamp that closes it */
        any_consecutive = true;
        spans[n_spans].begin = last;
        spans[n_spans].end = i;
        spans[n_spans].start = time_offset + (double)(tokens[last] - tb) * time_precision;
        spans[n_spans].end_time = time_offset + (double)(tokens[i - 1] - tb) * time_precision;
        n_spans++;
        last = i;
    }
    if (any_consecutive) {
        if (single_ending) {
            spans[n_spans].begin = last;
            spans[n_spans].end = n;
            spans[n_spans].start = time_offset + (double)(tokens[last] - tb) * time_precision;
            spans[n_spans].end_time = time_offset + (double)(tokens[n - 1] - tb) * time_precision;
            n_spans++;
            /* a single timestamp at the end: no speech after it, take the whole window */
            *seek_delta = segment_size;
        } else {
            /* the unfinished segment after the last pair is decoded again in the next window */
            *seek_delta = (tokens[last - 1] - tb) * input_stride;
        }
        return n_spans;
    }
    double duration = (double)(segment_size * AURIS_HOP_LENGTH) / AURIS_SAMPLE_RATE;
    int last_ts = -1;
    for (int i = 0; i < n; i++)
        if (tokens[i] >= tb)
            last_ts = tokens[i];
    if (last_ts >= 0 && last_ts != tb)
        duration = (double)(last_ts - tb) * time_precision;
    spans[0].begin = 0;
    spans[0].end = n;
    spans[0].start = time_offset;
    spans[0].end_time = time_offset + duration;
    *seek_delta = segment_size;
    return 1;
}

bool auris__needs_fallback(double compression_ratio, double avg_logprob, double no_speech_prob,
                           float cr_threshold, float lp_threshold, float ns_threshold)
{
    bool fallback = false;
    if (!isnan(cr_threshold) && compression_ratio > cr_threshold)
        fallback = true; /* too repetitive */
    if (!isnan(lp_threshold) && avg_logprob < lp_threshold)
        fallback = true; /* too improbable */
    if (!isnan(ns_threshold) && no_speech_prob > ns_threshold && !isnan(lp_threshold) &&
        avg_logprob < lp_threshold)
        fallback = false; /* silence: a better decoding would not help */
    return fallback;
}

bool auris__should_skip(double avg_logprob, double no_speech_prob, float lp_threshold,
                        float ns_threshold)
{
    if (isnan(ns_threshold))
        return false;
    bool skip = no_speech_prob > ns_threshold;
    if (!isnan(lp_threshold) && avg_logprob > lp_threshold)
        skip = false; /* confident text despite the no-speech probability */
    return skip;
}

int auris__prompt_ranges(size_t n_all, size_t n_initial, size_t reset_since, bool carry,
                         int remaining, size_t r[2][2])
{
    if (!carry) {
        size_t b = reset_since < n_all ? reset_since : n_all;
        r[0][0] = b;
        r[0][1] = n_all;
        return 1;
    }
    size_t ignored = n_initial > reset_since ? n_initial : reset_since;
    if (ignored > n_all)
        ignored = n_all;
    size_t len = n_all - ignored, skip;
    /* Python's x[-k:]: the last k for k > 0, but x[|k|:] for k <= 0 (x[-0:] is all of x) */
    if (remaining > 0)
        skip = len > (size_t)remaining ? len - (size_t)remaining : 0;
    else
        skip = (size_t)(-(long long)remaining) < len ? (size_t)(-(long long)remaining) : len;
    r[0][0] = 0;
    r[0][1] = n_initial < n_all ? n_initial : n_all;
    r[1][0] = ignored + skip;
    r[1][1] = n_all;
    return 2;
}

int auris__clip_points(const double *ts, int n, int content_frames, int *points)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        double t = ts[i];
        if (!isfinite(t) || t < 0 || t > 1e7)
            return -1;
        points[k++] = (int)auris__py_round(t * 100.0); /* FRAMES_PER_SECOND */
    }
    if (k == 0)
        points[k++] = 0;
    if (k % 2 == 1)
        points[k++] = content_frames;
    return k;
}

int auris__temperature_schedule(double t, double inc, double *out, int cap)
{
    if (!isfinite(t) || cap < 1)
        return -1;
    if (isnan(inc)) {
        out[0] = t;
        return 1;
    }
    if (!isfinite(inc) || inc <= 0)
        return -1;
    double len = ceil((1.0 + 1e-6 - t) / inc);
    if (!(len >= 1) || len > cap)
        return -1;
    int n = (int)len;
    out[0] = t;
    if (n > 1) {
        double second = t + inc;
        out[1] = second;
        double delta = second - t;
        for (int i = 2; i < n; i++)
            out[i] = t + (double)i * delta;
    }
    return n;
}
