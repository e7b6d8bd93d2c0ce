#include "compat.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "age.h"
#include "clock.h"
#include "crypto.h"
#include "home.h"
#include "keys.h"
#include "passphrase.h"
#include "sign.h"
#include "util.h"
#include "warnp.h"

#define F_IDENTITY "identity.age"
#define F_IDENTITY_PUB "identity.pub"
#define F_RECIPIENTS "recipients.txt"
#define F_SIGNING "signing.key"
#define F_SIGNING_PUB "signing.pub"
#define F_PINNED "pinned.txt"
#define F_ESCROW "escrow.txt"
#define F_PASSPHRASE "passphrase.txt"

/* The identity file's plaintext: two comment lines and the key. */
#define IDENTITY_TEXT_MAX 512
/* The most identity text read back (a user may replace the file with one
 * of more keys and comments, as age -p writes it); secure memory. */
#define UNLOCK_TEXT_MAX (8 * 1024)

#define RECIPIENTS_HEADER \
	"# coffer vault recipients (age): every backup is encrypted to each\n"

/* A growing buffer in ordinary memory (ciphertext only). */
struct membuf {
	char *p;
	size_t len, cap, off;
};

static int
membuf_write(void *cookie, const void *data, size_t len)
{
	struct membuf *m = cookie;
	char *np;
	size_t ncap;

	if (m->len + len > m->cap) {
		ncap = (m->cap ? m->cap * 2 : 1024);
		while (ncap < m->len + len)
			ncap *= 2;
		if ((np = realloc(m->p, ncap)) == NULL) {
			warnp("out of memory");
			return (-1);
		}
		m->p = np;
		m->cap = ncap;
	}
	memcpy(m->p + m->len, data, len);
	m->len += len;
	return (0);
}

static ssize_t
membuf_read(void *cookie, void *data, size_t len)
{
	struct membuf *m = cookie;

	if (len > m->len - m->off)
		len = m->len - m->off;
	memcpy(data, m->p + m->off, len);
	m->off += len;
	return ((ssize_t)len);
}

/* kpath(home, name): "home/keys/name" (caller frees), or NULL. */
static char *
kpath(const char *home, const char *name)
{
	if (name == NULL)
		return (util_asprintf("%s/keys", home));
	return (util_asprintf("%s/keys/%s", home, name));
}

static int
kexists(const char *home, const char *name)
{
	char *p;
	int r;

	if ((p = kpath(home, name)) == NULL)
		return (0);
	r = (access(p, F_OK) == 0);
	free(p);
	return (r);
}

/* kread(home, name, text): read a small keys/ file (caller frees). */
static int
kread(const char *home, const char *name, char **text)
{
	char *p;
	int r;

	if ((p = kpath(home, name)) == NULL)
		return (-1);
	r = util_read_file(p, text, NULL, 1 << 20);
	free(p);
	return (r);
}

static int
kwrite(const char *home, const char *name, const char *text, mode_t mode,
    int flags)
{
	char *p;
	int r;

	if ((p = kpath(home, name)) == NULL)
		return (-1);
	r = util_write_file(p, text, strlen(text), mode, flags);
	if (r != 0 && errno == EEXIST && (flags & UTIL_EXCL))
		warn0("'%s' already exists", p);
	free(p);
	return (r);
}

/* trim(s): strip leading and trailing white space in place. */
static char *
trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return (s);
}

void
keys_list_free(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

/*
 * parse_recipients(text, what, list, n): the recipient lines of text (blank
 * lines and '#' comments skipped, duplicates dropped), each validated.
 */
static int
parse_recipients(char *text, const char *what, char ***listp, size_t *np)
{
	char **list = NULL, **nl, *line, *next, *r;
	size_t n = 0, i, lineno = 0;
	int rc = -1;

	if ((list = calloc(1, sizeof(*list))) == NULL) {
		warnp("out of memory");
		return (-1);
	}
	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		r = trim(line);
		if (*r == '#' || *r == '\0')
			continue;
		/* Never echo the line: a mistaken identity file would
		 * print its secret key. */
		if (age_looks_secret(r)) {
			warn0("'%s', line %zu is a secret key (identity), not "
			    "a recipient", what, lineno);
			goto cleanup;
		}
		if (!age_recipient_valid(r)) {
			warn0("not an age recipient in '%s', line %zu", what,
			    lineno);
			goto cleanup;
		}
		for (i = 0; i < n; i++)
			if (strcmp(list[i], r) == 0)
				break;
		if (i < n)
			continue;
		if ((nl = reallocarray(list, n + 2, sizeof(*list))) == NULL) {
			warnp("out of memory");
			goto cleanup;
		}
		list = nl;
		if ((list[n] = util_strdup(r)) == NULL)
			goto cleanup;
		list[++n] = NULL;
	}
	*listp = list;
	list = NULL;
	if (np != NULL)
		*np = n;
	rc = 0;
cleanup:
	keys_list_free(list);
	return (rc);
}

