/*
 * volume/read.c: reading a volume: the caller's source -> SHA-256 of the
 * object and payload -> age_decrypt_read -> ZSTD_decompressStream ->
 * libarchive's tar reader (tar only, no filters) -> data (hashed) or
 * archive_write_disk under a root, with libarchive's SECURE_* checks.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "age.h"
#include "crypto.h"
#include "target.h"
#include "util.h"
#include "volume.h"
#include "warnp.h"

#include "volume_internal.h"

/* ---------------------------------------------------------------- reader */

struct volume_reader;
struct r_pipe;
static struct volume_reader *r_open(const struct age_identities *,
    const char *, volume_read_fn *, void *, enum volume_status *, int);

struct volume_reader {
	char *name;
	volume_read_fn *read;
	void *cookie;
	struct volume_objhash oh;
	struct age_decryptor *dec;
	ZSTD_DCtx *dctx;
	uint8_t *zbuf;                  /* zstd input (age plaintext) */
	ZSTD_inBuffer zin;
	int age_eof;
	int frame_open;                 /* a zstd frame is not complete */
	uint8_t *tbuf;                  /* tar bytes */
	uint8_t *dbuf;                  /* entry data */
	uint64_t tar_bytes;
	struct archive *a;
	struct archive_entry *cur;
	struct crypto_sha256 *content;
	uint64_t data_pos;              /* data hashed of the entry */
	int data_done;
	struct archive *disk;           /* archive_write_disk */
	int rootfd;
	char *root;
	struct volume_xattr *xattrs;
	size_t xattrcap;
	char *acl_access;
	char *acl_default;
	enum volume_status status;
	int pipe_ok;                    /* a tar reader, open: may pipe */
	struct r_pipe *apipe;           /* age thread, or NULL */
	struct r_pipe *pipe;            /* zstd thread, or NULL */
	int eof;
	int finished;
	uint64_t entries;
	uint64_t failed;
	uint64_t warnings;
};

/* The caller's source, hashed on the way to age. */
static ssize_t
r_obj_read(void *cookie, void *buf, size_t len)
{
	struct volume_reader *r = cookie;
	ssize_t n;

	n = r->read(r->cookie, buf, len);
	if (n > 0 && volume_objhash_update(&r->oh, buf, (size_t)n))
		return (-1);
	return (n);
}

static void
r_damaged(struct volume_reader *r)
{

	r->status = VOLUME_DAMAGED;
}

/* Report an age failure while reading the payload. */
static void
r_age_failed(struct volume_reader *r, enum volume_status *st)
{
	enum age_error e = age_decrypt_error(r->dec);

	if (e == AGE_ERR_IO || e == AGE_ERR_NOMEM) {
		warn0("cannot read volume '%s': %s", r->name,
		    age_strerror(e));
		*st = VOLUME_ERROR;
		return;
	}
	warn0("volume '%s' is damaged near byte %llu: %s", r->name,
	    (unsigned long long)r->oh.off, age_strerror(e));
	*st = VOLUME_DAMAGED;
}

/*
 * The next age plaintext into dst (VOLUME_BUFSIZE): the count, 0 at the
 * end of the age stream (checked: nothing may follow it), or -1 (reported,
 * *st set).  Touches only the source, the object hashes and age, so it may
 * run in a thread of its own (the age pipe).
 */
static ssize_t
r_age_block(struct volume_reader *r, uint8_t *dst, enum volume_status *st)
{
	ssize_t n;

	if ((n = age_decrypt_read(r->dec, dst, VOLUME_BUFSIZE)) < 0) {
		r_age_failed(r, st);
		return (-1);
	}
	if (n == 0 && (n = r_obj_read(r, dst, 1)) != 0) {
		if (n > 0) {
			warn0("volume '%s' has data after its end", r->name);
			*st = VOLUME_DAMAGED;
		} else
			*st = VOLUME_ERROR;
		return (-1);
	}
	return (n);
}

/*
 * The pipes: a thread runs a stage ahead of its consumer into a ring of
 * PIPE_SLOTS buffers.  A tar reader has two: the age pipe (the source,
 * object hashes and age decryption: r_age_block) feeds the tar pipe
 * (zstd: r_decode), which feeds libarchive's parsing and the writing of
 * files on the caller's thread, so the three overlap on as many cores.
 * The consumer holds one slot (the block it reads) until its next pull.
 * A count <= 0 ends the ring and stays at its head.  Only a stage's own
 * state is its thread's; everything else stays on the caller's thread
 * (libarchive, the working directory of extractions).
 */
