/*
 * cli.h — pieces shared between the auris subcommands.
 */
#ifndef AURIS_TOOLS_CLI_H
#define AURIS_TOOLS_CLI_H

#include <auris.h>
#include <stddef.h>

/* The --compute_type for the next cli_load_model calls (faster-whisper's names; NULL or
 * "default": the weights as stored). Returns 0, or -1 after a one-line error. */
int cli_set_compute_type(const char *name);

/* Loads a model, printing a one-line error on failure. Returns 0 or -1. */
int cli_load_model(const char *path, const char *assets, auris_model **model);

/* "mm:ss.mmm" (with "hh:" when needed), as the reference's format_timestamp. */
void cli_format_timestamp(double seconds, char *buf, size_t n);

/* `auris bench`: prints one JSON line of timings. Returns the exit status. */
int cli_cmd_bench(int argc, char **argv);

#endif