/* format_recipients(list): recipients.txt's text (caller frees). */
static char *
format_recipients(char **list)
{
	char *text, *t;
	size_t i;

	if ((text = util_strdup(RECIPIENTS_HEADER)) == NULL)
		return (NULL);
	for (i = 0; list[i] != NULL; i++) {
		t = util_asprintf("%s%s\n", text, list[i]);
		free(text);
		if ((text = t) == NULL)
			return (NULL);
	}
	return (text);
}

int
keys_list_recipients(const char *home, char ***listp, size_t *np)
{
	char *text = NULL, *p = NULL;
	int rc = -1;

	if ((p = kpath(home, F_RECIPIENTS)) == NULL)
		goto cleanup;
	if (util_read_file(p, &text, NULL, 1 << 20) != 0)
		goto cleanup;
	rc = parse_recipients(text, p, listp, np);
cleanup:
	free(text);
	free(p);
	return (rc);
}

int
keys_scrypt_logn(void)
{
	const char *s;
	char *end;
	long v;

	if (!clock_is_overridable())
		return (KEYS_DEFAULT_SCRYPT_LOGN);
	if ((s = getenv("COFFER_TEST_SCRYPT_LOGN")) == NULL || *s == '\0')
		return (KEYS_DEFAULT_SCRYPT_LOGN);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 22) {
		warning("ignoring COFFER_TEST_SCRYPT_LOGN='%s' (want 1..22)",
		    s);
		return (KEYS_DEFAULT_SCRYPT_LOGN);
	}
	return ((int)v);
}

/*
 * identity_text(secret, recipient, buf): the identity file plaintext, as
 * age-keygen writes it, into buf (secure, IDENTITY_TEXT_MAX).
 */
static size_t
identity_text(const char *secret, const char *recipient, char *buf)
{
	char when[32];
	int n;

	clock_format_utc(clock_real(), when, sizeof(when));
	n = snprintf(buf, IDENTITY_TEXT_MAX,
	    "# created: %s\n# public key: %s\n%s\n", when, recipient, secret);
	if (n < 0 || n >= IDENTITY_TEXT_MAX)
		return (0);
	return ((size_t)n);
}

/*
 * seal_identity(home, secret, recipient, pass, flags): write identity.age,
 * the identity encrypted with pass (scrypt), mode 0600.
 */
