/*
 * test-recovery: RECOVERY.txt.  Shell quoting checked by running the
 * generated cat line in sh on real files; the whole text checked by
 * running its commands (sed -n 's/^    //p') with the real age, zstd, tar
 * and sha256sum on a full + incr chain with two volumes each, a file
 * split across volumes, and deletions.
 */
#include "compat.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "age.h"
#include "crypto.h"
#include "recovery.h"
#include "set.h"
#include "util.h"
#include "warnp.h"

static char tmpdir[] = "/tmp/test-recovery-XXXXXX";

static int
have_tools(void)
{

	return (system("command -v age >/dev/null && command -v zstd "
	    ">/dev/null && command -v tar >/dev/null && command -v sha256sum "
	    ">/dev/null") == 0);
}

static int
run(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n > 0);
	assert_non_null(cmd = malloc((size_t)n + 1));
	va_start(ap, fmt);
	vsnprintf(cmd, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	free(cmd);
	return (rc);
}

static void
header(struct set_header *h, const char *label, enum set_level level,
    const char *parent, time_t created)
{

	set_header_init(h);
	assert_non_null(h->vault = util_strdup(
	    "5f0c1e2d3b4a59687766554433221100"));
	assert_non_null(h->host = util_strdup("h"));
	assert_non_null(h->job = util_strdup("nightly"));
	assert_non_null(h->label = util_strdup(label));
	h->level = level;
	h->created = created;
	if (parent != NULL)
		assert_int_equal(set_header_add_parent(h, parent), 0);
}

static void
add_file_object(struct set_header *h, const char *dir, const char *name,
    enum set_role role)
{
	uint8_t sha[32];
	uint64_t size;
	char *p;

	assert_non_null(p = util_asprintf("%s/%s", dir, name));
	assert_int_equal(crypto_sha256_file(p, sha, &size), 0);
	assert_int_equal(set_header_add_object(h, name, role, size, sha,
	    role == SET_ROLE_VOLUME || role == SET_ROLE_MANIFEST ? sha : NULL),
	    0);
	free(p);
}

static void
test_quote(void **state)
{
	static const char *const in[] = { "plain", "it's", "a b", "'", "" };
	static const char *const out[] = {
		"'plain'", "'it'\\''s'", "'a b'", "''\\'''", "''",
	};
	size_t i;
	char *q;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(in); i++) {
		assert_non_null(q = recovery_shell_quote(in[i],
		    strlen(in[i])));
		assert_string_equal(q, out[i]);
		free(q);
	}
}

static void
test_join_line_runs(void **state)
{
	static const char path[] = "dir x/it's a \"file\"; $(touch pwned) *";
	char *line, *dir;
	FILE *fp;

	(void)state;
	assert_non_null(line = recovery_join_line(path, sizeof(path) - 1, 3));
	assert_non_null(strstr(line, "cat 'dir x/it'\\''s a \"file\"; "
	    "$(touch pwned) *.coffer-part-0001-of-0003' "));
	assert_non_null(dir = util_asprintf("%s/join", tmpdir));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(run("cd '%s' && mkdir 'dir x' && cd 'dir x' && "
	    "printf one > \"it's a \\\"file\\\"; \\$(touch pwned) *.coffer-part-"
	    "0001-of-0003\" && printf two > \"it's a \\\"file\\\"; "
	    "\\$(touch pwned) *.coffer-part-0002-of-0003\" && printf three > "
	    "\"it's a \\\"file\\\"; \\$(touch pwned) *.coffer-part-0003-of-0003\"",
	    dir), 0);
	/* The line itself, run by sh in the restore directory. */
	assert_non_null(fp = fopen("/tmp/test-recovery-line.sh", "w"));
	fprintf(fp, "cd '%s' && %s\n", dir, line);
	fclose(fp);
	assert_int_equal(run("sh /tmp/test-recovery-line.sh"), 0);
	unlink("/tmp/test-recovery-line.sh");
	assert_int_equal(run("cd '%s/dir x' && [ \"$(cat \"it's a \\\"file\\\"; "
	    "\\$(touch pwned) *\")\" = onetwothree ] && [ \"$(ls | wc -l)\" = 1 ] "
	    "&& [ ! -e pwned ] && [ ! -e ../pwned ]",
	    dir), 0);
	free(dir);
	free(line);
}

