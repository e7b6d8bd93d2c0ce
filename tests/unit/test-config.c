/*
 * test-config: the git-style config files: parsing on top of libinih
 * (comments, quoting, subsections, case folding, repeated keys, the system
 * and user files), errors naming file and line, the typed getters, and
 * editing with config_set / config_unset.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"

static char tmpdir[] = "/tmp/test-config.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return (mkdtemp(tmpdir) == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* path_of(name): a path in tmpdir (static buffer, one of four). */
static const char *
path_of(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 256, "%s/%s", tmpdir, name);
	return (p);
}

/* put(name, text): write text to tmpdir/name; returns its path. */
static const char *
put(const char *name, const char *text)
{
	const char *path = path_of(name);
	size_t len = strlen(text);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return (path);
}

/* slurp(path): the file's contents (static buffer). */
static const char *
slurp(const char *path)
{
	static char *text;
	size_t len;

	free(text);
	text = NULL;
	assert_int_equal(util_read_file(path, &text, &len, 1 << 20), 0);
	return (text);
}

/* Capturing stderr, to check what errors say. */
static int saved_fd = -1;
static FILE *capfile;
static char captured[8192];

static void
cap_begin(void)
{
	fflush(stderr);
	assert_non_null(capfile = tmpfile());
	assert_true((saved_fd = dup(2)) >= 0);
	assert_true(dup2(fileno(capfile), 2) >= 0);
}

static const char *
cap_end(void)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(saved_fd, 2) >= 0);
	close(saved_fd);
	rewind(capfile);
	n = fread(captured, 1, sizeof(captured) - 1, capfile);
	captured[n] = '\0';
	fclose(capfile);
	return (captured);
}

/* load(text): a config from text (as the user file "config"). */
static struct config *
load(const char *text)
{
	return (config_load(NULL, put("config", text)));
}

/*
 * load_fails(text, msg): text must not load, and stderr must be
 * "coffer: config file '<path>', line <msg>\n" exactly (msg starts with
 * the line number).
 */
static void
load_fails(const char *text, const char *msg)
{
	char want[1024];
	const char *path;
	struct config *c;

	path = put("bad", text);
	cap_begin();
	c = config_load(NULL, path);
	cap_end();
	assert_null(c);
	snprintf(want, sizeof(want), "coffer: config file '%s', line %s\n",
	    path, msg);
	assert_string_equal(captured, want);
}

static int
count_one(const char *key, const char *value, const char *file, int line,
    void *cookie)
{
	(void)key;
	(void)value;
	(void)file;
	(void)line;
	(*(int *)cookie)++;
	return (0);
}

static int
count(const struct config *c)
{
	int n = 0;

	assert_int_equal(config_foreach(c, count_one, &n), 0);
	return (n);
}

static void
test_empty_and_missing(void **state)
{
	struct config *c;

	(void)state;
	assert_non_null(c = load(""));
	assert_int_equal(count(c), 0);
	assert_null(config_get(c, "core.json"));
	config_free(c);

	assert_non_null(c = load("\n\n   \n\t\n"));
	assert_int_equal(count(c), 0);
	config_free(c);

	/* Both files missing, or not given: an empty config. */
	assert_non_null(c = config_load(path_of("nope1"), path_of("nope2")));
	assert_int_equal(count(c), 0);
	config_free(c);
	assert_non_null(c = config_load(NULL, NULL));
	assert_null(config_get(c, "a.b"));
	config_free(c);
	config_free(NULL);
	assert_null(config_get(NULL, "a.b"));
}

