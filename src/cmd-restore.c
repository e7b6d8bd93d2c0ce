/*
 * cmd-restore.c: coffer restore: restore a set (and its chain) under a
 * directory, with a pre-restore snapshot first and a verification after;
 * coffer restore --undo ID takes one back.  The work is lib/restore.c.
 */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "age.h"
#include "backup.h"
#include "base64.h"
#include "cli.h"
#include "cli-set.h"
#include "config.h"
#include "home.h"
#include "keys.h"
#include "label.h"
#include "manifest.h"
#include "passphrase.h"
#include "restore.h"
#include "sign.h"
#include "target.h"
#include "util.h"
#include "vault.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer restore [-n] [--delete] [--host HOST] [--verify-cmd CMD] "
	"[-i IDENTITY | --passphrase-file FILE | --passphrase-fd N] "
	"--to DIR SET [PATH...]",
	"coffer restore --undo ID [--force] [--verify-cmd CMD] "
	"[-i IDENTITY | --passphrase-file FILE | --passphrase-fd N]",
	NULL,
};

enum {
	OPT_DELETE = 256,
	OPT_HOST,
	OPT_VERIFY_CMD,
	OPT_UNDO,
	OPT_FORCE,
	OPT_TO,
	OPT_JSON,
};

static const struct option longopts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "delete", no_argument, NULL, OPT_DELETE },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "verify-cmd", required_argument, NULL, OPT_VERIFY_CMD },
	{ "identity", required_argument, NULL, 'i' },
	CLI_PASSPHRASE_OPTIONS,
	{ "to", required_argument, NULL, OPT_TO },
	{ "undo", required_argument, NULL, OPT_UNDO },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the snapshot callback needs. */
struct snap {
	struct cli *cli;
	const char *vault_dir;
	const char *vault_id;
	const char *host;
};

static int
snapshot(void *cookie, const char *id, const char *const *paths, size_t n,
    char *label, size_t size)
{
	struct snap *s = cookie;
	struct backup_params p;
	struct backup_result r;
	const char **list;
	char *lbl;
	int rc = -1;

	if ((list = calloc(n + 1, sizeof(*list))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	memcpy(list, paths, n * sizeof(*list));
	if ((lbl = util_asprintf("pre-restore-%s", id)) == NULL)
		goto done;
	backup_params_init(&p);
	p.home = s->cli->home;
	p.catalog = s->cli->catalog;
	p.vault_dir = s->vault_dir;
	p.vault_id = s->vault_id;
	p.host = s->host;
	p.job = "pre-restore";
	p.paths = list;
	p.level = BACKUP_LEVEL_FULL;
	p.kind = BACKUP_KIND_PRE_RESTORE;
	p.exclude_caches = 0;
	p.label = lbl;
	p.operator_name = cli_operator(s->cli);
	p.site = config_get(s->cli->config, "site.name");
	memset(&r, 0, sizeof(r));
	if (backup_run(&p, &r) != 0)
		goto done;
	util_strlcpy(label, r.label != NULL ? r.label : lbl, size);
	rc = 0;
done:
	backup_result_clear(&r);
	free(lbl);
	free(list);
	return (rc);
}

/* The progress line on a terminal (shared with backup's). */
static void
show_progress(void *cookie, const struct restore_progress *p)
{

	(void)cookie;
	cli_progress_show(p->files, p->bytes, "written", p->rate,
	    p->total_bytes, p->final);
}

/* A path for people: raw bytes, with unprintable ones as \ooo. */
static void
print_path(FILE *fp, const char *p, size_t len)
{
	size_t i;
	unsigned char ch;

	if (manifest_utf8_valid(p, len)) {
		for (i = 0; i < len; i++) {
			ch = (unsigned char)p[i];
			if (ch < 0x20 || ch == 0x7f || ch == '\\')
				fprintf(fp, "\\%03o", ch);
			else
				fputc(ch, fp);
		}
		return;
	}
	for (i = 0; i < len; i++) {
		ch = (unsigned char)p[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '\\')
			fprintf(fp, "\\%03o", ch);
		else
			fputc(ch, fp);
	}
}

/* A path as JSON: a string when valid UTF-8, else {"b64": ...}. */
static json_t *
path_json(const char *p)
{
	size_t len = strlen(p);
	json_t *v;
	char *b;

	if (manifest_utf8_valid(p, len))
		return (json_stringn(p, len));
	if ((b = malloc(base64_encoded_len(len, 1) + 1)) == NULL)
		return (NULL);
	base64_encode(b, p, len, 1);
	v = json_pack("{s:s}", "b64", b);
	free(b);
	return (v);
}

struct plan_out {
	int json;
	json_t *list;
};

static void
plan_line(void *cookie, enum restore_action a, const char *path, size_t len)
{
	struct plan_out *po = cookie;

	if (po->json) {
		json_array_append_new(po->list, json_pack("{s:s, s:o}",
		    "action", restore_action_name(a), "path", path_json(path)));
		return;
	}
	printf("%-9s ", restore_action_name(a));
	print_path(stdout, path, len);
	putchar('\n');
}

static json_t *
problems_json(const struct restore_problem *p, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_pack("{s:o, s:s}", "path",
		    path_json(p[i].path), "what", p[i].what));
	return (a);
}

static void
print_problems(const char *kind, const struct restore_problem *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		printf("%s: ", kind);
		print_path(stdout, p[i].path, strlen(p[i].path));
		printf(": %s\n", p[i].what);
	}
}


