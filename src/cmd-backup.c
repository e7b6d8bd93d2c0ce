#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "backup.h"
#include "catalog.h"
#include "cli.h"
#include "config.h"
#include "home.h"
#include "keys.h"
#include "label.h"
#include "lock.h"
#include "reconcile.h"
#include "sign.h"
#include "target.h"
#include "util.h"
#include "vault.h"
#include "warnp.h"

static const char *const usage[] = {
	"coffer backup [--level LEVEL] [--label LABEL] [--exclude PATTERN]... "
	"[--exclude-file FILE] [--one-file-system] [--volume-size SIZE] "
	"[--strict] [--verify] [--json] [JOB | PATH...]",
	NULL,
};

/* The vault's id and catalog row.  0, or -1 (reported). */
static int
vault_ids(struct cli *cli, const char *dir, char *id, size_t idlen,
    long long *row)
{
	struct vault_info vi;
	struct catalog_vault v;
	int r;

	memset(&vi, 0, sizeof(vi));
	if (vault_read(dir, &vi) != 0)
		return (-1);
	util_strlcpy(id, vi.id, idlen);
	vault_info_release(&vi);
	memset(&v, 0, sizeof(v));
	if ((r = catalog_vault_find(cli->catalog, id, &v)) < 0)
		return (-1);
	if (r == 0) {
		warn0("vault '%s' (%s) is not in the catalog", dir, id);
		return (-1);
	}
	*row = v.id;
	catalog_vault_clear(&v);
	return (0);
}

int
cli_reconcile(struct cli *cli)
{
	struct reconcile_result res;
	struct audit_event tmpl;
	struct sign_pinned *pinned = NULL;
	struct target *t = NULL;
	const char *dir;
	char host[LABEL_MAX + 1], id[64], *run_id = NULL;
	long long row;
	int rc = -1;

	if (cli->catalog == NULL || cli->config == NULL)
		return (0);
	if ((dir = config_get(cli->config, "vault.path")) == NULL)
		return (0);
	if (!vault_is_vault(dir)) {
		warning("'%s' is not a vault (not mounted?): not reconciled",
		    dir);
		return (0);
	}
	cli_host(cli, host, sizeof(host));
	if (!label_valid(host))
		return (0);
	if (vault_ids(cli, dir, id, sizeof(id), &row) != 0)
		goto cleanup;
	if ((pinned = keys_pinned_load(cli->home)) == NULL)
		goto cleanup;
	if ((run_id = target_run_id_new()) == NULL ||
	    (t = target_open_local(dir, host, run_id)) == NULL)
		goto cleanup;
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.operator_name = cli_operator(cli);
	tmpl.host = host;
	tmpl.site = config_get(cli->config, "site.name");
	if (reconcile_vault(cli->catalog, t, row, host, pinned, &tmpl,
	    &res) != 0)
		goto cleanup;
	if (cli->verbose && (res.added || res.removed || res.parts ||
	    res.uncommitted))
		fprintf(stderr, "reconciled vault '%s': %lu set(s) added, "
		    "%lu removed, %lu part(s) and %lu uncommitted set(s) "
		    "cleaned up\n", dir, res.added, res.removed, res.parts,
		    res.uncommitted);
	rc = 0;
cleanup:
	if (rc != 0)
		warning("the catalog was not reconciled with vault '%s'", dir);
	target_free(t);
	free(run_id);
	sign_pinned_free(pinned);
	return (0);
}

/* ------------------------------------------------------------ progress */

static void
show_progress(void *cookie, const struct backup_progress *p)
{

	(void)cookie;
	cli_progress_show(p->files, p->bytes, "read", p->rate, p->total_bytes,
	    p->final);
}

/* --------------------------------------------------------------- hooks */

/* Run a job's hook command with sh -c; its exit status, or -1. */
static int
run_hook(const char *what, const char *cmd, const char *job,
    const char *status, const char *error)
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		warnp("cannot run %s", what);
		return (-1);
	}
	if (pid == 0) {
		setenv("COFFER_JOB", job, 1);
		if (status != NULL)
			setenv("COFFER_STATUS", status, 1);
		if (error != NULL)
			setenv("COFFER_ERROR", error, 1);
		unsetenv("COFFER_PASSPHRASE");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			warnp("cannot wait for %s", what);
			return (-1);
		}
	if (WIFEXITED(st))
		return (WEXITSTATUS(st));
	return (128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0));
}

