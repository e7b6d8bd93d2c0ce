/*
 * verify.c: re-reading what was restored, --verify-cmd.
 */
#include "compat.h"

#include <sys/resource.h>
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

/* ------------------------------------------------------- verifier thread */

/*
 * Regular files are re-read and hashed by a second thread as soon as the
 * extraction has written and closed them, while the main thread goes on
 * decrypting and extracting.  The thread records what it read (SHA-256,
 * size, device and inode of the descriptor it read); check_ent uses that
 * when the path is still that inode, else reads the file itself.  The
 * thread reports nothing: whatever it could not do is done by check_ent.
 */
struct verifier {
	pthread_t tid;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	struct ent **q;                 /* FIFO of written files */
	size_t head, tail, cap;
	int stop;
	int waiting;                    /* the thread waits for work */
	size_t nfds;                    /* descriptors queued */
	size_t maxfds;
	int rootfd;
	int is_root;
	uint8_t *buf;
	struct crypto_sha256 *h;        /* reset for every file */
};

/* A consumer of the queue: the verifier thread, and at the end the
 * extracting thread too (restore_verifier_stop).  Each has its own
 * buffer and hash. */
struct vwork {
	struct verifier *v;
	uint8_t *buf;
	struct crypto_sha256 *h;
};

/* Files queued before the waiting thread is woken: a wake-up costs
 * system calls on both threads, and the files stay in the page cache. */
#define VQ_BATCH 32

/* Descriptors of written files queued at most (the rest are opened again
 * by path): saves an open and a close a file.  A quarter of the limit on
 * descriptors, at most VQ_FDS (the thread hashes slower than the
 * extraction writes, so the queue does fill). */
#define VQ_FDS 1024

/* Hash x's file (fd: the descriptor it was written with, or -1: open
 * it) into x->v*; x->vstate = 1 on success.  Thread-side. */
