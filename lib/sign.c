#include "compat.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "base64.h"
#include "crypto.h"
#include "sign.h"
#include "util.h"
#include "warnp.h"

#define SIGN_KEY_MAGIC "coffer-signing-key-v1"
#define SIGN_PUB_MAGIC "coffer-ed25519"
#define SIGN_SIG_MAGIC "coffer-signature-v1"

/* Base64 lengths (padded) of 32 and 64 bytes. */
#define B64_32 44
#define B64_64 88

/* Lives in secure memory as a whole. */
struct sign_key {
	uint8_t seed[CRYPTO_ED25519_SEED_LEN];
	struct sign_pubkey pk;
};

struct sign_pinned {
	struct sign_pubkey *keys;
	size_t n;
};

void
sign_fingerprint(const uint8_t pub[32], char fpr[SIGN_FPR_MAX])
{
	uint8_t h[CRYPTO_SHA256_LEN];

	crypto_sha256(pub, 32, h);
	memcpy(fpr, "SHA256:", 7);
	/* 43 characters and a NUL: SIGN_FPR_MAX is exactly enough. */
	base64_encode(fpr + 7, h, sizeof(h), 0);
}

int
sign_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len >= SIGN_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(isascii(c) && isalnum(c)) && strchr("._@:+-", c) == NULL)
			return (0);
	}
	return (1);
}

/*
 * decode_exact(s, len, out, want): strict padded base64 of exactly want
 * bytes.  out is written only on success; the scratch buffer is wiped.
 */
static int
decode_exact(const char *s, size_t len, uint8_t *out, size_t want)
{
	uint8_t buf[72];
	size_t got;
	int rc = -1;

	if (len != base64_encoded_len(want, 1) ||
	    base64_decoded_maxlen(len) > sizeof(buf))
		goto cleanup;
	if (base64_decode(buf, &got, s, len, 1) != 0 || got != want)
		goto cleanup;
	memcpy(out, buf, want);
	rc = 0;
cleanup:
	crypto_wipe(buf, sizeof(buf));
	return (rc);
}

/* pubkey_parse(line, pk): sign_pubkey_parse without a message. */
static int
pubkey_parse(const char *line, struct sign_pubkey *pk)
{
	const char *p, *b64, *name;
	size_t b64len, namelen;
	char namebuf[SIGN_NAME_MAX];

	p = line;
	if (strncmp(p, SIGN_PUB_MAGIC " ", strlen(SIGN_PUB_MAGIC) + 1) != 0)
		goto bad;
	b64 = p + strlen(SIGN_PUB_MAGIC) + 1;
	if ((name = strchr(b64, ' ')) == NULL)
		goto bad;
	b64len = (size_t)(name - b64);
	name++;
	namelen = strcspn(name, "\r\n");
	if (name[namelen] == '\r')
		goto bad;
	if (name[namelen] == '\n' && name[namelen + 1] != '\0')
		goto bad;
	if (namelen == 0 || namelen >= sizeof(namebuf))
		goto bad;
	memcpy(namebuf, name, namelen);
	namebuf[namelen] = '\0';
	if (!sign_name_valid(namebuf))
		goto bad;
	if (decode_exact(b64, b64len, pk->pub, 32) != 0)
		goto bad;
	util_strlcpy(pk->name, namebuf, sizeof(pk->name));
	sign_fingerprint(pk->pub, pk->fpr);
	return (0);
bad:
	return (-1);
}

int
sign_pubkey_parse(const char *line, struct sign_pubkey *pk)
{
	if (pubkey_parse(line, pk) != 0) {
		warn0("malformed signer public key (want '%s BASE64 NAME')",
		    SIGN_PUB_MAGIC);
		return (-1);
	}
	return (0);
}

void
sign_pubkey_format(const struct sign_pubkey *pk, char buf[SIGN_PUBLINE_MAX])
{
	char b64[B64_32 + 1];

	base64_encode(b64, pk->pub, 32, 1);
	snprintf(buf, SIGN_PUBLINE_MAX, "%s %s %s", SIGN_PUB_MAGIC, b64,
	    pk->name);
}

struct sign_key *
sign_key_from_seed(const uint8_t seed[32], const char *name)
{
	struct sign_key *k;

	if (!sign_name_valid(name)) {
		warn0("invalid signing key name '%s'", name);
		return (NULL);
	}
	if ((k = crypto_secure_alloc(sizeof(*k))) == NULL) {
		warn0("cannot allocate secure memory for a signing key");
		return (NULL);
	}
	memcpy(k->seed, seed, sizeof(k->seed));
	if (crypto_ed25519_public(k->seed, k->pk.pub) != 0) {
		sign_key_free(k);
		return (NULL);
	}
	util_strlcpy(k->pk.name, name, sizeof(k->pk.name));
	sign_fingerprint(k->pk.pub, k->pk.fpr);
	return (k);
}

