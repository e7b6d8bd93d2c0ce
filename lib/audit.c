#include "compat.h"

#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "audit.h"
#include "catalog.h"
#include "cjson.h"
#include "clock.h"
#include "crypto.h"
#include "util.h"
#include "warnp.h"

/* How far back a renumbered event is looked for (deletion detection). */
#define AUDIT_RENUMBER_MAX 64

static const char zero_hash_hex[AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* text(s, strict): a JSON string or null; strict refuses bad UTF-8. */
static json_t *
text(const char *s, int strict)
{
	if (s == NULL)
		return json_null();
	return strict ? json_string(s) : json_string_nocheck(s);
}

/*
 * event_object(ev, seq, details, strict): the hashed event object, with
 * seq in place of ev->seq and details (borrowed) in place of ev->details.
 * NULL when a field is not valid UTF-8 (strict) or out of memory.
 */
static json_t *
event_object(const struct catalog_event *ev, long long seq, json_t *details,
    int strict)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "seq", json_integer(seq)) != 0 ||
	    json_object_set_new(o, "time", text(ev->time, strict)) != 0 ||
	    json_object_set_new(o, "operator",
	    text(ev->operator_name, strict)) != 0 ||
	    json_object_set_new(o, "host", text(ev->host, strict)) != 0 ||
	    json_object_set_new(o, "site", text(ev->site, strict)) != 0 ||
	    json_object_set_new(o, "action", text(ev->action, strict)) != 0 ||
	    json_object_set_new(o, "object", text(ev->object, strict)) != 0 ||
	    json_object_set(o, "details", details) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* parse_details(s): s parsed as a JSON object, or NULL (no message). */
static json_t *
parse_details(const char *s)
{
	json_error_t err;
	json_t *d;

	if (s == NULL)
		return NULL;
	d = json_loads(s, JSON_REJECT_DUPLICATES, &err);
	if (d != NULL && !json_is_object(d)) {
		json_decref(d);
		d = NULL;
	}
	return d;
}

/* chain_hash(prev, obj, out): out = SHA-256(prev || JCS(obj)). */
static int
chain_hash(const uint8_t prev[CRYPTO_SHA256_LEN], const json_t *obj,
    uint8_t out[CRYPTO_SHA256_LEN])
{
	uint8_t *buf = NULL;
	char *canon = NULL;
	size_t len;
	int rc = -1;

	if ((canon = cjson_dumps(obj, &len)) == NULL)
		goto cleanup;
	if ((buf = malloc(CRYPTO_SHA256_LEN + len)) == NULL) {
		warnp("cannot hash audit event");
		goto cleanup;
	}
	memcpy(buf, prev, CRYPTO_SHA256_LEN);
	memcpy(buf + CRYPTO_SHA256_LEN, canon, len);
	crypto_sha256(buf, CRYPTO_SHA256_LEN + len, out);
	rc = 0;
cleanup:
	free(buf);
	free(canon);
	return rc;
}

