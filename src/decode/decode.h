/*
 * decode.h — decoding one 30 s window: the session, the start sequence, logit filters, greedy
 * decoding and language detection.
 *
 * Reference: openai/whisper decoding.py (DecodingTask, SuppressBlank, SuppressTokens,
 * GreedyDecoder, MaximumLikelihoodRanker, detect_language) and utils.py (compression_ratio).
 * Invariants: the session owns every buffer used while decoding, sized once at creation.
 */
#ifndef AURIS_DECODE_H
#define AURIS_DECODE_H

#include "common.h"
#include "nn/nn.h"
#include "tokenizer/tokenizer.h"

struct auris_session {
    const auris_model *model;
    struct auris__nn_state nn;
    float *mel_window;   /* [n_mels][3000] */
    float *logits;       /* [2][n_vocab]: last position, and the <|startoftranscript|> position */
    float *logprobs;     /* [n_vocab] */
    int *tokens;         /* [n_text_ctx + 1] the running sequence */
};

struct auris__decode_options {
    enum auris_task task;
    int language_token;          /* token id of <|xx|>, or -1 (English-only models) */
    bool without_timestamps;
    bool suppress_blank;
    const int *suppress;         /* sorted ids to suppress at every step */
    size_t n_suppress;
    int sample_len;              /* maximum sampled tokens; the reference uses n_text_ctx/2 */
    const int *prompt;           /* previous-text tokens (<|startofprev|> context), or NULL */
    int n_prompt;                /* only the last n_text_ctx/2 - 1 are used */
    /* --- used by auris__decode_window (full DecodingTask) --- */
    const int *prefix;           /* tokens forced after the sot sequence, or NULL */
    int n_prefix;                /* only the last n_text_ctx/2 - sample_len are used */
    float temperature;           /* 0: greedy or beam search; > 0: sampling */
    int beam_size;               /* > 1: beam search (temperature 0 only) */
    int best_of;                 /* independent samples at temperature > 0 (>= 1) */
    float patience;              /* NaN: None (1.0) */
    float length_penalty;        /* NaN: None (divide by length) */
    float max_initial_timestamp; /* seconds; NaN: None */
    uint64_t *rng;               /* sampling state (xoshiro/pcg), advanced in place */
};

struct auris__decode_result {
    int *tokens;                 /* [n_tokens] sampled tokens (text and timestamps), without
                                  * <|endoftext|>; malloc'd */
    int n_tokens;
    char *text;                  /* decoded and stripped, as DecodingResult.text; malloc'd */
    double sum_logprob;
    double avg_logprob;          /* sum_logprob / (n_tokens + 1) */
    double no_speech_prob;       /* softmax at the sot position, <|nospeech|> entry */
    double compression_ratio;    /* of `text`, zlib as Python's zlib.compress */
    float temperature;
};

void auris__decode_result_clear(struct auris__decode_result *r); /* NULL-safe */

/* The reference's suppress list for `spec` ("-1", "", "1,2,3" ...): sorted, unique. */
enum auris_err auris__suppress_tokens(const struct auris__tokenizer *tok, const char *spec,
                                      int **ids, size_t *n_ids, struct auris_error *err);

/* The start sequence: sot [, language, task] [, notimestamps]. Returns its length (<= 4). */
int auris__sot_sequence(const struct auris__tokenizer *tok, const struct auris__decode_options *o,
                        int *out /* [4] */);

/* Greedy decoding of the window whose encoder output is in s->nn (auris__encode done). */
enum auris_err auris__decode_greedy(struct auris_session *s, const struct auris__decode_options *o,
                                    struct auris__decode_result *res, struct auris_error *err);

/* One window as the reference's DecodingTask.run: greedy, beam search (batched beams with KV
 * cache reordering) or best-of-N sampling per the options, with SuppressBlank, SuppressTokens and
 * ApplyTimestampRules (when !without_timestamps), ranking by MaximumLikelihoodRanker. The
 * encoder output must be in s->nn. res->tokens are the selected sequence's sampled tokens
 * (timestamps included, <|endoftext|> excluded), as DecodingResult.tokens. */
enum auris_err auris__decode_window(struct auris_session *s, const struct auris__decode_options *o,
                                    struct auris__decode_result *res, struct auris_error *err);

/* Language probabilities from the encoded window: probs[0..n_langs-1]; returns best index. */
int auris__detect_language_encoded(struct auris_session *s, float *probs /* [n_langs] or NULL */);

/* Strips leading/trailing whitespace in place as Python's str.strip() does. */
void auris__strip_inplace(char *text);

/* len(utf8) / len(zlib.compress(utf8)) as the reference's compression_ratio. */
double auris__compression_ratio(const char *text, size_t len);

#endif /* AURIS_DECODE_H */