struct sign_key *
sign_key_generate(const char *name)
{
	struct sign_key *k = NULL;
	uint8_t *seed;

	if ((seed = crypto_secure_alloc(CRYPTO_ED25519_SEED_LEN)) == NULL) {
		warn0("cannot allocate secure memory for a signing key");
		return (NULL);
	}
	if (crypto_random(seed, CRYPTO_ED25519_SEED_LEN) == 0)
		k = sign_key_from_seed(seed, name);
	crypto_secure_free(seed, CRYPTO_ED25519_SEED_LEN);
	return (k);
}

int
sign_key_write(const struct sign_key *k, const char *path)
{
	size_t len = strlen(SIGN_KEY_MAGIC) + 1 + B64_32 + 1;
	char *buf;
	int rc = -1;

	if ((buf = crypto_secure_alloc(len + 1)) == NULL) {
		warn0("cannot allocate secure memory for a signing key");
		return (-1);
	}
	memcpy(buf, SIGN_KEY_MAGIC " ", strlen(SIGN_KEY_MAGIC) + 1);
	base64_encode(buf + strlen(SIGN_KEY_MAGIC) + 1, k->seed,
	    sizeof(k->seed), 1);
	buf[len - 1] = '\n';
	if (util_write_file(path, buf, len, 0600, UTIL_EXCL) != 0) {
		if (errno == EEXIST)
			warn0("signing key '%s' already exists", path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	crypto_secure_free(buf, len + 1);
	return (rc);
}

struct sign_key *
sign_key_load(const char *path, const char *name)
{
	size_t want = strlen(SIGN_KEY_MAGIC) + 1 + B64_32;
	struct sign_key *k = NULL;
	struct stat sb;
	uint8_t *seed = NULL;
	char *buf = NULL;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warnp("cannot open signing key '%s'", path);
		return (NULL);
	}
	if (fstat(fd, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		warning("signing key '%s' is accessible by group or others "
		    "(chmod 600 it)", path);
	if ((buf = crypto_secure_alloc(want + 4)) == NULL ||
	    (seed = crypto_secure_alloc(CRYPTO_ED25519_SEED_LEN)) == NULL) {
		warn0("cannot allocate secure memory for a signing key");
		goto cleanup;
	}
	if ((n = util_read_all(fd, buf, want + 3)) < 0) {
		warnp("cannot read signing key '%s'", path);
		goto cleanup;
	}
	/* The key line, then one newline and nothing more. */
	if ((size_t)n > want && buf[want] == '\n')
		n--;
	if ((size_t)n != want ||
	    strncmp(buf, SIGN_KEY_MAGIC " ", strlen(SIGN_KEY_MAGIC) + 1) != 0 ||
	    decode_exact(buf + strlen(SIGN_KEY_MAGIC) + 1, B64_32, seed,
	    CRYPTO_ED25519_SEED_LEN) != 0) {
		warn0("malformed signing key '%s'", path);
		goto cleanup;
	}
	k = sign_key_from_seed(seed, name);
cleanup:
	crypto_secure_free(seed, CRYPTO_ED25519_SEED_LEN);
	crypto_secure_free(buf, want + 4);
	close(fd);
	return (k);
}

const struct sign_pubkey *
sign_key_pubkey(const struct sign_key *k)
{
	return (&k->pk);
}

void
sign_key_free(struct sign_key *k)
{
	crypto_secure_free(k, sizeof(*k));
}

char *
sign_data(const struct sign_key *k, const void *data, size_t len)
{
	uint8_t sig[CRYPTO_ED25519_SIG_LEN];
	char b64[B64_64 + 1];
	char *text = NULL;

	if (crypto_ed25519_sign(k->seed, data, len, sig) != 0)
		goto cleanup;
	base64_encode(b64, sig, sizeof(sig), 1);
	text = util_asprintf("%s %s %s\n", SIGN_SIG_MAGIC, k->pk.fpr, b64);
cleanup:
	crypto_wipe(sig, sizeof(sig));
	return (text);
}

struct sign_pinned *
sign_pinned_new(void)
{
	struct sign_pinned *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		warnp("out of memory");
	return (p);
}

int
sign_pinned_add(struct sign_pinned *p, const struct sign_pubkey *pk)
{
	struct sign_pubkey *nk;

	if (sign_pinned_find(p, pk->fpr) != NULL)
		return (0);
	if ((nk = reallocarray(p->keys, p->n + 1, sizeof(*nk))) == NULL) {
		warnp("out of memory");
		return (-1);
	}
	p->keys = nk;
	p->keys[p->n++] = *pk;
	return (0);
}

int
sign_pinned_remove(struct sign_pinned *p, const char *fpr)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (strcmp(p->keys[i].fpr, fpr) == 0) {
			memmove(&p->keys[i], &p->keys[i + 1],
			    (p->n - i - 1) * sizeof(p->keys[0]));
			p->n--;
			return (0);
		}
	}
	return (-1);
}

const struct sign_pubkey *
sign_pinned_find(const struct sign_pinned *p, const char *fpr)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->keys[i].fpr, fpr) == 0)
			return (&p->keys[i]);
	return (NULL);
}

