/*
 * cmd-verify.c: coffer verify SET...: check a set's signature against the
 * pinned keys and every object's size and SHA-256 against set.json (no
 * identity needed); with --deep, decrypt every volume and check every
 * file's size and SHA-256 against the manifest.  An intact set is marked
 * verified in the catalog; every run is an audit event "verify".
 */
#include "compat.h"

#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "age.h"
#include "catalog.h"
#include "cli.h"
#include "cli-set.h"
#include "clock.h"
#include "crypto.h"
#include "keys.h"
#include "manifest.h"
#include "set.h"
#include "target.h"
#include "util.h"
#include "volume.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer verify [--deep] [--json] [-i IDENTITY] "
	"[--passphrase-file FILE | --passphrase-fd N] SET...",
	"coffer verify [--deep] [--json] [-i IDENTITY] "
	"[--passphrase-file FILE | --passphrase-fd N] --all",
	NULL,
};

/* A split file being joined, as its parts are read in order, to check
 * the whole file's SHA-256. */
struct joined {
	struct crypto_sha256 *h;
	uint32_t next;          /* parts hashed so far */
	int broken;             /* a part missing or out of order */
};

/* One tar entry --deep expects: a file, a part of a split file, or an
 * entry without data. */
struct item {
	char *name;             /* tar member name (raw bytes) */
	size_t len;
	const struct manifest_entry *e;
	uint32_t volume;
	int has_data;           /* a regular file or part: check size/hash */
	uint64_t size;
	int has_sha256;
	uint8_t sha256[32];
	int seen;
	uint32_t part;          /* 1-based for a part, else 0 */
	struct joined *j;       /* a part of a split file with a sha256 */
};

/*
 * --deep --all: the manifest of the next set, decrypted and parsed on a
 * thread while this set's volumes are read.  The thread reports nothing:
 * when it fails, or loaded it under another set.json, verify_deep loads
 * it again itself, and says why if it fails.
 */
struct mprefetch {
	pthread_t tid;
	struct cli_vault *v;
	const struct age_identities *ids;
	const struct sign_pinned *pinned;
	char *host, *label;
	int found;                      /* the header had a manifest */
	uint64_t size;                  /* its size and SHA-256 there */
	uint8_t sha256[SET_SHA256_LEN];
	struct manifest_entry *ents;
	size_t n;
	int rc;                         /* cli_manifest_load's, or -1 */
	int joined;
};

struct verify {
	struct cli *cli;
	struct cli_vault *v;
	const struct cli_identity *id;
	struct age_identities *ids;
	struct cli_unlock *unlock;      /* --deep: the identity, loading */
	int deep, json, progress;
	json_t *out;                    /* the array of results (--json) */
	const struct catalog_set *all;  /* --all: the sets, in order */
	size_t nall, cur;               /* ... and which one is verified */
	struct mprefetch *pf;           /* --deep --all: the next manifest */
	struct sign_pinned *pinned;     /* loaded by the first verify_one */
};

/* One set's result. */
struct result {
	const char *sig;                /* "ok", "bad", "missing" */
	int damaged;
	int error;
	json_t *objects;
	json_t *bad_files;              /* paths (strings or {path_b64}) */
	json_t *bad_volumes;
	unsigned long long files_checked, files_elsewhere;
};

static int
item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	return (cli_path_cmp(a->name, a->len, b->name, b->len));
}

static struct item *
item_find(struct item *it, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = cli_path_cmp(name, len, it[mid].name, it[mid].len);
		if (c == 0)
			return (&it[mid]);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (NULL);
}

static void
items_free(struct item *it, size_t n)
{
	size_t i;

	if (it == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(it[i].name);
		if (it[i].j != NULL && it[i].part == 1) {
			crypto_sha256_free(it[i].j->h);
			free(it[i].j);
		}
	}
	free(it);
}

