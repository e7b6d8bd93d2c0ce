#ifndef COFFER_CRYPTO_H
#define COFFER_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * crypto: coffer's only user of libgcrypt.  Every primitive the rest of the
 * code needs (SHA-256, HMAC, HKDF, X25519, ChaCha20-Poly1305, scrypt,
 * Ed25519, random bytes, secure memory) in coffer's own types.  Functions
 * return 0 on success and -1 on failure, reported with warn0 (libgcrypt's
 * gcry_strerror text in the message), unless said otherwise.
 */

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_X25519_LEN 32
#define CRYPTO_ED25519_SEED_LEN 32
#define CRYPTO_ED25519_PUB_LEN 32
#define CRYPTO_ED25519_SIG_LEN 64
#define CRYPTO_AEAD_KEY_LEN 32
#define CRYPTO_AEAD_NONCE_LEN 12
#define CRYPTO_AEAD_TAG_LEN 16

/*
 * crypto_init(): initialise libgcrypt once (version check, a secure memory
 * pool, initialisation finished).  Refuses FIPS mode, which forbids
 * ChaCha20 and scrypt.  Safe to call more than once.
 */
int crypto_init(void);

/* crypto_secure_alloc(len): zeroed secure (non-swappable) memory, or NULL.
 * crypto_secure_free(p, len): wipe len bytes and free; NULL does nothing. */
void *crypto_secure_alloc(size_t);
void crypto_secure_free(void *, size_t);

/* crypto_wipe(p, len): explicit_bzero. */
void crypto_wipe(void *, size_t);

/* crypto_memeq(a, b, len): 1 when equal, compared in constant time. */
int crypto_memeq(const void *, const void *, size_t);

/* crypto_random(buf, len): strong random bytes. */
int crypto_random(void *, size_t);

/* SHA-256, streaming and whole. */
struct crypto_sha256;
struct crypto_sha256 *crypto_sha256_new(void);
void crypto_sha256_update(struct crypto_sha256 *, const void *, size_t);
/* crypto_sha256_final(h, out): write the digest; h may be reused after
 * crypto_sha256_reset. */
void crypto_sha256_final(struct crypto_sha256 *, uint8_t[CRYPTO_SHA256_LEN]);
void crypto_sha256_reset(struct crypto_sha256 *);
void crypto_sha256_free(struct crypto_sha256 *);
void crypto_sha256(const void *, size_t, uint8_t[CRYPTO_SHA256_LEN]);
/* crypto_sha256_file(path, out, size): hash a whole file; size (may be NULL)
 * receives its length. */
int crypto_sha256_file(const char *, uint8_t[CRYPTO_SHA256_LEN], uint64_t *);

/* HMAC-SHA-256 and HKDF-SHA-256 (RFC 5869). */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, uint8_t out[CRYPTO_SHA256_LEN]);
/* crypto_hmac_sha256_verify: 0 when mac matches (constant time), else -1
 * without a message. */
int crypto_hmac_sha256_verify(const void *key, size_t keylen, const void *msg,
    size_t msglen, const uint8_t mac[CRYPTO_SHA256_LEN]);
int crypto_hkdf_sha256(const void *ikm, size_t ikmlen, const void *salt,
    size_t saltlen, const void *info, size_t infolen, void *out,
    size_t outlen);

/*
 * crypto_x25519(out, scalar, point): out = X25519(scalar, point), point
 * NULL meaning the base point 9 (RFC 7748).  Returns -1 if the result is
 * all zeros (a low-order point), checked in constant time.
 */
int crypto_x25519(uint8_t out[32], const uint8_t scalar[32],
    const uint8_t *point);

/*
 * ChaCha20-Poly1305 (RFC 8439).  A handle keeps the key schedule so a
 * stream of chunks does not re-key.  seal writes len + 16 bytes to out;
 * open reads len >= 16 bytes and writes len - 16, returning -1 (no message)
 * when the tag does not match, with out wiped.  in and out may be equal.
 */
struct crypto_aead;
struct crypto_aead *crypto_aead_new(const uint8_t key[CRYPTO_AEAD_KEY_LEN]);
int crypto_aead_seal(struct crypto_aead *, const uint8_t nonce[12],
    const void *in, size_t len, void *out);
int crypto_aead_open(struct crypto_aead *, const uint8_t nonce[12],
    const void *in, size_t len, void *out);
/* _ad variants: the same with associated data (RFC 8439 2.8); age uses
 * none. */
int crypto_aead_seal_ad(struct crypto_aead *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out);
int crypto_aead_open_ad(struct crypto_aead *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out);
void crypto_aead_free(struct crypto_aead *);

/* crypto_scrypt(pw, pwlen, salt, saltlen, logn, out, outlen): scrypt with
 * N = 2^logn, r = 8, p = 1 (RFC 7914).  logn must be 1..22. */
int crypto_scrypt(const void *, size_t, const void *, size_t, int, void *,
    size_t);
/* crypto_scrypt_params: the general form used by the RFC 7914 vectors. */
int crypto_scrypt_params(const void *, size_t, const void *, size_t,
    uint64_t n, unsigned r, unsigned p, void *, size_t);

/* Ed25519 (RFC 8032) from a 32-byte seed. */
int crypto_ed25519_public(const uint8_t seed[32], uint8_t pub[32]);
int crypto_ed25519_sign(const uint8_t seed[32], const void *msg, size_t len,
    uint8_t sig[64]);
/* crypto_ed25519_verify: 0 when the signature is good, else -1 (no
 * message: the caller names what failed). */
int crypto_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
    const uint8_t sig[64]);

#endif
