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
#include "base64.h"
#include "bech32.h"
#include "crypto.h"
#include "util.h"
#include "warnp.h"

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

const char *
age_strerror(enum age_error e)
{

	switch (e) {
	case AGE_OK:
		return ("success");
	case AGE_ERR_IO:
		return ("input/output error");
	case AGE_ERR_NO_MATCH:
		return ("no identity matches");
	case AGE_ERR_HEADER:
		return ("malformed age header");
	case AGE_ERR_HMAC:
		return ("age header mac mismatch");
	case AGE_ERR_PAYLOAD:
		return ("age payload damaged");
	case AGE_ERR_ARMOR:
		return ("malformed age armor");
	case AGE_ERR_UNSUPPORTED:
		return ("unsupported recipient type");
	case AGE_ERR_NOMEM:
		return ("out of memory");
	}
	return ("unknown age error");
}

/* ---------------------------------------------------------------- keys */

int
age_keygen(char *identity, char recipient[AGE_RECIPIENT_MAX])
{
	uint8_t *sk;
	uint8_t pk[32];
	int rc = -1;

	if ((sk = crypto_secure_alloc(32)) == NULL)
		return (-1);
	if (crypto_random(sk, 32) || crypto_x25519(pk, sk, NULL))
		goto cleanup;
	if (bech32_encode(identity, AGE_IDENTITY_MAX, "AGE-SECRET-KEY-", sk,
	    32) || bech32_encode(recipient, AGE_RECIPIENT_MAX, "age", pk, 32)) {
		warn0("cannot encode age key");
		goto cleanup;
	}
	rc = 0;
cleanup:
	crypto_secure_free(sk, 32);
	return (rc);
}

/* Parse an X25519 identity into sk (secure, 32 bytes): 0, 1 if it is a
 * post-quantum or plugin identity, -1 if malformed.  No message. */
static int
parse_identity(const char *s, uint8_t *sk)
{
	char hrp[32];
	size_t len;

	if (strncmp(s, "AGE-SECRET-KEY-PQ-1", 19) == 0 ||
	    strncmp(s, "AGE-PLUGIN-", 11) == 0)
		return (1);
	if (strlen(s) > AGE_IDENTITY_MAX ||
	    bech32_decode(s, hrp, sizeof(hrp), sk, 32, &len) != 0 ||
	    strcmp(hrp, "AGE-SECRET-KEY-") != 0 || len != 32) {
		crypto_wipe(sk, 32);
		return (-1);
	}
	return (0);
}

int
age_identity_to_recipient(const char *identity,
    char recipient[AGE_RECIPIENT_MAX])
{
	uint8_t *sk;
	uint8_t pk[32];
	int rc = -1, r;

	if ((sk = crypto_secure_alloc(32)) == NULL)
		return (-1);
	if ((r = parse_identity(identity, sk)) != 0) {
		warn0(r > 0 ? "unsupported identity type" :
		    "malformed age identity");
		goto cleanup;
	}
	if (crypto_x25519(pk, sk, NULL) ||
	    bech32_encode(recipient, AGE_RECIPIENT_MAX, "age", pk, 32)) {
		warn0("cannot derive age recipient");
		goto cleanup;
	}
	rc = 0;
cleanup:
	crypto_secure_free(sk, 32);
	return (rc);
}

/* Parse "age1..." into pk: 0, 1 if another (unsupported) type, -1. */
static int
parse_recipient(const char *s, uint8_t pk[32])
{
	char hrp[AGE_RECIPIENT_MAX];
	uint8_t data[AGE_RECIPIENT_MAX];
	size_t len;

	if (strncmp(s, "ssh-", 4) == 0)
		return (1);
	if (strlen(s) >= 4096)
		return (-1);
	if (bech32_decode(s, hrp, sizeof(hrp), data, sizeof(data), &len) != 0) {
		/* Long post-quantum recipients overflow data: still say so. */
		if (strncmp(s, "age1pq1", 7) == 0)
			return (1);
		return (-1);
	}
	if (strcmp(hrp, "age") != 0)
		return (strncmp(hrp, "age1", 4) == 0 ? 1 : -1);
	if (len != 32)
		return (-1);
	memcpy(pk, data, 32);
	return (0);
}

int
age_recipient_valid(const char *s)
{
	uint8_t pk[32];

	return (parse_recipient(s, pk) == 0);
}

/* ---------------------------------------------------------- recipients */

struct age_recipients {
	uint8_t (*keys)[32];
	size_t n, cap;
	char *pass;		/* secure; NULL unless a passphrase recipient */
	size_t passlen;
	int logn;
};

struct age_recipients *
age_recipients_new(void)
{
	struct age_recipients *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		warnp("calloc");
	return (r);
}

/* Whether s looks like an identity (a secret): never echo it. */
static int
looks_secret(const char *s)
{

	while (isspace((unsigned char)*s))
		s++;
	return (strncasecmp(s, "AGE-SECRET-KEY-", 15) == 0 ||
	    strncasecmp(s, "AGE-PLUGIN-", 11) == 0);
}

/* Append the X25519 public key pk to r. */
static int
recipients_push(struct age_recipients *r, const uint8_t pk[32])
{
	void *p;

	if (r->n == r->cap) {
		if ((p = reallocarray(r->keys, r->cap * 2 + 4, 32)) == NULL) {
			warnp("realloc");
			return (-1);
		}
		r->keys = p;
		r->cap = r->cap * 2 + 4;
	}
	memcpy(r->keys[r->n++], pk, 32);
	return (0);
}

int
age_recipients_add(struct age_recipients *r, const char *s)
{
	uint8_t pk[32];
	int e;

	if (r->pass != NULL) {
		warn0("a passphrase must be the only recipient");
		return (-1);
	}
	/* s comes from the command line, so echoing it shows nothing new,
	 * except a secret key given by mistake: never repeat one. */
	if (looks_secret(s)) {
		warn0("a secret key (identity) was given, not a recipient");
		return (-1);
	}
	if ((e = parse_recipient(s, pk)) != 0) {
		if (e > 0)
			warn0("unsupported recipient type '%.40s'", s);
		else
			warn0("malformed age recipient '%.100s'", s);
		return (-1);
	}
	return (recipients_push(r, pk));
}

