#include "compat.h"

#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit.h"
#include "catalog.h"
#include "label.h"
#include "reconcile.h"
#include "set.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

/* A list of strings. */
struct names {
	char **v;
	size_t n, cap;
};

static int
names_add(struct names *l, const char *s)
{
	char **v;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if ((v = realloc(l->v, l->cap * sizeof(*v))) == NULL) {
			warnp("cannot allocate memory");
			return (-1);
		}
		l->v = v;
	}
	if ((l->v[l->n] = util_strdup(s)) == NULL)
		return (-1);
	l->n++;
	return (0);
}

static void
names_free(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* 1 when the run that wrote a part may still be writing. */
static int
run_alive(struct target *t, const char *run_id)
{
	pid_t pid;

	if (t->run_id != NULL && strcmp(run_id, t->run_id) == 0)
		return (1);
	if ((pid = target_run_id_pid(run_id)) <= 0)
		return (0);
	if (pid == getpid())
		return (1);
	return (kill(pid, 0) == 0 || errno == EPERM);
}

/* ------------------------------------------------------------ leftovers */

struct part_state {
	struct target *t;
	struct names dead;      /* parts to remove */
	struct names live_dirs; /* "sets/HOST/LABEL/" with a live part */
};

static int
part_cb(void *cookie, const struct target_entry *e)
{
	struct part_state *ps = cookie;
	const char *slash;
	char *dir;
	int rc;

	if (!run_alive(ps->t, e->run_id))
		return (names_add(&ps->dead, e->name));
	if (strncmp(e->name, "sets/", 5) != 0)
		return (0);
	/* sets/HOST/LABEL/...: keep the set directory of a live run. */
	if ((slash = strchr(e->name + 5, '/')) == NULL ||
	    (slash = strchr(slash + 1, '/')) == NULL)
		return (0);
	if ((dir = malloc((size_t)(slash - e->name) + 2)) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	memcpy(dir, e->name, (size_t)(slash - e->name) + 1);
	dir[slash - e->name + 1] = '\0';
	rc = names_add(&ps->live_dirs, dir);
	free(dir);
	return (rc);
}

/* Objects of this host's set dirs, grouped by label. */
struct dir_state {
	size_t prefix_len;      /* strlen("sets/HOST/") */
	char label[LABEL_MAX + 2];
	int has_sig;
	struct names objects;   /* of the current label */
	struct names doomed;    /* objects of uncommitted sets */
	struct names doomed_dirs;
};

static int
dir_flush(struct dir_state *ds)
{
	size_t i;
	int rc = 0;

	if (ds->label[0] != '\0' && !ds->has_sig && ds->objects.n > 0) {
		for (i = 0; i < ds->objects.n && rc == 0; i++)
			rc = names_add(&ds->doomed, ds->objects.v[i]);
		if (rc == 0)
			rc = names_add(&ds->doomed_dirs, ds->label);
	}
	names_free(&ds->objects);
	ds->label[0] = '\0';
	ds->has_sig = 0;
	return (rc);
}

static int
dir_cb(void *cookie, const struct target_entry *e)
{
	struct dir_state *ds = cookie;
	const char *rest = e->name + ds->prefix_len, *slash;
	size_t len;

	if ((slash = strchr(rest, '/')) == NULL)
		return (0);
	len = (size_t)(slash - rest);
	if (len > LABEL_MAX)
		return (0);
	if (strncmp(ds->label, rest, len) != 0 || ds->label[len] != '\0') {
		if (dir_flush(ds) != 0)
			return (-1);
		memcpy(ds->label, rest, len);
		ds->label[len] = '\0';
	}
	if (strcmp(slash + 1, SET_SIG) == 0)
		ds->has_sig = 1;
	return (names_add(&ds->objects, e->name));
}

static int
remove_leftovers(struct target *t, const char *host,
    struct reconcile_result *res)
{
	struct part_state ps;
	struct dir_state ds;
	char *prefix = NULL, *dir;
	size_t i, j;
	int live, rc = -1;

	memset(&ps, 0, sizeof(ps));
	memset(&ds, 0, sizeof(ds));
	ps.t = t;
	if (target_list_parts(t, host, part_cb, &ps) != 0)
		goto cleanup;
	for (i = 0; i < ps.dead.n; i++) {
		if (target_delete(t, ps.dead.v[i]) != 0)
			goto cleanup;
		res->parts++;
	}
	if ((prefix = util_asprintf("sets/%s/", host)) == NULL)
		goto cleanup;
	ds.prefix_len = strlen(prefix);
	if (target_list(t, prefix, 0, dir_cb, &ds) != 0 || dir_flush(&ds) !=
	    0)
		goto cleanup;
	for (i = 0; i < ds.doomed_dirs.n; i++) {
		if ((dir = util_asprintf("%s%s/", prefix,
		    ds.doomed_dirs.v[i])) == NULL)
			goto cleanup;
		for (live = 0, j = 0; j < ps.live_dirs.n; j++)
			if (strcmp(ps.live_dirs.v[j], dir) == 0)
				live = 1;
		if (!live) {
			/* set.json last, so a listing never sees a header
			 * without its volumes. */
			for (j = 0; j < ds.doomed.n; j++)
				if (strncmp(ds.doomed.v[j], dir,
				    strlen(dir)) == 0 &&
				    strcmp(ds.doomed.v[j] + strlen(dir),
				    SET_JSON) != 0 &&
				    target_delete(t, ds.doomed.v[j]) != 0) {
					free(dir);
					goto cleanup;
				}
			for (j = 0; j < ds.doomed.n; j++)
				if (strncmp(ds.doomed.v[j], dir,
				    strlen(dir)) == 0 &&
				    strcmp(ds.doomed.v[j] + strlen(dir),
				    SET_JSON) == 0 &&
				    target_delete(t, ds.doomed.v[j]) != 0) {
					free(dir);
					goto cleanup;
				}
			res->uncommitted++;
		}
		free(dir);
	}
	rc = 0;
cleanup:
	free(prefix);
	names_free(&ps.dead);
	names_free(&ps.live_dirs);
	names_free(&ds.objects);
	names_free(&ds.doomed);
	names_free(&ds.doomed_dirs);
	return (rc);
}

/* ------------------------------------------------------------- catalog */

static int
record(struct catalog *cat, const struct audit_event *tmpl,
    const char *host, const char *label, const char *what,
    const struct catalog_set *add, long long del_id)
{
	struct audit_event ev;
	char *object = NULL, *details = NULL;
	int began = 0, rc = -1;

	object = util_asprintf("%s/%s", host, label);
	details = util_asprintf("{\"host\":\"%s\",\"label\":\"%s\","
	    "\"%s\":true}", host, label, what);
	if (object == NULL || details == NULL)
		goto cleanup;
	ev = *tmpl;
	ev.action = "set.reconcile";
	ev.object = object;
	ev.details = details;
	if (catalog_begin(cat) != 0)
		goto cleanup;
	began = 1;
	if (add != NULL && catalog_set_add(cat, add, NULL) != 0)
		goto cleanup;
	if (add == NULL && catalog_set_delete(cat, del_id) != 0)
		goto cleanup;
	if (audit_append(cat, &ev) != 0 || catalog_commit(cat) != 0)
		goto cleanup;
	began = 0;
	rc = 0;
cleanup:
	if (began)
		catalog_rollback(cat);
	free(object);
	free(details);
	return (rc);
}

struct committed {
	struct names hosts, labels;
};

static int
committed_cb(void *cookie, const char *host, const char *label)
{
	struct committed *c = cookie;

	if (names_add(&c->hosts, host) != 0 ||
	    names_add(&c->labels, label) != 0)
		return (-1);
	return (0);
}

static int
add_missing(struct catalog *cat, struct target *t, long long row,
    const struct sign_pinned *pinned, const struct audit_event *tmpl,
    struct reconcile_result *res)
{
	struct committed c;
	struct set_header h;
	struct catalog_set cs;
	size_t i;
	int r, rc = -1;

	memset(&c, 0, sizeof(c));
	if (set_list(t, NULL, committed_cb, &c) != 0)
		goto cleanup;
	for (i = 0; i < c.labels.n; i++) {
		if ((r = catalog_set_exists(cat, row, c.hosts.v[i],
		    c.labels.v[i])) < 0)
			goto cleanup;
		if (r > 0)
			continue;
		r = set_load(t, c.hosts.v[i], c.labels.v[i], pinned, &h, 0);
		if (r == SET_LOAD_ERROR)
			goto cleanup;
		if (r != SET_LOAD_OK) {
			res->bad++;
			continue;
		}
		memset(&cs, 0, sizeof(cs));
		r = set_header_to_catalog(&h, row, &cs);
		set_header_clear(&h);
		if (r != 0)
			goto cleanup;
		r = record(cat, tmpl, c.hosts.v[i], c.labels.v[i], "added",
		    &cs, 0);
		catalog_set_clear(&cs);
		if (r != 0)
			goto cleanup;
		res->added++;
	}
	rc = 0;
cleanup:
	names_free(&c.hosts);
	names_free(&c.labels);
	return (rc);
}

static int
remove_gone(struct catalog *cat, struct target *t, long long row,
    const struct audit_event *tmpl, struct reconcile_result *res)
{
	struct catalog_set_filter f;
	struct catalog_set *sets = NULL;
	size_t n = 0, i;
	char *sig;
	int r, rc = -1;

	memset(&f, 0, sizeof(f));
	f.vault = row;
	if (catalog_set_list(cat, &f, &sets, &n) != 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if ((sig = set_path(sets[i].host, sets[i].label, SET_SIG)) ==
		    NULL)
			goto cleanup;
		r = target_head(t, sig, NULL);
		free(sig);
		if (r < 0)
			goto cleanup;
		if (r > 0)
			continue;
		warning("set '%s/%s' is no longer committed in the vault "
		    "(no set.json.sig): removed from the catalog",
		    sets[i].host, sets[i].label);
		if (record(cat, tmpl, sets[i].host, sets[i].label, "removed",
		    NULL, sets[i].id) != 0)
			goto cleanup;
		res->removed++;
	}
	rc = 0;
cleanup:
	catalog_set_list_free(sets, n);
	return (rc);
}

int
reconcile_vault(struct catalog *cat, struct target *t, long long row,
    const char *host, const struct sign_pinned *pinned,
    const struct audit_event *tmpl, struct reconcile_result *res)
{
	struct reconcile_result dummy;

	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (label_check(host, "host name") != 0)
		return (-1);
	if (remove_leftovers(t, host, res) != 0)
		return (-1);
	if (add_missing(cat, t, row, pinned, tmpl, res) != 0)
		return (-1);
	if (remove_gone(cat, t, row, tmpl, res) != 0)
		return (-1);
	return (0);
}
