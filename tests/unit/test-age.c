/*
 * test-age: the C2SP age test kit (every vector in tests/vectors/age/
 * testdata), round trips, and damaged input.
 */
#include "compat.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "age.h"
#include "crypto.h"

#define CHUNK 65536

/* ------------------------------------------------------------ helpers */

struct mem {
	uint8_t *p;
	size_t len, cap, pos;
};

static ssize_t
mem_read(void *cookie, void *buf, size_t len)
{
	struct mem *m = cookie;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;

	/* Short reads on purpose, to exercise refilling. */
	if (n > 70000)
		n = 70000;
	if (n == 0)
		return (0);
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return ((ssize_t)n);
}

static int
mem_write(void *cookie, const void *buf, size_t len)
{
	struct mem *m = cookie;

	if (len == 0)
		return (0);
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->p = realloc(m->p, m->cap);
		if (m->p == NULL)
			return (-1);
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return (0);
}

/*
 * Decrypt m with ids reading bufsize bytes at a time; plaintext released
 * goes to *out.  Returns the outcome.
 */
static enum age_error
decrypt_mem(const struct age_identities *ids, struct mem *m, int armor,
    size_t bufsize, struct mem *out)
{
	struct age_decryptor *d;
	enum age_error e;
	uint8_t *buf;
	ssize_t n;

	m->pos = 0;
	memset(out, 0, sizeof(*out));
	if ((d = age_decrypt_open_armor(ids, mem_read, m, armor, &e)) == NULL)
		return (e);
	buf = malloc(bufsize);
	assert_non_null(buf);
	while ((n = age_decrypt_read(d, buf, bufsize)) > 0)
		assert_int_equal(mem_write(out, buf, (size_t)n), 0);
	e = n < 0 ? age_decrypt_error(d) : AGE_OK;
	if (n < 0)
		assert_int_not_equal(e, AGE_OK);
	/* An error is sticky. */
	if (n < 0)
		assert_int_equal(age_decrypt_read(d, buf, bufsize), -1);
	free(buf);
	age_decrypt_free(d);
	return (e);
}

/* ------------------------------------------------------------ testkit */

struct vector {
	char expect[32];
	char payload[65];
	int armored, compressed, unknown;
	char *identities[8];
	int nid;
	char *passphrases[8];
	int npass;
	struct mem body;
};

static int
inflate_all(const uint8_t *in, size_t len, struct mem *out)
{
	z_stream z;
	uint8_t buf[65536];
	int r;

	memset(&z, 0, sizeof(z));
	memset(out, 0, sizeof(*out));
	if (inflateInit(&z) != Z_OK)
		return (-1);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		r = inflate(&z, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END) {
			inflateEnd(&z);
			return (-1);
		}
		mem_write(out, buf, sizeof(buf) - z.avail_out);
	} while (r != Z_STREAM_END);
	inflateEnd(&z);
	return (0);
}

