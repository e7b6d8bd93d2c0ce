/*
 * cmd-audit.c: coffer audit log | verify | export.
 */
#include "compat.h"

#include <getopt.h>
#include <stdlib.h>

#include <jansson.h>

#include "audit.h"
#include "catalog.h"
#include "cli.h"
#include "clock.h"
#include "util.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer audit log [--since DATE] [--action ACTION] [--object OBJECT] "
	"[--json]",
	"coffer audit verify [--json]",
	"coffer audit export [-o FILE]",
	NULL
};

/* The largest export kept in memory before it is written to -o FILE. */
#define EXPORT_MAX (1024L * 1024 * 1024)

struct log_state {
	int json, count;
};

static int
log_row(const struct catalog_event *ev, void *arg)
{
	struct log_state *ls = arg;
	json_t *o;
	int rc;

	if (ls->json) {
		if ((o = audit_event_json(ev, 1)) == NULL)
			return -1;
		fputs(ls->count == 0 ? "[\n  " : ",\n  ", stdout);
		rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(o);
		if (rc != 0) {
			warn0("cannot write JSON output");
			return -1;
		}
	} else {
		printf("%6lld  %-20s  %-16s  %-20s  %s\n", ev->seq,
		    ev->time ? ev->time : "?",
		    ev->operator_name ? ev->operator_name : "?",
		    ev->action ? ev->action : "?",
		    ev->object ? ev->object : "-");
	}
	ls->count++;
	return 0;
}

static int
audit_log(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "action", required_argument, NULL, 'a' },
		{ "object", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct catalog_event_filter filter;
	struct log_state ls = { cli->json, 0 };
	char since[32];
	time_t t;
	int ch;

	memset(&filter, 0, sizeof(filter));
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (clock_parse_utc(optarg, &t) != 0)
				return cli_usage_error(usage, "bad date '%s' "
				    "(use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)",
				    optarg);
			clock_format_utc(t, since, sizeof(since));
			filter.since = since;
			break;
		case 'a':
			filter.action = optarg;
			break;
		case 'o':
			filter.object = optarg;
			break;
		case 'j':
			ls.json = 1;
			break;
		default:
			return cli_usage_error(usage, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error(usage, "audit log takes no arguments");
	if (!ls.json && !cli->quiet)
		printf("%6s  %-20s  %-16s  %-20s  %s\n", "SEQ", "TIME",
		    "OPERATOR", "ACTION", "OBJECT");
	if (catalog_event_foreach(cli->catalog, &filter, log_row, &ls) != 0)
		return EXIT_ERROR;
	if (ls.json)
		fputs(ls.count == 0 ? "[]\n" : "\n]\n", stdout);
	return EXIT_OK;
}

static int
audit_verify_verb(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_report rep;
	json_t *o;
	int ch, json = cli->json, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (ch != 'j')
			return cli_usage_error(usage, "unknown option '%s'",
			    argv[optind - 1]);
		json = 1;
	}
	if (optind != argc)
		return cli_usage_error(usage, "audit verify takes no "
		    "arguments");
	if ((rc = audit_verify(cli->catalog, &rep)) < 0)
		return EXIT_ERROR;
	if (json) {
		o = json_pack("{s:b, s:I, s:I, s:s}", "intact", rc == 0,
		    "events", (json_int_t)rep.events,
		    "head_seq", (json_int_t)rep.head_seq, "head", rep.head);
		if (o != NULL && rc != 0)
			json_object_set_new(o, "damage", json_pack("{s:s, s:I, "
			    "s:s}", "kind", rep.damage == AUDIT_ALTERED ?
			    "altered" : rep.damage == AUDIT_DELETED ?
			    "deleted" : "inserted", "seq",
			    (json_int_t)rep.bad_seq, "message", rep.message));
		if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
			json_decref(o);
			warn0("cannot write JSON output");
			return EXIT_ERROR;
		}
		json_decref(o);
		putchar('\n');
	} else if (rc == 0) {
		if (!cli->quiet)
			printf("audit chain intact: %lld events, head %s\n",
			    rep.events, rep.head);
	} else {
		printf("audit chain damaged: %s\n", rep.message);
	}
	return rc == 0 ? EXIT_OK : EXIT_DAMAGE;
}

static int
audit_export_verb(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = NULL;
	int ch, rc = EXIT_ERROR;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+o:", longopts, NULL)) != -1) {
		if (ch != 'o')
			return cli_usage_error(usage, "unknown option or "
			    "missing argument '%s'", argv[optind - 1]);
		out = optarg;
	}
	if (optind != argc)
		return cli_usage_error(usage, "audit export takes no "
		    "arguments");
	if (out == NULL || strcmp(out, "-") == 0) {
		if (audit_export(cli->catalog, stdout) == 0)
			rc = EXIT_OK;
		goto cleanup;
	}
	/* Whole or nothing: build it in memory, then write it atomically. */
	if ((fp = open_memstream(&buf, &len)) == NULL) {
		warnp("cannot export the audit log");
		goto cleanup;
	}
	if (audit_export(cli->catalog, fp) != 0)
		goto cleanup;
	if (fclose(fp) != 0) {
		fp = NULL;
		warnp("cannot export the audit log");
		goto cleanup;
	}
	fp = NULL;
	if (len > EXPORT_MAX) {
		warn0("cannot export the audit log: larger than %ld bytes",
		    EXPORT_MAX);
		goto cleanup;
	}
	if (util_write_file(out, buf, len, 0600, 0) != 0)
		goto cleanup;
	rc = EXIT_OK;
cleanup:
	if (fp != NULL)
		fclose(fp);
	free(buf);
	return rc;
}

int
cmd_audit(int argc, char **argv, struct cli *cli)
{
	const char *verb;

	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(usage, "audit needs a subcommand");
	verb = argv[1];
	if (strcmp(verb, "log") == 0)
		return audit_log(argc - 1, argv + 1, cli);
	if (strcmp(verb, "verify") == 0)
		return audit_verify_verb(argc - 1, argv + 1, cli);
	if (strcmp(verb, "export") == 0)
		return audit_export_verb(argc - 1, argv + 1, cli);
	return cli_usage_error(usage, "unknown audit subcommand '%s'", verb);
}
