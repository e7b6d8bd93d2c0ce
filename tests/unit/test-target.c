/*
 * test-target: lib/target with the local backend: write-once puts through
 * ".part" names, ranges, listings, leftovers of crashed runs, name checks.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "target.h"
#include "util.h"

#define HOST "web1"
#define RUN "1234-00112233aabbccdd"

struct fixture {
	char dir[64];
	struct target *t;
};

/* A growable buffer that target_get writes into. */
struct sink {
	unsigned char *buf;
	size_t len, cap;
	size_t calls;
	int fail_after;     /* >0: fail on that call */
};

static int
sink_write(void *cookie, const void *buf, size_t len)
{
	struct sink *s = cookie;

	s->calls++;
	if (s->fail_after > 0 && s->calls >= (size_t)s->fail_after)
		return (-1);
	assert_true(len > 0);
	assert_true(len <= 1024 * 1024);
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		assert_non_null(s->buf = realloc(s->buf, s->cap));
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return (0);
}

static void
sink_reset(struct sink *s)
{

	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* Names (and sizes) seen by a listing, "name size\n" each. */
struct seen {
	char text[8192];
	size_t count;
	int stop_at;
};

static int
seen_add(void *cookie, const struct target_entry *e)
{
	struct seen *s = cookie;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s %llu\n", e->name,
	    (unsigned long long)e->size);
	s->count++;
	if (s->stop_at > 0 && s->count == (size_t)s->stop_at)
		return (7);
	return (0);
}

/* Parts seen by target_list_parts: "object host run\n" each. */
static int
parts_add(void *cookie, const struct target_entry *e)
{
	struct seen *s = cookie;
	size_t len = strlen(s->text);

	assert_non_null(e->object);
	assert_non_null(e->host);
	assert_non_null(e->run_id);
	snprintf(s->text + len, sizeof(s->text) - len, "%s|%s|%s|%s\n",
	    e->name, e->object, e->host, e->run_id);
	s->count++;
	return (0);
}

/* A deterministic test pattern. */
static unsigned char *
pattern(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len + 1);
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 16);
	}
	return (p);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-target-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(f->t = target_open_local(f->dir, HOST, RUN));
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	target_free(f->t);
	assert_int_equal(util_remove_tree(f->dir), 0);
	free(f);
	return (0);
}

/* Path of name inside the fixture's vault (static buffer). */
static const char *
path_of(struct fixture *f, const char *name)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "%s/%s", f->dir, name);
	return (buf);
}

/* The bytes of a file in the vault, read behind the target's back. */
static char *
file_text(struct fixture *f, const char *name, size_t *len)
{
	char *buf;
	size_t n;

	assert_int_equal(util_read_file(path_of(f, name), &buf, &n,
	    64 << 20), 0);
	if (len != NULL)
		*len = n;
	return (buf);
}

/* Number of entries in a directory of the vault (not "." or ".."). */
static int
dir_entries(struct fixture *f, const char *name)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	assert_non_null(d = opendir(path_of(f, name)));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return (n);
}