static int
load_vector(const char *path, struct vector *v)
{
	FILE *f;
	char line[4096];
	size_t n;
	uint8_t buf[65536];
	struct mem raw = { 0 };
	char *val;

	memset(v, 0, sizeof(*v));
	if ((f = fopen(path, "rb")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			break;
		if ((val = strstr(line, ": ")) == NULL) {
			v->unknown = 1;
			continue;
		}
		*val = '\0';
		val += 2;
		if (strcmp(line, "expect") == 0)
			snprintf(v->expect, sizeof(v->expect), "%s", val);
		else if (strcmp(line, "payload") == 0)
			snprintf(v->payload, sizeof(v->payload), "%s", val);
		else if (strcmp(line, "identity") == 0 && v->nid < 8)
			v->identities[v->nid++] = strdup(val);
		else if (strcmp(line, "passphrase") == 0 && v->npass < 8)
			v->passphrases[v->npass++] = strdup(val);
		else if (strcmp(line, "armored") == 0)
			v->armored = strcmp(val, "yes") == 0;
		else if (strcmp(line, "compressed") == 0)
			v->compressed = strcmp(val, "zlib") == 0;
		else if (strcmp(line, "file key") != 0 &&
		    strcmp(line, "comment") != 0)
			v->unknown = 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		mem_write(&raw, buf, n);
	fclose(f);
	if (v->compressed) {
		if (inflate_all(raw.p, raw.len, &v->body) != 0) {
			free(raw.p);
			return (-1);
		}
		free(raw.p);
	} else
		v->body = raw;
	return (0);
}

static void
free_vector(struct vector *v)
{
	int i;

	for (i = 0; i < v->nid; i++)
		free(v->identities[i]);
	for (i = 0; i < v->npass; i++)
		free(v->passphrases[i]);
	free(v->body.p);
}

static enum age_error
expected_outcome(const char *s)
{

	if (strcmp(s, "success") == 0)
		return (AGE_OK);
	if (strcmp(s, "no match") == 0)
		return (AGE_ERR_NO_MATCH);
	if (strcmp(s, "HMAC failure") == 0)
		return (AGE_ERR_HMAC);
	if (strcmp(s, "header failure") == 0)
		return (AGE_ERR_HEADER);
	if (strcmp(s, "payload failure") == 0)
		return (AGE_ERR_PAYLOAD);
	if (strcmp(s, "armor failure") == 0)
		return (AGE_ERR_ARMOR);
	return (AGE_ERR_NOMEM);
}

static int
compare_int(const void *a, const void *b)
{

	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Run one vector; returns NULL if it behaved, else why not. */
static const char *
run_vector(const char *name, struct vector *v, int *pq)
{
	static char why[256];
	struct age_identities *ids;
	struct mem out;
	enum age_error want, got, got2;
	uint8_t sum[32];
	char hex[65];
	int i, r, k;
	size_t bufsizes[2] = { 4 << 20, 1000 };

	want = expected_outcome(v->expect);
	if (want == AGE_ERR_NOMEM)
		return ("unknown expect value");
	assert_non_null(ids = age_identities_new());
	*pq = 0;
	for (i = 0; i < v->nid; i++) {
		r = age_identities_add(ids, v->identities[i]);
		if (r == AGE_ERR_UNSUPPORTED)
			*pq = 1;
		else if (r != 0) {
			age_identities_free(ids);
			return ("identity refused");
		}
	}
	for (i = 0; i < v->npass; i++)
		assert_int_equal(age_identities_add_passphrase(ids,
		    v->passphrases[i], strlen(v->passphrases[i])), 0);
	if (*pq) {
		/* The post-quantum identity cannot be loaded: that is the
		 * outcome for these vectors. */
		age_identities_free(ids);
		return (NULL);
	}
	for (k = 0; k < 2; k++) {
		got = decrypt_mem(ids, &v->body, v->armored ? 1 : 0,
		    bufsizes[k], &out);
		crypto_sha256(out.p, out.len, sum);
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", sum[i]);
		free(out.p);
		if (got != want) {
			snprintf(why, sizeof(why), "expected %s, got %s",
			    v->expect, age_strerror(got));
			age_identities_free(ids);
			return (why);
		}
		if (v->payload[0] != '\0' && strcmp(hex, v->payload) != 0) {
			snprintf(why, sizeof(why), "plaintext released has "
			    "sha-256 %s, expected %s", hex, v->payload);
			age_identities_free(ids);
			return (why);
		}
		if (v->payload[0] == '\0' && out.len != 0) {
			age_identities_free(ids);
			return ("plaintext released without a payload hash");
		}
	}
	/* Detection must agree for binary files. */
	if (!v->armored) {
		got2 = decrypt_mem(ids, &v->body, -1, 1 << 20, &out);
		free(out.p);
		if (got2 != want) {
			age_identities_free(ids);
			return ("armor detection changed the outcome");
		}
	}
	(void)name;
	age_identities_free(ids);
	return (NULL);
}

static void
test_testkit(void **state)
{
	const char *dir = VECTORS_DIR "/age/testdata";
	char path[4096], **names = NULL;
	struct dirent *de;
	struct vector v;
	const char *why;
	size_t n = 0, i;
	int failures = 0, pq = 0, npq = 0, run = 0;
	DIR *dp;

	(void)state;
	assert_non_null(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(de->d_name);
	}
	closedir(dp);
	qsort(names, n, sizeof(*names), compare_int);
	assert_int_equal(n, 143);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (load_vector(path, &v) != 0) {
			print_error("%s: cannot load\n", names[i]);
			failures++;
			continue;
		}
		if (v.unknown) {
			print_error("%s: unknown header keys\n", names[i]);
			failures++;
			free_vector(&v);
			continue;
		}
		why = run_vector(names[i], &v, &pq);
		npq += pq;
		run++;
		if (why != NULL) {
			print_error("FAILED %s: %s\n", names[i], why);
			failures++;
		}
		free_vector(&v);
		free(names[i]);
	}
	free(names);
	print_message("testkit: %d vectors run, %d need the post-quantum "
	    "identity, %d failures\n", run, npq, failures);
	assert_int_equal(npq, 19);
	assert_int_equal(run, 143);
	assert_int_equal(failures, 0);
}

/* --------------------------------------------------------- round trips */

static char g_identity[AGE_IDENTITY_MAX];
static char g_recipient[AGE_RECIPIENT_MAX];

static void
encrypt_mem(const struct age_recipients *r, int armor, const uint8_t *pt,
    size_t len, struct mem *out, uint64_t *hdrlen)
{
	struct age_encryptor *e;
	size_t off = 0, step;

	memset(out, 0, sizeof(*out));
	assert_non_null(e = age_encrypt_new(r, armor, mem_write, out));
	/* Uneven writes. */
	for (step = 1; off < len; step = step * 3 + 7) {
		if (step > len - off)
			step = len - off;
		assert_int_equal(age_encrypt_write(e, pt + off, step), 0);
		off += step;
	}
	assert_int_equal(age_encrypt_finish(e), 0);
	if (hdrlen != NULL)
		*hdrlen = age_encrypt_header_len(e);
	age_encrypt_free(e);
}

static uint8_t *
pattern(size_t len)
{
	uint8_t *p = malloc(len + 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 16) * 7);
	return (p);
}

static struct age_identities *
ids_x25519(void)
{
	struct age_identities *ids;

	assert_non_null(ids = age_identities_new());
	assert_int_equal(age_identities_add(ids, g_identity), 0);
	return (ids);
}

static struct age_recipients *
rcpt_x25519(void)
{
	struct age_recipients *r;

	assert_non_null(r = age_recipients_new());
	assert_int_equal(age_recipients_add(r, g_recipient), 0);
	return (r);
}

static void
test_roundtrip(void **state)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537,
	    3 * 65536 };
	struct age_recipients *r = rcpt_x25519();
	struct age_identities *ids = ids_x25519();
	struct mem ct, out;
	uint64_t hdrlen, chunks;
	uint8_t *pt;
	size_t i;
	int armor;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		pt = pattern(sizes[i]);
		for (armor = 0; armor <= 1; armor++) {
			encrypt_mem(r, armor, pt, sizes[i], &ct, &hdrlen);
			if (!armor) {
				chunks = sizes[i] == 0 ? 1 :
				    (sizes[i] + CHUNK - 1) / CHUNK;
				assert_int_equal(ct.len, hdrlen + 16 +
				    sizes[i] + 16 * chunks);
			} else
				assert_memory_equal(ct.p, "-----BEGIN AGE "
				    "ENCRYPTED FILE-----\n", 35);
			/* Big and small reads, armor detected. */
			assert_int_equal(decrypt_mem(ids, &ct, -1, 1 << 20,
			    &out), AGE_OK);
			assert_int_equal(out.len, sizes[i]);
			if (sizes[i] > 0)
				assert_memory_equal(out.p, pt, sizes[i]);
			free(out.p);
			assert_int_equal(decrypt_mem(ids, &ct, -1, 4097,
			    &out), AGE_OK);
			assert_int_equal(out.len, sizes[i]);
			if (sizes[i] > 0)
				assert_memory_equal(out.p, pt, sizes[i]);
			free(out.p);
			free(ct.p);
		}
		free(pt);
	}
	age_recipients_free(r);
	age_identities_free(ids);
}

