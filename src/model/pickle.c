/*
 * pickle.c — an allow-list reader for the data.pkl that torch.save writes for a Whisper
 * checkpoint: {"dims": {name: int}, "model_state_dict": OrderedDict(name -> tensor)}.
 *
 * Reference: CPython Lib/pickletools.py (opcode set, protocols 2-5) and torch/serialization.py
 * with torch/_utils.py (persistent ids ('storage', StorageType, key, location, numel) and
 * _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])).
 * Invariants: this is a data parser, not an interpreter — no Python object is ever called. The
 * only "callables" are tags for a fixed set of globals, and REDUCE on them builds plain values
 * (an empty dict, a tensor description). Every count (objects, stack, marks, memo) is bounded;
 * every read is checked against the buffer; objects reference each other by index so that
 * shared or cyclic structures cost nothing and nothing recurses.
 */
#include "model/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_NODES (1 << 22)
#define MAX_STACK (1 << 16)
#define MAX_MARKS 1024
#define MAX_MEMO (1 << 22)
#define MAX_ITEMS (1 << 24)

enum kind { K_NONE, K_BOOL, K_INT, K_FLOAT, K_STR, K_TUPLE, K_LIST, K_DICT, K_GLOBAL, K_STORAGE,
            K_TENSOR };

/* The allowed globals. Storage classes and dtypes are values; the rest can be REDUCEd. */
enum glob { G_ORDERED_DICT, G_REBUILD_TENSOR, G_REBUILD_PARAM, G_HALF_STORAGE, G_FLOAT_STORAGE,
            G_BF16_STORAGE, G_DT_F16, G_DT_F32, G_DT_BF16 };

static const struct {
    const char *module, *name;
} g_allowed[] = {
    [G_ORDERED_DICT] = {"collections", "OrderedDict"},
    [G_REBUILD_TENSOR] = {"torch._utils", "_rebuild_tensor_v2"},
    [G_REBUILD_PARAM] = {"torch._utils", "_rebuild_parameter"},
    [G_HALF_STORAGE] = {"torch", "HalfStorage"},
    [G_FLOAT_STORAGE] = {"torch", "FloatStorage"},
    [G_BF16_STORAGE] = {"torch", "BFloat16Storage"},
    [G_DT_F16] = {"torch", "float16"},
    [G_DT_F32] = {"torch", "float32"},
    [G_DT_BF16] = {"torch", "bfloat16"},
};

struct node {
    uint8_t kind;
    union {
        int64_t i;                                  /* K_BOOL, K_INT */
        double f;                                   /* K_FLOAT */
        struct { const char *p; size_t n; } s;      /* K_STR, points into the pickle */
        struct { int32_t *v; int32_t n, cap; } c;   /* K_TUPLE, K_LIST, K_DICT (key,value pairs) */
        int g;                                      /* K_GLOBAL: enum glob */
        struct {
            enum auris__pt_dtype dtype;
            const char *key;
            size_t key_len;
            int64_t numel;
        } st;                                       /* K_STORAGE */
        struct {
            int32_t storage;
            int n_dims;
            int64_t offset, size[4], stride[4];
        } t;                                        /* K_TENSOR */
    } u;
};

struct vm {
    const uint8_t *p;
    size_t len, pos;
    struct node *nodes;
    int32_t n_nodes, cap_nodes;
    int32_t *stack;
    int32_t sp, cap_stack;
    int32_t marks[MAX_MARKS];
    int n_marks;
    int32_t *memo; /* [cap_memo], -1 = empty */
    int32_t cap_memo;
    int32_t n_memo; /* filled slots: MEMOIZE's implicit index */
    struct auris_error *err;
};

