/*
 * test-keys: the vault keys in a coffer home: keys_init in both modes,
 * reloading, recipients, pinning, escrow.  Runs with a low scrypt work
 * factor (COFFER_TEST_SCRYPT_LOGN, honoured in test-clock builds only).
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "age.h"
#include "clock.h"
#include "crypto.h"
#include "keys.h"
#include "passphrase.h"
#include "sign.h"
#include "util.h"

/* Test paths are short; bounded snprintf is fine here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define GOOD_PASS "correct horse battery staple"

static char tmpdir[] = "/tmp/test-keys.XXXXXX";
static char home[256], passfile[256], wrongfile[256];

static int
setup(void **state)
{
	(void)state;
	if (crypto_init() != 0 || mkdtemp(tmpdir) == NULL)
		return (-1);
	setenv("COFFER_TEST_SCRYPT_LOGN", "10", 1);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	snprintf(passfile, sizeof(passfile), "%s/pass", tmpdir);
	snprintf(wrongfile, sizeof(wrongfile), "%s/wrong", tmpdir);
	if (util_write_file(passfile, GOOD_PASS "\n", strlen(GOOD_PASS) + 1,
	    0600, 0) != 0 ||
	    util_write_file(wrongfile, "correct horse battery stapler\n", 30,
	    0600, 0) != 0)
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

static mode_t
mode_of(const char *dir, const char *name)
{
	struct stat sb;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &sb), 0);
	return (sb.st_mode & 07777);
}

static int
exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return (access(path, F_OK) == 0);
}

static void
test_scrypt_logn(void **state)
{
	(void)state;
	/* This is a test-clock build: the override is honoured. */
	assert_int_equal(clock_is_overridable(), 1);
	assert_int_equal(keys_scrypt_logn(), 10);
	setenv("COFFER_TEST_SCRYPT_LOGN", "23", 1);
	assert_int_equal(keys_scrypt_logn(), KEYS_DEFAULT_SCRYPT_LOGN);
	setenv("COFFER_TEST_SCRYPT_LOGN", "x", 1);
	assert_int_equal(keys_scrypt_logn(), KEYS_DEFAULT_SCRYPT_LOGN);
	setenv("COFFER_TEST_SCRYPT_LOGN", "10", 1);
}

static void
test_init_refusals(void **state)
{
	char h[512];

	(void)state;
	snprintf(h, sizeof(h), "%s/refused", tmpdir);
	/* Neither a passphrase nor recipients. */
	assert_int_equal(keys_init(h, NULL, NULL, NULL), -1);
	/* Weak passphrases, refused before anything is written. */
	assert_int_equal(keys_init(h, "short pass", NULL, NULL), -1);
	assert_int_equal(keys_init(h, "administration", NULL, NULL), -1);
	assert_false(exists(h, "keys"));
	/* A recipients file that does not exist. */
	assert_int_equal(keys_init(h, NULL, "/nonexistent/recipients", NULL),
	    -1);
	assert_false(exists(h, "keys/signing.key"));
}

