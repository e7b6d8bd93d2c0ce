/*
 * restore.c: restoring a set and its chain under a directory: plan,
 * pre-restore snapshot, secure extraction, verification, undo.
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

#define RBUF_SIZE (1024 * 1024)
#define CHAIN_MAX 1000

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

/* A loaded set: its header and manifest, sorted by path. */
struct rset {
	char *label;
	struct set_header h;
	struct manifest_entry *ents;
	size_t n;
};

/* A selected path of the final state. */
struct ent {
	const struct manifest_entry *e;         /* final state */
	const struct manifest_entry *src;       /* the entry with the data */
	int holder;                             /* sets[] index, -1: none */
	enum restore_action action;
	int exists;
	struct stat old;
	int typechange;                         /* remove the old one first */
	int extracted;
	int failed;
	int fd;                                 /* split file being written */
	uint32_t nextpart;
};

/* A path to delete. */
struct del {
	char *path;
	struct stat old;
	int is_dir;
	int explicit;           /* undo: only if empty (dirs) */
};

/* A directory whose old metadata an undo puts back. */
struct dirmeta {
	char *path;             /* "" for the root */
	uint32_t mode, uid, gid;
	int64_t mtime;
	uint32_t nsec;
};

/* A tar member to extract. */
struct job {
	char *name;             /* member name (allocated for parts) */
	int owned;
	int holder;
	uint32_t volume;
	struct ent *ent;
	uint32_t part;          /* 0: whole entry, else part number */
};

struct ctx {
	const struct restore_opts *o;
	struct restore_report *rep;
	char *dest;             /* real path */
	int rootfd;
	int is_root;
	struct rset *sets;
	size_t nsets;
	struct ent *ents;
	size_t nents;
	struct del *dels;
	size_t ndels;
	struct job *jobs;
	size_t njobs;
	struct dirmeta *olddirs;        /* recorded for a later undo */
	size_t nolddirs;
	struct dirmeta *undodirs;       /* to put back (undo) */
	size_t nundodirs;
	char **explicit_dels;
	size_t nexplicit;
	const char *undo_of;
	int damaged;                    /* a set or manifest is bad */
	uint8_t *buf;
};

/* ------------------------------------------------------------ helpers */