int
age_recipients_add_passphrase(struct age_recipients *r, const char *pass,
    size_t len, int logn)
{

	if (r->n > 0 || r->pass != NULL) {
		warn0("a passphrase must be the only recipient");
		return (-1);
	}
	if (logn <= 0)
		logn = SCRYPT_DEFAULT_LOGN;
	if (logn > SCRYPT_MAX_LOGN) {
		warn0("scrypt work factor %d too large (at most %d)", logn,
		    SCRYPT_MAX_LOGN);
		return (-1);
	}
	if (len == 0) {
		warn0("empty passphrase");
		return (-1);
	}
	if ((r->pass = crypto_secure_alloc(len)) == NULL)
		return (-1);
	memcpy(r->pass, pass, len);
	r->passlen = len;
	r->logn = logn;
	return (0);
}

/* Strip trailing whitespace (and CR) in place. */
static void
rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

int
age_recipients_load_file(struct age_recipients *r, const char *path)
{
	char *text = NULL, *line, *next;
	uint8_t pk[32];
	size_t len = 0;
	unsigned lineno = 0, added = 0;
	int rc = -1, e;

	if (util_read_file(path, &text, &len, 16 * 1024 * 1024))
		return (-1);
	if (memchr(text, '\0', len) != NULL) {
		warn0("recipients file '%s' is not text", path);
		goto cleanup;
	}
	for (line = text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		rstrip(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		/* Never echo a line of the file: it may hold a secret (an
		 * identity file given by mistake), as age says too. */
		if (r->pass != NULL) {
			warn0("a passphrase must be the only recipient");
			goto cleanup;
		}
		if (looks_secret(line)) {
			warn0("recipients file '%s', line %u is a secret key "
			    "(identity), not a recipient", path, lineno);
			goto cleanup;
		}
		if ((e = parse_recipient(line, pk)) != 0) {
			warn0("%s recipient in '%s', line %u", e > 0 ?
			    "unsupported" : "malformed", path, lineno);
			goto cleanup;
		}
		if (recipients_push(r, pk) != 0)
			goto cleanup;
		added++;
	}
	if (added == 0) {
		warn0("no recipients in '%s'", path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	/* A mistaken identity file: leave no copy of it behind. */
	if (text != NULL)
		crypto_wipe(text, len);
	free(text);
	return (rc);
}

size_t
age_recipients_count(const struct age_recipients *r)
{

	return (r->n + (r->pass != NULL));
}

void
age_recipients_free(struct age_recipients *r)
{

	if (r == NULL)
		return;
	crypto_secure_free(r->pass, r->passlen);
	free(r->keys);
	free(r);
}

/* ---------------------------------------------------------- identities */

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

struct age_identities *
age_identities_new(void)
{
	struct age_identities *ids;

	if ((ids = calloc(1, sizeof(*ids))) == NULL)
		warnp("calloc");
	return (ids);
}

static struct age_identity *
identities_grow(struct age_identities *ids)
{
	void *p;

	if (ids->n == ids->cap) {
		p = reallocarray(ids->v, ids->cap * 2 + 4, sizeof(*ids->v));
		if (p == NULL) {
			warnp("realloc");
			return (NULL);
		}
		ids->v = p;
		ids->cap = ids->cap * 2 + 4;
	}
	memset(&ids->v[ids->n], 0, sizeof(ids->v[0]));
	return (&ids->v[ids->n]);
}

int
age_identities_add(struct age_identities *ids, const char *s)
{
	struct age_identity *id;
	uint8_t *sk;
	int r;

	if ((sk = crypto_secure_alloc(32)) == NULL)
		return (-1);
	if ((r = parse_identity(s, sk)) != 0) {
		crypto_secure_free(sk, 32);
		if (r > 0) {
			warn0("unsupported recipient type: post-quantum and "
			    "plugin identities are not supported");
			return (AGE_ERR_UNSUPPORTED);
		}
		warn0("malformed age identity");
		return (-1);
	}
	if ((id = identities_grow(ids)) == NULL ||
	    crypto_x25519(id->pk, sk, NULL)) {
		crypto_secure_free(sk, 32);
		return (-1);
	}
	id->sk = sk;
	ids->n++;
	return (0);
}

int
age_identities_add_passphrase(struct age_identities *ids, const char *pass,
    size_t len)
{
	struct age_identity *id;
	char *p;

	if ((p = crypto_secure_alloc(len)) == NULL)
		return (-1);
	if ((id = identities_grow(ids)) == NULL) {
		crypto_secure_free(p, len);
		return (-1);
	}
	memcpy(p, pass, len);
	id->pass = p;
	id->passlen = len;
	ids->n++;
	return (0);
}

void
age_identities_free(struct age_identities *ids)
{
	size_t i;

	if (ids == NULL)
		return;
	for (i = 0; i < ids->n; i++) {
		crypto_secure_free(ids->v[i].sk, 32);
		crypto_secure_free(ids->v[i].pass, ids->v[i].passlen);
	}
	free(ids->v);
	free(ids);
}

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

static void
stream_nonce(uint8_t nonce[12], uint64_t counter, int last)
{
	int i;

	memset(nonce, 0, 12);
	for (i = 0; i < 8; i++)
		nonce[10 - i] = (uint8_t)(counter >> (8 * i));
	nonce[11] = last ? 1 : 0;
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
	stream_nonce(nonce, e->counter, last);
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

/* -------------------------------------------------------------- input */

enum armor_state { ARM_NONE, ARM_START, ARM_BODY, ARM_FOOTER, ARM_DONE };

struct stanza {
	char *line;		/* "-> type args" split at spaces */
	char **args;		/* args[0] is the type */
	size_t nargs;
	uint8_t *body;
	size_t bodylen;
};

struct age_decryptor {
	age_read_fn *rd;
	void *cookie;
	/* Bytes of the age file (decoded from armor if armored). */
	uint8_t *buf;
	size_t pos, len;
	int eof;
	enum age_error src_err;	/* sticky input failure (IO or ARMOR) */
	/* Raw input when armored. */
	enum armor_state arm;
	uint8_t *raw;
	size_t rawpos, rawlen;
	int raweof;
	size_t wsleft;
	/* Header. */
	uint8_t *hdr;
	size_t hdrlen, hdrcap, maclen;
	uint8_t mac[32];
	struct stanza *st;
	size_t nst;
	uint64_t header_len;
	/* Payload. */
	struct crypto_aead *aead;
	uint64_t counter;
	uint8_t *pt;
	size_t ptpos, ptlen;
	int last;		/* the final chunk was read */
	int done;		/* ... and nothing follows */
	int direct_only;	/* never decrypt into pt (secure callers) */
	enum age_error err, pending;
};

static int
raw_read(struct age_decryptor *d, uint8_t *dst, size_t len, size_t *got)
{
	ssize_t r;

	r = d->rd(d->cookie, dst, len);
	if (r < 0) {
		d->src_err = AGE_ERR_IO;
		return (-1);
	}
	*got = (size_t)r;
	return (0);
}

static void
armor_fail(struct age_decryptor *d, const char *what)
{

	warn0("age armor: %s", what);
	d->src_err = AGE_ERR_ARMOR;
}

/*
 * The next raw line when armored, without "\n" and one "\r": 1 and the
 * line, 0 at the end of input, -1 on error.
 */
static int
raw_line(struct age_decryptor *d, char **linep, size_t *lenp)
{
	uint8_t *nl;
	size_t avail, got, scanned = 0;

	for (;;) {
		avail = d->rawlen - d->rawpos;
		nl = memchr(d->raw + d->rawpos + scanned, '\n',
		    avail - scanned);
		if (nl != NULL || d->raweof) {
			if (nl == NULL && avail == 0)
				return (0);
			*linep = (char *)d->raw + d->rawpos;
			*lenp = nl != NULL ? (size_t)(nl - (d->raw + d->rawpos))
			    : avail;
			d->rawpos += *lenp + (nl != NULL);
			if (*lenp > 0 && (*linep)[*lenp - 1] == '\r')
				(*lenp)--;
			return (1);
		}
		scanned = avail;
		if (avail > ARMOR_LINE_MAX) {
			armor_fail(d, "line too long");
			return (-1);
		}
		if (d->rawpos > 0) {
			memmove(d->raw, d->raw + d->rawpos, avail);
			d->rawpos = 0;
			d->rawlen = avail;
		}
		if (raw_read(d, d->raw + d->rawlen, INBUF - d->rawlen, &got))
			return (-1);
		if (got == 0)
			d->raweof = 1;
		d->rawlen += got;
	}
}

static int
all_space(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)p[i]))
			return (0);
	return (1);
}

/* After the END line: only a little whitespace may follow. */
static void
armor_drain(struct age_decryptor *d)
{
	size_t total = 0, avail, got;

	for (;;) {
		avail = d->rawlen - d->rawpos;
		if (!all_space((char *)d->raw + d->rawpos, avail)) {
			armor_fail(d, "trailing data after armored file");
			return;
		}
		total += avail;
		d->rawpos = d->rawlen = 0;
		if (total >= ARMOR_WS_MAX) {
			armor_fail(d, "too much trailing whitespace");
			return;
		}
		if (d->raweof)
			break;
		if (raw_read(d, d->raw, INBUF, &got))
			return;
		if (got == 0)
			d->raweof = 1;
		d->rawlen = got;
	}
	d->arm = ARM_DONE;
}

/* Decode one more armored line into buf (which has room for 48). */
static void
armor_step(struct age_decryptor *d)
{
	char *line;
	size_t n, outlen;
	int r;

	if ((r = raw_line(d, &line, &n)) < 0)
		return;
	if (r == 0) {
		armor_fail(d, "unexpected end of armored file");
		return;
	}
	switch (d->arm) {
	case ARM_START:
		if (all_space(line, n)) {
			if (n + 1 > d->wsleft) {
				armor_fail(d, "too much leading whitespace");
				return;
			}
			d->wsleft -= n + 1;
			return;
		}
		if (n != sizeof(ARMOR_BEGIN) - 1 ||
		    memcmp(line, ARMOR_BEGIN, n) != 0) {
			armor_fail(d, "invalid first line");
			return;
		}
		d->arm = ARM_BODY;
		return;
	case ARM_BODY:
		if (n == sizeof(ARMOR_END) - 1 &&
		    memcmp(line, ARMOR_END, n) == 0) {
			armor_drain(d);
			return;
		}
		if (n == 0) {
			armor_fail(d, "empty line in armored data");
			return;
		}
		if (n > 64) {
			armor_fail(d, "line longer than 64 columns");
			return;
		}
		if (base64_decode(d->buf + d->len, &outlen, line, n, 1)) {
			armor_fail(d, "invalid base64 line");
			return;
		}
		d->len += outlen;
		if (outlen < 48)
			d->arm = ARM_FOOTER;
		return;
	case ARM_FOOTER:
		if (n != sizeof(ARMOR_END) - 1 ||
		    memcmp(line, ARMOR_END, n) != 0) {
			armor_fail(d, "invalid closing line");
			return;
		}
		armor_drain(d);
		return;
	default:
		return;
	}
}

/*
 * Make at least need bytes available at buf + pos if the input has them;
 * returns how many are available.  Fewer means the end of the input, or
 * d->src_err.
 */
static size_t
src_fill(struct age_decryptor *d, size_t need)
{
	size_t avail = d->len - d->pos, got;

	if (avail >= need || d->src_err != AGE_OK)
		return (avail);
	if (d->pos + need + 64 > INBUF) {
		memmove(d->buf, d->buf + d->pos, avail);
		d->pos = 0;
		d->len = avail;
	}
	while (d->len - d->pos < need && d->src_err == AGE_OK && !d->eof) {
		if (d->arm == ARM_NONE) {
			if (raw_read(d, d->buf + d->len, INBUF - d->len, &got))
				break;
			if (got == 0)
				d->eof = 1;
			d->len += got;
		} else if (d->arm == ARM_DONE)
			d->eof = 1;
		else
			armor_step(d);
	}
	return (d->len - d->pos);
}

static void
hdr_fail(struct age_decryptor *d, const char *what)
{

	warn0("age header: %s", what);
	d->err = AGE_ERR_HEADER;
}

/*
 * The next header line (with its "\n") appended to d->hdr: returns its
 * offset there, or -1 (d->err set).
 */
static ssize_t
hdr_line(struct age_decryptor *d, size_t *lenp)
{
	uint8_t *nl;
	size_t avail, scanned = 0, n, off;
	void *p;

	for (;;) {
		avail = d->len - d->pos;
		nl = memchr(d->buf + d->pos + scanned, '\n', avail - scanned);
		if (nl != NULL)
			break;
		scanned = avail;
		if (avail > HDR_LINE_MAX) {
			hdr_fail(d, "line too long");
			return (-1);
		}
		if (src_fill(d, avail + 1) <= avail) {
			if (d->src_err != AGE_OK)
				d->err = d->src_err;
			else
				hdr_fail(d, avail == 0 && d->hdrlen == 0 ?
				    "empty file" : "truncated");
			return (-1);
		}
	}
	n = (size_t)(nl - (d->buf + d->pos)) + 1;
	if (n > HDR_LINE_MAX) {
		hdr_fail(d, "line too long");
		return (-1);
	}
	if (d->hdrlen + n > HDR_MAX) {
		hdr_fail(d, "too large");
		return (-1);
	}
	if (d->hdrlen + n + 1 > d->hdrcap) {
		if ((p = realloc(d->hdr, d->hdrcap * 2 + n + 4096)) == NULL) {
			warnp("realloc");
			d->err = AGE_ERR_NOMEM;
			return (-1);
		}
		d->hdr = p;
		d->hdrcap = d->hdrcap * 2 + n + 4096;
	}
	off = d->hdrlen;
	memcpy(d->hdr + off, d->buf + d->pos, n);
	d->hdrlen += n;
	d->hdr[d->hdrlen] = '\0';
	d->pos += n;
	*lenp = n;
	return ((ssize_t)off);
}

/* Strict unpadded base64 with no CR or LF: 0 and the length, or -1. */
static int
b64_arg(const char *s, size_t len, uint8_t *out, size_t outmax,
    size_t *outlen)
{
	uint8_t tmp[256];

	if (len > base64_encoded_len(sizeof(tmp), 0))
		return (-1);
	if (base64_decode(tmp, outlen, s, len, 0) || *outlen > outmax) {
		crypto_wipe(tmp, sizeof(tmp));
		return (-1);
	}
	memcpy(out, tmp, *outlen);
	crypto_wipe(tmp, sizeof(tmp));
	return (0);
}

static int
valid_arg(const char *s)
{

	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (*s < 33 || *s > 126)
			return (0);
	return (1);
}

/* Parse a "-> " line at hdr + off (len with "\n") into a new stanza. */
static int
parse_stanza_line(struct age_decryptor *d, size_t off, size_t len)
{
	struct stanza *s;
	char *p, *q;
	size_t n, i;
	void *v;

	if (d->nst >= HDR_STANZAS_MAX) {
		hdr_fail(d, "too many stanzas");
		return (-1);
	}
	if ((v = reallocarray(d->st, d->nst + 1, sizeof(*d->st))) == NULL) {
		warnp("realloc");
		d->err = AGE_ERR_NOMEM;
		return (-1);
	}
	d->st = v;
	s = &d->st[d->nst];
	memset(s, 0, sizeof(*s));
	if ((s->line = malloc(len)) == NULL) {
		warnp("malloc");
		d->err = AGE_ERR_NOMEM;
		return (-1);
	}
	d->nst++;
	memcpy(s->line, d->hdr + off, len - 1);
	s->line[len - 1] = '\0';
	if (memchr(s->line, '\0', len - 1) != NULL) {
		hdr_fail(d, "malformed stanza");
		return (-1);
	}
	for (n = 1, p = s->line; (p = strchr(p, ' ')) != NULL; p++)
		n++;
	if ((s->args = calloc(n, sizeof(char *))) == NULL) {
		warnp("calloc");
		d->err = AGE_ERR_NOMEM;
		return (-1);
	}
	/* Split at every space, as the reference does: "-> a  b" has an
	 * empty argument, which is invalid. */
	p = s->line;
	for (i = 0; i < n; i++) {
		q = strchr(p, ' ');
		if (q != NULL)
			*q = '\0';
		if (i == 0) {
			if (strcmp(p, "->") != 0) {
				hdr_fail(d, "malformed stanza");
				return (-1);
			}
		} else {
			if (!valid_arg(p)) {
				hdr_fail(d, "malformed stanza argument");
				return (-1);
			}
			s->args[s->nargs++] = p;
		}
		p = q != NULL ? q + 1 : p;
	}
	if (s->nargs < 1) {
		hdr_fail(d, "stanza without a type");
		return (-1);
	}
	return (0);
}

/* Read the body lines of the last stanza. */
static int
parse_stanza_body(struct age_decryptor *d)
{
	struct stanza *s = &d->st[d->nst - 1];
	uint8_t line[48];
	ssize_t off;
	size_t len, n;
	void *v;

	for (;;) {
		if ((off = hdr_line(d, &len)) < 0)
			return (-1);
		if (len - 1 > 64 || memchr(d->hdr + off, '\r', len) != NULL ||
		    base64_decode(line, &n, (char *)d->hdr + off, len - 1,
		    0) != 0) {
			hdr_fail(d, "malformed stanza body");
			return (-1);
		}
		if (s->bodylen + n > HDR_MAX) {
			hdr_fail(d, "stanza body too large");
			return (-1);
		}
		if ((v = realloc(s->body, s->bodylen + n + 1)) == NULL) {
			warnp("realloc");
			d->err = AGE_ERR_NOMEM;
			return (-1);
		}
		s->body = v;
		memcpy(s->body + s->bodylen, line, n);
		s->bodylen += n;
		if (n < 48)
			return (0);
	}
}

static int
parse_header(struct age_decryptor *d)
{
	ssize_t off;
	size_t len, n;
	char *l;

	if ((off = hdr_line(d, &len)) < 0)
		return (-1);
	if (len != sizeof(INTRO) - 1 || memcmp(d->hdr, INTRO, len) != 0) {
		hdr_fail(d, "not an age v1 file (unknown first line)");
		return (-1);
	}
	for (;;) {
		if ((off = hdr_line(d, &len)) < 0)
			return (-1);
		l = (char *)d->hdr + off;
		if (len >= 4 && memcmp(l, "---", 3) == 0) {
			/* "--- " MAC "\n", one argument exactly. */
			if (l[3] != ' ' || memchr(l + 4, ' ', len - 5) ||
			    memchr(l, '\r', len) ||
			    b64_arg(l + 4, len - 5, d->mac, 32, &n) ||
			    n != 32) {
				hdr_fail(d, "malformed mac line");
				return (-1);
			}
			d->maclen = (size_t)off + 3;
			break;
		} else if (len >= 3 && memcmp(l, "->", 2) == 0) {
			if (parse_stanza_line(d, (size_t)off, len) ||
			    parse_stanza_body(d))
				return (-1);
		} else {
			hdr_fail(d, len >= 3 && memcmp(l, "---", 3) == 0 ?
			    "malformed mac line" : "unexpected line");
			return (-1);
		}
	}
	d->header_len = d->hdrlen;
	return (0);
}

/* Unwrap a 32-byte stanza body with key: 0, 1 if the tag fails, -1 if
 * the body has the wrong size. */
static int
unwrap_body(const uint8_t *key, const struct stanza *s, uint8_t *filekey)
{
	static const uint8_t zero_nonce[12];
	struct crypto_aead *a;
	int r;

	if (s->bodylen != FILE_KEY_LEN + CRYPTO_AEAD_TAG_LEN)
		return (-1);
	if ((a = crypto_aead_new(key)) == NULL)
		return (-1);
	r = crypto_aead_open(a, zero_nonce, s->body, s->bodylen, filekey);
	crypto_aead_free(a);
	return (r == 0 ? 0 : 1);
}

/* An X25519 stanza against one identity: 0 file key, 1 not ours, -1. */
static int
unwrap_x25519(struct age_decryptor *d, const struct age_identity *id,
    const struct stanza *s, uint8_t *filekey, uint8_t *shared, uint8_t *key)
{
	uint8_t share[32], salt[64];
	size_t n;
	int r;

	if (s->nargs != 2) {
		hdr_fail(d, "X25519 stanza with wrong arguments");
		return (-1);
	}
	if (b64_arg(s->args[1], strlen(s->args[1]), share, 32, &n) ||
	    n != 32) {
		hdr_fail(d, "X25519 stanza with a malformed share");
		return (-1);
	}
	if (crypto_x25519(shared, id->sk, share)) {
		hdr_fail(d, "X25519 stanza with a low-order share");
		return (-1);
	}
	memcpy(salt, share, 32);
	memcpy(salt + 32, id->pk, 32);
	if (crypto_hkdf_sha256(shared, 32, salt, 64, X25519_LABEL,
	    sizeof(X25519_LABEL) - 1, key, 32)) {
		d->err = AGE_ERR_NOMEM;
		return (-1);
	}
	if ((r = unwrap_body(key, s, filekey)) < 0) {
		hdr_fail(d, "X25519 stanza with a wrong-size body");
		return (-1);
	}
	return (r);
}

/* A scrypt stanza against a passphrase: 0 file key, 1 not ours, -1. */
static int
unwrap_scrypt(struct age_decryptor *d, const struct age_identity *id,
    const struct stanza *s, uint8_t *filekey, uint8_t *key)
{
	uint8_t salt[sizeof(SCRYPT_LABEL) - 1 + SCRYPT_SALT_LEN];
	const char *w;
	size_t n;
	int logn = 0, r;

	/* args has nargs + 1 slots: no argument is read before this. */
	if (s->nargs != 3) {
		hdr_fail(d, "scrypt stanza with wrong arguments");
		return (-1);
	}
	w = s->args[2];
	memcpy(salt, SCRYPT_LABEL, sizeof(SCRYPT_LABEL) - 1);
	if (b64_arg(s->args[1], strlen(s->args[1]),
	    salt + sizeof(SCRYPT_LABEL) - 1, SCRYPT_SALT_LEN, &n) ||
	    n != SCRYPT_SALT_LEN) {
		hdr_fail(d, "scrypt stanza with a malformed salt");
		return (-1);
	}
	/* Decimal, no sign, no leading zero, 1..22. */
	if (w[0] < '1' || w[0] > '9' || strlen(w) > 2 ||
	    (w[1] != '\0' && (w[1] < '0' || w[1] > '9'))) {
		hdr_fail(d, "scrypt stanza with a malformed work factor");
		return (-1);
	}
	logn = atoi(w);
	if (logn > SCRYPT_MAX_LOGN) {
		hdr_fail(d, "scrypt work factor too large");
		return (-1);
	}
	if (s->bodylen != FILE_KEY_LEN + CRYPTO_AEAD_TAG_LEN) {
		hdr_fail(d, "scrypt stanza with a wrong-size body");
		return (-1);
	}
	if (crypto_scrypt(id->pass, id->passlen, salt, sizeof(salt), logn,
	    key, 32)) {
		d->err = AGE_ERR_NOMEM;
		return (-1);
	}
	if ((r = unwrap_body(key, s, filekey)) < 0) {
		hdr_fail(d, "scrypt stanza with a wrong-size body");
		return (-1);
	}
	return (r);
}

/* Find the file key; check the MAC; read the nonce; key the stream. */
static int
dec_unwrap(struct age_decryptor *d, const struct age_identities *ids)
{
	uint8_t *filekey = NULL, *shared = NULL, *key = NULL;
	uint8_t nonce[STREAM_NONCE_LEN];
	size_t i, j;
	int found = 0, r, pq = 0, scrypt = 0;
	int rc = -1;

	if ((filekey = crypto_secure_alloc(FILE_KEY_LEN)) == NULL ||
	    (shared = crypto_secure_alloc(32)) == NULL ||
	    (key = crypto_secure_alloc(32)) == NULL) {
		d->err = AGE_ERR_NOMEM;
		goto cleanup;
	}
	for (j = 0; j < d->nst; j++) {
		if (strcmp(d->st[j].args[0], "scrypt") == 0)
			scrypt = 1;
		if (strcmp(d->st[j].args[0], "mlkem768x25519") == 0)
			pq = 1;
	}
	if (scrypt && d->nst != 1) {
		hdr_fail(d, "a scrypt stanza must be the only one");
		goto cleanup;
	}
	for (i = 0; i < ids->n && !found; i++) {
		for (j = 0; j < d->nst && !found; j++) {
			if (ids->v[i].sk != NULL &&
			    strcmp(d->st[j].args[0], "X25519") == 0)
				r = unwrap_x25519(d, &ids->v[i], &d->st[j],
				    filekey, shared, key);
			else if (ids->v[i].pass != NULL &&
			    strcmp(d->st[j].args[0], "scrypt") == 0)
				r = unwrap_scrypt(d, &ids->v[i], &d->st[j],
				    filekey, key);
			else
				continue;
			if (r < 0)
				goto cleanup;
			found = (r == 0);
		}
	}
	if (!found) {
		if (pq) {
			warn0("unsupported recipient type: the file is "
			    "encrypted to a post-quantum (mlkem768x25519) key");
			d->err = AGE_ERR_UNSUPPORTED;
		} else {
			warn0("no identity matches%s", scrypt ?
			    " (the file is passphrase-encrypted)" : "");
			d->err = AGE_ERR_NO_MATCH;
		}
		goto cleanup;
	}
	if (crypto_hkdf_sha256(filekey, FILE_KEY_LEN, NULL, 0, "header", 6,
	    key, 32)) {
		d->err = AGE_ERR_NOMEM;
		goto cleanup;
	}
	if (crypto_hmac_sha256_verify(key, 32, d->hdr, d->maclen, d->mac)) {
		warn0("age header: mac mismatch");
		d->err = AGE_ERR_HMAC;
		goto cleanup;
	}
	if (src_fill(d, STREAM_NONCE_LEN) < STREAM_NONCE_LEN) {
		if (d->src_err != AGE_OK)
			d->err = d->src_err;
		else
			hdr_fail(d, "truncated before the payload nonce");
		goto cleanup;
	}
	memcpy(nonce, d->buf + d->pos, STREAM_NONCE_LEN);
	d->pos += STREAM_NONCE_LEN;
	if (crypto_hkdf_sha256(filekey, FILE_KEY_LEN, nonce, sizeof(nonce),
	    "payload", 7, key, 32) ||
	    (d->aead = crypto_aead_new(key)) == NULL) {
		d->err = AGE_ERR_NOMEM;
		goto cleanup;
	}
	rc = 0;
cleanup:
	crypto_secure_free(filekey, FILE_KEY_LEN);
	crypto_secure_free(shared, 32);
	crypto_secure_free(key, 32);
	return (rc);
}

static void
stanzas_free(struct age_decryptor *d)
{
	size_t i;

	for (i = 0; i < d->nst; i++) {
		free(d->st[i].line);
		free(d->st[i].args);
		free(d->st[i].body);
	}
	free(d->st);
	d->st = NULL;
	d->nst = 0;
}

/* Decide binary or armored: skip whitespace, look for "-----BEGIN". */
static void
detect_armor(struct age_decryptor *d)
{
	size_t avail, i;

	avail = src_fill(d, 1);
	for (i = 0;; i++) {
		if (i == avail) {
			if (avail > ARMOR_WS_MAX)
				return;
			avail = src_fill(d, avail + 1);
			if (i == avail)
				return;
		}
		if (!isspace(d->buf[d->pos + i]))
			break;
	}
	avail = src_fill(d, i + 10);
	if (avail >= i + 10 && memcmp(d->buf + d->pos + i, "-----BEGIN",
	    10) == 0)
		d->arm = ARM_START;
}

static struct age_decryptor *
dec_open(const struct age_identities *ids, age_read_fn *rd, void *cookie,
    int armor, int direct_only, enum age_error *errp)
{
	struct age_decryptor *d;
	enum age_error e = AGE_ERR_NOMEM;
	uint8_t *t;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->buf = malloc(INBUF)) == NULL) {
		warnp("cannot allocate decryption buffers");
		goto fail;
	}
	d->rd = rd;
	d->cookie = cookie;
	d->direct_only = direct_only;
	d->wsleft = ARMOR_WS_MAX;
	if (armor < 0)
		detect_armor(d);
	else if (armor > 0)
		d->arm = ARM_START;
	if (d->arm != ARM_NONE) {
		/* What was read so far is raw armor text. */
		if ((d->raw = malloc(INBUF)) == NULL) {
			warnp("cannot allocate decryption buffers");
			goto fail;
		}
		t = d->raw;
		d->raw = d->buf;
		d->buf = t;
		d->rawpos = d->pos;
		d->rawlen = d->len;
		d->raweof = d->eof;
		d->pos = d->len = 0;
		d->eof = 0;
	}
	if (parse_header(d)) {
		e = d->err;
		goto fail;
	}
	if (ids->n == 0) {
		warn0("no identities to decrypt with");
		e = AGE_ERR_NO_MATCH;
		goto fail;
	}
	if (dec_unwrap(d, ids)) {
		e = d->err;
		goto fail;
	}
	stanzas_free(d);
	*errp = AGE_OK;
	return (d);
