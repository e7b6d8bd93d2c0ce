/*
 * test-retention: the retention policy over synthetic set lists (buckets
 * across day, ISO week, month and year boundaries; chains; covers by a
 * newer verified full; holds; pre-restore age), hold objects (JSON,
 * signatures, numbering, the hold in force, release) and the deletion of
 * a set on a local target.
 */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "crypto.h"
#include "retention.h"
#include "sign.h"
#include "target.h"
#include "util.h"

#define VAULT "0123456789abcdef0123456789abcdef"
#define HOST "web1"
#define SETSHA \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define OTHERSHA \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static time_t
t_(const char *s)
{
	time_t t;

	assert_int_equal(clock_parse_utc(s, &t), 0);
	return t;
}

/* A backup set of job "nightly": full unless parent is given. */
static struct retention_set
mk(const char *label, const char *when, const char *const *parents,
    int verified)
{
	struct retention_set s;

	memset(&s, 0, sizeof(s));
	s.label = label;
	s.job = "nightly";
	s.kind = SET_BACKUP;
	s.level = parents != NULL ? SET_INCR : SET_FULL;
	s.parents = parents;
	s.nparents = parents != NULL ? 1 : 0;
	s.created = t_(when);
	s.verified = verified ? s.created + 60 : 0;
	return s;
}

static struct retention_set *
find(struct retention_set *s, size_t n, const char *label)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s[i].label, label) == 0)
			return &s[i];
	fail_msg("no set %s", label);
	return NULL;
}

/* check(s, n, label, decision, reason_part) */
static void
check(struct retention_set *s, size_t n, const char *label,
    enum retention_decision d, const char *part)
{
	struct retention_set *x = find(s, n, label);

	if (x->decision != d || strstr(x->reason, part) == NULL)
		fail_msg("set %s: decision %d reason '%s', want %d '%s'",
		    label, x->decision, x->reason, d, part);
}

static struct retention_policy
pol(int last, int d, int w, int m, int y)
{
	struct retention_policy p;

	memset(&p, 0, sizeof(p));
	p.keep_last = last;
	p.keep_daily = d;
	p.keep_weekly = w;
	p.keep_monthly = m;
	p.keep_yearly = y;
	return p;
}

#define NOW "2027-06-01T12:00:00Z"

static void
test_daily(void **state)
{
	struct retention_set s[6];
	struct retention_policy p = pol(0, 3, 0, 0, 0);

	(void)state;
	s[0] = mk("a", "2026-11-20T01:00:00Z", NULL, 1);
	s[1] = mk("b", "2026-11-21T01:00:00Z", NULL, 1);
	s[2] = mk("c", "2026-11-22T01:00:00Z", NULL, 1);
	/* two on the 23rd: only the later one is that day's */
	s[3] = mk("d1", "2026-11-23T01:00:00Z", NULL, 1);
	s[4] = mk("d2", "2026-11-23T23:59:59Z", NULL, 1);
	/* across the month boundary */
	s[5] = mk("e", "2026-12-01T00:00:00Z", NULL, 1);
	assert_int_equal(retention_apply(s, 6, &p, 1, -1, t_(NOW)), 3);
	check(s, 6, "e", RETENTION_KEEP, "kept: daily 2026-12-01");
	check(s, 6, "d2", RETENTION_KEEP, "daily 2026-11-23");
	check(s, 6, "c", RETENTION_KEEP, "daily 2026-11-22");
	check(s, 6, "d1", RETENTION_REMOVE, "removed: not needed");
	check(s, 6, "b", RETENTION_REMOVE, "covered by verified full");
	check(s, 6, "a", RETENTION_REMOVE, "removed");
}

