#ifndef COFFER_RESTORE_H
#define COFFER_RESTORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * restore: put a backup set (and its chain) back under a directory, safely
 * (DESIGN.md "Restore", coffer-restore(1)).
 *
 * restore_run:
 *  1. loads the set with set_load (signature against the pinned keys
 *     only), reads its manifest (object hash checked against set.json) and
 *     the final state it describes (deleted entries dropped, PATH
 *     selection applied); for unchanged files ("in") it loads the set
 *     holding their data the same way;
 *  2. plans every selected path against the destination: create (absent),
 *     overwrite (present and different), unchanged (same type, size, mode,
 *     mtime, owner when root, symlink target, and for files the same
 *     SHA-256: the content of a file whose metadata match is read to be
 *     sure), delete (with RESTORE_DELETE: what lies in a restored
 *     directory but not in the set; and the explicit deletions of an
 *     undo);
 *  3. unless RESTORE_DRY_RUN: stores the plan under a new restore id in
 *     <home>/restores/ID/, then calls the snapshot callback with the
 *     absolute paths about to be overwritten or deleted (the pre-restore
 *     set); if it fails, nothing is written;
 *  4. deletes, extracts only the wanted entries from each volume (the
 *     volume's object hash is checked against set.json at its end),
 *     under the destination with libarchive's secure flags (no "..", no
 *     absolute path, nothing through a symlink); a damaged volume is left
 *     and the others go on; then sets directory metadata last;
 *  5. verifies every selected path: type, size, mode, owner (as root),
 *     mtime (ns), SHA-256, symlink target against the manifest, and that
 *     deleted paths are gone.
 *
 * Paths are raw bytes relative to the destination ("etc/ssh/sshd_config"),
 * as in manifests.  lib/restore.c changes the working directory while it
 * extracts (lib/volume): run it in one thread.
 */

struct target;
struct sign_pinned;
struct age_identities;

enum restore_flags {
	RESTORE_DRY_RUN = 1 << 0,       /* plan only, change nothing */
	RESTORE_DELETE = 1 << 1,        /* delete what the set does not have */
	RESTORE_FORCE = 1 << 2,         /* undo: despite changes, later
	                                   restores */
};

/* Plan actions. */
enum restore_action {
	RESTORE_CREATE = 0,
	RESTORE_OVERWRITE,
	RESTORE_UNCHANGED,
	RESTORE_REMOVE,                 /* "delete" */
};

/* restore_action_name(a): "create", "overwrite", "unchanged", "delete". */
const char *restore_action_name(enum restore_action);

/*
 * The snapshot callback: take a pre-restore set of the absolute paths
 * (NUL-terminated, n of them) for restore id, and put its label into
 * label (size bytes).  Returns 0, or -1 (reported): the restore stops
 * before writing anything.
 */
typedef int restore_snapshot_fn(void *, const char *, const char *const *,
    size_t, char *, size_t);

/* The plan callback: called for each planned path (path raw bytes, len
 * bytes, NUL-terminated) in path order, before anything is written. */
typedef void restore_plan_fn(void *, enum restore_action, const char *,
    size_t);

/* Progress of the extraction, passed to the progress callback (at most a
 * few times a second, and once more at its end with final set). */
struct restore_progress {
	uint64_t files;                 /* entries written */
	uint64_t bytes;                 /* file bytes written */
	uint64_t total_files;           /* entries to write */
	uint64_t total_bytes;           /* file bytes to write */
	double elapsed;                 /* seconds since extraction began */
	double rate;                    /* bytes written a second */
	int final;
};

typedef void restore_progress_fn(void *, const struct restore_progress *);

struct restore_opts {
	const char *home;               /* the coffer home */
	struct target *target;          /* the vault */
	const char *host;               /* the set's host */
	const char *label;              /* the set (NULL: undo only) */
	const struct sign_pinned *pinned;
	const struct age_identities *ids;
	/*
	 * When ids is NULL, the identity comes from ids_wait(ids_cookie),
	 * called once, when first needed (NULL fails the restore), so that
	 * a passphrase unlock in the background overlaps loading and
	 * checking the set headers.
	 */
	const struct age_identities *(*ids_wait)(void *);
	void *ids_cookie;
	const char *dest;               /* --to DIR (created if missing) */
	const char *const *paths;       /* selection (NULL: everything) */
	size_t npaths;
	int flags;                      /* enum restore_flags */
	restore_snapshot_fn *snapshot;  /* NULL: refuse to overwrite */
	void *snapshot_cookie;
	restore_plan_fn *plan;          /* may be NULL */
	void *plan_cookie;
	const char *verify_cmd;         /* sh -c CMD after verification, with
	                                   COFFER_RESTORE_DIR set; NULL none */
	restore_progress_fn *progress;  /* may be NULL */
	void *progress_cookie;
};

/* A path that could not be restored, or does not verify. */
struct restore_problem {
	char *path;                     /* raw bytes, NUL-terminated */
	char *what;                     /* "damaged volume 2", "sha256" */
};

/* What a restore did. */
struct restore_report {
	char id[64];                    /* "" for a dry run */
	char set[300];                  /* "HOST/LABEL", or "" */
	char pre_restore[160];          /* its label, or "" */
	uint64_t created, overwritten, unchanged, deleted;
	uint64_t verified;              /* paths checked after writing */
	uint64_t mismatches;            /* of those, wrong */
	uint64_t refused;               /* entries extraction refused */
	int verify_cmd_failed;          /* --verify-cmd exited non-zero */
	struct restore_problem *failed; /* could not be restored */
	size_t nfailed;
	struct restore_problem *bad;    /* restored but did not verify */
	size_t nbad;
};

/* restore_report_clear(r): free what r holds and zero it. */
void restore_report_clear(struct restore_report *);

/*
 * restore_run(opts, report): restore opts->label as described above; the
 * report (initialised here; release with restore_report_clear) says what
 * happened.  Returns 0 when everything was restored and verified, 1 when
 * something could not be restored or does not verify (listed in the
 * report), or -1 on an error before anything was written (reported),
 * -2 on an error after writing began (reported; the report is filled as
 * far as it got).
 */
int restore_run(const struct restore_opts *, struct restore_report *);

/*
 * restore_undo(opts, id, report): undo restore id, itself a verified
 * restore with its own id and snapshot: remove what id created, put back
 * what it overwrote or deleted from id's pre-restore set, and the old
 * metadata of the directories it touched.  Refuses (-1, nothing written)
 * when a later restore exists or the tree changed since id wrote it,
 * unless opts->flags has RESTORE_FORCE.  opts->label, paths and dest are
 * ignored (the plan of id says them).  Returns as restore_run.
 */
int restore_undo(const struct restore_opts *, const char *,
    struct restore_report *);

/* restore_id_valid(id): 1 if id has the form of a restore id. */
int restore_id_valid(const char *);

#endif
