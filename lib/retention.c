/*
 * retention.c: the retention policy, holds and the deletion of sets
 * (see retention.h).
 */
#include "compat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include <jansson.h>

#include "audit.h"
#include "catalog.h"
#include "cjson.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "label.h"
#include "retention.h"
#include "set.h"
#include "sign.h"
#include "signedobj.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

#define HOLD_JSON_MAX 16384
#define HOLD_SIG_MAX 512
#define HOLD_FORMAT 1
#define HOLD_TRIES 100
/* The largest hold number read from a name (as since holds were added). */
#define HOLD_N_MAX 1000000009ULL

/* ---------------------------------------------------------------- policy */

int
retention_policy_empty(const struct retention_policy *p)
{
	return p->keep_last <= 0 && p->keep_daily <= 0 &&
	    p->keep_weekly <= 0 && p->keep_monthly <= 0 &&
	    p->keep_yearly <= 0;
}

int
retention_policy_from_config(const struct config *c, const char *job,
    struct retention_policy *p)
{
	static const char *const names[] = { "keep-last", "keep-daily",
		"keep-weekly", "keep-monthly", "keep-yearly" };
	int *fields[5];
	long long v;
	char *key;
	size_t i;
	int r;

	memset(p, 0, sizeof(*p));
	p->job = job;
	fields[0] = &p->keep_last;
	fields[1] = &p->keep_daily;
	fields[2] = &p->keep_weekly;
	fields[3] = &p->keep_monthly;
	fields[4] = &p->keep_yearly;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if ((key = util_asprintf("backup.%s.%s", job, names[i])) ==
		    NULL)
			return -1;
		v = 0;
		r = config_get_int(c, key, &v);
		if (r == 1 && (v < 0 || v > 1000000)) {
			config_bad_value(c, key, "retention count");
			r = -1;
		}
		free(key);
		if (r < 0)
			return -1;
		*fields[i] = (int)v;
	}
	return 0;
}

int
retention_pre_restore_age(const struct config *c, long long *age)
{
	const char *v;
	int r;

	*age = RETENTION_PRE_RESTORE_AGE;
	if ((v = config_get(c, "pre-restore.keep")) != NULL &&
	    strcmp(v, "forever") == 0) {
		*age = -1;
		return 0;
	}
	if ((r = config_get_duration(c, "pre-restore.keep", age)) < 0)
		return -1;
	if (r == 1 && *age < 0)
		return config_bad_value(c, "pre-restore.keep", "duration");
	return 0;
}

/* utc_date(t, buf, size): "YYYY-MM-DD" when t is midnight, else the full
 * "YYYY-MM-DDTHH:MM:SSZ". */
static void
utc_date(time_t t, char *buf, size_t size)
{
	clock_format_utc(t, buf, size);
	if (size > 10 && strcmp(buf + 10, "T00:00:00Z") == 0)
		buf[10] = '\0';
}

int
retention_held(const struct retention_set *s, time_t now, char *buf,
    size_t size)
{
	char when[32];

	if (s->keep) {
		snprintf(buf, size, "held forever");
		return 1;
	}
	if (s->has_retain_until && s->retain_until > now) {
		utc_date(s->retain_until, when, sizeof(when));
		snprintf(buf, size, "held until %s", when);
		return 1;
	}
	return 0;
}

/* The time buckets of the policy, as restic's --keep-*. */
enum bucket { B_DAILY = 0, B_WEEKLY, B_MONTHLY, B_YEARLY, B_COUNT };

static void
bucket_name(time_t t, enum bucket b, char *buf, size_t size)
{
	struct tm tm;
	size_t r = 0;

	if (gmtime_r(&t, &tm) != NULL) {
		switch (b) {
		case B_DAILY:
			r = strftime(buf, size, "%Y-%m-%d", &tm);
			break;
		case B_WEEKLY:
			r = strftime(buf, size, "%G-W%V", &tm);
			break;
		case B_MONTHLY:
			r = strftime(buf, size, "%Y-%m", &tm);
			break;
		default:
			r = strftime(buf, size, "%Y", &tm);
			break;
		}
	}
	if (r == 0)
		snprintf(buf, size, "?");
}

/* Decision state while deciding. */
enum state { S_OPEN = 0, S_KEPT, S_REMOVE };

struct decide {
	struct retention_set *sets;
	size_t n;
	size_t *order;          /* newest first */
	enum state *state;
	time_t now;
};

