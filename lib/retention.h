#ifndef COFFER_RETENTION_H
#define COFFER_RETENTION_H

#include <stddef.h>
#include <time.h>

#include "set.h"
#include "sign.h"

struct config;
struct target;

/*
 * retention: which sets a vault keeps (coffer-prune(1), coffer-forget(1),
 * coffer-keep(1)).
 *
 * The policy (retention_apply) is a pure function over a list of sets,
 * like restic's "forget --keep-*": per job, the newest set of each of the
 * last N days, ISO weeks, months and years that have sets (UTC), and the
 * N newest sets.  On top of it:
 *  - held sets (keep, or retain_until in the future) are kept;
 *  - a set that a kept set depends on (its parents, transitively) is kept;
 *  - a backup set the policy does not need is removed only when a newer
 *    full set of the same job was verified (its objects re-hashed against
 *    its signed set.json); otherwise it is kept and the reason says so;
 *  - pre-restore sets have their own rule: they are kept until they are
 *    older than the pre-restore age (config pre-restore.keep, default 30
 *    days), then removed (nothing newer "covers" them).
 *
 * Holds (holds/HOST/LABEL.N.json and .sig, coffer-vault(5)) add keep /
 * retain-until marks to a committed set after it was made.  They are
 * numbered and written once; the hold with the highest N whose signature
 * verifies against a pinned key, and which names this vault, host, label
 * and set (the SHA-256 of its set.json), is in force.  A hold with keep
 * false and no retain_until releases the holds before it.  The marks in
 * set.json itself are made at backup time and cannot be released: the
 * effective marks are those of set.json together with the hold in force.
 */

#define RETENTION_REASON_MAX 256
#define RETENTION_PRE_RESTORE_AGE (30LL * 86400)
#define RETENTION_HOLD_OPERATOR_MAX 128
#define RETENTION_HOLD_REASON_MAX 512

enum retention_decision { RETENTION_KEEP = 0, RETENTION_REMOVE = 1 };

/*
 * One set as the policy sees it.  The caller fills the inputs (pointers
 * stay the caller's); retention_apply fills decision and reason.
 */
struct retention_set {
	const char *label;
	const char *job;
	enum set_kind kind;
	enum set_level level;
	const char *const *parents;     /* labels, nearest first */
	size_t nparents;
	time_t created;
	int keep;                       /* held forever */
	int has_retain_until;
	time_t retain_until;            /* held until then */
	time_t verified;                /* when its objects were verified;
	                                   0: not verified */
	/* Outputs: */
	enum retention_decision decision;
	char reason[RETENTION_REASON_MAX];  /* "kept: daily 2026-11-25" */
};

/*
 * A policy for one job (job NULL: every job without a policy of its own).
 * Counts of 0 select nothing; a job whose policy selects nothing at all
 * keeps every set ("kept: no retention policy for job 'J'").
 */
struct retention_policy {
	const char *job;
	int keep_last;
	int keep_daily;
	int keep_weekly;
	int keep_monthly;
	int keep_yearly;
};

/* retention_policy_empty(p): 1 when p selects nothing (all counts 0). */
int retention_policy_empty(const struct retention_policy *);

/*
 * retention_policy_from_config(c, job, p): fill p from [backup "JOB"]
 * keep-last, keep-daily, keep-weekly, keep-monthly, keep-yearly (missing
 * keys: 0); p->job = job (not copied).  Returns 0, or -1 for a bad or
 * negative value (reported naming the file and line).
 */
int retention_policy_from_config(const struct config *, const char *,
    struct retention_policy *);

/*
 * retention_pre_restore_age(c, age): config pre-restore.keep (a duration,
 * or "forever" for -1), default RETENTION_PRE_RESTORE_AGE.  0 or -1
 * (reported).
 */
int retention_pre_restore_age(const struct config *, long long *);

