#ifndef COFFER_TARGET_H
#define COFFER_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * target: where a vault lives (coffer-vault(5)).  Every vault read and write
 * goes through this small interface, so the local directory backend, S3 and
 * SFTP are interchangeable and backup, restore and checks never know which
 * one they talk to.
 *
 * Objects:
 * - An object is named by a path relative to the vault root, '/'-separated
 *   ("sets/web1/nightly-1/vol-0001.tar.zst.age").  A name is refused
 *   (EINVAL, reported) unless it is relative and clean: not empty, at most
 *   TARGET_NAME_MAX bytes, no leading or trailing '/', no empty, "." or ".."
 *   component, no backslash and no control character (bytes 0x01-0x1f and
 *   0x7f).  Names come from manifests and listings, so this is checked by
 *   every function, not trusted.
 * - Objects are written once and never replaced.  A put streams into a
 *   temporary object "NAME.<host>.<run>.part" and the commit makes it
 *   appear under NAME whole, or not at all; committing over an existing
 *   name fails with EEXIST and leaves the existing object untouched.  A
 *   name whose last component ends in ".part" cannot be put.
 * - When target_put_commit returns 0 the object is durable (local: file and
 *   directory fsynced), so committing objects in order is the commit order
 *   of coffer-vault(5): volumes, manifest, SHA256SUMS, RECOVERY.txt,
 *   set.json, and set.json.sig last.
 *
 * Errors are reported where they happen (warnp/warn0), naming the object
 * in quotes ("cannot read object 'sets/x/y': ..."), and errno is left set
 * to the cause where there is one.  Functions return 0 or a pointer on
 * success, -1 or NULL on failure, unless said otherwise.
 *
 * A struct target is used by one thread at a time; puts and readers of one
 * target may be open at the same time.
 */

#define TARGET_NAME_MAX 1024      /* bytes, without the NUL */
#define TARGET_RUN_ID_MAX 64      /* bytes, without the NUL */
#define TARGET_TO_END UINT64_MAX  /* target_get len: up to the end */

struct target;
struct target_put;
struct target_reader;

/* One entry of a listing.  The strings are valid during the callback. */
struct target_entry {
	const char *name;     /* relative to the vault root, '/'-separated */
	uint64_t size;        /* bytes */
	int64_t mtime;        /* seconds since the epoch, -1 if unknown */
	/* Filled by target_list_parts only (NULL elsewhere): */
	const char *object;   /* the name the part would have become */
	const char *host;     /* the host that wrote it */
	const char *run_id;   /* the run that wrote it */
};

/*
 * Callbacks.  write_fn(cookie, buf, len) receives data in order; it returns
 * 0 to go on or -1 to stop (it reports its own error).  list_fn(cookie, e)
 * returns 0 to go on; any other value stops the listing and is returned by
 * target_list.
 */
typedef int target_write_fn(void *, const void *, size_t);
typedef int target_list_fn(void *, const struct target_entry *);

/* target_list flags. */
enum target_list_flags {
	TARGET_LIST_PARTS = 1 << 0      /* include ".part" temporaries */
};

/*
 * The backend operations.  The generic functions below validate names and
 * arguments first, so a backend sees only valid names.  A backend sets
 * p->backend in put_begin and r->backend in open_read; put_commit and
 * put_abort release the backend's part of p (the generic code frees p
 * itself), reader_close likewise.  An op left NULL makes the generic
 * function fail with ENOTSUP, except get (done through open_read/read) and
 * sync_dir (a no-op).
 */
struct target_ops {
	const char *scheme;             /* "local", "s3", "sftp" */
	int (*put_begin)(struct target *, struct target_put *);
	int (*put_write)(struct target_put *, const void *, size_t);
	int (*put_commit)(struct target_put *);
	void (*put_abort)(struct target_put *);
	int (*get)(struct target *, const char *, uint64_t, uint64_t,
	    target_write_fn *, void *);
	int (*open_read)(struct target *, struct target_reader *, uint64_t);
	ssize_t (*read)(struct target_reader *, void *, size_t);
	void (*reader_close)(struct target_reader *);
	int (*head)(struct target *, const char *, uint64_t *);
	int (*list)(struct target *, const char *, int, target_list_fn *,
	    void *);
	int (*delete)(struct target *, const char *);
	int (*sync_dir)(struct target *, const char *);
	void (*free)(struct target *);  /* the backend state only */
};

