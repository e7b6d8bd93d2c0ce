/*
 * test-manifest: manifest entries as canonical JSON lines, path/path_b64,
 * strict UTF-8, path checks, the streaming writer and reader.  The writer
 * and the parser are compared with their jansson versions (manifest-ref.c):
 * the same bytes as cjson_dumps of the old object for every kind of entry,
 * and the same verdict and message as json_loadb and the old field checks
 * for lines mutated at random.  Malformed lines follow RFC 8259 (JSON) and
 * RFC 3629 (UTF-8).
 */
#include "compat.h"

#include <sys/resource.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "cjson.h"
#include "manifest.h"
#include "warnp.h"

#include "manifest-ref.h"

/* An in-memory byte sink/source. */
struct mem {
	char *buf;
	size_t len, cap, pos;
	size_t chunk;           /* reader: at most this much per call */
};

static int
mem_write(void *cookie, const void *p, size_t n)
{
	struct mem *m = cookie;

	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2 + 16;
		assert_non_null(m->buf = realloc(m->buf, m->cap));
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	return (0);
}

static ssize_t
mem_read(void *cookie, void *p, size_t n)
{
	struct mem *m = cookie;

	if (m->chunk > 0 && n > m->chunk)
		n = m->chunk;
	if (n > m->len - m->pos)
		n = m->len - m->pos;
	memcpy(p, m->buf + m->pos, n);
	m->pos += n;
	return ((ssize_t)n);
}

static char *
to_json(const struct manifest_entry *e)
{
	char *s;
	size_t len;

	assert_non_null(s = manifest_entry_to_json(e, &len));
	assert_int_equal(strlen(s), len);
	return (s);
}

/* Parse s, serialise again: the same bytes. */
static void
roundtrip(const char *s, struct manifest_entry *out)
{
	char *again;

	assert_int_equal(manifest_entry_parse(s, strlen(s), 1, out), 0);
	again = to_json(out);
	assert_string_equal(again, s);
	free(again);
}

static void
test_file_entry(void **state)
{
	struct manifest_entry e, p;
	char *s;

	(void)state;
	manifest_entry_init(&e);
	e.path = "etc/ssh/sshd_config";
	e.path_len = strlen(e.path);
	e.type = MANIFEST_FILE;
	e.has_size = 1;
	e.size = 3242;
	e.has_mode = 1;
	e.mode = 0644;
	e.has_owner = 1;
	e.uid = 0;
	e.gid = 0;
	e.user = "root";
	e.group = "root";
	e.has_mtime = 1;
	e.mtime = 1764036000;
	e.mtime_nsec = 123456789;
	e.has_sha256 = 1;
	memset(e.sha256, 0xab, 32);
	e.volume = 2;
	s = to_json(&e);
	/* Keys sorted, no spaces, mode an octal string. */
	assert_string_equal(s, "{\"gid\":0,\"group\":\"root\",\"mode\":\"0644\","
	    "\"mtime\":1764036000,\"mtime_nsec\":123456789,"
	    "\"path\":\"etc/ssh/sshd_config\",\"sha256\":\"abababababababab"
	    "abababababababababababababababababababababababab\",\"size\":3242,"
	    "\"type\":\"file\",\"uid\":0,\"user\":\"root\",\"volume\":2}");
	roundtrip(s, &p);
	assert_int_equal(p.type, MANIFEST_FILE);
	assert_int_equal(p.size, 3242);
	assert_int_equal(p.mode, 0644);
	assert_string_equal(p.user, "root");
	assert_int_equal(p.mtime, 1764036000);
	assert_int_equal(p.mtime_nsec, 123456789);
	assert_memory_equal(p.sha256, e.sha256, 32);
	assert_int_equal(p.volume, 2);
	assert_null(p.target);
	assert_null(p.in);
	manifest_entry_clear(&p);
	free(s);
}

static void
test_every_type(void **state)
{
	static const char *const lines[] = {
		"{\"mode\":\"0755\",\"path\":\"a\",\"type\":\"dir\","
		    "\"volume\":1}",
		"{\"path\":\"a/l\",\"target\":\"../../x y\","
		    "\"type\":\"symlink\",\"volume\":1}",
		"{\"link_group\":7,\"path\":\"a/f\",\"sha256\":\"00000000000"
		    "00000000000000000000000000000000000000000000000000000\","
		    "\"size\":5,\"type\":\"file\",\"volume\":1}",
		"{\"link_group\":7,\"path\":\"a/h\",\"target\":\"a/f\","
		    "\"type\":\"hardlink\",\"volume\":1}",
		"{\"mode\":\"0600\",\"path\":\"a/p\",\"type\":\"fifo\","
		    "\"volume\":1}",
		"{\"devmajor\":1,\"devminor\":3,\"path\":\"dev/null\","
		    "\"type\":\"chr\",\"volume\":1}",
		"{\"devmajor\":8,\"devminor\":0,\"path\":\"dev/sda\","
		    "\"type\":\"blk\",\"volume\":1}",
		"{\"in\":\"nightly-20261124T020000Z\",\"path\":\"a/u\","
		    "\"size\":9,\"type\":\"file\"}",
		"{\"deleted\":true,\"path\":\"a/gone\",\"type\":\"file\"}",
		"{\"deleted\":true,\"path\":\"a/gone2\"}",
		"{\"mode\":\"4755\",\"parts\":[{\"offset\":0,\"sha256\":\"1111"
		    "111111111111111111111111111111111111111111111111111111111111"
		    "\",\"size\":100,\"volume\":1},{\"offset\":100,\"size\":50,"
		    "\"volume\":2}],\"path\":\"big.img\",\"size\":150,"
		    "\"type\":\"file\"}",
		"{\"mtime\":-5,\"mtime_nsec\":0,\"path\":\"old\","
		    "\"type\":\"file\"}",
	};
	struct manifest_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(lines); i++) {
		roundtrip(lines[i], &e);
		manifest_entry_clear(&e);
	}
	assert_int_equal(manifest_entry_parse(lines[3], strlen(lines[3]), 4,
	    &e), 0);
	assert_int_equal(e.type, MANIFEST_HARDLINK);
	assert_int_equal(e.link_group, 7);
	assert_string_equal(e.target, "a/f");
	manifest_entry_clear(&e);
	assert_int_equal(manifest_entry_parse(lines[5], strlen(lines[5]), 6,
	    &e), 0);
	assert_int_equal(e.has_dev, 1);
	assert_int_equal(e.devminor, 3);
	manifest_entry_clear(&e);
	assert_int_equal(manifest_entry_parse(lines[9], strlen(lines[9]), 6,
	    &e), 0);
	assert_int_equal(e.deleted, 1);
	assert_int_equal(e.type, MANIFEST_NONE);
	manifest_entry_clear(&e);
	assert_int_equal(manifest_entry_parse(lines[10], strlen(lines[10]),
	    6, &e), 0);
	assert_int_equal(e.nparts, 2);
	assert_int_equal(e.mode, 04755);
	assert_int_equal(e.parts[1].offset, 100);
	assert_int_equal(e.parts[1].volume, 2);
	assert_int_equal(e.parts[0].has_sha256, 1);
	assert_int_equal(e.parts[1].has_sha256, 0);
	manifest_entry_clear(&e);
}

