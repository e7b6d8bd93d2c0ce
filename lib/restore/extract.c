/*
 * extract.c: deletions, extraction of volumes, split files, hard links,
    metadata.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>

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

/* ---------------------------------------------------------- extraction */

/* Tell opts->progress, at most five times a second unless final. */
void
restore_show_progress(struct ctx *c, int final)
{
	struct timespec now;
	double el;

	if (c->o->progress == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	el = (double)(now.tv_sec - c->t0.tv_sec) +
	    (double)(now.tv_nsec - c->t0.tv_nsec) / 1e9;
	if (!final && el - c->last_progress < 0.2)
		return;
	c->last_progress = el;
	c->pr.elapsed = el;
	c->pr.rate = el > 0 ? (double)c->pr.bytes / el : 0;
	c->pr.final = final;
	c->o->progress(c->o->progress_cookie, &c->pr);
}

/* An entry is written: count it for the progress line. */
static void
progress_done(struct ctx *c, const struct ent *x)
{

	c->pr.files++;
	if (x->e->type == MANIFEST_FILE && x->src != NULL &&
	    x->src->nparts == 0 && x->e->has_size)
		c->pr.bytes += x->e->size;
	restore_show_progress(c, 0);
}

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

int
restore_make_jobs(struct ctx *c)
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
		c->pr.total_files++;
		if (x->e->type == MANIFEST_FILE && x->e->has_size)
			c->pr.total_bytes += x->e->size;
	}
	if (c->njobs > 1)
		qsort(c->jobs, c->njobs, sizeof(*c->jobs), job_cmp);
	return (0);
}

/* Remove what is in the way: deletions, and old entries of another type. */
int
restore_apply_deletions(struct ctx *c)
{
	size_t i;
	int r;

	/* Deepest first, so an explicit directory is empty by its turn. */
	for (i = c->ndels; i-- > 0; ) {
		r = restore_remove_path(c->rootfd, c->dels[i].path,
		    c->dels[i].explicit);
		if (r == 1) {
			warning("'%s' is not empty: left in place",
			    c->dels[i].path);
			if (restore_problem_add(&c->rep->failed,
			    &c->rep->nfailed,
			    c->dels[i].path, "not empty: not removed"))
				return (-1);
		} else if (r < 0 && restore_problem_add(&c->rep->failed,
		    &c->rep->nfailed, c->dels[i].path, "cannot remove"))
			return (-1);
	}
	for (i = 0; i < c->nents; i++)
		if (c->ents[i].typechange &&
		    !S_ISDIR(c->ents[i].old.st_mode) &&
		    restore_remove_path(c->rootfd, c->ents[i].e->path, 0) < 0)
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
	return (restore_problem_add(&c->rep->failed, &c->rep->nfailed,
	    x->e->path,
	    "%s", what));
}

/* Write part j->part of a split file from the volume's current entry.
 * 0, 1 (failed, recorded), -1 (the volume is unreadable). */
static int
write_part(struct ctx *c, struct volume_reader *vr, struct job *j)
{
	struct ent *x = j->ent;
	const struct manifest_part *mp = &x->src->parts[j->part - 1];
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
		if ((pfd = restore_at_parent(c->rootfd, x->e->path, 1,
		    &leaf)) < 0) {
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
	/* The reader hashes what it returns: volume_data_sha256 below. */
	while ((n = volume_read_data(vr, c->buf, RBUF_SIZE)) > 0) {
		if (pwrite(x->fd, c->buf, (size_t)n, (off_t)(off + got)) != n) {
			warnp("cannot write '%s'", x->e->path);
			(void)ent_fail(c, x, "cannot write");
			goto done;
		}
		got += (uint64_t)n;
		c->pr.bytes += (uint64_t)n;
		restore_show_progress(c, 0);
	}
	if (n < 0 || volume_data_sha256(vr, sha) != 0) {
		(void)ent_fail(c, x, "damaged volume");
		rc = -1;
		goto done;
	}
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
		restore_verifier_add(c, x);
		progress_done(c, x);
	}
	rc = 0;
done:
	return (rc);
}

/*
 * The fast path: most entries are plain regular files, directories and
 * symlinks, written here through the cached parent directory instead of
 * libarchive's archive_write_disk, which (with SECURE_SYMLINKS) walks and
 * lstat's every component of every path, changes the working directory
 * twice and the umask per entry: some 60 system calls a file against
 * about 6 here.  The safety is the same: the parent is reached component
 * by component with O_NOFOLLOW (restore_at_parent_lent), the leaf is
 * created with O_EXCL|O_NOFOLLOW (a symlink in the way is removed, never
 * followed), and the path is a valid manifest path (no "..", not
 * absolute).  What it does not handle goes to volume_extract untouched:
 * ACLs, system.* xattrs, hard links, devices and fifos, set-id bits when
 * not root, a directory in the way of a file, metadata on a directory or
 * symlink other than owner, mode and mtime.
 */
