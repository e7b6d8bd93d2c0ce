#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "scan.h"
#include "statecache.h"
#include "util.h"
#include "warnp.h"

static char home[] = "/tmp/coffer-test-statecache.XXXXXX";

static int
setup(void **state)
{

	(void)state;
	if (crypto_init() != 0 || mkdtemp(home) == NULL)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{

	(void)state;
	return (util_remove_tree(home));
}

/* A record for path with a size and an mtime; the rest fixed. */
static void
mkrec(struct statecache_rec *r, const char *path, uint64_t size,
    int64_t mtime)
{

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->pathlen = strlen(path);
	r->mode = S_IFREG | 0644;
	r->uid = 1000;
	r->gid = 100;
	r->size = size;
	r->mtime_ns = mtime;
	r->ctime_ns = mtime;
	r->ino = 1000 + size;
	r->dev = 42;
	r->has_sha256 = 1;
	crypto_sha256(path, strlen(path), r->sha256);
	util_strlcpy(r->in, "set-1", sizeof(r->in));
}

/* A struct stat matching rec, as lstat would give. */
static void
mkstat(struct stat *st, const struct statecache_rec *r)
{

	memset(st, 0, sizeof(*st));
	st->st_mode = r->mode;
	st->st_uid = r->uid;
	st->st_gid = r->gid;
	st->st_size = (off_t)r->size;
	st->st_mtim.tv_sec = r->mtime_ns / 1000000000;
	st->st_mtim.tv_nsec = r->mtime_ns % 1000000000;
	st->st_ctim.tv_sec = r->ctime_ns / 1000000000;
	st->st_ctim.tv_nsec = r->ctime_ns % 1000000000;
	st->st_ino = (ino_t)r->ino;
	st->st_dev = (dev_t)r->dev;
}

#define T0	((int64_t)1700000000 * 1000000000)	/* old files */
#define START1	((int64_t)1700000100 * 1000000000)	/* first scan */

/* The first scan, in scan order. */
static const char *const paths1[] = {
	"a", "a/b", "a-", "a.b", "d\nx", "gone", "z\xff", "\xff\xff"
};

static void
write_cache(const char *job, const char *set, unsigned int which)
{
	struct statecache_writer *w;
	struct statecache_rec r;
	size_t i;

	assert_int_equal(statecache_writer_new(home, "vault1", job, set,
	    START1, &w), 0);
	for (i = 0; i < ARRAY_SIZE(paths1); i++) {
		mkrec(&r, paths1[i], 10 + i, T0 + (int64_t)i);
		assert_int_equal(statecache_write(w, &r), 0);
	}
	assert_int_equal(statecache_commit(w, which), 0);
}

struct deleted {
	char *paths[16];
	size_t n;
};

static int
on_deleted(void *cookie, const struct statecache_rec *r)
{
	struct deleted *d = cookie;

	assert_true(d->n < 16);
	d->paths[d->n] = malloc(r->pathlen + 1);
	memcpy(d->paths[d->n], r->path, r->pathlen + 1);
	d->n++;
	return (0);
}

static void
deleted_free(struct deleted *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->paths[i]);
	d->n = 0;
}