static void
vhash(struct vwork *w, struct ent *x, int fd, const struct stat *known)
{
	struct verifier *v = w->v;
	struct stat st;
	const char *leaf;
	uint64_t total = 0;
	ssize_t n;
	int pfd, handed = fd >= 0;

	if (fd < 0) {
		if ((pfd = restore_at_parent_lent(v->rootfd, x->e->path, 0,
		    &leaf)) < 0)
			return;
		fd = openat(pfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (fd < 0)
			return;
	}
	if (known != NULL)
		st = *known;
	if ((known == NULL && fstat(fd, &st) != 0) || !S_ISREG(st.st_mode) ||
	    st.st_nlink == 0) {
		if (close(fd) != 0 && handed)
			x->vstate = 2;
		return;
	}
	crypto_sha256_reset(w->h);
	/* Up to the end, or just the size fstat gave (a file that grows
	 * after that is read again by check_ent: its size differs). */
	while ((n = pread(fd, w->buf, RBUF_SIZE, (off_t)total)) > 0) {
		crypto_sha256_update(w->h, w->buf, (size_t)n);
		total += (uint64_t)n;
		if (total == (uint64_t)st.st_size) {
			n = 0;
			break;
		}
	}
	if (n == 0) {
		crypto_sha256_final(w->h, x->vsha);
		x->vsize = total;
		x->vdev = st.st_dev;
		x->vino = st.st_ino;
		x->vstate = 1;
	}
	/* The extraction's descriptor: closing it is the last chance to
	 * hear of a write that failed (NFS). */
	if (close(fd) != 0 && handed)
		x->vstate = 2;
}

/* Hash fd's bytes [*hashed, end) into w->h: 0, or -1 (short or failed
 * read; *hashed says how far it got). */
static int
hash_upto(struct vwork *w, int fd, uint64_t *hashed, uint64_t end)
{
	size_t want;
	ssize_t n;

	while (*hashed < end) {
		want = end - *hashed < RBUF_SIZE ? (size_t)(end - *hashed) :
		    RBUF_SIZE;
		if ((n = pread(fd, w->buf, want, (off_t)*hashed)) <= 0)
			return (-1);
		crypto_sha256_update(w->h, w->buf, (size_t)n);
		*hashed += (uint64_t)n;
	}
	return (0);
}

/*
 * Hash x's file while it is written (x->early), reading behind the writer
 * through fd; when it is all written, set its metadata (the writes would
 * have changed its time) and hash a trailing hole.  x->vstate = 1 on
 * success.  Thread-side; called without the lock, closes fd.
 */
static void
vearly(struct vwork *w, struct ent *x, int fd)
{
	struct verifier *v = w->v;
	struct stat st;
	uint64_t hashed = 0, pos;
	int done;

	crypto_sha256_reset(w->h);
	for (;;) {
		pthread_mutex_lock(&v->mtx);
		while (x->wpos == hashed && x->wdone == 0 && !v->stop) {
			v->waiting = 1;
			pthread_cond_wait(&v->cv, &v->mtx);
			v->waiting = 0;
		}
		pos = x->wpos;
		/* Stopped before the writer said done: abandoned. */
		done = x->wdone != 0 ? x->wdone : v->stop ? 2 : 0;
		pthread_mutex_unlock(&v->mtx);
		if (done == 2)
			break;
		if (hash_upto(w, fd, &hashed, pos) != 0)
			done = 2;
		if (done != 0)
			break;
	}
	if (done == 1 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_nlink > 0) {
		restore_file_meta(fd, x->e->path, v->is_root, x->muid, x->mgid,
		    x->mmode, &x->mtim, &st);
		/* A trailing hole (ftruncate after the last block). */
		if (hash_upto(w, fd, &hashed, (uint64_t)st.st_size) == 0 &&
		    hashed == (uint64_t)st.st_size) {
			crypto_sha256_final(w->h, x->vsha);
			x->vsize = hashed;
			x->vdev = st.st_dev;
			x->vino = st.st_ino;
			x->vstate = 1;
		}
	}
	/* The extraction's descriptor: closing it is the last chance to
	 * hear of a write that failed (NFS). */
	if (close(fd) != 0 && done == 1)
		x->vstate = 2;
}

/* Take files off the queue and check them until it is empty and the
 * verifier is stopped. */
static void
vconsume(struct vwork *w)
{
	struct verifier *v = w->v;
	struct stat st;
	struct ent *x;
	int fd;

	pthread_mutex_lock(&v->mtx);
	for (;;) {
		while (v->head == v->tail && !v->stop) {
			v->waiting = 1;
			pthread_cond_wait(&v->cv, &v->mtx);
			v->waiting = 0;
		}
		if (v->head == v->tail)
			break;
		x = v->q[v->head++];
		fd = x->vfd;
		x->vfd = -1;
		if (fd >= 0)
			v->nfds--;
		pthread_mutex_unlock(&v->mtx);
		if (x->early && fd >= 0) {
			vearly(w, x, fd);
		} else if (x->vmeta && fd >= 0 && fstat(fd, &st) == 0) {
			/* Owner, mode and time change no size, device or
			 * inode: the same fstat serves vhash. */
			restore_file_meta(fd, x->e->path, v->is_root, x->muid,
			    x->mgid, x->mmode, &x->mtim, &st);
			vhash(w, x, fd, &st);
		} else {
			if (x->vmeta)
				restore_file_meta(fd, x->e->path, v->is_root,
				    x->muid, x->mgid, x->mmode, &x->mtim, NULL);
			vhash(w, x, fd, NULL);
		}
		pthread_mutex_lock(&v->mtx);
	}
	pthread_mutex_unlock(&v->mtx);
}

static void *
vmain(void *cookie)
{
	struct verifier *v = cookie;
	struct vwork w = { v, v->buf, v->h };

	vconsume(&w);
	restore_dircache_free();
	return (NULL);
}

int
restore_verifier_start(struct ctx *c)
{
	struct verifier *v;
	struct rlimit rl;

	if (c->vq != NULL || c->nents == 0 || c->rootfd < 0)
		return (0);
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return (-1);
	v->cap = c->nents;
	v->rootfd = c->rootfd;
	v->is_root = c->is_root;
	v->maxfds = 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		v->maxfds = rl.rlim_cur == RLIM_INFINITY ||
		    rl.rlim_cur / 4 > VQ_FDS ? VQ_FDS : (size_t)rl.rlim_cur / 4;
	if ((v->q = calloc(v->cap, sizeof(*v->q))) == NULL ||
	    (v->buf = malloc(RBUF_SIZE)) == NULL ||
	    (v->h = crypto_sha256_new()) == NULL)
		goto err0;
	if (pthread_mutex_init(&v->mtx, NULL) != 0)
		goto err0;
	if (pthread_cond_init(&v->cv, NULL) != 0)
		goto err1;
	if (pthread_create(&v->tid, NULL, vmain, v) != 0)
		goto err2;
	c->vq = v;
	return (0);

err2:
	pthread_cond_destroy(&v->cv);
err1:
	pthread_mutex_destroy(&v->mtx);
err0:
	crypto_sha256_free(v->h);
	free(v->buf);
	free(v->q);
	free(v);
	return (-1);
}

void
restore_verifier_add(struct ctx *c, struct ent *x)
{
	struct verifier *v = c->vq;

	if (v == NULL || x->queued || x->e->type != MANIFEST_FILE)
		return;
	x->queued = 1;
	pthread_mutex_lock(&v->mtx);
	if (v->tail < v->cap) {
		v->q[v->tail++] = x;
		if (v->waiting && v->tail - v->head >= VQ_BATCH)
			pthread_cond_signal(&v->cv);
	}
	pthread_mutex_unlock(&v->mtx);
}

static int
add_fd(struct ctx *c, struct ent *x, int fd, int meta, int early)
{
	struct verifier *v = c->vq;
	int rc = -1;

	if (v == NULL || x->queued || x->e->type != MANIFEST_FILE)
		return (-1);
	pthread_mutex_lock(&v->mtx);
	if (v->tail < v->cap && v->nfds < v->maxfds) {
		x->queued = 1;
		x->vmeta = meta;
		x->early = early;
		x->vfd = fd;
		v->nfds++;
		v->q[v->tail++] = x;
		if (v->waiting && (early || v->tail - v->head >= VQ_BATCH))
			pthread_cond_signal(&v->cv);
		rc = 0;
	}
	pthread_mutex_unlock(&v->mtx);
	return (rc);
}

int
restore_verifier_add_fd(struct ctx *c, struct ent *x, int fd)
{

	return (add_fd(c, x, fd, 0, 0));
}

int
restore_verifier_add_meta(struct ctx *c, struct ent *x, int fd)
{

	return (add_fd(c, x, fd, 1, 0));
}

int
restore_verifier_add_early(struct ctx *c, struct ent *x, int fd)
{

	x->wpos = 0;
	x->wdone = 0;
	return (add_fd(c, x, fd, 1, 1));
}

void
restore_verifier_written(struct ctx *c, struct ent *x, uint64_t end,
    int done)
{
	struct verifier *v = c->vq;

	pthread_mutex_lock(&v->mtx);
	if (end > x->wpos)
		x->wpos = end;
	if (done)
		x->wdone = done;
	if (v->waiting)
		pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mtx);
}

