/*
 * volume/write.c: writing vol-NNNN.tar.zst.age in one streaming pass:
 *
 *   file data -> SHA-256 of the content -> libarchive pax writer
 *   -> gather small writes -> ZSTD_compressStream2 (worker threads)
 *   -> age_encrypt_write -> SHA-256 of the object and of the payload
 *   -> the caller's sink.
 *
 * The last three steps run in a thread of the writer's own (the "crypto
 * thread"), fed with filled zstd output buffers through a small ring
 * (VOLUME_NZBUF buffers), so that encryption and hashing of the
 * ciphertext overlap with reading, hashing and compressing the files on
 * the calling thread.  The caller's sink is therefore called from that
 * thread, one call at a time; every call has returned when
 * volume_writer_finish returns.  Blob writers (manifests) stay on the
 * calling thread.
 *
 * The pax writer is the full interchange one rather than "restricted":
 * restricted pax drops sub-second mtimes from every entry that needs no
 * extended header for another reason, and coffer records mtimes in
 * nanoseconds.  atime, ctime and birth time are not stored (they cannot be
 * restored and would only add headers), nor file flags (GNU tar warns
 * about SCHILY.fflags).  The output is pax that GNU tar 1.34 reads without
 * a warning, but for names that are not UTF-8: they need a
 * "hdrcharset=BINARY" record, which GNU tar does not know (it says so
 * once, and still restores the name byte for byte).
 *
 * Names are converted by libarchive according to LC_CTYPE; every entry
 * point switches the calling thread to C.UTF-8 (uselocale) so that the
 * volume does not depend on the environment.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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

#define VOLUME_NZBUF 3          /* zstd output buffers in the ring */

/* ---------------------------------------------------------------- writer */

/* A file stored with data in this volume, for later hard links to it. */
struct link_node {
	struct link_node *next;
	dev_t dev;
	ino_t ino;
	uint64_t size;
	uint8_t sha256[VOLUME_SHA256_LEN];
	char name[];
};

struct volume_writer {
	char *name;
	volume_write_fn *write;
	void *cookie;
	struct age_encryptor *enc;
	ZSTD_CCtx *cctx;
	struct archive *a;              /* pax writer */
	struct archive *disk;           /* metadata from disk */
	struct archive *dense;          /* the same, without sparse maps */
	struct archive_entry *last;     /* backs the info strings */
	struct volume_objhash oh;
	struct crypto_sha256 *content;
	struct crypto_sha256 *whole;    /* caller's running hash, or NULL */
	uint8_t *gbuf;                  /* small tar writes gathered */
	size_t gpos;
	uint8_t *zbuf;                  /* zstd output being filled */
	size_t zpos;
	/* Crypto thread: the ring of zstd output buffers. */
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;         /* a buffer queued, or stop */
	pthread_cond_t cv_free;         /* a buffer done */
	uint8_t *zb[VOLUME_NZBUF];
	size_t zlen[VOLUME_NZBUF];
	unsigned int zhead;             /* oldest queued buffer */
	unsigned int zcount;            /* buffers queued or in work */
	int thr_on;                     /* thread running */
	int thr_tried;                  /* w_thread_start was called */
	int sync_ok;                    /* mu and the conds initialised */
	int thr_stop;
	int thr_failed;                 /* the thread could not go on */
	uint64_t bytes_out;             /* atomic: object bytes so far */
	uint8_t *dbuf;                  /* file data */
	uint64_t bytes_in;
	uint64_t entries;
	struct link_node **links;
	size_t nbuckets;
	size_t nlinks;
	const char *cur;                /* entry being written, for messages */
	int failed;
	int finished;
	int aborting;
	int raw;                        /* a blob: no tar */
};

/* age output: hash, count and pass on to the caller's sink. */
static int
w_age_out(void *cookie, const void *buf, size_t len)
{
	struct volume_writer *w = cookie;

	if (volume_objhash_update(&w->oh, buf, len))
		return (-1);
	if (w->write(w->cookie, buf, len))
		return (-1);
	__atomic_add_fetch(&w->bytes_out, (uint64_t)len, __ATOMIC_RELAXED);
	return (0);
}

/* Encrypt and send len bytes of zstd output. */
static int
w_encrypt(struct volume_writer *w, const uint8_t *buf, size_t len)
{

	if (age_encrypt_write(w->enc, buf, len)) {
		warn0("cannot write volume '%s'", w->name);
		return (-1);
	}
	return (0);
}

/* The crypto thread: encrypt, hash and send the queued buffers in turn. */
static void *
w_thread(void *cookie)
{
	struct volume_writer *w = cookie;
	unsigned int idx;
	int failed;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->zcount == 0 && !w->thr_stop)
			pthread_cond_wait(&w->cv_work, &w->mu);
		if (w->zcount == 0)
			break;
		idx = w->zhead;
		failed = w->thr_failed;
		pthread_mutex_unlock(&w->mu);
		if (!failed && w_encrypt(w, w->zb[idx], w->zlen[idx]))
			failed = 1;
		pthread_mutex_lock(&w->mu);
		if (failed)
			w->thr_failed = 1;
		w->zhead = (w->zhead + 1) % VOLUME_NZBUF;
		w->zcount--;
		pthread_cond_signal(&w->cv_free);
	}
	pthread_mutex_unlock(&w->mu);
	return (NULL);
}

/* Wait until the crypto thread has sent every queued buffer: 0, or -1 if
 * it failed (reported). */