static void
test_binary_names(void **state)
{
	/* Latin-1 "café" (not UTF-8), a newline, quotes and a backslash. */
	static const char latin1[] = "home/caf\xe9/x";
	static const char odd[] = "tmp/a\nb\"c'd\\e";
	static const char utf8[] = "home/caf\xc3\xa9";
	struct manifest_entry e, p;
	char *s;

	(void)state;
	manifest_entry_init(&e);
	e.type = MANIFEST_SYMLINK;
	e.path = (char *)latin1;
	e.path_len = sizeof(latin1) - 1;
	e.target = "\xff\xfe";
	e.target_len = 2;
	s = to_json(&e);
	assert_non_null(strstr(s, "\"path_b64\":\"aG9tZS9jYWbpL3g=\""));
	assert_non_null(strstr(s, "\"target_b64\":\"//4=\""));
	assert_null(strstr(s, "\"path\":"));
	roundtrip(s, &p);
	assert_int_equal(p.path_len, sizeof(latin1) - 1);
	assert_memory_equal(p.path, latin1, p.path_len);
	assert_int_equal(p.target_len, 2);
	assert_memory_equal(p.target, "\xff\xfe", 2);
	manifest_entry_clear(&p);
	free(s);

	e.type = MANIFEST_FILE;
	e.target = NULL;
	e.target_len = 0;
	e.path = (char *)odd;
	e.path_len = sizeof(odd) - 1;
	s = to_json(&e);
	assert_string_equal(s, "{\"path\":\"tmp/a\\nb\\\"c'd\\\\e\","
	    "\"type\":\"file\"}");
	assert_null(strchr(s, '\n'));
	roundtrip(s, &p);
	assert_memory_equal(p.path, odd, sizeof(odd) - 1);
	manifest_entry_clear(&p);
	free(s);

	e.path = (char *)utf8;
	e.path_len = sizeof(utf8) - 1;
	s = to_json(&e);
	assert_string_equal(s, "{\"path\":\"home/caf\xc3\xa9\","
	    "\"type\":\"file\"}");
	free(s);
}

static void
test_utf8_strict(void **state)
{
	(void)state;
	assert_true(manifest_utf8_valid("a\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80", 10));
	assert_false(manifest_utf8_valid("\xc0\xaf", 2)); /* overlong / */
	assert_false(manifest_utf8_valid("\xe0\x80\xaf", 3)); /* overlong */
	assert_false(manifest_utf8_valid("\xf0\x80\x80\xaf", 4)); /* overlong */
	assert_false(manifest_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(manifest_utf8_valid("\xf4\x90\x80\x80", 4));  /* >10FFFF */
	assert_false(manifest_utf8_valid("\xc3", 1));              /* cut */
	assert_false(manifest_utf8_valid("\x80", 1));
	assert_false(manifest_utf8_valid("a\0b", 3));
}

static void
test_paths(void **state)
{
	static const char *const good[] = {
		"a", "a/b", "...", "a/.b/c..", ".x", "a b/c",
	};
	static const char *const bad[] = {
		"", "/abs", "../x", "a/../b", "a/./b", ".", "..", "a//b",
		"a/", "a/..", "./a",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(manifest_path_valid(good[i], strlen(good[i])));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(manifest_path_valid(bad[i], strlen(bad[i])));
	assert_false(manifest_path_valid("a\0b", 3));
}

static void
test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"{\"path\":\"../x\",\"type\":\"file\"}",
		"{\"path\":\"/abs\",\"type\":\"file\"}",
		"{\"path\":\"a//b\",\"type\":\"file\"}",
		"{\"path\":\"a/./b\",\"type\":\"file\"}",
		"{\"path\":\"a/\",\"type\":\"file\"}",
		"{\"path\":\"a\\u0000b\",\"type\":\"file\"}",
		"{\"path_b64\":\"Li4veA==\",\"type\":\"file\"}",   /* ../x */
		"{\"path_b64\":\"YQ\",\"type\":\"file\"}",      /* unpadded */
		"{\"path\":\"a\",\"path_b64\":\"YQ==\",\"type\":\"file\"}",
		"{\"path\":\"a\"}",                            /* no type */
		"{\"type\":\"file\"}",                         /* no path */
		"{\"path\":\"a\",\"type\":\"socket\"}",
		"{\"path\":\"a\",\"type\":1}",
		"{\"path\":1,\"type\":\"file\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":\"1\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":-1}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":1.5}",
		"{\"path\":\"a\",\"type\":\"file\",\"mode\":644}",
		"{\"path\":\"a\",\"type\":\"file\",\"mode\":\"9\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"mode\":\"17777\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"uid\":0}",
		"{\"path\":\"a\",\"type\":\"file\",\"uid\":4294967296,"
		    "\"gid\":0}",
		"{\"path\":\"a\",\"type\":\"file\",\"mtime\":1,"
		    "\"mtime_nsec\":1000000000}",
		"{\"path\":\"a\",\"type\":\"file\",\"sha256\":\"AB\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"sha256\":\"ABABABABABAB"
		    "ABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"volume\":0}",
		"{\"path\":\"a\",\"type\":\"file\",\"in\":\"../x\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"deleted\":1}",
		"{\"path\":\"a\",\"type\":\"symlink\"}",
		"{\"path\":\"a\",\"type\":\"hardlink\",\"target\":\"/etc/x\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"parts\":[]}",
		"{\"path\":\"a\",\"type\":\"file\",\"parts\":[{\"offset\":0,"
		    "\"size\":1}]}",
		"{\"path\":\"a\",\"type\":\"file\",\"parts\":{}}",
		"{\"path\":\"a\",\"type\":\"file\",\"type\":\"dir\"}",
		"[\"path\",\"a\"]",
		"{\"path\":\"a\",\"type\":\"file\"} x",
		"",
	};
	struct manifest_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (manifest_entry_parse(bad[i], strlen(bad[i]), i + 1,
		    &e) == 0)
			fail_msg("accepted bad line %zu: %s", i, bad[i]);
		assert_null(e.path);
	}
	/* Unknown keys are ignored. */
	assert_int_equal(manifest_entry_parse("{\"future\":[1],\"path\":\"a\","
	    "\"type\":\"file\"}", 39, 1, &e), 0);
	manifest_entry_clear(&e);
}

static void
test_to_json_refuses(void **state)
{
	struct manifest_entry e;

	(void)state;
	manifest_entry_init(&e);
	e.path = "../x";
	e.path_len = 4;
	e.type = MANIFEST_FILE;
	assert_null(manifest_entry_to_json(&e, NULL));
	e.path = "x";
	e.path_len = 1;
	e.type = MANIFEST_NONE;
	assert_null(manifest_entry_to_json(&e, NULL));
	e.type = MANIFEST_FILE;
	e.has_size = 1;
	e.size = (uint64_t)1 << 60;
	assert_null(manifest_entry_to_json(&e, NULL));
}

