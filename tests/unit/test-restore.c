/*
 * test-restore: restore_run against CRAFTED sets: sets built here through
 * coffer's own lib (volume writer, blob writer, set header) and signed
 * with the home's own pinned key, so that only their content is hostile:
 * tar members "../x" and "/abs", manifests naming such paths, symlinks
 * leading out of the destination (and files written through them, as
 * whole entries and as parts of a split file), hard links to outside
 * files, an unpinned signer.  Each case checks that the bad entry is
 * refused or skipped, that the refusal is reported, and that nothing
 * appears outside the destination.  A clean crafted set restores fine.
 */
#include "compat.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "age.h"
#include "crypto.h"
#include "keys.h"
#include "manifest.h"
#include "passphrase.h"
#include "restore.h"
#include "set.h"
#include "sign.h"
#include "target.h"
#include "util.h"
#include "vault.h"
#include "volume.h"

/* Test paths are short; bounded snprintf is fine here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define HOST "web1"
#define PASS "correct horse battery staple"
#define MTIME 1700000000
#define SECRET "secret\n"
#define DATA "harmless\n"
#define EVIL "evil\n"

static char tmpdir[] = "/tmp/test-restore-XXXXXX";
static char home[PATH_MAX], vaultdir[PATH_MAX], datafile[PATH_MAX];
static char vault_id[VAULT_ID_LEN + 1];
static char *run_id;
static struct target *tgt;
static struct age_recipients *recips;
static struct age_identities *ids;
static struct sign_key *skey, *stranger;
static struct sign_pinned *pinned;

/* ------------------------------------------------------------ helpers */

/* A growing buffer, as a volume_write_fn sink. */
struct mem {
	uint8_t *p;
	size_t len, cap;
};

static int
mem_write(void *cookie, const void *buf, size_t len)
{
	struct mem *m = cookie;
	uint8_t *np;

	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2 + 4096;
		if ((np = realloc(m->p, m->cap)) == NULL)
			return (-1);
		m->p = np;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return (0);
}

static char *
tpath(const char *fmt, ...)
{
	static char buf[4][PATH_MAX];
	static int k;
	char rel[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, rel);
	return (buf[k]);
}

static void
put_file(const char *path, const char *text)
{

	assert_int_equal(util_write_file(path, text, strlen(text), 0644, 0),
	    0);
}

/* The number of entries of directory path (without "." and ".."), and
 * whether name is one of them. */
static int
dir_count(const char *path, const char *name, int *found)
{
	struct dirent *d;
	DIR *dir;
	int n = 0;

	if (found != NULL)
		*found = 0;
	if ((dir = opendir(path)) == NULL)
		return (-1);
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		n++;
		if (name != NULL && found != NULL &&
		    strcmp(d->d_name, name) == 0)
			*found = 1;
	}
	closedir(dir);
	return (n);
}

/* ------------------------------------------------------------ cases */

/*
 * Every case has its own directory cases/LABEL holding "outside/secret"
 * (an outside file, target of the escapes) and, once restored, "dest".
 */
static void
case_dirs(const char *label)
{

	assert_int_equal(util_mkdir_p(tpath("cases/%s/outside", label), 0755),
	    0);
	put_file(tpath("cases/%s/outside/secret", label), SECRET);
}

static const char *
case_dest(const char *label)
{

	return (tpath("cases/%s/dest", label));
}

/*
 * Nothing outside dest changed: cases/LABEL holds only "outside" (and
 * "dest" when dest_may_exist), outside holds only "secret", unchanged and
 * not linked anywhere, and cases/ holds only case directories.
 */
