/*
 * models.h — `auris models` and the --model resolution shared by transcribe, info and bench.
 *
 * Built on src/hub/hub.h when the program is compiled with AURIS_WITH_HUB=1 (libcurl and
 * libcrypto available); without it, names are refused and paths pass through unchanged.
 */
#ifndef AURIS_TOOLS_MODELS_H
#define AURIS_TOOLS_MODELS_H

#include <stdbool.h>

/* `auris models [--verify] [--json] [--model_dir DIR]` (argv[1] is "models"): a table of the
 * official names, their files, and what is cached. Returns the exit status: 0, 1 when --verify
 * found a cached file that does not match its SHA-256, 2 for usage errors. */
int cli_cmd_models(int argc, char **argv);

/* Turns a --model argument into a file: an existing path as is; an official name into its
 * verified file in `model_dir` (NULL: the cache directory), downloading it and its vocabulary
 * when missing and `download` is true. A progress bar goes to stderr when it is a terminal.
 * On success *path is malloc'd (free()) and *official_name (may be NULL) is the catalogue's
 * static name, or NULL when a path was given. Returns 0, or -1 after printing a one-line error
 * on stderr. */
int cli_resolve_model(const char *name_or_path, const char *model_dir, bool download, char **path,
                      const char **official_name);

#endif