static const struct {
    uint8_t code;
    const char *name;
} g_opnames[] = {
    {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"},
    {'F', "FLOAT"}, {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"},
    {'M', "BININT2"}, {'N', "NONE"}, {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"},
    {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"},
    {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
    {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"},
    {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"},
    {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"},
    {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"},
    {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"},
    {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"},
    {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"},
    {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"}, {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
    {0x95, "FRAME"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
};

static const char *opname(uint8_t op)
{
    for (size_t i = 0; i < AURIS_ARRAY_LEN(g_opnames); i++)
        if (g_opnames[i].code == op)
            return g_opnames[i].name;
    return "unknown";
}

/* All VM errors are FORMAT errors that say where in data.pkl they happened. */
#define VM_FAIL(vm, ...) vm_fail((vm), __VA_ARGS__)
static enum auris_err vm_fail(struct vm *vm, const char *fmt, ...) AURIS_PRINTF(2, 3);

static enum auris_err vm_fail(struct vm *vm, const char *fmt, ...)
{
    char msg[AURIS_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return auris__fail(vm->err, AURIS_ERR_FORMAT, "pickle: %s (data.pkl offset %zu)", msg,
                       vm->pos);
}

static enum auris_err need(struct vm *vm, size_t n)
{
    if (vm->len - vm->pos < n)
        return VM_FAIL(vm, "truncated: %zu more bytes needed", n);
    return AURIS_OK;
}

static uint64_t rd_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int32_t new_node(struct vm *vm, int kind)
{
    if (vm->n_nodes == vm->cap_nodes) {
        if (vm->cap_nodes >= MAX_NODES)
            return -1;
        int32_t cap = vm->cap_nodes ? vm->cap_nodes * 2 : 256;
        struct node *n = realloc(vm->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return -2;
        vm->nodes = n;
        vm->cap_nodes = cap;
    }
    struct node *nd = &vm->nodes[vm->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->kind = (uint8_t)kind;
    return vm->n_nodes++;
}

static enum auris_err push(struct vm *vm, int32_t idx)
{
    if (vm->sp == vm->cap_stack) {
        if (vm->cap_stack >= MAX_STACK)
            return VM_FAIL(vm, "stack deeper than %d", MAX_STACK);
        int32_t cap = vm->cap_stack ? vm->cap_stack * 2 : 64;
        int32_t *s = realloc(vm->stack, (size_t)cap * sizeof *s);
        if (!s)
            return auris__fail(vm->err, AURIS_ERR_NOMEM, "pickle: out of memory");
        vm->stack = s;
        vm->cap_stack = cap;
    }
    vm->stack[vm->sp++] = idx;
    return AURIS_OK;
}

/* Creates a node of `kind` and pushes it; *out receives its index. */
static enum auris_err push_new(struct vm *vm, int kind, int32_t *out)
{
    int32_t idx = new_node(vm, kind);
    if (idx == -1)
        return VM_FAIL(vm, "more than %d objects", MAX_NODES);
    if (idx < 0)
        return auris__fail(vm->err, AURIS_ERR_NOMEM, "pickle: out of memory");
    if (out)
        *out = idx;
    return push(vm, idx);
}

static enum auris_err pop(struct vm *vm, int32_t *out)
{
    if (vm->sp == 0 || (vm->n_marks && vm->sp <= vm->marks[vm->n_marks - 1]))
        return VM_FAIL(vm, "stack underflow");
    *out = vm->stack[--vm->sp];
    return AURIS_OK;
}

static enum auris_err pop_mark(struct vm *vm, int32_t *base)
{
    if (vm->n_marks == 0)
        return VM_FAIL(vm, "no MARK on the stack");
    *base = vm->marks[--vm->n_marks];
    return AURIS_OK;
}

static enum auris_err append_item(struct vm *vm, struct node *c, int32_t item)
{
    if (c->u.c.n == c->u.c.cap) {
        if (c->u.c.cap >= MAX_ITEMS)
            return VM_FAIL(vm, "container with more than %d items", MAX_ITEMS);
        int32_t cap = c->u.c.cap ? c->u.c.cap * 2 : 4;
        int32_t *v = realloc(c->u.c.v, (size_t)cap * sizeof *v);
        if (!v)
            return auris__fail(vm->err, AURIS_ERR_NOMEM, "pickle: out of memory");
        c->u.c.v = v;
        c->u.c.cap = cap;
    }
    c->u.c.v[c->u.c.n++] = item;
    return AURIS_OK;
}

/* Pops stack[base..sp) into a new tuple and pushes it. */
static enum auris_err make_tuple(struct vm *vm, int32_t base)
{
    int32_t n = vm->sp - base, idx = 0;
    int32_t *items = NULL;
    if (n > 0) {
        items = malloc((size_t)n * sizeof *items);
        if (!items)
            return auris__fail(vm->err, AURIS_ERR_NOMEM, "pickle: out of memory");
        memcpy(items, vm->stack + base, (size_t)n * sizeof *items);
    }
    vm->sp = base;
    enum auris_err rc = push_new(vm, K_TUPLE, &idx);
    if (rc) {
        free(items);
        return rc;
    }
    vm->nodes[idx].u.c.v = items;
    vm->nodes[idx].u.c.n = vm->nodes[idx].u.c.cap = n;
    return AURIS_OK;
}

static enum auris_err memo_put(struct vm *vm, uint64_t key)
{
    if (vm->sp == 0 || (vm->n_marks && vm->sp <= vm->marks[vm->n_marks - 1]))
        return VM_FAIL(vm, "memoize with an empty stack");
    if (key >= MAX_MEMO)
        return VM_FAIL(vm, "memo index %llu too large", (unsigned long long)key);
    if (key >= (uint64_t)vm->cap_memo) {
        int32_t cap = vm->cap_memo ? vm->cap_memo : 256;
        while ((uint64_t)cap <= key)
            cap *= 2;
        int32_t *m = realloc(vm->memo, (size_t)cap * sizeof *m);
        if (!m)
            return auris__fail(vm->err, AURIS_ERR_NOMEM, "pickle: out of memory");
        for (int32_t i = vm->cap_memo; i < cap; i++)
            m[i] = -1;
        vm->memo = m;
        vm->cap_memo = cap;
    }
    if (vm->memo[key] < 0)
        vm->n_memo++;
    vm->memo[key] = vm->stack[vm->sp - 1];
    return AURIS_OK;
}

static enum auris_err memo_get(struct vm *vm, uint64_t key)
{
    if (key >= (uint64_t)vm->cap_memo || vm->memo[key] < 0)
        return VM_FAIL(vm, "memo index %llu was never stored", (unsigned long long)key);
    return push(vm, vm->memo[key]);
}

/* Resolves module.name against the allow-list. */
static enum auris_err push_global(struct vm *vm, const char *mod, size_t mod_len,
                                  const char *name, size_t name_len)
{
    for (size_t g = 0; g < AURIS_ARRAY_LEN(g_allowed); g++) {
        if (strlen(g_allowed[g].module) == mod_len && strlen(g_allowed[g].name) == name_len &&
            memcmp(g_allowed[g].module, mod, mod_len) == 0 &&
            memcmp(g_allowed[g].name, name, name_len) == 0) {
            int32_t idx = 0;
            enum auris_err rc = push_new(vm, K_GLOBAL, &idx);
            if (!rc)
                vm->nodes[idx].u.g = (int)g;
            return rc;
        }
    }
    return auris__fail(vm->err, AURIS_ERR_FORMAT, "pickle references forbidden global '%.*s.%.*s'",
                       (int)AURIS_MIN(mod_len, 120), mod, (int)AURIS_MIN(name_len, 120), name);
}

static enum auris_err op_global(struct vm *vm)
{
    /* GLOBAL: "module\nname\n" */
    const char *s = (const char *)vm->p + vm->pos;
    size_t rest = vm->len - vm->pos;
    const char *nl1 = memchr(s, '\n', rest);
    if (!nl1)
        return VM_FAIL(vm, "truncated GLOBAL");
    const char *nl2 = memchr(nl1 + 1, '\n', rest - (size_t)(nl1 + 1 - s));
    if (!nl2)
        return VM_FAIL(vm, "truncated GLOBAL");
    vm->pos += (size_t)(nl2 + 1 - s);
    return push_global(vm, s, (size_t)(nl1 - s), nl1 + 1, (size_t)(nl2 - nl1 - 1));
}

static enum auris_err op_stack_global(struct vm *vm)
{
    int32_t a = 0, b = 0;
    enum auris_err rc = pop(vm, &b);
    if (!rc)
        rc = pop(vm, &a);
    if (rc)
        return rc;
    if (vm->nodes[a].kind != K_STR || vm->nodes[b].kind != K_STR)
        return VM_FAIL(vm, "STACK_GLOBAL needs two strings");
    return push_global(vm, vm->nodes[a].u.s.p, vm->nodes[a].u.s.n, vm->nodes[b].u.s.p,
                       vm->nodes[b].u.s.n);
}

static int is_int(const struct node *n)
{
    return n->kind == K_INT;
}

/* BINPERSID with ('storage', StorageType, key, location, numel). */
static enum auris_err op_persid(struct vm *vm)
{
    int32_t t = 0;
    enum auris_err rc = pop(vm, &t);
    if (rc)
        return rc;
    const struct node *pid = &vm->nodes[t];
    if (pid->kind != K_TUPLE || pid->u.c.n != 5)
        return VM_FAIL(vm, "persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    const struct node *tag = &vm->nodes[pid->u.c.v[0]], *ty = &vm->nodes[pid->u.c.v[1]];
    const struct node *key = &vm->nodes[pid->u.c.v[2]], *loc = &vm->nodes[pid->u.c.v[3]];
    const struct node *numel = &vm->nodes[pid->u.c.v[4]];
    if (tag->kind != K_STR || tag->u.s.n != 7 || memcmp(tag->u.s.p, "storage", 7) != 0)
        return VM_FAIL(vm, "persistent id is not a storage");
    if (ty->kind != K_GLOBAL || key->kind != K_STR || loc->kind != K_STR || !is_int(numel) ||
        numel->u.i < 0)
        return VM_FAIL(vm, "malformed storage persistent id");
    enum auris__pt_dtype dt;
    switch (ty->u.g) {
    case G_HALF_STORAGE: dt = AURIS__PT_F16; break;
    case G_FLOAT_STORAGE: dt = AURIS__PT_F32; break;
    case G_BF16_STORAGE: dt = AURIS__PT_BF16; break;
    default: return VM_FAIL(vm, "storage type is not a storage class");
    }
    if (key->u.s.n == 0 || key->u.s.n > 64)
        return VM_FAIL(vm, "storage key of length %zu", key->u.s.n);
    int32_t idx = 0;
    rc = push_new(vm, K_STORAGE, &idx);
    if (rc)
        return rc;
    struct node *st = &vm->nodes[idx];
    st->u.st.dtype = dt;
    st->u.st.key = key->u.s.p;
    st->u.st.key_len = key->u.s.n;
    st->u.st.numel = numel->u.i;
    return AURIS_OK;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata]) */
static enum auris_err rebuild_tensor(struct vm *vm, const struct node *args)
{
    if (args->u.c.n != 6 && args->u.c.n != 7)
        return VM_FAIL(vm, "_rebuild_tensor_v2 with %d arguments", args->u.c.n);
    const struct node *a[7];
    for (int i = 0; i < args->u.c.n; i++)
        a[i] = &vm->nodes[args->u.c.v[i]];
    if (a[0]->kind != K_STORAGE || !is_int(a[1]) || a[1]->u.i < 0 || a[2]->kind != K_TUPLE ||
        a[3]->kind != K_TUPLE || a[2]->u.c.n != a[3]->u.c.n || a[4]->kind != K_BOOL ||
        a[5]->kind != K_DICT || (args->u.c.n == 7 && a[6]->kind != K_NONE && a[6]->kind != K_DICT))
        return VM_FAIL(vm, "malformed _rebuild_tensor_v2 arguments");
    int nd = a[2]->u.c.n;
    if (nd > 4)
        return VM_FAIL(vm, "tensor with %d dimensions", nd);
    int32_t idx = 0, storage = args->u.c.v[0];
    int64_t offset = a[1]->u.i, size[4], stride[4];
    for (int i = 0; i < nd; i++) {
        const struct node *s = &vm->nodes[a[2]->u.c.v[i]], *d = &vm->nodes[a[3]->u.c.v[i]];
        if (!is_int(s) || !is_int(d) || s->u.i < 0 || d->u.i < 0)
            return VM_FAIL(vm, "tensor size/stride is not a non-negative integer");
        size[i] = s->u.i;
        stride[i] = d->u.i;
    }
    enum auris_err rc = push_new(vm, K_TENSOR, &idx); /* invalidates a[] */
    if (rc)
        return rc;
    struct node *t = &vm->nodes[idx];
    t->u.t.storage = storage;
    t->u.t.offset = offset;
    t->u.t.n_dims = nd;
    memcpy(t->u.t.size, size, sizeof size);
    memcpy(t->u.t.stride, stride, sizeof stride);
    return AURIS_OK;
}

static enum auris_err op_reduce(struct vm *vm)
{
    int32_t fi = 0, ai = 0;
    enum auris_err rc = pop(vm, &ai);
    if (!rc)
        rc = pop(vm, &fi);
    if (rc)
        return rc;
    const struct node *f = &vm->nodes[fi], *args = &vm->nodes[ai];
    if (f->kind != K_GLOBAL || args->kind != K_TUPLE)
        return VM_FAIL(vm, "REDUCE of something that is not an allowed callable");
    switch (f->u.g) {
    case G_ORDERED_DICT:
        if (args->u.c.n != 0)
            return VM_FAIL(vm, "OrderedDict called with arguments");
        return push_new(vm, K_DICT, NULL);
    case G_REBUILD_TENSOR:
        return rebuild_tensor(vm, args);
    case G_REBUILD_PARAM:
        /* _rebuild_parameter(tensor, requires_grad, hooks): the tensor itself */
        if (args->u.c.n != 3 || vm->nodes[args->u.c.v[0]].kind != K_TENSOR ||
            vm->nodes[args->u.c.v[1]].kind != K_BOOL || vm->nodes[args->u.c.v[2]].kind != K_DICT)
            return VM_FAIL(vm, "malformed _rebuild_parameter arguments");
        return push(vm, args->u.c.v[0]);
    default:
        return VM_FAIL(vm, "REDUCE of the non-callable global '%s.%s'",
                       g_allowed[f->u.g].module, g_allowed[f->u.g].name);
    }
}

/* SETITEM(S) / APPEND(S): items stack[base..sp) go into the container at stack[base-1]. */
static enum auris_err fill_container(struct vm *vm, int32_t base, int want_dict)
{
    if (base < 1 || (vm->n_marks && base - 1 < vm->marks[vm->n_marks - 1]))
        return VM_FAIL(vm, "no container below the items");
    struct node *c = &vm->nodes[vm->stack[base - 1]];
    if (c->kind != (want_dict ? K_DICT : K_LIST))
        return VM_FAIL(vm, "%s on a non-%s", want_dict ? "SETITEM" : "APPEND",
                       want_dict ? "dict" : "list");
    if (want_dict && (vm->sp - base) % 2)
        return VM_FAIL(vm, "SETITEMS with an odd number of items");
    for (int32_t i = base; i < vm->sp; i++) {
        enum auris_err rc = append_item(vm, c, vm->stack[i]);
        if (rc)
            return rc;
    }
    vm->sp = base;
    return AURIS_OK;
}

/* BUILD sets instance attributes; the only harmless case is a state dict's `_metadata`: an
 * (Ordered)dict receiving a dict (or (dict, None)). The state is dropped. */
static enum auris_err op_build(struct vm *vm)
{
    int32_t si = 0;
    enum auris_err rc = pop(vm, &si);
    if (rc)
        return rc;
    if (vm->sp == 0 || (vm->n_marks && vm->sp <= vm->marks[vm->n_marks - 1]))
        return VM_FAIL(vm, "BUILD without an object");
    const struct node *obj = &vm->nodes[vm->stack[vm->sp - 1]], *st = &vm->nodes[si];
    int ok = st->kind == K_DICT;
    if (st->kind == K_TUPLE && st->u.c.n == 2)
        ok = vm->nodes[st->u.c.v[0]].kind == K_DICT &&
             (vm->nodes[st->u.c.v[1]].kind == K_NONE || vm->nodes[st->u.c.v[1]].kind == K_DICT);
    if (obj->kind != K_DICT || !ok)
        return VM_FAIL(vm, "BUILD on something other than a dict");
    return AURIS_OK;
}

static enum auris_err push_str(struct vm *vm, size_t n)
{
    enum auris_err rc = need(vm, n);
    if (rc)
        return rc;
    int32_t idx = 0;
    rc = push_new(vm, K_STR, &idx);
    if (rc)
        return rc;
    vm->nodes[idx].u.s.p = (const char *)vm->p + vm->pos;
    vm->nodes[idx].u.s.n = n;
    vm->pos += n;
    return AURIS_OK;
}

static enum auris_err push_int(struct vm *vm, int kind, int64_t v)
{
    int32_t idx = 0;
    enum auris_err rc = push_new(vm, kind, &idx);
    if (!rc)
        vm->nodes[idx].u.i = v;
    return rc;
}

/* Reads an opcode's fixed-size little-endian argument. */
static enum auris_err arg(struct vm *vm, int n, uint64_t *v)
{
    enum auris_err rc = need(vm, (size_t)n);
    if (rc)
        return rc;
    *v = rd_le(vm->p + vm->pos, n);
    vm->pos += (size_t)n;
    return AURIS_OK;
}

/* Executes one opcode; sets *stop at STOP. */
static enum auris_err step(struct vm *vm, int *stop)
{
    enum auris_err rc = need(vm, 1);
    if (rc)
        return rc;
    uint8_t op = vm->p[vm->pos++];
    uint64_t v = 0;
    int32_t base = 0, idx = 0;
    switch (op) {
    case 0x80: /* PROTO */
        if ((rc = arg(vm, 1, &v)))
            return rc;
        if (v < 2 || v > 5)
            return VM_FAIL(vm, "unsupported pickle protocol %llu", (unsigned long long)v);
        return AURIS_OK;
    case 0x95: /* FRAME: a length hint only */
        return arg(vm, 8, &v);
    case '}': return push_new(vm, K_DICT, NULL);
    case ']': return push_new(vm, K_LIST, NULL);
    case ')': return make_tuple(vm, vm->sp);
    case '(':
        if (vm->n_marks == MAX_MARKS)
            return VM_FAIL(vm, "more than %d nested MARKs", MAX_MARKS);
        vm->marks[vm->n_marks++] = vm->sp;
        return AURIS_OK;
    case 'X': return (rc = arg(vm, 4, &v)) ? rc : push_str(vm, (size_t)v);
    case 0x8c: return (rc = arg(vm, 1, &v)) ? rc : push_str(vm, (size_t)v);
    case 0x8d:
        if ((rc = arg(vm, 8, &v)))
            return rc;
        if (v > vm->len)
            return VM_FAIL(vm, "truncated BINUNICODE8");
        return push_str(vm, (size_t)v);
    case 'q': return (rc = arg(vm, 1, &v)) ? rc : memo_put(vm, v);
    case 'r': return (rc = arg(vm, 4, &v)) ? rc : memo_put(vm, v);
    case 0x94: return memo_put(vm, (uint64_t)vm->n_memo);
    case 'h': return (rc = arg(vm, 1, &v)) ? rc : memo_get(vm, v);
    case 'j': return (rc = arg(vm, 4, &v)) ? rc : memo_get(vm, v);
    case 'J': return (rc = arg(vm, 4, &v)) ? rc : push_int(vm, K_INT, (int32_t)(uint32_t)v);
    case 'K': return (rc = arg(vm, 1, &v)) ? rc : push_int(vm, K_INT, (int64_t)v);
    case 'M': return (rc = arg(vm, 2, &v)) ? rc : push_int(vm, K_INT, (int64_t)v);
    case 0x8a: { /* LONG1: n-byte two's complement */
        if ((rc = arg(vm, 1, &v)))
            return rc;
        int n = (int)v;
        if (n > 8)
            return VM_FAIL(vm, "integer of %d bytes is too large", n);
        uint64_t x = 0;
        if ((rc = arg(vm, n, &x)))
            return rc;
        if (n > 0 && n < 8 && (x >> (8 * n - 1)) & 1)
            x |= ~(uint64_t)0 << (8 * n);
        return push_int(vm, K_INT, (int64_t)x);
    }
    case 'G': {
        if ((rc = need(vm, 8)))
            return rc;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) /* big-endian */
            bits = (bits << 8) | vm->p[vm->pos + (size_t)i];
        vm->pos += 8;
        if ((rc = push_new(vm, K_FLOAT, &idx)))
            return rc;
        memcpy(&vm->nodes[idx].u.f, &bits, sizeof bits);
        return AURIS_OK;
    }
    case 'N': return push_new(vm, K_NONE, NULL);
    case 0x88: return push_int(vm, K_BOOL, 1);
    case 0x89: return push_int(vm, K_BOOL, 0);
    case 't': return (rc = pop_mark(vm, &base)) ? rc : make_tuple(vm, base);
    case 0x85:
    case 0x86:
    case 0x87: {
        int n = op - 0x84;
        int32_t floor = vm->n_marks ? vm->marks[vm->n_marks - 1] : 0;
        if (vm->sp - floor < n)
            return VM_FAIL(vm, "stack underflow in %s", opname(op));
        return make_tuple(vm, vm->sp - n);
    }
    case 's':
        if (vm->sp < 2)
            return VM_FAIL(vm, "stack underflow in SETITEM");
        return fill_container(vm, vm->sp - 2, 1);
    case 'u': return (rc = pop_mark(vm, &base)) ? rc : fill_container(vm, base, 1);
    case 'a':
        if (vm->sp < 1)
            return VM_FAIL(vm, "stack underflow in APPEND");
        return fill_container(vm, vm->sp - 1, 0);
    case 'e': return (rc = pop_mark(vm, &base)) ? rc : fill_container(vm, base, 0);
    case 'c': return op_global(vm);
    case 0x93: return op_stack_global(vm);
    case 'Q': return op_persid(vm);
    case 'R': return op_reduce(vm);
    case 'b': return op_build(vm);
    case '.':
        *stop = 1;
        return AURIS_OK;
    default:
        vm->pos--;
        return VM_FAIL(vm, "opcode 0x%02x (%s) is not allowed", op, opname(op));
    }
}

/* ---- turning the final object into dims and tensors ---------------------------------------- */

static int str_eq(const struct node *n, const char *s)
{
    return n->kind == K_STR && n->u.s.n == strlen(s) && memcmp(n->u.s.p, s, n->u.s.n) == 0;
}

static const struct node *dict_get(const struct vm *vm, const struct node *d, const char *key)
{
    for (int32_t i = 0; i + 1 < d->u.c.n; i += 2)
        if (str_eq(&vm->nodes[d->u.c.v[i]], key))
            return &vm->nodes[d->u.c.v[i + 1]];
    return NULL;
}

static enum auris_err read_dims(struct vm *vm, const struct node *d, struct auris_model_dims *dims,
                                struct auris_error *err)
{
    static const char *const names[10] = {"n_mels", "n_audio_ctx", "n_audio_state",
                                          "n_audio_head", "n_audio_layer", "n_vocab",
                                          "n_text_ctx", "n_text_state", "n_text_head",
                                          "n_text_layer"};
    int *fields[10] = {&dims->n_mels, &dims->n_audio_ctx, &dims->n_audio_state,
                       &dims->n_audio_head, &dims->n_audio_layer, &dims->n_vocab,
                       &dims->n_text_ctx, &dims->n_text_state, &dims->n_text_head,
                       &dims->n_text_layer};
    if (d->kind != K_DICT)
        return auris__fail(err, AURIS_ERR_FORMAT, "checkpoint 'dims' is not a dict");
    for (int32_t i = 0; i < d->u.c.n; i += 2) {
        const struct node *k = &vm->nodes[d->u.c.v[i]];
        int known = 0;
        for (int f = 0; f < 10; f++)
            known |= str_eq(k, names[f]);
        if (!known)
            return auris__fail(err, AURIS_ERR_FORMAT, "checkpoint 'dims' has an unknown entry '%.*s'",
                               k->kind == K_STR ? (int)AURIS_MIN(k->u.s.n, 64) : 3,
                               k->kind == K_STR ? k->u.s.p : "?");
    }
    for (int f = 0; f < 10; f++) {
        const struct node *v = dict_get(vm, d, names[f]);
        if (!v)
            return auris__fail(err, AURIS_ERR_FORMAT, "checkpoint 'dims' lacks '%s'", names[f]);
        if (v->kind != K_INT || v->u.i < 0 || v->u.i > INT32_MAX)
            return auris__fail(err, AURIS_ERR_FORMAT, "checkpoint dims '%s' is not a valid integer",
                               names[f]);
        *fields[f] = (int)v->u.i;
    }
    return AURIS_OK;
}

static enum auris_err read_state_dict(struct vm *vm, const struct node *d,
                                      struct auris__pt_state *st, struct auris_error *err)
{
    if (d->kind != K_DICT)
        return auris__fail(err, AURIS_ERR_FORMAT, "checkpoint 'model_state_dict' is not a dict");
    int n = d->u.c.n / 2;
    st->tensors = calloc((size_t)AURIS_MAX(n, 1), sizeof *st->tensors);
    if (!st->tensors)
        return auris__fail(err, AURIS_ERR_NOMEM, "pickle: out of memory");
    for (int i = 0; i < n; i++) {
        const struct node *k = &vm->nodes[d->u.c.v[2 * i]];
        const struct node *t = &vm->nodes[d->u.c.v[2 * i + 1]];
        if (k->kind != K_STR)
            return auris__fail(err, AURIS_ERR_FORMAT, "model_state_dict key #%d is not a string", i);
        if (t->kind != K_TENSOR)
            return auris__fail(err, AURIS_ERR_FORMAT, "model_state_dict entry '%.*s' is not a tensor",
                               (int)AURIS_MIN(k->u.s.n, 128), k->u.s.p);
        const struct node *s = &vm->nodes[t->u.t.storage];
        struct auris__pt_tensor *o = &st->tensors[i];
        o->name = k->u.s.p;
        o->name_len = k->u.s.n;
        o->key = s->u.st.key;
        o->key_len = s->u.st.key_len;
        o->dtype = s->u.st.dtype;
        o->storage_numel = s->u.st.numel;
        o->offset = t->u.t.offset;
        o->n_dims = t->u.t.n_dims;
        memcpy(o->size, t->u.t.size, sizeof o->size);
        memcpy(o->stride, t->u.t.stride, sizeof o->stride);
        st->n_tensors = i + 1;
    }
    return AURIS_OK;
}

static void vm_free(struct vm *vm)
{
    for (int32_t i = 0; i < vm->n_nodes; i++) {
        int k = vm->nodes[i].kind;
        if (k == K_TUPLE || k == K_LIST || k == K_DICT)
            free(vm->nodes[i].u.c.v);
    }
    free(vm->nodes);
    free(vm->stack);
    free(vm->memo);
}

enum auris_err auris__pickle_load(const uint8_t *pkl, size_t len, struct auris__pt_state *st,
                                  struct auris_error *err)
{
    memset(st, 0, sizeof *st);
    struct vm vm = {.p = pkl, .len = len, .err = err};
    enum auris_err rc = AURIS_OK;
    int stop = 0;
    while (!stop && !rc)
        rc = step(&vm, &stop);
    if (rc)
        goto done;
    if (vm.pos != len) {
        rc = VM_FAIL(&vm, "%zu bytes after STOP", len - vm.pos);
        goto done;
    }
    if (vm.sp != 1 || vm.n_marks != 0) {
        rc = VM_FAIL(&vm, "STOP with %d objects and %d marks on the stack", vm.sp, vm.n_marks);
        goto done;
    }
    const struct node *top = &vm.nodes[vm.stack[0]];
    if (top->kind != K_DICT) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "checkpoint is not a dict");
        goto done;
    }
    const struct node *dims = dict_get(&vm, top, "dims");
    const struct node *sd = dict_get(&vm, top, "model_state_dict");
    if (!dims || !sd) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "checkpoint lacks '%s' (not a Whisper checkpoint?)",
                         dims ? "model_state_dict" : "dims");
        goto done;
    }
    rc = read_dims(&vm, dims, &st->dims, err);
    if (!rc)
        rc = read_state_dict(&vm, sd, st, err);
done:
    vm_free(&vm);
    if (rc)
        auris__pt_state_clear(st);
    return rc;
}

void auris__pt_state_clear(struct auris__pt_state *st)
{
    if (!st)
        return;
    free(st->tensors);
    memset(st, 0, sizeof *st);
}
