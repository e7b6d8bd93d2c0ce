/*
 * cmd-show.c: coffer show SET: a set's header, read from the vault and
 * checked against the pinned keys (or, when the vault no longer has it,
 * the copy the catalog stored when the set was added).  No identity is
 * needed.
 */
#include "compat.h"

#include <getopt.h>
#include <stdlib.h>

#include <jansson.h>

#include "catalog.h"
#include "cli.h"
#include "cli-set.h"
#include "set.h"
#include "util.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer show [--json] SET",
	NULL,
};

/* The header from the catalog: 1 found (h filled), 0 absent, -1. */
static int
from_catalog(struct cli *cli, struct cli_vault *v, const char *spec,
    struct set_header *h, char *signer, size_t size, time_t *verified)
{
	char host[LABEL_MAX + 1], label[LABEL_MAX + 1];
	struct catalog_set cs;
	int r;

	set_header_init(h);
	if (v->row == 0 || cli_set_name(cli, v, spec, host, label) != 0)
		return (v->row == 0 ? 0 : -1);
	if ((r = catalog_set_find(cli->catalog, v->row, host, label, &cs)) <=
	    0)
		return (r);
	if (cs.header == NULL) {
		warn0("the catalog holds no header of set '%s/%s'", host,
		    label);
		catalog_set_clear(&cs);
		return (-1);
	}
	r = set_header_parse(cs.header, strlen(cs.header), h);
	util_strlcpy(signer, cs.signer ? cs.signer : "", size);
	if (catalog_set_verified_time(cli->catalog, cs.id, verified) != 0)
		r = -1;
	catalog_set_clear(&cs);
	return (r == 0 ? 1 : -1);
}

static time_t
verified_time(struct cli *cli, struct cli_vault *v, const struct set_header *h)
{
	struct catalog_set cs;
	time_t t = 0;

	if (v->row == 0 || catalog_set_find(cli->catalog, v->row, h->host,
	    h->label, &cs) != 1)
		return (0);
	if (catalog_set_verified_time(cli->catalog, cs.id, &t) != 0)
		t = 0;
	catalog_set_clear(&cs);
	return (t);
}

static int
print_json(const struct set_header *h, const char *signer,
    const char *source, time_t verified)
{
	json_error_t err;
	json_t *o, *hdr;
	char t[32];

	if ((hdr = json_loadb(h->raw, h->raw_len, 0, &err)) == NULL) {
		warn0("cannot re-read set.json: %s", err.text);
		return (-1);
	}
	if ((o = json_object()) == NULL) {
		json_decref(hdr);
		return (-1);
	}
	json_object_set_new(o, "header", hdr);
	json_object_set_new(o, "signer", *signer ? json_string(signer) :
	    json_null());
	json_object_set_new(o, "source", json_string(source));
	json_object_set_new(o, "verified", verified ?
	    json_string(cli_fmt_time(verified, t)) : json_null());
	return (cli_json_print(o));
}

static void
print_text(const struct set_header *h, const char *signer,
    const char *source, time_t verified)
{
	char t[32], hex[65];
	size_t i;

	printf("set:          %s/%s\n", h->host, h->label);
	printf("host:         %s\n", h->host);
	printf("job:          %s\n", h->job);
	printf("label:        %s\n", h->label);
	printf("kind:         %s\n", set_kind_name(h->kind));
	printf("level:        %s\n", set_level_name(h->level));
	printf("created:      %s\n", cli_fmt_time(h->created, t));
	printf("parents:      ");
	if (h->nparents == 0)
		printf("-");
	for (i = 0; i < h->nparents; i++)
		printf("%s%s", i ? " " : "", h->parents[i]);
	printf("\n");
	printf("keep:         %s\n", h->keep ? "forever" : "no");
	printf("retain-until: %s\n", h->has_retain_until ?
	    cli_fmt_time(h->retain_until, t) : "-");
	printf("files:        %llu\n", (unsigned long long)h->files);
	printf("bytes:        %llu\n", (unsigned long long)h->bytes);
	printf("vault:        %s\n", h->vault);
	printf("audit head:   %lld %s\n", h->audit_seq, h->audit_hash);
	printf("coffer:       %s\n", h->coffer_version ? h->coffer_version :
	    "-");
	printf("signer:       %s\n", *signer ? signer : "-");
	printf("source:       %s\n", source);
	printf("verified:     %s\n", cli_fmt_time(verified, t));
	printf("objects:\n");
	for (i = 0; i < h->nobjects; i++) {
		const struct set_object *o = &h->objects[i];

		util_hex(hex, o->sha256, SET_SHA256_LEN);
		printf("  %-26s %-8s %12llu  sha256 %s\n", o->name,
		    set_role_name(o->role), (unsigned long long)o->size, hex);
		if (o->has_payload) {
			util_hex(hex, o->payload_sha256, SET_SHA256_LEN);
			printf("  %-26s %-8s %12s  payload %s\n", "", "", "",
			    hex);
		}
	}
}

int
cmd_show(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct set_header h;
	struct cli_vault v;
	char signer[SIGN_FPR_MAX] = "";
	const char *source = "vault";
	time_t verified = 0;
	int c, r, json = cli->json, rc = EXIT_ERROR;

	memset(&v, 0, sizeof(v));
	set_header_init(&h);
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return (EXIT_OK);
	}
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		default:
			return (cli_usage_error(usage, "unknown option"));
		}
	}
	if (argc - optind != 1)
		return (cli_usage_error(usage, argc - optind ? "too many "
		    "arguments" : "which set?"));
	if (cli_vault_open(cli, &v) != 0)
		goto cleanup;
	r = cli_set_load(cli, &v, argv[optind], &h,
	    SET_LOAD_QUIET_MISSING);
	if (r == SET_LOAD_BAD) {
		rc = EXIT_DAMAGE;
		goto cleanup;
	}
	if (r == SET_LOAD_OK) {
		util_strlcpy(signer, h.signer, sizeof(signer));
		verified = verified_time(cli, &v, &h);
	} else if (r == SET_LOAD_MISSING) {
		if ((r = from_catalog(cli, &v, argv[optind], &h, signer,
		    sizeof(signer), &verified)) <= 0) {
			if (r == 0)
				warn0("no set '%s' in the vault or the catalog",
				    argv[optind]);
			goto cleanup;
		}
		warning("showing the catalog's copy of the header: the vault "
			"has no committed set '%s'", argv[optind]);
		source = "catalog";
	} else
		goto cleanup;
	if (json) {
		if (print_json(&h, signer, source, verified) != 0)
			goto cleanup;
	} else
		print_text(&h, signer, source, verified);
	rc = EXIT_OK;
cleanup:
	set_header_clear(&h);
	cli_vault_close(&v);
	return (rc);
}
