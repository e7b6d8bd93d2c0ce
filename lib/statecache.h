#ifndef COFFER_STATECACHE_H
#define COFFER_STATECACHE_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Local file-state cache for change detection (DESIGN.md, "Sets").
 *
 * FILES.  <home>/cache/<vault-id>/<job>/full.cache is the state as of the
 * last full set, <home>/cache/<vault-id>/<job>/last.cache as of the last
 * set of any level.  A diff compares against full.cache, an incr against
 * last.cache.  After a full commits, both are replaced (by hard links to
 * one new file); after an incr or diff only last.cache.  The directory is
 * created 0700, the files 0600.
 *
 * WHEN.  A new cache is written to a temporary file during the backup and
 * statecache_commit (fsync, atomic rename, fsync of the directory) is
 * called only after set.json.sig and the catalog transaction committed: a
 * crash before that keeps the old cache.  A missing or damaged cache
 * (STATECACHE_MISSING, STATECACHE_DAMAGED) means the caller makes a full.
 * The header names the set the cache describes: if that is not the set
 * the new one would chain to (pruned, forgotten, a crash between catalog
 * and cache commit), the caller must also treat the cache as lost.
 *
 * FORMAT v1 (all integers big-endian, unsigned unless said):
 *   text header, one "key value\n" line each, in this order:
 *	"coffer-statecache 1\n"
 *	"vault <vault-id>\n"
 *	"job <job>\n"
 *	"set <set label>\n"
 *	"scan-start <decimal ns since the epoch, signed>\n"
 *	"\n"
 *   then records, each:
 *	u8 'R', u32 path length (1..65535), path bytes (archive path, raw),
 *	u32 mode, u32 uid, u32 gid, u64 size, i64 mtime_ns, i64 ctime_ns,
 *	u64 ino, u64 dev, u8 has_sha256 (0/1), 32 bytes sha256 (zero when
 *	has_sha256 is 0), u8 `in` length (0..255), `in` bytes
 *   in strictly increasing scan_path_cmp order (scan.h), then the trailer:
 *	u8 'E', u64 record count, 32 bytes SHA-256 of every byte before the
 *	trailer's digest (header, records, 'E' and the count).
 * Damage (truncation, any flipped byte, trailing garbage, records out of
 * order) is detected when the reader is opened: statecache_open reads the
 * file once to check the trailer, then streams it again from the same
 * descriptor (constant memory, no full load).
 *
 * THE RACY RULE (as git's racy-clean index): a file whose mtime or ctime
 * is at or after the scan-start of the cached scan may have been changed
 * again within the timestamp granularity while that scan read it, so it is
 * re-read.  Take scan_start with clock_gettime(CLOCK_REALTIME) right before
 * the walk starts (not clock_now(): file times come from the real clock).
 */

#define STATECACHE_IN_MAX	255
#define STATECACHE_SHA256_LEN	32

/*
 * Which copy (statecache_open, statecache_commit; combinable for commit):
 * FULL is full.cache, as of the last full; LAST is last.cache, as of the
 * last set.
 */
enum statecache_which {
	STATECACHE_FULL = 1 << 0,
	STATECACHE_LAST = 1 << 1
};

/*
 * Results of statecache_open besides -1 (I/O error, reported): MISSING no
 * cache (not reported), DAMAGED a bad one (reported); both mean a full.
 */
enum statecache_status {
	STATECACHE_OK = 0,
	STATECACHE_MISSING = 1,
	STATECACHE_DAMAGED = 2
};

/*
 * One file's state.  path is the archive path (raw bytes, pathlen of
 * them, NUL-terminated too).  sha256 is the content hash of a regular file
 * (or whatever the engine stores, e.g. of a symlink target), valid when
 * has_sha256.  in: the set label (or "set/volume") holding the data,
 * NUL-terminated, at most STATECACHE_IN_MAX bytes, no NUL inside.
 */
struct statecache_rec {
	const char *path;
	size_t pathlen;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t ino;
	uint64_t dev;
	int has_sha256;
	uint8_t sha256[STATECACHE_SHA256_LEN];
	char in[STATECACHE_IN_MAX + 1];
};

/* The header of a cache file (strings NUL-terminated, owned by the reader). */
struct statecache_header {
	const char *vault_id;
	const char *job;
	const char *set_label;
	int64_t scan_start_ns;
	uint64_t count;		/* number of records */
};

struct statecache_reader;
struct statecache_writer;

/*
 * statecache_deleted_fn(cookie, rec): a cached entry that the new scan did
 * not reach (deleted, or now excluded).  Return 0 to go on, non-zero to
 * stop (the calling function then returns -1).
 */
typedef int statecache_deleted_fn(void *, const struct statecache_rec *);

/*
 * statecache_path(home, vault_id, job, which): the file name of one copy
 * (which is STATECACHE_FULL or STATECACHE_LAST); caller frees; NULL on
 * error (reported).  vault_id and job must be non-empty, with no '/',
 * not "." or "..".
 */
char *statecache_path(const char *, const char *, const char *,
    enum statecache_which);

/*
 * statecache_open(home, vault_id, job, which, r): open one copy for a
 * merge-join and verify it whole.  Returns STATECACHE_OK with *r set,
 * STATECACHE_MISSING (no file), STATECACHE_DAMAGED (reported with
 * warning(); also when the header's vault or job differ from the
 * arguments), or -1 (I/O error, reported).  *r is NULL unless OK.
 */
int statecache_open(const char *, const char *, const char *,
    enum statecache_which, struct statecache_reader **);

/* statecache_open_file(path, r): the same for a given file name. */
int statecache_open_file(const char *, struct statecache_reader **);

/* statecache_header(r): the header of an open cache (owned by r). */
const struct statecache_header *statecache_header(
    const struct statecache_reader *);

/*
 * statecache_lookup_next(r, path, len, rec, deleted, cookie): advance the
 * merge-join to the archive path path (len bytes).  Paths must be given in
 * strictly increasing scan_path_cmp order (the scan's visit order).
 * Every cached record before path is passed to deleted (may be NULL).
 * Returns 1 and sets *rec (owned by r, valid until the next call on r)
 * when path is cached, 0 and sets *rec to NULL when it is not (a new
 * entry), -1 on an I/O error, an out-of-order path, or when deleted asked
 * to stop (reported unless deleted stopped it).
 */
int statecache_lookup_next(struct statecache_reader *, const char *, size_t,
    const struct statecache_rec **, statecache_deleted_fn *, void *);

/*
 * statecache_finish(r, deleted, cookie): pass every record not yet
 * reached to deleted (the end of the scan).  Returns 0 or -1.
 */
int statecache_finish(struct statecache_reader *, statecache_deleted_fn *,
    void *);

/* statecache_close(r): close r; NULL does nothing. */
void statecache_close(struct statecache_reader *);

/*
 * statecache_writer_new(home, vault_id, job, set_label, scan_start_ns, w):
 * start a new cache for the set set_label whose scan started at
 * scan_start_ns, in a temporary file next to the copies (directories
 * created as needed; temporary files left there by a crashed run are
 * removed: call it holding the vault and job lock).  Returns 0 with *w
 * set, or -1 (reported).
 */
int statecache_writer_new(const char *, const char *, const char *,
    const char *, int64_t, struct statecache_writer **);

/*
 * statecache_writer_new_file(path, vault_id, job, set_label,
 * scan_start_ns, w): the same with an explicit final file name (the
 * temporary file is path.tmp-PID); commit then replaces path alone.
 */
int statecache_writer_new_file(const char *, const char *, const char *,
    const char *, int64_t, struct statecache_writer **);

/*
 * statecache_write(w, rec): append one record.  Records must come in
 * strictly increasing scan_path_cmp order; pathlen 1..65535 with no NUL;
 * in at most STATECACHE_IN_MAX bytes.  Returns 0 or -1 (reported; w then
 * refuses everything but statecache_writer_abort).
 */
int statecache_write(struct statecache_writer *, const struct statecache_rec *);

/*
 * statecache_commit(w, which): write the trailer, fsync, and atomically
 * replace the copies named by which (STATECACHE_FULL | STATECACHE_LAST
 * after a full, STATECACHE_LAST after an incr or diff; ignored for a
 * writer from statecache_writer_new_file), then fsync the directory.
 * Frees w in every case.  Returns 0, or -1 (reported; the old copies are
 * kept unless the failure came between the two renames, which leaves the
 * copies naming different sets: see WHEN above).
 */
int statecache_commit(struct statecache_writer *, unsigned int);

/* statecache_writer_abort(w): drop the temporary file, free w; NULL ok. */
void statecache_writer_abort(struct statecache_writer *);

/*
 * statecache_remove(home, vault_id, job): delete both copies (so the next
 * backup of the job is a full).  Returns 0 (also when absent) or -1.
 */
int statecache_remove(const char *, const char *, const char *);

/*
 * statecache_rec_from_stat(rec, st): fill mode, uid, gid, size, mtime_ns,
 * ctime_ns, ino and dev of rec from st (path, sha256 and in untouched).
 */
void statecache_rec_from_stat(struct statecache_rec *, const struct stat *);

/*
 * statecache_changed(rec, st, scan_start_ns): 1 if the file with lstat st
 * must be read again: size, mtime, ctime, inode, mode, uid or gid differ
 * from rec, or st's mtime or ctime is at or after scan_start_ns (the
 * scan-start of the cache rec came from: the racy rule); else 0.  The
 * device is not compared (it may change across reboots, as git's
 * core.checkStat=default does not either); compare it yourself if needed.
 */
int statecache_changed(const struct statecache_rec *, const struct stat *,
    int64_t);

#endif