static void
test_part_name(void **state)
{
	char *s;
	size_t len;

	(void)state;
	assert_non_null(s = manifest_part_name("var/big", 7, 2, 3, &len));
	assert_string_equal(s, "var/big.coffer-part-0002-of-0003");
	assert_int_equal(len, strlen(s));
	free(s);
	assert_non_null(s = manifest_part_name("b", 1, 7, 12345, NULL));
	assert_string_equal(s, "b.coffer-part-00007-of-12345");
	free(s);
	assert_null(manifest_part_name("b", 1, 4, 3, NULL));
}

static void
test_stream(void **state)
{
	struct mem m = { 0 };
	struct manifest_writer *w;
	struct manifest_reader *r;
	struct manifest_entry e;
	char name[64];
	unsigned i;
	int got;

	(void)state;
	assert_non_null(w = manifest_writer_new(mem_write, &m));
	manifest_entry_init(&e);
	e.type = MANIFEST_FILE;
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "d/file-%05u", i);
		e.path = name;
		e.path_len = strlen(name);
		e.has_size = 1;
		e.size = i;
		assert_int_equal(manifest_writer_add(w, &e), 0);
	}
	/* A bad entry is refused and spoils the writer. */
	e.path = "/abs";
	e.path_len = 4;
	assert_int_equal(manifest_writer_finish(w), 0);
	assert_int_equal(manifest_writer_count(w), 5000);
	assert_int_equal(manifest_writer_add(w, &e), -1);
	assert_int_equal(manifest_writer_finish(w), -1);
	manifest_writer_free(w);
	assert_int_equal(m.buf[m.len - 1], '\n');

	m.chunk = 1000;     /* lines cross read boundaries */
	assert_non_null(r = manifest_reader_new(mem_read, &m));
	for (i = 0; (got = manifest_reader_next(r, &e)) == 1; i++) {
		snprintf(name, sizeof(name), "d/file-%05u", i);
		assert_string_equal(e.path, name);
		assert_int_equal(e.size, i);
		manifest_entry_clear(&e);
	}
	assert_int_equal(got, 0);
	assert_int_equal(i, 5000);
	assert_int_equal(manifest_reader_line(r), 5000);
	manifest_reader_free(r);
	free(m.buf);
}

static void
test_stream_errors(void **state)
{
	struct mem m = { 0 };
	struct manifest_reader *r;
	struct manifest_entry e;
	static const char two[] = "{\"path\":\"a\",\"type\":\"dir\"}\n"
	    "{\"path\":\"a/../b\",\"type\":\"file\"}\n";
	static const char cut[] = "{\"path\":\"a\",\"type\":\"dir\"}\n"
	    "{\"path\":\"b\",\"type\":";
	size_t i;

	(void)state;
	/* A bad second line: -1 after one entry, line number 2. */
	m.buf = (char *)two;
	m.len = sizeof(two) - 1;
	assert_non_null(r = manifest_reader_new(mem_read, &m));
	assert_int_equal(manifest_reader_next(r, &e), 1);
	manifest_entry_clear(&e);
	assert_int_equal(manifest_reader_next(r, &e), -1);
	assert_int_equal(manifest_reader_line(r), 2);
	assert_int_equal(manifest_reader_next(r, &e), -1);
	manifest_reader_free(r);

	/* A truncated last line is an error, not a short manifest. */
	m.buf = (char *)cut;
	m.len = sizeof(cut) - 1;
	m.pos = 0;
	assert_non_null(r = manifest_reader_new(mem_read, &m));
	assert_int_equal(manifest_reader_next(r, &e), 1);
	manifest_entry_clear(&e);
	assert_int_equal(manifest_reader_next(r, &e), -1);
	manifest_reader_free(r);

	/* A huge line is refused without reading it all into memory. */
	memset(&m, 0, sizeof(m));
	m.len = MANIFEST_LINE_MAX + 100;
	assert_non_null(m.buf = malloc(m.len));
	memset(m.buf, 'x', m.len);
	assert_non_null(r = manifest_reader_new(mem_read, &m));
	assert_int_equal(manifest_reader_next(r, &e), -1);
	assert_true(m.pos <= MANIFEST_LINE_MAX + 65536);
	manifest_reader_free(r);
	free(m.buf);

	/* Blank lines are errors; an empty manifest is not. */
	memset(&m, 0, sizeof(m));
	m.buf = (char *)"\n";
	m.len = 1;
	assert_non_null(r = manifest_reader_new(mem_read, &m));
	assert_int_equal(manifest_reader_next(r, &e), -1);
	manifest_reader_free(r);
	m.len = 0;
	m.pos = 0;
	assert_non_null(r = manifest_reader_new(mem_read, &m));
	for (i = 0; i < 2; i++)
		assert_int_equal(manifest_reader_next(r, &e), 0);
	manifest_reader_free(r);
}

/* ------------------------------------------------ against the old code */

/* xorshift64*: the same cases on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{

	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 2685821657736338717ULL);
}

static size_t
rng_below(size_t n)
{

	return (n > 0 ? (size_t)(rng() % n) : 0);
}

static void
assert_str_or_null(const char *a, const char *b)
{

	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Two entries hold the same fields. */
static void
assert_entry_equal(const struct manifest_entry *a,
    const struct manifest_entry *b)
{
	size_t i;

	assert_int_equal(a->path_len, b->path_len);
	assert_memory_equal(a->path, b->path, a->path_len);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->deleted, b->deleted);
	assert_int_equal(a->has_size, b->has_size);
	if (a->has_size)
		assert_true(a->size == b->size);
	assert_int_equal(a->has_mode, b->has_mode);
	if (a->has_mode)
		assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->has_owner, b->has_owner);
	if (a->has_owner) {
		assert_int_equal(a->uid, b->uid);
		assert_int_equal(a->gid, b->gid);
	}
	assert_str_or_null(a->user, b->user);
	assert_str_or_null(a->group, b->group);
	assert_int_equal(a->has_mtime, b->has_mtime);
	if (a->has_mtime) {
		assert_true(a->mtime == b->mtime);
		assert_int_equal(a->mtime_nsec, b->mtime_nsec);
	}
	assert_int_equal(a->has_sha256, b->has_sha256);
	if (a->has_sha256)
		assert_memory_equal(a->sha256, b->sha256, 32);
	assert_int_equal(a->target != NULL, b->target != NULL);
	if (a->target != NULL) {
		assert_int_equal(a->target_len, b->target_len);
		assert_memory_equal(a->target, b->target, a->target_len);
	}
	assert_true(a->link_group == b->link_group);
	assert_int_equal(a->has_dev, b->has_dev);
	if (a->has_dev) {
		assert_int_equal(a->devmajor, b->devmajor);
		assert_int_equal(a->devminor, b->devminor);
	}
	assert_int_equal(a->volume, b->volume);
	assert_str_or_null(a->in, b->in);
	assert_int_equal(a->nparts, b->nparts);
	for (i = 0; i < a->nparts; i++) {
		assert_int_equal(a->parts[i].volume, b->parts[i].volume);
		assert_true(a->parts[i].offset == b->parts[i].offset);
		assert_true(a->parts[i].size == b->parts[i].size);
		assert_int_equal(a->parts[i].has_sha256,
		    b->parts[i].has_sha256);
		if (a->parts[i].has_sha256)
			assert_memory_equal(a->parts[i].sha256,
			    b->parts[i].sha256, 32);
	}
}