static int
w_sync(struct volume_writer *w)
{
	int failed;

	if (!w->thr_on)
		return (0);
	pthread_mutex_lock(&w->mu);
	while (w->zcount > 0)
		pthread_cond_wait(&w->cv_free, &w->mu);
	failed = w->thr_failed;
	pthread_mutex_unlock(&w->mu);
	return (failed ? -1 : 0);
}

/* Stop and join the crypto thread, if it runs. */
static void
w_thread_stop(struct volume_writer *w)
{

	if (!w->thr_on)
		return;
	pthread_mutex_lock(&w->mu);
	w->thr_stop = 1;
	pthread_cond_signal(&w->cv_work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	w->thr_on = 0;
}

/* Start the crypto thread with its ring: 0, or -1 (the caller goes on
 * without it). */
static int
w_thread_start(struct volume_writer *w)
{
	unsigned int i;
	int e;

	w->thr_tried = 1;
	w->zb[0] = w->zbuf;
	for (i = 1; i < VOLUME_NZBUF; i++)
		if ((w->zb[i] = malloc(VOLUME_BUFSIZE)) == NULL)
			return (-1);
	if ((e = pthread_mutex_init(&w->mu, NULL)) != 0)
		goto err;
	if ((e = pthread_cond_init(&w->cv_work, NULL)) != 0) {
		pthread_mutex_destroy(&w->mu);
		goto err;
	}
	if ((e = pthread_cond_init(&w->cv_free, NULL)) != 0) {
		pthread_cond_destroy(&w->cv_work);
		pthread_mutex_destroy(&w->mu);
		goto err;
	}
	w->sync_ok = 1;
	if ((e = pthread_create(&w->thr, NULL, w_thread, w)) != 0)
		goto err;
	w->thr_on = 1;
	return (0);

err:
	errno = e;
	return (-1);
}

/*
 * Encrypt and send what zstd produced: hand the buffer to the crypto
 * thread and take the next free one, or, without the thread, do it here.
 */
static int
w_drain(struct volume_writer *w)
{
	unsigned int next;
	int failed;

	if (w->zpos == 0)
		return (0);
	/* A full buffer: the volume is worth a thread (blobs never are). */
	if (!w->thr_on && !w->thr_tried && !w->raw &&
	    w->zpos == VOLUME_BUFSIZE)
		(void)w_thread_start(w);
	if (!w->thr_on) {
		if (w_encrypt(w, w->zbuf, w->zpos))
			return (-1);
		w->zpos = 0;
		return (0);
	}
	pthread_mutex_lock(&w->mu);
	next = (w->zhead + w->zcount) % VOLUME_NZBUF;
	w->zlen[next] = w->zpos;
	w->zcount++;
	pthread_cond_signal(&w->cv_work);
	while (w->zcount == VOLUME_NZBUF)
		pthread_cond_wait(&w->cv_free, &w->mu);
	w->zbuf = w->zb[(w->zhead + w->zcount) % VOLUME_NZBUF];
	failed = w->thr_failed;
	pthread_mutex_unlock(&w->mu);
	w->zpos = 0;
	return (failed ? -1 : 0);
}

/* Compress len bytes (op ZSTD_e_end: and end the frame). */
static int
w_zfeed(struct volume_writer *w, const void *buf, size_t len,
    ZSTD_EndDirective op)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	ZSTD_outBuffer out;
	size_t ret;

	for (;;) {
		out.dst = w->zbuf;
		out.size = VOLUME_BUFSIZE;
		out.pos = w->zpos;
		ret = ZSTD_compressStream2(w->cctx, &out, &in, op);
		if (ZSTD_isError(ret)) {
			warn0("cannot compress volume '%s': zstd: %s", w->name,
			    ZSTD_getErrorName(ret));
			return (-1);
		}
		w->zpos = out.pos;
		if (w->zpos == VOLUME_BUFSIZE || (op == ZSTD_e_end && ret == 0))
			if (w_drain(w))
				return (-1);
		if (op == ZSTD_e_end ? ret == 0 : in.pos == in.size)
			return (0);
	}
}

static int
w_gather_flush(struct volume_writer *w)
{

	if (w->gpos == 0)
		return (0);
	if (w_zfeed(w, w->gbuf, w->gpos, ZSTD_e_continue))
		return (-1);
	w->gpos = 0;
	return (0);
}

/* libarchive's output: headers and padding are gathered, data passes. */
static la_ssize_t
w_tar_write(struct archive *a, void *cookie, const void *buf, size_t len)
{
	struct volume_writer *w = cookie;

	if (w->aborting)
		return ((la_ssize_t)len);
	if (w->failed)
		goto fail;
	w->bytes_in += len;
	if (len >= VOLUME_DIRECT_MIN) {
		if (w_gather_flush(w) ||
		    w_zfeed(w, buf, len, ZSTD_e_continue))
			goto fail;
	} else {
		if (w->gpos + len > VOLUME_BUFSIZE && w_gather_flush(w))
			goto fail;
		memcpy(w->gbuf + w->gpos, buf, len);
		w->gpos += len;
	}
	return ((la_ssize_t)len);

fail:
	w->failed = 1;
	archive_set_error(a, EIO, "cannot write volume");
	return (-1);
}

static int
online_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return (n < 1 ? 1 : n > 64 ? 64 : (int)n);
}

