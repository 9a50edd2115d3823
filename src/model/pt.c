/*
 * pt.c — OpenAI's PyTorch checkpoints (torch.save zip archives) into a struct auris__checkpoint.
 *
 * Reference: torch/serialization.py (_save: "<prefix>/data.pkl" plus one member
 * "<prefix>/data/<key>" per storage, raw little-endian elements) and openai/whisper
 * __init__.py (load_model reads checkpoint["dims"] and checkpoint["model_state_dict"]).
 * Invariants: a tensor is accepted only if it is row-major contiguous and its elements
 * [offset, offset+numel) lie inside a storage member whose byte size matches the storage's
 * declared element count; raw tensor pointers point into the map.
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#define DATA_PKL "data.pkl"

/* Finds the single "<prefix>/data.pkl" member; *prefix_len includes the slash. */
static enum auris_err find_pickle(const struct auris__zip *zip,
                                  const struct auris__zip_entry **pkl, size_t *prefix_len,
                                  struct auris_error *err)
{
    const size_t tail = strlen(DATA_PKL);
    *pkl = NULL;
    for (int i = 0; i < zip->n_entries; i++) {
        const struct auris__zip_entry *e = &zip->entries[i];
        if (e->name_len <= tail + 1 || memcmp(e->name + e->name_len - tail, DATA_PKL, tail) != 0)
            continue;
        size_t pre = e->name_len - tail;
        if (e->name[pre - 1] != '/' || memchr(e->name, '/', pre - 1) != NULL)
            continue;
        if (*pkl)
            return auris__fail(err, AURIS_ERR_FORMAT, "archive holds more than one data.pkl");
        *pkl = e;
        *prefix_len = pre;
    }
    if (!*pkl)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "archive has no <name>/data.pkl (not a torch.save checkpoint)");
    if ((*pkl)->method != 0)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED, "data.pkl is compressed (method %d)",
                           (*pkl)->method);
    return AURIS_OK;
}

static size_t elem_size(enum auris__pt_dtype dt)
{
    return dt == AURIS__PT_F32 ? 4 : 2;
}

/* Checks one tensor against its storage member and fills `raw`. */
static enum auris_err bind_storage(const uint8_t *data, const struct auris__zip *zip,
                                   const char *prefix, size_t prefix_len,
                                   const struct auris__pt_tensor *t, struct auris__raw_tensor *raw,
                                   struct auris_error *err)
{
    const int nl = (int)AURIS_MIN(t->name_len, 120);
    if (t->name_len >= sizeof raw->name)
        return auris__fail(err, AURIS_ERR_FORMAT, "tensor name '%.*s...' is too long", nl, t->name);
    if (memchr(t->name, '\0', t->name_len))
        return auris__fail(err, AURIS_ERR_FORMAT, "tensor name contains a NUL byte");
    memcpy(raw->name, t->name, t->name_len);
    raw->name[t->name_len] = '\0';

    char member[160];
    int m = snprintf(member, sizeof member, "%.*sdata/%.*s", (int)prefix_len, prefix,
                     (int)t->key_len, t->key);
    if (m < 0 || (size_t)m >= sizeof member)
        return auris__fail(err, AURIS_ERR_FORMAT, "tensor '%s': storage key too long", raw->name);
    const struct auris__zip_entry *e = auris__zip_find(zip, member, (size_t)m);
    if (!e)
        return auris__fail(err, AURIS_ERR_FORMAT, "tensor '%s': storage member '%s' is missing",
                           raw->name, member);
    if (e->method != 0)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED, "tensor '%s': storage '%s' is compressed",
                           raw->name, member);
    size_t es = elem_size(t->dtype), storage_bytes, numel = 1;
    if (t->storage_numel < 0 || !auris__mul_ok((size_t)t->storage_numel, es, &storage_bytes) ||
        storage_bytes != e->size)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "tensor '%s': storage '%s' holds %zu bytes, expected %lld elements of %zu bytes",
                           raw->name, member, e->size, (long long)t->storage_numel, es);

    /* row-major contiguity (strides of size-1 dimensions do not matter) */
    int64_t expect = 1;
    for (int d = t->n_dims - 1; d >= 0; d--) {
        if (t->size[d] != 1 && t->stride[d] != expect)
            return auris__fail(err, AURIS_ERR_FORMAT, "tensor '%s' is not contiguous (dim %d has stride %lld, expected %lld)",
                               raw->name, d, (long long)t->stride[d], (long long)expect);
        if (!auris__mul_ok((size_t)expect, (size_t)t->size[d], &numel) || numel > INT64_MAX)
            return auris__fail(err, AURIS_ERR_FORMAT, "tensor '%s' is too large", raw->name);
        expect = (int64_t)numel;
    }
    numel = (size_t)expect;
    if ((uint64_t)t->offset > (uint64_t)t->storage_numel ||
        numel > (size_t)(t->storage_numel - t->offset))
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "tensor '%s' (offset %lld, %zu elements) overruns its storage of %lld elements",
                           raw->name, (long long)t->offset, numel, (long long)t->storage_numel);
    raw->data = data + e->data_off + (size_t)t->offset * es;
    raw->n_dims = t->n_dims;
    for (int d = 0; d < 4; d++)
        raw->ne[d] = d < t->n_dims ? t->size[d] : 1;
    raw->type = t->dtype == AURIS__PT_F32 ? AURIS_DT_F32 : AURIS_DT_F16;
    raw->is_bf16 = t->dtype == AURIS__PT_BF16;
    return AURIS_OK;
}

enum auris_err auris__load_pt(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                              struct auris_error *err)
{
    memset(ck, 0, sizeof *ck);
    struct auris__zip zip;
    struct auris__pt_state st = {0};
    const struct auris__zip_entry *pkl;
    size_t prefix_len = 0;
    enum auris_err rc = auris__zip_open(data, size, &zip, err);
    if (rc)
        return rc;
    if ((rc = find_pickle(&zip, &pkl, &prefix_len, err)))
        goto done;
    /* data.pkl is small and drives every offset: make sure it is intact */
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < pkl->size;) {
        uInt chunk = (uInt)AURIS_MIN(pkl->size - off, (size_t)1 << 30);
        crc = crc32(crc, data + pkl->data_off + off, chunk);
        off += chunk;
    }
    if ((uint32_t)crc != pkl->crc32) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "data.pkl fails its CRC-32 check (corrupt file)");
        goto done;
    }
    if ((rc = auris__pickle_load(data + pkl->data_off, pkl->size, &st, err)))
        goto done;
    ck->dims = st.dims;
    ck->tensors = calloc((size_t)AURIS_MAX(st.n_tensors, 1), sizeof *ck->tensors);
    if (!ck->tensors) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory for %d tensors", st.n_tensors);
        goto done;
    }
    for (int i = 0; i < st.n_tensors; i++) {
        rc = bind_storage(data, &zip, pkl->name, prefix_len, &st.tensors[i], &ck->tensors[i], err);
        if (rc)
            goto done;
        ck->n_tensors = i + 1;
    }
done:
    auris__pt_state_clear(&st);
    auris__zip_close(&zip);
    if (rc)
        auris__checkpoint_clear(ck);
    return rc;
}