/* The identity, unlocked in the background (cli_identity_start) while
 * the restore loads the set's chain: restore_opts' ids_wait. */
struct unlock {
	struct cli_unlock *u;
	struct age_identities *ids;
};

static const struct age_identities *
unlock_wait(void *cookie)
{
	struct unlock *ul = cookie;

	if (ul->u != NULL) {
		ul->ids = cli_identity_finish(ul->u);
		ul->u = NULL;
	}
	return (ul->ids);
}

/* Strip leading and trailing slashes of a PATH argument (in place). */
static char *
clean_path(char *p)
{
	size_t n;

	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		p[--n] = '\0';
	return (p);
}

int
cmd_restore(int argc, char **argv, struct cli *cli)
{
	struct cli_identity id = { { NULL, -1 }, NULL };
	struct restore_opts o;
	struct restore_report rep;
	struct vault_info vi;
	struct plan_out po = { 0, NULL };
	struct snap sn;
	struct unlock ul = { NULL, NULL };
	struct sign_pinned *pinned = NULL;
	struct target *t = NULL;
	const char *identity = NULL, *undo = NULL, *host = NULL, *vdir;
	const char *cfghost;
	char myhost[256], *run_id = NULL, *setarg, *slash, *details = NULL;
	char **paths = NULL;
	json_t *j = NULL;
	int c, dry = 0, del = 0, force = 0, r, rc = EXIT_ERROR, have_vi = 0;
	int i;

	memset(&o, 0, sizeof(o));
	memset(&rep, 0, sizeof(rep));
	memset(&vi, 0, sizeof(vi));
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return (EXIT_OK);
	}
	while ((c = getopt_long(argc, argv, "ni:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry = 1;
			break;
		case OPT_DELETE:
			del = 1;
			break;
		case OPT_HOST:
			host = optarg;
			break;
		case OPT_VERIFY_CMD:
			o.verify_cmd = optarg;
			break;
		case 'i':
			if (identity != NULL)
				return (cli_usage_error(usage, "-i given "
				    "twice"));
			identity = optarg;
			break;
		case CLI_OPT_PASSFILE:
		case CLI_OPT_PASSFD:
			if (cli_passphrase_opt(c, optarg, &id.src, usage) != 0)
				return (EXIT_USAGE);
			break;
		case OPT_TO:
			o.dest = optarg;
			break;
		case OPT_UNDO:
			undo = optarg;
			break;
		case OPT_FORCE:
			force = 1;
			break;
		case OPT_JSON:
			cli->json = 1;
			break;
		default:
			return (cli_usage_error(usage, "bad option"));
		}
	}
	if (undo != NULL) {
		if (optind < argc || o.dest != NULL || dry || del ||
		    host != NULL)
			return (cli_usage_error(usage, "--undo takes no SET, "
			    "PATH, --to, --dry-run, --delete or --host"));
		if (!restore_id_valid(undo))
			return (cli_usage_error(usage, "invalid restore id "
			    "'%s'", undo));
	} else {
		if (optind >= argc)
			return (cli_usage_error(usage, "no SET given"));
		if (o.dest == NULL)
			return (cli_usage_error(usage, "--to DIR is required "
			    "(use --to / to restore in place)"));
		if (force)
			return (cli_usage_error(usage, "--force goes with "
			    "--undo"));
	}

	/* The vault, its id, this host. */
	if ((vdir = cli_vault_path(cli)) == NULL)
		goto done;
	if (vault_read(vdir, &vi) != 0)
		goto done;
	have_vi = 1;
	cfghost = config_get(cli->config, "core.host");
	if (cfghost != NULL && *cfghost != '\0')
		util_strlcpy(myhost, cfghost, sizeof(myhost));
	else
		home_hostname(myhost, sizeof(myhost));
	if ((run_id = target_run_id_new()) == NULL ||
	    (t = target_open_local(vdir, myhost, run_id)) == NULL)
		goto done;
	if ((pinned = keys_pinned_load(cli->home)) == NULL)
		goto done;

	if (undo == NULL) {
		setarg = argv[optind++];
		if ((slash = strchr(setarg, '/')) != NULL) {
			*slash = '\0';
			if (host != NULL && strcmp(host, setarg) != 0)
				return (cli_usage_error(usage, "--host and "
				    "SET name different hosts"));
			host = setarg;
			setarg = slash + 1;
		}
		if (!label_valid(setarg) || (host != NULL &&
		    !label_valid(host))) {
			rc = cli_usage_error(usage, "invalid set '%s'", setarg);
			goto done;
		}
		o.label = setarg;
		if ((paths = calloc((size_t)(argc - optind) + 1,
		    sizeof(*paths))) == NULL)
			goto done;
		for (i = 0; optind < argc; i++)
			paths[i] = clean_path(argv[optind++]);
		o.paths = (const char *const *)paths;
		o.npaths = (size_t)i;
	}

	/* The identity: -i FILE, else the vault's protected identity. */
	id.file = identity;
	if ((ul.u = cli_identity_start(cli, &id)) == NULL)
		goto done;

	sn.cli = cli;
	sn.vault_dir = vdir;
	sn.vault_id = vi.id;
	sn.host = myhost;
	o.home = cli->home;
	o.target = t;
	o.host = host != NULL ? host : myhost;
	o.pinned = pinned;
	o.ids_wait = unlock_wait;
	o.ids_cookie = &ul;
	o.flags = (dry ? RESTORE_DRY_RUN : 0) | (del ? RESTORE_DELETE : 0) |
	    (force ? RESTORE_FORCE : 0);
	o.snapshot = snapshot;
	o.snapshot_cookie = &sn;
	if (!dry && !cli->quiet && cli_is_tty(2))
		o.progress = show_progress;
	po.json = cli->json;
	if (dry) {
		if (cli->json && (po.list = json_array()) == NULL)
			goto done;
		o.plan = plan_line;
		o.plan_cookie = &po;
	}

	r = undo != NULL ? restore_undo(&o, undo, &rep) : restore_run(&o, &rep);
	if (r == -3)
		rc = EXIT_DAMAGE;
	else if (r < 0)
		rc = EXIT_ERROR;
	else
		rc = r == 0 ? EXIT_OK : EXIT_DAMAGE;

	if (rep.id[0] != '\0') {
		details = NULL;
		j = json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I}", "id", rep.id,
		    "set", rep.set, "undo_of", undo,
		    "files", (json_int_t)rep.verified,
		    "mismatches", (json_int_t)rep.mismatches,
		    "failed", (json_int_t)rep.nfailed);
		if (j != NULL)
			details = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
		j = NULL;
		if (details == NULL || cli_audit(cli, undo != NULL ?
		    "restore.undo" : "restore", undo != NULL ? undo : rep.set,
		    details) != 0) {
			warn0("cannot record the audit event");
			if (rc == EXIT_OK)
				rc = EXIT_ERROR;
		}
	}
	if (r < 0 && r != -3 && rep.id[0] == '\0')
		goto done;

	if (cli->json) {
		j = json_pack("{s:s?, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:o, s:o, s:b}",
		    "id", rep.id[0] ? rep.id : NULL,
		    "set", rep.set[0] ? rep.set : NULL,
		    "pre_restore", rep.pre_restore[0] ? rep.pre_restore : NULL,
		    "undo_of", undo,
		    "created", (json_int_t)rep.created,
		    "overwritten", (json_int_t)rep.overwritten,
		    "unchanged", (json_int_t)rep.unchanged,
		    "deleted", (json_int_t)rep.deleted,
		    "verified", (json_int_t)rep.verified,
		    "mismatches", (json_int_t)rep.mismatches,
		    "failed", problems_json(rep.failed, rep.nfailed),
		    "mismatched", problems_json(rep.bad, rep.nbad),
		    "dry_run", dry);
		if (j != NULL && po.list != NULL) {
			json_object_set(j, "plan", po.list);
		}
		if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) |
		    JSON_SORT_KEYS) != 0) {
			warn0("cannot write the report");
			rc = EXIT_ERROR;
		}
		putchar('\n');
	} else if (dry) {
		if (!cli->quiet)
			printf("dry run: %llu to create, %llu to overwrite, "
			    "%llu unchanged, %llu to delete\n",
			    (unsigned long long)rep.created,
			    (unsigned long long)rep.overwritten,
			    (unsigned long long)rep.unchanged,
			    (unsigned long long)rep.deleted);
	} else if (rep.id[0] != '\0') {
		printf("restore %s%s%s: %llu created, %llu overwritten, "
		    "%llu unchanged, %llu deleted\n", rep.id,
		    undo != NULL ? " undoes " : "", undo != NULL ? undo : "",
		    (unsigned long long)rep.created,
		    (unsigned long long)rep.overwritten,
		    (unsigned long long)rep.unchanged,
		    (unsigned long long)rep.deleted);
		if (rep.pre_restore[0] != '\0')
			printf("pre-restore set %s\n", rep.pre_restore);
		printf("verified %llu paths: %llu mismatches, %llu not "
		    "restored%s\n", (unsigned long long)rep.verified,
		    (unsigned long long)rep.mismatches,
		    (unsigned long long)rep.nfailed,
		    rep.verify_cmd_failed ? "; the verify command failed" :
		    "");
		print_problems("not restored", rep.failed, rep.nfailed);
		print_problems("mismatch", rep.bad, rep.nbad);
	}
done:
	json_decref(j);
	json_decref(po.list);
	free(details);
	restore_report_clear(&rep);
	cli_identity_cancel(ul.u);
	age_identities_free(ul.ids);
	sign_pinned_free(pinned);
	target_free(t);
	free(run_id);
	free(paths);
	if (have_vi)
		vault_info_release(&vi);
	return (rc);
}
