/*
 * cmd-forget.c: coffer forget: remove exactly the sets named, refusing a
 * held set (no override) and a set that other sets depend on (unless
 * --with-dependents, which removes those too).  Only this host's sets.
 */
#include "compat.h"

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
#include "util.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer forget [--dry-run] [--with-dependents] [--json] SET...",
	NULL,
};

/* set_label(f, spec, label): the label of a set named on the command
 * line, which must be of this host. */
static int
set_label(struct cli *cli, struct cli_wvault *f, const char *spec,
    char label[LABEL_MAX + 1])
{
	char host[LABEL_MAX + 1];

	if (strchr(spec, '/') == NULL) {
		if (label_check(spec, "set label") != 0)
			return -1;
		util_strlcpy(label, spec, LABEL_MAX + 1);
		return 0;
	}
	if (cli_set_name(cli, &f->cv, spec, host, label) != 0)
		return -1;
	if (strcmp(host, f->cv.host) != 0) {
		warn0("set '%s' belongs to host '%s': coffer forgets only this "
		    "host's sets ('%s')", spec, host, f->cv.host);
		return -1;
	}
	return 0;
}

int
cmd_forget(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "with-dependents", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct retention_entry *es = NULL, *e;
	struct cli_wvault f;
	json_t *arr = NULL, *o;
	char label[LABEL_MAX + 1], held[64], *reason = NULL;
	unsigned char *doomed = NULL;
	size_t *why = NULL, *dep = NULL, ndep, n = 0, i, k;
	time_t now;
	int c, dry = 0, deps = 0, json = cli->json, opened = 0, refuse = 0;
	int failed = 0, rc = EXIT_ERROR;

	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry = 1;
			break;
		case 'D':
			deps = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return cli_usage_error(usage, "unknown option");
		}
	}
	if (optind == argc)
		return cli_usage_error(usage, "no set given");
	if (cli_wvault_open(cli, &f) != 0)
		return EXIT_ERROR;
	opened = 1;
	now = clock_now();
	if (retention_load(&f.rv, &es, &n) != 0)
		goto cleanup;
	if (n > 0 && ((doomed = calloc(n, 1)) == NULL ||
	    (why = calloc(n, sizeof(*why))) == NULL)) {
		warnp("calloc");
		goto cleanup;
	}
	/* why[i]: 0 named on the command line, else 1 + the index of the
	 * named set it depends on. */
	for (k = (size_t)optind; k < (size_t)argc; k++) {
		if (set_label(cli, &f, argv[k], label) != 0) {
			refuse = 1;
			continue;
		}
		if ((e = retention_find(es, n, label)) == NULL) {
			warn0("no committed set '%s/%s' in the vault",
			    f.cv.host, label);
			refuse = 1;
			continue;
		}
		doomed[e - es] = 1;
		why[e - es] = 0;
	}
	if (refuse)
		goto cleanup;
	for (i = 0; i < n; i++) {
		if (!doomed[i] || why[i] != 0)
			continue;
		if (retention_dependents(es, n, es[i].header.label, &dep,
		    &ndep) != 0)
			goto cleanup;
		for (k = 0; k < ndep; k++) {
			if (doomed[dep[k]])
				continue;
			if (!deps) {
				warn0("set '%s' is needed by %s %s: forget "
				    "it too, or use --with-dependents",
				    es[i].header.label, set_level_name(
				    es[dep[k]].header.level),
				    es[dep[k]].header.label);
				refuse = 1;
				continue;
			}
			doomed[dep[k]] = 1;
			why[dep[k]] = i + 1;
		}
		free(dep);
		dep = NULL;
	}
	/* Holds cannot be overridden here. */
	for (i = 0; i < n; i++)
		if (doomed[i] && retention_held(&es[i].set, now, held,
		    sizeof(held))) {
			warn0("set '%s' is %s: release the hold first "
			    "(coffer keep --release %s)", es[i].header.label,
			    held, es[i].header.label);
			refuse = 1;
		}
	if (refuse)
		goto cleanup;
	if (json && (arr = json_array()) == NULL)
		goto cleanup;
	/* Newest first: dependents go before what they depend on. */
	for (i = n; i-- > 0;) {
		if (!doomed[i])
			continue;
		free(reason);
		if (why[i] == 0)
			reason = util_asprintf("forgotten by %s",
			    f.tmpl.operator_name);
		else
			reason = util_asprintf("forgotten by %s: depends on "
			    "%s", f.tmpl.operator_name,
			    es[why[i] - 1].header.label);
		if (reason == NULL)
			goto cleanup;
		if (json) {
			o = json_pack("{s:s, s:s, s:s, s:b}", "host",
			    f.cv.host, "label", es[i].header.label, "reason",
			    reason, "dry_run", dry);
			json_array_append_new(arr, o);
		} else if (!cli->quiet)
			printf("%s %s  %s\n", dry ? "would forget" : "forget",
			    es[i].header.label, reason);
		if (dry)
			continue;
		if (retention_remove(f.t, cli->catalog, f.cv.row, f.cv.host,
		    es[i].header.label, &f.tmpl, "forget", reason) != 0)
			failed++;
	}
	if (json) {
		o = arr;
		arr = NULL;
		if (cli_json_print(o) != 0)
			goto cleanup;
	}
	if (failed > 0)
		goto cleanup;
	rc = EXIT_OK;
cleanup:
	json_decref(arr);
	free(reason);
	free(dep);
	free(doomed);
	free(why);
	retention_entries_free(es, n);
	if (opened)
		cli_wvault_close(&f);
	return rc;
}
