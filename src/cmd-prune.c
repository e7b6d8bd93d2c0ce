/*
 * cmd-prune.c: coffer prune: remove the sets of this host that the
 * retention policy no longer needs (lib/retention.h decides; the vault's
 * sets and signed holds are read, not only the catalog).
 */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include <jansson.h>

#include "audit.h"
#include "catalog.h"
#include "cli.h"
#include "cli-set.h"
#include "clock.h"
#include "config.h"
#include "home.h"
#include "keys.h"
#include "label.h"
#include "retention.h"
#include "target.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer prune [--dry-run] [--json] [--job JOB] [--keep-last N] "
	    "[--keep-daily N] [--keep-weekly N] [--keep-monthly N] "
	    "[--keep-yearly N]",
	NULL,
};

static int
parse_count(const char *opt, const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 1000000) {
		cli_usage_error(usage, "bad count '%s' for --%s", s, opt);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* in_scope(e, job): whether prune may act on e (--job limits it to the
 * backup sets of one job). */
static int
in_scope(const struct retention_entry *e, const char *job)
{
	if (job == NULL)
		return 1;
	return e->header.kind == SET_BACKUP && strcmp(e->header.job, job) == 0;
}

/* policies(cli, es, n, job, cmdline, have, out, nout): the policies to
 * apply: the command line's for every job, else each job's config. */
static int
policies(struct cli *cli, const struct retention_entry *es, size_t n,
    const char *job, const struct retention_policy *cmdline, int have,
    struct retention_policy **out, size_t *nout)
{
	struct retention_policy *pol;
	size_t i, k, np = 0;

	*out = NULL;
	*nout = 0;
	if ((pol = calloc(n + 1, sizeof(*pol))) == NULL) {
		warnp("calloc");
		return -1;
	}
	if (have) {
		pol[np] = *cmdline;
		pol[np++].job = job;
	} else {
		for (i = 0; i < n; i++) {
			if (es[i].header.kind != SET_BACKUP)
				continue;
			for (k = 0; k < np; k++)
				if (strcmp(pol[k].job, es[i].header.job) == 0)
					break;
			if (k < np)
				continue;
			if (retention_policy_from_config(cli->config,
			    es[i].header.job, &pol[np]) != 0) {
				free(pol);
				return -1;
			}
			np++;
		}
	}
	*out = pol;
	*nout = np;
	return 0;
}

static json_t *
entry_json(const struct retention_entry *e, const char *host, int dry)
{
	char t[32];
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "host", json_string(host));
	json_object_set_new(o, "label", json_string(e->header.label));
	json_object_set_new(o, "job", json_string(e->header.job));
	json_object_set_new(o, "kind", json_string(set_kind_name(
	    e->header.kind)));
	json_object_set_new(o, "level", json_string(set_level_name(
	    e->header.level)));
	json_object_set_new(o, "created", json_string(cli_fmt_time(
	    e->header.created, t)));
	json_object_set_new(o, "decision", json_string(
	    e->set.decision == RETENTION_REMOVE ? "remove" : "keep"));
	json_object_set_new(o, "reason", json_string(e->set.reason));
	json_object_set_new(o, "dry_run", json_boolean(dry));
	return o;
}