static void
test_weekly_year_boundary(void **state)
{
	struct retention_set s[4];
	struct retention_policy p = pol(0, 0, 2, 0, 0);

	(void)state;
	/* ISO weeks: 2026-12-21 is 2026-W52, 2026-12-28 and 2027-01-03
	 * are both 2026-W53, 2027-01-04 is 2027-W01. */
	s[0] = mk("w52", "2026-12-21T10:00:00Z", NULL, 1);
	s[1] = mk("w53a", "2026-12-28T10:00:00Z", NULL, 1);
	s[2] = mk("w53b", "2027-01-03T10:00:00Z", NULL, 1);
	s[3] = mk("w01", "2027-01-04T10:00:00Z", NULL, 1);
	assert_int_equal(retention_apply(s, 4, &p, 1, -1, t_(NOW)), 2);
	check(s, 4, "w01", RETENTION_KEEP, "weekly 2027-W01");
	check(s, 4, "w53b", RETENTION_KEEP, "weekly 2026-W53");
	check(s, 4, "w53a", RETENTION_REMOVE, "removed");
	check(s, 4, "w52", RETENTION_REMOVE, "removed");
}

static void
test_monthly_yearly(void **state)
{
	struct retention_set s[7];
	struct retention_policy p = pol(0, 0, 0, 2, 2);

	(void)state;
	s[0] = mk("y24", "2024-12-31T23:59:59Z", NULL, 1);
	s[1] = mk("y25a", "2025-01-01T00:00:00Z", NULL, 1);
	s[2] = mk("jan31", "2026-01-31T12:00:00Z", NULL, 1);
	s[3] = mk("feb01", "2026-02-01T12:00:00Z", NULL, 1);
	s[4] = mk("feb28", "2026-02-28T12:00:00Z", NULL, 1);
	s[5] = mk("mar01", "2026-03-01T00:00:00Z", NULL, 1);
	s[6] = mk("y25b", "2025-06-01T00:00:00Z", NULL, 1);
	assert_int_equal(retention_apply(s, 7, &p, 1, -1, t_(NOW)), 4);
	check(s, 7, "mar01", RETENTION_KEEP,
	    "kept: monthly 2026-03, yearly 2026");
	check(s, 7, "feb28", RETENTION_KEEP, "monthly 2026-02");
	check(s, 7, "feb01", RETENTION_REMOVE, "removed");
	check(s, 7, "jan31", RETENTION_REMOVE, "removed");
	check(s, 7, "y25b", RETENTION_KEEP, "yearly 2025");
	check(s, 7, "y25a", RETENTION_REMOVE, "removed");
	check(s, 7, "y24", RETENTION_REMOVE, "removed");
}

static void
test_chain_kept(void **state)
{
	static const char *const pf1[] = { "f1" };
	static const char *const pi1[] = { "i1" };
	struct retention_set s[3];
	struct retention_policy p = pol(1, 0, 0, 0, 0);

	(void)state;
	s[0] = mk("f1", "2026-11-01T01:00:00Z", NULL, 1);
	s[1] = mk("i1", "2026-11-02T01:00:00Z", pf1, 0);
	s[2] = mk("i2", "2026-11-03T01:00:00Z", pi1, 0);
	assert_int_equal(retention_apply(s, 3, &p, 1, -1, t_(NOW)), 0);
	check(s, 3, "i2", RETENTION_KEEP, "kept: last 1");
	check(s, 3, "i1", RETENTION_KEEP, "kept: parent of incr i2");
	check(s, 3, "f1", RETENTION_KEEP, "kept: parent of incr i1");
}

