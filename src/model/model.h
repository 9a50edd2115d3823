/*
 * model.h — the in-memory Whisper checkpoint and its loaders.
 *
 * Reference: openai/whisper model.py (ModelDimensions, tensor names and shapes); whisper.cpp's
 * ggml layout (models/convert-pt-to-ggml.py); PyTorch's zip serialisation (torch.save).
 * Invariants: after a successful load every tensor below is present with exactly the official
 * shape; 1-D tensors (biases, norms) and positional embeddings are f32 (owned, or in the map
 * when stored there as aligned f32); 2-D/3-D weights are f32, f16, bf16 or q8_0 (q8_0 rows are
 * whole blocks), may point into the mapped file, and are suitably aligned for their type.
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

/* One read-only file mapping. */
struct auris__mapping {
    void *data;
    size_t size;
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

    uint8_t *alignment_heads;              /* [n_text_layer][n_text_head], 1 = alignment head;
                                              owned (in `owned`) */

    /* backing storage */
    void *map;                             /* mmap'd file, or NULL */
    size_t map_size;
    struct auris__mapping *maps;           /* [n_maps] further mapped files (sharded Hugging Face
                                              checkpoints), malloc'd; unmapped on free */
    int n_maps;
    void **owned;                          /* buffers to free (auris__aligned_free) */
    int n_owned, cap_owned;
    enum auris_compute_type compute;       /* set before bind: the form of the weights */
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
    unsigned char *vocab_bytes;            /* malloc'd storage behind `vocab` when the loader
                                              decoded the tokens itself (Hugging Face), or NULL */
    /* Hugging Face only: special tokens the files declare, checked against our layout */
    struct auris__special_token *specials; /* [n_specials], texts in special_pool */
    int n_specials;
    char *special_pool;
    /* 64-byte-aligned buffers holding converted weights (dequantized ggml blocks): a
     * successful load moves them into the model, auris__checkpoint_clear frees the rest */
    void **owned;
    int n_owned, cap_owned;
    /* native format only: the alignment-head mask [n_text_layer][n_text_head] (1 = head used
     * for word timings) inside the map, or NULL; bind copies it into model->alignment_heads */
    const uint8_t *alignment_heads;
};

/* A special token as a Hugging Face tokenizer file lists it. */
struct auris__special_token {
    const char *text;
    int id;
};

/* Frees everything the checkpoint owns (owned buffers included) and zeroes it. NULL-safe. */
void auris__checkpoint_clear(struct auris__checkpoint *ck);

/* Registers an auris__aligned_alloc'd buffer with the checkpoint. Returns 0 on success; on
 * failure `p` is freed here (callers report AURIS_ERR_NOMEM). */
int auris__checkpoint_own(struct auris__checkpoint *ck, void *p);

/* Format loaders: parse the mapped bytes into `ck`. They check every size and offset against
 * `size` before touching memory, and name the offending structure or tensor in errors. */
enum auris_err auris__load_pt(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                              struct auris_error *err);
enum auris_err auris__load_ggml(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                                struct auris_error *err);
/* A Hugging Face WhisperForConditionalGeneration checkpoint (hf.c): `path` is its directory,
 * its config.json, its model.safetensors(.index.json) or one .safetensors file in it. Every
 * safetensors file is mapped and registered in model->maps; tensor names are mapped onto
 * Whisper's, dims come from config.json, and the vocabulary from vocab.json / tokenizer.json
 * (when present; otherwise the .tiktoken search applies). */
enum auris_err auris__load_hf(const char *path, auris_model *model, struct auris__checkpoint *ck,
                              struct auris_error *err);
/* After the tokenizer is built: every special token the Hugging Face files declare must have
 * our layout's id (<|endoftext|> and <|startoftranscript|> must be declared); else FORMAT. */
enum auris_err auris__hf_check_specials(const struct auris__tokenizer *tok,
                                        const struct auris__checkpoint *ck,
                                        struct auris_error *err);
/* 1 when `path` names something auris__load_hf should read (a directory, or a file whose name
 * ends in .json or .safetensors). */
int auris__is_hf_path(const char *path);
/* auris's native single-file format (GGUF-based, docs/FORMAT.md). */
enum auris_err auris__load_native(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                                  struct auris_error *err);

/* Validates dims, every expected tensor's presence, shape and type, and fills `model`
 * (converting 1-D tensors and positional embeddings to owned f32, and copying misaligned
 * weights). Unexpected extra tensors are an error too. */
