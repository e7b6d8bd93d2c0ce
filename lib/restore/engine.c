/*
 * engine.c: restore_run.
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

/* -------------------------------------------------------------- engine */

const struct age_identities *
restore_ids(struct ctx *c)
{
	const struct restore_opts *o = c->o;

	if (c->ids != NULL || c->ids_failed)
		return (c->ids);
	if ((c->ids = o->ids) == NULL && o->ids_wait != NULL)
		c->ids = o->ids_wait(o->ids_cookie);
	if (c->ids == NULL) {
		if (o->ids_wait == NULL)
			warn0("restore: no identity");
		c->ids_failed = 1;
	}
	return (c->ids);
}

void
restore_ctx_free(struct ctx *c)
{
	size_t i;

	restore_verifier_stop(c);
	for (i = 0; i < c->nents; i++) {
		if (c->ents[i].fd >= 0)
			close(c->ents[i].fd);
		if (c->ents[i].vfd >= 0)
			close(c->ents[i].vfd);
	}
	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i].owned)
			free(c->jobs[i].name);
	for (i = 0; i < c->ndels; i++)
		free(c->dels[i].path);
	for (i = 0; i < c->nolddirs; i++)
		free(c->olddirs[i].path);
	for (i = 0; i < c->nsets; i++)
		restore_rset_clear(&c->sets[i]);
	free(c->olddirs);
	free(c->dels);
	free(c->jobs);
	free(c->ents);
	free(c->sets);
	free(c->dest);
	free(c->buf);
	restore_dircache_free();
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
	restore_dircache_drop();
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
int
restore_engine(struct ctx *c)
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
		restore_preload(c, o->label);
		if ((r = restore_get_set(c, o->label)) < 0)
			return (r);
		if ((r = restore_build_state(c)) != 0)
			return (r);
		/* sets[] is final now: point every entry at its source. */
		for (i = 0; i < c->nents; i++)
			if (c->ents[i].holder > 0)
				c->ents[i].src = restore_rset_find(
				    &c->sets[c->ents[i].holder],
				    c->ents[i].e->path);
		if (c->nents > 1)
			util_sort(c->ents, c->nents, sizeof(*c->ents),
			    restore_ent_cmp);
	}
	if ((missing = open_dest(c, o->dest, dry)) < 0)
		return (-1);
	if (missing) {
		for (i = 0; i < c->nents; i++)
			c->ents[i].action = RESTORE_CREATE;
		c->rep->created = c->nents;
		restore_plan_report(c);
		return (0);
	}
	if (restore_make_plan(c))
		return (-1);
	restore_plan_report(c);
	if (dry)
		return (0);

	if (restore_new_id(c) || restore_store_plan(c) || restore_store_state(c,
	    "planned"))
		return (-1);
	if (restore_take_snapshot(c)) {
		(void)restore_store_state(c, "aborted");
		return (-1);
	}
	if (restore_store_state(c, "writing"))
		return (-1);

	rc = -2;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	/* Without the thread, verify_all reads every file itself. */
	(void)restore_verifier_start(c);
	if (restore_apply_deletions(c) || restore_make_jobs(c) ||
	    restore_extract_all(c) || restore_make_missing(c))
		goto done;
	restore_show_progress(c, 1);
	restore_apply_meta(c);
	if (restore_verify_all(c))
		goto done;
	if (o->verify_cmd != NULL &&
	    (c->rep->verify_cmd_failed = restore_run_verify_cmd(c)) < 0)
		goto done;
	rc = (c->rep->nfailed || c->rep->nbad || c->damaged ||
	    c->rep->verify_cmd_failed) ? 1 : 0;
done:
	restore_verifier_stop(c);
	(void)restore_store_state(c, rc == -2 ? "failed" : rc == 0 ? "done" :
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
	rc = restore_engine(&c);
	restore_ctx_free(&c);
	return (rc);
}
