/*
 * tokenizer.c — building the vocabulary (.tiktoken files or in-memory token lists), the special
 * tokens, decoding, and the reference's non-speech token set.
 *
 * Reference: openai/whisper tokenizer.py (get_encoding: specials in order <|endoftext|>,
 * <|startoftranscript|>, one per language, <|translate|>, <|transcribe|>, <|startoflm|>,
 * <|startofprev|>, <|nospeech|>, <|notimestamps|>, <|0.00|>..<|30.00|>, numbered after the base
 * ranks; Tokenizer.decode; non_speech_tokens) and the Whisper model's
 * num_languages = n_vocab - 51765 - is_multilingual. Invariants: base ranks are dense and in file
 * order, byte strings are unique, n_vocab equals n_base + specials exactly; decode never fails on
 * in-range ids.
 */
#include "tokenizer/tok_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define N_TIMESTAMPS 1501
/* Specials other than languages and timestamps: eot, sot, translate, transcribe, sot_lm,
 * sot_prev, nospeech, notimestamps. */
#define N_FIXED_SPECIALS 8
/* Largest .tiktoken file read (the real ones are under 1 MiB). */
#define MAX_VOCAB_FILE_BYTES ((size_t)64 << 20)

/* ---- hash table from byte strings to ranks ----------------------------------------------- */