#define PIPE_SLOTS 4

typedef ssize_t r_stage_fn(struct volume_reader *, uint8_t *,
    enum volume_status *);

struct r_pipe {
	struct volume_reader *r;
	r_stage_fn *fn;
	pthread_t tid;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	uint8_t *buf[PIPE_SLOTS];
	ssize_t len[PIPE_SLOTS];
	size_t head, tail;              /* slots [head, tail) are filled */
	int held;                       /* the consumer holds head */
	int stop;
	enum volume_status st;          /* the thread's, at the end */
};

static ssize_t r_pipe_pull(struct r_pipe *, uint8_t **,
    enum volume_status *);

/*
 * The next tar bytes into dst (VOLUME_BUFSIZE): the count, 0 at the end of
 * the stream (every zstd frame complete, the age stream checked to its
 * end), or -1 (reported, *st set).  Touches only the decoding state (zstd,
 * and the age pipe or else the age stage itself), so it may run in the tar
 * pipe's thread.
 */
static ssize_t
r_decode(struct volume_reader *r, uint8_t *dst, enum volume_status *st)
{
	ZSTD_outBuffer out = { dst, VOLUME_BUFSIZE, 0 };
	uint8_t *src = r->zbuf;
	ssize_t n;
	size_t ret, inpos;

	for (;;) {
		if (r->zin.pos == r->zin.size && !r->age_eof) {
			n = r->apipe != NULL ? r_pipe_pull(r->apipe, &src, st) :
			    r_age_block(r, src, st);
			if (n < 0)
				return (-1);
			if (n == 0)
				r->age_eof = 1;
			r->zin.src = src;
			r->zin.size = (size_t)n;
			r->zin.pos = 0;
		}
		inpos = r->zin.pos;
		ret = ZSTD_decompressStream(r->dctx, &out, &r->zin);
		if (ZSTD_isError(ret)) {
			warn0("volume '%s' is damaged at tar byte %llu: "
			    "zstd: %s", r->name,
			    (unsigned long long)(r->tar_bytes + out.pos),
			    ZSTD_getErrorName(ret));
			*st = VOLUME_DAMAGED;
			return (-1);
		}
		/* 0: a frame ended.  A call with no input and no output
		 * says nothing (it would hint at a next frame's header). */
		if (r->zin.pos > inpos || out.pos > 0)
			r->frame_open = ret != 0;
		if (out.pos > 0) {
			r->tar_bytes += out.pos;
			return ((ssize_t)out.pos);
		}
		if (r->zin.pos == r->zin.size && r->age_eof) {
			if (r->frame_open) {
				warn0("volume '%s' is damaged: the zstd "
				    "stream is truncated", r->name);
				*st = VOLUME_DAMAGED;
				return (-1);
			}
			return (0);
		}
	}
}

static void *
r_pipe_main(void *cookie)
{
	struct r_pipe *p = cookie;
	enum volume_status st = VOLUME_OK;
	uint8_t *dst;
	ssize_t n;

	pthread_mutex_lock(&p->mtx);
	for (;;) {
		while (p->tail - p->head == PIPE_SLOTS && !p->stop)
			pthread_cond_wait(&p->cv, &p->mtx);
		if (p->stop)
			break;
		dst = p->buf[p->tail % PIPE_SLOTS];
		pthread_mutex_unlock(&p->mtx);
		n = p->fn(p->r, dst, &st);
		pthread_mutex_lock(&p->mtx);
		p->len[p->tail % PIPE_SLOTS] = n;
		p->st = st;
		p->tail++;
		pthread_cond_broadcast(&p->cv);
		if (n <= 0)
			break;
	}
	pthread_mutex_unlock(&p->mtx);
	return (NULL);
}

/* A pipe running fn for r, or NULL (then the caller runs fn itself). */
static struct r_pipe *
r_pipe_start(struct volume_reader *r, r_stage_fn *fn)
{
	struct r_pipe *p;
	size_t i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->r = r;
	p->fn = fn;
	for (i = 0; i < PIPE_SLOTS; i++)
		if ((p->buf[i] = malloc(VOLUME_BUFSIZE)) == NULL)
			goto err0;
	if (pthread_mutex_init(&p->mtx, NULL) != 0)
		goto err0;
	if (pthread_cond_init(&p->cv, NULL) != 0)
		goto err1;
	if (pthread_create(&p->tid, NULL, r_pipe_main, p) != 0)
		goto err2;
	return (p);

err2:
	pthread_cond_destroy(&p->cv);
err1:
	pthread_mutex_destroy(&p->mtx);
err0:
	for (i = 0; i < PIPE_SLOTS; i++)
		free(p->buf[i]);
	free(p);
	return (NULL);
}

