#ifndef COFFER_BACKUP_H
#define COFFER_BACKUP_H

#include <stddef.h>
#include <stdint.h>

/*
 * backup: the engine that makes one backup set (DESIGN.md "Sets" and
 * "Commit order"; coffer-vault(5); coffer-backup(1)).
 *
 * One run: scan the sources (lib/scan) in visit order, merge-join the scan
 * with the job's file-state cache (lib/statecache) for diff and incr,
 * store what changed in volumes (lib/volume; every file read once, hashed
 * while archived), write the manifest (lib/manifest), SHA256SUMS and
 * RECOVERY.txt through target puts, then set.json and set.json.sig (the
 * commit point), then one catalog transaction (the set row with its
 * objects and the "backup" audit event), then the new state cache.  With
 * verify set, the stored objects are then re-hashed and the set is
 * recorded as verified; without, it stays unverified until coffer verify
 * or prune (which re-hashes a newer full before it lets it cover older
 * sets) checks it.
 *
 * Nothing here needs the identity: a host holding recipients only runs
 * full, diff and incr backups.
 *
 * kind BACKUP_PRE_RESTORE (used by restore): a full set of an explicit list
 * of paths (each stored as given, a directory with its whole subtree),
 * outside the incremental chains: the state cache is neither read nor
 * written, the level is always full.
 */

struct catalog;
struct sign_pinned;
struct target;

enum backup_level {
	BACKUP_LEVEL_FULL = 0,
	BACKUP_LEVEL_DIFF,
	BACKUP_LEVEL_INCR,
	BACKUP_LEVEL_AUTO       /* full when the policy says so, else incr */
};

enum backup_kind {
	BACKUP_KIND_BACKUP = 0,
	BACKUP_KIND_PRE_RESTORE
};

/* Progress, passed to the progress callback (at most a few times a
 * second, and once more at the end with final set). */
struct backup_progress {
	uint64_t files;         /* entries processed */
	uint64_t bytes;         /* content bytes read */
	uint64_t bytes_stored;  /* object bytes written so far */
	uint64_t total_files;   /* 0: unknown */
	uint64_t total_bytes;   /* 0: unknown */
	double elapsed;         /* seconds since the start */
	double rate;            /* bytes read a second */
	const char *path;       /* the entry being stored (raw), or NULL */
	int final;
};

typedef void backup_progress_fn(void *, const struct backup_progress *);

/*
 * Parameters.  Strings belong to the caller and must outlive backup_run.
 * Zero means the default where one is named.
 */
struct backup_params {
	const char *home;               /* the coffer home (never backed up;
					 * holds the state cache) */
	struct catalog *catalog;        /* open; no transaction open */
	const char *vault_dir;          /* the local vault directory (never
					 * backed up) */
	const char *vault_id;           /* 32 hex digits */
	long long vault_row;            /* catalog vaults row id (0: look up
					 * by vault_id) */
	const char *host;               /* this host's label */
	const char *job;                /* a label: the job name ("paths"
					 * for paths given on the command
					 * line, "pre-restore" for restore) */
	const char *const *paths;       /* sources (NULL-terminated) */
	const char *const *excludes;    /* patterns (NULL-terminated, may be
					 * NULL) */
	const char *const *exclude_files;   /* (NULL-terminated, may be NULL) */
	const char *const *never;       /* extra never-backed-up paths
					 * (mounted media; may be NULL) */
	int one_file_system;
	int exclude_caches;             /* honour CACHEDIR.TAG (the CLI sets
					 * it by default) */
	enum backup_level level;
	long long full_every;           /* auto: seconds; 0: 7 days */
	uint64_t volume_size;           /* bytes; 0: 1 GiB */
	int zstd_level;                 /* 0: 3 */
	int zstd_workers;               /* as struct volume_params */
	int strict;                     /* a file changing or vanishing while
					 * read fails the backup */
	enum backup_kind kind;
	const char *label;              /* NULL: "<job>-YYYYMMDDTHHMMSSZ",
					 * made unique with "-2", "-3"...;
					 * given: must be a free label */
	/* The audit event template (action, object and details are set by
	 * backup_run). */
	const char *operator_name;
	const char *site;               /* may be NULL */
	backup_progress_fn *progress;   /* may be NULL */
	void *progress_cookie;
	int verify;                     /* re-read the objects after the
					 * commit and mark the set verified
					 * (always for BACKUP_KIND_PRE_RESTORE) */
};

/* What a run made.  label is owned by the result: backup_result_clear. */
struct backup_result {
	char *label;
	enum backup_level level;        /* full, diff or incr (never auto) */
	char *level_reason;             /* why a full was made instead of the
					 * level asked for, or NULL */
	uint64_t files;                 /* manifest entries (not deleted) */
	uint64_t files_stored;          /* entries whose data this set holds */
	uint64_t deleted;               /* deleted entries */
	uint64_t bytes_read;            /* content bytes read from disk */
	uint64_t bytes;                 /* content bytes the set describes */
	uint64_t bytes_stored;          /* object bytes written to the vault */
	uint32_t volumes;
	double duration;                /* seconds */
	uint64_t warnings;              /* warnings reported */
	uint64_t sockets;               /* sockets skipped (not warnings) */
	long long set_row;              /* the catalog sets row id */
	int verified;                   /* objects re-hashed intact (only
					 * with verify) */
};

/* backup_params_init(p): zero p and set the defaults (level auto,
 * exclude_caches on). */
void backup_params_init(struct backup_params *);

/*
 * backup_run(p, r): make one set as described above.  r is initialised
 * here (release with backup_result_clear).  Returns 0 on success (warnings
 * counted in r->warnings), -1 on an error (reported; nothing visible is
 * left in the vault or the catalog unless the set committed, which is then
 * said; leftovers are removed now or by the next reconcile), or -2 when a
 * given label is invalid or already used (reported; nothing written).
 */
int backup_run(const struct backup_params *, struct backup_result *);

/* backup_result_clear(r): free what r owns and zero it (NULL ok). */
void backup_result_clear(struct backup_result *);

/* backup_level_name(l): "full", "diff", "incr", "auto". */
const char *backup_level_name(enum backup_level);

/* backup_level_parse(s, l): 0 or -1 (silent). */
int backup_level_parse(const char *, enum backup_level *);

/*
 * backup_label_default(catalog, vault_row, target, host, job, now, out,
 * outlen): the default label "<job>-YYYYMMDDTHHMMSSZ" for time now,
 * followed by "-2", "-3"... when the catalog or the vault already has a
 * set of that label for host.  0 or -1 (reported).
 */
int backup_label_default(struct catalog *, long long, struct target *,
    const char *, const char *, long long, char *, size_t);

#endif
