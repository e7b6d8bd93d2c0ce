/*
 * test-catalog: opening, migrating and refusing catalogs; WAL mode;
 * transactions; vaults and events.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "catalog.h"
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
