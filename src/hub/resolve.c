/*
 * resolve.c — turning a --model argument into a file: paths as they are, official names into
 * verified files in the download root (downloading what is missing), plus the vocabulary.
 *
 * Reference: openai/whisper __init__.py load_model/_download: a cached file is used only when
 * its SHA-256 matches, else it is downloaded again. Hashing a 3 GB checkpoint on every run costs
 * seconds, so a successful check leaves a stamp "<cache>/.verified/<sha256>" recording the
 * file's device, inode, size and modification time; a file whose stat still matches its stamp
 * is trusted without rehashing. Invariants: a path handed back for an official name verified
 * (now or per its stamp); stamps are advisory (a missing or unwritable stamp only costs time).
 */
#include "hub/hub_internal.h"

#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct auris_hub_options auris_hub_default_options(void)
{
    struct auris_hub_options o = {0};
    o.download = true;
    o.fetch_vocab = true;
    o.reuse_whisper_cache = true;
    return o;
}

static int is_file(const char *path, struct stat *sb)
{
    return stat(path, sb) == 0 && S_ISREG(sb->st_mode);
}

static void stamp_text(const struct stat *sb, char *buf, size_t n)
{
    snprintf(buf, n, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %lld %ld\n", (uint64_t)sb->st_dev,
             (uint64_t)sb->st_ino, (uint64_t)sb->st_size, (long long)sb->st_mtim.tv_sec,
             (long)sb->st_mtim.tv_nsec);
}

static char *stamp_path(const char *sha256)
{
    char *cache = NULL, *path = NULL;
    if (auris_hub_cache_dir(&cache, NULL) != AURIS_OK)
        return NULL;
    size_t n = strlen(cache) + strlen(sha256) + 16;
    path = malloc(n);
    if (path)
        snprintf(path, n, "%s/.verified/%s", cache, sha256);
    free(cache);
    return path;
}

static int stamp_matches(const char *sha256, const struct stat *sb)
{
    char want[128], got[128] = "";
    char *p = stamp_path(sha256);
    FILE *f = p ? fopen(p, "r") : NULL;
    int ok = 0;
    if (f) {
        stamp_text(sb, want, sizeof want);
        ok = fgets(got, sizeof got, f) && strcmp(got, want) == 0;
        fclose(f);
    }
    free(p);
    return ok;
}

static void stamp_write(const char *sha256, const char *path)
{
    struct stat sb;
    char text[128];
    char *p = stamp_path(sha256);
    if (!p || !is_file(path, &sb)) {
        free(p);
        return;
    }
    stamp_text(&sb, text, sizeof text);
    char *dir = auris__strdup(p);
    if (dir) {
        *strrchr(dir, '/') = '\0';
        auris_hub_mkdirs(dir, NULL);
    }
    char *tmp = auris__hub_join(p, ".tmp", 0);
    FILE *f = tmp ? fopen(tmp, "w") : NULL;
    if (f) {
        int ok = fputs(text, f) >= 0;
        if (fclose(f) == 0 && ok)
            rename(tmp, p);
        else
            unlink(tmp);
    }
    free(tmp);
    free(dir);
    free(p);
}

/* Whether `path` holds f's bytes: its stamp, else a full hash (which then stamps it). */
static enum auris_err verify(const char *path, const struct auris_hub_file *f,
                             const struct auris_hub_options *opt, bool *ok,
                             struct auris_error *err)
{
    struct stat sb;
    *ok = false;
    if (!is_file(path, &sb))
        return AURIS_OK;
    if (stamp_matches(f->sha256, &sb)) {
        *ok = true;
        return AURIS_OK;
    }
    char hex[65];
    enum auris_err rc = auris_hub_sha256_file(path, opt->progress, opt->progress_user, hex, err);
    if (rc != AURIS_OK)
        return rc;
    *ok = strcmp(hex, f->sha256) == 0;
    if (*ok)
        stamp_write(f->sha256, path);
    else
        auris__log(AURIS_LOG_WARN, "%s exists, but its SHA-256 is %s, not %s", path, hex,
                   f->sha256);
    return AURIS_OK;
}

static enum auris_err root_dir(const struct auris_hub_options *opt, char **root,
                               struct auris_error *err)
{
    if (opt->model_dir && *opt->model_dir) {
        *root = auris__strdup(opt->model_dir);
        return *root ? AURIS_OK : auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    }
    return auris_hub_cache_dir(root, err);
}

