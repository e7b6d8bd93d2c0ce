#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <gcrypt.h>

#include "crypto.h"
#include "scrypt.h"
#include "warnp.h"

/* Size of the secure memory pool: keys and passphrases only. */
#define SECMEM_POOL (64 * 1024)

static int crypto_initialised;

int
crypto_init(void)
{

	if (crypto_initialised)
		return (0);
	if (gcry_check_version("1.10.0") == NULL) {
		warn0("libgcrypt too old: need 1.10.0, have %s",
		    gcry_check_version(NULL));
		return (-1);
	}
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, SECMEM_POOL, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	if (gcry_fips_mode_active()) {
		warn0("libgcrypt is in FIPS mode, which forbids ChaCha20 and "
		    "scrypt: coffer cannot run");
		return (-1);
	}
	crypto_initialised = 1;
	return (0);
}

void *
crypto_secure_alloc(size_t len)
{
	void *p;

	if ((p = gcry_calloc_secure(1, len ? len : 1)) == NULL)
		warn0("out of secure memory (%zu bytes)", len);
	return (p);
}

void
crypto_secure_free(void *p, size_t len)
{

	if (p == NULL)
		return;
	explicit_bzero(p, len);
	gcry_free(p);
}

void
crypto_wipe(void *p, size_t len)
{

	if (p != NULL)
		explicit_bzero(p, len);
}

int
crypto_memeq(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return ((((unsigned)d - 1) >> 8) & 1);
}

int
crypto_random(void *buf, size_t len)
{

	gcry_randomize(buf, len, GCRY_STRONG_RANDOM);
	return (0);
}

/* ------------------------------------------------------------ SHA-256 */

struct crypto_sha256 {
	gcry_md_hd_t md;
};

struct crypto_sha256 *
crypto_sha256_new(void)
{
	struct crypto_sha256 *h;
	gcry_error_t e;

	if ((h = malloc(sizeof(*h))) == NULL) {
		warnp("malloc");
		return (NULL);
	}
	if ((e = gcry_md_open(&h->md, GCRY_MD_SHA256, 0)) != 0) {
		warn0("cannot start sha-256: %s", gcry_strerror(e));
		free(h);
		return (NULL);
	}
	return (h);
}

void
crypto_sha256_update(struct crypto_sha256 *h, const void *buf, size_t len)
{

	gcry_md_write(h->md, buf, len);
}

void
crypto_sha256_final(struct crypto_sha256 *h, uint8_t out[CRYPTO_SHA256_LEN])
{

	memcpy(out, gcry_md_read(h->md, GCRY_MD_SHA256), CRYPTO_SHA256_LEN);
}

void
crypto_sha256_reset(struct crypto_sha256 *h)
{

	gcry_md_reset(h->md);
}

void
crypto_sha256_free(struct crypto_sha256 *h)
{

	if (h == NULL)
		return;
	gcry_md_close(h->md);
	free(h);
}

void
crypto_sha256(const void *buf, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{

	gcry_md_hash_buffer(GCRY_MD_SHA256, out, buf, len);
}

int
crypto_sha256_file(const char *path, uint8_t out[CRYPTO_SHA256_LEN],
    uint64_t *sizep)
{
	struct crypto_sha256 *h = NULL;
	uint8_t *buf = NULL;
	uint64_t total = 0;
	ssize_t n;
	int fd = -1;
	int rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warnp("cannot open '%s'", path);
		goto cleanup;
	}
	if ((buf = malloc(1 << 20)) == NULL) {
		warnp("malloc");
		goto cleanup;
	}
	if ((h = crypto_sha256_new()) == NULL)
		goto cleanup;
	for (;;) {
		n = read(fd, buf, 1 << 20);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			warnp("cannot read '%s'", path);
			goto cleanup;
		}
		if (n == 0)
			break;
		crypto_sha256_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	crypto_sha256_final(h, out);
	if (sizep != NULL)
		*sizep = total;
	rc = 0;
cleanup:
	crypto_sha256_free(h);
	free(buf);
	if (fd != -1)
		close(fd);
	return (rc);
}

/* ------------------------------------------------------- HMAC, HKDF */

/*
 * An HMAC key shorter than the block is zero-padded, so an empty key is the
 * same as one zero byte; libgcrypt refuses empty keys.
 */