static void
test_text_order(void **state)
{
	struct set_header f, i1, i2;
	const struct set_header *chain[2];
	struct recovery_split sp = { "v/big", 5, 2 };
	uint8_t sha[32];
	char *t;
	const char *a, *b, *c;

	(void)state;
	memset(sha, 0, sizeof(sha));
	header(&f, "full-1", SET_FULL, NULL, 1000);
	header(&i1, "incr-2", SET_INCR, "full-1", 2000);
	header(&i2, "incr-3", SET_INCR, "incr-2", 3000);
	assert_int_equal(set_header_add_object(&f, "vol-0001.tar.zst.age",
	    SET_ROLE_VOLUME, 1, sha, sha), 0);
	assert_int_equal(set_header_add_object(&f, "vol-0002.tar.zst.age",
	    SET_ROLE_VOLUME, 1, sha, sha), 0);
	assert_int_equal(set_header_add_object(&i2, "vol-0001.tar.zst.age",
	    SET_ROLE_VOLUME, 1, sha, sha), 0);
	chain[0] = &f;
	chain[1] = &i1;
	assert_non_null(t = recovery_text(&i2, chain, 2, &sp, 1, NULL));
	/* The chain, oldest first, each checked, then extracted. */
	assert_non_null(a = strstr(t, "Step 1 of 3: set full-1 (full"));
	assert_non_null(b = strstr(t, "Step 2 of 3: set incr-2 (incr"));
	assert_non_null(c = strstr(t, "Step 3 of 3: set incr-3 (incr"));
	assert_true(a < b && b < c);
	assert_non_null(strstr(t, "\n    (cd \"$VAULT/sets/h/full-1\" && "
	    "sha256sum -c SHA256SUMS)\n"));
	a = strstr(t, "\"$VAULT/sets/h/full-1/vol-0001.tar.zst.age\" | "
	    "zstd -d |\n      tar --xattrs --acls --numeric-owner -xpf - -C "
	    "\"$DEST\"\n");
	b = strstr(t, "\"$VAULT/sets/h/full-1/vol-0002.tar.zst.age\"");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	/* Deletions only for incrementals, before their volumes. */
	assert_null(strstr(t, "sets/h/full-1/manifest.jsonl.zst.age"));
	a = strstr(t, "\"$VAULT/sets/h/incr-3/manifest.jsonl.zst.age\"");
	b = strstr(t, "\"$VAULT/sets/h/incr-3/vol-0001.tar.zst.age\"");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_non_null(strstr(t, "(this set has no volumes"));
	assert_non_null(strstr(t, "    (cd \"$DEST\" && cat "
	    "'v/big.coffer-part-0001-of-0002' 'v/big.coffer-part-0002-of-0002' "
	    "> 'v/big' && rm -f 'v/big.coffer-part-0001-of-0002' "
	    "'v/big.coffer-part-0002-of-0002')\n"));
	assert_non_null(strstr(t, "age -d -o /root/identity.txt "
	    "/var/lib/coffer/keys/identity.age"));
	free(t);
	set_header_clear(&f);
	set_header_clear(&i1);
	set_header_clear(&i2);
}

/* Write text to dir/name. */
static void
put(const char *dir, const char *name, const char *text)
{
	char *p;

	assert_non_null(p = util_asprintf("%s/%s", dir, name));
	assert_int_equal(util_write_file(p, text, strlen(text), 0644, 0), 0);
	free(p);
}

/* RECOVERY.txt and SHA256SUMS for a set whose volumes and manifest are
 * already in dir. */
static void
finish_set(struct set_header *h, const char *dir,
    const struct set_header *const *chain, size_t n,
    const struct recovery_split *sp, size_t nsp)
{
	char *t;

	assert_non_null(t = recovery_text(h, chain, n, sp, nsp, NULL));
	put(dir, SET_RECOVERY, t);
	free(t);
	add_file_object(h, dir, SET_RECOVERY, SET_ROLE_RECOVERY);
	assert_non_null(t = set_sums_text(h, NULL));
	put(dir, SET_SUMS, t);
	free(t);
}

