#include "compat.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypto.h"
#include "scan.h"
#include "statecache.h"
#include "util.h"
#include "warnp.h"

#define MAGIC		"coffer-statecache 1"
#define BUFSZ		65536
#define PATH_MAXLEN	65535
#define LINE_MAX_LEN	1024
/* mode, uid, gid, size, mtime, ctime, ino, dev, has_sha256, sha256, inlen */
#define FIXED_LEN	(4 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 1 + 32 + 1)

struct statecache_reader {
	char *file;
	int fd;
	unsigned char *buf;
	size_t pos, len;
	int eof;
	struct crypto_sha256 *h;	/* while verifying */
	off_t datastart;		/* first record */
	struct statecache_header hdr;
	char *vault_id, *job, *set_label;

	/* Merge-join state. */
	struct statecache_rec cur;
	char *pathbuf;
	int have_cur;			/* cur read, not yet consumed */
	int at_end;			/* trailer reached */
	uint64_t nread;
	char *last;			/* last path asked for */
	size_t lastlen, lastcap;
	int asked;
};

struct statecache_writer {
	char *dir;			/* NULL for writer_new_file */
	char *final;			/* writer_new_file only */
	char *tmp;
	int fd;
	unsigned char *buf;
	size_t len;
	struct crypto_sha256 *h;
	uint64_t count;
	char *prev;
	size_t prevlen, prevcap;
	int failed;
};

static int
name_ok(const char *what, const char *s)
{

	if (s == NULL || s[0] == '\0' || strchr(s, '/') != NULL ||
	    strchr(s, '\n') != NULL || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0) {
		warn0("invalid %s '%s' for the state cache", what,
		    s != NULL ? s : "");
		return (0);
	}
	return (1);
}

static char *
cache_dir(const char *home, const char *vault_id, const char *job)
{

	if (!name_ok("vault id", vault_id) || !name_ok("job", job))
		return (NULL);
	return (util_asprintf("%s/cache/%s/%s", home, vault_id, job));
}

char *
statecache_path(const char *home, const char *vault_id, const char *job,
    enum statecache_which which)
{
	char *dir, *p;

	if ((dir = cache_dir(home, vault_id, job)) == NULL)
		return (NULL);
	p = util_asprintf("%s/%s", dir,
	    which == STATECACHE_FULL ? "full.cache" : "last.cache");
	free(dir);
	return (p);
}

