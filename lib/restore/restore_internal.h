/*
 * restore_internal.h: what the files of lib/restore/ share: the state of
 * one restore (struct ctx) and the helpers one part uses from another.
 * Not for use outside lib/restore/.
 */
#ifndef COFFER_RESTORE_INTERNAL_H
#define COFFER_RESTORE_INTERNAL_H

#include <sys/stat.h>
#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "crypto.h"
#include "manifest.h"
#include "restore.h"
#include "set.h"

#define RBUF_SIZE (1024 * 1024)
#define CHAIN_MAX 1000

/* A loaded set: its header and manifest, sorted by path. */
struct rset {
	char *label;
	struct set_header h;
	struct manifest_entry *ents;
	size_t n;
	size_t cursor;          /* restore_build_state's walk through ents */
};

/* A selected path of the final state. */
struct ent {
	const struct manifest_entry *e;         /* final state */
	const struct manifest_entry *src;       /* the entry with the data */
	int holder;                             /* sets[] index, -1: none */
	enum restore_action action;
	int exists;
	struct stat old;
	int typechange;                         /* remove the old one first */
	int extracted;
	int metadone;                           /* owner, mode, mtime set */
	int failed;
	int fd;                                 /* split file being written */
	uint32_t nextpart;
	/* Hashed by the verifier thread once written (verify.c); read only
	 * after restore_verifier_stop. */
	int queued;
	int vfd;                                /* written file, handed to
						 * the verifier, or -1 */
	int vstate;                             /* 1: vsha, vsize, vdev, vino;
						 * 2: closing the written
						 * file failed */
	int vmeta;                              /* the verifier sets this
						 * metadata on vfd first: */
	uid_t muid;
	gid_t mgid;
	mode_t mmode;
	struct timespec mtim;
	/* Handed to the verifier before it was written
	 * (restore_verifier_add_early): it reads behind the writer up to
	 * wpos, until wdone (1: written, 2: writing failed); both under the
	 * verifier's lock. */
	int early;
	uint64_t wpos;
	int wdone;
	/* What the final check found (verify.c): NULL, or what differs at
	 * vwhere. */
	const char *vwhat;
	const char *vwhere;
	uint8_t vsha[CRYPTO_SHA256_LEN];
	uint64_t vsize;
	dev_t vdev;
	ino_t vino;
};

/* A path to delete. */
struct del {
	char *path;
	struct stat old;
	int is_dir;
	int explicit;           /* undo: only if empty (dirs) */
};

/* A directory whose old metadata an undo puts back. */
struct dirmeta {
	char *path;             /* "" for the root */
	uint32_t mode, uid, gid;
	int64_t mtime;
	uint32_t nsec;
};

/* A tar member to extract. */
struct job {
	char *name;             /* member name (allocated for parts) */
	int owned;
	int holder;
	uint32_t volume;
	struct ent *ent;
	uint32_t part;          /* 0: whole entry, else part number */
};

struct ctx {
	const struct restore_opts *o;
	const struct age_identities *ids;       /* see restore_ids */
	int ids_failed;
	struct restore_report *rep;
	char *dest;             /* real path */
	int rootfd;
	int is_root;
	struct rset *sets;
	size_t nsets;
	struct ent *ents;
	size_t nents;
	struct del *dels;
	size_t ndels;
	struct job *jobs;
	size_t njobs;
	struct dirmeta *olddirs;        /* recorded for a later undo */
	size_t nolddirs;
	struct dirmeta *undodirs;       /* to put back (undo) */
	size_t nundodirs;
	char **explicit_dels;
	size_t nexplicit;
	const char *undo_of;
	int damaged;                    /* a set or manifest is bad */
	uint8_t *buf;
	struct restore_progress pr;     /* for opts->progress */
	struct timespec t0;
	double last_progress;
	struct verifier *vq;            /* verify.c: NULL if not running */
};

/* plan.c: restore_preload(c, label): load, on two threads, the manifests
 * restoring label needs (label's own, its oldest parent's and those of
 * the sets its selected entries name in "in"), ahead of restore_get_set
 * (before any set is loaded; the identity is fetched first).  Reports
 * nothing. */
void restore_preload(struct ctx *c, const char *label);

