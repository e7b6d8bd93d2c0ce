#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "home.h"
#include "util.h"

static char tmpdir[] = "/tmp/coffer-test-home.XXXXXX";

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
	chmod(tmpdir, 0700);
	return util_remove_tree(tmpdir);
}

static void
test_default(void **state)
{
	char *h;

	(void)state;
	setenv("COFFER_HOME", "/x/y", 1);
	h = home_default();
	assert_string_equal(h, "/x/y");
	free(h);
	unsetenv("COFFER_HOME");
	setenv("HOME", "/home/u", 1);
	h = home_default();
	if (geteuid() == 0)
		assert_string_equal(h, "/var/lib/coffer");
	else
		assert_string_equal(h, "/home/u/.local/share/coffer");
	free(h);
}

static void
test_check(void **state)
{
	char *missing, *file;

	(void)state;
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(home_check(tmpdir), 0);
	assert_int_equal(chmod(tmpdir, 0770), 0);
	assert_int_equal(home_check(tmpdir), -1);
	assert_int_equal(chmod(tmpdir, 0755), 0);
	assert_int_equal(home_check(tmpdir), 0);
	assert_int_equal(chmod(tmpdir, 0700), 0);
	missing = util_path_join(tmpdir, "missing");
	assert_int_equal(home_check(missing), -1);
	file = util_path_join(tmpdir, "file");
	assert_int_equal(util_write_file(file, "", 0, 0600, 0), 0);
	assert_int_equal(home_check(file), -1);
	if (geteuid() == 0) {
		assert_int_equal(chown(file, 65534, 65534), 0);
		assert_int_equal(unlink(file), 0);
		assert_int_equal(mkdir(file, 0700), 0);
		assert_int_equal(chown(file, 65534, 65534), 0);
		assert_int_equal(home_check(file), -1);
	}
	free(missing);
	free(file);
}

static void
test_hostname(void **state)
{
	char h[256];
	size_t i;

	(void)state;
	home_hostname(h, sizeof(h));
	assert_true(strlen(h) > 0);
	for (i = 0; h[i]; i++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
		    h[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_hostname),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
