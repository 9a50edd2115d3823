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

struct auris__pool;

/* auris_vad_probs with the front end (STFT and conv layers, independent per window) of every
 * window computed in parallel over `pool` (NULL: on the caller), then the LSTM in window order.
 * Each window's numbers are bit-identical to a stream's, whatever the pool. The pool must not
 * be running a job (called from its owner's thread). */
enum auris_err auris__vad_probs_pool(const auris_vad *vad, struct auris__pool *pool,
                                     const float *pcm, size_t n_samples, float **probs,
                                     size_t *n_probs, struct auris_error *err);

/* ---- the tensors of a VAD file (vad_load.c), shared by the ggml and native readers --------- */

/* One tensor of the model: its name (the PyTorch state-dict name), its PyTorch shape (outermost
 * first, n_dims 0..3; 0 is a scalar) and the array of struct auris_vad it fills. */
struct auris__vad_slot {
    char name[64];
    int n_dims;
    int dims[3];
    float *dst;
    int seen;
};

#define AURIS__VAD_N_SLOTS (2 * VAD_LAYERS + 7)

/* Allocates v->store, carves every array out of it, and lists the slots. NOMEM. */
enum auris_err auris__vad_make_slots(struct auris_vad *v, struct auris__vad_slot *slots,
                                     struct auris_error *err);
/* The slots of an already loaded model (dst point into v; nothing is allocated). */
void auris__vad_list_slots(const struct auris_vad *v, struct auris__vad_slot *slots);
size_t auris__vad_slot_count(const struct auris__vad_slot *s); /* elements */
/* The slot named name[0..len), or NULL. */
struct auris__vad_slot *auris__vad_find_slot(struct auris__vad_slot *slots, const uint8_t *name,
                                             size_t len);
/* Whether ne[0..n_dims) (innermost first) is the slot's shape, size-1 dimensions ignored. */
int auris__vad_shape_ok(const struct auris__vad_slot *s, const int64_t *ne, int n_dims);
/* Fills the slot from little-endian data of ggml type `type` (0 f32, 1 f16), which must hold
 * auris__vad_slot_count(s) elements; FORMAT for a non-finite value. Marks the slot seen. */
enum auris_err auris__vad_fill(struct auris__vad_slot *s, int type, const uint8_t *data,
                               const char *name, struct auris_error *err);
/* FORMAT when a slot was not seen; otherwise computes the derived arrays (lstm_w, lstm_b). */
enum auris_err auris__vad_finish(struct auris_vad *v, const struct auris__vad_slot *slots,
                                 struct auris_error *err);

/* Parses whisper.cpp's ggml VAD file held in data[0..size) into vad (fields above, store owned).
 * Every tensor's name, type, shape and value (finite) is checked: AURIS_ERR_FORMAT otherwise. */
enum auris_err auris__vad_parse_ggml(const uint8_t *data, size_t size, struct auris_vad *vad,
                                     struct auris_error *err);

/* ---- auris's native VAD file (vad_native.c; docs/FORMAT.md "Silero VAD files") ------------- */

/* What the first bytes of a file say it is (head = its first n bytes, n >= 0). */
enum auris__vad_kind {
    AURIS__VAD_NOT = 0,    /* neither of the two below */
    AURIS__VAD_GGML,       /* whisper.cpp's ggml VAD file (magic + "silero-16k") */
    AURIS__VAD_NATIVE,     /* GGUF whose first key is general.architecture = "silero-vad" */
};
enum auris__vad_kind auris__vad_sniff(const uint8_t *head, size_t n);
#define AURIS__VAD_SNIFF_BYTES 96 /* enough for auris__vad_sniff */

/* Parses a native VAD file held in data[0..size) into vad (as auris__vad_parse_ggml). Every
 * header field, key, tensor info, offset and value is checked: FORMAT (UNSUPPORTED for a GGUF
 * file of another architecture). verify_sum is 1 everywhere but in the fuzz target, which also
 * parses with 0 to reach the tensor infos behind the checksum. */
enum auris_err auris__vad_parse_native(const uint8_t *data, size_t size, struct auris_vad *vad,
                                       int verify_sum, struct auris_error *err);

/* Writes vad as a native file at path (f32 tensors; the probabilities are bit-identical to the
 * source's). The file appears atomically (a temporary renamed); on failure nothing is left.
 * `name` is recorded as general.name (informative; NULL: none). IO, NOMEM. */
enum auris_err auris__vad_write_native(const struct auris_vad *vad, const char *path,
                                       const char *name, struct auris_error *err);

#endif /* AURIS_VAD_VAD_H */