static gcry_mac_hd_t
hmac_open(const void *key, size_t keylen)
{
	static const uint8_t zero[1];
	gcry_mac_hd_t mac;
	gcry_error_t e;

	if (keylen == 0) {
		key = zero;
		keylen = 1;
	}
	if ((e = gcry_mac_open(&mac, GCRY_MAC_HMAC_SHA256,
	    GCRY_MAC_FLAG_SECURE, NULL)) != 0) {
		warn0("cannot start hmac-sha256: %s", gcry_strerror(e));
		return (NULL);
	}
	if ((e = gcry_mac_setkey(mac, key, keylen)) != 0) {
		warn0("cannot key hmac-sha256: %s", gcry_strerror(e));
		gcry_mac_close(mac);
		return (NULL);
	}
	return (mac);
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, uint8_t out[CRYPTO_SHA256_LEN])
{
	gcry_mac_hd_t mac;
	gcry_error_t e;
	size_t len = CRYPTO_SHA256_LEN;
	int rc = -1;

	if ((mac = hmac_open(key, keylen)) == NULL)
		return (-1);
	if ((e = gcry_mac_write(mac, msg, msglen)) != 0 ||
	    (e = gcry_mac_read(mac, out, &len)) != 0) {
		warn0("hmac-sha256 failed: %s", gcry_strerror(e));
		goto cleanup;
	}
	rc = 0;
cleanup:
	gcry_mac_close(mac);
	return (rc);
}

int
crypto_hmac_sha256_verify(const void *key, size_t keylen, const void *msg,
    size_t msglen, const uint8_t mac_in[CRYPTO_SHA256_LEN])
{
	gcry_mac_hd_t mac;
	int rc = -1;

	if ((mac = hmac_open(key, keylen)) == NULL)
		return (-1);
	if (gcry_mac_write(mac, msg, msglen) == 0 &&
	    gcry_mac_verify(mac, mac_in, CRYPTO_SHA256_LEN) == 0)
		rc = 0;
	gcry_mac_close(mac);
	return (rc);
}

int
crypto_hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt,
    size_t saltlen, const void *info, size_t infolen, void *out,
    size_t outlen)
{
	static const uint8_t zeros[CRYPTO_SHA256_LEN];
	gcry_mac_hd_t mac = NULL;
	uint8_t *prk = NULL, *t = NULL;
	uint8_t *o = out;
	size_t len, tlen = 0, n;
	uint8_t ctr;
	gcry_error_t e;
	int rc = -1;

	if (outlen > 255 * CRYPTO_SHA256_LEN) {
		warn0("hkdf: output too long");
		return (-1);
	}
	if ((prk = crypto_secure_alloc(CRYPTO_SHA256_LEN)) == NULL ||
	    (t = crypto_secure_alloc(CRYPTO_SHA256_LEN)) == NULL)
		goto cleanup;

	/* Extract: PRK = HMAC(salt or HashLen zeros, IKM). */
	if (saltlen == 0) {
		salt = zeros;
		saltlen = sizeof(zeros);
	}
	if (crypto_hmac_sha256(salt, saltlen, ikm, ikmlen, prk))
		goto cleanup;

	/* Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
	if ((mac = hmac_open(prk, CRYPTO_SHA256_LEN)) == NULL)
		goto cleanup;
	for (ctr = 1; outlen > 0; ctr++) {
		if ((e = gcry_mac_reset(mac)) != 0 ||
		    (e = gcry_mac_write(mac, t, tlen)) != 0 ||
		    (e = gcry_mac_write(mac, info, infolen)) != 0 ||
		    (e = gcry_mac_write(mac, &ctr, 1)) != 0) {
			warn0("hkdf failed: %s", gcry_strerror(e));
			goto cleanup;
		}
		len = CRYPTO_SHA256_LEN;
		if ((e = gcry_mac_read(mac, t, &len)) != 0) {
			warn0("hkdf failed: %s", gcry_strerror(e));
			goto cleanup;
		}
		tlen = CRYPTO_SHA256_LEN;
		n = outlen < tlen ? outlen : tlen;
		memcpy(o, t, n);
		o += n;
		outlen -= n;
	}
	rc = 0;
cleanup:
	if (mac != NULL)
		gcry_mac_close(mac);
	crypto_secure_free(prk, CRYPTO_SHA256_LEN);
	crypto_secure_free(t, CRYPTO_SHA256_LEN);
	return (rc);
}

/* ------------------------------------------------------------ X25519 */

int
crypto_x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t *point)
{
	uint8_t u[32];
	uint8_t d = 0;
	gcry_error_t e;
	size_t i;

	/* RFC 7748 5: the top bit of the u-coordinate is ignored. */
	if (point != NULL) {
		memcpy(u, point, 32);
		u[31] &= 0x7f;
	}
	e = gcry_ecc_mul_point(GCRY_ECC_CURVE25519, out, scalar,
	    point != NULL ? u : NULL);
	explicit_bzero(u, sizeof(u));
	if (e != 0) {
		warn0("x25519 failed: %s", gcry_strerror(e));
		explicit_bzero(out, 32);
		return (-1);
	}
	for (i = 0; i < 32; i++)
		d |= ((volatile uint8_t *)out)[i];
	if (((((unsigned)d) - 1) >> 8) & 1)
		return (-1);
	return (0);
}

