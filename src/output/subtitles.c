/*
 * subtitles.c — the WebVTT and SubRip writers, with the word-based line breaking.
 *
 * Reference: openai/whisper utils.py SubtitlesWriter.iterate_result and its iterate_subtitles,
 * WriteVTT ("WEBVTT" header, hours only when needed, '.' decimal marker) and WriteSRT (cue
 * numbers from 1, hours always, ',' marker). Without word timings each segment is one cue, its
 * text stripped and "-->" replaced by "->". With word timings (segments carrying `words`) the
 * words are regrouped into lines and cues by max_line_width / max_line_count /
 * max_words_per_line, and highlight_words underlines each word in turn. Word lengths count code
 * points as Python's len() does.
 * The reference picks word mode when the first segment has a "words" key and then fails on any
 * segment without one; here word mode needs every segment to have it (identical output whenever
 * the reference succeeds), else segment mode.
 * Invariants: every cue is produced by `emit`; all temporary strings are freed on every path.
 */
#include "output/output.h"
#include "decode/decode.h"

#include <stdlib.h>

struct cue_sink {
    FILE *f;
    bool srt;
    int index;   /* SRT cue number */
};

static int emit(struct cue_sink *k, const char *start, const char *end, const char *text)
{
    int rc;
    if (k->srt)
        rc = fprintf(k->f, "%d\n%s --> %s\n%s\n\n", ++k->index, start, end, text);
    else
        rc = fprintf(k->f, "%s --> %s\n%s\n\n", start, end, text);
    return rc < 0 ? -1 : 0;
}

static void stamp(const struct cue_sink *k, double t, char *buf)
{
    auris__format_timestamp(t, k->srt, k->srt ? ',' : '.', buf, 32);
}

/* Python's len() of UTF-8 text: code points (continuation bytes are not counted). */
static int py_len(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += (((unsigned char)*s) & 0xc0) != 0x80;
    return n;
}

