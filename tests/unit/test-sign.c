/*
 * test-sign: host signing keys and detached signatures.  Known answers are
 * RFC 8032 section 7.1 (TEST 1 and TEST 2); the fingerprints and base64
 * texts below were computed independently of coffer (Python's hashlib and
 * base64 over the RFC's bytes).
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
#include "sign.h"
#include "util.h"

/* RFC 8032 7.1 TEST 1: empty message. */
static const char t1_seed[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char t1_pub_b64[] =
    "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char t1_fpr[] =
    "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk";
static const char t1_sig_b64[] =
    "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv1"
    "8FlbviRlUUFDjnoQCw==";
/* The seed as base64, for the key file format. */
static const char t1_seed_b64[] =
    "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";

/* RFC 8032 7.1 TEST 2: the one-byte message 0x72. */
static const char t2_seed[] =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
static const char t2_pub_b64[] =
    "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=";
static const char t2_fpr[] =
    "SHA256:OfcT0KZEJT8EUpQhufUbmwiXnQgpWVnE85kO5hf1E58";
static const char t2_sig_b64[] =
    "kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkWPNhPQ8R2MOHsu"
    "rrQwKu6wDSkWErsMAA==";

static char tmpdir[] = "/tmp/test-sign.XXXXXX";

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

static struct sign_key *
key_from_hex(const char *hex, const char *name)
{
	uint8_t seed[32];
	struct sign_key *k;

	assert_int_equal(util_unhex(seed, hex, 32), 0);
	k = sign_key_from_seed(seed, name);
	assert_non_null(k);
	return (k);
}

static void
test_rfc8032_vectors(void **state)
{
	struct sign_key *k;
	char want[256], line[SIGN_PUBLINE_MAX], *sig;
	const uint8_t msg = 0x72;

	(void)state;
	k = key_from_hex(t1_seed, "rfc8032-test1");
	assert_string_equal(sign_key_pubkey(k)->fpr, t1_fpr);
	sign_pubkey_format(sign_key_pubkey(k), line);
	snprintf(want, sizeof(want), "coffer-ed25519 %s rfc8032-test1",
	    t1_pub_b64);
	assert_string_equal(line, want);
	sig = sign_data(k, "", 0);
	assert_non_null(sig);
	snprintf(want, sizeof(want), "coffer-signature-v1 %s %s\n", t1_fpr,
	    t1_sig_b64);
	assert_string_equal(sig, want);
	free(sig);
	sign_key_free(k);

	k = key_from_hex(t2_seed, "rfc8032-test2");
	assert_string_equal(sign_key_pubkey(k)->fpr, t2_fpr);
	sig = sign_data(k, &msg, 1);
	assert_non_null(sig);
	snprintf(want, sizeof(want), "coffer-signature-v1 %s %s\n", t2_fpr,
	    t2_sig_b64);
	assert_string_equal(sig, want);
	free(sig);
	sign_key_free(k);
}

static void
test_pubkey_parse(void **state)
{
	struct sign_pubkey pk;
	char line[256];

	(void)state;
	snprintf(line, sizeof(line), "coffer-ed25519 %s host-1.example\n",
	    t2_pub_b64);
	assert_int_equal(sign_pubkey_parse(line, &pk), 0);
	assert_string_equal(pk.name, "host-1.example");
	assert_string_equal(pk.fpr, t2_fpr);

	/* Malformed: other magic, bad base64, no name, bad name, junk. */
	snprintf(line, sizeof(line), "ssh-ed25519 %s host", t2_pub_b64);
	assert_int_equal(sign_pubkey_parse(line, &pk), -1);
	assert_int_equal(sign_pubkey_parse("coffer-ed25519 AAAA host", &pk),
	    -1);
	snprintf(line, sizeof(line), "coffer-ed25519 %s", t2_pub_b64);
	assert_int_equal(sign_pubkey_parse(line, &pk), -1);
	snprintf(line, sizeof(line), "coffer-ed25519 %s bad/name", t2_pub_b64);
	assert_int_equal(sign_pubkey_parse(line, &pk), -1);
	snprintf(line, sizeof(line), "coffer-ed25519 %s host\nmore",
	    t2_pub_b64);
	assert_int_equal(sign_pubkey_parse(line, &pk), -1);
	/* Non-canonical base64 (last character's unused bits set). */
	snprintf(line, sizeof(line), "coffer-ed25519 %s host", t2_pub_b64);
	line[strlen("coffer-ed25519 ") + 42] = 'x';
	assert_int_equal(sign_pubkey_parse(line, &pk), -1);
}

static void
test_sign_verify_pinned(void **state)
{
	struct sign_key *k, *other;
	struct sign_pinned *p;
	const struct sign_pubkey *who;
	char data[] = "{\"format\":1,\"label\":\"SET-1\"}\n";
	char *sig, *osig;

	(void)state;
	k = sign_key_generate("alpha");
	other = sign_key_generate("beta");
	assert_non_null(k);
	assert_non_null(other);
	assert_string_not_equal(sign_key_pubkey(k)->fpr,
	    sign_key_pubkey(other)->fpr);
	p = sign_pinned_new();
	assert_non_null(p);
	assert_int_equal(sign_pinned_add(p, sign_key_pubkey(k)), 0);
	assert_int_equal(sign_pinned_add(p, sign_key_pubkey(k)), 0);
	assert_int_equal(sign_pinned_count(p), 1);

	sig = sign_data(k, data, strlen(data));
	assert_non_null(sig);
	who = sign_verify(p, data, strlen(data), sig);
	assert_non_null(who);
	assert_string_equal(who->name, "alpha");

	/* A flipped byte of the data is refused. */
	data[3] ^= 0x01;
	assert_null(sign_verify(p, data, strlen(data), sig));
	data[3] ^= 0x01;
	/* A flipped byte of the signature is refused. */
	sig[strlen(sig) - 10] = sig[strlen(sig) - 10] == 'A' ? 'B' : 'A';
	assert_null(sign_verify(p, data, strlen(data), sig));
	free(sig);
	/* Data one byte shorter. */
	sig = sign_data(k, data, strlen(data));
	assert_null(sign_verify(p, data, strlen(data) - 1, sig));
	assert_non_null(sign_verify(p, data, strlen(data), sig));

	/* A good signature by an unpinned key is refused... */
	osig = sign_data(other, data, strlen(data));
	assert_non_null(osig);
	assert_null(sign_verify(p, data, strlen(data), osig));
	/* ...until it is pinned; and unpinning refuses it again. */
	assert_int_equal(sign_pinned_add(p, sign_key_pubkey(other)), 0);
	who = sign_verify(p, data, strlen(data), osig);
	assert_non_null(who);
	assert_string_equal(who->name, "beta");
	assert_int_equal(sign_pinned_remove(p, sign_key_pubkey(other)->fpr),
	    0);
	assert_int_equal(sign_pinned_remove(p, sign_key_pubkey(other)->fpr),
	    -1);
	assert_null(sign_verify(p, data, strlen(data), osig));

	/* A signature naming a pinned key but made by another is refused. */
	memcpy(osig + strlen("coffer-signature-v1 "), sign_key_pubkey(k)->fpr,
	    strlen(sign_key_pubkey(k)->fpr));
	assert_null(sign_verify(p, data, strlen(data), osig));

	/* Malformed signature texts. */
	assert_null(sign_verify(p, data, strlen(data), ""));
	assert_null(sign_verify(p, data, strlen(data), "coffer-signature-v1"));
	assert_null(sign_verify(p, data, strlen(data),
	    "coffer-signature-v1 SHA256:x AAAA"));

	free(osig);
	free(sig);
	sign_pinned_free(p);
	sign_key_free(k);
	sign_key_free(other);
}

/* Capture stderr around one call, to check a message's words. */
static void
test_unpinned_names_fingerprint(void **state)
{
	struct sign_key *k, *other;
	struct sign_pinned *p;
	char path[256], *msg = NULL, *sig, want[128];
	int saved, fd;

	(void)state;
	k = sign_key_generate("alpha");
	other = sign_key_generate("beta");
	p = sign_pinned_new();
	assert_int_equal(sign_pinned_add(p, sign_key_pubkey(k)), 0);
	sig = sign_data(other, "x", 1);
	assert_non_null(sig);

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
	assert_null(sign_verify(p, "x", 1, sig));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	assert_int_equal(util_read_file(path, &msg, NULL, 4096), 0);
	snprintf(want, sizeof(want), "signature by unpinned key %s",
	    sign_key_pubkey(other)->fpr);
	assert_non_null(strstr(msg, want));
	free(msg);
	free(sig);
	sign_pinned_free(p);
	sign_key_free(k);
	sign_key_free(other);
}

static void
test_key_file(void **state)
{
	struct sign_key *k, *back;
	struct stat sb;
	char path[256], *text = NULL, want[128];

	(void)state;
	k = key_from_hex(t1_seed, "filehost");
	snprintf(path, sizeof(path), "%s/signing.key", tmpdir);
	assert_int_equal(sign_key_write(k, path), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(util_read_file(path, &text, NULL, 4096), 0);
	snprintf(want, sizeof(want), "coffer-signing-key-v1 %s\n",
	    t1_seed_b64);
	assert_string_equal(text, want);
	free(text);
	/* Never replaced. */
	assert_int_equal(sign_key_write(k, path), -1);

	back = sign_key_load(path, "filehost");
	assert_non_null(back);
	assert_string_equal(sign_key_pubkey(back)->fpr, t1_fpr);
	sign_key_free(back);
	sign_key_free(k);

	/* Damaged key files are refused. */
	snprintf(path, sizeof(path), "%s/bad.key", tmpdir);
	assert_int_equal(util_write_file(path, "coffer-signing-key-v1 AAAA\n",
	    27, 0600, 0), 0);
	assert_null(sign_key_load(path, "x"));
	snprintf(want, sizeof(want), "coffer-signing-key-v2 %s\n",
	    t1_seed_b64);
	assert_int_equal(util_write_file(path, want, strlen(want), 0600, 0),
	    0);
	assert_null(sign_key_load(path, "x"));
	snprintf(want, sizeof(want), "coffer-signing-key-v1 %s\njunk\n",
	    t1_seed_b64);
	assert_int_equal(util_write_file(path, want, strlen(want), 0600, 0),
	    0);
	assert_null(sign_key_load(path, "x"));
}

static void
test_pinned_file(void **state)
{
	struct sign_key *a, *b;
	struct sign_pinned *p, *q;
	char path[256];

	(void)state;
	a = key_from_hex(t1_seed, "one");
	b = key_from_hex(t2_seed, "two");
	p = sign_pinned_new();
	assert_int_equal(sign_pinned_add(p, sign_key_pubkey(a)), 0);
	assert_int_equal(sign_pinned_add(p, sign_key_pubkey(b)), 0);
	snprintf(path, sizeof(path), "%s/pinned.txt", tmpdir);
	assert_int_equal(sign_pinned_write_file(p, path), 0);

	q = sign_pinned_new();
	assert_int_equal(sign_pinned_load_file(q, path), 0);
	assert_int_equal(sign_pinned_count(q), 2);
	assert_non_null(sign_pinned_find(q, t1_fpr));
	assert_string_equal(sign_pinned_find(q, t2_fpr)->name, "two");
	assert_null(sign_pinned_get(q, 2));
	sign_pinned_free(q);

	/* A missing file is an empty set; a malformed line is an error. */
	q = sign_pinned_new();
	assert_int_equal(sign_pinned_load_file(q, "/nonexistent/pinned"), 0);
	assert_int_equal(sign_pinned_count(q), 0);
	assert_int_equal(util_write_file(path, "# c\n\ngarbage\n", 13, 0644,
	    0), 0);
	assert_int_equal(sign_pinned_load_file(q, path), -1);
	sign_pinned_free(q);
	sign_pinned_free(p);
	sign_key_free(a);
	sign_key_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vectors),
		cmocka_unit_test(test_pubkey_parse),
		cmocka_unit_test(test_sign_verify_pinned),
		cmocka_unit_test(test_unpinned_names_fingerprint),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_pinned_file),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
