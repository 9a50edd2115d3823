/*
 * nn.h — the Whisper network: audio encoder and text decoder with KV caches, in fp32.
 *
 * Reference: openai/whisper model.py (AudioEncoder, TextDecoder, ResidualAttentionBlock,
 * MultiHeadAttention, sinusoids). LayerNorm eps 1e-5, exact (erf) GELU, attention scaled by
 * d_head^-0.25 on both q and k, causal mask in decoder self-attention.
 * Invariants: forward passes allocate nothing — every buffer below is sized by
 * auris__nn_state_init for the model's dimensions (one sequence) and grown only by
 * auris__nn_reserve, which callers run before a decoding loop; the model is only read.
 * Several sequences (beams, best-of samples) decode in lockstep: they share n_past and the
 * cross-attention K/V (one audio), each owns a self-attention cache slot it writes, and beams
 * forked from one another share the pages they have in common (kvcache.c).
 */
#ifndef AURIS_NN_H
#define AURIS_NN_H

#include "common.h"
#include "kernels/kernels.h"
#include "model/model.h"

/* Per-session network state. */
struct auris__nn_state {
    const auris_model *model;
    struct auris__pool *pool;

    /* encoder scratch */
    float *enc_x;        /* [n_audio_ctx][n_audio_state] residual stream / output features */
    float *enc_buf;      /* scratch for conv im2col, attention and MLP (see nn_state_init) */
    size_t enc_buf_len;
    size_t enc_xn, enc_pad; /* block phase: floats of xn, and of the pad after v (nn.c) */

    /* cross-attention K/V per decoder layer, computed once per window and shared by every
     * sequence (beams, samples) of that window; elements of cross_type: F16 (the default: half
     * the bytes every decoding step reads, converted with F16C as they are read) or F32 (when
     * the environment sets AURIS_CROSS_KV=f32) */
    void *cross_k;       /* [n_text_layer][n_text_head][n_audio_ctx][d_head], head-major: */
    void *cross_v;       /* [n_text_layer][n_text_head][n_audio_ctx][d_head]  one step reads
                          * each head's block front to back */
    enum auris__dtype cross_type;
    uint64_t n_encodes;  /* auris__encode runs that succeeded: enc_x and cross K/V are the last's */

    /* self-attention KV cache, one slot per sequence */
    float *self_k;       /* [n_text_layer][n_slots][n_text_ctx][n_text_state] */
    float *self_v;       /* [n_text_layer][n_slots][n_text_ctx][n_text_state] */
    int n_slots;         /* cache capacity in sequences (1 .. AURIS__NN_MAX_SEQ) */
    int n_seq;           /* live sequences (1 after a reset) */
    int slot[16];        /* [AURIS__NN_MAX_SEQ] the slot sequence i writes; distinct for i < n_seq */
    int n_past;          /* positions already in the cache (the same for every sequence) */
    /* paged histories (kvcache.c): sequence i's positions [p*AURIS__KV_PAGE, (p+1)*AURIS__KV_PAGE)
     * are those rows of slot page_slot[i * n_pages + p], its own or (after a beam fork) the
     * slot of the ancestor that wrote them, which it shares instead of a copy */
    uint8_t *page_slot;  /* [AURIS__NN_MAX_SEQ][n_pages] */
    uint8_t *page_tmp;   /* [AURIS__NN_MAX_SEQ][n_pages] reorder scratch */
    int n_pages;         /* ceil(n_text_ctx / AURIS__KV_PAGE) */
    struct auris__kv_run *runs; /* [AURIS__NN_MAX_SEQ * n_pages] one step's histories as runs */

    /* decoder scratch, for up to n_text_ctx tokens at once */
    float *dec_buf;
    size_t dec_buf_len;

    /* Batched pipeline (several audios decoded together): per-sequence cross-attention K/V,
     * batch slot b holding audio b's; while `bcross_on`, sequence i of auris__decode_batch
     * attends to slot bcross_index[i] instead of cross_k/cross_v. Allocated by
     * auris__nn_batch_reserve. */
    void *bcross_k;      /* [bcross_cap][n_text_layer][n_text_head][n_audio_ctx][d_head] */
    void *bcross_v;      /* [bcross_cap][n_text_layer][n_text_head][n_audio_ctx][d_head] */
    int bcross_cap;
    bool bcross_on;
    int bcross_index[16]; /* [AURIS__NN_MAX_SEQ] sequence i attends batch slot bcross_index[i]
                           * (< bcross_cap); identity after auris__nn_batch_reserve */

    /* Word timestamps: while `capture` is set (one sequence), every decoding step records the
     * cross-attention scores (q d^-1/4)(k d^-1/4)^T, before the softmax, of the alignment heads
     * at rows n_past.. of align_qk. Allocated by auris__nn_capture_init on first use; decoding
     * only tests `capture` once per layer, so nothing is spent while it is off. */
    bool capture;
    int n_align;         /* alignment heads */
    int *align_layer;    /* [n_align] decoder layer of head i */
    int *align_head;     /* [n_align] head index within the layer */
    float *align_qk;     /* [n_align][n_text_ctx][n_audio_ctx] */
};

#define AURIS__NN_MAX_SEQ 16 /* sequences decoded together (beam_size / best_of cap) */
#define AURIS__KV_PAGE 4     /* positions per history page: a multiple of 4, so that a run of
                              * pages starts where the streaming nt product starts a group and
                              * keys keep their bits whichever slot holds them */