static void
test_comments_whitespace(void **state)
{
	struct config *c;

	(void)state;
	assert_non_null(c = load(
	    "# a comment\n"
	    "; another\n"
	    "[core]\n"
	    "\t# indented comment\n"
	    "   ; indented too\n"
	    "json=true\n"
	    "  quiet   =   yes   \n"
	    "\tname = two words   # trailing comment\n"
	    "other = a;b\n"
	    "empty =\n"
	    "  \tindented = x\n"));
	assert_string_equal(config_get(c, "core.json"), "true");
	assert_string_equal(config_get(c, "core.quiet"), "yes");
	assert_string_equal(config_get(c, "core.name"), "two words");
	assert_string_equal(config_get(c, "core.other"), "a");
	assert_string_equal(config_get(c, "core.empty"), "");
	/* Not a continuation line (inih's multiline is off). */
	assert_string_equal(config_get(c, "core.indented"), "x");
	assert_int_equal(count(c), 6);
	config_free(c);
}

static void
test_quoting(void **state)
{
	struct config *c;

	(void)state;
	assert_non_null(c = load(
	    "[q]\n"
	    "a = \"  padded  \"\n"
	    "b = \"a ; b # c\" ; comment\n"
	    "c = x \"y\" z\n"
	    "d = say \\\"hi\\\"\n"
	    "e = back\\\\slash\n"
	    "f = tab\\there\n"
	    "g = new\\nline\n"
	    "h = \"\"\n"
	    "i = in\"ner  sp\"ace\n"
	    "j = a   b\n"));
	assert_string_equal(config_get(c, "q.a"), "  padded  ");
	assert_string_equal(config_get(c, "q.b"), "a ; b # c");
	assert_string_equal(config_get(c, "q.c"), "x y z");
	assert_string_equal(config_get(c, "q.d"), "say \"hi\"");
	assert_string_equal(config_get(c, "q.e"), "back\\slash");
	assert_string_equal(config_get(c, "q.f"), "tab\there");
	assert_string_equal(config_get(c, "q.g"), "new\nline");
	assert_string_equal(config_get(c, "q.h"), "");
	assert_string_equal(config_get(c, "q.i"), "inner  space");
	assert_string_equal(config_get(c, "q.j"), "a   b");
	config_free(c);

	load_fails("[q]\nok = 1\na = \"open\n",
	    "3: bad value for 'a': unterminated quote");
	load_fails("[q]\na = bad\\qescape\n",
	    "2: bad value for 'a': bad escape (use \\\" \\\\ \\n \\t \\b)");
	load_fails("[q]\n\na = ends\\\n",
	    "3: bad value for 'a': bad escape (use \\\" \\\\ \\n \\t \\b)");
}