/* note(s, fmt, ...): append a clause to a reason ("kept: a, b"). */
static void note(struct retention_set *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(struct retention_set *s, const char *verb, const char *fmt, ...)
{
	char what[RETENTION_REASON_MAX];
	size_t len = strlen(s->reason);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (len == 0) {
		util_strlcpy(s->reason, verb, sizeof(s->reason));
		len = strlen(s->reason);
		util_strlcpy(s->reason + len, ": ", sizeof(s->reason) - len);
	} else
		util_strlcpy(s->reason + len, ", ", sizeof(s->reason) - len);
	len = strlen(s->reason);
	util_strlcpy(s->reason + len, what, sizeof(s->reason) - len);
}

static const char *
job_of(const struct retention_set *s)
{
	return s->job != NULL ? s->job : "";
}

/* newer(a, b): sort order, newest first (then label descending). */
static const struct retention_set *sort_sets;

static int
newer_cmp(const void *pa, const void *pb)
{
	const struct retention_set *a = &sort_sets[*(const size_t *)pa];
	const struct retention_set *b = &sort_sets[*(const size_t *)pb];

	if (a->created != b->created)
		return a->created > b->created ? -1 : 1;
	return -strcmp(a->label, b->label);
}

static const struct retention_policy *
policy_for(const struct retention_policy *pol, size_t npol, const char *job)
{
	const struct retention_policy *any = NULL;
	size_t i;

	for (i = 0; i < npol; i++) {
		if (pol[i].job == NULL)
			any = &pol[i];
		else if (strcmp(pol[i].job, job) == 0)
			return &pol[i];
	}
	return any;
}

/* select_job(d, job, p): apply p's counts to the backup sets of job. */
static void
select_job(struct decide *d, const char *job, const struct retention_policy *p)
{
	static const char *const bname[B_COUNT] = { "daily", "weekly",
		"monthly", "yearly" };
	char last[B_COUNT][32], cur[32];
	int want[B_COUNT], got[B_COUNT] = { 0 }, lastn = 0;
	struct retention_set *s;
	size_t k;
	int b;

	want[B_DAILY] = p->keep_daily;
	want[B_WEEKLY] = p->keep_weekly;
	want[B_MONTHLY] = p->keep_monthly;
	want[B_YEARLY] = p->keep_yearly;
	for (b = 0; b < B_COUNT; b++)
		last[b][0] = '\0';
	for (k = 0; k < d->n; k++) {
		s = &d->sets[d->order[k]];
		if (s->kind != SET_BACKUP || strcmp(job_of(s), job) != 0)
			continue;
		if (lastn < p->keep_last) {
			lastn++;
			note(s, "kept", "last %d", lastn);
			d->state[d->order[k]] = S_KEPT;
		}
		for (b = 0; b < B_COUNT; b++) {
			if (got[b] >= want[b])
				continue;
			bucket_name(s->created, b, cur, sizeof(cur));
			if (strcmp(cur, last[b]) == 0)
				continue;
			util_strlcpy(last[b], cur, sizeof(last[b]));
			got[b]++;
			note(s, "kept", "%s %s", bname[b], cur);
			d->state[d->order[k]] = S_KEPT;
		}
	}
}

static long long
find_label(const struct decide *d, const char *label)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->sets[i].label, label) == 0)
			return (long long)i;
	return -1;
}

/* cover(d, i): the newest verified full backup set of i's job newer than
 * i, or -1. */
static long long
cover(const struct decide *d, size_t i)
{
	const struct retention_set *s = &d->sets[i], *f;
	size_t k;

	for (k = 0; k < d->n; k++) {
		f = &d->sets[d->order[k]];
		if (f->created <= s->created)
			break;
		if (f->kind == SET_BACKUP && f->level == SET_FULL &&
		    f->verified != 0 && strcmp(job_of(f), job_of(s)) == 0)
			return (long long)d->order[k];
	}
	return -1;
}

/* keep_parents(d, stack): keep every set a kept set depends on. */
static void
keep_parents(struct decide *d, size_t *stack)
{
	struct retention_set *s;
	size_t top = 0, k, j;
	long long p;

	for (k = 0; k < d->n; k++)
		if (d->state[d->order[k]] == S_KEPT)
			stack[top++] = d->order[k];
	while (top > 0) {
		s = &d->sets[stack[--top]];
		for (j = 0; j < s->nparents; j++) {
			if ((p = find_label(d, s->parents[j])) < 0 ||
			    d->state[p] == S_KEPT)
				continue;
			d->sets[p].reason[0] = '\0';
			note(&d->sets[p], "kept", "parent of %s %s",
			    set_level_name(s->level), s->label);
			d->state[p] = S_KEPT;
			stack[top++] = (size_t)p;
		}
	}
}