/* The items the volumes of this set must hold.  0 or -1 (reported). */
static int
items_build(const struct manifest_entry *ents, size_t n, struct item **out,
    size_t *nout, struct result *res)
{
	struct item *it = NULL, *na;
	struct joined *j;
	size_t cnt = 0, cap = 0, i, k, need;
	const struct manifest_entry *e;

	for (i = 0; i < n; i++) {
		e = &ents[i];
		if (e->deleted)
			continue;
		if (e->in != NULL) {
			res->files_elsewhere++;
			continue;
		}
		if (e->volume == 0 && e->nparts == 0)
			continue;
		need = e->nparts ? e->nparts : 1;
		if (cnt + need > cap) {
			cap = (cnt + need) * 2;
			if ((na = realloc(it, cap * sizeof(*it))) == NULL) {
				warnp("realloc");
				goto fail;
			}
			it = na;
		}
		if (e->nparts == 0) {
			memset(&it[cnt], 0, sizeof(it[cnt]));
			if ((it[cnt].name = malloc(e->path_len + 1)) == NULL) {
				warnp("malloc");
				goto fail;
			}
			memcpy(it[cnt].name, e->path, e->path_len + 1);
			it[cnt].len = e->path_len;
			it[cnt].e = e;
			it[cnt].volume = e->volume;
			it[cnt].has_data = e->type == MANIFEST_FILE;
			it[cnt].size = e->has_size ? e->size : 0;
			it[cnt].has_sha256 = e->has_sha256;
			memcpy(it[cnt].sha256, e->sha256, 32);
			cnt++;
			continue;
		}
		j = NULL;
		if (e->has_sha256 && ((j = calloc(1, sizeof(*j))) == NULL ||
		    (j->h = crypto_sha256_new()) == NULL)) {
			warnp("malloc");
			free(j);
			goto fail;
		}
		for (k = 0; k < e->nparts; k++) {
			memset(&it[cnt], 0, sizeof(it[cnt]));
			it[cnt].part = (uint32_t)k + 1;
			it[cnt].j = j;
			if ((it[cnt].name = manifest_part_name(e->path,
			    e->path_len, (uint32_t)k + 1, (uint32_t)e->nparts,
			    &it[cnt].len)) == NULL)
				goto fail;
			it[cnt].e = e;
			it[cnt].volume = e->parts[k].volume;
			it[cnt].has_data = 1;
			it[cnt].size = e->parts[k].size;
			it[cnt].has_sha256 = e->parts[k].has_sha256;
			memcpy(it[cnt].sha256, e->parts[k].sha256, 32);
			cnt++;
		}
	}
	if (cnt > 0)
		util_sort(it, cnt, sizeof(*it), item_cmp);
	*out = it;
	*nout = cnt;
	return (0);
fail:
	items_free(it, cnt);
	return (-1);
}

static void
bad_file(struct verify *vf, struct result *res, const struct set_header *h,
    const struct manifest_entry *e, const char *vol, const char *why)
{
	json_t *o;

	res->damaged = 1;
	if (vf->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "coffer: set '%s/%s': %s '", h->host, h->label,
	    e->type == MANIFEST_FILE ? "file" : "entry");
	cli_print_name(stderr, e->path, e->path_len);
	fprintf(stderr, "' in volume '%s' is %s\n", vol, why);
	if (res->bad_files != NULL && (o = json_object()) != NULL) {
		cli_json_path(o, "path", "path_b64", e->path, e->path_len);
		json_object_set_new(o, "volume", json_string(vol));
		json_object_set_new(o, "problem", json_string(why));
		json_array_append_new(res->bad_files, o);
	}
}

static void
bad_volume(struct result *res, const char *vol)
{

	res->damaged = 1;
	if (res->bad_volumes != NULL)
		json_array_append_new(res->bad_volumes, json_string(vol));
}

/* Feed a part's data into its file's running hash, when x is the next
 * part of a split file (the rest of the entry is left for
 * volume_data_sha256, which hashes what was read too).  0 or -1. */