static void
test_init_normal(void **state)
{
	struct keys_info info, again;
	char keys[512], *text = NULL, line[SIGN_PUBLINE_MAX + 2];
	char pub[SIGN_PUBLINE_MAX];

	(void)state;
	assert_int_equal(keys_init(home, GOOD_PASS, NULL, &info), 0);
	assert_int_equal(info.has_identity, 1);
	assert_true(age_recipient_valid(info.recipient));
	assert_int_equal(info.nrecipients, 1);
	assert_int_equal(strncmp(info.signer.fpr, "SHA256:", 7), 0);
	assert_int_equal(strlen(info.signer.fpr), 7 + 43);
	assert_int_equal(info.escrow_done, 0);
	assert_true(info.passphrase_time > 0);

	snprintf(keys, sizeof(keys), "%s/keys", home);
	assert_int_equal(mode_of(home, "keys"), 0700);
	assert_int_equal(mode_of(keys, "identity.age"), 0600);
	assert_int_equal(mode_of(keys, "signing.key"), 0600);

	/* The identity file is an armored age file, not the key in clear. */
	snprintf(line, sizeof(line), "%s/identity.age", keys);
	assert_int_equal(util_read_file(line, &text, NULL, 1 << 16), 0);
	assert_int_equal(strncmp(text, "-----BEGIN AGE ENCRYPTED FILE-----\n",
	    35), 0);
	assert_null(strstr(text, "AGE-SECRET-KEY"));
	free(text);

	/* recipients.txt holds the identity's recipient. */
	snprintf(line, sizeof(line), "%s/recipients.txt", keys);
	assert_int_equal(util_read_file(line, &text, NULL, 1 << 16), 0);
	assert_non_null(strstr(text, info.recipient));
	free(text);

	/* signing.pub is the key's public line. */
	snprintf(line, sizeof(line), "%s/signing.pub", keys);
	assert_int_equal(util_read_file(line, &text, NULL, 1 << 16), 0);
	sign_pubkey_format(&info.signer, pub);
	snprintf(line, sizeof(line), "%s\n", pub);
	assert_string_equal(text, line);
	free(text);

	/* A second init refuses, and leaves the keys alone. */
	assert_int_equal(keys_init(home, GOOD_PASS, NULL, NULL), -1);
	assert_int_equal(keys_info(home, &again), 0);
	assert_string_equal(again.recipient, info.recipient);
	assert_string_equal(again.signer.fpr, info.signer.fpr);
}

static void
test_unlock_identity(void **state)
{
	struct passphrase_source good = { passfile, -1 };
	struct passphrase_source wrong = { wrongfile, -1 };
	struct keys_info info;
	char recipient[AGE_RECIPIENT_MAX], *secret = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(keys_info(home, &info), 0);
	assert_int_equal(keys_unlock_identity(home, &good, &secret, &len), 0);
	assert_int_equal(strncmp(secret, "AGE-SECRET-KEY-1", 16), 0);
	assert_int_equal(age_identity_to_recipient(secret, recipient), 0);
	assert_string_equal(recipient, info.recipient);
	crypto_secure_free(secret, len);

	secret = NULL;
	assert_int_equal(keys_unlock_identity(home, &wrong, &secret, &len),
	    -1);
	assert_null(secret);
}

static int
fd_write(void *cookie, const void *buf, size_t len)
{

	return (util_write_all(*(int *)cookie, buf, len));
}

/* write_identity(path, text, len): text sealed with GOOD_PASS, armored,
 * as `age -p -a` would write it. */
static void
write_identity(const char *path, const char *text, size_t len)
{
	struct age_recipients *r;
	struct age_encryptor *e;
	int fd;

	assert_non_null(r = age_recipients_new());
	assert_int_equal(age_recipients_add_passphrase(r, GOOD_PASS,
	    strlen(GOOD_PASS), 10), 0);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >=
	    0);
	assert_non_null(e = age_encrypt_new(r, 1, fd_write, &fd));
	assert_int_equal(age_encrypt_write(e, text, len), 0);
	assert_int_equal(age_encrypt_finish(e), 0);
	age_encrypt_free(e);
	close(fd);
	age_recipients_free(r);
}

/*
 * A user's own identity file (age -p, more comments and keys) of 511
 * bytes or more: unlocked in secure memory (no ordinary-heap copy), up to
 * 8 KiB; larger ones refused cleanly.
 */
