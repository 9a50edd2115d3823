/*
 * test_formats.c — unit tests of the Hugging Face / safetensors reader, ggml block
 * dequantization, the GPT-2 byte alphabet and the alignment-head tables.
 *
 * Reference (facts only): the safetensors layout (u64 header length, JSON header, data);
 * whisper.cpp ggml-common.h / ggml-quants.c (block layouts, dequantize_row_*); GPT-2's
 * bytes_to_unicode; openai/whisper __init__.py _ALIGNMENT_HEADS (head counts per model, decoded
 * independently with Python: tiny.en 8, tiny 6, base.en 5, base 8, small.en 19, small 10,
 * medium.en 18, medium 6, large-v1 9, large-v2 23, large-v3 10, turbo 6).
 * A micro Hugging Face directory (d_model 8, synthetic vocabulary) is written under
 * $AURIS_TEST_TMP and loaded end to end; nothing here needs the shared data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

/* ---- byte buffers ----------------------------------------------------------------------------- */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

/* A safetensors file: header JSON padded with spaces to a multiple of 8, then `data`. */
static struct buf st_file(const char *header, const void *data, size_t n)
{
    struct buf b = {0};
    size_t h = strlen(header), pad = (8 - h % 8) % 8;
    uint64_t len = h + pad;
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(len >> (8 * i));
    put(&b, le, 8);
    put(&b, header, h);
    for (size_t i = 0; i < pad; i++)
        put(&b, " ", 1);
    if (n)
        put(&b, data, n);
    return b;
}

static enum auris_err st_parse(const struct buf *b, char *msg, size_t cap)
{
    struct auris__st_tensor *t = NULL;
    int n = -1;
    struct auris_error e = {0};
    enum auris_err rc = auris__safetensors_parse(b->p, b->n, &t, &n, &e);
    if (rc) {
        assert_null(t);
        assert_true(strlen(e.message) > 0);
    }
    if (msg)
        snprintf(msg, cap, "%s", e.message);
    free(t);
    return rc;
}

/* ---- safetensors ------------------------------------------------------------------------------ */

static void test_st_valid(void **state)
{
    (void)state;
    uint8_t data[32];
    for (int i = 0; i < 32; i++)
        data[i] = (uint8_t)i;
    struct buf b = st_file("{\"__metadata__\":{\"format\":\"pt\"},"
                           "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                           "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
                           "\"c\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[24,24]}}",
                           data, sizeof data);
    struct auris__st_tensor *t = NULL;
    int n = 0;
    struct auris_error e = {0};
    assert_int_equal(auris__safetensors_parse(b.p, b.n, &t, &n, &e), AURIS_OK);
    assert_int_equal(n, 3);
    assert_string_equal(t[0].name, "a");
    assert_int_equal(t[0].dtype, AURIS__ST_F32);
    assert_int_equal(t[0].n_dims, 2);
    assert_int_equal(t[0].ne[0], 2);
    assert_int_equal(t[0].ne[1], 3);
    assert_int_equal(t[0].nbytes, 24);
    assert_ptr_equal(t[0].data, b.p + b.n - 32);
    assert_string_equal(t[1].name, "b");
    assert_int_equal(t[1].dtype, AURIS__ST_BF16);
    assert_ptr_equal(t[1].data, b.p + b.n - 8);
    assert_int_equal(t[2].nbytes, 0);
    free(t);

    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < b.n; cut++) {
        struct buf c = {b.p, cut, cut};
        assert_int_equal(st_parse(&c, NULL, 0), AURIS_ERR_FORMAT);
    }
    free(b.p);
}

static void expect_st(const char *header, size_t data_len, enum auris_err want, const char *needle)
{
    uint8_t data[64] = {0};
    struct buf b = st_file(header, data, data_len);
    char msg[AURIS_ERROR_MESSAGE_SIZE];
    assert_int_equal(st_parse(&b, msg, sizeof msg), want);
    if (needle && !strstr(msg, needle))
        fail_msg("message '%s' lacks '%s'", msg, needle);
    free(b.p);
}

