/*
 * test-set: set.json canonical bytes and defensive parsing, signing and
 * loading through a local target against pinned keys, listing committed
 * sets, object checks (damage, truncation, loss), SHA256SUMS checked by
 * the real sha256sum.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "age.h"
#include "catalog.h"
#include "crypto.h"
#include "set.h"
#include "sign.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

#define HOST "web1"
#define RUN "1234-00112233aabbccdd"
#define VAULT "5f0c1e2d3b4a59687766554433221100"

static char tmpdir[] = "/tmp/test-set-XXXXXX";
static struct target *tgt;
static struct sign_key *key, *other;
static struct sign_pinned *pinned;

/* Captured stderr of the last capture_start/capture_end pair. */
static char captured[4096];
static int saved_stderr = -1;

static void
capture_start(void)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fflush(stderr);
	assert_true((saved_stderr = dup(2)) >= 0);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >=
	    0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static void
capture_end(void)
{
	char path[128];
	FILE *fp;
	size_t n;

	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	assert_non_null(fp = fopen(path, "r"));
	n = fread(captured, 1, sizeof(captured) - 1, fp);
	captured[n] = '\0';
	fclose(fp);
}

static void
fill(uint8_t *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

/* A header for host/label with the given level. */
static void
make_header(struct set_header *h, const char *label, enum set_level level)
{
	set_header_init(h);
	assert_non_null(h->vault = util_strdup(VAULT));
	assert_non_null(h->host = util_strdup(HOST));
	assert_non_null(h->job = util_strdup("nightly"));
	assert_non_null(h->label = util_strdup(label));
	h->kind = SET_BACKUP;
	h->level = level;
	if (level != SET_FULL)
		assert_int_equal(set_header_add_parent(h,
		    "nightly-20261124T020000Z"), 0);
	h->created = 1795572000;        /* 2026-11-25T02:00:00Z */
	h->audit_seq = 4711;
	memset(h->audit_hash, 'a', 64);
	h->files = 12;
	h->bytes = 3000;
	assert_non_null(h->coffer_version = util_strdup("0.1.0"));
}

/*
 * Write a whole set to the target: two volumes, a manifest, RECOVERY.txt,
 * SHA256SUMS, set.json, and (if sign_with) set.json.sig.  The header is
 * left in h.
 */
static void
write_set(struct set_header *h, const char *label, enum set_level level,
    const struct sign_key *sign_with)
{
	static const enum set_role roles[] = {
		SET_ROLE_VOLUME, SET_ROLE_VOLUME, SET_ROLE_MANIFEST,
		SET_ROLE_RECOVERY,
	};
	static const char *const names[] = {
		"vol-0001.tar.zst.age", "vol-0002.tar.zst.age",
		SET_MANIFEST, SET_RECOVERY,
	};
	static const size_t sizes[] = { 200000, 70001, 3000, 500 };
	uint8_t *buf, sha[32], pay[32];
	char *obj, *text, *sig;
	size_t i, len;

	make_header(h, label, level);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		assert_non_null(buf = malloc(sizes[i]));
		fill(buf, sizes[i], (unsigned)i);
		crypto_sha256(buf, sizes[i], sha);
		memset(pay, (int)i, sizeof(pay));
		assert_non_null(obj = set_path(HOST, label, names[i]));
		assert_int_equal(target_put_buf(tgt, obj, buf, sizes[i]), 0);
		assert_int_equal(set_header_add_object(h, names[i], roles[i],
		    sizes[i], sha, roles[i] == SET_ROLE_RECOVERY ? NULL : pay),
		    0);
		free(obj);
		free(buf);
	}
	assert_non_null(text = set_sums_text(h, &len));
	crypto_sha256(text, len, sha);
	assert_non_null(obj = set_path(HOST, label, SET_SUMS));
	assert_int_equal(target_put_buf(tgt, obj, text, len), 0);
	assert_int_equal(set_header_add_object(h, SET_SUMS, SET_ROLE_SUMS, len,
	    sha, NULL), 0);
	free(obj);
	free(text);
	assert_non_null(text = set_header_to_json(h, &len));
	assert_non_null(obj = set_path(HOST, label, SET_JSON));
	assert_int_equal(target_put_buf(tgt, obj, text, len), 0);
	free(obj);
	if (sign_with != NULL) {
		assert_non_null(sig = set_sign(text, len, sign_with));
		assert_non_null(obj = set_path(HOST, label, SET_SIG));
		assert_int_equal(target_put_buf(tgt, obj, sig, strlen(sig)),
		    0);
		free(obj);
		free(sig);
	}
	free(text);
}

