#include "compat.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

static char tmpdir[] = "/tmp/coffer-test-util.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return util_remove_tree(tmpdir);
}

static void
test_durations(void **state)
{
	long long s;

	(void)state;
	assert_int_equal(util_parse_duration("90", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(util_parse_duration("90s", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(util_parse_duration("15m", &s), 0);
	assert_int_equal(s, 900);
	assert_int_equal(util_parse_duration("2h", &s), 0);
	assert_int_equal(s, 7200);
	assert_int_equal(util_parse_duration("7d", &s), 0);
	assert_int_equal(s, 604800);
	assert_int_equal(util_parse_duration("2w", &s), 0);
	assert_int_equal(s, 1209600);
	assert_int_equal(util_parse_duration("1y", &s), 0);
	assert_int_equal(s, 31536000);
	assert_int_equal(util_parse_duration("", &s), -1);
	assert_int_equal(util_parse_duration("-1d", &s), -1);
	assert_int_equal(util_parse_duration("3x", &s), -1);
	assert_int_equal(util_parse_duration("3dd", &s), -1);
	assert_int_equal(util_parse_duration("d", &s), -1);
	assert_int_equal(util_parse_duration("99999999999999999999", &s), -1);
	assert_int_equal(util_parse_duration("999999999999999999y", &s), -1);
}

static void
test_hex(void **state)
{
	const unsigned char in[] = { 0x00, 0x7f, 0x80, 0xff, 0xa5 };
	unsigned char back[5];
	char out[11];

	(void)state;
	util_hex(out, in, sizeof(in));
	assert_string_equal(out, "007f80ffa5");
	assert_int_equal(util_unhex(back, "007F80FFa5", 5), 0);
	assert_memory_equal(back, in, 5);
	assert_int_equal(util_unhex(back, "0g", 1), -1);
	assert_int_equal(util_unhex(back, "0", 1), -1);
}

static void
test_strlcpy(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(util_strlcpy(buf, "abcdef", sizeof(buf)), 6);
	assert_string_equal(buf, "abc");
	assert_int_equal(util_strlcpy(buf, "ab", sizeof(buf)), 2);
	assert_string_equal(buf, "ab");
}

static void
test_write_read(void **state)
{
	char *path, *data = NULL;
	size_t len;
	struct stat st;

	(void)state;
	path = util_path_join(tmpdir, "f");
	assert_non_null(path);
	assert_int_equal(util_write_file(path, "hello", 5, 0600, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(util_read_file(path, &data, &len, 100), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	free(data);
	/* replacing is allowed without UTIL_EXCL */
	assert_int_equal(util_write_file(path, "bye", 3, 0644, 0), 0);
	assert_int_equal(util_read_file(path, &data, &len, 100), 0);
	assert_string_equal(data, "bye");
	free(data);
	/* but refused with it, leaving the file as it was */
	assert_int_equal(util_write_file(path, "new", 3, 0600, UTIL_EXCL), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(util_read_file(path, &data, &len, 100), 0);
	assert_string_equal(data, "bye");
	free(data);
	/* the size cap */
	assert_int_equal(util_read_file(path, &data, &len, 2), -1);
	/* no temporary file left */
	free(path);
	path = util_asprintf("%s/f.tmp.%ld", tmpdir, (long)getpid());
	assert_int_not_equal(access(path, F_OK), 0);
	free(path);
}

static void
test_mkdir_remove(void **state)
{
	char *deep, *top;

	(void)state;
	deep = util_asprintf("%s/a/b/c", tmpdir);
	top = util_asprintf("%s/a", tmpdir);
	assert_int_equal(util_mkdir_p(deep, 0700), 0);
	assert_int_equal(access(deep, F_OK), 0);
	assert_int_equal(util_mkdir_p(deep, 0700), 0);
	assert_int_equal(util_remove_tree(top), 0);
	assert_int_not_equal(access(top, F_OK), 0);
	assert_int_equal(util_remove_tree(top), 0);
	free(deep);
	free(top);
}

static void
test_path_join(void **state)
{
	char *p;

	(void)state;
	p = util_path_join("/a", "b");
	assert_string_equal(p, "/a/b");
	free(p);
	p = util_path_join("/a/", "b");
	assert_string_equal(p, "/a/b");
	free(p);
}

/* A large element, as a manifest entry is: the key and a payload that
 * must travel with it. */
struct big {
	unsigned key;
	unsigned char pad[180];
	unsigned check;
};

static int
big_cmp(const void *a, const void *b)
{
	const struct big *x = a, *y = b;

	return (x->key < y->key ? -1 : x->key > y->key);
}

static void
test_sort(void **state)
{
	enum { N = 5000 };
	struct big *a, *want;
	unsigned seed = 12345;
	size_t i, round;

	(void)state;
	a = calloc(N, sizeof(*a));
	want = calloc(N, sizeof(*want));
	assert_non_null(a);
	assert_non_null(want);
	for (round = 0; round < 4; round++) {
		for (i = 0; i < N; i++) {
			seed = seed * 1103515245 + 12345;
			/* sorted, reversed, random with repeats, one out of
			 * place */
			a[i].key = round == 0 ? (unsigned)i : round == 1 ?
			    (unsigned)(N - i) : round == 2 ? (seed >> 16) % 997 :
			    (i == N / 2 ? 0 : (unsigned)i + 1);
			memset(a[i].pad, (int)(a[i].key & 0xff),
			    sizeof(a[i].pad));
			a[i].check = a[i].key * 7 + 3;
		}
		memcpy(want, a, N * sizeof(*a));
		qsort(want, N, sizeof(*want), big_cmp);
		util_sort(a, N, sizeof(*a), big_cmp);
		for (i = 0; i < N; i++) {
			assert_int_equal(a[i].key, want[i].key);
			assert_int_equal(a[i].check, a[i].key * 7 + 3);
			assert_int_equal(a[i].pad[179], a[i].key & 0xff);
		}
	}
	/* Small and empty arrays. */
	util_sort(a, 0, sizeof(*a), big_cmp);
	a[0].key = 2;
	a[1].key = 1;
	util_sort(a, 2, sizeof(*a), big_cmp);
	assert_int_equal(a[0].key, 1);
	free(a);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_mkdir_remove),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_sort),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
