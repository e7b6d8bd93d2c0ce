#ifndef COFFER_SCAN_H
#define COFFER_SCAN_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Sorted tree walk for backup.
 *
 * ARCHIVE PATHS.  An entry's archive path is its absolute source path
 * without the leading '/': raw bytes (any byte but NUL and '/' inside a
 * name, so newlines and invalid UTF-8 are allowed), '/' separated, no "."
 * or ".." components, never empty.  The root directory "/" itself has the
 * empty archive path and is never reported (its children are).
 *
 * SOURCES.  scan_add_source takes absolute or relative paths; a relative
 * path is made absolute against the current directory at the time of the
 * call.  The path is then normalised: "//" and "." components are dropped,
 * the parent directory is resolved with realpath(3) (so ".." and symlinks
 * in the parent are followed), and the last component is kept as given, so
 * a source that is itself a symlink is recorded as the symlink (as tar and
 * restic do without -h).  A source inside another source is dropped (its
 * entries are reported once, under the outer one); duplicates too.
 *
 * VISIT ORDER.  Entries come in a strictly increasing order under
 * scan_path_cmp, which compares archive paths byte by byte as unsigned
 * char, with '/' ranked below every other byte, and a proper prefix first.
 * Because names contain no '/' and no NUL, this is the same as: compare
 * component by component, each component by memcmp (shorter first on a
 * common prefix), an ancestor before its descendants.  It is exactly the
 * order of a depth-first walk that visits a directory, then its entries
 * sorted by name bytes, each entry's subtree before the next entry:
 *	"a" < "a/b" < "a/b/c" < "a.b" < "aa" < "b" < "\xff"
 * ("a/b" before "a.b" although '/' (0x2f) > '.' (0x2e) in plain memcmp).
 * Several sources are walked in this order of their archive paths, so the
 * whole run is one sorted stream: the state cache (statecache.h) is written
 * and merge-joined in this same order in one streaming pass.
 *
 * EXCLUDES (scan_add_exclude, scan_add_exclude_file), as restic and tar:
 *  - a pattern without '/' matches the base name of an entry at any depth
 *    ("*.tmp", "node_modules", ".cache");
 *  - a pattern starting with '/' matches the whole absolute path
 *    ("/home/?*" + "/.cache" matches /home/alice/.cache);
 *  - a pattern containing '/' but not starting with it matches any trailing
 *    run of whole components ("build/" + "*.o" matches /src/x/build/a.o, as
 *    if it began with "**" + "/");
 *  - a trailing '/' makes the pattern match directories only ("tmp/");
 *  - '*' and '?' never match '/'; "**" as a whole component matches zero
 *    or more components ("/srv/" + "**" + "/cache" matches /srv/cache and
 *    /srv/a/b/cache; the examples are split so as not to close this
 *    comment); '[...]' is a byte class with
 *    ranges and '!' or '^' negation; '\' escapes the next byte.
 * An excluded directory is not reported and not entered.  A source root
 * that matches is skipped as a whole.
 *
 * NEVER-BACKED-UP PATHS (scan_add_never): the coffer home, the local
 * vaults, mounted media.  They are compared by (st_dev, st_ino), taken
 * with stat(2) when added (following symlinks), so any spelling or alias
 * of them is caught.  A matching entry (or a source inside one) is not
 * reported and not entered; it is counted and noted (SCAN_NOTE_NEVER).
 *
 * SCAN_ONE_FS: a directory on another device than its source root is
 * reported (flag SCAN_ENTRY_XDEV) but not entered (as GNU tar records the
 * mount point), noted SCAN_NOTE_XDEV.
 *
 * SCAN_EXCLUDE_CACHES: a directory holding a regular file CACHEDIR.TAG
 * whose first 43 bytes are "Signature: 8a477f597d28d172789f06886806bc55"
 * is reported (flag SCAN_ENTRY_CACHEDIR) with its CACHEDIR.TAG, and none
 * of its other entries (as tar --exclude-caches), noted SCAN_NOTE_CACHEDIR.
 *
 * Sockets are skipped and counted (SCAN_NOTE_SOCKET).  Entries that vanish
 * between readdir and lstat are skipped and counted (SCAN_NOTE_VANISHED).
 * A directory that cannot be opened or read is still reported itself, its
 * contents are skipped, and the error is noted (SCAN_NOTE_UNREADABLE); with
 * no note callback it is reported through warning().  None of these stop
 * the walk.  A missing or unreadable source root is noted the same way.
 *
 * MEMORY AND DESCRIPTORS.  Independent of the tree size: the current path,
 * and for each directory on the current path its sorted names (the whole
 * directory is read and sorted before its first entry is reported) and one
 * open descriptor.  The depth is therefore bounded by RLIMIT_NOFILE (deeper
 * directories are noted SCAN_NOTE_UNREADABLE with EMFILE).
 *
 * RACES.  Everything is done relative to directory descriptors (openat,
 * fstatat with AT_SYMLINK_NOFOLLOW, fdopendir, readlinkat) and directories
 * are opened O_NOFOLLOW and checked against their lstat (dev, ino) before
 * being entered, so a directory swapped for a symlink is never followed.
 */