/* The old writer: cjson_dumps of the object built the old way. */
static char *
ref_to_json(const struct manifest_entry *e, size_t *len)
{
	json_t *o;
	char *s;

	if ((o = ref_entry_json(e)) == NULL)
		return (NULL);
	s = cjson_dumps(o, len);
	json_decref(o);
	return (s);
}

/* Paths with the bytes that need care: escapes, controls, DEL,
 * multi-byte UTF-8 (RFC 3629), bytes that are not UTF-8, long names. */
static const char *const odd_paths[] = {
	"a", "etc/ssh/sshd_config", "tmp/a\nb\"c'd\\e", "x/\x01\x1f\x7f",
	"t/tab\there\r\f\b", "home/caf\xc3\xa9",
	"u/\xe2\x82\xac\xf0\x9f\x98\x80",
	"u/\xef\xbf\xbf", "home/caf\xe9/x", "b/\xff\xfe", "s/\xed\xa0\x80",
	"o/\xc0\xaf", "q/\"\"\\\\/", "w/ sp ace /x", "...", ".x/..y",
};

static void
fill_part(struct manifest_part *p, uint64_t r, int last)
{

	p->volume = (uint32_t)(last ? UINT32_MAX : 1 + r % 1000);
	p->offset = last ? (uint64_t)CJSON_MAX_INT : r % 100000000000ULL;
	p->size = last ? (uint64_t)CJSON_MAX_INT : (r >> 20) % 1000000;
	p->has_sha256 = (int)(r >> 40) & 1;
	memset(p->sha256, (int)(r >> 48), 32);
	p->sha256[0] = (uint8_t)r;
}

/*
 * Entry number k of the differential runs: the low 15 bits of k choose
 * which optional fields are present, the rest (and the generator) their
 * values; path and target buffers are the caller's.
 */
static void
gen_entry(struct manifest_entry *e, unsigned k, char *path, char *target,
    struct manifest_part *parts, char *user, char *group)
{
	static const char *const names[] = { "root", "alice", "t\xc3\xa9",
	    "q\"\\", "" };
	static const char *const labels[] = { "nightly-20261124T020000Z",
	    "a", "A.b_c-9" };
	const char *src;
	uint64_t r = rng();
	size_t n, i;

	manifest_entry_init(e);
	/* The path: an odd one, a long one, or a plain one. */
	switch (k % 5) {
	case 0:
		src = odd_paths[(k / 5) % ARRAY_SIZE(odd_paths)];
		n = strlen(src);
		memcpy(path, src, n);
		break;
	case 1:
		n = 1 + rng_below(k % 7 == 1 ? MANIFEST_PATH_MAX : 300);
		for (i = 0; i < n; i++)
			path[i] = (char)('a' + rng_below(26));
		if (n > 3)
			path[n / 2] = '/';
		break;
	default:
		n = (size_t)snprintf(path, 64, "d%u/f-%llu", k % 13,
		    (unsigned long long)(r % 100000));
		break;
	}
	e->path = path;
	e->path_len = n;
	if (!manifest_path_valid(path, n)) {
		memcpy(path, "v", 2);
		e->path_len = 1;
	}

	e->deleted = (k >> 0) & 1;
	e->type = (enum manifest_type)((k >> 1) % 8);
	if (e->type == MANIFEST_NONE && !e->deleted)
		e->type = MANIFEST_FILE;
	if ((k >> 2) & 1) {
		e->has_size = 1;
		e->size = k & 0x8000 ? (uint64_t)CJSON_MAX_INT : r % 5000000;
	}
	if ((k >> 3) & 1) {
		e->has_mode = 1;
		e->mode = k & 0x8000 ? 07777 : (uint32_t)(r >> 8) & 07777;
	}
	if ((k >> 4) & 1) {
		e->has_owner = 1;
		e->uid = k & 0x8000 ? UINT32_MAX : (uint32_t)(r >> 3) % 70000;
		e->gid = k & 0x8000 ? UINT32_MAX : (uint32_t)(r >> 5) % 70000;
	}
	if ((k >> 5) & 1) {
		snprintf(user, 32, "%s", names[(r >> 9) % ARRAY_SIZE(names)]);
		snprintf(group, 32, "%s", names[(r >> 13) % ARRAY_SIZE(names)]);
		e->user = user;
		e->group = (r >> 17) & 1 ? group : NULL;
	}
	if ((k >> 6) & 1) {
		e->has_mtime = 1;
		switch ((r >> 20) % 4) {
		case 0:
			e->mtime = -(int64_t)(r % 3000000000ULL);
			break;
		case 1:
			e->mtime = CJSON_MAX_INT;
			break;
		case 2:
			e->mtime = -CJSON_MAX_INT;
			break;
		default:
			e->mtime = (int64_t)(r % 3000000000ULL);
			break;
		}
		e->mtime_nsec = (r >> 22) & 1 ? 999999999 :
		    (uint32_t)((r >> 24) % 1000000000);
	}
	if ((k >> 7) & 1) {
		e->has_sha256 = 1;
		for (i = 0; i < 32; i++)
			e->sha256[i] = (uint8_t)(r >> (i % 8 * 8)) ^ (uint8_t)i;
	}
	if ((k >> 8) & 1 || e->type == MANIFEST_SYMLINK ||
	    e->type == MANIFEST_HARDLINK) {
		src = e->type == MANIFEST_HARDLINK ? "d1/f-1" :
		    odd_paths[(r >> 30) % ARRAY_SIZE(odd_paths)];
		if (e->type != MANIFEST_HARDLINK && (r >> 35) % 3 == 0)
			src = "../../x y";
		memcpy(target, src, strlen(src));
		e->target = target;
		e->target_len = strlen(src);
	}
	if ((k >> 9) & 1)
		e->link_group = k & 0x8000 ? (uint64_t)CJSON_MAX_INT :
		    1 + r % 1000;
	if ((k >> 10) & 1) {
		e->has_dev = 1;
		e->devmajor = k & 0x8000 ? UINT32_MAX : (uint32_t)r % 300;
		e->devminor = (uint32_t)(r >> 16) % 300;
	}
	if ((k >> 11) & 1)
		e->volume = k & 0x8000 ? UINT32_MAX : 1 + (uint32_t)r % 9999;
	if ((k >> 12) & 1)
		e->in = (char *)labels[(r >> 40) % ARRAY_SIZE(labels)];
	if ((k >> 13) & 1) {
		e->nparts = 1 + rng_below(4);
		for (i = 0; i < e->nparts; i++)
			fill_part(&parts[i], rng(), k & 0x8000 &&
			    i + 1 == e->nparts);
		e->parts = parts;
	}
}

