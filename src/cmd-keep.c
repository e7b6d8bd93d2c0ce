/*
 * cmd-keep.c: coffer keep: hold a set forever or until a date, release a
 * hold, or list a set's holds.  A hold is a signed, numbered, write-once
 * object in the vault (holds/HOST/LABEL.N.json and .sig), so it survives
 * a catalog rebuild; the catalog row and the audit log record it too.
 */
#include "compat.h"

#include <getopt.h>
#include <stdlib.h>

#include <jansson.h>

#include "audit.h"
#include "catalog.h"
#include "cjson.h"
#include "cli.h"
#include "cli-set.h"
#include "clock.h"
#include "config.h"
#include "home.h"
#include "keys.h"
#include "label.h"
#include "retention.h"
#include "sign.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer keep (--forever | --until DATE) [--reason TEXT] SET",
	"coffer keep --release [--reason TEXT] SET",
	"coffer keep --list [--json] SET",
	NULL,
};

struct list_state {
	json_t *arr;
	int json;
	unsigned long in_force;
};

static void
hold_text(const struct retention_hold *h, char *buf, size_t size)
{
	char t[32];

	if (h->keep)
		snprintf(buf, size, "forever");
	else if (h->has_retain_until) {
		clock_format_utc(h->retain_until, t, sizeof(t));
		snprintf(buf, size, "until %s", t);
	} else
		snprintf(buf, size, "released");
}

static int
list_cb(void *cookie, const struct retention_hold *h, int valid,
    const char *why)
{
	struct list_state *ls = cookie;
	char what[64], t[32];
	json_t *o;

	if (valid)
		ls->in_force = h->n;
	hold_text(h, what, sizeof(what));
	clock_format_utc(h->created, t, sizeof(t));
	if (ls->json) {
		o = json_pack("{s:I, s:b}", "n", (json_int_t)h->n, "valid",
		    valid);
		if (o == NULL)
			return -1;
		if (valid) {
			json_object_set_new(o, "hold", json_string(what));
			json_object_set_new(o, "created", json_string(t));
			json_object_set_new(o, "operator",
			    json_string(h->operator_name));
			json_object_set_new(o, "reason",
			    json_string(h->reason));
			json_object_set_new(o, "signer",
			    json_string(h->signer));
		} else
			json_object_set_new(o, "error", json_string(why));
		json_array_append_new(ls->arr, o);
	} else if (valid)
		printf("%lu  %s  %s  %s  %s\n", h->n, what, t,
		    h->operator_name, h->reason);
	else
		printf("%lu  invalid (%s)\n", h->n, why);
	return 0;
}