struct scan;

/*
 * SCAN_ONE_FS: do not enter other devices; SCAN_EXCLUDE_CACHES: honour
 * CACHEDIR.TAG; SCAN_PARENTS: also report the ancestor directories of
 * each source root (flag SCAN_ENTRY_PARENT), each once, in order.
 */
enum scan_flags {
	SCAN_ONE_FS = 1 << 0,
	SCAN_EXCLUDE_CACHES = 1 << 1,
	SCAN_PARENTS = 1 << 2
};

enum scan_type {
	SCAN_REG = 1,
	SCAN_DIR,
	SCAN_SYMLINK,
	SCAN_FIFO,
	SCAN_CHR,
	SCAN_BLK
};

/*
 * Flags of one entry (struct scan_entry.flags): ROOT a source root;
 * PARENT an ancestor of one (SCAN_PARENTS); XDEV a directory on another
 * file system, not entered; CACHEDIR a directory with a valid CACHEDIR.TAG;
 * UNREADABLE a directory whose contents were skipped.
 */
enum scan_entry_flags {
	SCAN_ENTRY_ROOT = 1 << 0,
	SCAN_ENTRY_PARENT = 1 << 1,
	SCAN_ENTRY_XDEV = 1 << 2,
	SCAN_ENTRY_CACHEDIR = 1 << 3,
	SCAN_ENTRY_UNREADABLE = 1 << 4
};

/*
 * One entry, valid only during the callback (copy what you keep).
 * path/pathlen: the archive path (NUL-terminated too, never empty).
 * abspath: the absolute source path ("/" + path), NUL-terminated.
 * name/namelen: the last component (points into path).
 * dirfd: an open descriptor of the directory holding the entry (for a
 * source root or a SCAN_PARENTS entry, its parent opened O_PATH): read a
 * file with openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) and
 * compare fstat's (st_dev, st_ino) with st to be race-free.  Valid only
 * during the callback.
 * st: lstat(2) of the entry; hard links are grouped by (st_dev, st_ino)
 * when st_nlink > 1 (for directories st_nlink means nothing).
 * link/linklen: the symlink target for SCAN_SYMLINK (NUL-terminated;
 * raw bytes), else NULL/0.
 * depth: 0 for a source root (and SCAN_PARENTS entries), 1 for its
 * entries, and so on.
 */
struct scan_entry {
	const char *path;
	size_t pathlen;
	const char *abspath;
	const char *name;
	size_t namelen;
	int dirfd;
	struct stat st;
	enum scan_type type;
	const char *link;
	size_t linklen;
	unsigned int flags;
	unsigned int depth;
};

/*
 * Why something was skipped or not entered (the note callback): SOCKET a
 * socket, skipped; VANISHED gone between readdir and lstat (or replaced),
 * skipped; UNREADABLE cannot open or read (err set), contents skipped;
 * EXCLUDED matched a pattern; NEVER the coffer home, a vault, a medium;
 * XDEV another file system, not entered; CACHEDIR contents not entered.
 */
