/*
 * age_internal.h: what the parts of lib/age/ share: the format's
 * constants and limits, the recipient and identity sets, the STREAM
 * nonce.  keys.c: keys, recipient and identity sets, identity files;
 * encrypt.c: the encryptor; decrypt.c: the decryptor.
 */
#ifndef COFFER_AGE_INTERNAL_H
#define COFFER_AGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Format constants (https://c2sp.org/age). */
#define INTRO "age-encryption.org/v1\n"
#define X25519_LABEL "age-encryption.org/v1/X25519"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"
#define ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define ARMOR_END "-----END AGE ENCRYPTED FILE-----"
#define FILE_KEY_LEN 16
#define STREAM_NONCE_LEN 16
#define CHUNK 65536
#define CHUNK_CT (CHUNK + CRYPTO_AEAD_TAG_LEN)
#define SCRYPT_SALT_LEN 16
#define SCRYPT_DEFAULT_LOGN 18
#define SCRYPT_MAX_LOGN 22

/* Limits on what a header may hold, against absurd input. */
#define HDR_LINE_MAX (16 * 1024)
#define HDR_MAX (1024 * 1024)
#define HDR_STANZAS_MAX 1024
#define ARMOR_WS_MAX 1024
#define ARMOR_LINE_MAX 2048

/* Input buffer: large reads, room for one chunk and a byte more. */
#define INBUF (1024 * 1024 + CHUNK_CT + 64)
/* Output batch of the encryptor. */
#define OUTBUF (16 * CHUNK_CT + 4096)

/* Identity files (and their decrypted plaintext) live in secure memory. */
#define IDFILE_MAX (8 * 1024)
#define PASS_MAX 1024

struct age_recipients {
	uint8_t (*keys)[32];
	size_t n, cap;
	char *pass;		/* secure; NULL unless a passphrase recipient */
	size_t passlen;
	int logn;
};

struct age_identity {
	uint8_t *sk;		/* secure, 32 bytes; NULL for a passphrase */
	uint8_t pk[32];
	char *pass;		/* secure */
	size_t passlen;
};

struct age_identities {
	struct age_identity *v;
	size_t n, cap;
};

/* The STREAM nonce of a chunk: the counter as 11 bytes big-endian, then
 * the last-chunk flag. */
static inline void
age_stream_nonce(uint8_t nonce[12], uint64_t counter, int last)
{
	int i;

	memset(nonce, 0, 12);
	for (i = 0; i < 8; i++)
		nonce[10 - i] = (uint8_t)(counter >> (8 * i));
	nonce[11] = last ? 1 : 0;
}

/* age_fd_write(cookie, buf, len): an age_write_fn writing all of buf to
 * the descriptor *(int *)cookie.  0, or -1 (reported). */
int age_fd_write(void *, const void *, size_t);

#endif
