#ifndef COFFER_MANIFEST_H
#define COFFER_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * manifest: the entries of a backup set as JSON Lines (coffer-vault(5),
 * manifest.jsonl.zst.age): one canonical JSON object (RFC 8785, lib/cjson)
 * a line, keys sorted, no spaces, "\n" after each.  The writer and reader
 * below work on plain byte callbacks; compression and encryption are
 * stacked by the caller (volume_blob_writer_new / volume_blob_reader_open
 * of lib/volume.h), so the manifest is read and written in constant memory.
 *
 * Keys of a line (all optional unless said):
 *   "path" (string) the raw path when it is valid UTF-8, else
 *   "path_b64" (padded base64 of the raw bytes); one of them is required.
 *       Paths are relative, '/'-separated, without leading or trailing
 *       '/', and have no empty, "." or ".." component and no NUL.
 *   "type" "file" | "dir" | "symlink" | "hardlink" | "fifo" | "chr" | "blk"
 *       (required, except on a "deleted" entry, where it may be absent).
 *       "hardlink" is a member of a hard-link group other than the one that
 *       carries the data; its "target" names that first member.
 *   "size" (number, bytes; files), "mode" (octal string "0644", with the
 *       setuid/setgid/sticky bits, at most "07777"), "uid", "gid"
 *       (numbers), "user", "group" (strings, absent when unknown),
 *   "mtime" (number, seconds since the epoch, may be negative) and
 *   "mtime_nsec" (number 0..999999999): a single nanosecond count does
 *       not fit in the 2^53 integer range of canonical JSON.
 *   "sha256" (64 lower-case hex digits; files).
 *   "target" / "target_b64": a symlink's target (any bytes but NUL, not
 *       empty), or for "hardlink" the path of the group's first member
 *       (a valid path); "target_b64" when not valid UTF-8.
 *   "link_group" (number >= 1): shared by the members of a hard-link group.
 *   "devmajor", "devminor" (numbers; chr and blk).
 *   "volume" (number >= 1): the volume holding the entry (3 for
 *       vol-0003.tar.zst.age).
 *   "in" (a set label): for an unchanged file of a diff or incr set, the
 *       set whose volumes hold its data (then no "volume").
 *   "deleted" (true): in a diff or incr set, a path its parent had and
 *       that is gone.
 *   "parts": for a file split across volumes, an array of
 *       {"volume", "offset", "size", "sha256"} in order; part i (from 1)
 *       of n is stored in the tar as manifest_part_name(path, i, n).
 * Unknown keys are ignored by the parser (newer writers may add some).
 */

/* The longest line the reader accepts, without the "\n". */
#define MANIFEST_LINE_MAX ((size_t)4 << 20)
/* The longest path or link target, in raw bytes. */
#define MANIFEST_PATH_MAX 65535

enum manifest_type {
	MANIFEST_NONE = 0,      /* only on a deleted entry: type unknown */
	MANIFEST_FILE,
	MANIFEST_DIR,
	MANIFEST_SYMLINK,
	MANIFEST_HARDLINK,
	MANIFEST_FIFO,
	MANIFEST_CHR,
	MANIFEST_BLK,
};

/* One part of a split file. */
struct manifest_part {
	uint32_t volume;        /* >= 1 */
	uint64_t offset;        /* of the part in the whole file */
	uint64_t size;          /* bytes of the part */
	int has_sha256;
	uint8_t sha256[32];     /* of the part's bytes */
};

/*
 * A manifest entry.  Presence flags say which optional fields are set.
 * Entries filled by manifest_entry_parse or manifest_reader_next own their
 * memory (release with manifest_entry_clear); entries a caller builds for
 * manifest_entry_to_json or manifest_writer_add point at the caller's
 * memory and are never freed by this module.
 */
struct manifest_entry {
	char *path;             /* raw bytes, NUL-terminated for convenience */
	size_t path_len;        /* bytes, without the NUL */
	enum manifest_type type;
	int deleted;
	int has_size;
	uint64_t size;
	int has_mode;
	uint32_t mode;          /* permission bits, & 07777 */
	int has_owner;          /* uid and gid set */
	uint32_t uid, gid;
	char *user;             /* NULL when unknown */
	char *group;            /* NULL when unknown */
	int has_mtime;
	int64_t mtime;          /* seconds */
	uint32_t mtime_nsec;    /* 0..999999999 */
	int has_sha256;
	uint8_t sha256[32];
	char *target;           /* symlink target / hardlink first member */
	size_t target_len;      /* bytes; target NUL-terminated, or NULL */
	uint64_t link_group;    /* 0: none */
	int has_dev;
	uint32_t devmajor, devminor;
	uint32_t volume;        /* 0: none */
	char *in;               /* a set label, or NULL */
	struct manifest_part *parts;
	size_t nparts;
};

/* manifest_type_name(t): "file", "dir", ...; NULL for MANIFEST_NONE. */
const char *manifest_type_name(enum manifest_type);

/* manifest_type_parse(s): the type named s, or MANIFEST_NONE (silent). */
enum manifest_type manifest_type_parse(const char *);