static int
join_part(struct volume_reader *vr, struct item *x)
{
	uint8_t buf[65536];
	ssize_t r;

	if (x->j == NULL || x->j->broken)
		return (0);
	if (x->part != x->j->next + 1) {
		x->j->broken = 1;
		return (0);
	}
	while ((r = volume_read_data(vr, buf, sizeof(buf))) > 0)
		crypto_sha256_update(x->j->h, buf, (size_t)r);
	if (r < 0)
		return (-1);
	x->j->next = x->part;
	return (0);
}

/* Read one volume and check what it holds against the items. */
static void
deep_volume(struct verify *vf, struct result *res, const struct set_header *h,
    const struct set_object *obj, uint32_t volno, struct item *it, size_t n,
    size_t nvol, size_t ivol, enum set_object_status *ost, int *checked)
{
	struct target_reader *tr = NULL;
	struct volume_reader *vr = NULL;
	struct volume_entry_info info;
	struct volume_result vres;
	enum volume_status st = VOLUME_OK;
	uint8_t sha[32];
	struct item *x;
	char *name = NULL;
	size_t len, i;
	int r, broken = 0;

	if ((name = set_path(h->host, h->label, obj->name)) == NULL) {
		res->error = 1;
		return;
	}
	if ((tr = target_open_read(vf->v->target, name, 0)) == NULL) {
		broken = 1;
		goto done;
	}
	if ((vr = volume_reader_open(vf->ids, obj->name, volume_target_read,
	    tr, &st)) == NULL) {
		if (st != VOLUME_DAMAGED)
			res->error = 1;
		broken = 1;
		goto done;
	}
	if (*checked)
		volume_reader_no_hash(vr);
	else
		volume_reader_whole_hash_only(vr);
	for (;;) {
		if ((r = volume_next(vr, &info)) < 0) {
			broken = 1;
			break;
		}
		if (r == 0)
			break;
		len = strlen(info.entry.path);
		while (len > 1 && info.entry.path[len - 1] == '/')
			len--;
		if ((x = item_find(it, n, info.entry.path, len)) == NULL ||
		    x->volume != volno) {
			if (vf->progress)
				fputs("\r\033[K", stderr);
			fprintf(stderr, "coffer: set '%s/%s': volume '%s' "
			    "holds '", h->host, h->label, obj->name);
			cli_print_name(stderr, info.entry.path, len);
			fprintf(stderr, "', which the manifest does not place "
			    "there\n");
			res->damaged = 1;
			continue;
		}
		x->seen = 1;
		if (!x->has_data)
			continue;
		if (info.entry.type != VOLUME_REG) {
			bad_file(vf, res, h, x->e, obj->name, "not a file");
			continue;
		}
		if (join_part(vr, x) != 0 ||
		    volume_data_sha256(vr, sha) != 0) {
			bad_file(vf, res, h, x->e, obj->name, "unreadable");
			broken = 1;
			break;
		}
		res->files_checked++;
		if (info.entry.size != x->size)
			bad_file(vf, res, h, x->e, obj->name, "of the wrong "
			    "size");
		else if (x->has_sha256 && !crypto_memeq(sha, x->sha256, 32))
			bad_file(vf, res, h, x->e, obj->name, "damaged "
			    "(SHA-256 mismatch)");
		else if (x->j != NULL && !x->j->broken &&
		    x->part == x->e->nparts) {
			crypto_sha256_final(x->j->h, sha);
			if (!crypto_memeq(sha, x->e->sha256, 32))
				bad_file(vf, res, h, x->e, obj->name,
				    "damaged (SHA-256 of the joined file "
				    "mismatch)");
		}
		if (vf->progress && res->files_checked % 64 == 0)
			fprintf(stderr, "\rverifying %s/%s: volume %zu/%zu, "
			    "%llu files", h->host, h->label, ivol, nvol,
			    res->files_checked);
	}
	if (!broken && volume_reader_finish(vr, &vres) != 0)
		broken = 1;
	/* The object's size and hash from this read; a header rewrapped
	 * since is told from damage by set_object_check (a second read). */
	if (*checked) {
		/* Checked before the deep read (verify_objects_deep). */
	} else if (!broken && vres.size != obj->size) {
		*ost = SET_OBJECT_SIZE;
		*checked = 1;
	} else if (!broken && crypto_memeq(vres.sha256, obj->sha256, 32)) {
		*ost = SET_OBJECT_OK;
		*checked = 1;
	}
	if (broken && volume_reader_status(vr) != VOLUME_DAMAGED)
		res->error = 1;
done:
	if (broken) {
		if (vf->progress)
			fputs("\r\033[K", stderr);
		warn0("set '%s/%s': volume '%s' cannot be read to its end",
		    h->host, h->label, obj->name);
		bad_volume(res, obj->name);
		/* What it should still have held is lost with it. */
		for (i = 0; i < n; i++) {
			if (it[i].volume != volno || it[i].seen)
				continue;
			it[i].seen = 1;
			bad_file(vf, res, h, it[i].e, obj->name,
			    "unreadable");
		}
	}
	volume_reader_free(vr);
	target_reader_close(tr);
	free(name);
}