static void test_st_hostile(void **state)
{
    (void)state;
    expect_st("{", 0, AURIS_ERR_FORMAT, "JSON");
    expect_st("[1,2]", 0, AURIS_ERR_FORMAT, "JSON object");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
              16, AURIS_ERR_FORMAT, "overlaps");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
              AURIS_ERR_FORMAT, "past the");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,4]}}", 16,
              AURIS_ERR_FORMAT, "data_offsets");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16,
              AURIS_ERR_FORMAT, "need 12");
    expect_st("{\"a\":{\"dtype\":\"F99\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
              AURIS_ERR_FORMAT, "unknown dtype");
    expect_st("{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16,
              AURIS_ERR_UNSUPPORTED, "I64");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16,
              AURIS_ERR_FORMAT, "shape");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,16]}}", 16,
              AURIS_ERR_FORMAT, "shape");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,4],\"data_offsets\":[0,16]}}", 16,
              AURIS_ERR_FORMAT, "dimensions");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
              "\"data_offsets\":[0,16]}}", 16, AURIS_ERR_FORMAT, "shape");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", 16,
              AURIS_ERR_FORMAT, "data_offsets");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1e300]}}", 16,
              AURIS_ERR_FORMAT, "data_offsets");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16, AURIS_ERR_FORMAT, "lacks");
    expect_st("{\"a\":[1]}", 0, AURIS_ERR_FORMAT, "not an object");
    expect_st("{\"__metadata__\":3}", 0, AURIS_ERR_FORMAT, "__metadata__");
    expect_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
              8, AURIS_ERR_FORMAT, "twice");

    /* header lengths that do not fit */
    uint8_t raw[24] = {0};
    const uint64_t lens[] = {0, 1, 17, UINT64_MAX, (uint64_t)1 << 63, ((uint64_t)100 << 20) + 1};
    for (size_t i = 0; i < AURIS_ARRAY_LEN(lens); i++) {
        for (int k = 0; k < 8; k++)
            raw[k] = (uint8_t)(lens[i] >> (8 * k));
        memcpy(raw + 8, "{}      {}      ", 16);
        struct buf b = {raw, sizeof raw, sizeof raw};
        assert_int_equal(st_parse(&b, NULL, 0), AURIS_ERR_FORMAT);
    }
    struct buf tiny = {raw, 5, 5};
    assert_int_equal(st_parse(&tiny, NULL, 0), AURIS_ERR_FORMAT);
    /* an empty header object is a valid file with no tensors */
    struct buf empty = st_file("{}", NULL, 0);
    assert_int_equal(st_parse(&empty, NULL, 0), AURIS_OK);
    free(empty.p);
}

/* ---- ggml blocks ------------------------------------------------------------------------------ */