/* Big-endian helpers. */
static void
put_u32(unsigned char *p, uint32_t v)
{

	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
put_u64(unsigned char *p, uint64_t v)
{

	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

static uint32_t
get_u32(const unsigned char *p)
{

	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

static uint64_t
get_u64(const unsigned char *p)
{

	return ((uint64_t)get_u32(p) << 32 | get_u32(p + 4));
}

/* ---- Reader ---- */

/* Fill the buffer; 0, or -1 on an I/O error (reported). */
static int
rd_fill(struct statecache_reader *r)
{
	ssize_t n;

	if (r->pos < r->len || r->eof)
		return (0);
	n = util_read_all(r->fd, r->buf, BUFSZ);
	if (n < 0) {
		warnp("cannot read state cache '%s'", r->file);
		return (-1);
	}
	r->pos = 0;
	r->len = (size_t)n;
	if (n < BUFSZ)
		r->eof = 1;
	return (0);
}

/* Read n bytes; 0, 1 at end of file before n bytes, -1 on I/O error. */
static int
rd(struct statecache_reader *r, void *dst, size_t n)
{
	unsigned char *d = dst;
	size_t k;

	while (n > 0) {
		if (rd_fill(r) != 0)
			return (-1);
		if (r->pos == r->len)
			return (1);
		k = r->len - r->pos;
		if (k > n)
			k = n;
		memcpy(d, r->buf + r->pos, k);
		if (r->h != NULL)
			crypto_sha256_update(r->h, r->buf + r->pos, k);
		r->pos += k;
		d += k;
		n -= k;
	}
	return (0);
}

/* Read a header line "key value" into a new string (value only).
 * Returns 0, 1 damaged, -1 I/O. */
static int
rd_line(struct statecache_reader *r, const char *key, char **val)
{
	char line[LINE_MAX_LEN + 1];
	size_t n = 0, kl = strlen(key);
	int e;

	for (;;) {
		if (n == LINE_MAX_LEN)
			return (1);
		if ((e = rd(r, line + n, 1)) != 0)
			return (e);
		if (line[n] == '\n')
			break;
		if (line[n] == '\0')
			return (1);
		n++;
	}
	line[n] = '\0';
	if (kl == 0)
		return (n == 0 ? 0 : 1);
	if (n < kl + 2 || memcmp(line, key, kl) != 0 || line[kl] != ' ')
		return (1);
	if ((*val = util_strdup(line + kl + 1)) == NULL)
		return (-1);
	return (0);
}

/*
 * Read the next record into r->cur, or the trailer.  Returns 0 record,
 * 2 trailer (count checked, digest not), 1 damaged (r->cur unusable),
 * -1 I/O error.
 */
static int
rd_record(struct statecache_reader *r, uint64_t *count)
{
	unsigned char fixed[FIXED_LEN], b4[4], b8[8], tag;
	struct statecache_rec *c = &r->cur;
	uint32_t plen;
	size_t inlen;
	char *p;
	int e;

	if ((e = rd(r, &tag, 1)) != 0)
		return (e);
	if (tag == 'E') {
		if ((e = rd(r, b8, 8)) != 0)
			return (e);
		*count = get_u64(b8);
		return (2);
	}
	if (tag != 'R')
		return (1);
	if ((e = rd(r, b4, 4)) != 0)
		return (e);
	plen = get_u32(b4);
	if (plen == 0 || plen > PATH_MAXLEN)
		return (1);
	if ((p = realloc(r->pathbuf, plen + 1)) == NULL) {
		warnp("cannot allocate state cache path");
		return (-1);
	}
	r->pathbuf = p;
	if ((e = rd(r, p, plen)) != 0)
		return (e);
	p[plen] = '\0';
	if (memchr(p, '\0', plen) != NULL)
		return (1);
	if ((e = rd(r, fixed, FIXED_LEN)) != 0)
		return (e);
	c->path = p;
	c->pathlen = plen;
	c->mode = get_u32(fixed);
	c->uid = get_u32(fixed + 4);
	c->gid = get_u32(fixed + 8);
	c->size = get_u64(fixed + 12);
	c->mtime_ns = (int64_t)get_u64(fixed + 20);
	c->ctime_ns = (int64_t)get_u64(fixed + 28);
	c->ino = get_u64(fixed + 36);
	c->dev = get_u64(fixed + 44);
	if (fixed[52] > 1)
		return (1);
	c->has_sha256 = fixed[52];
	memcpy(c->sha256, fixed + 53, STATECACHE_SHA256_LEN);
	inlen = fixed[85];
	if ((e = rd(r, c->in, inlen)) != 0)
		return (e);
	c->in[inlen] = '\0';
	if (memchr(c->in, '\0', inlen) != NULL)
		return (1);
	return (0);
}

/* Read one header line "key value" into *val (caller frees). */
static int
rd_hdr(struct statecache_reader *r, const char *key, char **val,
    const char **why)
{
	int e;

	if ((e = rd_line(r, key, val)) > 0)
		*why = "bad header";
	return (e);
}

/*
 * First pass: parse everything, check order, count and digest.
 * Returns STATECACHE_OK, STATECACHE_DAMAGED (why in *why) or -1.
 */
static int
verify(struct statecache_reader *r, const char **why)
{
	uint8_t want[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN];
	unsigned char extra;
	char *version = NULL, *start = NULL, *prev = NULL, *end, *np;
	size_t prevlen = 0, prevcap = 0;
	uint64_t n = 0, count;
	long long ss;
	off_t off;
	int e, ret = -1;

	if ((r->h = crypto_sha256_new()) == NULL)
		goto cleanup;
	if ((e = rd_hdr(r, "coffer-statecache", &version, why)) != 0 ||
	    (e = rd_hdr(r, "vault", &r->vault_id, why)) != 0 ||
	    (e = rd_hdr(r, "job", &r->job, why)) != 0 ||
	    (e = rd_hdr(r, "set", &r->set_label, why)) != 0 ||
	    (e = rd_hdr(r, "scan-start", &start, why)) != 0 ||
	    (e = rd_hdr(r, "", NULL, why)) != 0)
		goto done;
	e = 1;
	if (strcmp(version, "1") != 0) {
		*why = "unknown version";
		goto done;
	}
	errno = 0;
	ss = strtoll(start, &end, 10);
	if (errno != 0 || end == start || *end != '\0') {
		*why = "bad scan start";
		goto done;
	}
	r->hdr.scan_start_ns = ss;
	if ((off = lseek(r->fd, 0, SEEK_CUR)) < 0) {
		warnp("cannot seek in state cache '%s'", r->file);
		e = -1;
		goto done;
	}
	r->datastart = off - (off_t)(r->len - r->pos);

	for (;;) {
		if ((e = rd_record(r, &count)) == 2)
			break;
		if (e != 0) {
			*why = "truncated or bad record";
			goto done;
		}
		if (n > 0 && scan_path_cmp(prev, prevlen, r->cur.path,
		    r->cur.pathlen) >= 0) {
			*why = "records out of order";
			e = 1;
			goto done;
		}
		if (r->cur.pathlen > prevcap) {
			if ((np = realloc(prev, r->cur.pathlen)) == NULL) {
				warnp("cannot allocate state cache path");
				e = -1;
				goto done;
			}
			prev = np;
			prevcap = r->cur.pathlen;
		}
		memcpy(prev, r->cur.path, r->cur.pathlen);
		prevlen = r->cur.pathlen;
		n++;
	}
	e = 1;
	if (count != n) {
		*why = "wrong record count";
		goto done;
	}
	crypto_sha256_final(r->h, got);
	crypto_sha256_free(r->h);
	r->h = NULL;
	if ((e = rd(r, want, sizeof(want))) != 0) {
		*why = "truncated";
		goto done;
	}
	if ((e = rd(r, &extra, 1)) != 1) {
		*why = "trailing bytes";
		e = e < 0 ? -1 : 1;
		goto done;
	}
	e = 1;
	if (memcmp(want, got, sizeof(got)) != 0) {
		*why = "checksum mismatch";
		goto done;
	}
	r->hdr.count = n;
	e = 0;

done:
	if (e < 0)
		ret = -1;
	else if (e > 0)
		ret = STATECACHE_DAMAGED;
	else
		ret = STATECACHE_OK;

cleanup:
	crypto_sha256_free(r->h);
	r->h = NULL;
	free(version);
	free(start);
	free(prev);
	return (ret);
}

int
statecache_open_file(const char *file, struct statecache_reader **rp)
{
	struct statecache_reader *r;
	const char *why = "damaged";
	int ret = -1;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		warnp("cannot allocate state cache reader");
		return (-1);
	}
	r->fd = -1;
	if ((r->file = util_strdup(file)) == NULL ||
	    (r->buf = malloc(BUFSZ)) == NULL) {
		warnp("cannot allocate state cache reader");
		goto cleanup;
	}
	if ((r->fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT) {
			ret = STATECACHE_MISSING;
			goto cleanup;
		}
		warnp("cannot open state cache '%s'", file);
		goto cleanup;
	}
	if ((ret = verify(r, &why)) != STATECACHE_OK) {
		if (ret == STATECACHE_DAMAGED)
			warning("state cache '%s' is damaged (%s)", file, why);
		goto cleanup;
	}
	ret = -1;
	if (lseek(r->fd, r->datastart, SEEK_SET) < 0) {
		warnp("cannot seek in state cache '%s'", file);
		goto cleanup;
	}
	r->pos = r->len = 0;
	r->eof = 0;
	r->hdr.vault_id = r->vault_id;
	r->hdr.job = r->job;
	r->hdr.set_label = r->set_label;
	*rp = r;
	r = NULL;
	ret = STATECACHE_OK;

cleanup:
	statecache_close(r);
	return (ret);
}

int
statecache_open(const char *home, const char *vault_id, const char *job,
    enum statecache_which which, struct statecache_reader **rp)
{
	char *file;
	int ret;

	*rp = NULL;
	if ((file = statecache_path(home, vault_id, job, which)) == NULL)
		return (-1);
	ret = statecache_open_file(file, rp);
	if (ret == STATECACHE_OK && (strcmp((*rp)->vault_id, vault_id) != 0 ||
	    strcmp((*rp)->job, job) != 0)) {
		warning("state cache '%s' is damaged (names another vault "
		    "or job)", file);
		statecache_close(*rp);
		*rp = NULL;
		ret = STATECACHE_DAMAGED;
	}
	free(file);
	return (ret);
}

const struct statecache_header *
statecache_header(const struct statecache_reader *r)
{

	return (&r->hdr);
}

/* Make r->cur the next unconsumed record; 0 record, 1 at end, -1 error. */
static int
peek(struct statecache_reader *r)
{
	uint64_t count;
	int e;

	if (r->have_cur)
		return (0);
	if (r->at_end)
		return (1);
	if ((e = rd_record(r, &count)) == 0) {
		r->have_cur = 1;
		r->nread++;
		return (0);
	}
	if (e == 2) {
		r->at_end = 1;
		return (1);
	}
	if (e > 0)
		warn0("state cache '%s' changed while read", r->file);
	return (-1);
}

int
statecache_lookup_next(struct statecache_reader *r, const char *path,
    size_t len, const struct statecache_rec **rec,
    statecache_deleted_fn *deleted, void *cookie)
{
	char *nl;
	size_t cap;
	int c, e;

	*rec = NULL;
	if (r->asked && scan_path_cmp(r->last, r->lastlen, path, len) >= 0) {
		warn0("state cache lookups out of scan order");
		return (-1);
	}
	if (len > r->lastcap) {
		cap = len < 256 ? 256 : len;
		if ((nl = realloc(r->last, cap)) == NULL) {
			warnp("cannot allocate state cache path");
			return (-1);
		}
		r->last = nl;
		r->lastcap = cap;
	}
	memcpy(r->last, path, len);
	r->lastlen = len;
	r->asked = 1;

	for (;;) {
		if ((e = peek(r)) != 0)
			return (e < 0 ? -1 : 0);
		c = scan_path_cmp(r->cur.path, r->cur.pathlen, path, len);
		if (c > 0)
			return (0);
		r->have_cur = 0;
		if (c == 0) {
			*rec = &r->cur;
			return (1);
		}
		if (deleted != NULL && deleted(cookie, &r->cur) != 0)
			return (-1);
	}
}

int
statecache_finish(struct statecache_reader *r, statecache_deleted_fn *deleted,
    void *cookie)
{
	int e;

	for (;;) {
		if ((e = peek(r)) != 0)
			return (e < 0 ? -1 : 0);
		r->have_cur = 0;
		if (deleted != NULL && deleted(cookie, &r->cur) != 0)
			return (-1);
	}
}

void
statecache_close(struct statecache_reader *r)
{

	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	crypto_sha256_free(r->h);
	free(r->file);
	free(r->buf);
	free(r->vault_id);
	free(r->job);
	free(r->set_label);
	free(r->pathbuf);
	free(r->last);
	free(r);
}

/* ---- Writer ---- */

/* Append n bytes (hashed); 0 or -1 (reported). */
static int
wr(struct statecache_writer *w, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t k;

	crypto_sha256_update(w->h, data, n);
	while (n > 0) {
		if (w->len == BUFSZ) {
			if (util_write_all(w->fd, w->buf, w->len) != 0) {
				warnp("cannot write state cache '%s'",
				    w->tmp);
				return (-1);
			}
			w->len = 0;
		}
		k = BUFSZ - w->len;
		if (k > n)
			k = n;
		memcpy(w->buf + w->len, p, k);
		w->len += k;
		p += k;
		n -= k;
	}
	return (0);
}

static int
wr_flush(struct statecache_writer *w)
{

	if (w->len > 0 && util_write_all(w->fd, w->buf, w->len) != 0) {
		warnp("cannot write state cache '%s'", w->tmp);
		return (-1);
	}
	w->len = 0;
	return (0);
}

void
statecache_writer_abort(struct statecache_writer *w)
{

	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp != NULL)
		unlink(w->tmp);
	crypto_sha256_free(w->h);
	free(w->dir);
	free(w->final);
	free(w->tmp);
	free(w->buf);
	free(w->prev);
	free(w);
}

/* Common part of the two constructors: w->tmp set; open it, header. */
static int
writer_start(struct statecache_writer *w, const char *vault_id,
    const char *job, const char *set_label, int64_t scan_start_ns)
{
	char *hdr = NULL;
	int ret = -1;

	if (set_label == NULL || set_label[0] == '\0' ||
	    strchr(set_label, '\n') != NULL) {
		warn0("invalid set label for the state cache");
		goto cleanup;
	}
	if ((w->buf = malloc(BUFSZ)) == NULL) {
		warnp("cannot allocate state cache writer");
		goto cleanup;
	}
	if ((w->h = crypto_sha256_new()) == NULL)
		goto cleanup;
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		warnp("cannot create state cache '%s'", w->tmp);
		goto cleanup;
	}
	hdr = util_asprintf(MAGIC "\nvault %s\njob %s\nset %s\n"
	    "scan-start %" PRId64 "\n\n", vault_id, job, set_label,
	    scan_start_ns);
	if (hdr == NULL || wr(w, hdr, strlen(hdr)) != 0)
		goto cleanup;
	ret = 0;

cleanup:
	free(hdr);
	return (ret);
}

