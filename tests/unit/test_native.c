/*
 * test_native.c — the native (GGUF-based) format: writer/loader round trips for every weight
 * type, zero-copy binding, and hostile files (every truncation of the header, huge counts and
 * lengths, misaligned, overlapping and out-of-range tensors, unknown types, bad keys).
 *
 * Reference: docs/FORMAT.md. The model is built here in memory (random weights, official names
 * via the model struct) with a synthetic 50,257-token vocabulary, so nothing outside the test
 * is needed.
 * Invariants: hostile inputs are copied into exactly-sized heap buffers, so any read past the
 * end is caught by the sanitizer build; every failure must be a clean error code with a message.
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

#define S 32      /* n_state */
#define N_VOCAB 51865
#define N_BASE 50257
#define TEXT_CTX 8

struct fixture {
    auris_model model;
    void *bufs[256];
    int n_bufs;
    char dir[512];
    uint32_t rng;
};

static void *track(struct fixture *f, size_t bytes)
{
    void *p = auris__aligned_alloc(bytes);
    assert_non_null(p);
    assert_true(f->n_bufs < 256);
    f->bufs[f->n_bufs++] = p;
    return p;
}

static float urand(struct fixture *f)
{
    f->rng = f->rng * 1664525u + 1013904223u;
    return (float)((f->rng >> 8) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

static const float *vec(struct fixture *f, size_t n)
{
    float *p = track(f, n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = urand(f);
    return p;
}

static struct auris__tensor weight(struct fixture *f, int n_dims, int d0, int d1, int d2)
{
    struct auris__tensor t = {.type = AURIS_DT_F32, .n_dims = n_dims, .ne = {d0, d1, d2}};
    t.data = vec(f, (size_t)d0 * d1 * (n_dims == 3 ? d2 : 1));
    return t;
}

static void attn(struct fixture *f, struct auris__attn *a)
{
    a->ln_w = vec(f, S);
    a->ln_b = vec(f, S);
    a->q_w = weight(f, 2, S, S, 1);
    a->q_b = vec(f, S);
    a->k_w = weight(f, 2, S, S, 1);
    a->v_w = weight(f, 2, S, S, 1);
    a->v_b = vec(f, S);
    a->o_w = weight(f, 2, S, S, 1);
    a->o_b = vec(f, S);
}

static void block(struct fixture *f, struct auris__block *b, int cross)
{
    attn(f, &b->attn);
    if (cross)
        attn(f, &b->cross);
    b->mlp_ln_w = vec(f, S);
    b->mlp_ln_b = vec(f, S);
    b->mlp0_w = weight(f, 2, 4 * S, S, 1);
    b->mlp0_b = vec(f, 4 * S);
    b->mlp2_w = weight(f, 2, S, 4 * S, 1);
    b->mlp2_b = vec(f, S);
}

/* Synthetic vocabulary: bytes 0..255, then distinct two-byte strings. */
static void make_tokenizer(auris_model *m)
{
    static unsigned char bytes[N_BASE][2];
    static const unsigned char *toks[N_BASE];
    static uint32_t lens[N_BASE];
    for (int i = 0; i < N_BASE; i++) {
        bytes[i][0] = (unsigned char)(i < 256 ? i : i >> 8);
        bytes[i][1] = (unsigned char)(i & 255);
        toks[i] = i < 256 ? &bytes[i][1] : bytes[i];
        lens[i] = i < 256 ? 1 : 2;
    }
    lens[N_BASE - 1] = 0; /* an empty token, as multilingual.tiktoken's rank 50256 */
    assert_int_equal(auris__tokenizer_from_tokens(toks, lens, N_BASE, N_VOCAB, &m->tok, NULL),
                     AURIS_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->rng = 7u;
    auris_model *m = &f->model;
    m->dims = (struct auris_model_dims){.n_mels = 80, .n_vocab = N_VOCAB, .n_audio_ctx = 1500,
                                        .n_audio_state = S, .n_audio_head = 1, .n_audio_layer = 1,
                                        .n_text_ctx = TEXT_CTX, .n_text_state = S,
                                        .n_text_head = 2, .n_text_layer = 1};
    m->enc = track(f, sizeof *m->enc);
    m->dec = track(f, sizeof *m->dec);
    memset(m->enc, 0, sizeof *m->enc);
    memset(m->dec, 0, sizeof *m->dec);
    m->conv1_w = weight(f, 3, S, 80, 3);
    m->conv1_b = vec(f, S);
    m->conv2_w = weight(f, 3, S, S, 3);
    m->conv2_b = vec(f, S);
    m->enc_pos = vec(f, (size_t)1500 * S);
    block(f, m->enc, 0);
    m->enc_ln_w = vec(f, S);
    m->enc_ln_b = vec(f, S);
    m->tok_emb = weight(f, 2, N_VOCAB, S, 1);
    m->dec_pos = vec(f, (size_t)TEXT_CTX * S);
    block(f, m->dec, 1);
    m->dec_ln_w = vec(f, S);
    m->dec_ln_b = vec(f, S);
    m->mel_filters = (float *)vec(f, (size_t)80 * 201);
    m->alignment_heads = track(f, 2);
    m->alignment_heads[0] = 0;
    m->alignment_heads[1] = 1;
    make_tokenizer(m);
    const char *tmp = getenv("AURIS_TEST_TMP");
    snprintf(f->dir, sizeof f->dir, "%s/native-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < f->n_bufs; i++)
        auris__aligned_free(f->bufs[i]);
    auris__tokenizer_free(f->model.tok);
    rmdir(f->dir);
    free(f);
    return 0;
}

static uint8_t *read_all(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    assert_true(n > 0);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = auris__aligned_alloc((size_t)n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *size = (size_t)n;
    return p;
}

/* ---- round trips ------------------------------------------------------------------------- */

static void expect_weight(const struct auris__tensor *src, const struct auris__tensor *got,
                          enum auris__dtype want_type, const char *what)
{
    if (got->type != want_type)
        fail_msg("%s: type %d, expected %d", what, (int)got->type, (int)want_type);
    assert_int_equal(got->n_dims, src->n_dims);
    size_t rows = (size_t)src->ne[0], len = (size_t)src->ne[1] * (src->n_dims == 3 ? src->ne[2] : 1);
    float *row = malloc(len * sizeof *row);
    assert_non_null(row);
    for (size_t r = 0; r < rows; r++) {
        const float *x = (const float *)src->data + r * len;
        auris__to_f32(got->type, (const char *)got->data + auris__dtype_bytes(got->type, len) * r,
                      len, row);
        for (size_t j = 0; j < len; j++) {
            float want = x[j];
            if (want_type == AURIS_DT_F16)
                want = auris__f16_to_f32(auris__f32_to_f16(x[j]));
            double tol = want_type == AURIS_DT_BF16 ? fabs(x[j]) / 256.0
                         : want_type == AURIS_DT_Q8_0 ? 1.0 / 254.0 + 1e-3 : 0.0;
            if (fabs((double)row[j] - want) > tol)
                fail_msg("%s[%zu][%zu]: %g, expected %g", what, r, j, row[j], want);
        }
    }
    free(row);
}

static void round_trip(struct fixture *f, enum auris__dtype type, const char *tname)
{
    const auris_model *src = &f->model;
    char path[600];
    snprintf(path, sizeof path, "%s/model-%s.gguf", f->dir, tname);
    struct auris_error err = {0};
    assert_int_equal(auris__native_write(src, path, type, &err), AURIS_OK);

    auris_model *m = NULL;
    if (auris_model_load(path, NULL, &m, &err) != AURIS_OK)
        fail_msg("load %s: %s", tname, err.message);
    assert_memory_equal(&m->dims, &src->dims, sizeof m->dims);
    enum auris__dtype conv_type = type == AURIS_DT_Q8_0 ? AURIS_DT_F16 : type;
    expect_weight(&src->conv1_w, &m->conv1_w, conv_type, "conv1");
    expect_weight(&src->conv2_w, &m->conv2_w, conv_type, "conv2");
    expect_weight(&src->tok_emb, &m->tok_emb, type, "token_embedding");
    expect_weight(&src->dec->cross.q_w, &m->dec->cross.q_w, type, "cross.query");
    expect_weight(&src->enc->mlp2_w, &m->enc->mlp2_w, type, "mlp.2");
    assert_memory_equal(m->enc_pos, src->enc_pos, (size_t)1500 * S * sizeof(float));
    assert_memory_equal(m->dec->cross.ln_b, src->dec->cross.ln_b, S * sizeof(float));
    assert_memory_equal(m->mel_filters, src->mel_filters, (size_t)80 * 201 * sizeof(float));
    assert_non_null(m->alignment_heads);
    assert_memory_equal(m->alignment_heads, src->alignment_heads, 2);
    /* the vocabulary came from the file */
    for (int id = 0; id < N_BASE; id += 997) {
        const unsigned char *a = NULL, *b = NULL;
        size_t la = auris__tokenizer_token_bytes(m->tok, id, &a);
        size_t lb = auris__tokenizer_token_bytes(src->tok, id, &b);
        assert_int_equal(la, lb);
        if (la)
            assert_memory_equal(a, b, la);
    }
    /* nothing is copied: weights and f32 vectors point into the map */
    const uint8_t *lo = m->map, *hi = lo + m->map_size;
#define IN_MAP(p) assert_true((const uint8_t *)(p) >= lo && (const uint8_t *)(p) < hi)
    IN_MAP(m->tok_emb.data);
    IN_MAP(m->conv1_w.data);
    IN_MAP(m->dec->mlp0_w.data);
    IN_MAP(m->enc_pos);
    IN_MAP(m->dec_pos);
    IN_MAP(m->enc->attn.q_b);
    IN_MAP(m->dec_ln_b);
#undef IN_MAP
    /* owned: the block arrays, the mel filters copy, the alignment heads */
    assert_true(m->n_owned <= 4);
    auris_model_free(m);

    /* writing the loaded model again in its own type gives the same bytes */
    if (type != AURIS_DT_Q8_0) {
        char path2[620];
        snprintf(path2, sizeof path2, "%s.again", path);
        assert_int_equal(auris_model_load(path, NULL, &m, &err), AURIS_OK);
        assert_int_equal(auris__native_write(m, path2, type, &err), AURIS_OK);
        auris_model_free(m);
        size_t n1, n2;
        uint8_t *b1 = read_all(path, &n1), *b2 = read_all(path2, &n2);
        /* only general.name (the file name) differs, so the header may shift by one alignment
         * step; the data sections, which end both files, must be identical */
        size_t tail = AURIS_MIN(n1, n2) - ((size_t)1 << 20);
        assert_true(n1 > ((size_t)3 << 20) && (n1 > n2 ? n1 - n2 : n2 - n1) <= 64);
        assert_memory_equal(b1 + n1 - tail, b2 + n2 - tail, tail);
        auris__aligned_free(b1);
        auris__aligned_free(b2);
        unlink(path2);
    }
    unlink(path);
}

static void test_round_trip_f32(void **state) { round_trip(*state, AURIS_DT_F32, "f32"); }
static void test_round_trip_f16(void **state) { round_trip(*state, AURIS_DT_F16, "f16"); }
static void test_round_trip_bf16(void **state) { round_trip(*state, AURIS_DT_BF16, "bf16"); }
static void test_round_trip_q8_0(void **state) { round_trip(*state, AURIS_DT_Q8_0, "q8_0"); }

static void test_write_failures(void **state)
{
    struct fixture *f = *state;
    struct auris_error err = {0};
    char path[600];
    /* a folder that does not exist: clean error, nothing created */
    snprintf(path, sizeof path, "%s/missing/x.gguf", f->dir);
    assert_int_equal(auris__native_write(&f->model, path, AURIS_DT_F16, &err), AURIS_ERR_IO);
    assert_true(err.message[0] != '\0');
    assert_int_equal(auris__native_write(&f->model, NULL, AURIS_DT_F16, &err),
                     AURIS_ERR_INVALID_ARG);
    snprintf(path, sizeof path, "%s/x.gguf", f->dir);
    assert_int_equal(auris__native_write(&f->model, path, (enum auris__dtype)2, &err),
                     AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__native_write(NULL, path, AURIS_DT_F16, &err), AURIS_ERR_INVALID_ARG);
    /* the target is a directory: the rename fails and the temporary is removed */
    snprintf(path, sizeof path, "%s/adir", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_not_equal(auris__native_write(&f->model, path, AURIS_DT_F16, &err), AURIS_OK);
    rmdir(path);
    assert_int_equal(rmdir(f->dir), 0); /* empty: no temporary left behind */
    assert_int_equal(mkdir(f->dir, 0755), 0);
}

/* ---- hostile files ----------------------------------------------------------------------- */

/* Parses a copy of data[0..n) in an exactly-sized buffer. */
static enum auris_err parse_copy(const uint8_t *data, size_t n, struct auris_error *err)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, data, n);
    struct auris__checkpoint ck = {0};
    enum auris_err rc = auris__load_native(p, n, &ck, err);
    auris__checkpoint_clear(&ck);
    free(p);
    return rc;
}

/* A native f16 file of the fixture model, without the vocabulary (keeps the header small). */
static uint8_t *small_file(struct fixture *f, size_t *n)
{
    struct auris__tokenizer *tok = f->model.tok;
    f->model.tok = NULL;
    char path[600];
    snprintf(path, sizeof path, "%s/hostile.gguf", f->dir);
    struct auris_error err = {0};
    assert_int_equal(auris__native_write(&f->model, path, AURIS_DT_F16, &err), AURIS_OK);
    f->model.tok = tok;
    uint8_t *d = read_all(path, n);
    unlink(path);
    return d;
}

static size_t find(const uint8_t *d, size_t n, const char *s)
{
    size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(d + i, s, l) == 0 && i >= 8 && d[i - 8] == l)
            return i;
    fail_msg("'%s' not found", s);
    return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void test_truncations(void **state)
{
    struct fixture *f = *state;
    size_t n;
    uint8_t *d = small_file(f, &n);
    struct auris_error err = {0};
    struct auris__checkpoint ck = {0};
    assert_int_equal(auris__load_native(d, n, &ck, &err), AURIS_OK);
    auris__checkpoint_clear(&ck);
    /* every cut inside the header and the first tensors, then a sample of the data */
    size_t header_end = find(d, n, "mel_filters") + 64;
    for (size_t cut = 0; cut < n; cut += cut < header_end + 4096 ? 1 : 40961) {
        err.message[0] = '\0';
        enum auris_err rc = parse_copy(d, cut, &err);
        if (rc == AURIS_OK)
            fail_msg("a file cut at %zu of %zu bytes was accepted", cut, n);
        assert_true(err.message[0] != '\0');
    }
    auris__aligned_free(d);
}

/* Applies one mutation to a fresh copy and expects `want`, with `needle` in the message. */
static void expect_bad(const uint8_t *d, size_t n, size_t at, const uint8_t *bytes, size_t len,
                       enum auris_err want, const char *needle)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    memcpy(p, d, n);
    memcpy(p + at, bytes, len);
    struct auris_error err = {0};
    enum auris_err rc = parse_copy(p, n, &err);
    if (rc != want || (needle && !strstr(err.message, needle)))
        fail_msg("mutation at %zu: got %d '%s', expected %d with '%s'", at, (int)rc, err.message,
                 (int)want, needle ? needle : "");
    free(p);
}

static void test_hostile_fields(void **state)
{
    struct fixture *f = *state;
    size_t n;
    uint8_t *d = small_file(f, &n);
    uint8_t b[8];
    /* version, counts */
    put32(b, 1);
    expect_bad(d, n, 4, b, 4, AURIS_ERR_UNSUPPORTED, "version");
    put64(b, UINT64_C(1) << 40);
    expect_bad(d, n, 8, b, 8, AURIS_ERR_FORMAT, "tensor count");
    expect_bad(d, n, 16, b, 8, AURIS_ERR_FORMAT, "key count");
    put64(b, UINT64_MAX);
    expect_bad(d, n, 16, b, 8, AURIS_ERR_FORMAT, "key count");
    /* the first key's length */
    put64(b, UINT64_MAX - 3);
    expect_bad(d, n, 24, b, 8, AURIS_ERR_FORMAT, "truncated");
    /* keys */
    size_t arch = find(d, n, "general.architecture");
    expect_bad(d, n, arch + 20 + 4 + 8, (const uint8_t *)"llamaXY", 7, AURIS_ERR_UNSUPPORTED,
               "not a Whisper");
    size_t al = find(d, n, "general.alignment");
    put32(b, 3);
    expect_bad(d, n, al + 17 + 4, b, 4, AURIS_ERR_FORMAT, "alignment");
    put32(b, 99); /* unknown value type of an ignored key */
    expect_bad(d, n, find(d, n, "general.name") + 12, b, 4, AURIS_ERR_FORMAT, "unknown type");
    put32(b, 5); /* general.alignment as int32: the wrong type */
    expect_bad(d, n, al + 17, b, 4, AURIS_ERR_FORMAT, "must be uint32");
    size_t mels = find(d, n, "whisper.n_mels");
    expect_bad(d, n, mels, (const uint8_t *)"whisper.n_melz", 14, AURIS_ERR_FORMAT,
               "whisper.n_mels is missing");
    put32(b, 0);
    expect_bad(d, n, mels + 14 + 4, b, 4, AURIS_ERR_FORMAT, "out of range");
    size_t heads = find(d, n, "whisper.alignment_heads");
    put64(b, 3);
    expect_bad(d, n, heads + 23 + 4 + 4, b, 8, AURIS_ERR_FORMAT, "alignment_heads");
    b[0] = 7;
    expect_bad(d, n, heads + 23 + 4 + 4 + 8, b, 1, AURIS_ERR_FORMAT, "not 0 or 1");

    /* tensor infos: name, n_dims, dims (ggml order), type, offset */
    size_t c1 = find(d, n, "encoder.conv1.weight") + 20;
    size_t c1_type = c1 + 4 + 3 * 8, c1_off = c1_type + 4;
    size_t cb = find(d, n, "encoder.conv1.bias") + 18;
    size_t cb_off = cb + 4 + 8 + 4;
    put32(b, 5);
    expect_bad(d, n, c1, b, 4, AURIS_ERR_FORMAT, "dimensions");
    put64(b, UINT64_C(1) << 50);
    expect_bad(d, n, c1 + 4, b, 8, AURIS_ERR_FORMAT, "impossible dimension");
    put64(b, 0);
    expect_bad(d, n, c1 + 4, b, 8, AURIS_ERR_FORMAT, "impossible dimension");
    put32(b, 12); /* q4_K */
    expect_bad(d, n, c1_type, b, 4, AURIS_ERR_UNSUPPORTED, "encoder.conv1.weight");
    put32(b, 2); /* q4_0 with rows of 3 */
    expect_bad(d, n, c1_type, b, 4, AURIS_ERR_FORMAT, "whole blocks");
    put32(b, 12345);
    expect_bad(d, n, c1_type, b, 4, AURIS_ERR_UNSUPPORTED, "encoder.conv1.weight");
    put32(b, 8); /* q8_0 with rows of 3 */
    expect_bad(d, n, c1_type, b, 4, AURIS_ERR_FORMAT, "whole blocks");
    put64(b, get64(d + c1_off) + 1);
    expect_bad(d, n, c1_off, b, 8, AURIS_ERR_FORMAT, "multiple of the alignment");
    put64(b, UINT64_C(1) << 62);
    expect_bad(d, n, c1_off, b, 8, AURIS_ERR_FORMAT, "outside");
    put64(b, get64(d + c1_off));
    expect_bad(d, n, cb_off, b, 8, AURIS_ERR_FORMAT, "overlap");
    /* a name that is not NUL-free */
    b[0] = 0;
    expect_bad(d, n, c1 - 5, b, 1, AURIS_ERR_FORMAT, "NUL");
    /* a tensor name that is too long for the checkpoint */
    put64(b, 200);
    expect_bad(d, n, c1 - 28, b, 8, AURIS_ERR_FORMAT, "too long");
    auris__aligned_free(d);
}

/* Shape and name errors surface from bind with the tensor's name. */
static void test_bind_rejects(void **state)
{
    struct fixture *f = *state;
    size_t n;
    uint8_t *d = small_file(f, &n);
    size_t c2 = find(d, n, "encoder.conv2.weight");
    d[c2 + 8] = 'X'; /* "encoder.Xonv2.weight": missing + unexpected */
    struct auris__checkpoint ck = {0};
    struct auris_error err = {0};
    assert_int_equal(auris__load_native(d, n, &ck, &err), AURIS_OK);
    auris_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    assert_int_equal(auris__model_bind(m, &ck, &err), AURIS_ERR_FORMAT);
    assert_non_null(strstr(err.message, "conv2"));
    auris_model_free(m);
    auris__checkpoint_clear(&ck);
    auris__aligned_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_f32),  cmocka_unit_test(test_round_trip_f16),
        cmocka_unit_test(test_round_trip_bf16), cmocka_unit_test(test_round_trip_q8_0),
        cmocka_unit_test(test_write_failures),  cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_hostile_fields),  cmocka_unit_test(test_bind_rejects),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