void
restore_verifier_stop(struct ctx *c)
{
	struct verifier *v = c->vq;
	struct vwork w = { NULL, NULL, NULL };

	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mtx);
	v->stop = 1;
	pthread_cond_signal(&v->cv);
	pthread_mutex_unlock(&v->mtx);
	/* Everything is written: this thread helps with what is left (the
	 * verifier thread falls behind the extraction). */
	w.v = v;
	if ((w.buf = malloc(RBUF_SIZE)) != NULL &&
	    (w.h = crypto_sha256_new()) != NULL)
		vconsume(&w);
	crypto_sha256_free(w.h);
	free(w.buf);
	pthread_join(v->tid, NULL);
	pthread_cond_destroy(&v->cv);
	pthread_mutex_destroy(&v->mtx);
	crypto_sha256_free(v->h);
	free(v->buf);
	free(v->q);
	free(v);
	c->vq = NULL;
}

/* ---------------------------------------------------------- verification */

static int
bad(struct ctx *c, const char *path, const char *what)
{

	c->rep->mismatches++;
	return (restore_problem_add(&c->rep->bad, &c->rep->nbad, path, "%s",
	    what));
}

/* Verify x: 0 (recorded when wrong) or -1. */
/* What check_ent found wrong with a path it could not even look at. */
static const char check_fatal[] = "";

/*
 * check_ent(c, x, buf, where): compare what is at x's path with x's
 * entry: NULL when they agree, what differs (*where: the path to name),
 * or check_fatal (reported).  buf: RBUF_SIZE bytes for reading.  Reads
 * only; runs on either of the threads of check_all.
 */
