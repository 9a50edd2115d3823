/*
 * hub.h — model management: the official model names, the cache directory, and verified,
 * resumable downloads of checkpoints and vocabularies (libcurl + OpenSSL libcrypto).
 *
 * Reference: openai/whisper __init__.py (_MODELS, _download): every official URL carries the
 * SHA-256 of its file as its second-to-last path component, and a file is only used once its
 * hash matches. Vocabularies (gpt2.tiktoken, multilingual.tiktoken) come from the openai/whisper
 * repository pinned to one commit, with pinned SHA-256.
 *
 * Invariants
 *   - A file under its final name in a download root was verified before it got that name: data
 *     is streamed to "<final>.part" and renamed only when the SHA-256 of the whole file matches.
 *     A mismatch deletes the partial file. An interrupted transfer leaves "<final>.part", which
 *     the next attempt resumes with an HTTP Range request (rehashing what it already holds).
 *   - One process at a time downloads a given file: flock() on "<final>.lock".
 *   - The library never prints: progress goes through a callback, diagnostics through the log
 *     callback of auris.h, errors through struct auris_error.
 *
 * Environment
 *   AURIS_CACHE             the cache directory (else $XDG_CACHE_HOME/auris, else ~/.cache/auris)
 *   AURIS_MODEL_BASE_URL    replaces every official model URL by "<base>/<sha256>/<file>"
 *   AURIS_ASSETS_BASE_URL   the same for vocabularies; when unset, AURIS_MODEL_BASE_URL is used
 *                           for them too (so one local server can serve both)
 *   XDG_CACHE_HOME, HOME    also locate the reference's own cache ($XDG_CACHE_HOME/whisper or
 *                           ~/.cache/whisper), whose .pt files are reused when they verify
 *
 * Thread-safety: every function may be called from any thread. Two threads or processes
 * resolving the same name serialise on the lock file; the second finds the finished file.
 */
#ifndef AURIS_HUB_H
#define AURIS_HUB_H

#include <auris.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the catalogue ------------------------------------------------------------------------ */

/* One downloadable file. All strings are static. */
struct auris_hub_file {
    const char *name;   /* "tiny.en", "large-v3-turbo", or the vocabulary file name */
    const char *url;    /* official URL */
    const char *sha256; /* 64 lowercase hex digits */
    const char *file;   /* basename written into the download root: "tiny.en.pt" */
    const char *vocab;  /* vocabulary file the model needs; NULL for vocabularies */
};

/* Official models in the reference's order, aliases included ("large" = large-v3, "turbo" =
 * large-v3-turbo). index past the end gives NULL. */
const struct auris_hub_file *auris_hub_model_at(int index);
/* The official model called `name` (exact match), or NULL. */
const struct auris_hub_file *auris_hub_find_model(const char *name);
/* The vocabulary entry for "gpt2.tiktoken" / "multilingual.tiktoken", or NULL. */
const struct auris_hub_file *auris_hub_find_vocab(const char *file);

/* The URL to fetch `f` from: its official URL, or "<base>/<sha256>/<file>" when `base` is
 * non-empty (trailing slashes of base are ignored). *out is malloc'd (free()). Errors: NOMEM,
 * INVALID_ARG (NULL arguments). */
enum auris_err auris_hub_url(const struct auris_hub_file *f, const char *base, char **out,
                             struct auris_error *err);

/* ---- directories -------------------------------------------------------------------------- */

/* The cache directory: $AURIS_CACHE, else $XDG_CACHE_HOME/auris, else $HOME/.cache/auris.
 * Not created. *out is malloc'd (free()). Errors: NOT_FOUND (none of the variables is set),
 * NOMEM. */
enum auris_err auris_hub_cache_dir(char **out, struct auris_error *err);
/* The reference's download root: $XDG_CACHE_HOME/whisper, else $HOME/.cache/whisper. */
enum auris_err auris_hub_whisper_cache_dir(char **out, struct auris_error *err);
/* mkdir -p with mode 0755. Errors: IO naming the component that failed. */
enum auris_err auris_hub_mkdirs(const char *dir, struct auris_error *err);

/* ---- SHA-256 ------------------------------------------------------------------------------ */