enum auris_err auris__model_bind(auris_model *model, const struct auris__checkpoint *ck,
                                 struct auris_error *err);

/* Maps a whole regular file read-only (model.c). NOT_FOUND/IO/FORMAT (empty file) on failure. */
enum auris_err auris__map_file(const char *path, struct auris__mapping *out,
                               struct auris_error *err);
/* Appends a mapping to model->maps (unmapped by auris_model_free; on failure it is unmapped
 * here). Returns 0 on success. */
int auris__model_add_map(auris_model *model, struct auris__mapping map);

/* Registers a buffer the model frees on auris_model_free. Returns 0 on success.
 * `p` must come from auris__aligned_alloc; on failure it is freed here, so callers just report
 * AURIS_ERR_NOMEM. */
int auris__model_own(auris_model *model, void *p);

/* ---- compute types (compute.c) ------------------------------------------------------------ */

/* AURIS_OK, INVALID_ARG for a value outside the enum, UNSUPPORTED for bfloat16 (no native bf16). */
enum auris_err auris__compute_check(enum auris_compute_type type, struct auris_error *err);
/* The element type a weight stored as `stored` takes under compute type `ct`: is_linear marks
 * Linear/Embedding matrices (2-D), the rest are convolutions. AURIS_DT_I8R means quantize. */
enum auris__dtype auris__compute_target(enum auris_compute_type ct, enum auris__dtype stored,
                                        int is_linear);
/* *dst = `src` (any stored type, rows of ne[n_dims-1]) converted to `want` (F32, F16 or I8R:
 * per-row int8, CTranslate2's quantization) in one owned buffer; the mapped pages src came
 * from are released (auris__model_release_pages). NOMEM on failure. */
enum auris_err auris__weight_convert(auris_model *m, const char *name,
                                     const struct auris__tensor *src, enum auris__dtype want,
                                     struct auris__tensor *dst, struct auris_error *err);
/* Drops the whole pages of [p, p + bytes) from the process when they lie in one of the model's
 * read-only file maps (they are read back from the file if touched again); else nothing. */
void auris__model_release_pages(const auris_model *m, const void *p, size_t bytes);

/* ---- CTranslate2 models (ct2.c) --------------------------------------------------------- */

/* 1 when the bytes start like a CTranslate2 model.bin (u32 version, then a spec-name string). */
int auris__ct2_detect(const uint8_t *data, size_t size);
/* When `path` is a CTranslate2 model directory (model.bin, and no model.safetensors or its
 * index) or its config.json, writes that model.bin's path to out and returns 1; else 0. */
int auris__ct2_model_file(const char *path, char *out, size_t cap);
/* A CTranslate2 WhisperSpec model.bin (binary versions 4-6, float32/float16/bfloat16/int8 with
 * per-row scales) into `ck` under Whisper's names: fused QKV / KV weights become row-range
 * views, int8 weights AURIS_DT_I8R descriptors (owned by ck), int8 convolutions dequantized.
 * With `dir` non-NULL, config.json (alignment_heads), preprocessor_config.json (feature_size)
 * and vocabulary.json or vocabulary.txt are read from it (absent files are skipped). */
enum auris_err auris__load_ct2(const uint8_t *data, size_t size, const char *dir,
                               struct auris__checkpoint *ck, struct auris_error *err);

/* model.bin's variables as parsed (exposed for unit tests). Aliases are entries of their own
 * (alias_of names the target, whose shape, dtype and data they share). */
struct auris__ct2_var {
    const char *name;                      /* NUL-terminated, inside the file's bytes */
    const char *alias_of;                  /* NULL for a variable */
    int rank;                              /* 0 (scalar) .. 8 */
    int dtype;                             /* 0 float32, 1 int8, 2 int16, 3 int32, 4 float16,
                                              5 bfloat16 (CTranslate2's DataType order) */
    int64_t shape[8];
    const uint8_t *data;                   /* inside the file's bytes, any alignment */
    size_t nbytes;
};

struct auris__ct2_file {
    uint32_t version, revision;
    const char *spec;                      /* e.g. "WhisperSpec", inside the bytes */
    struct auris__ct2_var *vars;           /* [n_vars + n_aliases] sorted by name, malloc'd */
    int n_vars, n_aliases;
};

/* Parses the container: every string, shape, byte count and alias is checked against `size`;
 * names are unique; nothing may follow the alias table. */
enum auris_err auris__ct2_parse(const uint8_t *data, size_t size, struct auris__ct2_file *f,
                                struct auris_error *err);
