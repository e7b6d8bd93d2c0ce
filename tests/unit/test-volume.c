/*
 * test-volume: lib/volume writes a tree into a vol-NNNN.tar.zst.age and
 * reads it back: every entry's metadata and SHA-256 (hashed independently
 * from the source files), extraction compared with the source, the object
 * and payload hashes, the standard tools (age -d | zstd -d | tar) on the
 * same volume, refused escapes, and damage.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "age.h"
#include "crypto.h"
#include "target.h"
#include "util.h"
#include "volume.h"

static char g_base[] = "/tmp/test-volume.XXXXXX";
static char *g_identity;
static char g_recipient[AGE_RECIPIENT_MAX];
static struct age_recipients *g_recips;
static struct age_identities *g_ids;
static char g_idfile[PATH_MAX];

/* ---------------------------------------------------------------- helpers */

static int
fd_write(void *cookie, const void *buf, size_t len)
{

	return (util_write_all(*(int *)cookie, buf, len) ? -1 : 0);
}

static ssize_t
fd_read(void *cookie, void *buf, size_t len)
{

	return (read(*(int *)cookie, buf, len));
}

struct mem {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t rpos;
};

static int
mem_write(void *cookie, const void *buf, size_t len)
{
	struct mem *m = cookie;

	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		assert_non_null(m->p = realloc(m->p, m->cap));
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return (0);
}

static ssize_t
mem_read(void *cookie, void *buf, size_t len)
{
	struct mem *m = cookie;
	size_t n = m->len - m->rpos < len ? m->len - m->rpos : len;

	if (n > 0)
		memcpy(buf, m->p + m->rpos, n);
	m->rpos += n;
	return ((ssize_t)n);
}

