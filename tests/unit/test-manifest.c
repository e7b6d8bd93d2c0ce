/*
 * test-manifest: manifest entries as canonical JSON lines, path/path_b64,
 * strict UTF-8, path checks, the streaming writer and reader.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "manifest.h"
#include "warnp.h"

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
	};

	warnp_quiet(1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