/* Stop and join a pipe's thread (it finishes the block it makes). */
static void
r_pipe_stop(struct r_pipe *p)
{
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mtx);
	pthread_join(p->tid, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mtx);
	for (i = 0; i < PIPE_SLOTS; i++)
		free(p->buf[i]);
	free(p);
}

/* The tar pipe first: its thread may wait on the age pipe. */
static void
r_pipes_stop(struct volume_reader *r)
{

	r_pipe_stop(r->pipe);
	r->pipe = NULL;
	r_pipe_stop(r->apipe);
	r->apipe = NULL;
}

/* The next block from pipe p into *buf: as its stage (*st set on -1). */
static ssize_t
r_pipe_pull(struct r_pipe *p, uint8_t **buf, enum volume_status *st)
{
	ssize_t n;

	pthread_mutex_lock(&p->mtx);
	if (p->held) {
		p->head++;
		p->held = 0;
		pthread_cond_broadcast(&p->cv);
	}
	while (p->head == p->tail)
		pthread_cond_wait(&p->cv, &p->mtx);
	n = p->len[p->head % PIPE_SLOTS];
	*buf = p->buf[p->head % PIPE_SLOTS];
	if (n > 0)
		p->held = 1;
	else if (n < 0)
		*st = p->st != VOLUME_OK ? p->st : VOLUME_ERROR;
	pthread_mutex_unlock(&p->mtx);
	return (n);
}

/*
 * The next tar bytes into *buf (r->tbuf, or a block of the pipe): the
 * count, 0 at the end of the stream, or -1 (reported, status set).
 */
static ssize_t
r_pull_buf(struct volume_reader *r, uint8_t **buf)
{

	*buf = r->tbuf;
	if (r->status != VOLUME_OK)
		return (-1);
	if (r->pipe_ok) {
		/* Without threads (failure), this thread decodes. */
		r->pipe_ok = 0;
		r->apipe = r_pipe_start(r, r_age_block);
		r->pipe = r_pipe_start(r, r_decode);
	}
	if (r->pipe != NULL)
		return (r_pipe_pull(r->pipe, buf, &r->status));
	return (r_decode(r, r->tbuf, &r->status));
}

/* r_pull_buf into r->tbuf (blobs: never piped). */
static ssize_t
r_pull(struct volume_reader *r)
{
	uint8_t *buf;

	return (r_pull_buf(r, &buf));
}

static la_ssize_t
r_tar_read(struct archive *a, void *cookie, const void **buf)
{
	struct volume_reader *r = cookie;
	uint8_t *b;
	ssize_t n;

	n = r_pull_buf(r, &b);
	*buf = b;
	if (n < 0) {
		archive_set_error(a, EIO, "volume unreadable");
		return (-1);
	}
	return ((la_ssize_t)n);
}

/* Read the rest of the stream past the tar's end, checking it. */
static int
r_drain(struct volume_reader *r)
{
	ssize_t n;

	while ((n = r_pull(r)) > 0)
		;
	return (n < 0 ? -1 : 0);
}

/* A tar-level failure (libarchive's message), unless already reported. */
static void
r_tar_failed(struct volume_reader *r, const char *what)
{

	if (r->status != VOLUME_OK)
		return;
	warn0("volume '%s' is damaged at tar byte %llu%s%s%s: %s", r->name,
	    (unsigned long long)archive_filter_bytes(r->a, 0),
	    what != NULL ? " (in '" : "", what != NULL ? what : "",
	    what != NULL ? "')" : "", archive_error_string(r->a));
	r_damaged(r);
}

struct volume_reader *
volume_reader_open(const struct age_identities *ids, const char *name,
    volume_read_fn *read, void *cookie, enum volume_status *status)
{
	return (r_open(ids, name, read, cookie, status, 0));
}

