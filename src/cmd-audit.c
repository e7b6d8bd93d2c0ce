/*
 * cmd-audit.c: coffer audit log | verify | export.
 */
#include "compat.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>

#include <jansson.h>

#include "audit.h"
#include "audithead.h"
#include "catalog.h"
#include "cli.h"
#include "cli-set.h"
#include "keys.h"
#include "set.h"
#include "sign.h"
#include "target.h"
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

/* ------------------------------------------------ heads outside the host */

/* A head recorded outside the host: in an audit head object or a set. */
struct outside {
	long long seq;
	char hash[65];
	char *source;                   /* "audit/HOST/SEQ.head", "set L" */
};

struct heads {
	struct outside *v;
	size_t n;
	json_t *problems;               /* strings */
	long long nobjects, nsets;
	int error;
};

static int
problem(struct heads *hs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
problem(struct heads *hs, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return (json_array_append_new(hs->problems, json_string(buf)) == 0 ?
	    0 : -1);
}

static int
add_outside(struct heads *hs, long long seq, const char *hash,
    const char *source)
{
	struct outside *nv;

	if ((nv = reallocarray(hs->v, hs->n + 1, sizeof(*nv))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	hs->v = nv;
	nv[hs->n].seq = seq;
	util_strlcpy(nv[hs->n].hash, hash, sizeof(nv[hs->n].hash));
	if ((nv[hs->n].source = util_strdup(source)) == NULL)
		return (-1);
	hs->n++;
	return (0);
}

static int
head_cb(void *cookie, const char *name, const struct audithead *h,
    const char *why)
{
	struct heads *hs = cookie;

	if (why != NULL)
		return (problem(hs, "%s: %s", name, why));
	hs->nobjects++;
	return (add_outside(hs, h->seq, h->hash, name));
}

/* The labels of sets/HOST/LABEL/set.json.sig. */
struct labels {
	const char *prefix;
	size_t plen;
	char **v;
	size_t n;
};

static int
label_cb(void *cookie, const struct target_entry *e)
{
	struct labels *l = cookie;
	const char *rest = e->name + l->plen, *slash;
	char **nv;

	if (strncmp(e->name, l->prefix, l->plen) != 0 ||
	    (slash = strchr(rest, '/')) == NULL ||
	    strcmp(slash, "/set.json.sig") != 0)
		return (0);
	if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL)
		return (-1);
	l->v = nv;
	if ((l->v[l->n] = strndup(rest, (size_t)(slash - rest))) == NULL)
		return (-1);
	l->n++;
	return (0);
}

static int
outside_cmp(const void *pa, const void *pb)
{
	const struct outside *a = pa, *b = pb;

	return (a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* Walk the local events against the sorted heads. */
struct walk {
	struct heads *hs;
	size_t i;
};

static int
walk_cb(const struct catalog_event *ev, void *arg)
{
	struct walk *w = arg;
	struct heads *hs = w->hs;

	while (w->i < hs->n && hs->v[w->i].seq <= ev->seq) {
		if (hs->v[w->i].seq == ev->seq && (ev->hash == NULL ||
		    strcmp(ev->hash, hs->v[w->i].hash) != 0) &&
		    problem(hs, "event %lld differs from the head in %s: the "
		    "local log was rewritten", ev->seq, hs->v[w->i].source) !=
		    0)
			return (-1);
		if (hs->v[w->i].seq < ev->seq && problem(hs, "event %lld, "
		    "the head in %s, is missing from the local log",
		    hs->v[w->i].seq, hs->v[w->i].source) != 0)
			return (-1);
		w->i++;
	}
	return (0);
}

/*
 * check_outside(cli, hs): compare the local chain with the heads that
 * left the host: the signed audit heads and the set headers of this host
 * in the configured vault.  0 (problems in hs->problems), 1 when there is
 * no vault to read (reported), -1 on error (reported).
 */
static int
check_outside(struct cli *cli, struct heads *hs)
{
	struct cli_vault v;
	struct sign_pinned *pinned = NULL;
	struct labels l = { NULL, 0, NULL, 0 };
	struct set_header h;
	struct walk w = { hs, 0 };
	char *prefix = NULL, *src;
	size_t i;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	if (cli_vault_open(cli, &v) != 0) {
		warn0("the vault cannot be read: only the local chain was "
		    "checked");
		cli_vault_close(&v);
		return (1);
	}
	if ((pinned = keys_pinned_load(cli->home)) == NULL)
		goto cleanup;
	if (audithead_list(v.target, pinned, v.info.id, v.host, head_cb,
	    hs) != 0)
		goto cleanup;
	if ((prefix = util_asprintf("sets/%s/", v.host)) == NULL)
		goto cleanup;
	l.prefix = prefix;
	l.plen = strlen(prefix);
	if (target_list(v.target, prefix, 0, label_cb, &l) != 0) {
		warnp("cannot list the sets of '%s'", v.host);
		goto cleanup;
	}
	for (i = 0; i < l.n; i++) {
		if (set_load(v.target, v.host, l.v[i], pinned, &h,
		    SET_LOAD_QUIET_MISSING) != SET_LOAD_OK)
			continue;       /* coffer verify names those */
		if (h.audit_seq > 0) {
			hs->nsets++;
			if ((src = util_asprintf("set %s", l.v[i])) == NULL ||
			    add_outside(hs, h.audit_seq, h.audit_hash,
			    src) != 0) {
				free(src);
				set_header_clear(&h);
				goto cleanup;
			}
			free(src);
		}
		set_header_clear(&h);
	}
	if (hs->n > 1)
		qsort(hs->v, hs->n, sizeof(*hs->v), outside_cmp);
	if (catalog_event_foreach(cli->catalog, NULL, walk_cb, &w) != 0)
		goto cleanup;
	for (; w.i < hs->n; w.i++)
		if (problem(hs, "event %lld, the head in %s, is past the end "
		    "of the local log: events were removed", hs->v[w.i].seq,
		    hs->v[w.i].source) != 0)
			goto cleanup;
	rc = 0;
cleanup:
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	free(prefix);
	sign_pinned_free(pinned);
	cli_vault_close(&v);
	return (rc);
}

static void
heads_clear(struct heads *hs)
{
	size_t i;

	for (i = 0; i < hs->n; i++)
		free(hs->v[i].source);
	free(hs->v);
	json_decref(hs->problems);
}

static int
audit_verify_verb(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_report rep;
	struct heads hs;
	json_t *o;
	size_t i;
	int ch, json = cli->json, rc, orc, bad;

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
	memset(&hs, 0, sizeof(hs));
	if ((hs.problems = json_array()) == NULL)
		return EXIT_ERROR;
	if ((orc = check_outside(cli, &hs)) < 0) {
		heads_clear(&hs);
		return EXIT_ERROR;
	}
	bad = json_array_size(hs.problems) > 0;
	if (json) {
		o = json_pack("{s:b, s:I, s:I, s:s, s:b, s:I, s:I, s:O}",
		    "intact", rc == 0 && !bad,
		    "events", (json_int_t)rep.events,
		    "head_seq", (json_int_t)rep.head_seq, "head", rep.head,
		    "vault_checked", orc == 0,
		    "vault_heads", (json_int_t)hs.nobjects,
		    "set_heads", (json_int_t)hs.nsets,
		    "head_problems", hs.problems);
		if (o != NULL && rc != 0)
			json_object_set_new(o, "damage", json_pack("{s:s, s:I, "
			    "s:s}", "kind", rep.damage == AUDIT_ALTERED ?
			    "altered" : rep.damage == AUDIT_DELETED ?
			    "deleted" : "inserted", "seq",
			    (json_int_t)rep.bad_seq, "message", rep.message));
		if (o == NULL || json_dumpf(o, stdout, JSON_INDENT(2)) != 0) {
			json_decref(o);
			heads_clear(&hs);
			warn0("cannot write JSON output");
			return EXIT_ERROR;
		}
		json_decref(o);
		putchar('\n');
	} else {
		if (rc == 0) {
			if (!cli->quiet)
				printf("audit chain intact: %lld events, head "
				    "%s\n", rep.events, rep.head);
		} else
			printf("audit chain damaged: %s\n", rep.message);
		for (i = 0; i < json_array_size(hs.problems); i++)
			printf("audit head mismatch: %s\n", json_string_value(
			    json_array_get(hs.problems, i)));
		if (orc == 0 && !bad && hs.n > 0 && !cli->quiet)
			printf("heads outside the host match: %lld in audit "
			    "heads, %lld in set headers\n", hs.nobjects,
			    hs.nsets);
	}
	heads_clear(&hs);
	return rc == 0 && !bad ? EXIT_OK : EXIT_DAMAGE;
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