fail:
	*errp = e;
	age_decrypt_free(d);
	return (NULL);
}

struct age_decryptor *
age_decrypt_open(const struct age_identities *ids, age_read_fn *rd,
    void *cookie, enum age_error *errp)
{
	enum age_error e;
	struct age_decryptor *d;

	d = dec_open(ids, rd, cookie, -1, 0, &e);
	if (errp != NULL)
		*errp = e;
	return (d);
}

struct age_decryptor *
age_decrypt_open_secure(const struct age_identities *ids, age_read_fn *rd,
    void *cookie, enum age_error *errp)
{
	enum age_error e;
	struct age_decryptor *d;

	d = dec_open(ids, rd, cookie, -1, 1, &e);
	if (errp != NULL)
		*errp = e;
	return (d);
}

struct age_decryptor *
age_decrypt_open_armor(const struct age_identities *ids, age_read_fn *rd,
    void *cookie, int armor, enum age_error *errp)
{
	enum age_error e;
	struct age_decryptor *d;

	d = dec_open(ids, rd, cookie, armor, 0, &e);
	if (errp != NULL)
		*errp = e;
	return (d);
}

static void
payload_fail(struct age_decryptor *d, const char *what)
{

	warn0("age payload: %s", what);
	d->err = AGE_ERR_PAYLOAD;
}