static uint64_t hash_bytes(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

int auris__tok_rank(const struct auris__tokenizer *t, const unsigned char *s, size_t n)
{
    size_t mask = t->n_slots - 1;
    for (size_t i = (size_t)hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        uint32_t v = t->slots[i];
        if (v == 0)
            return -1;
        size_t k = v - 1, a = t->offs[k], len = t->offs[k + 1] - a;
        if (len == n && memcmp(t->blob + a, s, n) == 0)
            return (int)k;
    }
}

/* Inserts rank k; returns 0 when its bytes are already present. */
static int hash_insert(struct auris__tokenizer *t, int k)
{
    const unsigned char *s = t->blob + t->offs[k];
    size_t n = t->offs[k + 1] - t->offs[k], mask = t->n_slots - 1;
    for (size_t i = (size_t)hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        uint32_t v = t->slots[i];
        if (v == 0) {
            t->slots[i] = (uint32_t)k + 1;
            return 1;
        }
        size_t a = t->offs[v - 1], len = t->offs[v] - a;
        if (len == n && memcmp(t->blob + a, s, n) == 0)
            return 0;
    }
}

/* ---- specials -------------------------------------------------------------------------- */

static enum auris_err build_specials(struct auris__tokenizer *t, int multilingual,
                                     int n_lang_tokens, struct auris_error *err)
{
    int n_special = t->n_vocab - t->n_base;
    /* Longest text is "<|startoftranscript|>" (22 bytes + NUL). */
    t->special_blob = malloc((size_t)n_special * 24);
    t->special_offs = malloc((size_t)n_special * sizeof(size_t));
    if (!t->special_blob || !t->special_offs)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for the special tokens");
    static const char *const head[] = {"endoftext", "startoftranscript"};
    static const char *const tail[] = {"translate", "transcribe", "startoflm",
                                       "startofprev", "nospeech", "notimestamps"};
    size_t pos = 0;
    int k = 0;
    for (int i = 0; i < 2; i++, k++) {
        t->special_offs[k] = pos;
        pos += (size_t)sprintf(t->special_blob + pos, "<|%s|>", head[i]) + 1;
    }
    for (int i = 0; i < n_lang_tokens; i++, k++) {
        t->special_offs[k] = pos;
        pos += (size_t)sprintf(t->special_blob + pos, "<|%s|>", auris__lang_codes[i]) + 1;
    }
    for (int i = 0; i < 6; i++, k++) {
        t->special_offs[k] = pos;
        pos += (size_t)sprintf(t->special_blob + pos, "<|%s|>", tail[i]) + 1;
    }
    for (int i = 0; i < N_TIMESTAMPS; i++, k++) {
        t->special_offs[k] = pos;
        /* Same double product and correctly rounded "%.2f" as the reference's f-string. */
        pos += (size_t)sprintf(t->special_blob + pos, "<|%.2f|>", i * 0.02) + 1;
    }
    struct auris__specials *sp = &t->sp;
    int b = t->n_base;
    sp->eot = b;
    sp->sot = b + 1;
    sp->lang_begin = b + 2;
    sp->n_lang_tokens = n_lang_tokens;
    sp->n_langs = multilingual ? n_lang_tokens : 0;
    sp->multilingual = multilingual;
    sp->translate = b + 2 + n_lang_tokens;
    sp->transcribe = sp->translate + 1;
    sp->sot_lm = sp->translate + 2;
    sp->sot_prev = sp->translate + 3;
    sp->no_speech = sp->translate + 4;
    sp->no_timestamps = sp->translate + 5;
    sp->timestamp_begin = sp->translate + 6;
    return AURIS_OK;
}

/* ---- construction ---------------------------------------------------------------------- */

void auris__tokenizer_free(struct auris__tokenizer *t)
{
    if (!t)
        return;
    auris__tok_free_pattern(t->re);
    free(t->blob);
    free(t->offs);
    free(t->slots);
    free(t->special_blob);
    free(t->special_offs);
    free(t);
}

/* Shared tail of both constructors: takes ownership of blob/offs (filled for n_base tokens). */
static enum auris_err finish(unsigned char *blob, size_t *offs, int n_base, int n_vocab,
                             const char *what, struct auris__tokenizer **out,
                             struct auris_error *err)
{
    enum auris_err rc;
    struct auris__tokenizer *t = calloc(1, sizeof(*t));
    if (!t) {
        free(blob);
        free(offs);
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for the tokenizer");
    }
    t->blob = blob;
    t->offs = offs;
    t->n_base = n_base;
    t->n_vocab = n_vocab;

    t->n_slots = 16;
    while (t->n_slots < (size_t)n_base * 2)
        t->n_slots *= 2;
    t->slots = calloc(t->n_slots, sizeof(uint32_t));
    if (!t->slots) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory for the vocabulary table");
        goto fail;
    }
    for (int k = 0; k < n_base; k++) {
        if (!hash_insert(t, k)) {
            rc = auris__fail(err, AURIS_ERR_FORMAT,
                             "%s: token of rank %d repeats an earlier token's bytes", what, k);
            goto fail;
        }
    }
    int multilingual = n_vocab >= 51865;
    long n_langs = (long)n_vocab - 51765 - multilingual;
    long want = (long)n_base + 2 + n_langs + 6 + N_TIMESTAMPS;
    if (n_langs < 0 || n_langs > 100 || want != n_vocab) {
        rc = auris__fail(err, AURIS_ERR_FORMAT,
                         "%s: %d base tokens do not fit a model vocabulary of %d tokens "
                         "(expected 50256 base tokens for 51864, 50257 for 51865 or 51866)",
                         what, n_base, n_vocab);
        goto fail;
    }
    /* Every byte must be a token by itself, so that any text can be encoded. */
    for (int c = 0; c < 256; c++) {
        unsigned char byte = (unsigned char)c;
        if (auris__tok_rank(t, &byte, 1) < 0) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "%s: no token for the single byte 0x%02x",
                             what, c);
            goto fail;
        }
    }
    rc = build_specials(t, multilingual, (int)n_langs, err);
    if (rc != AURIS_OK)
        goto fail;
    rc = auris__tok_compile_pattern(t, err);
    if (rc != AURIS_OK)
        goto fail;
    *out = t;
    return AURIS_OK;
fail:
    auris__tokenizer_free(t);
    return rc;
}