size_t
sign_pinned_count(const struct sign_pinned *p)
{
	return (p->n);
}

const struct sign_pubkey *
sign_pinned_get(const struct sign_pinned *p, size_t i)
{
	return (i < p->n ? &p->keys[i] : NULL);
}

int
sign_pinned_load_file(struct sign_pinned *p, const char *path)
{
	struct sign_pubkey pk;
	char *text = NULL, *line, *next;
	size_t lineno = 0;
	int rc = -1;

	if (access(path, F_OK) != 0 && errno == ENOENT)
		return (0);
	if (util_read_file(path, &text, NULL, 1 << 20) != 0)
		return (-1);
	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		if (pubkey_parse(line, &pk) != 0) {
			warn0("malformed signer public key in '%s' line %zu",
			    path, lineno);
			goto cleanup;
		}
		if (sign_pinned_add(p, &pk) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(text);
	return (rc);
}

int
sign_pinned_write_file(const struct sign_pinned *p, const char *path)
{
	char line[SIGN_PUBLINE_MAX];
	char *text = NULL, *t;
	size_t i, len = 0, cap;
	int rc = -1;

	cap = 128 + p->n * (SIGN_PUBLINE_MAX + 1);
	if ((text = malloc(cap)) == NULL) {
		warnp("out of memory");
		return (-1);
	}
	len = (size_t)snprintf(text, cap,
	    "# coffer pinned signer keys: signatures count only by these\n");
	for (i = 0; i < p->n; i++) {
		sign_pubkey_format(&p->keys[i], line);
		t = text + len;
		len += (size_t)snprintf(t, cap - len, "%s\n", line);
	}
	rc = util_write_file(path, text, len, 0644, 0);
	free(text);
	return (rc);
}

void
sign_pinned_free(struct sign_pinned *p)
{
	if (p == NULL)
		return;
	free(p->keys);
	free(p);
}

const struct sign_pubkey *
sign_verify(const struct sign_pinned *p, const void *data, size_t len,
    const char *sigtext)
{
	uint8_t sig[CRYPTO_ED25519_SIG_LEN];
	const struct sign_pubkey *pk;
	char fpr[SIGN_FPR_MAX];
	const char *f, *b;
	size_t flen, blen;

	if (strncmp(sigtext, SIGN_SIG_MAGIC " ",
	    strlen(SIGN_SIG_MAGIC) + 1) != 0)
		goto bad;
	f = sigtext + strlen(SIGN_SIG_MAGIC) + 1;
	if ((b = strchr(f, ' ')) == NULL)
		goto bad;
	flen = (size_t)(b - f);
	b++;
	blen = strcspn(b, "\n");
	if (b[blen] == '\n' && b[blen + 1] != '\0')
		goto bad;
	if (flen >= sizeof(fpr) || strncmp(f, "SHA256:", 7) != 0)
		goto bad;
	memcpy(fpr, f, flen);
	fpr[flen] = '\0';
	if (decode_exact(b, blen, sig, sizeof(sig)) != 0)
		goto bad;
	if ((pk = sign_pinned_find(p, fpr)) == NULL) {
		warn0("signature by unpinned key %s", fpr);
		return (NULL);
	}
	if (crypto_ed25519_verify(pk->pub, data, len, sig) != 0) {
		warn0("bad signature by '%s' (%s)", pk->name, pk->fpr);
		return (NULL);
	}
	return (pk);
bad:
	warn0("malformed signature (want '%s SHA256:... BASE64')",
	    SIGN_SIG_MAGIC);
	return (NULL);
}