/* Open a volume (raw: a blob, zstd and age without tar). */
static struct volume_reader *
r_open(const struct age_identities *ids, const char *name,
    volume_read_fn *read, void *cookie, enum volume_status *status, int raw)
{
	struct volume_reader *r;
	enum age_error ae = AGE_OK;
	enum volume_status st = VOLUME_ERROR;
	size_t ret;
	locale_t old = volume_locale_enter();

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		warnp("cannot allocate memory");
		goto err0;
	}
	r->rootfd = -1;
	r->read = read;
	r->cookie = cookie;
	if ((r->name = util_strdup(name != NULL ? name : "volume")) == NULL)
		goto err1;
	if (volume_objhash_init(&r->oh) ||
	    (r->content = crypto_sha256_new()) == NULL)
		goto err1;
	if ((r->zbuf = malloc(VOLUME_BUFSIZE)) == NULL ||
	    (r->tbuf = malloc(VOLUME_BUFSIZE)) == NULL ||
	    (r->dbuf = malloc(VOLUME_BUFSIZE)) == NULL) {
		warnp("cannot allocate memory");
		goto err1;
	}
	if ((r->dec = age_decrypt_open(ids, r_obj_read, r, &ae)) == NULL) {
		warn0("cannot open volume '%s': %s", r->name,
		    age_strerror(ae));
		if (ae == AGE_ERR_HEADER || ae == AGE_ERR_HMAC ||
		    ae == AGE_ERR_ARMOR || ae == AGE_ERR_PAYLOAD)
			st = VOLUME_DAMAGED;
		goto err1;
	}
	volume_objhash_set_header(&r->oh, age_decrypt_header_len(r->dec));
	if ((r->dctx = ZSTD_createDCtx()) == NULL) {
		warn0("cannot allocate a zstd context");
		goto err1;
	}
	if (ZSTD_isError(ret = ZSTD_DCtx_setParameter(r->dctx,
	    ZSTD_d_windowLogMax, VOLUME_WINDOWLOG_MAX))) {
		warn0("cannot set up zstd: %s", ZSTD_getErrorName(ret));
		goto err1;
	}
	if (raw)
		goto opened;
	if ((r->a = archive_read_new()) == NULL) {
		warn0("cannot allocate libarchive objects");
		goto err1;
	}
	/* Only tar: no decompression filters, no other formats. */
	if (archive_read_support_format_tar(r->a) != ARCHIVE_OK) {
		warn0("cannot read volume '%s': %s", r->name,
		    archive_error_string(r->a));
		goto err1;
	}
	if (archive_read_open(r->a, r, NULL, r_tar_read, NULL) !=
	    ARCHIVE_OK) {
		r_tar_failed(r, NULL);
		st = r->status;
		goto err1;
	}
	/* Decoding moves to a thread of its own from the next block on
	 * (after the caller's setup, volume_reader_whole_hash_only). */
	r->pipe_ok = 1;
opened:
	st = VOLUME_OK;
	volume_locale_leave(old);
	if (status != NULL)
		*status = st;
	return (r);

err1:
	volume_reader_free(r);
err0:
	volume_locale_leave(old);
	if (status != NULL)
		*status = st;
	return (NULL);
}

/* Describe the current entry into info (strings owned by r). */
static int
r_describe(struct volume_reader *r, struct volume_entry_info *info)
{
	struct archive_entry *e = r->cur;
	struct volume_xattr *nx;
	const char *xname;
	const void *xval;
	size_t xlen, i = 0;
	int n;

	memset(info, 0, sizeof(*info));
	volume_entry_describe(e, &info->entry);
	if (info->entry.path == NULL)
		info->entry.path = "";
	info->offset = (uint64_t)archive_read_header_position(r->a);
	if ((n = archive_entry_xattr_reset(e)) > 0) {
		if ((size_t)n > r->xattrcap) {
			if ((nx = reallocarray(r->xattrs, (size_t)n,
			    sizeof(*nx))) == NULL) {
				warnp("cannot allocate memory");
				r->status = VOLUME_ERROR;
				return (-1);
			}
			r->xattrs = nx;
			r->xattrcap = (size_t)n;
		}
		while (i < (size_t)n && archive_entry_xattr_next(e, &xname,
		    &xval, &xlen) == ARCHIVE_OK) {
			r->xattrs[i].name = xname;
			r->xattrs[i].value = xval;
			r->xattrs[i].len = xlen;
			i++;
		}
		info->entry.xattrs = r->xattrs;
		info->entry.nxattrs = i;
	}
	free(r->acl_access);
	free(r->acl_default);
	r->acl_access = r->acl_default = NULL;
	if (archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) > 0)
		r->acl_access = archive_entry_acl_to_text(e, NULL,
		    ARCHIVE_ENTRY_ACL_TYPE_ACCESS);
	if (archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) > 0)
		r->acl_default = archive_entry_acl_to_text(e, NULL,
		    ARCHIVE_ENTRY_ACL_TYPE_DEFAULT);
	info->entry.acl_access = r->acl_access;
	info->entry.acl_default = r->acl_default;
	return (0);
}

