#ifndef COFFER_VOLUME_H
#define COFFER_VOLUME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * volume: one backup volume, vol-NNNN.tar.zst.age (coffer-vault(5)): a
 * POSIX pax tar (libarchive, SCHILY xattr and ACL records) compressed with
 * zstd (checksum flag, window at most 2^27) and encrypted with age v1, so
 *
 *     age -d -i ID vol-0001.tar.zst.age | zstd -d | tar --xattrs --acls -xpf -
 *
 * restores it without coffer.  The writer runs the whole pipeline in one
 * streaming pass (zstd compresses in worker threads of its own) and hashes
 * every file's content, the whole object and the age payload on the way;
 * the reader decrypts, decompresses and walks the entries, extracting them
 * safely under a root directory.
 *
 * This module is coffer's only user of libarchive and libzstd.  Errors are
 * reported with warnp/warn0 where they happen, naming the volume and the
 * entry: "cannot read 'etc/passwd' for volume 'vol-0001.tar.zst.age': ...".
 *
 * Names in a volume are raw bytes (any byte string without NUL).  Valid
 * UTF-8 names are stored as UTF-8 pax records; other names are stored as
 * they are, under a pax "hdrcharset=BINARY" record (GNU tar 1.34 warns
 * that it does not know the keyword, and restores the name byte for
 * byte).
 */

struct age_recipients;
struct age_identities;

#define VOLUME_SHA256_LEN 32

/* Sinks and sources: write all of len or return -1; read up to len bytes,
 * 0 at the end, -1 on error.  Both report their own errors. */
typedef int volume_write_fn(void *, const void *, size_t);
typedef ssize_t volume_read_fn(void *, void *, size_t);

/*
 * volume_target_write(put, buf, len), volume_target_read(reader, buf,
 * len): target_put_write and target_read as a sink and a source, with a
 * struct target_put * or struct target_reader * as the cookie:
 *     volume_writer_new(&params, volume_target_write, put)
 *     volume_reader_open(ids, name, volume_target_read, reader, &st)
 */
int volume_target_write(void *, const void *, size_t);
ssize_t volume_target_read(void *, void *, size_t);

/* Entry types. */
enum volume_type {
	VOLUME_REG = 1,         /* regular file (data follows) */
	VOLUME_DIR,
	VOLUME_SYMLINK,         /* link: the target */
	VOLUME_HARDLINK,        /* link: the archive name linked to */
	VOLUME_FIFO,
	VOLUME_CHR,             /* rdev */
	VOLUME_BLK              /* rdev */
};

/* An extended attribute: name ("user.x") and a value of len bytes. */
struct volume_xattr {
	const char *name;
	const void *value;
	size_t len;
};

/* A data region of a sparse file. */
struct volume_sparse {
	uint64_t offset;
	uint64_t len;
};

/*
 * An entry's metadata.  Strings may be NULL where they do not apply
 * (uname/gname unknown, link for types without one, acl_* without an
 * extended ACL).  ACLs are POSIX.1e text as getfacl(1) and
 * acl_to_text(3) write it ("user::rw-,user:1000:r--,group::r--,mask::r--,
 * other::r--"), one for the access ACL and one for a directory's default
 * ACL.
 */
struct volume_entry {
	const char *path;               /* archive name, raw bytes */
	enum volume_type type;
	mode_t mode;                    /* permission bits, 07777 */
	uint64_t uid;
	uint64_t gid;
	const char *uname;
	const char *gname;
	int64_t mtime_ns;               /* nanoseconds since the epoch */
	uint64_t size;                  /* data bytes (regular files only) */
	const char *link;               /* symlink or hardlink target */
	dev_t rdev;                     /* character and block devices */
	const struct volume_xattr *xattrs;
	size_t nxattrs;
	const char *acl_access;
	const char *acl_default;
	const struct volume_sparse *sparse;     /* NULL: not sparse */
	size_t nsparse;
};

/* What the manifest needs of an entry the writer stored. */
struct volume_file_info {
	struct volume_entry entry;      /* strings owned by the writer, valid
					 * until the next volume_add_* call;
					 * xattrs, ACLs and sparse not set;
					 * a directory's path ends in '/' as
					 * stored; a hard link has its
					 * target's size */
	uint8_t sha256[VOLUME_SHA256_LEN];      /* the content stored (for a
					 * hard link, its target's); zero for
					 * types without data */
	dev_t dev;                      /* of the source file */
	ino_t ino;
	uint64_t nlink;
	int changed;                    /* size, mtime or ctime changed while
					 * it was read, or it shrank */
	int read_error;                 /* reading failed part way: the rest
					 * of its data was stored as zeros */
};

