#include "compat.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "audit.h"
#include "audithead.h"
#include "backup.h"
#include "catalog.h"
#include "clock.h"
#include "crypto.h"
#include "keys.h"
#include "label.h"
#include "manifest.h"
#include "recovery.h"
#include "scan.h"
#include "set.h"
#include "sign.h"
#include "statecache.h"
#include "target.h"
#include "util.h"
#include "volume.h"
#include "warnp.h"

#define DEFAULT_VOLUME_SIZE ((uint64_t)1 << 30)
#define DEFAULT_FULL_EVERY (7LL * 86400)
#define LINK_BUCKETS 4096

/* A hard-link group seen in this run, by the inode of its first member. */
struct link {
	struct link *next;
	dev_t dev;
	ino_t ino;
	char *path;             /* the first member's archive path */
	size_t pathlen;
	uint64_t group;
	uint32_t volume;        /* where its data is in this set, or 0 */
	char *in;               /* or the set holding its data */
	uint64_t size;
	int has_sha256;
	uint8_t sha256[32];
};

/* Owner names looked up for entries no volume stored this time
 * (unchanged files): a few ids cover a host, so a small cache does. */
#define NAME_CACHE 32
struct name_cache {
	struct {
		uint32_t id;
		int used;
		char name[256];         /* "" when the id has no name */
	} slot[NAME_CACHE];
	size_t next;
};

/*
 * The re-read of a committed volume, in a thread of its own while the
 * backup goes on (on a read-only target of its own: a struct target is
 * used by one thread at a time).  The check after the commit of the set
 * takes its result instead of reading the volume again.
 */
struct bgverify {
	pthread_t thr;
	struct target *t;
	char *host;
	char *label;
	struct set_object obj;          /* name owned */
	enum set_object_status st;
	int rc;                         /* set_object_check's */
	int joined;
};

/* One run of backup_run. */
struct run {
	const struct backup_params *p;
	struct backup_result *r;
	struct target *t;
	struct age_recipients *rcp;
	struct sign_key *sk;
	long long vault_row;
	char label[LABEL_MAX + 1];
	struct set_header h;
	uint64_t volume_size;
	/* change detection */
	struct statecache_reader *cr;
	int64_t cache_start_ns;
	struct statecache_writer *cw;
	/* the current volume */
	struct volume_writer *vw;
	struct target_put *vput;
	char vname[64];
	uint32_t vno;
	/* the manifest */
	struct target_put *mput;
	struct volume_blob_writer *mblob;
	struct manifest_writer *mw;
	/* hard links */
	struct link *links[LINK_BUCKETS];
	uint64_t ngroups;
	/* split files, for RECOVERY.txt */
	struct recovery_split *splits;
	size_t nsplits;
	/* owner names of unchanged files */
	struct name_cache users, groups;
	/* volumes being or already re-read */
	int verify;             /* re-read after the commit */
	struct bgverify **bgv;
	size_t nbgv;
	/* progress */
	struct timespec t0;
	double last_progress;
	int json_committed;     /* set.json is in the vault */
	int sig_committed;      /* the set is committed */
};

static const char *const level_names[] = {
	[BACKUP_LEVEL_FULL] = "full",
	[BACKUP_LEVEL_DIFF] = "diff",
	[BACKUP_LEVEL_INCR] = "incr",
	[BACKUP_LEVEL_AUTO] = "auto",
};

const char *
backup_level_name(enum backup_level l)
{

	if ((unsigned)l >= sizeof(level_names) / sizeof(level_names[0]))
		return ("?");
	return (level_names[l]);
}

int
backup_level_parse(const char *s, enum backup_level *l)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (s != NULL && strcmp(s, level_names[i]) == 0) {
			*l = (enum backup_level)i;
			return (0);
		}
	return (-1);
}

void
backup_params_init(struct backup_params *p)
{

	memset(p, 0, sizeof(*p));
	p->level = BACKUP_LEVEL_AUTO;
	p->exclude_caches = 1;
}

void
backup_result_clear(struct backup_result *r)
{

	if (r == NULL)
		return;
	free(r->label);
	free(r->level_reason);
	memset(r, 0, sizeof(*r));
}

/* Test builds only: die here when COFFER_TEST_CRASH_AT names this point. */
static void
crash_point(const char *point)
{
	const char *e;

	if (!clock_is_overridable())
		return;
	if ((e = getenv("COFFER_TEST_CRASH_AT")) != NULL &&
	    strcmp(e, point) == 0)
		_exit(137);
}

static double
elapsed(const struct run *run)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((double)(now.tv_sec - run->t0.tv_sec) +
	    (double)(now.tv_nsec - run->t0.tv_nsec) / 1e9);
}

static void
progress(struct run *run, const char *path, int final)
{
	struct backup_progress pr;
	double el;

	if (run->p->progress == NULL)
		return;
	el = elapsed(run);
	if (!final && el - run->last_progress < 0.2)
		return;
	run->last_progress = el;
	memset(&pr, 0, sizeof(pr));
	pr.files = run->r->files + run->r->deleted;
	pr.bytes = run->r->bytes_read;
	pr.bytes_stored = run->r->bytes_stored +
	    (run->vw != NULL ? volume_bytes_out(run->vw) : 0);
	pr.elapsed = el;
	pr.rate = el > 0 ? (double)run->r->bytes_read / el : 0;
	pr.path = path;
	pr.final = final;
	run->p->progress(run->p->progress_cookie, &pr);
}

/* A warning of the run: counted; with strict, fatal (returns -1). */
static int
run_warned(struct run *run)
{

	run->r->warnings++;
	if (run->p->strict) {
		warn0("backup failed: --strict and a file changed, vanished "
		    "or could not be read");
		return (-1);
	}
	return (0);
}

/* ----------------------------------------------------------- the label */

/* 1 if a set of this label exists (catalog or vault, committed or not). */
static int
list_any(void *cookie, const struct target_entry *e)
{

	(void)cookie;
	(void)e;
	return (1);
}

static int
label_used(struct catalog *cat, long long row, struct target *t,
    const char *host, const char *label)
{
	char *dir = NULL;
	int rc;

	if ((rc = catalog_set_exists(cat, row, host, label)) != 0)
		return (rc);
	if ((dir = set_path(host, label, NULL)) == NULL)
		return (-1);
	{
		char *prefix = util_asprintf("%s/", dir);

		if (prefix == NULL) {
			free(dir);
			return (-1);
		}
		rc = target_list(t, prefix, TARGET_LIST_PARTS, list_any,
		    NULL);
		free(prefix);
	}
	free(dir);
	return (rc < 0 ? -1 : rc > 0);
}

