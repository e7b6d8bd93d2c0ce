#include "compat.h"

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "scan.h"
#include "util.h"

static char tmpbuf[] = "/tmp/coffer-test-scan.XXXXXX";
static char *T;			/* realpath of tmpbuf */
static char *src;		/* T/src */
static int mounted;

/* What one run saw. */
struct seen {
	const char *prefix;	/* archive path prefix stripped */
	size_t prefixlen;
	char *paths[128];
	size_t lens[128];
	unsigned int flags[128];
	enum scan_type types[128];
	char *links[128];
	size_t n;
	char *allpaths[128];	/* full archive paths */
	size_t alllens[128];
	int notes[16];
	int stop_at;		/* stop after this many entries, if > 0 */
};

static void
mkfile(const char *rel, const char *data)
{
	char *p = util_path_join(src, rel);

	assert_non_null(p);
	assert_int_equal(util_write_file(p, data, strlen(data), 0644, 0), 0);
	free(p);
}

static void
mkdir_rel(const char *rel)
{
	char *p = util_path_join(src, rel);

	assert_non_null(p);
	assert_int_equal(util_mkdir_p(p, 0755), 0);
	free(p);
}

static int
setup(void **state)
{
	struct sockaddr_un sun;
	char *p;
	int fd;

	(void)state;
	if (mkdtemp(tmpbuf) == NULL || (T = realpath(tmpbuf, NULL)) == NULL)
		return (-1);
	src = util_path_join(T, "src");
	mkdir_rel("a");
	mkdir_rel("cache/sub");
	mkdir_rel("faketag");
	mkdir_rel("dironly");
	mkdir_rel("home");
	mkdir_rel("sub/build/q");
	mkdir_rel("sub/deep");
	mkdir_rel("mnt");
	mkfile("B", "B");
	mkfile("a/b", "ab");
	mkfile("a/zz", "zz");
	mkfile("a-", "a-");
	mkfile("a.b", "a.b");
	mkfile("cache/CACHEDIR.TAG",
	    "Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n");
	mkfile("cache/junk", "junk");
	mkfile("cache/sub/junk", "junk");
	mkfile("faketag/CACHEDIR.TAG",
	    "Signature: 8a477f597d28d172789f06886806bc56\n");
	mkfile("faketag/keep", "keep");
	mkfile("dironly/f", "f");
	mkfile("home/secret", "secret");
	mkfile("nl\nname", "newline");
	mkfile("sub/build/y.o", "y");
	mkfile("sub/build/q/zz", "zz");
	mkfile("sub/deep/z", "z");
	mkfile("sub/dironly", "file, not a dir");
	mkfile("sub/keep.o", "o");
	mkfile("sub/x.tmp", "tmp");
	mkfile("x.tmp", "tmp");
	mkfile("zz", "zz");
	mkfile("\xff", "ff");

	p = util_path_join(src, "link");
	if (symlink("a/b", p) != 0)
		return (-1);
	free(p);
	p = util_path_join(src, "fifo");
	if (mkfifo(p, 0600) != 0)
		return (-1);
	free(p);
	/* An alias of the never-backed-up directory. */
	p = util_path_join(T, "homealias");
	if (symlink("src/home", p) != 0)
		return (-1);
	free(p);

	/* A socket (bound by path, then closed: the node stays). */
	p = util_path_join(src, "sock");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(p) >= sizeof(sun.sun_path))
		return (-1);
	memcpy(sun.sun_path, p, strlen(p) + 1);
	free(p);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		return (-1);
	close(fd);

	/* Another file system, when allowed (root). */
	p = util_path_join(src, "mnt");
	if (mount("tmpfs", p, "tmpfs", 0, "size=1m") == 0) {
		mounted = 1;
		mkfile("mnt/inside", "inside");
	} else
		mkfile("mnt/inside", "inside");
	free(p);
	return (0);
}

static int
teardown(void **state)
{
	char *p;

	(void)state;
	if (mounted) {
		p = util_path_join(src, "mnt");
		umount2(p, MNT_DETACH);
		free(p);
	}
	return (util_remove_tree(T));
}

