/*
 * kvcache.c — the decoder's self-attention KV cache: slots, the paged histories that let beams
 * share what they have in common, and the reorder of the reference's rearrange_kv_cache.
 *
 * Reference: openai/whisper decoding.py (PyTorchInference.rearrange_kv_cache: new sequence i
 * continues old sequence source[i]). The reference gathers the whole cache every step; here
 * every live sequence owns one slot (n_slots of them), into which it writes its new positions,
 * and reads its history through a page table: positions [p P, (p+1) P) (P = AURIS__KV_PAGE)
 * at those rows of the slot page_slot[i][p]. A fork (a source taken twice) copies no written
 * page: the second user gets a slot nobody owns, the source's page table, and a copy of the
 * source's partly written page only (fewer than P rows per layer). Beams that share a prefix
 * then read the same rows, which stay in cache between them, and nothing is copied per step.
 * Invariants: rows are indexed by position in every slot, so one slot can hold the full pages
 * of a dead sequence that others still read (all below the page a fork started) while a new
 * owner writes the rows from that page on; a live sequence's partly written page is always in
 * its own slot; nothing here allocates except auris__nn_reserve and auris__kv_init.
 */
#include "nn/nn.h"
#include "nn/ops.h"

#include <stdlib.h>
#include <string.h>

enum auris_err auris__kv_init(struct auris__nn_state *st, int n_text_ctx)
{
    st->n_pages = (n_text_ctx + AURIS__KV_PAGE - 1) / AURIS__KV_PAGE;
    size_t cells = (size_t)AURIS__NN_MAX_SEQ * (size_t)st->n_pages;
    st->page_slot = calloc(cells, 1);
    st->page_tmp = calloc(cells, 1);
    st->runs = calloc(cells, sizeof *st->runs);
    return st->page_slot && st->page_tmp && st->runs ? AURIS_OK : AURIS_ERR_NOMEM;
}

void auris__kv_free(struct auris__nn_state *st)
{
    free(st->page_slot);
    free(st->page_tmp);
    free(st->runs);
    st->page_slot = st->page_tmp = NULL;
    st->runs = NULL;
}

void auris__decoder_reset(struct auris__nn_state *st)
{
    if (!st)
        return;
    st->n_past = 0; /* page entries are written as their positions are */
    st->n_seq = 1;
    for (int i = 0; i < AURIS__NN_MAX_SEQ; i++)
        st->slot[i] = i;
}

enum auris_err auris__nn_reserve(struct auris__nn_state *st, int n_seq, struct auris_error *err)
{
    if (!st || !st->model || n_seq < 1 || n_seq > AURIS__NN_MAX_SEQ)
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "nn: %d sequences requested, the limit is %d", n_seq,
                           AURIS__NN_MAX_SEQ);
    if (n_seq <= st->n_slots)
        return AURIS_OK;
    const struct auris_model_dims *d = &st->model->dims;
    size_t per_slot, count, bytes;
    if (!auris__mul_ok((size_t)d->n_text_layer, (size_t)d->n_text_ctx, &per_slot) ||
        !auris__mul_ok(per_slot, (size_t)d->n_text_state, &per_slot) ||
        !auris__mul_ok(per_slot, (size_t)n_seq, &count) ||
        !auris__mul_ok(count, sizeof(float), &bytes))
        return auris__fail(err, AURIS_ERR_NOMEM, "nn: KV cache size overflows");
    float *k = auris__aligned_alloc(bytes), *v = auris__aligned_alloc(bytes);
    if (!k || !v) {
        auris__aligned_free(k);
        auris__aligned_free(v);
        return auris__fail(err, AURIS_ERR_NOMEM, "nn: out of memory for a %d-sequence KV cache",
                           n_seq);
    }
    /* not cleared: attention reads only rows a step has written, so the rows no sequence
     * reaches (a window rarely decodes past half the context) are never touched and take no
     * memory (large-v3, five beams: 734 MB of f32 cache, about half of it never written) */
    auris__aligned_free(st->self_k);
    auris__aligned_free(st->self_v);
    st->self_k = k;
    st->self_v = v;
    st->n_slots = n_seq;
    auris__decoder_reset(st);
    return AURIS_OK;
}