/* age_text(secs, buf, size): "30d" or "36h". */
static void
age_text(long long secs, char *buf, size_t size)
{
	if (secs % 86400 == 0)
		snprintf(buf, size, "%lldd", secs / 86400);
	else if (secs % 3600 == 0)
		snprintf(buf, size, "%lldh", secs / 3600);
	else
		snprintf(buf, size, "%llds", secs);
}

int
retention_apply(struct retention_set *sets, size_t n,
    const struct retention_policy *pol, size_t npol, long long pre_age,
    time_t now)
{
	const struct retention_policy *p;
	struct retention_set *s;
	struct decide d;
	size_t *stack = NULL, i, k;
	char held[64], agebuf[32];
	long long c;
	int rc = -1, removed = 0;

	memset(&d, 0, sizeof(d));
	d.sets = sets;
	d.n = n;
	d.now = now;
	if (n == 0)
		return 0;
	if ((d.order = calloc(n, sizeof(*d.order))) == NULL ||
	    (d.state = calloc(n, sizeof(*d.state))) == NULL ||
	    (stack = calloc(n, sizeof(*stack))) == NULL) {
		warnp("calloc");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		d.order[i] = i;
		sets[i].reason[0] = '\0';
		sets[i].decision = RETENTION_KEEP;
	}
	sort_sets = sets;
	if (n > 1)
		qsort(d.order, n, sizeof(*d.order), newer_cmp);
	sort_sets = NULL;

	/* Holds always win. */
	for (i = 0; i < n; i++)
		if (retention_held(&sets[i], now, held, sizeof(held))) {
			note(&sets[i], "kept", "%s", held);
			d.state[i] = S_KEPT;
		}

	/* The policy of each job over its backup sets. */
	for (k = 0; k < n; k++) {
		s = &sets[d.order[k]];
		if (s->kind != SET_BACKUP)
			continue;
		for (i = 0; i < k; i++)
			if (sets[d.order[i]].kind == SET_BACKUP &&
			    strcmp(job_of(&sets[d.order[i]]), job_of(s)) == 0)
				break;
		if (i < k)
			continue;       /* job done */
		p = policy_for(pol, npol, job_of(s));
		if (p == NULL || retention_policy_empty(p)) {
			for (i = 0; i < n; i++)
				if (sets[i].kind == SET_BACKUP &&
				    strcmp(job_of(&sets[i]), job_of(s)) == 0 &&
				    d.state[i] != S_KEPT) {
					note(&sets[i], "kept", "no retention "
					    "policy for job '%s'", job_of(s));
					d.state[i] = S_KEPT;
				}
			continue;
		}
		select_job(&d, job_of(s), p);
	}

	/* What the sets kept so far need is kept. */
	keep_parents(&d, stack);

	/* What is left: pre-restore sets by age, backup sets when covered. */
	for (i = 0; i < n; i++) {
		s = &sets[i];
		if (d.state[i] != S_OPEN)
			continue;
		if (s->kind == SET_PRE_RESTORE) {
			if (pre_age < 0) {
				note(s, "kept", "pre-restore sets are kept "
				    "forever");
				d.state[i] = S_KEPT;
			} else {
				age_text(pre_age, agebuf, sizeof(agebuf));
				if (now - s->created <= pre_age) {
					note(s, "kept", "pre-restore set "
					    "younger than %s", agebuf);
					d.state[i] = S_KEPT;
				} else {
					note(s, "removed", "pre-restore set "
					    "older than %s", agebuf);
					d.state[i] = S_REMOVE;
				}
			}
			continue;
		}
		if ((c = cover(&d, i)) < 0) {
			note(s, "kept", "not needed by the policy, but no "
			    "newer verified full set of job '%s'", job_of(s));
			d.state[i] = S_KEPT;
		} else {
			note(s, "removed", "not needed by the policy "
			    "(covered by verified full %s)", sets[c].label);
			d.state[i] = S_REMOVE;
		}
	}

	/* Again for the sets kept for want of a cover. */
	keep_parents(&d, stack);

	for (i = 0; i < n; i++) {
		if (d.state[i] == S_REMOVE) {
			sets[i].decision = RETENTION_REMOVE;
			removed++;
		} else
			sets[i].decision = RETENTION_KEEP;
	}
	rc = removed;
cleanup:
	free(d.order);
	free(d.state);
	free(stack);
	return rc;
}