/* ------------------------------------------------------------- options */

/* A size: digits with an optional k/M/G/T suffix (binary).  0 or -1. */
static int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s == '-')
		return (-1);
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	default:
		return (-1);
	}
	if (*end != '\0' && end[1] != '\0' && strcasecmp(end + 1, "iB") != 0 &&
	    strcasecmp(end + 1, "B") != 0)
		return (-1);
	if (shift > 0 && v > (UINT64_MAX >> shift))
		return (-1);
	*out = (uint64_t)v << shift;
	return (*out > 0 ? 0 : -1);
}

/* A growable NULL-terminated list of strings (not owned). */
struct strv {
	const char **v;
	size_t n;
};

static int
strv_add(struct strv *l, const char *s)
{
	const char **v;

	if ((v = realloc(l->v, (l->n + 2) * sizeof(*v))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	l->v = v;
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	return (0);
}

static int
strv_add_all(struct strv *l, const struct config *c, const char *key)
{
	const char **vals = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (config_get_all(c, key, &vals, &n) != 0)
		return (-1);
	for (i = 0; i < n && rc == 0; i++)
		rc = strv_add(l, vals[i]);
	free(vals);
	return (rc);
}

/* 1 when name is a [backup "NAME"] section of the config. */
static int
is_job(const struct config *c, const char *name)
{
	const char **names = NULL;
	size_t n = 0, i;
	int found = 0;

	if (strchr(name, '/') != NULL ||
	    config_subsections(c, "backup", &names, &n) != 0)
		return (0);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			found = 1;
	free(names);
	return (found);
}

/* Read the job's keys into p (before the command line overrides). */
static int
load_job(const struct config *c, const char *job, struct backup_params *p,
    struct strv *paths, struct strv *excl, struct strv *exfiles,
    const char **pre, const char **post, const char **onfail)
{
	char key[256];
	const char *v;
	unsigned long long size;
	long long n;
	int b, r;

#define KEY(name) (snprintf(key, sizeof(key), "backup.%s.%s", job, name), key)
	if (strv_add_all(paths, c, KEY("path")) != 0 ||
	    strv_add_all(excl, c, KEY("exclude")) != 0 ||
	    strv_add_all(exfiles, c, KEY("exclude-file")) != 0)
		return (-1);
	if ((v = config_get(c, KEY("level"))) != NULL &&
	    backup_level_parse(v, &p->level) != 0) {
		warn0("bad value '%s' for '%s': full, diff, incr or auto", v,
		    key);
		return (-1);
	}
	if ((r = config_get_duration(c, KEY("full-every"), &n)) < 0)
		return (-1);
	if (r > 0)
		p->full_every = n;
	if ((r = config_get_size(c, KEY("volume-size"), &size)) < 0)
		return (-1);
	if (r > 0)
		p->volume_size = size;
	if ((r = config_get_int(c, KEY("compression"), &n)) < 0)
		return (-1);
	if (r > 0) {
		if (n < 1 || n > 19) {
			warn0("bad value '%lld' for '%s': 1 to 19", n, key);
			return (-1);
		}
		p->zstd_level = (int)n;
	}
	b = p->one_file_system;
	if (config_get_bool(c, KEY("one-file-system"), &b) < 0)
		return (-1);
	p->one_file_system = b;
	b = p->exclude_caches;
	if (config_get_bool(c, KEY("exclude-caches"), &b) < 0)
		return (-1);
	p->exclude_caches = b;
	b = p->strict;
	if (config_get_bool(c, KEY("strict"), &b) < 0)
		return (-1);
	p->strict = b;
	b = p->verify;
	if (config_get_bool(c, KEY("verify"), &b) < 0)
		return (-1);
	p->verify = b;
	*pre = config_get(c, KEY("pre-cmd"));
	*post = config_get(c, KEY("post-cmd"));
	*onfail = config_get(c, KEY("on-failure"));
#undef KEY
	return (0);
}

static int
print_json(const struct backup_result *r)
{
	json_t *o;
	int rc;

	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, "
	    "s:b, s:I}",
	    "label", r->label,
	    "level", backup_level_name(r->level),
	    "files", (json_int_t)r->files,
	    "files_stored", (json_int_t)r->files_stored,
	    "deleted", (json_int_t)r->deleted,
	    "bytes_read", (json_int_t)r->bytes_read,
	    "bytes_stored", (json_int_t)r->bytes_stored,
	    "duration", r->duration,
	    "warnings", (json_int_t)r->warnings,
	    "volumes", (json_int_t)r->volumes,
	    "verified", r->verified,
	    "set_id", (json_int_t)r->set_row);
	if (o == NULL) {
		warn0("cannot build the JSON summary");
		return (-1);
	}
	rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (rc == 0)
		putchar('\n');
	return (rc);
}

int
cmd_backup(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "level", required_argument, NULL, 'l' },
		{ "label", required_argument, NULL, 'L' },
		{ "exclude", required_argument, NULL, 'e' },
		{ "exclude-file", required_argument, NULL, 'E' },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "volume-size", required_argument, NULL, 's' },
		{ "strict", no_argument, NULL, 'S' },
		{ "verify", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct backup_params p;
	struct backup_result r;
	struct strv paths = { NULL, 0 }, excl = { NULL, 0 };
	struct strv exfiles = { NULL, 0 }, cl_excl = { NULL, 0 };
	struct strv cl_exfiles = { NULL, 0 };
	const char *level = NULL, *label = NULL, *vsize = NULL;
	const char *pre = NULL, *post = NULL, *onfail = NULL, *job = NULL;
	const char *vdir, *error = NULL;
	const char **jobs = NULL;
	struct lock *joblock = NULL;
	char host[LABEL_MAX + 1], id[64];
	struct stat st;
	size_t njobs = 0, i;
	int c, one_fs = 0, strict = 0, verify = 0, json = cli->json, tty, x;
	int rc = EXIT_ERROR, hooked = 0;

	memset(&r, 0, sizeof(r));
	backup_params_init(&p);
	if (cli_want_help(argc, argv)) {
		cli_usage(usage, stdout);
		return (EXIT_OK);
	}
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			level = optarg;
			break;
		case 'L':
			label = optarg;
			break;
		case 'e':
			if (strv_add(&cl_excl, optarg) != 0)
				goto cleanup;
			break;
		case 'E':
			if (strv_add(&cl_exfiles, optarg) != 0)
				goto cleanup;
			break;
		case 'x':
			one_fs = 1;
			break;
		case 's':
			vsize = optarg;
			break;
		case 'S':
			strict = 1;
			break;
		case 'V':
			verify = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			rc = cli_usage_error(usage, "unknown option");
			goto cleanup;
		}
	}
	argc -= optind;
	argv += optind;
	if (label != NULL && label_check(label, "set label") != 0) {
		rc = EXIT_USAGE;
		goto cleanup;
	}
	if (level != NULL && backup_level_parse(level, &p.level) != 0) {
		rc = cli_usage_error(usage, "bad level '%s': full, diff, incr "
		    "or auto", level);
		goto cleanup;
	}

	/* JOB, or PATH..., or nothing when exactly one job is configured. */
	if (argc == 0) {
		if (config_subsections(cli->config, "backup", &jobs, &njobs) !=
		    0)
			goto cleanup;
		if (njobs != 1) {
			rc = cli_usage_error(usage, "name a job or paths "
			    "(%zu jobs configured)", njobs);
			goto cleanup;
		}
		job = jobs[0];
	} else if (argc == 1 && is_job(cli->config, argv[0]))
		job = argv[0];
	if (job != NULL) {
		if (label_check(job, "job name") != 0) {
			rc = EXIT_USAGE;
			goto cleanup;
		}
		if (load_job(cli->config, job, &p, &paths, &excl, &exfiles,
		    &pre, &post, &onfail) != 0)
			goto cleanup;
		if (level != NULL)
			(void)backup_level_parse(level, &p.level);
		if (paths.n == 0) {
			warn0("job '%s' has no path (backup.%s.path)", job,
			    job);
			goto cleanup;
		}
	} else {
		/* Paths named on the command line are no chain: each run
		 * may name others, so they make a full unless told. */
		job = "paths";
		if (level == NULL)
			p.level = BACKUP_LEVEL_FULL;
		for (i = 0; i < (size_t)argc; i++) {
			if (lstat(argv[i], &st) != 0) {
				warnp("cannot back up '%s'", argv[i]);
				goto cleanup;
			}
			if (strv_add(&paths, argv[i]) != 0)
				goto cleanup;
		}
	}
	for (i = 0; i < cl_excl.n; i++)
		if (strv_add(&excl, cl_excl.v[i]) != 0)
			goto cleanup;
	for (i = 0; i < cl_exfiles.n; i++)
		if (strv_add(&exfiles, cl_exfiles.v[i]) != 0)
			goto cleanup;
	if (one_fs)
		p.one_file_system = 1;
	if (strict)
		p.strict = 1;
	if (verify)
		p.verify = 1;
	if (vsize != NULL && parse_size(vsize, &p.volume_size) != 0) {
		rc = cli_usage_error(usage, "bad volume size '%s'", vsize);
		goto cleanup;
	}

	if ((vdir = cli_vault_path(cli)) == NULL)
		goto cleanup;
	cli_host(cli, host, sizeof(host));
	if (label_check(host, "host name") != 0)
		goto cleanup;
	if (vault_ids(cli, vdir, id, sizeof(id), &p.vault_row) != 0)
		goto cleanup;
	p.home = cli->home;
	p.catalog = cli->catalog;
	p.vault_dir = vdir;
	p.vault_id = id;
	p.host = host;
	p.job = job;
	p.paths = paths.v;
	p.excludes = excl.v;
	p.exclude_files = exfiles.v;
	p.label = label;
	p.operator_name = cli_operator(cli);
	p.site = config_get(cli->config, "site.name");
	tty = cli_is_tty(2) && !cli->quiet;
	if (tty) {
		p.progress = show_progress;
		p.progress_cookie = NULL;
	}

	if ((rc = cli_lock_job(cli, job, &joblock)) != EXIT_OK)
		goto cleanup;
	rc = EXIT_ERROR;
	if (pre != NULL) {
		hooked = 1;
		if ((x = run_hook("pre-cmd", pre, job, NULL, NULL)) != 0) {
			warn0("pre-cmd of job '%s' failed (exit status %d)",
			    job, x);
			error = "pre-cmd failed";
			goto hooks;
		}
	}
	hooked = 1;
	x = backup_run(&p, &r);
	if (x != 0) {
		error = "backup failed";
		goto hooks;
	}
	if (tty && r.level_reason != NULL && p.level != BACKUP_LEVEL_FULL)
		fprintf(stderr, "note: made a full backup: %s\n",
		    r.level_reason);
	if (tty && r.sockets > 0)
		fprintf(stderr, "note: %" PRIu64 " socket(s) skipped\n",
		    r.sockets);
	if (json) {
		if (print_json(&r) != 0)
			error = "cannot print the summary";
	} else if (tty) {
		char rb[32], sb[32];

		cli_human_bytes(r.bytes_read, rb, sizeof(rb));
		cli_human_bytes(r.bytes_stored, sb, sizeof(sb));
		fprintf(stderr, "set '%s' (%s): %" PRIu64 " files, %s read, "
		    "%s stored in %.1fs%s\n", r.label,
		    backup_level_name(r.level), r.files, rb, sb, r.duration,
		    r.warnings ? ", with warnings" : "");
	}
	if (error == NULL)
		rc = EXIT_OK;
hooks:
	if (hooked && post != NULL &&
	    (x = run_hook("post-cmd", post, job, error == NULL ? "ok" :
	    "failed", error)) != 0) {
		warn0("post-cmd of job '%s' failed (exit status %d)", job, x);
		if (error == NULL)
			error = "post-cmd failed";
		rc = EXIT_ERROR;
	}
	if (error != NULL && onfail != NULL &&
	    (x = run_hook("on-failure", onfail, job, "failed", error)) != 0)
		warn0("on-failure of job '%s' failed (exit status %d)", job,
		    x);
cleanup:
	lock_release(joblock);
	backup_result_clear(&r);
	free(paths.v);
	free(excl.v);
	free(exfiles.v);
	free(cl_excl.v);
	free(cl_exfiles.v);
	free(jobs);
	return (rc);
}