static int
seal_identity(const char *home, const char *secret, const char *recipient,
    const char *pass, int flags)
{
	struct age_recipients *r = NULL;
	struct membuf out = { NULL, 0, 0, 0 };
	char *text = NULL, *p = NULL;
	size_t len;
	int rc = -1;

	if ((text = crypto_secure_alloc(IDENTITY_TEXT_MAX)) == NULL) {
		warn0("cannot allocate secure memory for the identity");
		goto cleanup;
	}
	if ((len = identity_text(secret, recipient, text)) == 0) {
		warn0("identity too long");
		goto cleanup;
	}
	if ((r = age_recipients_new()) == NULL ||
	    age_recipients_add_passphrase(r, pass, strlen(pass),
	    keys_scrypt_logn()) != 0)
		goto cleanup;
	/* Sealed straight from the secure text: no plain-heap copy. */
	if (age_encrypt_secret(r, 1, text, len, membuf_write, &out,
	    NULL) != 0) {
		warn0("cannot encrypt the identity");
		goto cleanup;
	}
	if ((p = kpath(home, F_IDENTITY)) == NULL)
		goto cleanup;
	if (util_write_file(p, out.p, out.len, 0600, flags) != 0) {
		if (errno == EEXIST && (flags & UTIL_EXCL))
			warn0("'%s' already exists", p);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(p);
	free(out.p);
	age_recipients_free(r);
	crypto_secure_free(text, IDENTITY_TEXT_MAX);
	return (rc);
}

static int
record_passphrase_time(const char *home)
{
	char when[32], *text;
	int rc;

	clock_format_utc(clock_now(), when, sizeof(when));
	if ((text = util_asprintf("# when the identity passphrase was set\n"
	    "set %s\n", when)) == NULL)
		return (-1);
	rc = kwrite(home, F_PASSPHRASE, text, 0600, 0);
	free(text);
	return (rc);
}

/* The files keys_init may create, removed again if it fails. */
static const char *const init_files[] = {
	F_IDENTITY, F_IDENTITY_PUB, F_RECIPIENTS, F_SIGNING, F_SIGNING_PUB,
	F_PINNED, F_PASSPHRASE, F_ESCROW
};

int
keys_init(const char *home, const char *pass, const char *rfile,
    struct keys_info *info)
{
	struct sign_key *sk = NULL;
	struct sign_pinned *pinned = NULL;
	char recipient[AGE_RECIPIENT_MAX];
	char hostname[SIGN_NAME_MAX], publine[SIGN_PUBLINE_MAX];
	char **list = NULL, **extra = NULL, **nl;
	char *secret = NULL, *dir = NULL, *text = NULL, *p;
	const char *why;
	size_t n = 0, i, j;
	int r, rc = -1, made_dir = 0;
	size_t k, tlen = 0;

	if (pass == NULL && rfile == NULL) {
		warn0("a passphrase is needed to protect the identity "
		    "(or a recipients file for a backup-only host)");
		return (-1);
	}
	if (pass != NULL && passphrase_check(pass, strlen(pass), &why) != 0) {
		warn0("passphrase refused: %s", why);
		return (-1);
	}
	if ((dir = kpath(home, NULL)) == NULL)
		return (-1);
	if (kexists(home, F_SIGNING) || kexists(home, F_RECIPIENTS) ||
	    kexists(home, F_IDENTITY)) {
		warn0("keys already exist in '%s'", dir);
		free(dir);
		return (-1);
	}
	if (util_mkdir_p(home, 0700) != 0)
		goto cleanup;
	if (mkdir(dir, 0700) == 0)
		made_dir = 1;
	else if (errno != EEXIST) {
		warnp("cannot create directory '%s'", dir);
		goto cleanup;
	}
	if (chmod(dir, 0700) != 0) {
		warnp("cannot set the mode of '%s'", dir);
		goto cleanup;
	}

	/* Recipients: the new identity's first, then the file's. */
	if ((list = calloc(2, sizeof(*list))) == NULL) {
		warnp("out of memory");
		goto cleanup;
	}
	recipient[0] = '\0';
	if (pass != NULL) {
		if ((secret = crypto_secure_alloc(AGE_IDENTITY_MAX)) == NULL) {
			warn0("cannot allocate secure memory for the "
			    "identity");
			goto cleanup;
		}
		if (age_keygen(secret, recipient) != 0)
			goto cleanup;
		if ((list[0] = util_strdup(recipient)) == NULL)
			goto cleanup;
		n = 1;
	}
	if (rfile != NULL) {
		if (util_read_file(rfile, &text, &tlen, 1 << 20) != 0 ||
		    parse_recipients(text, rfile, &extra, &k) != 0)
			goto cleanup;
		if (k == 0) {
			warn0("no recipients in '%s'", rfile);
			goto cleanup;
		}
		for (i = 0; extra[i] != NULL; i++) {
			for (j = 0; j < n; j++)
				if (strcmp(list[j], extra[i]) == 0)
					break;
			if (j < n)
				continue;
			if ((nl = reallocarray(list, n + 2,
			    sizeof(*list))) == NULL) {
				warnp("out of memory");
				goto cleanup;
			}
			list = nl;
			list[n + 1] = NULL;
			if ((list[n] = util_strdup(extra[i])) == NULL)
				goto cleanup;
			n++;
		}
		crypto_wipe(text, tlen);
		free(text);
		text = NULL;
		tlen = 0;
	}

	if (pass != NULL) {
		if (seal_identity(home, secret, recipient, pass,
		    UTIL_EXCL) != 0)
			goto cleanup;
		if ((p = util_asprintf("%s\n", recipient)) == NULL)
			goto cleanup;
		r = kwrite(home, F_IDENTITY_PUB, p, 0644, UTIL_EXCL);
		free(p);
		if (r != 0 || record_passphrase_time(home) != 0)
			goto cleanup;
	}
	if ((text = format_recipients(list)) == NULL ||
	    kwrite(home, F_RECIPIENTS, text, 0644, UTIL_EXCL) != 0)
		goto cleanup;

	/* The signing key, its public line, and the pin of it. */
	home_hostname(hostname, sizeof(hostname));
	if (!sign_name_valid(hostname))
		util_strlcpy(hostname, "host", sizeof(hostname));
	if ((sk = sign_key_generate(hostname)) == NULL ||
	    (p = kpath(home, F_SIGNING)) == NULL)
		goto cleanup;
	r = sign_key_write(sk, p);
	free(p);
	if (r != 0)
		goto cleanup;
	sign_pubkey_format(sign_key_pubkey(sk), publine);
	if ((p = util_asprintf("%s\n", publine)) == NULL)
		goto cleanup;
	r = kwrite(home, F_SIGNING_PUB, p, 0644, UTIL_EXCL);
	free(p);
	if (r != 0)
		goto cleanup;
	if ((pinned = sign_pinned_new()) == NULL ||
	    sign_pinned_add(pinned, sign_key_pubkey(sk)) != 0 ||
	    (p = kpath(home, F_PINNED)) == NULL)
		goto cleanup;
	r = sign_pinned_write_file(pinned, p);
	free(p);
	if (r != 0)
		goto cleanup;
	if (util_fsync_dir(dir) != 0)
		goto cleanup;
	if (info != NULL && keys_info(home, info) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc != 0 && dir != NULL) {
		for (i = 0; i < ARRAY_SIZE(init_files); i++) {
			if ((p = kpath(home, init_files[i])) != NULL) {
				unlink(p);
				free(p);
			}
		}
		if (made_dir)
			rmdir(dir);
	}
	sign_pinned_free(pinned);
	sign_key_free(sk);
	crypto_secure_free(secret, AGE_IDENTITY_MAX);
	keys_list_free(extra);
	keys_list_free(list);
	/* The recipients file may be an identity file given by mistake. */
	if (text != NULL)
		crypto_wipe(text, tlen);
	free(text);
	free(dir);
	return (rc);
}

/* read_identity_recipient(home, out): identity.pub, or -1 (silent) when
 * missing. */
static int
read_identity_recipient(const char *home, char out[AGE_RECIPIENT_MAX])
{
	char *text = NULL, *r;
	int rc = -1;

	if (!kexists(home, F_IDENTITY_PUB))
		return (-1);
	if (kread(home, F_IDENTITY_PUB, &text) != 0)
		return (-1);
	r = trim(text);
	if (!age_recipient_valid(r)) {
		warn0("malformed identity recipient in keys/%s",
		    F_IDENTITY_PUB);
		goto cleanup;
	}
	util_strlcpy(out, r, AGE_RECIPIENT_MAX);
	rc = 0;
cleanup:
	free(text);
	return (rc);
}

/* read_stamp(home, name, key, when): the time on the line "key TIME". */
static int
read_stamp(const char *home, const char *name, const char *key,
    time_t *when)
{
	char *text = NULL, *line, *next;
	size_t klen = strlen(key);
	int rc = -1;

	if (!kexists(home, name) || kread(home, name, &text) != 0)
		return (-1);
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ' &&
		    clock_parse_utc(line + klen + 1, when) == 0) {
			rc = 0;
			break;
		}
	}
	free(text);
	return (rc);
}

