/*
 * cmd-init.c: coffer init: the home, its keys, the catalog and a local
 * vault.  Everything is checked before anything is written; a failure
 * half-way removes what this run made.
 */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "cli.h"
#include "config.h"
#include "home.h"
#include "keys.h"
#include "passphrase.h"
#include "util.h"
#include "vault.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer init [--vault DIR] [--passphrase-file FILE | "
	"--passphrase-fd N]",
	"coffer init --recipients FILE [--vault DIR]",
	NULL,
};

/* Refuse to touch a home that already holds anything of coffer's. */
static int
home_is_fresh(const char *home)
{
	static const char *const names[] = { "config", "catalog.db", "keys" };
	size_t i;
	char *p;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if ((p = home_path(home, names[i])) == NULL)
			return -1;
		if (home_exists(p)) {
			warn0("coffer home '%s' is already initialised ('%s' "
			      "exists): nothing changed",
			    home, p);
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

static char *
absolute(const char *path)
{
	char cwd[4096];

	if (path[0] == '/')
		return util_strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		warnp("cannot find the current directory");
		return NULL;
	}
	return util_path_join(cwd, path);
}

static int
write_config(const char *home, const char *vault, const char *host)
{
	char *path, *text;
	int rc = -1;

	text = util_asprintf(
	    "# coffer configuration: see coffer-config(1).\n"
	    "# System defaults are read from /etc/coffer/coffer.conf first.\n"
	    "\n"
	    "[core]\n"
	    "\thost = %s\n"
	    "\n"
	    "[vault]\n"
	    "\tpath = %s\n",
	    host, vault);
	if (text == NULL || (path = home_path(home, "config")) == NULL) {
		free(text);
		return -1;
	}
	if (util_write_file(path, text, strlen(text), 0600, UTIL_EXCL) == 0)
		rc = 0;
	else if (errno == EEXIST)
		warn0("'%s' already exists", path);
	free(path);
	free(text);
	return rc;
}

int
cmd_init(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "vault", required_argument, NULL, 'V' },
		CLI_PASSPHRASE_OPTIONS,
		{ "recipients", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct passphrase_source src = { NULL, -1 };
	struct keys_info info;
	struct vault_info vinfo;
	const char *vault_opt = NULL, *recipients_file = NULL, *why;
	char *vault = NULL, *pass = NULL, *catpath = NULL, *details = NULL;
	char **recips = NULL, publine[SIGN_PUBLINE_MAX], host[256];
	const char *signers[2];
	char vault_id[VAULT_ID_LEN + 1];
	size_t passlen = 0, nrecips = 0;
	int c, made_home = 0, rc = EXIT_ERROR;

	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'V':
			vault_opt = optarg;
			break;
		case CLI_OPT_PASSFILE:
		case CLI_OPT_PASSFD:
			if (cli_passphrase_opt(c, optarg, &src, usage) != 0)
				return (EXIT_USAGE);
			break;
		case 'R':
			recipients_file = optarg;
			break;
		default:
			return cli_usage_error(usage, "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error(usage, "unexpected argument '%s'",
		    argv[optind]);
	if (recipients_file != NULL && (src.file != NULL || src.fd >= 0))
		return cli_usage_error(usage, "a --recipients host holds no "
		    "identity and needs no passphrase");

	/* Check everything before writing anything. */
	if (home_exists(cli->home)) {
		struct stat st;
		if (stat(cli->home, &st) != 0 || !S_ISDIR(st.st_mode)) {
			warn0("coffer home '%s' exists and is not a directory",
			    cli->home);
			goto cleanup;
		}
		if (home_check(cli->home) != 0 || home_is_fresh(cli->home))
			goto cleanup;
	}
	if (vault_opt != NULL)
		vault = absolute(vault_opt);
	else
		vault = home_path(cli->home, "vault");
	if (vault == NULL)
		goto cleanup;
	if (vault_is_vault(vault)) {
		warn0("'%s' is already a coffer vault: nothing changed", vault);
		goto cleanup;
	}
	if (recipients_file == NULL) {
		pass = passphrase_read(&src, "Passphrase for the new vault "
		    "identity: ", 1, &passlen);
		if (pass == NULL)
			goto cleanup;
		if (passphrase_check(pass, passlen, &why) != 0) {
			warn0("passphrase refused: %s", why);
			goto cleanup;
		}
	}

	/* The home. */
	if (!home_exists(cli->home)) {
		if (util_mkdir_p(cli->home, 0700) != 0)
			goto cleanup;
		made_home = 1;
	}
	if (chmod(cli->home, 0700) != 0) {
		warnp("cannot set the mode of '%s'", cli->home);
		goto undo;
	}
	if (keys_init(cli->home, pass, recipients_file, &info) != 0)
		goto undo;
	if (keys_list_recipients(cli->home, &recips, &nrecips) != 0)
		goto undo;
	sign_pubkey_format(&info.signer, publine);
	signers[0] = publine;
	signers[1] = NULL;
	if (vault_create(vault, (const char *const *)recips, signers,
		vault_id) != 0)
		goto undo;
	home_hostname(host, sizeof(host));
	if (write_config(cli->home, vault, host) != 0)
		goto undo_vault;
	if ((catpath = home_path(cli->home, "catalog.db")) == NULL)
		goto undo_vault;
	if ((cli->catalog = catalog_open(catpath, CATALOG_CREATE)) == NULL)
		goto undo_vault;
	if (catalog_vault_add(cli->catalog, vault_id, "local", vault,
		time(NULL), NULL) != 0)
		goto undo_vault;
	details = util_asprintf("{\"vault\":\"%s\",\"identity\":%s}",
	    vault_id, info.has_identity ? "true" : "false");
	if (details == NULL ||
	    cli_audit(cli, "init", cli->home, details) != 0)
		goto undo_vault;
	if (vault_read(vault, &vinfo) == 0)
		vault_info_release(&vinfo);
	if (!cli->quiet) {
		printf("initialised coffer home '%s'\n", cli->home);
		printf("vault '%s' (id %s)\n", vault, vault_id);
		if (info.has_identity)
			printf("recipient %s\n", info.recipient);
		else
			printf("backup-only host: no identity, %zu "
			       "recipient(s)\n",
			    nrecips);
		printf("signing key %s\n", info.signer.fpr);
		if (info.has_identity)
			printf("next: make a paper copy of the identity with "
			       "'coffer key escrow'\n");
	}
	rc = EXIT_OK;
	goto cleanup;

undo_vault:
	util_remove_tree(vault);
undo:
	catalog_close(cli->catalog);
	cli->catalog = NULL;
	if (made_home) {
		util_remove_tree(cli->home);
	} else {
		static const char *const made[] = { "config", "catalog.db",
			"catalog.db-wal", "catalog.db-shm", "keys" };
		size_t i;
		for (i = 0; i < ARRAY_SIZE(made); i++) {
			char *p = home_path(cli->home, made[i]);
			if (p != NULL)
				util_remove_tree(p);
			free(p);
		}
	}
cleanup:
	if (recips != NULL)
		keys_list_free(recips);
	if (pass != NULL)
		passphrase_free(pass, passlen);
	free(details);
	free(catpath);
	free(vault);
	return rc;
}
