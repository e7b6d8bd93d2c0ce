#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "target.h"
#include "target-local.h"
#include "util.h"
#include "warnp.h"

#define LOCAL_BUF_SIZE (1024 * 1024)     /* put and read buffers */
#define LOCAL_DIRECT_READ (64 * 1024)    /* reads this large skip the buffer */
#define LOCAL_MAX_DEPTH 64               /* directory levels listed */
#define LOCAL_OPEN_TRIES 4               /* a put racing a delete's rmdir */

/* The backend state of a target. */
struct local {
	int rootfd;
};

/*
 * An open chain of directories below the root: fd[0] is the root (not
 * owned), fd[i] the directory named by the first i components comp[0..i).
 */
struct dirs {
	int *fd;
	char **comp;
	char *path;         /* the components, NUL-separated */
	size_t n;
};

struct local_put {
	struct dirs d;
	int fd;
	const char *base;       /* last component of the name */
	const char *partbase;   /* last component of the part name */
	char *buf;
	size_t used;
};

struct local_reader {
	int fd;
	char *buf;
	size_t pos, len;        /* unread bytes are buf[pos..len) */
};

struct entry {
	char *name;
	uint64_t size;
	int64_t mtime;
};

struct listing {
	struct entry *v;
	size_t n, cap;
	int flags;
	const char *url;
};

static struct local *
local_of(struct target *t)
{

	return (t->backend);
}

/* basename_of(name): the last component of name. */
static const char *
basename_of(const char *name)
{
	const char *slash = strrchr(name, '/');

	return (slash != NULL ? slash + 1 : name);
}

static int
ends_in_part(const char *name)
{
	size_t len = strlen(name);

	return (len > 5 && strcmp(name + len - 5, ".part") == 0);
}

static void
dirs_close(struct dirs *d)
{
	size_t i;

	if (d->fd != NULL)
		for (i = 1; i <= d->n; i++)
			if (d->fd[i] >= 0)
				close(d->fd[i]);
	free(d->fd);
	free(d->comp);
	free(d->path);
	memset(d, 0, sizeof(*d));
}

/*
 * dirs_open(l, path, len, create, d): open the directories named by
 * path[0..len) ('/'-separated, already validated; len 0 is the root),
 * walking from the root with O_NOFOLLOW.  With create, missing ones are
 * made and their parents fsynced.  Returns 0, or -1 with errno set (not
 * reported) and d closed.
 */