static void
test_cover(void **state)
{
	static const char *const pf1[] = { "f1" };
	static const char *const pi1[] = { "i1" };
	static const char *const pf2[] = { "f2" };
	struct retention_set s[5];
	struct retention_policy p = pol(1, 0, 0, 0, 0);

	(void)state;
	s[0] = mk("f1", "2026-11-01T01:00:00Z", NULL, 1);
	s[1] = mk("i1", "2026-11-02T01:00:00Z", pf1, 0);
	s[2] = mk("i2", "2026-11-03T01:00:00Z", pi1, 0);
	s[3] = mk("f2", "2026-11-04T01:00:00Z", NULL, 1);
	s[4] = mk("i3", "2026-11-05T01:00:00Z", pf2, 0);
	assert_int_equal(retention_apply(s, 5, &p, 1, -1, t_(NOW)), 3);
	check(s, 5, "i3", RETENTION_KEEP, "last 1");
	check(s, 5, "f2", RETENTION_KEEP, "parent of incr i3");
	check(s, 5, "i2", RETENTION_REMOVE, "covered by verified full f2");
	check(s, 5, "i1", RETENTION_REMOVE, "covered by verified full f2");
	check(s, 5, "f1", RETENTION_REMOVE, "covered by verified full f2");

	/* The same, but f2 was not verified: nothing may go, and the
	 * chain of what stays is kept too. */
	s[3].verified = 0;
	assert_int_equal(retention_apply(s, 5, &p, 1, -1, t_(NOW)), 0);
	check(s, 5, "i2", RETENTION_KEEP, "no newer verified full set of "
	    "job 'nightly'");
	check(s, 5, "i1", RETENTION_KEEP, "no newer verified full");
	check(s, 5, "f1", RETENTION_KEEP, "no newer verified full");

	/* A held incr keeps its whole chain, covered or not. */
	s[3].verified = s[3].created;
	s[2].keep = 1;
	assert_int_equal(retention_apply(s, 5, &p, 1, -1, t_(NOW)), 0);
	check(s, 5, "i2", RETENTION_KEEP, "held forever");
	check(s, 5, "i1", RETENTION_KEEP, "kept: parent of incr i2");
	check(s, 5, "f1", RETENTION_KEEP, "kept: parent of incr i1");
	s[2].keep = 0;

	/* A verified full of another job covers nothing here. */
	s[3].verified = s[3].created;
	s[3].job = "weekly";
	s[4].job = "weekly";
	assert_int_equal(retention_apply(s, 5, &p, 1, -1, t_(NOW)), 0);
	check(s, 5, "i2", RETENTION_KEEP, "last 1");
	check(s, 5, "f1", RETENTION_KEEP, "parent of incr i1");
}

static void
test_no_newer_verified(void **state)
{
	struct retention_set s[2];
	struct retention_policy p = pol(1, 0, 0, 0, 0);

	(void)state;
	s[0] = mk("old", "2026-11-01T01:00:00Z", NULL, 1);
	s[1] = mk("new", "2026-11-02T01:00:00Z", NULL, 0);
	assert_int_equal(retention_apply(s, 2, &p, 1, -1, t_(NOW)), 0);
	check(s, 2, "new", RETENTION_KEEP, "last 1");
	check(s, 2, "old", RETENTION_KEEP, "no newer verified full");
}

static void
test_holds_win(void **state)
{
	struct retention_set s[4];
	struct retention_policy p = pol(1, 0, 0, 0, 0);

	(void)state;
	s[0] = mk("forever", "2026-11-01T01:00:00Z", NULL, 1);
	s[0].keep = 1;
	s[1] = mk("until", "2026-11-02T01:00:00Z", NULL, 1);
	s[1].has_retain_until = 1;
	s[1].retain_until = t_("2028-01-01");
	s[2] = mk("expired", "2026-11-03T01:00:00Z", NULL, 1);
	s[2].has_retain_until = 1;
	s[2].retain_until = t_("2027-01-01");
	s[3] = mk("newest", "2026-11-04T01:00:00Z", NULL, 1);
	assert_int_equal(retention_apply(s, 4, &p, 1, -1, t_(NOW)), 1);
	check(s, 4, "forever", RETENTION_KEEP, "kept: held forever");
	check(s, 4, "until", RETENTION_KEEP, "kept: held until 2028-01-01");
	check(s, 4, "expired", RETENTION_REMOVE, "removed");
	check(s, 4, "newest", RETENTION_KEEP, "last 1");
}

