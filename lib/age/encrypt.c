/*
 * encrypt.c: the age v1 encryptor: header, STREAM chunks, armor.
 */
#include "compat.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "age.h"
#include "age_internal.h"
#include "base64.h"
#include "bech32.h"
#include "crypto.h"
#include "util.h"
#include "warnp.h"

/* ------------------------------------------------------------- output */

struct age_encryptor {
	age_write_fn *write;
	void *cookie;
	int armor;
	struct crypto_aead *aead;
	uint64_t counter;
	uint8_t *pt;		/* pending plaintext, up to CHUNK */
	size_t ptlen;
	uint8_t *out;		/* output batch */
	size_t outlen;
	uint8_t *ct;		/* sealed chunk, when armoring */
	uint8_t carry[48];	/* armor: bytes of the current line */
	size_t carrylen;
	uint64_t header_len;
	int wrote_any, finished, failed;
};

static int
enc_flush(struct age_encryptor *e)
{

	if (e->outlen > 0 && e->write(e->cookie, e->out, e->outlen) != 0) {
		e->failed = 1;
		return (-1);
	}
	e->outlen = 0;
	return (0);
}

/* Room for n more output bytes in the batch. */
static int
enc_room(struct age_encryptor *e, size_t n)
{

	if (OUTBUF - e->outlen < n)
		return (enc_flush(e));
	return (0);
}

/* Emit one armored line of len bytes of data. */
static int
armor_line(struct age_encryptor *e, const uint8_t *p, size_t len)
{

	if (enc_room(e, 66))
		return (-1);
	e->outlen += base64_encode((char *)e->out + e->outlen, p, len, 1);
	e->out[e->outlen++] = '\n';
	return (0);
}

/* Emit bytes of the binary age file (armored if asked). */
static int
enc_emit(struct age_encryptor *e, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t n;

	if (!e->armor) {
		if (len > OUTBUF / 2) {
			if (enc_flush(e) || e->write(e->cookie, p, len) != 0) {
				e->failed = 1;
				return (-1);
			}
			return (0);
		}
		if (enc_room(e, len))
			return (-1);
		memcpy(e->out + e->outlen, p, len);
		e->outlen += len;
		return (0);
	}
	if (e->carrylen > 0) {
		n = 48 - e->carrylen < len ? 48 - e->carrylen : len;
		memcpy(e->carry + e->carrylen, p, n);
		e->carrylen += n;
		p += n;
		len -= n;
		if (e->carrylen < 48)
			return (0);
		if (armor_line(e, e->carry, 48))
			return (-1);
		e->carrylen = 0;
	}
	for (; len >= 48; p += 48, len -= 48)
		if (armor_line(e, p, 48))
			return (-1);
	memcpy(e->carry, p, len);
	e->carrylen = len;
	return (0);
}

/* Seal one chunk of plaintext and emit it. */
static int
enc_chunk(struct age_encryptor *e, const uint8_t *p, size_t len, int last)
{
	uint8_t nonce[12];
	uint8_t *dst;

	if (e->counter == UINT64_MAX) {
		warn0("age payload too long");
		return (-1);
	}
	age_stream_nonce(nonce, e->counter, last);
	if (!e->armor) {
		/* Seal straight into the output batch. */
		if (enc_room(e, len + CRYPTO_AEAD_TAG_LEN))
			return (-1);
		dst = e->out + e->outlen;
	} else
		dst = e->ct;
	if (crypto_aead_seal(e->aead, nonce, p, len, dst)) {
		e->failed = 1;
		return (-1);
	}
	if (!e->armor)
		e->outlen += len + CRYPTO_AEAD_TAG_LEN;
	else if (enc_emit(e, dst, len + CRYPTO_AEAD_TAG_LEN))
		return (-1);
	e->counter++;
	return (0);
}