static void
test_subsections(void **state)
{
	struct config *c;
	char text[512], sub[201];
	const char **names;
	size_t n;

	(void)state;
	assert_non_null(c = load(
	    "[target \"offsite\"]\n"
	    "url = s3://a\n"
	    "[target \"off site\"]\n"
	    "url = s3://b\n"
	    "[target \"q\\\"uo\\\\te\"]\n"
	    "url = s3://c\n"
	    "[target \"a]b.c\"]\n"
	    "url = s3://d\n"
	    "[Target \"OffSite\"]\n"
	    "URL = s3://e\n"
	    "[target]\n"
	    "url = plain\n"
	    "[ core ]\n"
	    "json = 1\n"
	    "[backup \"nightly\"]  # comment after a header\n"
	    "path = /a\n"));
	assert_string_equal(config_get(c, "target.offsite.url"), "s3://a");
	assert_string_equal(config_get(c, "target.off site.url"), "s3://b");
	assert_string_equal(config_get(c, "target.q\"uo\\te.url"), "s3://c");
	/* The subsection runs from the first to the last dot of a key. */
	assert_string_equal(config_get(c, "target.a]b.c.url"), "s3://d");
	/* Subsections are case-sensitive, sections and names are not. */
	assert_string_equal(config_get(c, "TARGET.OffSite.Url"), "s3://e");
	assert_string_equal(config_get(c, "target.offsite.URL"), "s3://a");
	assert_null(config_get(c, "target.OFFSITE.url"));
	assert_string_equal(config_get(c, "target.url"), "plain");
	assert_string_equal(config_get(c, "core.json"), "1");
	assert_string_equal(config_get(c, "backup.nightly.path"), "/a");

	assert_int_equal(config_subsections(c, "TARGET", &names, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(names[0], "offsite");
	assert_string_equal(names[1], "off site");
	assert_string_equal(names[2], "q\"uo\\te");
	assert_string_equal(names[3], "a]b.c");
	assert_string_equal(names[4], "OffSite");
	free(names);
	assert_int_equal(config_subsections(c, "core", &names, &n), 0);
	assert_int_equal(n, 0);
	assert_null(names);
	config_free(c);

	/* A subsection longer than inih's 49-byte section buffer. */
	memset(sub, 'x', 200);
	sub[200] = '\0';
	snprintf(text, sizeof(text), "[target \"%s\"]\nurl = long\n", sub);
	assert_non_null(c = load(text));
	snprintf(text, sizeof(text), "target.%s.url", sub);
	assert_string_equal(config_get(c, text), "long");
	config_free(c);
}

static void
test_bad_headers(void **state)
{
	(void)state;
	load_fails("[core]\na = 1\n[target \"x]\nb = 2\n",
	    "3: bad section header: unterminated subsection");
	load_fails("# c\n[target x]\n",
	    "2: bad section header: expected ']'");
	load_fails("[target \"\"]\n",
	    "1: bad section header: empty subsection");
	load_fails("\n\n[target.x]\nurl = 1\n",
	    "3: bad section header: write [section \"subsection\"]");
	load_fails("[core] junk\n",
	    "1: bad section header: text after ']'");
	load_fails("[]\n",
	    "1: bad section header: missing or bad section name");
	load_fails("[core\n",
	    "1: bad section header: expected ']'");
	load_fails("[co_re]\n",
	    "1: bad section header: expected ']'");
	load_fails("[core]\n[target \"a\" \"b\"]\n",
	    "2: bad section header: expected ']'");
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	load_fails("[core]\n# c\n\n; c\nnovalue\n",
	    "5: syntax error: expected 'name = value'");
	load_fails("json = 1\n[core]\n",
	    "1: 'json' outside a section");
	load_fails("[core]\n1abc = x\n",
	    "2: bad name '1abc' (a letter, then letters, digits and '-')");
	load_fails("[core]\na_b = x\n",
	    "2: bad name 'a_b' (a letter, then letters, digits and '-')");
	load_fails("[core]\n = x\n",
	    "2: bad name '' (a letter, then letters, digits and '-')");
	load_fails("[core]\npath: /x\n",
	    "2: syntax error: expected 'name = value'");
	/* A line after a long one still has the right number. */
	{
		char *text = malloc(20000);

		assert_non_null(text);
		memcpy(text, "[core]\nlong = ", 14);
		memset(text + 14, 'v', 15000);
		snprintf(text + 14 + 15000, 100, "\nok = 1\nbroken\n");
		load_fails(text, "4: syntax error: expected 'name = value'");
		free(text);
	}
}

static void
test_crlf_bom_nul(void **state)
{
	struct config *c;
	const char *path;

	(void)state;
	assert_non_null(c = load("\xef\xbb\xbf[core]\r\njson = true\r\n"
	    "name = \"x\"\r\n"));
	assert_string_equal(config_get(c, "core.json"), "true");
	assert_string_equal(config_get(c, "core.name"), "x");
	config_free(c);

	path = path_of("nul");
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "[a]\nb = c\0d\n", 12), 12);
		close(fd);
	}
	cap_begin();
	c = config_load(NULL, path);
	cap_end();
	assert_null(c);
	assert_non_null(strstr(captured, "contains a NUL byte"));
}