/* ----------------------------------------------------------------- holds */

int
retention_hold_released(const struct retention_hold *h)
{
	return !h->keep && !h->has_retain_until;
}

/*
 * hold_kind(host, label, k, prefix): the holds of set HOST/LABEL,
 * holds/HOST/LABEL.N.json, into k; *prefix is k's prefix, newly
 * allocated (caller frees).  0 or -1 (reported).
 */
static int
hold_kind(const char *host, const char *label, struct signedobj_kind *k,
    char **prefix)
{
	memset(k, 0, sizeof(*k));
	if (label_check(host, "host name") != 0 ||
	    label_check(label, "set label") != 0)
		return -1;
	if ((*prefix = util_asprintf("holds/%s/%s.", host, label)) == NULL)
		return -1;
	k->prefix = *prefix;
	k->suffix = ".json";
	k->max_n = HOLD_N_MAX;
	k->max_size = HOLD_JSON_MAX;
	k->max_sig = HOLD_SIG_MAX;
	return 0;
}

char *
retention_hold_name(const char *host, const char *label, unsigned long n,
    int sig)
{
	struct signedobj_kind k;
	char *prefix = NULL, *name = NULL;

	if (hold_kind(host, label, &k, &prefix) == 0)
		name = signedobj_name(&k, n, sig);
	free(prefix);
	return name;
}

static int
put_string(json_t *o, const char *k, const char *v)
{
	json_t *s;

	if ((s = json_string(v)) == NULL || json_object_set_new(o, k, s) != 0)
		return -1;
	return 0;
}

static int
put_time(json_t *o, const char *k, time_t t)
{
	char buf[32];

	clock_format_utc(t, buf, sizeof(buf));
	return put_string(o, k, buf);
}

char *
retention_hold_json(const char *vault, const char *host, const char *label,
    const char *set_sha256, const struct retention_hold *h, size_t *len)
{
	json_t *o = NULL;
	char *text = NULL, *out = NULL;
	size_t tlen;

	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "format", json_integer(HOLD_FORMAT)) != 0 ||
	    put_string(o, "vault", vault) != 0 ||
	    put_string(o, "host", host) != 0 ||
	    put_string(o, "label", label) != 0 ||
	    put_string(o, "set", set_sha256) != 0 ||
	    json_object_set_new(o, "n", json_integer((json_int_t)h->n)) != 0 ||
	    put_time(o, "created", h->created) != 0 ||
	    put_string(o, "operator", h->operator_name) != 0 ||
	    json_object_set_new(o, "keep", json_boolean(h->keep)) != 0 ||
	    (h->has_retain_until ? put_time(o, "retain_until",
	    h->retain_until) : json_object_set_new(o, "retain_until",
	    json_null())) != 0 ||
	    put_string(o, "reason", h->reason) != 0) {
		warn0("cannot build hold for set '%s/%s' (is the reason or "
		    "operator valid UTF-8?)", host, label);
		goto cleanup;
	}
	if ((text = cjson_dumps(o, &tlen)) == NULL)
		goto cleanup;
	if ((out = util_asprintf("%s\n", text)) == NULL)
		goto cleanup;
	*len = tlen + 1;
cleanup:
	json_decref(o);
	free(text);
	return out;
}

static const char *
get_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int
retention_hold_parse(const void *buf, size_t len, const char *vault,
    const char *host, const char *label, const char *set_sha256,
    struct retention_hold *h)
{
	json_error_t jerr;
	json_t *o = NULL, *v;
	const char *s, *why = NULL;
	int rc = -1;