int
backup_label_default(struct catalog *cat, long long row, struct target *t,
    const char *host, const char *job, long long now, char *out,
    size_t outlen)
{
	char stamp[32], base[LABEL_MAX + 64];
	struct tm tm;
	time_t tt = (time_t)now;
	unsigned n;
	int r;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0) {
		warn0("cannot format the time for a set label");
		return (-1);
	}
	snprintf(base, sizeof(base), "%s-%s", job, stamp);
	for (n = 1; n < 10000; n++) {
		if (n == 1)
			snprintf(out, outlen, "%s", base);
		else
			snprintf(out, outlen, "%s-%u", base, n);
		if (label_check(out, "set label") != 0)
			return (-1);
		if ((r = label_used(cat, row, t, host, out)) < 0)
			return (-1);
		if (r == 0)
			return (0);
	}
	warn0("no free set label for '%s'", base);
	return (-1);
}

/* ---------------------------------------------------------- hard links */

static struct link **
link_bucket(struct run *run, dev_t dev, ino_t ino)
{

	return (&run->links[((uint64_t)dev * 31 + (uint64_t)ino) %
	    LINK_BUCKETS]);
}

static struct link *
link_find(struct run *run, dev_t dev, ino_t ino)
{
	struct link *l;

	for (l = *link_bucket(run, dev, ino); l != NULL; l = l->next)
		if (l->dev == dev && l->ino == ino)
			return (l);
	return (NULL);
}

/* Remember (or replace) the group of an inode; NULL on error. */
static struct link *
link_set(struct run *run, const struct scan_entry *e, uint32_t volume,
    const char *in, uint64_t size, const uint8_t *sha256)
{
	struct link *l, **b;

	if ((l = link_find(run, e->st.st_dev, e->st.st_ino)) == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL) {
			warnp("cannot allocate memory");
			return (NULL);
		}
		b = link_bucket(run, e->st.st_dev, e->st.st_ino);
		l->next = *b;
		*b = l;
		l->dev = e->st.st_dev;
		l->ino = e->st.st_ino;
	}
	free(l->path);
	free(l->in);
	l->in = NULL;
	if ((l->path = malloc(e->pathlen + 1)) == NULL ||
	    (in != NULL && (l->in = util_strdup(in)) == NULL)) {
		warnp("cannot allocate memory");
		return (NULL);
	}
	memcpy(l->path, e->path, e->pathlen + 1);
	l->pathlen = e->pathlen;
	l->group = ++run->ngroups;
	l->volume = volume;
	l->size = size;
	l->has_sha256 = sha256 != NULL;
	if (sha256 != NULL)
		memcpy(l->sha256, sha256, 32);
	return (l);
}

static void
links_free(struct run *run)
{
	struct link *l, *next;
	size_t i;

	for (i = 0; i < LINK_BUCKETS; i++)
		for (l = run->links[i]; l != NULL; l = next) {
			next = l->next;
			free(l->path);
			free(l->in);
			free(l);
		}
}

/* ------------------------------------------------------------- volumes */

static char *
object_path(struct run *run, const char *name)
{

	return (set_path(run->p->host, run->label, name));
}

static int
volume_open(struct run *run)
{
	struct volume_params vp;
	char *name = NULL;
	int rc = -1;

	run->vno++;
	snprintf(run->vname, sizeof(run->vname), "vol-%04" PRIu32
	    ".tar.zst.age", run->vno);
	if ((name = object_path(run, run->vname)) == NULL)
		goto cleanup;
	if ((run->vput = target_put_begin(run->t, name)) == NULL)
		goto cleanup;
	memset(&vp, 0, sizeof(vp));
	vp.name = run->vname;
	vp.recipients = run->rcp;
	vp.zstd_level = run->p->zstd_level;
	vp.zstd_workers = run->p->zstd_workers;
	if ((run->vw = volume_writer_new(&vp, volume_target_write,
	    run->vput)) == NULL)
		goto cleanup;
	rc = 0;
cleanup:
	free(name);
	return (rc);
}

static void *
bgverify_main(void *cookie)
{
	struct bgverify *b = cookie;

	b->rc = set_object_check(b->t, b->host, b->label, &b->obj, &b->st);
	return (NULL);
}

static void
bgverify_free(struct bgverify *b)
{

	if (b == NULL)
		return;
	if (!b->joined)
		pthread_join(b->thr, NULL);
	target_free(b->t);
	free(b->host);
	free(b->label);
	free(b->obj.name);
	free(b);
}

/* Wait for every re-read started. */
static void
bgverify_join(struct run *run)
{
	size_t i;

	for (i = 0; i < run->nbgv; i++)
		if (!run->bgv[i]->joined) {
			pthread_join(run->bgv[i]->thr, NULL);
			run->bgv[i]->joined = 1;
		}
}

/*
 * Start re-reading the volume o, just committed, in a thread.  One such
 * thread at a time.  Nothing is reported if it cannot start: the check
 * after the commit of the set then reads the volume itself.
 */
static void
bgverify_start(struct run *run, const struct set_object *o)
{
	struct bgverify *b, **nb;

	if (!run->verify)
		return;
	bgverify_join(run);
	if ((nb = realloc(run->bgv, (run->nbgv + 1) * sizeof(*nb))) == NULL)
		return;
	run->bgv = nb;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return;
	b->obj = *o;
	b->obj.name = NULL;
	if ((b->obj.name = util_strdup(o->name)) == NULL ||
	    (b->host = util_strdup(run->p->host)) == NULL ||
	    (b->label = util_strdup(run->label)) == NULL ||
	    (b->t = target_open_local(run->p->vault_dir, NULL, NULL)) ==
	    NULL ||
	    pthread_create(&b->thr, NULL, bgverify_main, b) != 0) {
		b->joined = 1;
		bgverify_free(b);
		return;
	}
	run->bgv[run->nbgv++] = b;
}

/* The re-read of o done in a thread, or NULL if there is none. */
static struct bgverify *
bgverify_find(struct run *run, const struct set_object *o)
{
	struct bgverify *b;
	size_t i;

	for (i = 0; i < run->nbgv; i++) {
		b = run->bgv[i];
		if (b->rc == 0 && strcmp(b->obj.name, o->name) == 0 &&
		    b->obj.size == o->size &&
		    memcmp(b->obj.sha256, o->sha256, SET_SHA256_LEN) == 0)
			return (b);
	}
	return (NULL);
}

/*
 * Re-read every object of the set (set_verify_objects), taking the
 * results of the volumes already re-read in threads: the number of bad
 * objects, or -1 on error.
 */