int
keys_info(const char *home, struct keys_info *info)
{
	char *dir = NULL, *text = NULL, **list = NULL;
	struct stat sb;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if ((dir = kpath(home, NULL)) == NULL)
		return (-1);
	if (stat(dir, &sb) != 0) {
		warnp("no keys in '%s' (run 'coffer init')", dir);
		goto cleanup;
	}
	info->has_identity = kexists(home, F_IDENTITY);
	if (info->has_identity &&
	    read_identity_recipient(home, info->recipient) != 0)
		info->recipient[0] = '\0';
	if (keys_list_recipients(home, &list, &info->nrecipients) != 0)
		goto cleanup;
	if (kread(home, F_SIGNING_PUB, &text) != 0 ||
	    sign_pubkey_parse(text, &info->signer) != 0)
		goto cleanup;
	info->escrow_done = keys_escrow_done(home, &info->escrow_time);
	if (keys_passphrase_time(home, &info->passphrase_time) != 0)
		info->passphrase_time = 0;
	rc = 0;
cleanup:
	keys_list_free(list);
	free(text);
	free(dir);
	return (rc);
}

struct age_recipients *
keys_load_recipients(const char *home)
{
	struct age_recipients *r = NULL;
	char **list = NULL;
	size_t i, n;

	if (keys_list_recipients(home, &list, &n) != 0)
		return (NULL);
	if (n == 0) {
		warn0("no recipients in '%s/keys/%s'", home, F_RECIPIENTS);
		goto fail;
	}
	if ((r = age_recipients_new()) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (age_recipients_add(r, list[i]) != 0)
			goto fail;
	keys_list_free(list);
	return (r);
fail:
	age_recipients_free(r);
	keys_list_free(list);
	return (NULL);
}

int
keys_add_recipient(const char *home, const char *recipient)
{
	char **list = NULL, **nl, *text = NULL;
	size_t i, n;
	int rc = -1;

	if (!age_recipient_valid(recipient)) {
		warn0("not an age recipient: '%s'", recipient);
		return (-1);
	}
	if (keys_list_recipients(home, &list, &n) != 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i], recipient) == 0) {
			rc = 1;
			goto cleanup;
		}
	}
	if ((nl = reallocarray(list, n + 2, sizeof(*list))) == NULL) {
		warnp("out of memory");
		goto cleanup;
	}
	list = nl;
	if ((list[n] = util_strdup(recipient)) == NULL)
		goto cleanup;
	list[n + 1] = NULL;
	if ((text = format_recipients(list)) == NULL ||
	    kwrite(home, F_RECIPIENTS, text, 0644, 0) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(text);
	keys_list_free(list);
	return (rc);
}

