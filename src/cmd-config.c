/*
 * cmd-config.c: coffer config get | set | unset | list.
 */
#include "compat.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <strings.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "home.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer config get [--all] KEY",
	"coffer config set [--add] KEY VALUE",
	"coffer config unset [--all] KEY",
	"coffer config list [--json]",
	NULL
};

/* Names that would hold a secret: refused, secrets come from files. */
static const char *const secret_names[] = {
	"secret", "password", "passphrase", "passwd", "token"
};

/* secret_key(key): the name part of key (after the last dot) names a
 * secret: "secret", "password", ... or ends in "-secret", .... */
static int
secret_key(const char *key)
{
	const char *name, *p;
	size_t i, n, len;

	name = (p = strrchr(key, '.')) != NULL ? p + 1 : key;
	len = strlen(name);
	for (i = 0; i < ARRAY_SIZE(secret_names); i++) {
		n = strlen(secret_names[i]);
		if (len < n || strcasecmp(name + len - n, secret_names[i]) != 0)
			continue;
		if (len == n || name[len - n - 1] == '-')
			return 1;
	}
	return 0;
}

/*
 * parse_opts(argc, argv, longopts, flagp): run getopt_long over a verb's
 * arguments (argv[0] is the verb); an option sets *flagp.  Returns the
 * index of the first operand, or -1 after a usage error.
 */
static int
parse_opts(int argc, char **argv, const struct option *longopts, int *flagp)
{
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			*flagp = 1;
			break;
		default:
			cli_usage_error(usage, "unknown option '%s'",
			    argv[optind - 1]);
			return -1;
		}
	}
	return optind;
}

/* print_json(v): v on stdout, indented, then a newline; consumes v. */
static int
print_json(json_t *v)
{
	int rc;

	if (v == NULL) {
		warn0("cannot build JSON output");
		return EXIT_ERROR;
	}
	rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	json_decref(v);
	if (rc != 0) {
		warn0("cannot write JSON output");
		return EXIT_ERROR;
	}
	putchar('\n');
	return EXIT_OK;
}

