/*
 * common.c: helpers, problem lists, safe file access under the destination.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto.h"
#include "label.h"
#include "manifest.h"
#include "restore.h"
#include "set.h"
#include "target.h"
#include "util.h"
#include "volume.h"
#include "warnp.h"
#include "restore_internal.h"

static const char *const action_names[] = {
	"create", "overwrite", "unchanged", "delete"
};

const char *
restore_action_name(enum restore_action a)
{

	if ((unsigned)a >= sizeof(action_names) / sizeof(action_names[0]))
		return ("?");
	return (action_names[a]);
}

/* ------------------------------------------------------------ helpers */

int
restore_problem_add(struct restore_problem **list, size_t *n, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

int
restore_problem_add(struct restore_problem **list, size_t *n, const char *path,
    const char *fmt, ...)
{
	struct restore_problem *p;
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if ((p = reallocarray(*list, *n + 1, sizeof(**list))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	*list = p;
	p += *n;
	if ((p->path = util_strdup(path)) == NULL ||
	    (p->what = util_strdup(what)) == NULL) {
		free(p->path);
		return (-1);
	}
	(*n)++;
	return (0);
}

void
restore_report_clear(struct restore_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfailed; i++) {
		free(r->failed[i].path);
		free(r->failed[i].what);
	}
	for (i = 0; i < r->nbad; i++) {
		free(r->bad[i].path);
		free(r->bad[i].what);
	}
	free(r->failed);
	free(r->bad);
	memset(r, 0, sizeof(*r));
}

int
restore_id_valid(const char *id)
{
	size_t i, n = strlen(id);

	/* R-YYYYMMDDTHHMMSSZ-xxxxxxxx */
	if (n != 27 || id[0] != 'R' || id[1] != '-' || id[10] != 'T' ||
	    id[17] != 'Z' || id[18] != '-')
		return (0);
	for (i = 2; i < n; i++) {
		if (i == 10 || i == 17 || i == 18)
			continue;
		if (i < 18 ? !(id[i] >= '0' && id[i] <= '9') :
		    !((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return (0);
	}
	return (1);
}

int
restore_path_cmp(const char *a, const char *b)
{

	return (strcmp(a, b));
}

/* 1 if path is sel or below it ("" selects everything). */
int
restore_path_under(const char *path, const char *sel)
{
	size_t n = strlen(sel);

	if (n == 0)
		return (1);
	return (strncmp(path, sel, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/'));
}

int
restore_ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return (restore_path_cmp(x->e->path, y->e->path));
}

int
restore_mentry_cmp(const void *a, const void *b)
{
	const struct manifest_entry *x = a, *y = b;

	return (restore_path_cmp(x->path, y->path));
}

const struct manifest_entry *
restore_rset_find(const struct rset *s, const char *path)
{
	struct manifest_entry key;

	key.path = (char *)(uintptr_t)path;
	if (s->n == 0)
		return (NULL);
	return (bsearch(&key, s->ents, s->n, sizeof(*s->ents),
	    restore_mentry_cmp));
}

struct ent *
restore_ent_find(struct ctx *c, const char *path)
{
	struct manifest_entry me;
	struct ent key;

	me.path = (char *)(uintptr_t)path;
	key.e = &me;
	if (c->nents == 0)
		return (NULL);
	return (bsearch(&key, c->ents, c->nents, sizeof(*c->ents),
	    restore_ent_cmp));
}

/* --------------------------------------------------- safe file access */

/*
 * dir_open(rootfd, path, len, create): the directory at the first len
 * bytes of path under rootfd ("" is rootfd itself), never following a
 * symlink; with create, missing components are made (mode 0700; the
 * metadata pass sets them).  An O_PATH descriptor, or -1 with errno
 * (ENOENT, ENOTDIR, ELOOP...).  Silent.
 */
int
restore_dir_open(int rootfd, const char *path, size_t len, int create)
{
	char comp[NAME_MAX + 1];
	size_t i = 0, j;
	int fd, nfd, e;

	if ((fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return (-1);
	while (i < len) {
		for (j = i; j < len && path[j] != '/'; j++)
			;
		if (j - i > NAME_MAX || j == i) {
			close(fd);
			errno = ENAMETOOLONG;
			return (-1);
		}
		memcpy(comp, path + i, j - i);
		comp[j - i] = '\0';
		nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0700) != 0 && errno != EEXIST) {
				e = errno;
				close(fd);
				errno = e;
				return (-1);
			}
			nfd = openat(fd, comp, O_PATH | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
		e = errno;
		close(fd);
		if (nfd < 0) {
			errno = e;
			return (-1);
		}
		fd = nfd;
		i = j + 1;
	}
	return (fd);
}

/*
 * The directories of the last parent at_parent opened, kept open, one
 * descriptor per component: entries come in path order, so the next
 * parent shares most of its components, and only the ones that differ
 * are opened (walking from the root cost an openat and a close per
 * component, for every path).  Dropped whenever something is removed or
 * extracted (restore_dircache_drop), so a directory replaced since is
 * never used.  Paths deeper than DCACHE_DEPTH go uncached.  One cache per
 * thread (the verifier thread of verify.c has its own).
 */
#define DCACHE_DEPTH 64

static __thread struct {
	int rootfd;                     /* -1: empty */
	size_t depth;                   /* components held */
	int fds[DCACHE_DEPTH];          /* fds[k]: components 0..k */
	size_t ends[DCACHE_DEPTH];      /* where component k ends in path */
	char *path;
	size_t size;
	int spare;                      /* a deeper parent lent, or -1 */
} dcache = { -1, 0, { 0 }, { 0 }, NULL, 0, -1 };

/* Keep the first k components. */
static void
dcache_trim(size_t k)
{

	while (dcache.depth > k)
		close(dcache.fds[--dcache.depth]);
}

/* Close what restore_at_parent_lent lent last for a deep path. */
static void
dcache_spare_close(void)
{

	if (dcache.spare >= 0) {
		close(dcache.spare);
		dcache.spare = -1;
	}
}

void
restore_dircache_drop(void)
{

	dcache_spare_close();
	dcache_trim(0);
	dcache.rootfd = -1;
}

void
restore_dircache_free(void)
{

	restore_dircache_drop();
	free(dcache.path);
	dcache.path = NULL;
	dcache.size = 0;
}

/*
 * dir_lend_cached(rootfd, path, len, create): the directory at the first
 * len bytes of path, through the cache, lent: the descriptor stays the
 * cache's (or rootfd itself), valid until the next call on this thread or
 * a drop; the caller must not close it.  -1 as dir_open.
 */
static int
dir_lend_cached(int rootfd, const char *path, size_t len, int create)
{
	char comp[NAME_MAX + 1], *np;
	size_t i, j, k, ncomp = 0;
	int base, nfd;

	dcache_spare_close();
	for (i = 0; i < len; i++)
		ncomp += path[i] == '/';
	if (len > 0 && ++ncomp > DCACHE_DEPTH)
		return (dcache.spare = restore_dir_open(rootfd, path, len,
		    create));
	if (dcache.rootfd != rootfd) {
		restore_dircache_drop();
		dcache.rootfd = rootfd;
	}
	if (len > dcache.size) {
		if ((np = realloc(dcache.path, len)) == NULL) {
			restore_dircache_drop();
			return (dcache.spare = restore_dir_open(rootfd, path,
			    len, create));
		}
		dcache.path = np;
		dcache.size = len;
	}
	/* The components held that path shares. */
	for (i = 0, k = 0; i < len && k < dcache.depth; i = j + 1, k++) {
		for (j = i; j < len && path[j] != '/'; j++)
			;
		if (dcache.ends[k] != j || memcmp(dcache.path + i, path + i,
		    j - i) != 0)
			break;
	}
	dcache_trim(k);
	/* Open the rest, as restore_dir_open does. */
	for (; i < len; i = j + 1) {
		for (j = i; j < len && path[j] != '/'; j++)
			;
		if (j - i > NAME_MAX || j == i) {
			errno = ENAMETOOLONG;
			return (-1);
		}
		memcpy(comp, path + i, j - i);
		comp[j - i] = '\0';
		base = dcache.depth > 0 ? dcache.fds[dcache.depth - 1] :
		    rootfd;
		nfd = openat(base, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(base, comp, 0700) != 0 && errno != EEXIST)
				return (-1);
			nfd = openat(base, comp, O_PATH | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0)
			return (-1);
		memcpy(dcache.path + i, path + i, j - i);
		if (j < len)
			dcache.path[j] = '/';
		dcache.ends[dcache.depth] = j;
		dcache.fds[dcache.depth++] = nfd;
	}
	return (dcache.depth > 0 ? dcache.fds[dcache.depth - 1] : rootfd);
}

/* The directory at the first len bytes of path, through the cache: a
 * descriptor of its own, or -1 as dir_open. */
static int
dir_open_cached(int rootfd, const char *path, size_t len, int create)
{
	int fd, e;

	if ((fd = dir_lend_cached(rootfd, path, len, create)) < 0)
		return (-1);
	if (fd == dcache.spare) {
		dcache.spare = -1;
		return (fd);
	}
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	e = errno;
	if (fd < 0)
		restore_dircache_drop();
	errno = e;
	return (fd);
}

/* at_parent(rootfd, path, create, leaf): the parent directory of path
 * (as dir_open) and its last component in *leaf. */
int
restore_at_parent(int rootfd, const char *path, int create, const char **leaf)
{
	const char *s = strrchr(path, '/');

	if (s == NULL) {
		*leaf = path;
		return (dir_open_cached(rootfd, "", 0, 0));
	}
	*leaf = s + 1;
	return (dir_open_cached(rootfd, path, (size_t)(s - path), create));
}

/* at_parent_lent(rootfd, path, create, leaf): at_parent, the descriptor
 * lent as dir_lend_cached lends it (not to be closed). */
int
restore_at_parent_lent(int rootfd, const char *path, int create,
    const char **leaf)
{
	const char *s = strrchr(path, '/');

	if (s == NULL) {
		*leaf = path;
		return (dir_lend_cached(rootfd, "", 0, 0));
	}
	*leaf = s + 1;
	return (dir_lend_cached(rootfd, path, (size_t)(s - path), create));
}

/* lstat_at(rootfd, path, st): 0 found, 1 absent (or a parent is not a
 * directory), -1 error (reported). */
int
restore_lstat_at(int rootfd, const char *path, struct stat *st)
{
	const char *leaf;
	int pfd, rc;

	if ((pfd = restore_at_parent_lent(rootfd, path, 0, &leaf)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return (1);
		warnp("cannot open the directory of '%s'", path);
		return (-1);
	}
	rc = fstatat(pfd, leaf, st, AT_SYMLINK_NOFOLLOW);
	if (rc != 0 && errno != ENOENT && errno != ENOTDIR) {
		warnp("cannot stat '%s'", path);
		return (-1);
	}
	return (rc == 0 ? 0 : 1);
}

/* hash_at(rootfd, path, buf, out, size): SHA-256 of the regular file at
 * path (not followed).  0 or -1 (errno set; silent). */
int
restore_hash_at(int rootfd, const char *path, uint8_t *buf,
    uint8_t out[CRYPTO_SHA256_LEN], uint64_t *size)
{
	struct crypto_sha256 *h = NULL;
	const char *leaf;
	int pfd, fd = -1, rc = -1, e;
	uint64_t total = 0;
	ssize_t n;

	if ((pfd = restore_at_parent_lent(rootfd, path, 0, &leaf)) < 0)
		return (-1);
	fd = openat(pfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return (-1);
	if ((h = crypto_sha256_new()) == NULL)
		goto done;
	while ((n = read(fd, buf, RBUF_SIZE)) > 0) {
		crypto_sha256_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n < 0)
		goto done;
	crypto_sha256_final(h, out);
	if (size != NULL)
		*size = total;
	rc = 0;
done:
	e = errno;
	crypto_sha256_free(h);
	close(fd);
	errno = e;
	return (rc);
}

/* remove_at(dirfd, name, depth): remove name and everything below it,
 * never following symlinks.  0 or -1 (reported, naming what). */
static int
remove_at(int pdir, const char *name, const char *what)
{
	struct stat st;
	struct dirent *d;
	DIR *dir;
	int fd, rc = 0;

	if (fstatat(pdir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return (0);
		warnp("cannot stat '%s'", what);
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(pdir, name, 0) != 0 && errno != ENOENT) {
			warnp("cannot remove '%s'", what);
			return (-1);
		}
		return (0);
	}
	if ((fd = openat(pdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || (dir = fdopendir(fd)) == NULL) {
		warnp("cannot open '%s'", what);
		if (fd >= 0)
			close(fd);
		return (-1);
	}
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (remove_at(dirfd(dir), d->d_name, what) != 0)
			rc = -1;
	}
	closedir(dir);
	if (rc == 0 && unlinkat(pdir, name, AT_REMOVEDIR) != 0 &&
	    errno != ENOENT) {
		warnp("cannot remove '%s'", what);
		rc = -1;
	}
	return (rc);
}

/* remove_path(rootfd, path, only_empty): remove path (a directory only
 * when empty if only_empty).  0, 1 (not empty), -1 (reported). */
int
restore_remove_path(int rootfd, const char *path, int only_empty)
{
	const char *leaf;
	struct stat st;
	int pfd, rc = 0;

	restore_dircache_drop();
	if ((pfd = restore_at_parent(rootfd, path, 0, &leaf)) < 0)
		return (0);     /* the parent is gone: so is path */
	if (only_empty && fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		if (unlinkat(pfd, leaf, AT_REMOVEDIR) != 0) {
			if (errno == ENOTEMPTY || errno == EEXIST)
				rc = 1;
			else if (errno != ENOENT) {
				warnp("cannot remove '%s'", path);
				rc = -1;
			}
		}
	} else
		rc = remove_at(pfd, leaf, path);
	close(pfd);
	restore_dircache_drop();
	return (rc);
}
