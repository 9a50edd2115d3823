/*
 * nn.h — the Whisper network: audio encoder and text decoder with KV caches, in fp32.
 *
 * Reference: openai/whisper model.py (AudioEncoder, TextDecoder, ResidualAttentionBlock,
 * MultiHeadAttention, sinusoids). LayerNorm eps 1e-5, exact (erf) GELU, attention scaled by
 * d_head^-0.25 on both q and k, causal mask in decoder self-attention.
 * Invariants: forward passes allocate nothing — every buffer below is sized once by
 * auris__nn_state_init for the model's dimensions; the model is only read.
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

    /* cross-attention K/V per decoder layer, computed once per window */
    float *cross_k;      /* [n_text_layer][n_audio_ctx][n_text_state] */
    float *cross_v;      /* [n_text_layer][n_audio_ctx][n_text_state] */

    /* self-attention KV cache */
    float *self_k;       /* [n_text_layer][n_text_ctx][n_text_state] */
    float *self_v;       /* [n_text_layer][n_text_ctx][n_text_state] */
    int n_past;          /* positions already in the cache */

    /* decoder scratch, for up to n_text_ctx tokens at once */
    float *dec_buf;
    size_t dec_buf_len;
};

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

/* Empties the self-attention KV cache (cross K/V are kept). */
void auris__decoder_reset(struct auris__nn_state *st);

/* Runs the decoder over n_tokens new tokens at positions n_past .. n_past+n_tokens-1 (appending
 * to the KV cache) and writes the logits of the positions listed in rows[] (indices into this
 * call's tokens, 0..n_tokens-1) to logits [n_rows][n_vocab].
 * rows[] may repeat an index; n_rows may be 0 (rows/logits may then be NULL) and at most n_text_ctx.
 * Errors: INVALID_ARG when n_tokens < 1, n_past + n_tokens > n_text_ctx, a token id or a row is
 * out of range (nothing is changed then). */
enum auris_err auris__decode(struct auris__nn_state *st, const int *tokens, int n_tokens,
                             const int *rows, int n_rows, float *logits /* [n_rows][n_vocab] */);

#endif /* AURIS_NN_H */