typedef struct auris_hub_sha256 auris_hub_sha256;
/* NULL when out of memory. Free with auris_hub_sha256_free (NULL-safe). */
auris_hub_sha256 *auris_hub_sha256_new(void);
/* Returns 0, or -1 when libcrypto failed. */
int auris_hub_sha256_update(auris_hub_sha256 *h, const void *data, size_t n);
/* Writes 64 lowercase hex digits + NUL. The context may be reset and reused after this. */
int auris_hub_sha256_final(auris_hub_sha256 *h, char hex[65]);
int auris_hub_sha256_reset(auris_hub_sha256 *h);
/* The digest of the bytes so far, leaving the context running (for "is this already whole?"). */
int auris_hub_sha256_peek(const auris_hub_sha256 *h, char hex[65]);
void auris_hub_sha256_free(auris_hub_sha256 *h);
/* One-shot digest of a buffer. Returns 0 or -1. */
int auris_hub_sha256_hex(const void *data, size_t n, char hex[65]);

/* ---- progress ----------------------------------------------------------------------------- */

enum auris_hub_phase {
    AURIS_HUB_DOWNLOAD, /* bytes of the file received (resumed bytes included) */
    AURIS_HUB_VERIFY    /* bytes of a cached or partial file hashed */
};

/* Called repeatedly during long operations, from the calling thread. `total` is 0 when not yet
 * known. Return non-zero to cancel (the call then fails with AURIS_ERR_CANCELLED; a partial
 * download is kept for resuming). */
typedef int (*auris_hub_progress_fn)(void *user, enum auris_hub_phase phase, const char *file,
                                     uint64_t done, uint64_t total);

/* Hashes a whole file. Errors: IO, CANCELLED. */
enum auris_err auris_hub_sha256_file(const char *path, auris_hub_progress_fn progress, void *user,
                                     char hex[65], struct auris_error *err);

/* ---- resolving and downloading ------------------------------------------------------------ */

struct auris_hub_options {
    /* Download root: where official files are looked for and downloaded. NULL: the cache
     * directory (the reference's --model_dir / download_root). */
    const char *model_dir;
    bool download;            /* fetch what is missing (false: offline, fail instead) */
    bool fetch_vocab;         /* also make the model's .tiktoken available in the root */
    bool reuse_whisper_cache; /* use the reference's ~/.cache/whisper/<file> when it verifies
                               * (only when model_dir is NULL) */
    long connect_timeout_s;   /* connection timeout (0: 30 s) */
    long low_speed_time_s;    /* abort when under 1 KiB/s for this long (0: 60 s) */
    auris_hub_progress_fn progress;
    void *progress_user;
};

/* download = true, fetch_vocab = true, reuse_whisper_cache = true, the rest 0/NULL. */
struct auris_hub_options auris_hub_default_options(void);

/* Resolves a model argument to a file or directory:
 *   - an existing path is returned as is (copied);
 *   - an official name (auris_hub_find_model) becomes "<root>/<file>": when absent there it is
 *     taken from the reference's cache if it verifies there, else downloaded (unless
 *     !options->download); then its vocabulary is fetched into the root (fetch_vocab).
 * `options` may be NULL (defaults). *path_out is malloc'd (free()).
 * Errors: NOT_FOUND (neither a path nor a name; not cached and downloading disabled),
 * IO (HTTP error, no network, timeout, disk), FORMAT (SHA-256 mismatch), CANCELLED, NOMEM. */
enum auris_err auris_hub_resolve(const char *name_or_path, const struct auris_hub_options *options,
                                 char **path_out, struct auris_error *err);

/* As auris_hub_resolve for one catalogue entry (official or made up by a caller, e.g. a test
 * whose file has another hash). */
enum auris_err auris_hub_fetch(const struct auris_hub_file *f,
                               const struct auris_hub_options *options, char **path_out,
                               struct auris_error *err);

/* Where `f` is cached now, without downloading or hashing: "<root>/<file>", else (when allowed)
 * the reference's cache. *path_out is malloc'd, or NULL when not cached (then AURIS_OK too).
 * *in_whisper_cache tells which (may be NULL). */
enum auris_err auris_hub_locate(const struct auris_hub_file *f,
                                const struct auris_hub_options *options, char **path_out,
                                bool *in_whisper_cache, struct auris_error *err);

/* Downloads `url` into `dest` (verified against `sha256`; see the invariants above), whether or
 * not dest exists. The lock is taken here. Errors: IO, FORMAT (mismatch), CANCELLED, NOMEM. */
enum auris_err auris_hub_download(const char *url, const char *sha256, const char *dest,
                                  const struct auris_hub_options *options,
                                  struct auris_error *err);

#ifdef __cplusplus
}
#endif

#endif /* AURIS_HUB_H */