static void
check_outside(const char *label, int dest_may_exist)
{
	struct stat st;
	char *text;
	size_t len;
	int found, n;

	n = dir_count(tpath("cases/%s", label), "dest", &found);
	assert_int_equal(n, 1 + (dest_may_exist && found));
	if (!dest_may_exist)
		assert_false(found);
	assert_int_equal(dir_count(tpath("cases/%s/outside", label), "secret",
	    &found), 1);
	assert_true(found);
	assert_int_equal(lstat(tpath("cases/%s/outside/secret", label), &st),
	    0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(util_read_file(tpath("cases/%s/outside/secret",
	    label), &text, &len, 4096), 0);
	assert_int_equal(len, strlen(SECRET));
	assert_memory_equal(text, SECRET, len);
	free(text);
	assert_int_equal(lstat(tpath("cases/evil"), &st), -1);
	assert_int_equal(lstat(tpath("evil"), &st), -1);
}

/* ----------------------------------------------------- crafted sets */

/* A set being crafted: one volume and the manifest text. */
struct craft {
	char label[64];
	struct set_header h;
	struct mem vol;
	struct volume_writer *vw;
	struct mem man;
};

static void
craft_begin(struct craft *c, const char *label)
{
	struct volume_params p;

	memset(c, 0, sizeof(*c));
	util_strlcpy(c->label, label, sizeof(c->label));
	set_header_init(&c->h);
	assert_non_null(c->h.vault = util_strdup(vault_id));
	assert_non_null(c->h.host = util_strdup(HOST));
	assert_non_null(c->h.job = util_strdup("crafted"));
	assert_non_null(c->h.label = util_strdup(label));
	c->h.kind = SET_BACKUP;
	c->h.level = SET_FULL;
	c->h.created = MTIME;
	assert_non_null(c->h.coffer_version = util_strdup("0.1.0"));
	memset(&p, 0, sizeof(p));
	p.name = "vol-0001.tar.zst.age";
	p.recipients = recips;
	p.zstd_level = 1;
	p.zstd_workers = -1;
	assert_non_null(c->vw = volume_writer_new(&p, mem_write, &c->vol));
}

/* Add a tar member (data: a regular file's content, else NULL). */
static void
vol_add(struct craft *c, enum volume_type type, const char *path,
    const char *link, const char *data)
{
	struct volume_entry e;
	int fd = -1;

	memset(&e, 0, sizeof(e));
	e.path = path;
	e.type = type;
	e.mode = type == VOLUME_DIR ? 0755 : type == VOLUME_SYMLINK ? 0777 :
	    0644;
	e.uid = getuid();
	e.gid = getgid();
	e.mtime_ns = (int64_t)MTIME * 1000000000;
	e.link = link;
	if (type == VOLUME_REG) {
		put_file(datafile, data);
		e.size = strlen(data);
		assert_true((fd = open(datafile, O_RDONLY)) >= 0);
	}
	assert_int_equal(volume_add_file(c->vw, &e, fd, NULL), 0);
	if (fd >= 0)
		close(fd);
}

/* Add a tar member as e describes it (path, type, mode, mtime, owner,
 * xattrs, ACL), with data for a regular file. */
static void
vol_add_entry(struct craft *c, struct volume_entry *e, const char *data)
{
	int fd = -1;

	if (e->type == VOLUME_REG) {
		put_file(datafile, data);
		e->size = strlen(data);
		assert_true((fd = open(datafile, O_RDONLY)) >= 0);
	}
	assert_int_equal(volume_add_file(c->vw, e, fd, NULL), 0);
	if (fd >= 0)
		close(fd);
}

/* Add a raw manifest line (no checks: crafted). */
static void
man_raw(struct craft *c, const char *line)
{

	assert_int_equal(mem_write(&c->man, line, strlen(line)), 0);
	assert_int_equal(mem_write(&c->man, "\n", 1), 0);
	c->h.files++;
}

/* Add a well-formed manifest entry. */
static void
man_entry(struct craft *c, struct manifest_entry *e)
{
	char *line;

	e->path_len = strlen(e->path);
	if (e->target != NULL)
		e->target_len = strlen(e->target);
	e->has_mtime = 1;
	e->mtime = MTIME;
	assert_non_null(line = manifest_entry_to_json(e, NULL));
	man_raw(c, line);
	free(line);
}

/* A file whose data volume 1 holds, or, with holder, the set holder
 * (an unchanged file: "in"). */
static void
man_in(struct craft *c, const char *path, const char *data,
    const char *holder)
{
	struct manifest_entry e;

	manifest_entry_init(&e);
	e.path = (char *)(uintptr_t)path;
	e.type = MANIFEST_FILE;
	e.has_size = 1;
	e.size = strlen(data);
	e.has_mode = 1;
	e.mode = 0644;
	e.has_sha256 = 1;
	crypto_sha256(data, strlen(data), e.sha256);
	if (holder != NULL)
		e.in = (char *)(uintptr_t)holder;
	else {
		e.volume = 1;
		c->h.bytes += e.size;
	}
	man_entry(c, &e);
}

static void
man_file(struct craft *c, const char *path, const char *data)
{

	man_in(c, path, data, NULL);
}

static void
man_dir(struct craft *c, const char *path)
{
	struct manifest_entry e;

	manifest_entry_init(&e);
	e.path = (char *)(uintptr_t)path;
	e.type = MANIFEST_DIR;
	e.has_mode = 1;
	e.mode = 0755;
	e.volume = 1;
	man_entry(c, &e);
}

static void
man_link(struct craft *c, enum manifest_type type, const char *path,
    const char *target)
{
	struct manifest_entry e;

	manifest_entry_init(&e);
	e.path = (char *)(uintptr_t)path;
	e.type = type;
	e.target = (char *)(uintptr_t)target;
	if (type == MANIFEST_HARDLINK) {
		e.link_group = 1;
		e.has_mode = 1;
		e.mode = 0644;
	}
	e.volume = 1;
	man_entry(c, &e);
}

static void
put_object(struct craft *c, const char *name, const void *buf, size_t len)
{
	char *obj;

	assert_non_null(obj = set_path(HOST, c->label, name));
	assert_int_equal(target_put_buf(tgt, obj, buf, len), 0);
	free(obj);
}

/* Finish the volume and the manifest, write every object, and sign
 * set.json with signer. */
static void
craft_commit(struct craft *c, const struct sign_key *signer)
{
	struct volume_blob_writer *bw;
	struct volume_result res;
	struct mem man = { NULL, 0, 0 };
	uint8_t sha[CRYPTO_SHA256_LEN];
	char *text, *sig;
	size_t len;

	assert_int_equal(volume_writer_finish(c->vw, &res), 0);
	volume_writer_free(c->vw);
	c->vw = NULL;
	put_object(c, "vol-0001.tar.zst.age", c->vol.p, c->vol.len);
	assert_int_equal(set_header_add_object(&c->h, "vol-0001.tar.zst.age",
	    SET_ROLE_VOLUME, res.size, res.sha256, res.payload_sha256), 0);

	/* The manifest: raw lines through the blob writer, unchecked. */
	assert_non_null(bw = volume_blob_writer_new(recips, 1, mem_write,
	    &man));
	assert_int_equal(volume_blob_write(bw, c->man.p, c->man.len), 0);
	assert_int_equal(volume_blob_finish(bw, &res), 0);
	volume_blob_writer_free(bw);
	put_object(c, SET_MANIFEST, man.p, man.len);
	assert_int_equal(set_header_add_object(&c->h, SET_MANIFEST,
	    SET_ROLE_MANIFEST, res.size, res.sha256, res.payload_sha256), 0);
	free(man.p);

	assert_non_null(text = set_sums_text(&c->h, &len));
	crypto_sha256(text, len, sha);
	put_object(c, SET_SUMS, text, len);
	assert_int_equal(set_header_add_object(&c->h, SET_SUMS, SET_ROLE_SUMS,
	    len, sha, NULL), 0);
	free(text);

	assert_non_null(text = set_header_to_json(&c->h, &len));
	put_object(c, SET_JSON, text, len);
	assert_non_null(sig = set_sign(text, len, signer));
	put_object(c, SET_SIG, sig, strlen(sig));
	free(sig);
	free(text);

	set_header_clear(&c->h);
	free(c->vol.p);
	free(c->man.p);
	memset(c, 0, sizeof(*c));
}

/* What a snapshot callback saw. */
struct snapshot_seen {
	int calls;
	char first[PATH_MAX];
};

static int
snapshot_stub(void *cookie, const char *id, const char *const *paths,
    size_t n, char *label, size_t size)
{
	struct snapshot_seen *s = cookie;

	s->calls++;
	if (n > 0)
		util_strlcpy(s->first, paths[0], sizeof(s->first));
	snprintf(label, size, "pre-restore-%s", id);
	return (0);
}

/* The paths run restores (NULL: everything). */
static const char *const *run_paths;
static size_t run_npaths;

/* restore_run label into cases/LABEL/dest. */
static int
run(const char *label, struct restore_report *rep,
    struct snapshot_seen *seen)
{
	struct restore_opts o;

	memset(&o, 0, sizeof(o));
	o.home = home;
	o.target = tgt;
	o.host = HOST;
	o.label = label;
	o.pinned = pinned;
	o.ids = ids;
	o.dest = case_dest(label);
	o.paths = run_paths;
	o.npaths = run_npaths;
	if (seen != NULL) {
		o.snapshot = snapshot_stub;
		o.snapshot_cookie = seen;
	}
	return (restore_run(&o, rep));
}


/* 1 if path is in the report's failed list. */
static int
failed_has(const struct restore_report *rep, const char *path)
{
	size_t i;

	for (i = 0; i < rep->nfailed; i++)
		if (strcmp(rep->failed[i].path, path) == 0)
			return (1);
	return (0);
}

/* The content of cases/LABEL/dest/REL equals text. */
static void
assert_restored(const char *label, const char *rel, const char *text)
{
	char *buf;
	size_t len;

	assert_int_equal(util_read_file(tpath("cases/%s/dest/%s", label, rel),
	    &buf, &len, 4096), 0);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(buf, text, len);
	free(buf);
}

/* ------------------------------------------------------------ fixture */

static int
setup(void **state)
{
	struct sign_pubkey const *pk;
	struct passphrase_source src;
	char signer[SIGN_PUBLINE_MAX], **rlist = NULL, passfile[PATH_MAX];
	const char *signers[2];
	size_t n;
	int rc = -1;

	(void)state;
	if (crypto_init() != 0 || mkdtemp(tmpdir) == NULL)
		return (-1);
	setenv("COFFER_TEST_SCRYPT_LOGN", "10", 1);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	snprintf(vaultdir, sizeof(vaultdir), "%s/vault", tmpdir);
	snprintf(datafile, sizeof(datafile), "%s/data", tmpdir);
	snprintf(passfile, sizeof(passfile), "%s/pass", tmpdir);
	if (util_mkdir_p(home, 0700) != 0 ||
	    util_write_file(passfile, PASS "\n", strlen(PASS) + 1, 0600,
	    0) != 0 || keys_init(home, PASS, NULL, NULL) != 0)
		goto done;
	if ((skey = keys_signing_load(home)) == NULL ||
	    (pinned = keys_pinned_load(home)) == NULL ||
	    (recips = keys_load_recipients(home)) == NULL ||
	    (stranger = sign_key_generate("stranger")) == NULL)
		goto done;
	src.file = passfile;
	src.fd = -1;
	if ((ids = keys_load_identity(home, &src)) == NULL)
		goto done;
	/* The stranger is not pinned: that is the point of case 6. */
	pk = sign_key_pubkey(stranger);
	if (sign_pinned_find(pinned, pk->fpr) != NULL)
		goto done;
	sign_pubkey_format(sign_key_pubkey(skey), signer);
	signers[0] = signer;
	signers[1] = NULL;
	if (keys_list_recipients(home, &rlist, &n) != 0 ||
	    vault_create(vaultdir, (const char *const *)rlist, signers,
	    vault_id) != 0)
		goto done;
	if ((run_id = target_run_id_new()) == NULL ||
	    (tgt = target_open_local(vaultdir, HOST, run_id)) == NULL)
		goto done;
	rc = 0;
done:
	keys_list_free(rlist);
	return (rc);
}

static int
teardown(void **state)
{
	char *cmd;
	int rc;

	(void)state;
	target_free(tgt);
	free(run_id);
	age_recipients_free(recips);
	age_identities_free(ids);
	sign_key_free(skey);
	sign_key_free(stranger);
	sign_pinned_free(pinned);
	if ((cmd = util_asprintf("rm -rf '%s'", tmpdir)) == NULL)
		return (-1);
	rc = system(cmd) == 0 ? 0 : -1;
	free(cmd);
	return (rc);
}

/* ------------------------------------------------------------ tests */

/* 7. The control: a clean crafted set restores and verifies. */
static void
test_clean(void **state)
{
	const char *l = "clean";
	struct restore_report rep;
	struct craft c;
	struct stat st, st2;
	char buf[64];
	ssize_t n;

	(void)state;
	case_dirs(l);
	craft_begin(&c, l);
	vol_add(&c, VOLUME_DIR, "d", NULL, NULL);
	vol_add(&c, VOLUME_REG, "d/f", NULL, DATA);
	vol_add(&c, VOLUME_HARDLINK, "d/h", "d/f", NULL);
	vol_add(&c, VOLUME_SYMLINK, "s", "d/f", NULL);
	man_dir(&c, "d");
	man_file(&c, "d/f", DATA);
	man_link(&c, MANIFEST_HARDLINK, "d/h", "d/f");
	man_link(&c, MANIFEST_SYMLINK, "s", "d/f");
	craft_commit(&c, skey);

	assert_int_equal(run(l, &rep, NULL), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.nbad, 0);
	assert_int_equal(rep.refused, 0);
	assert_int_equal(rep.created, 4);
	assert_int_equal(rep.verified, 4);
	assert_string_equal(rep.set, HOST "/clean");
	assert_restored(l, "d/f", DATA);
	assert_int_equal(lstat(tpath("cases/%s/dest/d/f", l), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_mtime, MTIME);
	assert_int_equal(lstat(tpath("cases/%s/dest/d/h", l), &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	n = readlink(tpath("cases/%s/dest/s", l), buf, sizeof(buf));
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "d/f", 3);
	restore_report_clear(&rep);
	check_outside(l, 1);
}

/* The local target's operations, but the next flaky_left opens of
 * flaky_name fail (EIO), as a transient read error would. */
static const struct target_ops *real_ops;
static struct target_ops flaky_ops;
static char flaky_name[PATH_MAX];
static int flaky_left;
/* How many times flaky_name was opened, and cnt_name. */
static int flaky_opens, cnt_opens;
static char cnt_name[PATH_MAX];
/* Objects are opened from two threads (restore_preload). */
static pthread_mutex_t flaky_mtx = PTHREAD_MUTEX_INITIALIZER;

static int
flaky_open_read(struct target *t, struct target_reader *r, uint64_t off)
{
	int fail = 0;

	pthread_mutex_lock(&flaky_mtx);
	if (strcmp(r->name, flaky_name) == 0) {
		flaky_opens++;
		if (flaky_left > 0) {
			flaky_left--;
			fail = 1;
		}
	}
	if (strcmp(r->name, cnt_name) == 0)
		cnt_opens++;
	pthread_mutex_unlock(&flaky_mtx);
	if (fail) {
		errno = EIO;
		return (-1);
	}
	return (real_ops->open_read(t, r, off));
}

/*
 * The manifests of a chain are loaded ahead on two threads; when the
 * restored set's own fails there (once) and its parent's does not, the
 * set restored is still the one asked for, not its parent.
 */
static void
test_preload_first_fails(void **state)
{
	struct restore_report rep;
	struct craft c;
	char *man;

	(void)state;
	case_dirs("pl-parent");
	craft_begin(&c, "pl-parent");
	vol_add(&c, VOLUME_REG, "f", NULL, "parent\n");
	man_file(&c, "f", "parent\n");
	craft_commit(&c, skey);

	case_dirs("pl-child");
	craft_begin(&c, "pl-child");
	c.h.level = SET_INCR;
	assert_int_equal(set_header_add_parent(&c.h, "pl-parent"), 0);
	vol_add(&c, VOLUME_REG, "f", NULL, DATA);
	man_file(&c, "f", DATA);
	craft_commit(&c, skey);

	assert_non_null(man = set_path(HOST, "pl-child", SET_MANIFEST));
	util_strlcpy(flaky_name, man, sizeof(flaky_name));
	free(man);
	real_ops = tgt->ops;
	flaky_ops = *tgt->ops;
	flaky_ops.open_read = flaky_open_read;
	flaky_left = 1;
	tgt->ops = &flaky_ops;
	assert_int_equal(run("pl-child", &rep, NULL), 0);
	tgt->ops = real_ops;
	assert_int_equal(flaky_left, 0);
	assert_restored("pl-child", "f", DATA);
	restore_report_clear(&rep);
}

/*
 * Of a chain full <- i1 <- i2 <- i3 (each listing its ancestors, as
 * backup writes them), restoring i3 loads the manifests of the sets i3's
 * entries name (full and i1) and its own ahead, and never i2's, which
 * holds nothing i3 has.  i1's first open fails: only a load
 * ahead that is muted and then done again succeeds with it.  Restoring
 * only f4 (i3's own) needs no other set: i1's is not even opened.
 */
static void
test_preload_needed_only(void **state)
{
	struct restore_report rep;
	static const char *const only_f4[] = { "f4" };
	struct craft c;
	char *man;

	(void)state;
	case_dirs("pn-full");
	craft_begin(&c, "pn-full");
	vol_add(&c, VOLUME_REG, "f1", NULL, "one\n");
	vol_add(&c, VOLUME_REG, "f2", NULL, "two\n");
	man_file(&c, "f1", "one\n");
	man_file(&c, "f2", "two\n");
	craft_commit(&c, skey);

	case_dirs("pn-i1");
	craft_begin(&c, "pn-i1");
	c.h.level = SET_INCR;
	assert_int_equal(set_header_add_parent(&c.h, "pn-full"), 0);
	vol_add(&c, VOLUME_REG, "f2", NULL, "two, changed\n");
	man_in(&c, "f1", "one\n", "pn-full");
	man_file(&c, "f2", "two, changed\n");
	craft_commit(&c, skey);

	case_dirs("pn-i2");
	craft_begin(&c, "pn-i2");
	c.h.level = SET_INCR;
	assert_int_equal(set_header_add_parent(&c.h, "pn-i1"), 0);
	assert_int_equal(set_header_add_parent(&c.h, "pn-full"), 0);
	vol_add(&c, VOLUME_REG, "f3", NULL, "three\n");
	man_in(&c, "f1", "one\n", "pn-full");
	man_in(&c, "f2", "two, changed\n", "pn-i1");
	man_file(&c, "f3", "three\n");
	craft_commit(&c, skey);

	case_dirs("pn-i3");
	craft_begin(&c, "pn-i3");
	c.h.level = SET_INCR;
	assert_int_equal(set_header_add_parent(&c.h, "pn-i2"), 0);
	assert_int_equal(set_header_add_parent(&c.h, "pn-i1"), 0);
	assert_int_equal(set_header_add_parent(&c.h, "pn-full"), 0);
	vol_add(&c, VOLUME_REG, "f4", NULL, "four\n");
	man_in(&c, "f1", "one\n", "pn-full");
	man_in(&c, "f2", "two, changed\n", "pn-i1");
	man_raw(&c, "{\"path\":\"f3\",\"deleted\":true}");
	man_file(&c, "f4", "four\n");
	craft_commit(&c, skey);

	assert_non_null(man = set_path(HOST, "pn-i1", SET_MANIFEST));
	util_strlcpy(flaky_name, man, sizeof(flaky_name));
	free(man);
	assert_non_null(man = set_path(HOST, "pn-i2", SET_MANIFEST));
	util_strlcpy(cnt_name, man, sizeof(cnt_name));
	free(man);
	real_ops = tgt->ops;
	flaky_ops = *tgt->ops;
	flaky_ops.open_read = flaky_open_read;
	flaky_left = 1;
	flaky_opens = cnt_opens = 0;
	tgt->ops = &flaky_ops;
	assert_int_equal(run("pn-i3", &rep, NULL), 0);
	tgt->ops = real_ops;
	assert_int_equal(flaky_left, 0);
	assert_int_equal(flaky_opens, 2);
	assert_int_equal(cnt_opens, 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.nbad, 0);
	assert_restored("pn-i3", "f1", "one\n");
	assert_restored("pn-i3", "f2", "two, changed\n");
	assert_restored("pn-i3", "f4", "four\n");
	assert_int_equal(access(tpath("cases/pn-i3/dest/f3"), F_OK), -1);
	restore_report_clear(&rep);

	assert_int_equal(util_remove_tree(case_dest("pn-i3")), 0);
	flaky_left = flaky_opens = cnt_opens = 0;
	run_paths = only_f4;
	run_npaths = 1;
	tgt->ops = &flaky_ops;
	assert_int_equal(run("pn-i3", &rep, NULL), 0);
	tgt->ops = real_ops;
	run_paths = NULL;
	run_npaths = 0;
	assert_int_equal(flaky_opens, 0);
	assert_int_equal(cnt_opens, 0);
	assert_int_equal(rep.created, 1);
	assert_restored("pn-i3", "f4", "four\n");
	assert_int_equal(access(tpath("cases/pn-i3/dest/f1"), F_OK), -1);
	restore_report_clear(&rep);
	cnt_name[0] = '\0';
	flaky_name[0] = '\0';
}

/*
 * 1 and 2. Volumes holding "../evil", "../outside/evil" and an absolute
 * member beside the harmless "a" the manifest lists: the hostile members
 * are never extracted.  A manifest that names "evil" whose only member is
 * "../evil" gets "evil" reported as not restored.
 */
static void
escape_members(const char *l, int list_evil)
{
	struct restore_report rep;
	struct craft c;
	char abs[PATH_MAX];
	int rc;

	case_dirs(l);
	snprintf(abs, sizeof(abs), "%s", tpath("cases/%s/outside/abs-evil",
	    l));
	craft_begin(&c, l);
	vol_add(&c, VOLUME_REG, "../evil", NULL, EVIL);
	vol_add(&c, VOLUME_REG, "../outside/evil", NULL, EVIL);
	vol_add(&c, VOLUME_REG, abs, NULL, EVIL);
	vol_add(&c, VOLUME_REG, abs + 1, NULL, EVIL);   /* "tmp/..." */
	vol_add(&c, VOLUME_REG, "a", NULL, DATA);
	man_file(&c, "a", DATA);
	if (list_evil)
		man_file(&c, "evil", EVIL);
	craft_commit(&c, skey);

	rc = run(l, &rep, NULL);
	assert_restored(l, "a", DATA);
	if (list_evil) {
		assert_int_equal(rc, 1);
		assert_true(failed_has(&rep, "evil"));
		assert_int_equal(rep.nfailed, 1);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(rep.nfailed, 0);
	}
	/* The relative form of the absolute name is not in the manifest
	 * either: nothing but "a" lies in dest. */
	assert_int_equal(dir_count(case_dest(l), NULL, NULL), 1);
	restore_report_clear(&rep);
	check_outside(l, 1);
}

static void
test_dotdot_member(void **state)
{

	(void)state;
	escape_members("dotdot-member", 0);
}

static void
test_dotdot_member_listed(void **state)
{

	(void)state;
	escape_members("dotdot-member-listed", 1);
}

/* 3. Manifests naming escaping paths: the set is refused (-3) before
 * anything is written, while its volume holds the matching members. */
static void
test_bad_manifest(void **state)
{
	static const struct {
		const char *member;
		const char *line;
	} cases[] = {
		{ "../evil", "{\"path\":\"../evil\",\"type\":\"file\","
		    "\"volume\":1}" },
		{ NULL, "{\"path\":\"/abs\",\"type\":\"dir\"}" },
		{ NULL, "{\"path\":\"/tmp\",\"type\":\"dir\"}" },
		{ NULL, "{\"path\":\"a/../../evil\",\"type\":\"dir\"}" },
		{ NULL, "{\"path\":\"a/./b\",\"type\":\"dir\"}" },
		{ NULL, "{\"path\":\"..\",\"type\":\"dir\"}" },
		{ NULL, "{\"path\":\"a//b\",\"type\":\"dir\"}" },
		{ "../evil", "{\"path_b64\":\"Li4vZXZpbA==\",\"type\":\"file\","
		    "\"volume\":1}" },
		{ NULL, "{\"path_b64\":\"L2Ficw==\",\"type\":\"dir\"}" },
		{ "h", "{\"path\":\"h\",\"target\":\"../outside/secret\","
		    "\"type\":\"hardlink\",\"volume\":1}" },
		{ "h", "{\"path\":\"h\",\"target\":\"/etc/passwd\","
		    "\"type\":\"hardlink\",\"volume\":1}" },
		{ NULL, "{\"in\":\"../x\",\"path\":\"b\",\"type\":\"file\"}" },
	};
	struct restore_report rep;
	struct craft c;
	struct stat st;
	char l[64];
	size_t i;
	int before;

	(void)state;
	before = dir_count(tpath("home/restores"), NULL, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(l, sizeof(l), "bad-manifest-%zu", i + 1);
		case_dirs(l);
		craft_begin(&c, l);
		vol_add(&c, VOLUME_REG, "a", NULL, DATA);
		if (cases[i].member != NULL && cases[i].member[0] == 'h')
			vol_add(&c, VOLUME_HARDLINK, "h",
			    tpath("cases/%s/outside/secret", l), NULL);
		else if (cases[i].member != NULL)
			vol_add(&c, VOLUME_REG, cases[i].member, NULL, EVIL);
		man_file(&c, "a", DATA);
		man_raw(&c, cases[i].line);
		craft_commit(&c, skey);

		assert_int_equal(run(l, &rep, NULL), -3);
		assert_int_equal(rep.nfailed, 0);
		assert_int_equal(rep.id[0], '\0');
		restore_report_clear(&rep);
		assert_int_equal(lstat(case_dest(l), &st), -1);
		check_outside(l, 0);
	}
	/* No restore was even recorded. */
	assert_int_equal(dir_count(tpath("home/restores"), NULL, NULL),
	    before);
}

/*
 * 4. Symlink escape: "d" is a symlink to the outside directory (absolute
 * or relative target) and "d/file" a file below it; d/file must be
 * refused and reported, outside/ untouched.
 */
static void
symlink_escape(const char *l, int relative, int split)
{
	struct restore_report rep;
	struct manifest_entry e;
	struct manifest_part part;
	struct craft c;
	struct stat st;
	char target[PATH_MAX], *pname;

	case_dirs(l);
	if (relative)
		snprintf(target, sizeof(target), "../outside");
	else
		snprintf(target, sizeof(target), "%s", tpath("cases/%s/outside",
		    l));
	craft_begin(&c, l);
	vol_add(&c, VOLUME_SYMLINK, "d", target, NULL);
	man_link(&c, MANIFEST_SYMLINK, "d", target);
	if (!split) {
		vol_add(&c, VOLUME_REG, "d/file", NULL, EVIL);
		vol_add(&c, VOLUME_REG, "d/secret", NULL, EVIL);
		man_file(&c, "d/file", EVIL);
		man_file(&c, "d/secret", EVIL);
	} else {
		/* The same file, split: written by restore.c itself. */
		assert_non_null(pname = manifest_part_name("d/file", 6, 1, 1,
		    NULL));
		vol_add(&c, VOLUME_REG, pname, NULL, EVIL);
		free(pname);
		manifest_entry_init(&e);
		e.path = "d/file";
		e.type = MANIFEST_FILE;
		e.has_size = 1;
		e.size = strlen(EVIL);
		e.has_mode = 1;
		e.mode = 0644;
		e.has_sha256 = 1;
		crypto_sha256(EVIL, strlen(EVIL), e.sha256);
		memset(&part, 0, sizeof(part));
		part.volume = 1;
		part.size = strlen(EVIL);
		part.has_sha256 = 1;
		memcpy(part.sha256, e.sha256, sizeof(part.sha256));
		e.parts = &part;
		e.nparts = 1;
		man_entry(&c, &e);
	}
	craft_commit(&c, skey);

	assert_int_equal(run(l, &rep, NULL), 1);
	assert_true(failed_has(&rep, "d/file"));
	if (!split) {
		assert_true(failed_has(&rep, "d/secret"));
		assert_int_equal(rep.refused, 2);
	}
	assert_false(failed_has(&rep, "d"));
	restore_report_clear(&rep);
	/* The symlink itself is content: it is restored as it was. */
	assert_int_equal(lstat(tpath("cases/%s/dest/d", l), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	check_outside(l, 1);
}

static void
test_symlink_abs(void **state)
{

	(void)state;
	symlink_escape("symlink-abs", 0, 0);
}

static void
test_symlink_rel(void **state)
{

	(void)state;
	symlink_escape("symlink-rel", 1, 0);
}

static void
test_symlink_split(void **state)
{

	(void)state;
	symlink_escape("symlink-split", 0, 1);
}

/*
 * 4b. The destination already holds "d" -> outside (left by someone);
 * the clean set lists only "d/file": refused, nothing written outside.
 * When the set lists "d" as a directory, the symlink is replaced (after
 * the snapshot) and d/file lands inside.
 */
static void
test_symlink_in_dest(void **state)
{
	const char *l = "symlink-in-dest", *l2 = "symlink-in-dest-dir";
	struct snapshot_seen seen;
	struct restore_report rep;
	struct craft c;
	struct stat st;

	(void)state;
	case_dirs(l);
	assert_int_equal(mkdir(case_dest(l), 0755), 0);
	assert_int_equal(symlink(tpath("cases/%s/outside", l),
	    tpath("cases/%s/dest/d", l)), 0);
	craft_begin(&c, l);
	vol_add(&c, VOLUME_REG, "d/file", NULL, EVIL);
	man_file(&c, "d/file", EVIL);
	craft_commit(&c, skey);
	assert_int_equal(run(l, &rep, NULL), 1);
	assert_true(failed_has(&rep, "d/file"));
	restore_report_clear(&rep);
	check_outside(l, 1);

	case_dirs(l2);
	assert_int_equal(mkdir(case_dest(l2), 0755), 0);
	assert_int_equal(symlink(tpath("cases/%s/outside", l2),
	    tpath("cases/%s/dest/d", l2)), 0);
	craft_begin(&c, l2);
	vol_add(&c, VOLUME_DIR, "d", NULL, NULL);
	vol_add(&c, VOLUME_REG, "d/file", NULL, DATA);
	man_dir(&c, "d");
	man_file(&c, "d/file", DATA);
	craft_commit(&c, skey);
	memset(&seen, 0, sizeof(seen));
	/* Without a snapshot it will not replace the symlink. */
	assert_int_equal(run(l2, &rep, NULL), -1);
	restore_report_clear(&rep);
	check_outside(l2, 1);
	assert_int_equal(run(l2, &rep, &seen), 0);
	assert_int_equal(rep.overwritten, 1);
	restore_report_clear(&rep);
	assert_int_equal(seen.calls, 1);
	assert_non_null(strstr(seen.first, "/dest/d"));
	assert_int_equal(lstat(tpath("cases/%s/dest/d", l2), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_restored(l2, "d/file", DATA);
	check_outside(l2, 1);
}

/*
 * 5. Hard links whose tar target escapes ("../outside/secret") or is
 * absolute, under a manifest that says "h" links to the harmless "a":
 * refused, reported, the outside file keeps one link.
 */
static void
hardlink_escape(const char *l, int absolute)
{
	struct restore_report rep;
	struct craft c;
	struct stat st;
	char target[PATH_MAX];

	case_dirs(l);
	if (absolute)
		snprintf(target, sizeof(target), "%s",
		    tpath("cases/%s/outside/secret", l));
	else
		snprintf(target, sizeof(target), "../outside/secret");
	craft_begin(&c, l);
	vol_add(&c, VOLUME_REG, "a", NULL, DATA);
	vol_add(&c, VOLUME_HARDLINK, "h", target, NULL);
	man_file(&c, "a", DATA);
	man_link(&c, MANIFEST_HARDLINK, "h", "a");
	craft_commit(&c, skey);

	assert_int_equal(run(l, &rep, NULL), 1);
	assert_true(failed_has(&rep, "h"));
	assert_int_equal(rep.nfailed, 1);
	assert_int_equal(rep.refused, 1);
	restore_report_clear(&rep);
	assert_restored(l, "a", DATA);
	assert_int_equal(lstat(tpath("cases/%s/dest/h", l), &st), -1);
	check_outside(l, 1);
}

static void
test_hardlink_rel(void **state)
{

	(void)state;
	hardlink_escape("hardlink-rel", 0);
}

static void
test_hardlink_abs(void **state)
{

	(void)state;
	hardlink_escape("hardlink-abs", 1);
}

/*
 * 8. What coffer writes itself (plain files, directories, symlinks) gets
 * its metadata: xattrs, mode (set-id bits too when root), mtime to the
 * nanosecond, owner when root; a directory's mode comes last.  A file
 * with a POSIX ACL goes through libarchive and keeps its ACL.
 */
static void
test_fast_meta(void **state)
{
	const char *l = "fast-meta";
	/* A file capability (VFS_CAP_REVISION_2, effective, CAP_NET_RAW):
	 * chown drops it, so it must be set after the owner. */
	static const char cap[20] = { 0x01, 0, 0, 0x02, 0, 0x20, 0, 0 };
	static const struct volume_xattr xa[3] = {
		{ "user.coffer", "v\0one", 5 },
		{ "user.empty", "", 0 },
		{ "security.capability", cap, sizeof(cap) },
	};
	struct restore_report rep;
	struct manifest_entry me;
	struct volume_entry ve;
	struct craft c;
	struct stat st;
	char val[16], *cmd;
	int root = geteuid() == 0, have_xattr, have_acl, have_cap;
	uint32_t fmode = root ? 04751 : 0751;
	uid_t uid = root ? 1234 : getuid();
	gid_t gid = root ? 5678 : getgid();

	(void)state;
	case_dirs(l);
	/* What the file system of the test directory can hold. */
	put_file(tpath("probe"), "probe\n");
	have_xattr = setxattr(tpath("probe"), "user.probe", "1", 1, 0) == 0;
	if (!have_xattr)
		print_message("# skipping xattrs: %s\n", strerror(errno));
	have_cap = have_xattr && root && setxattr(tpath("probe"),
	    "security.capability", cap, sizeof(cap), 0) == 0;
	if (!have_cap)
		print_message("# skipping file capabilities\n");
	assert_non_null(cmd = util_asprintf("setfacl -m u:1234:r '%s' "
	    "2>/dev/null", tpath("probe")));
	have_acl = access("/usr/bin/setfacl", X_OK) == 0 && system(cmd) == 0;
	free(cmd);
	if (!have_acl)
		print_message("# skipping ACLs: no setfacl or no support\n");

	craft_begin(&c, l);
	memset(&ve, 0, sizeof(ve));
	ve.path = "d";
	ve.type = VOLUME_DIR;
	ve.mode = 0755;
	ve.uid = uid;
	ve.gid = gid;
	ve.mtime_ns = (int64_t)MTIME * 1000000000;
	vol_add_entry(&c, &ve, NULL);
	ve.path = "d/f";
	ve.type = VOLUME_REG;
	ve.mode = fmode;
	ve.mtime_ns = (int64_t)MTIME * 1000000000 + 123456789;
	if (have_xattr) {
		ve.xattrs = xa;
		ve.nxattrs = have_cap ? 3 : 2;
	}
	vol_add_entry(&c, &ve, DATA);
	ve.xattrs = NULL;
	ve.nxattrs = 0;
	ve.path = "s";
	ve.type = VOLUME_SYMLINK;
	ve.mode = 0777;
	ve.link = "d/f";
	vol_add_entry(&c, &ve, NULL);
	ve.link = NULL;
	ve.path = "z-acl";
	ve.type = VOLUME_REG;
	ve.mode = 0640;
	if (have_acl)
		ve.acl_access = "user::rw-,user:1234:r--,group::r--,mask::r--,"
		    "other::---";
	vol_add_entry(&c, &ve, DATA);

	manifest_entry_init(&me);
	me.path = "d";
	me.type = MANIFEST_DIR;
	me.has_mode = 1;
	me.mode = 0750;
	me.has_owner = 1;
	me.uid = uid;
	me.gid = gid;
	me.volume = 1;
	man_entry(&c, &me);
	me.path = "d/f";
	me.type = MANIFEST_FILE;
	me.mode = fmode;
	me.mtime_nsec = 123456789;
	me.has_size = 1;
	me.size = strlen(DATA);
	me.has_sha256 = 1;
	crypto_sha256(DATA, strlen(DATA), me.sha256);
	man_entry(&c, &me);
	me.path = "s";
	me.type = MANIFEST_SYMLINK;
	me.has_mode = 0;
	me.has_size = 0;
	me.has_sha256 = 0;
	me.mtime_nsec = 0;
	me.target = "d/f";
	man_entry(&c, &me);
	me.target = NULL;
	me.path = "z-acl";
	me.type = MANIFEST_FILE;
	me.has_mode = 1;
	me.mode = 0640;
	me.has_size = 1;
	me.has_sha256 = 1;
	man_entry(&c, &me);
	craft_commit(&c, skey);

	assert_int_equal(run(l, &rep, NULL), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.nbad, 0);
	assert_int_equal(rep.created, 4);
	assert_int_equal(rep.verified, 4);
	restore_report_clear(&rep);

	assert_int_equal(lstat(tpath("cases/%s/dest/d", l), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(lstat(tpath("cases/%s/dest/d/f", l), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, fmode);
	assert_int_equal(st.st_mtim.tv_sec, MTIME);
	assert_int_equal(st.st_mtim.tv_nsec, 123456789);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	assert_restored(l, "d/f", DATA);
	if (have_xattr) {
		assert_int_equal(getxattr(tpath("cases/%s/dest/d/f", l),
		    "user.coffer", val, sizeof(val)), 5);
		assert_memory_equal(val, "v\0one", 5);
		assert_int_equal(getxattr(tpath("cases/%s/dest/d/f", l),
		    "user.empty", val, sizeof(val)), 0);
	}
	if (have_cap) {
		char got[sizeof(cap)];

		assert_int_equal(getxattr(tpath("cases/%s/dest/d/f", l),
		    "security.capability", got, sizeof(got)), sizeof(cap));
		assert_memory_equal(got, cap, sizeof(cap));
	}
	assert_int_equal(lstat(tpath("cases/%s/dest/s", l), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_mtim.tv_sec, MTIME);
	assert_int_equal(readlink(tpath("cases/%s/dest/s", l), val,
	    sizeof(val)), 3);
	assert_memory_equal(val, "d/f", 3);
	assert_int_equal(lstat(tpath("cases/%s/dest/z-acl", l), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_restored(l, "z-acl", DATA);
	if (have_acl)
		assert_true(getxattr(tpath("cases/%s/dest/z-acl", l),
		    "system.posix_acl_access", NULL, 0) > 0);
	check_outside(l, 1);
}

/*
 * 9. Planted in the destination where the set has files: a symlink to
 * the outside file, a hard link to it, a symlink in place of a directory
 * of the set.  Each is replaced, never written through: the outside file
 * keeps its content and its one link.
 */
static void
test_fast_planted(void **state)
{
	const char *l = "fast-planted";
	struct snapshot_seen seen;
	struct restore_report rep;
	struct craft c;
	struct stat st;

	(void)state;
	case_dirs(l);
	assert_int_equal(mkdir(case_dest(l), 0755), 0);
	assert_int_equal(symlink(tpath("cases/%s/outside/secret", l),
	    tpath("cases/%s/dest/f", l)), 0);
	assert_int_equal(symlink("../outside", tpath("cases/%s/dest/d", l)),
	    0);
	craft_begin(&c, l);
	vol_add(&c, VOLUME_DIR, "d", NULL, NULL);
	vol_add(&c, VOLUME_REG, "d/secret", NULL, EVIL);
	vol_add(&c, VOLUME_REG, "f", NULL, DATA);
	vol_add(&c, VOLUME_REG, "g", NULL, DATA);
	man_dir(&c, "d");
	man_file(&c, "d/secret", EVIL);
	man_file(&c, "f", DATA);
	man_file(&c, "g", DATA);
	craft_commit(&c, skey);
	/* Planted after the set was made: g is a hard link to the secret. */
	assert_int_equal(link(tpath("cases/%s/outside/secret", l),
	    tpath("cases/%s/dest/g", l)), 0);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(run(l, &rep, &seen), 0);
	assert_int_equal(rep.nfailed, 0);
	assert_int_equal(rep.nbad, 0);
	assert_int_equal(rep.overwritten, 3);
	assert_int_equal(rep.created, 1);
	restore_report_clear(&rep);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(lstat(tpath("cases/%s/dest/f", l), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(lstat(tpath("cases/%s/dest/d", l), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_restored(l, "f", DATA);
	assert_restored(l, "g", DATA);
	assert_restored(l, "d/secret", EVIL);
	check_outside(l, 1);
}

/* 6. A clean set signed by a key that is not pinned: refused (-3), no
 * destination made. */
static void
test_unpinned(void **state)
{
	const char *l = "unpinned";
	struct restore_report rep;
	struct craft c;
	struct stat st;

	(void)state;
	case_dirs(l);
	craft_begin(&c, l);
	vol_add(&c, VOLUME_REG, "a", NULL, DATA);
	man_file(&c, "a", DATA);
	craft_commit(&c, stranger);

	assert_int_equal(run(l, &rep, NULL), -3);
	assert_int_equal(rep.id[0], '\0');
	restore_report_clear(&rep);
	assert_int_equal(lstat(case_dest(l), &st), -1);
	check_outside(l, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_preload_first_fails),
		cmocka_unit_test(test_preload_needed_only),
		cmocka_unit_test(test_dotdot_member),
		cmocka_unit_test(test_dotdot_member_listed),
		cmocka_unit_test(test_bad_manifest),
		cmocka_unit_test(test_symlink_abs),
		cmocka_unit_test(test_symlink_rel),
		cmocka_unit_test(test_symlink_split),
		cmocka_unit_test(test_symlink_in_dest),
		cmocka_unit_test(test_hardlink_rel),
		cmocka_unit_test(test_hardlink_abs),
		cmocka_unit_test(test_unpinned),
		cmocka_unit_test(test_fast_meta),
		cmocka_unit_test(test_fast_planted),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