static int
w_zstd_setup(struct volume_writer *w, const struct volume_params *p)
{
	int level = p->zstd_level != 0 ? p->zstd_level : VOLUME_DEFAULT_LEVEL;
	int workers = p->zstd_workers;
	size_t ret;

	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
		warn0("zstd level %d out of range (%d to %d)", level,
		    ZSTD_minCLevel(), ZSTD_maxCLevel());
		return (-1);
	}
	if (workers == 0)
		workers = online_cores();
	else if (workers < 0)
		workers = 0;
	if ((w->cctx = ZSTD_createCCtx()) == NULL) {
		warn0("cannot allocate a zstd context");
		return (-1);
	}
	if (ZSTD_isError(ret = ZSTD_CCtx_setParameter(w->cctx,
	    ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ret = ZSTD_CCtx_setParameter(w->cctx,
	    ZSTD_c_checksumFlag, 1)))
		goto zerr;
	/*
	 * The window stays at the level's default, which is at most 2^27
	 * for every level (ZSTD_WINDOWLOG_LIMIT_DEFAULT: what plain
	 * `zstd -d` accepts); no larger one is ever asked for.
	 */
	/* A libzstd built without threads refuses workers: go without. */
	if (workers > 0 && ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
	    ZSTD_c_nbWorkers, workers)))
		warning("zstd without worker threads for volume '%s'",
		    w->name);
	/*
	 * Jobs of 4 MiB instead of the level's default (8 MiB at level 3):
	 * each job in flight holds its input and output, so this is a third
	 * less peak memory for backup (89 to 60 MiB on the 1 GB benchmark
	 * corpus) for 0.1% more stored.  zstd ignores it without workers.
	 */
	else if (workers > 0 && ZSTD_isError(ret = ZSTD_CCtx_setParameter(
	    w->cctx, ZSTD_c_jobSize, VOLUME_ZSTD_JOBSIZE)))
		goto zerr;
	return (0);

zerr:
	warn0("cannot set up zstd for volume '%s': %s", w->name,
	    ZSTD_getErrorName(ret));
	return (-1);
}

struct volume_writer *
volume_writer_new(const struct volume_params *p, volume_write_fn *write,
    void *cookie)
{
	struct volume_writer *w;
	locale_t old = volume_locale_enter();

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		warnp("cannot allocate memory");
		goto err0;
	}
	w->write = write;
	w->cookie = cookie;
	if ((w->name = util_strdup(p->name != NULL ? p->name : "volume")) ==
	    NULL)
		goto err1;
	if (volume_objhash_init(&w->oh) ||
	    (w->content = crypto_sha256_new()) == NULL)
		goto err1;
	if ((w->gbuf = malloc(VOLUME_BUFSIZE)) == NULL ||
	    (w->zbuf = malloc(VOLUME_BUFSIZE)) == NULL ||
	    (w->dbuf = malloc(VOLUME_BUFSIZE)) == NULL) {
		warnp("cannot allocate memory");
		goto err1;
	}
	if (w_zstd_setup(w, p))
		goto err1;

	/* The age header goes out now. */
	if ((w->enc = age_encrypt_new(p->recipients, 0, w_age_out, w)) ==
	    NULL) {
		warn0("cannot start volume '%s'", w->name);
		goto err1;
	}
	volume_objhash_set_header(&w->oh, age_encrypt_header_len(w->enc));

	if ((w->a = archive_write_new()) == NULL ||
	    (w->disk = archive_read_disk_new()) == NULL ||
	    (w->dense = archive_read_disk_new()) == NULL) {
		warn0("cannot allocate libarchive objects");
		goto err1;
	}
	if (archive_write_set_format_pax(w->a) != ARCHIVE_OK ||
	    archive_write_set_format_option(w->a, "pax", "xattrheader",
	    "SCHILY") != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, w, NULL, w_tar_write, NULL, NULL) !=
	    ARCHIVE_OK) {
		warn0("cannot start volume '%s': %s", w->name,
		    archive_error_string(w->a));
		goto err1;
	}
	if (archive_read_disk_set_standard_lookup(w->disk) != ARCHIVE_OK ||
	    archive_read_disk_set_behavior(w->disk,
	    ARCHIVE_READDISK_NO_FFLAGS) != ARCHIVE_OK) {
		warn0("cannot start volume '%s': %s", w->name,
		    archive_error_string(w->disk));
		goto err1;
	}
	if (archive_read_disk_set_standard_lookup(w->dense) != ARCHIVE_OK ||
	    archive_read_disk_set_behavior(w->dense,
	    ARCHIVE_READDISK_NO_FFLAGS | ARCHIVE_READDISK_NO_SPARSE) !=
	    ARCHIVE_OK) {
		warn0("cannot start volume '%s': %s", w->name,
		    archive_error_string(w->dense));
		goto err1;
	}
	w->nbuckets = 256;
	if ((w->links = calloc(w->nbuckets, sizeof(*w->links))) == NULL) {
		warnp("cannot allocate memory");
		goto err1;
	}
	volume_locale_leave(old);
	return (w);

err1:
	volume_writer_free(w);
err0:
	volume_locale_leave(old);
	return (NULL);
}

static size_t
link_bucket(size_t nbuckets, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino ^ (uint64_t)dev << 32) *
	    0x9e3779b97f4a7c15ULL;

	return ((size_t)(h >> 32) & (nbuckets - 1));
}

static struct link_node *
link_find(const struct volume_writer *w, dev_t dev, ino_t ino)
{
	struct link_node *n;

	for (n = w->links[link_bucket(w->nbuckets, dev, ino)]; n != NULL;
	    n = n->next)
		if (n->dev == dev && n->ino == ino)
			return (n);
	return (NULL);
}

