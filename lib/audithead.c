/*
 * audithead.c: signed audit-chain heads in a vault (audithead.h).
 */
#include "compat.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "audithead.h"
#include "cjson.h"
#include "sign.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

#define HEAD_MAX 4096                   /* bytes of a head object */
#define SIG_MAX 4096                    /* bytes of its signature */

static char *
head_name(const char *host, long long seq, int sig)
{

	return (util_asprintf("audit/%s/%lld.head%s", host, seq,
	    sig ? ".sig" : ""));
}

int
audithead_write(struct target *t, const struct sign_key *key,
    const char *vault, const char *host, long long seq, const char *hash)
{
	char *jname = NULL, *sname = NULL, *text = NULL, *sig = NULL;
	char now[32];
	struct tm tm;
	time_t tt = time(NULL);
	json_t *o = NULL;
	size_t len;
	int r, rc = -1;

	if (seq < 1 || strlen(hash) != 64) {
		warn0("no audit head to write");
		return (-1);
	}
	if ((jname = head_name(host, seq, 0)) == NULL ||
	    (sname = head_name(host, seq, 1)) == NULL)
		goto cleanup;
	/* Written once: a head of this seq is there already. */
	if ((r = target_head(t, sname, NULL)) < 0)
		goto cleanup;
	if (r == 1) {
		rc = 0;
		goto cleanup;
	}
	/* Audit times are always the real clock (coffer-audit(1)). */
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		warn0("cannot format the time");
		goto cleanup;
	}
	if ((o = json_pack("{s:i, s:s, s:s, s:I, s:s, s:s}", "format",
	    AUDITHEAD_FORMAT, "vault", vault, "host", host, "seq",
	    (json_int_t)seq, "hash", hash, "time", now)) == NULL ||
	    (text = cjson_dumps(o, &len)) == NULL) {
		warn0("cannot build the audit head");
		goto cleanup;
	}
	if ((sig = sign_data(key, text, len)) == NULL)
		goto cleanup;
	/* The signature last: a head without it does not count. */
	if (target_put_buf(t, jname, text, len) != 0 ||
	    target_put_buf(t, sname, sig, strlen(sig)) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	json_decref(o);
	free(text);
	free(sig);
	free(jname);
	free(sname);
	return (rc);
}

/* The names under audit/HOST/: seqs of heads and of signatures. */
struct scan {
	const char *prefix;
	size_t plen;
	long long *heads, *sigs;
	size_t nheads, nsigs;
	int oom;
};

/* The seq of "<digits>.head" or "<digits>.head.sig", or 0. */
static long long
name_seq(const char *s, int *sig)
{
	long long v = 0;
	const char *p = s;

	if (*p < '1' || *p > '9')
		return (0);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LLONG_MAX - 9) / 10)
			return (0);
		v = v * 10 + (*p - '0');
	}
	if (strcmp(p, ".head") == 0)
		*sig = 0;
	else if (strcmp(p, ".head.sig") == 0)
		*sig = 1;
	else
		return (0);
	return (v);
}

static int
scan_cb(void *cookie, const struct target_entry *e)
{
	struct scan *s = cookie;
	long long seq, **a, *na;
	size_t *n;
	int sig;

	if (strncmp(e->name, s->prefix, s->plen) != 0 ||
	    (seq = name_seq(e->name + s->plen, &sig)) == 0)
		return (0);
	a = sig ? &s->sigs : &s->heads;
	n = sig ? &s->nsigs : &s->nheads;
	if ((na = reallocarray(*a, *n + 1, sizeof(**a))) == NULL) {
		s->oom = 1;
		return (-1);
	}
	*a = na;
	(*a)[(*n)++] = seq;
	return (0);
}

static int
seq_cmp(const void *pa, const void *pb)
{
	long long a = *(const long long *)pa, b = *(const long long *)pb;

	return (a < b ? -1 : a > b);
}

static int
has_seq(const long long *a, size_t n, long long v)
{

	return (bsearch(&v, a, n, sizeof(*a), seq_cmp) != NULL);
}