/* ------------------------------------------------- ChaCha20-Poly1305 */

struct crypto_aead {
	gcry_cipher_hd_t c;
};

struct crypto_aead *
crypto_aead_new(const uint8_t key[CRYPTO_AEAD_KEY_LEN])
{
	struct crypto_aead *a;
	gcry_error_t e;

	if ((a = malloc(sizeof(*a))) == NULL) {
		warnp("malloc");
		return (NULL);
	}
	if ((e = gcry_cipher_open(&a->c, GCRY_CIPHER_CHACHA20,
	    GCRY_CIPHER_MODE_POLY1305, GCRY_CIPHER_SECURE)) != 0) {
		warn0("cannot start chacha20-poly1305: %s", gcry_strerror(e));
		free(a);
		return (NULL);
	}
	if ((e = gcry_cipher_setkey(a->c, key, CRYPTO_AEAD_KEY_LEN)) != 0) {
		warn0("cannot key chacha20-poly1305: %s", gcry_strerror(e));
		gcry_cipher_close(a->c);
		free(a);
		return (NULL);
	}
	return (a);
}

int
crypto_aead_seal_ad(struct crypto_aead *a, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out)
{
	gcry_error_t e;

	if ((e = gcry_cipher_setiv(a->c, nonce, CRYPTO_AEAD_NONCE_LEN)) != 0 ||
	    (adlen > 0 &&
	    (e = gcry_cipher_authenticate(a->c, ad, adlen)) != 0) ||
	    (e = gcry_cipher_final(a->c)) != 0 ||
	    (e = gcry_cipher_encrypt(a->c, out, len, in, len)) != 0 ||
	    (e = gcry_cipher_gettag(a->c, (uint8_t *)out + len,
	    CRYPTO_AEAD_TAG_LEN)) != 0) {
		warn0("chacha20-poly1305 encryption failed: %s",
		    gcry_strerror(e));
		return (-1);
	}
	return (0);
}

int
crypto_aead_seal(struct crypto_aead *a, const uint8_t nonce[12],
    const void *in, size_t len, void *out)
{

	return (crypto_aead_seal_ad(a, nonce, NULL, 0, in, len, out));
}

int
crypto_aead_open_ad(struct crypto_aead *a, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out)
{
	uint8_t tag[CRYPTO_AEAD_TAG_LEN];
	gcry_error_t e;
	size_t plen;

	if (len < CRYPTO_AEAD_TAG_LEN)
		return (-1);
	plen = len - CRYPTO_AEAD_TAG_LEN;
	/* Copy the tag first: decrypting in place may not touch it, but an
	 * overlapping out buffer could. */
	memcpy(tag, (const uint8_t *)in + plen, sizeof(tag));
	if ((e = gcry_cipher_setiv(a->c, nonce, CRYPTO_AEAD_NONCE_LEN)) != 0 ||
	    (adlen > 0 &&
	    (e = gcry_cipher_authenticate(a->c, ad, adlen)) != 0) ||
	    (e = gcry_cipher_final(a->c)) != 0 ||
	    (e = gcry_cipher_decrypt(a->c, out, plen, in, plen)) != 0) {
		warn0("chacha20-poly1305 decryption failed: %s",
		    gcry_strerror(e));
		explicit_bzero(out, plen);
		return (-1);
	}
	if (gcry_cipher_checktag(a->c, tag, sizeof(tag)) != 0) {
		explicit_bzero(out, plen);
		return (-1);
	}
	return (0);
}

int
crypto_aead_open(struct crypto_aead *a, const uint8_t nonce[12],
    const void *in, size_t len, void *out)
{

	return (crypto_aead_open_ad(a, nonce, NULL, 0, in, len, out));
}

void
crypto_aead_free(struct crypto_aead *a)
{

	if (a == NULL)
		return;
	gcry_cipher_close(a->c);
	free(a);
}

/* ------------------------------------------------------------ scrypt */

int
crypto_scrypt_params(const void *pw, size_t pwlen, const void *salt,
    size_t saltlen, uint64_t n, unsigned r, unsigned p, void *out,
    size_t outlen)
{

	return (scrypt_derive(pw, pwlen, salt, saltlen, n, r, p, out,
	    outlen));
}