	memset(h, 0, sizeof(*h));
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_object(o)) {
		warn0("invalid hold: %s", o == NULL ? jerr.text :
		    "not an object");
		goto cleanup;
	}
	v = json_object_get(o, "format");
	if (!json_is_integer(v) || json_integer_value(v) != HOLD_FORMAT)
		why = "format is not 1";
	else if ((s = get_str(o, "vault")) == NULL || strcmp(s, vault) != 0)
		why = "it names another vault";
	else if ((s = get_str(o, "host")) == NULL || strcmp(s, host) != 0)
		why = "it names another host";
	else if ((s = get_str(o, "label")) == NULL || strcmp(s, label) != 0)
		why = "it names another set";
	else if ((s = get_str(o, "set")) == NULL || strlen(s) != 64 ||
	    (set_sha256 != NULL && strcmp(s, set_sha256) != 0))
		why = "it names another set (set.json differs)";
	else if (!json_is_integer(v = json_object_get(o, "n")) ||
	    json_integer_value(v) < 1)
		why = "bad n";
	else if ((s = get_str(o, "created")) == NULL ||
	    clock_parse_utc(s, &h->created) != 0)
		why = "bad created";
	else if ((s = get_str(o, "operator")) == NULL ||
	    strlen(s) >= sizeof(h->operator_name))
		why = "bad operator";
	else if (!json_is_boolean(json_object_get(o, "keep")))
		why = "bad keep";
	else if ((s = get_str(o, "reason")) == NULL ||
	    strlen(s) >= sizeof(h->reason))
		why = "bad reason";
	if (why != NULL) {
		warn0("invalid hold: %s", why);
		goto cleanup;
	}
	h->n = (unsigned long)json_integer_value(json_object_get(o, "n"));
	util_strlcpy(h->operator_name, get_str(o, "operator"),
	    sizeof(h->operator_name));
	util_strlcpy(h->reason, get_str(o, "reason"), sizeof(h->reason));
	h->keep = json_is_true(json_object_get(o, "keep"));
	v = json_object_get(o, "retain_until");
	if (json_is_string(v)) {
		if (clock_parse_utc(json_string_value(v), &h->retain_until)
		    != 0) {
			warn0("invalid hold: bad retain_until");
			goto cleanup;
		}
		h->has_retain_until = 1;
	} else if (!json_is_null(v)) {
		warn0("invalid hold: bad retain_until");
		goto cleanup;
	}
	rc = 0;
cleanup:
	json_decref(o);
	if (rc != 0)
		memset(h, 0, sizeof(*h));
	return rc;
}

/* scan_holds(t, host, label, hs): list the hold objects of a set. */
static int
scan_holds(struct target *t, const char *host, const char *label,
    struct signedobj_scan *hs)
{
	struct signedobj_kind k;
	char *prefix = NULL;
	int rc;

	memset(hs, 0, sizeof(*hs));
	if (hold_kind(host, label, &k, &prefix) != 0)
		return -1;
	rc = signedobj_scan(t, &k, hs);
	free(prefix);
	return rc;
}

int
retention_hold_next(struct target *t, const char *host, const char *label,
    unsigned long *n)
{
	struct signedobj_scan hs;
	int rc = -1;

	if (scan_holds(t, host, label, &hs) != 0)
		goto cleanup;
	*n = (unsigned long)hs.max + 1;
	rc = 0;
cleanup:
	signedobj_scan_free(&hs);
	return rc;
}

