/*
 * transcribe.h — the pure pieces of the transcription loop, exposed for unit tests: how one
 * window's tokens become segments and how far seek advances, the fallback and no-speech
 * decisions, prompt construction, clip parsing and the temperature schedule.
 *
 * Reference: openai/whisper transcribe.py transcribe() and cli(). Invariants: nothing here
 * touches a model; every function is deterministic and allocation-free unless stated.
 */
#ifndef AURIS_TRANSCRIBE_H
#define AURIS_TRANSCRIBE_H

#include "common.h"

#include <stddef.h>

/* One segment cut from a window's tokens: tokens[begin, end) spanning [start, end_time] s. */
struct auris__span {
    int begin, end;
    double start, end_time;
};

/* The reference's splitting of a window's decoded tokens (timestamps included, no
 * <|endoftext|>) at consecutive timestamp tokens, with the single-timestamp-ending rule and the
 * seek update. `spans` must hold n_tokens + 1 entries. Returns the number of spans and sets
 * *seek_delta (frames to add to seek; `input_stride` mel frames per timestamp step, 2 for
 * Whisper). time_precision = input_stride * hop / sample_rate. */
int auris__split_window(const int *tokens, int n_tokens, int timestamp_begin, double time_offset,
                        int segment_size, int input_stride, struct auris__span *spans,
                        int *seek_delta);

/* decode_with_fallback's test: true when the result is too repetitive or too improbable and is
 * not silence. NaN thresholds are None. */
bool auris__needs_fallback(double compression_ratio, double avg_logprob, double no_speech_prob,
                           float compression_ratio_threshold, float logprob_threshold,
                           float no_speech_threshold);

/* The no-voice-activity check after decoding a window. */
bool auris__should_skip(double avg_logprob, double no_speech_prob, float logprob_threshold,
                        float no_speech_threshold);

/* The prompt for the next window, as [begin, end) ranges into all_tokens: with
 * carry_initial_prompt, initial_prompt_tokens (all_tokens[0, n_initial)) followed by
 * all_tokens[max(n_initial, reset_since):][-remaining:] with Python's slicing of a
 * non-positive `remaining`; otherwise all_tokens[reset_since:]. Writes up to two ranges
 * (r[0], r[1]) and returns how many. */
int auris__prompt_ranges(size_t n_all, size_t n_initial, size_t reset_since, bool carry,
                         int remaining, size_t r[2][2]);

/* Clip seek points: round(t * 100) per timestamp (Python's round half to even), a trailing
 * content_frames when the count is odd, {0, content_frames} when n == 0. `points` must hold
 * n + 2 entries. Returns the number of points (even), or -1 for a negative or non-finite
 * timestamp. */
int auris__clip_points(const double *ts, int n, int content_frames, int *points);

/* The reference CLI's schedule tuple(np.arange(t, 1.0 + 1e-6, inc)) (or (t,) when inc is NaN),
 * computed as NumPy does (start + i * ((start + inc) - start)). Writes at most `cap` values and
 * returns the count, or -1 when inc <= 0 or the schedule would be empty or longer than cap. */
int auris__temperature_schedule(double t, double inc, double *out, int cap);

/* Python's round() of a double to an integer (ties to even). */
double auris__py_round(double x);

#endif /* AURIS_TRANSCRIBE_H */