static int
link_add(struct volume_writer *w, dev_t dev, ino_t ino, const char *name,
    uint64_t size, const uint8_t sha256[VOLUME_SHA256_LEN])
{
	struct link_node *n, **nb, *next;
	size_t len = strlen(name), nnb, i, b;

	if (w->nlinks >= w->nbuckets) {
		nnb = w->nbuckets * 2;
		if ((nb = calloc(nnb, sizeof(*nb))) == NULL)
			goto nomem;
		for (i = 0; i < w->nbuckets; i++)
			for (n = w->links[i]; n != NULL; n = next) {
				next = n->next;
				b = link_bucket(nnb, n->dev, n->ino);
				n->next = nb[b];
				nb[b] = n;
			}
		free(w->links);
		w->links = nb;
		w->nbuckets = nnb;
	}
	if ((n = malloc(sizeof(*n) + len + 1)) == NULL)
		goto nomem;
	n->dev = dev;
	n->ino = ino;
	n->size = size;
	memcpy(n->sha256, sha256, VOLUME_SHA256_LEN);
	memcpy(n->name, name, len + 1);
	b = link_bucket(w->nbuckets, dev, ino);
	n->next = w->links[b];
	w->links[b] = n;
	w->nlinks++;
	return (0);

nomem:
	warnp("cannot allocate memory");
	return (-1);
}

/* The sparse map of e as an array (caller frees), or NULL if none. */
static struct volume_sparse *
sparse_map(struct archive_entry *e, size_t *n)
{
	struct volume_sparse *m;
	la_int64_t off, len;
	int count, i = 0;

	*n = 0;
	if ((count = archive_entry_sparse_reset(e)) <= 0)
		return (NULL);
	if ((m = calloc((size_t)count, sizeof(*m))) == NULL)
		return (NULL);
	while (i < count &&
	    archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK) {
		m[i].offset = (uint64_t)off;
		m[i].len = (uint64_t)len;
		i++;
	}
	*n = (size_t)i;
	return (m);
}

/*
 * Store size bytes of data from fd (pread from offset, or read() when
 * offset is -1) for the entry just written, hashing them into sha256.
 * Holes of a sparse map are hashed as volume_zeros without being read (the pax
 * writer drops them).  A file that ends early is padded with volume_zeros
 * (*changed set); a read error pads too (*read_error set, reported).
 * Returns 0, or -1 if the volume failed.
 */
static int
w_data(struct volume_writer *w, int fd, int64_t offset, uint64_t size,
    const struct volume_sparse *sp, size_t nsp, uint8_t sha256[32],
    int *changed, int *read_error)
{
	uint64_t pos = 0, left = size, hole;
	size_t want, s = 0;
	ssize_t n;
	la_ssize_t wr;
	int eof = 0;
	const uint8_t *src;

	crypto_sha256_reset(w->content);
	while (left > 0) {
		want = left > VOLUME_BUFSIZE ? VOLUME_BUFSIZE : (size_t)left;
		/* In a hole of the sparse map? */
		while (s < nsp && sp[s].offset + sp[s].len <= pos)
			s++;
		hole = 0;
		if (nsp > 0 && offset >= 0) {
			if (s == nsp)
				hole = size - pos;
			else if (sp[s].offset > pos)
				hole = sp[s].offset - pos;
			else if (sp[s].offset + sp[s].len - pos < want)
				want = (size_t)(sp[s].offset + sp[s].len -
				    pos);
		}
		if (hole > 0) {
			want = hole > sizeof(volume_zeros) ?
			    sizeof(volume_zeros) :
			    (size_t)hole;
			src = volume_zeros;
			n = (ssize_t)want;
			if (offset >= 0)
				offset += (int64_t)want;
		} else {
			src = w->dbuf;
			n = 0;
			while (!eof && (size_t)n < want) {
				ssize_t k = offset >= 0 ?
				    pread(fd, w->dbuf + n, want - (size_t)n,
				    (off_t)offset) :
				    read(fd, w->dbuf + n, want - (size_t)n);

				if (k < 0 && errno == EINTR)
					continue;
				if (k < 0) {
					warnp("cannot read '%s' for volume "
					    "'%s'", w->cur, w->name);
					*read_error = 1;
					eof = 1;
				} else if (k == 0) {
					*changed = 1;
					eof = 1;
				} else {
					n += k;
					if (offset >= 0)
						offset += k;
				}
			}
			if ((size_t)n < want) {
				/* Keep the header's promise: pad. */
				memset(w->dbuf + n, 0, want - (size_t)n);
				n = (ssize_t)want;
			}
		}
		crypto_sha256_update(w->content, src, (size_t)n);
		if (w->whole != NULL)
			crypto_sha256_update(w->whole, src, (size_t)n);
		wr = archive_write_data(w->a, src, (size_t)n);
		if (wr < 0) {
			warn0("cannot write '%s' to volume '%s': %s", w->cur,
			    w->name, archive_error_string(w->a));
			w->failed = 1;
			return (-1);
		}
		pos += (uint64_t)n;
		left -= (uint64_t)n;
	}
	crypto_sha256_final(w->content, sha256);
	return (0);
}

/* Write e's header.  0, 1 (entry refused, volume intact), -1. */
static int
w_header(struct volume_writer *w, struct archive_entry *e)
{
	int r;

	if (w->failed) {
		warn0("volume '%s' has failed", w->name);
		return (-1);
	}
	r = archive_write_header(w->a, e);
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
		/* WARN: a name stored as binary; that is by design. */
		w->entries++;
		return (0);
	}
	if (r == ARCHIVE_FAILED && !w->failed) {
		warning("cannot store '%s' in volume '%s': %s", w->cur,
		    w->name, archive_error_string(w->a));
		return (1);
	}
	warn0("cannot write '%s' to volume '%s': %s", w->cur, w->name,
	    archive_error_string(w->a));
	w->failed = 1;
	return (-1);
}