/* Go to the next header: 1, 0 at the end (stream checked), -1. */
static int
r_next_header(struct volume_reader *r)
{
	int rc;

	r->cur = NULL;
	if (r->eof)
		return (0);
	if (r->status != VOLUME_OK)
		return (-1);
	rc = archive_read_next_header(r->a, &r->cur);
	if (rc == ARCHIVE_EOF) {
		if (r_drain(r))
			return (-1);
		r->eof = 1;
		return (0);
	}
	if (rc < ARCHIVE_WARN) {
		r->cur = NULL;
		r_tar_failed(r, NULL);
		return (-1);
	}
	if (rc == ARCHIVE_WARN)
		warning("volume '%s': '%s': %s", r->name,
		    archive_entry_pathname(r->cur) != NULL ?
		    archive_entry_pathname(r->cur) : "",
		    archive_error_string(r->a));
	r->entries++;
	crypto_sha256_reset(r->content);
	r->data_pos = 0;
	r->data_done = 0;
	return (1);
}

int
volume_next(struct volume_reader *r, struct volume_entry_info *info)
{
	int rc;
	locale_t old = volume_locale_enter();

	if ((rc = r_next_header(r)) == 1 && r_describe(r, info))
		rc = -1;
	volume_locale_leave(old);
	return (rc);
}

static const char *
r_cur_name(const struct volume_reader *r)
{
	const char *p;

	if (r->cur == NULL || (p = archive_entry_pathname(r->cur)) == NULL)
		return ("");
	return (p);
}

ssize_t
volume_read_data(struct volume_reader *r, void *buf, size_t len)
{
	la_ssize_t n;
	locale_t old;

	if (r->cur == NULL || r->status != VOLUME_OK) {
		warn0("volume '%s': no entry to read", r->name);
		return (-1);
	}
	old = volume_locale_enter();
	n = archive_read_data(r->a, buf, len);
	if (n < 0) {
		r_tar_failed(r, r_cur_name(r));
		n = -1;
	} else {
		crypto_sha256_update(r->content, buf, (size_t)n);
		r->data_pos += (uint64_t)n;
		if (n == 0)
			r->data_done = 1;
	}
	volume_locale_leave(old);
	return ((ssize_t)n);
}

/*
 * Where r_data_blocks puts each block of the current entry, len bytes at
 * offset off (libarchive's buffer, not copied).  0, or -1 when it cannot:
 * the rest of the data is still read and hashed, but no longer handed
 * over.
 */
typedef int r_sink_fn(void *, const void *, size_t, la_int64_t);

/*
 * r_data_blocks(r, hash, sink, cookie): read the current entry's data
 * blocks to the end, hashing them when hash (a hole between blocks as
 * zeros), and hand each to sink (unless NULL).  Returns 0, 1 if sink failed, or -1
 * (reading failed: reported, r failed).
 */
static int
r_data_blocks(struct volume_reader *r, int hash, r_sink_fn *sink,
    void *cookie)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int rc, sink_ok = 1;

	for (;;) {
		rc = archive_read_data_block(r->a, &buf, &len, &off);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc < ARCHIVE_WARN || off < 0) {
			r_tar_failed(r, r_cur_name(r));
			return (-1);
		}
		if (hash && (uint64_t)off > r->data_pos)
			volume_hash_zeros(r->content,
			    (uint64_t)off - r->data_pos);
		if (hash)
			crypto_sha256_update(r->content, buf, len);
		r->data_pos = (uint64_t)off + len;
		if (sink != NULL && sink_ok && sink(cookie, buf, len, off) != 0)
			sink_ok = 0;
	}
	return (sink_ok ? 0 : 1);
}

/*
 * r_data_end(r, hash): the current entry's data is read: a regular file
 * ending in a hole has it hashed (when hash) as zeros up to its size,
 * which data_pos becomes.  Returns 1 if it ended in a hole, else 0.
 */
static int
r_data_end(struct volume_reader *r, int hash)
{
	uint64_t size;
	int hole;

	size = volume_type_of(r->cur) == VOLUME_REG ?
	    (uint64_t)archive_entry_size(r->cur) : 0;
	if ((hole = r->data_pos < size)) {
		if (hash)
			volume_hash_zeros(r->content, size - r->data_pos);
		r->data_pos = size;
	}
	r->data_done = 1;
	return (hole);
}