void auris__ct2_file_clear(struct auris__ct2_file *f); /* NULL-safe, idempotent */
/* The variable or alias called `name`, or NULL. */
const struct auris__ct2_var *auris__ct2_find(const struct auris__ct2_file *f, const char *name);

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

/* ---- safetensors (safetensors.c; exposed for unit tests) --------------------------------- */

enum auris__st_dtype { AURIS__ST_F32 = 0, AURIS__ST_F16, AURIS__ST_BF16 };

struct auris__st_tensor {
    char name[128];
    enum auris__st_dtype dtype;
    int n_dims;                            /* 0..4 */
    int64_t ne[4];                         /* PyTorch order */
    const void *data;                      /* inside the file's bytes (maybe unaligned) */
    size_t nbytes;
};

/* Parses a whole .safetensors file: 8-byte little-endian header length, a JSON object
 * {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
 * data. Every tensor's byte range must match its dtype and shape, lie inside the data and not
 * overlap another. F32, F16 and BF16 only. *out is malloc'd ([*n_out], file order). */
enum auris_err auris__safetensors_parse(const uint8_t *data, size_t size,
                                        struct auris__st_tensor **out, int *n_out,
                                        struct auris_error *err);

/* ---- Hugging Face vocabulary helpers (hf.c; exposed for unit tests) ------------------------ */

/* Decodes one GPT-2 byte-level token string (UTF-8 of the bytes_to_unicode alphabet) into its
 * raw bytes. Returns the number of bytes written to out (at most cap), or -1 when the string is
 * not valid UTF-8, uses a code point outside the alphabet or does not fit. */
int auris__gpt2_token_bytes(const char *s, size_t len, unsigned char *out, size_t cap);

/* ---- ggml quantized blocks (ggml_quant.c) --------------------------------------------------- */

/* ggml type ids of the block formats (ggml.h enum ggml_type). */
enum {
    AURIS__GGML_F32 = 0, AURIS__GGML_F16 = 1, AURIS__GGML_Q4_0 = 2, AURIS__GGML_Q4_1 = 3,
    AURIS__GGML_Q5_0 = 6, AURIS__GGML_Q5_1 = 7, AURIS__GGML_Q8_0 = 8, AURIS__GGML_BF16 = 30
};
#define AURIS__GGML_QK 32 /* values per block of every type above */

/* Bytes of one block of a quantized type (18, 20, 22, 24, 34), or 0 when not a block type. */
size_t auris__ggml_block_bytes(int type);

/* Dequantizes n_blocks blocks of `type` at src (any alignment) into 32 * n_blocks values,
 * bit-exactly as ggml's dequantize_row_* (the f16 output rounds that value to nearest even).
 * Returns -1 for a type that is not a block type. */
int auris__ggml_dequantize_f32(int type, const uint8_t *src, size_t n_blocks, float *dst);
int auris__ggml_dequantize_f16(int type, const uint8_t *src, size_t n_blocks, uint16_t *dst);

/* ---- alignment heads (alignment.c) --------------------------------------------------------- */

/* The reference's published alignment heads of an official model ("tiny.en", "large-v3",
 * "turbo", ...). On success returns 0 and sets the model's decoder shape and its list of
 * (layer, head) pairs ([*n_pairs][2], static); -1 for an unknown name. */
int auris__alignment_table(const char *name, int *n_text_layer, int *n_text_head,
                           const uint8_t (**pairs)[2], int *n_pairs);

/* The model's alignment heads as (layer[i], head[i]) pairs in row-major order; writes at most
 * `max` pairs and returns the total count (call with max 0 to size the arrays). */
int auris__model_alignment_heads(const auris_model *model, int *layer, int *head, int max);

/* ---- native format helpers (bind.c, native_write.c) --------------------------------------- */

/* out[0..ne[n_dims-1]) = row `row` of a 2-D weight as f32 (any element type). */
void auris__row_to_f32(const struct auris__tensor *t, int64_t row, float *out);

/* Writes `m` as a native file (docs/FORMAT.md) with its 2-D/3-D weights in `type` (F32, F16,
 * BF16 or Q8_0; q8_0 falls back to f16 for tensors whose rows are not whole blocks, such as the
 * convolutions), everything else f32. Atomic: a temporary file in the same folder is renamed
 * over `path` only when complete; on failure nothing is left behind. */
enum auris_err auris__native_write(const auris_model *m, const char *path, enum auris__dtype type,
                                   struct auris_error *err);

#endif /* AURIS_MODEL_H */