static struct statecache_writer *
writer_alloc(void)
{
	struct statecache_writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		warnp("cannot allocate state cache writer");
		return (NULL);
	}
	w->fd = -1;
	return (w);
}

/* Remove temporary files left by a crashed run (the caller holds the
 * vault and job lock, so no other writer is running). */
static void
remove_stale(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	if ((d = opendir(dir)) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "new.cache.tmp-", 14) == 0)
			(void)unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

int
statecache_writer_new(const char *home, const char *vault_id,
    const char *job, const char *set_label, int64_t scan_start_ns,
    struct statecache_writer **wp)
{
	struct statecache_writer *w;

	*wp = NULL;
	if ((w = writer_alloc()) == NULL)
		return (-1);
	if ((w->dir = cache_dir(home, vault_id, job)) == NULL)
		goto fail;
	if (util_mkdir_p(w->dir, 0700) != 0)
		goto fail;
	remove_stale(w->dir);
	if ((w->tmp = util_asprintf("%s/new.cache.tmp-%ld", w->dir,
	    (long)getpid())) == NULL)
		goto fail;
	if (writer_start(w, vault_id, job, set_label, scan_start_ns) != 0)
		goto fail;
	*wp = w;
	return (0);

fail:
	statecache_writer_abort(w);
	return (-1);
}