/*
 * retention_apply(sets, n, policies, npolicies, pre_restore_age, now):
 * decide every set (labels unique; all of one host), filling decision and
 * reason.  pre_restore_age < 0 keeps pre-restore sets forever.  Returns
 * the number of sets to remove, or -1 (reported: out of memory).
 */
int retention_apply(struct retention_set *, size_t,
    const struct retention_policy *, size_t, long long, time_t);

/* ----------------------------------------------------------------- holds */

/* A hold object's content. */
struct retention_hold {
	unsigned long n;                /* its number, from 1 */
	time_t created;
	int keep;
	int has_retain_until;
	time_t retain_until;
	char operator_name[RETENTION_HOLD_OPERATOR_MAX];
	char reason[RETENTION_HOLD_REASON_MAX];
	char signer[SIGN_FPR_MAX];      /* filled when read and verified */
};

/* retention_hold_released(h): 1 when h holds nothing (a release). */
int retention_hold_released(const struct retention_hold *);

/*
 * retention_hold_name(host, label, n, sig): "holds/HOST/LABEL.N.json"
 * (sig: with ".sig"), newly allocated (caller frees), or NULL (reported).
 */
char *retention_hold_name(const char *, const char *, unsigned long, int);

/*
 * retention_hold_json(vault, host, label, set_sha256, h, len): the exact
 * bytes of a hold object (canonical JSON and "\n"): format 1, vault,
 * host, label, set (the hex SHA-256 of the set's set.json), n, created,
 * operator, keep, retain_until (string or null), reason.  Newly allocated
 * (caller frees), *len its length; NULL (reported).
 */
char *retention_hold_json(const char *, const char *, const char *,
    const char *, const struct retention_hold *, size_t *);

/*
 * retention_hold_parse(buf, len, vault, host, label, set_sha256, h):
 * parse a hold object into h and check that it names vault, host, label
 * and (when set_sha256 is not NULL) that set.  0, or -1 (reported:
 * "invalid hold: ...", or which field does not match).
 */
int retention_hold_parse(const void *, size_t, const char *, const char *,
    const char *, const char *, struct retention_hold *);

/*
 * retention_hold_write(t, key, vault, host, label, set_sha256, h): write
 * the next free hold of sets HOST/LABEL (h->n is set here): the .json,
 * then its .sig signed with key.  Write-once: when the number is taken
 * meanwhile, the next one is tried.  0 or -1 (reported).
 */
int retention_hold_write(struct target *, const struct sign_key *,
    const char *, const char *, const char *, const char *,
    struct retention_hold *);

/*
 * retention_hold_list(t, pinned, vault, host, label, set_sha256, fn,
 * cookie): call fn(cookie, h, valid, why) for every hold object of
 * HOST/LABEL in increasing n; valid is 1 for a hold with a valid pinned
 * signature naming this vault, host, label and set, else 0 with why
 * ("no signature", "signature by unpinned key ...", ...).  h is only
 * partly filled (n) when invalid.  Returns 0, -1 (reported), or fn's
 * non-zero return.
 */
typedef int retention_hold_fn(void *, const struct retention_hold *, int,
    const char *);
int retention_hold_list(struct target *, const struct sign_pinned *,
    const char *, const char *, const char *, const char *,
    retention_hold_fn *, void *);

/*
 * retention_hold_effective(t, pinned, vault, host, label, set_sha256,
 * h): the hold in force (the valid one with the highest n) into h.
 * Invalid holds are warned about and ignored.  Returns 1 (found), 0 (no
 * valid hold) or -1 (reported).
 */
int retention_hold_effective(struct target *, const struct sign_pinned *,
    const char *, const char *, const char *, const char *,
    struct retention_hold *);

/*
 * retention_hold_next(t, host, label, n): the next free hold number of
 * HOST/LABEL (1 + the highest present, signed or not).  0 or -1.
 */
int retention_hold_next(struct target *, const char *, const char *,
    unsigned long *);