static void
test_put_get_head(void **state)
{
	struct fixture *f = *state;
	struct sink s = { 0 };
	uint64_t size = 99;
	char *text;
	size_t len;
	struct stat st;

	assert_int_equal(target_head(f->t, "sets/web1/L1/set.json", &size), 0);
	assert_int_equal(target_put_buf(f->t, "sets/web1/L1/set.json",
	    "{\"format\":1}\n", 13), 0);
	assert_int_equal(target_head(f->t, "sets/web1/L1/set.json", &size), 1);
	assert_int_equal(size, 13);
	assert_int_equal(target_head(f->t, "sets/web1/L1/set.json", NULL), 1);

	/* On disk under its name, no part left, directories made. */
	text = file_text(f, "sets/web1/L1/set.json", &len);
	assert_int_equal(len, 13);
	assert_memory_equal(text, "{\"format\":1}\n", 13);
	free(text);
	assert_int_equal(dir_entries(f, "sets/web1/L1"), 1);
	assert_int_equal(stat(path_of(f, "sets/web1/L1"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	assert_int_equal(target_get(f->t, "sets/web1/L1/set.json", 0,
	    TARGET_TO_END, sink_write, &s), 0);
	assert_int_equal(s.len, 13);
	assert_memory_equal(s.buf, "{\"format\":1}\n", 13);
	sink_reset(&s);

	/* A path through a file is simply missing. */
	assert_int_equal(target_head(f->t, "sets/web1/L1/set.json/x", &size),
	    0);
	/* A directory is not an object. */
	assert_int_equal(target_head(f->t, "sets/web1", &size), -1);
}

/* target_get_small: whole, NUL-terminated, refused above its limit. */
static void
test_get_small(void **state)
{
	struct fixture *f = *state;
	char *buf = (char *)1;
	size_t len = 7;

	assert_int_equal(target_put_buf(f->t, "holds/web1/L1.1.json",
	    "0123456789", 10), 0);
	assert_int_equal(target_get_small(f->t, "holds/web1/L1.1.json", 10,
	    &buf, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);
	assert_int_equal(target_get_small(f->t, "holds/web1/L1.1.json", 9,
	    &buf, &len), -1);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(target_put_buf(f->t, "holds/web1/L1.2.json", "", 0),
	    0);
	assert_int_equal(target_get_small(f->t, "holds/web1/L1.2.json", 10,
	    &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	assert_int_equal(target_get_small(f->t, "holds/web1/L1.3.json", 10,
	    &buf, &len), -1);
}

static void
test_streaming_and_ranges(void **state)
{
	struct fixture *f = *state;
	const size_t total = 3 * 1024 * 1024 + 12345;
	unsigned char *data = pattern(total, 1);
	struct target_put *p;
	struct sink s = { 0 };
	uint64_t size;
	size_t off, step;
	char *text;
	size_t len;

	assert_non_null(p = target_put_begin(f->t, "sets/web1/L1/vol-0001"));
	/* Mixed write sizes: small ones buffered, big ones direct. */
	for (off = 0, step = 1; off < total; off += step, step = step * 7 %
	    (2 * 1024 * 1024 + 11) + 1) {
		if (step > total - off)
			step = total - off;
		assert_int_equal(target_put_write(p, data + off, step), 0);
	}
	assert_int_equal(target_put_write(p, data, 0), 0);
	assert_int_equal(p->size, total);
	/* Not visible before the commit, only its part. */
	assert_int_equal(target_head(f->t, "sets/web1/L1/vol-0001", NULL), 0);
	assert_int_equal(target_head(f->t,
	    "sets/web1/L1/vol-0001." HOST "." RUN ".part", NULL), 1);
	assert_int_equal(target_put_commit(p), 0);
	assert_int_equal(target_head(f->t,
	    "sets/web1/L1/vol-0001." HOST "." RUN ".part", NULL), 0);

	assert_int_equal(target_head(f->t, "sets/web1/L1/vol-0001", &size), 1);
	assert_int_equal(size, total);
	text = file_text(f, "sets/web1/L1/vol-0001", &len);
	assert_int_equal(len, total);
	assert_memory_equal(text, data, total);
	free(text);

	/* Whole, in pieces of at most 1 MiB. */
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", 0,
	    TARGET_TO_END, sink_write, &s), 0);
	assert_int_equal(s.len, total);
	assert_memory_equal(s.buf, data, total);
	assert_true(s.calls >= 4);
	sink_reset(&s);

	/* Ranges. */
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", 0, 10,
	    sink_write, &s), 0);
	assert_int_equal(s.len, 10);
	assert_memory_equal(s.buf, data, 10);
	sink_reset(&s);
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", 1048570,
	    2000000, sink_write, &s), 0);
	assert_int_equal(s.len, 2000000);
	assert_memory_equal(s.buf, data + 1048570, 2000000);
	sink_reset(&s);
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", total - 5,
	    TARGET_TO_END, sink_write, &s), 0);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.buf, data + total - 5, 5);
	sink_reset(&s);
	/* Exactly to the end. */
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", total - 5,
	    5, sink_write, &s), 0);
	assert_int_equal(s.len, 5);
	sink_reset(&s);
	/* At the end: nothing, no error. */
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", total,
	    TARGET_TO_END, sink_write, &s), 0);
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", total, 0,
	    sink_write, &s), 0);
	assert_int_equal(s.calls, 0);

	/* Past the end: ERANGE, nothing passed. */
	errno = 0;
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", total - 5,
	    6, sink_write, &s), -1);
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", total + 1,
	    TARGET_TO_END, sink_write, &s), -1);
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", 10,
	    UINT64_MAX - 5, sink_write, &s), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(s.calls, 0);

	/* A writer that stops the get. */
	s.fail_after = 2;
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0001", 0,
	    TARGET_TO_END, sink_write, &s), -1);
	assert_int_equal(s.calls, 2);
	sink_reset(&s);

	/* Missing: ENOENT. */
	errno = 0;
	assert_int_equal(target_get(f->t, "sets/web1/L1/vol-0002", 0,
	    TARGET_TO_END, sink_write, &s), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(target_get(f->t, "nosuchdir/x", 0,
	    TARGET_TO_END, sink_write, &s), -1);
	assert_int_equal(errno, ENOENT);
	free(data);
}