int
statecache_writer_new_file(const char *path, const char *vault_id,
    const char *job, const char *set_label, int64_t scan_start_ns,
    struct statecache_writer **wp)
{
	struct statecache_writer *w;

	*wp = NULL;
	if (!name_ok("vault id", vault_id) || !name_ok("job", job))
		return (-1);
	if ((w = writer_alloc()) == NULL)
		return (-1);
	if ((w->final = util_strdup(path)) == NULL ||
	    (w->tmp = util_asprintf("%s.tmp-%ld", path,
	    (long)getpid())) == NULL)
		goto fail;
	if (writer_start(w, vault_id, job, set_label, scan_start_ns) != 0)
		goto fail;
	*wp = w;
	return (0);

fail:
	statecache_writer_abort(w);
	return (-1);
}

int
statecache_write(struct statecache_writer *w, const struct statecache_rec *rec)
{
	unsigned char fixed[FIXED_LEN], b[5];
	size_t inlen;
	char *np;

	if (w->failed) {
		warn0("state cache '%s' failed earlier", w->tmp);
		return (-1);
	}
	w->failed = 1;
	inlen = strlen(rec->in);
	if (rec->pathlen == 0 || rec->pathlen > PATH_MAXLEN ||
	    memchr(rec->path, '\0', rec->pathlen) != NULL ||
	    inlen > STATECACHE_IN_MAX) {
		warn0("invalid state cache record");
		return (-1);
	}
	if (w->count > 0 && scan_path_cmp(w->prev, w->prevlen, rec->path,
	    rec->pathlen) >= 0) {
		warn0("state cache records out of scan order");
		return (-1);
	}
	if (rec->pathlen > w->prevcap) {
		if ((np = realloc(w->prev, rec->pathlen)) == NULL) {
			warnp("cannot allocate state cache path");
			return (-1);
		}
		w->prev = np;
		w->prevcap = rec->pathlen;
	}
	memcpy(w->prev, rec->path, rec->pathlen);
	w->prevlen = rec->pathlen;

	b[0] = 'R';
	put_u32(b + 1, (uint32_t)rec->pathlen);
	put_u32(fixed, rec->mode);
	put_u32(fixed + 4, rec->uid);
	put_u32(fixed + 8, rec->gid);
	put_u64(fixed + 12, rec->size);
	put_u64(fixed + 20, (uint64_t)rec->mtime_ns);
	put_u64(fixed + 28, (uint64_t)rec->ctime_ns);
	put_u64(fixed + 36, rec->ino);
	put_u64(fixed + 44, rec->dev);
	fixed[52] = rec->has_sha256 ? 1 : 0;
	if (rec->has_sha256)
		memcpy(fixed + 53, rec->sha256, STATECACHE_SHA256_LEN);
	else
		memset(fixed + 53, 0, STATECACHE_SHA256_LEN);
	fixed[85] = (unsigned char)inlen;
	if (wr(w, b, 5) != 0 || wr(w, rec->path, rec->pathlen) != 0 ||
	    wr(w, fixed, FIXED_LEN) != 0 || wr(w, rec->in, inlen) != 0)
		return (-1);
	w->count++;
	w->failed = 0;
	return (0);
}

