/*
 * test_pickle.c — unit tests of the PyTorch container readers: the zip reader and the
 * allow-list pickle VM, on hand-built byte buffers.
 *
 * Reference: PKWARE APPNOTE (zip/ZIP64 records), CPython pickletools (opcode encodings), and the
 * data.pkl that torch 1.13's torch.save writes (see `python3 -m pickletools`).
 * Every hostile buffer is copied to a malloc'd block of exactly its length, so the sanitizer build
 * catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "model/model.h"

/* ---- a growable byte buffer ------------------------------------------------------------------ */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void u8(struct buf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    put(b, &x, 1);
}

static void u16(struct buf *b, unsigned v)
{
    u8(b, v & 0xff);
    u8(b, (v >> 8) & 0xff);
}

static void u32(struct buf *b, uint32_t v)
{
    u16(b, v & 0xffff);
    u16(b, v >> 16);
}

static void u64(struct buf *b, uint64_t v)
{
    u32(b, (uint32_t)v);
    u32(b, (uint32_t)(v >> 32));
}

/* exact-size heap copy so that ASan sees overreads */
static uint8_t *exact(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* ---- pickle builder -------------------------------------------------------------------------- */

static void p_str(struct buf *b, const char *s)
{
    u8(b, 'X');
    u32(b, (uint32_t)strlen(s));
    put(b, s, strlen(s));
}

static void p_int(struct buf *b, int v)
{
    u8(b, 'J');
    u32(b, (uint32_t)v);
}

static void p_global(struct buf *b, const char *mod, const char *name)
{
    u8(b, 'c');
    put(b, mod, strlen(mod));
    u8(b, '\n');
    put(b, name, strlen(name));
    u8(b, '\n');
}

static const char *const DIM_NAMES[10] = {"n_mels", "n_vocab", "n_audio_ctx", "n_audio_state",
                                          "n_audio_head", "n_audio_layer", "n_text_ctx",
                                          "n_text_state", "n_text_head", "n_text_layer"};

/* ('storage', torch.<storage>, key, 'cpu', numel) BINPERSID */
static void p_storage(struct buf *b, const char *storage, const char *key, int numel)
{
    u8(b, '(');
    p_str(b, "storage");
    p_global(b, "torch", storage);
    p_str(b, key);
    p_str(b, "cpu");
    p_int(b, numel);
    u8(b, 't');
    u8(b, 'Q');
}

static int g_stride0 = -1; /* >= 0: override the row stride p_tensor writes */

/* _rebuild_tensor_v2(storage, offset, (rows, cols), (cols, 1), False, OrderedDict()) */
static void p_tensor(struct buf *b, const char *storage, const char *key, int numel, int offset,
                     int rows, int cols)
{
    p_global(b, "torch._utils", "_rebuild_tensor_v2");
    u8(b, '(');
    p_storage(b, storage, key, numel);
    p_int(b, offset);
    p_int(b, rows);
    p_int(b, cols);
    u8(b, 0x86);
    p_int(b, g_stride0 >= 0 ? g_stride0 : cols);
    p_int(b, 1);
    u8(b, 0x86);
    u8(b, 0x89);
    p_global(b, "collections", "OrderedDict");
    u8(b, ')');
    u8(b, 'R');
    u8(b, 't');
    u8(b, 'R');
}

/* The skeleton torch.save writes: {"dims": {...}, "model_state_dict": OrderedDict(...)}; `body`
 * adds state-dict entries between the MARK and SETITEMS. */
static void p_checkpoint(struct buf *b, void (*body)(struct buf *))
{
    u8(b, 0x80);
    u8(b, 2);
    u8(b, '}');
    u8(b, 'q');
    u8(b, 0);
    u8(b, '(');
    p_str(b, "dims");
    u8(b, '}');
    u8(b, '(');
    for (int i = 0; i < 10; i++) {
        p_str(b, DIM_NAMES[i]);
        p_int(b, 100 + i);
    }
    u8(b, 'u');
    p_str(b, "model_state_dict");
    p_global(b, "collections", "OrderedDict");
    u8(b, ')');
    u8(b, 'R');
    u8(b, '(');
    if (body)
        body(b);
    u8(b, 'u');
    u8(b, 'u');
    u8(b, '.');
}

static void two_tensors(struct buf *b)
{
    p_str(b, "a.weight");
    p_tensor(b, "HalfStorage", "0", 12, 0, 3, 4);
    p_str(b, "a.bias");
    p_tensor(b, "FloatStorage", "1", 10, 2, 1, 3);
}

static enum auris_err run(const struct buf *b, struct auris__pt_state *st, struct auris_error *e)
{
    uint8_t *c = exact(b->p, b->n);
    memset(e, 0, sizeof *e);
    enum auris_err rc = auris__pickle_load(c, b->n, st, e);
    free(c);
    return rc;
}

static void expect_error(const struct buf *b, const char *needle)
{
    struct auris__pt_state st;
    struct auris_error e;
    enum auris_err rc = run(b, &st, &e);
    if (rc != AURIS_ERR_FORMAT || !strstr(e.message, needle))
        fail_msg("expected FORMAT error containing \"%s\", got %d \"%s\"", needle, rc, e.message);
    assert_int_equal(st.n_tensors, 0);
    assert_null(st.tensors);
}

/* ---- pickle tests ---------------------------------------------------------------------------- */

static void test_pickle_valid(void **state)
{
    (void)state;
    struct buf b = {0};
    p_checkpoint(&b, two_tensors);
    struct auris__pt_state st;
    struct auris_error e;
    assert_int_equal(run(&b, &st, &e), AURIS_OK);
    assert_int_equal(st.dims.n_mels, 100);
    assert_int_equal(st.dims.n_vocab, 101);
    assert_int_equal(st.dims.n_text_layer, 109);
    assert_int_equal(st.n_tensors, 2);
    assert_int_equal(st.tensors[0].name_len, 8);
    assert_memory_equal(st.tensors[0].name, "a.weight", 8);
    assert_int_equal(st.tensors[0].dtype, AURIS__PT_F16);
    assert_int_equal(st.tensors[0].n_dims, 2);
    assert_int_equal(st.tensors[0].size[0], 3);
    assert_int_equal(st.tensors[0].size[1], 4);
    assert_int_equal(st.tensors[0].stride[0], 4);
    assert_int_equal(st.tensors[1].dtype, AURIS__PT_F32);
    assert_int_equal(st.tensors[1].offset, 2);
    assert_int_equal(st.tensors[1].storage_numel, 10);
    assert_memory_equal(st.tensors[1].key, "1", 1);
    auris__pt_state_clear(&st);
    auris__pt_state_clear(&st); /* idempotent */
    auris__pt_state_clear(NULL);
    free(b.p);
}

/* torch's _rebuild_parameter, a BUILD of state-dict _metadata, memo reuse (BINGET), bfloat16 */
static void param_and_metadata(struct buf *b)
{
    p_str(b, "p");
    p_global(b, "torch._utils", "_rebuild_parameter");
    u8(b, '(');
    p_tensor(b, "BFloat16Storage", "7", 6, 0, 2, 3);
    u8(b, 'q');
    u8(b, 9);
    u8(b, 0x88);
    p_global(b, "collections", "OrderedDict");
    u8(b, ')');
    u8(b, 'R');
    u8(b, 't');
    u8(b, 'R');
    p_str(b, "alias");
    u8(b, 'h');
    u8(b, 9);
}

static void test_pickle_param_build_memo(void **state)
{
    (void)state;
    struct buf b = {0};
    p_checkpoint(&b, param_and_metadata);
    /* insert `{"_metadata": {}} BUILD` on the state dict just before its SETITEMS: rebuild */
    struct buf c = {0};
    put(&c, b.p, b.n - 3); /* up to the inner 'u' */
    u8(&c, 'u');
    u8(&c, '}');
    p_str(&c, "_metadata");
    u8(&c, '}');
    u8(&c, 's');
    u8(&c, 'b');
    u8(&c, 'u');
    u8(&c, '.');
    struct auris__pt_state st;
    struct auris_error e;
    assert_int_equal(run(&c, &st, &e), AURIS_OK);
    assert_int_equal(st.n_tensors, 2);
    assert_int_equal(st.tensors[0].dtype, AURIS__PT_BF16);
    assert_int_equal(st.tensors[1].size[1], 3);
    assert_memory_equal(st.tensors[1].name, "alias", 5);
    auris__pt_state_clear(&st);
    free(b.p);
    free(c.p);
}

/* protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, LONG1, BINFLOAT, NONE */
static void test_pickle_protocol4(void **state)
{
    (void)state;
    struct buf b = {0};
    u8(&b, 0x80);
    u8(&b, 4);
    u8(&b, 0x95);
    u64(&b, 100);
    u8(&b, '}');
    u8(&b, 0x94);
    u8(&b, '(');
    u8(&b, 0x8c);
    u8(&b, 4);
    put(&b, "dims", 4);
    u8(&b, 0x94);
    u8(&b, '}');
    u8(&b, '(');
    for (int i = 0; i < 10; i++) {
        u8(&b, 0x8c);
        u8(&b, (unsigned)strlen(DIM_NAMES[i]));
        put(&b, DIM_NAMES[i], strlen(DIM_NAMES[i]));
        u8(&b, 0x8a); /* LONG1 of 2 bytes: 51865 needs 3 bytes signed, use 300 */
        u8(&b, 2);
        u16(&b, 300);
    }
    u8(&b, 'u');
    u8(&b, 0x8c);
    u8(&b, 5);
    put(&b, "extra", 5); /* unknown top-level keys are ignored */
    u8(&b, 'G');
    put(&b, "\x3f\xf0\0\0\0\0\0\0", 8);
    u8(&b, 0x8c);
    u8(&b, 16);
    put(&b, "model_state_dict", 16);
    u8(&b, 0x8c);
    u8(&b, 11);
    put(&b, "collections", 11);
    u8(&b, 0x8c);
    u8(&b, 11);
    put(&b, "OrderedDict", 11);
    u8(&b, 0x93);
    u8(&b, 0x94);
    u8(&b, ')');
    u8(&b, 'R');
    u8(&b, 'u');
    u8(&b, '.');
    struct auris__pt_state st;
    struct auris_error e;
    assert_int_equal(run(&b, &st, &e), AURIS_OK);
    assert_int_equal(st.dims.n_text_layer, 300);
    assert_int_equal(st.n_tensors, 0);
    auris__pt_state_clear(&st);
    free(b.p);
}

static void test_pickle_forbidden_global(void **state)
{
    (void)state;
    struct buf b = {0};
    u8(&b, 0x80);
    u8(&b, 2);
    p_global(&b, "os", "system");
    p_str(&b, "echo pwned");
    u8(&b, 0x85);
    u8(&b, 'R');
    u8(&b, '.');
    expect_error(&b, "forbidden global 'os.system'");
    free(b.p);

    struct buf c = {0}; /* same through STACK_GLOBAL */
    u8(&c, 0x80);
    u8(&c, 4);
    u8(&c, 0x8c);
    u8(&c, 8);
    put(&c, "builtins", 8);
    u8(&c, 0x8c);
    u8(&c, 4);
    put(&c, "eval", 4);
    u8(&c, 0x93);
    u8(&c, '.');
    expect_error(&c, "forbidden global 'builtins.eval'");
    free(c.p);

    struct buf d = {0}; /* a near miss of an allowed name */
    p_global(&d, "torch._utils", "_rebuild_tensor");
    expect_error(&d, "forbidden global 'torch._utils._rebuild_tensor'");
    free(d.p);
}

static void test_pickle_bad_opcodes(void **state)
{
    (void)state;
    static const struct {
        uint8_t op;
        const char *msg;
    } cases[] = {
        {0xff, "opcode 0xff (unknown)"}, {'i', "(INST) is not allowed"},
        {'o', "(OBJ) is not allowed"},   {0x81, "(NEWOBJ) is not allowed"},
        {'P', "(PERSID) is not allowed"}, {'0', "(POP) is not allowed"},
        {0x82, "(EXT1) is not allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b = {0};
        u8(&b, 0x80);
        u8(&b, 2);
        u8(&b, ']');
        u8(&b, cases[i].op);
        u8(&b, '.');
        expect_error(&b, cases[i].msg);
        free(b.p);
    }
    struct buf p = {0};
    u8(&p, 0x80);
    u8(&p, 9);
    expect_error(&p, "unsupported pickle protocol 9");
    free(p.p);
}

static void test_pickle_truncated(void **state)
{
    (void)state;
    struct buf b = {0};
    p_checkpoint(&b, two_tensors);
    for (size_t cut = 0; cut < b.n; cut++) {
        struct buf c = {b.p, cut, cut};
        struct auris__pt_state st;
        struct auris_error e;
        enum auris_err rc = run(&c, &st, &e);
        assert_int_equal(rc, AURIS_ERR_FORMAT);
        assert_non_null(strstr(e.message, "pickle"));
    }
    free(b.p);
}

/* every single-byte corruption must either load or fail cleanly */
static void test_pickle_bitflips(void **state)
{
    (void)state;
    struct buf b = {0};
    p_checkpoint(&b, two_tensors);
    for (size_t i = 0; i < b.n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            b.p[i] ^= (uint8_t)(1u << bit);
            struct auris__pt_state st;
            struct auris_error e;
            enum auris_err rc = run(&b, &st, &e);
            if (rc == AURIS_OK)
                auris__pt_state_clear(&st);
            else
                assert_true(rc == AURIS_ERR_FORMAT || rc == AURIS_ERR_NOMEM);
            b.p[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(b.p);
}

static void test_pickle_limits(void **state)
{
    (void)state;
    struct buf b = {0};
    for (int i = 0; i < 5000; i++)
        u8(&b, '(');
    expect_error(&b, "nested MARKs");
    free(b.p);

    struct buf c = {0};
    for (int i = 0; i < 70000; i++)
        u8(&c, ']');
    expect_error(&c, "stack deeper");
    free(c.p);

    struct buf d = {0};
    u8(&d, ']');
    u8(&d, 'h');
    u8(&d, 5);
    expect_error(&d, "memo index 5 was never stored");
    free(d.p);

    struct buf f = {0};
    u8(&f, ']');
    u8(&f, 'r');
    u32(&f, 0xffffffffu);
    expect_error(&f, "too large");
    free(f.p);

    struct buf g = {0}; /* BINUNICODE claiming 4 GB */
    u8(&g, 'X');
    u32(&g, 0xfffffff0u);
    put(&g, "abc", 3);
    expect_error(&g, "truncated");
    free(g.p);

    struct buf h = {0}; /* SETITEMS without a MARK, on an empty stack */
    u8(&h, 'u');
    expect_error(&h, "no MARK");
    free(h.p);
}

static void test_pickle_structure(void **state)
{
    (void)state;
    struct buf b = {0}; /* bytes after STOP */
    p_checkpoint(&b, NULL);
    u8(&b, 'N');
    expect_error(&b, "after STOP");
    free(b.p);

    struct buf c = {0}; /* calling a storage class */
    p_global(&c, "torch", "FloatStorage");
    u8(&c, ')');
    u8(&c, 'R');
    u8(&c, '.');
    expect_error(&c, "non-callable global 'torch.FloatStorage'");
    free(c.p);

    struct buf d = {0}; /* not a dict at the top */
    u8(&d, ']');
    u8(&d, '.');
    expect_error(&d, "not a dict");
    free(d.p);

    struct buf f = {0}; /* a self-referencing dict is harmless */
    u8(&f, '}');
    u8(&f, 'q');
    u8(&f, 0);
    p_str(&f, "self");
    u8(&f, 'h');
    u8(&f, 0);
    u8(&f, 's');
    u8(&f, '.');
    expect_error(&f, "lacks 'dims'");
    free(f.p);

    struct buf g = {0}; /* BUILD on a list */
    u8(&g, ']');
    u8(&g, '}');
    u8(&g, 'b');
    expect_error(&g, "BUILD on something other than a dict");
    free(g.p);
}

/* ---- zip builder ----------------------------------------------------------------------------- */

struct member {
    const char *name;
    const void *data;
    size_t size;
};

/* Writes a stored zip as torch.save does (data descriptors off for simplicity); `zip64` adds the
 * ZIP64 records and escapes the 32-bit fields. `pad` pads local headers with an extra field. */
static void build_zip(struct buf *b, const struct member *m, int n, int zip64, int pad)
{
    size_t off[16];
    for (int i = 0; i < n; i++) {
        off[i] = b->n;
        u32(b, 0x04034b50u);
        u16(b, 20);
        u16(b, 0);
        u16(b, 0);
        u32(b, 0);
        u32(b, (uint32_t)crc32(0, m[i].data, (uInt)m[i].size));
        u32(b, (uint32_t)m[i].size);
        u32(b, (uint32_t)m[i].size);
        u16(b, (unsigned)strlen(m[i].name));
        u16(b, pad ? 4u + (unsigned)pad : 0u);
        put(b, m[i].name, strlen(m[i].name));
        if (pad) {
            u16(b, 0x4246);
            u16(b, (unsigned)pad);
            for (int k = 0; k < pad; k++)
                u8(b, 'Z');
        }
        put(b, m[i].data, m[i].size);
    }
    size_t cd = b->n;
    for (int i = 0; i < n; i++) {
        u32(b, 0x02014b50u);
        u16(b, 20);
        u16(b, 20);
        u16(b, 0);
        u16(b, 0);
        u32(b, 0);
        u32(b, (uint32_t)crc32(0, m[i].data, (uInt)m[i].size));
        u32(b, zip64 ? 0xffffffffu : (uint32_t)m[i].size);
        u32(b, zip64 ? 0xffffffffu : (uint32_t)m[i].size);
        u16(b, (unsigned)strlen(m[i].name));
        u16(b, zip64 ? 28 : 0);
        u16(b, 0);
        u16(b, 0);
        u16(b, 0);
        u32(b, 0);
        u32(b, zip64 ? 0xffffffffu : (uint32_t)off[i]);
        put(b, m[i].name, strlen(m[i].name));
        if (zip64) {
            u16(b, 1);
            u16(b, 24);
            u64(b, m[i].size);
            u64(b, m[i].size);
            u64(b, off[i]);
        }
    }
    size_t cd_size = b->n - cd;
    if (zip64) {
        size_t rec = b->n;
        u32(b, 0x06064b50u);
        u64(b, 44);
        u16(b, 45);
        u16(b, 45);
        u32(b, 0);
        u32(b, 0);
        u64(b, (uint64_t)n);
        u64(b, (uint64_t)n);
        u64(b, cd_size);
        u64(b, cd);
        u32(b, 0x07064b50u);
        u32(b, 0);
        u64(b, rec);
        u32(b, 1);
    }
    u32(b, 0x06054b50u);
    u16(b, 0);
    u16(b, 0);
    u16(b, zip64 ? 0xffffu : (unsigned)n);
    u16(b, zip64 ? 0xffffu : (unsigned)n);
    u32(b, zip64 ? 0xffffffffu : (uint32_t)cd_size);
    u32(b, zip64 ? 0xffffffffu : (uint32_t)cd);
    u16(b, 0);
}

static const struct member MEMBERS[3] = {
    {"arch/data.pkl", "PICKLE", 6},
    {"arch/data/0", "0123456789abcdef", 16},
    {"arch/version", "3\n", 2},
};

static void check_members(const uint8_t *data, const struct auris__zip *z)
{
    assert_int_equal(z->n_entries, 3);
    for (int i = 0; i < 3; i++) {
        const struct auris__zip_entry *e =
            auris__zip_find(z, MEMBERS[i].name, strlen(MEMBERS[i].name));
        assert_non_null(e);
        assert_int_equal(e->size, MEMBERS[i].size);
        assert_int_equal(e->method, 0);
        assert_memory_equal(data + e->data_off, MEMBERS[i].data, MEMBERS[i].size);
    }
    assert_null(auris__zip_find(z, "arch/data/1", 11));
    assert_null(auris__zip_find(z, "arch/data", 9));
}

static void test_zip_valid(void **state)
{
    (void)state;
    for (int zip64 = 0; zip64 <= 1; zip64++) {
        struct buf b = {0};
        build_zip(&b, MEMBERS, 3, zip64, zip64 ? 0 : 17);
        uint8_t *c = exact(b.p, b.n);
        struct auris__zip z;
        struct auris_error e = {0};
        assert_int_equal(auris__zip_open(c, b.n, &z, &e), AURIS_OK);
        check_members(c, &z);
        auris__zip_close(&z);
        auris__zip_close(&z);
        free(c);
        free(b.p);
    }
    auris__zip_close(NULL);
}

static void test_zip_truncated_and_flipped(void **state)
{
    (void)state;
    for (int zip64 = 0; zip64 <= 1; zip64++) {
        struct buf b = {0};
        build_zip(&b, MEMBERS, 3, zip64, 0);
        for (size_t cut = 0; cut < b.n; cut++) {
            uint8_t *c = exact(b.p, cut);
            struct auris__zip z;
            struct auris_error e = {0};
            assert_int_equal(auris__zip_open(c, cut, &z, &e), AURIS_ERR_FORMAT);
            assert_non_null(strstr(e.message, "zip"));
            free(c);
        }
        for (size_t i = 0; i < b.n; i++) { /* corruptions: clean error or a consistent view */
            uint8_t *c = exact(b.p, b.n);
            c[i] ^= 0x41;
            struct auris__zip z;
            struct auris_error e = {0};
            if (auris__zip_open(c, b.n, &z, &e) == AURIS_OK) {
                for (int k = 0; k < z.n_entries; k++)
                    assert_true(z.entries[k].data_off + z.entries[k].size <= b.n);
                auris__zip_close(&z);
            }
            free(c);
        }
        free(b.p);
    }
}

static void test_zip_rejects(void **state)
{
    (void)state;
    struct member dup[2] = {{"a/x", "1", 1}, {"a/x", "2", 1}};
    struct buf b = {0};
    build_zip(&b, dup, 2, 0, 0);
    struct auris__zip z;
    struct auris_error e = {0};
    assert_int_equal(auris__zip_open(b.p, b.n, &z, &e), AURIS_ERR_FORMAT);
    assert_non_null(strstr(e.message, "'a/x' appears twice"));
    free(b.p);

    /* compressed member: listed, but flagged so that readers refuse it */
    struct buf c = {0};
    build_zip(&c, MEMBERS, 3, 0, 0);
    size_t cd = c.n - 22 - 3 * 46 - strlen(MEMBERS[0].name) - strlen(MEMBERS[1].name) -
                strlen(MEMBERS[2].name);
    c.p[cd + 10] = 8; /* deflate in the first central header */
    assert_int_equal(auris__zip_open(c.p, c.n, &z, &e), AURIS_OK);
    assert_int_equal(auris__zip_find(&z, "arch/data.pkl", 13)->method, 8);
    auris__zip_close(&z);
    c.p[cd + 8] = 1; /* encrypted */
    assert_int_equal(auris__zip_open(c.p, c.n, &z, &e), AURIS_ERR_FORMAT);
    assert_non_null(strstr(e.message, "encrypted"));
    free(c.p);

    /* not a zip at all */
    static const uint8_t junk[64] = {'P', 'K', 3, 4};
    assert_int_equal(auris__zip_open(junk, sizeof junk, &z, &e), AURIS_ERR_FORMAT);
}

/* ---- the .pt loader: pickle + zip ----------------------------------------------------------- */

static int g_bias_offset = 2;

static void pt_tensors(struct buf *b)
{
    p_str(b, "a.weight");
    p_tensor(b, "HalfStorage", "0", 12, 0, 3, 4);
    p_str(b, "a.bias");
    p_tensor(b, "FloatStorage", "1", 10, g_bias_offset, 1, 3);
}

/* Builds a .pt with data.pkl from pt_tensors and storages of the given byte sizes (a size of 0
 * omits the member); `flip` >= 0 corrupts that byte of data.pkl after its CRC is computed. */
static enum auris_err load_pt(size_t size0, size_t size1, int flip, struct auris__checkpoint *ck,
                              struct auris_error *e)
{
    static uint8_t storage[64];
    for (int i = 0; i < 64; i++)
        storage[i] = (uint8_t)i;
    struct buf pk = {0};
    p_checkpoint(&pk, pt_tensors);
    struct member m[4] = {{"arch/data.pkl", pk.p, pk.n}, {"arch/version", "3\n", 2}};
    int n = 2;
    if (size0)
        m[n++] = (struct member){"arch/data/0", storage, size0};
    if (size1)
        m[n++] = (struct member){"arch/data/1", storage, size1};
    struct buf z = {0};
    build_zip(&z, m, n, 0, 0);
    if (flip >= 0)
        z.p[30 + strlen("arch/data.pkl") + (size_t)flip] ^= 0x10;
    uint8_t *c = exact(z.p, z.n);
    memset(e, 0, sizeof *e);
    enum auris_err rc = auris__load_pt(c, z.n, ck, e);
    if (rc == AURIS_OK) {
        /* keep offsets relative to the start of the file: the copy is freed below */
        ck->tensors[0].data = (const uint8_t *)((const uint8_t *)ck->tensors[0].data - c);
        ck->tensors[1].data = (const uint8_t *)((const uint8_t *)ck->tensors[1].data - c);
    }
    free(c);
    free(z.p);
    free(pk.p);
    return rc;
}

static void expect_pt_error(size_t size0, size_t size1, int flip, const char *needle)
{
    struct auris__checkpoint ck;
    struct auris_error e;
    enum auris_err rc = load_pt(size0, size1, flip, &ck, &e);
    if (rc != AURIS_ERR_FORMAT || !strstr(e.message, needle))
        fail_msg("expected FORMAT error with \"%s\", got %d \"%s\"", needle, rc, e.message);
}

static void test_pt_loader(void **state)
{
    (void)state;
    struct auris__checkpoint ck;
    struct auris_error e;
    assert_int_equal(load_pt(24, 40, -1, &ck, &e), AURIS_OK);
    assert_int_equal(ck.n_tensors, 2);
    assert_string_equal(ck.tensors[0].name, "a.weight");
    assert_int_equal(ck.tensors[0].type, AURIS_DT_F16);
    assert_int_equal(ck.tensors[0].ne[0], 3);
    assert_int_equal(ck.tensors[0].ne[1], 4);
    assert_int_equal(ck.tensors[1].type, AURIS_DT_F32);
    assert_int_equal(ck.tensors[1].n_dims, 2);
    /* the bias starts 2 floats into its storage member */
    size_t off0 = (size_t)(uintptr_t)ck.tensors[0].data, off1 = (size_t)(uintptr_t)ck.tensors[1].data;
    assert_true(off1 > off0 + 24);
    assert_int_equal(ck.dims.n_mels, 100);
    assert_int_equal(ck.mel_filters == NULL, 1);
    auris__checkpoint_clear(&ck);

    expect_pt_error(24, 0, -1, "storage member 'arch/data/1' is missing");
    expect_pt_error(24, 36, -1, "holds 36 bytes, expected 10 elements of 4 bytes");
    expect_pt_error(24, 40, 3, "CRC-32");
    g_bias_offset = 8;
    expect_pt_error(24, 40, -1, "overruns its storage");
    g_bias_offset = 2;
    g_stride0 = 5; /* a.weight [3][4] with row stride 5: not contiguous */
    expect_pt_error(24, 40, -1, "tensor 'a.weight' is not contiguous");
    g_stride0 = -1;

    /* a zip without data.pkl */
    struct buf z = {0};
    build_zip(&z, MEMBERS + 1, 2, 0, 0);
    memset(&e, 0, sizeof e);
    assert_int_equal(auris__load_pt(z.p, z.n, &ck, &e), AURIS_ERR_FORMAT);
    assert_non_null(strstr(e.message, "no <name>/data.pkl"));
    free(z.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pickle_valid),
        cmocka_unit_test(test_pickle_param_build_memo),
        cmocka_unit_test(test_pickle_protocol4),
        cmocka_unit_test(test_pickle_forbidden_global),
        cmocka_unit_test(test_pickle_bad_opcodes),
        cmocka_unit_test(test_pickle_truncated),
        cmocka_unit_test(test_pickle_bitflips),
        cmocka_unit_test(test_pickle_limits),
        cmocka_unit_test(test_pickle_structure),
        cmocka_unit_test(test_zip_valid),
        cmocka_unit_test(test_zip_truncated_and_flipped),
        cmocka_unit_test(test_zip_rejects),
        cmocka_unit_test(test_pt_loader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
