/*
 * test-catalog: opening, migrating and refusing catalogs; WAL mode;
 * transactions; vaults and events.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "catalog.h"
#include "crypto.h"
#include "util.h"

struct fixture {
	char dir[64];
	char *path;
	int saved_stderr;
	char *errfile;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	util_strlcpy(f->dir, "/tmp/test-catalog.XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	f->path = util_path_join(f->dir, "catalog.db");
	f->errfile = util_path_join(f->dir, "stderr");
	f->saved_stderr = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd;

	cmd = util_asprintf("rm -rf '%s'", f->dir);
	if (cmd != NULL && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(cmd);
	free(f->path);
	free(f->errfile);
	free(f);
	return 0;
}

/* capture(f): send stderr to a file until captured(f) returns its text
 * (caller frees). */
static void
capture(struct fixture *f)
{
	int fd;

	fflush(stderr);
	f->saved_stderr = dup(2);
	fd = open(f->errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
}

static char *
captured(struct fixture *f)
{
	char *text = NULL;
	size_t len;

	fflush(stderr);
	dup2(f->saved_stderr, 2);
	close(f->saved_stderr);
	f->saved_stderr = -1;
	assert_int_equal(util_read_file(f->errfile, &text, &len, 1 << 20), 0);
	return text;
}

static void
write_bytes(const char *path, off_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void
test_create_migrates(void **state)
{
	struct fixture *f = *state;
	struct catalog *cat;
	struct stat sb;
	char mode[16];

	cat = catalog_open(f->path, CATALOG_CREATE);
	assert_non_null(cat);
	assert_int_equal(catalog_schema_version(cat), CATALOG_SCHEMA_VERSION);
	assert_int_equal(catalog_journal_mode(cat, mode, sizeof(mode)), 0);
	assert_string_equal(mode, "wal");
	assert_string_equal(catalog_path(cat), f->path);
	catalog_close(cat);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	/* Reopening (without CREATE) keeps the schema. */
	cat = catalog_open(f->path, 0);
	assert_non_null(cat);
	assert_int_equal(catalog_schema_version(cat), CATALOG_SCHEMA_VERSION);
	catalog_close(cat);
}

/* An existing empty file (a 0-byte "database") is migrated too. */
static void
test_empty_file_migrates(void **state)
{
	struct fixture *f = *state;
	struct catalog *cat;

	write_bytes(f->path, 0, "", 0);
	cat = catalog_open(f->path, 0);
	assert_non_null(cat);
	assert_int_equal(catalog_schema_version(cat), CATALOG_SCHEMA_VERSION);
	catalog_close(cat);
}

static void
test_missing_file(void **state)
{
	struct fixture *f = *state;
	char *err;

	capture(f);
	assert_null(catalog_open(f->path, 0));
	err = captured(f);
	assert_non_null(strstr(err, "cannot open catalog"));
	assert_non_null(strstr(err, f->path));
	free(err);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	static const unsigned char v99[4] = { 0, 0, 0, 99 };
	struct catalog *cat;
	char *err, want[64];

	cat = catalog_open(f->path, CATALOG_CREATE);
	assert_non_null(cat);
	catalog_close(cat);
	/* PRAGMA user_version is the big-endian word at offset 60 of the
	 * database header (sqlite.org/fileformat.html). */
	write_bytes(f->path, 60, v99, sizeof(v99));
	capture(f);
	assert_null(catalog_open(f->path, 0));
	err = captured(f);
	assert_non_null(strstr(err, "has schema version 99, newer than this "
	    "coffer"));
	snprintf(want, sizeof(want), "(%d): upgrade coffer",
	    CATALOG_SCHEMA_VERSION);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, f->path));
	free(err);
}

