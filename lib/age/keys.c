/*
 * keys.c: age X25519 keys, recipient and identity sets, identity files
 * (plain or passphrase-encrypted).
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

/* The recipient "age1..." of the X25519 secret key sk: 0, or -1 (only
 * crypto_x25519 reports). */
static int
sk_recipient(const uint8_t *sk, char recipient[AGE_RECIPIENT_MAX])
{
	uint8_t pk[32];

	if (crypto_x25519(pk, sk, NULL) ||
	    bech32_encode(recipient, AGE_RECIPIENT_MAX, "age", pk, 32))
		return (-1);
	return (0);
}

int
age_keygen(char *identity, char recipient[AGE_RECIPIENT_MAX])
{
	uint8_t *sk;
	int rc = -1;

	if ((sk = crypto_secure_alloc(32)) == NULL)
		return (-1);
	if (crypto_random(sk, 32))
		goto cleanup;
	if (bech32_encode(identity, AGE_IDENTITY_MAX, "AGE-SECRET-KEY-", sk,
	    32) || sk_recipient(sk, recipient)) {
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
	int rc = -1, r;

	if ((sk = crypto_secure_alloc(32)) == NULL)
		return (-1);
	if ((r = parse_identity(identity, sk)) != 0) {
		warn0(r > 0 ? "unsupported identity type" :
		    "malformed age identity");
		goto cleanup;
	}
	if (sk_recipient(sk, recipient)) {
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


struct age_recipients *
age_recipients_new(void)
{
	struct age_recipients *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		warnp("calloc");
	return (r);
}

int
age_looks_secret(const char *s)
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
	if (age_looks_secret(s)) {
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

/*
 * next_line(text, lineno): the next line of *text that is neither blank
 * nor a '#' comment, cut at its '\n' in place and stripped of trailing
 * white space (and CR), or NULL at the end.  *text moves past it, and
 * *lineno counts every line passed.
 */
static char *
next_line(char **text, unsigned *lineno)
{
	char *line, *next;
	size_t n;

	while ((line = *text) != NULL) {
		(*lineno)++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		*text = next;
		n = strlen(line);
		while (n > 0 && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		if (line[0] != '\0' && line[0] != '#')
			return (line);
	}
	return (NULL);
}

int
age_recipients_load_file(struct age_recipients *r, const char *path)
{
	char *text = NULL, *line, *cur;
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
	cur = text;
	while ((line = next_line(&cur, &lineno)) != NULL) {
		/* Never echo a line of the file: it may hold a secret (an
		 * identity file given by mistake), as age says too. */
		if (r->pass != NULL) {
			warn0("a passphrase must be the only recipient");
			goto cleanup;
		}
		if (age_looks_secret(line)) {
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
	char *line;
	unsigned lineno = 0, added = 0;
	int r;

	while ((line = next_line(&text, &lineno)) != NULL) {
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
	if ((d = age_decrypt_open_secure(pw, mem_read, &m, &e)) == NULL) {
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