/*
 * Decrypt the next chunk into out (room: outlen): returns its plaintext
 * length, or -1 (d->err set).  Sets d->last after the final chunk and
 * d->pending if data follows it.
 */
static ssize_t
dec_chunk(struct age_decryptor *d, uint8_t *out, size_t outlen)
{
	uint8_t nonce[12];
	size_t n, plen;
	int last = 0;
	char msg[64];

	n = src_fill(d, CHUNK_CT);
	if (n < CHUNK_CT && d->src_err != AGE_OK) {
		d->err = d->src_err;
		return (-1);
	}
	if (n == 0) {
		payload_fail(d, d->counter == 0 ? "no chunks" :
		    "truncated (no final chunk)");
		return (-1);
	}
	if (n > CHUNK_CT)
		n = CHUNK_CT;
	if (n < CHUNK_CT) {
		last = 1;
		if (n == CRYPTO_AEAD_TAG_LEN && d->counter != 0) {
			payload_fail(d, "empty final chunk");
			return (-1);
		}
		if (n < CRYPTO_AEAD_TAG_LEN) {
			payload_fail(d, "truncated chunk");
			return (-1);
		}
	}
	plen = n - CRYPTO_AEAD_TAG_LEN;
	if (plen > outlen) {
		d->err = AGE_ERR_PAYLOAD;
		return (-1);
	}
	stream_nonce(nonce, d->counter, last);
	if (crypto_aead_open(d->aead, nonce, d->buf + d->pos, n, out) != 0) {
		if (last) {
			snprintf(msg, sizeof(msg), "damaged at chunk %llu",
			    (unsigned long long)d->counter + 1);
			payload_fail(d, msg);
			return (-1);
		}
		/* A full chunk may be the final one. */
		last = 1;
		stream_nonce(nonce, d->counter, 1);
		if (crypto_aead_open(d->aead, nonce, d->buf + d->pos, n,
		    out) != 0) {
			snprintf(msg, sizeof(msg), "damaged at chunk %llu",
			    (unsigned long long)d->counter + 1);
			payload_fail(d, msg);
			return (-1);
		}
	}
	d->pos += n;
	d->counter++;
	if (last) {
		d->last = 1;
		/* Release this chunk, but fail on whatever follows. */
		if (src_fill(d, 1) > 0) {
			warn0("age payload: trailing data after the final "
			    "chunk");
			d->pending = AGE_ERR_PAYLOAD;
		} else if (d->src_err != AGE_OK)
			d->pending = d->src_err;
		else
			d->done = 1;
	}
	return ((ssize_t)plen);
}

