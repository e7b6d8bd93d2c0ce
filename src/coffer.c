/*
 * coffer.c: the git-style dispatcher.  Global options come before the
 * command name; each row of the command table says what shared set-up the
 * command needs (home, catalog, lock) and which role may run it.
 */
#include "compat.h"

#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit.h"
#include "catalog.h"
#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "home.h"
#include "lock.h"
#include "util.h"
#include "warnp.h"

static int cmd_help(int, char **, struct cli *);
static int cmd_version(int, char **, struct cli *);

static const struct cmd commands[] = {
	{ "init", cmd_init, 0, ROLE_ADMIN,
	    "create a coffer home, its keys and a local vault" },
	{ "status", cmd_status, CMD_CATALOG, ROLE_ANY,
	    "show the home, catalog, vaults and audit chain" },
	{ "config", cmd_config, CMD_CATALOG, ROLE_ADMIN,
	    "get and set configuration" },
	{ "audit", cmd_audit, CMD_CATALOG, ROLE_AUDITOR,
	    "show, verify and export the audit log" },
	{ "key", cmd_key, CMD_CATALOG, ROLE_ADMIN,
	    "list, add, pin and escrow keys" },
	{ "backup", cmd_backup, CMD_LOCK, ROLE_OPERATOR,
	    "make a backup set of a job or of paths" },
	{ "sets", cmd_sets, CMD_LOCK, ROLE_ANY,
	    "list the backup sets" },
	{ "show", cmd_show, CMD_CATALOG, ROLE_ANY,
	    "show a set's header" },
	{ "ls", cmd_ls, CMD_CATALOG, ROLE_OPERATOR,
	    "list the files of a set" },
	{ "diff", cmd_diff, CMD_CATALOG, ROLE_OPERATOR,
	    "compare the files of two sets" },
	{ "restore", cmd_restore, CMD_LOCK, ROLE_OPERATOR,
	    "restore a set, snapshot first, verify after; undo" },
	{ "verify", cmd_verify, CMD_CATALOG, ROLE_CLERK,
	    "check a set's signature and objects (--deep: every file)" },
	{ "keep", cmd_keep, CMD_LOCK, ROLE_ADMIN,
	    "keep a set forever or until a date" },
	{ "prune", cmd_prune, CMD_LOCK, ROLE_ADMIN,
	    "remove sets the retention policy no longer needs" },
	{ "forget", cmd_forget, CMD_LOCK, ROLE_ADMIN,
	    "remove one set" },
	{ "keygen", cmd_keygen, 0, ROLE_ANY,
	    "make an age identity (age-keygen compatible)" },
	{ "encrypt", cmd_encrypt, 0, ROLE_ANY,
	    "encrypt to age recipients or a passphrase" },
	{ "decrypt", cmd_decrypt, 0, ROLE_ANY,
	    "decrypt an age file" },
	{ "help", cmd_help, CMD_NOCRYPTO, ROLE_ANY,
	    "list commands or show a command's manual" },
	{ "version", cmd_version, CMD_NOCRYPTO, ROLE_ANY,
	    "print the version" },
};

static const char *const usage[] = {
	"coffer [-C DIR] [-q] [-v] [--json] [--operator NAME] "
	"[--wait[=DURATION]] COMMAND [ARGS]",
	"coffer --version",
	"coffer help [COMMAND]",
	NULL,
};

static const struct cmd *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Damerau-Levenshtein distance, for "did you mean". */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[64][64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

static int
unknown_command(const char *name)
{
	size_t i, best = 99;

	fprintf(stderr, "coffer: '%s' is not a coffer command. See 'coffer "
	    "help'.\n", name);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		size_t dist = edit_distance(name, commands[i].name);
		if (dist < best)
			best = dist;
	}
	if (best <= 2) {
		size_t n = 0;
		for (i = 0; i < ARRAY_SIZE(commands); i++)
			n += edit_distance(name, commands[i].name) == best;
		fprintf(stderr, "\nThe most similar command%s\n",
		    n == 1 ? " is" : "s are");
		for (i = 0; i < ARRAY_SIZE(commands); i++)
			if (edit_distance(name, commands[i].name) == best)
				fprintf(stderr, "\t%s\n", commands[i].name);
	}
	return EXIT_USAGE;
}