static void
test_long_lines(void **state)
{
	struct config *c;
	char *text, *v;
	size_t n = 100000;

	(void)state;
	assert_non_null(text = malloc(n + 64));
	assert_non_null(v = malloc(n + 1));
	memset(v, 'z', n);
	v[n] = '\0';
	snprintf(text, n + 64, "[core]\nbig = %s\nafter = 1\n", v);
	assert_non_null(c = load(text));
	assert_string_equal(config_get(c, "core.big"), v);
	assert_string_equal(config_get(c, "core.after"), "1");
	config_free(c);
	free(text);
	free(v);
}

static void
test_many_sections(void **state)
{
	struct config *c;
	char *text;
	size_t i, len = 0;

	(void)state;
	/* Short headers, many of them: "[N]" must fit the line buffer. */
	assert_non_null(text = malloc(20000));
	for (i = 0; i < 2000; i++)
		len += (size_t)snprintf(text + len, 20000 - len, "[a]\n");
	snprintf(text + len, 20000 - len, "b=1\n");
	assert_non_null(c = load(text));
	assert_string_equal(config_get(c, "a.b"), "1");
	config_free(c);
	free(text);
}

static void
test_repeated_and_merge(void **state)
{
	struct config *c;
	const char **v;
	const char *sys, *user, *file;
	size_t n;
	int line;

	(void)state;
	sys = put("sys.conf",
	    "[site]\nname = hq\n[user]\nname = sysuser\n"
	    "[backup]\npath = /sys\n");
	user = put("config",
	    "[user]\nname = alice\n[backup]\npath = /a\n"
	    "[BACKUP]\nPATH = /b\n");
	assert_non_null(c = config_load(sys, user));
	assert_string_equal(config_get(c, "site.name"), "hq");
	assert_string_equal(config_get(c, "user.name"), "alice");
	assert_string_equal(config_get(c, "backup.path"), "/b");
	assert_int_equal(config_get_all(c, "backup.path", &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "/sys");
	assert_string_equal(v[1], "/a");
	assert_string_equal(v[2], "/b");
	free(v);
	assert_int_equal(config_get_all(c, "backup.nope", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);

	assert_int_equal(config_origin(c, "backup.path", &file, &line), 1);
	assert_string_equal(file, user);
	assert_int_equal(line, 6);
	assert_int_equal(config_origin(c, "site.name", &file, &line), 1);
	assert_string_equal(file, sys);
	assert_int_equal(line, 2);
	assert_int_equal(config_origin(c, "x.y", &file, &line), 0);
	assert_int_equal(count(c), 6);
	config_free(c);

	/* An error in the system file names the system file. */
	sys = put("sys.conf", "[site]\nname\n");
	cap_begin();
	c = config_load(sys, user);
	cap_end();
	assert_null(c);
	assert_non_null(strstr(captured, "sys.conf', line 2:"));
}

static void
test_bool(void **state)
{
	static const char *const yes[] = { "true", "YES", "On", "1" };
	static const char *const no[] = { "false", "No", "OFF", "0" };
	struct config *c;
	char text[128], want[512];
	const char *path;
	size_t i;
	int b;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		snprintf(text, sizeof(text), "[core]\njson = %s\n", yes[i]);
		assert_non_null(c = load(text));
		b = 7;
		assert_int_equal(config_get_bool(c, "core.json", &b), 1);
		assert_int_equal(b, 1);
		config_free(c);
		snprintf(text, sizeof(text), "[core]\njson = %s\n", no[i]);
		assert_non_null(c = load(text));
		assert_int_equal(config_get_bool(c, "core.json", &b), 1);
		assert_int_equal(b, 0);
		config_free(c);
	}
	path = put("config", "# 1\n# 2\n[core]\n# 4\n\n\njson = maybe\n");
	assert_non_null(c = config_load(NULL, path));
	b = 7;
	assert_int_equal(config_get_bool(c, "core.quiet", &b), 0);
	assert_int_equal(b, 7);
	cap_begin();
	assert_int_equal(config_get_bool(c, "core.json", &b), -1);
	cap_end();
	assert_int_equal(b, 7);
	snprintf(want, sizeof(want), "coffer: config file '%s', line 7: "
	    "bad boolean value 'maybe' for 'core.json'\n", path);
	assert_string_equal(captured, want);
	config_free(c);

	assert_int_equal(config_parse_bool("", &b), -1);
	assert_int_equal(config_parse_bool("truee", &b), -1);
	assert_int_equal(config_parse_bool("2", &b), -1);
}

static void
test_int_size_duration(void **state)
{
	struct config *c;
	const char *path;
	long long n;
	unsigned long long u;

	(void)state;
	path = put("config",
	    "[n]\n"
	    "a = 42\n"
	    "b = -7\n"
	    "c = 12x\n"
	    "d = 99999999999999999999\n"
	    "e =\n"
	    "[s]\n"
	    "a = 512\n"
	    "b = 64k\n"
	    "c = 3M\n"
	    "d = 2GiB\n"
	    "e = 1t\n"
	    "f = 16777216T\n"
	    "g = 5q\n"
	    "h = -1\n"
	    "i = 4kb\n"
	    "[d]\n"
	    "a = 30d\n"
	    "b = 90\n"
	    "c = soon\n"
	    "d = 1y\n");
	assert_non_null(c = config_load(NULL, path));
	assert_int_equal(config_get_int(c, "n.a", &n), 1);
	assert_int_equal(n, 42);
	assert_int_equal(config_get_int(c, "n.b", &n), 1);
	assert_int_equal(n, -7);
	cap_begin();
	assert_int_equal(config_get_int(c, "n.c", &n), -1);
	assert_int_equal(config_get_int(c, "n.d", &n), -1);
	assert_int_equal(config_get_int(c, "n.e", &n), -1);
	cap_end();
	assert_non_null(strstr(captured,
	    "line 4: bad integer value '12x' for 'n.c'"));
	assert_non_null(strstr(captured,
	    "line 5: bad integer value '99999999999999999999' for 'n.d'"));
	assert_non_null(strstr(captured, "line 6: bad integer value '' for"));
	assert_int_equal(config_get_int(c, "n.zz", &n), 0);

	assert_int_equal(config_get_size(c, "s.a", &u), 1);
	assert_true(u == 512);
	assert_int_equal(config_get_size(c, "s.b", &u), 1);
	assert_true(u == 65536);
	assert_int_equal(config_get_size(c, "s.c", &u), 1);
	assert_true(u == 3ULL << 20);
	assert_int_equal(config_get_size(c, "s.d", &u), 1);
	assert_true(u == 2ULL << 30);
	assert_int_equal(config_get_size(c, "s.e", &u), 1);
	assert_true(u == 1ULL << 40);
	cap_begin();
	assert_int_equal(config_get_size(c, "s.f", &u), -1);
	assert_int_equal(config_get_size(c, "s.g", &u), -1);
	assert_int_equal(config_get_size(c, "s.h", &u), -1);
	assert_int_equal(config_get_size(c, "s.i", &u), -1);
	cap_end();
	assert_non_null(strstr(captured,
	    "line 13: bad size value '16777216T' for 's.f'"));
	assert_non_null(strstr(captured, "line 14: bad size value '5q'"));
	assert_non_null(strstr(captured, "line 15: bad size value '-1'"));
	assert_non_null(strstr(captured, "line 16: bad size value '4kb'"));

	assert_int_equal(config_get_duration(c, "d.a", &n), 1);
	assert_int_equal(n, 30 * 86400);
	assert_int_equal(config_get_duration(c, "d.b", &n), 1);
	assert_int_equal(n, 90);
	assert_int_equal(config_get_duration(c, "d.d", &n), 1);
	assert_int_equal(n, 365 * 86400);
	cap_begin();
	assert_int_equal(config_get_duration(c, "d.c", &n), -1);
	cap_end();
	assert_non_null(strstr(captured, path));
	assert_non_null(strstr(captured,
	    "line 20: bad duration value 'soon' for 'd.c'"));
	config_free(c);
}

static void
test_key_normalize(void **state)
{
	char *k;

	(void)state;
	assert_int_equal(config_key_normalize("Core.JSON", &k), 0);
	assert_string_equal(k, "core.json");
	free(k);
	assert_int_equal(config_key_normalize("TARGET.Off.Site.URL", &k), 0);
	assert_string_equal(k, "target.Off.Site.url");
	free(k);
	cap_begin();
	assert_int_equal(config_key_normalize("core", &k), -1);
	assert_null(k);
	assert_int_equal(config_key_normalize(".json", &k), -1);
	assert_int_equal(config_key_normalize("core.", &k), -1);
	assert_int_equal(config_key_normalize("core.1json", &k), -1);
	assert_int_equal(config_key_normalize("co_re.json", &k), -1);
	assert_int_equal(config_key_normalize("target..url", &k), -1);
	assert_int_equal(config_key_normalize("target.a\nb.url", &k), -1);
	assert_int_equal(config_key_normalize("core.js_on", &k), -1);
	cap_end();
	assert_non_null(strstr(captured, "invalid key 'core': expected "
	    "section.name or section.subsection.name\n"));
	assert_non_null(strstr(captured, "invalid key 'target..url': "
	    "empty subsection\n"));
	/* Lookups with malformed keys find nothing, quietly. */
	assert_null(config_get(NULL, "core"));
}

static void
test_set_new_file(void **state)
{
	const char *path = path_of("new/config");
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(path_of("new"), 0700), 0);
	assert_int_equal(config_set(path, "core.json", "true", 0), 0);
	assert_string_equal(slurp(path), "[core]\n\tjson = true\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(config_set(path, "target.off \"site\".url",
	    "s3://b/p", 0), 0);
	assert_string_equal(slurp(path), "[core]\n\tjson = true\n\n"
	    "[target \"off \\\"site\\\"\"]\n\turl = s3://b/p\n");
	assert_int_equal(config_set(path, "core.name", "x", 0), 0);
	assert_string_equal(slurp(path), "[core]\n\tjson = true\n"
	    "\tname = x\n\n"
	    "[target \"off \\\"site\\\"\"]\n\turl = s3://b/p\n");
}