enum auris_err auris__tokenizer_from_tokens(const unsigned char *const *tokens,
                                            const uint32_t *lens, int n_tokens, int n_vocab,
                                            struct auris__tokenizer **out,
                                            struct auris_error *err)
{
    if (!out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "tokenizer: NULL output");
    *out = NULL;
    if (!tokens || !lens || n_tokens <= 0 || n_tokens > (1 << 24))
        return auris__fail(err, AURIS_ERR_FORMAT, "vocabulary: invalid token count %d",
                           n_tokens);
    /* ggml files converted from the old HF vocab.json kept "<|endoftext|>" as a last, extra
     * base token (whisper.cpp PR 725 dropped it); it is a special here, so it is skipped. */
    int multilingual = n_vocab >= 51865;
    long want_base = (long)n_vocab - 2 - 6 - N_TIMESTAMPS - ((long)n_vocab - 51765 - multilingual);
    static const char eot_text[] = "<|endoftext|>";
    if (n_tokens == want_base + 1 && lens[n_tokens - 1] == sizeof(eot_text) - 1 &&
        tokens[n_tokens - 1] &&
        memcmp(tokens[n_tokens - 1], eot_text, sizeof(eot_text) - 1) == 0)
        n_tokens--;
    size_t total = 0;
    for (int k = 0; k < n_tokens; k++) {
        if (lens[k] > AURIS__TOK_MAX_LEN || (lens[k] > 0 && !tokens[k]))
            return auris__fail(err, AURIS_ERR_FORMAT,
                               "vocabulary: token %d has an invalid length %u", k,
                               (unsigned)lens[k]);
        total += lens[k];
    }
    unsigned char *blob = malloc(total ? total : 1);
    size_t *offs = malloc(((size_t)n_tokens + 1) * sizeof(size_t));
    if (!blob || !offs) {
        free(blob);
        free(offs);
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for the vocabulary");
    }
    size_t pos = 0;
    for (int k = 0; k < n_tokens; k++) {
        offs[k] = pos;
        if (lens[k])
            memcpy(blob + pos, tokens[k], lens[k]);
        pos += lens[k];
    }
    offs[n_tokens] = pos;
    return finish(blob, offs, n_tokens, n_vocab, "vocabulary", out, err);
}

/* ---- .tiktoken files ------------------------------------------------------------------- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes s[0..n) into out (room for 3 * n / 4 + 3 bytes); -1 when it is not base64. Padding
 * follows the data; a lone "=" is the empty token (the multilingual vocabulary has one). */
static long b64_decode(const unsigned char *s, size_t n, unsigned char *out)
{
    size_t data = 0, pad = 0;
    while (data < n && b64_value(s[data]) >= 0)
        data++;
    while (data + pad < n && s[data + pad] == '=')
        pad++;
    if (data + pad != n || data % 4 == 1 || (data > 0 && (data + pad) % 4 != 0) || pad > 2 ||
        (data == 0 && pad != 1))
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    long len = 0;
    for (size_t i = 0; i < data; i++) {
        acc = (acc << 6) | (uint32_t)b64_value(s[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return len;
}

static enum auris_err read_file(const char *path, unsigned char **data, size_t *size,
                                struct auris_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return auris__fail(err, errno == ENOENT ? AURIS_ERR_NOT_FOUND : AURIS_ERR_IO,
                           "%s: cannot open: %s", path, strerror(errno));
    enum auris_err rc = AURIS_OK;
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= MAX_VOCAB_FILE_BYTES) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "%s: larger than %zu bytes", path,
                             MAX_VOCAB_FILE_BYTES);
            goto done;
        }
        cap *= 2;
        unsigned char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    if (!buf) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    if (ferror(f)) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s: read error", path);
        goto done;
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return rc;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

enum auris_err auris__tokenizer_load_tiktoken(const char *path, int n_vocab,
                                              struct auris__tokenizer **out,
                                              struct auris_error *err)
{
    if (!path || !out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "tokenizer: NULL path or output");
    *out = NULL;
    unsigned char *text = NULL, *blob = NULL;
    size_t size = 0, *offs = NULL;
    enum auris_err rc = read_file(path, &text, &size, err);
    if (rc != AURIS_OK)
        return rc;
    /* Every line holds at least 4 bytes ("= 0\n" is the shortest), so these bound the output. */
    size_t max_lines = size / 4 + 2;
    blob = malloc(size + 1);
    offs = malloc((max_lines + 1) * sizeof(size_t));
    if (!blob || !offs) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    size_t pos = 0, line = 0, blob_len = 0;
    while (pos < size) {
        size_t end = pos;
        while (end < size && text[end] != '\n')
            end++;
        line++;
        size_t a = pos, b;
        while (a < end && is_blank(text[a]))
            a++;
        for (b = a; b < end && !is_blank(text[b]);)
            b++;
        size_t c = b;
        while (c < end && is_blank(text[c]))
            c++;
        size_t d = c;
        long rank = 0;
        while (d < end && text[d] >= '0' && text[d] <= '9' && d - c < 9)
            rank = rank * 10 + (text[d++] - '0');
        size_t e = d;
        while (e < end && is_blank(text[e]))
            e++;
        if (a == b || c == b || d == c || e != end) {
            rc = auris__fail(err, AURIS_ERR_FORMAT,
                             "%s:%zu: expected \"<base64> <rank>\"", path, line);
            goto fail;
        }
        if (rank != (long)(line - 1)) {
            rc = auris__fail(err, AURIS_ERR_FORMAT,
                             "%s:%zu: rank %ld where %zu was expected (ranks must be dense and "
                             "in order)", path, line, rank, line - 1);
            goto fail;
        }
        if (b - a > (AURIS__TOK_MAX_LEN / 3 + 1) * 4) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "%s:%zu: token longer than %d bytes", path,
                             line, AURIS__TOK_MAX_LEN);
            goto fail;
        }
        long len = b64_decode(text + a, b - a, blob + blob_len);
        if (len < 0) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "%s:%zu: invalid base64 token", path, line);
            goto fail;
        }
        offs[line - 1] = blob_len;
        blob_len += (size_t)len;
        pos = end + 1;
    }
    if (line == 0) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "%s: no tokens", path);
        goto fail;
    }
    offs[line] = blob_len;
    free(text);
    return finish(blob, offs, (int)line, n_vocab, path, out, err);