/* Copy the file from to the new file to (0600); 0 or -1 (reported). */
static int
copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len;
	int ret = -1;

	if (util_read_file(from, &data, &len, SIZE_MAX / 2) != 0)
		goto cleanup;
	ret = util_write_file(to, data, len, 0600, 0);

cleanup:
	free(data);
	return (ret);
}

int
statecache_commit(struct statecache_writer *w, unsigned int which)
{
	uint8_t digest[CRYPTO_SHA256_LEN];
	unsigned char b[9];
	char *full = NULL, *last = NULL, *tmp2 = NULL;
	int ret = -1;

	if (w->failed) {
		warn0("state cache '%s' failed earlier", w->tmp);
		goto cleanup;
	}
	b[0] = 'E';
	put_u64(b + 1, w->count);
	if (wr(w, b, sizeof(b)) != 0)
		goto cleanup;
	crypto_sha256_final(w->h, digest);
	/* The digest itself is not hashed: write it past wr(). */
	if (wr_flush(w) != 0 ||
	    util_write_all(w->fd, digest, sizeof(digest)) != 0) {
		warnp("cannot write state cache '%s'", w->tmp);
		goto cleanup;
	}
	if (fsync(w->fd) != 0) {
		warnp("cannot sync state cache '%s'", w->tmp);
		goto cleanup;
	}
	if (close(w->fd) != 0) {
		w->fd = -1;
		warnp("cannot close state cache '%s'", w->tmp);
		goto cleanup;
	}
	w->fd = -1;

	if (w->final != NULL) {
		if (rename(w->tmp, w->final) != 0) {
			warnp("cannot rename state cache '%s'", w->tmp);
			goto cleanup;
		}
		free(w->tmp);
		w->tmp = NULL;
		if (util_fsync_parent(w->final) != 0)
			goto cleanup;
		ret = 0;
		goto cleanup;
	}

	if ((which & (STATECACHE_FULL | STATECACHE_LAST)) == 0) {
		warn0("state cache commit names no copy");
		goto cleanup;
	}
	if ((full = util_asprintf("%s/full.cache", w->dir)) == NULL ||
	    (last = util_asprintf("%s/last.cache", w->dir)) == NULL ||
	    (tmp2 = util_asprintf("%s.2", w->tmp)) == NULL)
		goto cleanup;
	if ((which & STATECACHE_FULL) && (which & STATECACHE_LAST)) {
		/* One file, two names: last.cache first (an incr needs it
		 * more often; a stale full.cache names an older set, which
		 * the caller detects). */
		unlink(tmp2);
		if (link(w->tmp, tmp2) != 0 && copy_file(w->tmp, tmp2) != 0)
			goto cleanup;
		if (rename(w->tmp, last) != 0) {
			warnp("cannot rename state cache '%s'", last);
			unlink(tmp2);
			goto cleanup;
		}
		free(w->tmp);
		w->tmp = tmp2;
		tmp2 = NULL;
		if (rename(w->tmp, full) != 0) {
			warnp("cannot rename state cache '%s'", full);
			goto cleanup;
		}
	} else if (rename(w->tmp, (which & STATECACHE_FULL) ? full : last)
	    != 0) {
		warnp("cannot rename state cache in '%s'", w->dir);
		goto cleanup;
	}
	free(w->tmp);
	w->tmp = NULL;
	if (util_fsync_dir(w->dir) != 0)
		goto cleanup;
	ret = 0;

cleanup:
	free(full);
	free(last);
	free(tmp2);
	statecache_writer_abort(w);
	return (ret);
}

