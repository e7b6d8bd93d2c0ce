/*
 * cmd-ls.c: coffer ls SET [PATH]: the files of a set as its manifest lists
 * them.  A diff or incr manifest lists the whole tree at that set (files
 * whose data an earlier set holds carry "in"), so no parent is read.
 * Names are raw bytes and are printed escaped (cli_print_name).
 */
#include "compat.h"

#include <getopt.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "age.h"
#include "cli.h"
#include "cli-set.h"
#include "manifest.h"
#include "set.h"
#include "util.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer ls [--json] [-l] [--deleted] [-i IDENTITY] "
	"[--passphrase-file FILE | --passphrase-fd N] SET [PATH]",
	NULL,
};

static char
type_char(const struct manifest_entry *e)
{

	if (e->deleted)
		return ('x');
	switch (e->type) {
	case MANIFEST_DIR:
		return ('d');
	case MANIFEST_SYMLINK:
		return ('l');
	case MANIFEST_HARDLINK:
		return ('h');
	case MANIFEST_FIFO:
		return ('p');
	case MANIFEST_CHR:
		return ('c');
	case MANIFEST_BLK:
		return ('b');
	case MANIFEST_FILE:
		return ('-');
	default:
		return ('?');
	}
}

static void
mode_string(uint32_t m, char out[10])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	for (i = 0; i < 9; i++)
		out[i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & 04000)
		out[2] = (m & 0100) ? 's' : 'S';
	if (m & 02000)
		out[5] = (m & 0010) ? 's' : 'S';
	if (m & 01000)
		out[8] = (m & 0001) ? 't' : 'T';
	out[9] = '\0';
}

static void
print_long(const struct manifest_entry *e)
{
	char mode[10], owner[64], group[64], when[32];
	struct tm tm;
	time_t t;

	if (e->has_mode)
		mode_string(e->mode, mode);
	else
		util_strlcpy(mode, "?????????", sizeof(mode));
	if (e->user != NULL)
		snprintf(owner, sizeof(owner), "%s", e->user);
	else if (e->has_owner)
		snprintf(owner, sizeof(owner), "%u", e->uid);
	else
		util_strlcpy(owner, "-", sizeof(owner));
	if (e->group != NULL)
		snprintf(group, sizeof(group), "%s", e->group);
	else if (e->has_owner)
		snprintf(group, sizeof(group), "%u", e->gid);
	else
		util_strlcpy(group, "-", sizeof(group));
	t = (time_t)e->mtime;
	if (e->has_mtime && gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	else
		util_strlcpy(when, "-", sizeof(when));
	printf("%c%s %-8s %-8s %12llu %s ", type_char(e), mode, owner, group,
	    (unsigned long long)(e->has_size ? e->size : 0), when);
	cli_print_name(stdout, e->path, e->path_len);
	if (e->target != NULL && e->type == MANIFEST_SYMLINK) {
		fputs(" -> ", stdout);
		cli_print_name(stdout, e->target, e->target_len);
	} else if (e->target != NULL && e->type == MANIFEST_HARDLINK) {
		fputs(" link to ", stdout);
		cli_print_name(stdout, e->target, e->target_len);
	}
	if (e->in != NULL)
		printf(" (in %s)", e->in);
	if (e->deleted)
		fputs(" (deleted)", stdout);
	fputc('\n', stdout);
}

/* under(e, prefix, len): 1 when e is prefix or below it. */
static int
under(const struct manifest_entry *e, const char *prefix, size_t len)
{

	if (len == 0)
		return (1);
	if (e->path_len < len || memcmp(e->path, prefix, len) != 0)
		return (0);
	return (e->path_len == len || e->path[len] == '/');
}

static json_t *
entry_json(const struct manifest_entry *e)
{
	json_error_t err;
	json_t *o;
	size_t len;
	char *line;

	if ((line = manifest_entry_to_json(e, &len)) == NULL)
		return (NULL);
	o = json_loadb(line, len, 0, &err);
	free(line);
	return (o);
}

int
cmd_ls(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "long", no_argument, NULL, 'l' },
		{ "deleted", no_argument, NULL, 'D' },
		{ "identity", required_argument, NULL, 'i' },
		CLI_PASSPHRASE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_identity id = { { NULL, -1 }, NULL };
	struct age_identities *ids = NULL;
	struct manifest_entry *ents = NULL;
	struct set_header h;
	struct cli_vault v;
	const char *prefix = "";
	size_t n = 0, i, plen = 0, shown = 0;
	json_t *arr = NULL, *o;
	int c, r, json = cli->json, lng = 0, deleted = 0, rc = EXIT_ERROR;

	memset(&v, 0, sizeof(v));
	set_header_init(&h);
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return (EXIT_OK);
	}
	while ((c = getopt_long(argc, argv, "hli:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'l':
			lng = 1;
			break;
		case 'D':
			deleted = 1;
			break;
		case 'i':
			id.file = optarg;
			break;
		case CLI_OPT_PASSFILE:
		case CLI_OPT_PASSFD:
			if (cli_passphrase_opt(c, optarg, &id.src, usage) != 0)
				return (EXIT_USAGE);
			break;
		default:
			return (cli_usage_error(usage, "unknown option"));
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return (cli_usage_error(usage, argc - optind < 1 ? "which "
		    "set?" : "too many arguments"));
	if (argc - optind == 2) {
		prefix = argv[optind + 1];
		while (*prefix == '/')
			prefix++;
		plen = strlen(prefix);
		while (plen > 0 && prefix[plen - 1] == '/')
			plen--;
	}
	if (cli_vault_open(cli, &v) != 0)
		goto cleanup;
	if ((r = cli_set_load(cli, &v, argv[optind], &h, 0)) != SET_LOAD_OK) {
		if (r == SET_LOAD_BAD)
			rc = EXIT_DAMAGE;
		goto cleanup;
	}
	if ((ids = cli_identity_load(cli, &id)) == NULL)
		goto cleanup;
	if ((r = cli_manifest_load(&v, &h, ids, &ents, &n)) != 0) {
		if (r == -2)
			rc = EXIT_DAMAGE;
		goto cleanup;
	}
	if (json && (arr = json_array()) == NULL)
		goto cleanup;
	for (i = 0; i < n; i++) {
		if (!under(&ents[i], prefix, plen))
			continue;
		if (ents[i].deleted && !deleted)
			continue;
		shown++;
		if (json) {
			if ((o = entry_json(&ents[i])) == NULL ||
			    json_array_append_new(arr, o) != 0)
				goto cleanup;
		} else if (lng)
			print_long(&ents[i]);
		else {
			cli_print_name(stdout, ents[i].path,
			    ents[i].path_len);
			if (ents[i].deleted)
				fputs(" (deleted)", stdout);
			fputc('\n', stdout);
		}
	}
	if (plen > 0 && shown == 0) {
		warn0("no path '%.*s' in set '%s/%s'", (int)plen, prefix,
		    h.host, h.label);
		goto cleanup;
	}
	if (json) {
		o = arr;
		arr = NULL;
		if (cli_json_print(o) != 0)
			goto cleanup;
	}
	rc = EXIT_OK;
cleanup:
	json_decref(arr);
	cli_manifest_free(ents, n);
	age_identities_free(ids);
	set_header_clear(&h);
	cli_vault_close(&v);
	return (rc);
}
