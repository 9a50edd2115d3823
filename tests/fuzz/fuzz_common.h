/*
 * fuzz_common.h — shared by the loader fuzz targets: copy the input into an exactly-sized heap
 * buffer (so AddressSanitizer sees any read past the end), and bind whatever parsed.
 *
 * Reference: libFuzzer's LLVMFuzzerTestOneInput contract (never keep state between inputs,
 * never abort on bad input); src/model/model.c (the order auris_model_load uses: parse, bind,
 * then the tokenizer from embedded tokens).
 * Invariants: every input is freed before returning; a loader error must come back as a
 * non-OK code with a message, never as a crash; an OK load must leave a checkpoint that bind
 * either accepts or rejects cleanly.
 */
#ifndef AURIS_FUZZ_COMMON_H
#define AURIS_FUZZ_COMMON_H

#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* With AURIS_FUZZ_VERBOSE set, each stage's outcome is printed (to check what a seed reaches). */
static inline void fuzz_note(const char *stage, enum auris_err rc, const struct auris_error *err)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("AURIS_FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "  %s: %s\n", stage, rc == AURIS_OK ? "ok" : err->message);
}

/* A heap copy of exactly `size` bytes (at least 1 byte allocated so malloc(0) is not NULL). */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (p && size)
        memcpy(p, data, size);
    return p;
}

/* Binds a parsed checkpoint into a throwaway model, then builds the tokenizer from any
 * embedded vocabulary as auris_model_load would; frees everything. */
static inline void fuzz_bind(const struct auris__checkpoint *ck)
{
    auris_model *m = calloc(1, sizeof *m);
    struct auris_error err = {0};
    if (!m)
        return;
    enum auris_err rc = auris__model_bind(m, ck, &err);
    fuzz_note("bind", rc, &err);
    if (rc == AURIS_OK && ck->n_vocab_tokens > 0) {
        struct auris__tokenizer *tok = NULL;
        rc = auris__tokenizer_from_tokens(ck->vocab, ck->vocab_len, ck->n_vocab_tokens,
                                          m->dims.n_vocab, &tok, &err);
        fuzz_note("tokenizer", rc, &err);
        auris__tokenizer_free(tok);
    }
    auris_model_free(m);
}

/* A loader that failed must say so with a non-OK code and a message; anything else is a bug
 * worth a crash report. */
static inline void fuzz_check_error(enum auris_err rc, const struct auris_error *err)
{
    fuzz_note("load", rc, err);
    if (rc != AURIS_OK && err->message[0] == '\0')
        __builtin_trap();
}

/* The whole run of a format loader with the (data, size, checkpoint, err) signature: parse an
 * exactly-sized copy, check the error contract, bind what parsed, free everything. */
typedef enum auris_err (*fuzz_loader_fn)(const uint8_t *, size_t, struct auris__checkpoint *,
                                         struct auris_error *);

static inline int fuzz_run_loader(fuzz_loader_fn load, const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_copy(data, size);
    if (!buf)
        return 0;
    struct auris__checkpoint ck;
    struct auris_error err = {0};
    memset(&ck, 0, sizeof ck);
    enum auris_err rc = load(buf, size, &ck, &err);
    fuzz_check_error(rc, &err);
    if (rc == AURIS_OK)
        fuzz_bind(&ck);
    auris__checkpoint_clear(&ck);
    free(buf);
    return 0;
}

#endif /* AURIS_FUZZ_COMMON_H */