enum scan_note {
	SCAN_NOTE_SOCKET = 1,
	SCAN_NOTE_VANISHED,
	SCAN_NOTE_UNREADABLE,
	SCAN_NOTE_EXCLUDED,
	SCAN_NOTE_NEVER,
	SCAN_NOTE_XDEV,
	SCAN_NOTE_CACHEDIR
};

/* Counters after (or during) scan_run. */
struct scan_stats {
	uint64_t entries;	/* reported through the entry callback */
	uint64_t files, dirs, symlinks, others;
	uint64_t bytes;		/* sum of st_size of regular files */
	uint64_t sockets, vanished, unreadable, excluded, never, xdev,
	    cachedirs;
};

/*
 * scan_entry_fn(cookie, entry): called once per entry in visit order.
 * Return 0 to continue; any other value stops the walk and scan_run
 * returns it.
 */
typedef int scan_entry_fn(void *, const struct scan_entry *);

/*
 * scan_note_fn(cookie, note, path, pathlen, err): something was skipped;
 * path is the archive path (not NUL-safe to print raw: it may hold any
 * byte), err an errno value or 0.  May be NULL in scan_run: then only
 * SCAN_NOTE_UNREADABLE is reported, through warning().
 */
typedef void scan_note_fn(void *, enum scan_note, const char *, size_t,
    int);

/* scan_new(flags): a new walker with enum scan_flags; NULL on error. */
struct scan *scan_new(unsigned int);

/* scan_free(s): release s; NULL does nothing. */
void scan_free(struct scan *);

/*
 * scan_add_source(s, path): add a source (see SOURCES above).  Returns 0,
 * or -1 (reported) if the path is empty, or its parent cannot be resolved.
 * A source that does not exist is not an error here: scan_run notes it
 * SCAN_NOTE_UNREADABLE with ENOENT.
 */
int scan_add_source(struct scan *, const char *);

/* scan_add_exclude(s, pattern): add an exclude pattern. 0 or -1. */
int scan_add_exclude(struct scan *, const char *);

/*
 * scan_add_exclude_file(s, file): add the patterns of file, one a line;
 * blank lines and lines whose first non-blank byte is '#' are ignored, a
 * trailing "\r" and trailing blanks are removed (escape a trailing blank
 * with '\').  Returns 0, or -1 (reported) if the file cannot be read.
 */
int scan_add_exclude_file(struct scan *, const char *);

/*
 * scan_add_never(s, path): never report path nor anything under it,
 * however spelled (compared by device and inode, stat(2) following
 * symlinks).  A path that does not exist is ignored (returns 0).  Returns
 * 0, or -1 (reported) on another stat error.
 */
int scan_add_never(struct scan *, const char *);

/*
 * scan_run(s, entry, note, cookie): walk every source in visit order.
 * Returns 0 when the walk completed (possibly with notes), the non-zero
 * value an entry callback returned, or -1 (reported) on a fatal error
 * (out of memory).  Run once per struct scan.
 */
int scan_run(struct scan *, scan_entry_fn *, scan_note_fn *, void *);

/* scan_get_stats(s): counters of the last run (never NULL). */
const struct scan_stats *scan_get_stats(const struct scan *);

/*
 * scan_path_cmp(a, alen, b, blen): compare two archive paths in visit
 * order; <0, 0 or >0.  Agrees with the order of scan_run and the state
 * cache.
 */
int scan_path_cmp(const char *, size_t, const char *, size_t);

/*
 * scan_glob_match(pattern, path, isdir): 1 if the exclude pattern matches
 * the archive path path (NUL-terminated, no leading '/') of an entry (a
 * directory when isdir), else 0, with the rules of EXCLUDES above.
 */
int scan_glob_match(const char *, const char *, int);

/*
 * scan_cachedir_tag_valid(dirfd): 1 if the directory open as dirfd holds a
 * valid CACHEDIR.TAG (regular file, not a symlink, starting with the
 * 43-byte signature), else 0.
 */
int scan_cachedir_tag_valid(int);

#endif
