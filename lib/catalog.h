#ifndef COFFER_CATALOG_H
#define COFFER_CATALOG_H

#include <stddef.h>
#include <time.h>

/*
 * catalog: the SQLite database in the coffer home (WAL mode, foreign keys,
 * busy timeout, versioned migrations).  coffer's only user of sqlite3.h:
 * no SQL is written outside lib/catalog.c; the rest of coffer calls the
 * domain functions below.  Functions report their failures (naming the
 * catalog file and SQLite's message) and return -1 or NULL.
 */
struct catalog;

/* The schema version this coffer creates and understands. */
#define CATALOG_SCHEMA_VERSION 3

enum catalog_flags {
	CATALOG_CREATE = 1 << 0, /* create the file and the schema */
};

/*
 * catalog_open(path, flags): open (or with CATALOG_CREATE create, mode
 * 0600) the catalog and migrate it to the current schema.  A file that is
 * not a database, or a schema newer than this coffer knows, is reported and
 * NULL returned.
 */
struct catalog *catalog_open(const char *, int);
void catalog_close(struct catalog *);

/* catalog_path(cat): the file name given to catalog_open. */
const char *catalog_path(const struct catalog *);

/* catalog_schema_version(cat): the schema version (PRAGMA user_version),
 * or -1 (reported). */
int catalog_schema_version(struct catalog *);

/* catalog_journal_mode(cat, buf, size): the journal mode ("wal") into
 * buf.  Returns 0 or -1 (reported). */
int catalog_journal_mode(struct catalog *, char *, size_t);

/*
 * Transactions.  catalog_begin starts a write transaction at once (BEGIN
 * IMMEDIATE, waiting up to the busy timeout for other writers);
 * catalog_commit commits it; catalog_rollback abandons it (doing nothing
 * when no transaction is open, so error paths may call it freely).
 * catalog_in_transaction: 1 inside a transaction, else 0.
 */
int catalog_begin(struct catalog *);
int catalog_commit(struct catalog *);
void catalog_rollback(struct catalog *);
int catalog_in_transaction(struct catalog *);

/*
 * catalog_limit_pages(cat, pages): cap the database at pages pages, so
 * tests can make the "disk" full (SQLITE_FULL).  Returns 0 or -1.
 */
int catalog_limit_pages(struct catalog *, long long);

/* ---------------------------------------------------------------- vaults */

struct catalog_vault {
	long long id;   /* row id, referenced by sets */
	char *vault_id; /* the vault's own id (coffer-vault.NNNN) */
	char *kind;     /* "local", "s3" or "sftp" */
	char *url;      /* path or URL */
	time_t created;
};

/*
 * catalog_vault_add(cat, vault_id, kind, url, created, id): register a
 * vault; *id (may be NULL) receives its row id.  A vault id already
 * registered is refused.  Returns 0 or -1 (reported).
 */
int catalog_vault_add(struct catalog *, const char *, const char *,
    const char *, time_t, long long *);

/*
 * catalog_vault_list(cat, vaults, n): every vault, oldest first, as a
 * newly allocated array (caller frees with catalog_vault_list_free).
 * Returns 0 or -1 (reported).
 */
int catalog_vault_list(struct catalog *, struct catalog_vault **, size_t *);
void catalog_vault_list_free(struct catalog_vault *, size_t);

/*
 * catalog_vault_find(cat, vault_id, out): look up a vault by vault id.
 * Returns 1 and fills *out (caller frees with catalog_vault_clear), 0 when
 * there is no such vault, or -1 (reported).
 */
int catalog_vault_find(struct catalog *, const char *, struct catalog_vault *);
void catalog_vault_clear(struct catalog_vault *);

/* ---------------------------------------------------------------- events */

/*
 * An audit event row.  time is "YYYY-MM-DDTHH:MM:SSZ"; details a JSON
 * object text; prev_hash and hash 64 lower-case hex digits.  site and
 * object may be NULL.  Rows read back are newly allocated (caller frees
 * with catalog_event_clear); any field of a tampered row may be NULL.
 */
struct catalog_event {
	long long seq;
	char *time;
	char *operator_name;
	char *host;
	char *site;
	char *action;
	char *object;
	char *details;
	char *prev_hash;
	char *hash;
};

/* Filters for catalog_event_foreach; NULL fields match everything. */
struct catalog_event_filter {
	const char *since;  /* "YYYY-MM-DDTHH:MM:SSZ": at or after */
	const char *action; /* glob pattern (* ? [...]), as SQLite GLOB */
	const char *object; /* glob pattern */
};

/*
 * catalog_event_insert(cat, ev): store ev with its seq, prev_hash and
 * hash as given (audit.c computes them).  Returns 0 or -1 (reported; a
 * full disk is named as such).
 */
int catalog_event_insert(struct catalog *, const struct catalog_event *);

/*
 * catalog_event_last(cat, ev): the event with the highest seq.  Returns 1
 * and fills *ev (caller frees with catalog_event_clear), 0 when there are
 * no events, or -1 (reported).
 */
int catalog_event_last(struct catalog *, struct catalog_event *);

/*
 * catalog_event_foreach(cat, filter, fn, arg): call fn(ev, arg) for each
 * event matching filter (may be NULL) in seq order; ev is valid only
 * during the call.  A non-zero return from fn stops the walk and is
 * returned.  Returns 0 when every event was visited, or -1 (reported).
 */
int catalog_event_foreach(struct catalog *, const struct catalog_event_filter *,
    int (*)(const struct catalog_event *, void *), void *);