/* Writer parameters. */
struct volume_params {
	const char *name;       /* for messages: "vol-0001.tar.zst.age" */
	const struct age_recipients *recipients;
	int zstd_level;         /* 0: the default, 3 */
	int zstd_workers;       /* 0: one per online core; -1: none (compress
				 * in the calling thread) */
};

/* What a finished volume is, for set.json and SHA256SUMS. */
struct volume_result {
	uint64_t size;                          /* object bytes */
	uint8_t sha256[VOLUME_SHA256_LEN];      /* of the whole object */
	uint8_t payload_sha256[VOLUME_SHA256_LEN];  /* after the age header */
	uint64_t header_len;                    /* age header bytes */
	uint64_t tar_bytes;                     /* uncompressed tar bytes */
	uint64_t entries;                       /* tar entries */
};

struct volume_writer;
struct stat;

/*
 * volume_writer_new(params, write, cookie): start a volume; the age header
 * goes to write(cookie, ...) at once, the rest as it is produced.  The
 * recipients must outlive the writer.  Once the volume grows past its
 * first buffer, write is called from a second thread of the writer (one
 * call at a time, in order), so it must not rely on thread-local state or
 * on the caller's thread.  Returns the writer or NULL (reported).
 */
struct volume_writer *volume_writer_new(const struct volume_params *,
    volume_write_fn *, void *);

/*
 * volume_add_file(w, e, fd, sha256): store entry e; for a regular file its
 * e->size bytes of data are read once, sequentially, from fd (a file or a
 * pipe) and hashed as they are stored.  Data missing at the end (fd ended
 * early) is stored as zeros and reported.  sha256 (may be NULL) receives
 * the content hash for regular files, zeros otherwise.  Returns 0, 1 if
 * the entry could not be stored but the volume is intact (reported), or -1
 * if the volume is spoiled (reported; only volume_writer_free remains).
 */
int volume_add_file(struct volume_writer *, const struct volume_entry *, int,
    uint8_t[VOLUME_SHA256_LEN]);

/*
 * volume_add_path(w, abs_path, archive_name, sha256, info): store the file
 * at abs_path (not followed if a symlink) under archive_name, with its
 * metadata read from disk: owner and names, mode, mtime, xattrs, POSIX
 * ACLs, sparse map (file flags are not stored: GNU tar does not know
 * them).  A regular file whose inode was stored before in this volume
 * becomes a hard link to it.  Its data is read once and hashed as it is
 * stored.  sha256 and info (either may be NULL) receive what the manifest
 * needs.  Returns 0, 1 if the file was skipped (vanished, unreadable, a
 * socket; reported as a warning, nothing stored), or -1 if the volume is
 * spoiled (reported).
 */
int volume_add_path(struct volume_writer *, const char *, const char *,
    uint8_t[VOLUME_SHA256_LEN], struct volume_file_info *);

/*
 * volume_add_at(w, dirfd, name, abs_path, archive_name, st, sha256, info):
 * volume_add_path for an entry the caller has already lstat'ed as st (a
 * scan): a regular file is opened as name relative to dirfd (AT_FDCWD: a
 * path), O_NOFOLLOW, and fstat'ed once; if that is not the file st
 * describes (another inode, or another size, mtime or ctime) it is stored
 * as opened with info->changed set, as for a file changing while read.
 * abs_path names the entry in messages and is where the metadata of
 * other types is read from.  Returns as volume_add_path.
 */
int volume_add_at(struct volume_writer *, int, const char *, const char *,
    const char *, const struct stat *, uint8_t[VOLUME_SHA256_LEN],
    struct volume_file_info *);

/*
 * volume_add_part(w, abs_path, archive_name, offset, len, sha256, info):
 * store bytes [offset, offset + len) of the regular file abs_path as the
 * regular-file entry archive_name (the caller names it
 * "PATH.coffer-part-NNNN-of-MMMM").  The entry has the file's owner, mode
 * and mtime, no xattrs, ACLs or sparse map.  sha256 is that of the part;
 * info->changed tells whether the file changed while read.  Returns as
 * volume_add_path.
 */
int volume_add_part(struct volume_writer *, const char *, const char *,
    uint64_t, uint64_t, uint8_t[VOLUME_SHA256_LEN],
    struct volume_file_info *);