/* Manifests larger than this (about half a million files) are not
 * loaded ahead: two of them at once would double verify's memory. */
#define MPREFETCH_MAX ((uint64_t)32 << 20)

static void *
mprefetch_main(void *cookie)
{
	struct mprefetch *pf = cookie;
	const struct set_object *obj;
	struct set_header h;

	warnp_mute(1);
	pf->rc = -1;
	set_header_init(&h);
	if (set_load(pf->v->target, pf->host, pf->label, pf->pinned, &h,
	    SET_LOAD_QUIET_MISSING) == SET_LOAD_OK &&
	    (obj = set_header_find_object(&h, SET_ROLE_MANIFEST)) != NULL &&
	    obj->size <= MPREFETCH_MAX) {
		pf->found = 1;
		pf->size = obj->size;
		memcpy(pf->sha256, obj->sha256, sizeof(pf->sha256));
		pf->rc = cli_manifest_load(pf->v, &h, pf->ids, &pf->ents,
		    &pf->n);
	}
	set_header_clear(&h);
	warnp_mute(0);
	return (NULL);
}

/* Wait for the prefetch thread, if any, and free what it loaded. */
static void
mprefetch_end(struct verify *vf)
{
	struct mprefetch *pf = vf->pf;

	if (pf == NULL)
		return;
	if (!pf->joined)
		pthread_join(pf->tid, NULL);
	cli_manifest_free(pf->ents, pf->n);
	free(pf->host);
	free(pf->label);
	free(pf);
	vf->pf = NULL;
}

/* Start loading the manifest of the set after the current one (--all). */
static void
mprefetch_start(struct verify *vf)
{
	const struct catalog_set *next;
	struct mprefetch *pf;

	if (vf->all == NULL || vf->cur + 1 >= vf->nall || vf->pf != NULL)
		return;
	next = &vf->all[vf->cur + 1];
	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return;
	pf->v = vf->v;
	pf->ids = vf->ids;
	pf->pinned = vf->pinned;
	if ((pf->host = util_strdup(next->host)) == NULL ||
	    (pf->label = util_strdup(next->label)) == NULL ||
	    pthread_create(&pf->tid, NULL, mprefetch_main, pf) != 0) {
		free(pf->host);
		free(pf->label);
		free(pf);
		return;
	}
	vf->pf = pf;
}

/*
 * The manifest of h, when the prefetch thread loaded it from the same
 * manifest object as h names: 1 (*ents, *n are the caller's), else 0.
 * Either way the thread is done with.
 */
static int
mprefetch_take(struct verify *vf, const struct set_header *h,
    struct manifest_entry **ents, size_t *n)
{
	struct mprefetch *pf = vf->pf;
	const struct set_object *obj;
	int ok;

	if (pf == NULL)
		return (0);
	pthread_join(pf->tid, NULL);
	pf->joined = 1;
	obj = set_header_find_object(h, SET_ROLE_MANIFEST);
	ok = pf->rc == 0 && pf->found && obj != NULL &&
	    strcmp(pf->host, h->host) == 0 &&
	    strcmp(pf->label, h->label) == 0 && pf->size == obj->size &&
	    memcmp(pf->sha256, obj->sha256, sizeof(pf->sha256)) == 0;
	if (ok) {
		*ents = pf->ents;
		*n = pf->n;
		pf->ents = NULL;
		pf->n = 0;
	}
	mprefetch_end(vf);
	return (ok);
}

