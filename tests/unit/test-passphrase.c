/*
 * test-passphrase: reading passphrases from files and descriptors, and the
 * strength policy (12 characters, libcrack2's dictionary check, no
 * composition rules) against the real cracklib dictionary.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "passphrase.h"

static char tmpdir[] = "/tmp/test-passphrase.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	if (crypto_init() != 0 || mkdtemp(tmpdir) == NULL)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* write_file(name, data, len, mode): a file in tmpdir; returns its path. */
static char *
write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return (path);
}

static void
test_file_first_line(void **state)
{
	struct passphrase_source src = { NULL, -1 };
	char *pw;
	size_t len = 0;

	(void)state;
	src.file = write_file("p1", "first line pass\nsecond\n", 23, 0600);
	pw = passphrase_read(&src, NULL, 0, &len);
	assert_non_null(pw);
	assert_int_equal(len, 15);
	assert_string_equal(pw, "first line pass");
	passphrase_free(pw, len);
}

static void
test_file_no_newline(void **state)
{
	struct passphrase_source src = { NULL, -1 };
	char *pw;
	size_t len = 0;

	(void)state;
	/* Only one newline is stripped; inner spaces are kept. */
	src.file = write_file("p2", " two  spaces ", 13, 0600);
	pw = passphrase_read(&src, NULL, 0, &len);
	assert_non_null(pw);
	assert_int_equal(len, 13);
	assert_string_equal(pw, " two  spaces ");
	passphrase_free(pw, len);
}

static void
test_file_crlf(void **state)
{
	struct passphrase_source src = { NULL, -1 };
	char *pw;
	size_t len = 0;

	(void)state;
	src.file = write_file("p3", "dos line here\r\n", 15, 0600);
	pw = passphrase_read(&src, NULL, 0, &len);
	assert_non_null(pw);
	assert_string_equal(pw, "dos line here");
	passphrase_free(pw, len);
}

static void
test_file_empty_refused(void **state)
{
	struct passphrase_source src = { NULL, -1 };
	size_t len = 0;

	(void)state;
	src.file = write_file("p4", "\nnot the first line\n", 20, 0600);
	assert_null(passphrase_read(&src, NULL, 0, &len));
	src.file = write_file("p5", "", 0, 0600);
	assert_null(passphrase_read(&src, NULL, 0, &len));
}

static void
test_file_missing(void **state)
{
	struct passphrase_source src = { "/nonexistent/coffer-pass", -1 };
	size_t len = 0;

	(void)state;
	assert_null(passphrase_read(&src, NULL, 0, &len));
}

static void
test_file_group_readable_warns(void **state)
{
	struct passphrase_source src = { NULL, -1 };
	char *pw;
	size_t len = 0;

	(void)state;
	/* Accepted (with a warning on stderr). */
	src.file = write_file("p6", "readable by all\n", 16, 0644);
	pw = passphrase_read(&src, NULL, 0, &len);
	assert_non_null(pw);
	assert_string_equal(pw, "readable by all");
	passphrase_free(pw, len);
}

static void
test_file_too_long(void **state)
{
	struct passphrase_source src = { NULL, -1 };
	char *big;
	size_t len = 0;

	(void)state;
	big = malloc(PASSPHRASE_MAX + 10);
	assert_non_null(big);
	memset(big, 'x', PASSPHRASE_MAX + 10);
	src.file = write_file("p7", big, PASSPHRASE_MAX + 10, 0600);
	assert_null(passphrase_read(&src, NULL, 0, &len));
	/* Exactly the maximum is fine. */
	src.file = write_file("p8", big, PASSPHRASE_MAX, 0600);
	free(big);
	big = passphrase_read(&src, NULL, 0, &len);
	assert_non_null(big);
	assert_int_equal(len, PASSPHRASE_MAX);
	passphrase_free(big, len);
}

static void
test_fd_lines(void **state)
{
	struct passphrase_source src = { NULL, -1 };
	char *pw;
	size_t len = 0;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "old passphrase\nnew one\nlast", 27), 27);
	close(p[1]);
	src.fd = p[0];
	/* Each read takes one line and leaves the rest for the next. */
	pw = passphrase_read(&src, NULL, 0, &len);
	assert_non_null(pw);
	assert_string_equal(pw, "old passphrase");
	passphrase_free(pw, len);
	pw = passphrase_read(&src, NULL, 0, &len);
	assert_non_null(pw);
	assert_string_equal(pw, "new one");
	assert_int_equal(len, 7);
	passphrase_free(pw, len);
	pw = passphrase_read(&src, NULL, 0, &len);
	assert_non_null(pw);
	assert_string_equal(pw, "last");
	passphrase_free(pw, len);
	/* At end of file: empty, refused. */
	assert_null(passphrase_read(&src, NULL, 0, &len));
	close(p[0]);
}

static void
test_fd_bad(void **state)
{
	struct passphrase_source src = { NULL, 987 };
	size_t len = 0;

	(void)state;
	assert_null(passphrase_read(&src, NULL, 0, &len));
}

static void
check_refused(const char *pw, const char *want)
{
	const char *why = NULL;

	assert_int_equal(passphrase_check(pw, strlen(pw), &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
}

static void
check_accepted(const char *pw)
{
	const char *why = "unset";

	assert_int_equal(passphrase_check(pw, strlen(pw), &why), 0);
	assert_null(why);
}

static void
test_check_length(void **state)
{
	(void)state;
	check_refused("Xq7#vL2!pW9", "passphrase too short: at least 12 "
	    "characters");
	check_refused("", "passphrase too short: at least 12 characters");
	/* 11 characters of UTF-8 (22 bytes) are still too short. */
	check_refused("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	    "passphrase too short: at least 12 characters");
	/* 12 random-looking characters pass. */
	check_accepted("Xq7#vL2!pW9z");
}

static void
test_check_dictionary(void **state)
{
	(void)state;
	/* Long single dictionary words, plain or lightly mangled. */
	check_refused("administration", "it is based on a dictionary word");
	check_refused("Administration", "it is based on a dictionary word");
	check_refused("administration1", "it is based on a dictionary word");
	check_refused("responsibilities", "it is based on a dictionary word");
	/* libcrack2's own simplicity checks. */
	check_refused("aaaaaaaaaaaaaaaa",
	    "it does not contain enough DIFFERENT characters");
	check_refused("abcdefghijklmnop", "it is too simplistic/systematic");
	check_refused("12345678901234", "it is too simplistic/systematic");
}

static void
test_check_plain_words(void **state)
{
	(void)state;
	/* No composition rules: plain words, lower case, no digits. */
	check_accepted("correct horse battery staple");
	check_accepted("purple monkey dishwasher");
	check_accepted("the quick brown fox");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_first_line),
		cmocka_unit_test(test_file_no_newline),
		cmocka_unit_test(test_file_crlf),
		cmocka_unit_test(test_file_empty_refused),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_group_readable_warns),
		cmocka_unit_test(test_file_too_long),
		cmocka_unit_test(test_fd_lines),
		cmocka_unit_test(test_fd_bad),
		cmocka_unit_test(test_check_length),
		cmocka_unit_test(test_check_dictionary),
		cmocka_unit_test(test_check_plain_words),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