int
statecache_remove(const char *home, const char *vault_id, const char *job)
{
	char *dir, *p;
	int ret = -1, i;

	if ((dir = cache_dir(home, vault_id, job)) == NULL)
		return (-1);
	for (i = 0; i < 2; i++) {
		p = util_asprintf("%s/%s", dir, i ? "last.cache" :
		    "full.cache");
		if (p == NULL)
			goto cleanup;
		if (unlink(p) != 0 && errno != ENOENT) {
			warnp("cannot remove state cache '%s'", p);
			free(p);
			goto cleanup;
		}
		free(p);
	}
	if (util_fsync_dir(dir) != 0 && errno != ENOENT)
		goto cleanup;
	ret = 0;

cleanup:
	free(dir);
	return (ret);
}

/* ---- Comparison ---- */

static int64_t
ts_ns(const struct timespec *ts)
{

	return ((int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec);
}

void
statecache_rec_from_stat(struct statecache_rec *rec, const struct stat *st)
{

	rec->mode = (uint32_t)st->st_mode;
	rec->uid = (uint32_t)st->st_uid;
	rec->gid = (uint32_t)st->st_gid;
	rec->size = (uint64_t)st->st_size;
	rec->mtime_ns = ts_ns(&st->st_mtim);
	rec->ctime_ns = ts_ns(&st->st_ctim);
	rec->ino = (uint64_t)st->st_ino;
	rec->dev = (uint64_t)st->st_dev;
}

int
statecache_changed(const struct statecache_rec *rec, const struct stat *st,
    int64_t scan_start_ns)
{
	int64_t m = ts_ns(&st->st_mtim), c = ts_ns(&st->st_ctim);

	if (rec->size != (uint64_t)st->st_size || rec->mtime_ns != m ||
	    rec->ctime_ns != c || rec->ino != (uint64_t)st->st_ino ||
	    rec->mode != (uint32_t)st->st_mode ||
	    rec->uid != (uint32_t)st->st_uid ||
	    rec->gid != (uint32_t)st->st_gid)
		return (1);
	if (m >= scan_start_ns || c >= scan_start_ns)
		return (1);
	return (0);
}
