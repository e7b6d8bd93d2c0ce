#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "util.h"
#include "vault.h"

static char tmpdir[] = "/tmp/coffer-test-vault.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	if (crypto_init() != 0)
		return -1;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return util_remove_tree(tmpdir);
}

static void
test_create_read(void **state)
{
	const char *recips[] = { "age1aaa", "age1bbb", NULL };
	const char *signers[] = { "coffer-ed25519 AAAA host", NULL };
	struct vault_info info;
	char id[VAULT_ID_LEN + 1], *dir;

	(void)state;
	dir = util_path_join(tmpdir, "v1");
	assert_int_equal(vault_is_vault(dir), 0);
	assert_int_equal(vault_create(dir, recips, signers, id), 0);
	assert_int_equal(strlen(id), VAULT_ID_LEN);
	assert_int_equal(vault_is_vault(dir), 1);
	assert_int_equal(vault_read(dir, &info), 0);
	assert_int_equal(info.version, 1);
	assert_int_equal(info.format, 1);
	assert_string_equal(info.id, id);
	assert_string_equal(info.recipients[0], "age1aaa");
	assert_string_equal(info.recipients[1], "age1bbb");
	assert_null(info.recipients[2]);
	assert_string_equal(info.signers[0], "coffer-ed25519 AAAA host");
	vault_info_release(&info);
	/* a second create refuses */
	assert_int_equal(vault_create(dir, recips, signers, id), -1);
	free(dir);
}

static void
test_highest_valid_wins(void **state)
{
	const char *recips[] = { "age1aaa", NULL };
	struct vault_info info;
	char id[VAULT_ID_LEN + 1], *dir, *p;
	const char *v2 = "format 1\nid 0123456789abcdef0123456789abcdef\n"
			 "recipient age1new\n";

	(void)state;
	dir = util_path_join(tmpdir, "v2");
	assert_int_equal(vault_create(dir, recips, NULL, id), 0);
	p = util_asprintf("%s/coffer-vault.0002", dir);
	assert_int_equal(util_write_file(p, v2, strlen(v2), 0644, 0), 0);
	free(p);
	/* a damaged version 3 is skipped */
	p = util_asprintf("%s/coffer-vault.0003", dir);
	assert_int_equal(util_write_file(p, "format 2\n", 9, 0644, 0), 0);
	free(p);
	assert_int_equal(vault_read(dir, &info), 0);
	assert_int_equal(info.version, 2);
	assert_string_equal(info.recipients[0], "age1new");
	vault_info_release(&info);
	free(dir);
}

static void
test_parse_rejects(void **state)
{
	struct vault_info info;

	(void)state;
	assert_int_equal(vault_parse("format 1\n", &info), -1);
	assert_int_equal(vault_parse("id 0123456789abcdef0123456789abcdef\n",
			     &info), -1);
	assert_int_equal(vault_parse("format 1\nid 0123\n", &info), -1);
	assert_int_equal(vault_parse("format 1\nid "
				     "0123456789ABCDEF0123456789abcdef\n",
			     &info), -1);
	assert_int_equal(vault_parse("format 1\nid "
				     "0123456789abcdef0123456789abcdef\n"
				     "bogus line\n",
			     &info), -1);
	assert_int_equal(vault_parse("# comment\n\nformat 1\nid "
				     "0123456789abcdef0123456789abcdef\n",
			     &info), 0);
	vault_info_release(&info);
}

static void
test_not_empty(void **state)
{
	char *dir, *f, id[VAULT_ID_LEN + 1];

	(void)state;
	dir = util_path_join(tmpdir, "full");
	assert_int_equal(mkdir(dir, 0700), 0);
	f = util_path_join(dir, "x");
	assert_int_equal(util_write_file(f, "x", 1, 0600, 0), 0);
	assert_int_equal(vault_create(dir, NULL, NULL, id), -1);
	assert_int_equal(vault_is_vault(dir), 0);
	free(f);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_read),
		cmocka_unit_test(test_highest_valid_wins),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_not_empty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