static void
test_merge_join(void **state)
{
	struct statecache_reader *r;
	const struct statecache_header *h;
	const struct statecache_rec *c;
	struct statecache_rec cur;
	struct deleted d = { { NULL }, 0 };
	struct stat st, st_full, st_last;
	char *full, *last;
	/* The new scan: path, size, mtime, expected lookup, changed. */
	static const struct {
		const char *path;
		uint64_t size;
		int64_t mtime;
		int found, changed;
	} scan2[] = {
		{ "a", 10, T0 + 0, 1, 0 },		/* unchanged */
		{ "a/b", 99, T0 + 1, 1, 1 },		/* size */
		{ "a/new", 5, T0, 0, 1 },		/* new */
		/* "a-" deleted */
		{ "a.b", 13, T0 + 777, 1, 1 },		/* mtime */
		{ "d\nx", 14, T0 + 4, 1, 0 },		/* unchanged */
		/* "gone" deleted */
		{ "new2", 1, T0, 0, 1 },		/* new */
		{ "z\xff", 16, START1, 1, 1 },		/* racy */
		/* "\xff\xff" deleted, found by statecache_finish */
	};
	size_t i;
	int ret;

	(void)state;
	write_cache("job1", "set-1", STATECACHE_FULL | STATECACHE_LAST);
	/* Both copies exist and are one file. */
	full = statecache_path(home, "vault1", "job1", STATECACHE_FULL);
	last = statecache_path(home, "vault1", "job1", STATECACHE_LAST);
	assert_int_equal(stat(full, &st_full), 0);
	assert_int_equal(stat(last, &st_last), 0);
	assert_int_equal(st_full.st_ino, st_last.st_ino);
	assert_int_equal(st_full.st_mode & 0777, 0600);
	free(full);
	free(last);

	assert_int_equal(statecache_open(home, "vault1", "job1",
	    STATECACHE_LAST, &r), STATECACHE_OK);
	h = statecache_header(r);
	assert_string_equal(h->vault_id, "vault1");
	assert_string_equal(h->job, "job1");
	assert_string_equal(h->set_label, "set-1");
	assert_int_equal(h->scan_start_ns, START1);
	assert_int_equal(h->count, ARRAY_SIZE(paths1));

	for (i = 0; i < ARRAY_SIZE(scan2); i++) {
		mkrec(&cur, scan2[i].path, scan2[i].size, scan2[i].mtime);
		ret = statecache_lookup_next(r, cur.path, cur.pathlen, &c,
		    on_deleted, &d);
		assert_int_equal(ret, scan2[i].found);
		if (!ret) {
			assert_null(c);
			continue;
		}
		assert_non_null(c);
		assert_int_equal(c->pathlen, cur.pathlen);
		assert_memory_equal(c->path, cur.path, cur.pathlen);
		assert_int_equal(c->has_sha256, 1);
		crypto_sha256(cur.path, cur.pathlen, cur.sha256);
		assert_memory_equal(c->sha256, cur.sha256, 32);
		assert_string_equal(c->in, "set-1");
		/* The file as lstat now sees it (same inode as cached). */
		cur.ino = c->ino;
		mkstat(&st, &cur);
		assert_int_equal(statecache_changed(c, &st, h->scan_start_ns),
		    scan2[i].changed);
	}
	assert_int_equal(d.n, 2);
	assert_string_equal(d.paths[0], "a-");
	assert_string_equal(d.paths[1], "gone");
	deleted_free(&d);
	assert_int_equal(statecache_finish(r, on_deleted, &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.paths[0], "\xff\xff");
	deleted_free(&d);
	statecache_close(r);

	/* Lookups out of scan order are refused. */
	assert_int_equal(statecache_open(home, "vault1", "job1",
	    STATECACHE_FULL, &r), STATECACHE_OK);
	assert_int_equal(statecache_lookup_next(r, "a.b", 3, &c, NULL, NULL),
	    1);
	assert_int_equal(statecache_lookup_next(r, "a/b", 3, &c, NULL, NULL),
	    -1);
	statecache_close(r);
	statecache_close(NULL);
}

static void
test_changed(void **state)
{
	struct statecache_rec r;
	struct stat st;

	(void)state;
	mkrec(&r, "f", 100, T0);
	mkstat(&st, &r);
	assert_int_equal(statecache_changed(&r, &st, START1), 0);
	/* The racy rule: at or after the cached scan's start. */
	assert_int_equal(statecache_changed(&r, &st, T0 + 1), 0);
	assert_int_equal(statecache_changed(&r, &st, T0), 1);
	assert_int_equal(statecache_changed(&r, &st, T0 - 1), 1);
	r.ctime_ns = T0 + 50;
	mkstat(&st, &r);
	assert_int_equal(statecache_changed(&r, &st, T0 + 10), 1);
	mkrec(&r, "f", 100, T0);
	/* Each attribute. */
	mkstat(&st, &r);
	st.st_size++;
	assert_int_equal(statecache_changed(&r, &st, START1), 1);
	mkstat(&st, &r);
	st.st_mtim.tv_nsec++;
	assert_int_equal(statecache_changed(&r, &st, START1), 1);
	mkstat(&st, &r);
	st.st_ctim.tv_sec++;
	assert_int_equal(statecache_changed(&r, &st, START1), 1);
	mkstat(&st, &r);
	st.st_ino++;
	assert_int_equal(statecache_changed(&r, &st, START1), 1);
	mkstat(&st, &r);
	st.st_mode ^= 0100;
	assert_int_equal(statecache_changed(&r, &st, START1), 1);
	mkstat(&st, &r);
	st.st_uid++;
	assert_int_equal(statecache_changed(&r, &st, START1), 1);
	mkstat(&st, &r);
	st.st_gid++;
	assert_int_equal(statecache_changed(&r, &st, START1), 1);
	/* The device is not compared (documented). */
	mkstat(&st, &r);
	st.st_dev++;
	assert_int_equal(statecache_changed(&r, &st, START1), 0);
	/* rec_from_stat round trip. */
	mkstat(&st, &r);
	memset(&r, 0, sizeof(r));
	statecache_rec_from_stat(&r, &st);
	assert_int_equal(r.size, 100);
	assert_int_equal(r.mtime_ns, T0);
	assert_int_equal(r.dev, 42);
	assert_int_equal(statecache_changed(&r, &st, START1), 0);
}

/* Write data to file; open it; return the status. */
static int
open_bytes(const char *file, const char *data, size_t len)
{
	struct statecache_reader *r;
	int ret;

	assert_int_equal(util_write_file(file, data, len, 0600, 0), 0);
	ret = statecache_open_file(file, &r);
	if (ret == STATECACHE_OK)
		assert_non_null(r);
	else
		assert_null(r);
	statecache_close(r);
	return (ret);
}

static void
test_damage(void **state)
{
	struct statecache_reader *r;
	struct statecache_writer *w;
	struct statecache_rec rec;
	char *good, *bad, *data, *copy;
	size_t len, i;

	(void)state;
	good = util_asprintf("%s/good.cache", home);
	bad = util_asprintf("%s/bad.cache", home);
	assert_int_equal(statecache_open_file(good, &r), STATECACHE_MISSING);
	assert_null(r);
	assert_int_equal(statecache_writer_new_file(good, "vault1", "job1",
	    "set-1", START1, &w), 0);
	for (i = 0; i < ARRAY_SIZE(paths1); i++) {
		mkrec(&rec, paths1[i], i, T0);
		assert_int_equal(statecache_write(w, &rec), 0);
	}
	assert_int_equal(statecache_commit(w, 0), 0);
	assert_int_equal(util_read_file(good, &data, &len, 1 << 20), 0);
	assert_int_equal(open_bytes(bad, data, len), STATECACHE_OK);

	warnp_quiet(1);
	/* Every truncation. */
	for (i = 0; i < len; i++)
		assert_int_equal(open_bytes(bad, data, i),
		    STATECACHE_DAMAGED);
	/* Every flipped bit 0 and bit 7. */
	copy = malloc(len + 1);
	for (i = 0; i < len; i++) {
		memcpy(copy, data, len);
		copy[i] ^= 0x01;
		assert_int_equal(open_bytes(bad, copy, len),
		    STATECACHE_DAMAGED);
		copy[i] ^= (char)0x81;
		assert_int_equal(open_bytes(bad, copy, len),
		    STATECACHE_DAMAGED);
	}
	/* Trailing garbage. */
	memcpy(copy, data, len);
	copy[len] = '\n';
	assert_int_equal(open_bytes(bad, copy, len + 1), STATECACHE_DAMAGED);
	warnp_quiet(0);
	free(copy);
	free(data);
	free(good);
	free(bad);
}

static void
test_writer_refuses(void **state)
{
	struct statecache_reader *r;
	struct statecache_writer *w;
	struct statecache_rec rec;

	(void)state;
	assert_int_equal(statecache_writer_new(home, "vault1", "bad/job",
	    "s", 0, &w), -1);
	assert_int_equal(statecache_writer_new(home, "..", "job", "s", 0,
	    &w), -1);
	assert_int_equal(statecache_writer_new(home, "vault1", "jobr", "s\n",
	    0, &w), -1);
	assert_int_equal(statecache_writer_new(home, "vault1", "jobr", "s",
	    0, &w), 0);
	mkrec(&rec, "a.b", 1, T0);
	assert_int_equal(statecache_write(w, &rec), 0);
	/* "a/b" comes before "a.b" in scan order. */
	mkrec(&rec, "a/b", 1, T0);
	assert_int_equal(statecache_write(w, &rec), -1);
	/* A failed writer refuses to commit, and nothing is replaced. */
	assert_int_equal(statecache_commit(w, STATECACHE_LAST), -1);
	assert_int_equal(statecache_open(home, "vault1", "jobr",
	    STATECACHE_LAST, &r), STATECACHE_MISSING);
	assert_null(r);
	statecache_writer_abort(NULL);
}

static int
count_tmp(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, "tmp") != NULL)
			n++;
	closedir(d);
	return (n);
}