struct gen {
	struct manifest_entry e;
	char path[MANIFEST_PATH_MAX + 1];
	char target[64];
	struct manifest_part parts[4];
	char user[32], group[32];
};

static void
gen(struct gen *g, unsigned k)
{

	gen_entry(&g->e, k, g->path, g->target, g->parts, g->user, g->group);
}

/* Every combination of fields (bit 15: the largest values), odd and long
 * paths: the new bytes are cjson_dumps of the old object, and both
 * parsers read them back as the entry. */
static void
test_writer_vs_cjson(void **state)
{
	struct gen *g;
	struct manifest_entry p, q;
	char *s, *r, msg[512];
	size_t slen, rlen;
	unsigned k;

	(void)state;
	assert_non_null(g = malloc(sizeof(*g)));
	for (k = 0; k < 65536; k++) {
		gen(g, k);
		if ((s = manifest_entry_to_json(&g->e, &slen)) == NULL)
			fail_msg("entry %u refused", k);
		assert_non_null(r = ref_to_json(&g->e, &rlen));
		if (slen != rlen || memcmp(s, r, slen) != 0)
			fail_msg("entry %u:\n new %s\n old %s", k, s, r);
		assert_int_equal(strlen(s), slen);
		assert_int_equal(manifest_entry_parse(s, slen, k + 1, &p), 0);
		assert_entry_equal(&g->e, &p);
		assert_int_equal(ref_entry_parse(s, slen, k + 1, &q, msg,
		    sizeof(msg)), 0);
		assert_entry_equal(&p, &q);
		manifest_entry_clear(&p);
		manifest_entry_clear(&q);
		free(s);
		free(r);
	}
	free(g);
}

/* Numbers beyond 2^53 - 1 are refused by both writers. */
static void
test_writer_out_of_range(void **state)
{
	struct manifest_entry e;
	struct manifest_part part = { 1, 0, 0, 0, { 0 } };
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		manifest_entry_init(&e);
		e.path = "a";
		e.path_len = 1;
		e.type = MANIFEST_FILE;
		part.offset = part.size = 0;
		switch (i) {
		case 0:
			e.has_size = 1;
			e.size = (uint64_t)CJSON_MAX_INT + 1;
			break;
		case 1:
			e.link_group = UINT64_MAX;
			break;
		case 2:
			part.offset = (uint64_t)CJSON_MAX_INT + 1;
			e.parts = &part;
			e.nparts = 1;
			break;
		default:
			part.size = (uint64_t)1 << 60;
			e.parts = &part;
			e.nparts = 1;
			break;
		}
		assert_null(manifest_entry_to_json(&e, NULL));
		assert_null(ref_to_json(&e, NULL));
	}
	/* mtime: 2^53 - 1 either way and no further. */
	manifest_entry_init(&e);
	e.path = "a";
	e.path_len = 1;
	e.type = MANIFEST_DIR;
	e.has_mtime = 1;
	e.mtime = -CJSON_MAX_INT - 1;
	assert_null(manifest_entry_to_json(&e, NULL));
	e.mtime = CJSON_MAX_INT + 1;
	assert_null(manifest_entry_to_json(&e, NULL));
}

/* manifest_entry_append_json adds to what is there, and leaves it alone
 * when it fails. */
static void
test_append(void **state)
{
	struct manifest_entry e;
	char *buf = NULL, *one;
	size_t len = 0, cap = 0, olen, i;

	(void)state;
	manifest_entry_init(&e);
	e.path = "d/x";
	e.path_len = 3;
	e.type = MANIFEST_FILE;
	assert_non_null(one = manifest_entry_to_json(&e, &olen));
	for (i = 0; i < 1000; i++) {
		assert_int_equal(manifest_entry_append_json(&e, &buf, &len,
		    &cap), 0);
		assert_int_equal(len, (i + 1) * olen);
		assert_true(cap > len);
		assert_int_equal(buf[len], '\0');
		assert_memory_equal(buf + i * olen, one, olen);
	}
	e.path = "../x";
	e.path_len = 4;
	assert_int_equal(manifest_entry_append_json(&e, &buf, &len, &cap), -1);
	assert_int_equal(len, 1000 * olen);
	assert_int_equal(buf[len], '\0');
	e.path = "x";
	e.path_len = 1;
	e.has_size = 1;
	e.size = UINT64_MAX;
	assert_int_equal(manifest_entry_append_json(&e, &buf, &len, &cap), -1);
	assert_int_equal(len, 1000 * olen);
	assert_int_equal(buf[len], '\0');
	assert_memory_equal(buf + 999 * olen, one, olen);
	free(buf);
	free(one);
}

/* stderr of manifest_entry_parse, without the program name. */
static int cap_fd = -1;

static int
parse_capture(const char *line, size_t len, unsigned long long lineno,
    struct manifest_entry *e, char *msg, size_t msgsize)
{
	int saved, rc;
	ssize_t n;
	char *nl;

	if (cap_fd < 0) {
		FILE *f;

		assert_non_null(f = tmpfile());
		assert_true((cap_fd = dup(fileno(f))) >= 0);
		fclose(f);
	}
	assert_int_equal(ftruncate(cap_fd, 0), 0);
	assert_true(lseek(cap_fd, 0, SEEK_SET) == 0);
	fflush(stderr);
	assert_true((saved = dup(2)) >= 0);
	assert_true(dup2(cap_fd, 2) >= 0);
	rc = manifest_entry_parse(line, len, lineno, e);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	assert_true((n = pread(cap_fd, msg, msgsize - 1, 0)) >= 0);
	msg[n] = '\0';
	if ((nl = strchr(msg, '\n')) != NULL)
		*nl = '\0';
	if (strncmp(msg, "coffer: ", 8) == 0)
		memmove(msg, msg + 8, strlen(msg + 8) + 1);
	return (rc);
}

/*
 * Both parsers give the same verdict on line; when they refuse it, the
 * same message, but for JSON syntax errors, where only the prefix
 * "manifest line N: invalid JSON: " has to match; when they take it, the
 * same entry.  Returns the verdict.
 */
static int
compare_parsers(const char *line, size_t len, unsigned long long lineno)
{
	struct manifest_entry p, q;
	char mnew[512], mold[512], pfx[64];
	int rn, ro;

	rn = parse_capture(line, len, lineno, &p, mnew, sizeof(mnew));
	ro = ref_entry_parse(line, len, lineno, &q, mold, sizeof(mold));
	if (rn != ro)
		fail_msg("verdicts differ (new %d, old %d) on line %llu "
		    "'%.*s': new '%s', old '%s'", rn, ro, lineno, (int)len,
		    line, mnew, mold);
	if (rn == 0) {
		assert_string_equal(mnew, "");
		assert_entry_equal(&p, &q);
	} else {
		assert_null(p.path);
		snprintf(pfx, sizeof(pfx), "manifest line %llu: invalid JSON: ",
		    lineno);
		if (strncmp(mold, pfx, strlen(pfx)) == 0) {
			if (strncmp(mnew, pfx, strlen(pfx)) != 0)
				fail_msg("line '%.*s': new '%s', old '%s'",
				    (int)len, line, mnew, mold);
		} else if (strcmp(mnew, mold) != 0)
			fail_msg("line '%.*s': new '%s', old '%s'", (int)len,
			    line, mnew, mold);
	}
	manifest_entry_clear(&p);
	manifest_entry_clear(&q);
	return (rn);
}