static void
test_set_preserves(void **state)
{
	const char *path;
	struct config *c;

	(void)state;
	path = put("config",
	    "# top comment\n"
	    "[core]   ; header comment\n"
	    "    JSON = false   # keep me?\n"
	    "\tquiet = yes\n"
	    "\n"
	    "# about targets\n"
	    "[target \"a\"]\n"
	    "\turl = one\n"
	    "[user]\n"
	    "\tname = bob");
	assert_int_equal(config_set(path, "Core.Json", "true", 0), 0);
	assert_string_equal(slurp(path),
	    "# top comment\n"
	    "[core]   ; header comment\n"
	    "    Json = true\n"
	    "\tquiet = yes\n"
	    "\n"
	    "# about targets\n"
	    "[target \"a\"]\n"
	    "\turl = one\n"
	    "[user]\n"
	    "\tname = bob\n");
	/* A new key goes after the last key of its section, before the
	 * blank line and the comment that follow. */
	assert_int_equal(config_set(path, "core.verbose", "1", 0), 0);
	assert_string_equal(slurp(path),
	    "# top comment\n"
	    "[core]   ; header comment\n"
	    "    Json = true\n"
	    "\tquiet = yes\n"
	    "\tverbose = 1\n"
	    "\n"
	    "# about targets\n"
	    "[target \"a\"]\n"
	    "\turl = one\n"
	    "[user]\n"
	    "\tname = bob\n");
	/* The subsection is case-sensitive: "A" is another section. */
	assert_int_equal(config_set(path, "target.A.url", "two", 0), 0);
	assert_non_null(c = config_load(NULL, path));
	assert_string_equal(config_get(c, "target.a.url"), "one");
	assert_string_equal(config_get(c, "target.A.url"), "two");
	assert_string_equal(config_get(c, "core.json"), "true");
	config_free(c);

	/* A new section after a blank line gets no second one. */
	path = put("config", "[a]\nk = 1\n\n");
	assert_int_equal(config_set(path, "b.k", "v", 0), 0);
	assert_string_equal(slurp(path), "[a]\nk = 1\n\n[b]\n\tk = v\n");
}

