/*
 * tok_internal.h — the tokenizer's private state and the helpers its files share.
 *
 * Reference: openai/whisper tokenizer.py (get_encoding) and tiktoken. Invariants: base token k's
 * bytes are blob[offs[k] .. offs[k+1]); the hash table maps every base byte string to its rank
 * (no duplicates); special token n_base + k has the text special_text[k]; n_vocab == n_base +
 * number of specials.
 */
#ifndef AURIS_TOK_INTERNAL_H
#define AURIS_TOK_INTERNAL_H

#include "tokenizer/tokenizer.h"

/* Longest base token accepted, in bytes (the real vocabularies stay under 130). */
#define AURIS__TOK_MAX_LEN 1024

struct auris__tokenizer {
    int n_base;  /* base (mergeable) tokens: ids [0, n_base) */
    int n_vocab; /* n_base + specials */
    struct auris__specials sp;
    unsigned char *blob; /* [offs[n_base]] concatenated base token bytes, in rank order */
    size_t *offs;        /* [n_base + 1] */
    uint32_t *slots;     /* [n_slots] open-addressing table: rank + 1, 0 = empty */
    size_t n_slots;      /* power of two, >= 2 * n_base */
    char *special_blob;  /* [..] NUL-separated texts of the specials, in id order */
    size_t *special_offs; /* [n_vocab - n_base] offsets into special_blob */
    void *re;            /* pcre2_code_8 * of the split pattern */
};

/* Rank of a byte string, -1 when it is not a base token. */
int auris__tok_rank(const struct auris__tokenizer *t, const unsigned char *s, size_t n);

/* Compiles the split pattern into t->re. */
enum auris_err auris__tok_compile_pattern(struct auris__tokenizer *t, struct auris_error *err);
void auris__tok_free_pattern(void *re);

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 when s starts an ill-formed one;
 * *bad is then set to the length of its maximal subpart (>= 1), as Python's decoder counts it. */
size_t auris__utf8_seq(const unsigned char *s, size_t n, size_t *bad);

#endif /* AURIS_TOK_INTERNAL_H */
