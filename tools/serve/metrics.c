/*
 * metrics.c — counters of `auris serve` in the Prometheus text exposition format.
 *
 * Reference: Prometheus exposition format 0.0.4 (# HELP / # TYPE lines, counter and gauge
 * samples with labels). Requests are counted by endpoint (the known routes, else "other") and
 * status; audio seconds and processing seconds are summed; the queue length and busy workers
 * are read from the job pool when scraped.
 * Invariants: one mutex guards every counter; the table is fixed-size (known routes x statuses
 * seen, at most MAX_SERIES; more distinct pairs are folded into the last one).
 */
#include "serve/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 96

struct series {
    const char *endpoint; /* static string */
    int status;
    unsigned long long count;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct series table[MAX_SERIES];
static int n_series;
static double audio_seconds, processing_seconds;

static const char *endpoint_label(const char *path)
{
    static const char *known[] = {"/v1/audio/transcriptions", "/v1/audio/translations",
                                  "/v1/models", "/health", "/metrics", "/openapi.json"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (path && strcmp(path, known[i]) == 0)
            return known[i];
    return "other";
}

void metrics_record(const char *endpoint, int status, double audio_s, double proc_s)
{
    const char *label = endpoint_label(endpoint);
    pthread_mutex_lock(&mu);
    int i = 0;
    while (i < n_series && !(table[i].endpoint == label && table[i].status == status))
        i++;
    if (i == n_series) {
        if (n_series < MAX_SERIES)
            n_series++;
        else
            i = MAX_SERIES - 1;
        table[i].endpoint = label;
        table[i].status = status;
    }
    table[i].count++;
    audio_seconds += audio_s;
    processing_seconds += proc_s;
    pthread_mutex_unlock(&mu);
}

char *metrics_text(struct pool *p)
{
    int queued = 0, busy = 0;
    jobs_gauges(p, &queued, &busy);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    pthread_mutex_lock(&mu);
    fprintf(f, "# HELP auris_requests_total HTTP requests answered, by endpoint and status.\n"
               "# TYPE auris_requests_total counter\n");
    for (int i = 0; i < n_series; i++)
        fprintf(f, "auris_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                table[i].endpoint, table[i].status, table[i].count);
    fprintf(f, "# HELP auris_audio_seconds_total Seconds of audio transcribed.\n"
               "# TYPE auris_audio_seconds_total counter\n"
               "auris_audio_seconds_total %.6f\n"
               "# HELP auris_processing_seconds_total Seconds workers spent transcribing.\n"
               "# TYPE auris_processing_seconds_total counter\n"
               "auris_processing_seconds_total %.6f\n",
            audio_seconds, processing_seconds);
    pthread_mutex_unlock(&mu);
    fprintf(f, "# HELP auris_queue_length Requests waiting for a worker.\n"
               "# TYPE auris_queue_length gauge\n"
               "auris_queue_length %d\n"
               "# HELP auris_busy_workers Workers transcribing now.\n"
               "# TYPE auris_busy_workers gauge\n"
               "auris_busy_workers %d\n",
            queued, busy);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
