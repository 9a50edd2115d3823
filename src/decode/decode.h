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

#define AURIS__MAX_GROUP AURIS__NN_MAX_SEQ /* beam_size / best_of limit */

/* Working memory of the decoding state machine, grown by auris__decode_work_reserve before a
 * window's loop (the loop itself allocates nothing). */
struct auris__decode_work {
    int n_vocab, n_ctx, cap, fin_cap;
    float *logits;       /* [cap][n_vocab] filtered logits of the current step */
    float *first;        /* [2][n_vocab] first step: last position, <|startoftranscript|> */
    int *tokens;         /* [cap][n_ctx + 2] the running sequences */
    int *tokens_next;    /* [cap][n_ctx + 2] beam search: the next step's sequences */
    float *sum;          /* [cap] cumulative log-probabilities (float32 as the reference) */
    float *sum_next;     /* [cap] */
    int *src;            /* [cap] the previous sequence each sequence continues */
    int *cand_src;       /* [cap * (cap + 1)] beam candidates: source sequence */
    int *cand_tok;       /* [cap * (cap + 1)] token */
    float *cand_score;   /* [cap * (cap + 1)] score */
    int *cand_order;     /* [cap * (cap + 1)] */
    int *fin_tokens;     /* [fin_cap][n_ctx + 2] finished sequences, sampled part, EOT excluded */
    int *fin_len;        /* [fin_cap] */
    float *fin_score;    /* [fin_cap] */
};

struct auris_session {
    const auris_model *model;
    struct auris__nn_state nn;
    float *mel_window;   /* [n_mels][3000] */
    float *mel_encoded;  /* [n_mels][3000] the input of auris__session_encode's last encoder run */
    uint64_t encoded_at; /* nn.n_encodes right after that run (0: none); any other encoder run
                          * since (bench, the VAD batch) makes them differ */
    float *logits;       /* [2][n_vocab]: last position, and the <|startoftranscript|> position */
    float *logprobs;     /* [n_vocab] */
    int *tokens;         /* [n_text_ctx + 1] the running sequence */
    struct auris__decode_work work;
    int blank[8];        /* tokenizer.encode(" ") for SuppressBlank, cached */
    int n_blank;         /* -1 until computed */
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
    float patience;              /* NaN or 0: None (1.0), as the reference's `patience or 1.0` */
    float length_penalty;        /* NaN: None (divide by length); 0..1: alpha (0 is NOT None) */
    float max_initial_timestamp; /* seconds; NaN or 0: None (the reference tests truthiness) */
    uint64_t *rng;               /* sampling state (splitmix64), advanced in place; NULL: a
                                  * fixed seed. Sampling cannot reproduce torch's generator. */
    auris_abort_fn should_abort; /* polled before every decoder pass; true: CANCELLED. NULL: no */
    void *abort_user;
};
/* The decoder chosen by auris__decode_window (the reference's DecodingTask with transcribe()'s
 * option handling): temperature > 0 samples best_of (>= 1) sequences; temperature 0 runs beam
 * search when beam_size > 1, or beam_size == 1 with a patience given (the reference's
 * BeamSearchDecoder; with beam 1 and no patience it equals greedy), else greedy.
 * n_group <= AURIS__MAX_GROUP. Floats are read as the shortest decimal that rounds to them, as
 * a Python float parsed from the command line. */

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

/* ---- the decoding state machine, independent of the network (unit-tested with scripted logits) */

/* Token layout and the window's start sequence. */
struct auris__decode_layout {
    int n_vocab, n_text_ctx, n_audio_ctx;
    int eot, sot, sot_prev, no_timestamps, no_speech, timestamp_begin;
    int blank[8];                /* tokenizer.encode(" ") */
    int n_blank;
    int sot_seq[4];              /* auris__sot_sequence */
    int n_sot_seq;
};

/* Where logits come from: the network, or a test's script. */
struct auris__logits_source {
    void *ctx;
    /* One sequence of the initial tokens: logits after its last token (out[0]) and at sot_index
     * (out[1]), out [2][n_vocab]. */
    enum auris_err (*first)(void *ctx, const int *tokens, int n_tokens, int sot_index,
                            float *out);
    /* The live sequences become n_seq sequences, new i continuing old src[i] (after the first
     * call every src is 0: the single sequence is repeated). */
    enum auris_err (*reorder)(void *ctx, int n_seq, const int *src);
    /* Each of n_seq sequences (tokens [n_seq][stride], len tokens each) appended its last
     * token: logits after it, out [n_seq][n_vocab]. */
    enum auris_err (*step)(void *ctx, int n_seq, const int *tokens, int stride, int len,
                           float *out);
};

