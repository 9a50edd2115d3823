/*
 * safetensors.c — the safetensors container: header parsing and validation.
 *
 * Reference (facts only): the safetensors format as Hugging Face documents it: an unsigned
 * 64-bit little-endian header length N, N bytes of UTF-8 JSON (an object mapping each tensor
 * name to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional "__metadata__"
 * object of strings), then the data; offsets are relative to the first data byte and tensors
 * are row-major. Only F32, F16 and BF16 are accepted here.
 * Invariants: the JSON is parsed with a length bound (never read past the header); every size
 * is overflow-checked; each tensor's range matches dtype x shape exactly, lies inside the data,
 * and no two non-empty ranges overlap.
 */
#include "model/model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_HEADER ((uint64_t)100 << 20) /* the format's own limit is 100 MB */
#define MAX_ST_TENSORS (1 << 16)

static int json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return 0;
    double v = j->valuedouble;
    if (!(v >= 0) || v > 9007199254740992.0 || floor(v) != v) /* 2^53: exact in a double */
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static int parse_dtype(const char *s, enum auris__st_dtype *dt, size_t *es)
{
    if (!strcmp(s, "F32"))
        *dt = AURIS__ST_F32, *es = 4;
    else if (!strcmp(s, "F16"))
        *dt = AURIS__ST_F16, *es = 2;
    else if (!strcmp(s, "BF16"))
        *dt = AURIS__ST_BF16, *es = 2;
    else
        return 0;
    return 1;
}

/* Fills t from one header entry and checks its range against data_size. */
static enum auris_err parse_entry(const cJSON *e, const uint8_t *base, uint64_t data_size,
                                  struct auris__st_tensor *t, uint64_t range[2],
                                  struct auris_error *err)
{
    const char *name = e->string;
    if (strlen(name) >= sizeof t->name)
        return auris__fail(err, AURIS_ERR_FORMAT, "safetensors: tensor name of %zu bytes is too long",
                           strlen(name));
    snprintf(t->name, sizeof t->name, "%s", name);
    if (!cJSON_IsObject(e))
        return auris__fail(err, AURIS_ERR_FORMAT, "safetensors: entry '%s' is not an object", name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off))
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "safetensors: tensor '%s' lacks dtype, shape or data_offsets", name);
    size_t es;
    if (!parse_dtype(dt->valuestring, &t->dtype, &es)) {
        static const char *const known[] = {"F64", "I64", "I32", "I16", "I8", "U8", "BOOL",
                                            "U16", "U32", "U64", "F8_E4M3", "F8_E5M2"};
        for (size_t i = 0; i < AURIS_ARRAY_LEN(known); i++)
            if (!strcmp(dt->valuestring, known[i]))
                return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                                   "tensor '%s' has dtype %s (only F32, F16 and BF16 are supported)",
                                   name, known[i]);
        return auris__fail(err, AURIS_ERR_FORMAT, "safetensors: tensor '%s' has unknown dtype '%.32s'",
                           name, dt->valuestring);
    }
    int nd = cJSON_GetArraySize(sh);
    if (nd < 0 || nd > 4)
        return auris__fail(err, AURIS_ERR_FORMAT, "safetensors: tensor '%s' has %d dimensions",
                           name, nd);
    t->n_dims = nd;
    size_t numel = 1;
    for (int i = 0; i < 4; i++)
        t->ne[i] = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t v;
        if (!json_uint(cJSON_GetArrayItem(sh, i), &v) || v > ((uint64_t)1 << 40) ||
            !auris__mul_ok(numel, (size_t)v, &numel) || numel > ((size_t)1 << 40))
            return auris__fail(err, AURIS_ERR_FORMAT, "safetensors: tensor '%s' has a bad shape",
                               name);
        t->ne[i] = (int64_t)v;
    }
    uint64_t b, en;
    if (cJSON_GetArraySize(off) != 2 || !json_uint(cJSON_GetArrayItem(off, 0), &b) ||
        !json_uint(cJSON_GetArrayItem(off, 1), &en) || b > en)
        return auris__fail(err, AURIS_ERR_FORMAT, "safetensors: tensor '%s' has bad data_offsets",
                           name);
    if (en > data_size)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "safetensors: tensor '%s' ends at byte %llu, past the %llu bytes of data",
                           name, (unsigned long long)en, (unsigned long long)data_size);
    if (en - b != (uint64_t)numel * es)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "safetensors: tensor '%s' has %llu bytes, but its shape and dtype need %llu",
                           name, (unsigned long long)(en - b), (unsigned long long)numel * es);
    t->data = base + b;
    t->nbytes = (size_t)(en - b);
    range[0] = b;
    range[1] = en;
    return AURIS_OK;
}

