/*
 * encode.c — text to token ids: the pre-tokenizer regex, then byte-level BPE per piece.
 *
 * Reference: openai/whisper tokenizer.py (get_encoding's pat_str) and tiktoken's encode with
 * disallowed_special="all": pieces are the pattern's successive matches; a piece that is itself
 * a token maps directly, otherwise the adjacent pair whose concatenation has the lowest rank is
 * merged (leftmost first on ties) until no pair is a token. Invariants: input is strict UTF-8
 * (no surrogates, overlongs or code points past U+10FFFF); \s means Unicode White_Space, as in
 * tiktoken's Rust regex (PCRE2's own \s also takes U+180E, so the class is spelled out).
 */
#include "tokenizer/tok_internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>

#define WS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}" \
           "\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

static const char pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS
                              "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";

enum auris_err auris__tok_compile_pattern(struct auris__tokenizer *t, struct auris_error *err)
{
    int code = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return auris__fail(err, AURIS_ERR_INTERNAL, "tokenizer pattern at %zu: %s", (size_t)off,
                           (const char *)msg);
    }
    /* JIT is only a speed-up; the interpreter gives the same matches when it is unavailable. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    t->re = re;
    return AURIS_OK;
}

void auris__tok_free_pattern(void *re)
{
    pcre2_code_free((pcre2_code *)re);
}

size_t auris__utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned c = s[0];
    *bad = 1;
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0; /* continuation byte, C0, C1, F5..FF */
    }
    for (size_t i = 1; i < need; i++) {
        unsigned b = i < n ? s[i] : 0;
        unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (i >= n || b < l || b > h) {
            *bad = i; /* the valid prefix is one maximal subpart */
            return 0;
        }
    }
    return need;
}

/* ---- byte-pair merge ------------------------------------------------------------------- */

struct heap_item {
    uint32_t rank, part, ver;
};

struct work {
    size_t cap;           /* parts allocated */
    uint32_t *next, *ver; /* [cap] linked list of parts, indexed by their first byte */
    int32_t *prev;        /* [cap] */
    struct heap_item *heap; /* [3 * cap] */
    size_t n_heap;
};

static int item_less(const struct heap_item *a, const struct heap_item *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->part < b->part);
}

static void heap_push(struct work *w, struct heap_item it)
{
    size_t i = w->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!item_less(&it, &w->heap[p]))
            break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = it;
}

static struct heap_item heap_pop(struct work *w)
{
    struct heap_item top = w->heap[0], last = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && item_less(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!item_less(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n > 0)
        w->heap[i] = last;
    return top;
}

static int work_reserve(struct work *w, size_t n)
{
    if (n <= w->cap)
        return 1;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < n)
        cap *= 2;
    uint32_t *nx = realloc(w->next, cap * sizeof(uint32_t));
    if (nx)
        w->next = nx;
    uint32_t *vr = realloc(w->ver, cap * sizeof(uint32_t));
    if (vr)
        w->ver = vr;
    int32_t *pv = realloc(w->prev, cap * sizeof(int32_t));
    if (pv)
        w->prev = pv;
    struct heap_item *hp = realloc(w->heap, 3 * cap * sizeof(struct heap_item));
    if (hp)
        w->heap = hp;
    if (!nx || !vr || !pv || !hp)
        return 0;
    w->cap = cap;
    return 1;
}

/* Queues the pair (i, next[i]) when its concatenation is a token. */
static void push_pair(const struct auris__tokenizer *t, struct work *w, const unsigned char *s,
                      size_t n, uint32_t i)
{
    uint32_t j = w->next[i];
    if (j >= n)
        return;
    uint32_t end = w->next[j];
    int r = auris__tok_rank(t, s + i, end - i);
    if (r >= 0)
        heap_push(w, (struct heap_item){(uint32_t)r, i, w->ver[i]});
}

/* Appends the ranks of piece s[0..n) (n >= 2, not a token itself) to out. A heap keyed by
 * (rank, position) replaces tiktoken's linear scan for the minimum: same merges, no quadratic
 * time on long pieces. */