/* Append "-> args\n" and the wrapped base64 body to the header text. */
static int
hdr_stanza(char *h, size_t cap, size_t *len, const char *args,
    const uint8_t *body, size_t bodylen)
{
	char b64[base64_encoded_len(48, 0) + 1];
	size_t n;
	int k;

	k = snprintf(h + *len, cap - *len, "-> %s\n", args);
	if (k < 0 || (size_t)k >= cap - *len)
		return (-1);
	*len += (size_t)k;
	/* 48 bytes a line; the last line is always short (maybe empty). */
	for (;;) {
		n = bodylen < 48 ? bodylen : 48;
		base64_encode(b64, body, n, 0);
		k = snprintf(h + *len, cap - *len, "%s\n", b64);
		if (k < 0 || (size_t)k >= cap - *len)
			return (-1);
		*len += (size_t)k;
		body += n;
		bodylen -= n;
		if (n < 48)
			break;
	}
	return (0);
}

/* Wrap the file key under key: 32 bytes of body. */
static int
wrap_file_key(const uint8_t *key, const uint8_t *filekey, uint8_t body[32])
{
	static const uint8_t zero_nonce[12];
	struct crypto_aead *a;
	int rc;

	if ((a = crypto_aead_new(key)) == NULL)
		return (-1);
	rc = crypto_aead_seal(a, zero_nonce, filekey, FILE_KEY_LEN, body);
	crypto_aead_free(a);
	return (rc);
}

/* Build and emit the header and the payload nonce; set up the stream. */
static int
enc_header(struct age_encryptor *e, const struct age_recipients *r)
{
	size_t cap = 512 + r->n * 256, len = 0, i;
	uint8_t *filekey = NULL, *eph = NULL, *shared = NULL, *key = NULL;
	uint8_t share[32], body[32], salt[sizeof(SCRYPT_LABEL) - 1 + 16];
	uint8_t mac[32], nonce[STREAM_NONCE_LEN], *wsalt = NULL;
	char *h = NULL, args[128], b64a[64], b64b[64];
	int rc = -1, k;

	if ((h = malloc(cap)) == NULL) {
		warnp("malloc");
		goto cleanup;
	}
	if ((filekey = crypto_secure_alloc(FILE_KEY_LEN)) == NULL ||
	    (eph = crypto_secure_alloc(32)) == NULL ||
	    (shared = crypto_secure_alloc(32)) == NULL ||
	    (key = crypto_secure_alloc(32)) == NULL ||
	    (wsalt = crypto_secure_alloc(64)) == NULL)
		goto cleanup;
	crypto_random(filekey, FILE_KEY_LEN);
	memcpy(h, INTRO, sizeof(INTRO) - 1);
	len = sizeof(INTRO) - 1;

	for (i = 0; i < r->n; i++) {
		crypto_random(eph, 32);
		if (crypto_x25519(share, eph, NULL) ||
		    crypto_x25519(shared, eph, r->keys[i])) {
			warn0("cannot wrap the file key: bad recipient");
			goto cleanup;
		}
		memcpy(wsalt, share, 32);
		memcpy(wsalt + 32, r->keys[i], 32);
		if (crypto_hkdf_sha256(shared, 32, wsalt, 64, X25519_LABEL,
		    sizeof(X25519_LABEL) - 1, key, 32) ||
		    wrap_file_key(key, filekey, body))
			goto cleanup;
		base64_encode(b64a, share, 32, 0);
		snprintf(args, sizeof(args), "X25519 %s", b64a);
		if (hdr_stanza(h, cap, &len, args, body, sizeof(body)))
			goto toolong;
	}
	if (r->pass != NULL) {
		memcpy(salt, SCRYPT_LABEL, sizeof(SCRYPT_LABEL) - 1);
		crypto_random(salt + sizeof(SCRYPT_LABEL) - 1, 16);
		if (crypto_scrypt(r->pass, r->passlen, salt, sizeof(salt),
		    r->logn, key, 32) || wrap_file_key(key, filekey, body))
			goto cleanup;
		base64_encode(b64b, salt + sizeof(SCRYPT_LABEL) - 1, 16, 0);
		snprintf(args, sizeof(args), "scrypt %s %d", b64b, r->logn);
		if (hdr_stanza(h, cap, &len, args, body, sizeof(body)))
			goto toolong;
	}
	k = snprintf(h + len, cap - len, "---");
	if (k < 0 || (size_t)k >= cap - len)
		goto toolong;
	len += (size_t)k;
	if (crypto_hkdf_sha256(filekey, FILE_KEY_LEN, NULL, 0, "header", 6,
	    key, 32) || crypto_hmac_sha256(key, 32, h, len, mac))
		goto cleanup;
	base64_encode(b64a, mac, 32, 0);
	k = snprintf(h + len, cap - len, " %s\n", b64a);
	if (k < 0 || (size_t)k >= cap - len)
		goto toolong;
	len += (size_t)k;
	e->header_len = len;

	crypto_random(nonce, sizeof(nonce));
	if (crypto_hkdf_sha256(filekey, FILE_KEY_LEN, nonce, sizeof(nonce),
	    "payload", 7, key, 32) ||
	    (e->aead = crypto_aead_new(key)) == NULL)
		goto cleanup;
	if (e->armor) {
		if (enc_room(e, sizeof(ARMOR_BEGIN)))
			goto cleanup;
		memcpy(e->out + e->outlen, ARMOR_BEGIN "\n",
		    sizeof(ARMOR_BEGIN));
		e->outlen += sizeof(ARMOR_BEGIN);
	}
	if (enc_emit(e, h, len) || enc_emit(e, nonce, sizeof(nonce)))
		goto cleanup;
	rc = 0;
	goto cleanup;
toolong:
	warn0("age header too long");
cleanup:
	crypto_wipe(body, sizeof(body));
	crypto_secure_free(filekey, FILE_KEY_LEN);
	crypto_secure_free(eph, 32);
	crypto_secure_free(shared, 32);
	crypto_secure_free(key, 32);
	crypto_secure_free(wsalt, 64);
	free(h);
	return (rc);
}

