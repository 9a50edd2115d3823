/*
 * ggml.c — whisper.cpp's legacy ggml model files into a struct auris__checkpoint.
 *
 * Reference: whisper.cpp models/convert-pt-to-ggml.py (writer) and whisper_model_load (reader).
 * Layout, all little-endian: uint32 magic 0x67676d6c; 11 int32 hparams (n_vocab, n_audio_ctx,
 * n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head,
 * n_text_layer, n_mels, ftype); mel filters (int32 n_mel, int32 n_fft, f32[n_mel*n_fft]);
 * vocabulary (int32 count, then per token int32 length + bytes, in rank order); then tensors to
 * the end of the file: int32 n_dims, int32 name_len, int32 ttype, int32 ne[n_dims] (innermost
 * first, i.e. reversed PyTorch order), the name, the raw data (no padding).
 * The converter squeezes size-1 dimensions and reshapes conv biases to [n_state][1]; binding
 * compares shapes with size-1 dimensions ignored (that never changes a row-major layout).
 * Quantized files (whisper.cpp examples/quantize) store ftype + 1000 * qntvr in the header and
 * 2-D weights as q4_0/q4_1/q5_0/q5_1/q8_0 blocks of 32 values along the innermost dimension
 * (ggml-common.h); only quantization version 2 (f16 block scales) is read. Block tensors are
 * passed on as they are (the kernels compute on ggml's block layouts, src/kernels/q4.c, q8.c),
 * so a quantized model costs its file size; bf16 (type 30) is passed on.
 * Invariants: every read is bounds-checked; raw pointers point into the map (maybe unaligned)
 * or into buffers the checkpoint owns.
 */
#include "model/model.h"
#include "byte_reader.h"

#include <stdlib.h>

#define GGML_MAGIC 0x67676d6cu
#define MAX_VOCAB_TOKENS (1 << 20)
#define MAX_TOKEN_BYTES 65536
#define MAX_TENSORS (1 << 16)
#define QNT_VERSION_FACTOR 1000
#define QNT_VERSION 2 /* f16 block scales; versions 0 and 1 used other block layouts */

static const char *ggml_type_name(int32_t t)
{
    static const char *const names[] = {
        "f32", "f16", "q4_0", "q4_1", "q4_2", "q4_3", "q5_0", "q5_1", "q8_0", "q8_1",
        "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "iq2_xxs", "iq2_xs", "iq3_xxs",
        "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64",
        "iq1_m", "bf16"};
    if (t >= 0 && (size_t)t < AURIS_ARRAY_LEN(names))
        return names[t];
    return NULL;
}

static enum auris_err read_header(struct auris__rd *r, struct auris__checkpoint *ck, int *qntvr,
                                  struct auris_error *err)
{
    int32_t h[11];
    for (int i = 0; i < 11; i++)
        if (!auris__rd_i32(r, &h[i]))
            return auris__fail(err, AURIS_ERR_FORMAT, "ggml: truncated header");
    for (int i = 0; i < 10; i++)
        if (h[i] <= 0)
            return auris__fail(err, AURIS_ERR_FORMAT, "ggml: hyperparameter #%d is %d", i, (int)h[i]);
    ck->dims.n_vocab = h[0];
    ck->dims.n_audio_ctx = h[1];
    ck->dims.n_audio_state = h[2];
    ck->dims.n_audio_head = h[3];
    ck->dims.n_audio_layer = h[4];
    ck->dims.n_text_ctx = h[5];
    ck->dims.n_text_state = h[6];
    ck->dims.n_text_head = h[7];
    ck->dims.n_text_layer = h[8];
    ck->dims.n_mels = h[9];
    if (h[10] < 0) /* ftype (+1000 * quantisation version); the tensors say what they hold */
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: negative ftype %d", (int)h[10]);
    *qntvr = h[10] / QNT_VERSION_FACTOR;

    int32_t n_mel, n_fft;
    const uint8_t *p;
    if (!auris__rd_i32(r, &n_mel) || !auris__rd_i32(r, &n_fft))
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: truncated mel filters");
    if (n_mel <= 0 || n_mel > 1024 || n_fft <= 0 || n_fft > 4096)
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: implausible mel filter shape [%d][%d]",
                           (int)n_mel, (int)n_fft);
    if (!auris__rd_take(r, (size_t)n_mel * (size_t)n_fft * 4, &p))
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: truncated mel filters");
    ck->mel_filters = (const float *)(const void *)p;
    ck->filters_n_mels = n_mel;
    ck->filters_n_fft = n_fft;

    int32_t count;
    if (!auris__rd_i32(r, &count))
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: truncated vocabulary");
    if (count < 0 || count > MAX_VOCAB_TOKENS)
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: implausible vocabulary size %d", (int)count);
    ck->vocab = calloc((size_t)AURIS_MAX(count, 1), sizeof *ck->vocab);
    ck->vocab_len = calloc((size_t)AURIS_MAX(count, 1), sizeof *ck->vocab_len);
    if (!ck->vocab || !ck->vocab_len)
        return auris__fail(err, AURIS_ERR_NOMEM, "ggml: out of memory for the vocabulary");
    for (int32_t i = 0; i < count; i++) {
        int32_t len;
        if (!auris__rd_i32(r, &len) || len < 0 || len > MAX_TOKEN_BYTES || !auris__rd_take(r, (size_t)len, &p))
            return auris__fail(err, AURIS_ERR_FORMAT, "ggml: vocabulary token %d is truncated or malformed",
                               (int)i);
        ck->vocab[i] = p;
        ck->vocab_len[i] = (uint32_t)len;
    }
    ck->n_vocab_tokens = count;
    return AURIS_OK;
}