/* The local file of object name of set label. */
static char *
local(const char *label, const char *name)
{
	char *p;

	assert_non_null(p = util_asprintf("%s/sets/%s/%s/%s", tmpdir, HOST,
	    label, name));
	return (p);
}

static void
flip_byte(const char *label, const char *name, off_t at)
{
	char *p = local(label, name);
	unsigned char c;
	int fd;

	chmod(p, 0644);
	assert_true((fd = open(p, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
	free(p);
}

static void
test_header_bytes(void **state)
{
	struct set_header h, p;
	uint8_t sha[32];
	char *s, *s2;
	size_t len, len2;

	(void)state;
	make_header(&h, "nightly-20261125T020000Z", SET_INCR);
	memset(sha, 0x11, sizeof(sha));
	assert_int_equal(set_header_add_object(&h, "vol-0001.tar.zst.age",
	    SET_ROLE_VOLUME, 10, sha, sha), 0);
	assert_int_equal(set_header_add_object(&h, "SHA256SUMS",
	    SET_ROLE_SUMS, 236, sha, NULL), 0);
	h.has_retain_until = 1;
	h.retain_until = 1795572000 + 86400;
	assert_non_null(s = set_header_to_json(&h, &len));
	/* Canonical JSON (keys sorted, no spaces) and one newline. */
	assert_string_equal(s,
	    "{\"audit_head\":{\"hash\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"seq\":4711},\"bytes\":3000,"
	    "\"coffer\":\"0.1.0\",\"created\":\"2026-11-25T02:00:00Z\","
	    "\"files\":12,\"format\":1,\"host\":\"web1\",\"job\":\"nightly\","
	    "\"keep\":false,\"kind\":\"backup\",\"label\":"
	    "\"nightly-20261125T020000Z\",\"level\":\"incr\",\"objects\":["
	    "{\"name\":\"vol-0001.tar.zst.age\",\"payload_sha256\":\"1111111"
	    "111111111111111111111111111111111111111111111111111111111\","
	    "\"role\":\"volume\",\"sha256\":\"11111111111111111111111111111"
	    "11111111111111111111111111111111111\",\"size\":10},"
	    "{\"name\":\"SHA256SUMS\",\"role\":\"sums\",\"sha256\":\"1111111"
	    "111111111111111111111111111111111111111111111111111111111\","
	    "\"size\":236}],\"parents\":[\"nightly-20261124T020000Z\"],"
	    "\"retain_until\":\"2026-11-26T02:00:00Z\","
	    "\"vault\":\"5f0c1e2d3b4a59687766554433221100\"}\n");
	assert_int_equal(len, strlen(s));
	assert_int_equal(set_header_parse(s, len, &p), 0);
	assert_int_equal(p.level, SET_INCR);
	assert_int_equal(p.nparents, 1);
	assert_int_equal(p.nobjects, 2);
	assert_int_equal(p.objects[0].has_payload, 1);
	assert_int_equal(p.objects[1].has_payload, 0);
	assert_int_equal(p.has_retain_until, 1);
	assert_int_equal(p.retain_until, 1795572000 + 86400);
	assert_int_equal(p.raw_len, len);
	assert_memory_equal(p.raw, s, len);
	assert_non_null(s2 = set_header_to_json(&p, &len2));
	assert_int_equal(len2, len);
	assert_memory_equal(s2, s, len);
	free(s2);
	set_header_clear(&p);
	free(s);
	set_header_clear(&h);
}

/* Replace the first occurrence of from with to in a valid header text
 * and check that parsing fails. */
static void
refuse_edit(const char *good, const char *from, const char *to)
{
	struct set_header h;
	const char *at;
	char *bad;

	assert_non_null(at = strstr(good, from));
	assert_non_null(bad = util_asprintf("%.*s%s%s", (int)(at - good), good,
	    to, at + strlen(from)));
	if (set_header_parse(bad, strlen(bad), &h) == 0)
		fail_msg("accepted: %s", bad);
	assert_null(h.label);
	free(bad);
}

static void
test_header_refused(void **state)
{
	struct set_header h;
	uint8_t sha[32];
	char *s, *t;

	(void)state;
	make_header(&h, "n1", SET_INCR);
	memset(sha, 0x22, sizeof(sha));
	assert_int_equal(set_header_add_object(&h, "vol-0001.tar.zst.age",
	    SET_ROLE_VOLUME, 10, sha, sha), 0);
	assert_int_equal(set_header_add_object(&h, "RECOVERY.txt",
	    SET_ROLE_RECOVERY, 10, sha, NULL), 0);
	assert_non_null(s = set_header_to_json(&h, NULL));
	set_header_clear(&h);

	refuse_edit(s, "\"format\":1", "\"format\":2");
	refuse_edit(s, "\"format\":1", "\"format\":\"1\"");
	refuse_edit(s, "\"format\":1,", "");
	refuse_edit(s, "\"label\":\"n1\"", "\"label\":\"..\"");
	refuse_edit(s, "\"label\":\"n1\"", "\"label\":\"a/b\"");
	refuse_edit(s, "\"host\":\"web1\"", "\"host\":\"\"");
	refuse_edit(s, "\"level\":\"incr\"", "\"level\":\"full\"");
	refuse_edit(s, "\"level\":\"incr\"", "\"level\":\"auto\"");
	refuse_edit(s, "\"kind\":\"backup\"", "\"kind\":\"other\"");
	refuse_edit(s, "\"parents\":[\"nightly-20261124T020000Z\"]",
	    "\"parents\":[\"../x\"]");
	refuse_edit(s, "\"parents\":[\"nightly-20261124T020000Z\"]",
	    "\"parents\":[]");
	refuse_edit(s, "2026-11-25T02:00:00Z", "2026-11-25 02:00:00");
	refuse_edit(s, "2026-11-25T02:00:00Z", "2026-13-25T02:00:00Z");
	refuse_edit(s, "\"keep\":false", "\"keep\":0");
	refuse_edit(s, "\"vault\":\"5f0c", "\"vault\":\"5F0C");
	refuse_edit(s, "\"seq\":4711", "\"seq\":-1");
	refuse_edit(s, "\"name\":\"vol-0001.tar.zst.age\"",
	    "\"name\":\"../vol-0001.tar.zst.age\"");
	refuse_edit(s, "\"name\":\"vol-0001.tar.zst.age\"",
	    "\"name\":\"sub/vol-0001.tar.zst.age\"");
	refuse_edit(s, "\"name\":\"vol-0001.tar.zst.age\"",
	    "\"name\":\"set.json.sig\"");
	refuse_edit(s, "\"name\":\"vol-0001.tar.zst.age\"",
	    "\"name\":\"RECOVERY.txt\"");   /* twice */
	refuse_edit(s, "\"role\":\"volume\"", "\"role\":\"disk\"");
	refuse_edit(s, "\"size\":10", "\"size\":1e3");
	refuse_edit(s, "\"sha256\":\"2222", "\"sha256\":\"222");
	refuse_edit(s, "\"role\":\"recovery\",",
	    "\"payload_sha256\":\"2222222222222222222222222222222222222222"
	    "222222222222222222222222\",\"role\":\"recovery\",");
	refuse_edit(s, "\"payload_sha256\":\"2222222222222222222222222222"
	    "222222222222222222222222222222222222\",", "");
	refuse_edit(s, "{", "[");
	refuse_edit(s, "\"files\":12", "\"files\":12,\"files\":13");

	/* Unknown keys are ignored. */
	assert_non_null(t = util_asprintf("{\"zzz\":{\"new\":true},%s",
	    s + 1));
	assert_int_equal(set_header_parse(t, strlen(t), &h), 0);
	set_header_clear(&h);
	free(t);
	free(s);

	/* The builder refuses what the parser would. */
	make_header(&h, "n2", SET_FULL);
	assert_int_equal(set_header_add_object(&h, "a/b", SET_ROLE_VOLUME,
	    1, sha, sha), -1);
	assert_int_equal(set_header_add_parent(&h, ".."), -1);
	assert_int_equal(set_header_add_parent(&h, "p"), 0);
	assert_null(set_header_to_json(&h, NULL));  /* full with a parent */
	set_header_clear(&h);
}

static void
test_sign_and_load(void **state)
{
	struct set_header h, got;
	char *p;

	(void)state;
	write_set(&h, "good", SET_FULL, key);
	assert_int_equal(set_load(tgt, HOST, "good", pinned, &got, 0),
	    SET_LOAD_OK);
	assert_string_equal(got.label, "good");
	assert_string_equal(got.signer, sign_key_pubkey(key)->fpr);
	assert_int_equal(got.nobjects, 5);
	assert_int_equal(got.raw_len, strlen(got.raw));
	set_header_clear(&got);

	/* The signature file really is the signature of set.json's bytes. */
	p = local("good", SET_SIG);
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	set_header_clear(&h);
}

static void
test_unpinned_signer(void **state)
{
	struct set_header h, got;

	(void)state;
	write_set(&h, "by-other", SET_FULL, other);
	capture_start();
	assert_int_equal(set_load(tgt, HOST, "by-other", pinned, &got, 0),
	    SET_LOAD_BAD);
	capture_end();
	assert_null(got.label);
	assert_non_null(strstr(captured, sign_key_pubkey(other)->fpr));
	assert_non_null(strstr(captured, "unpinned"));
	set_header_clear(&h);
}

static void
test_flipped_header(void **state)
{
	struct set_header h, got;

	(void)state;
	write_set(&h, "flipped", SET_FULL, key);
	flip_byte("flipped", SET_JSON, 40);
	capture_start();
	assert_int_equal(set_load(tgt, HOST, "flipped", pinned, &got, 0),
	    SET_LOAD_BAD);
	capture_end();
	assert_non_null(strstr(captured, "bad signature"));
	assert_null(got.label);
	set_header_clear(&h);
}

static void
test_not_committed(void **state)
{
	struct set_header h, got;

	(void)state;
	write_set(&h, "uncommitted", SET_FULL, NULL);
	capture_start();
	assert_int_equal(set_load(tgt, HOST, "uncommitted", pinned, &got, 0),
	    SET_LOAD_MISSING);
	capture_end();
	assert_non_null(strstr(captured, "not committed"));
	capture_start();
	assert_int_equal(set_load(tgt, HOST, "uncommitted", pinned, &got,
	    SET_LOAD_QUIET_MISSING), SET_LOAD_MISSING);
	capture_end();
	assert_string_equal(captured, "");
	assert_int_equal(set_load(tgt, HOST, "never-made", pinned, &got,
	    SET_LOAD_QUIET_MISSING), SET_LOAD_MISSING);
	set_header_clear(&h);
}

static void
test_path_mismatch(void **state)
{
	struct set_header h, got;
	char *json, *sig, *obj;
	size_t len;

	(void)state;
	/* A validly signed header of set "real" placed as set "copy". */
	make_header(&h, "real", SET_FULL);
	assert_non_null(json = set_header_to_json(&h, &len));
	assert_non_null(sig = set_sign(json, len, key));
	assert_non_null(obj = set_path(HOST, "copy", SET_JSON));
	assert_int_equal(target_put_buf(tgt, obj, json, len), 0);
	free(obj);
	assert_non_null(obj = set_path(HOST, "copy", SET_SIG));
	assert_int_equal(target_put_buf(tgt, obj, sig, strlen(sig)), 0);
	free(obj);
	capture_start();
	assert_int_equal(set_load(tgt, HOST, "copy", pinned, &got, 0),
	    SET_LOAD_BAD);
	capture_end();
	assert_non_null(strstr(captured, "names set 'web1/real'"));
	free(json);
	free(sig);
	set_header_clear(&h);
}

struct listing {
	char text[1024];
};

static int
list_add(void *cookie, const char *host, const char *label)
{
	struct listing *l = cookie;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof(l->text) - n, "%s/%s\n", host, label);
	return (0);
}

static void
test_list(void **state)
{
	struct set_header h;
	struct listing l;
	struct target *t2;
	char dir[64];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/v2", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_non_null(t2 = target_open_local(dir, HOST, RUN));
	assert_int_equal(target_put_buf(t2, "sets/web1/b/set.json.sig", "x",
	    1), 0);
	assert_int_equal(target_put_buf(t2, "sets/web1/a/set.json.sig", "x",
	    1), 0);
	assert_int_equal(target_put_buf(t2, "sets/web1/c/set.json", "x", 1),
	    0);
	assert_int_equal(target_put_buf(t2, "sets/db2/z/set.json.sig", "x", 1),
	    0);
	assert_int_equal(target_put_buf(t2, "sets/web1/d/sub/set.json.sig",
	    "x", 1), 0);
	assert_int_equal(target_put_buf(t2, "sets/web10/e/set.json.sig", "x",
	    1), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(set_list(t2, NULL, list_add, &l), 0);
	assert_string_equal(l.text, "db2/z\nweb1/a\nweb1/b\nweb10/e\n");
	memset(&l, 0, sizeof(l));
	assert_int_equal(set_list(t2, "web1", list_add, &l), 0);
	assert_string_equal(l.text, "web1/a\nweb1/b\n");
	target_free(t2);
	(void)h;
}

struct report {
	char text[1024];
};

static int
report_add(void *cookie, const struct set_object *o,
    enum set_object_status st)
{
	struct report *r = cookie;
	size_t n = strlen(r->text);

	snprintf(r->text + n, sizeof(r->text) - n, "%s %s\n", o->name,
	    set_object_status_name(st));
	return (0);
}

static void
test_verify_objects(void **state)
{
	struct set_header h;
	struct report r;
	char *p;

	(void)state;
	write_set(&h, "checked", SET_INCR, key);
	memset(&r, 0, sizeof(r));
	assert_int_equal(set_verify_objects(tgt, &h, report_add, &r), 0);
	assert_string_equal(r.text, "vol-0001.tar.zst.age ok\n"
	    "vol-0002.tar.zst.age ok\nmanifest.jsonl.zst.age ok\n"
	    "RECOVERY.txt ok\nSHA256SUMS ok\n");

	/* One flipped bit, one truncated object, one lost object. */
	flip_byte("checked", "vol-0002.tar.zst.age", 70000);
	p = local("checked", SET_MANIFEST);
	assert_int_equal(truncate(p, 2999), 0);
	free(p);
	p = local("checked", SET_RECOVERY);
	assert_int_equal(unlink(p), 0);
	free(p);
	memset(&r, 0, sizeof(r));
	capture_start();
	assert_int_equal(set_verify_objects(tgt, &h, report_add, &r), 3);
	capture_end();
	assert_string_equal(r.text, "vol-0001.tar.zst.age ok\n"
	    "vol-0002.tar.zst.age damaged\n"
	    "manifest.jsonl.zst.age size mismatch\n"
	    "RECOVERY.txt missing\nSHA256SUMS ok\n");
	assert_non_null(strstr(captured, "set 'web1/checked': object "
	    "'vol-0002.tar.zst.age' is damaged"));
	assert_non_null(strstr(captured, "'RECOVERY.txt' is missing"));
	set_header_clear(&h);
}

static void
test_sums_with_sha256sum(void **state)
{
	struct set_header h;
	char *cmd, *p;
	size_t len;
	char *text;

	(void)state;
	write_set(&h, "summed", SET_FULL, key);
	assert_non_null(text = set_sums_text(&h, &len));
	/* Volumes in order, then the manifest, then RECOVERY.txt. */
	assert_int_equal(len, 4 * (64 + 2 + 1) + strlen("vol-0001.tar.zst.age"
	    "vol-0002.tar.zst.age" SET_MANIFEST SET_RECOVERY));
	assert_non_null(strstr(text, "  vol-0001.tar.zst.age\n"));
	assert_true(strstr(text, "vol-0002") < strstr(text, SET_MANIFEST));
	assert_true(strstr(text, SET_MANIFEST) < strstr(text, SET_RECOVERY));
	assert_null(strstr(text, "SHA256SUMS"));
	free(text);
	p = local("summed", "");
	assert_non_null(cmd = util_asprintf("cd '%s' && sha256sum --quiet "
	    "-c SHA256SUMS >/dev/null 2>&1", p));
	assert_int_equal(system(cmd), 0);
	flip_byte("summed", "vol-0001.tar.zst.age", 5);
	assert_true(system(cmd) != 0);
	free(cmd);
	free(p);
	set_header_clear(&h);
}

struct mem {
	const uint8_t *buf;
	size_t len, pos;
	uint8_t *out;
	size_t outlen, outcap;
};

static int
mem_write(void *cookie, const void *p, size_t n)
{
	struct mem *m = cookie;

	if (m->outlen + n > m->outcap) {
		m->outcap = (m->outlen + n) * 2;
		assert_non_null(m->out = realloc(m->out, m->outcap));
	}
	memcpy(m->out + m->outlen, p, n);
	m->outlen += n;
	return (0);
}

static ssize_t
mem_read(void *cookie, void *p, size_t n)
{
	struct mem *m = cookie;

	if (n > 1000)
		n = 1000;       /* the header arrives in pieces */
	if (n > m->len - m->pos)
		n = m->len - m->pos;
	memcpy(p, m->buf + m->pos, n);
	m->pos += n;
	return ((ssize_t)n);
}

static void
test_payload_hash(void **state)
{
	struct age_recipients *rs;
	struct age_encryptor *e;
	struct mem m = { 0 };
	char id[AGE_IDENTITY_MAX], rcpt[AGE_RECIPIENT_MAX];
	uint8_t plain[100000], sha[32], pay[32], want[32];
	uint64_t size, hlen;
	size_t found;

	(void)state;
	fill(plain, sizeof(plain), 9);
	assert_int_equal(age_keygen(id, rcpt), 0);
	assert_non_null(rs = age_recipients_new());
	assert_int_equal(age_recipients_add(rs, rcpt), 0);
	assert_int_equal(age_recipients_add(rs, rcpt), 0);
	assert_non_null(e = age_encrypt_new(rs, 0, mem_write, &m));
	assert_int_equal(age_encrypt_write(e, plain, sizeof(plain)), 0);
	assert_int_equal(age_encrypt_finish(e), 0);
	hlen = age_encrypt_header_len(e);
	age_encrypt_free(e);
	age_recipients_free(rs);
	assert_int_equal(age_header_length(m.out, m.outlen, &found), 1);
	assert_int_equal(found, hlen);
	assert_int_equal(age_header_length(m.out, hlen - 1, &found), 0);
	assert_int_equal(age_header_length("age-encryption.org/v2\n", 22,
	    &found), -1);

	m.buf = m.out;
	m.len = m.outlen;
	assert_int_equal(set_object_hash(mem_read, &m, &size, sha, pay), 1);
	assert_int_equal(size, m.outlen);
	crypto_sha256(m.out, m.outlen, want);
	assert_memory_equal(sha, want, 32);
	crypto_sha256(m.out + hlen, m.outlen - hlen, want);
	assert_memory_equal(pay, want, 32);

	/* Not age: whole hash only, payload hash zero. */
	m.buf = plain;
	m.len = sizeof(plain);
	m.pos = 0;
	assert_int_equal(set_object_hash(mem_read, &m, &size, sha, pay), 0);
	crypto_sha256(plain, sizeof(plain), want);
	assert_memory_equal(sha, want, 32);
	memset(want, 0, 32);
	assert_memory_equal(pay, want, 32);
	free(m.out);
}

static void
test_to_catalog(void **state)
{
	struct set_header h, got;
	struct catalog_set cs;

	(void)state;
	write_set(&h, "cataloged", SET_INCR, key);
	assert_int_equal(set_load(tgt, HOST, "cataloged", pinned, &got, 0),
	    SET_LOAD_OK);
	assert_int_equal(set_header_to_catalog(&got, 42, &cs), 0);
	assert_int_equal(cs.vault, 42);
	assert_string_equal(cs.label, "cataloged");
	assert_string_equal(cs.level, "incr");
	assert_string_equal(cs.kind, "backup");
	assert_int_equal(cs.nparents, 1);
	assert_string_equal(cs.parents[0], "nightly-20261124T020000Z");
	assert_int_equal(cs.created, 1795572000);
	assert_string_equal(cs.header, got.raw);
	assert_string_equal(cs.signer, sign_key_pubkey(key)->fpr);
	assert_int_equal(cs.nobjects, 5);
	assert_string_equal(cs.objects[2].role, "manifest");
	assert_int_equal(strlen(cs.objects[2].payload_sha256), 64);
	assert_string_equal(cs.objects[3].payload_sha256, "");
	assert_int_equal(cs.files, 12);
	catalog_set_clear(&cs);
	set_header_clear(&got);
	set_header_clear(&h);
}

static int
setup(void **state)
{
	uint8_t seed[32];
	char dir[64];

	(void)state;
	if (crypto_init() != 0 || mkdtemp(tmpdir) == NULL)
		return (-1);
	snprintf(dir, sizeof(dir), "%s", tmpdir);
	if ((tgt = target_open_local(dir, HOST, RUN)) == NULL)
		return (-1);
	memset(seed, 1, sizeof(seed));
	key = sign_key_from_seed(seed, "web1");
	memset(seed, 2, sizeof(seed));
	other = sign_key_from_seed(seed, "intruder");
	if (key == NULL || other == NULL || (pinned = sign_pinned_new()) ==
	    NULL || sign_pinned_add(pinned, sign_key_pubkey(key)) != 0)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{

	(void)state;
	target_free(tgt);
	sign_key_free(key);
	sign_key_free(other);
	sign_pinned_free(pinned);
	return (util_remove_tree(tmpdir));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_header_refused),
		cmocka_unit_test(test_sign_and_load),
		cmocka_unit_test(test_unpinned_signer),
		cmocka_unit_test(test_flipped_header),
		cmocka_unit_test(test_not_committed),
		cmocka_unit_test(test_path_mismatch),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_verify_objects),
		cmocka_unit_test(test_sums_with_sha256sum),
		cmocka_unit_test(test_payload_hash),
		cmocka_unit_test(test_to_catalog),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