/* Valid lines with all that JSON allows around the fields. */
static const char *const seeds[] = {
	"{\"path\":\"a\",\"type\":\"file\"}",
	" { \"type\" : \"dir\" , \"path\" : \"a/b\" }\t\r\n",
	"{\"p\\u0061th\":\"\\u00e9t\\u00E9/\\ud834\\udd1e\\/x\",\"type\":"
	    "\"f\\u0069le\",\"mode\":\"0644\",\"size\":-0}",
	"{\"future\":{\"a\":[1,-2.5e-3,true,false,null,{\"b\":{}}],\"c\":[]},"
	    "\"path\":\"x\",\"type\":\"file\","
	    "\"z\":\"\\\"\\\\\\b\\f\\n\\r\\t\"}",
	"{\"deleted\":false,\"gid\":0,\"group\":\"root\",\"in\":\"nightly-1\","
	    "\"link_group\":3,\"mode\":\"04755\",\"mtime\":-1,\"mtime_nsec\":5,"
	    "\"path\":\"a\",\"sha256\":\"00112233445566778899aabbccddeeff0011"
	    "2233445566778899aabbccddeeff\",\"size\":9007199254740991,"
	    "\"type\":\"file\",\"uid\":4294967295,\"user\":\"\",\"volume\":1}",
	"{\"parts\":[{\"offset\":0,\"size\":1,\"volume\":1,\"x\":[{}]},"
	    "{\"offset\":1,\"sha256\":\"ffffffffffffffffffffffffffffffffffffff"
	    "ffffffffffffffffffffffffff\",\"size\":2,\"volume\":2}],"
	    "\"path\":\"big\",\"size\":3,\"type\":\"file\"}",
	"{\"devmajor\":8,\"devminor\":1,\"path\":\"dev/sda1\","
	    "\"type\":\"blk\"}",
	"{\"path_b64\":\"aG9tZS9jYWbpL3g=\",\"target_b64\":\"//4=\","
	    "\"type\":\"symlink\"}",
	"{\"link_group\":7,\"path\":\"a/h\",\"target\":\"a/f\","
	    "\"type\":\"hardlink\",\"volume\":1}",
	"{\"deleted\":true,\"path\":\"gone\",\"k\":9223372036854775807,"
	    "\"l\":-9223372036854775808,\"m\":1.7976931348623157e308}",
	"{\"path\":\"a\",\"type\":\"file\",\"k1\":1,\"k2\":1,\"k3\":1,"
	    "\"k4\":1,\"k5\":1,\"k6\":1,\"k7\":1,\"k8\":1,\"k9\":1,"
	    "\"x\":{\"k1\":1,\"k2\":1,\"k3\":1,\"k4\":1,\"k5\":1,\"k6\":1,"
	    "\"k7\":1,\"k8\":1,\"k9\":1,\"k\\u0031\\u0030\":1}}",
	"[{\"path\":\"a\",\"type\":\"file\"}]",
};

/* Bits to insert: structure, escapes, numbers, bytes that are not
 * UTF-8 (RFC 3629), controls, members. */
static const char *const snippets[] = {
	"{", "}", "[", "]", ":", ",", "\"", "\\", " ", "\t", "\n", "\r", "0",
	"1", "9", "-", "+", ".", "e", "E", "x", "t", "n", "\x01", "\x1f",
	"\x7f",
	"\x80", "\xc3", "\xa9", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
	"\xff", "\\u0000", "\\ud800", "\\udc00", "\\ud83d\\ude00",
	"\\ud83d\\u0041", "\\u00e9", "\\/", "\\x", "\\u12", "\\uD834\\uDD1E",
	"true", "false", "null", "1e400", "-1e400", "1.5", "1e2", "-0",
	"01", "9223372036854775808", "-9223372036854775809",
	"4294967296", "9007199254740992", "\"path\":\"x\",", "\"size\":1,",
	"\"size\":\"1\",", "\"future\":{\"a\":1,\"a\":2},",
	"\"future\":{\"a\":1,\"\\u0061\":2},", "\"z\":[1,2,{}],",
	"\"type\":\"dir\",", "\"mtime\":1.0,", "\"gid\":1,", "\"uid\":1,",
	"\"devminor\":1,", "\"mtime_nsec\":1,", "\"in\":\"x\",",
	"\"parts\":[],", "\"parts\":[1],", "\"target\":\"\",",
	"\"path_b64\":\"YQ==\",", "\"deleted\":true,", "\"sha256\":null,",
	"\"volume\":0,", "\"mode\":\"7777\",", "\"mode\":\"\\u0030644\",",
};

static void
mutate(char *buf, size_t *len, size_t cap)
{
	const char *sn;
	char piece[2048];
	size_t at = rng_below(*len + 1), n, from, span;

	switch (rng_below(6)) {
	case 0:         /* delete a byte or a few */
		if (*len == 0)
			break;
		at = rng_below(*len);
		n = 1 + rng_below(3);
		if (n > *len - at)
			n = *len - at;
		memmove(buf + at, buf + at + n, *len - at - n);
		*len -= n;
		break;
	case 1:         /* cut short */
		*len = at;
		break;
	case 2:         /* replace a byte */
		if (*len == 0)
			break;
		sn = snippets[rng_below(23)];
		buf[rng_below(*len)] = sn[0];
		break;
	case 3:         /* repeat a piece */
		from = rng_below(*len + 1);
		span = rng_below(*len - from + 1);
		if (*len + span > cap || span > sizeof(piece))
			break;
		memcpy(piece, buf + from, span);
		memmove(buf + at + span, buf + at, *len - at);
		memcpy(buf + at, piece, span);
		*len += span;
		break;
	default:        /* insert a snippet, often after a '{' */
		sn = snippets[rng_below(ARRAY_SIZE(snippets))];
		n = strlen(sn);
		if (rng_below(2)) {
			char *b = memchr(buf, '{', *len);

			if (b != NULL)
				at = (size_t)(b - buf) + 1;
		}
		if (*len + n > cap)
			break;
		memmove(buf + at + n, buf + at, *len - at);
		memcpy(buf + at, sn, n);
		*len += n;
		break;
	}
}