/* catalog_event_count(cat, n): the number of events.  0 or -1. */
int catalog_event_count(struct catalog *, long long *);

/* catalog_event_clear(ev): free the strings of ev (not ev itself). */
void catalog_event_clear(struct catalog_event *);

/* ------------------------------------------------------------------ sets */

/*
 * A stored object of a set (table volumes): a volume, the manifest,
 * SHA256SUMS or RECOVERY.txt.  Rows read back are newly allocated.
 */
struct catalog_object {
	long long id;
	long long set_id;
	char *name;                     /* plain file name in the set dir */
	char *role;                     /* "volume", "manifest", "sums",
	                                   "recovery" */
	unsigned long long size;
	char sha256[65];                /* 64 lower-case hex digits */
	char payload_sha256[65];        /* "" when the object has none */
};

/*
 * A committed set as the catalog caches it.  For catalog_set_add the
 * caller owns every pointer; rows read back are newly allocated (release
 * with catalog_set_clear).  set_header_to_catalog (lib/set.h) fills one
 * from a parsed set.json.
 */
struct catalog_set {
	long long id;                   /* row id (filled by add/find/list) */
	long long vault;                /* vaults.id */
	char *host;
	char *label;
	char *job;
	char *level;                    /* "full", "diff", "incr" */
	char *kind;                     /* "backup", "pre-restore" */
	char **parents;                 /* labels, nearest first */
	size_t nparents;
	time_t created;
	int has_retain_until;
	time_t retain_until;
	int keep;
	long long audit_head_seq;
	char *audit_head;               /* 64 hex digits, or NULL */
	unsigned long long files;       /* entries in the manifest */
	unsigned long long bytes;       /* content bytes */
	char *header;                   /* set.json, exact text (may be NULL
	                                   in rows from schema v1) */
	char *signer;                   /* signer fingerprint, or NULL */
	struct catalog_object *objects; /* NULL from catalog_set_list */
	size_t nobjects;
};

/* Filters for catalog_set_list; 0 / NULL fields match everything. */
struct catalog_set_filter {
	long long vault;
	const char *host;
	const char *job;
	const char *kind;               /* "backup" or "pre-restore" */
	const char *level;
	const char *label;
};

/*
 * catalog_set_add(cat, s, id): insert set s (committed) and its objects;
 * *id (may be NULL) receives the row id.  Inside an open transaction
 * (catalog_begin) it joins it, so the backup engine commits the set row,
 * the cache update and the audit event (audit_append) together; outside
 * one it runs in its own.  A set already in the catalog (same vault, host
 * and label) is refused with errno EEXIST.  Returns 0 or -1 (reported).
 */
int catalog_set_add(struct catalog *, const struct catalog_set *,
    long long *);

/*
 * catalog_set_find(cat, vault, host, label, out): the set with that vault
 * row id, host and label, objects included.  Returns 1 and fills *out
 * (release with catalog_set_clear), 0 when absent, -1 (reported).
 */
int catalog_set_find(struct catalog *, long long, const char *,
    const char *, struct catalog_set *);

/* catalog_set_get(cat, id, out): the same by row id. */
int catalog_set_get(struct catalog *, long long, struct catalog_set *);

/* catalog_set_exists(cat, vault, host, label): 1, 0, or -1 (reported). */
int catalog_set_exists(struct catalog *, long long, const char *,
    const char *);

/*
 * catalog_set_list(cat, filter, sets, n): the sets matching filter (may
 * be NULL), oldest created first (then by row id), without their objects,
 * as a newly allocated array (release with catalog_set_list_free).
 * Returns 0 or -1 (reported).
 */
int catalog_set_list(struct catalog *, const struct catalog_set_filter *,
    struct catalog_set **, size_t *);
void catalog_set_list_free(struct catalog_set *, size_t);

/*
 * catalog_set_objects(cat, set_id, objects, n): the objects of a set in
 * insertion order (volumes first, as set.json lists them); release with
 * catalog_object_list_free.  Returns 0 or -1 (reported).
 */
int catalog_set_objects(struct catalog *, long long,
    struct catalog_object **, size_t *);
void catalog_object_list_free(struct catalog_object *, size_t);

/*
 * catalog_set_set_retention(cat, id, keep, has_retain_until,
 * retain_until): record a keep / retain-until change (coffer keep, holds).
 * Returns 0, or -1 (reported; ENOENT for an unknown id).
 */
int catalog_set_set_retention(struct catalog *, long long, int, int,
    time_t);

/*
 * catalog_set_verified(cat, id, when): record that coffer verify found
 * set id intact at when; when 0 clears the mark (the set was found
 * damaged).  Joins an open transaction, so the audit event "verify"
 * commits with it.  Returns 0, or -1 (reported; ENOENT for an unknown id).
 */
int catalog_set_verified(struct catalog *, long long, time_t);

/* catalog_set_verified_time(cat, id, when): when set id was last found
 * intact (*when 0: never).  0 or -1 (reported). */
int catalog_set_verified_time(struct catalog *, long long, time_t *);

/*
 * catalog_set_delete(cat, id): remove the set row with its objects and
 * copies (joins an open transaction like catalog_set_add).  Deleting an
 * absent id succeeds.  Returns 0 or -1 (reported).
 */
int catalog_set_delete(struct catalog *, long long);

/* catalog_set_clear(s): free what a read (or set_header_to_catalog) left
 * in s and zero it.  NULL does nothing. */
void catalog_set_clear(struct catalog_set *);

#endif