/*
 * manifest_path_valid(p, len): 1 if the len raw bytes at p are a valid
 * manifest path (not empty, at most MANIFEST_PATH_MAX bytes, relative, no
 * NUL, no empty, "." or ".." component), else 0.  Silent.
 */
int manifest_path_valid(const void *, size_t);

/*
 * manifest_utf8_valid(p, len): 1 if the bytes are strict UTF-8 (no
 * overlong forms, no surrogates, nothing above U+10FFFF, no NUL), else 0.
 */
int manifest_utf8_valid(const void *, size_t);

/*
 * manifest_part_name(path, len, i, n, outlen): the tar member name of part
 * i (1..n) of a split file: "PATH.coffer-part-IIII-of-NNNN", both numbers
 * zero-padded to the width of n, at least 4 digits.  Newly allocated
 * (caller frees; raw bytes, NUL-terminated, *outlen may be NULL), or NULL
 * (reported).
 */
char *manifest_part_name(const void *, size_t, uint32_t, uint32_t,
    size_t *);

/* manifest_entry_init(e): zero e (every field absent). */
void manifest_entry_init(struct manifest_entry *);

/* manifest_entry_clear(e): free what a parse left in e and zero it.
 * Only for entries filled by this module. */
void manifest_entry_clear(struct manifest_entry *);

/*
 * manifest_entry_to_json(e, len): e as one line of canonical JSON (keys
 * sorted, no spaces), newly allocated (caller frees), NUL-terminated,
 * WITHOUT the trailing newline; *len (may be NULL) receives its length.
 * The entry is checked first (path and target valid, type given unless
 * deleted, numbers within 2^53 - 1, mode <= 07777, nsec < 1e9, labels
 * valid): NULL (reported) when it would not parse back.
 */
char *manifest_entry_to_json(const struct manifest_entry *, size_t *);

/*
 * manifest_entry_append_json(e, buf, len, cap): append the line
 * manifest_entry_to_json would give for e (no newline) to the caller's
 * growing buffer *buf of *cap bytes, *len of them used; *buf may be NULL
 * with *len and *cap 0.  The buffer grows with realloc as needed (*buf
 * and *cap updated; the caller frees it) and stays NUL-terminated.
 * Returns 0 with *len advanced, or -1 (reported, as for
 * manifest_entry_to_json) with *len and the text before it unchanged.
 */
int manifest_entry_append_json(const struct manifest_entry *, char **,
    size_t *, size_t *);

/*
 * manifest_entry_parse(line, len, lineno, e): parse one line (without its
 * "\n") into e (initialised here; release with manifest_entry_clear).
 * Every field is type-checked, unknown keys ignored, paths validated.
 * Returns 0, or -1 with e cleared and a message naming lineno ("manifest
 * line 12: invalid path \"../x\""); lineno 0 omits the number.
 */
int manifest_entry_parse(const char *, size_t, unsigned long long,
    struct manifest_entry *);

/* Byte callbacks (the same shapes as target_write_fn / volume_read_fn):
 * write all of len or return -1 (reported by the callback); read up to
 * len bytes, 0 at the end, -1 on error (reported by the callback). */
typedef int manifest_write_fn(void *, const void *, size_t);
typedef ssize_t manifest_read_fn(void *, void *, size_t);

/* A streaming writer: entries in, JSON lines out. */
struct manifest_writer;

/* manifest_writer_new(fn, cookie): a writer sending its bytes to fn.
 * NULL on allocation failure (reported). */
struct manifest_writer *manifest_writer_new(manifest_write_fn *, void *);

/* manifest_writer_add(w, e): write e as one line.  0, or -1 (reported;
 * the writer is then spoiled and every later call fails). */
int manifest_writer_add(struct manifest_writer *,
    const struct manifest_entry *);

/* manifest_writer_finish(w): flush what is buffered.  0 or -1.  The
 * writer must still be freed. */
int manifest_writer_finish(struct manifest_writer *);

/* manifest_writer_count(w): the number of entries added. */
unsigned long long manifest_writer_count(const struct manifest_writer *);

/* manifest_writer_free(w): free w (NULL does nothing). */
void manifest_writer_free(struct manifest_writer *);

/* A streaming reader: bytes in, entries out, one line in memory. */
struct manifest_reader;

/* manifest_reader_new(fn, cookie): a reader pulling bytes from fn.  NULL
 * on allocation failure (reported). */
struct manifest_reader *manifest_reader_new(manifest_read_fn *, void *);

/*
 * manifest_reader_next(r, e): the next entry into e (initialised here,
 * release with manifest_entry_clear before the next call or after).
 * Returns 1 with an entry, 0 at the end, -1 on error (reported: a read
 * error, a line longer than MANIFEST_LINE_MAX, a bad line or a last line
 * without "\n", naming the line number).  Blank lines are errors.
 */
int manifest_reader_next(struct manifest_reader *, struct manifest_entry *);

/* manifest_reader_line(r): the number of the last line read (from 1). */
unsigned long long manifest_reader_line(const struct manifest_reader *);

/* manifest_reader_free(r): free r (NULL does nothing). */
void manifest_reader_free(struct manifest_reader *);

#endif