/* Parse and check a head's content against its name.  0 or -1. */
static int
parse_head(const char *text, size_t len, const char *vault, const char *host,
    long long seq, struct audithead *h)
{
	json_t *o;
	const char *v, *ho, *hash, *tm;
	json_int_t fmt, sq;
	size_t i;
	int rc = -1;

	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return (-1);
	if (json_unpack(o, "{s:I, s:s, s:s, s:I, s:s, s:s !}", "format", &fmt,
	    "vault", &v, "host", &ho, "seq", &sq, "hash", &hash, "time",
	    &tm) != 0 || fmt != AUDITHEAD_FORMAT || strcmp(v, vault) != 0 ||
	    strcmp(ho, host) != 0 || sq != seq || strlen(hash) != 64 ||
	    strlen(tm) >= sizeof(h->time))
		goto done;
	for (i = 0; i < 64; i++)
		if (!((hash[i] >= '0' && hash[i] <= '9') ||
		    (hash[i] >= 'a' && hash[i] <= 'f')))
			goto done;
	memcpy(h->hash, hash, 65);
	util_strlcpy(h->time, tm, sizeof(h->time));
	rc = 0;
done:
	json_decref(o);
	return (rc);
}

/* Read a head and its signature, freeing what the last call read. */
static int
getpair(struct target *t, const char *jname, const char *sname, char **js,
    size_t *jslen, char **sg, size_t *sglen)
{

	free(*js);
	free(*sg);
	*js = *sg = NULL;
	if (target_get_small(t, jname, HEAD_MAX, js, jslen) != 0 ||
	    target_get_small(t, sname, SIG_MAX, sg, sglen) != 0)
		return (-1);
	return (0);
}

int
audithead_list(struct target *t, const struct sign_pinned *pinned,
    const char *vault, const char *host, audithead_fn *fn, void *cookie)
{
	struct scan s;
	char *js = NULL, *sg = NULL;
	size_t jslen = 0, sglen = 0;
	const struct sign_pubkey *pk;
	struct audithead h;
	char *prefix, *jname = NULL, *sname = NULL;
	const char *why;
	size_t i;
	int r, rc = -1;

	memset(&s, 0, sizeof(s));
	if ((prefix = util_asprintf("audit/%s/", host)) == NULL)
		return (-1);
	s.prefix = prefix;
	s.plen = strlen(prefix);
	if ((r = target_list(t, prefix, 0, scan_cb, &s)) != 0) {
		if (s.oom)
			warnp("cannot allocate memory");
		goto cleanup;
	}
	if (s.nheads > 1)
		qsort(s.heads, s.nheads, sizeof(*s.heads), seq_cmp);
	if (s.nsigs > 1)
		qsort(s.sigs, s.nsigs, sizeof(*s.sigs), seq_cmp);
	for (i = 0; i < s.nheads; i++) {
		free(jname);
		free(sname);
		sname = NULL;
		if ((jname = head_name(host, s.heads[i], 0)) == NULL ||
		    (sname = head_name(host, s.heads[i], 1)) == NULL)
			goto cleanup;
		memset(&h, 0, sizeof(h));
		h.seq = s.heads[i];
		why = NULL;
		if (!has_seq(s.sigs, s.nsigs, s.heads[i]))
			why = "no signature";
		else if (getpair(t, jname, sname, &js, &jslen, &sg, &sglen) !=
		    0)
			why = "unreadable (too large, or a read error)";
		else if (strlen(sg) != sglen || (pk = sign_verify(pinned, js,
		    jslen, sg)) == NULL)
			why = "bad or unpinned signature";
		else if (parse_head(js, jslen, vault, host, h.seq, &h) != 0)
			why = "invalid content";
		else
			util_strlcpy(h.signer, pk->fpr, sizeof(h.signer));
		if (why != NULL) {
			memset(&h, 0, sizeof(h));
			h.seq = s.heads[i];
		}
		if ((r = fn(cookie, jname, &h, why)) != 0) {
			rc = r;
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	free(js);
	free(sg);
	free(jname);
	free(sname);
	free(prefix);
	free(s.heads);
	free(s.sigs);
	return (rc);
}