static void
test_roundtrip_passphrase(void **state)
{
	struct age_recipients *r;
	struct age_identities *ids;
	struct mem ct, out;
	uint8_t *pt = pattern(70000);

	(void)state;
	assert_non_null(r = age_recipients_new());
	assert_int_equal(age_recipients_add_passphrase(r, "correct horse", 13,
	    10), 0);
	/* A passphrase must be the only recipient. */
	assert_int_not_equal(age_recipients_add(r, g_recipient), 0);
	encrypt_mem(r, 0, pt, 70000, &ct, NULL);
	assert_non_null(strstr((char *)ct.p, "\n-> scrypt "));
	assert_non_null(ids = age_identities_new());
	assert_int_equal(age_identities_add_passphrase(ids, "wrong", 5), 0);
	assert_int_equal(decrypt_mem(ids, &ct, 0, 1 << 20, &out),
	    AGE_ERR_NO_MATCH);
	assert_int_equal(out.len, 0);
	assert_int_equal(age_identities_add_passphrase(ids, "correct horse",
	    13), 0);
	assert_int_equal(decrypt_mem(ids, &ct, 0, 1 << 20, &out), AGE_OK);
	assert_int_equal(out.len, 70000);
	assert_memory_equal(out.p, pt, 70000);
	free(out.p);
	free(ct.p);
	free(pt);
	age_recipients_free(r);
	age_identities_free(ids);
}

/* --------------------------------------------------------- bad input */