enum fast_result {
	FAST_DONE = 0,          /* written, metadata set (files) */
	FAST_FAILED,            /* not written: warned */
	FAST_SLOW,              /* untouched: for volume_extract */
	FAST_BROKEN             /* the volume is unreadable */
};

/* 1 when the fast path may write the entry described by info as x. */
static int
fast_ok(const struct ctx *c, const struct ent *x, const char *name,
    const struct volume_entry *v)
{
	size_t i;

	if (v->acl_access != NULL || v->acl_default != NULL ||
	    !manifest_path_valid(name, strlen(name)))
		return (0);
	switch (v->type) {
	case VOLUME_REG:
		if (x->e->type != MANIFEST_FILE)
			return (0);
		if (!c->is_root && ((x->e->has_mode ? x->e->mode : v->mode) &
		    06000))
			return (0);
		for (i = 0; i < v->nxattrs; i++)
			if (strncmp(v->xattrs[i].name, "system.", 7) == 0)
				return (0);
		return (1);
	case VOLUME_DIR:
		return (x->e->type == MANIFEST_DIR && v->nxattrs == 0);
	case VOLUME_SYMLINK:
		return (x->e->type == MANIFEST_SYMLINK && v->nxattrs == 0 &&
		    v->link != NULL && v->link[0] != '\0');
	default:
		return (0);
	}
}

/* Files this large are handed to the verifier before they are written
 * (it reads behind the writer): a whole file written first and then
 * re-read left the other core idle while the writing went on. */
#define EARLY_MIN (4 * 1024 * 1024)

struct early_cb {
	struct ctx *c;
	struct ent *x;
};

static void
early_written(void *cookie, uint64_t end)
{
	struct early_cb *cb = cookie;

	restore_verifier_written(cb->c, cb->x, end, 0);
}

/* Write the regular file x (leaf under pfd) from the volume's current
 * entry, with its metadata: the manifest's, else the volume's. */
static enum fast_result
fast_file(struct ctx *c, struct volume_reader *vr, struct ent *x, int pfd,
    const char *leaf, const struct volume_entry *v)
{
	const struct manifest_entry *e = x->e;
	size_t i;
	int fd, r;

	x->muid = e->has_owner ? e->uid : (uid_t)v->uid;
	x->mgid = e->has_owner ? e->gid : (gid_t)v->gid;
	x->mmode = e->has_mode ? e->mode : v->mode & 07777;
	if (e->has_mtime) {
		x->mtim.tv_sec = e->mtime;
		x->mtim.tv_nsec = e->mtime_nsec;
	} else {
		x->mtim.tv_sec = v->mtime_ns / 1000000000;
		x->mtim.tv_nsec = v->mtime_ns % 1000000000;
		if (x->mtim.tv_nsec < 0) {
			x->mtim.tv_sec--;
			x->mtim.tv_nsec += 1000000000;
		}
	}
	/* Readable: the verifier thread hashes it through fd.  Created with
	 * its permission bits (set-id bits come after the owner), so that
	 * the mode need not be set again when the umask left them. */
	fd = openat(pfd, leaf, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, x->mmode & 0777);
	if (fd < 0 && errno == EEXIST) {
		/* An old file or symlink goes, as libarchive would do; a
		 * directory is libarchive's to handle. */
		if (unlinkat(pfd, leaf, 0) != 0)
			return (errno == EISDIR || errno == EPERM ? FAST_SLOW :
			    (warnp("cannot remove '%s'", e->path),
			    FAST_FAILED));
		fd = openat(pfd, leaf, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, x->mmode & 0777);
	}
	if (fd < 0) {
		warnp("cannot create '%s'", e->path);
		return (FAST_FAILED);
	}
	/* A large file is re-read by the verifier while it is written. */
	if (v->nxattrs == 0 && v->size >= EARLY_MIN &&
	    restore_verifier_add_early(c, x, fd) == 0) {
		struct early_cb cb = { c, x };

		r = volume_write_data_progress(vr, fd, e->path, NULL,
		    early_written, &cb);
		/* fd is the verifier's now. */
		restore_verifier_written(c, x, 0, r == 0 ? 1 : 2);
		if (r != 0)
			return (r < 0 ? FAST_BROKEN : FAST_FAILED);
		x->metadone = 1;
		return (FAST_DONE);
	}
	if ((r = volume_write_data(vr, fd, e->path, NULL)) != 0) {
		close(fd);
		return (r < 0 ? FAST_BROKEN : FAST_FAILED);
	}
	/* Metadata problems are warnings, as libarchive has them.  Owner
	 * and mode first, extended attributes after them (chown also drops
	 * security.capability), the time last. */
	x->metadone = 1;
	/* The verifier thread sets it, unless there are attributes too. */
	if (v->nxattrs == 0 && restore_verifier_add_meta(c, x, fd) == 0)
		return (FAST_DONE);
	if (v->nxattrs == 0) {
		restore_file_meta(fd, e->path, c->is_root, x->muid, x->mgid,
		    x->mmode, &x->mtim, NULL);
	} else {
		restore_file_meta(fd, e->path, c->is_root, x->muid, x->mgid,
		    x->mmode, NULL, NULL);
		for (i = 0; i < v->nxattrs; i++)
			if (fsetxattr(fd, v->xattrs[i].name,
			    v->xattrs[i].value, v->xattrs[i].len, 0) != 0)
				warnp("cannot set the extended attribute '%s' "
				    "of '%s'", v->xattrs[i].name, e->path);
		restore_file_meta(fd, e->path, 0, 0, 0, (mode_t)-1,
		    &x->mtim, NULL);
	}
	if (restore_verifier_add_fd(c, x, fd) == 0)
		return (FAST_DONE);
	if (close(fd) != 0) {
		warnp("cannot write '%s'", e->path);
		x->metadone = 0;
		return (FAST_FAILED);
	}
	return (FAST_DONE);
}