/* The plaintext size of the next chunk, as far as the input tells. */
static size_t
next_plain(struct age_decryptor *d)
{
	size_t n = src_fill(d, CHUNK_CT);

	if (n >= CHUNK_CT)
		return (CHUNK);
	return (n > CRYPTO_AEAD_TAG_LEN ? n - CRYPTO_AEAD_TAG_LEN : 0);
}

ssize_t
age_decrypt_read(struct age_decryptor *d, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0, n;
	ssize_t r;

	while (done < len) {
		if (d->ptpos < d->ptlen) {
			n = d->ptlen - d->ptpos < len - done ?
			    d->ptlen - d->ptpos : len - done;
			memcpy(out + done, d->pt + d->ptpos, n);
			d->ptpos += n;
			done += n;
			if (d->ptpos == d->ptlen) {
				crypto_wipe(d->pt, d->ptlen);
				d->ptpos = d->ptlen = 0;
			}
			continue;
		}
		if (d->err != AGE_OK)
			break;
		if (d->last) {
			if (d->pending != AGE_OK)
				d->err = d->pending;
			break;
		}
		/* Straight into the caller's buffer when it has room. */
		if (len - done >= CHUNK || len - done >= next_plain(d)) {
			if ((r = dec_chunk(d, out + done, len - done)) < 0)
				break;
			done += (size_t)r;
			continue;
		}
		if (d->direct_only) {
			warn0("age payload: too large for this use (a chunk "
			    "does not fit the buffer)");
			d->err = AGE_ERR_PAYLOAD;
			break;
		}
		if (d->pt == NULL && (d->pt = malloc(CHUNK)) == NULL) {
			warnp("malloc");
			d->err = AGE_ERR_NOMEM;
			break;
		}
		if ((r = dec_chunk(d, d->pt, CHUNK)) < 0)
			break;
		d->ptpos = 0;
		d->ptlen = (size_t)r;
	}
	if (done > 0)
		return ((ssize_t)done);
	return (d->err != AGE_OK ? -1 : 0);
}

