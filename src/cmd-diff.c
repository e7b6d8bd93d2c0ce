/*
 * cmd-diff.c: coffer diff SET1 SET2: what was added, removed and modified
 * between two sets, by comparing their manifests (both sorted by raw path,
 * then merged).  Entries marked deleted count as absent.
 */
#include "compat.h"

#include <getopt.h>
#include <stdlib.h>

#include <jansson.h>

#include "age.h"
#include "cli.h"
#include "cli-set.h"
#include "manifest.h"
#include "set.h"
#include "util.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer diff [--json] [-i IDENTITY] "
	"[--passphrase-file FILE | --passphrase-fd N] SET1 SET2",
	NULL,
};

/* What differs between two entries of the same path. */
enum change {
	CH_TYPE = 1 << 0,
	CH_SIZE = 1 << 1,
	CH_MTIME = 1 << 2,
	CH_SHA256 = 1 << 3,
	CH_MODE = 1 << 4,
	CH_OWNER = 1 << 5,
	CH_TARGET = 1 << 6,
};

static const char *const change_names[] = {
	"type", "size", "mtime", "sha256", "mode", "owner", "target",
};

/* Owner names differ: both known and not equal (an unchanged file of an
 * incremental set may carry only the numeric ids). */
static int
names_differ(const char *a, const char *b)
{

	return (a != NULL && b != NULL && strcmp(a, b) != 0);
}

static int
changes(const struct manifest_entry *a, const struct manifest_entry *b)
{
	int c = 0;

	if (a->type != b->type)
		c |= CH_TYPE;
	if (a->has_size != b->has_size || (a->has_size && a->size != b->size))
		c |= CH_SIZE;
	if (a->has_mtime != b->has_mtime || (a->has_mtime &&
	    (a->mtime != b->mtime || a->mtime_nsec != b->mtime_nsec)))
		c |= CH_MTIME;
	if (a->has_sha256 && b->has_sha256 &&
	    memcmp(a->sha256, b->sha256, sizeof(a->sha256)) != 0)
		c |= CH_SHA256;
	if (a->has_sha256 != b->has_sha256 && a->type == b->type)
		c |= CH_SHA256;
	if (a->has_mode != b->has_mode || (a->has_mode && a->mode != b->mode))
		c |= CH_MODE;
	if (a->has_owner != b->has_owner || (a->has_owner &&
	    (a->uid != b->uid || a->gid != b->gid)) ||
	    names_differ(a->user, b->user) || names_differ(a->group, b->group))
		c |= CH_OWNER;
	if (a->target_len != b->target_len || (a->target != NULL &&
	    b->target != NULL && memcmp(a->target, b->target,
	    a->target_len) != 0) || (a->target == NULL) != (b->target == NULL))
		c |= CH_TARGET;
	return (c);
}

struct out {
	int json;
	json_t *added, *removed, *modified;
	unsigned long long nadded, nremoved, nmodified;
};

static int
emit(struct out *o, char what, const struct manifest_entry *e, int c)
{
	json_t *j, *f;
	size_t i;

	if (what == '+')
		o->nadded++;
	else if (what == '-')
		o->nremoved++;
	else
		o->nmodified++;
	if (!o->json) {
		printf("%c ", what);
		cli_print_name(stdout, e->path, e->path_len);
		for (i = 0; i < ARRAY_SIZE(change_names); i++)
			if (c & (1 << i))
				printf("%s%s", (c & ((1 << i) - 1)) ? "," :
				    " (", change_names[i]);
		printf("%s\n", c ? ")" : "");
		return (0);
	}
	if ((j = json_object()) == NULL ||
	    cli_json_path(j, "path", "path_b64", e->path, e->path_len) != 0) {
		json_decref(j);
		return (-1);
	}
	if (what == 'M') {
		if ((f = json_array()) == NULL) {
			json_decref(j);
			return (-1);
		}
		for (i = 0; i < ARRAY_SIZE(change_names); i++)
			if (c & (1 << i))
				json_array_append_new(f,
				    json_string(change_names[i]));
		json_object_set_new(j, "changes", f);
	}
	return (json_array_append_new(what == '+' ? o->added : what == '-' ?
	    o->removed : o->modified, j));
}