enum auris_err auris_hub_locate(const struct auris_hub_file *f,
                                const struct auris_hub_options *options, char **path_out,
                                bool *in_whisper_cache, struct auris_error *err)
{
    if (!f || !path_out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_locate: NULL argument");
    struct auris_hub_options defaults = auris_hub_default_options();
    const struct auris_hub_options *opt = options ? options : &defaults;
    struct stat sb;
    char *root = NULL, *path = NULL;
    *path_out = NULL;
    if (in_whisper_cache)
        *in_whisper_cache = false;
    enum auris_err rc = root_dir(opt, &root, err);
    if (rc != AURIS_OK)
        return rc;
    path = auris__hub_join(root, f->file, 1);
    free(root);
    if (!path)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    if (is_file(path, &sb)) {
        *path_out = path;
        return AURIS_OK;
    }
    free(path);
    path = NULL;
    if (opt->reuse_whisper_cache && !(opt->model_dir && *opt->model_dir) && f->vocab &&
        auris_hub_whisper_cache_dir(&root, NULL) == AURIS_OK) {
        path = auris__hub_join(root, f->file, 1);
        free(root);
        if (path && is_file(path, &sb)) {
            *path_out = path;
            if (in_whisper_cache)
                *in_whisper_cache = true;
            return AURIS_OK;
        }
        free(path);
    }
    return AURIS_OK;
}

/* Downloads f to `final` under its lock, unless another process finished it meanwhile. */
static enum auris_err download_to(const struct auris_hub_file *f, const char *root,
                                  const char *final, const struct auris_hub_options *opt,
                                  struct auris_error *err)
{
    char *url = NULL, *lock_path = NULL;
    int fd = -1;
    bool ok = false;
    const char *base = getenv("AURIS_MODEL_BASE_URL");
    if (!f->vocab && getenv("AURIS_ASSETS_BASE_URL") && *getenv("AURIS_ASSETS_BASE_URL"))
        base = getenv("AURIS_ASSETS_BASE_URL");
    enum auris_err rc = auris_hub_mkdirs(root, err);
    if (rc == AURIS_OK)
        rc = auris_hub_url(f, base, &url, err);
    if (rc == AURIS_OK && !(lock_path = auris__hub_join(final, ".lock", 0)))
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    if (rc == AURIS_OK)
        rc = auris__hub_lock(lock_path, &fd, err);
    if (rc == AURIS_OK)
        rc = verify(final, f, opt, &ok, err);
    if (rc == AURIS_OK && !ok) {
        auris__log(AURIS_LOG_INFO, "downloading %s from %s", f->file, url);
        rc = auris__hub_download_locked(url, f->sha256, final, opt, err);
        if (rc == AURIS_OK)
            stamp_write(f->sha256, final);
    }
    auris__hub_unlock(fd, lock_path);
    free(lock_path);
    free(url);
    return rc;
}

static enum auris_err fetch_vocab(const struct auris_hub_file *model, const char *root,
                                  const struct auris_hub_options *opt, struct auris_error *err)
{
    const struct auris_hub_file *v = auris_hub_find_vocab(model->vocab);
    const char *assets = getenv("AURIS_ASSETS");
    struct stat sb;
    if (!v)
        return AURIS_OK;
    if (assets && *assets) { /* auris_model_load looks there first */
        char *p = auris__hub_join(assets, v->file, 1);
        int found = p && is_file(p, &sb);
        free(p);
        if (found)
            return AURIS_OK;
    }
    struct auris_hub_options vo = *opt;
    vo.model_dir = root;
    vo.fetch_vocab = false;
    vo.reuse_whisper_cache = false;
    char *path = NULL;
    enum auris_err rc = auris_hub_fetch(v, &vo, &path, err);
    free(path);
    /* offline, the vocabulary may still come from --assets; the model loader says so */
    if (rc == AURIS_ERR_NOT_FOUND && !opt->download)
        rc = AURIS_OK;
    return rc;
}

enum auris_err auris_hub_fetch(const struct auris_hub_file *f,
                               const struct auris_hub_options *options, char **path_out,
                               struct auris_error *err)
{
    if (!f || !path_out || !f->sha256 || !f->file || !f->url)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_fetch: NULL argument");
    struct auris_hub_options defaults = auris_hub_default_options();
    const struct auris_hub_options *opt = options ? options : &defaults;
    char *root = NULL, *final = NULL, *found = NULL;
    bool ok = false, whisper = false;
    *path_out = NULL;
    enum auris_err rc = root_dir(opt, &root, err);
    if (rc != AURIS_OK)
        goto done;
    if (!(final = auris__hub_join(root, f->file, 1))) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = auris_hub_locate(f, opt, &found, &whisper, err)) != AURIS_OK)
        goto done;
    if (found && (rc = verify(found, f, opt, &ok, err)) != AURIS_OK)
        goto done;
    if (ok) {
        *path_out = found;
        found = NULL;
    } else if (!opt->download) {
        rc = auris__fail(err, found ? AURIS_ERR_FORMAT : AURIS_ERR_NOT_FOUND,
                         found ? "%s does not match its SHA-256 and downloading is disabled"
                               : "%s is not in %s and downloading is disabled",
                         found ? found : f->file, root);
        goto done;
    } else {
        if ((rc = download_to(f, root, final, opt, err)) != AURIS_OK)
            goto done;
        *path_out = final;
        final = NULL;
    }
    if (f->vocab && opt->fetch_vocab && (rc = fetch_vocab(f, root, opt, err)) != AURIS_OK) {
        free(*path_out);
        *path_out = NULL;
    }
done:
    free(found);
    free(final);
    free(root);
    return rc;
}

enum auris_err auris_hub_resolve(const char *name_or_path, const struct auris_hub_options *options,
                                 char **path_out, struct auris_error *err)
{
    if (!name_or_path || !*name_or_path || !path_out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_resolve: empty model name");
    struct stat sb;
    *path_out = NULL;
    if (stat(name_or_path, &sb) == 0) {
        *path_out = auris__strdup(name_or_path);
        return *path_out ? AURIS_OK : auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    }
    const struct auris_hub_file *f = auris_hub_find_model(name_or_path);
    if (f)
        return auris_hub_fetch(f, options, path_out, err);
    char names[400] = "";
    for (int i = 0; (f = auris_hub_model_at(i)); i++) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", f->name);
    }
    return auris__fail(err, AURIS_ERR_NOT_FOUND,
                       "%s: no such file, and not an official model name (%s)", name_or_path,
                       names);
}