/* The encryptor, its header emitted; with_pt: a pending-plaintext
 * buffer for age_encrypt_write (none for age_encrypt_secret). */
static struct age_encryptor *
enc_new(const struct age_recipients *r, int armor, age_write_fn *fn,
    void *cookie, int with_pt)
{
	struct age_encryptor *e;

	if (age_recipients_count(r) == 0) {
		warn0("no recipients to encrypt to");
		return (NULL);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (with_pt && (e->pt = malloc(CHUNK)) == NULL) ||
	    (e->out = malloc(OUTBUF)) == NULL ||
	    (armor && (e->ct = malloc(CHUNK_CT)) == NULL)) {
		warnp("cannot allocate encryption buffers");
		goto fail;
	}
	e->write = fn;
	e->cookie = cookie;
	e->armor = armor;
	if (enc_header(e, r))
		goto fail;
	return (e);
fail:
	age_encrypt_free(e);
	return (NULL);
}

struct age_encryptor *
age_encrypt_new(const struct age_recipients *r, int armor, age_write_fn *fn,
    void *cookie)
{

	return (enc_new(r, armor, fn, cookie, 1));
}

int
age_encrypt_write(struct age_encryptor *e, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t n;

	if (e->failed || e->finished || e->pt == NULL) {
		warn0("age encryption already %s", e->failed ? "failed" :
		    "finished");
		return (-1);
	}
	while (len > 0) {
		/* A full pending chunk is not the last: more data came. */
		if (e->ptlen == CHUNK) {
			if (enc_chunk(e, e->pt, CHUNK, 0))
				return (-1);
			e->ptlen = 0;
		}
		/* Seal whole chunks from the caller's buffer, keeping back
		 * the tail, which may be the last chunk. */
		if (e->ptlen == 0 && len > CHUNK) {
			if (enc_chunk(e, p, CHUNK, 0))
				return (-1);
			p += CHUNK;
			len -= CHUNK;
			continue;
		}
		n = CHUNK - e->ptlen < len ? CHUNK - e->ptlen : len;
		memcpy(e->pt + e->ptlen, p, n);
		e->ptlen += n;
		p += n;
		len -= n;
	}
	return (0);
}