/* Reads one tensor record at r->pos into `t`. */
static enum auris_err read_tensor(struct auris__rd *r, int index, int qntvr,
                                  struct auris__raw_tensor *t, struct auris_error *err)
{
    int32_t n_dims, name_len, ttype, ne[4];
    const uint8_t *p;
    if (!auris__rd_i32(r, &n_dims) || !auris__rd_i32(r, &name_len) || !auris__rd_i32(r, &ttype))
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: tensor #%d: truncated header", index);
    if (n_dims < 1 || n_dims > 4)
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: tensor #%d has %d dimensions", index,
                           (int)n_dims);
    if (name_len < 1 || (size_t)name_len >= sizeof t->name)
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: tensor #%d has a name of %d bytes", index,
                           (int)name_len);
    size_t numel = 1;
    for (int i = 0; i < n_dims; i++) {
        if (!auris__rd_i32(r, &ne[i]))
            return auris__fail(err, AURIS_ERR_FORMAT, "ggml: tensor #%d: truncated shape", index);
        if (ne[i] <= 0 || !auris__mul_ok(numel, (size_t)ne[i], &numel) || numel > ((size_t)1 << 40))
            return auris__fail(err, AURIS_ERR_FORMAT, "ggml: tensor #%d: bad dimension %d", index,
                               (int)ne[i]);
    }
    if (!auris__rd_take(r, (size_t)name_len, &p))
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: tensor #%d: truncated name", index);
    if (memchr(p, '\0', (size_t)name_len))
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: tensor #%d: name contains a NUL byte", index);
    memcpy(t->name, p, (size_t)name_len);
    t->name[name_len] = '\0';
    size_t bytes, block = auris__ggml_block_bytes(ttype);
    if (ttype == AURIS__GGML_F32) {
        bytes = numel * 4;
    } else if (ttype == AURIS__GGML_F16 || ttype == AURIS__GGML_BF16) {
        bytes = numel * 2;
    } else if (block) {
        if (qntvr != QNT_VERSION)
            return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                               "tensor '%s' has ggml type %s from quantization version %d; only "
                               "version %d is supported (re-quantize with a current whisper.cpp)",
                               t->name, ggml_type_name(ttype), qntvr, QNT_VERSION);
        if (ne[0] % AURIS__GGML_QK)
            return auris__fail(err, AURIS_ERR_FORMAT,
                               "tensor '%s' is %s but its rows of %d values are not whole blocks "
                               "of %d", t->name, ggml_type_name(ttype), (int)ne[0], AURIS__GGML_QK);
        bytes = numel / AURIS__GGML_QK * block;
    } else {
        const char *tn = ggml_type_name(ttype);
        if (tn)
            return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                               "tensor '%s' has ggml type %s, which this version cannot load "
                               "(f32, f16, bf16, q4_0, q4_1, q5_0, q5_1 and q8_0 only)",
                               t->name, tn);
        return auris__fail(err, AURIS_ERR_FORMAT, "tensor '%s' has unknown ggml type %d", t->name,
                           (int)ttype);
    }
    if (!auris__rd_take(r, bytes, &p))
        return auris__fail(err, AURIS_ERR_FORMAT, "tensor '%s' is truncated (%zu bytes of data, %zu left in file)",
                           t->name, bytes, r->size - r->pos);
    t->type = ttype == AURIS__GGML_F32 ? AURIS_DT_F32 : AURIS_DT_F16;
    t->is_bf16 = ttype == AURIS__GGML_BF16;
    t->data = p;
    t->n_dims = n_dims;
    for (int i = 0; i < 4; i++) /* ggml lists the innermost dimension first */
        t->ne[i] = i < n_dims ? ne[n_dims - 1 - i] : 1;
    if (block) /* the kernels compute on ggml's blocks as they are (ids are ggml's) */
        t->type = (enum auris__dtype)ttype;
    return AURIS_OK;
}

enum auris_err auris__load_ggml(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                                struct auris_error *err)
{
    memset(ck, 0, sizeof *ck);
    struct auris__rd r = {data, size, 0};
    int32_t magic;
    enum auris_err rc;
    if (!auris__rd_i32(&r, &magic) || (uint32_t)magic != GGML_MAGIC)
        return auris__fail(err, AURIS_ERR_FORMAT, "ggml: bad magic");
    ck->squeezed = 1;
    int qntvr = 0;
    if ((rc = read_header(&r, ck, &qntvr, err)))
        goto fail;
    int cap = 0;
    while (r.pos < r.size) {
        if (ck->n_tensors == MAX_TENSORS) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "ggml: more than %d tensors", MAX_TENSORS);
            goto fail;
        }
        if (ck->n_tensors == cap) {
            cap = cap ? cap * 2 : 256;
            struct auris__raw_tensor *t = realloc(ck->tensors, (size_t)cap * sizeof *t);
            if (!t) {
                rc = auris__fail(err, AURIS_ERR_NOMEM, "ggml: out of memory");
                goto fail;
            }
            ck->tensors = t;
        }
        struct auris__raw_tensor *t = &ck->tensors[ck->n_tensors];
        memset(t, 0, sizeof *t);
        if ((rc = read_tensor(&r, ck->n_tensors, qntvr, t, err)))
            goto fail;
        ck->n_tensors++;
    }
    return AURIS_OK;
fail:
    auris__checkpoint_clear(ck);
    return rc;
}
