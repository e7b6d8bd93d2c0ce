/*
 * plan.c: loading sets, the plan and its record on disk, the snapshot.
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
#include <pthread.h>
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
 * load_set(c, label, s, buf): set_load and read the whole manifest of
 * host/label into s, sorted, its object hash checked (buf: RBUF_SIZE bytes
 * of scratch).  0, -1 (error, reported), -3 (damaged or untrusted,
 * reported).  The identity must have been fetched (restore_ids) when
 * another thread runs it too (restore_preload).
 */
static int
load_set(struct ctx *c, const char *label, struct rset *s, uint8_t *buf)
{
	const struct restore_opts *o = c->o;
	const struct age_identities *ids;
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
	if ((ids = restore_ids(c)) == NULL)
		goto done;
	if ((br.b = volume_blob_reader_open(ids, obj->name, mread_read, &m,
	    &vst)) == NULL) {
		rc = vst == VOLUME_DAMAGED ? -3 : -1;
		goto done;
	}
	if ((mr = manifest_reader_new(bread_read, &br)) == NULL)
		goto done;
	/* As many entries as set.json counts, so the array is not moved
	 * while it grows (bounded: the count is only a hint). */
	if (s->h.files > 0 && s->h.files < ((uint64_t)1 << 22)) {
		cap = (size_t)s->h.files + 1;
		if ((s->ents = reallocarray(NULL, cap, sizeof(*s->ents))) ==
		    NULL) {
			warnp("cannot allocate memory");
			goto done;
		}
	}
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
		warn0("cannot read the manifest of set '%s/%s'", o->host,
		    label);
		rc = volume_blob_status(br.b) == VOLUME_ERROR ? -1 : -3;
		goto done;
	}
	/* Read to the end, so the whole object is hashed. */
	while ((r = (int)volume_blob_read(br.b, buf, RBUF_SIZE)) > 0)
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
	if (s->n > 1)
		util_sort(s->ents, s->n, sizeof(*s->ents), restore_mentry_cmp);
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

void
restore_rset_clear(struct rset *s)
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
int
restore_get_set(struct ctx *c, const char *label)
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
	if ((rc = load_set(c, label, &c->sets[c->nsets], c->buf)) != 0) {
		restore_rset_clear(&c->sets[c->nsets]);
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
		if (restore_path_under(path, c->o->paths[i]))
			return (1);
	return (0);
}

/*
 * Loading the manifests of a chain on two threads: each pulls the next
 * label to load.  Nothing is reported from here; a set that fails to load
 * is left for restore_get_set, which loads it again and says why.
 */
struct preload {
	struct ctx *c;
	char **labels;
	struct rset *sets;
	int *rc;
	size_t *todo;
	size_t ntodo, next;
	pthread_mutex_t mtx;
};

static void
preload_run(struct preload *p, uint8_t *buf)
{
	size_t i;

	warnp_mute(1);
	for (;;) {
		pthread_mutex_lock(&p->mtx);
		i = p->next < p->ntodo ? p->todo[p->next++] : SIZE_MAX;
		pthread_mutex_unlock(&p->mtx);
		if (i == SIZE_MAX)
			break;
		p->rc[i] = load_set(p->c, p->labels[i], &p->sets[i], buf);
	}
	warnp_mute(0);
}

static void *
preload_main(void *cookie)
{
	uint8_t *buf;

	if ((buf = malloc(RBUF_SIZE)) != NULL)
		preload_run(cookie, buf);
	free(buf);
	return (NULL);
}

/* Load p->todo[] on this thread and another one. */
static void
preload_batch(struct preload *p)
{
	pthread_t tid;
	int threaded;

	p->next = 0;
	threaded = p->ntodo > 1 &&
	    pthread_create(&tid, NULL, preload_main, p) == 0;
	preload_run(p, p->c->buf);
	if (threaded)
		pthread_join(tid, NULL);
}

/* The most sets restore_preload loads: label's and those its entries
 * name (others are left to restore_get_set). */
#define PRELOAD_MAX 64