enum age_error
age_decrypt_error(const struct age_decryptor *d)
{

	return (d->err);
}

uint64_t
age_decrypt_header_len(const struct age_decryptor *d)
{

	return (d->header_len);
}

void
age_decrypt_free(struct age_decryptor *d)
{

	if (d == NULL)
		return;
	stanzas_free(d);
	crypto_aead_free(d->aead);
	if (d->pt != NULL)
		crypto_wipe(d->pt, CHUNK);
	free(d->pt);
	free(d->buf);
	free(d->raw);
	free(d->hdr);
	free(d);
}

/* ----------------------------------------------------- identity files */

struct memsrc {
	const uint8_t *p;
	size_t len, pos;
};

static ssize_t
mem_read(void *cookie, void *buf, size_t len)
{
	struct memsrc *m = cookie;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;

	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return ((ssize_t)n);
}

/* Parse identity-file text (NUL-terminated, secure, modified). */
static int
parse_identity_text(struct age_identities *ids, char *text, const char *path)
{
	char *line, *next;
	unsigned lineno = 0, added = 0;
	int r;

	for (line = text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		rstrip(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((r = age_identities_add(ids, line)) != 0) {
			warn0("in identity file '%s', line %u", path, lineno);
			return (r);
		}
		added++;
	}
	if (added == 0) {
		warn0("no identities in '%s'", path);
		return (-1);
	}
	return (0);
}

/* Whether text starts like an age file (binary or armored). */
static int
looks_encrypted(const char *t, size_t len)
{
	size_t i = 0;

	if (len >= sizeof(INTRO) - 1 &&
	    memcmp(t, INTRO, sizeof(INTRO) - 1) == 0)
		return (1);
	while (i < len && isspace((unsigned char)t[i]))
		i++;
	return (len - i >= sizeof(ARMOR_BEGIN) - 1 &&
	    memcmp(t + i, ARMOR_BEGIN, sizeof(ARMOR_BEGIN) - 1) == 0);
}

/* Decrypt an age-encrypted identity file held in raw with a passphrase. */
static int
load_encrypted(struct age_identities *ids, const char *path,
    const uint8_t *raw, size_t rawlen, age_getpass_fn *getpass, void *cookie)
{
	struct age_identities *pw = NULL;
	struct age_decryptor *d = NULL;
	struct memsrc m = { raw, rawlen, 0 };
	char *pass = NULL, *text = NULL;
	size_t tlen = 0;
	ssize_t plen, r;
	enum age_error e;
	int rc = -1;

	if (getpass == NULL) {
		warn0("identity file '%s' is passphrase-protected", path);
		return (-1);
	}
	if ((pass = crypto_secure_alloc(PASS_MAX)) == NULL ||
	    (text = crypto_secure_alloc(IDFILE_MAX + 1)) == NULL)
		goto cleanup;
	if ((plen = getpass(cookie, pass, PASS_MAX)) < 0)
		goto cleanup;
	if ((size_t)plen > PASS_MAX) {
		warn0("passphrase too long");
		goto cleanup;
	}
	if ((pw = age_identities_new()) == NULL ||
	    age_identities_add_passphrase(pw, pass, (size_t)plen))
		goto cleanup;
	if ((d = dec_open(pw, mem_read, &m, -1, 1, &e)) == NULL) {
		warn0("cannot decrypt identity file '%s': %s", path,
		    e == AGE_ERR_NO_MATCH ? "wrong passphrase or not "
		    "passphrase-encrypted" : age_strerror(e));
		goto cleanup;
	}
	while ((r = age_decrypt_read(d, text + tlen, IDFILE_MAX - tlen)) > 0)
		tlen += (size_t)r;
	if (r < 0 || age_decrypt_error(d) != AGE_OK) {
		warn0("cannot decrypt identity file '%s'", path);
		goto cleanup;
	}
	if (tlen >= IDFILE_MAX || memchr(text, '\0', tlen) != NULL) {
		warn0("identity file '%s' is too large or not text", path);
		goto cleanup;
	}
	text[tlen] = '\0';
	rc = parse_identity_text(ids, text, path);
cleanup:
	age_decrypt_free(d);
	age_identities_free(pw);
	crypto_secure_free(pass, PASS_MAX);
	crypto_secure_free(text, IDFILE_MAX + 1);
	return (rc);
}

int
age_identities_load_file(struct age_identities *ids, const char *path,
    age_getpass_fn *getpass, void *cookie)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, rc = -1, exposed;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warnp("cannot open identity file '%s'", path);
		return (-1);
	}
	exposed = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0;
	if ((buf = crypto_secure_alloc(IDFILE_MAX + 1)) == NULL)
		goto cleanup;
	for (;;) {
		r = read(fd, buf + len, IDFILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			warnp("cannot read identity file '%s'", path);
			goto cleanup;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > IDFILE_MAX) {
			warn0("identity file '%s' is too large", path);
			goto cleanup;
		}
	}
	if (looks_encrypted(buf, len)) {
		rc = load_encrypted(ids, path, (uint8_t *)buf, len, getpass,
		    cookie);
		goto cleanup;
	}
	if (memchr(buf, '\0', len) != NULL) {
		warn0("identity file '%s' is not text", path);
		goto cleanup;
	}
	/* A plaintext key others can read (as the signing key and
	 * passphrase files warn). */
	if (exposed)
		warning("identity file '%s' is accessible by group or others "
		    "(chmod 600 it)", path);
	buf[len] = '\0';
	rc = parse_identity_text(ids, buf, path);