static void
test_set_repeated(void **state)
{
	const char *path;
	struct config *c;
	const char **v;
	size_t n;

	(void)state;
	path = put("config",
	    "[backup]\n\tpath = /a\n\tpath = /b\n\tkeep = 3\n[user]\n");
	assert_int_equal(config_set(path, "backup.path", "/c", CONFIG_ADD),
	    0);
	assert_string_equal(slurp(path), "[backup]\n\tpath = /a\n"
	    "\tpath = /b\n\tpath = /c\n\tkeep = 3\n[user]\n");
	/* The default replaces the last value only. */
	assert_int_equal(config_set(path, "backup.path", "/C", 0), 0);
	assert_string_equal(slurp(path), "[backup]\n\tpath = /a\n"
	    "\tpath = /b\n\tpath = /C\n\tkeep = 3\n[user]\n");
	assert_int_equal(config_set(path, "backup.path", "/only",
	    CONFIG_REPLACE_ALL), 0);
	assert_string_equal(slurp(path), "[backup]\n\tpath = /only\n"
	    "\tkeep = 3\n[user]\n");
	/* The key spread over two sections of the same name. */
	path = put("config", "[b]\nk = 1\n[c]\nx = 0\n[B]\nk = 2\n");
	assert_int_equal(config_set(path, "b.k", "3", CONFIG_ADD), 0);
	assert_int_equal(config_set(path, "b.new", "n", 0), 0);
	assert_string_equal(slurp(path), "[b]\nk = 1\n[c]\nx = 0\n[B]\n"
	    "k = 2\n\tk = 3\n\tnew = n\n");
	assert_non_null(c = config_load(NULL, path));
	assert_int_equal(config_get_all(c, "b.k", &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2], "3");
	free(v);
	config_free(c);
	/* ADD to an empty section puts the key after the header. */
	path = put("config", "[a]\n[b]\n");
	assert_int_equal(config_set(path, "a.k", "v", CONFIG_ADD), 0);
	assert_string_equal(slurp(path), "[a]\n\tk = v\n[b]\n");
}