int
retention_hold_write(struct target *t, const struct sign_key *key,
    const char *vault, const char *host, const char *label,
    const char *set_sha256, struct retention_hold *h)
{
	struct signedobj_kind k;
	char *prefix = NULL, *json = NULL, *jname = NULL, *sname = NULL;
	unsigned long n;
	size_t len;
	int tries, r, rc = -1;

	if (retention_hold_next(t, host, label, &n) != 0 ||
	    hold_kind(host, label, &k, &prefix) != 0)
		goto cleanup;
	for (tries = 0; tries < HOLD_TRIES; tries++, n++) {
		free(jname);
		free(sname);
		sname = NULL;
		if ((jname = signedobj_name(&k, n, 0)) == NULL ||
		    (sname = signedobj_name(&k, n, 1)) == NULL)
			goto cleanup;
		if ((r = target_head(t, jname, NULL)) < 0)
			goto cleanup;
		if (r == 0 && (r = target_head(t, sname, NULL)) < 0)
			goto cleanup;
		if (r == 0)
			break;
	}
	if (tries == HOLD_TRIES) {
		warn0("cannot find a free hold number for set '%s/%s'", host,
		    label);
		goto cleanup;
	}
	h->n = n;
	if ((json = retention_hold_json(vault, host, label, set_sha256, h,
	    &len)) == NULL || signedobj_write(t, key, &k, n, json, len) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(json);
	free(jname);
	free(sname);
	free(prefix);
	return rc;
}

/* retention_hold_list's caller and what it lists. */
struct hold_list {
	const char *vault, *host, *label, *set_sha256;
	retention_hold_fn *fn;
	void *cookie;
};

static int
hold_cb(void *cookie, const struct signedobj *o)
{
	struct hold_list *l = cookie;
	struct retention_hold h;
	const char *why = o->why;

	/* A hold that cannot be read stops the listing (reported). */
	if (o->status == SIGNEDOBJ_UNREADABLE)
		return -1;
	memset(&h, 0, sizeof(h));
	if (why == NULL && retention_hold_parse(o->text, o->len, l->vault,
	    l->host, l->label, l->set_sha256, &h) != 0)
		why = "invalid content";
	else if (why == NULL && h.n != o->n)
		why = "its number differs from its name";
	if (why == NULL)
		util_strlcpy(h.signer, o->signer->fpr, sizeof(h.signer));
	else {
		memset(&h, 0, sizeof(h));
		h.n = (unsigned long)o->n;
	}
	return l->fn(l->cookie, &h, why == NULL, why);
}

int
retention_hold_list(struct target *t, const struct sign_pinned *pinned,
    const char *vault, const char *host, const char *label,
    const char *set_sha256, retention_hold_fn *fn, void *cookie)
{
	struct hold_list l = { vault, host, label, set_sha256, fn, cookie };
	struct signedobj_kind k;
	char *prefix = NULL;
	int rc = -1;

	if (hold_kind(host, label, &k, &prefix) != 0)
		goto cleanup;
	rc = signedobj_list(t, pinned, &k, hold_cb, &l);
cleanup:
	free(prefix);
	return rc;
}

struct effective {
	const char *host, *label;
	struct retention_hold *out;
	int found;
};

static int
effective_cb(void *cookie, const struct retention_hold *h, int valid,
    const char *why)
{
	struct effective *e = cookie;

	if (!valid) {
		warn0("hold %lu of set '%s/%s' ignored: %s", h->n, e->host,
		    e->label, why);
		return 0;
	}
	*e->out = *h;
	e->found = 1;
	return 0;
}

int
retention_hold_effective(struct target *t, const struct sign_pinned *pinned,
    const char *vault, const char *host, const char *label,
    const char *set_sha256, struct retention_hold *h)
{
	struct effective e = { host, label, h, 0 };

	memset(h, 0, sizeof(*h));
	if (retention_hold_list(t, pinned, vault, host, label, set_sha256,
	    effective_cb, &e) != 0)
		return -1;
	return e.found;
}

/* ------------------------------------------------------------- deletion */

struct names {
	char **v;
	size_t n;
	int oom;
};

static int
names_cb(void *cookie, const struct target_entry *e)
{
	struct names *ns = cookie;
	char **nv;

	if ((nv = realloc(ns->v, (ns->n + 1) * sizeof(*nv))) == NULL ||
	    (nv[ns->n] = util_strdup(e->name)) == NULL) {
		if (nv != NULL)
			ns->v = nv;
		warnp("realloc");
		ns->oom = 1;
		return -1;
	}
	ns->v = nv;
	ns->n++;
	return 0;
}

static void
names_free(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

int
retention_delete_set(struct target *t, const char *host, const char *label)
{
	struct names ns = { NULL, 0, 0 };
	struct signedobj_scan hs;
	char *sig = NULL, *js = NULL, *dir = NULL, *name = NULL;
	size_t i;
	int pass, rc = -1;

	memset(&hs, 0, sizeof(hs));
	if ((sig = set_path(host, label, SET_SIG)) == NULL ||
	    (js = set_path(host, label, SET_JSON)) == NULL ||
	    (dir = util_asprintf("sets/%s/%s/", host, label)) == NULL)
		goto cleanup;
	/* The commit point goes first: from here on the set is not
	 * committed, and reconcile may finish what a crash interrupts. */
	if (target_delete(t, sig) != 0 || target_delete(t, js) != 0)
		goto cleanup;
	if (target_list(t, dir, TARGET_LIST_PARTS, names_cb, &ns) != 0)
		goto cleanup;
	for (i = 0; i < ns.n; i++)
		if (target_delete(t, ns.v[i]) != 0)
			goto cleanup;
	/* Holds: each signature before its object. */
	if (scan_holds(t, host, label, &hs) != 0)
		goto cleanup;
	for (pass = 1; pass >= 0; pass--) {
		for (i = 0; i < (pass ? hs.nsigs : hs.nobjects); i++) {
			free(name);
			if ((name = retention_hold_name(host, label,
			    (unsigned long)(pass ? hs.sigs[i] :
			    hs.objects[i]), pass)) == NULL ||
			    target_delete(t, name) != 0)
				goto cleanup;
		}
	}
	rc = 0;
cleanup:
	names_free(&ns);
	signedobj_scan_free(&hs);
	free(name);
	free(sig);
	free(js);
	free(dir);
	return rc;
}

int
retention_remove(struct target *t, struct catalog *cat, long long vault_row,
    const char *host, const char *label, const struct audit_event *tmpl,
    const char *action, const char *reason)
{
	struct audit_event ev;
	struct catalog_set cs;
	json_t *d = NULL;
	char *sig = NULL, *object = NULL, *details = NULL;
	int deleted, r, rc = -1;

	memset(&cs, 0, sizeof(cs));
	if ((sig = set_path(host, label, SET_SIG)) == NULL ||
	    (object = util_asprintf("%s/%s", host, label)) == NULL)
		goto cleanup;
	deleted = retention_delete_set(t, host, label) == 0;
	if (!deleted && target_head(t, sig, NULL) != 0)
		goto cleanup;   /* still committed (or unknown): no record */
	if ((d = json_pack("{s:s, s:s, s:s}", "host", host, "label", label,
	    "reason", reason != NULL ? reason : "")) == NULL ||
	    (!deleted && json_object_set_new(d, "incomplete",
	    json_true()) != 0) ||
	    (details = cjson_dumps(d, NULL)) == NULL) {
		warn0("cannot record the removal of set '%s'", object);
		goto cleanup;
	}
	if (catalog_begin(cat) != 0)
		goto cleanup;
	if (vault_row > 0) {
		if ((r = catalog_set_find(cat, vault_row, host, label, &cs)) <
		    0)
			goto cleanup;
		if (r == 1 && catalog_set_delete(cat, cs.id) != 0)
			goto cleanup;
	}
	ev = *tmpl;
	ev.action = action;
	ev.object = object;
	ev.details = details;
	if (audit_append(cat, &ev) != 0 || catalog_commit(cat) != 0)
		goto cleanup;
	rc = deleted ? 0 : -1;
cleanup:
	catalog_rollback(cat);
	catalog_set_clear(&cs);
	json_decref(d);
	free(details);
	free(object);
	free(sig);
	return rc;
}

/* ----------------------------------------------------------- on a vault */

struct load {
	char **labels;
	size_t n;
};

static int
load_cb(void *cookie, const char *host, const char *label)
{
	struct load *l = cookie;
	char **nv;

	(void)host;
	if ((nv = realloc(l->labels, (l->n + 1) * sizeof(*nv))) == NULL) {
		warnp("realloc");
		return -1;
	}
	l->labels = nv;
	if ((nv[l->n] = util_strdup(label)) == NULL)
		return -1;
	l->n++;
	return 0;
}

static int
entry_cmp(const void *pa, const void *pb)
{
	const struct retention_entry *a = pa, *b = pb;

	if (a->header.created != b->header.created)
		return a->header.created < b->header.created ? -1 : 1;
	return strcmp(a->header.label, b->header.label);
}

/* entry_fill(e): point e->set at e->header and merge the hold. */
static void
entry_fill(struct retention_entry *e)
{
	struct retention_set *s = &e->set;
	const struct set_header *h = &e->header;

	memset(s, 0, sizeof(*s));
	s->label = h->label;
	s->job = h->job;
	s->kind = h->kind;
	s->level = h->level;
	s->parents = (const char *const *)h->parents;
	s->nparents = h->nparents;
	s->created = h->created;
	s->keep = h->keep;
	s->has_retain_until = h->has_retain_until;
	s->retain_until = h->retain_until;
	if (!e->has_hold)
		return;
	if (e->hold.keep)
		s->keep = 1;
	if (e->hold.has_retain_until && (!s->has_retain_until ||
	    e->hold.retain_until > s->retain_until)) {
		s->has_retain_until = 1;
		s->retain_until = e->hold.retain_until;
	}
}

int
retention_load(const struct retention_vault *v,
    struct retention_entry **out, size_t *nout)
{
	struct retention_entry *es = NULL, *e;
	struct load l = { NULL, 0 };
	uint8_t digest[CRYPTO_SHA256_LEN];
	size_t i, n = 0;
	int r, rc = -1;

	*out = NULL;
	*nout = 0;
	if (set_list(v->target, v->host, load_cb, &l) != 0)
		goto cleanup;
	if (l.n > 0 && (es = calloc(l.n, sizeof(*es))) == NULL) {
		warnp("calloc");
		goto cleanup;
	}
	for (i = 0; i < l.n; i++) {
		e = &es[n];
		r = set_load(v->target, v->host, l.labels[i], v->pinned,
		    &e->header, SET_LOAD_QUIET_MISSING);
		if (r == SET_LOAD_ERROR)
			goto cleanup;
		if (r != SET_LOAD_OK) {
			if (r == SET_LOAD_BAD)
				warn0("set '%s/%s' does not verify: left "
				    "alone", v->host, l.labels[i]);
			continue;
		}
		n++;
		if (strcmp(e->header.vault, v->vault_id) != 0) {
			warn0("set '%s/%s' names vault %s, not this vault: "
			    "left alone", v->host, l.labels[i],
			    e->header.vault);
			set_header_clear(&e->header);
			n--;
			continue;
		}
		crypto_sha256(e->header.raw, e->header.raw_len, digest);
		util_hex(e->set_sha256, digest, sizeof(digest));
		if ((r = retention_hold_effective(v->target, v->pinned,
		    v->vault_id, v->host, l.labels[i], e->set_sha256,
		    &e->hold)) < 0)
			goto cleanup;
		e->has_hold = r;
	}
	if (n > 0)
		qsort(es, n, sizeof(*es), entry_cmp);
	for (i = 0; i < n; i++)
		entry_fill(&es[i]);
	*out = es;
	*nout = n;
	es = NULL;
	rc = 0;
cleanup:
	retention_entries_free(es, rc == 0 ? 0 : l.n);
	for (i = 0; i < l.n; i++)
		free(l.labels[i]);
	free(l.labels);
	return rc;
}

void
retention_entries_free(struct retention_entry *es, size_t n)
{
	size_t i;

	if (es == NULL)
		return;
	for (i = 0; i < n; i++)
		set_header_clear(&es[i].header);
	free(es);
}

struct retention_entry *
retention_find(struct retention_entry *es, size_t n, const char *label)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(es[i].header.label, label) == 0)
			return &es[i];
	return NULL;
}