/* A target: its operations and the backend's state. */
struct target {
	const struct target_ops *ops;
	char *url;          /* for messages: "/srv/vault", "s3://b/p" */
	char *host;         /* this host, as in part names */
	char *run_id;       /* this run, as in part names */
	void *backend;      /* the backend's state */
};

/* A put in progress (owned by the generic code). */
struct target_put {
	struct target *target;
	char *name;         /* the object's final name */
	char *part;         /* "NAME.<host>.<run>.part" */
	uint64_t size;      /* bytes written so far */
	int failed;         /* a write failed: only abort remains */
	void *backend;
};

/* A reader in progress (owned by the generic code). */
struct target_reader {
	struct target *target;
	char *name;
	uint64_t offset;    /* of the next byte read */
	uint64_t size;      /* the object's size (set by open_read) */
	void *backend;
};

/*
 * target_open_local(dir, host, run_id): a target on the local directory dir
 * (which must exist; coffer init creates vaults).  host is this host's
 * label (label_valid) and run_id this run's id ([A-Za-z0-9-]{1,64}, see
 * target_run_id_new); both go into part names.  host and run_id may be
 * NULL for a target that is only read (puts then fail with EINVAL).
 * Returns a target (free with target_free) or NULL (reported).
 */
struct target *target_open_local(const char *, const char *, const char *);

/*
 * target_new(ops, url, host, run_id): for backends: a target with ops, its
 * url, host and run_id copied (host and run_id checked as for
 * target_open_local; either may be NULL) and backend NULL, which the
 * caller sets.  NULL on failure (reported).
 */
struct target *target_new(const struct target_ops *, const char *,
    const char *, const char *);

/*
 * target_run_id_new(): a new run id "<pid>-<16 random hex digits>", newly
 * allocated (caller frees), or NULL (reported).
 */
char *target_run_id_new(void);

/*
 * target_run_id_pid(run_id): the pid in a run id made by target_run_id_new,
 * or -1 if run_id does not start with one.  Reconcile uses it to leave
 * alone the parts of a run of this host that is still alive.
 */
pid_t target_run_id_pid(const char *);

/* target_name_valid(name): 1 if name is a valid object name, else 0
 * (silent). */
int target_name_valid(const char *);

/* target_url(t): the target's URL or directory, for messages. */
const char *target_url(const struct target *);

/*
 * target_put_begin(t, name): start writing the new object name.  Fails if
 * name is invalid, or is a ".part" name, or t has no host/run id.  The
 * backend may fail early with EEXIST when name already exists (the local
 * backend does), but only the commit is authoritative.  Returns the put
 * (finish it with exactly one of target_put_commit or target_put_abort)
 * or NULL (reported).
 */
struct target_put *target_put_begin(struct target *, const char *);

/*
 * target_put_write(p, buf, len): append len bytes (buffered).  On failure
 * the put is spoiled: only target_put_abort remains (commit fails).
 */
int target_put_write(struct target_put *, const void *, size_t);

/*
 * target_put_commit(p): make the object appear under its name, whole and
 * durable.  Local: flush, fsync the part, link it to the name (EEXIST if
 * the name exists: the existing object is untouched), unlink the part,
 * fsync the directory.  Always frees p; on failure the part is removed.
 * Returns 0, or -1 (reported; errno EEXIST for an existing name).
 */
int target_put_commit(struct target_put *);

/* target_put_abort(p): discard the put and its part; frees p.  NULL does
 * nothing.  Never fails (a part it cannot remove is warned about and left
 * for reconcile). */
void target_put_abort(struct target_put *);

