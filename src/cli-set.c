/*
 * cli-set.c: helpers shared by the set browsing commands (sets, show, ls,
 * diff, verify).
 */
#include "compat.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <jansson.h>

#include "age.h"
#include "base64.h"
#include "catalog.h"
#include "cli.h"
#include "cli-set.h"
#include "clock.h"
#include "config.h"
#include "home.h"
#include "keys.h"
#include "manifest.h"
#include "set.h"
#include "sign.h"
#include "target.h"
#include "util.h"
#include "volume.h"
#include "warnp.h"


int
cli_vault_open(struct cli *cli, struct cli_vault *v)
{
	struct catalog_vault cv;
	int r;

	memset(v, 0, sizeof(*v));
	cli_host(cli, v->host, sizeof(v->host));
	if ((v->path = cli_vault_path(cli)) == NULL)
		return (-1);
	if (vault_read(v->path, &v->info) != 0)
		return (-1);
	if (cli->catalog != NULL) {
		if ((r = catalog_vault_find(cli->catalog, v->info.id, &cv)) <
		    0)
			return (-1);
		if (r == 1) {
			v->row = cv.id;
			catalog_vault_clear(&cv);
		}
	}
	if ((v->target = target_open_local(v->path, NULL, NULL)) == NULL)
		return (-1);
	return (0);
}

void
cli_vault_close(struct cli_vault *v)
{

	if (v == NULL)
		return;
	target_free(v->target);
	v->target = NULL;
	if (v->path != NULL)
		vault_info_release(&v->info);
	v->path = NULL;
}

int
cli_set_name(struct cli *cli, struct cli_vault *v, const char *spec,
    char host[LABEL_MAX + 1], char label[LABEL_MAX + 1])
{
	struct catalog_set_filter f;
	struct catalog_set *sets = NULL;
	const char *slash;
	size_t n = 0, i;

	if ((slash = strchr(spec, '/')) != NULL) {
		if ((size_t)(slash - spec) > LABEL_MAX ||
		    strlen(slash + 1) > LABEL_MAX) {
			warn0("invalid set name '%s'", spec);
			return (-1);
		}
		memcpy(host, spec, (size_t)(slash - spec));
		host[slash - spec] = '\0';
		util_strlcpy(label, slash + 1, LABEL_MAX + 1);
		if (label_check(host, "host name") != 0 ||
		    label_check(label, "set label") != 0)
			return (-1);
		return (0);
	}
	if (label_check(spec, "set label") != 0)
		return (-1);
	util_strlcpy(label, spec, LABEL_MAX + 1);
	util_strlcpy(host, v->host, LABEL_MAX + 1);
	if (cli->catalog == NULL || v->row == 0)
		return (0);
	/* Not this host's?  Then the only host that has it. */
	memset(&f, 0, sizeof(f));
	f.vault = v->row;
	f.label = spec;
	if (catalog_set_list(cli->catalog, &f, &sets, &n) != 0)
		return (-1);
	for (i = 0; i < n; i++)
		if (strcmp(sets[i].host, v->host) == 0)
			break;
	if (i == n && n == 1)
		util_strlcpy(host, sets[0].host, LABEL_MAX + 1);
	else if (i == n && n > 1) {
		warn0("set label '%s' is ambiguous: name it as HOST/%s (e.g. "
		      "'%s/%s')", spec, spec, sets[0].host, spec);
		catalog_set_list_free(sets, n);
		return (-1);
	}
	catalog_set_list_free(sets, n);
	return (0);
}

int
cli_set_load(struct cli *cli, struct cli_vault *v, const char *spec,
    struct set_header *h, int flags)
{
	char host[LABEL_MAX + 1], label[LABEL_MAX + 1];
	struct sign_pinned *pinned;
	int r;

	set_header_init(h);
	if (cli_set_name(cli, v, spec, host, label) != 0)
		return (SET_LOAD_ERROR);
	if ((pinned = keys_pinned_load(cli->home)) == NULL)
		return (SET_LOAD_ERROR);
	r = set_load(v->target, host, label, pinned, h, flags);
	sign_pinned_free(pinned);
	return (r);
}

/* The passphrase of an encrypted -i file, from the options or a prompt. */
struct getpass_state {
	const struct cli_identity *id;
	const char *file;
};

static ssize_t
identity_getpass(void *cookie, char *buf, size_t size)
{
	struct getpass_state *gs = cookie;
	char prompt[512], *pw;
	size_t len;

	snprintf(prompt, sizeof(prompt), "Enter passphrase for identity "
	    "'%s': ", gs->file);
	if ((pw = passphrase_read(&gs->id->src, prompt, 0, &len)) == NULL)
		return (-1);
	if (len >= size) {
		warn0("passphrase too long");
		passphrase_free(pw, len);
		return (-1);
	}
	memcpy(buf, pw, len);
	passphrase_free(pw, len);
	return ((ssize_t)len);
}