/* Decrypt damaged ct; require the outcome and that exactly the first
 * released bytes of pt came out. */
static void
expect_damage(struct mem *ct, enum age_error want, const uint8_t *pt,
    size_t released)
{
	struct age_identities *ids = ids_x25519();
	struct mem out;
	size_t bufs[2] = { 1 << 20, 1000 };
	int k;

	for (k = 0; k < 2; k++) {
		assert_int_equal(decrypt_mem(ids, ct, 0, bufs[k], &out), want);
		assert_int_equal(out.len, released);
		if (released > 0)
			assert_memory_equal(out.p, pt, released);
		free(out.p);
	}
	age_identities_free(ids);
}

/* Offset of the start of the payload (after the header). */
static size_t
payload_off(struct mem *ct)
{
	char *p = strstr((char *)ct->p, "\n--- ");

	assert_non_null(p);
	p = strchr(p + 1, '\n');
	return ((size_t)(p + 1 - (char *)ct->p));
}

static void
test_damage(void **state)
{
	struct age_recipients *r = rcpt_x25519();
	struct age_identities *other;
	size_t len = 2 * CHUNK + 10, off, n;
	uint8_t *pt = pattern(len);
	struct mem ct, bad, out;
	char fake[AGE_IDENTITY_MAX], rfake[AGE_RECIPIENT_MAX];
	char *mac, *body;

	(void)state;
	encrypt_mem(r, 0, pt, len, &ct, NULL);
	off = payload_off(&ct);
	bad.p = malloc(ct.len + 2 * CHUNK);
	bad.cap = ct.len + 2 * CHUNK;

	/* Truncated by one byte: the last chunk is lost. */
	memcpy(bad.p, ct.p, ct.len);
	bad.len = ct.len - 1;
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, 2 * CHUNK);

	/* Truncated to the end of the second chunk: no final chunk (a
	 * chunk sealed as non-final is never accepted as the last). */
	bad.len = off + 16 + 2 * (CHUNK + 16);
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, 2 * CHUNK);

	/* Truncated inside the header, and before the nonce. */
	bad.len = off - 10;
	expect_damage(&bad, AGE_ERR_HEADER, pt, 0);
	bad.len = off + 8;
	expect_damage(&bad, AGE_ERR_HEADER, pt, 0);

	/* A flipped bit in the second chunk. */
	bad.len = ct.len;
	bad.p[off + 16 + (CHUNK + 16) + 100] ^= 0x04;
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, CHUNK);
	memcpy(bad.p, ct.p, ct.len);

	/* A flipped bit in the first chunk's tag. */
	bad.p[off + 16 + CHUNK + 15] ^= 0x80;
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, 0);
	memcpy(bad.p, ct.p, ct.len);

	/* A flipped bit in the payload nonce: every chunk fails. */
	bad.p[off + 3] ^= 1;
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, 0);
	memcpy(bad.p, ct.p, ct.len);

	/* The MAC changed (still canonical base64): HMAC failure. */
	mac = strstr((char *)bad.p, "\n--- ") + 5;
	*mac = *mac == 'A' ? 'B' : 'A';
	expect_damage(&bad, AGE_ERR_HMAC, pt, 0);
	memcpy(bad.p, ct.p, ct.len);

	/* A flipped bit in the intro: header failure. */
	bad.p[2] ^= 0x20;
	expect_damage(&bad, AGE_ERR_HEADER, pt, 0);
	memcpy(bad.p, ct.p, ct.len);

	/* The wrapped file key changed: the stanza is not ours. */
	body = strchr(strstr((char *)bad.p, "-> X25519 "), '\n') + 1;
	*body = *body == 'A' ? 'B' : 'A';
	expect_damage(&bad, AGE_ERR_NO_MATCH, pt, 0);
	memcpy(bad.p, ct.p, ct.len);

	/* A stanza added to the header: the MAC no longer matches. */
	n = (size_t)(strstr((char *)ct.p, "\n--- ") + 1 - (char *)ct.p);
	memcpy(bad.p, ct.p, n);
	memcpy(bad.p + n, "-> grease x\n\n", 13);
	memcpy(bad.p + n + 13, ct.p + n, ct.len - n);
	bad.len = ct.len + 13;
	expect_damage(&bad, AGE_ERR_HMAC, pt, 0);
	memcpy(bad.p, ct.p, ct.len);

	/* Data after a short final chunk makes it a damaged chunk. */
	bad.p[ct.len] = 'x';
	bad.len = ct.len + 1;
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, 2 * CHUNK);

	/* A copy of the last chunk appended. */
	memcpy(bad.p + ct.len, ct.p + ct.len - 26, 26);
	bad.len = ct.len + 26;
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, 2 * CHUNK);
	free(ct.p);

	/* A full-size final chunk followed by data: that chunk is authentic
	 * and released, then the error. */
	encrypt_mem(r, 0, pt, 2 * CHUNK, &ct, NULL);
	memcpy(bad.p, ct.p, ct.len);
	bad.p[ct.len] = 'x';
	bad.len = ct.len + 1;
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, 2 * CHUNK);
	bad.len = ct.len;
	expect_damage(&bad, AGE_OK, pt, 2 * CHUNK);
	/* Its last-chunk flag flipped is a damaged (or missing) chunk. */
	bad.len = ct.len - (CHUNK + 16);
	expect_damage(&bad, AGE_ERR_PAYLOAD, pt, CHUNK);

	/* Empty input. */
	bad.len = 0;
	expect_damage(&bad, AGE_ERR_HEADER, pt, 0);

	/* A very long header line is refused without reading it all. */
	memcpy(bad.p, "age-encryption.org/v1\n-> ", 25);
	memset(bad.p + 25, 'a', 200000);
	bad.len = 200025;
	expect_damage(&bad, AGE_ERR_HEADER, pt, 0);

	/* Garbage instead of an age file. */
	memcpy(bad.p, "hello\n", 6);
	bad.len = 6;
	expect_damage(&bad, AGE_ERR_HEADER, pt, 0);

	/* The wrong identity. */
	assert_int_equal(age_keygen(fake, rfake), 0);
	assert_non_null(other = age_identities_new());
	assert_int_equal(age_identities_add(other, fake), 0);
	assert_int_equal(decrypt_mem(other, &ct, 0, 1 << 20, &out),
	    AGE_ERR_NO_MATCH);
	assert_int_equal(out.len, 0);
	age_identities_free(other);

	free(bad.p);
	free(ct.p);
	free(pt);
	age_recipients_free(r);
}