/* Lines mutated at random: the new parser agrees with the old one. */
static void
test_parser_vs_jansson(void **state)
{
	struct gen *g;
	char *line, buf[4096];
	size_t len, i, m, nm, accepted = 0;
	unsigned k;

	(void)state;
	assert_non_null(g = malloc(sizeof(*g)));
	for (i = 0; i < 40000; i++) {
		if (i % 3 == 0) {
			k = (unsigned)rng_below(65536);
			gen(g, k);
			if (g->e.path_len > 200)
				continue;
			assert_non_null(line = manifest_entry_to_json(&g->e,
			    &len));
			assert_true(len < sizeof(buf) / 2);
			memcpy(buf, line, len);
			free(line);
		} else {
			k = (unsigned)rng_below(ARRAY_SIZE(seeds));
			len = strlen(seeds[k]);
			memcpy(buf, seeds[k], len);
		}
		nm = 1 + rng_below(3);
		for (m = 0; m < nm; m++)
			mutate(buf, &len, sizeof(buf) / 2);
		if (compare_parsers(buf, len, i + 1) == 0)
			accepted++;
	}
	/* Both verdicts are exercised. */
	assert_true(accepted > 1000);
	assert_true(accepted < 39000);
	for (i = 0; i < ARRAY_SIZE(seeds) - 1; i++)
		assert_int_equal(compare_parsers(seeds[i], strlen(seeds[i]),
		    1), 0);
	free(g);
}

/* Refused, by the old parser as by the new: each breaks RFC 8259, a
 * limit of jansson, or a field rule. */
static void
test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		/* truncated */
		"{\"path\":\"a\",\"type\":\"file\"", "{\"path\":\"a", "{",
		"{\"path\"", "{\"path\":", "{\"path\":\"a\",",
		/* bad escapes */
		"{\"path\":\"a\\x\",\"type\":\"file\"}",
		"{\"path\":\"a\\u00g1\",\"type\":\"file\"}",
		"{\"path\":\"a\\u12\",\"type\":\"file\"}",
		"{\"path\":\"a\\\",\"type\":\"file\"}",
		"{\"path\":\"a\\U0041\",\"type\":\"file\"}",
		/* lone surrogates (RFC 8259 section 8.2) */
		"{\"path\":\"a\\ud800\",\"type\":\"file\"}",
		"{\"path\":\"a\\udc00\",\"type\":\"file\"}",
		"{\"path\":\"a\\ud800\\u0041\",\"type\":\"file\"}",
		"{\"path\":\"a\\udc00\\ud800\",\"type\":\"file\"}",
		"{\"path\":\"a\\ud800\\n\",\"type\":\"file\"}",
		/* \u0000, in a value and in a name */
		"{\"path\":\"a\",\"type\":\"file\",\"x\":\"\\u0000\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\\u0000\":1}",
		/* raw controls and bytes that are not UTF-8 (RFC 3629) */
		"{\"path\":\"a\tb\",\"type\":\"file\"}",
		"{\"path\":\"a\x1f\",\"type\":\"file\"}",
		"{\"path\":\"a\nb\",\"type\":\"file\"}",
		"{\"path\":\"a\xc0\xaf\",\"type\":\"file\"}",
		"{\"path\":\"a\xed\xa0\x80\",\"type\":\"file\"}",
		"{\"path\":\"a\xf4\x90\x80\x80\",\"type\":\"file\"}",
		"{\"path\":\"a\xc3\",\"type\":\"file\"}",
		"{\"path\":\"a\",\"type\":\"file\"}\xc3\xa9",
		/* duplicates, also once decoded, also nested */
		"{\"path\":\"a\",\"type\":\"file\",\"path\":\"b\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"p\\u0061th\":\"b\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":1,\"x\":2}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":{\"k\":1,\"k\":[]}}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":[{\"\\u00e9\":1,"
		    "\"\xc3\xa9\":2}]}",
		"{\"parts\":[{\"offset\":0,\"size\":1,\"volume\":1,"
		    "\"size\":1}],\"path\":\"a\",\"type\":\"file\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"k1\":1,\"k2\":1,\"k3\":1,"
		    "\"k4\":1,\"k5\":1,\"k6\":1,\"k7\":1,\"k8\":1,\"k9\":1,"
		    "\"k\\u0035\":1}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":{\"k1\":1,\"k2\":1,"
		    "\"k3\":1,\"k4\":1,\"k5\":1,\"k6\":1,\"k7\":1,\"k8\":1,"
		    "\"k9\":1,\"k1\":1}}",
		/* trailing data, trailing commas, not an object */
		"{\"path\":\"a\",\"type\":\"file\"} x",
		"{\"path\":\"a\",\"type\":\"file\"}{}",
		"{\"path\":\"a\",\"type\":\"file\"},",
		"{\"path\":\"a\",\"type\":\"file\",}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":[1,]}",
		"[\"path\",\"a\"]", "\"path\"", "1", "null", "", "   ",
		/* numbers (RFC 8259 section 6) */
		"{\"path\":\"a\",\"type\":\"file\",\"size\":01}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":+1}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":1.}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":.5}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":1e}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":-}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":0x10}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":NaN}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":Infinity}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":tru}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":True}",
		/* huge numbers */
		"{\"path\":\"a\",\"type\":\"file\",\"x\":9223372036854775808}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":-9223372036854775809}",
		"{\"path\":\"a\",\"type\":\"file\",\"x\":1e309}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":9007199254740992}",
		"{\"path\":\"a\",\"type\":\"file\",\"volume\":4294967296}",
		"{\"path\":\"a\",\"type\":\"file\",\"link_group\":"
		    "9007199254740992}",
		"{\"path\":\"a\",\"type\":\"file\",\"mtime\":"
		    "9223372036854775808}",
		/* wrong types, fractions and signs where a count is due */
		"{\"path\":\"a\",\"type\":\"file\",\"size\":1e3}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":1.0}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":-1}",
		"{\"path\":\"a\",\"type\":\"file\",\"size\":null}",
		"{\"path\":\"a\",\"type\":\"file\",\"mtime\":1.5}",
		"{\"path\":\"a\",\"type\":\"file\",\"mtime\":\"1\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"uid\":-1,\"gid\":0}",
		"{\"path\":\"a\",\"type\":\"file\",\"deleted\":\"true\"}",
		"{\"path\":\"a\",\"type\":[\"file\"]}",
		"{\"path\":{},\"type\":\"file\"}",
		"{\"path\":\"a\",\"type\":\"file\",\"user\":1}",
		"{\"path\":\"a\",\"type\":\"file\",\"parts\":{}}",
		"{\"path\":\"a\",\"type\":\"file\",\"parts\":[[]]}",
		"{\"path\":\"a\",\"type\":\"file\",\"parts\":[{\"offset\":0,"
		    "\"size\":1,\"volume\":1.0}]}",
		"{\"path\":\"a\",\"type\":\"file\",\"sha256\":\"00000000000000"
		    "00000000000000000000000000000000000000000000000\\u0030\"}",
	};
	struct manifest_entry e;
	char msg[512];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (manifest_entry_parse(bad[i], strlen(bad[i]), i + 1,
		    &e) == 0)
			fail_msg("accepted bad line %zu: %s", i, bad[i]);
		assert_null(e.path);
		if (ref_entry_parse(bad[i], strlen(bad[i]), i + 1, &e, msg,
		    sizeof(msg)) == 0)
			fail_msg("the old parser took line %zu: %s", i, bad[i]);
		(void)compare_parsers(bad[i], strlen(bad[i]), i + 1);
	}
	/* A NUL byte in the line, anywhere. */
	assert_int_equal(manifest_entry_parse("{\"path\":\"a\0\",\"type\":"
	    "\"file\"}", 25, 1, &e), -1);
	assert_int_equal(manifest_entry_parse("{\"path\":\"a\",\"type\":"
	    "\"file\"}\0", 25, 1, &e), -1);
	(void)compare_parsers("{\"path\":\"a\0\",\"type\":\"file\"}", 25, 1);
}