/*
 * volume_add_part_whole(w, abs_path, archive_name, offset, len, sha256,
 * info, whole): volume_add_part, also feeding the part's bytes (as stored,
 * padding included) into the caller's running hash whole (may be NULL), so
 * the parts of a file added in order give the whole file's SHA-256 without
 * reading it twice.
 */
struct crypto_sha256;
int volume_add_part_whole(struct volume_writer *, const char *, const char *,
    uint64_t, uint64_t, uint8_t[VOLUME_SHA256_LEN],
    struct volume_file_info *, struct crypto_sha256 *);

/*
 * volume_bytes_out(w): object bytes written to the sink so far.  zstd
 * holds back up to a few jobs (some MiB a worker) of input, so a caller
 * splitting volumes at a size limit should also look at
 * volume_bytes_in(w): the tar bytes fed so far.
 */
uint64_t volume_bytes_out(const struct volume_writer *);
uint64_t volume_bytes_in(const struct volume_writer *);

/*
 * volume_writer_finish(w, result): end the tar, the zstd frame and the age
 * stream, and fill result (may be NULL).  The writer remains to be freed.
 * Returns 0 or -1 (reported).
 */
int volume_writer_finish(struct volume_writer *, struct volume_result *);

/* volume_writer_free(w): free w; an unfinished volume is abandoned (the
 * sink has an incomplete object the caller discards).  NULL does nothing. */
void volume_writer_free(struct volume_writer *);

/* ---------------------------------------------------------------- read */

/* How reading a volume went. */
enum volume_status {
	VOLUME_OK = 0,
	VOLUME_ERROR,           /* I/O, memory, no matching identity */
	VOLUME_DAMAGED          /* the volume is damaged (age, zstd, tar) */
};

/* An entry read: its metadata (strings owned by the reader, valid until
 * the next volume_next) and where its header starts in the tar stream. */
struct volume_entry_info {
	struct volume_entry entry;      /* sparse not set */
	uint64_t offset;                /* tar offset of the entry's header */
};

/* volume_extract flags. */
enum volume_extract_flags {
	VOLUME_EXTRACT_NO_OWNER = 1 << 0,       /* keep the extracting uid */
	VOLUME_EXTRACT_NO_OVERWRITE = 1 << 1    /* refuse existing files */
};

struct volume_reader;

/*
 * volume_reader_open(ids, name, read, cookie, status): start reading the
 * volume named name (for messages) from read(cookie, ...); the age header
 * is read and opened.  ids must outlive the reader.  Returns the reader or
 * NULL (reported) with *status (may be NULL) telling VOLUME_ERROR (no
 * identity matches, I/O) from VOLUME_DAMAGED (a damaged header).
 */
struct volume_reader *volume_reader_open(const struct age_identities *,
    const char *, volume_read_fn *, void *, enum volume_status *);

/*
 * volume_next(r, info): go to the next entry and describe it.  Returns 1,
 * 0 at the end of the volume (after which the whole age stream and zstd
 * frame have been checked), or -1 (reported, naming the volume and offset;
 * volume_reader_status tells damage from other errors; the volume cannot
 * be read further, go on with the next one).
 */
int volume_next(struct volume_reader *, struct volume_entry_info *);

/*
 * volume_read_data(r, buf, len): read the current entry's data (holes of
 * sparse files as zeros).  Returns the count, 0 at its end, -1 (reported).
 */
ssize_t volume_read_data(struct volume_reader *, void *, size_t);

/*
 * volume_data_sha256(r, sha256): read (and hash) whatever is left of the
 * current entry's data and give the SHA-256 of all of it, including what
 * volume_read_data returned.  0 or -1 (reported).
 */
int volume_data_sha256(struct volume_reader *, uint8_t[VOLUME_SHA256_LEN]);

/*
 * volume_extract(r, dest_root, flags, sha256): extract the current entry
 * under the directory dest_root with its metadata (mode, times, ACLs,
 * xattrs, and the owner when running as root unless
 * VOLUME_EXTRACT_NO_OWNER).  Entries that would land outside dest_root
 * ("../x", "/abs", through a symlink, absolute hard links) are refused.
 * sha256 (may be NULL) receives the hash of the data written (regular
 * files; zeros otherwise).  Directory times and modes are set when the
 * reader is finished or freed.  Returns 0, 1 if the entry was refused or
 * could not be created (reported, counted in volume_reader_failed; go on),
 * or -1 (reported; as volume_next).
 *
 * While it runs, the working directory is dest_root (restored on return)
 * and libarchive changes the umask: no other thread may create files or
 * use relative paths meanwhile.
 */