static void
test_set_quoting(void **state)
{
	static const char *const values[] = {
		" lead", "trail ", "a # b", "a ; b", "say \"hi\"",
		"back\\slash", "tab\there", "", "plain", "\t",
		"=", "[x]", "\"", "x\\n",
	};
	const char *path;
	struct config *c;
	size_t i;

	(void)state;
	path = put("config", "");
	for (i = 0; i < ARRAY_SIZE(values); i++) {
		assert_int_equal(config_set(path, "q.v", values[i], 0), 0);
		assert_non_null(c = config_load(NULL, path));
		assert_string_equal(config_get(c, "q.v"), values[i]);
		config_free(c);
	}
	assert_int_equal(config_set(path, "q.v", "a # b", 0), 0);
	assert_string_equal(slurp(path), "[q]\n\tv = \"a # b\"\n");
	assert_int_equal(config_set(path, "q.v", "say \"hi\"", 0), 0);
	assert_string_equal(slurp(path), "[q]\n\tv = say \\\"hi\\\"\n");
}

static void
test_set_refused(void **state)
{
	const char *path, *before;
	char *saved;

	(void)state;
	path = put("config", "[core]\n\tjson = true\n");
	cap_begin();
	assert_int_equal(config_set(path, "core.name", "a\nb", 0), -1);
	assert_int_equal(config_set(path, "core.name", "a\rb", 0), -1);
	assert_int_equal(config_set(path, "core.name", "a\001b", 0), -1);
	assert_int_equal(config_set(path, "core", "x", 0), -1);
	assert_int_equal(config_set(path, "core.1x", "x", 0), -1);
	assert_int_equal(config_set(path, "co re.x", "x", 0), -1);
	assert_int_equal(config_set(path, "core..x", "x", 0), -1);
	assert_int_equal(config_unset(path, "core", 0), -1);
	cap_end();
	assert_non_null(strstr(captured,
	    "value for 'core.name' contains a newline"));
	assert_non_null(strstr(captured, "invalid key 'core.1x'"));
	assert_string_equal(slurp(path), "[core]\n\tjson = true\n");

	/* A file that does not parse is not edited. */
	before = "[core]\n\tjson = true\n\tbroken line\n";
	path = put("config", before);
	saved = util_strdup(before);
	cap_begin();
	assert_int_equal(config_set(path, "core.json", "false", 0), -1);
	assert_int_equal(config_unset(path, "core.json", 0), -1);
	cap_end();
	assert_non_null(strstr(captured, "line 3: syntax error"));
	assert_string_equal(slurp(path), saved);
	free(saved);
}