/* Rows [r0, r1) of every layer's K and V, slot `from` to slot `to`. */
static void copy_rows(struct auris__nn_state *st, int from, int to, int r0, int r1)
{
    const struct auris_model_dims *d = &st->model->dims;
    size_t n = (size_t)d->n_text_state, Ln = (size_t)d->n_text_ctx * n;
    size_t off = (size_t)r0 * n, len = (size_t)(r1 - r0) * n * sizeof(float);
    for (int l = 0; l < d->n_text_layer; l++) {
        size_t base = (size_t)l * st->n_slots * Ln;
        memcpy(st->self_k + base + (size_t)to * Ln + off,
               st->self_k + base + (size_t)from * Ln + off, len);
        memcpy(st->self_v + base + (size_t)to * Ln + off,
               st->self_v + base + (size_t)from * Ln + off, len);
    }
}

enum auris_err auris__kv_reorder(struct auris__nn_state *st, int n_seq, const int *src)
{
    if (!st || !st->model || !src || n_seq < 1 || n_seq > st->n_slots)
        return AURIS_ERR_INVALID_ARG;
    for (int i = 0; i < n_seq; i++)
        if (src[i] < 0 || src[i] >= st->n_seq)
            return AURIS_ERR_INVALID_ARG;
    const int np = st->n_pages, used = (st->n_past + AURIS__KV_PAGE - 1) / AURIS__KV_PAGE;
    const int part = st->n_past % AURIS__KV_PAGE ? st->n_past / AURIS__KV_PAGE : -1;
    int claimed[AURIS__NN_MAX_SEQ] = {0};
    int slot[AURIS__NN_MAX_SEQ];
    /* the first user of a source keeps its slot; the others take slots no new sequence owns */
    for (int i = 0; i < n_seq; i++) {
        int s = st->slot[src[i]];
        slot[i] = claimed[s] ? -1 : s;
        claimed[s] = 1;
        memcpy(st->page_tmp + (size_t)i * np, st->page_slot + (size_t)src[i] * np,
               (size_t)used);
    }
    int next_free = 0;
    for (int i = 0; i < n_seq; i++) {
        if (slot[i] >= 0)
            continue;
        while (claimed[next_free])
            next_free++; /* n_seq <= n_slots guarantees one is left */
        claimed[next_free] = 1;
        slot[i] = next_free;
        if (part >= 0) { /* the partly written page goes on in the new slot */
            copy_rows(st, st->slot[src[i]], next_free, part * AURIS__KV_PAGE, st->n_past);
            st->page_tmp[(size_t)i * np + (size_t)part] = (uint8_t)next_free;
        }
    }
    memcpy(st->page_slot, st->page_tmp, (size_t)n_seq * np);
    memcpy(st->slot, slot, (size_t)n_seq * sizeof *slot);
    st->n_seq = n_seq;
    return AURIS_OK;
}

void auris__kv_append(struct auris__nn_state *st, int n_tokens)
{
    int p0 = st->n_past / AURIS__KV_PAGE, p1 = (st->n_past + n_tokens - 1) / AURIS__KV_PAGE;
    for (int i = 0; i < st->n_seq; i++)
        for (int p = p0; p <= p1; p++)
            st->page_slot[(size_t)i * st->n_pages + (size_t)p] = (uint8_t)st->slot[i];
}

const struct auris__kv_run *auris__kv_runs(struct auris__nn_state *st, int n_kv, int *off)
{
    const int np = st->n_pages, used = (n_kv + AURIS__KV_PAGE - 1) / AURIS__KV_PAGE;
    struct auris__kv_run *runs = st->runs;
    int k = 0, shared = 0;
    for (int i = 0; i < st->n_seq; i++) {
        const uint8_t *pt = st->page_slot + (size_t)i * np;
        off[i] = k;
        for (int p = 0; p < used; p++) {
            int end = AURIS_MIN((p + 1) * AURIS__KV_PAGE, n_kv);
            if (p > 0 && pt[p] == pt[p - 1])
                runs[k - 1].end = end;
            else
                runs[k++] = (struct auris__kv_run){pt[p], p * AURIS__KV_PAGE, end};
        }
        shared |= k - off[i] != 1 || runs[off[i]].slot != st->slot[i];
    }
    off[st->n_seq] = k;
    return shared ? runs : NULL;
}