/* Taken, by both: what JSON allows that coffer never writes. */
static void
test_parse_accepts(void **state)
{
	struct manifest_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(seeds) - 1; i++)
		assert_int_equal(compare_parsers(seeds[i], strlen(seeds[i]),
		    i + 1), 0);
	/* RFC 8259 section 7: U+1D11E as the pair "\ud834\udd1e" is the
	 * UTF-8 F0 9D 84 9E; "\/" is "/"; names may be escaped. */
	assert_int_equal(manifest_entry_parse(seeds[2], strlen(seeds[2]), 1,
	    &e), 0);
	assert_string_equal(e.path,
	    "\xc3\xa9t\xc3\xa9/\xf0\x9d\x84\x9e/x");
	assert_int_equal(e.type, MANIFEST_FILE);
	assert_int_equal(e.has_size, 1);
	assert_true(e.size == 0);       /* -0 is 0 */
	manifest_entry_clear(&e);
	/* Whitespace is space, tab, newline and carriage return only. */
	assert_int_equal(manifest_entry_parse(seeds[1], strlen(seeds[1]), 1,
	    &e), 0);
	assert_string_equal(e.path, "a/b");
	manifest_entry_clear(&e);
	assert_int_equal(manifest_entry_parse("\f{\"path\":\"a\",\"type\":"
	    "\"dir\"}", 27, 1, &e), -1);
	assert_int_equal(manifest_entry_parse("{\"path\":\"a\",\"type\":"
	    "\"dir\"}\v", 27, 1, &e), -1);
	/* Unknown members of any kind are skipped; mtime may be negative. */
	assert_int_equal(manifest_entry_parse(seeds[3], strlen(seeds[3]), 1,
	    &e), 0);
	manifest_entry_clear(&e);
	assert_int_equal(manifest_entry_parse(seeds[4], strlen(seeds[4]), 1,
	    &e), 0);
	assert_true(e.mtime == -1);
	assert_int_equal(e.uid, UINT32_MAX);
	assert_true(e.size == (uint64_t)CJSON_MAX_INT);
	assert_string_equal(e.user, "");
	manifest_entry_clear(&e);
}

/* Nesting: the line's object is depth 1; jansson takes values down to
 * depth 2048 and refuses deeper ones; no recursion either way. */
static void
test_parse_depth(void **state)
{
	static const char head[] = "{\"path\":\"a\",\"type\":\"file\",\"x\":";
	char *buf;
	size_t k, n, i;
	int scalar;

	(void)state;
	assert_non_null(buf = malloc(sizeof(head) + 2 * 100000 + 8));
	for (scalar = 0; scalar <= 1; scalar++) {
		for (k = 2045; k <= 2049; k++) {
			/* k arrays: the innermost at depth k + 1, a scalar in
			 * it at k + 2. */
			n = sizeof(head) - 1;
			memcpy(buf, head, n);
			for (i = 0; i < k; i++)
				buf[n++] = '[';
			if (scalar)
				buf[n++] = '7';
			for (i = 0; i < k; i++)
				buf[n++] = ']';
			buf[n++] = '}';
			assert_int_equal(compare_parsers(buf, n, 1),
			    k + 1 + (size_t)scalar <= 2048 ? 0 : -1);
		}
	}
	/* Objects count as arrays do; a very deep line is refused quickly. */
	n = sizeof(head) - 1;
	memcpy(buf, head, n);
	for (k = 2046; k <= 2047; k++) {
		n = sizeof(head) - 1;
		memcpy(buf, head, n);
		for (i = 0; i < k; i++) {
			memcpy(buf + n, "{\"a\":", 5);
			n += 5;
		}
		buf[n++] = '1';
		for (i = 0; i < k; i++)
			buf[n++] = '}';
		buf[n++] = '}';
		assert_int_equal(compare_parsers(buf, n, 1),
		    k + 2 <= 2048 ? 0 : -1);
	}
	memset(buf, '[', 200000);
	assert_int_equal(compare_parsers(buf, 200000, 1), -1);
	free(buf);
}

/*
 * A line of a million empty "parts" is refused for its first element,
 * without first allocating room for a million parts (about 100 MB):
 * under an address-space limit 48 MiB above what the process maps now,
 * the message is the element's, not "out of memory".  Not under the
 * sanitizers, which map terabytes.
 */
static void
test_parse_many_parts(void **state)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* cmocka's skip() reads "not ok # SKIP", which the TAP driver
	 * counts as failed: say so and pass. */
	(void)state;
	print_message("under a sanitizer: not run\n");
#else
	static const char head[] = "{\"path\":\"f\",\"type\":\"file\","
	    "\"parts\":[";
	struct manifest_entry e;
	struct rlimit old, lim;
	unsigned long pages = 0;
	size_t n = 1000000, len, i;
	char *line, *p, msg[256];
	FILE *f;

	(void)state;
	len = sizeof(head) - 1 + n * 3 + 2;
	assert_non_null(line = malloc(len + 1));
	memcpy(line, head, sizeof(head) - 1);
	p = line + sizeof(head) - 1;
	for (i = 0; i < n; i++) {
		memcpy(p, i + 1 < n ? "{}," : "{}", i + 1 < n ? 3 : 2);
		p += i + 1 < n ? 3 : 2;
	}
	memcpy(p, "]}", 3);
	len = strlen(line);
	assert_non_null(f = fopen("/proc/self/statm", "r"));
	assert_int_equal(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
	lim = old;
	lim.rlim_cur = pages * (rlim_t)sysconf(_SC_PAGESIZE) +
	    ((rlim_t)48 << 20);
	assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
	i = (size_t)parse_capture(line, len, 1, &e, msg, sizeof(msg));
	assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
	assert_int_equal((int)i, -1);
	assert_non_null(strstr(msg, "need a volume >= 1"));
	free(line);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_entry),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_binary_names),
		cmocka_unit_test(test_utf8_strict),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_to_json_refuses),
		cmocka_unit_test(test_part_name),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_writer_vs_cjson),
		cmocka_unit_test(test_writer_out_of_range),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_parser_vs_jansson),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_parse_many_parts),
	};

	warnp_quiet(1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
