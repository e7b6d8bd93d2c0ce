/*
 * test-audit: the hash chain.  Hashes are recomputed here by hand from
 * the algorithm in coffer-audit(1) (canonical JSON written out literally,
 * SHA-256 of the previous hash's 32 bytes and that text), and tampered
 * catalogs (an altered field, a deleted row, an inserted row, a reorder)
 * must each be reported at the right event.
 */
#include "compat.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "catalog.h"
#include "crypto.h"
#include "util.h"

#define NEVENTS 8

static char dir[64];
static char *src_path, *dst_path;

static int
setup(void **state)
{
	(void)state;
	util_strlcpy(dir, "/tmp/test-audit.XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	src_path = util_path_join(dir, "src.db");
	dst_path = util_path_join(dir, "dst.db");
	return 0;
}

static int
teardown(void **state)
{
	char *cmd;

	(void)state;
	cmd = util_asprintf("rm -rf '%s'", dir);
	if (cmd != NULL && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	free(src_path);
	free(dst_path);
	return 0;
}

/* hand_hash(ev, hex): the event's hash from its fields, canonical JSON
 * spelled out by hand (members in sorted order; ASCII values only). */
static void
hand_hash(const struct catalog_event *ev, const char *prev_hex, char *hex)
{
	uint8_t prev[32], h[32];
	char canon[1024], site[64], object[64];
	uint8_t *buf;
	size_t len;

	if (ev->site != NULL)
		snprintf(site, sizeof(site), "\"%s\"", ev->site);
	else
		util_strlcpy(site, "null", sizeof(site));
	if (ev->object != NULL)
		snprintf(object, sizeof(object), "\"%s\"", ev->object);
	else
		util_strlcpy(object, "null", sizeof(object));
	snprintf(canon, sizeof(canon), "{\"action\":\"%s\",\"details\":%s,"
	    "\"host\":\"%s\",\"object\":%s,\"operator\":\"%s\",\"seq\":%lld,"
	    "\"site\":%s,\"time\":\"%s\"}", ev->action, ev->details, ev->host,
	    object, ev->operator_name, ev->seq, site, ev->time);
	assert_int_equal(util_unhex(prev, prev_hex, 32), 0);
	len = 32 + strlen(canon);
	buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, prev, 32);
	memcpy(buf + 32, canon, strlen(canon));
	crypto_sha256(buf, len, h);
	free(buf);
	util_hex(hex, h, 32);
}

/* make_chain(path, n): a catalog with n events appended by audit. */
static struct catalog *
make_chain(const char *path, int n)
{
	struct audit_event ae;
	struct catalog *cat;
	char details[64], object[32];
	int i;

	cat = catalog_open(path, CATALOG_CREATE);
	assert_non_null(cat);
	for (i = 1; i <= n; i++) {
		memset(&ae, 0, sizeof(ae));
		snprintf(details, sizeof(details), "{\"n\": %d, \"b\": \"x\"}",
		    i);
		snprintf(object, sizeof(object), "obj-%d", i);
		ae.operator_name = i % 2 ? "alice" : "bob";
		ae.host = "h1";
		ae.site = i % 3 ? NULL : "hq";
		ae.action = "test.event";
		ae.object = i % 4 ? object : NULL;
		ae.details = details;
		assert_int_equal(audit_append(cat, &ae), 0);
	}
	return cat;
}

/* Deep copies of every row. */
struct rows {
	struct catalog_event ev[64];
	int n;
};

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int
copy_row(const struct catalog_event *ev, void *arg)
{
	struct rows *r = arg;
	struct catalog_event *c = &r->ev[r->n++];

	c->seq = ev->seq;
	c->time = dup_or_null(ev->time);
	c->operator_name = dup_or_null(ev->operator_name);
	c->host = dup_or_null(ev->host);
	c->site = dup_or_null(ev->site);
	c->action = dup_or_null(ev->action);
	c->object = dup_or_null(ev->object);
	c->details = dup_or_null(ev->details);
	c->prev_hash = dup_or_null(ev->prev_hash);
	c->hash = dup_or_null(ev->hash);
	return 0;
}

static void
read_rows(struct catalog *cat, struct rows *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(catalog_event_foreach(cat, NULL, copy_row, r), 0);
}

static void
free_rows(struct rows *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		catalog_event_clear(&r->ev[i]);
	r->n = 0;
}

static void
set_str(char **field, const char *s)
{
	free(*field);
	*field = strdup(s);
}

static void
test_append_and_hashes(void **state)
{
	struct audit_report rep;
	struct catalog *cat;
	struct rows r;
	char want[65], head[65];
	long long seq;
	int i;

	(void)state;
	cat = make_chain(src_path, NEVENTS);
	read_rows(cat, &r);
	assert_int_equal(r.n, NEVENTS);
	assert_string_equal(r.ev[0].prev_hash, "0000000000000000000000000000"
	    "000000000000000000000000000000000000");
	for (i = 0; i < r.n; i++) {
		assert_int_equal(r.ev[i].seq, i + 1);
		if (i > 0)
			assert_string_equal(r.ev[i].prev_hash,
			    r.ev[i - 1].hash);
		/* details are stored in canonical form */
		snprintf(want, sizeof(want), "{\"b\":\"x\",\"n\":%d}", i + 1);
		assert_string_equal(r.ev[i].details, want);
		hand_hash(&r.ev[i], r.ev[i].prev_hash, want);
		assert_string_equal(r.ev[i].hash, want);
	}
	assert_null(r.ev[0].site);
	assert_string_equal(r.ev[2].site, "hq");
	assert_null(r.ev[3].object);

	assert_int_equal(audit_verify(cat, &rep), 0);
	assert_int_equal(rep.damage, AUDIT_INTACT);
	assert_int_equal(rep.events, NEVENTS);
	assert_int_equal(rep.head_seq, NEVENTS);
	assert_string_equal(rep.head, r.ev[NEVENTS - 1].hash);
	assert_int_equal(audit_head(cat, &seq, head), 0);
	assert_int_equal(seq, NEVENTS);
	assert_string_equal(head, r.ev[NEVENTS - 1].hash);
	free_rows(&r);
	catalog_close(cat);
}

static void
test_empty_chain(void **state)
{
	struct audit_report rep;
	struct catalog *cat;
	char head[65];
	long long seq = -1;

	(void)state;
	cat = catalog_open(src_path, CATALOG_CREATE);
	assert_non_null(cat);
	assert_int_equal(audit_verify(cat, &rep), 0);
	assert_int_equal(rep.events, 0);
	assert_int_equal(audit_head(cat, &seq, head), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(head, rep.head);
	assert_int_equal(strspn(head, "0"), 64);
	catalog_close(cat);
}

/* The audit time is the real clock, whatever COFFER_NOW says. */
static void
test_time_is_real(void **state)
{
	struct audit_event ae = { "alice", "h1", NULL, "t", NULL, NULL };
	struct catalog_event last;
	struct catalog *cat;
	time_t t, now;

	(void)state;
	setenv("COFFER_NOW", "2000-01-01T00:00:00Z", 1);
	cat = catalog_open(src_path, CATALOG_CREATE);
	assert_non_null(cat);
	now = time(NULL);
	assert_int_equal(audit_append(cat, &ae), 0);
	assert_int_equal(catalog_event_last(cat, &last), 1);
	assert_int_equal(strlen(last.time), 20);
	assert_int_equal(last.time[19], 'Z');
	{
		struct tm tm;

		memset(&tm, 0, sizeof(tm));
		assert_non_null(strptime(last.time, "%Y-%m-%dT%H:%M:%SZ",
		    &tm));
		t = timegm(&tm);
	}
	assert_true(t >= now - 5 && t <= now + 60);
	assert_string_equal(last.details, "{}");
	catalog_event_clear(&last);
	catalog_close(cat);
	unsetenv("COFFER_NOW");
}

static void
test_bad_details_refused(void **state)
{
	static const char *const bad[] = { "[1, 2]", "\"text\"", "{\"a\": 1.5}",
	    "{\"a\": ", "{\"a\": 1, \"a\": 2}", "{\"a\": 9007199254740992}",
	    NULL };
	struct audit_event ae = { "alice", "h1", NULL, "t", NULL, NULL };
	struct catalog *cat;
	long long n;
	int i, saved, fd;

	(void)state;
	cat = catalog_open(src_path, CATALOG_CREATE);
	assert_non_null(cat);
	saved = dup(2);
	fd = open("/dev/null", O_WRONLY);
	dup2(fd, 2);
	close(fd);
	for (i = 0; bad[i] != NULL; i++) {
		ae.details = bad[i];
		assert_int_equal(audit_append(cat, &ae), -1);
	}
	ae.details = NULL;
	ae.action = NULL;
	assert_int_equal(audit_append(cat, &ae), -1);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(catalog_event_count(cat, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(catalog_in_transaction(cat), 0);
	catalog_close(cat);
}

/* Inside the caller's transaction, the event goes or stays with it. */
static void
test_joins_transaction(void **state)
{
	struct audit_event ae = { "alice", "h1", NULL, "t", NULL, NULL };
	struct audit_report rep;
	struct catalog *cat;
	long long n;

	(void)state;
	cat = catalog_open(src_path, CATALOG_CREATE);
	assert_non_null(cat);
	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(audit_append(cat, &ae), 0);
	assert_int_equal(audit_append(cat, &ae), 0);
	assert_int_equal(catalog_in_transaction(cat), 1);
	catalog_rollback(cat);
	assert_int_equal(catalog_event_count(cat, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(catalog_begin(cat), 0);
	assert_int_equal(audit_append(cat, &ae), 0);
	assert_int_equal(catalog_commit(cat), 0);
	assert_int_equal(audit_append(cat, &ae), 0);
	assert_int_equal(audit_verify(cat, &rep), 0);
	assert_int_equal(rep.events, 2);
	catalog_close(cat);
}

/* A full disk: reported, nothing half-written, the chain still intact. */
static void
test_disk_full(void **state)
{
	struct audit_event ae = { "alice", "h1", NULL, "big", NULL, NULL };
	struct audit_report rep;
	struct catalog *cat;
	char *details;
	long long n;
	int saved, fd;

	(void)state;
	cat = make_chain(src_path, 3);
	details = malloc(200 * 1024);
	assert_non_null(details);
	memcpy(details, "{\"blob\":\"", 9);
	memset(details + 9, 'z', 200 * 1024 - 12);
	memcpy(details + 200 * 1024 - 3, "\"}", 3);
	ae.details = details;
	assert_int_equal(catalog_limit_pages(cat, 1), 0);
	saved = dup(2);
	fd = open("/dev/null", O_WRONLY);
	dup2(fd, 2);
	close(fd);
	assert_int_equal(audit_append(cat, &ae), -1);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(catalog_in_transaction(cat), 0);
	assert_int_equal(catalog_event_count(cat, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(audit_verify(cat, &rep), 0);
	/* Room again: the chain continues. */
	assert_int_equal(catalog_limit_pages(cat, 1LL << 30), 0);
	assert_int_equal(audit_append(cat, &ae), 0);
	assert_int_equal(audit_verify(cat, &rep), 0);
	assert_int_equal(rep.events, 4);
	free(details);
	catalog_close(cat);
}

/* ------------------------------------------------------------ tampering */

enum tamper {
	ALTER_FIELD,
	ALTER_DETAILS,
	ALTER_HASH,
	ALTER_PREV_HASH,
	ALTER_AND_REHASH,
	DELETE_ROW,
	DELETE_AND_RENUMBER,
	DELETE_FIRST,
	INSERT_COPY,
	INSERT_FORGED,
	INSERT_AT_END,
	SWAP,
};

/*
 * verify_tampered(how, damage, seq): build a genuine chain, write its rows
 * into a second catalog changed as how says, and check audit_verify names
 * damage at seq.
 */
static void
verify_tampered(enum tamper how, enum audit_damage damage, long long seq)
{
	struct catalog_event fake, tmp;
	struct audit_report rep;
	struct catalog *src, *dst;
	struct rows r;
	char hex[65], want[64];
	int i, skip = -1, shift_from = -1, shift_by = 0;

	src = make_chain(src_path, NEVENTS);
	read_rows(src, &r);
	catalog_close(src);
	unlink(src_path);
	dst = catalog_open(dst_path, CATALOG_CREATE);
	assert_non_null(dst);
	memset(&fake, 0, sizeof(fake));

	switch (how) {
	case ALTER_FIELD:
		set_str(&r.ev[4].operator_name, "mallory");
		break;
	case ALTER_DETAILS:
		set_str(&r.ev[2].details, "{\"b\":\"x\",\"n\":30}");
		break;
	case ALTER_HASH:
		set_str(&r.ev[5].hash, "00000000000000000000000000000000"
		    "00000000000000000000000000000000");
		break;
	case ALTER_PREV_HASH:
		set_str(&r.ev[5].prev_hash, r.ev[2].hash);
		break;
	case ALTER_AND_REHASH:
		set_str(&r.ev[4].action, "nothing.happened");
		hand_hash(&r.ev[4], r.ev[4].prev_hash, hex);
		set_str(&r.ev[4].hash, hex);
		break;
	case DELETE_ROW:
		skip = 3;
		break;
	case DELETE_AND_RENUMBER:
		skip = 3;
		shift_from = 4;
		shift_by = -1;
		break;
	case DELETE_FIRST:
		skip = 0;
		shift_from = 1;
		shift_by = -1;
		break;
	case INSERT_COPY:
		/* seq 5 becomes a copy of event 2; 5.. move up one. */
		shift_from = 4;
		shift_by = 1;
		fake = r.ev[1];
		fake.seq = 5;
		break;
	case INSERT_FORGED:
		/* A well-formed event 5 chained to 4 and hashed; 5.. move
		 * up one. */
		shift_from = 4;
		shift_by = 1;
		fake = r.ev[3];
		fake.seq = 5;
		fake.action = (char *)"forged";
		fake.prev_hash = r.ev[3].hash;
		hand_hash(&fake, fake.prev_hash, hex);
		fake.hash = hex;
		break;
	case INSERT_AT_END:
		fake = r.ev[2];
		fake.seq = NEVENTS + 1;
		break;
	case SWAP:
		tmp = r.ev[2];
		r.ev[2] = r.ev[3];
		r.ev[3] = tmp;
		r.ev[2].seq = 3;
		r.ev[3].seq = 4;
		break;
	}
	/* Rows are read back in seq order, whatever the insertion order. */
	for (i = 0; i < r.n; i++) {
		if (i == skip)
			continue;
		tmp = r.ev[i];
		if (shift_from >= 0 && i >= shift_from)
			tmp.seq += shift_by;
		assert_int_equal(catalog_event_insert(dst, &tmp), 0);
	}
	if (fake.time != NULL)
		assert_int_equal(catalog_event_insert(dst, &fake), 0);

	assert_int_equal(audit_verify(dst, &rep), 1);
	assert_int_equal(rep.damage, damage);
	assert_int_equal(rep.bad_seq, seq);
	snprintf(want, sizeof(want), "event %lld was %s", seq,
	    damage == AUDIT_ALTERED ? "altered" : damage == AUDIT_DELETED ?
	    "deleted" : "inserted or reordered");
	assert_string_equal(rep.message, want);
	catalog_close(dst);
	free_rows(&r);
}

static void
test_alter_field(void **state)
{
	(void)state;
	verify_tampered(ALTER_FIELD, AUDIT_ALTERED, 5);
}

static void
test_alter_details(void **state)
{
	(void)state;
	verify_tampered(ALTER_DETAILS, AUDIT_ALTERED, 3);
}

static void
test_alter_hash(void **state)
{
	(void)state;
	verify_tampered(ALTER_HASH, AUDIT_ALTERED, 6);
}

static void
test_alter_prev_hash(void **state)
{
	(void)state;
	verify_tampered(ALTER_PREV_HASH, AUDIT_ALTERED, 6);
}

static void
test_alter_and_rehash(void **state)
{
	(void)state;
	verify_tampered(ALTER_AND_REHASH, AUDIT_ALTERED, 5);
}

static void
test_delete_row(void **state)
{
	(void)state;
	verify_tampered(DELETE_ROW, AUDIT_DELETED, 4);
}

static void
test_delete_and_renumber(void **state)
{
	(void)state;
	verify_tampered(DELETE_AND_RENUMBER, AUDIT_DELETED, 4);
}

static void
test_delete_first(void **state)
{
	(void)state;
	verify_tampered(DELETE_FIRST, AUDIT_DELETED, 1);
}

static void
test_insert_copy(void **state)
{
	(void)state;
	verify_tampered(INSERT_COPY, AUDIT_INSERTED, 5);
}

static void
test_insert_forged(void **state)
{
	(void)state;
	verify_tampered(INSERT_FORGED, AUDIT_INSERTED, 5);
}

static void
test_insert_at_end(void **state)
{
	(void)state;
	verify_tampered(INSERT_AT_END, AUDIT_INSERTED, NEVENTS + 1);
}

static void
test_swap(void **state)
{
	(void)state;
	verify_tampered(SWAP, AUDIT_INSERTED, 3);
}

/* Export: one canonical line per event, with prev_hash and hash. */
static void
test_export(void **state)
{
	struct catalog *cat;
	struct rows r;
	char *buf = NULL, *line, *save, want[2048], object[64], site[64];
	size_t len = 0;
	FILE *fp;
	int i;

	(void)state;
	cat = make_chain(src_path, 4);
	read_rows(cat, &r);
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	assert_int_equal(audit_export(cat, fp), 0);
	fclose(fp);
	line = buf;
	for (i = 0; i < r.n; i++) {
		save = strchr(line, '\n');
		assert_non_null(save);
		*save = '\0';
		if (r.ev[i].object)
			snprintf(object, sizeof(object), "\"%s\"",
			    r.ev[i].object);
		else
			util_strlcpy(object, "null", sizeof(object));
		if (r.ev[i].site)
			snprintf(site, sizeof(site), "\"%s\"", r.ev[i].site);
		else
			util_strlcpy(site, "null", sizeof(site));
		snprintf(want, sizeof(want), "{\"action\":\"%s\",\"details\":"
		    "%s,\"hash\":\"%s\",\"host\":\"%s\",\"object\":%s,"
		    "\"operator\":\"%s\",\"prev_hash\":\"%s\",\"seq\":%lld,"
		    "\"site\":%s,\"time\":\"%s\"}", r.ev[i].action,
		    r.ev[i].details, r.ev[i].hash, r.ev[i].host, object,
		    r.ev[i].operator_name, r.ev[i].prev_hash, r.ev[i].seq,
		    site, r.ev[i].time);
		assert_string_equal(line, want);
		line = save + 1;
	}
	assert_string_equal(line, "");
	free(buf);
	free_rows(&r);
	catalog_close(cat);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_append_and_hashes),
		T(test_empty_chain),
		T(test_time_is_real),
		T(test_bad_details_refused),
		T(test_joins_transaction),
		T(test_disk_full),
		T(test_alter_field),
		T(test_alter_details),
		T(test_alter_hash),
		T(test_alter_prev_hash),
		T(test_alter_and_rehash),
		T(test_delete_row),
		T(test_delete_and_renumber),
		T(test_delete_first),
		T(test_insert_copy),
		T(test_insert_forged),
		T(test_insert_at_end),
		T(test_swap),
		T(test_export),
#undef T
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