int
crypto_scrypt(const void *pw, size_t pwlen, const void *salt, size_t saltlen,
    int logn, void *out, size_t outlen)
{

	if (logn < 1 || logn > 22) {
		warn0("scrypt: work factor %d out of range 1..22", logn);
		return (-1);
	}
	return (crypto_scrypt_params(pw, pwlen, salt, saltlen,
	    (uint64_t)1 << logn, 8, 1, out, outlen));
}

/* ----------------------------------------------------------- Ed25519 */

static int
ed25519_key(gcry_sexp_t *key, const uint8_t seed[32])
{
	gcry_error_t e;

	if ((e = gcry_sexp_build(key, NULL,
	    "(private-key(ecc(curve Ed25519)(flags eddsa)(d %b)))",
	    32, seed)) != 0) {
		warn0("cannot build ed25519 key: %s", gcry_strerror(e));
		return (-1);
	}
	return (0);
}

int
crypto_ed25519_public(const uint8_t seed[32], uint8_t pub[32])
{
	gcry_sexp_t key = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t q = NULL;
	const void *buf;
	unsigned int nbits;
	gcry_error_t e;
	int rc = -1;

	if (ed25519_key(&key, seed))
		goto cleanup;
	if ((e = gcry_mpi_ec_new(&ctx, key, NULL)) != 0) {
		warn0("cannot load ed25519 key: %s", gcry_strerror(e));
		goto cleanup;
	}
	if ((q = gcry_mpi_ec_get_mpi("q@eddsa", ctx, 1)) == NULL ||
	    (buf = gcry_mpi_get_opaque(q, &nbits)) == NULL || nbits != 256) {
		warn0("cannot derive ed25519 public key");
		goto cleanup;
	}
	memcpy(pub, buf, 32);
	rc = 0;
cleanup:
	gcry_mpi_release(q);
	gcry_ctx_release(ctx);
	gcry_sexp_release(key);
	return (rc);
}

/* Copy the value of token name in sexp s, right-aligned in 32 bytes. */
static int
sexp_get32(gcry_sexp_t s, const char *name, uint8_t out[32])
{
	gcry_sexp_t t;
	const char *d;
	size_t len;
	int rc = -1;

	if ((t = gcry_sexp_find_token(s, name, 0)) == NULL)
		return (-1);
	if ((d = gcry_sexp_nth_data(t, 1, &len)) != NULL && len <= 32) {
		memset(out, 0, 32 - len);
		memcpy(out + 32 - len, d, len);
		rc = 0;
	}
	gcry_sexp_release(t);
	return (rc);
}

int
crypto_ed25519_sign(const uint8_t seed[32], const void *msg, size_t len,
    uint8_t sig[64])
{
	gcry_sexp_t key = NULL, data = NULL, s = NULL;
	gcry_error_t e;
	int rc = -1;

	if (ed25519_key(&key, seed))
		goto cleanup;
	if ((e = gcry_sexp_build(&data, NULL,
	    "(data(flags eddsa)(hash-algo sha512)(value %b))",
	    (int)len, msg)) != 0 ||
	    (e = gcry_pk_sign(&s, data, key)) != 0) {
		warn0("ed25519 signing failed: %s", gcry_strerror(e));
		goto cleanup;
	}
	if (sexp_get32(s, "r", sig) || sexp_get32(s, "s", sig + 32)) {
		warn0("ed25519 signing failed: bad signature form");
		goto cleanup;
	}
	rc = 0;
cleanup:
	gcry_sexp_release(s);
	gcry_sexp_release(data);
	gcry_sexp_release(key);
	return (rc);
}

int
crypto_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
    const uint8_t sig[64])
{
	gcry_sexp_t key = NULL, data = NULL, s = NULL;
	int rc = -1;

	if (gcry_sexp_build(&key, NULL,
	    "(public-key(ecc(curve Ed25519)(flags eddsa)(q %b)))",
	    32, pub) != 0 ||
	    gcry_sexp_build(&data, NULL,
	    "(data(flags eddsa)(hash-algo sha512)(value %b))",
	    (int)len, msg) != 0 ||
	    gcry_sexp_build(&s, NULL, "(sig-val(eddsa(r %b)(s %b)))",
	    32, sig, 32, sig + 32) != 0)
		goto cleanup;
	if (gcry_pk_verify(s, data, key) == 0)
		rc = 0;
cleanup:
	gcry_sexp_release(s);
	gcry_sexp_release(data);
	gcry_sexp_release(key);
	return (rc);
}