struct age_identities *
cli_identity_load(struct cli *cli, const struct cli_identity *id)
{
	struct age_identities *ids;
	struct getpass_state gs;

	if (id->file == NULL)
		return (keys_load_identity(cli->home, &id->src));
	if ((ids = age_identities_new()) == NULL)
		return (NULL);
	gs.id = id;
	gs.file = id->file;
	if (age_identities_load_file(ids, id->file, identity_getpass, &gs) !=
	    0) {
		warn0("cannot load the identity from '%s'", id->file);
		age_identities_free(ids);
		return (NULL);
	}
	return (ids);
}

struct cli_unlock {
	struct cli *cli;
	const struct cli_identity *id;
	struct age_identities *ids;
	pthread_t thr;
	int running;
	int done;                       /* set by the thread, atomically */
};

static void *
unlock_main(void *cookie)
{
	struct cli_unlock *u = cookie;

	u->ids = cli_identity_load(u->cli, u->id);
	__atomic_store_n(&u->done, 1, __ATOMIC_RELEASE);
	return (NULL);
}

struct cli_unlock *
cli_identity_start(struct cli *cli, const struct cli_identity *id)
{
	struct cli_unlock *u;

	if ((u = calloc(1, sizeof(*u))) == NULL) {
		warnp("cannot allocate memory");
		return (NULL);
	}
	u->cli = cli;
	u->id = id;
	/* A prompt needs the terminal, and the caller's progress line
	 * would mix with it: only a passphrase from a file or descriptor
	 * is used in the background. */
	if ((id->src.file != NULL || id->src.fd >= 0) &&
	    pthread_create(&u->thr, NULL, unlock_main, u) == 0)
		u->running = 1;
	return (u);
}

void
cli_identity_cancel(struct cli_unlock *u)
{

	if (u == NULL)
		return;
	if (u->running) {
		(void)pthread_join(u->thr, NULL);
		age_identities_free(u->ids);
	}
	free(u);
}

int
cli_identity_ready(struct cli_unlock *u)
{

	return (u == NULL || !u->running ||
	    __atomic_load_n(&u->done, __ATOMIC_ACQUIRE));
}

struct age_identities *
cli_identity_finish(struct cli_unlock *u)
{
	struct age_identities *ids;

	if (u == NULL)
		return (NULL);
	if (u->running)
		(void)pthread_join(u->thr, NULL);
	else
		u->ids = cli_identity_load(u->cli, u->id);
	ids = u->ids;
	free(u);
	return (ids);
}

int
cli_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c;

	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return (c);
	return (alen < blen ? -1 : alen > blen);
}

static int
entry_cmp(const void *pa, const void *pb)
{
	const struct manifest_entry *a = pa, *b = pb;

	return (cli_path_cmp(a->path, a->path_len, b->path, b->path_len));
}

struct manifest_entry *
cli_manifest_find(struct manifest_entry *e, size_t n, const char *path,
    size_t len)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = cli_path_cmp(path, len, e[mid].path, e[mid].path_len);
		if (c == 0)
			return (&e[mid]);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (NULL);
}

void
cli_manifest_free(struct manifest_entry *e, size_t n)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < n; i++)
		manifest_entry_clear(&e[i]);
	free(e);
}

static ssize_t
blob_read(void *cookie, void *buf, size_t len)
{

	return (volume_blob_read(cookie, buf, len));
}

int
cli_manifest_load(struct cli_vault *v, const struct set_header *h,
    const struct age_identities *ids, struct manifest_entry **out,
    size_t *nout)
{
	const struct set_object *obj;
	struct target_reader *tr = NULL;
	struct volume_blob_reader *br = NULL;
	struct manifest_reader *mr = NULL;
	struct manifest_entry *arr = NULL, *na;
	enum volume_status st = VOLUME_OK;
	size_t n = 0, cap = 0;
	char *name = NULL;
	int r, rc = -1;

	*out = NULL;
	*nout = 0;
	if ((obj = set_header_find_object(h, SET_ROLE_MANIFEST)) == NULL) {
		warn0("set '%s/%s' has no manifest", h->host, h->label);
		rc = -2;
		goto cleanup;
	}
	if ((name = set_path(h->host, h->label, obj->name)) == NULL)
		goto cleanup;
	if ((tr = target_open_read(v->target, name, 0)) == NULL) {
		if (errno == ENOENT)
			rc = -2;
		goto cleanup;
	}
	if ((br = volume_blob_reader_open(ids, obj->name, volume_target_read,
	    tr, &st)) == NULL) {
		if (st == VOLUME_DAMAGED)
			rc = -2;
		goto cleanup;
	}
	if ((mr = manifest_reader_new(blob_read, br)) == NULL)
		goto cleanup;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((na = realloc(arr, cap * sizeof(*arr))) == NULL) {
				warnp("realloc");
				goto cleanup;
			}
			arr = na;
		}
		if ((r = manifest_reader_next(mr, &arr[n])) < 0) {
			if (volume_blob_status(br) != VOLUME_ERROR)
				rc = -2;
			warn0("cannot read the manifest of set '%s/%s'",
			    h->host, h->label);
			goto cleanup;
		}
		if (r == 0)
			break;
		n++;
	}
	if (n > 1)
		util_sort(arr, n, sizeof(*arr), entry_cmp);
	*out = arr;
	*nout = n;
	arr = NULL;
	n = 0;
	rc = 0;
