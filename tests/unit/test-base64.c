/*
 * test-base64: lib/base64 (RFC 4648 section 10 vectors, strictness) and
 * lib/bech32 (BIP-173 vectors, age key forms).
 */
#include "compat.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base64.h"
#include "bech32.h"

/* RFC 4648, section 10. */
static const char *const rfc4648[][3] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static void
test_base64_rfc4648(void **state)
{
	char enc[64];
	uint8_t dec[64];
	size_t i, n, len;
	int pad;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		len = strlen(rfc4648[i][0]);
		for (pad = 1; pad >= 0; pad--) {
			const char *want = rfc4648[i][pad ? 1 : 2];

			assert_int_equal(base64_encoded_len(len, pad),
			    strlen(want));
			assert_int_equal(base64_encode(enc, rfc4648[i][0],
			    len, pad), strlen(want));
			assert_string_equal(enc, want);
			assert_true(base64_decoded_maxlen(strlen(want)) >= len);
			assert_int_equal(base64_decode(dec, &n, want,
			    strlen(want), pad), 0);
			assert_int_equal(n, len);
			assert_memory_equal(dec, rfc4648[i][0], len);
			/* The other form is refused (but for lengths where
			 * both are the same). */
			if (strcmp(rfc4648[i][1], rfc4648[i][2]) != 0)
				assert_int_equal(base64_decode(dec, &n,
				    rfc4648[i][pad ? 2 : 1],
				    strlen(rfc4648[i][pad ? 2 : 1]), pad), -1);
		}
	}
}

static void
test_base64_strict(void **state)
{
	static const char *const bad_raw[] = {
		"Zh",		/* non-zero trailing bits */
		"Zm9",		/* non-zero trailing bits */
		"Z",		/* impossible length */
		"Zg=",		/* padding */
		"Zg==",
		"Zm9v\n",	/* whitespace */
		"Zm 9v",
		"Zm9v\r",
		"Zm-v",		/* URL alphabet */
		"Zm_v",
		"Zm9v\x80",
	};
	static const char *const bad_pad[] = {
		"Zm9=",		/* non-zero trailing bits */
		"Zh==",
		"Zg",		/* no padding */
		"Zg===",
		"Z===",
		"=Zg=",
		"Zg=a",
		"Zg==Zg==",	/* padding inside */
		"Zm9v ",
	};
	uint8_t dec[300];
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_raw); i++)
		assert_int_equal(base64_decode(dec, &n, bad_raw[i],
		    strlen(bad_raw[i]), 0), -1);
	for (i = 0; i < ARRAY_SIZE(bad_pad); i++)
		assert_int_equal(base64_decode(dec, &n, bad_pad[i],
		    strlen(bad_pad[i]), 1), -1);
	/* Every byte value round-trips. */
	{
		uint8_t all[256];
		char enc[400];

		for (i = 0; i < 256; i++)
			all[i] = (uint8_t)i;
		for (i = 0; i <= 256; i++) {
			base64_encode(enc, all, i, (int)(i & 1));
			assert_int_equal(base64_decode(dec, &n, enc,
			    strlen(enc), (int)(i & 1)), 0);
			assert_int_equal(n, i);
			assert_memory_equal(dec, all, i);
		}
	}
}

/* BIP-173 valid strings (all carry whole bytes). */
static const char *const bip173_valid[] = {
	"A12UEL5L",
	"a12uel5l",
	"an83characterlonghumanreadablepartthatcontainsthenumber1andtheex"
	    "cludedcharactersbio1tt5tgs",
	"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
	    "qqqqqqqqqqqqqqqqqqqc8247j",
	"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	"?1ezyfcl",
};

static const char *const bip173_invalid[] = {
	"\x20" "1nwldj5",	/* hrp character out of range */
	"\x7f" "1axkwrx",
	"\x80" "1eym55h",
	"pzry9x0s0muk",		/* no separator */
	"1pzry9x0s0muk",	/* empty hrp */
	"x1b4n0q5v",		/* invalid data character */
	"li1dgmt3",		/* too short checksum */
	"de1lg7wt\xff",		/* invalid character in checksum */
	"A1G7SGD8",		/* checksum of the upper-case hrp */
	"10a06t8",		/* empty hrp */
	"1qzzfhee",		/* empty hrp */
	"A12uEL5L",		/* mixed case */
	"a12uel5m",		/* bad checksum */
};

static void
test_bech32_bip173(void **state)
{
	char hrp[128], enc[128], lower[128];
	uint8_t data[128];
	size_t i, j, n;

	(void)state;
	assert_int_equal(strlen(bip173_valid[2]), 90);
	assert_int_equal(strlen(bip173_valid[4]), 90);
	for (i = 0; i < ARRAY_SIZE(bip173_valid); i++) {
		assert_int_equal(bech32_decode(bip173_valid[i], hrp,
		    sizeof(hrp), data, sizeof(data), &n), 0);
		assert_int_equal(bech32_encode(enc, sizeof(enc), hrp, data,
		    n), 0);
		assert_string_equal(enc, bip173_valid[i]);
		for (j = 0; bip173_valid[i][j] != '\0'; j++)
			lower[j] = (char)tolower(
			    (unsigned char)bip173_valid[i][j]);
		lower[j] = '\0';
		assert_int_equal(bech32_decode(lower, hrp, sizeof(hrp),
		    data, sizeof(data), &n), 0);
	}
	for (i = 0; i < ARRAY_SIZE(bip173_invalid); i++)
		assert_int_equal(bech32_decode(bip173_invalid[i], hrp,
		    sizeof(hrp), data, sizeof(data), &n), -1);
	/* Output too small, hrp too long for its buffer. */
	assert_int_equal(bech32_encode(enc, 9, "a", data, 0), 0);
	assert_string_equal(enc, "a12uel5l");
	assert_int_equal(bech32_encode(enc, 8, "a", data, 0), -1);
	assert_int_equal(bech32_decode(bip173_valid[5], hrp, 5, data,
	    sizeof(data), &n), -1);
	assert_int_equal(bech32_encode(enc, sizeof(enc), "Ab", data, 0), -1);
}

static void
test_bech32_age(void **state)
{
	/* The X25519 identity of the age test kit (vector "x25519"). */
	static const char id[] = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VK"
	    "NX2MMDKWYKLMGR48UAWX40Q2P2LM0";
	char hrp[32], enc[128];
	uint8_t key[64];
	size_t n;

	(void)state;
	assert_int_equal(bech32_decode(id, hrp, sizeof(hrp), key, sizeof(key),
	    &n), 0);
	assert_string_equal(hrp, "AGE-SECRET-KEY-");
	assert_int_equal(n, 32);
	assert_int_equal(bech32_encode(enc, sizeof(enc), hrp, key, n), 0);
	assert_string_equal(enc, id);
	/* Longer than BIP-173's 90 characters is fine for age. */
	memset(key, 0xa5, sizeof(key));
	assert_int_equal(bech32_encode(enc, sizeof(enc), "age1pq", key, 64),
	    0);
	assert_true(strlen(enc) > 90);
	assert_int_equal(bech32_decode(enc, hrp, sizeof(hrp), key,
	    sizeof(key), &n), 0);
	assert_string_equal(hrp, "age1pq");
	assert_int_equal(n, 64);
	/* Too much data for the buffer. */
	assert_int_equal(bech32_decode(enc, hrp, sizeof(hrp), key, 63, &n),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_rfc4648),
		cmocka_unit_test(test_base64_strict),
		cmocka_unit_test(test_bech32_bip173),
		cmocka_unit_test(test_bech32_age),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