static void
test_reader(void **state)
{
	struct fixture *f = *state;
	const size_t total = 2 * 1024 * 1024 + 777;
	unsigned char *data = pattern(total, 2), *out = malloc(total);
	struct target_reader *r;
	size_t have = 0, want = 1;
	ssize_t got;

	assert_non_null(out);
	assert_int_equal(target_put_buf(f->t, "audit/web1/1.head", data,
	    total), 0);

	/* Reads of every size, from an offset. */
	assert_non_null(r = target_open_read(f->t, "audit/web1/1.head", 100));
	assert_int_equal(r->size, total);
	while ((got = target_read(r, out + have, want)) > 0) {
		have += (size_t)got;
		want = want * 3 % 200000 + 1;
	}
	assert_int_equal(got, 0);
	assert_int_equal(have, total - 100);
	assert_memory_equal(out, data + 100, total - 100);
	assert_int_equal(target_read(r, out, 10), 0);
	target_reader_close(r);

	/* At the end: reads nothing.  Past it: ERANGE. */
	assert_non_null(r = target_open_read(f->t, "audit/web1/1.head",
	    total));
	assert_int_equal(target_read(r, out, 10), 0);
	target_reader_close(r);
	errno = 0;
	assert_null(target_open_read(f->t, "audit/web1/1.head", total + 1));
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_null(target_open_read(f->t, "audit/web1/2.head", 0));
	assert_int_equal(errno, ENOENT);
	target_reader_close(NULL);
	free(data);
	free(out);
}

