/*
 * undo.c: restore_undo.
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
			r = restore_lstat_at(c->rootfd, e.path, &st);
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
			r = restore_lstat_at(c->rootfd, e.path, &st);
			if (r == 1 || (r == 0 && restore_same_as(c, e.path, &st,
			    &e) !=
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
	restore_dircache_drop();
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
		else if (strcmp(act,
		    "overwrite") == 0 && e.type == MANIFEST_DIR &&
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
	rc = restore_engine(&c);
done:
	for (i = 0; i < c.nundodirs; i++)
		free(c.undodirs[i].path);
	free(c.undodirs);
	c.undodirs = NULL;
	c.nundodirs = 0;
	restore_ctx_free(&c);
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