static void
test_not_a_database(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "this is a plain text file, not a "
	    "database; coffer must say so instead of overwriting it with a "
	    "schema.\n";
	char *err, *after = NULL;
	size_t len;

	write_bytes(f->path, 0, text, strlen(text));
	capture(f);
	assert_null(catalog_open(f->path, CATALOG_CREATE));
	err = captured(f);
	assert_non_null(strstr(err, "is not a database"));
	assert_non_null(strstr(err, f->path));
	free(err);
	/* Left as it was. */
	assert_int_equal(util_read_file(f->path, &after, &len, 4096), 0);
	assert_string_equal(after, text);
	free(after);
}

static void
test_vaults(void **state)
{
	struct fixture *f = *state;
	struct catalog_vault *v = NULL, one;
	struct catalog *cat;
	long long id1, id2;
	size_t n;
	char *err;

	cat = catalog_open(f->path, CATALOG_CREATE);
	assert_non_null(cat);
	assert_int_equal(catalog_vault_list(cat, &v, &n), 0);
	assert_int_equal(n, 0);
	catalog_vault_list_free(v, n);

	assert_int_equal(catalog_vault_add(cat, "v-one", "local", "/srv/v1",
	    1000, &id1), 0);
	assert_int_equal(catalog_vault_add(cat, "v-two", "s3",
	    "s3://bucket/prefix", 2000, &id2), 0);
	assert_true(id2 > id1);
	capture(f);
	assert_int_equal(catalog_vault_add(cat, "v-one", "local", "/x", 3,
	    NULL), -1);
	assert_int_equal(catalog_vault_add(cat, "v-3", "floppy", "/x", 3,
	    NULL), -1);
	err = captured(f);
	assert_non_null(strstr(err, "vault 'v-one' is already in catalog"));
	assert_non_null(strstr(err, "cannot add vault 'v-3'"));
	free(err);

	assert_int_equal(catalog_vault_list(cat, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].vault_id, "v-one");
	assert_string_equal(v[0].kind, "local");
	assert_string_equal(v[0].url, "/srv/v1");
	assert_int_equal(v[0].created, 1000);
	assert_int_equal(v[0].id, id1);
	assert_string_equal(v[1].vault_id, "v-two");
	assert_string_equal(v[1].kind, "s3");
	catalog_vault_list_free(v, n);

	assert_int_equal(catalog_vault_find(cat, "v-two", &one), 1);
	assert_string_equal(one.url, "s3://bucket/prefix");
	assert_int_equal(one.id, id2);
	catalog_vault_clear(&one);
	assert_int_equal(catalog_vault_find(cat, "nope", &one), 0);
	catalog_close(cat);
}

static void
test_transactions(void **state)
{
	struct fixture *f = *state;
	struct catalog_vault *v = NULL;
	struct catalog *cat, *other;
	size_t n;
	char *err;

	cat = catalog_open(f->path, CATALOG_CREATE);
	assert_non_null(cat);
	assert_int_equal(catalog_in_transaction(cat), 0);
	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(catalog_in_transaction(cat), 1);
	assert_int_equal(catalog_vault_add(cat, "gone", "local", "/g", 1,
	    NULL), 0);
	catalog_rollback(cat);
	assert_int_equal(catalog_in_transaction(cat), 0);
	catalog_rollback(cat); /* harmless outside a transaction */
	assert_int_equal(catalog_vault_list(cat, &v, &n), 0);
	assert_int_equal(n, 0);
	catalog_vault_list_free(v, n);

	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(catalog_vault_add(cat, "kept", "local", "/k", 1,
	    NULL), 0);
	/* A second writer waits for the busy timeout, then gives up. */
	other = catalog_open(f->path, 0);
	assert_non_null(other);
	capture(f);
	assert_int_equal(catalog_begin(other), -1);
	err = captured(f);
	assert_non_null(strstr(err, "locked"));
	free(err);
	assert_int_equal(catalog_commit(cat), 0);
	assert_int_equal(catalog_vault_list(other, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].vault_id, "kept");
	catalog_vault_list_free(v, n);
	catalog_close(other);
	catalog_close(cat);
}