static int
w_finish_entry(struct volume_writer *w)
{

	if (archive_write_finish_entry(w->a) < ARCHIVE_WARN) {
		warn0("cannot write '%s' to volume '%s': %s", w->cur,
		    w->name, archive_error_string(w->a));
		w->failed = 1;
		return (-1);
	}
	return (0);
}

/* Keep e as the backing of info's strings. */
static void
w_keep_entry(struct volume_writer *w, struct archive_entry *e)
{

	archive_entry_free(w->last);
	w->last = e;
}

/* Did the file change between st0 (before reading) and now? */
static int
changed_since(int fd, const char *path, const struct stat *st0)
{
	struct stat st;

	if ((fd >= 0 ? fstat(fd, &st) : lstat(path, &st)) != 0)
		return (1);
	return (st.st_size != st0->st_size ||
	    st.st_mtim.tv_sec != st0->st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != st0->st_mtim.tv_nsec ||
	    st.st_ctim.tv_sec != st0->st_ctim.tv_sec ||
	    st.st_ctim.tv_nsec != st0->st_ctim.tv_nsec);
}

/*
 * Open the regular file name (relative to dirfd, or AT_FDCWD) for reading
 * its data, path naming it in messages: 0, 1 (skip, warned), -1.  One
 * fstat; a file smaller than one read buffer gets no read-ahead advice
 * (it is read with one call).
 */
static int
open_data(struct volume_writer *w, int dirfd, const char *name,
    const char *path, int *fd, struct stat *st)
{

	(void)w;
	*fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK | O_NOATIME);
	if (*fd < 0 && errno == EPERM)
		*fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NOCTTY | O_NONBLOCK);
	if (*fd < 0) {
		if (errno == ENOENT)
			warning("skipping '%s': it vanished", path);
		else
			warnp("skipping '%s'", path);
		return (1);
	}
	if (fstat(*fd, st) != 0) {
		warnp("skipping '%s'", path);
		goto skip;
	}
	if (!S_ISREG(st->st_mode)) {
		warning("skipping '%s': no longer a regular file", path);
		goto skip;
	}
	if (st->st_size > VOLUME_BUFSIZE)
		(void)posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return (0);

skip:
	close(*fd);
	*fd = -1;
	return (1);
}

/*
 * The read-disk behaviour for one entry (fd open on it, or -1: path):
 * base, plus NO_XATTR when the entry has no extended attribute and NO_ACL
 * when it has none in the system namespace (POSIX ACLs are
 * system.posix_acl_access and _default), so that libarchive (and libacl
 * under it) does not probe for them: one listxattr call instead of a
 * failing getxattr and an fstat (two getxattrs for a directory) per entry.
 * When the names cannot be listed here, libarchive probes as usual.
 */
static int
disk_flags(int base, int fd, const char *path)
{
	char names[4096];
	ssize_t n, i;
	int sys = 0;

	n = fd >= 0 ? flistxattr(fd, names, sizeof(names)) :
	    llistxattr(path, names, sizeof(names));
	if (n < 0)
		return (errno == ENOTSUP ? base | ARCHIVE_READDISK_NO_XATTR |
		    ARCHIVE_READDISK_NO_ACL : base);
	if (n == 0)
		return (base | ARCHIVE_READDISK_NO_XATTR |
		    ARCHIVE_READDISK_NO_ACL);
	for (i = 0; i < n; i += (ssize_t)strnlen(names + i,
	    (size_t)(n - i)) + 1)
		if (strncmp(names + i, "system.", 7) == 0)
			sys = 1;
	return (sys ? base : base | ARCHIVE_READDISK_NO_ACL);
}

static void
info_fill(struct volume_file_info *info, struct archive_entry *e,
    const struct stat *st)
{

	memset(info, 0, sizeof(*info));
	volume_entry_describe(e, &info->entry);
	info->dev = st->st_dev;
	info->ino = st->st_ino;
	info->nlink = (uint64_t)st->st_nlink;
}

int
volume_add_path(struct volume_writer *w, const char *abs_path,
    const char *archive_name, uint8_t sha256_out[VOLUME_SHA256_LEN],
    struct volume_file_info *info_out)
{
	struct stat st;

	if (lstat(abs_path, &st) != 0) {
		if (errno == ENOENT)
			warning("skipping '%s': it vanished", abs_path);
		else
			warnp("skipping '%s'", abs_path);
		return (1);
	}
	return (volume_add_at(w, AT_FDCWD, abs_path, abs_path, archive_name,
	    &st, sha256_out, info_out));
}

/* Whether the file open as fd (fstat fst) is not the one lstat found as
 * st: another inode, or changed since. */
static int
differs(const struct stat *fst, const struct stat *st)
{

	return (fst->st_dev != st->st_dev || fst->st_ino != st->st_ino ||
	    fst->st_size != st->st_size ||
	    fst->st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    fst->st_mtim.tv_nsec != st->st_mtim.tv_nsec ||
	    fst->st_ctim.tv_sec != st->st_ctim.tv_sec ||
	    fst->st_ctim.tv_nsec != st->st_ctim.tv_nsec);
}

