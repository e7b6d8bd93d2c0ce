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
#include "signedobj.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

#define HEAD_MAX 4096                   /* bytes of a head object */
#define SIG_MAX 4096                    /* bytes of its signature */

/* The heads of host, audit/HOST/SEQ.head, into k; *prefix is k's prefix,
 * newly allocated (caller frees).  0 or -1 (reported). */
static int
head_kind(const char *host, struct signedobj_kind *k, char **prefix)
{

	memset(k, 0, sizeof(*k));
	if ((*prefix = util_asprintf("audit/%s/", host)) == NULL)
		return (-1);
	k->prefix = *prefix;
	k->suffix = ".head";
	k->max_n = LLONG_MAX;
	k->max_size = HEAD_MAX;
	k->max_sig = SIG_MAX;
	return (0);
}

int
audithead_write(struct target *t, const struct sign_key *key,
    const char *vault, const char *host, long long seq, const char *hash)
{
	struct signedobj_kind k;
	char *prefix = NULL, *sname = NULL, *text = NULL;
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
	if (head_kind(host, &k, &prefix) != 0 ||
	    (sname = signedobj_name(&k, (unsigned long long)seq, 1)) == NULL)
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
	if (signedobj_write(t, key, &k, (unsigned long long)seq, text,
	    len) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	json_decref(o);
	free(text);
	free(sname);
	free(prefix);
	return (rc);
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

/* audithead_list's caller and what it lists. */
struct heads {
	const char *vault, *host;
	audithead_fn *fn;
	void *cookie;
};

static int
head_cb(void *cookie, const struct signedobj *o)
{
	struct heads *hs = cookie;
	struct audithead h;
	const char *why = o->why;

	memset(&h, 0, sizeof(h));
	h.seq = (long long)o->n;
	if (why == NULL && parse_head(o->text, o->len, hs->vault, hs->host,
	    h.seq, &h) != 0)
		why = "invalid content";
	if (why == NULL)
		util_strlcpy(h.signer, o->signer->fpr, sizeof(h.signer));
	else {
		memset(&h, 0, sizeof(h));
		h.seq = (long long)o->n;
	}
	return (hs->fn(hs->cookie, o->name, &h, why));
}

int
audithead_list(struct target *t, const struct sign_pinned *pinned,
    const char *vault, const char *host, audithead_fn *fn, void *cookie)
{
	struct heads hs = { vault, host, fn, cookie };
	struct signedobj_kind k;
	char *prefix = NULL;
	int rc = -1;

	if (head_kind(host, &k, &prefix) != 0)
		goto cleanup;
	rc = signedobj_list(t, pinned, &k, head_cb, &hs);
cleanup:
	free(prefix);
	return (rc);
}