static void
test_chain_with_real_tools(void **state)
{
	struct set_header f, i;
	const struct set_header *chain[1];
	struct recovery_split sp = { "d/b'ig file.bin", 15, 3 };
	char id[AGE_IDENTITY_MAX], rcpt[AGE_RECIPIENT_MAX];
	char *w, *fdir, *idir, *idline;

	(void)state;
	if (!have_tools()) {
		/* Not skip(): cmocka's "not ok # SKIP" is a failure to the
		 * TAP driver. */
		print_message("not run: age, zstd, tar or sha256sum missing\n");
		return;
	}
	assert_non_null(w = util_asprintf("%s/chain", tmpdir));
	assert_non_null(fdir = util_asprintf("%s/vault/sets/h/f1", w));
	assert_non_null(idir = util_asprintf("%s/vault/sets/h/i1", w));
	assert_int_equal(util_mkdir_p(fdir, 0700), 0);
	assert_int_equal(util_mkdir_p(idir, 0700), 0);
	assert_int_equal(age_keygen(id, rcpt), 0);
	assert_non_null(idline = util_asprintf("%s\n", id));
	put(w, "id.txt", idline);
	free(idline);

	/* The full: two volumes; names with a quote, a space, a '"'. */
	assert_int_equal(run("set -e; cd '%s'; R=%s; "
	    "mkdir -p src1/a 'src1/sp ace'; echo keep1 > src1/a/keep.txt; "
	    "echo gone > src1/a/gone.txt; echo q > 'src1/a/q\"x'; "
	    "echo sq > \"src1/sp ace/it's.txt\"; "
	    "mkdir src1/g; "
	    "printf 'x\\n' > 'src1/g/sm all.coffer-part-0001-of-0002'; "
	    "printf 'y\\n' > 'src1/g/sm all.coffer-part-0002-of-0002'; "
	    "tar -cf - -C src1 a 'g/sm all.coffer-part-0001-of-0002' | "
	    "zstd -q | age -r $R > vault/sets/h/f1/vol-0001.tar.zst.age; "
	    "tar -cf - -C src1 'sp ace' 'g/sm all.coffer-part-0002-of-0002' | "
	    "zstd -q | age -r $R > "
	    "vault/sets/h/f1/vol-0002.tar.zst.age; "
	    "printf '' | zstd -q | age -r $R > "
	    "vault/sets/h/f1/manifest.jsonl.zst.age", w, rcpt), 0);
	header(&f, "f1", SET_FULL, NULL, 1000);
	add_file_object(&f, fdir, "vol-0001.tar.zst.age", SET_ROLE_VOLUME);
	add_file_object(&f, fdir, "vol-0002.tar.zst.age", SET_ROLE_VOLUME);
	add_file_object(&f, fdir, SET_MANIFEST, SET_ROLE_MANIFEST);
	finish_set(&f, fdir, NULL, 0, NULL, 0);

	/*
	 * The incr: keep.txt changed, gone.txt and q"x deleted, a 300 kB
	 * file split in three parts over two volumes.
	 */
	assert_int_equal(run("set -e; cd '%s'; R=%s; "
	    "mkdir -p src2/a src2/d; echo keep2 > src2/a/keep.txt; "
	    "head -c 300000 /dev/urandom > big; B=\"src2/d/b'ig file.bin\"; "
	    "dd if=big of=\"$B.coffer-part-0001-of-0003\" bs=100000 count=1 "
	    "2>/dev/null; "
	    "dd if=big of=\"$B.coffer-part-0002-of-0003\" bs=100000 skip=1 "
	    "count=1 2>/dev/null; "
	    "dd if=big of=\"$B.coffer-part-0003-of-0003\" bs=100000 skip=2 "
	    "2>/dev/null; "
	    "tar -cf - -C src2 a \"d/b'ig file.bin.coffer-part-0001-of-0003\" "
	    "\"d/b'ig file.bin.coffer-part-0002-of-0003\" | zstd -q | "
	    "age -r $R > vault/sets/h/i1/vol-0001.tar.zst.age; "
	    "tar -cf - -C src2 \"d/b'ig file.bin.coffer-part-0003-of-0003\" | "
	    "zstd -q | age -r $R > vault/sets/h/i1/vol-0002.tar.zst.age; "
	    "printf '%%s\\n' "
	    "'{\"deleted\":true,\"path\":\"a/gone.txt\",\"type\":\"file\"}' "
	    "'{\"deleted\":true,\"path\":\"a/q\\\"x\",\"type\":\"file\"}' "
	    "'{\"path\":\"a/keep.txt\",\"size\":6,\"type\":\"file\","
	    "\"volume\":1}' | zstd -q | age -r $R > "
	    "vault/sets/h/i1/manifest.jsonl.zst.age", w, rcpt), 0);
	header(&i, "i1", SET_INCR, "f1", 2000);
	add_file_object(&i, idir, "vol-0001.tar.zst.age", SET_ROLE_VOLUME);
	add_file_object(&i, idir, "vol-0002.tar.zst.age", SET_ROLE_VOLUME);
	add_file_object(&i, idir, SET_MANIFEST, SET_ROLE_MANIFEST);
	chain[0] = &f;
	finish_set(&i, idir, chain, 1, &sp, 1);

	/* The commands of the incr's RECOVERY.txt, run literally. */
	assert_int_equal(run("cd '%s' && sed -n 's/^    //p' "
	    "vault/sets/h/i1/RECOVERY.txt > r.sh && "
	    "VAULT='%s/vault' ID='%s/id.txt' DEST='%s/out' sh r.sh > log 2>&1",
	    w, w, w, w), 0);
	assert_int_equal(run("set -e; cd '%s'; "
	    "[ \"$(cat out/a/keep.txt)\" = keep2 ]; "
	    "[ ! -e out/a/gone.txt ]; "
	    "[ -e 'out/a/q\"x' ]; grep -q 'q\\\\\"x' log; "
	    "[ \"$(cat \"out/sp ace/it's.txt\")\" = sq ]; "
	    "cmp big \"out/d/b'ig file.bin\"; "
	    "[ \"$(ls out/d | wc -l)\" = 1 ]; "
	    "grep -q 'vol-0001.tar.zst.age: OK' log; "
	    "[ \"$(cat 'out/g/sm all')\" = \"$(printf 'x\\ny')\" ]; "
	    "[ \"$(ls out/g | wc -l)\" = 1 ]", w), 0);

	/* The full's own RECOVERY.txt restores the full alone. */
	assert_int_equal(run("cd '%s' && sed -n 's/^    //p' "
	    "vault/sets/h/f1/RECOVERY.txt > r1.sh && "
	    "VAULT='%s/vault' ID='%s/id.txt' DEST='%s/out1' sh r1.sh "
	    "> log1 2>&1 && [ \"$(cat out1/a/keep.txt)\" = keep1 ] && "
	    "[ -e out1/a/gone.txt ]", w, w, w, w), 0);

	/* A damaged volume stops the script at the checksum check. */
	assert_int_equal(run("cd '%s' && chmod u+w vault/sets/h/i1/"
	    "vol-0002.tar.zst.age && printf x >> vault/sets/h/i1/"
	    "vol-0002.tar.zst.age && ! VAULT='%s/vault' ID='%s/id.txt' "
	    "DEST='%s/out2' sh r.sh > log2 2>&1 && "
	    "grep -q 'vol-0002.tar.zst.age: FAILED' log2", w, w, w, w), 0);

	set_header_clear(&f);
	set_header_clear(&i);
	free(w);
	free(fdir);
	free(idir);
}

static int
setup(void **state)
{

	(void)state;
	if (crypto_init() != 0 || mkdtemp(tmpdir) == NULL)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{

	(void)state;
	return (util_remove_tree(tmpdir));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_join_line_runs),
		cmocka_unit_test(test_text_order),
		cmocka_unit_test(test_chain_with_real_tools),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
