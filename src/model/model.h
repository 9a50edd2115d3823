/*
 * model.h — the in-memory Whisper checkpoint and its loaders.
 *
 * Reference: openai/whisper model.py (ModelDimensions, tensor names and shapes); whisper.cpp's
 * ggml layout (models/convert-pt-to-ggml.py); PyTorch's zip serialisation (torch.save).
 * Invariants: after a successful load every tensor below is present with exactly the official
 * shape; 1-D tensors (biases, norms) and positional embeddings are f32 and owned; 2-D/3-D weights
 * are f32 or f16, may point into the mapped file, and are suitably aligned for their type.
 * The model is immutable after load.
 */
#ifndef AURIS_MODEL_H
#define AURIS_MODEL_H

#include "common.h"
#include "kernels/kernels.h"

struct auris__tokenizer;

/* A weight: element type, data and shape in PyTorch order (ne[0] outermost). */
struct auris__tensor {
    enum auris__dtype type;
    const void *data;
    int n_dims;
    int64_t ne[3];
};

struct auris__attn {
    const float *ln_w, *ln_b;              /* [n_state] */
    struct auris__tensor q_w;              /* [n_state][n_state] */
    const float *q_b;                      /* [n_state] */
    struct auris__tensor k_w;              /* [n_state][n_state], no bias */
    struct auris__tensor v_w;              /* [n_state][n_state] */
    const float *v_b;                      /* [n_state] */
    struct auris__tensor o_w;              /* [n_state][n_state] */
    const float *o_b;                      /* [n_state] */
};

struct auris__block {
    struct auris__attn attn;               /* self-attention, with attn_ln */
    struct auris__attn cross;              /* decoder only: cross_attn with cross_attn_ln */
    const float *mlp_ln_w, *mlp_ln_b;      /* [n_state] */
    struct auris__tensor mlp0_w;           /* [4*n_state][n_state] */
    const float *mlp0_b;                   /* [4*n_state] */
    struct auris__tensor mlp2_w;           /* [n_state][4*n_state] */
    const float *mlp2_b;                   /* [n_state] */
};

struct auris_model {
    struct auris_model_dims dims;
    char *path;                            /* as given to auris_model_load */

    /* encoder */
    struct auris__tensor conv1_w;          /* [n_audio_state][n_mels][3] */
    const float *conv1_b;                  /* [n_audio_state] */
    struct auris__tensor conv2_w;          /* [n_audio_state][n_audio_state][3] */
    const float *conv2_b;                  /* [n_audio_state] */
    const float *enc_pos;                  /* [n_audio_ctx][n_audio_state] */
    struct auris__block *enc;              /* [n_audio_layer] */
    const float *enc_ln_w, *enc_ln_b;      /* [n_audio_state] (ln_post) */

    /* decoder */
    struct auris__tensor tok_emb;          /* [n_vocab][n_text_state], also the output projection */
    const float *dec_pos;                  /* [n_text_ctx][n_text_state] */
    struct auris__block *dec;              /* [n_text_layer] */
    const float *dec_ln_w, *dec_ln_b;      /* [n_text_state] */

    float *mel_filters;                    /* [n_mels][201], owned */
    struct auris__tokenizer *tok;          /* owned */

    /* backing storage */
    void *map;                             /* mmap'd file, or NULL */
    size_t map_size;
    void **owned;                          /* buffers to free (auris__aligned_free) */
    int n_owned, cap_owned;
};

/* One named tensor as a loader found it in a file, before validation. */
struct auris__raw_tensor {
    char name[96];
    enum auris__dtype type;                /* element type on disk */
    int n_dims;
    int64_t ne[4];                         /* PyTorch order */
    const void *data;                      /* inside the mapped file */
    int is_bf16;                           /* 1: bfloat16 on disk (`type` is then F16 by
                                              convention); bind converts it to f32 */
};

/* The loaders fill this; auris__model_bind then validates names/shapes and builds the model. */
struct auris__checkpoint {
    struct auris_model_dims dims;
    struct auris__raw_tensor *tensors;
    int n_tensors;
    int squeezed;                          /* 1: size-1 dimensions may be missing or extra
                                              (ggml's converter squeezes and reshapes) */
    /* ggml only: embedded mel filters and vocabulary */
    const float *mel_filters;              /* [n_mels][201] inside the map (may be unaligned), or NULL */
    int filters_n_mels, filters_n_fft;
    int n_vocab_tokens;                    /* number of base BPE tokens embedded, 0 if none */
    const unsigned char **vocab;           /* [n_vocab_tokens] pointers into the map */
    uint32_t *vocab_len;                   /* [n_vocab_tokens] */
};