static int
collect(void *cookie, const struct scan_entry *e)
{
	struct seen *sn = cookie;
	const char *p = e->path;
	size_t len = e->pathlen;

	assert_true(sn->n < 128);
	assert_int_equal(e->pathlen, strlen(e->path));
	assert_int_equal(e->abspath[0], '/');
	assert_string_equal(e->abspath + 1, e->path);
	assert_memory_equal(e->name, e->path + e->pathlen - e->namelen,
	    e->namelen);
	/* dirfd really holds the entry. */
	{
		struct stat st;

		assert_int_equal(fstatat(e->dirfd, e->name, &st,
		    AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st.st_ino, e->st.st_ino);
	}
	sn->allpaths[sn->n] = malloc(len + 1);
	memcpy(sn->allpaths[sn->n], p, len + 1);
	sn->alllens[sn->n] = len;
	if (len >= sn->prefixlen &&
	    memcmp(p, sn->prefix, sn->prefixlen) == 0) {
		p += sn->prefixlen;
		len -= sn->prefixlen;
		if (len > 0 && *p == '/') {
			p++;
			len--;
		}
	}
	sn->paths[sn->n] = malloc(len + 1);
	memcpy(sn->paths[sn->n], p, len);
	sn->paths[sn->n][len] = '\0';
	sn->lens[sn->n] = len;
	sn->flags[sn->n] = e->flags;
	sn->types[sn->n] = e->type;
	sn->links[sn->n] = e->link != NULL ? util_strdup(e->link) : NULL;
	sn->n++;
	if (sn->stop_at > 0 && (int)sn->n == sn->stop_at)
		return (42);
	return (0);
}

static void
notefn(void *cookie, enum scan_note what, const char *path, size_t len,
    int err)
{
	struct seen *sn = cookie;

	(void)path;
	(void)len;
	(void)err;
	sn->notes[what]++;
}

static void
seen_free(struct seen *sn)
{
	size_t i;

	for (i = 0; i < sn->n; i++) {
		free(sn->paths[i]);
		free(sn->allpaths[i]);
		free(sn->links[i]);
	}
}

static size_t
find(const struct seen *sn, const char *rel)
{
	size_t i;

	for (i = 0; i < sn->n; i++)
		if (strcmp(sn->paths[i], rel) == 0)
			return (i);
	return ((size_t)-1);
}

/* Every consecutive pair strictly increasing under scan_path_cmp. */
static void
assert_sorted(const struct seen *sn)
{
	size_t i;

	for (i = 1; i < sn->n; i++) {
		assert_true(scan_path_cmp(sn->allpaths[i - 1],
		    sn->alllens[i - 1], sn->allpaths[i], sn->alllens[i]) < 0);
		assert_true(scan_path_cmp(sn->allpaths[i], sn->alllens[i],
		    sn->allpaths[i - 1], sn->alllens[i - 1]) > 0);
	}
}

static void
test_path_cmp(void **state)
{
	static const char *order[] = {
		"a", "a/b", "a/b/c", "a/b-", "a-", "a.b", "a.b/x", "aa", "b",
		"b\n", "b\n/x", "b\xff", "\xff", "\xff\xff"
	};
	size_t i, j;
	int c;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(order); i++)
		for (j = 0; j < ARRAY_SIZE(order); j++) {
			c = scan_path_cmp(order[i], strlen(order[i]),
			    order[j], strlen(order[j]));
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
	/* Plain memcmp would put "a.b" first. */
	assert_true(memcmp("a.b", "a/b", 3) < 0);
	assert_true(scan_path_cmp("a/b", 3, "a.b", 3) < 0);
	/* Lengths, not NULs, delimit. */
	assert_true(scan_path_cmp("ab", 1, "ab", 2) < 0);
}

static void
test_glob(void **state)
{

	(void)state;
	/* No '/': the base name anywhere. */
	assert_int_equal(scan_glob_match("*.tmp", "x.tmp", 0), 1);
	assert_int_equal(scan_glob_match("*.tmp", "a/b/x.tmp", 0), 1);
	assert_int_equal(scan_glob_match("*.tmp", "a/x.tmp/b", 0), 0);
	assert_int_equal(scan_glob_match("x", "a/xx", 0), 0);
	/* Leading '/': the whole path. */
	assert_int_equal(scan_glob_match("/a/*", "a/b", 0), 1);
	assert_int_equal(scan_glob_match("/a/*", "a/b/c", 0), 0);
	assert_int_equal(scan_glob_match("/a/*", "x/a/b", 0), 0);
	assert_int_equal(scan_glob_match("/a/**", "a/b/c", 0), 1);
	assert_int_equal(scan_glob_match("/a/**", "a", 1), 0);
	assert_int_equal(scan_glob_match("/a/**/z", "a/z", 0), 1);
	assert_int_equal(scan_glob_match("/a/**/z", "a/b/c/z", 0), 1);
	assert_int_equal(scan_glob_match("/a/**/z", "a/b/c/zz", 0), 0);
	assert_int_equal(scan_glob_match("**/z", "z", 0), 1);
	/* Inner '/': a trailing run of whole components. */
	assert_int_equal(scan_glob_match("b/*.o", "a/b/c.o", 0), 1);
	assert_int_equal(scan_glob_match("b/*.o", "b/c.o", 0), 1);
	assert_int_equal(scan_glob_match("b/*.o", "ab/c.o", 0), 0);
	assert_int_equal(scan_glob_match("b/*.o", "b/c.o/d", 0), 0);
	/* '*' and '?' stop at '/'. */
	assert_int_equal(scan_glob_match("/a*", "ab/c", 0), 0);
	assert_int_equal(scan_glob_match("/a?c", "a/c", 0), 0);
	assert_int_equal(scan_glob_match("/a?c", "abc", 0), 1);
	/* Directories only. */
	assert_int_equal(scan_glob_match("tmp/", "x/tmp", 0), 0);
	assert_int_equal(scan_glob_match("tmp/", "x/tmp", 1), 1);
	/* Classes and escapes. */
	assert_int_equal(scan_glob_match("[ab]c", "bc", 0), 1);
	assert_int_equal(scan_glob_match("[!ab]c", "bc", 0), 0);
	assert_int_equal(scan_glob_match("[^ab]c", "xc", 0), 1);
	assert_int_equal(scan_glob_match("[a-c]", "b", 0), 1);
	assert_int_equal(scan_glob_match("[a-c]", "d", 0), 0);
	assert_int_equal(scan_glob_match("[]]", "]", 0), 1);
	assert_int_equal(scan_glob_match("[", "[", 0), 1);
	assert_int_equal(scan_glob_match("\\*", "*", 0), 1);
	assert_int_equal(scan_glob_match("\\*", "x", 0), 0);
	/* Raw bytes. */
	assert_int_equal(scan_glob_match("*\xff", "a/b\xff", 0), 1);
	assert_int_equal(scan_glob_match("n?n", "d/n\nn", 0), 1);
}

/* The main tree scan; want lists the expected visit order. */
static void
run_main(unsigned int flags, struct seen *sn, struct scan **sp)
{
	struct scan *s;
	char *p, *exfile, *alias, *text;

	assert_non_null(s = scan_new(flags));
	assert_int_equal(scan_add_source(s, src), 0);
	assert_int_equal(scan_add_exclude(s, "*.tmp"), 0);
	assert_int_equal(scan_add_exclude(s, "dironly/"), 0);
	assert_int_equal(scan_add_exclude(s, "build/*.o"), 0);
	p = util_asprintf("%s/**/zz", src);
	assert_int_equal(scan_add_exclude(s, p), 0);
	free(p);
	/* An exclude file: comments, blanks, CRLF, an anchored path. */
	exfile = util_path_join(T, "excludes");
	text = util_asprintf("# comment\n\n   \n  # indented comment\r\n"
	    "%s/sub/deep\r\n", src);
	assert_int_equal(util_write_file(exfile, text, strlen(text), 0644, 0),
	    0);
	assert_int_equal(scan_add_exclude_file(s, exfile), 0);
	free(text);
	free(exfile);
	/* The never-backed-up directory, through a symlink alias. */
	alias = util_path_join(T, "homealias");
	assert_int_equal(scan_add_never(s, alias), 0);
	free(alias);
	assert_int_equal(scan_add_never(s, "/nonexistent/coffer"), 0);

	memset(sn, 0, sizeof(*sn));
	sn->prefix = src + 1;
	sn->prefixlen = strlen(src + 1);
	assert_int_equal(scan_run(s, collect, notefn, sn), 0);
	*sp = s;
}

static void
check_order(const struct seen *sn, const char *const *want, size_t nwant)
{
	size_t i;

	for (i = 0; i < nwant && i < sn->n; i++)
		if (strcmp(sn->paths[i], want[i]) != 0)
			fail_msg("entry %zu: got '%s', want '%s'", i,
			    sn->paths[i], want[i]);
	assert_int_equal(sn->n, nwant);
	assert_sorted(sn);
}

static void
test_tree(void **state)
{
	static const char *want[] = {
		"", "B", "a", "a/b", "a-", "a.b", "cache",
		"cache/CACHEDIR.TAG", "faketag", "faketag/CACHEDIR.TAG",
		"faketag/keep", "fifo", "link", "mnt", "mnt/inside",
		"nl\nname", "sub", "sub/build", "sub/build/q", "sub/dironly",
		"sub/keep.o", "\xff"
	};
	const struct scan_stats *st;
	struct scan *s;
	struct seen sn;
	size_t i;

	(void)state;
	run_main(SCAN_EXCLUDE_CACHES, &sn, &s);
	check_order(&sn, want, ARRAY_SIZE(want));

	assert_int_equal(sn.flags[0], SCAN_ENTRY_ROOT);
	assert_int_equal(sn.types[0], SCAN_DIR);
	i = find(&sn, "link");
	assert_int_equal(sn.types[i], SCAN_SYMLINK);
	assert_string_equal(sn.links[i], "a/b");
	assert_int_equal(sn.types[find(&sn, "fifo")], SCAN_FIFO);
	assert_int_equal(sn.types[find(&sn, "a/b")], SCAN_REG);
	assert_null(sn.links[find(&sn, "a/b")]);
	assert_int_equal(sn.flags[find(&sn, "cache")], SCAN_ENTRY_CACHEDIR);
	assert_int_equal(sn.flags[find(&sn, "faketag")], 0);
	assert_int_equal(sn.flags[find(&sn, "mnt")], 0);

	st = scan_get_stats(s);
	assert_int_equal(st->entries, ARRAY_SIZE(want));
	assert_int_equal(st->sockets, 1);
	assert_int_equal(sn.notes[SCAN_NOTE_SOCKET], 1);
	/* x.tmp, zz, a/zz, dironly, sub/build/y.o, sub/build/q/zz,
	 * sub/deep, sub/x.tmp */
	assert_int_equal(st->excluded, 8);
	assert_int_equal(st->never, 1);
	assert_int_equal(st->cachedirs, 1);
	assert_int_equal(st->xdev, 0);
	assert_int_equal(st->symlinks, 1);
	assert_int_equal(st->others, 1);
	assert_int_equal(st->dirs, 8);
	/* A second run is refused. */
	assert_int_equal(scan_run(s, collect, notefn, &sn), -1);
	seen_free(&sn);
	scan_free(s);
}

static void
test_one_fs(void **state)
{
	static const char *want[] = {
		"", "B", "a", "a/b", "a-", "a.b", "cache",
		"cache/CACHEDIR.TAG", "faketag", "faketag/CACHEDIR.TAG",
		"faketag/keep", "fifo", "link", "mnt",
		"nl\nname", "sub", "sub/build", "sub/build/q", "sub/dironly",
		"sub/keep.o", "\xff"
	};
	struct scan *s;
	struct seen sn;

	(void)state;
	if (!mounted) {
		/* Not skip(): cmocka's "not ok # SKIP" is a failure to the
		 * TAP driver. */
		print_message("not run: cannot mount a tmpfs here\n");
		return;
	}
	run_main(SCAN_EXCLUDE_CACHES | SCAN_ONE_FS, &sn, &s);
	check_order(&sn, want, ARRAY_SIZE(want));
	assert_int_equal(sn.flags[find(&sn, "mnt")], SCAN_ENTRY_XDEV);
	assert_int_equal(scan_get_stats(s)->xdev, 1);
	assert_int_equal(sn.notes[SCAN_NOTE_XDEV], 1);
	seen_free(&sn);
	scan_free(s);
}

static void
test_no_cache_flag(void **state)
{
	struct scan *s;
	struct seen sn;

	(void)state;
	/* Without SCAN_EXCLUDE_CACHES the cache contents are reported. */
	run_main(0, &sn, &s);
	assert_true(find(&sn, "cache/junk") != (size_t)-1);
	assert_true(find(&sn, "cache/sub/junk") != (size_t)-1);
	assert_int_equal(sn.flags[find(&sn, "cache")], 0);
	assert_sorted(&sn);
	seen_free(&sn);
	scan_free(s);
}

static void
test_sources(void **state)
{
	struct scan *s;
	struct seen sn;
	char *p, cwd[PATH_MAX];
	size_t i, nparents = 0, nroots = 0;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_non_null(s = scan_new(SCAN_PARENTS));
	/* Relative, with "." and ".." and "//"; nested; duplicate. */
	assert_int_equal(chdir(T), 0);
	assert_int_equal(scan_add_source(s, "src/./a/..//a.b"), 0);
	assert_int_equal(chdir(cwd), 0);
	p = util_path_join(src, "sub");
	assert_int_equal(scan_add_source(s, p), 0);
	assert_int_equal(scan_add_source(s, p), 0);
	free(p);
	p = util_path_join(src, "sub/build");
	assert_int_equal(scan_add_source(s, p), 0);
	free(p);
	p = util_path_join(src, "a");
	assert_int_equal(scan_add_source(s, p), 0);
	free(p);
	/* A source that is a symlink is the symlink. */
	p = util_path_join(src, "link");
	assert_int_equal(scan_add_source(s, p), 0);
	free(p);
	p = util_path_join(src, "missing");
	assert_int_equal(scan_add_source(s, p), 0);
	free(p);
	assert_int_equal(scan_add_source(s, ""), -1);

	memset(&sn, 0, sizeof(sn));
	sn.prefix = src + 1;
	sn.prefixlen = strlen(src + 1);
	assert_int_equal(scan_run(s, collect, notefn, &sn), 0);
	assert_sorted(&sn);
	for (i = 0; i < sn.n; i++) {
		if (sn.flags[i] & SCAN_ENTRY_PARENT) {
			nparents++;
			assert_int_equal(sn.types[i], SCAN_DIR);
		}
		if (sn.flags[i] & SCAN_ENTRY_ROOT)
			nroots++;
	}
	/* Parents: every component of src, each once ("tmp", the test
	 * directory, "src"). */
	for (i = 0, p = src; *p != '\0'; p++)
		if (*p == '/')
			i++;
	assert_int_equal(nparents, i);
	/* Roots: a, a.b, link, sub (missing is noted, sub/build nested). */
	assert_int_equal(nroots, 4);
	assert_true(sn.flags[find(&sn, "a")] & SCAN_ENTRY_ROOT);
	assert_true(sn.flags[find(&sn, "a.b")] & SCAN_ENTRY_ROOT);
	assert_true(sn.flags[find(&sn, "sub")] & SCAN_ENTRY_ROOT);
	assert_int_equal(sn.types[find(&sn, "link")], SCAN_SYMLINK);
	assert_true(find(&sn, "a/b") < find(&sn, "a.b"));
	assert_true(find(&sn, "sub/build/y.o") != (size_t)-1);
	assert_int_equal(find(&sn, "missing"), (size_t)-1);
	assert_int_equal(sn.notes[SCAN_NOTE_UNREADABLE], 1);
	seen_free(&sn);
	scan_free(s);
}

static void
test_never_root(void **state)
{
	struct scan *s;
	struct seen sn;
	char *p;

	(void)state;
	/* A source inside the never-backed-up directory, and the directory
	 * itself spelled differently: nothing reported. */
	assert_non_null(s = scan_new(0));
	p = util_path_join(src, "home/secret");
	assert_int_equal(scan_add_source(s, p), 0);
	free(p);
	p = util_path_join(T, "homealias/");
	assert_int_equal(scan_add_never(s, p), 0);
	free(p);
	p = util_path_join(T, "src/a/../home");
	assert_int_equal(scan_add_source(s, p), 0);
	free(p);
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(scan_run(s, collect, notefn, &sn), 0);
	assert_int_equal(sn.n, 0);
	assert_int_equal(scan_get_stats(s)->never, 1);
	seen_free(&sn);
	scan_free(s);
}

static void
test_stop(void **state)
{
	struct scan *s;
	struct seen sn;

	(void)state;
	assert_non_null(s = scan_new(0));
	assert_int_equal(scan_add_source(s, src), 0);
	memset(&sn, 0, sizeof(sn));
	sn.prefix = src + 1;
	sn.prefixlen = strlen(src + 1);
	sn.stop_at = 4;
	assert_int_equal(scan_run(s, collect, NULL, &sn), 42);
	assert_int_equal(sn.n, 4);
	seen_free(&sn);
	scan_free(s);
	scan_free(NULL);
}

static void
test_cachedir_tag(void **state)
{
	char *p;
	int fd;

	(void)state;
	p = util_path_join(src, "cache");
	assert_true((fd = open(p, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(scan_cachedir_tag_valid(fd), 1);
	close(fd);
	free(p);
	p = util_path_join(src, "faketag");
	assert_true((fd = open(p, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(scan_cachedir_tag_valid(fd), 0);
	close(fd);
	free(p);
	p = util_path_join(src, "a");
	assert_true((fd = open(p, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(scan_cachedir_tag_valid(fd), 0);
	close(fd);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_cmp),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_one_fs),
		cmocka_unit_test(test_no_cache_flag),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_never_root),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_cachedir_tag),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return (cmocka_run_group_tests(tests, setup, teardown));
}