/* ------------------------------------------------------------- deletion */

/*
 * retention_delete_set(t, host, label): remove set HOST/LABEL from t:
 * set.json.sig first (the set stops being committed at once), then every
 * other object of its directory, then its hold objects (each .sig before
 * its .json).  A crash midway leaves an uncommitted set directory that
 * reconcile removes, or holds that name a set that no longer exists
 * (which bind to nothing).  0 or -1 (reported).
 */
int retention_delete_set(struct target *, const char *, const char *);

struct audit_event;
struct catalog;

/*
 * retention_remove(t, cat, vault_row, host, label, tmpl, action, reason):
 * retention_delete_set, then in one catalog transaction the set's row
 * (if cat holds one for vault_row) is deleted and an audit event appended:
 * tmpl gives operator, host and site; action is "prune" or "forget"; the
 * object is "HOST/LABEL"; details {"host", "label", "reason"}.  When the
 * deletion fails after set.json.sig is gone (the set is no longer
 * committed), the catalog and audit are still updated, with "incomplete":
 * true, and -1 returned.  0 or -1 (reported).
 */
int retention_remove(struct target *, struct catalog *, long long,
    const char *, const char *, const struct audit_event *, const char *,
    const char *);

/* ----------------------------------------------------------- on a vault */

/* Where retention_load reads from. */
struct retention_vault {
	struct target *target;
	const char *vault_id;           /* 32 hex digits */
	const char *host;               /* only this host's sets */
	const struct sign_pinned *pinned;
};

/* A committed set of the vault with its policy view. */
struct retention_entry {
	struct retention_set set;       /* pointers into header */
	struct set_header header;       /* as set_load verified it */
	char set_sha256[65];            /* of set.json, hex */
	int has_hold;                   /* a valid hold is in force */
	struct retention_hold hold;
	int damaged;                    /* retention_verify_covers found
					 * objects missing or changed */
};

/*
 * retention_load(v, entries, n): every committed set of v->host on
 * v->target, verified (set_load against v->pinned), with its hold in
 * force merged into keep / retain_until, oldest first.  A set that does
 * not verify is warned about and left out (so never removed).  verified
 * is 0 everywhere (see retention_verify_covers).  The array is newly
 * allocated (caller frees with retention_entries_free).  0 or -1
 * (reported).
 */
int retention_load(const struct retention_vault *,
    struct retention_entry **, size_t *);
void retention_entries_free(struct retention_entry *, size_t);

/* retention_find(entries, n, label): the entry of label, or NULL. */
struct retention_entry *retention_find(struct retention_entry *, size_t,
    const char *);

/*
 * retention_verify_covers(v, entries, n, job, now): for each job (or only
 * job, when not NULL), verify full backup sets newest first
 * (set_verify_objects: every object re-hashed) until one is intact, and
 * set its verified to now: that set covers every older set of its job.
 * Nothing is trusted from the catalog or from the backup that made the
 * set: the objects are re-read now, without the identity (size and
 * SHA-256 against the signed set.json, as coffer verify without --deep).
 * Damaged sets are warned about, naming them, and get damaged set: they
 * cover nothing.  Returns 0 or -1 (reported).
 */
int retention_verify_covers(const struct retention_vault *,
    struct retention_entry *, size_t, const char *, time_t);

/*
 * retention_dependents(entries, n, label, out, nout): the labels of every
 * set that depends on label (directly or through other sets: sets whose
 * parents lead to it), as a newly allocated array of indexes into
 * entries (caller frees), newest first.  0 or -1 (reported).
 */
int retention_dependents(const struct retention_entry *, size_t,
    const char *, size_t **, size_t *);

/* retention_held(s, now, buf, size): 1 and a description ("held
 * forever", "held until 2027-01-01") when s is held at now, else 0. */
int retention_held(const struct retention_set *, time_t, char *, size_t);

#endif