static int
problem_add(struct restore_problem **list, size_t *n, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
problem_add(struct restore_problem **list, size_t *n, const char *path,
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

static int
path_cmp(const char *a, const char *b)
{

	return (strcmp(a, b));
}

/* 1 if path is sel or below it ("" selects everything). */
static int
path_under(const char *path, const char *sel)
{
	size_t n = strlen(sel);

	if (n == 0)
		return (1);
	return (strncmp(path, sel, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/'));
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return (path_cmp(x->e->path, y->e->path));
}

static int
mentry_cmp(const void *a, const void *b)
{
	const struct manifest_entry *x = a, *y = b;

	return (path_cmp(x->path, y->path));
}

static const struct manifest_entry *
rset_find(const struct rset *s, const char *path)
{
	struct manifest_entry key;

	key.path = (char *)(uintptr_t)path;
	return (bsearch(&key, s->ents, s->n, sizeof(*s->ents), mentry_cmp));
}

static struct ent *
ent_find(struct ctx *c, const char *path)
{
	struct manifest_entry me;
	struct ent key;

	me.path = (char *)(uintptr_t)path;
	key.e = &me;
	return (bsearch(&key, c->ents, c->nents, sizeof(*c->ents), ent_cmp));
}

/* --------------------------------------------------- safe file access */

/*
 * dir_open(rootfd, path, len, create): the directory at the first len
 * bytes of path under rootfd ("" is rootfd itself), never following a
 * symlink; with create, missing components are made (mode 0700; the
 * metadata pass sets them).  An O_PATH descriptor, or -1 with errno
 * (ENOENT, ENOTDIR, ELOOP...).  Silent.
 */
static int
dir_open(int rootfd, const char *path, size_t len, int create)
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

/* at_parent(rootfd, path, create, leaf): the parent directory of path
 * (as dir_open) and its last component in *leaf. */
static int
at_parent(int rootfd, const char *path, int create, const char **leaf)
{
	const char *s = strrchr(path, '/');

	if (s == NULL) {
		*leaf = path;
		return (dir_open(rootfd, "", 0, 0));
	}
	*leaf = s + 1;
	return (dir_open(rootfd, path, (size_t)(s - path), create));
}

/* lstat_at(rootfd, path, st): 0 found, 1 absent (or a parent is not a
 * directory), -1 error (reported). */
static int
lstat_at(int rootfd, const char *path, struct stat *st)
{
	const char *leaf;
	int pfd, rc;

	if ((pfd = at_parent(rootfd, path, 0, &leaf)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return (1);
		warnp("cannot open the directory of '%s'", path);
		return (-1);
	}
	rc = fstatat(pfd, leaf, st, AT_SYMLINK_NOFOLLOW);
	if (rc != 0 && errno != ENOENT && errno != ENOTDIR) {
		warnp("cannot stat '%s'", path);
		close(pfd);
		return (-1);
	}
	close(pfd);
	return (rc == 0 ? 0 : 1);
}

/* hash_at(rootfd, path, buf, out, size): SHA-256 of the regular file at
 * path (not followed).  0 or -1 (errno set; silent). */
static int
hash_at(int rootfd, const char *path, uint8_t *buf,
    uint8_t out[CRYPTO_SHA256_LEN], uint64_t *size)
{
	struct crypto_sha256 *h = NULL;
	const char *leaf;
	int pfd, fd = -1, rc = -1, e;
	uint64_t total = 0;
	ssize_t n;

	if ((pfd = at_parent(rootfd, path, 0, &leaf)) < 0)
		return (-1);
	fd = openat(pfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	e = errno;
	close(pfd);
	errno = e;
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
static int
remove_path(int rootfd, const char *path, int only_empty)
{
	const char *leaf;
	struct stat st;
	int pfd, rc = 0;

	if ((pfd = at_parent(rootfd, path, 0, &leaf)) < 0)
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
	return (rc);
}

/* -------------------------------------------------------- loading sets */

/* The manifest object, hashed on the way. */
struct mread {
	struct target_reader *tr;
	struct crypto_sha256 *h;
	uint64_t size;
};

static ssize_t
mread_read(void *cookie, void *buf, size_t len)
{
	struct mread *m = cookie;
	ssize_t n;

	if ((n = target_read(m->tr, buf, len)) > 0) {
		crypto_sha256_update(m->h, buf, (size_t)n);
		m->size += (uint64_t)n;
	}
	return (n);
}

struct bread {
	struct volume_blob_reader *b;
};

static ssize_t
bread_read(void *cookie, void *buf, size_t len)
{
	struct bread *r = cookie;

	return (volume_blob_read(r->b, buf, len));
}

/*
 * load_set(c, label, s): set_load and read the whole manifest of
 * host/label into s, sorted, its object hash checked.  0, -1 (error,
 * reported), -3 (damaged or untrusted, reported).
 */
static int
load_set(struct ctx *c, const char *label, struct rset *s)
{
	const struct restore_opts *o = c->o;
	const struct set_object *obj;
	struct manifest_reader *mr = NULL;
	struct mread m = { NULL, NULL, 0 };
	struct bread br = { NULL };
	struct manifest_entry e, *ne;
	enum volume_status vst = VOLUME_OK;
	enum set_object_status ost;
	uint8_t sha[CRYPTO_SHA256_LEN];
	size_t cap = 0, i, j;
	char *name = NULL;
	int rc = -1, r;

	memset(s, 0, sizeof(*s));
	if ((s->label = util_strdup(label)) == NULL)
		return (-1);
	r = set_load(o->target, o->host, label, o->pinned, &s->h, 0);
	if (r == SET_LOAD_MISSING || r == SET_LOAD_BAD)
		return (-3);
	if (r != SET_LOAD_OK)
		return (-1);
	if ((obj = set_header_find_object(&s->h, SET_ROLE_MANIFEST)) == NULL) {
		warn0("set '%s/%s' has no manifest", o->host, label);
		return (-3);
	}
	if ((name = set_path(o->host, label, obj->name)) == NULL)
		goto done;
	if ((m.tr = target_open_read(o->target, name, 0)) == NULL) {
		rc = errno == ENOENT ? -3 : -1;
		goto done;
	}
	if ((m.h = crypto_sha256_new()) == NULL)
		goto done;
	if ((br.b = volume_blob_reader_open(o->ids, obj->name, mread_read, &m,
	    &vst)) == NULL) {
		rc = vst == VOLUME_DAMAGED ? -3 : -1;
		goto done;
	}
	if ((mr = manifest_reader_new(bread_read, &br)) == NULL)
		goto done;
	manifest_entry_init(&e);
	while ((r = manifest_reader_next(mr, &e)) == 1) {
		if (s->n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((ne = reallocarray(s->ents, cap,
			    sizeof(*ne))) == NULL) {
				warnp("cannot allocate memory");
				manifest_entry_clear(&e);
				goto done;
			}
			s->ents = ne;
		}
		s->ents[s->n++] = e;
		manifest_entry_init(&e);
	}
	if (r < 0) {
		warn0("cannot read the manifest of set '%s/%s'", o->host, label);
		rc = volume_blob_status(br.b) == VOLUME_ERROR ? -1 : -3;
		goto done;
	}
	/* Read to the end, so the whole object is hashed. */
	while ((r = (int)volume_blob_read(br.b, c->buf, RBUF_SIZE)) > 0)
		;
	if (r < 0) {
		rc = volume_blob_status(br.b) == VOLUME_ERROR ? -1 : -3;
		goto done;
	}
	crypto_sha256_final(m.h, sha);
	if (m.size != obj->size || memcmp(sha, obj->sha256, sizeof(sha))) {
		/* A rewrapped header keeps the payload hash. */
		if (set_object_check(o->target, o->host, label, obj, &ost) ||
		    ost != SET_OBJECT_REWRAPPED) {
			warn0("set '%s/%s': the manifest does not match "
			    "set.json", o->host, label);
			rc = -3;
			goto done;
		}
	}
	qsort(s->ents, s->n, sizeof(*s->ents), mentry_cmp);
	for (i = 1, j = 0; i < s->n; i++)
		if (strcmp(s->ents[i].path, s->ents[j].path) == 0) {
			warn0("set '%s/%s': the manifest lists '%s' twice",
			    o->host, label, s->ents[i].path);
			rc = -3;
			goto done;
		} else
			j = i;
	rc = 0;
done:
	manifest_reader_free(mr);
	volume_blob_reader_free(br.b);
	target_reader_close(m.tr);
	crypto_sha256_free(m.h);
	free(name);
	return (rc);
}

static void
rset_clear(struct rset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		manifest_entry_clear(&s->ents[i]);
	free(s->ents);
	set_header_clear(&s->h);
	free(s->label);
	memset(s, 0, sizeof(*s));
}

/* The sets[] index of label, loading it if needed; <0 as load_set. */
static int
get_set(struct ctx *c, const char *label)
{
	struct rset *ns;
	size_t i;
	int rc;

	for (i = 0; i < c->nsets; i++)
		if (strcmp(c->sets[i].label, label) == 0)
			return ((int)i);
	if (c->nsets >= CHAIN_MAX) {
		warn0("set '%s/%s': chain too long", c->o->host, label);
		return (-3);
	}
	if ((ns = reallocarray(c->sets, c->nsets + 1, sizeof(*ns))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	c->sets = ns;
	if ((rc = load_set(c, label, &c->sets[c->nsets])) != 0) {
		rset_clear(&c->sets[c->nsets]);
		return (rc);
	}
	return ((int)c->nsets++);
}

/* 1 when e is selected by the opts' paths. */
static int
selected(const struct ctx *c, const char *path)
{
	size_t i;

	if (c->o->npaths == 0)
		return (1);
	for (i = 0; i < c->o->npaths; i++)
		if (path_under(path, c->o->paths[i]))
			return (1);
	return (0);
}

/*
 * build_state(c): the selected entries of sets[0] (the set restored), with
 * the holder of each one's data resolved through "in".  0 or <0 as
 * load_set.
 */
static int
build_state(struct ctx *c)
{
	const struct manifest_entry *e, *src;
	struct ent *x;
	size_t i, depth;
	int h, hs;

	if ((c->ents = calloc(c->sets[0].n + 1, sizeof(*c->ents))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	for (i = 0; i < c->sets[0].n; i++) {
		e = &c->sets[0].ents[i];
		if (e->deleted || e->type == MANIFEST_NONE ||
		    !selected(c, e->path))
			continue;
		x = &c->ents[c->nents++];
		x->e = e;
		x->fd = -1;
		x->holder = -1;
		src = e;
		h = 0;
		for (depth = 0; src->in != NULL; depth++) {
			if (depth > CHAIN_MAX) {
				warn0("'%s': chain of sets too long", e->path);
				return (-3);
			}
			if ((hs = get_set(c, src->in)) < 0)
				return (hs);
			/* get_set may move sets[]: look e up again. */
			e = &c->sets[0].ents[i];
			x->e = e;
			h = hs;
			if ((src = rset_find(&c->sets[h], e->path)) == NULL ||
			    src->deleted) {
				warn0("set '%s/%s' does not hold '%s'",
				    c->o->host, c->sets[h].label, e->path);
				return (-3);
			}
		}
		x->src = src;   /* fixed up after loading (sets[] moves) */
		x->holder = h;
	}
	/* Pointers into sets[i].ents stay valid: only sets[] moved. */
	return (0);
}

/* ---------------------------------------------------------------- plan */

static enum manifest_type
type_of(mode_t m)
{

	if (S_ISREG(m))
		return (MANIFEST_FILE);
	if (S_ISDIR(m))
		return (MANIFEST_DIR);
	if (S_ISLNK(m))
		return (MANIFEST_SYMLINK);
	if (S_ISFIFO(m))
		return (MANIFEST_FIFO);
	if (S_ISCHR(m))
		return (MANIFEST_CHR);
	if (S_ISBLK(m))
		return (MANIFEST_BLK);
	return (MANIFEST_NONE);
}

/* 1 when the existing file at path matches e; 0 when not; -1 error. */
static int
same_as(struct ctx *c, const char *path, const struct stat *st,
    const struct manifest_entry *e)
{
	enum manifest_type t = e->type == MANIFEST_HARDLINK ? MANIFEST_FILE :
	    e->type;
	uint8_t sha[CRYPTO_SHA256_LEN];
	char *lbuf;
	const char *leaf;
	ssize_t n;
	int pfd;

	if (type_of(st->st_mode) != t)
		return (0);
	if (e->type == MANIFEST_HARDLINK) {
		/* Unchanged when linked to its (unchanged) first member. */
		struct stat tst;
		const struct manifest_entry *te;

		if (e->target == NULL ||
		    lstat_at(c->rootfd, e->target, &tst) != 0 ||
		    tst.st_ino != st->st_ino || tst.st_dev != st->st_dev)
			return (0);
		if (c->ents == NULL || ent_find(c, e->target) == NULL)
			return (1);
		te = ent_find(c, e->target)->e;
		return (same_as(c, e->target, &tst, te));
	}
	if (t != MANIFEST_SYMLINK && e->has_mode &&
	    (st->st_mode & 07777) != e->mode)
		return (0);
	if (c->is_root && e->has_owner &&
	    (st->st_uid != e->uid || st->st_gid != e->gid))
		return (0);
	if (t != MANIFEST_SYMLINK && t != MANIFEST_DIR && e->has_mtime &&
	    (st->st_mtim.tv_sec != e->mtime ||
	    st->st_mtim.tv_nsec != (long)e->mtime_nsec))
		return (0);
	if ((t == MANIFEST_CHR || t == MANIFEST_BLK) && e->has_dev &&
	    (major(st->st_rdev) != e->devmajor ||
	    minor(st->st_rdev) != e->devminor))
		return (0);
	if (t == MANIFEST_SYMLINK) {
		if (e->target == NULL || (size_t)st->st_size != e->target_len)
			return (0);
		if ((lbuf = malloc(e->target_len + 1)) == NULL)
			return (-1);
		if ((pfd = at_parent(c->rootfd, path, 0, &leaf)) < 0) {
			free(lbuf);
			return (0);
		}
		n = readlinkat(pfd, leaf, lbuf, e->target_len + 1);
		close(pfd);
		n = n == (ssize_t)e->target_len &&
		    memcmp(lbuf, e->target, e->target_len) == 0;
		free(lbuf);
		return ((int)n);
	}
	if (t == MANIFEST_FILE) {
		if (!e->has_size || (uint64_t)st->st_size != e->size ||
		    !e->has_sha256)
			return (0);
		if (hash_at(c->rootfd, path, c->buf, sha, NULL) != 0)
			return (0);
		return (memcmp(sha, e->sha256, sizeof(sha)) == 0);
	}
	return (1);
}

static int
del_add(struct ctx *c, const char *path, const struct stat *st, int expl)
{
	struct del *nd;

	if ((nd = reallocarray(c->dels, c->ndels + 1, sizeof(*nd))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	c->dels = nd;
	nd += c->ndels;
	memset(nd, 0, sizeof(*nd));
	if ((nd->path = util_strdup(path)) == NULL)
		return (-1);
	nd->old = *st;
	nd->is_dir = S_ISDIR(st->st_mode);
	nd->explicit = expl;
	c->ndels++;
	return (0);
}

/* The children of the existing directory x that the set does not have. */
static int
scan_extra(struct ctx *c, const struct ent *x)
{
	const char *leaf;
	struct dirent *d;
	struct stat st;
	DIR *dir;
	char *p;
	int pfd, fd, rc = 0;

	if ((pfd = at_parent(c->rootfd, x->e->path, 0, &leaf)) < 0)
		return (0);
	fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	close(pfd);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return (0);
	}
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if ((p = util_asprintf("%s/%s", x->e->path, d->d_name)) ==
		    NULL) {
			rc = -1;
			break;
		}
		if (ent_find(c, p) == NULL &&
		    fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    0 && del_add(c, p, &st, 0) != 0)
			rc = -1;
		free(p);
		if (rc)
			break;
	}
	closedir(dir);
	return (rc);
}

static int
dirmeta_add(struct dirmeta **list, size_t *n, const char *path,
    const struct stat *st)
{
	struct dirmeta *nd;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i].path, path) == 0)
			return (0);
	if ((nd = reallocarray(*list, *n + 1, sizeof(*nd))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	*list = nd;
	nd += *n;
	if ((nd->path = util_strdup(path)) == NULL)
		return (-1);
	nd->mode = st->st_mode & 07777;
	nd->uid = st->st_uid;
	nd->gid = st->st_gid;
	nd->mtime = st->st_mtim.tv_sec;
	nd->nsec = (uint32_t)st->st_mtim.tv_nsec;
	(*n)++;
	return (0);
}

/* Record the old metadata of path's parent directory when the set does
 * not have it (an undo puts it back). */
static int
record_parent(struct ctx *c, const char *path)
{
	const char *s = strrchr(path, '/');
	struct stat st;
	char *p;
	int rc = 0;

	if ((p = util_strdup(path)) == NULL)
		return (-1);
	if (s == NULL)
		p[0] = '\0';
	else
		p[s - path] = '\0';
	if (p[0] == '\0') {
		if (fstat(c->rootfd, &st) == 0)
			rc = dirmeta_add(&c->olddirs, &c->nolddirs, "", &st);
	} else if (ent_find(c, p) == NULL && lstat_at(c->rootfd, p, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		rc = dirmeta_add(&c->olddirs, &c->nolddirs, p, &st);
	free(p);
	return (rc);
}

static int
del_cmp(const void *a, const void *b)
{
	const struct del *x = a, *y = b;

	return (path_cmp(x->path, y->path));
}

/* make_plan(c): classify every entry, find deletions.  0 or -1. */
static int
make_plan(struct ctx *c)
{
	struct ent *x;
	struct stat st;
	size_t i, j, k;
	int r;

	for (i = 0; i < c->nents; i++) {
		x = &c->ents[i];
		if ((r = lstat_at(c->rootfd, x->e->path, &x->old)) < 0)
			return (-1);
		x->exists = r == 0;
		if (!x->exists) {
			x->action = RESTORE_CREATE;
			c->rep->created++;
			continue;
		}
		if (S_ISDIR(x->old.st_mode) && dirmeta_add(&c->olddirs,
		    &c->nolddirs, x->e->path, &x->old))
			return (-1);
		if ((r = same_as(c, x->e->path, &x->old, x->e)) < 0)
			return (-1);
		if (r == 1) {
			x->action = RESTORE_UNCHANGED;
			c->rep->unchanged++;
		} else {
			x->action = RESTORE_OVERWRITE;
			c->rep->overwritten++;
			x->typechange = type_of(x->old.st_mode) !=
			    (x->e->type == MANIFEST_HARDLINK ? MANIFEST_FILE :
			    x->e->type);
		}
	}
	/* A directory that becomes something else loses its contents. */
	for (i = 0; i < c->nents; i++) {
		x = &c->ents[i];
		if (!x->typechange || !S_ISDIR(x->old.st_mode))
			continue;
		if (del_add(c, x->e->path, &x->old, 0))
			return (-1);
	}
	if (c->o->flags & RESTORE_DELETE)
		for (i = 0; i < c->nents; i++) {
			x = &c->ents[i];
			if (x->e->type == MANIFEST_DIR && x->exists &&
			    S_ISDIR(x->old.st_mode) && scan_extra(c, x))
				return (-1);
		}
	for (i = 0; i < c->nexplicit; i++) {
		if ((r = lstat_at(c->rootfd, c->explicit_dels[i], &st)) < 0)
			return (-1);
		if (r == 0 && del_add(c, c->explicit_dels[i], &st, 1))
			return (-1);
	}
	qsort(c->dels, c->ndels, sizeof(*c->dels), del_cmp);
	/* Drop deletions inside another deletion (or duplicates). */
	for (i = 0, k = 0; i < c->ndels; i++) {
		for (j = 0; j < k; j++)
			if (!c->dels[j].explicit &&
			    path_under(c->dels[i].path, c->dels[j].path))
				break;
		if (j < k) {
			free(c->dels[i].path);
			continue;
		}
		c->dels[k++] = c->dels[i];
	}
	c->ndels = k;
	for (i = 0; i < c->ndels; i++) {
		/* A typechange is counted as an overwrite already. */
		x = ent_find(c, c->dels[i].path);
		if (x == NULL)
			c->rep->deleted++;
		if (record_parent(c, c->dels[i].path))
			return (-1);
	}
	for (i = 0; i < c->nents; i++)
		if (c->ents[i].action == RESTORE_CREATE &&
		    record_parent(c, c->ents[i].e->path))
			return (-1);
	return (0);
}

static void
plan_report(struct ctx *c)
{
	size_t i, j = 0;
	struct ent *x;
	int cmp;

	if (c->o->plan == NULL)
		return;
	/* Merge the entries and the deletions in path order. */
	for (i = 0; i < c->nents || j < c->ndels; ) {
		x = i < c->nents ? &c->ents[i] : NULL;
		if (x == NULL)
			cmp = 1;
		else if (j >= c->ndels)
			cmp = -1;
		else
			cmp = path_cmp(x->e->path, c->dels[j].path);
		if (cmp <= 0) {
			if (cmp == 0)
				j++;    /* a typechange: shown once */
			c->o->plan(c->o->plan_cookie, x->action, x->e->path,
			    x->e->path_len);
			i++;
		} else {
			c->o->plan(c->o->plan_cookie, RESTORE_REMOVE,
			    c->dels[j].path, strlen(c->dels[j].path));
			j++;
		}
	}
}

/* ---------------------------------------------------- the plan on disk */

static json_t *
stat_json(struct ctx *c, const char *path, const struct stat *st)
{
	struct manifest_entry e;
	char lbuf[PATH_MAX + 1];
	const char *leaf;
	json_t *o;
	ssize_t n = -1;
	char *s;
	int pfd;

	manifest_entry_init(&e);
	e.path = (char *)(uintptr_t)path;
	e.path_len = strlen(path);
	e.type = type_of(st->st_mode);
	if (e.type == MANIFEST_NONE)
		e.type = MANIFEST_FILE;
	e.has_mode = 1;
	e.mode = st->st_mode & 07777;
	e.has_owner = 1;
	e.uid = st->st_uid;
	e.gid = st->st_gid;
	e.has_mtime = 1;
	e.mtime = st->st_mtim.tv_sec;
	e.mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	if (S_ISREG(st->st_mode)) {
		e.has_size = 1;
		e.size = (uint64_t)st->st_size;
	}
	if (S_ISLNK(st->st_mode)) {
		if ((pfd = at_parent(c->rootfd, path, 0, &leaf)) >= 0) {
			n = readlinkat(pfd, leaf, lbuf, sizeof(lbuf) - 1);
			close(pfd);
		}
		if (n <= 0) {
			/* Gone meanwhile: record a plain file. */
			e.type = MANIFEST_FILE;
		} else {
			lbuf[n] = '\0';
			e.target = lbuf;
			e.target_len = (size_t)n;
		}
	}
	if ((s = manifest_entry_to_json(&e, NULL)) == NULL)
		return (NULL);
	o = json_loads(s, 0, NULL);
	free(s);
	return (o);
}

static json_t *
entry_json(const struct manifest_entry *e)
{
	struct manifest_entry c = *e;
	json_t *o;
	char *s;

	/* Where the data was is no part of the state. */
	c.volume = 0;
	c.in = NULL;
	c.parts = NULL;
	c.nparts = 0;
	if ((s = manifest_entry_to_json(&c, NULL)) == NULL)
		return (NULL);
	o = json_loads(s, 0, NULL);
	free(s);
	return (o);
}

static json_t *
dirmeta_json(const struct dirmeta *d)
{

	return (json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "path", d->path,
	    "mode", (json_int_t)d->mode, "uid", (json_int_t)d->uid,
	    "gid", (json_int_t)d->gid, "mtime", (json_int_t)d->mtime,
	    "mtime_nsec", (json_int_t)d->nsec));
}

static char *
restore_dir(const char *home, const char *id)
{

	return (util_asprintf("%s/restores/%s", home, id));
}

/* Write restores/ID/NAME from the JSON value v. */
static int
write_json(struct ctx *c, const char *name, json_t *v)
{
	char *dir = NULL, *path = NULL, *s = NULL;
	int rc = -1;

	if (v == NULL) {
		warn0("cannot build the restore record");
		return (-1);
	}
	if ((dir = restore_dir(c->o->home, c->rep->id)) == NULL ||
	    util_mkdir_p(dir, 0700) != 0 ||
	    (path = util_asprintf("%s/%s", dir, name)) == NULL)
		goto done;
	if ((s = json_dumps(v, JSON_COMPACT)) == NULL) {
		warn0("cannot build the restore record");
		goto done;
	}
	rc = util_write_file(path, s, strlen(s), 0600, 0);
done:
	free(s);
	free(path);
	free(dir);
	json_decref(v);
	return (rc);
}

static int
store_plan(struct ctx *c)
{
	struct timespec ts;
	json_t *plan, *list, *o, *dirs;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts);
	if ((list = json_array()) == NULL || (dirs = json_array()) == NULL)
		return (-1);
	plan = json_pack("{s:i, s:s, s:s?, s:s, s:I, s:s?, s:o, s:o}",
	    "format", 1, "id", c->rep->id,
	    "set", c->rep->set[0] ? c->rep->set : NULL,
	    "dest", c->dest,
	    "started_ns", (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
	    "undo_of", c->undo_of, "entries", list, "dirs", dirs);
	if (plan == NULL) {
		warn0("cannot build the restore plan (is the destination "
		    "valid UTF-8?)");
		return (-1);
	}
	for (i = 0; i < c->nents; i++) {
		o = json_pack("{s:s, s:o*, s:o*}", "action",
		    restore_action_name(c->ents[i].action), "new",
		    entry_json(c->ents[i].e), "old", c->ents[i].exists ?
		    stat_json(c, c->ents[i].e->path, &c->ents[i].old) : NULL);
		if (o == NULL || json_array_append_new(list, o))
			goto fail;
	}
	for (i = 0; i < c->ndels; i++) {
		if (ent_find(c, c->dels[i].path) != NULL)
			continue;
		o = json_pack("{s:s, s:o*}", "action", "delete", "old",
		    stat_json(c, c->dels[i].path, &c->dels[i].old));
		if (o == NULL || json_array_append_new(list, o))
			goto fail;
	}
	for (i = 0; i < c->nolddirs; i++)
		if (json_array_append_new(dirs, dirmeta_json(&c->olddirs[i])))
			goto fail;
	return (write_json(c, "plan.json", plan));
fail:
	warn0("cannot build the restore plan");
	json_decref(plan);
	return (-1);
}

static int
store_state(struct ctx *c, const char *status)
{
	json_t *v;

	v = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I}", "id", c->rep->id, "status", status, "pre_restore",
	    c->rep->pre_restore[0] ? c->rep->pre_restore : NULL,
	    "created", (json_int_t)c->rep->created,
	    "overwritten", (json_int_t)c->rep->overwritten,
	    "unchanged", (json_int_t)c->rep->unchanged,
	    "deleted", (json_int_t)c->rep->deleted,
	    "verified", (json_int_t)c->rep->verified,
	    "mismatches", (json_int_t)c->rep->mismatches,
	    "failed", (json_int_t)c->rep->nfailed);
	return (write_json(c, "state.json", v));
}

static int
new_id(struct ctx *c)
{
	uint8_t rnd[4];
	char hex[9], ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (crypto_random(rnd, sizeof(rnd)))
		return (-1);
	util_hex(hex, rnd, sizeof(rnd));
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(c->rep->id, sizeof(c->rep->id), "R-%s-%s", ts, hex);
	return (0);
}

/* ------------------------------------------------------------ snapshot */

static int
take_snapshot(struct ctx *c)
{
	char **paths = NULL;
	size_t n = 0, i;
	int rc = -1;

	if ((paths = calloc(c->nents + c->ndels + 1, sizeof(*paths))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	for (i = 0; i < c->nents; i++) {
		/* A directory only changes metadata (recorded in the plan);
		 * a directory that becomes something else is a deletion. */
		if (c->ents[i].action != RESTORE_OVERWRITE ||
		    S_ISDIR(c->ents[i].old.st_mode))
			continue;
		if ((paths[n++] = util_asprintf("%s%s%s", c->dest,
		    strcmp(c->dest, "/") == 0 ? "" : "/",
		    c->ents[i].e->path)) == NULL)
			goto done;
	}
	for (i = 0; i < c->ndels; i++)
		if ((paths[n++] = util_asprintf("%s%s%s", c->dest,
		    strcmp(c->dest, "/") == 0 ? "" : "/",
		    c->dels[i].path)) == NULL)
			goto done;
	if (n == 0) {
		rc = 0;
		goto done;
	}
	if (c->o->snapshot == NULL) {
		warn0("cannot take a pre-restore snapshot here");
		goto done;
	}
	if (c->o->snapshot(c->o->snapshot_cookie, c->rep->id,
	    (const char *const *)paths, n, c->rep->pre_restore,
	    sizeof(c->rep->pre_restore)) != 0) {
		warn0("the pre-restore snapshot failed: nothing was restored");
		c->rep->pre_restore[0] = '\0';
		goto done;
	}
	rc = 0;
done:
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return (rc);
}

/* ---------------------------------------------------------- extraction */

static int
job_cmp(const void *a, const void *b)
{
	const struct job *x = a, *y = b;

	if (x->holder != y->holder)
		return (x->holder < y->holder ? -1 : 1);
	if (x->volume != y->volume)
		return (x->volume < y->volume ? -1 : 1);
	return (strcmp(x->name, y->name));
}

static int
job_add(struct ctx *c, struct ent *x, const char *name, int owned,
    uint32_t volume, uint32_t part)
{
	struct job *nj;

	if ((nj = reallocarray(c->jobs, c->njobs + 1, sizeof(*nj))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	c->jobs = nj;
	nj += c->njobs++;
	nj->name = (char *)(uintptr_t)name;
	nj->owned = owned;
	nj->holder = x->holder;
	nj->volume = volume;
	nj->ent = x;
	nj->part = part;
	return (0);
}

static int
make_jobs(struct ctx *c)
{
	struct ent *x;
	char *name;
	size_t i;
	uint32_t p;

	for (i = 0; i < c->nents; i++) {
		x = &c->ents[i];
		if (x->action == RESTORE_UNCHANGED || x->src == NULL)
			continue;
		if (x->src->nparts > 0) {
			for (p = 0; p < x->src->nparts; p++) {
				if ((name = manifest_part_name(x->src->path,
				    x->src->path_len, p + 1,
				    (uint32_t)x->src->nparts, NULL)) == NULL)
					return (-1);
				if (job_add(c, x, name, 1,
				    x->src->parts[p].volume, p + 1)) {
					free(name);
					return (-1);
				}
			}
		} else if (x->src->volume > 0) {
			if (job_add(c, x, x->src->path, 0, x->src->volume, 0))
				return (-1);
		}
	}
	qsort(c->jobs, c->njobs, sizeof(*c->jobs), job_cmp);
	return (0);
}

/* Remove what is in the way: deletions, and old entries of another type. */
static int
apply_deletions(struct ctx *c)
{
	size_t i;
	int r;

	/* Deepest first, so an explicit directory is empty by its turn. */
	for (i = c->ndels; i-- > 0; ) {
		r = remove_path(c->rootfd, c->dels[i].path,
		    c->dels[i].explicit);
		if (r == 1) {
			warning("'%s' is not empty: left in place",
			    c->dels[i].path);
			if (problem_add(&c->rep->failed, &c->rep->nfailed,
			    c->dels[i].path, "not empty: not removed"))
				return (-1);
		} else if (r < 0 && problem_add(&c->rep->failed,
		    &c->rep->nfailed, c->dels[i].path, "cannot remove"))
			return (-1);
	}
	for (i = 0; i < c->nents; i++)
		if (c->ents[i].typechange &&
		    !S_ISDIR(c->ents[i].old.st_mode) &&
		    remove_path(c->rootfd, c->ents[i].e->path, 0) < 0)
			c->ents[i].failed = 1;
	return (0);
}

static int
ent_fail(struct ctx *c, struct ent *x, const char *what)
{

	if (x->failed)
		return (0);
	x->failed = 1;
	if (x->fd >= 0) {
		close(x->fd);
		x->fd = -1;
	}
	return (problem_add(&c->rep->failed, &c->rep->nfailed, x->e->path,
	    "%s", what));
}

/* Write part j->part of a split file from the volume's current entry.
 * 0, 1 (failed, recorded), -1 (the volume is unreadable). */
static int
write_part(struct ctx *c, struct volume_reader *vr, struct job *j)
{
	struct ent *x = j->ent;
	const struct manifest_part *mp = &x->src->parts[j->part - 1];
	struct crypto_sha256 *h;
	uint8_t sha[CRYPTO_SHA256_LEN];
	uint64_t off = mp->offset, got = 0;
	const char *leaf;
	ssize_t n;
	int pfd, rc = 1;

	if (x->failed)
		return (1);
	if (j->part != x->nextpart + 1) {
		(void)ent_fail(c, x, "a part is missing");
		return (1);
	}
	if (j->part == 1) {
		if ((pfd = at_parent(c->rootfd, x->e->path, 1, &leaf)) < 0) {
			warnp("cannot create the directory of '%s'",
			    x->e->path);
			(void)ent_fail(c, x, "cannot create its directory");
			return (1);
		}
		if (unlinkat(pfd, leaf, 0) != 0 && errno != ENOENT)
			warnp("cannot remove '%s'", x->e->path);
		x->fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		close(pfd);
		if (x->fd < 0) {
			warnp("cannot create '%s'", x->e->path);
			(void)ent_fail(c, x, "cannot create");
			return (1);
		}
	}
	if ((h = crypto_sha256_new()) == NULL)
		return (-1);
	while ((n = volume_read_data(vr, c->buf, RBUF_SIZE)) > 0) {
		crypto_sha256_update(h, c->buf, (size_t)n);
		if (pwrite(x->fd, c->buf, (size_t)n, (off_t)(off + got)) != n) {
			warnp("cannot write '%s'", x->e->path);
			(void)ent_fail(c, x, "cannot write");
			goto done;
		}
		got += (uint64_t)n;
	}
	if (n < 0) {
		(void)ent_fail(c, x, "damaged volume");
		rc = -1;
		goto done;
	}
	crypto_sha256_final(h, sha);
	if (got != mp->size || (mp->has_sha256 &&
	    memcmp(sha, mp->sha256, sizeof(sha)) != 0)) {
		(void)ent_fail(c, x, "a part does not match the manifest");
		goto done;
	}
	x->nextpart = j->part;
	if (j->part == x->src->nparts) {
		if (ftruncate(x->fd, (off_t)x->e->size) != 0 ||
		    close(x->fd) != 0) {
			x->fd = -1;
			warnp("cannot write '%s'", x->e->path);
			(void)ent_fail(c, x, "cannot write");
			goto done;
		}
		x->fd = -1;
		x->extracted = 1;
	}
	rc = 0;
done:
	crypto_sha256_free(h);
	return (rc);
}

static const struct set_object *
find_volume(const struct set_header *h, uint32_t vol, char *name,
    size_t size)
{
	size_t i;

	snprintf(name, size, "vol-%04u.tar.zst.age", (unsigned)vol);
	for (i = 0; i < h->nobjects; i++)
		if (h->objects[i].role == SET_ROLE_VOLUME &&
		    strcmp(h->objects[i].name, name) == 0)
			return (&h->objects[i]);
	return (NULL);
}

/* Strip a trailing '/' of a member name into buf. */
static const char *
member_name(const char *p, char *buf, size_t size)
{
	size_t n = strlen(p);

	if (n == 0 || p[n - 1] != '/')
		return (p);
	if (n > size)
		return (p);
	memcpy(buf, p, n - 1);
	buf[n - 1] = '\0';
	return (buf);
}

/* Extract jobs [a, b) (one holder, one volume).  0 or -1 (fatal). */
static int
do_volume(struct ctx *c, size_t a, size_t b)
{
	struct rset *s = &c->sets[c->jobs[a].holder];
	const struct set_object *obj;
	struct target_reader *tr = NULL;
	struct volume_reader *vr = NULL;
	struct volume_entry_info info;
	struct volume_result res;
	struct job key, *j;
	enum volume_status vst = VOLUME_OK;
	char vname[64], *name = NULL, *mbuf = NULL;
	const char *why = "damaged volume";
	size_t i;
	int r, rc = 0, broken = 1;

	obj = find_volume(&s->h, c->jobs[a].volume, vname, sizeof(vname));
	if (obj == NULL) {
		warn0("set '%s/%s' has no volume '%s'", c->o->host, s->label,
		    vname);
		why = "volume missing";
		goto fail;
	}
	if ((name = set_path(c->o->host, s->label, obj->name)) == NULL ||
	    (mbuf = malloc(MANIFEST_PATH_MAX + 2)) == NULL)
		return (-1);
	if ((tr = target_open_read(c->o->target, name, 0)) == NULL) {
		why = "volume missing";
		goto fail;
	}
	if ((vr = volume_reader_open(c->o->ids, vname, volume_target_read, tr,
	    &vst)) == NULL)
		goto fail;
	while ((r = volume_next(vr, &info)) == 1) {
		key.name = (char *)(uintptr_t)member_name(info.entry.path,
		    mbuf, MANIFEST_PATH_MAX + 2);
		key.holder = c->jobs[a].holder;
		key.volume = c->jobs[a].volume;
		j = bsearch(&key, c->jobs + a, b - a, sizeof(*j), job_cmp);
		if (j == NULL || j->ent->failed || j->ent->extracted)
			continue;
		if (j->part > 0) {
			if (info.entry.type != VOLUME_REG) {
				(void)ent_fail(c, j->ent, "a part is not a "
				    "file");
				continue;
			}
			if (write_part(c, vr, j) < 0)
				goto fail;
			continue;
		}
		r = volume_extract(vr, c->dest, 0, NULL);
		if (r < 0) {
			(void)ent_fail(c, j->ent, "damaged volume");
			goto fail;
		}
		if (r == 1) {
			c->rep->refused++;
			if (ent_fail(c, j->ent, "refused or not written"))
				return (-1);
			continue;
		}
		j->ent->extracted = 1;
	}
	if (r < 0)
		goto fail;
	if (volume_reader_finish(vr, &res) != 0)
		goto fail;
	broken = 0;
	if (res.size != obj->size || (memcmp(res.sha256, obj->sha256,
	    sizeof(res.sha256)) != 0 && (!obj->has_payload ||
	    memcmp(res.payload_sha256, obj->payload_sha256,
	    sizeof(res.payload_sha256)) != 0))) {
		warn0("set '%s/%s': volume '%s' does not match set.json",
		    c->o->host, s->label, vname);
		c->damaged = 1;
		if (problem_add(&c->rep->failed, &c->rep->nfailed, vname,
		    "volume does not match set.json"))
			rc = -1;
	}
	goto done;

fail:
	c->damaged = 1;
	if (broken)
		warn0("set '%s/%s': volume '%s' is unreadable; going on with "
		    "the others", c->o->host, s->label, vname);
done:
	/* Whatever this volume should have given and did not. */
	for (i = a; i < b && rc == 0; i++) {
		j = &c->jobs[i];
		if (j->ent->extracted || j->ent->failed)
			continue;
		if (j->part > 0 && j->part <= j->ent->nextpart)
			continue;
		if (broken)
			rc = ent_fail(c, j->ent, why);
		else if (j->part == 0 || j->part > j->ent->nextpart)
			rc = ent_fail(c, j->ent, "not found in its volume");
	}
	volume_reader_free(vr);
	target_reader_close(tr);
	free(name);
	free(mbuf);
	return (rc);
}

static int
extract_all(struct ctx *c)
{
	size_t a, b;

	for (a = 0; a < c->njobs; a = b) {
		for (b = a + 1; b < c->njobs &&
		    c->jobs[b].holder == c->jobs[a].holder &&
		    c->jobs[b].volume == c->jobs[a].volume; b++)
			;
		if (do_volume(c, a, b))
			return (-1);
	}
	return (0);
}

/* Entries without a tar member: directories are made here; the rest is
 * a failure. */
static int
make_missing(struct ctx *c)
{
	struct ent *x;
	size_t i;
	int fd;

	for (i = 0; i < c->nents; i++) {
		x = &c->ents[i];
		if (x->action == RESTORE_UNCHANGED || x->extracted ||
		    x->failed)
			continue;
		if (x->e->type == MANIFEST_DIR) {
			if ((fd = dir_open(c->rootfd, x->e->path,
			    x->e->path_len, 1)) < 0) {
				warnp("cannot create '%s'", x->e->path);
				if (ent_fail(c, x, "cannot create"))
					return (-1);
				continue;
			}
			close(fd);
			x->extracted = 1;
			continue;
		}
		if (ent_fail(c, x, "no data in any volume"))
			return (-1);
	}
	return (0);
}

/* Set owner, mode and mtime of path from the given values. */
static int
set_meta(struct ctx *c, const char *path, int has_owner, uint32_t uid,
    uint32_t gid, int has_mode, uint32_t mode, int has_mtime, int64_t mtime,
    uint32_t nsec)
{
	struct timespec ts[2];
	struct stat st;
	const char *leaf;
	int pfd, rc = 0;

	if (path[0] == '\0') {
		pfd = dir_open(c->rootfd, "", 0, 0);
		leaf = ".";
	} else
		pfd = at_parent(c->rootfd, path, 0, &leaf);
	if (pfd < 0 || fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (pfd >= 0)
			close(pfd);
		return (-1);
	}
	if (has_owner && c->is_root && fchownat(pfd, leaf, uid, gid,
	    AT_SYMLINK_NOFOLLOW) != 0) {
		warnp("cannot set the owner of '%s'", path);
		rc = -1;
	}
	if (has_mode && !S_ISLNK(st.st_mode) &&
	    fchmodat(pfd, leaf, mode, 0) != 0) {
		warnp("cannot set the mode of '%s'", path);
		rc = -1;
	}
	if (has_mtime) {
		ts[0].tv_sec = 0;
		ts[0].tv_nsec = UTIME_OMIT;
		ts[1].tv_sec = mtime;
		ts[1].tv_nsec = nsec;
		if (utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) != 0) {
			warnp("cannot set the time of '%s'", path);
			rc = -1;
		}
	}
	close(pfd);
	return (rc);
}

/* Metadata last, deepest first; every directory, as creating and
 * removing entries changed their times. */
static void
apply_meta(struct ctx *c)
{
	const struct manifest_entry *e;
	struct ent *x;
	size_t i;

	for (i = c->nents; i-- > 0; ) {
		x = &c->ents[i];
		e = x->e;
		if (x->failed || e->type == MANIFEST_HARDLINK)
			continue;
		if (x->action == RESTORE_UNCHANGED && e->type != MANIFEST_DIR)
			continue;
		(void)set_meta(c, e->path, e->has_owner, e->uid, e->gid,
		    e->has_mode, e->mode, e->has_mtime, e->mtime,
		    e->mtime_nsec);
	}
	for (i = c->nundodirs; i-- > 0; )
		(void)set_meta(c, c->undodirs[i].path, 1, c->undodirs[i].uid,
		    c->undodirs[i].gid, 1, c->undodirs[i].mode, 1,
		    c->undodirs[i].mtime, c->undodirs[i].nsec);
}

/* ---------------------------------------------------------- verification */

static int
bad(struct ctx *c, const char *path, const char *what)
{

	c->rep->mismatches++;
	return (problem_add(&c->rep->bad, &c->rep->nbad, path, "%s", what));
}

/* Verify x: 0 (recorded when wrong) or -1. */
static int
verify_ent(struct ctx *c, struct ent *x)
{
	const struct manifest_entry *e = x->e;
	const struct ent *tx;
	enum manifest_type want;
	uint8_t sha[CRYPTO_SHA256_LEN];
	struct stat st, tst;
	uint64_t size;
	int r;

	c->rep->verified++;
	if ((r = lstat_at(c->rootfd, e->path, &st)) < 0)
		return (-1);
	if (r == 1)
		return (bad(c, e->path, "missing"));
	want = e->type == MANIFEST_HARDLINK ? MANIFEST_FILE : e->type;
	if (type_of(st.st_mode) != want)
		return (bad(c, e->path, "type"));
	if (e->type == MANIFEST_HARDLINK) {
		if (e->target == NULL ||
		    lstat_at(c->rootfd, e->target, &tst) != 0 ||
		    tst.st_ino != st.st_ino || tst.st_dev != st.st_dev)
			return (bad(c, e->path, "not linked to its target"));
		/* The data are the group's first member's. */
		if ((tx = ent_find(c, e->target)) == NULL)
			return (0);
		e = tx->e;
	}
	if (want != MANIFEST_SYMLINK && e->has_mode &&
	    (st.st_mode & 07777) != e->mode)
		return (bad(c, e->path, "mode"));
	if (c->is_root && e->has_owner &&
	    (st.st_uid != e->uid || st.st_gid != e->gid))
		return (bad(c, e->path, "owner"));
	if (want != MANIFEST_SYMLINK && e->has_mtime &&
	    (st.st_mtim.tv_sec != e->mtime ||
	    st.st_mtim.tv_nsec != (long)e->mtime_nsec))
		return (bad(c, e->path, "mtime"));
	if ((want == MANIFEST_CHR || want == MANIFEST_BLK) && e->has_dev &&
	    (major(st.st_rdev) != e->devmajor ||
	    minor(st.st_rdev) != e->devminor))
		return (bad(c, e->path, "device"));
	if (want == MANIFEST_SYMLINK) {
		if (same_as(c, e->path, &st, e) != 1)
			return (bad(c, e->path, "symlink target"));
		return (0);
	}
	if (want != MANIFEST_FILE)
		return (0);
	if (e->has_size && (uint64_t)st.st_size != e->size)
		return (bad(c, e->path, "size"));
	if (hash_at(c->rootfd, x->e->path, c->buf, sha, &size) != 0) {
		warnp("cannot read '%s'", x->e->path);
		return (bad(c, x->e->path, "unreadable"));
	}
	if (e->has_size && size != e->size)
		return (bad(c, x->e->path, "size"));
	if (e->has_sha256 && memcmp(sha, e->sha256, sizeof(sha)) != 0)
		return (bad(c, x->e->path, "sha256"));
	return (0);
}

static int
verify_all(struct ctx *c)
{
	struct stat st;
	size_t i;
	int r;

	for (i = 0; i < c->nents; i++) {
		if (c->ents[i].failed)
			continue;
		if (verify_ent(c, &c->ents[i]))
			return (-1);
	}
	for (i = 0; i < c->ndels; i++) {
		if (ent_find(c, c->dels[i].path) != NULL)
			continue;
		c->rep->verified++;
		if ((r = lstat_at(c->rootfd, c->dels[i].path, &st)) < 0)
			return (-1);
		if (r == 0 && !c->dels[i].explicit &&
		    bad(c, c->dels[i].path, "not deleted"))
			return (-1);
	}
	for (i = 0; i < c->nundodirs; i++) {
		c->rep->verified++;
		r = c->undodirs[i].path[0] == '\0' ? fstat(c->rootfd, &st) :
		    lstat_at(c->rootfd, c->undodirs[i].path, &st);
		if (r < 0)
			return (-1);
		if (r == 1 || !S_ISDIR(st.st_mode)) {
			if (bad(c, c->undodirs[i].path, "missing"))
				return (-1);
			continue;
		}
		if ((st.st_mode & 07777) != c->undodirs[i].mode ||
		    st.st_mtim.tv_sec != c->undodirs[i].mtime ||
		    st.st_mtim.tv_nsec != (long)c->undodirs[i].nsec ||
		    (c->is_root && (st.st_uid != c->undodirs[i].uid ||
		    st.st_gid != c->undodirs[i].gid))) {
			if (bad(c, c->undodirs[i].path[0] ? c->undodirs[i].path :
			    ".", "directory metadata"))
				return (-1);
		}
	}
	return (0);
}

static int
run_verify_cmd(struct ctx *c)
{
	pid_t pid;
	int status;

	if ((pid = fork()) < 0) {
		warnp("cannot run the verify command");
		return (-1);
	}
	if (pid == 0) {
		if (setenv("COFFER_RESTORE_DIR", c->dest, 1) != 0 ||
		    dup2(2, 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", c->o->verify_cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			warnp("cannot wait for the verify command");
			return (-1);
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		warn0("the verify command failed (%s %d)",
		    WIFEXITED(status) ? "exit" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return (1);
	}
	return (0);
}

/* -------------------------------------------------------------- engine */

static void
ctx_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nents; i++)
		if (c->ents[i].fd >= 0)
			close(c->ents[i].fd);
	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i].owned)
			free(c->jobs[i].name);
	for (i = 0; i < c->ndels; i++)
		free(c->dels[i].path);
	for (i = 0; i < c->nolddirs; i++)
		free(c->olddirs[i].path);
	for (i = 0; i < c->nsets; i++)
		rset_clear(&c->sets[i]);
	free(c->olddirs);
	free(c->dels);
	free(c->jobs);
	free(c->ents);
	free(c->sets);
	free(c->dest);
	free(c->buf);
	if (c->rootfd >= 0)
		close(c->rootfd);
}

/* Open (creating unless dry) the destination. */
static int
open_dest(struct ctx *c, const char *dest, int dry)
{
	struct stat st;

	if (!dry && stat(dest, &st) != 0 && errno == ENOENT &&
	    util_mkdir_p(dest, 0755) != 0)
		return (-1);
	if ((c->dest = realpath(dest, NULL)) == NULL) {
		if (errno == ENOENT && dry) {
			/* Everything would be created. */
			if ((c->dest = util_strdup(dest)) == NULL)
				return (-1);
			return (1);
		}
		warnp("cannot open '%s'", dest);
		return (-1);
	}
	if ((c->rootfd = open(c->dest, O_PATH | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		warnp("cannot open '%s'", c->dest);
		return (-1);
	}
	return (0);
}

/*
 * engine(c): everything after the options are known.  c->o->label may be
 * NULL (an undo of a restore without a snapshot: deletions only).
 */
static int
engine(struct ctx *c)
{
	const struct restore_opts *o = c->o;
	int dry = (o->flags & RESTORE_DRY_RUN) != 0, r, rc = -1, missing;
	size_t i;

	c->rootfd = -1;
	c->is_root = geteuid() == 0;
	if ((c->buf = malloc(RBUF_SIZE)) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	if (o->label != NULL) {
		snprintf(c->rep->set, sizeof(c->rep->set), "%s/%s", o->host,
		    o->label);
		if ((r = get_set(c, o->label)) < 0)
			return (r);
		if ((r = build_state(c)) != 0)
			return (r);
		/* sets[] is final now: point every entry at its source. */
		for (i = 0; i < c->nents; i++)
			if (c->ents[i].holder > 0)
				c->ents[i].src = rset_find(
				    &c->sets[c->ents[i].holder],
				    c->ents[i].e->path);
		qsort(c->ents, c->nents, sizeof(*c->ents), ent_cmp);
	}
	if ((missing = open_dest(c, o->dest, dry)) < 0)
		return (-1);
	if (missing) {
		for (i = 0; i < c->nents; i++)
			c->ents[i].action = RESTORE_CREATE;
		c->rep->created = c->nents;
		plan_report(c);
		return (0);
	}
	if (make_plan(c))
		return (-1);
	plan_report(c);
	if (dry)
		return (0);

	if (new_id(c) || store_plan(c) || store_state(c, "planned"))
		return (-1);
	if (take_snapshot(c)) {
		(void)store_state(c, "aborted");
		return (-1);
	}
	if (store_state(c, "writing"))
		return (-1);

	rc = -2;
	if (apply_deletions(c) || make_jobs(c) || extract_all(c) ||
	    make_missing(c))
		goto done;
	apply_meta(c);
	if (verify_all(c))
		goto done;
	if (o->verify_cmd != NULL &&
	    (c->rep->verify_cmd_failed = run_verify_cmd(c)) < 0)
		goto done;
	rc = (c->rep->nfailed || c->rep->nbad || c->damaged ||
	    c->rep->verify_cmd_failed) ? 1 : 0;
done:
	(void)store_state(c, rc == -2 ? "failed" : rc == 0 ? "done" :
	    "damaged");
	return (rc);
}

int
restore_run(const struct restore_opts *o, struct restore_report *rep)
{
	struct ctx c;
	size_t i;
	int rc;

	memset(rep, 0, sizeof(*rep));
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.rep = rep;
	c.rootfd = -1;
	if (o->label == NULL || o->dest == NULL) {
		warn0("restore: no set or no destination");
		return (-1);
	}
	for (i = 0; i < o->npaths; i++)
		if (o->paths[i][0] != '\0' &&
		    !manifest_path_valid(o->paths[i], strlen(o->paths[i]))) {
			warn0("invalid path '%s'", o->paths[i]);
			return (-1);
		}
	rc = engine(&c);
	ctx_free(&c);
	return (rc);
}

/* ------------------------------------------------------------------ undo */

/* Read restores/ID/NAME as JSON; NULL (reported). */
static json_t *
read_record(const char *home, const char *id, const char *name)
{
	json_error_t err;
	json_t *v;
	char *p;

	if ((p = util_asprintf("%s/restores/%s/%s", home, id, name)) == NULL)
		return (NULL);
	if ((v = json_load_file(p, 0, &err)) == NULL)
		warn0("cannot read '%s': %s", p, err.text);
	free(p);
	return (v);
}

/* 1 when a restore other than id started after it (and wrote). */
static int
later_restore(const char *home, const char *id, json_int_t started,
    char *which, size_t size)
{
	struct dirent *d;
	json_t *p, *s;
	const char *st;
	char *dir;
	DIR *dp;
	int found = 0;

	if ((dir = util_asprintf("%s/restores", home)) == NULL)
		return (-1);
	if ((dp = opendir(dir)) == NULL) {
		free(dir);
		return (0);
	}
	while (!found && (d = readdir(dp)) != NULL) {
		if (!restore_id_valid(d->d_name) || strcmp(d->d_name, id) == 0)
			continue;
		if ((s = read_record(home, d->d_name, "state.json")) == NULL)
			continue;
		st = json_string_value(json_object_get(s, "status"));
		if (st != NULL && strcmp(st, "aborted") != 0 &&
		    strcmp(st, "planned") != 0 &&
		    (p = read_record(home, d->d_name, "plan.json")) != NULL) {
			if (json_integer_value(json_object_get(p,
			    "started_ns")) > started) {
				found = 1;
				util_strlcpy(which, d->d_name, size);
			}
			json_decref(p);
		}
		json_decref(s);
	}
	closedir(dp);
	free(dir);
	return (found);
}

static int
parse_entry(json_t *v, struct manifest_entry *e)
{
	char *s;
	int rc;

	if (v == NULL || (s = json_dumps(v, JSON_COMPACT)) == NULL)
		return (-1);
	rc = manifest_entry_parse(s, strlen(s), 0, e);
	free(s);
	return (rc);
}

/* Does the tree still hold what restore id wrote?  0 yes, 1 no (the
 * first difference in why), -1 error. */
static int
tree_changed(struct ctx *c, json_t *entries, char *why, size_t size)
{
	struct manifest_entry e;
	struct stat st;
	json_t *v;
	size_t i;
	const char *act;
	int r, changed = 0;

	json_array_foreach(entries, i, v) {
		act = json_string_value(json_object_get(v, "action"));
		if (act == NULL)
			return (-1);
		if (strcmp(act, "delete") == 0) {
			if (parse_entry(json_object_get(v, "old"), &e))
				return (-1);
			r = lstat_at(c->rootfd, e.path, &st);
			if (r == 0) {
				snprintf(why, size, "'%s' exists again",
				    e.path);
				changed = 1;
			}
		} else if (strcmp(act, "unchanged") == 0)
			continue;
		else {
			if (parse_entry(json_object_get(v, "new"), &e))
				return (-1);
			r = lstat_at(c->rootfd, e.path, &st);
			if (r == 1 || (r == 0 && same_as(c, e.path, &st, &e) !=
			    1 && !(e.type == MANIFEST_DIR &&
			    S_ISDIR(st.st_mode)) &&
			    !(e.type == MANIFEST_HARDLINK &&
			    S_ISREG(st.st_mode)))) {
				snprintf(why, size, "'%s' changed", e.path);
				changed = 1;
			}
		}
		manifest_entry_clear(&e);
		if (r < 0)
			return (-1);
		if (changed)
			return (1);
	}
	return (0);
}

/* dest-relative path p as a path relative to "/" (caller frees). */
static char *
from_root(const char *dest, const char *p)
{

	if (strcmp(dest, "/") == 0)
		return (util_strdup(p));
	return (util_asprintf("%s/%s", dest + 1, p));
}

int
restore_undo(const struct restore_opts *o, const char *id,
    struct restore_report *rep)
{
	struct restore_opts uo = *o;
	struct manifest_entry e;
	struct ctx c, probe;
	json_t *plan = NULL, *state = NULL, *entries, *dirs, *v;
	const char *dest, *pre, *act, *st;
	char why[600], which[64];
	char **sel = NULL, **dels = NULL;
	size_t nsel = 0, ndels = 0, i, n;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	memset(&c, 0, sizeof(c));
	memset(&probe, 0, sizeof(probe));
	c.rootfd = probe.rootfd = -1;
	if (!restore_id_valid(id)) {
		warn0("invalid restore id '%s'", id);
		return (-1);
	}
	if ((plan = read_record(o->home, id, "plan.json")) == NULL ||
	    (state = read_record(o->home, id, "state.json")) == NULL)
		goto done;
	dest = json_string_value(json_object_get(plan, "dest"));
	entries = json_object_get(plan, "entries");
	dirs = json_object_get(plan, "dirs");
	st = json_string_value(json_object_get(state, "status"));
	pre = json_string_value(json_object_get(state, "pre_restore"));
	if (dest == NULL || dest[0] != '/' || !json_is_array(entries) ||
	    !json_is_array(dirs) || st == NULL) {
		warn0("restore '%s': damaged record", id);
		goto done;
	}
	if (strcmp(st, "aborted") == 0 || strcmp(st, "planned") == 0) {
		warn0("restore '%s' wrote nothing: nothing to undo", id);
		goto done;
	}
	if (later_restore(o->home, id, json_integer_value(json_object_get(plan,
	    "started_ns")), which, sizeof(which)) == 1) {
		if (!(o->flags & RESTORE_FORCE)) {
			warn0("restore '%s' came after '%s': undo it first, "
			    "or use --force", which, id);
			goto done;
		}
		warning("restore '%s' came after '%s' (forced)", which, id);
	}
	/* Has the tree changed since? */
	probe.o = o;
	probe.is_root = geteuid() == 0;
	if ((probe.buf = malloc(RBUF_SIZE)) == NULL)
		goto done;
	if ((probe.rootfd = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC)) <
	    0) {
		warnp("cannot open '%s'", dest);
		goto done;
	}
	if ((rc = tree_changed(&probe, entries, why, sizeof(why))) != 0) {
		if (rc < 0) {
			warn0("restore '%s': damaged record", id);
			rc = -1;
			goto done;
		}
		rc = -1;
		if (!(o->flags & RESTORE_FORCE)) {
			warn0("the tree changed since restore '%s': %s; use "
			    "--force to undo anyway", id, why);
			goto done;
		}
		warning("the tree changed since restore '%s': %s (forced)",
		    id, why);
	}
	rc = -1;

	/* What to take back: created paths go, the others come back. */
	n = json_array_size(entries);
	if ((sel = calloc(n + 1, sizeof(*sel))) == NULL ||
	    (dels = calloc(n + 1, sizeof(*dels))) == NULL) {
		warnp("cannot allocate memory");
		goto done;
	}
	json_array_foreach(entries, i, v) {
		act = json_string_value(json_object_get(v, "action"));
		if (act == NULL || strcmp(act, "unchanged") == 0)
			continue;
		if (parse_entry(json_object_get(v, strcmp(act, "delete") == 0 ?
		    "old" : "new"), &e)) {
			warn0("restore '%s': damaged record", id);
			goto done;
		}
		if (strcmp(act, "create") == 0)
			dels[ndels] = from_root(dest, e.path);
		else if (strcmp(act, "overwrite") == 0 && e.type == MANIFEST_DIR &&
		    json_object_get(v, "old") != NULL &&
		    json_string_value(json_object_get(json_object_get(v,
		    "old"), "type")) != NULL &&
		    strcmp(json_string_value(json_object_get(json_object_get(v,
		    "old"), "type")), "dir") == 0) {
			/* Only metadata: the recorded dirs put it back. */
			manifest_entry_clear(&e);
			continue;
		} else
			sel[nsel] = from_root(dest, e.path);
		manifest_entry_clear(&e);
		if (strcmp(act, "create") == 0 ? dels[ndels++] == NULL :
		    sel[nsel++] == NULL)
			goto done;
	}
	if (nsel > 0 && (pre == NULL || *pre == '\0')) {
		warn0("restore '%s' has no pre-restore set", id);
		goto done;
	}
	if ((c.undodirs = calloc(json_array_size(dirs) + 1,
	    sizeof(*c.undodirs))) == NULL)
		goto done;
	json_array_foreach(dirs, i, v) {
		const char *p = json_string_value(json_object_get(v, "path"));
		struct dirmeta *d = &c.undodirs[c.nundodirs];

		if (p == NULL) {
			warn0("restore '%s': damaged record", id);
			goto done;
		}
		if ((d->path = p[0] == '\0' ? (strcmp(dest, "/") == 0 ?
		    util_strdup("") : util_strdup(dest + 1)) :
		    from_root(dest, p)) == NULL)
			goto done;
		c.nundodirs++;
		d->mode = (uint32_t)json_integer_value(json_object_get(v,
		    "mode")) & 07777;
		d->uid = (uint32_t)json_integer_value(json_object_get(v,
		    "uid"));
		d->gid = (uint32_t)json_integer_value(json_object_get(v,
		    "gid"));
		d->mtime = json_integer_value(json_object_get(v, "mtime"));
		d->nsec = (uint32_t)json_integer_value(json_object_get(v,
		    "mtime_nsec"));
	}

	uo.dest = "/";
	uo.label = nsel > 0 ? pre : NULL;
	uo.paths = (const char *const *)sel;
	uo.npaths = nsel;
	uo.flags &= ~RESTORE_DELETE;
	c.o = &uo;
	c.rep = rep;
	c.undo_of = id;
	c.explicit_dels = dels;
	c.nexplicit = ndels;
	if (nsel == 0)
		/* Nothing to put back: select nothing. */
		uo.label = NULL;
	rc = engine(&c);
done:
	for (i = 0; i < c.nundodirs; i++)
		free(c.undodirs[i].path);
	free(c.undodirs);
	c.undodirs = NULL;
	c.nundodirs = 0;
	ctx_free(&c);
	if (probe.rootfd >= 0)
		close(probe.rootfd);
	free(probe.buf);
	for (i = 0; sel != NULL && i < nsel; i++)
		free(sel[i]);
	for (i = 0; dels != NULL && i < ndels; i++)
		free(dels[i]);
	free(sel);
	free(dels);
	json_decref(plan);
	json_decref(state);
	return (rc);
}
