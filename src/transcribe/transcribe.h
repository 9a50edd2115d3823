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

/* The checks of the reference's DecodingOptions._verify_options and transcribe()'s inputs, shared
 * by every path that decodes (sequential, VAD, batched). Sets *lang to the language index (-1:
 * detect). INVALID_ARG (or UNSUPPORTED for a language the model lacks) with the message. */
enum auris_err auris__check_transcribe_params(const auris_model *m,
                                              const struct auris_transcribe_params *p, int *lang,
                                              struct auris_error *err);

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

/* The window the reference decodes at `seek`: mel frames [seek, seek + min(avail, 3000)) of
 * mel [n_mels][n_frames], zero-filled to 3000 frames (pad_or_trim of mel_segment). */
void auris__window_from(const float *mel, int n_mels, int n_frames, int seek, int avail,
                        float *win /* [n_mels][3000] */);

/* Python's round() of a double to an integer (ties to even). */
double auris__py_round(double x);

/* ---- word-level timestamps (timing.c; reference: timing.py, transcribe.py) ------------------- */

struct auris__tokenizer;

/* One aligned word before it is attached to a segment. Its tokens are the range
 * [tok_begin, tok_begin + n_tokens) of the aligned text tokens (merging keeps ranges contiguous). */
struct auris__word_timing {
    char *word;          /* malloc'd UTF-8; "" once merged into a neighbour */
    int tok_begin, n_tokens;
    double start, end;   /* seconds from the window start */
    double probability;
};

void auris__word_timings_free(struct auris__word_timing *w, int n); /* NULL-safe */

/* Python's round(x, 2): the double nearest to x correctly rounded to 2 decimals (ties even). */
double auris__py_round2(double x);

/* timing.median_filter along the last axis of x [rows][n] with reflect padding, in place; rows
 * are left alone when n <= width / 2. NaN sorts above everything (torch.sort). `width` odd,
 * 1..63. Returns 0, or -1 when out of memory or width is unusable. */
int auris__median_filter(float *x, int rows, int n, int width);

/* timing.dtw_cpu + backtrace on x [N][M] (float32 cost accumulation, the reference's tie rules).
 * Writes the path (text index, time index; either may be -1 as in the reference) to
 * text_idx/time_idx [N + M] and returns its length, or -1 when out of memory. */
int auris__dtw(const double *x, int N, int M, int *text_idx, int *time_idx);

/* find_alignment's processing of the alignment heads' scores w [H][N][F] (already cut to
 * num_frames/2 frames; modified in place): softmax over frames, normalisation over tokens
 * (population std), median filter of `medfilt_width`, mean over heads into matrix [N][F].
 * Returns 0, or -1 when out of memory. */
int auris__alignment_weights(float *w, int H, int N, int F, int medfilt_width, float *matrix);

/* True for the languages the reference splits into words at unicode boundaries instead of
 * spaces (zh, ja, th, lo, my, yue). */
bool auris__splits_on_unicode(const char *language);

/* Tokenizer.split_to_word_tokens: *words[n] (malloc'd strings) and *word_len[n] (token counts,
 * summing to n_tokens). Returns the number of words via *n_words. */
enum auris_err auris__split_word_tokens(const struct auris__tokenizer *tok, const int *tokens,
                                        int n_tokens, bool by_unicode, char ***words,
                                        int **word_len, int *n_words, struct auris_error *err);

/* Words and times from the DTW path as find_alignment: jumps of the text index, 20 ms per time
 * step, word boundaries from the word token counts (word_len[n_words], the last being
 * <|endoftext|>), probabilities as the mean of the tokens'. Takes ownership of words[0 ..
 * n_words-2] into out[n_words-1]; returns the number of timings or -1 when the path is too
 * short (never with a path from auris__dtw). */
int auris__words_from_path(const int *text_idx, const int *time_idx, int path_len,
                           char **words, const int *word_len, int n_words,
                           const float *token_probs, struct auris__word_timing *out);

/* timing.merge_punctuations (the reference's substring tests). -1 when out of memory. */
int auris__merge_punctuations(struct auris__word_timing *a, int n, const char *prepended,
                              const char *appended);

/* add_word_timestamps' median duration (capped at 0.7 s; 0 without non-zero durations) and the
 * sentence-end truncation of words longer than twice it. Returns the median; *max_duration is
 * twice it. */
double auris__clamp_word_durations(struct auris__word_timing *a, int n, double *max_duration);

/* add_word_timestamps' distribution of the merged timings over segs[0..n_segs) (n_text[i] text
 * tokens each), rounding, the first/last word adjustments and the segment start/end updates.
 * `time_offset` is the window start in seconds. NOMEM. */
enum auris_err auris__assign_words(struct auris_segment *segs, int n_segs, const int *n_text,
                                   const struct auris__word_timing *a, int n, double time_offset,
                                   double median_duration, double max_duration,
                                   double last_speech_timestamp, struct auris_error *err);

/* transcribe.py's word_anomaly_score and is_segment_anomaly (NULL or no words: false). */
double auris__word_anomaly_score(const struct auris_word *w);
bool auris__is_segment_anomaly(const struct auris_segment *s);

/* add_word_timestamps for one window's new segments: the encoder output of the window must be
 * in s->nn. sot_seq is the tokenizer's sot_sequence (sot[, language, task]); num_frames the
 * window's mel frames (segment_size). Sets has_words on every segment. NULL punctuation sets
 * are the reference's defaults. */
enum auris_err auris__add_word_timestamps(auris_session *s, struct auris_segment *segs,
                                          int n_segs, const int *sot_seq, int n_sot,
                                          const char *language, int num_frames,
                                          const char *prepend, const char *append,
                                          double last_speech_timestamp, struct auris_error *err);

#endif /* AURIS_TRANSCRIBE_H */