/* The token layout of the session's model for options o (start sequence, special tokens,
 * tokenizer.encode(" ") cached in the session). */
enum auris_err auris__decode_layout_of(struct auris_session *s,
                                      const struct auris__decode_options *o,
                                      struct auris__decode_layout *lay, struct auris_error *err);

enum auris_err auris__decode_work_reserve(struct auris__decode_work *w, int n_vocab, int n_ctx,
                                          int cap, int fin_cap, struct auris_error *err);
void auris__decode_work_free(struct auris__decode_work *w); /* NULL-safe, idempotent */

/* The reference's _get_initial_tokens: [<|startofprev|> prompt[-(n_ctx/2-1):]] sot_seq
 * prefix[-(n_ctx/2 - sample_len):] (Python slicing: a zero bound keeps the whole list).
 * Writes at most `cap` tokens to out; returns the length, or -1 when it does not fit.
 * *sot_index is the position of <|startoftranscript|>. */
int auris__initial_tokens(const struct auris__decode_layout *lay,
                          const struct auris__decode_options *o, int *out, int cap,
                          int *sot_index);

/* Runs DecodingTask._main_loop, finalize and the ranker over `src`. Fills res->tokens,
 * n_tokens, sum_logprob, avg_logprob, no_speech_prob and temperature (not text/compression).
 * The work must be reserved for auris__decode_group_size(o) sequences. */
enum auris_err auris__decode_run(const struct auris__decode_layout *lay,
                                 const struct auris__decode_options *o,
                                 const struct auris__logits_source *src,
                                 struct auris__decode_work *w, struct auris__decode_result *res,
                                 struct auris_error *err);

/* The logit filters (SuppressBlank, SuppressTokens, ApplyTimestampRules) applied to the logits
 * [n_vocab] of one sequence row[0..len) whose sampling began at sample_begin. */
void auris__decode_filter(const struct auris__decode_layout *lay,
                          const struct auris__decode_options *o, int sample_begin,
                          const int *row, int len, float *logits);

/* n_group (sequences decoded together) and the finished-candidate capacity beam search needs;
 * -1 on invalid options (message in err). */
int auris__decode_group_size(const struct auris__decode_options *o, int *fin_cap,
                             struct auris_error *err);

/* The vocabulary math of a step (logits.c, its one home; also used by the batched pipeline):
 * log(sum(exp(x))) in double (-inf when all are -inf), the first index of the maximum, and the
 * k largest entries of x in descending order, ties to the lower index (topk; NaN skipped,
 * missing entries filled with the lowest ids). */
double auris__decode_log_sum_exp(const float *x, int n);
int auris__decode_argmax(const float *x, int n);
void auris__decode_top_k(const float *x, int n, int k, int *idx /* [k] */);

/* The value a Python float parsed from the shortest decimal spelling of f would have. */
double auris__py_float(float f);

/* auris__encode(&s->nn, s->mel_window), skipped when the window holds what this session's
 * encoder ran on last and nothing has encoded since: the features are still in s->nn. The
 * reference encodes twice when it detects the language of a file of 30 s or more (the first
 * 30 s of the mel for detect_language, then the same frames as the first window); this runs
 * the encoder once, with the same bits. The decoder cache is emptied either way. Errors: as
 * auris__encode. (session.c) */
enum auris_err auris__session_encode(struct auris_session *s);

/* Language probabilities from the encoded window: probs[0..n_langs-1]; returns best index
 * (language.c). */
int auris__detect_language_encoded(struct auris_session *s, float *probs /* [n_langs] or NULL */);

/* Strips leading/trailing whitespace in place as Python's str.strip() does. */
void auris__strip_inplace(char *text);

/* len(utf8) / len(zlib.compress(utf8)) as the reference's compression_ratio. */
double auris__compression_ratio(const char *text, size_t len);

#endif /* AURIS_DECODE_H */