static void
test_atomic(void **state)
{
	struct statecache_reader *r;
	struct statecache_writer *w;
	struct statecache_rec rec;
	char *dir, *src, *dst;
	pid_t pid;
	int status;

	(void)state;
	write_cache("job2", "set-1", STATECACHE_FULL | STATECACHE_LAST);
	dir = util_asprintf("%s/cache/vault1/job2", home);

	/* A run that dies before its commit keeps the old caches. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		free(dir);
		if (statecache_writer_new(home, "vault1", "job2", "set-2",
		    START1 + 1, &w) != 0)
			_exit(1);
		mkrec(&rec, "new", 1, T0);
		if (statecache_write(w, &rec) != 0)
			_exit(1);
		_exit(0);	/* crash: no commit, no abort */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(count_tmp(dir), 1);
	assert_int_equal(statecache_open(home, "vault1", "job2",
	    STATECACHE_LAST, &r), STATECACHE_OK);
	assert_string_equal(statecache_header(r)->set_label, "set-1");
	statecache_close(r);

	/* An incr commits last.cache only; the stale file goes. */
	assert_int_equal(statecache_writer_new(home, "vault1", "job2",
	    "set-3", START1 + 2, &w), 0);
	assert_int_equal(count_tmp(dir), 1);	/* ours only */
	mkrec(&rec, "only", 1, T0);
	assert_int_equal(statecache_write(w, &rec), 0);
	assert_int_equal(statecache_commit(w, STATECACHE_LAST), 0);
	assert_int_equal(count_tmp(dir), 0);
	assert_int_equal(statecache_open(home, "vault1", "job2",
	    STATECACHE_LAST, &r), STATECACHE_OK);
	assert_string_equal(statecache_header(r)->set_label, "set-3");
	assert_int_equal(statecache_header(r)->count, 1);
	statecache_close(r);
	assert_int_equal(statecache_open(home, "vault1", "job2",
	    STATECACHE_FULL, &r), STATECACHE_OK);
	assert_string_equal(statecache_header(r)->set_label, "set-1");
	assert_int_equal(statecache_header(r)->count, ARRAY_SIZE(paths1));
	statecache_close(r);

	/* An aborted writer leaves nothing. */
	assert_int_equal(statecache_writer_new(home, "vault1", "job2",
	    "set-4", START1 + 3, &w), 0);
	statecache_writer_abort(w);
	assert_int_equal(count_tmp(dir), 0);

	/* A cache copied under another job is refused. */
	src = util_asprintf("%s/last.cache", dir);
	dst = util_asprintf("%s/cache/vault1/job3", home);
	assert_int_equal(util_mkdir_p(dst, 0700), 0);
	free(dst);
	dst = util_asprintf("%s/cache/vault1/job3/last.cache", home);
	assert_int_equal(link(src, dst), 0);
	warnp_quiet(1);
	assert_int_equal(statecache_open(home, "vault1", "job3",
	    STATECACHE_LAST, &r), STATECACHE_DAMAGED);
	warnp_quiet(0);
	assert_null(r);

	/* Removing makes the next backup a full. */
	assert_int_equal(statecache_remove(home, "vault1", "job2"), 0);
	assert_int_equal(statecache_open(home, "vault1", "job2",
	    STATECACHE_LAST, &r), STATECACHE_MISSING);
	assert_int_equal(statecache_open(home, "vault1", "job2",
	    STATECACHE_FULL, &r), STATECACHE_MISSING);
	assert_int_equal(statecache_remove(home, "vault1", "job2"), 0);
	free(src);
	free(dst);
	free(dir);
}