static int merge_piece(const struct auris__tokenizer *t, struct work *w, const unsigned char *s,
                       size_t n, int *out, size_t *n_out)
{
    if (!work_reserve(w, n))
        return -1;
    for (size_t i = 0; i < n; i++) {
        w->next[i] = (uint32_t)i + 1;
        w->prev[i] = (int32_t)i - 1;
        w->ver[i] = 0;
    }
    w->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++)
        push_pair(t, w, s, n, (uint32_t)i);
    while (w->n_heap > 0) {
        struct heap_item it = heap_pop(w);
        uint32_t i = it.part;
        if (it.ver != w->ver[i])
            continue; /* stale: part i changed or was absorbed since this pair was queued */
        uint32_t j = w->next[i];
        w->next[i] = w->next[j];
        if (w->next[j] < n)
            w->prev[w->next[j]] = (int32_t)i;
        w->ver[j] = UINT32_MAX; /* j is gone: any queued pair of its is stale */
        w->ver[i]++;
        push_pair(t, w, s, n, i);
        if (w->prev[i] >= 0) {
            uint32_t p = (uint32_t)w->prev[i];
            w->ver[p]++;
            push_pair(t, w, s, n, p);
        }
    }
    for (uint32_t i = 0; i < n; i = w->next[i]) {
        int r = auris__tok_rank(t, s + i, w->next[i] - i);
        if (r < 0)
            return -2; /* impossible: every single byte is a token (checked at load) */
        out[(*n_out)++] = r;
    }
    return 0;
}

/* ---- encode ---------------------------------------------------------------------------- */

/* Finds text spelling a special token; returns its offset or -1. Every special is "<|x|>" with
 * no '|' inside x, so the only candidate starting at a "<|" ends at the next '|'. */
static long find_special(const struct auris__tokenizer *t, const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '<' || s[i + 1] != '|')
            continue;
        size_t q = i + 2;
        while (q < n && s[q] != '|')
            q++;
        if (q + 1 >= n || s[q + 1] != '>')
            continue;
        size_t len = q + 2 - i;
        for (int id = t->n_base; id < t->n_vocab; id++) {
            const char *sp = auris__tokenizer_special_text(t, id);
            if (strlen(sp) == len && memcmp(sp, s + i, len) == 0)
                return (long)i;
        }
    }
    return -1;
}

enum auris_err auris__tokenizer_encode(const struct auris__tokenizer *t, const char *text,
                                       size_t len, int **ids, size_t *n_ids,
                                       struct auris_error *err)
{
    if (!t || !ids || !n_ids || (len && !text))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "encode: NULL argument");
    *ids = NULL;
    *n_ids = 0;
    if (len > INT32_MAX) /* parts are indexed with 32-bit integers */
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "encode: text of %zu bytes is too long",
                           len);
    const unsigned char *u = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t bad, k = auris__utf8_seq(u + i, len - i, &bad);
        if (!k)
            return auris__fail(err, AURIS_ERR_TOKENIZER,
                               "encode: invalid UTF-8 at byte %zu of the text", i);
        i += k;
    }
    long sp = find_special(t, text, len);
    if (sp >= 0)
        return auris__fail(err, AURIS_ERR_TOKENIZER,
                           "encode: the text spells a special token at byte %ld", sp);

    enum auris_err rc = AURIS_OK;
    struct work w = {0};
    /* Each byte yields at most one token. */
    int *out = malloc((len ? len : 1) * sizeof(int));
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!out || !md) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "encode: out of memory");
        goto done;
    }
    size_t n_out = 0, pos = 0;
    while (pos < len) {
        int m = pcre2_match((const pcre2_code *)t->re, (PCRE2_SPTR)text, len, pos,
                            PCRE2_NO_UTF_CHECK, md, NULL);
        if (m == PCRE2_ERROR_NOMATCH)
            break;
        if (m < 0) {
            rc = auris__fail(err, AURIS_ERR_TOKENIZER, "encode: pattern match failed (%d)", m);
            goto done;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t a = ov[0], b = ov[1];
        if (b <= a || b > len) { /* the pattern never matches empty; guard the loop anyway */
            rc = auris__fail(err, AURIS_ERR_INTERNAL, "encode: empty pattern match");
            goto done;
        }
        int r = auris__tok_rank(t, u + a, b - a);
        if (r >= 0) {
            out[n_out++] = r;
        } else {
            int mr = merge_piece(t, &w, u + a, b - a, out, &n_out);
            if (mr != 0) {
                rc = mr == -1 ? auris__fail(err, AURIS_ERR_NOMEM, "encode: out of memory")
                              : auris__fail(err, AURIS_ERR_INTERNAL, "encode: unmergeable");
                goto done;
            }
        }
        pos = b;
    }
    *ids = out;
    *n_ids = n_out;
    out = NULL;
done:
    free(out);
    pcre2_match_data_free(md);
    free(w.next);
    free(w.prev);
    free(w.ver);
    free(w.heap);
    return rc;
}
