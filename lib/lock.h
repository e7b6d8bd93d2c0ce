#ifndef COFFER_LOCK_H
#define COFFER_LOCK_H

#include <sys/types.h>

/*
 * lock: per-vault and per-job locks: a lock file holding the holder's pid,
 * taken with flock on a close-on-exec descriptor, so a killed holder never
 * leaves a stale lock.
 */
struct lock;

/*
 * lock_take(dir, name, wait_secs, holder): lock DIR/NAME.lock.  With
 * wait_secs < 0, fail at once if held; else wait up to wait_secs seconds
 * (0 meaning forever).  When held, returns NULL with errno EWOULDBLOCK and
 * *holder set to the holder's pid (0 if unknown), without a message.
 * Other failures are reported.
 */
struct lock *lock_take(const char *, const char *, long long, pid_t *);
void lock_release(struct lock *);

#endif