static void
verify_deep(struct verify *vf, struct result *res, const struct set_header *h,
    enum set_object_status *ost, int *checked)
{
	struct manifest_entry *ents = NULL;
	struct item *it = NULL;
	size_t n = 0, nit = 0, i, nvol = 0, ivol = 0;
	unsigned volno;
	int r;

	if (vf->ids == NULL) {
		if (vf->unlock != NULL) {
			vf->ids = cli_identity_finish(vf->unlock);
			vf->unlock = NULL;
		} else
			vf->ids = cli_identity_load(vf->cli, vf->id);
		if (vf->ids == NULL) {
			res->error = 1;
			return;
		}
	}
	/* The next set's manifest loads while this one's volumes are read
	 * (and this one's manifest, when it was not loaded ahead). */
	r = mprefetch_take(vf, h, &ents, &n) ? 0 : -1;
	mprefetch_start(vf);
	if (r != 0 &&
	    (r = cli_manifest_load(vf->v, h, vf->ids, &ents, &n)) != 0) {
		if (r == -2)
			res->damaged = 1;
		else
			res->error = 1;
		return;
	}
	if (items_build(ents, n, &it, &nit, res) != 0) {
		res->error = 1;
		goto cleanup;
	}
	for (i = 0; i < h->nobjects; i++)
		nvol += h->objects[i].role == SET_ROLE_VOLUME;
	for (i = 0; i < h->nobjects; i++) {
		const struct set_object *o = &h->objects[i];

		if (o->role != SET_ROLE_VOLUME)
			continue;
		ivol++;
		if (vf->progress)
			fprintf(stderr, "\rverifying %s/%s: volume %zu/%zu, "
			    "%llu files", h->host, h->label, ivol, nvol,
			    res->files_checked);
		if (sscanf(o->name, "vol-%u.", &volno) != 1)
			volno = (unsigned)ivol;
		deep_volume(vf, res, h, o, volno, it, nit, nvol, ivol, &ost[i],
		    &checked[i]);
	}
	if (vf->progress)
		fputs("\r\033[K", stderr);
	for (i = 0; i < nit; i++) {
		char vol[32];

		if (it[i].seen)
			continue;
		snprintf(vol, sizeof(vol), "vol-%04u.tar.zst.age",
		    (unsigned)it[i].volume);
		bad_file(vf, res, h, it[i].e, vol, "missing");
	}
	if (!vf->json && !vf->cli->quiet && res->files_elsewhere > 0)
		fprintf(stderr, "set '%s/%s': %llu unchanged files are held by "
		    "earlier sets and checked when those are verified\n",
		    h->host, h->label, res->files_elsewhere);
cleanup:
	items_free(it, nit);
	cli_manifest_free(ents, n);
}

static int
object_cb(void *cookie, const struct set_object *obj,
    enum set_object_status st)
{
	struct result *res = cookie;
	json_t *o;

	if (st != SET_OBJECT_OK && st != SET_OBJECT_REWRAPPED)
		res->damaged = 1;
	if (res->objects != NULL && (o = json_object()) != NULL) {
		json_object_set_new(o, "name", json_string(obj->name));
		json_object_set_new(o, "role", json_string(set_role_name(
		    obj->role)));
		json_object_set_new(o, "status", json_string(
		    set_object_status_name(st)));
		json_array_append_new(res->objects, o);
	}
	return (0);
}