void
restore_file_meta(int fd, const char *path, int chown, uid_t uid, gid_t gid,
    mode_t mode, const struct timespec *mtim, const struct stat *cur)
{
	struct timespec ts[2];
	int chowned = 0;

	if (chown && (cur == NULL || cur->st_uid != uid ||
	    cur->st_gid != gid)) {
		if (fchown(fd, uid, gid) != 0)
			warnp("cannot set the owner of '%s'", path);
		chowned = 1;
	}
	/* After a chown the set-id bits are gone: set the mode again. */
	if (mode != (mode_t)-1 && (cur == NULL || chowned ||
	    (cur->st_mode & 07777) != mode) && fchmod(fd, mode) != 0)
		warnp("cannot set the mode of '%s'", path);
	if (mtim == NULL)
		return;
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = *mtim;
	if (futimens(fd, ts) != 0)
		warnp("cannot set the time of '%s'", path);
}

/* Make the directory x (leaf under pfd); its metadata comes last, in
 * apply_meta, as for every directory. */
static enum fast_result
fast_dir(struct ent *x, int pfd, const char *leaf)
{
	struct stat st;

	if (mkdirat(pfd, leaf, 0700) == 0)
		return (FAST_DONE);
	if (errno != EEXIST) {
		warnp("cannot create '%s'", x->e->path);
		return (FAST_FAILED);
	}
	/* A directory there is kept; anything else is libarchive's. */
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		return (FAST_DONE);
	return (FAST_SLOW);
}

/* Make the symlink x (leaf under pfd) to link; owner and time come in
 * apply_meta. */
static enum fast_result
fast_symlink(struct ent *x, int pfd, const char *leaf, const char *link)
{

	if (symlinkat(link, pfd, leaf) == 0)
		return (FAST_DONE);
	if (errno != EEXIST) {
		warnp("cannot create '%s'", x->e->path);
		return (FAST_FAILED);
	}
	if (unlinkat(pfd, leaf, 0) != 0)
		return (errno == EISDIR || errno == EPERM ? FAST_SLOW :
		    (warnp("cannot remove '%s'", x->e->path), FAST_FAILED));
	if (symlinkat(link, pfd, leaf) != 0) {
		warnp("cannot create '%s'", x->e->path);
		return (FAST_FAILED);
	}
	return (FAST_DONE);
}

/* Write the volume's current entry (member name, described by info) as
 * x the fast way if it can be. */