/* --------------------------------------------------------------- keys */

static void
test_keys(void **state)
{
	char rcpt[AGE_RECIPIENT_MAX];
	struct age_identities *ids;
	struct age_recipients *r;

	(void)state;
	assert_int_equal(strncmp(g_identity, "AGE-SECRET-KEY-1", 16), 0);
	assert_int_equal(strlen(g_identity), 74);
	assert_int_equal(strncmp(g_recipient, "age1", 4), 0);
	assert_int_equal(strlen(g_recipient), 62);
	assert_int_equal(age_identity_to_recipient(g_identity, rcpt), 0);
	assert_string_equal(rcpt, g_recipient);
	assert_int_equal(age_recipient_valid(g_recipient), 1);
	/* Case and checksum matter. */
	rcpt[10] = rcpt[10] == 'q' ? 'p' : 'q';
	assert_int_equal(age_recipient_valid(rcpt), 0);
	assert_int_equal(age_recipient_valid("AGE1QYQSZQGPQYQSZQGPQYQSZQ"),
	    0);
	assert_int_equal(age_recipient_valid(""), 0);
	/* What is never echoed: identities in any case, after white
	 * space; not recipients. */
	assert_int_equal(age_looks_secret(g_identity), 1);
	assert_int_equal(age_looks_secret(" \tage-secret-key-1x"), 1);
	assert_int_equal(age_looks_secret("AGE-PLUGIN-YUBIKEY-1X"), 1);
	assert_int_equal(age_looks_secret(g_recipient), 0);
	assert_int_equal(age_looks_secret("AGE-SECRET-KE"), 0);
	assert_int_equal(age_looks_secret(""), 0);

	assert_non_null(ids = age_identities_new());
	/* From the test kit: a post-quantum identity is unsupported. */
	assert_int_equal(age_identities_add(ids, "AGE-SECRET-KEY-PQ-1XXXX"),
	    AGE_ERR_UNSUPPORTED);
	assert_int_equal(age_identities_add(ids, "AGE-SECRET-KEY-1XXXX"), -1);
	age_identities_free(ids);

	assert_non_null(r = age_recipients_new());
	assert_int_equal(age_recipients_count(r), 0);
	assert_int_not_equal(age_recipients_add(r, "age1pq1xxxxxxxxxxxxxxxx"),
	    0);
	assert_int_not_equal(age_recipients_add(r,
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"), 0);
	assert_null(age_encrypt_new(r, 0, mem_write, NULL));
	age_recipients_free(r);
}

static ssize_t
getpass_cb(void *cookie, char *buf, size_t size)
{
	const char *p = cookie;

	(void)size;
	memcpy(buf, p, strlen(p));
	return ((ssize_t)strlen(p));
}

static void
test_identity_files(void **state)
{
	char dir[] = "/tmp/test-age.XXXXXX", path[64], path2[64];
	char id2[AGE_IDENTITY_MAX], r2[AGE_RECIPIENT_MAX], text[1024];
	struct age_identities *ids;
	struct age_recipients *r;
	struct mem ct, out;
	FILE *f;
	int n;
	uint8_t *pt = pattern(1000);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys.txt", dir);
	snprintf(path2, sizeof(path2), "%s/keys.age", dir);
	assert_int_equal(age_keygen(id2, r2), 0);
	n = snprintf(text, sizeof(text), "# created: 2024-01-01T00:00:00Z\n"
	    "# public key: %s\n%s\n\n# second\n# public key: %s\r\n%s\r\n",
	    r2, id2, g_recipient, g_identity);
	assert_non_null(f = fopen(path, "w"));
	fwrite(text, 1, (size_t)n, f);
	fclose(f);

	/* Plain identity file with two keys: the second one matches. */
	r = rcpt_x25519();
	encrypt_mem(r, 0, pt, 1000, &ct, NULL);
	age_recipients_free(r);
	assert_non_null(ids = age_identities_new());
	assert_int_equal(age_identities_load_file(ids, path, NULL, NULL), 0);
	assert_int_equal(decrypt_mem(ids, &ct, 0, 1 << 20, &out), AGE_OK);
	assert_int_equal(out.len, 1000);
	free(out.p);
	age_identities_free(ids);

	/* The same file, passphrase-encrypted and armored. */
	assert_non_null(r = age_recipients_new());
	assert_int_equal(age_recipients_add_passphrase(r, "open sesame", 11,
	    10), 0);
	encrypt_mem(r, 1, (uint8_t *)text, (size_t)n, &out, NULL);
	age_recipients_free(r);
	assert_non_null(f = fopen(path2, "w"));
	fwrite(out.p, 1, out.len, f);
	fclose(f);
	free(out.p);
	assert_non_null(ids = age_identities_new());
	assert_int_not_equal(age_identities_load_file(ids, path2, getpass_cb,
	    "wrong"), 0);
	assert_int_not_equal(age_identities_load_file(ids, path2, NULL,
	    NULL), 0);
	assert_int_equal(age_identities_load_file(ids, path2, getpass_cb,
	    "open sesame"), 0);
	assert_int_equal(decrypt_mem(ids, &ct, 0, 1 << 20, &out), AGE_OK);
	assert_int_equal(out.len, 1000);
	assert_memory_equal(out.p, pt, 1000);
	free(out.p);
	age_identities_free(ids);

	/* Recipients file. */
	n = snprintf(text, sizeof(text), "# team\n%s\n\n%s\n", r2,
	    g_recipient);
	assert_non_null(f = fopen(path, "w"));
	fwrite(text, 1, (size_t)n, f);
	fclose(f);
	assert_non_null(r = age_recipients_new());
	assert_int_equal(age_recipients_load_file(r, path), 0);
	assert_int_equal(age_recipients_count(r), 2);
	age_recipients_free(r);

	unlink(path);
	unlink(path2);
	rmdir(dir);
	free(ct.p);
	free(pt);
}

/*
 * A scrypt stanza with too few arguments (testkit style: a header failure,
 * whatever the passphrase).  "-> scrypt" alone once read args[2] past the
 * end of the argument array (an out-of-bounds read under ASan).
 */
static void
test_scrypt_wrong_args(void **state)
{
	static const char *const stanzas[] = {
		"-> scrypt\n",
		"-> scrypt c2FsdHNhbHRzYWx0c2FsdA\n",
		"-> scrypt c2FsdHNhbHRzYWx0c2FsdA 10 extra\n",
	};
	struct age_identities *ids;
	struct mem ct, out;
	size_t i;
	int k;

	(void)state;
	assert_non_null(ids = age_identities_new());
	assert_int_equal(age_identities_add_passphrase(ids, "password", 8),
	    0);
	for (i = 0; i < ARRAY_SIZE(stanzas); i++) {
		memset(&ct, 0, sizeof(ct));
		assert_int_equal(mem_write(&ct, "age-encryption.org/v1\n",
		    22), 0);
		assert_int_equal(mem_write(&ct, stanzas[i],
		    strlen(stanzas[i])), 0);
		/* An empty body line, the MAC, a nonce and a chunk. */
		assert_int_equal(mem_write(&ct, "\n--- AAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAA\n", 49), 0);
		for (k = 0; k < 16 + 32; k++)
			assert_int_equal(mem_write(&ct, "\x5a", 1), 0);
		assert_int_equal(decrypt_mem(ids, &ct, 0, 1 << 20, &out),
		    AGE_ERR_HEADER);
		assert_int_equal(out.len, 0);
		free(out.p);
		assert_int_equal(decrypt_mem(ids, &ct, -1, 1000, &out),
		    AGE_ERR_HEADER);
		free(out.p);
		free(ct.p);
	}
	age_identities_free(ids);
}

/* age_encrypt_secret: one final chunk sealed straight from the buffer. */
static void
test_encrypt_secret(void **state)
{
	static const size_t sizes[] = { 0, 1, 190, CHUNK };
	struct age_recipients *r = rcpt_x25519(), *rp;
	struct age_identities *ids = ids_x25519(), *idp;
	struct mem ct, out;
	uint64_t hdrlen;
	uint8_t *pt = pattern(CHUNK + 1);
	size_t i;
	int armor;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (armor = 0; armor <= 1; armor++) {
			memset(&ct, 0, sizeof(ct));
			hdrlen = 0;
			assert_int_equal(age_encrypt_secret(r, armor, pt,
			    sizes[i], mem_write, &ct, &hdrlen), 0);
			assert_true(hdrlen > 0);
			/* One chunk: header, nonce, plaintext and a tag. */
			if (!armor)
				assert_int_equal(ct.len, hdrlen + 16 +
				    sizes[i] + 16);
			assert_int_equal(decrypt_mem(ids, &ct, -1, 4097,
			    &out), AGE_OK);
			assert_int_equal(out.len, sizes[i]);
			if (sizes[i] > 0)
				assert_memory_equal(out.p, pt, sizes[i]);
			free(out.p);
			free(ct.p);
		}
	}
	/* More than one chunk is refused, nothing written. */
	memset(&ct, 0, sizeof(ct));
	assert_int_equal(age_encrypt_secret(r, 0, pt, CHUNK + 1, mem_write,
	    &ct, NULL), -1);
	assert_int_equal(ct.len, 0);
	/* With a passphrase, armored: as seal_identity uses it. */
	assert_non_null(rp = age_recipients_new());
	assert_int_equal(age_recipients_add_passphrase(rp, "open sesame", 11,
	    10), 0);
	memset(&ct, 0, sizeof(ct));
	assert_int_equal(age_encrypt_secret(rp, 1, pt, 300, mem_write, &ct,
	    NULL), 0);
	assert_non_null(idp = age_identities_new());
	assert_int_equal(age_identities_add_passphrase(idp, "open sesame",
	    11), 0);
	assert_int_equal(decrypt_mem(idp, &ct, -1, 1 << 20, &out), AGE_OK);
	assert_int_equal(out.len, 300);
	assert_memory_equal(out.p, pt, 300);
	free(out.p);
	free(ct.p);
	age_identities_free(idp);
	age_recipients_free(rp);
	age_identities_free(ids);
	age_recipients_free(r);
	free(pt);
}

/* age_decrypt_open_secure: plaintext only ever into the caller's buffer. */
static void
test_decrypt_secure(void **state)
{
	struct age_recipients *r = rcpt_x25519();
	struct age_identities *ids = ids_x25519();
	struct age_decryptor *d;
	struct mem ct;
	enum age_error e;
	uint8_t *pt = pattern(700), buf[1024];
	ssize_t n;

	(void)state;
	encrypt_mem(r, 0, pt, 700, &ct, NULL);
	/* A buffer smaller than the chunk: refused, nothing released. */
	ct.pos = 0;
	assert_non_null(d = age_decrypt_open_secure(ids, mem_read, &ct, &e));
	assert_int_equal(e, AGE_OK);
	assert_int_equal(age_decrypt_read(d, buf, 511), -1);
	assert_int_equal(age_decrypt_error(d), AGE_ERR_PAYLOAD);
	age_decrypt_free(d);
	/* A buffer that holds it: decrypted into it. */
	ct.pos = 0;
	assert_non_null(d = age_decrypt_open_secure(ids, mem_read, &ct, &e));
	n = age_decrypt_read(d, buf, sizeof(buf));
	assert_int_equal(n, 700);
	assert_memory_equal(buf, pt, 700);
	assert_int_equal(age_decrypt_read(d, buf, sizeof(buf)), 0);
	age_decrypt_free(d);
	/* A bad header still reports its outcome. */
	ct.p[0] ^= 1;
	ct.pos = 0;
	assert_null(age_decrypt_open_secure(ids, mem_read, &ct, &e));
	assert_int_equal(e, AGE_ERR_HEADER);
	free(ct.p);
	free(pt);
	age_identities_free(ids);
	age_recipients_free(r);
}

/*
 * with_stderr(path, fn, arg): run fn(arg) with stderr sent to path; its
 * return value.
 */
static int
with_stderr(const char *path, int (*fn)(const char *), const char *arg)
{
	int fd, saved, r;

	fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >=
	    0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	r = fn(arg);
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	return (r);
}

static int
load_recipients(const char *path)
{
	struct age_recipients *r;
	int rc;

	assert_non_null(r = age_recipients_new());
	rc = age_recipients_load_file(r, path);
	age_recipients_free(r);
	return (rc);
}

static int
load_identities(const char *path)
{
	struct age_identities *ids;
	int rc;

	assert_non_null(ids = age_identities_new());
	rc = age_identities_load_file(ids, path, NULL, NULL);
	age_identities_free(ids);
	return (rc);
}

static int
add_recipient(const char *s)
{
	struct age_recipients *r;
	int rc;

	assert_non_null(r = age_recipients_new());
	rc = age_recipients_add(r, s);
	age_recipients_free(r);
	return (rc);
}

/* The whole of a small file, NUL-terminated (caller frees). */
static char *
slurp(const char *path)
{
	struct mem m = { 0 };
	char buf[4096];
	ssize_t n;
	int fd;

	assert_true((fd = open(path, O_RDONLY)) >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		assert_int_equal(mem_write(&m, buf, (size_t)n), 0);
	close(fd);
	assert_int_equal(mem_write(&m, "", 1), 0);
	return ((char *)m.p);
}

/*
 * An identity file given as a recipients file: refused, naming the file
 * and line, never printing the key.  A plaintext identity file readable by
 * others: a warning.
 */
static void
test_key_files_messages(void **state)
{
	char dir[] = "/tmp/test-age.XXXXXX", path[64], errpath[64], *err;
	char text[512], lower[AGE_IDENTITY_MAX];
	FILE *f;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/id.txt", dir);
	snprintf(errpath, sizeof(errpath), "%s/err", dir);
	snprintf(text, sizeof(text), "# created: 2024-01-01T00:00:00Z\n"
	    "# public key: %s\n%s\n", g_recipient, g_identity);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_not_equal(with_stderr(errpath, load_recipients, path), 0);
	err = slurp(errpath);
	assert_null(strstr(err, "AGE-SECRET-KEY"));
	assert_null(strstr(err, g_identity + 16));
	assert_non_null(strstr(err, "line 3 is a secret key"));
	free(err);

	/* Lower case (bech32 allows it) is a secret key too. */
	for (i = 0; g_identity[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)g_identity[i]);
	lower[i] = '\0';
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", lower);
	fclose(f);
	assert_int_not_equal(with_stderr(errpath, load_recipients, path), 0);
	err = slurp(errpath);
	assert_null(strstr(err, lower + 16));
	assert_non_null(strstr(err, "line 1 is a secret key"));
	free(err);

	/* A malformed line is not echoed either. */
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\nage1notavalidrecipientxyz\n", g_recipient);
	fclose(f);
	assert_int_not_equal(with_stderr(errpath, load_recipients, path), 0);
	err = slurp(errpath);
	assert_null(strstr(err, "notavalid"));
	assert_non_null(strstr(err, "malformed recipient"));
	assert_non_null(strstr(err, "line 2"));
	free(err);

	/* On the command line: a secret key is not repeated. */
	assert_int_not_equal(with_stderr(errpath, add_recipient, g_identity),
	    0);
	err = slurp(errpath);
	assert_null(strstr(err, g_identity + 16));
	assert_non_null(strstr(err, "secret key"));
	free(err);

	/* Identity file permissions: 0600 quiet, 0644 warned. */
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(with_stderr(errpath, load_identities, path), 0);
	err = slurp(errpath);
	assert_string_equal(err, "");
	free(err);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(with_stderr(errpath, load_identities, path), 0);
	err = slurp(errpath);
	assert_non_null(strstr(err, "accessible by group or others"));
	free(err);

	unlink(path);
	unlink(errpath);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_testkit),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_passphrase),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_identity_files),
		cmocka_unit_test(test_scrypt_wrong_args),
		cmocka_unit_test(test_encrypt_secret),
		cmocka_unit_test(test_decrypt_secure),
		cmocka_unit_test(test_key_files_messages),
	};

	if (crypto_init() != 0)
		return (1);
	if (age_keygen(g_identity, g_recipient) != 0)
		return (1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