static int
count_deleted(void *cookie, const struct statecache_rec *r)
{

	(void)r;
	(*(int *)cookie)++;
	return (0);
}

/* Many records: buffer boundaries, streaming both ways. */
static void
test_many(void **state)
{
	struct statecache_reader *r;
	struct statecache_writer *w;
	struct statecache_rec rec;
	const struct statecache_rec *c;
	struct deleted d = { { NULL }, 0 };
	char path[64];
	int i, n = 20000, ndeleted = 0;

	(void)state;
	assert_int_equal(statecache_writer_new(home, "vault1", "many",
	    "set-1", START1, &w), 0);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "dir/%06d/file", i);
		mkrec(&rec, path, (uint64_t)i, T0);
		assert_int_equal(statecache_write(w, &rec), 0);
	}
	assert_int_equal(statecache_commit(w,
	    STATECACHE_FULL | STATECACHE_LAST), 0);
	assert_int_equal(statecache_open(home, "vault1", "many",
	    STATECACHE_FULL, &r), STATECACHE_OK);
	assert_int_equal(statecache_header(r)->count, (uint64_t)n);
	/* Look up every other one; the rest are deleted. */
	for (i = 1; i < n; i += 2) {
		snprintf(path, sizeof(path), "dir/%06d/file", i);
		assert_int_equal(statecache_lookup_next(r, path, strlen(path),
		    &c, count_deleted, &ndeleted), 1);
		assert_int_equal(c->size, (uint64_t)i);
	}
	assert_int_equal(ndeleted, n / 2);
	/* A path past the last record is new. */
	assert_int_equal(statecache_lookup_next(r, "zz", 2, &c,
	    count_deleted, &ndeleted), 0);
	assert_null(c);
	assert_int_equal(statecache_finish(r, on_deleted, &d), 0);
	assert_int_equal(d.n, 0);
	statecache_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_join),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_writer_refuses),
		cmocka_unit_test(test_atomic),
		cmocka_unit_test(test_many),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