/* common.c */
/* restore_problem_add(list, n, path, fmt, ...): append a problem.  0 or -1. */
int restore_problem_add(struct restore_problem **list, size_t *n,
    const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Path order (strcmp: the manifest's order). */
int restore_path_cmp(const char *a, const char *b);
/* 1 when path is sel or lies under it. */
int restore_path_under(const char *path, const char *sel);
/* qsort comparators of ents and manifest entries, by path. */
int restore_ent_cmp(const void *a, const void *b);
int restore_mentry_cmp(const void *a, const void *b);
/* The entry of path in a loaded set, or NULL. */
const struct manifest_entry *restore_rset_find(const struct rset *s,
    const char *path);
/* The selected entry of path, or NULL. */
struct ent *restore_ent_find(struct ctx *c, const char *path);
/* Safe access under the destination (never following symlinks); see
 * common.c for each one's returns. */
int restore_dir_open(int rootfd, const char *path, size_t len, int create);
int restore_at_parent(int rootfd, const char *path, int create,
    const char **leaf);
/* at_parent_lent: as at_parent, but the descriptor stays the cache's
 * (never close it), valid until the next call on this thread. */
int restore_at_parent_lent(int rootfd, const char *path, int create,
    const char **leaf);
int restore_lstat_at(int rootfd, const char *path, struct stat *st);
int restore_hash_at(int rootfd, const char *path, uint8_t *buf,
    uint8_t out[CRYPTO_SHA256_LEN], uint64_t *size);
int restore_remove_path(int rootfd, const char *path, int only_empty);
/* The parent directory restore_at_parent keeps open: drop it after
 * anything that may remove or replace a directory (extraction, removal);
 * free it when the restore ends. */
void restore_dircache_drop(void);
void restore_dircache_free(void);

/* plan.c */
/* Loading sets and the chain: sets[] indices, <0 as load_set. */
void restore_rset_clear(struct rset *s);
int restore_get_set(struct ctx *c, const char *label);
int restore_build_state(struct ctx *c);
/* The plan: classify, compare (restore_same_as: 1 same, 0 not, -1),
 * find deletions; record it under the restore id; snapshot.  0 or -1. */
enum manifest_type restore_type_of(mode_t m);
int restore_same_as(struct ctx *c, const char *path, const struct stat *st,
    const struct manifest_entry *e);
int restore_make_plan(struct ctx *c);
void restore_plan_report(struct ctx *c);
int restore_store_plan(struct ctx *c);
int restore_store_state(struct ctx *c, const char *status);
int restore_new_id(struct ctx *c);
int restore_take_snapshot(struct ctx *c);

/* extract.c */
/* Extraction, in engine order; 0 or -1 (fatal).  Progress at most five
 * times a second unless final. */
void restore_show_progress(struct ctx *c, int final);
int restore_make_jobs(struct ctx *c);
int restore_apply_deletions(struct ctx *c);
int restore_extract_all(struct ctx *c);
int restore_make_missing(struct ctx *c);
void restore_apply_meta(struct ctx *c);

/* verify.c */
/* Verification of what was written, and --verify-cmd.  0 or -1. */
int restore_verify_all(struct ctx *c);
/* A second thread that re-reads and hashes regular files as soon as they
 * are written and closed, so verify_all does not read them again: start
 * it (0, or -1 and the files are hashed by verify_all), queue a written
 * file (a no-op when not running), stop it (waits; idempotent). */
int restore_verifier_start(struct ctx *c);
void restore_verifier_add(struct ctx *c, struct ent *x);
/* Queue the written file x with fd, its descriptor open for reading: 0,
 * the verifier owns fd (and closes it); -1, not taken (not running, or
 * holding too many). */
int restore_verifier_add_fd(struct ctx *c, struct ent *x, int fd);
/* The same, and the verifier first sets x's muid and mgid (as root),
 * mmode and mtim on fd (x->vmeta): 0, or -1 (not taken, nothing set). */
int restore_verifier_add_meta(struct ctx *c, struct ent *x, int fd);
/* As add_meta, for a file not yet written: the verifier hashes what
 * restore_verifier_written says is written (done: 0 more to come, 1 all
 * written, 2 writing failed: the verifier closes fd and hashes nothing),
 * then sets the metadata and hashes a trailing hole.  After a 0 return,
 * done must be said, and fd is the verifier's to close. */
int restore_verifier_add_early(struct ctx *c, struct ent *x, int fd);
void restore_verifier_written(struct ctx *c, struct ent *x, uint64_t end,
    int done);
void restore_verifier_stop(struct ctx *c);
/* Owner (when chown), mode and mtime of the written file fd (path: for
 * warnings), in that order (chown clears set-id bits); failures are
 * warnings.  cur (may be NULL): fd's fstat, to skip what is already so.
 * Either thread. */
void restore_file_meta(int fd, const char *path, int chown, uid_t uid,
    gid_t gid, mode_t mode, const struct timespec *mtim,
    const struct stat *cur);
int restore_run_verify_cmd(struct ctx *c);

/* engine.c */
/* One restore from a loaded ctx (used by restore_run and restore_undo);
 * restore_ctx_free(c) releases what it holds. */
void restore_ctx_free(struct ctx *c);
int restore_engine(struct ctx *c);
/* engine.c: the identity (o->ids, else o->ids_wait's, fetched once);
 * NULL (reported) fails. */
const struct age_identities *restore_ids(struct ctx *);

#endif /* COFFER_RESTORE_INTERNAL_H */