static void
ev_fill(struct catalog_event *ev, long long seq, const char *time,
    const char *action, const char *object)
{
	static char hash[65];

	memset(ev, 0, sizeof(*ev));
	snprintf(hash, sizeof(hash), "%064lld", seq);
	ev->seq = seq;
	ev->time = (char *)time;
	ev->operator_name = (char *)"alice";
	ev->host = (char *)"h1";
	ev->action = (char *)action;
	ev->object = (char *)object;
	ev->details = (char *)"{}";
	ev->prev_hash = hash;
	ev->hash = hash;
}

struct seen {
	long long seqs[16];
	int n;
};

static int
collect(const struct catalog_event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->n < 16)
		s->seqs[s->n++] = ev->seq;
	return 0;
}

static int
stop_at_two(const struct catalog_event *ev, void *arg)
{
	(void)arg;
	return ev->seq == 2 ? 42 : 0;
}

static void
test_events(void **state)
{
	struct fixture *f = *state;
	struct catalog_event_filter filt;
	struct catalog_event ev, last;
	struct catalog *cat;
	struct seen s;
	long long n;

	cat = catalog_open(f->path, CATALOG_CREATE);
	assert_non_null(cat);
	assert_int_equal(catalog_event_last(cat, &last), 0);
	assert_int_equal(catalog_event_count(cat, &n), 0);
	assert_int_equal(n, 0);

	ev_fill(&ev, 1, "2024-01-01T00:00:00Z", "init", NULL);
	assert_int_equal(catalog_event_insert(cat, &ev), 0);
	ev_fill(&ev, 2, "2024-02-01T00:00:00Z", "media.add", "MED-000001");
	assert_int_equal(catalog_event_insert(cat, &ev), 0);
	ev_fill(&ev, 3, "2024-03-01T00:00:00Z", "media.check", "MED-000001");
	assert_int_equal(catalog_event_insert(cat, &ev), 0);
	ev_fill(&ev, 4, "2024-04-01T00:00:00Z", "config.set", "user.name");
	assert_int_equal(catalog_event_insert(cat, &ev), 0);
	/* seq is unique */
	capture(f);
	assert_int_equal(catalog_event_insert(cat, &ev), -1);
	free(captured(f));

	assert_int_equal(catalog_event_count(cat, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(catalog_event_last(cat, &last), 1);
	assert_int_equal(last.seq, 4);
	assert_string_equal(last.action, "config.set");
	assert_string_equal(last.object, "user.name");
	assert_string_equal(last.details, "{}");
	assert_null(last.site);
	catalog_event_clear(&last);

	memset(&s, 0, sizeof(s));
	assert_int_equal(catalog_event_foreach(cat, NULL, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.seqs[0], 1);
	assert_int_equal(s.seqs[3], 4);

	memset(&filt, 0, sizeof(filt));
	filt.action = "media.*";
	memset(&s, 0, sizeof(s));
	assert_int_equal(catalog_event_foreach(cat, &filt, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.seqs[0], 2);
	assert_int_equal(s.seqs[1], 3);

	memset(&filt, 0, sizeof(filt));
	filt.since = "2024-02-15T00:00:00Z";
	filt.object = "MED-000001";
	memset(&s, 0, sizeof(s));
	assert_int_equal(catalog_event_foreach(cat, &filt, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.seqs[0], 3);

	assert_int_equal(catalog_event_foreach(cat, NULL, stop_at_two, NULL),
	    42);
	catalog_close(cat);
}

/* A capped database refuses to grow and says the disk is full; the
 * transaction leaves nothing behind. */
static void
test_full(void **state)
{
	struct fixture *f = *state;
	struct catalog_event ev;
	struct catalog *cat;
	char *big, *err;
	long long n;

	cat = catalog_open(f->path, CATALOG_CREATE);
	assert_non_null(cat);
	big = malloc(64 * 1024);
	assert_non_null(big);
	memset(big, 'x', 64 * 1024 - 1);
	big[64 * 1024 - 1] = '\0';
	assert_int_equal(catalog_limit_pages(cat, 1), 0);
	ev_fill(&ev, 1, "2024-01-01T00:00:00Z", "init", big);
	assert_int_equal(catalog_begin(cat), 0);
	capture(f);
	assert_int_equal(catalog_event_insert(cat, &ev), -1);
	err = captured(f);
	assert_non_null(strstr(err, "full"));
	free(err);
	catalog_rollback(cat);
	assert_int_equal(catalog_event_count(cat, &n), 0);
	assert_int_equal(n, 0);
	free(big);
	catalog_close(cat);
}

/* run_sql(f, sql): run sql with the sqlite3 tool on the catalog file. */
static int
run_sql(struct fixture *f, const char *sql)
{
	char *file, *cmd;
	int rc;

	assert_non_null(file = util_path_join(f->dir, "script.sql"));
	assert_int_equal(util_write_file(file, sql, strlen(sql), 0600, 0), 0);
	assert_non_null(cmd = util_asprintf("sqlite3 '%s' < '%s'", f->path,
	    file));
	rc = system(cmd);
	free(cmd);
	free(file);
	return (rc);
}

/* A set row for host web1 with two objects. */
static void
make_set(struct catalog_set *s, struct catalog_object o[2], long long vault,
    const char *label, const char *job, const char *kind, time_t created)
{
	static char *parents[] = { "p1", "p0" };

	memset(s, 0, sizeof(*s));
	memset(o, 0, 2 * sizeof(*o));
	s->vault = vault;
	s->host = "web1";
	s->label = (char *)label;
	s->job = (char *)job;
	s->level = "incr";
	s->kind = (char *)kind;
	s->parents = parents;
	s->nparents = 2;
	s->created = created;
	s->audit_head_seq = 7;
	s->audit_head = "ab";
	s->files = 12;
	s->bytes = 9007199254740991ULL;
	s->header = "{\"format\":1}\n";
	s->signer = "SHA256:xyz";
	o[0].name = "vol-0001.tar.zst.age";
	o[0].role = "volume";
	o[0].size = 100;
	memset(o[0].sha256, 'a', 64);
	memset(o[0].payload_sha256, 'b', 64);
	o[1].name = "SHA256SUMS";
	o[1].role = "sums";
	o[1].size = 5;
	memset(o[1].sha256, 'c', 64);
	s->objects = o;
	s->nobjects = 2;
}

static void
test_sets(void **state)
{
	struct fixture *f = *state;
	struct catalog_object o[2];
	struct catalog_set s, got, *list;
	struct catalog_set_filter filt;
	struct catalog *cat;
	long long v1, v2, id1, id2, id3;
	size_t n;
	char *err;

	assert_non_null(cat = catalog_open(f->path, CATALOG_CREATE));
	assert_int_equal(catalog_vault_add(cat, "v-one", "local", "/v1", 1,
	    &v1), 0);
	assert_int_equal(catalog_vault_add(cat, "v-two", "local", "/v2", 1,
	    &v2), 0);
	make_set(&s, o, v1, "b", "nightly", "backup", 2000);
	assert_int_equal(catalog_set_add(cat, &s, &id1), 0);
	make_set(&s, o, v1, "a", "nightly", "backup", 1000);
	s.has_retain_until = 1;
	s.retain_until = 5000;
	s.keep = 1;
	assert_int_equal(catalog_set_add(cat, &s, &id2), 0);
	make_set(&s, o, v1, "c", "weekly", "pre-restore", 1500);
	assert_int_equal(catalog_set_add(cat, &s, &id3), 0);
	make_set(&s, o, v2, "a", "nightly", "backup", 1000);
	assert_int_equal(catalog_set_add(cat, &s, NULL), 0);

	/* The same label in the same vault is refused. */
	capture(f);
	errno = 0;
	assert_int_equal(catalog_set_add(cat, &s, NULL), -1);
	assert_int_equal(errno, EEXIST);
	err = captured(f);
	assert_non_null(strstr(err, "set 'web1/a' is already in catalog"));
	free(err);
	assert_false(catalog_in_transaction(cat));

	assert_int_equal(catalog_set_find(cat, v1, "web1", "a", &got), 1);
	assert_int_equal(got.id, id2);
	assert_string_equal(got.job, "nightly");
	assert_string_equal(got.level, "incr");
	assert_int_equal(got.nparents, 2);
	assert_string_equal(got.parents[0], "p1");
	assert_string_equal(got.parents[1], "p0");
	assert_int_equal(got.has_retain_until, 1);
	assert_int_equal(got.retain_until, 5000);
	assert_int_equal(got.keep, 1);
	assert_int_equal(got.bytes, 9007199254740991ULL);
	assert_string_equal(got.header, "{\"format\":1}\n");
	assert_string_equal(got.signer, "SHA256:xyz");
	assert_int_equal(got.nobjects, 2);
	assert_string_equal(got.objects[0].name, "vol-0001.tar.zst.age");
	assert_string_equal(got.objects[0].role, "volume");
	assert_int_equal(got.objects[0].size, 100);
	assert_int_equal(got.objects[0].payload_sha256[0], 'b');
	assert_string_equal(got.objects[1].role, "sums");
	assert_string_equal(got.objects[1].payload_sha256, "");
	catalog_set_clear(&got);
	assert_int_equal(catalog_set_find(cat, v1, "web1", "zz", &got), 0);
	assert_int_equal(catalog_set_find(cat, v1, "db2", "a", &got), 0);
	assert_int_equal(catalog_set_get(cat, id1, &got), 1);
	assert_string_equal(got.label, "b");
	assert_int_equal(got.has_retain_until, 0);
	catalog_set_clear(&got);
	assert_int_equal(catalog_set_exists(cat, v1, "web1", "c"), 1);
	assert_int_equal(catalog_set_exists(cat, v2, "web1", "c"), 0);

	/* Lists: oldest first, filtered. */
	assert_int_equal(catalog_set_list(cat, NULL, &list, &n), 0);
	assert_int_equal(n, 4);
	catalog_set_list_free(list, n);
	memset(&filt, 0, sizeof(filt));
	filt.vault = v1;
	filt.job = "nightly";
	assert_int_equal(catalog_set_list(cat, &filt, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].label, "a");
	assert_string_equal(list[1].label, "b");
	assert_null(list[0].objects);
	catalog_set_list_free(list, n);
	memset(&filt, 0, sizeof(filt));
	filt.kind = "pre-restore";
	assert_int_equal(catalog_set_list(cat, &filt, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].label, "c");
	catalog_set_list_free(list, n);

	/* Retention changes, deletion with the objects. */
	assert_int_equal(catalog_set_set_retention(cat, id1, 1, 1, 9), 0);
	assert_int_equal(catalog_set_get(cat, id1, &got), 1);
	assert_int_equal(got.keep, 1);
	assert_int_equal(got.retain_until, 9);
	catalog_set_clear(&got);
	capture(f);
	assert_int_equal(catalog_set_set_retention(cat, 9999, 0, 0, 0), -1);
	free(captured(f));
	assert_int_equal(catalog_set_delete(cat, id1), 0);
	assert_int_equal(catalog_set_get(cat, id1, &got), 0);
	assert_int_equal(catalog_set_objects(cat, id1, &got.objects,
	    &got.nobjects), 0);
	assert_int_equal(got.nobjects, 0);
	catalog_object_list_free(got.objects, got.nobjects);
	assert_int_equal(catalog_set_delete(cat, id1), 0);
	catalog_close(cat);
}

static void
test_set_with_audit(void **state)
{
	struct fixture *f = *state;
	struct catalog_object o[2];
	struct catalog_set s;
	struct catalog *cat;
	struct audit_event ev = { "service:web1", "web1", NULL, "set.add",
	    "web1/x", NULL };
	long long v, n;

	assert_int_equal(crypto_init(), 0);
	assert_non_null(cat = catalog_open(f->path, CATALOG_CREATE));
	assert_int_equal(catalog_vault_add(cat, "v", "local", "/v", 1, &v),
	    0);
	make_set(&s, o, v, "x", "nightly", "backup", 1);

	/* Rolled back together: neither the set nor the event stays. */
	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(catalog_set_add(cat, &s, NULL), 0);
	assert_int_equal(audit_append(cat, &ev), 0);
	assert_true(catalog_in_transaction(cat));
	catalog_rollback(cat);
	assert_int_equal(catalog_set_exists(cat, v, "web1", "x"), 0);
	assert_int_equal(catalog_event_count(cat, &n), 0);
	assert_int_equal(n, 0);

	/* A failed add inside the caller's transaction undoes only itself. */
	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(catalog_set_add(cat, &s, NULL), 0);
	capture(f);
	assert_int_equal(catalog_set_add(cat, &s, NULL), -1);
	free(captured(f));
	assert_true(catalog_in_transaction(cat));
	assert_int_equal(audit_append(cat, &ev), 0);
	assert_int_equal(catalog_commit(cat), 0);
	assert_int_equal(catalog_set_exists(cat, v, "web1", "x"), 1);
	assert_int_equal(catalog_event_count(cat, &n), 0);
	assert_int_equal(n, 1);
	catalog_close(cat);
}

static void
test_v1_sets_migrate(void **state)
{
	struct fixture *f = *state;
	struct catalog_set got;
	struct catalog *cat;
	long long v;

	/* The v1 tables as the first release made them, with one set. */
	assert_int_equal(run_sql(f, "CREATE TABLE vaults (id INTEGER PRIMARY "
	    "KEY, vault_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, url TEXT "
	    "NOT NULL, created INTEGER NOT NULL); CREATE TABLE sets (id "
	    "INTEGER PRIMARY KEY, vault INTEGER NOT NULL REFERENCES "
	    "vaults(id), host TEXT NOT NULL, label TEXT NOT NULL, job TEXT, "
	    "level TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'backup', "
	    "parents TEXT NOT NULL DEFAULT '[]', created INTEGER NOT NULL, "
	    "retain_until INTEGER, keep INTEGER NOT NULL DEFAULT 0, "
	    "audit_head_seq INTEGER, audit_head TEXT, committed INTEGER NOT "
	    "NULL DEFAULT 0, UNIQUE (vault, host, label)); CREATE TABLE "
	    "volumes (id INTEGER PRIMARY KEY, set_id INTEGER NOT NULL "
	    "REFERENCES sets(id) ON DELETE CASCADE, name TEXT NOT NULL, size "
	    "INTEGER NOT NULL, sha256 TEXT NOT NULL, payload_sha256 TEXT, "
	    "UNIQUE (set_id, name)); INSERT INTO vaults VALUES (1, 'v', "
	    "'local', '/v', 1); INSERT INTO sets (vault, host, label, job, "
	    "level, created) VALUES (1, 'web1', 'old', 'j', 'full', 5); "
	    "INSERT INTO volumes (set_id, name, size, sha256) VALUES (1, "
	    "'vol-0001.tar.zst.age', 3, 'aa'); PRAGMA user_version = 1;"), 0);
	/* Only the ALTERs of migration 2 run on it. */
	assert_non_null(cat = catalog_open(f->path, 0));
	assert_int_equal(catalog_schema_version(cat), CATALOG_SCHEMA_VERSION);
	v = 1;
	assert_int_equal(catalog_set_find(cat, v, "web1", "old", &got), 1);
	assert_null(got.header);
	assert_int_equal(got.nparents, 0);
	assert_int_equal(got.files, 0);
	assert_int_equal(got.nobjects, 1);
	assert_string_equal(got.objects[0].role, "volume");
	catalog_set_clear(&got);
	catalog_close(cat);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_migrates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_file_migrates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_vaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_with_audit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_v1_sets_migrate, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