static int
verify_objects(struct run *run)
{
	const struct set_header *h = &run->h;
	struct bgverify *b;
	enum set_object_status st;
	size_t i;
	int nbad = 0;

	bgverify_join(run);
	for (i = 0; i < h->nobjects; i++) {
		if ((b = bgverify_find(run, &h->objects[i])) != NULL)
			st = b->st;
		else if (set_object_check(run->t, h->host, h->label,
		    &h->objects[i], &st) != 0)
			return (-1);
		if (st != SET_OBJECT_OK && st != SET_OBJECT_REWRAPPED) {
			nbad++;
			warn0("set '%s/%s': object '%s' is %s", h->host,
			    h->label, h->objects[i].name,
			    set_object_status_name(st));
		}
	}
	return (nbad);
}

static int
volume_close(struct run *run)
{
	struct volume_result res;
	struct target_put *put;
	int rc = -1;

	if (run->vw == NULL)
		return (0);
	if (volume_writer_finish(run->vw, &res) != 0)
		goto cleanup;
	volume_writer_free(run->vw);
	run->vw = NULL;
	put = run->vput;
	run->vput = NULL;
	if (target_put_commit(put) != 0)
		goto cleanup;
	if (set_header_add_object(&run->h, run->vname, SET_ROLE_VOLUME,
	    res.size, res.sha256, res.payload_sha256) != 0)
		goto cleanup;
	bgverify_start(run, &run->h.objects[run->h.nobjects - 1]);
	run->r->bytes_stored += res.size;
	run->r->volumes++;
	rc = 0;
cleanup:
	return (rc);
}

/* Make room for need more tar bytes: a new volume when the current one
 * has content and would pass the volume size. */
static int
volume_need(struct run *run, uint64_t need)
{
	uint64_t in;

	if (run->vw != NULL) {
		in = volume_bytes_in(run->vw);
		if (in == 0 || in + need <= run->volume_size)
			return (0);
		if (volume_close(run) != 0)
			return (-1);
	}
	return (volume_open(run));
}

/* ------------------------------------------------------------ manifest */

static int
manifest_sink(void *cookie, const void *buf, size_t len)
{

	return (volume_blob_write(cookie, buf, len));
}

static int
manifest_open(struct run *run)
{
	char *name;
	int rc = -1;

	if ((name = object_path(run, SET_MANIFEST)) == NULL)
		return (-1);
	if ((run->mput = target_put_begin(run->t, name)) == NULL)
		goto cleanup;
	if ((run->mblob = volume_blob_writer_new(run->rcp, run->p->zstd_level,
	    volume_target_write, run->mput)) == NULL)
		goto cleanup;
	if ((run->mw = manifest_writer_new(manifest_sink, run->mblob)) == NULL)
		goto cleanup;
	rc = 0;
cleanup:
	free(name);
	return (rc);
}

static int
manifest_close(struct run *run)
{
	struct volume_result res;
	struct target_put *put;

	if (manifest_writer_finish(run->mw) != 0 ||
	    volume_blob_finish(run->mblob, &res) != 0)
		return (-1);
	manifest_writer_free(run->mw);
	run->mw = NULL;
	volume_blob_writer_free(run->mblob);
	run->mblob = NULL;
	put = run->mput;
	run->mput = NULL;
	if (target_put_commit(put) != 0)
		return (-1);
	if (set_header_add_object(&run->h, SET_MANIFEST, SET_ROLE_MANIFEST,
	    res.size, res.sha256, res.payload_sha256) != 0)
		return (-1);
	run->r->bytes_stored += res.size;
	return (0);
}

static void
entry_from_stat(struct manifest_entry *me, const struct scan_entry *e)
{

	manifest_entry_init(me);
	me->path = (char *)(uintptr_t)e->path;
	me->path_len = e->pathlen;
	me->has_mode = 1;
	me->mode = e->st.st_mode & 07777;
	me->has_owner = 1;
	me->uid = e->st.st_uid;
	me->gid = e->st.st_gid;
	me->has_mtime = 1;
	me->mtime = e->st.st_mtim.tv_sec;
	me->mtime_nsec = (uint32_t)e->st.st_mtim.tv_nsec;
}

/* Names from what the volume stored, copied into user and group. */
static void
entry_names(struct manifest_entry *me, const struct volume_file_info *info,
    char *user, char *group)
{

	if (info->entry.uname != NULL && *info->entry.uname != '\0' &&
	    strlen(info->entry.uname) < 256) {
		util_strlcpy(user, info->entry.uname, 256);
		me->user = user;
	}
	if (info->entry.gname != NULL && *info->entry.gname != '\0' &&
	    strlen(info->entry.gname) < 256) {
		util_strlcpy(group, info->entry.gname, 256);
		me->group = group;
	}
}

/* The user (group when is_group) name of id, "" when it has none. */
static const char *
name_lookup(struct name_cache *nc, uint32_t id, int is_group)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096];
	size_t i;

	for (i = 0; i < NAME_CACHE; i++)
		if (nc->slot[i].used && nc->slot[i].id == id)
			return (nc->slot[i].name);
	i = nc->next;
	nc->next = (nc->next + 1) % NAME_CACHE;
	nc->slot[i].used = 1;
	nc->slot[i].id = id;
	nc->slot[i].name[0] = '\0';
	if (is_group) {
		if (getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &grp) == 0 &&
		    grp != NULL && strlen(grp->gr_name) < 256)
			util_strlcpy(nc->slot[i].name, grp->gr_name, 256);
	} else if (getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL && strlen(pwp->pw_name) < 256)
		util_strlcpy(nc->slot[i].name, pwp->pw_name, 256);
	return (nc->slot[i].name);
}

/* Names for an entry whose data no volume of this set took (unchanged
 * files and links to them), as the volume would have named them. */
static void
entry_names_lookup(struct run *run, struct manifest_entry *me, char *user,
    char *group)
{
	const char *s;

	if (!me->has_owner)
		return;
	if (me->user == NULL &&
	    *(s = name_lookup(&run->users, me->uid, 0)) != '\0') {
		util_strlcpy(user, s, 256);
		me->user = user;
	}
	if (me->group == NULL &&
	    *(s = name_lookup(&run->groups, me->gid, 1)) != '\0') {
		util_strlcpy(group, s, 256);
		me->group = group;
	}
}

static int
on_deleted(void *cookie, const struct statecache_rec *rec)
{
	struct run *run = cookie;
	struct manifest_entry me;

	manifest_entry_init(&me);
	me.path = (char *)(uintptr_t)rec->path;
	me.path_len = rec->pathlen;
	me.deleted = 1;
	if (S_ISDIR(rec->mode))
		me.type = MANIFEST_DIR;
	else if (S_ISLNK(rec->mode))
		me.type = MANIFEST_SYMLINK;
	else if (S_ISREG(rec->mode))
		me.type = MANIFEST_FILE;
	if (manifest_writer_add(run->mw, &me) != 0)
		return (-1);
	run->r->deleted++;
	return (0);
}