static void
test_unlock_large_identity(void **state)
{
	struct passphrase_source good = { passfile, -1 };
	char path[512], saved[512], *secret = NULL, *text, *mine = NULL;
	char id2[AGE_IDENTITY_MAX], r2[AGE_RECIPIENT_MAX];
	size_t len = 0, mlen = 0, n = 0;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/keys/identity.age", home);
	snprintf(saved, sizeof(saved), "%s/identity.age.saved", tmpdir);
	assert_int_equal(keys_unlock_identity(home, &good, &mine, &mlen), 0);
	assert_int_equal(age_keygen(id2, r2), 0);
	assert_non_null(text = malloc(16 * 1024));
	/* 700 bytes or so: comments, another key, then the vault's. */
	for (i = 0; i < 12; i++)
		n += (size_t)snprintf(text + n, 16 * 1024 - n,
		    "# a comment line of the user's own identity file %02d\n",
		    i);
	n += (size_t)snprintf(text + n, 16 * 1024 - n, "%s\n%s\n", id2,
	    mine);
	assert_true(n >= 600 && n < 8 * 1024);
	assert_int_equal(rename(path, saved), 0);
	write_identity(path, text, n);
	assert_int_equal(keys_unlock_identity(home, &good, &secret, &len), 0);
	/* The first key of the file, as age-keygen writes one. */
	assert_string_equal(secret, id2);
	crypto_secure_free(secret, len);
	secret = NULL;

	/* Over 8 KiB: refused, nothing returned. */
	while (n < 9 * 1024)
		n += (size_t)snprintf(text + n, 16 * 1024 - n,
		    "# padding padding padding padding padding padding\n");
	write_identity(path, text, n);
	assert_int_equal(keys_unlock_identity(home, &good, &secret, &len),
	    -1);
	assert_null(secret);

	assert_int_equal(rename(saved, path), 0);
	crypto_secure_free(mine, mlen);
	free(text);
}

/* Encrypt to the vault recipients, decrypt with the unlocked identity. */
static void
test_roundtrip(void **state)
{
	struct passphrase_source good = { passfile, -1 };
	struct age_recipients *r;
	struct age_identities *ids;
	char in[512], out[512], msg[] = "a backup volume";
	int fd;
	char buf[64];
	ssize_t n;

	(void)state;
	r = keys_load_recipients(home);
	assert_non_null(r);
	assert_int_equal(age_recipients_count(r), 1);
	snprintf(in, sizeof(in), "%s/msg", tmpdir);
	snprintf(out, sizeof(out), "%s/msg.age", tmpdir);
	assert_int_equal(util_write_file(in, msg, strlen(msg), 0600, 0), 0);
	{
		int ifd = open(in, O_RDONLY);
		int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_int_equal(age_encrypt_fd(r, 0, ifd, ofd), 0);
		close(ifd);
		close(ofd);
	}
	age_recipients_free(r);

	ids = keys_load_identity(home, &good);
	assert_non_null(ids);
	fd = open(out, O_RDONLY);
	snprintf(in, sizeof(in), "%s/msg.out", tmpdir);
	{
		int ofd = open(in, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_int_equal(age_decrypt_fd(ids, fd, ofd), AGE_OK);
		close(ofd);
	}
	close(fd);
	age_identities_free(ids);
	fd = open(in, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)strlen(msg));
	assert_memory_equal(buf, msg, strlen(msg));
}

static void
test_signing_and_pins(void **state)
{
	struct sign_key *k, *other;
	struct sign_pinned *p;
	struct keys_info info;
	char *sig;

	(void)state;
	assert_int_equal(keys_info(home, &info), 0);
	k = keys_signing_load(home);
	assert_non_null(k);
	assert_string_equal(sign_key_pubkey(k)->fpr, info.signer.fpr);
	p = keys_pinned_load(home);
	assert_non_null(p);
	assert_int_equal(sign_pinned_count(p), 1);
	sig = sign_data(k, "set.json", 8);
	assert_non_null(sign_verify(p, "set.json", 8, sig));
	free(sig);
	sign_pinned_free(p);

	/* Pin another host's key, then unpin it. */
	other = sign_key_generate("other-host");
	assert_int_equal(keys_pin(home, sign_key_pubkey(other)), 0);
	assert_int_equal(keys_pin(home, sign_key_pubkey(other)), 1);
	p = keys_pinned_load(home);
	assert_int_equal(sign_pinned_count(p), 2);
	sig = sign_data(other, "x", 1);
	assert_non_null(sign_verify(p, "x", 1, sig));
	sign_pinned_free(p);
	assert_int_equal(keys_unpin(home, sign_key_pubkey(other)->fpr), 0);
	assert_int_equal(keys_unpin(home, sign_key_pubkey(other)->fpr), -1);
	p = keys_pinned_load(home);
	assert_null(sign_verify(p, "x", 1, sig));
	sign_pinned_free(p);
	free(sig);
	/* The host's own key cannot be unpinned. */
	assert_int_equal(keys_unpin(home, info.signer.fpr), -1);
	sign_key_free(other);
	sign_key_free(k);
}