static const char *
check_ent(struct ctx *c, struct ent *x, uint8_t *buf, const char **where)
{
	const struct manifest_entry *e = x->e;
	const struct ent *tx;
	enum manifest_type want;
	uint8_t sha[CRYPTO_SHA256_LEN];
	struct stat st, tst;
	uint64_t size;
	int r;

#define BAD(path, what) (*where = (path), (what))
	*where = e->path;
	if ((r = restore_lstat_at(c->rootfd, e->path, &st)) < 0)
		return (check_fatal);
	if (r == 1)
		return (BAD(e->path, "missing"));
	want = e->type == MANIFEST_HARDLINK ? MANIFEST_FILE : e->type;
	if (restore_type_of(st.st_mode) != want)
		return (BAD(e->path, "type"));
	if (e->type == MANIFEST_HARDLINK) {
		if (e->target == NULL ||
		    restore_lstat_at(c->rootfd, e->target, &tst) != 0 ||
		    tst.st_ino != st.st_ino || tst.st_dev != st.st_dev)
			return (BAD(e->path, "not linked to its target"));
		/* The data are the group's first member's. */
		if ((tx = restore_ent_find(c, e->target)) == NULL)
			return (NULL);
		e = tx->e;
	}
	if (want != MANIFEST_SYMLINK && e->has_mode &&
	    (st.st_mode & 07777) != e->mode)
		return (BAD(e->path, "mode"));
	if (c->is_root && e->has_owner &&
	    (st.st_uid != e->uid || st.st_gid != e->gid))
		return (BAD(e->path, "owner"));
	if (want != MANIFEST_SYMLINK && e->has_mtime &&
	    (st.st_mtim.tv_sec != e->mtime ||
	    st.st_mtim.tv_nsec != (long)e->mtime_nsec))
		return (BAD(e->path, "mtime"));
	if ((want == MANIFEST_CHR || want == MANIFEST_BLK) && e->has_dev &&
	    (major(st.st_rdev) != e->devmajor ||
	    minor(st.st_rdev) != e->devminor))
		return (BAD(e->path, "device"));
	if (want == MANIFEST_SYMLINK) {
		if (restore_same_as(c, e->path, &st, e) != 1)
			return (BAD(e->path, "symlink target"));
		return (NULL);
	}
	if (want != MANIFEST_FILE)
		return (NULL);
	if (e->has_size && (uint64_t)st.st_size != e->size)
		return (BAD(e->path, "size"));
	/* Read by the verifier thread after it was written, and still
	 * that file. */
	if (x->vstate == 2) {
		warn0("cannot write '%s': closing it failed", x->e->path);
		return (BAD(x->e->path, "write error"));
	}
	if (x->vstate == 1 && x->vdev == st.st_dev && x->vino == st.st_ino) {
		memcpy(sha, x->vsha, sizeof(sha));
		size = x->vsize;
	} else if (restore_hash_at(c->rootfd, x->e->path, buf, sha,
	    &size) != 0) {
		warnp("cannot read '%s'", x->e->path);
		return (BAD(x->e->path, "unreadable"));
	}
	if (e->has_size && size != e->size)
		return (BAD(x->e->path, "size"));
	if (e->has_sha256 && memcmp(sha, e->sha256, sizeof(sha)) != 0)
		return (BAD(x->e->path, "sha256"));
	return (NULL);
}
#undef BAD

/* check_ent for entries [a, b) into their vwhat and vwhere. */
struct check_range {
	struct ctx *c;
	size_t a, b;
	uint8_t *buf;
};

static void *
check_range(void *cookie)
{
	struct check_range *cr = cookie;
	struct ent *x;
	size_t i;

	for (i = cr->a; i < cr->b; i++) {
		x = &cr->c->ents[i];
		if (!x->failed)
			x->vwhat = check_ent(cr->c, x, cr->buf, &x->vwhere);
	}
	return (NULL);
}

static void *
check_range_thread(void *cookie)
{

	(void)check_range(cookie);
	restore_dircache_free();
	return (NULL);
}

/*
 * Every entry checked, the second half on a thread of its own when there
 * are enough (its directory cache is its own: entries are in path order,
 * so each half walks its own part of the tree).
 */
static void
check_all(struct ctx *c)
{
	struct check_range lo = { c, 0, c->nents, c->buf }, hi;
	pthread_t tid;
	int threaded = 0;

	if (c->nents >= 4096 && (hi.buf = malloc(RBUF_SIZE)) != NULL) {
		hi.c = c;
		hi.a = lo.b = c->nents / 2;
		hi.b = c->nents;
		if (pthread_create(&tid, NULL, check_range_thread, &hi) == 0)
			threaded = 1;
		else {
			lo.b = c->nents;
			free(hi.buf);
		}
	}
	(void)check_range(&lo);
	if (threaded) {
		pthread_join(tid, NULL);
		free(hi.buf);
	}
}

int
restore_verify_all(struct ctx *c)
{
	struct stat st;
	struct ent *x;
	size_t i;
	int r;

	restore_verifier_stop(c);
	check_all(c);
	for (i = 0; i < c->nents; i++) {
		x = &c->ents[i];
		if (x->failed)
			continue;
		c->rep->verified++;
		if (x->vwhat == check_fatal)
			return (-1);
		if (x->vwhat != NULL && bad(c, x->vwhere, x->vwhat))
			return (-1);
	}
	for (i = 0; i < c->ndels; i++) {
		if (restore_ent_find(c, c->dels[i].path) != NULL)
			continue;
		c->rep->verified++;
		if ((r = restore_lstat_at(c->rootfd, c->dels[i].path, &st)) < 0)
			return (-1);
		if (r == 0 && !c->dels[i].explicit &&
		    bad(c, c->dels[i].path, "not deleted"))
			return (-1);
	}
	for (i = 0; i < c->nundodirs; i++) {
		c->rep->verified++;
		r = c->undodirs[i].path[0] == '\0' ? fstat(c->rootfd, &st) :
		    restore_lstat_at(c->rootfd, c->undodirs[i].path, &st);
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
			if (bad(c,
			    c->undodirs[i].path[0] ? c->undodirs[i].path :
			    ".", "directory metadata"))
				return (-1);
		}
	}
	return (0);
}

int
restore_run_verify_cmd(struct ctx *c)
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
