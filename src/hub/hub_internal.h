/*
 * hub_internal.h — pieces shared by the hub's files: the download lock and a download that runs
 * with the lock already held (so a caller can re-check the cache under the same lock).
 */
#ifndef AURIS_HUB_INTERNAL_H
#define AURIS_HUB_INTERNAL_H

#include "hub/hub.h"

/* Takes an exclusive flock() on `lock_path` (created when missing), waiting for another holder.
 * On success *fd is the held descriptor. Errors: IO. */
enum auris_err auris__hub_lock(const char *lock_path, int *fd, struct auris_error *err);
/* Removes the lock file and releases the lock. The holder unlinks before closing; a waiter
 * that then wins the lock on the unlinked inode notices and retries (see auris__hub_lock). */
void auris__hub_unlock(int fd, const char *lock_path);

/* auris_hub_download without taking the lock (the caller holds "<dest>.lock"). */
enum auris_err auris__hub_download_locked(const char *url, const char *sha256, const char *dest,
                                          const struct auris_hub_options *opt,
                                          struct auris_error *err);

/* "<a><b>" or "<a>/<b>" (sep non-zero) as a malloc'd string; NULL when out of memory. */
char *auris__hub_join(const char *a, const char *b, int sep);

#endif