struct span {
    uint64_t b, e;
    int index;
    const char *name;
};

static int cmp_name(const void *x, const void *y)
{
    return strcmp(((const struct span *)x)->name, ((const struct span *)y)->name);
}

static int cmp_span(const void *x, const void *y)
{
    const struct span *a = x, *c = y;
    return a->b < c->b ? -1 : a->b > c->b ? 1 : (a->e > c->e) - (a->e < c->e);
}

enum auris_err auris__safetensors_parse(const uint8_t *data, size_t size,
                                        struct auris__st_tensor **out, int *n_out,
                                        struct auris_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (size < 8)
        return auris__fail(err, AURIS_ERR_FORMAT, "safetensors: file of %zu bytes is truncated", size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | data[i];
    if (hlen < 2 || hlen > MAX_HEADER || hlen > size - 8)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "safetensors: header length %llu does not fit the file of %zu bytes",
                           (unsigned long long)hlen, size);
    const uint8_t *base = data + 8 + hlen;
    const uint64_t data_size = size - 8 - hlen;
    cJSON *root = cJSON_ParseWithLength((const char *)data + 8, (size_t)hlen);
    struct auris__st_tensor *ts = NULL;
    struct span *spans = NULL;
    enum auris_err rc = AURIS_OK;
    if (!root || !cJSON_IsObject(root)) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "safetensors: the header is not a JSON object");
        goto done;
    }
    int n = cJSON_GetArraySize(root);
    if (n > MAX_ST_TENSORS) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "safetensors: more than %d tensors", MAX_ST_TENSORS);
        goto done;
    }
    ts = calloc((size_t)AURIS_MAX(n, 1), sizeof *ts);
    spans = calloc((size_t)AURIS_MAX(n, 1), sizeof *spans);
    if (!ts || !spans) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "safetensors: out of memory");
        goto done;
    }
    int k = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!e->string) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "safetensors: header entry without a name");
            goto done;
        }
        if (!strcmp(e->string, "__metadata__")) {
            if (!cJSON_IsObject(e)) {
                rc = auris__fail(err, AURIS_ERR_FORMAT, "safetensors: __metadata__ is not an object");
                goto done;
            }
            continue;
        }
        uint64_t r[2] = {0, 0};
        if ((rc = parse_entry(e, base, data_size, &ts[k], r, err)))
            goto done;
        spans[k] = (struct span){r[0], r[1], k, NULL};
        k++;
    }
    qsort(spans, (size_t)k, sizeof *spans, cmp_span);
    uint64_t end = 0;
    for (int i = 0; i < k; i++) {
        if (spans[i].b == spans[i].e)
            continue;
        if (spans[i].b < end) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "safetensors: tensor '%s' overlaps another tensor",
                             ts[spans[i].index].name);
            goto done;
        }
        end = spans[i].e;
    }
    /* duplicate names: cJSON keeps both entries of an object with a repeated key */
    for (int i = 0; i < k; i++)
        spans[i].name = ts[spans[i].index].name;
    qsort(spans, (size_t)k, sizeof *spans, cmp_name);
    for (int i = 1; i < k; i++) {
        if (!strcmp(spans[i - 1].name, spans[i].name)) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "safetensors: tensor '%s' is listed twice",
                             spans[i].name);
            goto done;
        }
    }
    *out = ts;
    *n_out = k;
    ts = NULL;
done:
    free(ts);
    free(spans);
    cJSON_Delete(root);
    return rc;
}