void auris__checkpoint_clear(struct auris__checkpoint *ck);

/* Format loaders: parse the mapped bytes into `ck`. They check every size and offset against
 * `size` before touching memory, and name the offending structure or tensor in errors. */
enum auris_err auris__load_pt(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                              struct auris_error *err);
enum auris_err auris__load_ggml(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                                struct auris_error *err);
/* auris's native single-file format (GGUF-based, docs/FORMAT.md). */
enum auris_err auris__load_native(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                                  struct auris_error *err);

/* Validates dims, every expected tensor's presence, shape and type, and fills `model`
 * (converting 1-D tensors and positional embeddings to owned f32, and copying misaligned
 * weights). Unexpected extra tensors are an error too. */
enum auris_err auris__model_bind(auris_model *model, const struct auris__checkpoint *ck,
                                 struct auris_error *err);

/* Registers a buffer the model frees on auris_model_free. Returns 0 on success.
 * `p` must come from auris__aligned_alloc; on failure it is freed here, so callers just report
 * AURIS_ERR_NOMEM. */
int auris__model_own(auris_model *model, void *p);

/* ---- PyTorch zip container (zip.c; exposed for unit tests) ------------------------------- */

/* One member of the archive. Only stored (uncompressed) members can be read. */
struct auris__zip_entry {
    const char *name;                      /* inside the map, not NUL-terminated */
    size_t name_len;
    size_t data_off;                       /* first byte of the member's data in the file */
    size_t size;                           /* bytes of data (compressed == uncompressed) */
    uint32_t crc32;
    int method;                            /* 0 = stored; anything else cannot be read */
};

struct auris__zip {
    struct auris__zip_entry *entries;      /* [n_entries], sorted by name, names unique */
    int n_entries;
};

/* Reads the central directory (ZIP64 aware) and every member's local header; every offset and
 * size is checked against `size`, and each member's data must lie before the directory. */
enum auris_err auris__zip_open(const uint8_t *data, size_t size, struct auris__zip *zip,
                               struct auris_error *err);
void auris__zip_close(struct auris__zip *zip); /* NULL-safe, idempotent */
/* The member called exactly name[0..name_len), or NULL. */
const struct auris__zip_entry *auris__zip_find(const struct auris__zip *zip, const char *name,
                                               size_t name_len);

/* ---- allow-list pickle reader (pickle.c; exposed for unit tests) -------------------------- */

enum auris__pt_dtype { AURIS__PT_F32 = 0, AURIS__PT_F16, AURIS__PT_BF16 };

/* One entry of model_state_dict as the pickle describes it (nothing checked against the zip). */
struct auris__pt_tensor {
    const char *name;                      /* inside the pickle bytes, not NUL-terminated */
    size_t name_len;
    const char *key;                       /* storage key: the member <prefix>/data/<key> */
    size_t key_len;
    enum auris__pt_dtype dtype;
    int64_t storage_numel;                 /* elements in the whole storage */
    int64_t offset;                        /* storage_offset, in elements */
    int n_dims;
    int64_t size[4], stride[4];            /* PyTorch order, in elements */
};

struct auris__pt_state {
    struct auris_model_dims dims;
    struct auris__pt_tensor *tensors;      /* [n_tensors], in pickle order */
    int n_tensors;
};

/* Runs the restricted pickle VM over data.pkl: only the opcodes and globals torch.save emits
 * for {"dims": {...}, "model_state_dict": OrderedDict(name -> tensor)} are accepted, nothing is
 * ever executed, and stack, mark, memo and object counts are bounded. Any other opcode or
 * global is AURIS_ERR_FORMAT naming it. */
enum auris_err auris__pickle_load(const uint8_t *pkl, size_t len, struct auris__pt_state *st,
                                  struct auris_error *err);
void auris__pt_state_clear(struct auris__pt_state *st); /* NULL-safe, idempotent */

#endif /* AURIS_MODEL_H */