static void
test_pre_restore(void **state)
{
	struct retention_set s[4];
	struct retention_policy p = pol(1, 0, 0, 0, 0);

	(void)state;
	s[0] = mk("pr-old", "2027-04-01T12:00:00Z", NULL, 0);
	s[0].kind = SET_PRE_RESTORE;
	s[0].job = "pre-restore";
	s[1] = mk("pr-new", "2027-05-20T12:00:00Z", NULL, 0);
	s[1].kind = SET_PRE_RESTORE;
	s[1].job = "pre-restore";
	s[2] = mk("pr-held", "2027-01-01T12:00:00Z", NULL, 0);
	s[2].kind = SET_PRE_RESTORE;
	s[2].job = "pre-restore";
	s[2].keep = 1;
	/* a backup set with no verified newer full stays */
	s[3] = mk("b", "2027-01-01T12:00:00Z", NULL, 0);
	assert_int_equal(retention_apply(s, 4, &p, 1,
	    RETENTION_PRE_RESTORE_AGE, t_(NOW)), 1);
	check(s, 4, "pr-old", RETENTION_REMOVE,
	    "removed: pre-restore set older than 30d");
	check(s, 4, "pr-new", RETENTION_KEEP, "younger than 30d");
	check(s, 4, "pr-held", RETENTION_KEEP, "held forever");
	check(s, 4, "b", RETENTION_KEEP, "last 1");
	/* A negative age keeps them all. */
	assert_int_equal(retention_apply(s, 4, &p, 1, -1, t_(NOW)), 0);
	check(s, 4, "pr-old", RETENTION_KEEP, "kept forever");
}

static void
test_policy_per_job(void **state)
{
	struct retention_set s[4];
	struct retention_policy p[2];

	(void)state;
	p[0] = pol(1, 0, 0, 0, 0);
	p[0].job = "nightly";
	p[1] = pol(0, 0, 0, 0, 0);      /* default: empty */
	s[0] = mk("n1", "2026-11-01T01:00:00Z", NULL, 1);
	s[1] = mk("n2", "2026-11-02T01:00:00Z", NULL, 1);
	s[2] = mk("o1", "2026-11-01T01:00:00Z", NULL, 1);
	s[2].job = "other";
	s[3] = mk("o2", "2026-11-02T01:00:00Z", NULL, 1);
	s[3].job = "other";
	assert_int_equal(retention_apply(s, 4, p, 2, -1, t_(NOW)), 1);
	check(s, 4, "n1", RETENTION_REMOVE, "removed");
	check(s, 4, "n2", RETENTION_KEEP, "last 1");
	check(s, 4, "o1", RETENTION_KEEP, "no retention policy for job "
	    "'other'");
	check(s, 4, "o2", RETENTION_KEEP, "no retention policy");
	/* No policy at all. */
	assert_int_equal(retention_apply(s, 4, NULL, 0, -1, t_(NOW)), 0);
	assert_int_equal(retention_apply(NULL, 0, NULL, 0, -1, t_(NOW)), 0);
}

/* ----------------------------------------------------------------- holds */