int
retention_verify_covers(const struct retention_vault *v,
    struct retention_entry *es, size_t n, const char *job, time_t now)
{
	struct retention_entry *e;
	size_t i, k;
	int r;

	for (i = n; i-- > 0;) {
		e = &es[i];
		if (job != NULL && strcmp(e->header.job, job) != 0)
			continue;
		/* Only the newest full of each job matters; skip jobs done. */
		for (k = i + 1; k < n; k++)
			if (strcmp(es[k].header.job, e->header.job) == 0 &&
			    es[k].set.verified != 0)
				break;
		if (k < n)
			continue;
		if (e->header.kind != SET_BACKUP ||
		    e->header.level != SET_FULL)
			continue;
		if ((r = set_verify_objects(v->target, &e->header, NULL,
		    NULL)) < 0)
			return -1;
		if (r > 0) {
			warn0("set '%s/%s' is damaged: it does not cover older "
			    "sets", v->host, e->header.label);
			e->damaged = 1;
			continue;
		}
		e->set.verified = now;
	}
	return 0;
}

int
retention_dependents(const struct retention_entry *es, size_t n,
    const char *label, size_t **out, size_t *nout)
{
	unsigned char *mark = NULL;
	size_t *res = NULL, i, j, k, nres = 0;
	const char *want;
	int grew, rc = -1;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((mark = calloc(n, 1)) == NULL || (res = calloc(n,
	    sizeof(*res))) == NULL) {
		warnp("calloc");
		goto cleanup;
	}
	/* Fixed point: a set depends on label when one of its parents is
	 * label or a set already found. */
	do {
		grew = 0;
		for (i = 0; i < n; i++) {
			if (mark[i] || strcmp(es[i].header.label, label) == 0)
				continue;
			for (j = 0; j < es[i].header.nparents; j++) {
				want = es[i].header.parents[j];
				if (strcmp(want, label) == 0)
					break;
				for (k = 0; k < n; k++)
					if (mark[k] && strcmp(
					    es[k].header.label, want) == 0)
						break;
				if (k < n)
					break;
			}
			if (j < es[i].header.nparents) {
				mark[i] = 1;
				grew = 1;
			}
		}
	} while (grew);
	/* Entries are oldest first: newest first out. */
	for (i = n; i-- > 0;)
		if (mark[i])
			res[nres++] = i;
	*out = res;
	*nout = nres;
	res = NULL;
	rc = 0;
cleanup:
	free(mark);
	free(res);
	return rc;
}
