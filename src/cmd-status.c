/*
 * cmd-status.c: coffer status: the home, the catalog, the vaults, the keys
 * and the audit chain, with warnings for what needs attention.
 */
#include "compat.h"

#include <jansson.h>
#include <stdlib.h>
#include <time.h>

#include "audit.h"
#include "catalog.h"
#include "cli.h"
#include "clock.h"
#include "config.h"
#include "keys.h"
#include "util.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer status [--json]",
	NULL,
};

/* Add a warning to the list (and print it at once unless --json). */
static void
warn_add(struct cli *cli, json_t *warnings, const char *msg)
{
	json_array_append_new(warnings, json_string(msg));
	if (!cli->json)
		warning("%s", msg);
}

int
cmd_status(int argc, char **argv, struct cli *cli)
{
	struct catalog_vault *vaults = NULL;
	struct audit_report report;
	struct keys_info kinfo;
	json_t *out = NULL, *jv, *jk, *warnings;
	const char *maxage_s;
	long long events = 0, maxage = 30 * 86400;
	size_t nvaults = 0, i;
	int version, chain, have_keys, rc = EXIT_ERROR;
	char when[32];

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
			     strcmp(argv[1], "--help") == 0)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			cli->json = 1;
		else
			return cli_usage_error(usage, "unexpected argument "
			    "'%s'", argv[i]);
	}
	if ((version = catalog_schema_version(cli->catalog)) < 0)
		goto cleanup;
	if (catalog_vault_list(cli->catalog, &vaults, &nvaults) != 0)
		goto cleanup;
	if (catalog_event_count(cli->catalog, &events) != 0)
		goto cleanup;
	if ((chain = audit_verify(cli->catalog, &report)) < 0)
		goto cleanup;
	have_keys = keys_info(cli->home, &kinfo) == 0;

	out = json_object();
	warnings = json_array();
	json_object_set_new(out, "home", json_string(cli->home));
	json_object_set_new(out, "schema_version", json_integer(version));
	jv = json_array();
	for (i = 0; i < nvaults; i++)
		json_array_append_new(jv, json_pack("{s:s, s:s, s:s}", "id",
		    vaults[i].vault_id, "kind", vaults[i].kind, "url",
		    vaults[i].url));
	json_object_set_new(out, "vaults", jv);
	jk = json_object();
	if (have_keys) {
		json_object_set_new(jk, "identity",
		    json_boolean(kinfo.has_identity));
		json_object_set_new(jk, "recipients",
		    json_integer((json_int_t)kinfo.nrecipients));
		json_object_set_new(jk, "signer", json_string(kinfo.signer.fpr));
		json_object_set_new(jk, "escrow",
		    json_boolean(kinfo.escrow_done));
		if (kinfo.has_identity && !kinfo.escrow_done)
			warn_add(cli, warnings, "no escrow copy of the vault "
			    "identity was made and test-decrypted: run "
			    "'coffer key escrow'");
		if ((maxage_s = config_get(cli->config, "key.max-age")) &&
		    util_parse_duration(maxage_s, &maxage) != 0) {
			warn_add(cli, warnings, "bad duration in key.max-age: "
			    "using 30d");
			maxage = 30 * 86400;
		}
		if (kinfo.has_identity && kinfo.passphrase_time > 0 &&
		    clock_now() - kinfo.passphrase_time > maxage)
			warn_add(cli, warnings, "the identity passphrase is "
			    "older than key.max-age: change it with 'coffer "
			    "key passphrase'");
	} else {
		warn_add(cli, warnings, "the vault keys cannot be read");
	}
	json_object_set_new(out, "keys", jk);
	json_object_set_new(out, "events", json_integer(events));
	json_object_set_new(out, "chain",
	    json_string(chain == 0 ? "intact" : "broken"));
	json_object_set_new(out, "chain_head", json_string(report.head));
	if (chain != 0)
		warn_add(cli, warnings, report.message);
	json_object_set_new(out, "warnings", warnings);

	if (cli->json) {
		if (json_dumpf(out, stdout, JSON_INDENT(2)) != 0)
			goto cleanup;
		putchar('\n');
	} else {
		printf("home:       %s\n", cli->home);
		printf("catalog:    schema version %d\n", version);
		for (i = 0; i < nvaults; i++)
			printf("vault:      %s (%s, id %s)\n", vaults[i].url,
			    vaults[i].kind, vaults[i].vault_id);
		if (have_keys) {
			printf("identity:   %s\n",
			    kinfo.has_identity ? kinfo.recipient :
						 "none (backup-only host)");
			printf("recipients: %zu\n", kinfo.nrecipients);
			printf("signer:     %s\n", kinfo.signer.fpr);
			if (kinfo.escrow_done) {
				clock_format_utc(kinfo.escrow_time, when,
				    sizeof(when));
				printf("escrow:     made %s\n", when);
			} else if (kinfo.has_identity) {
				printf("escrow:     none\n");
			}
		}
		printf("events:     %lld\n", events);
		if (chain == 0)
			printf("chain:      intact, head %s\n", report.head);
		else
			printf("chain:      BROKEN: %s\n", report.message);
	}
	rc = chain == 0 ? EXIT_OK : EXIT_DAMAGE;
cleanup:
	json_decref(out);
	catalog_vault_list_free(vaults, nvaults);
	return rc;
}