cleanup:
	cli_manifest_free(arr, n);
	manifest_reader_free(mr);
	volume_blob_reader_free(br);
	target_reader_close(tr);
	free(name);
	return (rc);
}

/* utf8_len(p, len): the length of the valid, printable UTF-8 character at
 * p (2..4), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t len)
{
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return (0);
	if (n > len || !manifest_utf8_valid(p, n))
		return (0);
	/* C1 controls U+0080..U+009F: not printable. */
	if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return (0);
	return (n);
}

void
cli_print_name(FILE *fp, const char *name, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] == '\\')
			fputs("\\\\", fp);
		else if (p[i] == '\n')
			fputs("\\n", fp);
		else if (p[i] == '\t')
			fputs("\\t", fp);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], fp);
		else if (p[i] >= 0x80 && (n = utf8_len(p + i, len - i)) > 0) {
			fwrite(p + i, 1, n, fp);
			i += n;
			continue;
		} else
			fprintf(fp, "\\x%02x", p[i]);
		i++;
	}
}

int
cli_json_path(json_t *o, const char *key, const char *key_b64,
    const char *name, size_t len)
{
	char *b64;
	int rc;

	if (manifest_utf8_valid(name, len))
		return (json_object_set_new(o, key, json_stringn(name, len)));
	if ((b64 = malloc(base64_encoded_len(len, 1) + 1)) == NULL) {
		warnp("malloc");
		return (-1);
	}
	base64_encode(b64, name, len, 1);
	rc = json_object_set_new(o, key_b64, json_string(b64));
	free(b64);
	return (rc);
}

int
cli_json_print(json_t *v)
{
	int rc;

	if (v == NULL) {
		warn0("cannot build the JSON output");
		return (-1);
	}
	rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(v);
	if (rc != 0 || fputc('\n', stdout) == EOF) {
		warnp("cannot write the JSON output");
		return (-1);
	}
	return (0);
}

const char *
cli_fmt_time(long long t, char buf[32])
{

	if (t == 0)
		util_strlcpy(buf, "-", 32);
	else
		clock_format_utc((time_t)t, buf, 32);
	return (buf);
}

const char *
cli_fmt_size(unsigned long long n, char buf[32])
{
	static const char units[] = "KMGTPE";
	double d = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, 32, "%llu", n);
		return (buf);
	}
	d /= 1024;
	while (d >= 1024 && u + 1 < sizeof(units) - 1) {
		d /= 1024;
		u++;
	}
	snprintf(buf, 32, d < 10 ? "%.1f%c" : "%.0f%c", d, units[u]);
	return (buf);
}

void
cli_wvault_close(struct cli_wvault *w)
{
	target_free(w->t);
	sign_pinned_free(w->pinned);
	cli_vault_close(&w->cv);
	memset(w, 0, sizeof(*w));
}

int
cli_wvault_open(struct cli *cli, struct cli_wvault *w)
{
	char *run = NULL;
	int rc = -1;

	memset(w, 0, sizeof(*w));
	if (cli_vault_open(cli, &w->cv) != 0 ||
	    (w->pinned = keys_pinned_load(cli->home)) == NULL ||
	    (run = target_run_id_new()) == NULL ||
	    (w->t = target_open_local(w->cv.path, w->cv.host, run)) == NULL)
		goto cleanup;
	w->rv.target = w->t;
	w->rv.vault_id = w->cv.info.id;
	w->rv.host = w->cv.host;
	w->rv.pinned = w->pinned;
	cli_event(cli, &w->tmpl, w->evhost, sizeof(w->evhost));
	rc = 0;
cleanup:
	free(run);
	if (rc != 0)
		cli_wvault_close(w);
	return rc;
}
