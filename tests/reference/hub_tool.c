/*
 * hub_tool.c — test driver for src/hub: resolves one model name (or a made-up catalogue entry
 * whose hash the test chooses) through auris_hub_fetch/auris_hub_resolve, printing the path on
 * stdout or "error: <code>: <message>" on stderr. Used by test_download.py against a local
 * HTTP server (AURIS_MODEL_BASE_URL) with a temporary AURIS_CACHE.
 *
 * usage: hub_tool resolve NAME_OR_PATH [--sha SHA --file FILE] [--vocab VOCAB] [--no-vocab]
 *                                      [--offline] [--model-dir DIR]
 *        hub_tool sha256 FILE
 * Exit status: 0 success, 1 failure, 2 usage.
 */
#include "hub/hub.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per file: the first and last download progress reported (a resumed download starts past 0). */
struct counts {
    unsigned long download, verify;
    int n;
    struct {
        char file[64];
        uint64_t first, done, total;
    } f[4];
};

static int count_progress(void *user, enum auris_hub_phase phase, const char *file,
                          uint64_t done, uint64_t total)
{
    (void)file;
    struct counts *c = user;
    if (phase == AURIS_HUB_DOWNLOAD) {
        c->download++;
        int i = 0;
        while (i < c->n && strcmp(c->f[i].file, file) != 0)
            i++;
        if (i == c->n && c->n < 4) {
            snprintf(c->f[c->n].file, sizeof c->f[0].file, "%s", file);
            c->f[c->n++].first = done;
        }
        if (i < 4) {
            c->f[i].done = done;
            c->f[i].total = total;
        }
    } else {
        c->verify++;
    }
    return 0;
}

static void log_stderr(void *user, enum auris_log_level level, const char *msg)
{
    (void)user;
    fprintf(stderr, "log[%d]: %s\n", (int)level, msg);
}

int main(int argc, char **argv)
{
    struct auris_error err = {0};
    if (argc == 3 && strcmp(argv[1], "sha256") == 0) {
        char hex[65];
        if (auris_hub_sha256_file(argv[2], NULL, NULL, hex, &err) != AURIS_OK) {
            fprintf(stderr, "error: %s\n", err.message);
            return 1;
        }
        printf("%s\n", hex);
        return 0;
    }
    if (argc < 3 || strcmp(argv[1], "resolve") != 0) {
        fprintf(stderr, "usage: hub_tool resolve NAME [--sha SHA --file FILE] [--vocab V] "
                        "[--no-vocab] [--offline] [--model-dir DIR] | hub_tool sha256 FILE\n");
        return 2;
    }
    auris_set_log_callback(log_stderr, NULL);
    struct auris_hub_options o = auris_hub_default_options();
    struct counts c = {0};
    o.progress = count_progress;
    o.progress_user = &c;
    o.low_speed_time_s = 10;
    o.connect_timeout_s = 5;
    const char *sha = NULL, *file = NULL, *vocab = "gpt2.tiktoken";
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--sha") == 0 && i + 1 < argc)
            sha = argv[++i];
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--vocab") == 0 && i + 1 < argc)
            vocab = argv[++i];
        else if (strcmp(argv[i], "--model-dir") == 0 && i + 1 < argc)
            o.model_dir = argv[++i];
        else if (strcmp(argv[i], "--no-vocab") == 0)
            o.fetch_vocab = false;
        else if (strcmp(argv[i], "--offline") == 0)
            o.download = false;
        else {
            fprintf(stderr, "hub_tool: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    char *path = NULL;
    enum auris_err rc;
    if (sha && file) {
        /* the official URL's host is never contacted: tests always set AURIS_MODEL_BASE_URL */
        char url[512];
        snprintf(url, sizeof url, "https://invalid.example/%s/%s", sha, file);
        struct auris_hub_file f = {argv[2], url, sha, file, vocab};
        rc = auris_hub_fetch(&f, &o, &path, &err);
    } else {
        rc = auris_hub_resolve(argv[2], &o, &path, &err);
    }
    fprintf(stderr, "progress: download=%lu verify=%lu\n", c.download, c.verify);
    for (int i = 0; i < c.n; i++)
        fprintf(stderr, "progress: %s first=%" PRIu64 " last=%" PRIu64 "/%" PRIu64 "\n",
                c.f[i].file, c.f[i].first, c.f[i].done, c.f[i].total);
    if (rc != AURIS_OK) {
        fprintf(stderr, "error: %s: %s\n", auris_strerror(rc), err.message);
        return 1;
    }
    printf("%s\n", path);
    free(path);
    return 0;
}