static void
test_unset(void **state)
{
	const char *path;

	(void)state;
	path = put("config",
	    "# head\n"
	    "[backup]\n"
	    "\tpath = /a\n"
	    "\tpath = /b ; note\n"
	    "\tkeep = 3\n"
	    "[user]\n"
	    "\tname = bob\n");
	assert_int_equal(config_unset(path, "backup.path", 0), 0);
	assert_string_equal(slurp(path),
	    "# head\n[backup]\n\tpath = /a\n\tkeep = 3\n[user]\n"
	    "\tname = bob\n");
	assert_int_equal(config_set(path, "backup.path", "/c", CONFIG_ADD),
	    0);
	assert_int_equal(config_unset(path, "BACKUP.PATH", 1), 0);
	assert_string_equal(slurp(path),
	    "# head\n[backup]\n\tkeep = 3\n[user]\n\tname = bob\n");
	/* Not set: 1, the file untouched. */
	assert_int_equal(config_unset(path, "backup.path", 0), 1);
	assert_int_equal(config_unset(path, "nosuch.key", 1), 1);
	assert_int_equal(config_unset(path_of("missing"), "a.b", 0), 1);
	assert_int_equal(access(path_of("missing"), F_OK), -1);
	assert_string_equal(slurp(path),
	    "# head\n[backup]\n\tkeep = 3\n[user]\n\tname = bob\n");
	/* A section left empty goes; one with a comment stays. */
	assert_int_equal(config_unset(path, "user.name", 0), 0);
	assert_string_equal(slurp(path), "# head\n[backup]\n\tkeep = 3\n");
	path = put("config", "[a]\n# why\nk = 1\n\n[b]\nk = 2\n\n[c]\nz=1\n");
	assert_int_equal(config_unset(path, "a.k", 0), 0);
	assert_int_equal(config_unset(path, "b.k", 0), 0);
	assert_string_equal(slurp(path), "[a]\n# why\n\n[c]\nz=1\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_missing),
		cmocka_unit_test(test_comments_whitespace),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_subsections),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_crlf_bom_nul),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_many_sections),
		cmocka_unit_test(test_repeated_and_merge),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int_size_duration),
		cmocka_unit_test(test_key_normalize),
		cmocka_unit_test(test_set_new_file),
		cmocka_unit_test(test_set_preserves),
		cmocka_unit_test(test_set_repeated),
		cmocka_unit_test(test_set_quoting),
		cmocka_unit_test(test_set_refused),
		cmocka_unit_test(test_unset),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