int
keys_export_recipients(const char *home, char **out)
{
	char **list = NULL, *text = NULL, *t, when[32], host[SIGN_NAME_MAX];
	size_t i, n;
	int rc = -1;

	if (keys_list_recipients(home, &list, &n) != 0)
		return (-1);
	home_hostname(host, sizeof(host));
	clock_format_utc(clock_now(), when, sizeof(when));
	if ((text = util_asprintf("# coffer vault recipients of host %s, "
	    "exported %s\n# use with: coffer init --recipients FILE, or "
	    "age -R FILE\n", host, when)) == NULL)
		goto cleanup;
	for (i = 0; i < n; i++) {
		t = util_asprintf("%s%s\n", text, list[i]);
		free(text);
		if ((text = t) == NULL)
			goto cleanup;
	}
	*out = text;
	text = NULL;
	rc = 0;
cleanup:
	free(text);
	keys_list_free(list);
	return (rc);
}

/*
 * decrypt_mem(ids, ct, ctlen, out, max, what): decrypt an in-memory age
 * file into out (max bytes, NUL-terminated; secure memory).  Plaintext is
 * decrypted only into out, never into the decryptor's ordinary buffer, so
 * a file too large for out is refused.  Returns the length or -1
 * (reported).
 */
static ssize_t
decrypt_mem(const struct age_identities *ids, char *ct, size_t ctlen,
    char *out, size_t max, const char *what)
{
	struct membuf in = { ct, ctlen, ctlen, 0 };
	struct age_decryptor *d;
	enum age_error err = AGE_OK;
	size_t n = 0;
	ssize_t r;
	char extra;

	if ((d = age_decrypt_open_secure(ids, membuf_read, &in, &err)) ==
	    NULL) {
		if (err == AGE_ERR_NO_MATCH || err == AGE_ERR_HMAC)
			warn0("cannot decrypt '%s': wrong passphrase or key "
			    "(%s)", what, age_strerror(err));
		else
			warn0("cannot decrypt '%s': %s", what,
			    age_strerror(err));
		return (-1);
	}
	while (n < max - 1) {
		if ((r = age_decrypt_read(d, out + n, max - 1 - n)) < 0)
			goto bad;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == max - 1) {
		if ((r = age_decrypt_read(d, &extra, 1)) < 0)
			goto bad;
		crypto_wipe(&extra, 1);
		if (r > 0) {
			warn0("'%s' is too large", what);
			goto fail;
		}
	}
	out[n] = '\0';
	age_decrypt_free(d);
	return ((ssize_t)n);
bad:
	/* A payload error is also what a plaintext larger than out gives
	 * (secure mode: no internal buffer to fall back on). */
	warn0("cannot decrypt '%s': %s", what,
	    age_decrypt_error(d) == AGE_ERR_PAYLOAD ? "age payload damaged, "
	    "or too large" : age_strerror(age_decrypt_error(d)));
fail:
	crypto_wipe(out, max);
	age_decrypt_free(d);
	return (-1);
}