static void
test_write_once(void **state)
{
	struct fixture *f = *state;
	struct target_put *p1, *p2;
	char *text;
	size_t len;

	assert_int_equal(target_put_buf(f->t, "holds/web1/L1.1.json",
	    "original", 8), 0);
	errno = 0;
	assert_int_equal(target_put_buf(f->t, "holds/web1/L1.1.json",
	    "replacement", 11), -1);
	assert_int_equal(errno, EEXIST);
	text = file_text(f, "holds/web1/L1.1.json", &len);
	assert_int_equal(len, 8);
	assert_memory_equal(text, "original", 8);
	free(text);

	/* Two puts racing for one name: the first commit wins. */
	assert_non_null(p1 = target_put_begin(f->t, "holds/web1/L1.2.json"));
	{
		struct target *t2 = target_open_local(f->dir, HOST,
		    "99-ffff");

		assert_non_null(t2);
		assert_non_null(p2 = target_put_begin(t2,
		    "holds/web1/L1.2.json"));
		assert_int_equal(target_put_write(p2, "second", 6), 0);
		assert_int_equal(target_put_write(p1, "first", 5), 0);
		assert_int_equal(target_put_commit(p1), 0);
		errno = 0;
		assert_int_equal(target_put_commit(p2), -1);
		assert_int_equal(errno, EEXIST);
		target_free(t2);
	}
	text = file_text(f, "holds/web1/L1.2.json", &len);
	assert_int_equal(len, 5);
	assert_memory_equal(text, "first", 5);
	free(text);
	/* No part left behind by the loser. */
	assert_int_equal(dir_entries(f, "holds/web1"), 2);

	/* A ".part" name cannot be put. */
	errno = 0;
	assert_int_equal(target_put_buf(f->t, "holds/web1/x.part", "x", 1),
	    -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_abort(void **state)
{
	struct fixture *f = *state;
	struct target_put *p;
	struct seen s = { .count = 0 };

	assert_non_null(p = target_put_begin(f->t, "sets/web1/L9/vol-0001"));
	assert_int_equal(target_put_write(p, "abc", 3), 0);
	target_put_abort(p);
	target_put_abort(NULL);
	assert_int_equal(target_head(f->t, "sets/web1/L9/vol-0001", NULL), 0);
	assert_int_equal(target_list(f->t, "", TARGET_LIST_PARTS, seen_add,
	    &s), 0);
	assert_int_equal(s.count, 0);
	/* Not even the directories it made. */
	assert_int_equal(dir_entries(f, ""), 0);

	/* An abort does not disturb the objects next to it. */
	assert_int_equal(target_put_buf(f->t, "sets/web1/L9/vol-0001", "x",
	    1), 0);
	assert_non_null(p = target_put_begin(f->t, "sets/web1/L9/vol-0002"));
	target_put_abort(p);
	assert_int_equal(target_head(f->t, "sets/web1/L9/vol-0001", NULL), 1);
	assert_int_equal(dir_entries(f, "sets/web1/L9"), 1);
}

/* Begin and write in a child that dies without committing. */
static void
crash_child(struct fixture *f, const char *host, const char *run,
    const char *name)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == 0) {
		struct target *t = target_open_local(f->dir, host, run);
		struct target_put *p;

		if (t == NULL || (p = target_put_begin(t, name)) == NULL)
			_exit(1);
		if (target_put_write(p, "partial", 7) != 0)
			_exit(1);
		_exit(0);   /* no commit, no abort: a crash */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_crash_leftovers(void **state)
{
	struct fixture *f = *state;
	struct seen s = { .count = 0 };

	assert_int_equal(target_put_buf(f->t, "sets/web1/L1/set.json", "{}",
	    2), 0);
	crash_child(f, "web1", "4242-aa", "sets/web1/L1/set.json.sig");
	crash_child(f, "web1", "4243-bb", "coffer-vault.0002");
	crash_child(f, "example.com", "77-cc",
	    "sets/example.com/L1/vol-0001.tar.zst.age");
	crash_child(f, "example.com", "78-dd", "coffer-vault.0003");

	/* Not objects. */
	assert_int_equal(target_list(f->t, NULL, 0, seen_add, &s), 0);
	assert_string_equal(s.text, "sets/web1/L1/set.json 2\n");
	assert_int_equal(target_head(f->t, "sets/web1/L1/set.json.sig", NULL),
	    0);

	/* All of them with the flag. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list(f->t, "", TARGET_LIST_PARTS, seen_add,
	    &s), 0);
	assert_int_equal(s.count, 5);
	assert_non_null(strstr(s.text,
	    "sets/web1/L1/set.json.sig.web1.4242-aa.part 0\n"));

	/* This host's leftovers, parsed. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list_parts(f->t, "web1", parts_add, &s), 0);
	assert_string_equal(s.text,
	    "coffer-vault.0002.web1.4243-bb.part|coffer-vault.0002|web1|"
	    "4243-bb\n"
	    "sets/web1/L1/set.json.sig.web1.4242-aa.part|"
	    "sets/web1/L1/set.json.sig|web1|4242-aa\n");

	/* A host whose name ends another's is not confused with it. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list_parts(f->t, "com", parts_add, &s), 0);
	assert_int_equal(s.count, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list_parts(f->t, "example.com", parts_add,
	    &s), 0);
	assert_int_equal(s.count, 2);
	assert_non_null(strstr(s.text, "|sets/example.com/L1/vol-0001.tar."
	    "zst.age|example.com|77-cc\n"));
	assert_non_null(strstr(s.text, "|coffer-vault.0003|example.com|"
	    "78-dd\n"));
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list_parts(f->t, "web2", parts_add, &s), 0);
	assert_int_equal(s.count, 0);
	assert_int_equal(target_list_parts(f->t, "-bad", parts_add, &s), -1);

	/* Reconcile removes them; the object next to it stays. */
	assert_int_equal(target_delete(f->t,
	    "sets/web1/L1/set.json.sig.web1.4242-aa.part"), 0);
	assert_int_equal(target_delete(f->t,
	    "coffer-vault.0002.web1.4243-bb.part"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list_parts(f->t, "web1", parts_add, &s), 0);
	assert_int_equal(s.count, 0);
	assert_int_equal(target_head(f->t, "sets/web1/L1/set.json", NULL), 1);

	/* The crashed name is free to be written now. */
	assert_int_equal(target_put_buf(f->t, "sets/web1/L1/set.json.sig",
	    "sig\n", 4), 0);
}

static void
test_bad_names(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"../x", "/abs", "a//b", "a/./b", "", ".", "..", "a/", "a/..",
		"a/../b", "./a", "a\\b", "a\nb", "a\x7f", "sets/../../etc/x",
	};
	struct sink s = { 0 };
	struct seen seen = { .count = 0 };
	char *longname;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (target_name_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
		errno = 0;
		assert_int_equal(target_put_buf(f->t, bad[i], "x", 1), -1);
		assert_int_equal(errno, EINVAL);
		assert_null(target_put_begin(f->t, bad[i]));
		assert_int_equal(target_head(f->t, bad[i], NULL), -1);
		assert_int_equal(target_get(f->t, bad[i], 0, TARGET_TO_END,
		    sink_write, &s), -1);
		assert_null(target_open_read(f->t, bad[i], 0));
		assert_int_equal(target_delete(f->t, bad[i]), -1);
	}
	assert_int_equal(target_name_valid(NULL), 0);
	assert_int_equal(s.calls, 0);
	/* Nothing was written anywhere. */
	assert_int_equal(dir_entries(f, ""), 0);

	assert_true(target_name_valid("a"));
	assert_true(target_name_valid("a..b/.c/d."));
	assert_true(target_name_valid("sets/h/L/vol-0001.tar.zst.age"));
	assert_true(target_name_valid("caf\xc3\xa9"));

	longname = malloc(TARGET_NAME_MAX + 2);
	assert_non_null(longname);
	memset(longname, 'a', TARGET_NAME_MAX + 1);
	for (i = 100; i < TARGET_NAME_MAX; i += 101)
		longname[i] = '/';
	longname[TARGET_NAME_MAX] = '\0';
	assert_true(target_name_valid(longname));
	longname[TARGET_NAME_MAX] = 'a';
	longname[TARGET_NAME_MAX + 1] = '\0';
	assert_false(target_name_valid(longname));
	free(longname);

	/* Prefixes. */
	assert_int_equal(target_list(f->t, "../", 0, seen_add, &seen), -1);
	assert_int_equal(target_list(f->t, "/x", 0, seen_add, &seen), -1);
	assert_int_equal(target_list(f->t, "a//", 0, seen_add, &seen), -1);
	assert_int_equal(target_sync_dir(f->t, "../x"), -1);
	assert_int_equal(seen.count, 0);
}

static void
test_zero_length(void **state)
{
	struct fixture *f = *state;
	struct target_put *p;
	struct target_reader *r;
	struct sink s = { 0 };
	uint64_t size = 5;
	char buf[4];

	assert_int_equal(target_put_buf(f->t, "empty", "", 0), 0);
	assert_non_null(p = target_put_begin(f->t, "d/empty2"));
	assert_int_equal(target_put_commit(p), 0);
	assert_int_equal(target_head(f->t, "empty", &size), 1);
	assert_int_equal(size, 0);
	assert_int_equal(target_head(f->t, "d/empty2", &size), 1);
	assert_int_equal(size, 0);
	assert_int_equal(target_get(f->t, "empty", 0, TARGET_TO_END,
	    sink_write, &s), 0);
	assert_int_equal(target_get(f->t, "empty", 0, 0, sink_write, &s), 0);
	assert_int_equal(s.calls, 0);
	errno = 0;
	assert_int_equal(target_get(f->t, "empty", 0, 1, sink_write, &s), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(target_get(f->t, "empty", 1, TARGET_TO_END,
	    sink_write, &s), -1);
	assert_non_null(r = target_open_read(f->t, "empty", 0));
	assert_int_equal(target_read(r, buf, sizeof(buf)), 0);
	target_reader_close(r);
	/* Still write-once. */
	assert_int_equal(target_put_buf(f->t, "empty", "", 0), -1);
}

static void
test_list(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"sets/web1/L2/set.json", "sets/web1/L1/vol-0001",
		"sets/web1/L1/set.json", "coffer-vault.0001", "a.x", "a/b",
		"sets/web2/L1/set.json", "holds/web1/L1.1.json",
	};
	struct seen s = { .count = 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		assert_int_equal(target_put_buf(f->t, names[i], names[i],
		    strlen(names[i])), 0);

	/* Everything, in byte order ("a.x" < "a/b"), with sizes. */
	assert_int_equal(target_list(f->t, "", 0, seen_add, &s), 0);
	assert_string_equal(s.text,
	    "a.x 3\n"
	    "a/b 3\n"
	    "coffer-vault.0001 17\n"
	    "holds/web1/L1.1.json 20\n"
	    "sets/web1/L1/set.json 21\n"
	    "sets/web1/L1/vol-0001 21\n"
	    "sets/web1/L2/set.json 21\n"
	    "sets/web2/L1/set.json 21\n");

	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list(f->t, "sets/web1/", 0, seen_add, &s), 0);
	assert_string_equal(s.text,
	    "sets/web1/L1/set.json 21\n"
	    "sets/web1/L1/vol-0001 21\n"
	    "sets/web1/L2/set.json 21\n");

	/* A plain string prefix, not only directories. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list(f->t, "sets/web1/L1/set", 0, seen_add,
	    &s), 0);
	assert_string_equal(s.text, "sets/web1/L1/set.json 21\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list(f->t, "sets/web", 0, seen_add, &s), 0);
	assert_int_equal(s.count, 4);
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list(f->t, "coffer-vault.", 0, seen_add, &s),
	    0);
	assert_string_equal(s.text, "coffer-vault.0001 17\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list(f->t, "a", 0, seen_add, &s), 0);
	assert_string_equal(s.text, "a.x 3\na/b 3\n");

	/* Missing directories list nothing. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(target_list(f->t, "sets/web9/", 0, seen_add, &s), 0);
	assert_int_equal(target_list(f->t, "a.x/y", 0, seen_add, &s), 0);
	assert_int_equal(s.count, 0);

	/* The callback can stop it. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(target_list(f->t, "", 0, seen_add, &s), 7);
	assert_int_equal(s.count, 2);
}

static void
test_symlinks_not_followed(void **state)
{
	struct fixture *f = *state;
	char outside[] = "/tmp/test-target-out-XXXXXX";
	char path[256];
	struct seen s = { .count = 0 };
	struct sink k = { 0 };

	assert_non_null(mkdtemp(outside));
	snprintf(path, sizeof(path), "%s/secret", outside);
	assert_int_equal(util_write_file(path, "secret", 6, 0644, 0), 0);
	assert_int_equal(symlink(outside, path_of(f, "sets")), 0);
	assert_int_equal(symlink(path, path_of(f, "link")), 0);

	/* Not listed, not read, not written through. */
	assert_int_equal(target_list(f->t, "", 0, seen_add, &s), 0);
	assert_int_equal(s.count, 0);
	assert_int_equal(target_head(f->t, "sets/secret", NULL), -1);
	assert_int_equal(target_get(f->t, "link", 0, TARGET_TO_END,
	    sink_write, &k), -1);
	assert_int_equal(target_get(f->t, "sets/secret", 0, TARGET_TO_END,
	    sink_write, &k), -1);
	assert_int_equal(k.calls, 0);
	assert_int_equal(target_put_buf(f->t, "sets/new", "x", 1), -1);
	assert_int_equal(target_put_buf(f->t, "link", "x", 1), -1);
	snprintf(path, sizeof(path), "%s/new", outside);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(util_remove_tree(outside), 0);
}

static void
test_delete(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(target_put_buf(f->t, "sets/web1/L1/a", "a", 1), 0);
	assert_int_equal(target_put_buf(f->t, "sets/web1/L1/b", "b", 1), 0);
	assert_int_equal(target_put_buf(f->t, "sets/web1/L2/a", "a", 1), 0);
	assert_int_equal(target_delete(f->t, "sets/web1/L1/a"), 0);
	assert_int_equal(target_head(f->t, "sets/web1/L1/a", NULL), 0);
	assert_int_equal(target_head(f->t, "sets/web1/L1/b", NULL), 1);
	/* Missing is not an error. */
	assert_int_equal(target_delete(f->t, "sets/web1/L1/a"), 0);
	assert_int_equal(target_delete(f->t, "nosuch/dir/x"), 0);
	/* The last object takes its empty directory with it, not more. */
	assert_int_equal(target_delete(f->t, "sets/web1/L1/b"), 0);
	assert_int_equal(stat(path_of(f, "sets/web1/L1"), &st), -1);
	assert_int_equal(stat(path_of(f, "sets/web1/L2"), &st), 0);
	assert_int_equal(target_delete(f->t, "sets/web1/L2/a"), 0);
	assert_int_equal(stat(path_of(f, "sets"), &st), -1);
	assert_int_equal(stat(f->dir, &st), 0);
	/* A directory is not an object to delete. */
	assert_int_equal(mkdir(path_of(f, "dir"), 0755), 0);
	assert_int_equal(target_delete(f->t, "dir"), -1);
}

static void
test_put_file_and_sync(void **state)
{
	struct fixture *f = *state;
	const size_t total = 2 * 1024 * 1024 + 3;
	unsigned char *data = pattern(total, 3);
	char src[] = "/tmp/test-target-src-XXXXXX";
	char *text;
	size_t len;
	int fd;

	assert_true((fd = mkstemp(src)) >= 0);
	assert_int_equal(util_write_all(fd, data, total), 0);
	close(fd);
	assert_int_equal(target_put_file(f->t, "catalog/web1/1.db.zst.age",
	    src), 0);
	text = file_text(f, "catalog/web1/1.db.zst.age", &len);
	assert_int_equal(len, total);
	assert_memory_equal(text, data, total);
	free(text);
	assert_int_equal(target_put_file(f->t, "catalog/web1/1.db.zst.age",
	    src), -1);
	assert_int_equal(target_put_file(f->t, "catalog/web1/2",
	    "/nonexistent/file"), -1);
	assert_int_equal(target_head(f->t, "catalog/web1/2", NULL), 0);
	unlink(src);
	free(data);

	assert_int_equal(target_sync_dir(f->t, ""), 0);
	assert_int_equal(target_sync_dir(f->t, NULL), 0);
	assert_int_equal(target_sync_dir(f->t, "catalog/web1/"), 0);
	assert_int_equal(target_sync_dir(f->t, "catalog/web1"), 0);
	assert_int_equal(target_sync_dir(f->t, "no/such"), 0);
}

static void
test_open_and_run_ids(void **state)
{
	struct fixture *f = *state;
	struct target *t;
	char *id;
	size_t i;

	(void)state;
	assert_non_null(id = target_run_id_new());
	assert_int_equal(target_run_id_pid(id), getpid());
	assert_non_null(strchr(id, '-'));
	assert_int_equal(strlen(strchr(id, '-') + 1), 16);
	for (i = 0; id[i] != '\0'; i++)
		assert_non_null(strchr("0123456789abcdef-", id[i]));
	assert_non_null(t = target_open_local(f->dir, "h", id));
	free(id);
	target_free(t);
	target_free(NULL);

	assert_int_equal(target_run_id_pid("123-ab"), 123);
	assert_int_equal(target_run_id_pid("x-ab"), -1);
	assert_int_equal(target_run_id_pid("123"), -1);
	assert_int_equal(target_run_id_pid(NULL), -1);

	assert_null(target_open_local(f->dir, "-x", RUN));
	assert_null(target_open_local(f->dir, "a/b", RUN));
	assert_null(target_open_local(f->dir, HOST, "a.b"));
	assert_null(target_open_local(f->dir, HOST, ""));
	assert_null(target_open_local("/nonexistent/vault", HOST, RUN));

	/* Read-only: no host, no run. */
	assert_non_null(t = target_open_local(f->dir, NULL, NULL));
	assert_string_equal(target_url(t), f->dir);
	assert_int_equal(target_put_buf(t, "x", "x", 1), -1);
	assert_int_equal(target_head(t, "x", NULL), 0);
	target_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_head, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_streaming_and_ranges,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_small, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_leftovers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zero_length, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_not_followed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_file_and_sync, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_and_run_ids, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