static int
cmd_version(int argc, char **argv, struct cli *cli)
{
	(void)argc;
	(void)argv;
	(void)cli;
	printf("coffer %s\n", PACKAGE_VERSION);
	return EXIT_OK;
}

static void
list_commands(FILE *fp)
{
	size_t i;

	cli_usage(usage, fp);
	fprintf(fp, "\nCommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(fp, "   %-10s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(fp, "\nSee 'coffer help COMMAND' for a command's manual.\n");
}

/* Show the man page: the installed one, else COFFER_MAN_DIR (the source
 * tree, for tests and uninstalled builds). */
static int
cmd_help(int argc, char **argv, struct cli *cli)
{
	char page[128];
	const char *dir;
	char *path;

	(void)cli;
	if (argc < 2) {
		list_commands(stdout);
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_usage_error(usage, "too many arguments");
	if (strcmp(argv[1], "coffer") == 0)
		util_strlcpy(page, "coffer", sizeof(page));
	else if (find_command(argv[1]) == NULL)
		return unknown_command(argv[1]);
	else
		snprintf(page, sizeof(page), "coffer-%s", argv[1]);
	if (fflush(stdout) != 0)
		return EXIT_ERROR;
	dir = getenv("COFFER_MAN_DIR");
	if (dir != NULL && *dir != '\0') {
		if ((path = util_asprintf("%s/%s.1", dir, page)) == NULL)
			return EXIT_ERROR;
		if (access(path, R_OK) == 0) {
			execlp("man", "man", "-l", path, (char *)NULL);
			warnp("cannot run 'man'");
			free(path);
			return EXIT_ERROR;
		}
		free(path);
	}
	execlp("man", "man", page, (char *)NULL);
	warnp("cannot run 'man %s'", page);
	return EXIT_ERROR;
}

/* Global options before the command name. Returns the index of the
 * command, or -1 after printing (exit code in *rc). */
static int
parse_globals(int argc, char **argv, struct cli *cli, const char **home_opt,
    int *rc)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-')
			return i;
		if (strcmp(a, "-C") == 0 || strcmp(a, "--home") == 0) {
			if (++i >= argc) {
				*rc = cli_usage_error(usage, "%s needs a "
				    "directory", a);
				return -1;
			}
			*home_opt = argv[i];
		} else if (strncmp(a, "--home=", 7) == 0) {
			*home_opt = a + 7;
		} else if (strncmp(a, "-C", 2) == 0) {
			*home_opt = a + 2;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			cli->quiet = 1;
		} else if (strcmp(a, "-v") == 0 ||
		    strcmp(a, "--verbose") == 0) {
			cli->verbose++;
		} else if (strcmp(a, "--json") == 0) {
			cli->json = 1;
		} else if (strcmp(a, "--operator") == 0) {
			if (++i >= argc) {
				*rc = cli_usage_error(usage, "--operator "
				    "needs a name");
				return -1;
			}
			cli->operator_name = argv[i];
		} else if (strncmp(a, "--operator=", 11) == 0) {
			cli->operator_name = a + 11;
		} else if (strcmp(a, "--wait") == 0) {
			cli->wait_secs = 0;
		} else if (strncmp(a, "--wait=", 7) == 0) {
			if (util_parse_duration(a + 7, &cli->wait_secs) != 0) {
				*rc = cli_usage_error(usage, "bad duration "
				    "'%s'", a + 7);
				return -1;
			}
		} else if (strcmp(a, "--version") == 0) {
			*rc = cmd_version(0, NULL, cli);
			return -1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			list_commands(stdout);
			*rc = EXIT_OK;
			return -1;
		} else {
			*rc = cli_usage_error(usage, "unknown option '%s'", a);
			return -1;
		}
	}
	list_commands(stderr);
	*rc = EXIT_USAGE;
	return -1;
}