static void put_half(uint8_t *p, float f)
{
    uint16_t h = auris__f32_to_f16(f);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

static void check_block(int type, const uint8_t *blk, const float *want)
{
    float y[32];
    uint16_t h[32];
    assert_int_equal(auris__ggml_dequantize_f32(type, blk, 1, y), 0);
    assert_int_equal(auris__ggml_dequantize_f16(type, blk, 1, h), 0);
    for (int j = 0; j < 32; j++) {
        if (y[j] != want[j])
            fail_msg("type %d value %d: got %g, want %g", type, j, (double)y[j], (double)want[j]);
        assert_true(auris__f16_to_f32(h[j]) == want[j]); /* exact in f16 for these blocks */
    }
}

static void test_quant_blocks(void **state)
{
    (void)state;
    assert_int_equal(auris__ggml_block_bytes(AURIS__GGML_Q4_0), 18);
    assert_int_equal(auris__ggml_block_bytes(AURIS__GGML_Q4_1), 20);
    assert_int_equal(auris__ggml_block_bytes(AURIS__GGML_Q5_0), 22);
    assert_int_equal(auris__ggml_block_bytes(AURIS__GGML_Q5_1), 24);
    assert_int_equal(auris__ggml_block_bytes(AURIS__GGML_Q8_0), 34);
    assert_int_equal(auris__ggml_block_bytes(AURIS__GGML_F16), 0);
    float y[32];
    uint8_t blk[34] = {0};
    assert_int_equal(auris__ggml_dequantize_f32(9, blk, 1, y), -1);

    float want[32];
    /* q4_0: d = 0.5; low nibble j -> x[j], high nibble 15-j -> x[j+16]; value (q - 8) d */
    put_half(blk, 0.5f);
    for (int j = 0; j < 16; j++) {
        blk[2 + j] = (uint8_t)(j | ((15 - j) << 4));
        want[j] = (float)(j - 8) * 0.5f;
        want[j + 16] = (float)(15 - j - 8) * 0.5f;
    }
    check_block(AURIS__GGML_Q4_0, blk, want);

    /* q4_1: d = 0.25, m = -1: value q d + m */
    put_half(blk, 0.25f);
    put_half(blk + 2, -1.0f);
    for (int j = 0; j < 16; j++) {
        blk[4 + j] = (uint8_t)(((j * 7) & 15) | (((j * 3) & 15) << 4));
        want[j] = (float)((j * 7) & 15) * 0.25f - 1.0f;
        want[j + 16] = (float)((j * 3) & 15) * 0.25f - 1.0f;
    }
    check_block(AURIS__GGML_Q4_1, blk, want);

    /* q5_0: d = 2; 5th bit of value j is bit j of qh (little-endian u32); value (q - 16) d */
    const uint32_t qh = 0xA5C3F00Fu;
    put_half(blk, 2.0f);
    for (int k = 0; k < 4; k++)
        blk[2 + k] = (uint8_t)(qh >> (8 * k));
    for (int j = 0; j < 16; j++) {
        blk[6 + j] = (uint8_t)(j | ((15 - j) << 4));
        int q0 = j | (int)(((qh >> j) & 1) << 4), q1 = (15 - j) | (int)(((qh >> (j + 16)) & 1) << 4);
        want[j] = (float)(q0 - 16) * 2.0f;
        want[j + 16] = (float)(q1 - 16) * 2.0f;
    }
    check_block(AURIS__GGML_Q5_0, blk, want);

    /* q5_1: d = 0.125, m = 3: value q d + m */
    put_half(blk, 0.125f);
    put_half(blk + 2, 3.0f);
    for (int k = 0; k < 4; k++)
        blk[4 + k] = (uint8_t)(qh >> (8 * k));
    for (int j = 0; j < 16; j++) {
        blk[8 + j] = (uint8_t)(j | ((15 - j) << 4));
        int q0 = j | (int)(((qh >> j) & 1) << 4), q1 = (15 - j) | (int)(((qh >> (j + 16)) & 1) << 4);
        want[j] = (float)q0 * 0.125f + 3.0f;
        want[j + 16] = (float)q1 * 0.125f + 3.0f;
    }
    check_block(AURIS__GGML_Q5_1, blk, want);

    /* q8_0: d = 0.0625; int8 values */
    put_half(blk, 0.0625f);
    for (int j = 0; j < 32; j++) {
        int8_t q = (int8_t)(j * 8 - 128 + (j == 31 ? 7 : 0));
        memcpy(&blk[2 + j], &q, 1);
        want[j] = (float)q * 0.0625f;
    }
    check_block(AURIS__GGML_Q8_0, blk, want);

    /* several blocks at an odd address */
    uint8_t two[1 + 68];
    memcpy(two + 1, blk, 34);
    memcpy(two + 35, blk, 34);
    float yy[64];
    assert_int_equal(auris__ggml_dequantize_f32(AURIS__GGML_Q8_0, two + 1, 2, yy), 0);
    for (int j = 0; j < 64; j++)
        assert_true(yy[j] == want[j % 32]);
}

/* ---- GPT-2 byte alphabet ---------------------------------------------------------------------- */

/* GPT-2's bytes_to_unicode, from its definition: printable bytes map to themselves, the others,
 * in increasing order, to 256, 257, ... */
static unsigned byte_to_cp(int b)
{
    int n = 0;
    for (int c = 0; c < 256; c++) {
        int printable = (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE);
        if (c == b)
            return printable ? (unsigned)c : 256u + (unsigned)n;
        if (!printable)
            n++;
    }
    return 0;
}

static size_t utf8(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

static void test_gpt2_bytes(void **state)
{
    (void)state;
    char s[2 * 256];
    size_t n = 0;
    for (int b = 0; b < 256; b++) {
        char one[2];
        size_t k = utf8(byte_to_cp(b), one);
        unsigned char out[4];
        assert_int_equal(auris__gpt2_token_bytes(one, k, out, sizeof out), 1);
        assert_int_equal(out[0], b);
        memcpy(s + n, one, k);
        n += k;
    }
    unsigned char all[256];
    assert_int_equal(auris__gpt2_token_bytes(s, n, all, sizeof all), 256);
    for (int b = 0; b < 256; b++)
        assert_int_equal(all[b], b);
    assert_int_equal(auris__gpt2_token_bytes(s, n, all, 255), -1); /* does not fit */
    unsigned char o[8];
    assert_int_equal(auris__gpt2_token_bytes("\xc4\xa0the", 5, o, sizeof o), 4); /* "Ġthe" */
    assert_memory_equal(o, " the", 4);
    assert_int_equal(auris__gpt2_token_bytes(" x", 2, o, sizeof o), -1);   /* raw space */
    assert_int_equal(auris__gpt2_token_bytes("\xc4", 1, o, sizeof o), -1); /* truncated */
    assert_int_equal(auris__gpt2_token_bytes("\xc0\xa1", 2, o, sizeof o), -1); /* overlong */
    assert_int_equal(auris__gpt2_token_bytes("\xc5\x84", 2, o, sizeof o), -1); /* U+0144 */
    assert_int_equal(auris__gpt2_token_bytes("\xe2\x82\xac", 3, o, sizeof o), -1);
    assert_int_equal(auris__gpt2_token_bytes("\xc2\xad", 2, o, sizeof o), -1); /* U+00AD */
}

/* ---- alignment heads -------------------------------------------------------------------------- */

static void test_alignment_tables(void **state)
{
    (void)state;
    const struct {
        const char *name;
        int layers, heads, count;
    } want[] = {
        {"tiny.en", 4, 6, 8},       {"tiny", 4, 6, 6},          {"base.en", 6, 8, 5},
        {"base", 6, 8, 8},          {"small.en", 12, 12, 19},   {"small", 12, 12, 10},
        {"medium.en", 24, 16, 18},  {"medium", 24, 16, 6},      {"large-v1", 32, 20, 9},
        {"large-v2", 32, 20, 23},   {"large-v3", 32, 20, 10},   {"large", 32, 20, 10},
        {"large-v3-turbo", 4, 20, 6}, {"turbo", 4, 20, 6},
    };
    for (size_t i = 0; i < AURIS_ARRAY_LEN(want); i++) {
        int l, h, n;
        const uint8_t(*p)[2];
        assert_int_equal(auris__alignment_table(want[i].name, &l, &h, &p, &n), 0);
        assert_int_equal(l, want[i].layers);
        assert_int_equal(h, want[i].heads);
        assert_int_equal(n, want[i].count);
        for (int k = 0; k < n; k++) {
            assert_true(p[k][0] < l && p[k][1] < h);
            if (k)
                assert_true(p[k - 1][0] * h + p[k - 1][1] < p[k][0] * h + p[k][1]);
        }
    }
    int l, h, n;
    const uint8_t(*p)[2];
    assert_int_equal(auris__alignment_table("tiny.en", &l, &h, &p, &n), 0);
    assert_int_equal(p[0][0], 1); /* tiny.en starts with layer 1 head 0 and ends with 3, 4 */
    assert_int_equal(p[0][1], 0);
    assert_int_equal(p[7][0], 3);
    assert_int_equal(p[7][1], 4);
    assert_int_equal(auris__alignment_table("huge", &l, &h, &p, &n), -1);
    assert_int_equal(auris__alignment_table(NULL, &l, &h, &p, &n), -1);
}

/* ---- a micro Hugging Face directory ------------------------------------------------------------ */

#define D 8     /* d_model */
#define NH 2    /* heads */
#define ENC_L 1
#define DEC_L 2 /* differs from the encoder: distil-whisper style */
#define TCTX 8
#define VOCAB 51864

static const char *tmp_dir(void)
{
    const char *d = getenv("AURIS_TEST_TMP");
    if (d && *d) {
        mkdir(d, 0777);
        return d;
    }
    return "/tmp";
}

struct hf_tensor {
    char name[160];
    int n_dims;
    int64_t ne[3];
};

static int add(struct hf_tensor *t, int n, const char *name, int nd, int64_t a, int64_t b,
               int64_t c)
{
    snprintf(t[n].name, sizeof t[n].name, "%s", name);
    t[n].n_dims = nd;
    t[n].ne[0] = a;
    t[n].ne[1] = b;
    t[n].ne[2] = c;
    return n + 1;
}

static int layer_tensors(struct hf_tensor *t, int n, const char *stack, int i, int cross)
{
    char p[160];
    const char *att[] = {"self_attn", "encoder_attn"};
    for (int a = 0; a < 1 + cross; a++) {
        const char *proj[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
        for (int k = 0; k < 4; k++) {
            snprintf(p, sizeof p, "model.%s.layers.%d.%s.%s.weight", stack, i, att[a], proj[k]);
            n = add(t, n, p, 2, D, D, 1);
            if (k != 1) {
                snprintf(p, sizeof p, "model.%s.layers.%d.%s.%s.bias", stack, i, att[a], proj[k]);
                n = add(t, n, p, 1, D, 1, 1);
            }
        }
        for (int k = 0; k < 2; k++) {
            snprintf(p, sizeof p, "model.%s.layers.%d.%s_layer_norm.%s", stack, i, att[a],
                     k ? "bias" : "weight");
            n = add(t, n, p, 1, D, 1, 1);
        }
    }
    snprintf(p, sizeof p, "model.%s.layers.%d.fc1.weight", stack, i);
    n = add(t, n, p, 2, 4 * D, D, 1);
    snprintf(p, sizeof p, "model.%s.layers.%d.fc1.bias", stack, i);
    n = add(t, n, p, 1, 4 * D, 1, 1);
    snprintf(p, sizeof p, "model.%s.layers.%d.fc2.weight", stack, i);
    n = add(t, n, p, 2, D, 4 * D, 1);
    snprintf(p, sizeof p, "model.%s.layers.%d.fc2.bias", stack, i);
    n = add(t, n, p, 1, D, 1, 1);
    snprintf(p, sizeof p, "model.%s.layers.%d.final_layer_norm.weight", stack, i);
    n = add(t, n, p, 1, D, 1, 1);
    snprintf(p, sizeof p, "model.%s.layers.%d.final_layer_norm.bias", stack, i);
    n = add(t, n, p, 1, D, 1, 1);
    return n;
}

static int micro_tensors(struct hf_tensor *t)
{
    int n = 0;
    n = add(t, n, "model.encoder.conv1.weight", 3, D, 80, 3);
    n = add(t, n, "model.encoder.conv1.bias", 1, D, 1, 1);
    n = add(t, n, "model.encoder.conv2.weight", 3, D, D, 3);
    n = add(t, n, "model.encoder.conv2.bias", 1, D, 1, 1);
    n = add(t, n, "model.encoder.embed_positions.weight", 2, 1500, D, 1);
    for (int i = 0; i < ENC_L; i++)
        n = layer_tensors(t, n, "encoder", i, 0);
    n = add(t, n, "model.encoder.layer_norm.weight", 1, D, 1, 1);
    n = add(t, n, "model.encoder.layer_norm.bias", 1, D, 1, 1);
    n = add(t, n, "model.decoder.embed_tokens.weight", 2, VOCAB, D, 1);
    n = add(t, n, "model.decoder.embed_positions.weight", 2, TCTX, D, 1);
    for (int i = 0; i < DEC_L; i++)
        n = layer_tensors(t, n, "decoder", i, 1);
    n = add(t, n, "model.decoder.layer_norm.weight", 1, D, 1, 1);
    n = add(t, n, "model.decoder.layer_norm.bias", 1, D, 1, 1);
    return n;
}

static size_t numel(const struct hf_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->n_dims; i++)
        n *= (size_t)t->ne[i];
    return n;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Writes tensors [lo, hi) of `t` (bf16 when `bf16`, else f16; 1-D ones f32) as a .safetensors
 * file; proj_out (a copy of embed_tokens) is appended when `proj_out` is 1, or a different one
 * when it is 2. Values are a deterministic function of the tensor and element index. */
static void write_st(const char *dir, const char *name, const struct hf_tensor *t, int lo, int hi,
                     int bf16, int proj_out)
{
    struct buf hdr = {0}, data = {0};
    put(&hdr, "{\"__metadata__\":{\"format\":\"pt\"}", 31);
    for (int i = lo; i < hi + (proj_out ? 1 : 0); i++) {
        const struct hf_tensor *x = i < hi ? &t[i] : NULL;
        size_t vi = (size_t)i; /* seeds the values */
        if (!x) /* proj_out: the embedding's shape and values */
            for (int k = 0; k < hi; k++)
                if (strstr(t[k].name, "embed_tokens"))
                    x = &t[k], vi = (size_t)k;
        assert_non_null(x);
        size_t n = numel(x), es = x->n_dims == 1 ? 4 : 2;
        size_t begin = data.n;
        for (size_t k = 0; k < n; k++) {
            float v = (float)((k * 2654435761u + vi * 97u) % 1000u) / 1000.0f - 0.5f;
            if (x->n_dims == 1)
                v = 1.0f + 0.1f * v;
            if (i == hi && proj_out == 2 && k == 0)
                v = 7.0f;
            if (es == 4) {
                put(&data, &v, 4);
            } else {
                uint16_t h;
                if (bf16) {
                    uint32_t u;
                    memcpy(&u, &v, 4);
                    h = (uint16_t)(u >> 16);
                } else {
                    h = auris__f32_to_f16(v);
                }
                put(&data, &h, 2);
            }
        }
        char e[512], shape[64] = "";
        for (int d = 0; d < x->n_dims; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? "," : "",
                     (long long)x->ne[d]);
        int w = snprintf(e, sizeof e, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
                         i < hi ? x->name : "proj_out.weight",
                         es == 4 ? "F32" : bf16 ? "BF16" : "F16", shape, begin, data.n);
        put(&hdr, e, (size_t)w);
    }
    put(&hdr, "}", 2); /* with the NUL */
    struct buf f = st_file((const char *)hdr.p, data.p, data.n);
    write_file(dir, name, f.p, f.n);
    free(f.p);
    free(hdr.p);
    free(data.p);
}

static void write_config(const char *dir, int n_vocab)
{
    char c[1024];
    int n = snprintf(c, sizeof c,
                     "{\"model_type\": \"whisper\", \"activation_function\": \"gelu\", "
                     "\"num_mel_bins\": 80, \"max_source_positions\": 1500, \"d_model\": %d, "
                     "\"encoder_attention_heads\": %d, \"encoder_layers\": %d, \"vocab_size\": %d, "
                     "\"max_target_positions\": %d, \"decoder_attention_heads\": %d, "
                     "\"decoder_layers\": %d, \"torch_dtype\": \"float16\"}",
                     D, NH, ENC_L, n_vocab, TCTX, NH, DEC_L);
    write_file(dir, "config.json", c, (size_t)n);
}

/* vocab.json of a synthetic English-only vocabulary: the 256 bytes, then "t<k>" tokens, then
 * <|endoftext|>; added_tokens.json with <|startoftranscript|> (optionally at a wrong id). */
static void write_vocab(const char *dir, int sot_id)
{
    struct buf v = {0};
    put(&v, "{", 1);
    for (int id = 0; id < 50256; id++) {
        char tok[32], e[64];
        size_t k = 0;
        if (id < 256) {
            unsigned cp = byte_to_cp(id);
            if (cp == '"' || cp == '\\')
                tok[k++] = '\\';
            k += utf8(cp, tok + k);
        } else {
            k = (size_t)snprintf(tok, sizeof tok, "t%d", id);
        }
        int w = snprintf(e, sizeof e, "%s\"%.*s\": %d", id ? ", " : "", (int)k, tok, id);
        put(&v, e, (size_t)w);
    }
    put(&v, ", \"<|endoftext|>\": 50256}", 25);
    write_file(dir, "vocab.json", v.p, v.n);
    free(v.p);
    char a[128];
    int w = snprintf(a, sizeof a, "{\"<|startoftranscript|>\": %d, \"<|en|>\": 50258, "
                     "\"<|nocaptions|>\": 50361}", sot_id);
    write_file(dir, "added_tokens.json", a, (size_t)w);
}

static void make_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/fmt-%s-%d", tmp_dir(), name, (int)getpid());
    mkdir(out, 0777);
}

static void rm_dir(const char *dir)
{
    const char *names[] = {"config.json", "model.safetensors", "model.safetensors.index.json",
                           "a.safetensors", "b.safetensors", "vocab.json", "added_tokens.json"};
    char p[1024];
    for (size_t i = 0; i < AURIS_ARRAY_LEN(names); i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void test_hf_single(void **state)
{
    (void)state;
    static struct hf_tensor t[256];
    int n = micro_tensors(t);
    char dir[512], path[1024];
    make_dir(dir, sizeof dir, "single");
    write_config(dir, VOCAB);
    write_st(dir, "model.safetensors", t, 0, n, 0, 1);
    write_vocab(dir, 50257);
    struct auris_error e = {0};
    auris_model *m = NULL;
    struct auris_model_params mp = auris_model_default_params();
    enum auris_err rc = auris_model_load(dir, &mp, &m, &e);
    if (rc)
        fail_msg("load: %s", e.message);
    const struct auris_model_dims *d = auris_model_get_dims(m);
    assert_int_equal(d->n_audio_layer, ENC_L);
    assert_int_equal(d->n_text_layer, DEC_L);
    assert_int_equal(d->n_text_state, D);
    assert_int_equal(d->n_vocab, VOCAB);
    assert_int_equal(m->tok_emb.type, AURIS_DT_F16);
    /* the default alignment heads: every head of the second half of the decoder */
    int lay[8], hd[8];
    assert_int_equal(auris__model_alignment_heads(m, lay, hd, 8), NH);
    assert_int_equal(lay[0], 1);
    assert_int_equal(hd[1], 1);
    /* a base token decodes to its bytes: id 256 is "t256" */
    const unsigned char *tb;
    assert_int_equal(auris__tokenizer_token_bytes(m->tok, 256, &tb), 4);
    assert_memory_equal(tb, "t256", 4);
    assert_int_equal(auris__tokenizer_token_bytes(m->tok, 32, &tb), 1);
    assert_int_equal(tb[0], ' ');
    auris_model_free(m);

    /* also by the name of its files */
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(auris_model_load(path, NULL, &m, &e), AURIS_OK);
    auris_model_free(m);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(auris_model_load(path, NULL, &m, &e), AURIS_OK);
    auris_model_free(m);

    /* official names: a matching one sets its table, others are refused */
    mp.official_name = "tiny.en";
    assert_int_equal(auris_model_load(dir, &mp, &m, &e), AURIS_ERR_INVALID_ARG);
    assert_non_null(strstr(e.message, "tiny.en"));
    mp.official_name = "nonesuch";
    assert_int_equal(auris_model_load(dir, &mp, &m, &e), AURIS_ERR_INVALID_ARG);

    /* a special token at the wrong id */
    write_vocab(dir, 50300);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_FORMAT);
    assert_non_null(strstr(e.message, "<|startoftranscript|>"));
    write_vocab(dir, 50257);

    /* an untied output projection */
    write_st(dir, "model.safetensors", t, 0, n, 0, 2);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.message, "proj_out"));

    /* an unknown tensor name */
    struct hf_tensor t2[256];
    memcpy(t2, t, sizeof t2);
    snprintf(t2[3].name, sizeof t2[3].name, "model.encoder.conv3.bias");
    write_st(dir, "model.safetensors", t2, 0, n, 0, 0);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_FORMAT);
    assert_non_null(strstr(e.message, "conv3"));

    /* a missing tensor */
    write_st(dir, "model.safetensors", t, 1, n, 0, 0);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_FORMAT);
    assert_non_null(strstr(e.message, "encoder.conv1.weight"));

    /* config problems */
    write_st(dir, "model.safetensors", t, 0, n, 0, 0);
    write_file(dir, "config.json", "{\"model_type\": \"whisper\"}", 25);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_FORMAT);
    assert_non_null(strstr(e.message, "num_mel_bins"));
    write_file(dir, "config.json", "{\"model_type\": \"bert\"}", 22);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_UNSUPPORTED);
    write_file(dir, "config.json", "not json", 8);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_FORMAT);
    write_config(dir, VOCAB + 5);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_FORMAT);
    rm_dir(dir);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_NOT_FOUND);
}