static enum fast_result
fast_extract(struct ctx *c, struct volume_reader *vr, struct ent *x,
    const char *name, const struct volume_entry *v)
{
	const char *leaf;
	int pfd;

	if (!fast_ok(c, x, name, v))
		return (FAST_SLOW);
	if ((pfd = restore_at_parent_lent(c->rootfd, name, 1, &leaf)) < 0) {
		/* A parent is a symlink or a file: refused, as libarchive
		 * refuses it. */
		warnp("cannot create the directory of '%s'", name);
		return (FAST_FAILED);
	}
	switch (v->type) {
	case VOLUME_REG:
		return (fast_file(c, vr, x, pfd, leaf, v));
	case VOLUME_DIR:
		return (fast_dir(x, pfd, leaf));
	default:
		return (fast_symlink(x, pfd, leaf, v->link));
	}
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
	const struct age_identities *ids;
	struct job key, *j;
	enum volume_status vst = VOLUME_OK;
	enum set_object_status ost;
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
	if ((ids = restore_ids(c)) == NULL) {
		rc = -1;
		goto done;
	}
	if ((vr = volume_reader_open(ids, vname, volume_target_read, tr,
	    &vst)) == NULL)
		goto fail;
	/* Hashed as it is extracted: a copy checked on another read could
	 * be changed in between, and extended attributes and ACLs are
	 * checked by nothing but this hash (the manifest does not list
	 * them). */
	volume_reader_whole_hash_only(vr);
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
		switch (fast_extract(c, vr, j->ent, key.name, &info.entry)) {
		case FAST_DONE:
			r = 0;
			break;
		case FAST_FAILED:
			r = 1;
			break;
		case FAST_BROKEN:
			r = -1;
			break;
		default:
			r = volume_extract(vr, c->dest, 0, NULL);
			/* libarchive may have replaced what was in the
			 * way. */
			restore_dircache_drop();
			break;
		}
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
		restore_verifier_add(c, j->ent);
		progress_done(c, j->ent);
	}
	if (r < 0)
		goto fail;
	if (volume_reader_finish(vr, &res) != 0)
		goto fail;
	broken = 0;
	/* Only the whole object was hashed: a rewrapped header keeps the
	 * payload hash, which set_object_check reads again to see. */
	if (res.size != obj->size || (memcmp(res.sha256, obj->sha256,
	    sizeof(res.sha256)) != 0 && (!obj->has_payload ||
	    set_object_check(c->o->target, c->o->host, s->label, obj,
	    &ost) != 0 || ost != SET_OBJECT_REWRAPPED))) {
		warn0("set '%s/%s': volume '%s' does not match set.json",
		    c->o->host, s->label, vname);
		c->damaged = 1;
		if (restore_problem_add(&c->rep->failed, &c->rep->nfailed,
		    vname,
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

int
restore_extract_all(struct ctx *c)
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

/*
 * link_missing(c, x): make the hard link x, which no volume holds (a link
 * to a split file, joined by now, or to a file an earlier set holds), to
 * its target, restored or left in place.  0, 1 (failed, recorded) or -1.
 */
static int
link_missing(struct ctx *c, struct ent *x)
{
	const struct ent *tx;
	struct stat st;
	const char *leaf, *tleaf;
	int pfd = -1, tfd = -1, rc = 1;

	tx = restore_ent_find(c, x->e->target);
	if (tx == NULL || tx->failed) {
		warn0("cannot link '%s' to '%s': the target is not restored",
		    x->e->path, x->e->target);
		return (ent_fail(c, x, "its link target is not restored") ?
		    -1 : 1);
	}
	if ((tfd = restore_at_parent(c->rootfd, x->e->target, 0, &tleaf)) < 0 ||
	    (pfd = restore_at_parent(c->rootfd, x->e->path, 1, &leaf)) < 0) {
		warnp("cannot link '%s' to '%s'", x->e->path, x->e->target);
		goto fail;
	}
	/* What is in the way (an old file) goes; a directory there was
	 * removed by apply_deletions or makes linkat fail. */
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode) && unlinkat(pfd, leaf, 0) != 0) {
		warnp("cannot remove '%s'", x->e->path);
		goto fail;
	}
	if (linkat(tfd, tleaf, pfd, leaf, 0) != 0) {
		warnp("cannot link '%s' to '%s'", x->e->path, x->e->target);
		goto fail;
	}
	x->extracted = 1;
	rc = 0;
	goto done;
fail:
	if (ent_fail(c, x, "cannot link"))
		rc = -1;
done:
	if (tfd >= 0)
		close(tfd);
	if (pfd >= 0)
		close(pfd);
	return (rc);
}

/* Entries without a tar member: directories are made here, hard links
 * linked to their target; the rest is a failure. */
int
restore_make_missing(struct ctx *c)
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
			if ((fd = restore_dir_open(c->rootfd, x->e->path,
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
		if (x->e->type == MANIFEST_HARDLINK && x->e->target != NULL &&
		    x->src == x->e && x->src->volume == 0) {
			if (link_missing(c, x) < 0)
				return (-1);
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
		pfd = restore_dir_open(c->rootfd, "", 0, 0);
		leaf = ".";
	} else
		pfd = restore_at_parent(c->rootfd, path, 0, &leaf);
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
void
restore_apply_meta(struct ctx *c)
{
	const struct manifest_entry *e;
	struct ent *x;
	size_t i;

	for (i = c->nents; i-- > 0; ) {
		x = &c->ents[i];
		e = x->e;
		if (x->failed || x->metadone || e->type == MANIFEST_HARDLINK)
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