int
volume_data_sha256(struct volume_reader *r,
    uint8_t sha256[VOLUME_SHA256_LEN])
{
	locale_t old;
	int rc;

	if (r->cur == NULL) {
		warn0("volume '%s': no entry to read", r->name);
		return (-1);
	}
	if (r->data_pos == 0 && !r->data_done && r->status == VOLUME_OK) {
		/* Nothing read yet: hashed in libarchive's blocks, not
		 * copied. */
		old = volume_locale_enter();
		rc = r_data_blocks(r, 1, NULL, NULL);
		volume_locale_leave(old);
		if (rc < 0)
			return (-1);
	} else
		while (!r->data_done)
			if (volume_read_data(r, r->dbuf, VOLUME_BUFSIZE) < 0)
				return (-1);
	/* A sparse file ending in a hole. */
	(void)r_data_end(r, 1);
	crypto_sha256_final(r->content, sha256);
	return (0);
}

/* A descriptor volume_write_data writes to, and the first write error. */
struct fd_sink {
	int fd;
	int e;                  /* an errno, 0 while none */
	volume_progress_fn *progress;
	void *cookie;
};

/* Each block at its offset: a hole between blocks stays a hole. */
static int
r_sink_fd(void *cookie, const void *buf, size_t len, la_int64_t off)
{
	struct fd_sink *s = cookie;
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(s->fd, buf, len, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			s->e = errno;
			return (-1);
		}
		buf = (const uint8_t *)buf + n;
		len -= (size_t)n;
		off += n;
	}
	if (s->progress != NULL)
		s->progress(s->cookie, (uint64_t)off);
	return (0);
}

int
volume_write_data(struct volume_reader *r, int fd, const char *what,
    uint8_t sha256_out[VOLUME_SHA256_LEN])
{

	return (volume_write_data_progress(r, fd, what, sha256_out, NULL,
	    NULL));
}

int
volume_write_data_progress(struct volume_reader *r, int fd,
    const char *what, uint8_t sha256_out[VOLUME_SHA256_LEN],
    volume_progress_fn *progress, void *cookie)
{
	struct fd_sink s = { fd, 0, progress, cookie };
	int rc = -1, hash = sha256_out != NULL;
	locale_t old;

	if (r->cur == NULL || r->status != VOLUME_OK || r->data_pos > 0 ||
	    r->data_done) {
		warn0("volume '%s': no entry to extract", r->name);
		return (-1);
	}
	old = volume_locale_enter();
	if (r_data_blocks(r, hash, r_sink_fd, &s) < 0)
		goto done;
	/* Ending in a hole. */
	if (r_data_end(r, hash) && s.e == 0 &&
	    ftruncate(fd, (off_t)r->data_pos) != 0)
		s.e = errno;
	if (hash)
		crypto_sha256_final(r->content, sha256_out);
	rc = 0;
	if (s.e != 0) {
		errno = s.e;
		warnp("cannot write '%s' from volume '%s'",
		    what != NULL ? what : r_cur_name(r), r->name);
		r->failed++;
		rc = 1;
	}
done:
	volume_locale_leave(old);
	return (rc);
}