static int
load(struct cli *cli, struct cli_vault *v, const char *spec,
    const struct cli_identity *id, struct age_identities **ids,
    struct set_header *h, struct manifest_entry **ents, size_t *n)
{
	int r;

	if ((r = cli_set_load(cli, v, spec, h, 0)) != SET_LOAD_OK)
		return (r == SET_LOAD_BAD ? EXIT_DAMAGE : EXIT_ERROR);
	if (*ids == NULL && (*ids = cli_identity_load(cli, id)) == NULL)
		return (EXIT_ERROR);
	if ((r = cli_manifest_load(v, h, *ids, ents, n)) != 0)
		return (r == -2 ? EXIT_DAMAGE : EXIT_ERROR);
	return (EXIT_OK);
}

int
cmd_diff(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "identity", required_argument, NULL, 'i' },
		CLI_PASSPHRASE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_identity id = { { NULL, -1 }, NULL };
	struct age_identities *ids = NULL;
	struct manifest_entry *a = NULL, *b = NULL;
	struct set_header ha, hb;
	struct cli_vault v;
	struct out o;
	size_t na = 0, nb = 0, i = 0, j = 0;
	json_t *res;
	int c, cmp, rc = EXIT_ERROR;

	memset(&v, 0, sizeof(v));
	memset(&o, 0, sizeof(o));
	o.json = cli->json;
	set_header_init(&ha);
	set_header_init(&hb);
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return (EXIT_OK);
	}
	while ((c = getopt_long(argc, argv, "hi:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = 1;
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
	if (argc - optind != 2)
		return (cli_usage_error(usage, "two sets needed"));
	if (cli_vault_open(cli, &v) != 0)
		goto cleanup;
	if ((rc = load(cli, &v, argv[optind], &id, &ids, &ha, &a, &na)) !=
	    EXIT_OK ||
	    (rc = load(cli, &v, argv[optind + 1], &id, &ids, &hb, &b, &nb)) !=
	    EXIT_OK)
		goto cleanup;
	rc = EXIT_ERROR;
	if (o.json && ((o.added = json_array()) == NULL ||
	    (o.removed = json_array()) == NULL ||
	    (o.modified = json_array()) == NULL))
		goto cleanup;
	while (i < na || j < nb) {
		if (i < na && a[i].deleted) {
			i++;
			continue;
		}
		if (j < nb && b[j].deleted) {
			j++;
			continue;
		}
		if (i == na)
			cmp = 1;
		else if (j == nb)
			cmp = -1;
		else
			cmp = cli_path_cmp(a[i].path, a[i].path_len, b[j].path,
			    b[j].path_len);
		if (cmp < 0) {
			if (emit(&o, '-', &a[i++], 0) != 0)
				goto cleanup;
		} else if (cmp > 0) {
			if (emit(&o, '+', &b[j++], 0) != 0)
				goto cleanup;
		} else {
			if ((c = changes(&a[i], &b[j])) != 0 &&
			    emit(&o, 'M', &b[j], c) != 0)
				goto cleanup;
			i++;
			j++;
		}
	}
	if (o.json) {
		if ((res = json_object()) == NULL)
			goto cleanup;
		json_object_set_new(res, "from", json_string(ha.label));
		json_object_set_new(res, "to", json_string(hb.label));
		json_object_set(res, "added", o.added);
		json_object_set(res, "removed", o.removed);
		json_object_set(res, "modified", o.modified);
		if (cli_json_print(res) != 0)
			goto cleanup;
	} else if (!cli->quiet)
		fprintf(stderr, "%llu added, %llu removed, %llu modified\n",
		    o.nadded, o.nremoved, o.nmodified);
	rc = EXIT_OK;
cleanup:
	json_decref(o.added);
	json_decref(o.removed);
	json_decref(o.modified);
	cli_manifest_free(a, na);
	cli_manifest_free(b, nb);
	age_identities_free(ids);
	set_header_clear(&ha);
	set_header_clear(&hb);
	cli_vault_close(&v);
	return (rc);
}