int
cmd_prune(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "job", required_argument, NULL, 'J' },
		{ "keep-last", required_argument, NULL, 'l' },
		{ "keep-daily", required_argument, NULL, 'd' },
		{ "keep-weekly", required_argument, NULL, 'w' },
		{ "keep-monthly", required_argument, NULL, 'm' },
		{ "keep-yearly", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct retention_policy cmdline, *pol = NULL;
	struct retention_entry *es = NULL, *e;
	struct retention_set *sets = NULL;
	struct catalog_set cs;
	struct cli_wvault p;
	json_t *arr = NULL;
	const char *job = NULL;
	long long pre_age;
	time_t now;
	size_t n = 0, npol = 0, i, active = 0;
	int c, dry = 0, json = cli->json, have = 0, opened = 0;
	int failed = 0, nremove = 0, r, rc = EXIT_ERROR;

	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	memset(&cmdline, 0, sizeof(cmdline));
	memset(&cs, 0, sizeof(cs));
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'J':
			if (label_check(optarg, "job name") != 0)
				return EXIT_USAGE;
			job = optarg;
			break;
		case 'l':
		case 'd':
		case 'w':
		case 'm':
		case 'y':
			if (parse_count(c == 'l' ? "keep-last" : c == 'd' ?
			    "keep-daily" : c == 'w' ? "keep-weekly" : c ==
			    'm' ? "keep-monthly" : "keep-yearly", optarg,
			    c == 'l' ? &cmdline.keep_last : c == 'd' ?
			    &cmdline.keep_daily : c == 'w' ?
			    &cmdline.keep_weekly : c == 'm' ?
			    &cmdline.keep_monthly : &cmdline.keep_yearly) != 0)
				return EXIT_USAGE;
			have = 1;
			break;
		default:
			return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error(usage, "unexpected argument '%s'",
		    argv[optind]);
	if (have && retention_policy_empty(&cmdline)) {
		warn0("the --keep-* options select no set: refusing to "
		    "remove every set");
		return EXIT_ERROR;
	}
	if (retention_pre_restore_age(cli->config, &pre_age) != 0)
		return EXIT_ERROR;
	if (cli_wvault_open(cli, &p) != 0)
		return EXIT_ERROR;
	opened = 1;
	now = clock_now();
	if (retention_load(&p.rv, &es, &n) != 0 ||
	    policies(cli, es, n, job, &cmdline, have, &pol, &npol) != 0)
		goto cleanup;
	for (i = 0; i < npol; i++)
		if (!retention_policy_empty(&pol[i]) && (job == NULL ||
		    pol[i].job == NULL || strcmp(pol[i].job, job) == 0))
			active++;
	if (job != NULL) {
		for (i = 0; i < n; i++)
			if (es[i].set.job != NULL &&
			    strcmp(es[i].set.job, job) == 0)
				break;
		if (i == n) {
			if (!cli->quiet)
				fprintf(stderr, "job '%s' has no sets: nothing "
				    "to prune\n", job);
			rc = EXIT_OK;
			goto cleanup;
		}
	}
	if (active == 0 && n > 0) {
		warn0("no retention policy%s%s%s: set [backup \"JOB\"] "
		    "keep-daily (and keep-weekly, keep-monthly, keep-yearly, "
		    "keep-last) or give --keep-* options", job ? " for job '" :
		    "", job ? job : "", job ? "'" : "");
		goto cleanup;
	}
	/* A newer full is trusted to cover older sets only once its
	 * objects were re-read and found intact. */
	if (retention_verify_covers(&p.rv, es, n, job, now) != 0)
		goto cleanup;
	if (n > 0 && (sets = calloc(n, sizeof(*sets))) == NULL) {
		warnp("calloc");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		sets[i] = es[i].set;
	if (retention_apply(sets, n, pol, npol, pre_age, now) < 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		es[i].set.decision = sets[i].decision;
		memcpy(es[i].set.reason, sets[i].reason,
		    sizeof(es[i].set.reason));
	}
	if (json && (arr = json_array()) == NULL)
		goto cleanup;

	/* Newest first, so a crash never leaves a kept incr whose parent
	 * is gone. */
	for (i = n; i-- > 0;) {
		e = &es[i];
		if (!in_scope(e, job))
			continue;
		if (json)
			json_array_append_new(arr, entry_json(e, p.cv.host,
			    dry));
		else if (!cli->quiet || e->set.decision == RETENTION_REMOVE)
			printf("%-12s %s  %s\n",
			    e->set.decision == RETENTION_KEEP ? "keep" :
			    dry ? "would remove" : "remove", e->header.label,
			    e->set.reason);
		if (e->set.decision != RETENTION_REMOVE)
			continue;
		nremove++;
		if (dry)
			continue;
		if (retention_remove(p.t, cli->catalog, p.cv.row, p.cv.host,
		    e->header.label, &p.tmpl, "prune", e->set.reason) != 0)
			failed++;
	}
	/* Record what the re-read of the covers found (best effort), as
	 * coffer verify does: intact sets verified now, damaged ones no
	 * longer verified. */
	for (i = 0; i < n && !dry && p.cv.row > 0; i++) {
		if ((es[i].set.verified == 0 && !es[i].damaged) ||
		    es[i].set.decision == RETENTION_REMOVE)
			continue;
		if ((r = catalog_set_find(cli->catalog, p.cv.row, p.cv.host,
		    es[i].header.label, &cs)) == 1)
			(void)catalog_set_verified(cli->catalog, cs.id,
			    es[i].damaged ? 0 : es[i].set.verified);
		catalog_set_clear(&cs);
	}
	if (json && cli_json_print(arr) != 0) {
		arr = NULL;
		goto cleanup;
	}
	arr = NULL;
	if (failed > 0) {
		warn0("%d of %d sets could not be removed", failed, nremove);
		goto cleanup;
	}
	rc = EXIT_OK;
cleanup:
	json_decref(arr);
	free(sets);
	free(pol);
	retention_entries_free(es, n);
	if (opened)
		cli_wvault_close(&p);
	return rc;
}
