/*
 * tok_tool.c — exposes src/tokenizer to tokenizer_parity.py over stdin/stdout.
 *
 * Usage: tok_tool VOCAB.tiktoken N_VOCAB MODE, MODE one of
 *   encode: each input line is hex-encoded UTF-8 text; prints its ids separated by spaces, or
 *           "ERR <code>" when encoding fails;
 *   decode: each input line is ids separated by spaces; prints the decoded text hex-encoded, or
 *           "ERR <code>";
 *   info:   prints the special ids ("name id" lines), then "non_speech id id ...".
 * Text travels as hex so that newlines, tabs and NUL survive the line protocol. Reference:
 * openai/whisper tokenizer.py via ref_tokenizer.py. Invariant: one output line per input line.
 */
#include "tokenizer/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads one line (without its newline) into a growing buffer; returns its length or -1 at EOF. */
static long read_line(char **buf, size_t *cap)
{
    size_t n = 0;
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
        if (n + 1 >= *cap) {
            size_t nc = *cap ? *cap * 2 : 4096;
            char *nb = realloc(*buf, nc);
            if (!nb)
                return -1;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0)
        return -1;
    if (!*buf) {
        *buf = malloc(1);
        *cap = 1;
        if (!*buf)
            return -1;
    }
    (*buf)[n] = 0;
    return (long)n;
}

static void do_encode(const struct auris__tokenizer *t, char *line, long n)
{
    size_t len = 0;
    for (long i = 0; i + 1 < n; i += 2) {
        int hi = hexval(line[i]), lo = hexval(line[i + 1]);
        line[len++] = (char)(hi * 16 + lo);
    }
    int *ids = NULL;
    size_t n_ids = 0;
    struct auris_error err;
    enum auris_err rc = auris__tokenizer_encode(t, line, len, &ids, &n_ids, &err);
    if (rc != AURIS_OK) {
        printf("ERR %d\n", (int)rc);
        return;
    }
    for (size_t i = 0; i < n_ids; i++)
        printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    free(ids);
}

static void do_decode(const struct auris__tokenizer *t, char *line)
{
    size_t cap = 16, n = 0;
    int *ids = malloc(cap * sizeof(int));
    char *p = line, *end;
    while (ids) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (n == cap) {
            int *ni = realloc(ids, 2 * cap * sizeof(int));
            if (!ni) {
                free(ids);
                ids = NULL;
                break;
            }
            ids = ni;
            cap *= 2;
        }
        ids[n++] = (int)v;
        p = end;
    }
    char *text = NULL;
    size_t len = 0;
    struct auris_error err;
    enum auris_err rc =
        ids ? auris__tokenizer_decode_len(t, ids, n, &text, &len, &err) : AURIS_ERR_NOMEM;
    if (rc != AURIS_OK) {
        printf("ERR %d\n", (int)rc);
    } else {
        for (size_t i = 0; i < len; i++)
            printf("%02x", (unsigned char)text[i]);
        printf("\n");
    }
    free(text);
    free(ids);
}

static int do_info(const struct auris__tokenizer *t)
{
    const struct auris__specials *sp = auris__tokenizer_specials(t);
    printf("n_vocab %d\neot %d\nsot %d\nlang_begin %d\nn_langs %d\nn_lang_tokens %d\n"
           "translate %d\ntranscribe %d\nsot_lm %d\nsot_prev %d\nno_speech %d\n"
           "no_timestamps %d\ntimestamp_begin %d\n",
           auris__tokenizer_n_vocab(t), sp->eot, sp->sot, sp->lang_begin, sp->n_langs,
           sp->n_lang_tokens, sp->translate, sp->transcribe, sp->sot_lm, sp->sot_prev,
           sp->no_speech, sp->no_timestamps, sp->timestamp_begin);
    int *ids = NULL;
    size_t n = 0;
    struct auris_error err;
    if (auris__tokenizer_non_speech(t, &ids, &n, &err) != AURIS_OK) {
        fprintf(stderr, "non_speech: %s\n", err.message);
        return 1;
    }
    printf("non_speech");
    for (size_t i = 0; i < n; i++)
        printf(" %d", ids[i]);
    printf("\n");
    free(ids);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s VOCAB.tiktoken N_VOCAB encode|decode|info\n", argv[0]);
        return 2;
    }
    struct auris__tokenizer *t = NULL;
    struct auris_error err;
    if (auris__tokenizer_load_tiktoken(argv[1], atoi(argv[2]), &t, &err) != AURIS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    int rc = 0;
    if (strcmp(argv[3], "info") == 0) {
        rc = do_info(t);
    } else {
        int enc = strcmp(argv[3], "encode") == 0;
        char *line = NULL;
        size_t cap = 0;
        long n;
        while ((n = read_line(&line, &cap)) >= 0) {
            if (enc)
                do_encode(t, line, n);
            else
                do_decode(t, line);
            fflush(stdout);
        }
        free(line);
    }
    auris__tokenizer_free(t);
    return rc;
}