/* target_put_buf(t, name, buf, len): put a whole object from memory. */
int target_put_buf(struct target *, const char *, const void *, size_t);

/* target_put_file(t, name, path): put a whole object from the local file
 * path. */
int target_put_file(struct target *, const char *, const char *);

/*
 * target_get(t, name, offset, len, fn, cookie): pass the bytes
 * [offset, offset + len) of object name to fn, in order, in pieces of at
 * most 1 MiB; len TARGET_TO_END means up to the end.  A range that does not
 * lie within the object (offset > size, or offset + len > size) fails with
 * ERANGE before anything is passed; offset == size with len 0 or
 * TARGET_TO_END passes nothing and succeeds.  A missing object fails with
 * ENOENT.  Returns 0 or -1 (reported, except when fn stopped it).
 */
int target_get(struct target *, const char *, uint64_t, uint64_t,
    target_write_fn *, void *);

/*
 * target_get_small(t, name, max, buf, len): read the whole object name, of
 * at most max bytes, into a new NUL-terminated *buf (the caller frees it)
 * with its length in *len.  0, or -1 (reported; a larger object is named).
 */
int target_get_small(struct target *, const char *, size_t, char **,
    size_t *);

/*
 * target_open_read(t, name, offset): a streaming reader of object name from
 * offset (offset > size: ERANGE; missing: ENOENT).  Returns the reader
 * (close with target_reader_close) or NULL (reported).
 */
struct target_reader *target_open_read(struct target *, const char *,
    uint64_t);

/* target_read(r, buf, len): read up to len bytes; returns the count, 0 at
 * the end of the object, or -1 (reported). */
ssize_t target_read(struct target_reader *, void *, size_t);

/* target_reader_close(r): close and free; NULL does nothing. */
void target_reader_close(struct target_reader *);

/*
 * target_head(t, name, size): 1 if object name exists (its size in *size
 * when size is not NULL), 0 if it does not, -1 on error (reported).
 */
int target_head(struct target *, const char *, uint64_t *);

/*
 * target_list(t, prefix, flags, fn, cookie): call fn for every object whose
 * name starts with prefix (a plain string prefix, as S3's; "" or NULL for
 * all), recursively, in byte order of names.  ".part" temporaries are
 * skipped unless flags has TARGET_LIST_PARTS.  Entries that are not
 * regular files or whose names are not valid are skipped (local: with a
 * warning).  A prefix whose directory does not exist lists nothing.
 * Returns 0, -1 (reported), or fn's non-zero return value.
 */
int target_list(struct target *, const char *, int, target_list_fn *,
    void *);

/*
 * target_list_parts(t, host, fn, cookie): call fn for every ".part"
 * temporary written by host (NAME.<host>.<run>.part), with e->object,
 * e->host and e->run_id filled.  As hosts may contain dots, a part at the
 * vault root counts only when NAME is "coffer-vault.<digits>", and a part
 * under sets/, holds/, audit/ or catalog/ only when the next component is
 * host.  Returns as target_list.  The caller decides which runs are over
 * (this run's and live ones' parts are in use).
 */
int target_list_parts(struct target *, const char *, target_list_fn *,
    void *);

/*
 * target_delete(t, name): remove object name (a ".part" name too).  A
 * missing object is not an error (deletion is repeated after a crash).
 * Local: the directory is fsynced, and directories left empty are removed
 * up to the vault root.  Returns 0 or -1 (reported).
 */
int target_delete(struct target *, const char *);

/*
 * target_sync_dir(t, dir): make earlier commits and deletions in the
 * directory dir ("" for the vault root, a trailing '/' allowed; a missing
 * one is fine) durable.  Each commit and delete is already durable on
 * return in the local backend, so this is a safety net for backends that
 * batch; a no-op where a backend has nothing to do.  0 or -1 (reported).
 */
int target_sync_dir(struct target *, const char *);

/* target_free(t): close t and free it; NULL does nothing. */
void target_free(struct target *);

#endif