int
volume_add_at(struct volume_writer *w, int dirfd, const char *name,
    const char *abs_path, const char *archive_name, const struct stat *lst,
    uint8_t sha256_out[VOLUME_SHA256_LEN], struct volume_file_info *info_out)
{
	struct volume_file_info info;
	struct archive_entry *e = NULL;
	struct volume_sparse *sp = NULL;
	struct link_node *ln = NULL;
	struct archive *disk;
	struct stat st;
	size_t nsp = 0;
	int fd = -1, r, rc = -1, moved = 0, base;
	locale_t old = volume_locale_enter();

	memset(&info, 0, sizeof(info));
	w->cur = archive_name;
	if (w->failed || w->finished) {
		warn0("volume '%s' is %s", w->name,
		    w->failed ? "spoiled" : "finished");
		goto done;
	}
	st = *lst;
	if (S_ISSOCK(st.st_mode)) {
		warning("skipping socket '%s'", abs_path);
		rc = 1;
		goto done;
	}
	if (S_ISREG(st.st_mode)) {
		if ((rc = open_data(w, dirfd, name, abs_path, &fd, &st)) != 0)
			goto done;
		/* Replaced or changed since the caller's lstat: what is
		 * stored is the file as opened, and the caller hears. */
		moved = differs(&st, lst);
	}
	rc = -1;
	if ((e = archive_entry_new()) == NULL) {
		warnp("cannot allocate memory");
		goto done;
	}
	/*
	 * A file with as many blocks as bytes has no holes: spare it the
	 * search for them (lseek SEEK_DATA/SEEK_HOLE, several per file).
	 */
	disk = w->disk;
	base = ARCHIVE_READDISK_NO_FFLAGS;
	if (S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size) {
		disk = w->dense;
		base |= ARCHIVE_READDISK_NO_SPARSE;
	}
	if (archive_read_disk_set_behavior(disk, disk_flags(base, fd,
	    abs_path)) != ARCHIVE_OK) {
		warn0("cannot read '%s': %s", abs_path,
		    archive_error_string(disk));
		goto done;
	}
	archive_entry_copy_sourcepath(e, abs_path);
	r = archive_read_disk_entry_from_file(disk, e, fd, &st);
	if (r < ARCHIVE_WARN) {
		warning("skipping '%s': %s", abs_path,
		    archive_error_string(disk));
		rc = 1;
		goto done;
	}
	if (r == ARCHIVE_WARN)
		warning("'%s': %s", abs_path, archive_error_string(disk));
	archive_entry_copy_pathname(e, archive_name);
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	if (S_ISREG(st.st_mode) && st.st_nlink > 1 &&
	    (ln = link_find(w, st.st_dev, st.st_ino)) != NULL) {
		archive_entry_copy_hardlink(e, ln->name);
		archive_entry_sparse_clear(e);
		archive_entry_set_size(e, 0);
	} else if (S_ISREG(st.st_mode))
		sp = sparse_map(e, &nsp);

	if ((r = w_header(w, e)) != 0) {
		rc = r;
		goto done;
	}
	info_fill(&info, e, &st);
	if (ln != NULL) {
		memcpy(info.sha256, ln->sha256, VOLUME_SHA256_LEN);
		info.entry.size = ln->size;
	} else if (S_ISREG(st.st_mode)) {
		if (w_data(w, fd, 0, (uint64_t)st.st_size, sp, nsp,
		    info.sha256, &info.changed, &info.read_error))
			goto done;
		if (moved || changed_since(fd, abs_path, &st))
			info.changed = 1;
	}
	if (w_finish_entry(w))
		goto done;
	if (ln == NULL && S_ISREG(st.st_mode) && st.st_nlink > 1 &&
	    link_add(w, st.st_dev, st.st_ino, archive_entry_pathname(e),
	    (uint64_t)st.st_size, info.sha256))
		goto done;
	rc = 0;

done:
	if (rc == 0) {
		if (ln != NULL)
			info.entry.link = ln->name;
		if (sha256_out != NULL)
			memcpy(sha256_out, info.sha256, VOLUME_SHA256_LEN);
		if (info_out != NULL)
			*info_out = info;
		w_keep_entry(w, e);
	} else
		archive_entry_free(e);
	free(sp);
	if (fd >= 0)
		close(fd);
	w->cur = NULL;
	volume_locale_leave(old);
	return (rc);
}

int
volume_add_part(struct volume_writer *w, const char *abs_path,
    const char *archive_name, uint64_t offset, uint64_t len,
    uint8_t sha256_out[VOLUME_SHA256_LEN], struct volume_file_info *info_out)
{

	return (volume_add_part_whole(w, abs_path, archive_name, offset, len,
	    sha256_out, info_out, NULL));
}

int
volume_add_part_whole(struct volume_writer *w, const char *abs_path,
    const char *archive_name, uint64_t offset, uint64_t len,
    uint8_t sha256_out[VOLUME_SHA256_LEN], struct volume_file_info *info_out,
    struct crypto_sha256 *whole)
{
	struct volume_file_info info;
	struct archive_entry *e = NULL;
	struct stat st;
	const char *s;
	int fd = -1, r, rc = -1;
	locale_t old = volume_locale_enter();