/*
 * --deep: check every object's size and SHA-256 as set_verify_objects
 * does, but the volumes' from the deep read itself (one pass over each
 * instead of two), then report them all to object_cb in set order.
 * While the identity is still being unlocked in a thread
 * (cli_identity_start), volumes are checked first instead, on this
 * thread, one after another until the identity is ready; the deep read
 * does not hash those again (the second read is of a local file, and
 * the hashing overlaps the unlock), and hashes the others itself.  (A volume swapped between
 * the two reads is not seen by this run: a verification is of its
 * moment.  Restore, which uses what it reads, hashes as it extracts.)
 * Returns the number of bad objects, or -1 (reported).
 */
static int
verify_objects_deep(struct verify *vf, struct result *res,
    const struct set_header *h)
{
	enum set_object_status *ost = NULL;
	int *checked = NULL, nbad = -1;
	size_t i, n = h->nobjects > 0 ? h->nobjects : 1;
	/* Only while an unlock runs in a thread: it then costs no time. */
	int prehash = vf->unlock != NULL && !cli_identity_ready(vf->unlock);

	if ((ost = calloc(n, sizeof(*ost))) == NULL ||
	    (checked = calloc(n, sizeof(*checked))) == NULL) {
		warnp("cannot allocate memory");
		goto cleanup;
	}
	for (i = 0; i < h->nobjects; i++) {
		/* Volumes only until the identity is ready: from then on the
		 * deep read hashes them, on its own thread. */
		if (h->objects[i].role == SET_ROLE_VOLUME && (!prehash ||
		    cli_identity_ready(vf->unlock)))
			continue;
		if (set_object_check(vf->v->target, h->host, h->label,
		    &h->objects[i], &ost[i]) != 0)
			goto cleanup;
		checked[i] = 1;
	}
	verify_deep(vf, res, h, ost, checked);
	nbad = 0;
	for (i = 0; i < h->nobjects; i++) {
		if (!checked[i] && set_object_check(vf->v->target, h->host,
		    h->label, &h->objects[i], &ost[i]) != 0) {
			nbad = -1;
			goto cleanup;
		}
		if (ost[i] != SET_OBJECT_OK && ost[i] != SET_OBJECT_REWRAPPED) {
			nbad++;
			warn0("set '%s/%s': object '%s' is %s", h->host,
			    h->label, h->objects[i].name,
			    set_object_status_name(ost[i]));
		}
		(void)object_cb(res, &h->objects[i], ost[i]);
	}
cleanup:
	free(ost);
	free(checked);
	return (nbad);
}