/* find_secret(text, out): the AGE-SECRET-KEY-1 line of an identity file
 * into out (AGE_IDENTITY_MAX). */
static int
find_secret(const char *text, char *out)
{
	const char *line = text;
	size_t len;

	while (*line != '\0') {
		len = strcspn(line, "\r\n");
		if (strncmp(line, "AGE-SECRET-KEY-1", 16) == 0) {
			if (len >= AGE_IDENTITY_MAX)
				return (-1);
			memcpy(out, line, len);
			out[len] = '\0';
			return (0);
		}
		line += len;
		line += strspn(line, "\r\n");
	}
	return (-1);
}

int
keys_unlock_identity(const char *home, const struct passphrase_source *src,
    char **secretp, size_t *lenp)
{
	struct age_identities *ids = NULL;
	struct passphrase_source tty = { NULL, -1 };
	char *p = NULL, *ct = NULL, *pw = NULL, *text = NULL, *secret = NULL;
	size_t ctlen, pwlen = 0;
	int rc = -1;

	if ((p = kpath(home, F_IDENTITY)) == NULL)
		goto cleanup;
	if (access(p, F_OK) != 0) {
		warn0("no identity on this host ('%s' missing): a backup-only "
		    "host cannot decrypt", p);
		goto cleanup;
	}
	if (util_read_file(p, &ct, &ctlen, 1 << 20) != 0)
		goto cleanup;
	if ((pw = passphrase_read(src != NULL ? src : &tty,
	    "Passphrase for the coffer identity: ", 0, &pwlen)) == NULL)
		goto cleanup;
	if ((text = crypto_secure_alloc(UNLOCK_TEXT_MAX)) == NULL ||
	    (secret = crypto_secure_alloc(AGE_IDENTITY_MAX)) == NULL) {
		warn0("cannot allocate secure memory for the identity");
		goto cleanup;
	}
	if ((ids = age_identities_new()) == NULL ||
	    age_identities_add_passphrase(ids, pw, pwlen) != 0)
		goto cleanup;
	if (decrypt_mem(ids, ct, ctlen, text, UNLOCK_TEXT_MAX, p) < 0)
		goto cleanup;
	if (find_secret(text, secret) != 0) {
		warn0("no AGE-SECRET-KEY-1 line in '%s'", p);
		goto cleanup;
	}
	*secretp = secret;
	*lenp = AGE_IDENTITY_MAX;
	secret = NULL;
	rc = 0;
cleanup:
	age_identities_free(ids);
	crypto_secure_free(secret, AGE_IDENTITY_MAX);
	crypto_secure_free(text, UNLOCK_TEXT_MAX);
	passphrase_free(pw, pwlen);
	free(ct);
	free(p);
	return (rc);
}

struct age_identities *
keys_load_identity(const char *home, const struct passphrase_source *src)
{
	struct age_identities *ids = NULL;
	char *secret = NULL;
	size_t len = 0;

	if (keys_unlock_identity(home, src, &secret, &len) != 0)
		return (NULL);
	if ((ids = age_identities_new()) != NULL &&
	    age_identities_add(ids, secret) != 0) {
		age_identities_free(ids);
		ids = NULL;
	}
	crypto_secure_free(secret, len);
	return (ids);
}