/* Seal the final chunk (len bytes at p), close the armor, flush. */
static int
enc_finish(struct age_encryptor *e, const uint8_t *p, size_t len)
{

	if (e->failed || e->finished) {
		warn0("age encryption already %s", e->failed ? "failed" :
		    "finished");
		return (-1);
	}
	if (enc_chunk(e, p, len, 1))
		return (-1);
	if (e->armor) {
		if (e->carrylen > 0 && armor_line(e, e->carry, e->carrylen))
			return (-1);
		e->carrylen = 0;
		if (enc_room(e, sizeof(ARMOR_END)))
			return (-1);
		memcpy(e->out + e->outlen, ARMOR_END "\n", sizeof(ARMOR_END));
		e->outlen += sizeof(ARMOR_END);
	}
	if (enc_flush(e))
		return (-1);
	e->finished = 1;
	return (0);
}

int
age_encrypt_finish(struct age_encryptor *e)
{
	int rc;

	if (e->pt == NULL) {
		warn0("age encryption already finished");
		return (-1);
	}
	rc = enc_finish(e, e->pt, e->ptlen);
	crypto_wipe(e->pt, e->ptlen);
	e->ptlen = 0;
	return (rc);
}

int
age_encrypt_secret(const struct age_recipients *r, int armor,
    const void *buf, size_t len, age_write_fn *fn, void *cookie,
    uint64_t *hdrlen)
{
	struct age_encryptor *e;
	int rc = -1;

	if (len > CHUNK) {
		warn0("secret too large to encrypt in one chunk: %zu bytes "
		    "(at most %d)", len, CHUNK);
		return (-1);
	}
	if ((e = enc_new(r, armor, fn, cookie, 0)) == NULL)
		goto cleanup;
	/* Sealed straight from buf: no plaintext copy is made. */
	if (enc_finish(e, buf, len))
		goto cleanup;
	if (hdrlen != NULL)
		*hdrlen = e->header_len;
	rc = 0;
cleanup:
	age_encrypt_free(e);
	return (rc);
}

uint64_t
age_encrypt_header_len(const struct age_encryptor *e)
{

	return (e->header_len);
}

void
age_encrypt_free(struct age_encryptor *e)
{

	if (e == NULL)
		return;
	crypto_aead_free(e->aead);
	if (e->pt != NULL)
		crypto_wipe(e->pt, CHUNK);
	free(e->pt);
	free(e->out);
	free(e->ct);
	crypto_wipe(e->carry, sizeof(e->carry));
	free(e);
}

/* -------------------------------------------------- file descriptors */

int
age_fd_write(void *cookie, const void *buf, size_t len)
{
	int fd = *(int *)cookie;

	if (util_write_all(fd, buf, len)) {
		warnp("write error");
		return (-1);
	}
	return (0);
}

int
age_encrypt_fd(const struct age_recipients *r, int armor, int in, int out)
{
	struct age_encryptor *e = NULL;
	uint8_t *buf = NULL;
	ssize_t n;
	int rc = -1;

	if ((buf = malloc(OUTBUF)) == NULL) {
		warnp("malloc");
		return (-1);
	}
	if ((e = age_encrypt_new(r, armor, age_fd_write, &out)) == NULL)
		goto cleanup;
	while ((n = util_read_all(in, buf, OUTBUF)) > 0)
		if (age_encrypt_write(e, buf, (size_t)n))
			goto cleanup;
	if (n < 0) {
		warnp("read error");
		goto cleanup;
	}
	if (age_encrypt_finish(e))
		goto cleanup;
	rc = 0;
cleanup:
	age_encrypt_free(e);
	free(buf);
	return (rc);
}