static char *
path(const char *fmt, ...)
{
	static char buf[8][PATH_MAX];
	static int i;
	char rel[PATH_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", g_base, rel);
	return (buf[i]);
}

static void
put(const char *p, const void *data, size_t len, mode_t mode)
{
	int fd;

	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) >= 0);
	assert_int_equal(util_write_all(fd, data, len), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static void
set_mtime(const char *p, time_t s, long ns)
{
	struct timespec ts[2] = { { s, ns }, { s, ns } };

	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static int
sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return (system(cmd));
}

/* ---------------------------------------------------------------- tree */

/* The source tree: archive name, and what it is. */
struct item {
	const char *name;
	enum volume_type type;
	uint8_t sha256[32];     /* by crypto_sha256_file */
	int stored;
	int seen;
};

static struct item g_items[] = {
	{ "dir", VOLUME_DIR, { 0 }, 0, 0 },
	{ "dir/inner", VOLUME_REG, { 0 }, 0, 0 },
	{ "plain.txt", VOLUME_REG, { 0 }, 0, 0 },
	{ "empty", VOLUME_REG, { 0 }, 0, 0 },
	{ "random.bin", VOLUME_REG, { 0 }, 0, 0 },
	{ "sparse.bin", VOLUME_REG, { 0 }, 0, 0 },
	{ "sym", VOLUME_SYMLINK, { 0 }, 0, 0 },
	{ "hl1", VOLUME_REG, { 0 }, 0, 0 },
	{ "hl2", VOLUME_HARDLINK, { 0 }, 0, 0 },
	{ "fifo", VOLUME_FIFO, { 0 }, 0, 0 },
	{ "xattr.txt", VOLUME_REG, { 0 }, 0, 0 },
	{ "acl.txt", VOLUME_REG, { 0 }, 0, 0 },
	{ "with space", VOLUME_REG, { 0 }, 0, 0 },
	{ "new\nline", VOLUME_REG, { 0 }, 0, 0 },
	{ "bad\xff\xfe-utf8", VOLUME_REG, { 0 }, 0, 0 },
	{ "\xc3\xbcnic\xc3\xb6" "de", VOLUME_REG, { 0 }, 0, 0 },
};

static int g_have_xattr, g_have_acl;

static void
make_tree(void)
{
	static uint8_t rnd[3 * 1024 * 1024];
	size_t i;
	int fd;

	assert_int_equal(mkdir(path("src"), 0755), 0);
	assert_int_equal(mkdir(path("src/dir"), 0750), 0);
	put(path("src/dir/inner"), "inner\n", 6, 0600);
	put(path("src/plain.txt"), "hello, volume\n", 14, 0640);
	put(path("src/empty"), "", 0, 0644);
	assert_true((fd = open("/dev/urandom", O_RDONLY)) >= 0);
	assert_int_equal(util_read_all(fd, rnd, sizeof(rnd)),
	    (ssize_t)sizeof(rnd));
	close(fd);
	put(path("src/random.bin"), rnd, sizeof(rnd), 0644);
	/* 8 MiB with one byte of data in the middle. */
	assert_true((fd = open(path("src/sparse.bin"),
	    O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(pwrite(fd, "x", 1, 4 * 1024 * 1024), 1);
	assert_int_equal(ftruncate(fd, 8 * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(symlink("plain.txt", path("src/sym")), 0);
	put(path("src/hl1"), "linked\n", 7, 0644);
	assert_int_equal(link(path("src/hl1"), path("src/hl2")), 0);
	assert_int_equal(mkfifo(path("src/fifo"), 0620), 0);
	put(path("src/xattr.txt"), "xattrs\n", 7, 0644);
	g_have_xattr = setxattr(path("src/xattr.txt"), "user.test",
	    "val\0ue", 6, 0) == 0;
	if (!g_have_xattr)
		print_message("# skipping xattrs: %s\n", strerror(errno));
	put(path("src/acl.txt"), "acl\n", 4, 0644);
	g_have_acl = access("/usr/bin/setfacl", X_OK) == 0 &&
	    sh("setfacl -m u:1:r '%s' && setfacl -d -m u:1:rx '%s'",
	    path("src/acl.txt"), path("src/dir")) == 0;
	if (!g_have_acl)
		print_message("# skipping ACLs: setfacl failed\n");
	put(path("src/with space"), "space\n", 6, 0644);
	put(path("src/new\nline"), "newline\n", 8, 0644);
	put(path("src/bad\xff\xfe-utf8"), "bad\n", 4, 0644);
	put(path("src/\xc3\xbcnic\xc3\xb6" "de"), "unicode\n", 8, 0644);
	for (i = 0; i < ARRAY_SIZE(g_items); i++) {
		if (g_items[i].type == VOLUME_REG ||
		    g_items[i].type == VOLUME_HARDLINK)
			assert_int_equal(crypto_sha256_file(path("src/%s",
			    g_items[i].name), g_items[i].sha256, NULL), 0);
		if (strcmp(g_items[i].name, "dir") != 0)
			set_mtime(path("src/%s", g_items[i].name),
			    1700000000 + (time_t)i, 123456789 + (long)i);
	}
	set_mtime(path("src/dir"), 1600000000, 987654321);
}

static struct item *
item_find(const char *name)
{
	size_t i, n = strlen(name);

	/* Directories come back with a trailing slash. */
	if (n > 0 && name[n - 1] == '/')
		n--;
	for (i = 0; i < ARRAY_SIZE(g_items); i++)
		if (strlen(g_items[i].name) == n &&
		    memcmp(g_items[i].name, name, n) == 0)
			return (&g_items[i]);
	return (NULL);
}

static void
check_meta(const struct volume_entry *e, const struct item *it,
    const struct stat *st)
{
	struct passwd *pw = getpwuid(st->st_uid);

	assert_int_equal(e->type, it->type);
	assert_int_equal(e->mode, st->st_mode & 07777);
	assert_int_equal(e->uid, st->st_uid);
	assert_int_equal(e->gid, st->st_gid);
	if (pw != NULL) {
		assert_non_null(e->uname);
		assert_string_equal(e->uname, pw->pw_name);
	}
	assert_true(e->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec);
	if (it->type == VOLUME_REG)
		assert_int_equal(e->size, st->st_size);
	if (it->type == VOLUME_SYMLINK)
		assert_string_equal(e->link, "plain.txt");
	if (it->type == VOLUME_HARDLINK)
		assert_string_equal(e->link, "hl1");
}

/* Parts of random.bin stored with volume_add_part. */
#define PART1 "random.bin.coffer-part-0001-of-0002"
#define PART2 "random.bin.coffer-part-0002-of-0002"
#define PART_SPLIT (2 * 1024 * 1024 + 7)

/* A synthetic character device stored with volume_add_file. */
#define DEVNAME "devnull"

static void
write_volume(const char *volpath_, struct volume_result *res)
{
	struct volume_params p = { 0 };
	struct volume_writer *w;
	struct volume_file_info info;
	struct volume_entry e;
	struct stat st;
	uint8_t sha[32], want[32];
	size_t i;
	int fd;
	char *buf, volpath[PATH_MAX];

	snprintf(volpath, sizeof(volpath), "%s", volpath_);
	assert_true((fd = open(volpath, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) >= 0);
	p.name = "vol-0001.tar.zst.age";
	p.recipients = g_recips;
	assert_non_null(w = volume_writer_new(&p, fd_write, &fd));
	for (i = 0; i < ARRAY_SIZE(g_items); i++) {
		memset(&info, 0xa5, sizeof(info));
		assert_int_equal(volume_add_path(w, path("src/%s",
		    g_items[i].name), g_items[i].name, sha, &info), 0);
		assert_int_equal(lstat(path("src/%s", g_items[i].name), &st),
		    0);
		check_meta(&info.entry, &g_items[i], &st);
		assert_non_null(info.entry.path);
		assert_ptr_equal(item_find(info.entry.path), &g_items[i]);
		assert_int_equal(info.changed, 0);
		assert_int_equal(info.read_error, 0);
		assert_int_equal(info.ino, st.st_ino);
		if (g_items[i].type == VOLUME_REG ||
		    g_items[i].type == VOLUME_HARDLINK) {
			assert_memory_equal(sha, g_items[i].sha256, 32);
			assert_memory_equal(info.sha256, sha, 32);
		}
		g_items[i].stored = 1;
	}
	/* random.bin again, in two parts. */
	assert_int_equal(util_read_file(path("src/random.bin"), &buf, NULL,
	    1 << 24), 0);
	assert_int_equal(volume_add_part(w, path("src/random.bin"), PART1, 0,
	    PART_SPLIT, sha, &info), 0);
	crypto_sha256(buf, PART_SPLIT, want);
	assert_memory_equal(sha, want, 32);
	assert_int_equal(info.entry.size, PART_SPLIT);
	assert_string_equal(info.entry.path, PART1);
	assert_int_equal(volume_add_part(w, path("src/random.bin"), PART2,
	    PART_SPLIT, 3 * 1024 * 1024 - PART_SPLIT, sha, &info), 0);
	crypto_sha256(buf + PART_SPLIT, 3 * 1024 * 1024 - PART_SPLIT, want);
	assert_memory_equal(sha, want, 32);
	free(buf);
	/* A socket is skipped, and a missing file too; the volume goes on. */
	assert_int_equal(volume_add_path(w, path("src/nonexistent"), "nx",
	    sha, &info), 1);
	/* A device described by the caller. */
	memset(&e, 0, sizeof(e));
	e.path = DEVNAME;
	e.type = VOLUME_CHR;
	e.mode = 0666;
	e.uname = "root";
	e.gname = "root";
	e.mtime_ns = 1234567890123456789LL;
	e.rdev = makedev(1, 3);
	assert_int_equal(volume_add_file(w, &e, -1, sha), 0);
	assert_true(volume_bytes_in(w) > 3 * 1024 * 1024);
	assert_int_equal(volume_writer_finish(w, res), 0);
	assert_int_equal(volume_writer_finish(w, res), -1);
	volume_writer_free(w);
	assert_int_equal(close(fd), 0);
	assert_int_equal(res->entries, ARRAY_SIZE(g_items) + 3);
}

/* ---------------------------------------------------------------- tests */

static void
test_roundtrip(void **state)
{
	struct volume_result res, rres;
	struct volume_reader *r;
	struct volume_entry_info ei;
	enum volume_status st;
	struct item *it;
	struct stat sst;
	uint8_t sha[32], payload[32];
	char vol[PATH_MAX], *data;
	size_t len, i, nentries = 0;
	int fd, n, parts = 0, dev = 0;

	(void)state;
	make_tree();
	snprintf(vol, sizeof(vol), "%s", path("vol-0001.tar.zst.age"));
	write_volume(vol, &res);

	/* The object hashes, computed independently. */
	assert_int_equal(crypto_sha256_file(vol, sha, NULL), 0);
	assert_memory_equal(sha, res.sha256, 32);
	assert_int_equal(util_read_file(vol, &data, &len, 1 << 30), 0);
	assert_int_equal(len, res.size);
	assert_true(res.header_len > 0 && res.header_len < len);
	assert_memory_equal(data, "age-encryption.org/v1\n", 22);
	assert_int_equal(data[res.header_len - 1], '\n');
	assert_non_null(strstr(data, "\n--- "));
	assert_true((size_t)(strstr(data, "\n--- ") - data) + 49 ==
	    res.header_len);
	crypto_sha256(data + res.header_len, len - res.header_len, payload);
	assert_memory_equal(payload, res.payload_sha256, 32);
	free(data);

	/* Read back: metadata and hashes of every entry. */
	assert_true((fd = open(vol, O_RDONLY)) >= 0);
	assert_non_null(r = volume_reader_open(g_ids, "vol-0001.tar.zst.age",
	    fd_read, &fd, &st));
	assert_int_equal(st, VOLUME_OK);
	while ((n = volume_next(r, &ei)) == 1) {
		nentries++;
		assert_int_equal(volume_data_sha256(r, sha), 0);
		if (strcmp(ei.entry.path, PART1) == 0 ||
		    strcmp(ei.entry.path, PART2) == 0) {
			parts++;
			continue;
		}
		if (strcmp(ei.entry.path, DEVNAME) == 0) {
			dev++;
			assert_int_equal(ei.entry.type, VOLUME_CHR);
			assert_int_equal(ei.entry.rdev, makedev(1, 3));
			assert_true(ei.entry.mtime_ns ==
			    1234567890123456789LL);
			continue;
		}
		assert_non_null(it = item_find(ei.entry.path));
		assert_int_equal(it->seen, 0);
		it->seen = 1;
		assert_int_equal(lstat(path("src/%s", it->name), &sst), 0);
		check_meta(&ei.entry, it, &sst);
		if (it->type == VOLUME_REG)
			assert_memory_equal(sha, it->sha256, 32);
		if (strcmp(it->name, "xattr.txt") == 0 && g_have_xattr) {
			assert_int_equal(ei.entry.nxattrs, 1);
			assert_string_equal(ei.entry.xattrs[0].name,
			    "user.test");
			assert_int_equal(ei.entry.xattrs[0].len, 6);
			assert_memory_equal(ei.entry.xattrs[0].value,
			    "val\0ue", 6);
		} else if (strcmp(it->name, "acl.txt") != 0 &&
		    strcmp(it->name, "dir") != 0)
			assert_int_equal(ei.entry.nxattrs, 0);
		if (strcmp(it->name, "acl.txt") == 0 && g_have_acl) {
			assert_non_null(ei.entry.acl_access);
			assert_true(strstr(ei.entry.acl_access,
			    "user:daemon:r--") != NULL ||
			    strstr(ei.entry.acl_access, "user:1:r--") !=
			    NULL);
		} else if (strcmp(it->name, "dir") == 0 && g_have_acl) {
			assert_null(ei.entry.acl_access);
			assert_non_null(ei.entry.acl_default);
		} else {
			assert_null(ei.entry.acl_access);
			assert_null(ei.entry.acl_default);
		}
	}
	assert_int_equal(n, 0);
	assert_int_equal(parts, 2);
	assert_int_equal(dev, 1);
	assert_int_equal(nentries, ARRAY_SIZE(g_items) + 3);
	for (i = 0; i < ARRAY_SIZE(g_items); i++)
		assert_int_equal(g_items[i].seen, 1);
	assert_int_equal(volume_reader_finish(r, &rres), 0);
	assert_int_equal(rres.size, res.size);
	assert_memory_equal(rres.sha256, res.sha256, 32);
	assert_memory_equal(rres.payload_sha256, res.payload_sha256, 32);
	assert_int_equal(rres.tar_bytes, res.tar_bytes);
	assert_int_equal(rres.entries, res.entries);
	volume_reader_free(r);
	close(fd);
}

/* Compare an extracted tree with the source. */
static void
compare_tree(const char *out, int check_dir_default_acl)
{
	struct stat a, b;
	uint8_t sha[32];
	char va[256], vb[256];
	ssize_t la, lb;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(g_items); i++) {
		const char *n = g_items[i].name;

		assert_int_equal(lstat(path("src/%s", n), &a), 0);
		assert_int_equal(lstat(path("%s/%s", out, n), &b), 0);
		assert_int_equal(a.st_mode, b.st_mode);
		assert_int_equal(a.st_uid, b.st_uid);
		assert_int_equal(a.st_gid, b.st_gid);
		if (!S_ISLNK(a.st_mode)) {
			assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
			assert_int_equal(a.st_mtim.tv_nsec,
			    b.st_mtim.tv_nsec);
		}
		if (S_ISREG(a.st_mode)) {
			assert_int_equal(a.st_size, b.st_size);
			assert_int_equal(crypto_sha256_file(path("%s/%s", out,
			    n), sha, NULL), 0);
			assert_memory_equal(sha, g_items[i].sha256, 32);
		}
		if (S_ISLNK(a.st_mode)) {
			la = readlink(path("%s/%s", out, n), va, sizeof(va));
			assert_int_equal(la, 9);
			assert_memory_equal(va, "plain.txt", 9);
		}
		if (g_have_xattr && !S_ISLNK(a.st_mode) &&
		    !S_ISFIFO(a.st_mode)) {
			la = getxattr(path("src/%s", n), "user.test", va,
			    sizeof(va));
			lb = getxattr(path("%s/%s", out, n), "user.test", vb,
			    sizeof(vb));
			assert_int_equal(la, lb);
			if (la > 0)
				assert_memory_equal(va, vb, (size_t)la);
		}
		if (g_have_acl && !S_ISLNK(a.st_mode)) {
			la = getxattr(path("src/%s", n),
			    "system.posix_acl_access", va, sizeof(va));
			lb = getxattr(path("%s/%s", out, n),
			    "system.posix_acl_access", vb, sizeof(vb));
			assert_int_equal(la, lb);
			if (la > 0)
				assert_memory_equal(va, vb, (size_t)la);
			if (S_ISDIR(a.st_mode) && check_dir_default_acl) {
				la = getxattr(path("src/%s", n),
				    "system.posix_acl_default", va,
				    sizeof(va));
				lb = getxattr(path("%s/%s", out, n),
				    "system.posix_acl_default", vb,
				    sizeof(vb));
				assert_true(la > 0);
				assert_int_equal(la, lb);
				assert_memory_equal(va, vb, (size_t)la);
			}
		}
	}
	/* The hard links are one inode again. */
	assert_int_equal(lstat(path("%s/hl1", out), &a), 0);
	assert_int_equal(lstat(path("%s/hl2", out), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_nlink, 2);
}

static void
test_extract(void **state)
{
	struct volume_reader *r;
	struct volume_entry_info ei;
	struct stat st;
	char vol[PATH_MAX];
	uint8_t sha[32];
	struct item *it;
	int fd, n, count = 0;

	(void)state;
	snprintf(vol, sizeof(vol), "%s", path("vol-0001.tar.zst.age"));
	assert_int_equal(mkdir(path("out"), 0700), 0);
	assert_true((fd = open(vol, O_RDONLY)) >= 0);
	assert_non_null(r = volume_reader_open(g_ids, "vol-0001.tar.zst.age",
	    fd_read, &fd, NULL));
	while ((n = volume_next(r, &ei)) == 1) {
		/* Only root makes device nodes. */
		if (geteuid() != 0 && ei.entry.type == VOLUME_CHR) {
			assert_int_equal(volume_extract(r, path("out"), 0,
			    sha), 1);
			count++;
			continue;
		}
		assert_int_equal(volume_extract(r, path("out"), 0, sha), 0);
		if ((it = item_find(ei.entry.path)) != NULL &&
		    it->type == VOLUME_REG)
			assert_memory_equal(sha, it->sha256, 32);
		count++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(count, ARRAY_SIZE(g_items) + 3);
	assert_int_equal(volume_reader_finish(r, NULL), 0);
	assert_int_equal(volume_reader_failed(r), geteuid() == 0 ? 0 : 1);
	assert_int_equal(volume_reader_warnings(r), 0);
	volume_reader_free(r);
	close(fd);
	compare_tree("out", 1);
	/* The sparse file is sparse again. */
	assert_int_equal(lstat(path("out/sparse.bin"), &st), 0);
	assert_true(st.st_blocks * 512 < 1024 * 1024);
	if (geteuid() == 0) {
		assert_int_equal(lstat(path("out/" DEVNAME), &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(1, 3));
	}
	/* The parts join into the file. */
	assert_int_equal(sh("cat '%s/" PART1 "' '%s/" PART2 "' | cmp -s - "
	    "'%s'", path("out"), path("out"), path("src/random.bin")), 0);
}

/*
 * volume_write_data: every regular file written to a descriptor of ours
 * has the content stored (its SHA-256), a sparse one stays sparse with its
 * trailing hole; a descriptor that cannot be written gives 1 with the
 * entry read to its end (the next one reads fine), counted as failed; a
 * second call on the same entry is refused.
 */
static void
test_write_data(void **state)
{
	struct volume_reader *r;
	struct volume_entry_info ei;
	struct stat st;
	char vol[PATH_MAX], *p;
	uint8_t sha[32], got[32];
	struct item *it;
	int fd, wfd, n, nreg = 0, nbad = 0;

	(void)state;
	snprintf(vol, sizeof(vol), "%s", path("vol-0001.tar.zst.age"));
	assert_int_equal(mkdir(path("wd"), 0700), 0);
	assert_true((fd = open(vol, O_RDONLY)) >= 0);
	assert_non_null(r = volume_reader_open(g_ids, "vol-0001.tar.zst.age",
	    fd_read, &fd, NULL));
	while ((n = volume_next(r, &ei)) == 1) {
		if (ei.entry.type != VOLUME_REG ||
		    (it = item_find(ei.entry.path)) == NULL)
			continue;
		if (strcmp(ei.entry.path, "plain.txt") == 0) {
			/* Not writable: 1, and the entry is consumed. */
			assert_true((wfd = open(path("src/plain.txt"),
			    O_RDONLY)) >= 0);
			assert_int_equal(volume_write_data(r, wfd, "plain",
			    NULL), 1);
			close(wfd);
			assert_int_equal(volume_write_data(r, wfd, "plain",
			    NULL), -1);
			nbad++;
			continue;
		}
		p = path("wd/%d", nreg);
		assert_true((wfd = open(p, O_RDWR | O_CREAT | O_EXCL,
		    0600)) >= 0);
		assert_int_equal(volume_write_data(r, wfd, NULL, sha), 0);
		assert_memory_equal(sha, it->sha256, 32);
		assert_int_equal(fstat(wfd, &st), 0);
		assert_int_equal((uint64_t)st.st_size, ei.entry.size);
		assert_int_equal(close(wfd), 0);
		assert_int_equal(crypto_sha256_file(p, got, NULL), 0);
		assert_memory_equal(got, it->sha256, 32);
		if (strcmp(ei.entry.path, "sparse.bin") == 0) {
			assert_int_equal(st.st_size, 8 * 1024 * 1024);
			assert_true(st.st_blocks * 512 < 1024 * 1024);
		}
		nreg++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(nbad, 1);
	assert_true(nreg >= 10);
	assert_int_equal(volume_reader_finish(r, NULL), 0);
	assert_int_equal(volume_reader_failed(r), 1);
	volume_reader_free(r);
	close(fd);
}

/*
 * GNU tar's stderr in file: empty, but for the one warning GNU tar 1.34
 * gives when allowed (a name that is not UTF-8 needs a pax
 * "hdrcharset=BINARY" record, which it does not know; it still restores
 * the name byte for byte).
 */
static void
check_tar_quiet(const char *file, int allow_hdrcharset)
{
	static const char hc[] =
	    "tar: Ignoring unknown extended header keyword 'hdrcharset'\n";
	char *err, *p;
	size_t len;

	assert_int_equal(util_read_file(file, &err, &len, 1 << 20), 0);
	for (p = err; allow_hdrcharset && *p != '\0'; p += sizeof(hc) - 1)
		if (strncmp(p, hc, sizeof(hc) - 1) != 0)
			break;
	if (*p != '\0')
		print_message("# tar said: %s\n", err);
	assert_int_equal(*p, '\0');
	free(err);
}

/* A blob: zstd and age without tar, read back and opened by age | zstd. */
static void
test_blob(void **state)
{
	struct mem m = { 0 };
	struct volume_blob_writer *bw;
	struct volume_blob_reader *br;
	struct volume_result res;
	enum volume_status st;
	uint8_t *data, *back, digest[32];
	size_t len = 3 * 1000 * 1000 + 17, got = 0, i;
	ssize_t n;
	char *file, *out;
	size_t outlen;
	int fd;

	(void)state;
	assert_non_null(data = malloc(len));
	for (i = 0; i < len; i++)
		data[i] = (uint8_t)("manifest line\n"[i % 14] ^ (i / 100000));
	assert_non_null(bw = volume_blob_writer_new(g_recips, 3, mem_write,
	    &m));
	/* odd write sizes: small ones are gathered */
	for (i = 0; i < len; i += 7777)
		assert_int_equal(volume_blob_write(bw, data + i,
		    len - i < 7777 ? len - i : 7777), 0);
	assert_int_equal(volume_blob_finish(bw, &res), 0);
	volume_blob_writer_free(bw);
	assert_int_equal(res.size, m.len);
	crypto_sha256(m.p, m.len, digest);
	assert_memory_equal(digest, res.sha256, 32);
	crypto_sha256(m.p + res.header_len, m.len - res.header_len, digest);
	assert_memory_equal(digest, res.payload_sha256, 32);
	assert_true(m.len < len / 4);

	assert_non_null(br = volume_blob_reader_open(g_ids, "blob", mem_read,
	    &m, &st));
	assert_non_null(back = malloc(len + 1));
	while ((n = volume_blob_read(br, back + got, len + 1 - got)) > 0)
		got += (size_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(got, len);
	assert_memory_equal(back, data, len);
	volume_blob_reader_free(br);

	/* the standard tools open it */
	if (access("/usr/bin/age", X_OK) == 0 &&
	    access("/usr/bin/zstd", X_OK) == 0) {
		file = path("blob.zst.age");
		assert_true((fd = open(file, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) >= 0);
		assert_int_equal(util_write_all(fd, m.p, m.len), 0);
		assert_int_equal(close(fd), 0);
		assert_int_equal(sh("age -d -i '%s' '%s' | zstd -d > '%s'",
		    g_idfile, file, path("blob.out")), 0);
		assert_int_equal(util_read_file(path("blob.out"), &out,
		    &outlen, len + 1), 0);
		assert_int_equal(outlen, len);
		assert_memory_equal(out, data, len);
		free(out);
	}

	/* a flipped byte is damage, never silent */
	m.p[m.len / 2] ^= 1;
	m.rpos = 0;
	got = 0;
	assert_non_null(br = volume_blob_reader_open(g_ids, "blob", mem_read,
	    &m, &st));
	while ((n = volume_blob_read(br, back, len)) > 0)
		got += (size_t)n;
	assert_int_equal(n, -1);
	assert_int_equal(volume_blob_status(br), VOLUME_DAMAGED);
	volume_blob_reader_free(br);
	free(back);
	free(data);
	free(m.p);
}

/* The standard tools read the volume, GNU tar without a warning. */
static void
test_standard_tools(void **state)
{
	struct volume_params p = { 0 };
	struct volume_writer *w;
	char vol[PATH_MAX], vol2[PATH_MAX];
	char *list;
	size_t len, i;
	int fd;

	(void)state;
	if (access("/usr/bin/age", X_OK) != 0 ||
	    access("/usr/bin/zstd", X_OK) != 0) {
		/* Not skip(): cmocka's "not ok # SKIP" is a failure to the
		 * TAP driver. */
		print_message("not run: no /usr/bin/age or /usr/bin/zstd\n");
		return;
	}
	snprintf(vol, sizeof(vol), "%s", path("vol-0001.tar.zst.age"));
	snprintf(vol2, sizeof(vol2), "%s", path("utf8.tar.zst.age"));

	/* The frame carries a checksum. */
	assert_int_equal(sh("age -d -i '%s' '%s' > '%s'", g_idfile, vol,
	    path("plain.zst")), 0);
	assert_int_equal(sh("zstd -lv '%s' 2>&1 | grep -q XXH64",
	    path("plain.zst")), 0);
	assert_int_equal(sh("age -d -i '%s' '%s' | zstd -d | tar --xattrs "
	    "--acls -tvf - > '%s' 2> '%s'", g_idfile, vol, path("list.txt"),
	    path("list.err")), 0);
	check_tar_quiet(path("list.err"), 1);
	assert_int_equal(util_read_file(path("list.txt"), &list, &len,
	    1 << 20), 0);
	assert_non_null(strstr(list, " plain.txt\n"));
	assert_non_null(strstr(list, " dir/\n"));
	assert_non_null(strstr(list, " dir/inner\n"));
	assert_non_null(strstr(list, " sym -> plain.txt\n"));
	assert_non_null(strstr(list, " hl2 link to hl1\n"));
	assert_non_null(strstr(list, " with space\n"));
	assert_non_null(strstr(list, " " PART2 "\n"));
	assert_non_null(strstr(list, "\xc3\xbcnic\xc3\xb6" "de\n"));
	free(list);

	/* GNU tar extracts it as coffer does, the odd name too. */
	assert_int_equal(mkdir(path("gnu"), 0700), 0);
	assert_int_equal(sh("age -d -i '%s' '%s' | zstd -d | tar --xattrs "
	    "--xattrs-include='*' --acls -xpf - -C '%s' 2> '%s'", g_idfile,
	    vol, path("gnu"), path("gnu.err")), 0);
	check_tar_quiet(path("gnu.err"), 1);
	compare_tree("gnu", 1);

	/* With UTF-8 names only, not a word from GNU tar. */
	assert_true((fd = open(vol2, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >=
	    0);
	p.name = "utf8.tar.zst.age";
	p.recipients = g_recips;
	assert_non_null(w = volume_writer_new(&p, fd_write, &fd));
	for (i = 0; i < ARRAY_SIZE(g_items); i++)
		if (strchr(g_items[i].name, '\xff') == NULL)
			assert_int_equal(volume_add_path(w, path("src/%s",
			    g_items[i].name), g_items[i].name, NULL, NULL),
			    0);
	assert_int_equal(volume_writer_finish(w, NULL), 0);
	volume_writer_free(w);
	assert_int_equal(close(fd), 0);
	assert_int_equal(sh("age -d -i '%s' '%s' | zstd -d | tar --xattrs "
	    "--acls -tvf - > /dev/null 2> '%s'", g_idfile, vol2,
	    path("utf8.err")), 0);
	check_tar_quiet(path("utf8.err"), 0);
}

/* Entries that would land outside the root are refused and counted. */
static void
test_refuse_escapes(void **state)
{
	struct volume_params p = { 0 };
	struct volume_writer *w;
	struct volume_reader *r;
	struct volume_entry_info ei;
	struct volume_entry e;
	struct mem m = { 0 };
	struct stat st;
	char abs[PATH_MAX], outside[PATH_MAX], secret[PATH_MAX];
	int fd, n, ok = 0, refused = 0;

	(void)state;
	assert_int_equal(mkdir(path("esc"), 0700), 0);
	assert_int_equal(mkdir(path("esc/root"), 0700), 0);
	assert_int_equal(mkdir(path("esc/outside"), 0700), 0);
	put(path("esc/data"), "evil\n", 5, 0644);
	put(path("esc/secret"), "secret\n", 7, 0600);
	snprintf(abs, sizeof(abs), "%s", path("esc/abs-evil"));
	snprintf(outside, sizeof(outside), "%s", path("esc/outside"));
	snprintf(secret, sizeof(secret), "%s", path("esc/secret"));

	p.name = "evil.tar.zst.age";
	p.recipients = g_recips;
	p.zstd_workers = -1;
	assert_non_null(w = volume_writer_new(&p, mem_write, &m));
	memset(&e, 0, sizeof(e));
	e.type = VOLUME_REG;
	e.mode = 0644;
	e.size = 5;
#define ADD_DATA(name) do {						\
	e.path = (name);						\
	assert_true((fd = open(path("esc/data"), O_RDONLY)) >= 0);	\
	assert_int_equal(volume_add_file(w, &e, fd, NULL), 0);		\
	close(fd);							\
} while (0)
	ADD_DATA("../evil");
	ADD_DATA(abs);
	e.type = VOLUME_SYMLINK;
	e.path = "link";
	e.link = outside;
	assert_int_equal(volume_add_file(w, &e, -1, NULL), 0);
	e.type = VOLUME_REG;
	ADD_DATA("link/file");
	e.type = VOLUME_HARDLINK;
	e.path = "hard";
	e.link = secret;
	assert_int_equal(volume_add_file(w, &e, -1, NULL), 0);
	e.type = VOLUME_REG;
	e.link = NULL;
	ADD_DATA("ok.txt");
	assert_int_equal(volume_writer_finish(w, NULL), 0);
	volume_writer_free(w);

	assert_non_null(r = volume_reader_open(g_ids, "evil.tar.zst.age",
	    mem_read, &m, NULL));
	while ((n = volume_next(r, &ei)) == 1) {
		n = volume_extract(r, path("esc/root"), 0, NULL);
		assert_true(n == 0 || n == 1);
		if (n == 0)
			ok++;
		else
			refused++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(volume_reader_finish(r, NULL), 0);
	assert_int_equal(volume_reader_failed(r), 4);
	volume_reader_free(r);
	assert_int_equal(ok, 2);
	assert_int_equal(refused, 4);
	assert_int_equal(lstat(path("esc/evil"), &st), -1);
	assert_int_equal(lstat(abs, &st), -1);
	assert_int_equal(lstat(path("esc/outside/file"), &st), -1);
	assert_int_equal(lstat(path("esc/root/hard"), &st), -1);
	assert_int_equal(lstat(secret, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(lstat(path("esc/root/ok.txt"), &st), 0);
	assert_int_equal(st.st_size, 5);
	free(m.p);
}

/* A small volume in memory for the damage tests. */
static void
small_volume(struct mem *m, struct volume_result *res)
{
	struct volume_params p = { 0 };
	struct volume_writer *w;

	p.name = "small";
	p.recipients = g_recips;
	p.zstd_level = 1;
	assert_non_null(w = volume_writer_new(&p, mem_write, m));
	assert_int_equal(volume_add_path(w, path("src/random.bin"),
	    "random.bin", NULL, NULL), 0);
	assert_int_equal(volume_add_path(w, path("src/plain.txt"),
	    "plain.txt", NULL, NULL), 0);
	assert_int_equal(volume_writer_finish(w, res), 0);
	volume_writer_free(w);
}

/* Read every entry's data; returns 0 if all went well, else the status. */
static int
read_all(struct mem *m, const struct age_identities *ids)
{
	struct volume_reader *r;
	struct volume_entry_info ei;
	enum volume_status st;
	uint8_t sha[32];
	int n;

	m->rpos = 0;
	if ((r = volume_reader_open(ids, "small", mem_read, m, &st)) ==
	    NULL) {
		assert_int_not_equal(st, VOLUME_OK);
		return ((int)st);
	}
	while ((n = volume_next(r, &ei)) == 1)
		if (volume_data_sha256(r, sha) != 0)
			break;
	if (n == 0 && volume_reader_finish(r, NULL) == 0) {
		volume_reader_free(r);
		return (0);
	}
	st = volume_reader_status(r);
	assert_int_not_equal(st, VOLUME_OK);
	volume_reader_free(r);
	return ((int)st);
}

static void
test_damage(void **state)
{
	struct mem m = { 0 };
	struct volume_result res;
	struct age_identities *other;
	char id2[AGE_IDENTITY_MAX], rcp2[AGE_RECIPIENT_MAX];
	size_t len;

	(void)state;
	small_volume(&m, &res);
	assert_int_equal(m.len, res.size);
	assert_int_equal(read_all(&m, g_ids), 0);

	/* A flipped byte in the middle of the payload. */
	m.p[res.header_len + (m.len - res.header_len) / 2] ^= 0x01;
	assert_int_equal(read_all(&m, g_ids), VOLUME_DAMAGED);
	m.p[res.header_len + (m.len - res.header_len) / 2] ^= 0x01;
	assert_int_equal(read_all(&m, g_ids), 0);

	/* In the last chunk, after all the tar data was read. */
	m.p[m.len - 3] ^= 0x80;
	assert_int_equal(read_all(&m, g_ids), VOLUME_DAMAGED);
	m.p[m.len - 3] ^= 0x80;

	/* In the header's MAC. */
	m.p[res.header_len - 3] ^= 0x01;
	assert_int_equal(read_all(&m, g_ids), VOLUME_DAMAGED);
	m.p[res.header_len - 3] ^= 0x01;

	/* Truncated, and extended. */
	len = m.len;
	m.len = len - 100;
	assert_int_equal(read_all(&m, g_ids), VOLUME_DAMAGED);
	m.len = len;
	assert_int_equal(mem_write(&m, "x", 1), 0);
	assert_int_equal(read_all(&m, g_ids), VOLUME_DAMAGED);
	m.len = len;
	assert_int_equal(read_all(&m, g_ids), 0);

	/* The wrong key is an error, not damage. */
	assert_int_equal(age_keygen(id2, rcp2), 0);
	assert_non_null(other = age_identities_new());
	assert_int_equal(age_identities_add(other, id2), 0);
	assert_int_equal(read_all(&m, other), VOLUME_ERROR);
	age_identities_free(other);
	crypto_wipe(id2, sizeof(id2));
	free(m.p);
}

/* A writer freed before it finished leaves an object that does not read. */
static void
test_abandon(void **state)
{
	struct volume_params p = { 0 };
	struct volume_writer *w;
	struct mem m = { 0 };

	(void)state;
	p.recipients = g_recips;
	assert_non_null(w = volume_writer_new(&p, mem_write, &m));
	assert_int_equal(volume_add_path(w, path("src/random.bin"),
	    "random.bin", NULL, NULL), 0);
	volume_writer_free(w);
	assert_int_equal(read_all(&m, g_ids), VOLUME_DAMAGED);
	free(m.p);
	volume_writer_free(NULL);
	volume_reader_free(NULL);
}

/* Through the vault target interface: a put and a reader. */
static void
test_target(void **state)
{
	static const char name[] = "sets/host1/L1/vol-0001.tar.zst.age";
	struct volume_params p = { 0 };
	struct volume_result res, rres;
	struct volume_writer *w;
	struct volume_reader *r;
	struct volume_entry_info ei;
	struct target *t;
	struct target_put *put;
	struct target_reader *rd;
	uint8_t sha[32];
	int n, count = 0;

	(void)state;
	assert_int_equal(mkdir(path("vault"), 0700), 0);
	assert_non_null(t = target_open_local(path("vault"), "host1",
	    "1-0123456789abcdef"));
	assert_non_null(put = target_put_begin(t, name));
	p.name = "vol-0001.tar.zst.age";
	p.recipients = g_recips;
	assert_non_null(w = volume_writer_new(&p, volume_target_write, put));
	assert_int_equal(volume_add_path(w, path("src/plain.txt"),
	    "plain.txt", NULL, NULL), 0);
	assert_int_equal(volume_add_path(w, path("src/random.bin"),
	    "random.bin", NULL, NULL), 0);
	assert_int_equal(volume_writer_finish(w, &res), 0);
	volume_writer_free(w);
	assert_int_equal(target_put_commit(put), 0);
	assert_int_equal(crypto_sha256_file(path("vault/%s", name), sha,
	    NULL), 0);
	assert_memory_equal(sha, res.sha256, 32);

	assert_non_null(rd = target_open_read(t, name, 0));
	assert_non_null(r = volume_reader_open(g_ids, p.name,
	    volume_target_read, rd, NULL));
	while ((n = volume_next(r, &ei)) == 1) {
		assert_int_equal(volume_data_sha256(r, sha), 0);
		assert_memory_equal(sha, item_find(ei.entry.path)->sha256,
		    32);
		count++;
	}
	assert_int_equal(n, 0);
	assert_int_equal(count, 2);
	assert_int_equal(volume_reader_finish(r, &rres), 0);
	assert_memory_equal(rres.sha256, res.sha256, 32);
	assert_memory_equal(rres.payload_sha256, res.payload_sha256, 32);
	volume_reader_free(r);
	target_reader_close(rd);
	target_free(t);
}

static int
setup(void **state)
{
	FILE *f;

	(void)state;
	if (crypto_init() != 0 || mkdtemp(g_base) == NULL)
		return (-1);
	if ((g_identity = crypto_secure_alloc(AGE_IDENTITY_MAX)) == NULL ||
	    age_keygen(g_identity, g_recipient) != 0)
		return (-1);
	if ((g_recips = age_recipients_new()) == NULL ||
	    age_recipients_add(g_recips, g_recipient) != 0 ||
	    (g_ids = age_identities_new()) == NULL ||
	    age_identities_add(g_ids, g_identity) != 0)
		return (-1);
	snprintf(g_idfile, sizeof(g_idfile), "%s/identity.txt", g_base);
	if ((f = fopen(g_idfile, "w")) == NULL)
		return (-1);
	fprintf(f, "%s\n", g_identity);
	return (fclose(f) == 0 ? 0 : -1);
}

static int
teardown(void **state)
{

	(void)state;
	age_recipients_free(g_recips);
	age_identities_free(g_ids);
	crypto_secure_free(g_identity, AGE_IDENTITY_MAX);
	if (getenv("TEST_VOLUME_KEEP") == NULL)
		util_remove_tree(g_base);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_write_data),
		cmocka_unit_test(test_standard_tools),
		cmocka_unit_test(test_refuse_escapes),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_abandon),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_blob),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