/* Record the result: the verified time and the audit event together. */
static int
record(struct verify *vf, const struct result *res, const char *host,
    const char *label)
{
	struct catalog_set cs;
	char *obj = NULL, *details = NULL;
	long long id = 0;
	int r, rc = -1;

	if (vf->v->row != 0) {
		if ((r = catalog_set_find(vf->cli->catalog, vf->v->row, host,
		    label, &cs)) < 0)
			return (-1);
		if (r == 1) {
			id = cs.id;
			catalog_set_clear(&cs);
		}
	}
	if ((obj = util_asprintf("%s/%s", host, label)) == NULL ||
	    (details = util_asprintf("{\"deep\":%s,\"result\":\"%s\","
	    "\"signature\":\"%s\"}", vf->deep ? "true" : "false",
	    res->damaged ? "damaged" : res->error ? "error" : "ok",
	    res->sig)) == NULL)
		goto cleanup;
	if (catalog_begin(vf->cli->catalog) != 0)
		goto cleanup;
	/* Intact: mark it verified; damaged: no longer verified (prune and
	 * the copy policy must not count on it). */
	if (id != 0 && (res->damaged || !res->error) &&
	    catalog_set_verified(vf->cli->catalog, id, res->damaged ? 0 :
	    clock_now()) != 0)
		goto cleanup;
	if (cli_audit(vf->cli, "verify", obj, details) != 0)
		goto cleanup;
	if (catalog_commit(vf->cli->catalog) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	catalog_rollback(vf->cli->catalog);
	free(obj);
	free(details);
	return (rc);
}

/* in_catalog(vf, host, label): 1 when the catalog knows the set. */
static int
in_catalog(struct verify *vf, const char *host, const char *label)
{

	if (vf->v->row == 0)
		return (0);
	return (catalog_set_exists(vf->cli->catalog, vf->v->row, host,
	    label) == 1);
}

/* Verify one set: EXIT_OK, EXIT_DAMAGE or EXIT_ERROR. */
static int
verify_one(struct verify *vf, const char *spec)
{
	char host[LABEL_MAX + 1], label[LABEL_MAX + 1];
	struct result res;
	struct set_header h;
	json_t *o;
	int r, nbad, rc;

	memset(&res, 0, sizeof(res));
	set_header_init(&h);
	res.sig = "ok";
	if (vf->json) {
		res.objects = json_array();
		res.bad_files = json_array();
		res.bad_volumes = json_array();
	}
	if (cli_set_name(vf->cli, vf->v, spec, host, label) != 0) {
		rc = EXIT_ERROR;
		goto cleanup;
	}
	if (vf->pinned == NULL &&
	    (vf->pinned = keys_pinned_load(vf->cli->home)) == NULL) {
		rc = EXIT_ERROR;
		goto cleanup;
	}
	if (vf->progress)
		fprintf(stderr, "verifying %s/%s...", host, label);
	r = set_load(vf->v->target, host, label, vf->pinned, &h,
	    SET_LOAD_QUIET_MISSING);
	if (vf->progress)
		fputs("\r\033[K", stderr);
	if (r == SET_LOAD_MISSING && !in_catalog(vf, host, label)) {
		/* Never committed here: a wrong name, not damage. */
		warn0("no set '%s/%s' in the vault or the catalog", host,
		    label);
		rc = EXIT_ERROR;
		goto cleanup;
	}
	if (r == SET_LOAD_MISSING)
		warn0("set '%s/%s' is in the catalog, but the vault has no "
		    "committed set of that name (no %s)", host, label,
		    SET_SIG);
	if (r == SET_LOAD_ERROR) {
		res.error = 1;
	} else if (r != SET_LOAD_OK) {
		res.sig = r == SET_LOAD_MISSING ? "missing" : "bad";
		res.damaged = 1;
	} else {
		if (vf->deep)
			nbad = verify_objects_deep(vf, &res, &h);
		else
			nbad = set_verify_objects(vf->v->target, &h,
			    object_cb, &res);
		if (nbad < 0)
			res.error = 1;
		else if (nbad > 0)
			res.damaged = 1;
	}
	if (res.error && !res.damaged)
		rc = EXIT_ERROR;
	else if (res.damaged)
		rc = EXIT_DAMAGE;
	else
		rc = EXIT_OK;
	if (r != SET_LOAD_ERROR && record(vf, &res, host, label) != 0 &&
	    rc == EXIT_OK)
		rc = EXIT_ERROR;
	if (vf->json && (o = json_object()) != NULL) {
		json_object_set_new(o, "set", json_pack("s++", host, "/",
		    label));
		json_object_set_new(o, "signature", json_string(res.sig));
		json_object_set_new(o, "signer", h.signer[0] ?
		    json_string(h.signer) : json_null());
		json_object_set(o, "objects", res.objects);
		if (vf->deep) {
			json_object_set_new(o, "files_checked",
			    json_integer((json_int_t)res.files_checked));
			json_object_set_new(o, "files_elsewhere",
			    json_integer((json_int_t)res.files_elsewhere));
			json_object_set(o, "damaged_files", res.bad_files);
			json_object_set(o, "damaged_volumes",
			    res.bad_volumes);
		}
		json_object_set_new(o, "result", json_string(
		    rc == EXIT_OK ? "ok" : rc == EXIT_DAMAGE ? "damaged" :
		    "error"));
		json_array_append_new(vf->out, o);
	} else if (!vf->json && !vf->cli->quiet) {
		if (rc == EXIT_OK && vf->deep)
			printf("%s/%s: ok (signature by %s, %zu objects, "
			       "%llu files checked)\n",
			    host, label, h.signer, h.nobjects,
			    res.files_checked);
		else if (rc == EXIT_OK)
			printf("%s/%s: ok (signature by %s, %zu objects)\n",
			    host, label, h.signer, h.nobjects);
		else if (rc == EXIT_DAMAGE && strcmp(res.sig, "ok") != 0)
			printf("%s/%s: DAMAGED (signature %s)\n", host, label,
			    strcmp(res.sig, "bad") == 0 ? "not accepted" :
			    "missing: not committed");
		else
			printf("%s/%s: %s\n", host, label,
			    rc == EXIT_DAMAGE ? "DAMAGED" : "error");
	}
cleanup:
	json_decref(res.objects);
	json_decref(res.bad_files);
	json_decref(res.bad_volumes);
	set_header_clear(&h);
	return (rc);
}

int
cmd_verify(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "deep", no_argument, NULL, 'd' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "identity", required_argument, NULL, 'i' },
		CLI_PASSPHRASE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_identity id = { { NULL, -1 }, NULL };
	struct catalog_set_filter f;
	struct catalog_set *sets = NULL;
	struct cli_vault v;
	struct verify vf;
	size_t n = 0, i;
	char spec[2 * LABEL_MAX + 2];
	int c, all = 0, r, damaged = 0, failed = 0, rc = EXIT_ERROR;

	memset(&v, 0, sizeof(v));
	memset(&vf, 0, sizeof(vf));
	vf.json = cli->json;
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return (EXIT_OK);
	}
	/* Permuting: options may follow the sets (labels never start '-'). */
	while ((c = getopt_long(argc, argv, "hi:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			vf.deep = 1;
			break;
		case 'a':
			all = 1;
			break;
		case 'j':
			vf.json = 1;
			break;
		case 'i':
			id.file = optarg;
			break;
		case CLI_OPT_PASSFILE:
		case CLI_OPT_PASSFD:
			if (cli_passphrase_opt(c, optarg, &id.src, usage) != 0)
				return (EXIT_USAGE);
			break;
		default:
			return (cli_usage_error(usage, "unknown option"));
		}
	}
	if (all == (optind < argc))
		return (cli_usage_error(usage, all ? "--all takes no set" :
		    "which set? (or --all)"));
	if (cli_vault_open(cli, &v) != 0)
		goto cleanup;
	if (vf.deep && (vf.unlock = cli_identity_start(cli, &id)) == NULL)
		goto cleanup;
	vf.cli = cli;
	vf.v = &v;
	vf.id = &id;
	vf.progress = !cli->quiet && !vf.json && cli_is_tty(2);
	if (vf.json && (vf.out = json_array()) == NULL)
		goto cleanup;
	if (all) {
		memset(&f, 0, sizeof(f));
		f.vault = v.row;
		if (v.row == 0) {
			warn0("vault '%s' is not in the catalog", v.path);
			goto cleanup;
		}
		if (catalog_set_list(cli->catalog, &f, &sets, &n) != 0)
			goto cleanup;
		vf.all = sets;
		vf.nall = n;
		for (i = 0; i < n; i++) {
			snprintf(spec, sizeof(spec), "%s/%s", sets[i].host,
			    sets[i].label);
			vf.cur = i;
			r = verify_one(&vf, spec);
			damaged |= r == EXIT_DAMAGE;
			failed |= r == EXIT_ERROR;
		}
	} else {
		for (i = (size_t)optind; i < (size_t)argc; i++) {
			r = verify_one(&vf, argv[i]);
			damaged |= r == EXIT_DAMAGE;
			failed |= r == EXIT_ERROR;
		}
	}
	if (vf.json) {
		json_t *o = vf.out;

		vf.out = NULL;
		if (cli_json_print(o) != 0)
			failed = 1;
	}
	rc = damaged ? EXIT_DAMAGE : failed ? EXIT_ERROR : EXIT_OK;
cleanup:
	mprefetch_end(&vf);
	sign_pinned_free(vf.pinned);
	json_decref(vf.out);
	catalog_set_list_free(sets, n);
	age_identities_free(vf.ids);
	cli_identity_cancel(vf.unlock);
	cli_vault_close(&v);
	return (rc);
}