/* Allocates every buffer for `model` and creates a pool of n_threads (<= 0: online CPUs).
 * UNSUPPORTED when the dims are unusable (n_state not a multiple of n_head, or n_text_state !=
 * n_audio_state, which cross-attention needs); NOMEM when a buffer cannot be had. */
enum auris_err auris__nn_state_init(struct auris__nn_state *st, const auris_model *model,
                                    int n_threads, struct auris_error *err);
void auris__nn_state_free(struct auris__nn_state *st); /* NULL-safe, idempotent */

/* Encodes one mel window [n_mels][2*n_audio_ctx] into st->enc_x [n_audio_ctx][n_audio_state] and
 * computes the cross-attention K/V of every decoder layer. Resets the self-attention cache.
 * INVALID_ARG for NULL arguments. */
enum auris_err auris__encode(struct auris__nn_state *st, const float *mel /* [n_mels][3000] */);

/* Empties the self-attention KV cache (cross K/V are kept); one live sequence. */
void auris__decoder_reset(struct auris__nn_state *st);

/* Makes room for n_seq sequences (1..AURIS__NN_MAX_SEQ). Allocates only when the cache is
 * smaller; then the self-attention cache is emptied (as auris__decoder_reset), so call it before
 * a window's decoding loop (after auris__encode is fine). INVALID_ARG, NOMEM. */
enum auris_err auris__nn_reserve(struct auris__nn_state *st, int n_seq, struct auris_error *err);

/* Batched decoding step: each of the st->n_seq live sequences appends n_tokens tokens
 * (tokens [n_seq][n_tokens]) at positions n_past ..; the rows go through the matrix products
 * together, attention runs per sequence over its own cache slot. Writes the logits of the
 * positions rows[] (indices 0..n_tokens-1 into each sequence's new tokens) to
 * logits [n_seq][n_rows][n_vocab]. n_seq must equal st->n_seq; n_seq*n_tokens and n_seq*n_rows
 * at most n_text_ctx. INVALID_ARG on bad arguments (nothing is changed then). */
enum auris_err auris__decode_batch(struct auris__nn_state *st, int n_seq, const int *tokens,
                                   int n_tokens, const int *rows, int n_rows,
                                   float *logits /* [n_seq][n_rows][n_vocab] */);

/* Reorders the live sequences as the reference's rearrange_kv_cache: new sequence i continues
 * old sequence src[i] (src values may repeat or be dropped); afterwards st->n_seq = n_seq.
 * A repeated source shares its written pages with its copies; only its partly written page
 * (n_past mod AURIS__KV_PAGE rows per layer) is copied (kvcache.c). INVALID_ARG when
 * n_seq > n_slots or a src is not a live sequence. */
enum auris_err auris__kv_reorder(struct auris__nn_state *st, int n_seq,
                                 const int *src /* [n_seq] */);

/* One sequence (st->n_seq must be 1): runs the decoder over n_tokens new tokens at positions n_past .. n_past+n_tokens-1 (appending
 * to the KV cache) and writes the logits of the positions listed in rows[] (indices into this
 * call's tokens, 0..n_tokens-1) to logits [n_rows][n_vocab].
 * rows[] may repeat an index; n_rows may be 0 (rows/logits may then be NULL) and at most n_text_ctx.
 * Errors: INVALID_ARG when n_tokens < 1, n_past + n_tokens > n_text_ctx, a token id or a row is
 * out of range (nothing is changed then). */
enum auris_err auris__decode(struct auris__nn_state *st, const int *tokens, int n_tokens,
                             const int *rows, int n_rows, float *logits /* [n_rows][n_vocab] */);

/* kvcache.c, for nn.c: the page tables for n_text_ctx positions (NOMEM) and their free (with
 * NULL pointers, idempotent); the page entries of the n_tokens positions a step writes from
 * n_past on, in each live sequence's own slot; and the live sequences' histories over
 * [0, n_kv) as runs of whole pages in one slot (sequence i's are st->runs[off[i] ..
 * off[i+1]), off [n_seq + 1]), or NULL when every history is all in its own slot. */
enum auris_err auris__kv_init(struct auris__nn_state *st, int n_text_ctx);
void auris__kv_free(struct auris__nn_state *st);
void auris__kv_append(struct auris__nn_state *st, int n_tokens);
const struct auris__kv_run *auris__kv_runs(struct auris__nn_state *st, int n_kv, int *off);

/* Makes room for n (1..AURIS__NN_MAX_SEQ) audios' cross-attention K/V. INVALID_ARG, NOMEM. */
enum auris_err auris__nn_batch_reserve(struct auris__nn_state *st, int n, struct auris_error *err);

/* Copies the cross K/V of the last auris__encode into batch slot b (< bcross_cap). */
void auris__nn_batch_store(struct auris__nn_state *st, int b);

/* Prepares the capture of alignment-head scores (see `capture`): the model's alignment heads, or
 * the reference's default (every head of the upper half of the decoder layers) when it has none.
 * Allocates once; later calls return at once. NOMEM. */
enum auris_err auris__nn_capture_init(struct auris__nn_state *st, struct auris_error *err);

#endif /* AURIS_NN_H */