int
audit_append(struct catalog *cat, const struct audit_event *ae)
{
	struct catalog_event last, ev;
	uint8_t prev[CRYPTO_SHA256_LEN], hash[CRYPTO_SHA256_LEN];
	char prev_hex[AUDIT_HASH_HEX + 1], hash_hex[AUDIT_HASH_HEX + 1];
	char when[32];
	json_error_t err;
	json_t *details = NULL, *obj = NULL;
	char *details_text = NULL;
	int rc = -1, own_tx = 0, found;

	memset(&last, 0, sizeof(last));
	if (ae->action == NULL || *ae->action == '\0' ||
	    ae->operator_name == NULL || *ae->operator_name == '\0' ||
	    ae->host == NULL || *ae->host == '\0') {
		warn0("cannot append audit event: action, operator and host "
		    "are required");
		goto cleanup;
	}
	if (ae->details == NULL) {
		details = json_object();
	} else if ((details = json_loads(ae->details, JSON_REJECT_DUPLICATES,
	    &err)) == NULL) {
		warn0("cannot append audit event '%s': details are not valid "
		    "JSON: %s", ae->action, err.text);
		goto cleanup;
	}
	if (details == NULL || !json_is_object(details)) {
		warn0("cannot append audit event '%s': details must be a JSON "
		    "object", ae->action);
		goto cleanup;
	}
	if ((details_text = cjson_dumps(details, NULL)) == NULL)
		goto cleanup;

	if (!catalog_in_transaction(cat)) {
		if (catalog_begin(cat) != 0)
			goto cleanup;
		own_tx = 1;
	}
	if ((found = catalog_event_last(cat, &last)) < 0)
		goto cleanup;
	if (found && (last.hash == NULL || strlen(last.hash) !=
	    AUDIT_HASH_HEX || util_unhex(prev, last.hash,
	    CRYPTO_SHA256_LEN) != 0)) {
		warn0("cannot append audit event '%s': event %lld has no "
		    "valid hash (run 'coffer audit verify')", ae->action,
		    last.seq);
		goto cleanup;
	}
	if (!found)
		memset(prev, 0, sizeof(prev));
	util_hex(prev_hex, prev, sizeof(prev));

	memset(&ev, 0, sizeof(ev));
	clock_format_utc(clock_real(), when, sizeof(when));
	ev.seq = found ? last.seq + 1 : 1;
	ev.time = when;
	ev.operator_name = (char *)ae->operator_name;
	ev.host = (char *)ae->host;
	ev.site = (char *)ae->site;
	ev.action = (char *)ae->action;
	ev.object = (char *)ae->object;
	ev.details = details_text;
	ev.prev_hash = prev_hex;
	ev.hash = hash_hex;
	if ((obj = event_object(&ev, ev.seq, details, 1)) == NULL) {
		warn0("cannot append audit event '%s': a field is not valid "
		    "UTF-8 (or out of memory)", ae->action);
		goto cleanup;
	}
	if (chain_hash(prev, obj, hash) != 0)
		goto cleanup;
	util_hex(hash_hex, hash, sizeof(hash));
	if (catalog_event_insert(cat, &ev) != 0)
		goto cleanup;
	if (own_tx) {
		own_tx = 0;
		if (catalog_commit(cat) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (own_tx)
		catalog_rollback(cat);
	catalog_event_clear(&last);
	json_decref(obj);
	json_decref(details);
	free(details_text);
	return rc;
}

json_t *
audit_event_json(const struct catalog_event *ev, int hashes)
{
	json_t *details, *o = NULL;

	if ((details = parse_details(ev->details)) == NULL)
		details = text(ev->details, 0);
	if (details == NULL)
		goto cleanup;
	if ((o = event_object(ev, ev->seq, details, 0)) == NULL)
		goto cleanup;
	if (hashes && (json_object_set_new(o, "prev_hash",
	    text(ev->prev_hash, 0)) != 0 || json_object_set_new(o, "hash",
	    text(ev->hash, 0)) != 0)) {
		json_decref(o);
		o = NULL;
	}
cleanup:
	json_decref(details);
	if (o == NULL)
		warn0("cannot read audit event %lld: out of memory", ev->seq);
	return o;
}

/* ---------------------------------------------------------------- verify */

/* One event as audit_verify sees it. */
struct vrow {
	long long seq;
	uint8_t hash[CRYPTO_SHA256_LEN];
	uint8_t prev[CRYPTO_SHA256_LEN];
	unsigned hash_valid : 1; /* hash is 64 hex digits */
	unsigned prev_valid : 1;
	unsigned content_ok : 1;  /* SHA-256(prev || event) == hash */
	unsigned relinked_ok : 1; /* ... with the previous row's hash */
	unsigned renumbered : 1;  /* ... with a higher seq */
};

struct vstate {
	struct vrow *rows;
	size_t n, size;
	int oom;
};

static int
hex32(const char *s, uint8_t out[CRYPTO_SHA256_LEN])
{
	if (s == NULL || strlen(s) != AUDIT_HASH_HEX)
		return -1;
	return util_unhex(out, s, CRYPTO_SHA256_LEN);
}

static int
load_row(const struct catalog_event *ev, void *arg)
{
	struct vstate *vs = arg;
	uint8_t h[CRYPTO_SHA256_LEN];
	struct vrow *r, *nr;
	json_t *details = NULL, *obj = NULL;
	int d;

	if (vs->n == vs->size) {
		vs->size = vs->size ? 2 * vs->size : 64;
		if ((nr = realloc(vs->rows, vs->size * sizeof(*nr))) == NULL) {
			vs->oom = 1;
			return 1;
		}
		vs->rows = nr;
	}
	r = &vs->rows[vs->n];
	memset(r, 0, sizeof(*r));
	r->seq = ev->seq;
	r->hash_valid = hex32(ev->hash, r->hash) == 0;
	r->prev_valid = hex32(ev->prev_hash, r->prev) == 0;
	if ((details = parse_details(ev->details)) == NULL)
		goto done;
	if ((obj = event_object(ev, ev->seq, details, 0)) == NULL)
		goto done;
	if (r->hash_valid && r->prev_valid && chain_hash(r->prev, obj, h) == 0)
		r->content_ok = crypto_memeq(h, r->hash, sizeof(h));
	if (r->content_ok || !r->hash_valid)
		goto done;
	/* Hashed under the previous row's hash: only prev_hash was edited. */
	if (vs->n > 0 && vs->rows[vs->n - 1].hash_valid &&
	    chain_hash(vs->rows[vs->n - 1].hash, obj, h) == 0)
		r->relinked_ok = crypto_memeq(h, r->hash, sizeof(h));
	/* Hashed under a higher seq: events before it were deleted and the
	 * rest renumbered. */
	for (d = 1; r->prev_valid && d <= AUDIT_RENUMBER_MAX; d++) {
		if (json_object_set_new(obj, "seq",
		    json_integer(ev->seq + d)) != 0 ||
		    chain_hash(r->prev, obj, h) != 0)
			break;
		if (crypto_memeq(h, r->hash, sizeof(h))) {
			r->renumbered = 1;
			break;
		}
	}
done:
	json_decref(obj);
	json_decref(details);
	vs->n++;
	return 0;
}

/* find_hash(vs, h, skip): the index of a row whose hash is h, or -1. */
static long
find_hash(const struct vstate *vs, const uint8_t h[CRYPTO_SHA256_LEN],
    size_t skip)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		if (i != skip && vs->rows[i].hash_valid &&
		    memcmp(vs->rows[i].hash, h, CRYPTO_SHA256_LEN) == 0)
			return (long)i;
	return -1;
}

/* judge(vs, p, rep): classify the damage at row p, the first bad one. */
static void
judge(const struct vstate *vs, size_t p, struct audit_report *rep)
{
	const struct vrow *r = &vs->rows[p];
	long long expect = (long long)p + 1;
	int link_ok;
	long j;

	if (p == 0) {
		static const uint8_t zero[CRYPTO_SHA256_LEN];

		link_ok = r->prev_valid && memcmp(r->prev, zero,
		    sizeof(zero)) == 0;
	} else {
		link_ok = r->prev_valid && vs->rows[p - 1].hash_valid &&
		    memcmp(r->prev, vs->rows[p - 1].hash,
		    CRYPTO_SHA256_LEN) == 0;
	}
	rep->damage = AUDIT_INSERTED;
	rep->bad_seq = expect;
	if (r->seq > expect) {
		rep->damage = AUDIT_DELETED;
	} else if (r->seq < expect) {
		rep->bad_seq = r->seq;
	} else if (link_ok || r->relinked_ok) {
		rep->damage = AUDIT_ALTERED;
	} else {
		/* Not chained to its predecessor: which one did it see? */
		j = r->prev_valid ? find_hash(vs, r->prev, p) : -1;
		if (r->hash_valid && find_hash(vs, r->hash, p) >= 0) {
			/* A copy of another event. */
		} else if (j >= 0 && (size_t)j + 1 < p) {
			/* It follows an earlier event: the ones between
			 * were put in. */
			rep->bad_seq = vs->rows[j + 1].seq;
		} else if (r->content_ok && j < 0 && p > 0) {
			/* Genuine, but its predecessor was rewritten. */
			rep->damage = AUDIT_ALTERED;
			rep->bad_seq = expect - 1;
		} else if (!r->content_ok && r->renumbered && j < 0) {
			/* Renumbered down over a vanished predecessor. */
			rep->damage = AUDIT_DELETED;
		}
	}
	snprintf(rep->message, sizeof(rep->message), "event %lld was %s",
	    rep->bad_seq, rep->damage == AUDIT_ALTERED ? "altered" :
	    rep->damage == AUDIT_DELETED ? "deleted" :
	    "inserted or reordered");
}

int
audit_verify(struct catalog *cat, struct audit_report *rep)
{
	struct vstate vs = { NULL, 0, 0, 0 };
	static const uint8_t zero[CRYPTO_SHA256_LEN];
	const struct vrow *r;
	size_t p;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	util_strlcpy(rep->head, zero_hash_hex, sizeof(rep->head));
	if (catalog_event_foreach(cat, NULL, load_row, &vs) != 0) {
		if (vs.oom) {
			errno = ENOMEM;
			warnp("cannot verify the audit log");
		}
		goto cleanup;
	}
	rep->events = (long long)vs.n;
	if (vs.n > 0) {
		r = &vs.rows[vs.n - 1];
		rep->head_seq = r->seq;
		if (r->hash_valid)
			util_hex(rep->head, r->hash, CRYPTO_SHA256_LEN);
	}
	for (p = 0; p < vs.n; p++) {
		r = &vs.rows[p];
		if (r->seq == (long long)p + 1 && r->content_ok &&
		    memcmp(r->prev, p == 0 ? zero : vs.rows[p - 1].hash,
		    CRYPTO_SHA256_LEN) == 0)
			continue;
		judge(&vs, p, rep);
		rc = 1;
		goto cleanup;
	}
	rep->damage = AUDIT_INTACT;
	rc = 0;
cleanup:
	free(vs.rows);
	return rc;
}

/* ---------------------------------------------------------------- export */

static int
export_row(const struct catalog_event *ev, void *arg)
{
	FILE *fp = arg;
	json_t *o;
	char *line;
	int rc = -1;

	if ((o = audit_event_json(ev, 1)) == NULL)
		return -1;
	line = cjson_dumps(o, NULL);
	if (line == NULL)
		line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (line != NULL && fprintf(fp, "%s\n", line) >= 0)
		rc = 0;
	else
		warnp("cannot export audit event %lld", ev->seq);
	free(line);
	json_decref(o);
	return rc;
}

int
audit_export(struct catalog *cat, FILE *fp)
{
	if (catalog_event_foreach(cat, NULL, export_row, fp) != 0)
		return -1;
	if (fflush(fp) != 0 || ferror(fp)) {
		warnp("cannot write the audit export");
		return -1;
	}
	return 0;
}

int
audit_head(struct catalog *cat, long long *seq, char hash[AUDIT_HASH_HEX + 1])
{
	struct catalog_event last;
	int found, rc = -1;

	if ((found = catalog_event_last(cat, &last)) < 0)
		return -1;
	if (!found) {
		*seq = 0;
		util_strlcpy(hash, zero_hash_hex, AUDIT_HASH_HEX + 1);
		rc = 0;
	} else if (last.hash == NULL || strlen(last.hash) != AUDIT_HASH_HEX) {
		warn0("audit event %lld has no valid hash", last.seq);
	} else {
		*seq = last.seq;
		util_strlcpy(hash, last.hash, AUDIT_HASH_HEX + 1);
		rc = 0;
	}
	catalog_event_clear(&last);
	return rc;
}
