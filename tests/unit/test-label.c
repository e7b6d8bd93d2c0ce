/*
 * test-label: the label rule of coffer-vault(5),
 * [A-Za-z0-9][A-Za-z0-9._-]{0,127}, never "." or "..".
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "label.h"

/* A label of n characters: "a" then "b"s. */
static char *
make_label(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, 'b', n);
	s[0] = 'a';
	s[n] = '\0';
	return (s);
}

static void
test_valid(void **state)
{
	static const char *const ok[] = {
		"a", "Z", "0", "nightly-2024-01-01", "a..b", "a.", "9_x",
		"web1.example.com", "A-B_C.D", "x-", "0..", "MED-000001",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		if (!label_valid(ok[i]))
			fail_msg("'%s' refused", ok[i]);
		assert_int_equal(label_check(ok[i], "set label"), 0);
	}
}

static void
test_invalid(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "a/b", "-x", ".x", "_x", "a b", "a\\b",
		"a\nb", "a:b", "a*", "/a", "a/", "~a", "a\tb",
		"caf\xc3\xa9", "\xc3\xa9t\xc3\xa9", "a\x7f",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (label_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(label_check(bad[i], "set label"), -1);
	}
	assert_int_equal(label_valid(NULL), 0);
	assert_int_equal(label_check(NULL, "set label"), -1);
}

static void
test_length(void **state)
{
	char *s;

	(void)state;
	s = make_label(127);
	assert_int_equal(label_valid(s), 1);
	free(s);
	s = make_label(128);
	assert_int_equal(label_valid(s), 1);
	assert_int_equal(label_check(s, "set label"), 0);
	free(s);
	s = make_label(129);
	assert_int_equal(label_valid(s), 0);
	assert_int_equal(label_check(s, "set label"), -1);
	free(s);
	s = make_label(4096);
	assert_int_equal(label_valid(s), 0);
	free(s);
}

/* Run label_check(s, what) with stderr captured; return what it said. */
static char *
check_message(const char *s, const char *what)
{
	char path[] = "/tmp/test-label-XXXXXX";
	char *buf = calloc(1, 1024);
	int fd, saved;
	ssize_t n;

	assert_non_null(buf);
	assert_true((fd = mkstemp(path)) >= 0);
	fflush(stderr);
	assert_true((saved = dup(2)) >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	assert_int_equal(label_check(s, what), -1);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_true((n = pread(fd, buf, 1023, 0)) > 0);
	close(fd);
	unlink(path);
	return (buf);
}

static void
test_messages(void **state)
{
	char *msg;

	(void)state;
	msg = check_message("-x", "set label");
	assert_non_null(strstr(msg, "invalid set label '-x': must start "
	    "with a letter or digit"));
	free(msg);
	msg = check_message("..", "medium label");
	assert_non_null(strstr(msg, "invalid medium label '..'"));
	free(msg);
	msg = check_message("", "set label");
	assert_non_null(strstr(msg, "invalid set label '': must not be "
	    "empty"));
	free(msg);
	msg = check_message("a/b", "set label");
	assert_non_null(strstr(msg, "invalid set label 'a/b': only "
	    "letters, digits"));
	free(msg);
	/* Control characters are not printed raw. */
	msg = check_message("a\033[2Jb", "set label");
	assert_null(strchr(msg, '\033'));
	free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_messages),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