/* ------------------------------------------------------------- the scan */

struct entry_state {
	struct manifest_entry me;
	struct statecache_rec rec;      /* for the new cache */
	struct manifest_part *parts;
	char user[256], group[256];
};

/* 1 when label is one of the set's parents (data it may point at). */
static int
is_parent(const struct run *run, const char *label)
{
	size_t i;

	for (i = 0; i < run->h.nparents; i++)
		if (strcmp(run->h.parents[i], label) == 0)
			return (1);
	return (0);
}

/* Store a regular file larger than the volume size as parts. */
static int
store_split(struct run *run, const struct scan_entry *e,
    struct entry_state *es)
{
	struct volume_file_info info;
	struct recovery_split *sp;
	struct crypto_sha256 *whole = NULL;
	uint64_t size = (uint64_t)e->st.st_size, off, len, n64;
	uint32_t n, i;
	char *name = NULL;
	int r, rc = -1;

	n64 = (size + run->volume_size - 1) / run->volume_size;
	if (n64 > 9999999) {
		warn0("'%s' needs too many parts: raise the volume size",
		    e->abspath);
		return (-1);
	}
	n = (uint32_t)n64;
	if ((es->parts = calloc(n, sizeof(*es->parts))) == NULL ||
	    (whole = crypto_sha256_new()) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	/* The parts are consecutive slices: hashing them in order as they
	 * are stored gives the whole file's hash, each byte read once. */
	for (i = 1; i <= n; i++) {
		off = (uint64_t)(i - 1) * run->volume_size;
		len = size - off < run->volume_size ? size - off :
		    run->volume_size;
		if (run->vw == NULL || volume_bytes_in(run->vw) > 0) {
			if (volume_close(run) != 0 || volume_open(run) != 0)
				goto cleanup;
		}
		free(name);
		if ((name = manifest_part_name(e->path, e->pathlen, i, n,
		    NULL)) == NULL)
			goto cleanup;
		r = volume_add_part_whole(run->vw, e->abspath, name, off, len,
		    es->parts[i - 1].sha256, &info, whole);
		if (r < 0)
			goto cleanup;
		if (r > 0) {
			rc = 1;
			goto cleanup;
		}
		if (info.changed) {
			warning("'%s' changed while it was read", e->abspath);
			if (run_warned(run) != 0)
				goto cleanup;
		}
		es->parts[i - 1].volume = run->vno;
		es->parts[i - 1].offset = off;
		es->parts[i - 1].size = len;
		es->parts[i - 1].has_sha256 = 1;
		run->r->bytes_read += len;
		if (i == 1)
			entry_names(&es->me, &info, es->user, es->group);
		progress(run, e->path, 0);
	}
	/* The next file goes to a volume of its own. */
	if (volume_close(run) != 0)
		goto cleanup;
	es->me.parts = es->parts;
	es->me.nparts = n;
	crypto_sha256_final(whole, es->me.sha256);
	es->me.has_sha256 = 1;
	es->rec.has_sha256 = 1;
	memcpy(es->rec.sha256, es->me.sha256, 32);
	if ((sp = realloc(run->splits, (run->nsplits + 1) *
	    sizeof(*sp))) == NULL) {
		warnp("cannot allocate memory");
		goto cleanup;
	}
	run->splits = sp;
	sp += run->nsplits;
	if ((sp->path = malloc(e->pathlen + 1)) == NULL) {
		warnp("cannot allocate memory");
		goto cleanup;
	}
	memcpy((char *)(uintptr_t)sp->path, e->path, e->pathlen + 1);
	sp->path_len = e->pathlen;
	sp->nparts = n;
	run->nsplits++;
	rc = 0;
cleanup:
	crypto_sha256_free(whole);
	free(name);
	return (rc);
}

/* A regular file: unchanged (recorded with `in`), a hard link, or stored.
 * Returns 0, 1 (skipped), -1. */
static int
do_file(struct run *run, const struct scan_entry *e,
    const struct statecache_rec *old, struct entry_state *es)
{
	struct volume_file_info info;
	struct manifest_entry *me = &es->me;
	struct link *l = NULL;
	uint64_t size = (uint64_t)e->st.st_size;
	int multi = e->st.st_nlink > 1, r;

	me->type = MANIFEST_FILE;
	me->has_size = 1;
	me->size = size;
	if (multi)
		l = link_find(run, e->st.st_dev, e->st.st_ino);

	/* Another member of a group whose data is in an earlier set. */
	if (l != NULL && l->in != NULL) {
		me->type = MANIFEST_HARDLINK;
		me->target = l->path;
		me->target_len = l->pathlen;
		me->link_group = l->group;
		me->size = l->size;
		if ((me->has_sha256 = l->has_sha256))
			memcpy(me->sha256, l->sha256, 32);
		es->rec.has_sha256 = l->has_sha256;
		memcpy(es->rec.sha256, l->sha256, 32);
		util_strlcpy(es->rec.in, l->in, sizeof(es->rec.in));
		return (0);
	}

	/* A member of a group whose data went into an earlier volume of
	 * this set: a tar hard link to the first member, which extracting
	 * the volumes in order (as restore and RECOVERY.txt do) turns into
	 * the same inode again.  The data stays in one volume. */
	if (l != NULL && l->volume != 0 && (run->vw == NULL ||
	    l->volume != run->vno)) {
		struct volume_entry ve;

		memset(&ve, 0, sizeof(ve));
		ve.path = e->path;
		ve.type = VOLUME_HARDLINK;
		ve.mode = e->st.st_mode & 07777;
		ve.uid = e->st.st_uid;
		ve.gid = e->st.st_gid;
		ve.mtime_ns = (int64_t)e->st.st_mtim.tv_sec * 1000000000 +
		    e->st.st_mtim.tv_nsec;
		ve.link = l->path;
		if (volume_need(run, 1536) != 0)
			return (-1);
		if ((r = volume_add_file(run->vw, &ve, -1, NULL)) != 0)
			return (r);
		me->type = MANIFEST_HARDLINK;
		me->target = l->path;
		me->target_len = l->pathlen;
		me->link_group = l->group;
		me->size = l->size;
		me->volume = run->vno;
		if ((me->has_sha256 = l->has_sha256))
			memcpy(me->sha256, l->sha256, 32);
		es->rec.has_sha256 = l->has_sha256;
		memcpy(es->rec.sha256, l->sha256, 32);
		util_strlcpy(es->rec.in, run->label, sizeof(es->rec.in));
		return (0);
	}

	/* Unchanged since the cached set: point at the set holding it. */
	if (l == NULL && old != NULL && old->in[0] != '\0' &&
	    is_parent(run, old->in) &&
	    !statecache_changed(old, &e->st, run->cache_start_ns)) {
		me->in = (char *)(uintptr_t)old->in;
		if ((me->has_sha256 = old->has_sha256))
			memcpy(me->sha256, old->sha256, 32);
		es->rec.has_sha256 = old->has_sha256;
		memcpy(es->rec.sha256, old->sha256, 32);
		util_strlcpy(es->rec.in, old->in, sizeof(es->rec.in));
		if (multi) {
			if ((l = link_set(run, e, 0, old->in, size,
			    old->has_sha256 ? old->sha256 : NULL)) == NULL)
				return (-1);
			me->link_group = l->group;
		}
		return (0);
	}

	/* Stored in this set. */
	if (size > run->volume_size && (l == NULL || l->volume != run->vno ||
	    run->vw == NULL)) {
		if ((r = store_split(run, e, es)) != 0)
			return (r);
		util_strlcpy(es->rec.in, run->label, sizeof(es->rec.in));
		if (multi && link_set(run, e, 0, run->label, size,
		    me->sha256) == NULL)
			return (-1);
		/* A split file is its own group: its members are recorded
		 * as hard links to it, pointing at this set. */
		if (multi)
			me->link_group = link_find(run, e->st.st_dev,
			    e->st.st_ino)->group;
		return (0);
	}
	if (l == NULL || l->volume != run->vno || run->vw == NULL) {
		/* Not a link within the current volume: its data goes in. */
		if (volume_need(run, size + 1536) != 0)
			return (-1);
	}
	r = volume_add_at(run->vw, e->dirfd, e->name, e->abspath, e->path,
	    &e->st, me->sha256, &info);
	if (r != 0)
		return (r);
	me->has_sha256 = 1;
	me->volume = run->vno;
	entry_names(me, &info, es->user, es->group);
	es->rec.has_sha256 = 1;
	memcpy(es->rec.sha256, me->sha256, 32);
	util_strlcpy(es->rec.in, run->label, sizeof(es->rec.in));
	if (info.entry.type == VOLUME_HARDLINK && l != NULL) {
		me->type = MANIFEST_HARDLINK;
		me->target = l->path;
		me->target_len = l->pathlen;
		me->link_group = l->group;
		me->size = l->size;
		return (0);
	}
	me->size = info.entry.size;
	run->r->bytes_read += info.entry.size;
	run->r->files_stored++;
	if (info.changed) {
		warning("'%s' changed while it was read", e->abspath);
		if (run_warned(run) != 0)
			return (-1);
	}
	if (info.read_error && run_warned(run) != 0)
		return (-1);
	if (multi) {
		if ((l = link_set(run, e, run->vno, NULL, me->size,
		    me->sha256)) == NULL)
			return (-1);
		me->link_group = l->group;
	}
	return (0);
}

/* Anything but a regular file: always stored (it is small). */
static int
do_other(struct run *run, const struct scan_entry *e, struct entry_state *es)
{
	struct volume_file_info info;
	struct manifest_entry *me = &es->me;
	int r;

	switch (e->type) {
	case SCAN_DIR:
		me->type = MANIFEST_DIR;
		break;
	case SCAN_SYMLINK:
		me->type = MANIFEST_SYMLINK;
		me->target = (char *)(uintptr_t)e->link;
		me->target_len = e->linklen;
		break;
	case SCAN_FIFO:
		me->type = MANIFEST_FIFO;
		break;
	case SCAN_CHR:
	case SCAN_BLK:
		me->type = e->type == SCAN_CHR ? MANIFEST_CHR : MANIFEST_BLK;
		me->has_dev = 1;
		me->devmajor = major(e->st.st_rdev);
		me->devminor = minor(e->st.st_rdev);
		break;
	default:
		return (1);
	}
	if (volume_need(run, 1536) != 0)
		return (-1);
	if ((r = volume_add_at(run->vw, e->dirfd, e->name, e->abspath,
	    e->path, &e->st, NULL, &info)) != 0)
		return (r);
	me->volume = run->vno;
	entry_names(me, &info, es->user, es->group);
	if (e->type == SCAN_SYMLINK && info.entry.link != NULL &&
	    strcmp(info.entry.link, e->link) != 0) {
		warning("'%s' changed while it was read", e->abspath);
		if (run_warned(run) != 0)
			return (-1);
		me->target = (char *)(uintptr_t)info.entry.link;
		me->target_len = strlen(info.entry.link);
	}
	return (0);
}

static int
on_entry(void *cookie, const struct scan_entry *e)
{
	struct run *run = cookie;
	const struct statecache_rec *old = NULL;
	struct entry_state es;
	int r, rc = -1;

	memset(&es, 0, sizeof(es));
	if (run->cr != NULL && statecache_lookup_next(run->cr, e->path,
	    e->pathlen, &old, on_deleted, run) < 0)
		return (-1);
	entry_from_stat(&es.me, e);
	if (e->type == SCAN_REG)
		r = do_file(run, e, old, &es);
	else
		r = do_other(run, e, &es);
	if (r < 0)
		goto cleanup;
	if (r > 0) {
		/* Skipped (vanished or unreadable), reported by the volume. */
		rc = run_warned(run);
		goto cleanup;
	}
	entry_names_lookup(run, &es.me, es.user, es.group);
	if (manifest_writer_add(run->mw, &es.me) != 0)
		goto cleanup;
	run->r->files++;
	if (e->type == SCAN_REG)
		run->r->bytes += es.me.size;
	if (run->cw != NULL) {
		statecache_rec_from_stat(&es.rec, &e->st);
		es.rec.path = e->path;
		es.rec.pathlen = e->pathlen;
		if (statecache_write(run->cw, &es.rec) != 0)
			goto cleanup;
	}
	progress(run, e->path, 0);
	rc = 0;
cleanup:
	free(es.parts);
	return (rc);
}

static void
on_note(void *cookie, enum scan_note note, const char *path, size_t len,
    int err)
{
	struct run *run = cookie;

	(void)len;
	switch (note) {
	case SCAN_NOTE_SOCKET:
		run->r->sockets++;
		break;
	case SCAN_NOTE_VANISHED:
		warning("skipping '/%s': it vanished", path);
		(void)run_warned(run);
		break;
	case SCAN_NOTE_UNREADABLE:
		errno = err;
		warning("cannot read '/%s': %s", path, strerror(err));
		(void)run_warned(run);
		break;
	default:
		break;
	}
}

/* --------------------------------------------------- level and parents */

static int
set_reason(struct run *run, const char *what, const char *arg,
    const char *more)
{

	free(run->r->level_reason);
	if ((run->r->level_reason = util_asprintf("%s%s%s", what, arg,
	    more)) == NULL)
		return (-1);
	return (0);
}

/* The newest set of the job (level "full" or any when level is NULL):
 * 1 with *out filled, 0 none, -1. */
static int
newest_set(struct run *run, const char *level, struct catalog_set *out)
{
	struct catalog_set_filter f;
	struct catalog_set *sets = NULL;
	size_t n = 0;
	int rc;

	memset(&f, 0, sizeof(f));
	f.vault = run->vault_row;
	f.host = run->p->host;
	f.job = run->p->job;
	f.kind = "backup";
	f.level = level;
	if (catalog_set_list(run->p->catalog, &f, &sets, &n) != 0)
		return (-1);
	rc = 0;
	if (n > 0) {
		rc = catalog_set_get(run->p->catalog, sets[n - 1].id, out);
		if (rc == 0) {
			warn0("set '%s' vanished from the catalog",
			    sets[n - 1].label);
			rc = -1;
		}
	}
	catalog_set_list_free(sets, n);
	return (rc);
}

/*
 * Decide the level and the parents, and open the state cache for a diff
 * or incr.  Any doubt gives a full (reason recorded).
 */
static int
choose_level(struct run *run, time_t now)
{
	const struct backup_params *p = run->p;
	struct catalog_set full, last, *parent;
	enum backup_level want = p->level;
	long long every = p->full_every > 0 ? p->full_every :
	    DEFAULT_FULL_EVERY;
	const struct statecache_header *hdr;
	char *sig;
	size_t i;
	int has_full, has_last, r, rc = -1;

	memset(&full, 0, sizeof(full));
	memset(&last, 0, sizeof(last));
	run->h.level = SET_FULL;
	run->r->level = BACKUP_LEVEL_FULL;
	if (p->kind == BACKUP_KIND_PRE_RESTORE || want == BACKUP_LEVEL_FULL)
		return (0);
	if ((has_full = newest_set(run, "full", &full)) < 0 ||
	    (has_last = newest_set(run, NULL, &last)) < 0)
		goto cleanup;
	if (want == BACKUP_LEVEL_AUTO) {
		if (!has_full) {
			rc = set_reason(run, "no full set of job '", p->job,
			    "' yet");
			goto cleanup;
		}
		if ((long long)now - (long long)full.created >= every) {
			rc = set_reason(run, "the last full set '",
			    full.label, "' is older than full-every");
			goto cleanup;
		}
		want = BACKUP_LEVEL_INCR;
	}
	parent = want == BACKUP_LEVEL_DIFF ? &full : &last;
	if (!(want == BACKUP_LEVEL_DIFF ? has_full : has_last)) {
		rc = set_reason(run, "no earlier set of job '", p->job, "'");
		goto cleanup;
	}
	r = statecache_open(p->home, p->vault_id, p->job,
	    want == BACKUP_LEVEL_DIFF ? STATECACHE_FULL : STATECACHE_LAST,
	    &run->cr);
	if (r < 0)
		goto cleanup;
	if (r == STATECACHE_MISSING) {
		rc = set_reason(run, "the state cache is missing", "", "");
		goto cleanup;
	}
	if (r == STATECACHE_DAMAGED) {
		rc = set_reason(run, "the state cache is damaged", "", "");
		goto cleanup;
	}
	hdr = statecache_header(run->cr);
	if (strcmp(hdr->set_label, parent->label) != 0) {
		rc = set_reason(run, "the state cache describes set '",
		    hdr->set_label, "', not the parent");
		goto fallback;
	}
	run->cache_start_ns = hdr->scan_start_ns;
	if (set_header_add_parent(&run->h, parent->label) != 0)
		goto cleanup;
	if (want == BACKUP_LEVEL_INCR)
		for (i = 0; i < parent->nparents; i++)
			if (set_header_add_parent(&run->h,
			    parent->parents[i]) != 0)
				goto cleanup;
	/* Every set the new one would reference must still be committed. */
	for (i = 0; i < run->h.nparents; i++) {
		if ((sig = set_path(p->host, run->h.parents[i], SET_SIG)) ==
		    NULL)
			goto cleanup;
		r = target_head(run->t, sig, NULL);
		free(sig);
		if (r < 0)
			goto cleanup;
		if (r == 0) {
			rc = set_reason(run, "set '",
			    run->h.parents[i], "' it builds on has no set.json.sig");
			goto fallback;
		}
	}
	run->h.level = want == BACKUP_LEVEL_DIFF ? SET_DIFF : SET_INCR;
	run->r->level = want;
	rc = 0;
	goto cleanup;
fallback:
	statecache_close(run->cr);
	run->cr = NULL;
	while (run->h.nparents > 0)
		free(run->h.parents[--run->h.nparents]);
cleanup:
	catalog_set_clear(&full);
	catalog_set_clear(&last);
	return (rc);
}

/* --------------------------------------------------------- commit tail */

/* The headers of the parents, oldest first, for RECOVERY.txt. */
static int
chain_load(struct run *run, struct set_header **chain)
{
	struct catalog_set cs;
	size_t i, n = run->h.nparents;
	int r;

	*chain = NULL;
	if (n == 0)
		return (0);
	if ((*chain = calloc(n, sizeof(**chain))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	for (i = 0; i < n; i++) {
		memset(&cs, 0, sizeof(cs));
		r = catalog_set_find(run->p->catalog, run->vault_row,
		    run->p->host, run->h.parents[n - 1 - i], &cs);
		if (r <= 0 || cs.header == NULL) {
			if (r == 0 || (r > 0 && cs.header == NULL))
				warn0("set '%s' has no header in the catalog",
				    run->h.parents[n - 1 - i]);
			catalog_set_clear(&cs);
			return (-1);
		}
		r = set_header_parse(cs.header, strlen(cs.header),
		    &(*chain)[i]);
		catalog_set_clear(&cs);
		if (r != 0)
			return (-1);
	}
	return (0);
}

static int
put_text(struct run *run, const char *name, const void *buf, size_t len)
{
	char *path;
	int rc;

	if ((path = object_path(run, name)) == NULL)
		return (-1);
	rc = target_put_buf(run->t, path, buf, len);
	free(path);
	return (rc);
}

/* RECOVERY.txt and SHA256SUMS: hashed into the header, then written
 * (SHA256SUMS first, as the commit order says). */
static int
write_sums_recovery(struct run *run)
{
	struct set_header *chain = NULL;
	const struct set_header **cp = NULL;
	uint8_t sha[32];
	char *rtext = NULL, *stext = NULL;
	size_t rlen, slen, i, n = run->h.nparents;
	int rc = -1;

	if (chain_load(run, &chain) != 0)
		goto cleanup;
	if (n > 0 && (cp = calloc(n, sizeof(*cp))) == NULL) {
		warnp("cannot allocate memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		cp[i] = &chain[i];
	if ((rtext = recovery_text(&run->h, cp, n, run->splits,
	    run->nsplits, &rlen)) == NULL)
		goto cleanup;
	crypto_sha256(rtext, rlen, sha);
	if (set_header_add_object(&run->h, SET_RECOVERY, SET_ROLE_RECOVERY,
	    rlen, sha, NULL) != 0)
		goto cleanup;
	if ((stext = set_sums_text(&run->h, &slen)) == NULL)
		goto cleanup;
	crypto_sha256(stext, slen, sha);
	if (put_text(run, SET_SUMS, stext, slen) != 0)
		goto cleanup;
	if (set_header_add_object(&run->h, SET_SUMS, SET_ROLE_SUMS, slen,
	    sha, NULL) != 0)
		goto cleanup;
	if (put_text(run, SET_RECOVERY, rtext, rlen) != 0)
		goto cleanup;
	run->r->bytes_stored += rlen + slen;
	rc = 0;
cleanup:
	if (chain != NULL)
		for (i = 0; i < n; i++)
			set_header_clear(&chain[i]);
	free(chain);
	free(cp);
	free(rtext);
	free(stext);
	return (rc);
}

/* The catalog transaction: the set row with its objects and the audit
 * event, nothing else. */
static int
catalog_record(struct run *run)
{
	const struct backup_params *p = run->p;
	struct catalog_set cs;
	struct audit_event ev;
	char *details = NULL, *object = NULL;
	int rc = -1, began = 0;

	memset(&cs, 0, sizeof(cs));
	if (set_header_to_catalog(&run->h, run->vault_row, &cs) != 0)
		goto cleanup;
	details = util_asprintf("{\"label\":\"%s\",\"level\":\"%s\","
	    "\"kind\":\"%s\",\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
	    run->label, set_level_name(run->h.level),
	    set_kind_name(run->h.kind), run->r->files, run->r->bytes);
	object = util_asprintf("%s/%s", p->host, run->label);
	if (details == NULL || object == NULL)
		goto cleanup;
	memset(&ev, 0, sizeof(ev));
	ev.operator_name = p->operator_name != NULL ? p->operator_name :
	    "unknown";
	ev.host = p->host;
	ev.site = p->site;
	ev.action = "backup";
	ev.object = object;
	ev.details = details;
	if (catalog_begin(p->catalog) != 0)
		goto cleanup;
	began = 1;
	if (catalog_set_add(p->catalog, &cs, &run->r->set_row) != 0 ||
	    audit_append(p->catalog, &ev) != 0)
		goto cleanup;
	crash_point("in-catalog");
	if (catalog_commit(p->catalog) != 0)
		goto cleanup;
	began = 0;
	rc = 0;
cleanup:
	if (began)
		catalog_rollback(p->catalog);
	catalog_set_clear(&cs);
	free(details);
	free(object);
	return (rc);
}

/* Write the audit chain's head to the vault (audit/HOST/SEQ.head). */
static int
write_audit_head(struct run *run)
{
	const struct backup_params *p = run->p;
	char hash[AUDIT_HASH_HEX + 1];
	long long seq;

	if (audit_head(p->catalog, &seq, hash) != 0)
		return (-1);
	if (seq < 1)
		return (0);
	return (audithead_write(run->t, run->sk, p->vault_id, p->host, seq,
	    hash));
}

/* Before the commit point: remove what this run committed to the set. */
static void
undo_objects(struct run *run)
{
	char *path;
	size_t i;

	if (run->sig_committed)
		return;
	if (run->json_committed && (path = object_path(run, SET_JSON)) !=
	    NULL) {
		(void)target_delete(run->t, path);
		free(path);
	}
	for (i = 0; i < run->h.nobjects; i++)
		if ((path = object_path(run, run->h.objects[i].name)) !=
		    NULL) {
			(void)target_delete(run->t, path);
			free(path);
		}
}

static int
setup(struct run *run)
{
	const struct backup_params *p = run->p;
	struct catalog_vault v;
	char *run_id = NULL;
	int r, rc = -1;

	if (label_check(p->host, "host name") != 0 ||
	    label_check(p->job, "job name") != 0)
		return (-2);
	if (p->label != NULL && label_check(p->label, "set label") != 0)
		return (-2);
	if ((run_id = target_run_id_new()) == NULL)
		goto cleanup;
	if ((run->t = target_open_local(p->vault_dir, p->host, run_id)) ==
	    NULL)
		goto cleanup;
	run->vault_row = p->vault_row;
	if (run->vault_row == 0) {
		memset(&v, 0, sizeof(v));
		if ((r = catalog_vault_find(p->catalog, p->vault_id, &v)) <
		    0)
			goto cleanup;
		if (r == 0) {
			warn0("vault '%s' is not in the catalog",
			    p->vault_id);
			goto cleanup;
		}
		run->vault_row = v.id;
		catalog_vault_clear(&v);
	}
	if (p->label != NULL) {
		if ((r = label_used(p->catalog, run->vault_row, run->t,
		    p->host, p->label)) < 0)
			goto cleanup;
		if (r > 0) {
			warn0("set label '%s' is already used on host '%s'",
			    p->label, p->host);
			rc = -2;
			goto cleanup;
		}
		util_strlcpy(run->label, p->label, sizeof(run->label));
	} else if (backup_label_default(p->catalog, run->vault_row, run->t,
	    p->host, p->job, (long long)clock_now(), run->label,
	    sizeof(run->label)) != 0)
		goto cleanup;
	if ((run->rcp = keys_load_recipients(p->home)) == NULL ||
	    (run->sk = keys_signing_load(p->home)) == NULL)
		goto cleanup;
	rc = 0;
cleanup:
	free(run_id);
	return (rc);
}

static int
make_scan(struct run *run, struct scan **sp)
{
	const struct backup_params *p = run->p;
	struct scan *s;
	unsigned int flags = 0;
	size_t i;

	if (p->one_file_system)
		flags |= SCAN_ONE_FS;
	if (p->exclude_caches)
		flags |= SCAN_EXCLUDE_CACHES;
	if ((*sp = s = scan_new(flags)) == NULL)
		return (-1);
	if (p->paths == NULL || p->paths[0] == NULL) {
		warn0("nothing to back up: no paths");
		return (-2);
	}
	for (i = 0; p->paths[i] != NULL; i++)
		if (scan_add_source(s, p->paths[i]) != 0)
			return (-1);
	for (i = 0; p->excludes != NULL && p->excludes[i] != NULL; i++)
		if (scan_add_exclude(s, p->excludes[i]) != 0)
			return (-1);
	for (i = 0; p->exclude_files != NULL && p->exclude_files[i] != NULL;
	    i++)
		if (scan_add_exclude_file(s, p->exclude_files[i]) != 0)
			return (-1);
	if (scan_add_never(s, p->home) != 0 ||
	    scan_add_never(s, p->vault_dir) != 0)
		return (-1);
	for (i = 0; p->never != NULL && p->never[i] != NULL; i++)
		if (scan_add_never(s, p->never[i]) != 0)
			return (-1);
	return (0);
}

int
backup_run(const struct backup_params *p, struct backup_result *r)
{
	struct run *run;
	struct scan *scan = NULL;
	struct timespec ts;
	int64_t scan_start_ns;
	char *json = NULL, *sig = NULL, *path = NULL;
	size_t json_len, i;
	time_t now;
	int x, rc = -1;

	memset(r, 0, sizeof(*r));
	if ((run = calloc(1, sizeof(*run))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	run->p = p;
	run->r = r;
	/* A pre-restore set is the undo of the restore about to overwrite
	 * files: always re-read before the restore goes on. */
	run->verify = p->verify || p->kind == BACKUP_KIND_PRE_RESTORE;
	clock_gettime(CLOCK_MONOTONIC, &run->t0);
	set_header_init(&run->h);
	run->volume_size = p->volume_size > 0 ? p->volume_size :
	    DEFAULT_VOLUME_SIZE;
	if ((x = setup(run)) != 0) {
		rc = x;
		goto cleanup;
	}
	if ((r->label = util_strdup(run->label)) == NULL)
		goto cleanup;
	now = clock_now();
	if ((run->h.vault = util_strdup(p->vault_id)) == NULL ||
	    (run->h.host = util_strdup(p->host)) == NULL ||
	    (run->h.job = util_strdup(p->job)) == NULL ||
	    (run->h.label = util_strdup(run->label)) == NULL ||
	    (run->h.coffer_version = util_strdup(PACKAGE_VERSION)) == NULL)
		goto cleanup;
	run->h.kind = p->kind == BACKUP_KIND_PRE_RESTORE ? SET_PRE_RESTORE :
	    SET_BACKUP;
	run->h.created = now;
	if (choose_level(run, now) != 0)
		goto cleanup;

	if ((x = make_scan(run, &scan)) != 0) {
		rc = x;
		goto cleanup;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	scan_start_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (p->kind == BACKUP_KIND_BACKUP &&
	    statecache_writer_new(p->home, p->vault_id, p->job, run->label,
	    scan_start_ns, &run->cw) != 0)
		goto cleanup;
	if (manifest_open(run) != 0)
		goto cleanup;
	if ((x = scan_run(scan, on_entry, on_note, run)) != 0) {
		if (x > 0 || x == -1)
			goto cleanup;
	}
	if (p->strict && r->warnings > 0) {
		warn0("backup failed: --strict and %" PRIu64 " warning%s",
		    r->warnings, r->warnings == 1 ? "" : "s");
		goto cleanup;
	}
	if (run->cr != NULL && statecache_finish(run->cr, on_deleted, run) !=
	    0)
		goto cleanup;
	progress(run, NULL, 0);

	/* Volumes, manifest, SHA256SUMS, RECOVERY.txt. */
	run->h.files = r->files;
	run->h.bytes = r->bytes;
	if (volume_close(run) != 0)
		goto cleanup;
	crash_point("after-volumes");
	if (manifest_close(run) != 0)
		goto cleanup;
	crash_point("after-manifest");
	if (write_sums_recovery(run) != 0)
		goto cleanup;

	/* set.json, then set.json.sig: the commit point. */
	if (audit_head(p->catalog, &run->h.audit_seq, run->h.audit_hash) !=
	    0)
		goto cleanup;
	util_strlcpy(run->h.signer, sign_key_pubkey(run->sk)->fpr,
	    sizeof(run->h.signer));
	if ((json = set_header_to_json(&run->h, &json_len)) == NULL)
		goto cleanup;
	if ((sig = set_sign(json, json_len, run->sk)) == NULL)
		goto cleanup;
	if (put_text(run, SET_JSON, json, json_len) != 0)
		goto cleanup;
	run->json_committed = 1;
	crash_point("after-setjson");
	if (put_text(run, SET_SIG, sig, strlen(sig)) != 0)
		goto cleanup;
	run->sig_committed = 1;
	r->bytes_stored += json_len + strlen(sig);
	crash_point("after-sig");
	run->h.raw = json;
	run->h.raw_len = json_len;
	json = NULL;

	/* The catalog, then the state cache. */
	if (catalog_record(run) != 0) {
		warn0("set '%s/%s' is committed in the vault but not recorded "
		    "in the catalog: the next command adds it", p->host,
		    run->label);
		goto cleanup;
	}
	crash_point("after-catalog");
	/* The chain's new head (this backup's event) leaves the host. */
	if (write_audit_head(run) != 0) {
		warning("the audit head was not written to the vault");
		r->warnings++;
	}
	if (run->cw != NULL) {
		x = statecache_commit(run->cw, run->h.level == SET_FULL ?
		    STATECACHE_FULL | STATECACHE_LAST : STATECACHE_LAST);
		run->cw = NULL;
		if (x != 0) {
			warning("the state cache was not updated: the next "
			    "backup of job '%s' is a full", p->job);
			(void)statecache_remove(p->home, p->vault_id, p->job);
			r->warnings++;
		}
	}
	r->duration = elapsed(run);
	progress(run, NULL, 1);

	/* With verify, re-read what was stored and record the set verified
	 * (prune re-reads a newer full itself before it lets it cover). */
	if (run->verify) {
		x = verify_objects(run);
		if (x == 0) {
			r->verified = 1;
			if (catalog_set_verified(p->catalog, r->set_row,
			    clock_now()) != 0)
				r->warnings++;
		} else {
			warning("set '%s/%s' did not verify after writing",
			    p->host, run->label);
			r->warnings++;
		}
	}
	rc = 0;

cleanup:
	if (rc != 0)
		r->duration = elapsed(run);
	/* Before undo_objects removes what they read. */
	for (i = 0; i < run->nbgv; i++)
		bgverify_free(run->bgv[i]);
	free(run->bgv);
	volume_writer_free(run->vw);
	target_put_abort(run->vput);
	manifest_writer_free(run->mw);
	volume_blob_writer_free(run->mblob);
	target_put_abort(run->mput);
	if (rc != 0)
		undo_objects(run);
	statecache_writer_abort(run->cw);
	statecache_close(run->cr);
	scan_free(scan);
	links_free(run);
	for (i = 0; i < run->nsplits; i++)
		free((char *)(uintptr_t)run->splits[i].path);
	free(run->splits);
	set_header_clear(&run->h);
	age_recipients_free(run->rcp);
	sign_key_free(run->sk);
	target_free(run->t);
	free(json);
	free(sig);
	free(path);
	free(run);
	return (rc);
}