static void
test_add_recipient(void **state)
{
	char id[AGE_IDENTITY_MAX], r[AGE_RECIPIENT_MAX], **list = NULL;
	char *text = NULL;
	size_t n;

	(void)state;
	assert_int_equal(age_keygen(id, r), 0);
	assert_int_equal(keys_add_recipient(home, r), 0);
	assert_int_equal(keys_add_recipient(home, r), 1);
	assert_int_equal(keys_add_recipient(home, "age1notarecipient"), -1);
	assert_int_equal(keys_list_recipients(home, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1], r);
	keys_list_free(list);
	assert_int_equal(keys_export_recipients(home, &text), 0);
	assert_non_null(strstr(text, r));
	assert_int_equal(text[0], '#');
	free(text);
	crypto_wipe(id, sizeof(id));
}

static void
test_escrow(void **state)
{
	struct passphrase_source good = { passfile, -1 };
	char id[AGE_IDENTITY_MAX], r[AGE_RECIPIENT_MAX], *secret = NULL;
	char *lower;
	size_t len = 0, i;
	time_t when = 1;

	(void)state;
	assert_int_equal(keys_escrow_done(home, &when), 0);
	assert_int_equal(when, 0);

	/* Another key (even one among the recipients) is not the identity. */
	assert_int_equal(age_keygen(id, r), 0);
	assert_int_equal(keys_escrow_check(home, id), -1);
	assert_int_equal(keys_escrow_check(home, "AGE-SECRET-KEY-1XYZ"), -1);
	assert_int_equal(keys_escrow_check(home, ""), -1);

	assert_int_equal(keys_unlock_identity(home, &good, &secret, &len), 0);
	assert_int_equal(keys_escrow_check(home, secret), 0);
	/* Typed back from paper: lower case and surrounding space. */
	lower = malloc(strlen(secret) + 4);
	lower[0] = ' ';
	for (i = 0; secret[i] != '\0'; i++)
		lower[i + 1] = (char)(secret[i] >= 'A' && secret[i] <= 'Z' ?
		    secret[i] + 32 : secret[i]);
	lower[i + 1] = '\n';
	lower[i + 2] = '\0';
	assert_int_equal(keys_escrow_check(home, lower), 0);
	/* One character changed. */
	lower[20] = lower[20] == 'q' ? 'p' : 'q';
	assert_int_equal(keys_escrow_check(home, lower), -1);
	crypto_wipe(lower, strlen(lower));
	free(lower);
	crypto_secure_free(secret, len);

	assert_int_equal(keys_escrow_record(home, 1700000000), 0);
	assert_int_equal(keys_escrow_done(home, &when), 1);
	assert_int_equal(when, 1700000000);
	crypto_wipe(id, sizeof(id));
}