int volume_extract(struct volume_reader *, const char *, int,
    uint8_t[VOLUME_SHA256_LEN]);

/*
 * volume_write_data(r, fd, what, sha256): write the current entry's data
 * to fd, a regular file the caller opened for writing (empty): each block
 * at its offset, so holes of a sparse entry stay holes and a trailing hole
 * is made with ftruncate.  For callers that create files themselves (see
 * lib/restore/extract.c) instead of volume_extract; what (may be NULL: the
 * entry's name) names the file in messages.  sha256 (may be NULL) receives
 * the SHA-256 of the entry's data.  Returns 0, 1 if writing fd failed
 * (reported; the entry's data was read to its end, counted in
 * volume_reader_failed; go on), or -1 (reading failed: as volume_next).
 */
int volume_write_data(struct volume_reader *, int, const char *,
    uint8_t[VOLUME_SHA256_LEN]);

/*
 * volume_write_data_progress(r, fd, what, sha256, progress, cookie): the
 * same, calling progress(cookie, end) after each block is written: every
 * byte of fd below end is then final (blocks come in offset order; a hole
 * below end reads as zeros).  A trailing hole is made after the last call.
 */
typedef void volume_progress_fn(void *, uint64_t);
int volume_write_data_progress(struct volume_reader *, int, const char *,
    uint8_t[VOLUME_SHA256_LEN], volume_progress_fn *, void *);

/* volume_reader_failed(r): entries volume_extract refused or could not
 * create.  volume_reader_warnings(r): metadata it could not restore. */
uint64_t volume_reader_failed(const struct volume_reader *);
uint64_t volume_reader_warnings(const struct volume_reader *);

/*
 * volume_reader_whole_hash_only(r): from now on hash only the whole
 * object, not also its payload after the age header (one SHA-256 pass
 * instead of two): volume_reader_finish then gives zeros for
 * payload_sha256.  A caller whose whole hash differs from set.json's (a
 * rewrapped header) checks the payload with set_object_check.
 */
void volume_reader_whole_hash_only(struct volume_reader *);
/*
 * volume_reader_no_hash(r): hash nothing of the object (for a caller that
 * checked the object's size and SHA-256 already): volume_reader_finish
 * then gives zeros for both hashes.  Call before the first volume_next.
 */
void volume_reader_no_hash(struct volume_reader *);

/* volume_reader_status(r): how reading went so far. */
enum volume_status volume_reader_status(const struct volume_reader *);

/*
 * volume_reader_finish(r, result): read the rest of the volume (skipping
 * entries not read), check the zstd frame and the age stream to their
 * ends, apply pending directory metadata of extractions, and fill result
 * (may be NULL; size and hashes of the object as read, for a check against
 * set.json).  Returns 0 or -1 (reported; see volume_reader_status).
 */
int volume_reader_finish(struct volume_reader *, struct volume_result *);

/* volume_reader_free(r): free r (applying pending directory metadata of
 * extractions).  NULL does nothing. */
void volume_reader_free(struct volume_reader *);

/*
 * Blobs: a plain byte stream (the manifest, catalog exports) compressed
 * with zstd and encrypted with age, without tar: a `.zst.age` object that
 * `age -d | zstd -d` opens.  The writer's result carries the object's
 * size, SHA-256 and payload SHA-256 as for volumes.
 */
struct volume_blob_writer;
struct volume_blob_writer *volume_blob_writer_new(
    const struct age_recipients *, int, volume_write_fn *, void *);
int volume_blob_write(struct volume_blob_writer *, const void *, size_t);
int volume_blob_finish(struct volume_blob_writer *, struct volume_result *);
void volume_blob_writer_free(struct volume_blob_writer *);

/*
 * volume_blob_reader_open(ids, name, read, cookie, status): open a blob;
 * volume_blob_read returns checked plaintext (0 at the end, where the
 * whole stream has been verified; -1 with the status VOLUME_DAMAGED or
 * VOLUME_ERROR, reported naming name).
 */
struct volume_blob_reader;
struct volume_blob_reader *volume_blob_reader_open(
    const struct age_identities *, const char *, volume_read_fn *, void *,
    enum volume_status *);
ssize_t volume_blob_read(struct volume_blob_reader *, void *, size_t);
enum volume_status volume_blob_status(const struct volume_blob_reader *);
void volume_blob_reader_free(struct volume_blob_reader *);

#endif