fail:
    free(text);
    free(blob);
    free(offs);
    return rc;
}

/* ---- queries --------------------------------------------------------------------------- */

const struct auris__specials *auris__tokenizer_specials(const struct auris__tokenizer *t)
{
    return &t->sp;
}

int auris__tokenizer_n_vocab(const struct auris__tokenizer *t)
{
    return t->n_vocab;
}

int auris__tokenizer_language_token(const struct auris__tokenizer *t, const char *code)
{
    int i = auris_language_index(code);
    return i >= 0 && i < t->sp.n_langs ? t->sp.lang_begin + i : -1;
}

size_t auris__tokenizer_token_bytes(const struct auris__tokenizer *t, int id,
                                    const unsigned char **bytes)
{
    if (!t || id < 0 || id >= t->n_base)
        return 0;
    if (bytes)
        *bytes = t->blob + t->offs[id];
    return t->offs[id + 1] - t->offs[id];
}

const char *auris__tokenizer_special_text(const struct auris__tokenizer *t, int id)
{
    if (!t || id < t->n_base || id >= t->n_vocab)
        return NULL;
    return t->special_blob + t->special_offs[id - t->n_base];
}

/* ---- decoding -------------------------------------------------------------------------- */

enum auris_err auris__tokenizer_decode(const struct auris__tokenizer *t, const int *ids,
                                       size_t n_ids, char **text, struct auris_error *err)
{
    return auris__tokenizer_decode_len(t, ids, n_ids, text, NULL, err);
}