int
cmd_keep(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "forever", no_argument, NULL, 'f' },
		{ "until", required_argument, NULL, 'u' },
		{ "release", no_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'l' },
		{ "reason", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct retention_vault rv;
	struct retention_entry *es = NULL, *e;
	struct retention_hold h;
	struct list_state ls;
	struct catalog_set cs;
	struct cli_vault cv;
	struct audit_event ev;
	struct sign_pinned *pinned = NULL;
	struct sign_key *key = NULL;
	struct target *t = NULL;
	json_t *d = NULL;
	char host[LABEL_MAX + 1], label[LABEL_MAX + 1], evhost[256];
	char *run = NULL, *object = NULL, *details = NULL, tbuf[32];
	const char *reason = "", *until = NULL;
	time_t now, until_t = 0;
	size_t n = 0;
	int c, mode = 0, json = cli->json, opened = 0, r, rc = EXIT_ERROR;

	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	memset(&cs, 0, sizeof(cs));
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
		case 'r':
		case 'l':
		case 'u':
			if (mode != 0)
				return cli_usage_error(usage, "give one of "
				    "--forever, --until, --release, --list");
			mode = c;
			until = c == 'u' ? optarg : NULL;
			break;
		case 'R':
			reason = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return cli_usage_error(usage, "unknown option");
		}
	}
	if (mode == 0)
		return cli_usage_error(usage, "give one of --forever, --until, "
		    "--release, --list");
	if (optind + 1 != argc)
		return cli_usage_error(usage, "give exactly one set");
	if (strlen(reason) >= RETENTION_HOLD_REASON_MAX)
		return cli_usage_error(usage, "the reason is too long");
	now = clock_now();
	if (mode == 'u') {
		if (clock_parse_utc(until, &until_t) != 0)
			return cli_usage_error(usage, "bad date '%s' (want "
			    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", until);
		if (until_t <= now) {
			warn0("date '%s' is not in the future", until);
			return EXIT_ERROR;
		}
	}

	if (cli_vault_open(cli, &cv) != 0)
		goto cleanup;
	opened = 1;
	if (cli_set_name(cli, &cv, argv[optind], host, label) != 0)
		goto cleanup;
	if (strcmp(host, cv.host) != 0 && mode != 'l') {
		warn0("set '%s' belongs to host '%s': only its own host can "
		    "hold it", argv[optind], host);
		goto cleanup;
	}
	if ((pinned = keys_pinned_load(cli->home)) == NULL ||
	    (run = target_run_id_new()) == NULL ||
	    (t = target_open_local(cv.path, cv.host, run)) == NULL)
		goto cleanup;
	memset(&rv, 0, sizeof(rv));
	rv.target = t;
	rv.vault_id = cv.info.id;
	rv.host = host;
	rv.pinned = pinned;
	if (retention_load(&rv, &es, &n) != 0)
		goto cleanup;
	if ((e = retention_find(es, n, label)) == NULL) {
		warn0("no committed set '%s/%s' in the vault", host, label);
		goto cleanup;
	}

	if (mode == 'l') {
		memset(&ls, 0, sizeof(ls));
		ls.json = json;
		if (json && (ls.arr = json_array()) == NULL)
			goto cleanup;
		r = retention_hold_list(t, pinned, cv.info.id, host, label,
		    e->set_sha256, list_cb, &ls);
		if (r != 0) {
			json_decref(ls.arr);
			goto cleanup;
		}
		if (json) {
			d = json_pack("{s:s, s:s, s:b, s:o, s:o}", "host", host,
			    "label", label, "keep", e->set.keep, "retain_until",
			    e->set.has_retain_until ? json_string(cli_fmt_time(
			    e->set.retain_until, tbuf)) : json_null(), "holds",
			    ls.arr);
			if (d == NULL || cli_json_print(d) != 0) {
				d = NULL;
				goto cleanup;
			}
			d = NULL;
		} else {
			if (retention_held(&e->set, now, tbuf, sizeof(tbuf)))
				printf("in force: %s\n", tbuf);
			else
				printf("in force: not held\n");
		}
		rc = EXIT_OK;
		goto cleanup;
	}

	/* Write the hold to the vault first: it is the record that
	 * survives the catalog. */
	if ((key = keys_signing_load(cli->home)) == NULL)
		goto cleanup;
	memset(&h, 0, sizeof(h));
	h.created = now;
	h.keep = mode == 'f';
	h.has_retain_until = mode == 'u';
	h.retain_until = until_t;
	util_strlcpy(h.operator_name, cli_operator(cli),
	    sizeof(h.operator_name));
	util_strlcpy(h.reason, reason, sizeof(h.reason));
	if (retention_hold_write(t, key, cv.info.id, host, label,
	    e->set_sha256, &h) != 0)
		goto cleanup;
	/* The marks now in force: set.json's with the new hold. */
	e->has_hold = 1;
	e->hold = h;
	e->set.keep = e->header.keep || h.keep;
	e->set.has_retain_until = e->header.has_retain_until;
	e->set.retain_until = e->header.retain_until;
	if (h.has_retain_until && (!e->set.has_retain_until ||
	    h.retain_until > e->set.retain_until)) {
		e->set.has_retain_until = 1;
		e->set.retain_until = h.retain_until;
	}

	if ((object = util_asprintf("%s/%s", host, label)) == NULL)
		goto cleanup;
	d = json_pack("{s:s, s:s, s:I, s:b, s:o, s:b, s:s}", "host", host,
	    "label", label, "n", (json_int_t)h.n, "keep", h.keep,
	    "retain_until", h.has_retain_until ? json_string(cli_fmt_time(
	    h.retain_until, tbuf)) : json_null(), "released",
	    retention_hold_released(&h), "reason", reason);
	if (d == NULL || (details = cjson_dumps(d, NULL)) == NULL)
		goto cleanup;
	if (catalog_begin(cli->catalog) != 0)
		goto cleanup;
	if (cv.row > 0 && (r = catalog_set_find(cli->catalog, cv.row, host,
	    label, &cs)) != 0) {
		if (r < 0 || catalog_set_set_retention(cli->catalog, cs.id,
		    e->set.keep, e->set.has_retain_until,
		    e->set.retain_until) != 0)
			goto cleanup;
	}
	cli_event(cli, &ev, evhost, sizeof(evhost));
	ev.action = "keep";
	ev.object = object;
	ev.details = details;
	if (audit_append(cli->catalog, &ev) != 0 ||
	    catalog_commit(cli->catalog) != 0)
		goto cleanup;
	if (!cli->quiet) {
		hold_text(&h, tbuf, sizeof(tbuf));
		printf("set %s/%s: hold %lu (%s)\n", host, label, h.n, tbuf);
	}
	rc = EXIT_OK;
cleanup:
	if (cli->catalog != NULL)
		catalog_rollback(cli->catalog);
	catalog_set_clear(&cs);
	json_decref(d);
	free(details);
	free(object);
	sign_key_free(key);
	retention_entries_free(es, n);
	target_free(t);
	free(run);
	sign_pinned_free(pinned);
	if (opened)
		cli_vault_close(&cv);
	return rc;
}
