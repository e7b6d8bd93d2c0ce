/*
 * signedobj.c: numbered objects with detached signatures (signedobj.h).
 */
#include "compat.h"

#include <stdlib.h>

#include "sign.h"
#include "signedobj.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

char *
signedobj_name(const struct signedobj_kind *k, unsigned long long n,
    int sig)
{

	return (util_asprintf("%s%llu%s%s", k->prefix, n, k->suffix,
	    sig ? ".sig" : ""));
}

/* While listing: the kind, and the numbers seen so far. */
struct scan {
	const struct signedobj_kind *k;
	size_t plen, slen;
	struct signedobj_scan *s;
};

/*
 * The N of "N SUFFIX" (*sig = 0) or "N SUFFIX.sig" (*sig = 1), or 0 when s
 * is neither or N is larger than max.
 */
static unsigned long long
name_n(const char *s, const char *suffix, size_t slen,
    unsigned long long max, int *sig)
{
	unsigned long long v = 0;
	unsigned d;
	const char *p = s;

	if (*p < '1' || *p > '9')
		return (0);
	for (; *p >= '0' && *p <= '9'; p++) {
		d = (unsigned)(*p - '0');
		if (v > max / 10 || d > max - v * 10)
			return (0);
		v = v * 10 + d;
	}
	if (strncmp(p, suffix, slen) != 0)
		return (0);
	if (p[slen] == '\0')
		*sig = 0;
	else if (strcmp(p + slen, ".sig") == 0)
		*sig = 1;
	else
		return (0);
	return (v);
}

static int
scan_cb(void *cookie, const struct target_entry *e)
{
	struct scan *sc = cookie;
	struct signedobj_scan *s = sc->s;
	unsigned long long n, **a, *na;
	size_t *count;
	int sig;

	if (strncmp(e->name, sc->k->prefix, sc->plen) != 0 ||
	    (n = name_n(e->name + sc->plen, sc->k->suffix, sc->slen,
	    sc->k->max_n, &sig)) == 0)
		return (0);
	a = sig ? &s->sigs : &s->objects;
	count = sig ? &s->nsigs : &s->nobjects;
	if ((na = reallocarray(*a, *count + 1, sizeof(**a))) == NULL) {
		warnp("cannot allocate memory");
		return (-1);
	}
	*a = na;
	(*a)[(*count)++] = n;
	if (n > s->max)
		s->max = n;
	return (0);
}

static int
n_cmp(const void *pa, const void *pb)
{
	unsigned long long a = *(const unsigned long long *)pa;
	unsigned long long b = *(const unsigned long long *)pb;

	return (a < b ? -1 : a > b);
}

/* Sort a and drop repeated numbers. */
static void
sort_unique(unsigned long long *a, size_t *n)
{
	size_t i, j;

	if (*n < 2)
		return;
	qsort(a, *n, sizeof(*a), n_cmp);
	for (i = j = 1; i < *n; i++)
		if (a[i] != a[j - 1])
			a[j++] = a[i];
	*n = j;
}

int
signedobj_scan(struct target *t, const struct signedobj_kind *k,
    struct signedobj_scan *s)
{
	struct scan sc;

	memset(s, 0, sizeof(*s));
	sc.k = k;
	sc.plen = strlen(k->prefix);
	sc.slen = strlen(k->suffix);
	sc.s = s;
	if (target_list(t, k->prefix, 0, scan_cb, &sc) != 0)
		return (-1);
	sort_unique(s->objects, &s->nobjects);
	sort_unique(s->sigs, &s->nsigs);
	return (0);
}

void
signedobj_scan_free(struct signedobj_scan *s)
{

	free(s->objects);
	free(s->sigs);
	memset(s, 0, sizeof(*s));
}

int
signedobj_write(struct target *t, const struct sign_key *key,
    const struct signedobj_kind *k, unsigned long long n, const void *text,
    size_t len)
{
	char *name = NULL, *sname = NULL, *sig = NULL;
	int rc = -1;

	if ((name = signedobj_name(k, n, 0)) == NULL ||
	    (sname = signedobj_name(k, n, 1)) == NULL ||
	    (sig = sign_data(key, text, len)) == NULL)
		goto cleanup;
	/* The signature last: an object without it does not count. */
	if (target_put_buf(t, name, text, len) != 0 ||
	    target_put_buf(t, sname, sig, strlen(sig)) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(sig);
	free(name);
	free(sname);
	return (rc);
}

static int
has_n(const unsigned long long *a, size_t n, unsigned long long v)
{

	return (bsearch(&v, a, n, sizeof(*a), n_cmp) != NULL);
}

int
signedobj_list(struct target *t, const struct sign_pinned *pinned,
    const struct signedobj_kind *k, signedobj_fn *fn, void *cookie)
{
	struct signedobj_scan s;
	struct signedobj o;
	char *name = NULL, *sname = NULL, *text = NULL, *sig = NULL;
	size_t i, siglen;
	int r, rc = -1;

	if (signedobj_scan(t, k, &s) != 0)
		goto cleanup;
	for (i = 0; i < s.nobjects; i++) {
		free(name);
		free(sname);
		free(text);
		free(sig);
		sname = text = sig = NULL;
		if ((name = signedobj_name(k, s.objects[i], 0)) == NULL ||
		    (sname = signedobj_name(k, s.objects[i], 1)) == NULL)
			goto cleanup;
		memset(&o, 0, sizeof(o));
		o.n = s.objects[i];
		o.name = name;
		if (!has_n(s.sigs, s.nsigs, o.n))
			o.status = SIGNEDOBJ_NO_SIGNATURE;
		else if (target_get_small(t, name, k->max_size, &text,
		    &o.len) != 0 || target_get_small(t, sname, k->max_sig,
		    &sig, &siglen) != 0)
			o.status = SIGNEDOBJ_UNREADABLE;
		else if (strlen(sig) != siglen ||
		    (o.signer = sign_verify(pinned, text, o.len, sig)) ==
		    NULL)
			o.status = SIGNEDOBJ_BAD_SIGNATURE;
		switch (o.status) {
		case SIGNEDOBJ_OK:
			o.text = text;
			break;
		case SIGNEDOBJ_NO_SIGNATURE:
			o.why = "no signature";
			break;
		case SIGNEDOBJ_UNREADABLE:
			o.why = "unreadable (too large, or a read error)";
			break;
		case SIGNEDOBJ_BAD_SIGNATURE:
			o.why = "bad or unpinned signature";
			break;
		}
		if (o.status != SIGNEDOBJ_OK) {
			o.len = 0;
			o.signer = NULL;
		}
		if ((r = fn(cookie, &o)) != 0) {
			rc = r;
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	free(name);
	free(sname);
	free(text);
	free(sig);
	signedobj_scan_free(&s);
	return (rc);
}