cleanup:
	crypto_secure_free(buf, IDFILE_MAX + 1);
	close(fd);
	return (rc);
}

/* -------------------------------------------------- file descriptors */

static ssize_t
fd_read(void *cookie, void *buf, size_t len)
{
	int fd = *(int *)cookie;
	ssize_t r;

	do
		r = read(fd, buf, len);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		warnp("read error");
	return (r);
}

static int
fd_write(void *cookie, const void *buf, size_t len)
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
	if ((e = age_encrypt_new(r, armor, fd_write, &out)) == NULL)
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

enum age_error
age_decrypt_fd(const struct age_identities *ids, int in, int out)
{
	struct age_decryptor *d = NULL;
	enum age_error e = AGE_OK;
	uint8_t *buf = NULL;
	ssize_t n;

	if ((buf = malloc(OUTBUF)) == NULL) {
		warnp("malloc");
		return (AGE_ERR_NOMEM);
	}
	if ((d = age_decrypt_open(ids, fd_read, &in, &e)) == NULL)
		goto cleanup;
	while ((n = age_decrypt_read(d, buf, OUTBUF)) > 0)
		if (fd_write(&out, buf, (size_t)n)) {
			e = AGE_ERR_IO;
			goto cleanup;
		}
	if (n < 0)
		e = age_decrypt_error(d);
cleanup:
	age_decrypt_free(d);
	free(buf);
	return (e);
}

int
age_header_length(const void *buf, size_t len, size_t *hdrlen)
{
	static const char intro[] = "age-encryption.org/v1\n";
	const uint8_t *p = buf;
	size_t i, n, start;

	n = sizeof(intro) - 1;
	if (memcmp(p, intro, len < n ? len : n) != 0)
		return (-1);
	if (len < n)
		return (0);
	/* Each line: a stanza, a body line, or the MAC line, which ends it. */
	for (start = n; start < len; start = i + 1) {
		for (i = start; i < len && p[i] != '\n'; i++)
			;
		if (len - start >= 3 && memcmp(p + start, "---", 3) == 0) {
			if (i == len)
				return (len - start > 4 + 43 ? -1 : 0);
			if (i - start != 4 + 43 || p[start + 3] != ' ')
				return (-1);
			*hdrlen = i + 1;
			return (1);
		}
		if (i == len)
			return (0);
	}
	return (0);
}