struct fixture {
	char dir[64];
	struct target *t;
	struct sign_key *key, *other;
	struct sign_pinned *pinned;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t seed[32];

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-retention-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_non_null(f->t = target_open_local(f->dir, HOST, "1-abc"));
	memset(seed, 7, sizeof(seed));
	assert_non_null(f->key = sign_key_from_seed(seed, "web1"));
	memset(seed, 9, sizeof(seed));
	assert_non_null(f->other = sign_key_from_seed(seed, "intruder"));
	assert_non_null(f->pinned = sign_pinned_new());
	assert_int_equal(sign_pinned_add(f->pinned,
	    sign_key_pubkey(f->key)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	target_free(f->t);
	sign_key_free(f->key);
	sign_key_free(f->other);
	sign_pinned_free(f->pinned);
	assert_int_equal(util_remove_tree(f->dir), 0);
	free(f);
	return 0;
}

static struct retention_hold
hold(int keep, const char *until, const char *reason)
{
	struct retention_hold h;

	memset(&h, 0, sizeof(h));
	h.created = t_("2026-11-25T10:00:00Z");
	h.keep = keep;
	if (until != NULL) {
		h.has_retain_until = 1;
		h.retain_until = t_(until);
	}
	util_strlcpy(h.operator_name, "alice", sizeof(h.operator_name));
	util_strlcpy(h.reason, reason, sizeof(h.reason));
	return h;
}

static void
test_hold_json(void **state)
{
	struct retention_hold h = hold(0, "2027-01-01", "audit \"Q4\""), r;
	char *js;
	size_t len;

	(void)state;
	h.n = 3;
	assert_non_null(js = retention_hold_json(VAULT, HOST, "x", SETSHA,
	    &h, &len));
	assert_int_equal(strlen(js), len);
	/* Canonical JSON: sorted keys, no spaces, one newline. */
	assert_string_equal(js, "{\"created\":\"2026-11-25T10:00:00Z\","
	    "\"format\":1,\"host\":\"web1\",\"keep\":false,\"label\":\"x\","
	    "\"n\":3,\"operator\":\"alice\",\"reason\":\"audit \\\"Q4\\\"\","
	    "\"retain_until\":\"2027-01-01T00:00:00Z\",\"set\":\"" SETSHA
	    "\",\"vault\":\"" VAULT "\"}\n");
	assert_int_equal(retention_hold_parse(js, len, VAULT, HOST, "x",
	    SETSHA, &r), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.keep, 0);
	assert_int_equal(r.has_retain_until, 1);
	assert_int_equal(r.retain_until, t_("2027-01-01"));
	assert_string_equal(r.reason, "audit \"Q4\"");
	assert_int_equal(retention_hold_released(&r), 0);
	/* Each binding field is checked. */
	assert_int_equal(retention_hold_parse(js, len,
	    "ffffffffffffffffffffffffffffffff", HOST, "x", SETSHA, &r), -1);
	assert_int_equal(retention_hold_parse(js, len, VAULT, "web2", "x",
	    SETSHA, &r), -1);
	assert_int_equal(retention_hold_parse(js, len, VAULT, HOST, "y",
	    SETSHA, &r), -1);
	assert_int_equal(retention_hold_parse(js, len, VAULT, HOST, "x",
	    OTHERSHA, &r), -1);
	assert_int_equal(retention_hold_parse("{}", 2, VAULT, HOST, "x",
	    SETSHA, &r), -1);
	free(js);
	h = hold(0, NULL, "");
	assert_int_equal(retention_hold_released(&h), 1);
}

static void
test_hold_write_effective(void **state)
{
	struct fixture *f = *state;
	struct retention_hold h, r;
	unsigned long n;
	char *path, *js, *sig;
	size_t len;

	assert_int_equal(retention_hold_next(f->t, HOST, "x", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(retention_hold_effective(f->t, f->pinned, VAULT,
	    HOST, "x", SETSHA, &r), 0);

	h = hold(1, NULL, "legal");
	assert_int_equal(retention_hold_write(f->t, f->key, VAULT, HOST, "x",
	    SETSHA, &h), 0);
	assert_int_equal(h.n, 1);
	path = util_asprintf("%s/holds/web1/x.1.json.sig", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	free(path);
	assert_int_equal(retention_hold_effective(f->t, f->pinned, VAULT,
	    HOST, "x", SETSHA, &r), 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.keep, 1);
	assert_string_equal(r.signer, sign_key_pubkey(f->key)->fpr);
	/* Bound to the set: another set.json sees no hold. */
	assert_int_equal(retention_hold_effective(f->t, f->pinned, VAULT,
	    HOST, "x", OTHERSHA, &r), 0);
	/* Another label with a dot does not pick it up. */
	assert_int_equal(retention_hold_effective(f->t, f->pinned, VAULT,
	    HOST, "x.1", SETSHA, &r), 0);

	/* A release, number 2, is in force. */
	h = hold(0, NULL, "done");
	assert_int_equal(retention_hold_write(f->t, f->key, VAULT, HOST, "x",
	    SETSHA, &h), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(retention_hold_effective(f->t, f->pinned, VAULT,
	    HOST, "x", SETSHA, &r), 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(retention_hold_released(&r), 1);

	/* Number 3 signed by an unpinned key is ignored: 2 stays. */
	h = hold(1, NULL, "forged");
	h.n = 3;
	assert_non_null(js = retention_hold_json(VAULT, HOST, "x", SETSHA,
	    &h, &len));
	assert_non_null(sig = sign_data(f->other, js, len));
	assert_int_equal(target_put_buf(f->t, "holds/web1/x.3.json", js,
	    len), 0);
	assert_int_equal(target_put_buf(f->t, "holds/web1/x.3.json.sig", sig,
	    strlen(sig)), 0);
	free(sig);
	/* Number 4 without a signature is ignored too. */
	h.n = 4;
	free(js);
	assert_non_null(js = retention_hold_json(VAULT, HOST, "x", SETSHA,
	    &h, &len));
	assert_int_equal(target_put_buf(f->t, "holds/web1/x.4.json", js,
	    len), 0);
	free(js);
	assert_int_equal(retention_hold_effective(f->t, f->pinned, VAULT,
	    HOST, "x", SETSHA, &r), 1);
	assert_int_equal(r.n, 2);
	/* The next number skips all of them. */
	assert_int_equal(retention_hold_next(f->t, HOST, "x", &n), 0);
	assert_int_equal(n, 5);
}

static void
test_delete_set(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"sets/web1/x/vol-0001.tar.zst.age", "sets/web1/x/SHA256SUMS",
		"sets/web1/x/RECOVERY.txt", "sets/web1/x/set.json",
		"sets/web1/x/set.json.sig", "sets/web1/x.2/set.json.sig",
	};
	struct retention_hold h = hold(1, NULL, "");
	char *path;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		assert_int_equal(target_put_buf(f->t, names[i], "x", 1), 0);
	assert_int_equal(retention_hold_write(f->t, f->key, VAULT, HOST, "x",
	    SETSHA, &h), 0);
	assert_int_equal(retention_hold_write(f->t, f->key, VAULT, HOST,
	    "x.2", SETSHA, &h), 0);
	assert_int_equal(retention_delete_set(f->t, HOST, "x"), 0);
	for (i = 0; i < ARRAY_SIZE(names) - 1; i++)
		assert_int_equal(target_head(f->t, names[i], NULL), 0);
	path = util_asprintf("%s/sets/web1/x", f->dir);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	assert_int_equal(target_head(f->t, "holds/web1/x.1.json", NULL), 0);
	assert_int_equal(target_head(f->t, "holds/web1/x.1.json.sig", NULL),
	    0);
	/* The neighbour with a longer label is untouched. */
	assert_int_equal(target_head(f->t, names[5], NULL), 1);
	assert_int_equal(target_head(f->t, "holds/web1/x.2.1.json.sig", NULL),
	    1);
	/* Again: nothing left, still fine (a crash is finished this way). */
	assert_int_equal(retention_delete_set(f->t, HOST, "x"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),
		cmocka_unit_test(test_weekly_year_boundary),
		cmocka_unit_test(test_monthly_yearly),
		cmocka_unit_test(test_chain_kept),
		cmocka_unit_test(test_cover),
		cmocka_unit_test(test_no_newer_verified),
		cmocka_unit_test(test_holds_win),
		cmocka_unit_test(test_pre_restore),
		cmocka_unit_test(test_policy_per_job),
		cmocka_unit_test(test_hold_json),
		cmocka_unit_test_setup_teardown(test_hold_write_effective,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_set, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
