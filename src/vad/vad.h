/*
 * vad.h — internals of the Silero VAD v6 model (src/vad): the loaded weights and the per-stream
 * state of the forward pass.
 *
 * Reference: silero-vad 6.2.0 (its TorchScript model: STFT by a conv1d basis, four conv layers,
 * an LSTM cell, a 1x1 conv head) and whisper.cpp's ggml VAD file layout (vad_load.c).
 * Invariants: every weight is f32, row-major, in PyTorch's layout; shapes are fixed by the v6
 * architecture below and checked at load.
 */
#ifndef AURIS_VAD_VAD_H
#define AURIS_VAD_VAD_H

#include "common.h"

#define VAD_WINDOW 512                       /* new samples per window (16 kHz) */
#define VAD_CONTEXT 64                       /* samples carried over from the previous window */
#define VAD_INPUT (VAD_CONTEXT + VAD_WINDOW) /* 576: the model's input per window */
#define VAD_PAD 64                           /* reflect padding on the right */
#define VAD_FILTER 256                       /* STFT filter length */
#define VAD_HOP 128                          /* STFT hop */
#define VAD_FRAMES 4                         /* (576 + 64 - 256) / 128 + 1 */
#define VAD_BINS 129                         /* filter / 2 + 1 */
#define VAD_BASIS (2 * VAD_BINS)             /* 258 rows: real parts, then imaginary parts */
#define VAD_LAYERS 4
#define VAD_KSIZE 3
#define VAD_HIDDEN 128                       /* LSTM input and hidden size */
#define VAD_GATES (4 * VAD_HIDDEN)           /* i, f, g, o */

/* Conv layer l: channels in -> out, kernel 3, padding 1, stride 1, 2, 2, 1. */
extern const int auris__vad_in_ch[VAD_LAYERS];
extern const int auris__vad_out_ch[VAD_LAYERS];
extern const int auris__vad_stride[VAD_LAYERS];

struct auris_vad {
    int version[3];                  /* silero-vad release of the weights, e.g. 6.2.0 */
    float *stft;                     /* [258][256] conv basis (real rows 0..128, imag 129..257) */
    float *enc_w[VAD_LAYERS];        /* [out][in][3] */
    float *enc_b[VAD_LAYERS];        /* [out] */
    float *w_ih;                     /* [512][128] LSTM input weights (gates i, f, g, o) */
    float *w_hh;                     /* [512][128] LSTM hidden weights */
    float *b_ih, *b_hh;              /* [512] */
    float *lstm_w;                   /* [512][256]: row g = [w_ih[g] | w_hh[g]] (derived) */
    float *lstm_b;                   /* [512]: b_ih + b_hh (derived) */
    float *head_w;                   /* [128] 1x1 conv head */
    float *head_b;                   /* [1] */
    float *store;                    /* one allocation holding every array above */
};

/* Parses whisper.cpp's ggml VAD file held in data[0..size) into vad (fields above, store owned).
 * Every tensor's name, type, shape and value (finite) is checked: AURIS_ERR_FORMAT otherwise. */
enum auris_err auris__vad_parse_ggml(const uint8_t *data, size_t size, struct auris_vad *vad,
                                     struct auris_error *err);

#endif /* AURIS_VAD_VAD_H */