static int
dirs_open(struct local *l, const char *path, size_t len, int create,
    struct dirs *d)
{
	size_t i, count = 0;
	char *p;
	int fd, saved;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < len; i++)
		if (path[i] == '/')
			count++;
	if (len > 0)
		count++;
	if ((d->path = malloc(len + 1)) == NULL ||
	    (d->fd = malloc((count + 1) * sizeof(int))) == NULL ||
	    (d->comp = malloc((count + 1) * sizeof(char *))) == NULL)
		goto fail;
	memcpy(d->path, path, len);
	d->path[len] = '\0';
	d->fd[0] = l->rootfd;
	for (i = 0, p = d->path; i < count; i++) {
		d->comp[i] = p;
		if ((p = strchr(p, '/')) != NULL)
			*p++ = '\0';
		if (strlen(d->comp[i]) > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		fd = openat(d->fd[i], d->comp[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(d->fd[i], d->comp[i], 0755) != 0 &&
			    errno != EEXIST)
				goto fail;
			/* The new entry must survive a crash. */
			if (fsync(d->fd[i]) != 0)
				goto fail;
			fd = openat(d->fd[i], d->comp[i],
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
			struct stat st;

			/* A symbolic link is an error, a file a miss. */
			if (fstatat(d->fd[i], d->comp[i], &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				errno = ELOOP;
			else
				errno = ENOTDIR;
		}
		if (fd < 0)
			goto fail;
		d->fd[i + 1] = fd;
		d->n = i + 1;
	}
	return (0);

fail:
	saved = errno;
	dirs_close(d);
	errno = saved;
	return (-1);
}

static int
dirs_last(const struct dirs *d)
{

	return (d->fd[d->n]);
}

/* dir_len(name): the length of the directory part of name. */
static size_t
dir_len(const char *name)
{
	const char *base = basename_of(name);

	return (base == name ? 0 : (size_t)(base - name - 1));
}

/*
 * prune_empty(d, name): remove the directories of d left empty, deepest
 * first, never the root; each removal is made durable.  A directory that
 * is not empty (or in use) ends it quietly.  0, or -1 (reported).
 */
static int
prune_empty(struct dirs *d, const char *name)
{
	size_t i;

	for (i = d->n; i >= 1; i--) {
		if (unlinkat(d->fd[i - 1], d->comp[i - 1], AT_REMOVEDIR) != 0)
			break;
		if (fsync(d->fd[i - 1]) != 0) {
			warnp("cannot sync the directory of object '%s'",
			    name);
			return (-1);
		}
	}
	return (0);
}

/* ---------------------------------------------------------------- put */

static int
local_put_begin(struct target *t, struct target_put *p)
{
	struct local *l = local_of(t);
	struct local_put *lp;
	struct stat st;
	int tries;

	if ((lp = calloc(1, sizeof(*lp))) == NULL) {
		warnp("cannot write object '%s'", p->name);
		return (-1);
	}
	lp->fd = -1;
	lp->base = basename_of(p->name);
	lp->partbase = basename_of(p->part);
	if ((lp->buf = malloc(LOCAL_BUF_SIZE)) == NULL) {
		warnp("cannot write object '%s'", p->name);
		goto fail;
	}
	for (tries = 1;; tries++) {
		if (dirs_open(l, p->name, dir_len(p->name), 1, &lp->d) != 0) {
			warnp("cannot write object '%s': cannot create its "
			    "directory", p->name);
			goto fail;
		}
		if (fstatat(dirs_last(&lp->d), lp->base, &st,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			warn0("cannot write object '%s': it already exists",
			    p->name);
			errno = EEXIST;
			goto fail;
		} else if (errno != ENOENT) {
			warnp("cannot write object '%s'", p->name);
			goto fail;
		}
		lp->fd = openat(dirs_last(&lp->d), lp->partbase,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (lp->fd >= 0)
			break;
		/* A delete may have removed the empty directory. */
		if (errno != ENOENT || tries >= LOCAL_OPEN_TRIES) {
			warnp("cannot create '%s'", p->part);
			goto fail;
		}
		dirs_close(&lp->d);
	}
	p->backend = lp;
	return (0);

fail:
	dirs_close(&lp->d);
	free(lp->buf);
	free(lp);
	return (-1);
}

static int
local_flush(struct target_put *p)
{
	struct local_put *lp = p->backend;

	if (lp->used > 0 && util_write_all(lp->fd, lp->buf, lp->used) != 0) {
		warnp("cannot write object '%s'", p->name);
		return (-1);
	}
	lp->used = 0;
	return (0);
}

static int
local_put_write(struct target_put *p, const void *buf, size_t len)
{
	struct local_put *lp = p->backend;

	if (lp->used + len > LOCAL_BUF_SIZE && local_flush(p) != 0)
		return (-1);
	if (len >= LOCAL_BUF_SIZE) {
		if (util_write_all(lp->fd, buf, len) != 0) {
			warnp("cannot write object '%s'", p->name);
			return (-1);
		}
		return (0);
	}
	memcpy(lp->buf + lp->used, buf, len);
	lp->used += len;
	return (0);
}

/* local_put_release(lp, remove_part): close everything, maybe unlink. */
static void
local_put_release(struct target_put *p, int remove_part)
{
	struct local_put *lp = p->backend;

	if (lp == NULL)
		return;
	if (lp->fd >= 0)
		close(lp->fd);
	if (remove_part) {
		if (unlinkat(dirs_last(&lp->d), lp->partbase, 0) != 0) {
			if (errno != ENOENT)
				warnp("cannot remove '%s'", p->part);
		} else {
			/* Leave no directory made for nothing. */
			(void)prune_empty(&lp->d, p->name);
		}
	}
	dirs_close(&lp->d);
	free(lp->buf);
	free(lp);
	p->backend = NULL;
}

/*
 * publish(p): give the part its final name without ever replacing an
 * existing file.  Returns 1 if linked (the part remains), 2 if renamed,
 * or -1 (reported).
 */
static int
publish(struct target_put *p)
{
	struct local_put *lp = p->backend;
	int dfd = dirs_last(&lp->d);
	struct stat st;

	if (linkat(dfd, lp->partbase, dfd, lp->base, 0) == 0)
		return (1);
	if (errno == EEXIST)
		goto exists;
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS) {
		warnp("cannot commit object '%s'", p->name);
		return (-1);
	}
	/* No hard links here (FAT, exFAT): an exclusive rename. */
	if (renameat2(dfd, lp->partbase, dfd, lp->base, RENAME_NOREPLACE) == 0)
		return (2);
	if (errno == EEXIST)
		goto exists;
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
		warnp("cannot commit object '%s'", p->name);
		return (-1);
	}
	/* Last resort, racy between hosts: check, then rename. */
	if (fstatat(dfd, lp->base, &st, AT_SYMLINK_NOFOLLOW) == 0)
		goto exists;
	if (renameat(dfd, lp->partbase, dfd, lp->base) != 0) {
		warnp("cannot commit object '%s'", p->name);
		return (-1);
	}
	return (2);

exists:
	warn0("cannot commit object '%s': it already exists", p->name);
	errno = EEXIST;
	return (-1);
}

static int
local_put_commit(struct target_put *p)
{
	struct local_put *lp = p->backend;
	int how, saved, rc = -1, remove_part = 1;

	if (local_flush(p) != 0)
		goto cleanup;
	if (fsync(lp->fd) != 0) {
		warnp("cannot sync object '%s'", p->name);
		goto cleanup;
	}
	if (close(lp->fd) != 0) {
		lp->fd = -1;
		warnp("cannot write object '%s'", p->name);
		goto cleanup;
	}
	lp->fd = -1;
	if ((how = publish(p)) < 0)
		goto cleanup;
	if (how == 1 && unlinkat(dirs_last(&lp->d), lp->partbase, 0) != 0)
		warning("cannot remove '%s' (left for reconcile): %s",
		    p->part, strerror(errno));
	remove_part = 0;
	if (fsync(dirs_last(&lp->d)) != 0) {
		warnp("cannot sync the directory of object '%s'", p->name);
		goto cleanup;
	}
	rc = 0;

cleanup:
	saved = errno;
	local_put_release(p, remove_part);
	errno = saved;
	return (rc);
}

static void
local_put_abort(struct target_put *p)
{

	local_put_release(p, 1);
}

/* --------------------------------------------------------------- read */

/*
 * open_object(l, name, fd, st): open the regular file of object name for
 * reading.  Returns 0, or -1 (reported; errno ENOENT if missing).
 */
static int
open_object(struct local *l, const char *name, int *fdp, struct stat *st)
{
	struct dirs d;
	int fd, saved;

	if (dirs_open(l, name, dir_len(name), 0, &d) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			goto missing;
		warnp("cannot read object '%s'", name);
		return (-1);
	}
	fd = openat(dirs_last(&d), basename_of(name),
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	dirs_close(&d);
	errno = saved;
	if (fd < 0) {
		if (errno == ENOENT)
			goto missing;
		warnp("cannot read object '%s'", name);
		return (-1);
	}
	if (fstat(fd, st) != 0) {
		warnp("cannot read object '%s'", name);
		close(fd);
		return (-1);
	}
	if (!S_ISREG(st->st_mode)) {
		warn0("cannot read object '%s': not a regular file", name);
		close(fd);
		errno = EINVAL;
		return (-1);
	}
	*fdp = fd;
	return (0);

missing:
	warn0("cannot read object '%s': no such object", name);
	errno = ENOENT;
	return (-1);
}

static int
local_open_read(struct target *t, struct target_reader *r, uint64_t offset)
{
	struct local_reader *lr;
	struct stat st;
	int fd;

	if (open_object(local_of(t), r->name, &fd, &st) != 0)
		return (-1);
	if (offset > (uint64_t)st.st_size) {
		warn0("cannot read object '%s': offset %llu lies past its end "
		    "(%llu bytes)", r->name, (unsigned long long)offset,
		    (unsigned long long)st.st_size);
		close(fd);
		errno = ERANGE;
		return (-1);
	}
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0) {
		warnp("cannot read object '%s'", r->name);
		close(fd);
		return (-1);
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((lr = calloc(1, sizeof(*lr))) == NULL) {
		warnp("cannot read object '%s'", r->name);
		close(fd);
		return (-1);
	}
	lr->fd = fd;
	r->size = (uint64_t)st.st_size;
	r->backend = lr;
	return (0);
}

static ssize_t
local_read(struct target_reader *r, void *buf, size_t len)
{
	struct local_reader *lr = r->backend;
	ssize_t got;
	size_t n;

	if (lr->pos == lr->len) {
		if (len >= LOCAL_DIRECT_READ) {
			if ((got = util_read_all(lr->fd, buf, len)) < 0)
				warnp("cannot read object '%s'", r->name);
			return (got);
		}
		if (lr->buf == NULL && (lr->buf = malloc(LOCAL_BUF_SIZE)) ==
		    NULL) {
			warnp("cannot read object '%s'", r->name);
			return (-1);
		}
		if ((got = util_read_all(lr->fd, lr->buf, LOCAL_BUF_SIZE)) <
		    0) {
			warnp("cannot read object '%s'", r->name);
			return (-1);
		}
		lr->pos = 0;
		lr->len = (size_t)got;
	}
	n = lr->len - lr->pos;
	if (n > len)
		n = len;
	memcpy(buf, lr->buf + lr->pos, n);
	lr->pos += n;
	return ((ssize_t)n);
}

static void
local_reader_close(struct target_reader *r)
{
	struct local_reader *lr = r->backend;

	if (lr == NULL)
		return;
	close(lr->fd);
	free(lr->buf);
	free(lr);
	r->backend = NULL;
}

static int
local_head(struct target *t, const char *name, uint64_t *size)
{
	struct dirs d;
	struct stat st;
	int rc;

	if (dirs_open(local_of(t), name, dir_len(name), 0, &d) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (0);
		warnp("cannot look up object '%s'", name);
		return (-1);
	}
	rc = fstatat(dirs_last(&d), basename_of(name), &st,
	    AT_SYMLINK_NOFOLLOW);
	dirs_close(&d);
	if (rc != 0) {
		if (errno == ENOENT)
			return (0);
		warnp("cannot look up object '%s'", name);
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		warn0("cannot look up object '%s': not a regular file", name);
		errno = EINVAL;
		return (-1);
	}
	*size = (uint64_t)st.st_size;
	return (1);
}

/* --------------------------------------------------------------- list */

static int
listing_add(struct listing *ls, char *name, const struct stat *st)
{
	struct entry *v;

	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? 2 * ls->cap : 64;

		if ((v = realloc(ls->v, cap * sizeof(*v))) == NULL) {
			warnp("cannot list vault '%s'", ls->url);
			return (-1);
		}
		ls->v = v;
		ls->cap = cap;
	}
	ls->v[ls->n].name = name;
	ls->v[ls->n].size = (uint64_t)st->st_size;
	ls->v[ls->n].mtime = (int64_t)st->st_mtime;
	ls->n++;
	return (0);
}

/*
 * walk(ls, dfd, rel, filter, depth): add the files below the directory dfd
 * (taken over and closed), whose name is rel ("" or ending in '/'); at the
 * top, only entries starting with filter.  0 or -1 (reported).
 */
static int
walk(struct listing *ls, int dfd, const char *rel, const char *filter,
    int depth)
{
	DIR *dp;
	struct dirent *de;
	struct stat st;
	char *name = NULL;
	size_t flen = filter != NULL ? strlen(filter) : 0;
	int cfd, rc = -1;

	if ((dp = fdopendir(dfd)) == NULL) {
		warnp("cannot list '%s' in vault '%s'", rel, ls->url);
		close(dfd);
		return (-1);
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL) {
			if (errno != 0) {
				warnp("cannot list '%s' in vault '%s'", rel,
				    ls->url);
				goto cleanup;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (flen > 0 && strncmp(de->d_name, filter, flen) != 0)
			continue;
		/* A mounted ext4 medium has one at its root. */
		if (depth == 0 && rel[0] == '\0' &&
		    strcmp(de->d_name, "lost+found") == 0)
			continue;
		if ((name = util_asprintf("%s%s", rel, de->d_name)) == NULL)
			goto cleanup;
		if (fstatat(dirfd(dp), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)    /* deleted meanwhile */
				goto next;
			warnp("cannot list '%s' in vault '%s'", name, ls->url);
			goto cleanup;
		}
		if (S_ISDIR(st.st_mode)) {
			char *sub;

			if (depth >= LOCAL_MAX_DEPTH ||
			    strlen(name) >= TARGET_NAME_MAX) {
				warning("ignoring '%s' in vault '%s': too "
				    "deep", name, ls->url);
				goto next;
			}
			cfd = openat(dirfd(dp), de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				warnp("cannot list '%s' in vault '%s'", name,
				    ls->url);
				goto cleanup;
			}
			if ((sub = util_asprintf("%s/", name)) == NULL) {
				close(cfd);
				goto cleanup;
			}
			rc = walk(ls, cfd, sub, NULL, depth + 1);
			free(sub);
			if (rc != 0)
				goto cleanup;
			rc = -1;
		} else if (!S_ISREG(st.st_mode)) {
			warning("ignoring '%s' in vault '%s': not a regular "
			    "file", name, ls->url);
		} else if (ends_in_part(de->d_name) &&
		    !(ls->flags & TARGET_LIST_PARTS)) {
			/* a temporary, not an object */
		} else if (!target_name_valid(name)) {
			warning("ignoring '%s' in vault '%s': not a valid "
			    "object name", name, ls->url);
		} else {
			if (listing_add(ls, name, &st) != 0)
				goto cleanup;
			name = NULL;
		}
next:
		free(name);
		name = NULL;
	}
	rc = 0;

cleanup:
	free(name);
	closedir(dp);
	return (rc);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return (strcmp(x->name, y->name));
}

static int
local_list(struct target *t, const char *prefix, int flags,
    target_list_fn *fn, void *cookie)
{
	struct listing ls;
	struct target_entry e;
	struct dirs d;
	char *rel = NULL;
	size_t i, dlen;
	int fd, rc = -1;

	memset(&ls, 0, sizeof(ls));
	ls.flags = flags;
	ls.url = t->url;
	/* The directory part of the prefix, then a filter on its entries. */
	dlen = (size_t)(basename_of(prefix) - prefix);
	if (dirs_open(local_of(t), prefix, dlen > 0 ? dlen - 1 : 0, 0,
	    &d) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (0);
		warnp("cannot list '%s' in vault '%s'", prefix, t->url);
		return (-1);
	}
	/* A new open file description: a dup would share the offset. */
	fd = openat(dirs_last(&d), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dirs_close(&d);
	if (fd < 0) {
		warnp("cannot list vault '%s'", t->url);
		return (-1);
	}
	if ((rel = malloc(dlen + 1)) == NULL) {
		warnp("cannot list vault '%s'", t->url);
		close(fd);
		return (-1);
	}
	memcpy(rel, prefix, dlen);
	rel[dlen] = '\0';
	if (walk(&ls, fd, rel, basename_of(prefix), (int)(dlen > 0)) != 0)
		goto cleanup;
	if (ls.n > 1)
		qsort(ls.v, ls.n, sizeof(*ls.v), entry_cmp);
	rc = 0;
	for (i = 0; i < ls.n; i++) {
		memset(&e, 0, sizeof(e));
		e.name = ls.v[i].name;
		e.size = ls.v[i].size;
		e.mtime = ls.v[i].mtime;
		if ((rc = fn(cookie, &e)) != 0)
			break;
	}

cleanup:
	for (i = 0; i < ls.n; i++)
		free(ls.v[i].name);
	free(ls.v);
	free(rel);
	return (rc);
}

/* ------------------------------------------------------ delete, sync */

static int
local_delete(struct target *t, const char *name)
{
	struct dirs d;
	int rc = -1;

	if (dirs_open(local_of(t), name, dir_len(name), 0, &d) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (0);
		warnp("cannot delete object '%s'", name);
		return (-1);
	}
	if (unlinkat(dirs_last(&d), basename_of(name), 0) != 0) {
		if (errno == ENOENT)
			rc = 0;
		else
			warnp("cannot delete object '%s'", name);
		goto cleanup;
	}
	if (fsync(dirs_last(&d)) != 0) {
		warnp("cannot sync the directory of object '%s'", name);
		goto cleanup;
	}
	/* Remove the directories left empty, never the root. */
	if (prune_empty(&d, name) != 0)
		goto cleanup;
	rc = 0;

cleanup:
	dirs_close(&d);
	return (rc);
}

static int
local_sync_dir(struct target *t, const char *dir)
{
	struct dirs d;
	int rc = 0;

	if (dirs_open(local_of(t), dir, strlen(dir), 0, &d) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return (0);
		warnp("cannot sync '%s' in vault '%s'", dir, t->url);
		return (-1);
	}
	if (fsync(dirs_last(&d)) != 0) {
		warnp("cannot sync '%s' in vault '%s'", dir, t->url);
		rc = -1;
	}
	dirs_close(&d);
	return (rc);
}

static void
local_free(struct target *t)
{
	struct local *l = local_of(t);

	if (l == NULL)
		return;
	close(l->rootfd);
	free(l);
	t->backend = NULL;
}

const struct target_ops target_local_ops = {
	.scheme = "local",
	.put_begin = local_put_begin,
	.put_write = local_put_write,
	.put_commit = local_put_commit,
	.put_abort = local_put_abort,
	.get = NULL,            /* through open_read and read */
	.open_read = local_open_read,
	.read = local_read,
	.reader_close = local_reader_close,
	.head = local_head,
	.list = local_list,
	.delete = local_delete,
	.sync_dir = local_sync_dir,
	.free = local_free,
};

struct target *
target_open_local(const char *dir, const char *host, const char *run_id)
{
	struct target *t;
	struct local *l;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		warnp("cannot open vault directory '%s'", dir);
		return (NULL);
	}
	if ((t = target_new(&target_local_ops, dir, host, run_id)) == NULL) {
		close(fd);
		return (NULL);
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		warnp("cannot open vault directory '%s'", dir);
		close(fd);
		target_free(t);
		return (NULL);
	}
	l->rootfd = fd;
	t->backend = l;
	return (t);
}
