#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "warnp.h"

char *
util_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		warnp("out of memory");
		return NULL;
	}
	return s;
}

char *
util_strdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		warnp("out of memory");
	return d;
}

size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int
util_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
util_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
util_read_file(const char *path, char **out, size_t *lenp, size_t max)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		warnp("cannot open '%s'", path);
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		warnp("cannot stat '%s'", path);
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		warn0("'%s' is not a regular file", path);
		errno = EINVAL;
		goto cleanup;
	}
	if ((size_t)st.st_size > max) {
		warn0("'%s' is too large (%lld bytes, at most %zu)", path,
		    (long long)st.st_size, max);
		errno = EFBIG;
		goto cleanup;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		warnp("out of memory");
		goto cleanup;
	}
	if ((n = util_read_all(fd, buf, (size_t)st.st_size)) < 0) {
		warnp("cannot read '%s'", path);
		goto cleanup;
	}
	buf[n] = '\0';
	*out = buf;
	if (lenp != NULL)
		*lenp = (size_t)n;
	buf = NULL;
	rc = 0;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

static char *
parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return util_strdup(".");
	if (slash == path)
		return util_strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int
util_fsync_dir(const char *path)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		warnp("cannot open directory '%s'", path);
		return -1;
	}
	if (fsync(fd) != 0 && errno != EINVAL) {
		warnp("cannot sync directory '%s'", path);
		rc = -1;
	}
	close(fd);
	return rc;
}

int
util_fsync_parent(const char *path)
{
	char *dir = parent_of(path);
	int rc;

	if (dir == NULL)
		return -1;
	rc = util_fsync_dir(dir);
	free(dir);
	return rc;
}

struct util_afile {
	char *path, *tmp;
	int fd;
};

/* Free af, closing and removing its temporary file if still there. */
static void
afile_free(struct util_afile *af)
{
	int err = errno;

	if (af->fd >= 0)
		close(af->fd);
	if (af->tmp != NULL)
		unlink(af->tmp);
	free(af->tmp);
	free(af->path);
	free(af);
	errno = err;
}

struct util_afile *
util_afile_open(const char *path, mode_t mode)
{
	struct util_afile *af;

	if ((af = calloc(1, sizeof(*af))) == NULL) {
		warnp("cannot allocate memory");
		return NULL;
	}
	af->fd = -1;
	if ((af->path = util_strdup(path)) == NULL ||
	    (af->tmp = util_asprintf("%s.tmp.%ld", path, (long)getpid())) ==
	    NULL)
		goto fail;
	if ((af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) < 0) {
		warnp("cannot create '%s'", af->tmp);
		goto fail;
	}
	if (fchmod(af->fd, mode) != 0) {
		warnp("cannot set the mode of '%s'", af->tmp);
		goto fail;
	}
	return af;
fail:
	afile_free(af);
	return NULL;
}

int
util_afile_write(struct util_afile *af, const void *data, size_t len)
{

	if (util_write_all(af->fd, data, len) != 0) {
		warnp("cannot write '%s'", af->tmp);
		return -1;
	}
	return 0;
}

int
util_afile_commit(struct util_afile *af, int flags)
{
	int rc = -1;

	if (fsync(af->fd) != 0) {
		warnp("cannot sync '%s'", af->tmp);
		goto done;
	}
	if (close(af->fd) != 0) {
		af->fd = -1;
		warnp("cannot close '%s'", af->tmp);
		goto done;
	}
	af->fd = -1;
	if (flags & UTIL_EXCL) {
		if (link(af->tmp, af->path) != 0) {
			if (errno != EEXIST)
				warnp("cannot create '%s'", af->path);
			goto done;
		}
	} else if (rename(af->tmp, af->path) != 0) {
		warnp("cannot rename '%s' to '%s'", af->tmp, af->path);
		goto done;
	}
	if (util_fsync_parent(af->path) != 0)
		goto done;
	rc = 0;
done:
	afile_free(af);
	return rc;
}

void
util_afile_abort(struct util_afile *af)
{

	if (af != NULL)
		afile_free(af);
}

int
util_write_file(const char *path, const void *data, size_t len, mode_t mode,
    int flags)
{
	struct util_afile *af;

	if ((af = util_afile_open(path, mode)) == NULL)
		return -1;
	if (util_afile_write(af, data, len) != 0) {
		util_afile_abort(af);
		return -1;
	}
	return util_afile_commit(af, flags);
}

int
util_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		warnp("cannot create directory '%s'", path);
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST) {
			warnp("cannot create directory '%s'", buf);
			return -1;
		}
		buf[i] = path[i];
	}
	return 0;
}

char *
util_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la > 0 && a[la - 1] == '/')
		return util_asprintf("%s%s", a, b);
	return util_asprintf("%s/%s", a, b);
}

void
util_hex(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
util_unhex(unsigned char *out, const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo;
		if (hi < 0)
			return -1;
		lo = hexval(in[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
util_parse_duration(const char *s, long long *secs)
{
	char *end;
	long long n, mult = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || n < 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 7 * 86400;
		break;
	case 'y':
		mult = 365 * 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (n > LLONG_MAX / mult)
		return -1;
	*secs = n * mult;
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 &&
	    errno != ENOENT) {
		warnp("cannot remove '%s'", path);
		return -1;
	}
	return 0;
}

int
util_remove_tree(const char *path)
{
	if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	return 0;
}

/*
 * Sorting arrays of large structures: qsort moves every element
 * O(n log n) times (a manifest entry is 200 bytes), so pointers are
 * sorted instead and the elements moved once.  Already sorted input (the
 * usual manifest) costs one pass.
 */
struct sort_by {
	int (*cmp)(const void *, const void *);
};

static int
sort_ptr_cmp(const void *a, const void *b, void *cookie)
{
	const struct sort_by *by = cookie;

	return (by->cmp(*(const void *const *)a, *(const void *const *)b));
}

void
util_sort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	struct sort_by by = { cmp };
	unsigned char *b = base, *tmp;
	const void **p;
	size_t i;

	for (i = 1; i < n; i++)
		if (cmp(b + (i - 1) * size, b + i * size) > 0)
			break;
	if (i >= n)
		return;
	if (size <= 2 * sizeof(void *) ||
	    (p = reallocarray(NULL, n, sizeof(*p))) == NULL) {
		qsort(base, n, size, cmp);
		return;
	}
	if ((tmp = reallocarray(NULL, n, size)) == NULL) {
		free(p);
		qsort(base, n, size, cmp);
		return;
	}
	for (i = 0; i < n; i++)
		p[i] = b + i * size;
	qsort_r(p, n, sizeof(*p), sort_ptr_cmp, &by);
	for (i = 0; i < n; i++)
		memcpy(tmp + i * size, p[i], size);
	memcpy(base, tmp, n * size);
	free(tmp);
	free(p);
}