static int
config_get_verb(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const char **values = NULL;
	const char *v;
	char *key = NULL;
	json_t *arr = NULL, *s;
	size_t i, n = 0;
	int all = 0, first, rc = EXIT_ERROR;

	if ((first = parse_opts(argc, argv, longopts, &all)) < 0)
		return EXIT_USAGE;
	if (argc - first != 1)
		return cli_usage_error(usage, "config get takes one KEY");
	if (config_key_normalize(argv[first], &key) != 0)
		goto cleanup;
	if (!all) {
		if ((v = config_get(cli->config, key)) == NULL)
			goto cleanup;
		if (cli->json) {
			if ((s = json_string(v)) == NULL) {
				warn0("value of '%s' is not valid UTF-8", key);
				goto cleanup;
			}
			rc = print_json(s);
			goto cleanup;
		}
		printf("%s\n", v);
		rc = EXIT_OK;
		goto cleanup;
	}
	if (config_get_all(cli->config, key, &values, &n) != 0 || n == 0)
		goto cleanup;
	if (cli->json) {
		if ((arr = json_array()) == NULL)
			goto cleanup;
		for (i = 0; i < n; i++) {
			if ((s = json_string(values[i])) == NULL) {
				warn0("value of '%s' is not valid UTF-8", key);
				goto cleanup;
			}
			json_array_append_new(arr, s);
		}
		rc = print_json(arr);
		arr = NULL;
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		printf("%s\n", values[i]);
	rc = EXIT_OK;
cleanup:
	json_decref(arr);
	free(values);
	free(key);
	return rc;
}

/*
 * audit(cli, action, key, details): record the change; details is
 * consumed.  Returns 0 or -1 (reported).
 */
static int
audit(struct cli *cli, const char *action, const char *key, json_t *details)
{
	char *text = NULL;
	int rc = -1;

	if (details == NULL ||
	    (text = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL) {
		warn0("cannot record '%s' of '%s': cannot build details",
		    action, key);
		goto cleanup;
	}
	if (cli_audit(cli, action, key, text) != 0) {
		warn0("'%s' was changed but the audit event was not recorded",
		    key);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(text);
	json_decref(details);
	return rc;
}

static int
config_set_verb(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "add", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	char *key = NULL, *path = NULL;
	const char *value;
	json_t *details;
	int add = 0, first, rc = EXIT_ERROR;

	if ((first = parse_opts(argc, argv, longopts, &add)) < 0)
		return EXIT_USAGE;
	if (argc - first != 2)
		return cli_usage_error(usage,
		    "config set takes a KEY and a VALUE");
	value = argv[first + 1];
	if (config_key_normalize(argv[first], &key) != 0)
		goto cleanup;
	if (secret_key(key)) {
		warn0("refusing to store '%s' in the config file: secrets are "
		    "given in files or descriptors (e.g. --passphrase-file), "
		    "never in the config", key);
		goto cleanup;
	}
	if ((path = home_path(cli->home, "config")) == NULL)
		goto cleanup;
	if (config_set(path, argv[first], value, add ? CONFIG_ADD : 0) != 0)
		goto cleanup;
	/* A value that is not UTF-8 is recorded as null. */
	details = json_pack("{s:o?, s:s}", "value", json_string(value),
	    "mode", add ? "add" : "replace");
	if (audit(cli, "config.set", key, details) != 0)
		goto cleanup;
	rc = EXIT_OK;
cleanup:
	free(path);
	free(key);
	return rc;
}

static int
config_unset_verb(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	char *key = NULL, *path = NULL;
	int all = 0, first, r, rc = EXIT_ERROR;

	if ((first = parse_opts(argc, argv, longopts, &all)) < 0)
		return EXIT_USAGE;
	if (argc - first != 1)
		return cli_usage_error(usage, "config unset takes one KEY");
	if (config_key_normalize(argv[first], &key) != 0)
		goto cleanup;
	if ((path = home_path(cli->home, "config")) == NULL)
		goto cleanup;
	if ((r = config_unset(path, argv[first], all)) < 0)
		goto cleanup;
	if (r == 1) {
		warn0("'%s' is not set in '%s'", key, path);
		goto cleanup;
	}
	if (audit(cli, "config.unset", key,
	    json_pack("{s:b}", "all", all)) != 0)
		goto cleanup;
	rc = EXIT_OK;
cleanup:
	free(path);
	free(key);
	return rc;
}

/* list_one: config_foreach callback for the plain listing. */
static int
list_one(const char *key, const char *value, const char *file, int line,
    void *cookie)
{
	(void)file;
	(void)line;
	(void)cookie;
	printf("%s=%s\n", key, value);
	return 0;
}

/* list_json_one: config_foreach callback adding {key, value, file, line}. */
static int
list_json_one(const char *key, const char *value, const char *file, int line,
    void *cookie)
{
	json_t *arr = cookie, *o;

	o = json_pack("{s:s, s:s, s:s, s:i}", "key", key, "value", value,
	    "file", file, "line", line);
	if (o == NULL) {
		warn0("cannot list '%s': not valid UTF-8", key);
		return -1;
	}
	return json_array_append_new(arr, o) != 0 ? -1 : 0;
}

static int
config_list_verb(int argc, char **argv, struct cli *cli)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *arr;
	int json = cli->json, first;

	if ((first = parse_opts(argc, argv, longopts, &json)) < 0)
		return EXIT_USAGE;
	if (argc - first != 0)
		return cli_usage_error(usage, "config list takes no operands");
	if (!json)
		return config_foreach(cli->config, list_one, NULL) == 0 ?
		    EXIT_OK : EXIT_ERROR;
	if ((arr = json_array()) == NULL)
		return EXIT_ERROR;
	if (config_foreach(cli->config, list_json_one, arr) != 0) {
		json_decref(arr);
		return EXIT_ERROR;
	}
	return print_json(arr);
}

int
cmd_config(int argc, char **argv, struct cli *cli)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **, struct cli *);
	} verbs[] = {
		{ "get", config_get_verb },
		{ "set", config_set_verb },
		{ "unset", config_unset_verb },
		{ "list", config_list_verb },
	};
	size_t i;

	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(usage, "config needs a subcommand");
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(argc - 1, argv + 1, cli);
	return cli_usage_error(usage, "unknown config subcommand '%s'",
	    argv[1]);
}
