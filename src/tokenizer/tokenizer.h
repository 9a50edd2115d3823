/*
 * tokenizer.h — Whisper's byte-level BPE (tiktoken-compatible) and its special tokens.
 *
 * Reference: openai/whisper tokenizer.py (get_encoding, Tokenizer, LANGUAGES, non_speech_tokens)
 * and tiktoken's byte-pair merge. Invariants: base token ids equal their tiktoken rank; special
 * tokens follow at n_base, n_base+1, ... in the reference's order; decode() never fails on any
 * id sequence (invalid UTF-8 is replaced with U+FFFD exactly as Python's errors="replace").
 */
#ifndef AURIS_TOKENIZER_H
#define AURIS_TOKENIZER_H

#include "common.h"

struct auris__tokenizer;

struct auris__specials {
    int eot;             /* <|endoftext|> */
    int sot;             /* <|startoftranscript|> */
    int lang_begin;      /* first language token (<|en|>) */
    int n_langs;         /* usable languages: 99, 100, or 0 for English-only */
    int n_lang_tokens;   /* language tokens in the vocabulary: 99 or 100 (English-only
                          * vocabularies hold 99 unused ones, which shift the ids after them) */
    int multilingual;    /* n_vocab >= 51865 */
    int translate;
    int transcribe;
    int sot_lm;          /* <|startoflm|> */
    int sot_prev;        /* <|startofprev|> */
    int no_speech;       /* <|nospeech|> */
    int no_timestamps;   /* <|notimestamps|> */
    int timestamp_begin; /* <|0.00|>; 1501 timestamp tokens follow */
};

/* Builds a tokenizer from a .tiktoken file ("base64 rank" per line). `n_vocab` is the model's
 * vocabulary size (51864 English-only, 51865 multilingual, 51866 large-v3): it decides the
 * number of languages and must equal n_base + number of specials. */
enum auris_err auris__tokenizer_load_tiktoken(const char *path, int n_vocab,
                                              struct auris__tokenizer **out,
                                              struct auris_error *err);

/* Same from in-memory token byte strings ordered by rank (ggml files embed these). */
enum auris_err auris__tokenizer_from_tokens(const unsigned char *const *tokens,
                                            const uint32_t *lens, int n_tokens, int n_vocab,
                                            struct auris__tokenizer **out,
                                            struct auris_error *err);

void auris__tokenizer_free(struct auris__tokenizer *t); /* NULL-safe */

const struct auris__specials *auris__tokenizer_specials(const struct auris__tokenizer *t);
int auris__tokenizer_n_vocab(const struct auris__tokenizer *t);

/* Token id of language code ("en"; names and the reference's aliases work too), or -1 when the
 * model does not have that language (always -1 for English-only models). */
int auris__tokenizer_language_token(const struct auris__tokenizer *t, const char *code);

/* Encodes text as the reference's Tokenizer.encode (no special tokens are recognised: text that
 * spells one is AURIS_ERR_TOKENIZER, as tiktoken's disallowed_special="all" refuses it).
 * *ids is malloc'd. */
enum auris_err auris__tokenizer_encode(const struct auris__tokenizer *t, const char *text,
                                       size_t len, int **ids, size_t *n_ids,
                                       struct auris_error *err);

/* Decodes as the reference's Tokenizer.decode: ids >= timestamp_begin are dropped, other special
 * tokens render as their text (e.g. "<|en|>"), the bytes are decoded as UTF-8 with replacement.
 * *text is malloc'd and NUL-terminated. Ids outside [0, n_vocab) are AURIS_ERR_INVALID_ARG. */
enum auris_err auris__tokenizer_decode(const struct auris__tokenizer *t, const int *ids,
                                       size_t n_ids, char **text, struct auris_error *err);
/* Same, also giving the byte length (the text may hold U+0000, which ends a C string early);
 * `len` may be NULL. */
enum auris_err auris__tokenizer_decode_len(const struct auris__tokenizer *t, const int *ids,
                                           size_t n_ids, char **text, size_t *len,
                                           struct auris_error *err);

/* The reference's Tokenizer.non_speech_tokens (sorted ascending). *ids is malloc'd. */
enum auris_err auris__tokenizer_non_speech(const struct auris__tokenizer *t, int **ids,
                                           size_t *n_ids, struct auris_error *err);

/* Raw bytes of a base token (id < n_base); returns its length, 0 for specials/out of range. */
size_t auris__tokenizer_token_bytes(const struct auris__tokenizer *t, int id,
                                    const unsigned char **bytes);

/* Text of a special token ("<|en|>", "<|1.00|>"), NULL for base ids and out of range. */
const char *auris__tokenizer_special_text(const struct auris__tokenizer *t, int id);

/* The reference's language table (tokenizer.py LANGUAGES order, 100 entries). */
extern const char *const auris__lang_codes[100];
extern const char *const auris__lang_names[100];

#endif /* AURIS_TOKENIZER_H */