enum auris_err auris__tokenizer_decode_len(const struct auris__tokenizer *t, const int *ids,
                                           size_t n_ids, char **text, size_t *len,
                                           struct auris_error *err)
{
    if (!t || !text || (n_ids && !ids))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: NULL argument");
    *text = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n_ids; i++) {
        int id = ids[i];
        if (id < 0 || id >= t->n_vocab)
            return auris__fail(err, AURIS_ERR_INVALID_ARG,
                               "decode: token id %d outside [0, %d)", id, t->n_vocab);
        if (id < t->n_base)
            total += t->offs[id + 1] - t->offs[id];
        else if (id < t->sp.timestamp_begin)
            total += strlen(auris__tokenizer_special_text(t, id));
    }
    unsigned char *raw = malloc(total ? total : 1);
    size_t cap;
    /* Each invalid byte becomes U+FFFD (3 bytes): the output never exceeds 3 * total + 1. */
    char *outp = auris__mul_ok(total, 3, &cap) ? malloc(cap + 1) : NULL;
    if (!raw || !outp) {
        free(raw);
        free(outp);
        return auris__fail(err, AURIS_ERR_NOMEM, "decode: out of memory");
    }
    size_t pos = 0;
    for (size_t i = 0; i < n_ids; i++) {
        int id = ids[i];
        if (id < t->n_base) {
            size_t n = t->offs[id + 1] - t->offs[id];
            memcpy(raw + pos, t->blob + t->offs[id], n);
            pos += n;
        } else if (id < t->sp.timestamp_begin) {
            const char *s = auris__tokenizer_special_text(t, id);
            size_t n = strlen(s);
            memcpy(raw + pos, s, n);
            pos += n;
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < total;) {
        size_t bad = 0, n = auris__utf8_seq(raw + i, total - i, &bad);
        if (n) {
            memcpy(outp + o, raw + i, n);
            o += n;
            i += n;
        } else {
            memcpy(outp + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    outp[o] = 0;
    free(raw);
    *text = outp;
    if (len)
        *len = o;
    return AURIS_OK;
}

/* ---- the reference's non_speech_tokens ------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

enum auris_err auris__tokenizer_non_speech(const struct auris__tokenizer *t, int **ids,
                                           size_t *n_ids, struct auris_error *err)
{
    if (!t || !ids || !n_ids)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "non_speech: NULL argument");
    *ids = NULL;
    *n_ids = 0;
    static const char *const symbols[] = {
        "\"", "#", "(", ")", "*", "+", "/", ":", ";", "<", "=", ">", "@", "[", "\\", "]", "^",
        "_", "`", "{", "|", "}", "~", "\u300c", "\u300d", "\u300e", "\u300f", "<<", ">>", "<<<",
        ">>>", "--", "---", "-(", "-[", "('", "(\"", "((", "))", "(((", ")))", "[[", "]]", "{{",
        "}}", "\u266a\u266a", "\u266a\u266a\u266a",
        /* Miscellaneous symbols U+2640..U+267F: their first token is always suppressed. */
        "\u2669", "\u266a", "\u266b", "\u266c", "\u266d", "\u266e", "\u266f",
    };
    const size_t n_sym = AURIS_ARRAY_LEN(symbols), first_misc = n_sym - 7;
    int *res = malloc((2 * n_sym + 2) * sizeof(int));
    if (!res)
        return auris__fail(err, AURIS_ERR_NOMEM, "non_speech: out of memory");
    size_t n = 0;
    enum auris_err rc = AURIS_OK;
    char buf[32];
    for (size_t s = 0; s < 2 * n_sym + 2 && rc == AURIS_OK; s++) {
        int *tok = NULL;
        size_t nt = 0;
        int always = 1;
        if (s < 2) { /* " -" and " '": hyphens and apostrophes stay allowed inside words */
            rc = auris__tokenizer_encode(t, s == 0 ? " -" : " '", 2, &tok, &nt, err);
        } else {
            size_t k = (s - 2) / 2;
            snprintf(buf, sizeof(buf), "%s%s", (s - 2) % 2 ? " " : "", symbols[k]);
            always = k >= first_misc;
            rc = auris__tokenizer_encode(t, buf, strlen(buf), &tok, &nt, err);
        }
        if (rc == AURIS_OK && nt > 0 && (always || nt == 1))
            res[n++] = tok[0];
        free(tok);
    }
    if (rc != AURIS_OK) {
        free(res);
        return rc;
    }
    qsort(res, n, sizeof(int), cmp_int);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || res[u - 1] != res[i])
            res[u++] = res[i];
    *ids = res;
    *n_ids = u;
    return AURIS_OK;
}