/*
 * restore_preload(c, label): load the manifests that restoring label
 * needs before restore_build_state asks for them one at a time: label's
 * own and those of the sets its selected entries name in "in".  Label's
 * manifest and its oldest parent's (the parents in its signed header are
 * its ancestors, nearest first; the oldest is a full, which holds
 * whatever has not changed since) load first, side by side; then the
 * other sets the entries name.  The oldest parent is kept only when an
 * entry names it.
 */
void
restore_preload(struct ctx *c, const char *label)
{
	struct preload p;
	struct set_header h;
	struct rset *ns;
	const char *last = NULL;
	char *labels[PRELOAD_MAX];
	int used[PRELOAD_MAX];
	size_t todo[PRELOAD_MAX];
	size_t i, k, n = 0;
	int r;

	memset(&p, 0, sizeof(p));
	memset(&h, 0, sizeof(h));
	memset(used, 0, sizeof(used));
	warnp_mute(1);
	r = set_load(c->o->target, c->o->host, label, c->o->pinned, &h, 0);
	warnp_mute(0);
	if (r != SET_LOAD_OK || h.nparents == 0 || c->nsets != 0 ||
	    restore_ids(c) == NULL)
		goto done;
	if ((labels[n++] = util_strdup(label)) == NULL ||
	    (labels[n++] = util_strdup(h.parents[h.nparents - 1])) == NULL)
		goto done;
	if ((p.sets = calloc(PRELOAD_MAX, sizeof(*p.sets))) == NULL ||
	    (p.rc = calloc(PRELOAD_MAX, sizeof(*p.rc))) == NULL ||
	    pthread_mutex_init(&p.mtx, NULL) != 0)
		goto done;
	for (i = 0; i < PRELOAD_MAX; i++)
		p.rc[i] = -1;           /* not loaded (yet) */
	p.c = c;
	p.labels = labels;
	p.todo = todo;
	todo[p.ntodo++] = 0;
	todo[p.ntodo++] = 1;
	preload_batch(&p);
	used[0] = 1;
	/* Then the sets label's selected entries name, not loaded yet. */
	p.ntodo = 0;
	for (i = 0; p.rc[0] == 0 && i < p.sets[0].n; i++) {
		const struct manifest_entry *e = &p.sets[0].ents[i];

		if (e->in == NULL || e->deleted || !selected(c, e->path) ||
		    (last != NULL && strcmp(e->in, last) == 0))
			continue;
		last = e->in;
		for (k = 1; k < n && strcmp(e->in, labels[k]) != 0; k++)
			;
		if (k == n) {
			if (n == PRELOAD_MAX || !label_valid(e->in) ||
			    (labels[n] = util_strdup(e->in)) == NULL)
				continue;
			n++;
		}
		if (!used[k]) {
			used[k] = 1;
			if (k != 1)
				todo[p.ntodo++] = k;
		}
	}
	if (p.ntodo > 0)
		preload_batch(&p);
	pthread_mutex_destroy(&p.mtx);
	/* sets[0] must be label's (restore_build_state restores it): none
	 * of the others without it. */
	for (i = 0; i < n; i++) {
		if (used[i] && (i == 0 || c->nsets > 0) && p.rc[i] == 0 &&
		    (ns = reallocarray(c->sets, c->nsets + 1,
		    sizeof(*ns))) != NULL) {
			c->sets = ns;
			c->sets[c->nsets++] = p.sets[i];
		} else
			restore_rset_clear(&p.sets[i]);
	}
done:
	for (i = 0; i < n; i++)
		free(labels[i]);
	free(p.sets);
	free(p.rc);
	set_header_clear(&h);
}

/*
 * The entry for path in s, looked for from s->cursor on: sets[0]'s
 * entries are taken in path order, so the paths they look up in a holder
 * come in the same order, and a walk finds them with a comparison or two
 * each instead of a binary search.  A path behind the cursor (a chain of
 * "in" deeper than one) is searched for as before.
 */
static const struct manifest_entry *
rset_find_next(struct rset *s, const char *path)
{
	int r = 1;

	if (s->cursor > 0 &&
	    restore_path_cmp(s->ents[s->cursor - 1].path, path) >= 0)
		return (restore_rset_find(s, path));
	while (s->cursor < s->n &&
	    (r = restore_path_cmp(s->ents[s->cursor].path, path)) < 0)
		s->cursor++;
	if (s->cursor < s->n && r == 0)
		return (&s->ents[s->cursor++]);
	return (NULL);
}