/* The set-up a command's row asks for. */
static int
setup(const struct cmd *cmd, struct cli *cli)
{
	char *path = NULL, *sys = NULL;
	const char *env;
	int rc = EXIT_ERROR;

	if (!(cmd->flags & (CMD_HOME | CMD_CATALOG | CMD_LOCK)))
		return EXIT_OK;
	if (home_check(cli->home) != 0)
		goto cleanup;
	env = getenv("COFFER_SYSTEM_CONFIG");
	if (env != NULL)
		sys = util_strdup(env);
	else
		sys = util_strdup(COFFER_SYSCONFDIR "/coffer/coffer.conf");
	if (sys == NULL || (path = home_path(cli->home, "config")) == NULL)
		goto cleanup;
	if ((cli->config = config_load(*sys ? sys : NULL, path)) == NULL)
		goto cleanup;
	free(path);
	path = NULL;
	if (cmd->flags & (CMD_CATALOG | CMD_LOCK)) {
		if ((path = home_path(cli->home, "catalog.db")) == NULL)
			goto cleanup;
		if ((cli->catalog = catalog_open(path, 0)) == NULL)
			goto cleanup;
		free(path);
		path = NULL;
	}
	if ((cmd->flags & CMD_LOCK) && (rc = cli_lock_vault(cli)) != EXIT_OK)
		goto cleanup;
	if ((cmd->flags & CMD_LOCK) && cli_reconcile(cli) != 0)
		goto cleanup;
	rc = EXIT_OK;
cleanup:
	free(path);
	free(sys);
	return rc;
}

static void
teardown(struct cli *cli)
{
	lock_release(cli->lock);
	cli->lock = NULL;
	catalog_close(cli->catalog);
	cli->catalog = NULL;
	config_free(cli->config);
	cli->config = NULL;
	free(cli->home);
	cli->home = NULL;
}

/* Fail loudly when stdout could not be written, as git's run_builtin(). */
static int
check_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnp("write failure on standard output");
		return rc == EXIT_OK ? EXIT_ERROR : rc;
	}
	if (fclose(stdout) != 0) {
		warnp("close failed on standard output");
		return rc == EXIT_OK ? EXIT_ERROR : rc;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	struct rlimit nocore = { 0, 0 };
	const struct cmd *cmd;
	const char *home_opt = NULL;
	int idx, rc = EXIT_ERROR;

	memset(&cli, 0, sizeof(cli));
	cli.wait_secs = -1;
	if ((idx = parse_globals(argc, argv, &cli, &home_opt, &rc)) < 0)
		return check_stdout(rc);
	if ((cmd = find_command(argv[idx])) == NULL)
		return check_stdout(unknown_command(argv[idx]));
	cli.cmd = cmd->name;
	warnp_quiet(cli.quiet);
	if (cmd->fn == cmd_help || cmd->fn == cmd_version)
		return check_stdout(cmd->fn(argc - idx, argv + idx, &cli));

	/*
	 * Keys and passphrases may be held from here on (secure memory is
	 * locked, not kept out of a core): no core dump, not even on the
	 * SIGQUIT a passphrase prompt re-raises, and on Linux no ptrace or
	 * /proc/PID/mem by other processes of the user.  See coffer(1),
	 * SECURITY.
	 */
	(void)setrlimit(RLIMIT_CORE, &nocore);
#ifdef __linux__
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif

	cli.home = home_opt != NULL ? util_strdup(home_opt) : home_default();
	if (cli.home == NULL)
		return check_stdout(EXIT_ERROR);
	if (!(cmd->flags & CMD_NOCRYPTO) && crypto_init() != 0)
		goto done;
	if (cli_want_help(argc - idx, argv + idx)) {
		optind = 0;
		rc = cmd->fn(argc - idx, argv + idx, &cli);
		goto done;
	}
	if ((rc = setup(cmd, &cli)) != EXIT_OK)
		goto done;
	optind = 0;
	rc = cmd->fn(argc - idx, argv + idx, &cli);
done:
	teardown(&cli);
	return check_stdout(rc);
}
