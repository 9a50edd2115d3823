/*
 * greedy.c — decoding helpers: the suppress list, the start sequence, text statistics and the
 * greedy entry point (language detection is language.c, the vocabulary math logits.c).
 *
 * Reference: openai/whisper decoding.py — DecodingTask._get_suppress_tokens, detect_language; and
 * utils.py compression_ratio. The decoding loop itself is in task.c (state machine) and
 * window.c (the network as its logits source); auris__decode_greedy is kept as a wrapper.
 */
#include "decode/decode.h"

#include <math.h>
#include <stdlib.h>
#include <zlib.h>

void auris__decode_result_clear(struct auris__decode_result *r)
{
    if (!r)
        return;
    free(r->tokens);
    free(r->text);
    memset(r, 0, sizeof *r);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Parses "1,2,-1" into ids; -1 stands for the non-speech set. Writes n_ids. */
static enum auris_err parse_suppress_spec(const char *spec, int n_vocab, int *ids, size_t cap,
                                          size_t *n_ids, bool *want_default,
                                          struct auris_error *err)
{
    *n_ids = 0;
    *want_default = false;
    const char *p = spec;
    while (*p) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0'))
            return auris__fail(err, AURIS_ERR_INVALID_ARG,
                               "suppress_tokens: '%s' is not a comma-separated list of token ids",
                               spec);
        if (v == -1) {
            *want_default = true;
        } else if (v < 0 || v >= n_vocab) {
            return auris__fail(err, AURIS_ERR_INVALID_ARG,
                               "suppress_tokens: token id %ld is outside the vocabulary [0, %d)",
                               v, n_vocab);
        } else {
            if (*n_ids >= cap)
                return auris__fail(err, AURIS_ERR_INVALID_ARG, "suppress_tokens: too many ids");
            ids[(*n_ids)++] = (int)v;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return AURIS_OK;
}

enum auris_err auris__suppress_tokens(const struct auris__tokenizer *tok, const char *spec,
                                      int **ids_out, size_t *n_out, struct auris_error *err)
{
    const struct auris__specials *sp = auris__tokenizer_specials(tok);
    int n_vocab = auris__tokenizer_n_vocab(tok);
    int *non_speech = NULL;
    size_t n_non_speech = 0;
    int *ids = NULL;
    enum auris_err rc;
    *ids_out = NULL;
    *n_out = 0;
    if (!spec || !*spec) /* the reference's `if options.suppress_tokens:`: no filter at all */
        return AURIS_OK;
    size_t cap = strlen(spec) / 2 + 8;
    bool want_default = false;
    size_t n = 0;

    rc = auris__tokenizer_non_speech(tok, &non_speech, &n_non_speech, err);
    if (rc != AURIS_OK)
        goto done;
    ids = malloc((cap + n_non_speech + 8) * sizeof *ids);
    if (!ids) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory building the suppress list");
        goto done;
    }
    rc = parse_suppress_spec(spec, n_vocab, ids, cap, &n, &want_default, err);
    if (rc != AURIS_OK)
        goto done;
    if (want_default) {
        memcpy(ids + n, non_speech, n_non_speech * sizeof *ids);
        n += n_non_speech;
    }
    ids[n++] = sp->transcribe;
    ids[n++] = sp->translate;
    ids[n++] = sp->sot;
    ids[n++] = sp->sot_prev;
    ids[n++] = sp->sot_lm;
    ids[n++] = sp->no_speech;
    qsort(ids, n, sizeof *ids, cmp_int);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    *ids_out = ids;
    *n_out = u;
    ids = NULL;
done:
    free(ids);
    free(non_speech);
    return rc;
}

int auris__sot_sequence(const struct auris__tokenizer *tok, const struct auris__decode_options *o,
                        int *out)
{
    const struct auris__specials *sp = auris__tokenizer_specials(tok);
    int n = 0;
    out[n++] = sp->sot;
    if (sp->n_langs > 0) { /* multilingual: language and task follow */
        if (o->language_token >= 0)
            out[n++] = o->language_token;
        out[n++] = o->task == AURIS_TASK_TRANSLATE ? sp->translate : sp->transcribe;
    }
    if (o->without_timestamps)
        out[n++] = sp->no_timestamps;
    return n;
}

double auris__compression_ratio(const char *text, size_t len)
{
    if (len == 0)
        return 0.0; /* the reference: 0 bytes / len(zlib.compress(b"")) */
    uLongf cap = compressBound((uLong)len);
    Bytef *buf = malloc(cap);
    if (!buf)
        return 0.0;
    double ratio = 0.0;
    /* Python's zlib.compress(data) is deflate level 6 (Z_DEFAULT_COMPRESSION), 15-bit window,
     * memLevel 8, default strategy: exactly compress2's defaults. */
    if (compress2(buf, &cap, (const Bytef *)text, (uLong)len, Z_DEFAULT_COMPRESSION) == Z_OK &&
        cap > 0)
        ratio = (double)len / (double)cap;
    free(buf);
    return ratio;
}

/* Python's str.isspace for the code points that can appear in decoded text. */
static size_t utf8_space_len(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f))
        return 1;
    if (n >= 2 && c == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (n >= 3 && c == 0xe1 && s[1] == 0x9a && s[2] == 0x80) /* U+1680 */
        return 3;
    if (n >= 3 && c == 0xe2 && s[1] == 0x80 &&
        ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
        return 3; /* U+2000..200A, U+2028, U+2029, U+202F */
    if (n >= 3 && c == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) /* U+205F */
        return 3;
    if (n >= 3 && c == 0xe3 && s[1] == 0x80 && s[2] == 0x80) /* U+3000 */
        return 3;
    return 0;
}

/* Strips leading and trailing whitespace in place, as Python's str.strip(). */
void auris__strip_inplace(char *text)
{
    size_t n = strlen(text);
    size_t b = 0, l;
    while ((l = utf8_space_len((const unsigned char *)text + b, n - b)) > 0)
        b += l;
    size_t e = n;
    while (e > b) {
        /* step back to the start of the last code point */
        size_t cp = e - 1;
        while (cp > b && (((unsigned char)text[cp]) & 0xc0) == 0x80)
            cp--;
        if (utf8_space_len((const unsigned char *)text + cp, e - cp) == e - cp)
            e = cp;
        else
            break;
    }
    memmove(text, text + b, e - b);
    text[e - b] = '\0';
}

enum auris_err auris__decode_greedy(struct auris_session *s, const struct auris__decode_options *o,
                                    struct auris__decode_result *res, struct auris_error *err)
{
    if (!o)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris__decode_greedy: NULL options");
    /* only the fields of the original contract are read; the rest take greedy defaults */
    struct auris__decode_options g = {0};
    g.task = o->task;
    g.language_token = o->language_token;
    g.without_timestamps = o->without_timestamps;
    g.suppress_blank = o->suppress_blank;
    g.suppress = o->suppress;
    g.n_suppress = o->n_suppress;
    g.sample_len = o->sample_len;
    g.prompt = o->prompt;
    g.n_prompt = o->n_prompt;
    g.beam_size = 1;
    g.best_of = 1;
    g.patience = NAN;
    g.length_penalty = NAN;
    g.max_initial_timestamp = 1.0f;
    return auris__decode_window(s, &g, res, err);
}