/* text.strip().replace("-->", "->"), malloc'd. */
static char *cue_text(const char *text)
{
    char *t = auris__strdup(text ? text : "");
    if (!t)
        return NULL;
    auris__strip_inplace(t);
    char *w = t;
    for (const char *r = t; *r;) {
        if (r[0] == '-' && r[1] == '-' && r[2] == '>') {
            *w++ = '-';
            *w++ = '>';
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return t;
}

static int write_segments(struct cue_sink *k, const struct auris_result *r)
{
    for (int i = 0; i < r->n_segments; i++) {
        const struct auris_segment *s = &r->segments[i];
        char a[32], b[32];
        stamp(k, s->start, a);
        stamp(k, s->end, b);
        char *t = cue_text(s->text);
        if (!t)
            return -1;
        int rc = emit(k, a, b, t);
        free(t);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* A word of the subtitle being built: its (possibly stripped / line-broken) text. */
struct timing {
    char *word;
    double start, end;
};

struct subtitle {
    struct timing *w;
    int n, cap;
};

static void subtitle_reset(struct subtitle *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->w[i].word);
    s->n = 0;
}

/* re.sub(r"^(\s*)(.*)$", r"\1<u>\2</u>", word): '.' stops at a newline and '$' also matches
 * before a final newline, so a word with an inner newline after its text is left unchanged. */
static int underline(const char *word, char **out)
{
    size_t n = strlen(word);
    char *probe = auris__strdup(word);
    if (!probe)
        return -1;
    auris__strip_inplace(probe); /* leading whitespace = what strip removes at the front */
    size_t lead = 0;
    if (probe[0])
        lead = (size_t)(strstr(word, probe) - word);
    else
        lead = n;
    free(probe);
    const char *body = word + lead;
    size_t blen = n - lead;
    const char *nl = memchr(body, '\n', blen);
    bool final_nl = nl && nl == body + blen - 1;
    if (nl && !final_nl) {
        *out = auris__strdup(word);
        return *out ? 0 : -1;
    }
    size_t core = final_nl ? blen - 1 : blen;
    *out = malloc(n + 8);
    if (!*out)
        return -1;
    memcpy(*out, word, lead);
    memcpy(*out + lead, "<u>", 3);
    memcpy(*out + lead + 3, body, core);
    memcpy(*out + lead + 3 + core, "</u>", 4);
    memcpy(*out + lead + 7 + core, body + core, blen - core);
    (*out)[n + 7] = '\0';
    return 0;
}

/* Joins the subtitle's words, with word `hi` underlined when hi >= 0. */
static char *join_words(const struct subtitle *s, int hi)
{
    size_t len = 1;
    for (int i = 0; i < s->n; i++)
        len += strlen(s->w[i].word) + 7;
    char *t = malloc(len), *p = t;
    if (!t)
        return NULL;
    for (int i = 0; i < s->n; i++) {
        char *u = NULL;
        if (i == hi && underline(s->w[i].word, &u) != 0) {
            free(t);
            return NULL;
        }
        const char *w = u ? u : s->w[i].word;
        size_t l = strlen(w);
        memcpy(p, w, l);
        p += l;
        free(u);
    }
    *p = '\0';
    return t;
}

static int flush_subtitle(struct cue_sink *k, const struct subtitle *s, bool highlight)
{
    char a[32], b[32], last[32];
    stamp(k, s->w[0].start, a);
    stamp(k, s->w[s->n - 1].end, b);
    char *text = join_words(s, -1);
    if (!text)
        return -1;
    int rc = 0;
    if (!highlight) {
        rc = emit(k, a, b, text);
        free(text);
        return rc;
    }
    memcpy(last, a, sizeof last);
    for (int i = 0; i < s->n && rc == 0; i++) {
        char ws[32], we[32];
        stamp(k, s->w[i].start, ws);
        stamp(k, s->w[i].end, we);
        if (strcmp(last, ws) != 0)
            rc = emit(k, last, ws, text); /* the gap before this word, nothing underlined */
        char *u = rc == 0 ? join_words(s, i) : NULL;
        if (rc == 0 && !u)
            rc = -1;
        if (rc == 0)
            rc = emit(k, ws, we, u);
        free(u);
        memcpy(last, we, sizeof last);
    }
    free(text);
    return rc;
}

static int subtitle_add(struct subtitle *s, char *word, double start, double end)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        struct timing *w = realloc(s->w, (size_t)cap * sizeof *w);
        if (!w)
            return -1;
        s->w = w;
        s->cap = cap;
    }
    s->w[s->n].word = word;
    s->w[s->n].start = start;
    s->w[s->n].end = end;
    s->n++;
    return 0;
}

struct breaker {
    const struct auris__writer_options *o;
    bool preserve_segments;
    int max_line_width, max_words_per_line;
    int line_len, line_count;
    double last;
    struct subtitle sub;
};

/* One word through iterate_subtitles' line / subtitle breaking rules. */
static int place_word(struct breaker *B, struct cue_sink *k, const struct auris_word *w,
                      bool chunk_start)
{
    char *word = auris__strdup(w->word ? w->word : "");
    if (!word)
        return -1;
    int wlen = py_len(word);
    bool long_pause = !B->preserve_segments && w->start - B->last > 3.0;
    bool has_room = B->line_len + wlen <= B->max_line_width;
    bool seg_break = chunk_start && B->sub.n > 0 && B->preserve_segments;
    if (B->line_len > 0 && has_room && !long_pause && !seg_break) {
        B->line_len += wlen; /* the line continues */
    } else {
        auris__strip_inplace(word);
        if ((B->sub.n > 0 && B->o->max_line_count > 0 &&
             (long_pause || B->line_count >= B->o->max_line_count)) ||
            seg_break) {
            int rc = flush_subtitle(k, &B->sub, B->o->highlight_words);
            subtitle_reset(&B->sub);
            B->line_count = 1;
            if (rc != 0) {
                free(word);
                return -1;
            }
        } else if (B->line_len > 0) {
            B->line_count++;
            size_t l = strlen(word);
            char *nw = malloc(l + 2);
            if (!nw) {
                free(word);
                return -1;
            }
            nw[0] = '\n';
            memcpy(nw + 1, word, l + 1);
            free(word);
            word = nw;
        }
        char *probe = auris__strdup(word);
        if (!probe) {
            free(word);
            return -1;
        }
        auris__strip_inplace(probe);
        B->line_len = py_len(probe);
        free(probe);
    }
    if (subtitle_add(&B->sub, word, w->start, w->end) != 0) {
        free(word);
        return -1;
    }
    B->last = w->start;
    return 0;
}

static int write_words(struct cue_sink *k, const struct auris_result *r,
                       const struct auris__writer_options *o)
{
    struct breaker B;
    memset(&B, 0, sizeof B);
    B.o = o;
    B.preserve_segments = o->max_line_count <= 0 || o->max_line_width <= 0;
    B.max_line_width = o->max_line_width > 0 ? o->max_line_width : 1000;
    B.max_words_per_line = o->max_words_per_line > 0 ? o->max_words_per_line : 1000;
    B.line_count = 1;
    /* get_start(segments) or 0.0 */
    B.last = r->n_segments > 0 ? r->segments[0].start : 0.0;
    for (int i = 0; i < r->n_segments; i++)
        if (r->segments[i].n_words > 0) {
            B.last = r->segments[i].words[0].start;
            break;
        }
    int rc = 0;
    for (int i = 0; i < r->n_segments && rc == 0; i++) {
        const struct auris_segment *s = &r->segments[i];
        for (int c = 0; c < s->n_words && rc == 0; c += B.max_words_per_line) {
            int count = AURIS_MIN(B.max_words_per_line, s->n_words - c);
            for (int j = 0; j < count && rc == 0; j++)
                rc = place_word(&B, k, &s->words[c + j], j == 0);
        }
    }
    if (rc == 0 && B.sub.n > 0)
        rc = flush_subtitle(k, &B.sub, o->highlight_words);
    subtitle_reset(&B.sub);
    free(B.sub.w);
    return rc;
}

static bool word_mode(const struct auris_result *r)
{
    if (r->n_segments == 0)
        return false;
    for (int i = 0; i < r->n_segments; i++)
        if (!r->segments[i].has_words)
            return false;
    return true;
}

static int write_subtitles(FILE *f, bool srt, const struct auris_result *r,
                           const struct auris__writer_options *o)
{
    static const struct auris__writer_options none = {0, 0, 0, false};
    struct cue_sink k = {f, srt, 0};
    int rc = word_mode(r) ? write_words(&k, r, o ? o : &none) : write_segments(&k, r);
    return rc != 0 || ferror(f) ? -1 : 0;
}

int auris__write_vtt(FILE *f, const struct auris_result *r, const struct auris__writer_options *o)
{
    if (fputs("WEBVTT\n\n", f) < 0)
        return -1;
    return write_subtitles(f, false, r, o);
}

int auris__write_srt(FILE *f, const struct auris_result *r, const struct auris__writer_options *o)
{
    return write_subtitles(f, true, r, o);
}