int
keys_change_passphrase(const char *home, const char *secret,
    const char *newpw)
{
	char recipient[AGE_RECIPIENT_MAX], mine[AGE_RECIPIENT_MAX];
	const char *why;

	if (passphrase_check(newpw, strlen(newpw), &why) != 0) {
		warn0("passphrase refused: %s", why);
		return (-1);
	}
	if (read_identity_recipient(home, mine) != 0) {
		warn0("no identity on this host");
		return (-1);
	}
	if (age_identity_to_recipient(secret, recipient) != 0 ||
	    strcmp(recipient, mine) != 0) {
		warn0("not this host's identity");
		return (-1);
	}
	if (seal_identity(home, secret, recipient, newpw, 0) != 0 ||
	    record_passphrase_time(home) != 0)
		return (-1);
	return (0);
}

struct sign_key *
keys_signing_load(const char *home)
{
	struct sign_pubkey pk;
	struct sign_key *k = NULL;
	char *text = NULL, *p = NULL;

	if (kread(home, F_SIGNING_PUB, &text) != 0 ||
	    sign_pubkey_parse(text, &pk) != 0)
		goto cleanup;
	if ((p = kpath(home, F_SIGNING)) == NULL ||
	    (k = sign_key_load(p, pk.name)) == NULL)
		goto cleanup;
	if (strcmp(sign_key_pubkey(k)->fpr, pk.fpr) != 0) {
		warn0("signing key '%s' does not match keys/%s", p,
		    F_SIGNING_PUB);
		sign_key_free(k);
		k = NULL;
	}
cleanup:
	free(p);
	free(text);
	return (k);
}

struct sign_pinned *
keys_pinned_load(const char *home)
{
	struct sign_pinned *pinned;
	char *p;

	if ((p = kpath(home, F_PINNED)) == NULL)
		return (NULL);
	if ((pinned = sign_pinned_new()) != NULL &&
	    sign_pinned_load_file(pinned, p) != 0) {
		sign_pinned_free(pinned);
		pinned = NULL;
	}
	free(p);
	return (pinned);
}

static int
pinned_save(const char *home, const struct sign_pinned *pinned)
{
	char *p;
	int rc;

	if ((p = kpath(home, F_PINNED)) == NULL)
		return (-1);
	rc = sign_pinned_write_file(pinned, p);
	free(p);
	return (rc);
}

int
keys_pin(const char *home, const struct sign_pubkey *pk)
{
	struct sign_pinned *pinned;
	int rc = -1;

	if ((pinned = keys_pinned_load(home)) == NULL)
		return (-1);
	if (sign_pinned_find(pinned, pk->fpr) != NULL)
		rc = 1;
	else if (sign_pinned_add(pinned, pk) == 0 &&
	    pinned_save(home, pinned) == 0)
		rc = 0;
	sign_pinned_free(pinned);
	return (rc);
}

int
keys_unpin(const char *home, const char *fpr)
{
	struct sign_pinned *pinned = NULL;
	struct sign_pubkey own;
	char *text = NULL;
	int rc = -1;

	if (kread(home, F_SIGNING_PUB, &text) == 0 &&
	    sign_pubkey_parse(text, &own) == 0 && strcmp(own.fpr, fpr) == 0) {
		warn0("refusing to unpin this host's own signing key %s", fpr);
		goto cleanup;
	}
	if ((pinned = keys_pinned_load(home)) == NULL)
		goto cleanup;
	if (sign_pinned_remove(pinned, fpr) != 0) {
		warn0("key %s is not pinned", fpr);
		goto cleanup;
	}
	rc = pinned_save(home, pinned);
cleanup:
	sign_pinned_free(pinned);
	free(text);
	return (rc);
}