static void
test_change_passphrase(void **state)
{
	struct passphrase_source good = { passfile, -1 };
	struct passphrase_source wrong = { wrongfile, -1 };
	char id[AGE_IDENTITY_MAX], r[AGE_RECIPIENT_MAX], *secret = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(keys_unlock_identity(home, &good, &secret, &len), 0);
	assert_int_equal(keys_change_passphrase(home, secret, "too short"),
	    -1);
	/* Another identity cannot be sealed in its place. */
	assert_int_equal(age_keygen(id, r), 0);
	assert_int_equal(keys_change_passphrase(home, id,
	    "correct horse battery stapler"), -1);
	assert_int_equal(keys_change_passphrase(home, secret,
	    "correct horse battery stapler"), 0);
	crypto_secure_free(secret, len);
	secret = NULL;
	assert_int_equal(keys_unlock_identity(home, &good, &secret, &len), -1);
	assert_int_equal(keys_unlock_identity(home, &wrong, &secret, &len), 0);
	crypto_secure_free(secret, len);
	/* The escrow stays valid: the identity did not change. */
	assert_int_equal(keys_escrow_done(home, NULL), 1);
	crypto_wipe(id, sizeof(id));
}

static void
test_backup_only(void **state)
{
	struct keys_info info, full;
	char h[512], rfile[512], bad[512], text[600], **list = NULL;
	char id[AGE_IDENTITY_MAX], r2[AGE_RECIPIENT_MAX], *secret = NULL;
	struct passphrase_source good = { passfile, -1 };
	struct sign_key *k;
	size_t n, len = 0;

	(void)state;
	assert_int_equal(keys_info(home, &full), 0);
	assert_int_equal(age_keygen(id, r2), 0);
	snprintf(rfile, sizeof(rfile), "%s/recipients", tmpdir);
	snprintf(text, sizeof(text), "# exported\n%s\n\n  %s  \n%s\n",
	    full.recipient, r2, full.recipient);
	assert_int_equal(util_write_file(rfile, text, strlen(text), 0644, 0),
	    0);

	/* A malformed recipients file: refused, nothing left behind. */
	snprintf(bad, sizeof(bad), "%s/bad-recipients", tmpdir);
	assert_int_equal(util_write_file(bad, "age1xyz\n", 8, 0644, 0), 0);
	snprintf(h, sizeof(h), "%s/backup-bad", tmpdir);
	assert_int_equal(keys_init(h, NULL, bad, NULL), -1);
	assert_false(exists(h, "keys/signing.key"));
	assert_int_equal(util_write_file(bad, "# none\n", 7, 0644, 0), 0);
	assert_int_equal(keys_init(h, NULL, bad, NULL), -1);

	snprintf(h, sizeof(h), "%s/backup", tmpdir);
	assert_int_equal(keys_init(h, NULL, rfile, &info), 0);
	assert_int_equal(info.has_identity, 0);
	assert_string_equal(info.recipient, "");
	assert_int_equal(info.nrecipients, 2);
	assert_false(exists(h, "keys/identity.age"));
	assert_true(exists(h, "keys/signing.key"));
	assert_string_not_equal(info.signer.fpr, full.signer.fpr);
	assert_int_equal(keys_list_recipients(h, &list, &n), 0);
	assert_string_equal(list[0], full.recipient);
	assert_string_equal(list[1], r2);
	keys_list_free(list);
	/* No identity to unlock; nothing to escrow. */
	assert_int_equal(keys_unlock_identity(h, &good, &secret, &len), -1);
	assert_int_equal(keys_escrow_done(h, NULL), 1);
	k = keys_signing_load(h);
	assert_non_null(k);
	assert_string_equal(sign_key_pubkey(k)->fpr, info.signer.fpr);
	sign_key_free(k);
	crypto_wipe(id, sizeof(id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrypt_logn),
		cmocka_unit_test(test_init_refusals),
		cmocka_unit_test(test_init_normal),
		cmocka_unit_test(test_unlock_identity),
		cmocka_unit_test(test_unlock_large_identity),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_signing_and_pins),
		cmocka_unit_test(test_add_recipient),
		cmocka_unit_test(test_escrow),
		cmocka_unit_test(test_change_passphrase),
		cmocka_unit_test(test_backup_only),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