/* The working directory, to come back to: a descriptor or -1 (reported). */
static int
cwd_save(void)
{
	int fd;

	if ((fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 &&
	    (fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		warnp("cannot open the working directory");
	return (fd);
}

static void
cwd_restore(int fd)
{

	if (fchdir(fd) != 0)
		warnp("cannot return to the working directory");
	close(fd);
}

/*
 * Finish extractions under r->root: libarchive sets directory modes and
 * times last, by names relative to the working directory, so it must run
 * in the root.  If it cannot get there, the pending metadata is dropped
 * (the object leaks) rather than applied elsewhere.
 */
static int
r_disk_close(struct volume_reader *r)
{
	int cwd, rc = -1;

	if (r->disk == NULL)
		return (0);
	if ((cwd = cwd_save()) < 0)
		goto leak;
	if (fchdir(r->rootfd) != 0) {
		warnp("cannot enter '%s'", r->root);
		close(cwd);
		goto leak;
	}
	rc = 0;
	if (archive_write_close(r->disk) != ARCHIVE_OK) {
		warning("cannot set directory metadata under '%s': %s",
		    r->root, archive_error_string(r->disk));
		r->warnings++;
	}
	archive_write_free(r->disk);
	cwd_restore(cwd);
	goto done;

leak:
	r->warnings++;
done:
	r->disk = NULL;
	close(r->rootfd);
	r->rootfd = -1;
	free(r->root);
	r->root = NULL;
	return (rc);
}

static int
r_disk_open(struct volume_reader *r, const char *root)
{

	if (r->disk != NULL && strcmp(r->root, root) == 0)
		return (0);
	(void)r_disk_close(r);
	if ((r->root = util_strdup(root)) == NULL)
		return (-1);
	if ((r->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		warnp("cannot open '%s'", root);
		goto err;
	}
	if ((r->disk = archive_write_disk_new()) == NULL ||
	    archive_write_disk_set_standard_lookup(r->disk) != ARCHIVE_OK) {
		warn0("cannot set up extraction to '%s'", root);
		goto err;
	}
	return (0);

err:
	if (r->disk != NULL)
		archive_write_free(r->disk);
	r->disk = NULL;
	if (r->rootfd >= 0)
		close(r->rootfd);
	r->rootfd = -1;
	free(r->root);
	r->root = NULL;
	return (-1);
}

/* Into libarchive's disk writer (volume_extract); cookie is r. */
static int
r_sink_disk(void *cookie, const void *buf, size_t len, la_int64_t off)
{
	struct volume_reader *r = cookie;

	if (archive_write_data_block(r->disk, buf, len, off) < ARCHIVE_OK) {
		warn0("cannot write '%s' from volume '%s': %s",
		    r_cur_name(r), r->name, archive_error_string(r->disk));
		return (-1);
	}
	return (0);
}

int
volume_extract(struct volume_reader *r, const char *dest_root, int flags,
    uint8_t sha256_out[VOLUME_SHA256_LEN])
{
	uint8_t sha[VOLUME_SHA256_LEN];
	int opts, cwd = -1, w, rc = -1;
	locale_t old = volume_locale_enter();

	memset(sha, 0, sizeof(sha));
	if (r->cur == NULL || r->status != VOLUME_OK || r->data_pos > 0 ||
	    r->data_done) {
		warn0("volume '%s': no entry to extract", r->name);
		goto done;
	}
	if (r_disk_open(r, dest_root))
		goto done;
	opts = ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
	    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
	    ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
	    ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR;
	if (geteuid() == 0 && !(flags & VOLUME_EXTRACT_NO_OWNER))
		opts |= ARCHIVE_EXTRACT_OWNER;
	if (flags & VOLUME_EXTRACT_NO_OVERWRITE)
		opts |= ARCHIVE_EXTRACT_NO_OVERWRITE;
	if (archive_write_disk_set_options(r->disk, opts) != ARCHIVE_OK) {
		warn0("cannot set up extraction to '%s'", dest_root);
		goto done;
	}
	if ((cwd = cwd_save()) < 0)
		goto done;
	if (fchdir(r->rootfd) != 0) {
		warnp("cannot enter '%s'", dest_root);
		goto done;
	}

	w = archive_write_header(r->disk, r->cur);
	if (w < ARCHIVE_WARN) {
		warn0("cannot extract '%s' from volume '%s': %s",
		    r_cur_name(r), r->name, archive_error_string(r->disk));
		r->failed++;
		rc = 1;
		if (w == ARCHIVE_FATAL) {
			cwd_restore(cwd);
			cwd = -1;
			(void)r_disk_close(r);
		}
		goto done;
	}
	if (w == ARCHIVE_WARN) {
		warning("'%s' from volume '%s': %s", r_cur_name(r), r->name,
		    archive_error_string(r->disk));
		r->warnings++;
	}
	rc = 0;
	if (archive_entry_size(r->cur) > 0) {
		if ((w = r_data_blocks(r, sha256_out != NULL, r_sink_disk,
		    r)) < 0) {
			rc = -1;
			goto done;
		}
		if (w > 0) {
			r->failed++;
			rc = 1;
		}
	}
	(void)r_data_end(r, sha256_out != NULL);
	/* Hashed only for a caller that wants it (a second SHA-256 pass
	 * over everything extracted otherwise). */
	if (sha256_out != NULL && volume_type_of(r->cur) == VOLUME_REG)
		crypto_sha256_final(r->content, sha);
	w = archive_write_finish_entry(r->disk);
	if (w == ARCHIVE_WARN) {
		warning("'%s' from volume '%s': %s", r_cur_name(r), r->name,
		    archive_error_string(r->disk));
		r->warnings++;
	} else if (w < ARCHIVE_WARN && rc == 0) {
		warn0("cannot extract '%s' from volume '%s': %s",
		    r_cur_name(r), r->name, archive_error_string(r->disk));
		r->failed++;
		rc = 1;
	}

done:
	if (cwd >= 0)
		cwd_restore(cwd);
	if (sha256_out != NULL)
		memcpy(sha256_out, sha, VOLUME_SHA256_LEN);
	volume_locale_leave(old);
	return (rc);
}

uint64_t
volume_reader_failed(const struct volume_reader *r)
{

	return (r->failed);
}

uint64_t
volume_reader_warnings(const struct volume_reader *r)
{

	return (r->warnings);
}

void
volume_reader_whole_hash_only(struct volume_reader *r)
{

	/* A pipe's thread may hash (the age pipe, or the tar pipe running
	 * the age stage itself): too late to stop it. */
	if (r->apipe != NULL || r->pipe != NULL)
		return;
	crypto_sha256_free(r->oh.payload);
	r->oh.payload = NULL;
}

void
volume_reader_no_hash(struct volume_reader *r)
{

	if (r->apipe != NULL || r->pipe != NULL)
		return;
	crypto_sha256_free(r->oh.all);
	crypto_sha256_free(r->oh.payload);
	r->oh.all = r->oh.payload = NULL;
}

enum volume_status
volume_reader_status(const struct volume_reader *r)
{

	return (r->status);
}

int
volume_reader_finish(struct volume_reader *r, struct volume_result *res)
{
	int n, rc = -1;
	locale_t old = volume_locale_enter();

	if (r->finished) {
		warn0("volume '%s' is finished", r->name);
		goto done;
	}
	while ((n = r_next_header(r)) == 1)
		;
	if (r_disk_close(r) != 0 && r->status == VOLUME_OK)
		r->status = VOLUME_ERROR;
	if (n < 0 || r->status != VOLUME_OK)
		goto done;
	r->finished = 1;
	if (res != NULL) {
		memset(res, 0, sizeof(*res));
		res->size = r->oh.off;
		res->header_len = r->oh.hdr;
		res->tar_bytes = r->tar_bytes;
		res->entries = r->entries;
		if (r->oh.all != NULL)
			crypto_sha256_final(r->oh.all, res->sha256);
		if (r->oh.payload != NULL)
			crypto_sha256_final(r->oh.payload,
			    res->payload_sha256);
	}
	rc = 0;

done:
	volume_locale_leave(old);
	return (rc);
}

void
volume_reader_free(struct volume_reader *r)
{
	locale_t old;

	if (r == NULL)
		return;
	old = volume_locale_enter();
	r_pipes_stop(r);
	(void)r_disk_close(r);
	if (r->a != NULL)
		archive_read_free(r->a);
	ZSTD_freeDCtx(r->dctx);
	age_decrypt_free(r->dec);
	volume_objhash_free(&r->oh);
	crypto_sha256_free(r->content);
	free(r->zbuf);
	free(r->tbuf);
	free(r->dbuf);
	free(r->xattrs);
	free(r->acl_access);
	free(r->acl_default);
	free(r->name);
	free(r);
	volume_locale_leave(old);
}

/* ------------------------------------------------------------------ blobs */

struct volume_blob_reader {
	struct volume_reader *r;
	size_t pos, len;        /* unread bytes of r->tbuf */
	int eof;
};

struct volume_blob_reader *
volume_blob_reader_open(const struct age_identities *ids, const char *name,
    volume_read_fn *read, void *cookie, enum volume_status *status)
{
	struct volume_blob_reader *b;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		warnp("cannot allocate memory");
		if (status != NULL)
			*status = VOLUME_ERROR;
		return (NULL);
	}
	if ((b->r = r_open(ids, name, read, cookie, status, 1)) == NULL) {
		free(b);
		return (NULL);
	}
	return (b);
}

ssize_t
volume_blob_read(struct volume_blob_reader *b, void *buf, size_t len)
{
	ssize_t n;
	size_t c;

	if (b->pos == b->len) {
		if (b->eof)
			return (0);
		if ((n = r_pull(b->r)) < 0)
			return (-1);
		if (n == 0) {
			b->eof = 1;
			return (0);
		}
		b->pos = 0;
		b->len = (size_t)n;
	}
	c = b->len - b->pos < len ? b->len - b->pos : len;
	memcpy(buf, b->r->tbuf + b->pos, c);
	b->pos += c;
	return ((ssize_t)c);
}

enum volume_status
volume_blob_status(const struct volume_blob_reader *b)
{

	return (b->r->status);
}

void
volume_blob_reader_free(struct volume_blob_reader *b)
{

	if (b == NULL)
		return;
	volume_reader_free(b->r);
	free(b);
}