	memset(&info, 0, sizeof(info));
	w->cur = archive_name;
	if (w->failed || w->finished) {
		warn0("volume '%s' is %s", w->name,
		    w->failed ? "spoiled" : "finished");
		goto done;
	}
	if (offset > INT64_MAX || len > INT64_MAX - offset) {
		warn0("part of '%s' out of range", abs_path);
		goto done;
	}
	if ((rc = open_data(w, AT_FDCWD, abs_path, abs_path, &fd, &st)) !=
	    0)
		goto done;
	rc = -1;
	if ((e = archive_entry_new()) == NULL) {
		warnp("cannot allocate memory");
		goto done;
	}
	archive_entry_copy_pathname(e, archive_name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, st.st_mode & 07777);
	archive_entry_set_uid(e, st.st_uid);
	archive_entry_set_gid(e, st.st_gid);
	if ((s = archive_read_disk_uname(w->disk, st.st_uid)) != NULL)
		archive_entry_copy_uname(e, s);
	if ((s = archive_read_disk_gname(w->disk, st.st_gid)) != NULL)
		archive_entry_copy_gname(e, s);
	archive_entry_set_mtime(e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	archive_entry_set_size(e, (la_int64_t)len);
	if ((r = w_header(w, e)) != 0) {
		rc = r;
		goto done;
	}
	info_fill(&info, e, &st);
	w->whole = whole;
	r = w_data(w, fd, (int64_t)offset, len, NULL, 0, info.sha256,
	    &info.changed, &info.read_error);
	w->whole = NULL;
	if (r != 0)
		goto done;
	if (changed_since(fd, abs_path, &st))
		info.changed = 1;
	if (w_finish_entry(w))
		goto done;
	rc = 0;

done:
	if (rc == 0) {
		if (sha256_out != NULL)
			memcpy(sha256_out, info.sha256, VOLUME_SHA256_LEN);
		if (info_out != NULL)
			*info_out = info;
		w_keep_entry(w, e);
	} else
		archive_entry_free(e);
	if (fd >= 0)
		close(fd);
	w->cur = NULL;
	volume_locale_leave(old);
	return (rc);
}

/* Build a libarchive entry from a description: NULL if it is not valid
 * (reported). */
static struct archive_entry *
entry_build(struct volume_writer *w, const struct volume_entry *d)
{
	static const mode_t types[] = {
		[VOLUME_REG] = AE_IFREG, [VOLUME_DIR] = AE_IFDIR,
		[VOLUME_SYMLINK] = AE_IFLNK, [VOLUME_HARDLINK] = AE_IFREG,
		[VOLUME_FIFO] = AE_IFIFO, [VOLUME_CHR] = AE_IFCHR,
		[VOLUME_BLK] = AE_IFBLK
	};
	struct archive_entry *e;
	size_t i;

	if (d->path == NULL || d->path[0] == '\0' ||
	    (unsigned)d->type >= ARRAY_SIZE(types) || d->type == 0 ||
	    ((d->type == VOLUME_SYMLINK || d->type == VOLUME_HARDLINK) &&
	    d->link == NULL) || d->size > INT64_MAX) {
		warn0("cannot store '%s' in volume '%s': invalid entry",
		    d->path != NULL ? d->path : "", w->name);
		return (NULL);
	}
	if ((e = archive_entry_new()) == NULL) {
		warnp("cannot allocate memory");
		return (NULL);
	}
	archive_entry_copy_pathname(e, d->path);
	archive_entry_set_filetype(e, types[d->type]);
	archive_entry_set_perm(e, d->mode & 07777);
	archive_entry_set_uid(e, (la_int64_t)d->uid);
	archive_entry_set_gid(e, (la_int64_t)d->gid);
	if (d->uname != NULL)
		archive_entry_copy_uname(e, d->uname);
	if (d->gname != NULL)
		archive_entry_copy_gname(e, d->gname);
	archive_entry_set_mtime(e, (time_t)(d->mtime_ns / 1000000000 -
	    (d->mtime_ns % 1000000000 < 0)),
	    (long)((d->mtime_ns % 1000000000 + 1000000000) % 1000000000));
	if (d->type == VOLUME_REG)
		archive_entry_set_size(e, (la_int64_t)d->size);
	if (d->type == VOLUME_SYMLINK)
		archive_entry_copy_symlink(e, d->link);
	if (d->type == VOLUME_HARDLINK)
		archive_entry_copy_hardlink(e, d->link);
	if (d->type == VOLUME_CHR || d->type == VOLUME_BLK)
		archive_entry_set_rdev(e, d->rdev);
	for (i = 0; i < d->nxattrs; i++)
		archive_entry_xattr_add_entry(e, d->xattrs[i].name,
		    d->xattrs[i].value, d->xattrs[i].len);
	if ((d->acl_access != NULL && archive_entry_acl_from_text(e,
	    d->acl_access, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) != ARCHIVE_OK) ||
	    (d->acl_default != NULL && archive_entry_acl_from_text(e,
	    d->acl_default, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) != ARCHIVE_OK)) {
		warn0("cannot store '%s' in volume '%s': invalid ACL",
		    d->path, w->name);
		archive_entry_free(e);
		return (NULL);
	}
	if (d->type == VOLUME_REG)
		for (i = 0; i < d->nsparse; i++)
			archive_entry_sparse_add_entry(e,
			    (la_int64_t)d->sparse[i].offset,
			    (la_int64_t)d->sparse[i].len);
	return (e);
}

int
volume_add_file(struct volume_writer *w, const struct volume_entry *d,
    int fd, uint8_t sha256_out[VOLUME_SHA256_LEN])
{
	struct archive_entry *e = NULL;
	uint8_t sha[VOLUME_SHA256_LEN];
	int changed = 0, read_error = 0, r, rc = -1;
	locale_t old = volume_locale_enter();

	memset(sha, 0, sizeof(sha));
	w->cur = d->path;
	if (w->failed || w->finished) {
		warn0("volume '%s' is %s", w->name,
		    w->failed ? "spoiled" : "finished");
		goto done;
	}
	if ((e = entry_build(w, d)) == NULL) {
		rc = 1;
		goto done;
	}
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	if ((r = w_header(w, e)) != 0) {
		rc = r;
		goto done;
	}
	if (d->type == VOLUME_REG) {
		if (w_data(w, fd, -1, d->size, d->sparse, d->nsparse, sha,
		    &changed, &read_error))
			goto done;
		if (changed)
			warning("'%s' ended before its %llu bytes; padded with "
			    "volume_zeros in volume '%s'", d->path,
			    (unsigned long long)d->size, w->name);
	}
	if (w_finish_entry(w))
		goto done;
	rc = 0;

done:
	if (sha256_out != NULL)
		memcpy(sha256_out, sha, VOLUME_SHA256_LEN);
	archive_entry_free(e);
	w->cur = NULL;
	volume_locale_leave(old);
	return (rc);
}

uint64_t
volume_bytes_out(const struct volume_writer *w)
{

	return (__atomic_load_n(&w->bytes_out, __ATOMIC_RELAXED));
}

uint64_t
volume_bytes_in(const struct volume_writer *w)
{

	return (w->bytes_in);
}

int
volume_writer_finish(struct volume_writer *w, struct volume_result *res)
{
	int rc = -1;
	locale_t old = volume_locale_enter();

	if (w->failed || w->finished) {
		warn0("volume '%s' is %s", w->name,
		    w->failed ? "spoiled" : "finished");
		goto done;
	}
	if (!w->raw && archive_write_close(w->a) != ARCHIVE_OK) {
		if (!w->failed)
			warn0("cannot end volume '%s': %s", w->name,
			    archive_error_string(w->a));
		goto fail;
	}
	if (w_gather_flush(w) || w_zfeed(w, NULL, 0, ZSTD_e_end) ||
	    w_drain(w) || w_sync(w))
		goto fail;
	if (age_encrypt_finish(w->enc)) {
		warn0("cannot end volume '%s'", w->name);
		goto fail;
	}
	w->finished = 1;
	if (res != NULL) {
		memset(res, 0, sizeof(*res));
		res->size = w->oh.off;
		res->header_len = w->oh.hdr;
		res->tar_bytes = w->bytes_in;
		res->entries = w->entries;
		crypto_sha256_final(w->oh.all, res->sha256);
		crypto_sha256_final(w->oh.payload, res->payload_sha256);
	}
	rc = 0;
	goto done;

fail:
	w->failed = 1;
done:
	volume_locale_leave(old);
	return (rc);
}

void
volume_writer_free(struct volume_writer *w)
{
	struct link_node *n, *next;
	size_t i;

	if (w == NULL)
		return;
	/* Whatever is still queued is dropped. */
	if (w->thr_on) {
		pthread_mutex_lock(&w->mu);
		w->thr_failed = 1;
		pthread_mutex_unlock(&w->mu);
		w_thread_stop(w);
	}
	if (w->sync_ok) {
		pthread_cond_destroy(&w->cv_free);
		pthread_cond_destroy(&w->cv_work);
		pthread_mutex_destroy(&w->mu);
	}
	/* archive_write_free ends the tar: keep it from the sink. */
	w->aborting = 1;
	if (w->a != NULL)
		archive_write_free(w->a);
	if (w->disk != NULL)
		archive_read_free(w->disk);
	if (w->dense != NULL)
		archive_read_free(w->dense);
	archive_entry_free(w->last);
	ZSTD_freeCCtx(w->cctx);
	age_encrypt_free(w->enc);
	volume_objhash_free(&w->oh);
	crypto_sha256_free(w->content);
	free(w->gbuf);
	if (w->zb[0] != NULL)
		for (i = 0; i < VOLUME_NZBUF; i++)
			free(w->zb[i]);
	else
		free(w->zbuf);
	free(w->dbuf);
	for (i = 0; w->links != NULL && i < w->nbuckets; i++)
		for (n = w->links[i]; n != NULL; n = next) {
			next = n->next;
			free(n);
		}
	free(w->links);
	free(w->name);
	free(w);
}


/* ------------------------------------------------------------------ blobs */

struct volume_blob_writer {
	struct volume_writer *w;
};

struct volume_blob_writer *
volume_blob_writer_new(const struct age_recipients *recipients,
    int zstd_level, volume_write_fn *write, void *cookie)
{
	struct volume_params p;
	struct volume_blob_writer *b;

	memset(&p, 0, sizeof(p));
	p.name = "manifest";
	p.recipients = recipients;
	p.zstd_level = zstd_level;
	p.zstd_workers = -1;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		warnp("cannot allocate memory");
		return (NULL);
	}
	if ((b->w = volume_writer_new(&p, write, cookie)) == NULL) {
		free(b);
		return (NULL);
	}
	b->w->raw = 1;
	return (b);
}

int
volume_blob_write(struct volume_blob_writer *b, const void *buf, size_t len)
{

	/* The tar sink gathers small writes and compresses. */
	return (w_tar_write(b->w->a, b->w, buf, len) < 0 ? -1 : 0);
}

int
volume_blob_finish(struct volume_blob_writer *b, struct volume_result *res)
{

	return (volume_writer_finish(b->w, res));
}

void
volume_blob_writer_free(struct volume_blob_writer *b)
{

	if (b == NULL)
		return;
	volume_writer_free(b->w);
	free(b);
}
