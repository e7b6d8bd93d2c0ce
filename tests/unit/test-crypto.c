/*
 * test-crypto: known-answer tests for lib/crypto from the RFC texts:
 * FIPS 180-2 (SHA-256 "abc"), RFC 5869 (HKDF), RFC 7748 (X25519), RFC 8439
 * (ChaCha20-Poly1305), RFC 7914 (scrypt), RFC 8032 (Ed25519).
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "crypto.h"
#include "scrypt.h"

/* Decode hex (whitespace ignored) into a new buffer; *len gets its size. */
static uint8_t *
unhex(const char *h, size_t *len)
{
	uint8_t *out = malloc(strlen(h) / 2 + 1);
	size_t n = 0;
	int hi = -1, v;

	assert_non_null(out);
	for (; *h != '\0'; h++) {
		if (*h >= '0' && *h <= '9')
			v = *h - '0';
		else if (*h >= 'a' && *h <= 'f')
			v = *h - 'a' + 10;
		else
			continue;
		if (hi < 0)
			hi = v;
		else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	if (len != NULL)
		*len = n;
	return (out);
}

static void
assert_hex(const void *buf, size_t len, const char *h)
{
	size_t n;
	uint8_t *want = unhex(h, &n);

	assert_int_equal(len, n);
	assert_memory_equal(buf, want, n);
	free(want);
}

/* ---------------------------------------------------------------- SHA */

static void
test_sha256_abc(void **state)
{
	struct crypto_sha256 *h;
	uint8_t out[32];

	(void)state;
	/* FIPS 180-2, Appendix B.1. */
	crypto_sha256("abc", 3, out);
	assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	/* Streaming, one byte at a time, then reused after reset. */
	assert_non_null(h = crypto_sha256_new());
	crypto_sha256_update(h, "a", 1);
	crypto_sha256_update(h, "b", 1);
	crypto_sha256_update(h, "c", 1);
	memset(out, 0, sizeof(out));
	crypto_sha256_final(h, out);
	assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	crypto_sha256_reset(h);
	crypto_sha256_update(h, "abc", 3);
	memset(out, 0, sizeof(out));
	crypto_sha256_final(h, out);
	assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	crypto_sha256_free(h);
	crypto_sha256_free(NULL);
}

/* --------------------------------------------------------------- HKDF */

static void
hkdf_case(const char *ikm_h, const char *salt_h, const char *info_h,
    size_t l, const char *okm_h)
{
	uint8_t *ikm, *salt, *info, out[128];
	size_t ikmlen, saltlen, infolen;

	ikm = unhex(ikm_h, &ikmlen);
	salt = unhex(salt_h, &saltlen);
	info = unhex(info_h, &infolen);
	assert_int_equal(crypto_hkdf_sha256(ikm, ikmlen, salt, saltlen, info,
	    infolen, out, l), 0);
	assert_hex(out, l, okm_h);
	free(ikm);
	free(salt);
	free(info);
}

static void
test_hkdf_rfc5869(void **state)
{

	(void)state;
	/* A.1: Test Case 1. */
	hkdf_case("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
	    "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
	    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	    "34007208d5b887185865");
	/* A.2: Test Case 2. */
	hkdf_case(
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	    "404142434445464748494a4b4c4d4e4f",
	    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	    "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	    "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", 82,
	    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	    "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	    "cc30c58179ec3e87c14c01d5c1f3434f1d87");
	/* A.3: Test Case 3, empty salt and info. */
	hkdf_case("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "", 42,
	    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	    "9d201395faa4b61a96c8");
}

static void
test_hmac_verify(void **state)
{
	uint8_t mac[32];

	(void)state;
	assert_int_equal(crypto_hmac_sha256("k", 1, "msg", 3, mac), 0);
	assert_int_equal(crypto_hmac_sha256_verify("k", 1, "msg", 3, mac), 0);
	mac[31] ^= 1;
	assert_int_equal(crypto_hmac_sha256_verify("k", 1, "msg", 3, mac), -1);
	/* An empty key is the zero-padded key. */
	assert_int_equal(crypto_hmac_sha256("", 0, "msg", 3, mac), 0);
	assert_int_equal(crypto_hmac_sha256_verify("\0\0", 2, "msg", 3, mac),
	    0);
}

/* ------------------------------------------------------------- X25519 */

static void
x25519_case(const char *k_h, const char *u_h, const char *out_h)
{
	uint8_t *k, *u, out[32];

	k = unhex(k_h, NULL);
	u = unhex(u_h, NULL);
	assert_int_equal(crypto_x25519(out, k, u), 0);
	assert_hex(out, 32, out_h);
	free(k);
	free(u);
}

static void
test_x25519_rfc7748(void **state)
{
	uint8_t k[32], u[32], out[32], *a, *b;
	int i;

	(void)state;
	/* Section 5.2, the two single vectors (the second has the top bit
	 * of u set, which must be ignored). */
	x25519_case(
	    "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
	    "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
	    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	x25519_case(
	    "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
	    "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
	    "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");

	/* Section 5.2, iterated: k = X25519(k, u), u = old k. */
	memset(k, 0, 32);
	k[0] = 9;
	memcpy(u, k, 32);
	for (i = 1; i <= 1000; i++) {
		assert_int_equal(crypto_x25519(out, k, u), 0);
		memcpy(u, k, 32);
		memcpy(k, out, 32);
		if (i == 1)
			assert_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f"
			    "7897b87bb6854b783c60e80311ae3079");
	}
	assert_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c"
	    "1c3887c49360e3875f2eb94d99532c51");

	/* Section 6.1, Diffie-Hellman. */
	a = unhex("77076d0a7318a57d3c16c17251b26645"
	    "df4c2f87ebc0992ab177fba51db92c2a", NULL);
	b = unhex("5dab087e624a8a4b79e17f8b83800ee6"
	    "6f3bb1292618b6fd1c2f8b27ff88e0eb", NULL);
	assert_int_equal(crypto_x25519(out, a, NULL), 0);
	assert_hex(out, 32, "8520f0098930a754748b7ddcb43ef75a"
	    "0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(crypto_x25519(out, b, NULL), 0);
	assert_hex(out, 32, "de9edb7d7b7dc1b4d35b61c2ece43537"
	    "3f8343c85b78674dadfc7e146f882b4f");
	memcpy(u, out, 32);
	assert_int_equal(crypto_x25519(out, a, u), 0);
	assert_hex(out, 32, "4a5d9d5ba4ce2de1728e3bf480350f25"
	    "e07e21c947d19e3376f09b3c1e161742");

	/* Low-order points give all zeros, which must be refused. */
	memset(u, 0, 32);
	assert_int_equal(crypto_x25519(out, a, u), -1);
	u[0] = 1;
	assert_int_equal(crypto_x25519(out, a, u), -1);
	free(a);
	free(b);
}

/* ---------------------------------------------------- ChaCha20-Poly1305 */

static void
test_aead_rfc8439_282(void **state)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: "
	    "If I could offer you only one tip for the future, sunscreen "
	    "would be it.";
	struct crypto_aead *a;
	uint8_t *key, *nonce, *ad, buf[sizeof(pt) + 16], dec[sizeof(pt)];
	size_t adlen, len = sizeof(pt) - 1;

	(void)state;
	key = unhex("808182838485868788898a8b8c8d8e8f"
	    "909192939495969798999a9b9c9d9e9f", NULL);
	nonce = unhex("070000004041424344454647", NULL);
	ad = unhex("50515253c0c1c2c3c4c5c6c7", &adlen);
	assert_non_null(a = crypto_aead_new(key));
	assert_int_equal(crypto_aead_seal_ad(a, nonce, ad, adlen, pt, len,
	    buf), 0);
	assert_hex(buf, len + 16,
	    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	    "3ff4def08e4b7a9de576d26586cec64b6116"
	    "1ae10b594f09e26a7e902ecbd0600691");
	assert_int_equal(crypto_aead_open_ad(a, nonce, ad, adlen, buf,
	    len + 16, dec), 0);
	assert_memory_equal(dec, pt, len);
	/* Without the AD the tag fails and the output is wiped. */
	assert_int_equal(crypto_aead_open(a, nonce, buf, len + 16, dec), -1);
	assert_memory_equal(dec, (uint8_t[sizeof(pt)]){ 0 }, len);
	crypto_aead_free(a);
	free(key);
	free(nonce);
	free(ad);
}

static void
test_aead_rfc8439_a5(void **state)
{
	struct crypto_aead *a;
	uint8_t *key, *nonce, *ad, *ct, *pt, out[512];
	size_t adlen, ctlen, ptlen;

	(void)state;
	/* Appendix A.5: ChaCha20-Poly1305 AEAD decryption. */
	key = unhex("1c9240a5eb55d38af333888604f6b5f0"
	    "473917c1402b80099dca5cbc207075c0", NULL);
	nonce = unhex("000000000102030405060708", NULL);
	ad = unhex("f33388860000000000004e91", &adlen);
	ct = unhex(
	    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	    "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	    "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	    "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	    "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	    "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	    "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	    "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	    "a6ad5cb4022b02709b"
	    "eead9d67890cbb22392336fea1851f38", &ctlen);
	pt = unhex(
	    "496e7465726e65742d4472616674732061726520647261667420646f63756d65"
	    "6e74732076616c696420666f722061206d6178696d756d206f6620736978206d"
	    "6f6e74687320616e64206d617920626520757064617465642c207265706c6163"
	    "65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65"
	    "6e747320617420616e792074696d652e20497420697320696e617070726f7072"
	    "6961746520746f2075736520496e7465726e65742d4472616674732061732072"
	    "65666572656e6365206d6174657269616c206f7220746f206369746520746865"
	    "6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67"
	    "726573732e2fe2809d", &ptlen);
	assert_int_equal(ctlen, ptlen + 16);
	assert_non_null(a = crypto_aead_new(key));
	assert_int_equal(crypto_aead_open_ad(a, nonce, ad, adlen, ct, ctlen,
	    out), 0);
	assert_memory_equal(out, pt, ptlen);
	/* In place. */
	assert_int_equal(crypto_aead_open_ad(a, nonce, ad, adlen, ct, ctlen,
	    ct), 0);
	assert_memory_equal(ct, pt, ptlen);
	/* A flipped tag bit. */
	assert_int_equal(crypto_aead_seal_ad(a, nonce, ad, adlen, pt, ptlen,
	    ct), 0);
	ct[ctlen - 1] ^= 0x80;
	assert_int_equal(crypto_aead_open_ad(a, nonce, ad, adlen, ct, ctlen,
	    out), -1);
	/* Too short for a tag. */
	assert_int_equal(crypto_aead_open(a, nonce, ct, 15, out), -1);
	crypto_aead_free(a);
	crypto_aead_free(NULL);
	free(key);
	free(nonce);
	free(ad);
	free(ct);
	free(pt);
}

/* ------------------------------------------------------------- scrypt */

static void
test_scrypt_rfc7914(void **state)
{
	uint8_t out[64];

	(void)state;
	/* The build runs the Salsa20/8 it says it tests. */
	print_message("scrypt: %s\n", scrypt_impl());
#if !defined(__SSE2__)
	assert_string_equal(scrypt_impl(), "portable");
#elif defined(COFFER_SCRYPT_NO_AVX512)
	assert_string_equal(scrypt_impl(), "sse2");
#endif
	/* Section 12, first vector: r = 1. */
	assert_int_equal(crypto_scrypt_params("", 0, "", 0, 16, 1, 1, out, 64),
	    0);
	assert_hex(out, 64,
	    "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
	    "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
	/* Second vector: p = 16. */
	assert_int_equal(crypto_scrypt_params("password", 8, "NaCl", 4, 1024,
	    8, 16, out, 64), 0);
	assert_hex(out, 64,
	    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
	    "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
	/* Third vector, through the age-shaped entry point (r 8, p 1). */
	assert_int_equal(crypto_scrypt("pleaseletmein", 13, "SodiumChloride",
	    14, 14, out, 64), 0);
	assert_hex(out, 64,
	    "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
	    "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
	/* The fourth (N = 2^20) takes a gigabyte: not run.  Out of range: */
	assert_int_equal(crypto_scrypt("x", 1, "y", 1, 23, out, 32), -1);
	assert_int_equal(crypto_scrypt("x", 1, "y", 1, 0, out, 32), -1);
	assert_int_equal(crypto_scrypt_params("x", 1, "y", 1, 16, 33, 1, out,
	    32), -1);
	assert_int_equal(crypto_scrypt_params("x", 1, "y", 1, 24, 8, 1, out,
	    32), -1);
}

/* ------------------------------------------------------------ Ed25519 */

static void
ed25519_case(const char *seed_h, const char *pub_h, const char *msg_h,
    const char *sig_h)
{
	uint8_t *seed, *msg, pub[32], sig[64];
	size_t msglen;

	seed = unhex(seed_h, NULL);
	msg = unhex(msg_h, &msglen);
	assert_int_equal(crypto_ed25519_public(seed, pub), 0);
	assert_hex(pub, 32, pub_h);
	assert_int_equal(crypto_ed25519_sign(seed, msg, msglen, sig), 0);
	assert_hex(sig, 64, sig_h);
	assert_int_equal(crypto_ed25519_verify(pub, msg, msglen, sig), 0);
	sig[5] ^= 1;
	assert_int_equal(crypto_ed25519_verify(pub, msg, msglen, sig), -1);
	sig[5] ^= 1;
	pub[0] ^= 1;
	assert_int_equal(crypto_ed25519_verify(pub, msg, msglen, sig), -1);
	free(seed);
	free(msg);
}

static void
test_ed25519_rfc8032(void **state)
{

	(void)state;
	/* Section 7.1, TEST 1, 2, 3 and SHA(abc). */
	ed25519_case(
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	    "",
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	ed25519_case(
	    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	    "72",
	    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
	ed25519_case(
	    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	    "af82",
	    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	    "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a");
	ed25519_case(
	    "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
	    "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
	    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	    "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
	    "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704");
}

/* ------------------------------------------------------------- misc */

static void
test_memeq_secure(void **state)
{
	uint8_t *p;

	(void)state;
	assert_int_equal(crypto_memeq("abcd", "abcd", 4), 1);
	assert_int_equal(crypto_memeq("abcd", "abce", 4), 0);
	assert_int_equal(crypto_memeq("\x80", "\x00", 1), 0);
	assert_int_equal(crypto_memeq("", "", 0), 1);
	assert_non_null(p = crypto_secure_alloc(64));
	assert_memory_equal(p, (uint8_t[64]){ 0 }, 64);
	crypto_secure_free(p, 64);
	crypto_secure_free(NULL, 0);
	assert_int_equal(crypto_init(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_abc),
		cmocka_unit_test(test_hkdf_rfc5869),
		cmocka_unit_test(test_hmac_verify),
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_aead_rfc8439_282),
		cmocka_unit_test(test_aead_rfc8439_a5),
		cmocka_unit_test(test_scrypt_rfc7914),
		cmocka_unit_test(test_ed25519_rfc8032),
		cmocka_unit_test(test_memeq_secure),
	};

	if (crypto_init() != 0)
		return (1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