int
keys_escrow_check(const char *home, const char *typed)
{
	struct age_recipients *r = NULL;
	struct age_identities *ids = NULL;
	struct age_encryptor *e = NULL;
	struct membuf ct = { NULL, 0, 0, 0 };
	char recipient[AGE_RECIPIENT_MAX], mine[AGE_RECIPIENT_MAX];
	uint8_t msg[32];
	char *secret = NULL, *s, *back = NULL;
	size_t len;
	int rc = -1;

	if ((secret = crypto_secure_alloc(AGE_IDENTITY_MAX)) == NULL ||
	    (back = crypto_secure_alloc(64)) == NULL) {
		warn0("cannot allocate secure memory for the identity");
		goto cleanup;
	}
	while (isspace((unsigned char)*typed))
		typed++;
	len = strcspn(typed, " \t\r\n");
	if (len == 0 || len >= AGE_IDENTITY_MAX ||
	    typed[len + strspn(typed + len, " \t\r\n")] != '\0') {
		warn0("the key typed back is not one AGE-SECRET-KEY-1 line");
		goto cleanup;
	}
	memcpy(secret, typed, len);
	/* Typed from paper: accept lower case, as bech32 does. */
	for (s = secret; *s != '\0'; s++)
		*s = (char)toupper((unsigned char)*s);
	if (read_identity_recipient(home, mine) != 0) {
		warn0("no identity on this host to escrow");
		goto cleanup;
	}
	if (age_identity_to_recipient(secret, recipient) != 0) {
		warn0("the key typed back is not a valid age identity");
		goto cleanup;
	}
	if (strcmp(recipient, mine) != 0) {
		warn0("the key typed back is not this vault's identity "
		    "(its recipient is %s, want %s)", recipient, mine);
		goto cleanup;
	}
	/* A fresh message to every vault recipient, as a backup would be. */
	if (crypto_random(msg, sizeof(msg)) != 0 ||
	    (r = keys_load_recipients(home)) == NULL)
		goto cleanup;
	if ((e = age_encrypt_new(r, 0, membuf_write, &ct)) == NULL ||
	    age_encrypt_write(e, msg, sizeof(msg)) != 0 ||
	    age_encrypt_finish(e) != 0) {
		warn0("cannot encrypt the test message");
		goto cleanup;
	}
	if ((ids = age_identities_new()) == NULL ||
	    age_identities_add(ids, secret) != 0)
		goto cleanup;
	if (decrypt_mem(ids, ct.p, ct.len, back, 64, "the test message") !=
	    (ssize_t)sizeof(msg) || !crypto_memeq(back, msg, sizeof(msg))) {
		warn0("the test message did not decrypt with the key typed "
		    "back");
		goto cleanup;
	}
	rc = 0;
cleanup:
	age_identities_free(ids);
	age_encrypt_free(e);
	age_recipients_free(r);
	free(ct.p);
	crypto_wipe(msg, sizeof(msg));
	crypto_secure_free(back, 64);
	crypto_secure_free(secret, AGE_IDENTITY_MAX);
	return (rc);
}

int
keys_escrow_record(const char *home, time_t when)
{
	char recipient[AGE_RECIPIENT_MAX], ts[32], *text;
	int rc;

	if (read_identity_recipient(home, recipient) != 0) {
		warn0("no identity on this host to escrow");
		return (-1);
	}
	clock_format_utc(when, ts, sizeof(ts));
	if ((text = util_asprintf("# an escrow copy of the identity was made "
	    "and test-decrypted\nrecipient %s\ntested %s\n", recipient,
	    ts)) == NULL)
		return (-1);
	rc = kwrite(home, F_ESCROW, text, 0600, 0);
	free(text);
	return (rc);
}

int
keys_escrow_done(const char *home, time_t *when)
{
	char mine[AGE_RECIPIENT_MAX], *text = NULL, *line, *next;
	time_t t;
	int match = 0;

	if (when != NULL)
		*when = 0;
	if (!kexists(home, F_IDENTITY))
		return (1);
	if (read_identity_recipient(home, mine) != 0 ||
	    read_stamp(home, F_ESCROW, "tested", &t) != 0)
		return (0);
	/* The record must be for the current identity. */
	if (kread(home, F_ESCROW, &text) != 0)
		return (0);
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "recipient ", 10) == 0 &&
		    strcmp(line + 10, mine) == 0)
			match = 1;
	}
	free(text);
	if (!match)
		return (0);
	if (when != NULL)
		*when = t;
	return (1);
}

int
keys_passphrase_time(const char *home, time_t *when)
{
	return (read_stamp(home, F_PASSPHRASE, "set", when));
}
