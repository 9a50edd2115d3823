/*
 * json.c — the result as the reference's WriteJSON writes it: json.dump(result, file).
 *
 * Reference: openai/whisper utils.py WriteJSON and transcribe()'s result dict; Python's json
 * module defaults (separators ", " and ": ", ensure_ascii: every character outside ' '..'~'
 * escaped, lowercase \uXXXX, surrogate pairs above U+FFFF; floats as repr(): the shortest
 * round-tripping digits, exponent form below 1e-4 and from 1e16, NaN/Infinity spelled as
 * Python does). Key order: text, segments (id, seek, start, end, text, tokens, temperature,
 * avg_logprob, compression_ratio, no_speech_prob[, words: word, start, end, probability]),
 * language. No trailing newline.
 * Invariants: output is pure ASCII; malformed UTF-8 bytes are written as U+FFFD.
 */
#include "output/output.h"

#include <math.h>
#include <stdlib.h>

/* Decodes one UTF-8 code point; returns its length (>= 1), *cp = 0xFFFD when malformed. */
static int utf8_next(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    int n;
    unsigned v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return i;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        v = 0xfffd;
    *cp = v;
    return n;
}

static void put_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    fputc('"', f);
    while (*s) {
        unsigned cp;
        s += utf8_next(s, &cp);
        switch (cp) {
        case '"': fputs("\\\"", f); continue;
        case '\\': fputs("\\\\", f); continue;
        case '\n': fputs("\\n", f); continue;
        case '\r': fputs("\\r", f); continue;
        case '\t': fputs("\\t", f); continue;
        case '\b': fputs("\\b", f); continue;
        case '\f': fputs("\\f", f); continue;
        default: break;
        }
        if (cp >= 0x20 && cp <= 0x7e) {
            fputc((int)cp, f);
        } else if (cp < 0x10000) {
            fprintf(f, "\\u%04x", cp);
        } else {
            unsigned v = cp - 0x10000;
            fprintf(f, "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
        }
    }
    fputc('"', f);
}

/* Python's repr(float). */
static void put_float(FILE *f, double x)
{
    if (isnan(x)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(x)) {
        fputs(x > 0 ? "Infinity" : "-Infinity", f);
        return;
    }
    if (x == 0) {
        fputs(signbit(x) ? "-0.0" : "0.0", f);
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    /* buf: [-]d[.ddd]e[+-]XX -> sign, digits, decimal exponent */
    const char *p = buf;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < 20)
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    if (neg)
        fputc('-', f);
    if (exp10 < -4 || exp10 >= 16) {
        fputc(digits[0], f);
        if (nd > 1)
            fprintf(f, ".%s", digits + 1);
        fprintf(f, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        fputs("0.", f);
        for (int i = 0; i < -exp10 - 1; i++)
            fputc('0', f);
        fputs(digits, f);
    } else {
        for (int i = 0; i <= exp10; i++)
            fputc(i < nd ? digits[i] : '0', f);
        fputc('.', f);
        if (nd > exp10 + 1)
            fputs(digits + exp10 + 1, f);
        else
            fputc('0', f);
    }
}

static void put_key(FILE *f, const char *key, bool first)
{
    if (!first)
        fputs(", ", f);
    put_string(f, key);
    fputs(": ", f);
}

static void put_words(FILE *f, const struct auris_segment *s)
{
    fputc('[', f);
    for (int i = 0; i < s->n_words; i++) {
        const struct auris_word *w = &s->words[i];
        if (i)
            fputs(", ", f);
        fputc('{', f);
        put_key(f, "word", true);
        put_string(f, w->word);
        put_key(f, "start", false);
        put_float(f, w->start);
        put_key(f, "end", false);
        put_float(f, w->end);
        put_key(f, "probability", false);
        put_float(f, w->probability);
        fputc('}', f);
    }
    fputc(']', f);
}

static void put_segment(FILE *f, const struct auris_segment *s)
{
    fputc('{', f);
    put_key(f, "id", true);
    fprintf(f, "%d", s->id);
    put_key(f, "seek", false);
    fprintf(f, "%d", s->seek);
    put_key(f, "start", false);
    put_float(f, s->start);
    put_key(f, "end", false);
    put_float(f, s->end);
    put_key(f, "text", false);
    put_string(f, s->text);
    put_key(f, "tokens", false);
    fputc('[', f);
    for (int i = 0; i < s->n_tokens; i++)
        fprintf(f, i ? ", %d" : "%d", s->tokens[i]);
    fputc(']', f);
    put_key(f, "temperature", false);
    put_float(f, s->temperature);
    put_key(f, "avg_logprob", false);
    put_float(f, s->avg_logprob);
    put_key(f, "compression_ratio", false);
    put_float(f, s->compression_ratio);
    put_key(f, "no_speech_prob", false);
    put_float(f, s->no_speech_prob);
    if (s->has_words) {
        put_key(f, "words", false);
        put_words(f, s);
    }
    fputc('}', f);
}

int auris__write_json(FILE *f, const struct auris_result *r)
{
    fputc('{', f);
    put_key(f, "text", true);
    put_string(f, r->text);
    put_key(f, "segments", false);
    fputc('[', f);
    for (int i = 0; i < r->n_segments; i++) {
        if (i)
            fputs(", ", f);
        put_segment(f, &r->segments[i]);
    }
    fputc(']', f);
    put_key(f, "language", false);
    put_string(f, r->language);
    fputc('}', f);
    return ferror(f) ? -1 : 0;
}
