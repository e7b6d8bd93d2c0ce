#ifndef COFFER_TARGET_LOCAL_H
#define COFFER_TARGET_LOCAL_H

/*
 * target-local: the local directory backend of target.h (a directory or a
 * mounted medium).  Opened with target_open_local (declared in target.h).
 *
 * Every path is walked from a descriptor of the vault root, one component
 * at a time with O_NOFOLLOW, so a symbolic link inside a vault is never
 * followed.  New objects appear only through a ".part" file and link(2)
 * (renameat2 RENAME_NOREPLACE on file systems without hard links, such as
 * FAT); an existing object is never opened for writing.  Objects are
 * created mode 0644 and directories 0755, less the umask.
 */

#include "target.h"

/* The operations of the local backend. */
extern const struct target_ops target_local_ops;

#endif
