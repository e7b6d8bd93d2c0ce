/*
 * cmd-sets.c: coffer sets: list the backup sets the catalog knows (the
 * dispatcher has taken the lock and reconciled the catalog with the local
 * vault first).
 */
#include "compat.h"

#include <getopt.h>
#include <stdlib.h>

#include <jansson.h>

#include "catalog.h"
#include "cli.h"
#include "cli-set.h"
#include "label.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer sets [--json] [--job JOB] [--host HOST] [--kind KIND]",
	NULL,
};

static json_t *
set_json(const struct catalog_set *s, time_t verified)
{
	char t[32];
	json_t *o, *p;
	size_t i;

	if ((o = json_object()) == NULL || (p = json_array()) == NULL) {
		json_decref(o);
		return (NULL);
	}
	for (i = 0; i < s->nparents; i++)
		json_array_append_new(p, json_string(s->parents[i]));
	json_object_set_new(o, "label", json_string(s->label));
	json_object_set_new(o, "host", json_string(s->host));
	json_object_set_new(o, "job", s->job ? json_string(s->job) :
	    json_null());
	json_object_set_new(o, "level", json_string(s->level));
	json_object_set_new(o, "kind", json_string(s->kind));
	json_object_set_new(o, "created", json_string(cli_fmt_time(
	    s->created, t)));
	json_object_set_new(o, "files", json_integer((json_int_t)s->files));
	json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
	json_object_set_new(o, "parents", p);
	json_object_set_new(o, "keep", json_boolean(s->keep));
	json_object_set_new(o, "retain_until", s->has_retain_until ?
	    json_string(cli_fmt_time(s->retain_until, t)) : json_null());
	json_object_set_new(o, "verified", verified ?
	    json_string(cli_fmt_time(verified, t)) : json_null());
	json_object_set_new(o, "signer", s->signer ? json_string(s->signer) :
	    json_null());
	return (o);
}

static void
print_table(const struct catalog_set *sets, size_t n, const time_t *ver)
{
	char c[32], v[32], b[32], keep[40];
	size_t i, w = 5;

	for (i = 0; i < n; i++)
		if (strlen(sets[i].label) > w)
			w = strlen(sets[i].label);
	printf("%-*s  %-10s %-10s %-5s %-11s %-20s %7s %6s  %-20s %-20s %s\n",
	    (int)w, "LABEL", "HOST", "JOB", "LEVEL", "KIND", "CREATED",
	    "FILES", "BYTES", "VERIFIED", "KEEP", "PARENT");
	for (i = 0; i < n; i++) {
		const struct catalog_set *s = &sets[i];

		if (s->keep)
			snprintf(keep, sizeof(keep), "forever");
		else if (s->has_retain_until)
			cli_fmt_time(s->retain_until, keep);
		else
			snprintf(keep, sizeof(keep), "-");
		printf("%-*s  %-10s %-10s %-5s %-11s %-20s %7llu %6s  %-20s "
		       "%-20s %s\n",
		    (int)w, s->label, s->host, s->job ? s->job : "-",
		    s->level, s->kind, cli_fmt_time(s->created, c), s->files,
		    cli_fmt_size(s->bytes, b), cli_fmt_time(ver[i], v), keep,
		    s->nparents ? s->parents[0] : "-");
	}
}

int
cmd_sets(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "job", required_argument, NULL, 'J' },
		{ "host", required_argument, NULL, 'H' },
		{ "kind", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct catalog_set_filter f;
	struct catalog_set *sets = NULL;
	struct cli_vault v;
	time_t *ver = NULL;
	json_t *arr;
	size_t n = 0, i;
	int c, json = cli->json, rc = EXIT_ERROR;

	memset(&v, 0, sizeof(v));
	memset(&f, 0, sizeof(f));
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return (EXIT_OK);
	}
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'J':
			f.job = optarg;
			break;
		case 'H':
			f.host = optarg;
			break;
		case 'k':
			if (strcmp(optarg, "backup") != 0 &&
			    strcmp(optarg, "pre-restore") != 0)
				return (cli_usage_error(usage, "unknown kind "
				    "'%s' (backup or pre-restore)", optarg));
			f.kind = optarg;
			break;
		default:
			return (cli_usage_error(usage, "unknown option"));
		}
	}
	if (optind < argc)
		return (cli_usage_error(usage, "too many arguments"));
	if (cli_vault_open(cli, &v) != 0)
		goto cleanup;
	if (v.row == 0) {
		warn0("vault '%s' is not in the catalog", v.path);
		goto cleanup;
	}
	f.vault = v.row;
	if (catalog_set_list(cli->catalog, &f, &sets, &n) != 0)
		goto cleanup;
	if ((ver = calloc(n + 1, sizeof(*ver))) == NULL) {
		warnp("calloc");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		if (catalog_set_verified_time(cli->catalog, sets[i].id,
		    &ver[i]) < 0)
			goto cleanup;
	if (json) {
		if ((arr = json_array()) == NULL)
			goto cleanup;
		for (i = 0; i < n; i++)
			json_array_append_new(arr, set_json(&sets[i], ver[i]));
		if (cli_json_print(arr) != 0)
			goto cleanup;
	} else if (n > 0)
		print_table(sets, n, ver);
	else if (!cli->quiet)
		fprintf(stderr, "no sets\n");
	rc = EXIT_OK;
cleanup:
	free(ver);
	catalog_set_list_free(sets, n);
	cli_vault_close(&v);
	return (rc);
}
