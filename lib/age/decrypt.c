/*
 * decrypt.c: the age v1 decryptor: armor, header parsing and
 * unwrapping, STREAM chunks.  Its input is untrusted throughout.
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
	age_stream_nonce(nonce, d->counter, last);
	if (crypto_aead_open(d->aead, nonce, d->buf + d->pos, n, out) != 0) {
		if (last) {
			snprintf(msg, sizeof(msg), "damaged at chunk %llu",
			    (unsigned long long)d->counter + 1);
			payload_fail(d, msg);
			return (-1);
		}
		/* A full chunk may be the final one. */
		last = 1;
		age_stream_nonce(nonce, d->counter, 1);
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
		if (age_fd_write(&out, buf, (size_t)n)) {
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