static void test_hf_sharded_bf16(void **state)
{
    (void)state;
    static struct hf_tensor t[256];
    int n = micro_tensors(t), half = n / 2;
    char dir[512];
    make_dir(dir, sizeof dir, "sharded");
    write_config(dir, VOCAB);
    write_st(dir, "a.safetensors", t, 0, half, 1, 0);
    write_st(dir, "b.safetensors", t, half, n, 1, 0);
    struct buf idx = {0};
    put(&idx, "{\"metadata\": {}, \"weight_map\": {", 32);
    for (int i = 0; i < n; i++) {
        char e[256];
        int w = snprintf(e, sizeof e, "%s\"%s\": \"%s\"", i ? ", " : "", t[i].name,
                         i < half ? "a.safetensors" : "b.safetensors");
        put(&idx, e, (size_t)w);
    }
    put(&idx, "}}", 2);
    write_file(dir, "model.safetensors.index.json", idx.p, idx.n);
    write_vocab(dir, 50257);
    struct auris_error e = {0};
    auris_model *m = NULL;
    if (auris_model_load(dir, NULL, &m, &e))
        fail_msg("load: %s", e.message);
    assert_int_equal(m->n_maps, 2);
    assert_true(m->tok_emb.type != AURIS_DT_F16); /* bf16, or widened to f32 */
    assert_int_equal(m->dims.n_text_layer, DEC_L);
    auris_model_free(m);

    /* the index places a tensor in the wrong shard */
    char *swap = strstr((char *)idx.p, "a.safetensors");
    memcpy(swap, "b", 1);
    write_file(dir, "model.safetensors.index.json", idx.p, idx.n);
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_FORMAT);
    /* a shard outside the directory */
    const char *evil = "{\"weight_map\": {\"x\": \"../x.safetensors\"}}";
    write_file(dir, "model.safetensors.index.json", evil, strlen(evil));
    assert_int_equal(auris_model_load(dir, NULL, &m, &e), AURIS_ERR_FORMAT);
    free(idx.p);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_st_valid),
        cmocka_unit_test(test_st_hostile),
        cmocka_unit_test(test_quant_blocks),
        cmocka_unit_test(test_gpt2_bytes),
        cmocka_unit_test(test_alignment_tables),
        cmocka_unit_test(test_hf_single),
        cmocka_unit_test(test_hf_sharded_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