/*
 * build_state(c): the selected entries of sets[0] (the set restored), with
 * the holder of each one's data resolved through "in".  0 or <0 as
 * load_set.
 */
int
restore_build_state(struct ctx *c)
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
		x->vfd = -1;
		x->holder = -1;
		src = e;
		h = 0;
		for (depth = 0; src->in != NULL; depth++) {
			if (depth > CHAIN_MAX) {
				warn0("'%s': chain of sets too long", e->path);
				return (-3);
			}
			if ((hs = restore_get_set(c, src->in)) < 0)
				return (hs);
			/* get_set may move sets[]: look e up again. */
			e = &c->sets[0].ents[i];
			x->e = e;
			h = hs;
			if ((src = rset_find_next(&c->sets[h],
			    e->path)) == NULL ||
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

enum manifest_type
restore_type_of(mode_t m)
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
int
restore_same_as(struct ctx *c, const char *path, const struct stat *st,
    const struct manifest_entry *e)
{
	enum manifest_type t = e->type == MANIFEST_HARDLINK ? MANIFEST_FILE :
	    e->type;
	uint8_t sha[CRYPTO_SHA256_LEN];
	char *lbuf;
	const char *leaf;
	ssize_t n;
	int pfd;

	if (restore_type_of(st->st_mode) != t)
		return (0);
	if (e->type == MANIFEST_HARDLINK) {
		/* Unchanged when linked to its (unchanged) first member. */
		struct stat tst;
		const struct manifest_entry *te;

		if (e->target == NULL ||
		    restore_lstat_at(c->rootfd, e->target, &tst) != 0 ||
		    tst.st_ino != st->st_ino || tst.st_dev != st->st_dev)
			return (0);
		if (c->ents == NULL || restore_ent_find(c, e->target) == NULL)
			return (1);
		te = restore_ent_find(c, e->target)->e;
		return (restore_same_as(c, e->target, &tst, te));
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
		if ((pfd = restore_at_parent(c->rootfd, path, 0, &leaf)) < 0) {
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
		if (restore_hash_at(c->rootfd, path, c->buf, sha, NULL) != 0)
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

	if ((pfd = restore_at_parent(c->rootfd, x->e->path, 0, &leaf)) < 0)
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
		if (restore_ent_find(c, p) == NULL &&
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
	} else if (restore_ent_find(c, p) == NULL && restore_lstat_at(c->rootfd,
	    p, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		rc = dirmeta_add(&c->olddirs, &c->nolddirs, p, &st);
	free(p);
	return (rc);
}

static int
del_cmp(const void *a, const void *b)
{
	const struct del *x = a, *y = b;

	return (restore_path_cmp(x->path, y->path));
}

/* make_plan(c): classify every entry, find deletions.  0 or -1. */
int
restore_make_plan(struct ctx *c)
{
	struct ent *x;
	struct stat st;
	const char *absent = NULL;
	size_t i, j, k;
	int r;

	for (i = 0; i < c->nents; i++) {
		x = &c->ents[i];
		/* Below a path found absent (or not a directory) nothing
		 * exists: no need to ask (a restore into an empty
		 * directory asks once per top-level entry). */
		if (absent != NULL && restore_path_under(x->e->path, absent))
			r = 1;
		else if ((r = restore_lstat_at(c->rootfd, x->e->path,
		    &x->old)) < 0)
			return (-1);
		else if (r == 1 || !S_ISDIR(x->old.st_mode))
			absent = x->e->path;
		x->exists = r == 0;
		if (!x->exists) {
			x->action = RESTORE_CREATE;
			c->rep->created++;
			continue;
		}
		if (S_ISDIR(x->old.st_mode) && dirmeta_add(&c->olddirs,
		    &c->nolddirs, x->e->path, &x->old))
			return (-1);
		if ((r = restore_same_as(c, x->e->path, &x->old, x->e)) < 0)
			return (-1);
		if (r == 1) {
			x->action = RESTORE_UNCHANGED;
			c->rep->unchanged++;
		} else {
			x->action = RESTORE_OVERWRITE;
			c->rep->overwritten++;
			x->typechange = restore_type_of(x->old.st_mode) !=
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
		if ((r = restore_lstat_at(c->rootfd, c->explicit_dels[i],
		    &st)) < 0)
			return (-1);
		if (r == 0 && del_add(c, c->explicit_dels[i], &st, 1))
			return (-1);
	}
	if (c->ndels > 1)
		qsort(c->dels, c->ndels, sizeof(*c->dels), del_cmp);
	/* Drop deletions inside another deletion (or duplicates). */
	for (i = 0, k = 0; i < c->ndels; i++) {
		for (j = 0; j < k; j++)
			if (!c->dels[j].explicit &&
			    restore_path_under(c->dels[i].path,
			    c->dels[j].path))
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
		x = restore_ent_find(c, c->dels[i].path);
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

void
restore_plan_report(struct ctx *c)
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
			cmp = restore_path_cmp(x->e->path, c->dels[j].path);
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

/*
 * The plan's entries are manifest lines (manifest_entry_to_json), put into
 * plan.json as they are (what json_loads and json_dumps would give, for
 * 20,000 entries a good part of a second).  A line that is not UTF-8
 * (json_loads would refuse it) is left out, as a NULL "o*" would be.
 */
static char *
json_line(char *s)
{

	if (s != NULL && !manifest_utf8_valid(s, strlen(s))) {
		free(s);
		return (NULL);
	}
	return (s);
}

static char *
stat_json(struct ctx *c, const char *path, const struct stat *st)
{
	struct manifest_entry e;
	char lbuf[PATH_MAX + 1];
	const char *leaf;
	ssize_t n = -1;
	int pfd;

	manifest_entry_init(&e);
	e.path = (char *)(uintptr_t)path;
	e.path_len = strlen(path);
	e.type = restore_type_of(st->st_mode);
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
		if ((pfd = restore_at_parent(c->rootfd, path, 0, &leaf)) >= 0) {
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
	return (json_line(manifest_entry_to_json(&e, NULL)));
}

static char *
entry_json(const struct manifest_entry *e)
{
	struct manifest_entry c = *e;

	/* Where the data was is no part of the state. */
	c.volume = 0;
	c.in = NULL;
	c.parts = NULL;
	c.nparts = 0;
	return (json_line(manifest_entry_to_json(&c, NULL)));
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

/* The path of restores/ID/NAME, its directory made; NULL (reported). */
static char *
record_path(struct ctx *c, const char *name)
{
	char *dir, *path = NULL;

	if ((dir = restore_dir(c->o->home, c->rep->id)) != NULL &&
	    util_mkdir_p(dir, 0700) == 0)
		path = util_asprintf("%s/%s", dir, name);
	free(dir);
	return (path);
}

/* Write restores/ID/NAME: len bytes of s. */
static int
write_text(struct ctx *c, const char *name, const char *s, size_t len)
{
	char *path;
	int rc = -1;

	if ((path = record_path(c, name)) != NULL)
		rc = util_write_file(path, s, len, 0600, 0);
	free(path);
	return (rc);
}

/* Write restores/ID/NAME from the JSON value v. */
static int
write_json(struct ctx *c, const char *name, json_t *v)
{
	char *s = NULL;
	int rc = -1;

	if (v == NULL) {
		warn0("cannot build the restore record");
		return (-1);
	}
	if ((s = json_dumps(v, JSON_COMPACT)) == NULL) {
		warn0("cannot build the restore record");
		goto done;
	}
	rc = write_text(c, name, s, strlen(s));
done:
	free(s);
	json_decref(v);
	return (rc);
}

/* A text written to af as it grows, in pieces of about TEXT_CHUNK. */
#define TEXT_CHUNK (1024 * 1024)

struct text {
	char *p;
	size_t len, cap;
	struct util_afile *af;
	int failed;                     /* a write failed (reported) */
};

/* Write out what t holds.  0 or -1 (reported). */
static int
text_flush(struct text *t)
{

	if (t->len > 0 && (t->failed ||
	    util_afile_write(t->af, t->p, t->len) != 0)) {
		t->failed = 1;
		return (-1);
	}
	t->len = 0;
	return (0);
}

/* Append len bytes of s (or nothing when s is NULL).  0 or -1. */
static int
text_add(struct text *t, const char *s, size_t len)
{
	char *np;
	size_t ncap;

	if (s == NULL)
		return (0);
	if (t->len + len > t->cap && text_flush(t) != 0)
		return (-1);
	if (len > t->cap) {
		/* A piece larger than the buffer (or the first one). */
		ncap = t->cap ? t->cap : TEXT_CHUNK;
		while (len > ncap)
			ncap *= 2;
		if ((np = realloc(t->p, ncap)) == NULL) {
			warnp("cannot allocate memory");
			return (-1);
		}
		t->p = np;
		t->cap = ncap;
	}
	memcpy(t->p + t->len, s, len);
	t->len += len;
	return (0);
}

static int
text_adds(struct text *t, const char *s)
{

	return (text_add(t, s, s != NULL ? strlen(s) : 0));
}

/* One entry of the plan: {"action":A,"new":NEW,"old":OLD}, NEW and OLD
 * manifest lines (freed here) left out when NULL.  0 or -1. */
static int
plan_entry(struct text *t, int first, const char *action, char *new,
    char *old)
{
	int rc;

	rc = text_adds(t, first ? "{\"action\":\"" : ",{\"action\":\"") ||
	    text_adds(t, action) || text_adds(t, "\"") ||
	    (new != NULL && (text_adds(t, ",\"new\":") ||
	    text_adds(t, new))) ||
	    (old != NULL && (text_adds(t, ",\"old\":") ||
	    text_adds(t, old))) ||
	    text_adds(t, "}") ? -1 : 0;
	free(new);
	free(old);
	return (rc);
}

int
restore_store_plan(struct ctx *c)
{
	static const char key[] = "\"entries\":[]";
	struct timespec ts;
	struct text t = { NULL, 0, 0, NULL, 0 };
	char *path = NULL;
	json_t *plan, *list, *dirs;
	char *s = NULL, *at;
	size_t i;
	int rc = -1, first = 1;

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
	for (i = 0; i < c->nolddirs; i++)
		if (json_array_append_new(dirs, dirmeta_json(&c->olddirs[i])))
			goto fail;
	/* The entries go into the text where the empty list is: the key,
	 * with its quotes unescaped, can only be the key itself. */
	if ((s = json_dumps(plan, JSON_COMPACT)) == NULL ||
	    (at = strstr(s, key)) == NULL)
		goto fail;
	at += sizeof(key) - 2;
	/* Written to the file as it is built: a plan is some 350 bytes a
	 * path, too much to hold whole for a large restore. */
	if ((path = record_path(c, "plan.json")) == NULL ||
	    (t.af = util_afile_open(path, 0600)) == NULL)
		goto done;
	if (text_add(&t, s, (size_t)(at - s)))
		goto fail;
	for (i = 0; i < c->nents; i++, first = 0)
		if (plan_entry(&t, first,
		    restore_action_name(c->ents[i].action),
		    entry_json(c->ents[i].e), c->ents[i].exists ?
		    stat_json(c, c->ents[i].e->path, &c->ents[i].old) : NULL))
			goto fail;
	for (i = 0; i < c->ndels; i++) {
		if (restore_ent_find(c, c->dels[i].path) != NULL)
			continue;
		if (plan_entry(&t, first, "delete", NULL,
		    stat_json(c, c->dels[i].path, &c->dels[i].old)))
			goto fail;
		first = 0;
	}
	if (text_adds(&t, at) || text_flush(&t))
		goto fail;
	rc = util_afile_commit(t.af, 0);
	t.af = NULL;
	goto done;
fail:
	if (!t.failed)
		warn0("cannot build the restore plan");
done:
	util_afile_abort(t.af);
	free(t.p);
	free(s);
	free(path);
	json_decref(plan);
	return (rc);
}

int
restore_store_state(struct ctx *c, const char *status)
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

int
restore_new_id(struct ctx *c)
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

int
restore_take_snapshot(struct ctx *c)
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
