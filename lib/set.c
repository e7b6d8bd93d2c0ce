#include "compat.h"

#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "age.h"
#include "catalog.h"
#include "cjson.h"
#include "clock.h"
#include "crypto.h"
#include "label.h"
#include "set.h"
#include "sign.h"
#include "target.h"
#include "util.h"
#include "warnp.h"

/* The largest set.json and set.json.sig set_load reads. */
#define SET_JSON_MAX ((size_t)16 << 20)
#define SET_SIG_MAX 1024
/* How far into an object an age header is looked for. */
#define SET_HDR_MAX 65536

static const char *const level_names[] = { "full", "diff", "incr" };
static const char *const kind_names[] = { "backup", "pre-restore" };
static const char *const role_names[] = {
	"volume", "manifest", "sums", "recovery"
};

static int
name_parse(const char *const *names, size_t n, const char *s, int *out)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return (0);
		}
	return (-1);
}

const char *
set_level_name(enum set_level l)
{

	return ((size_t)l < ARRAY_SIZE(level_names) ? level_names[l] : NULL);
}

int
set_level_parse(const char *s, enum set_level *l)
{
	int v;

	if (name_parse(level_names, ARRAY_SIZE(level_names), s, &v) != 0)
		return (-1);
	*l = (enum set_level)v;
	return (0);
}

const char *
set_kind_name(enum set_kind k)
{

	return ((size_t)k < ARRAY_SIZE(kind_names) ? kind_names[k] : NULL);
}

int
set_kind_parse(const char *s, enum set_kind *k)
{
	int v;

	if (name_parse(kind_names, ARRAY_SIZE(kind_names), s, &v) != 0)
		return (-1);
	*k = (enum set_kind)v;
	return (0);
}

const char *
set_role_name(enum set_role r)
{

	return ((size_t)r < ARRAY_SIZE(role_names) ? role_names[r] : NULL);
}

int
set_role_parse(const char *s, enum set_role *r)
{
	int v;

	if (name_parse(role_names, ARRAY_SIZE(role_names), s, &v) != 0)
		return (-1);
	*r = (enum set_role)v;
	return (0);
}

void
set_header_init(struct set_header *h)
{

	memset(h, 0, sizeof(*h));
	h->format = SET_FORMAT;
	memset(h->audit_hash, '0', 64);
}

void
set_header_clear(struct set_header *h)
{
	size_t i;

	if (h == NULL)
		return;
	free(h->vault);
	free(h->host);
	free(h->job);
	free(h->label);
	for (i = 0; i < h->nparents; i++)
		free(h->parents[i]);
	free(h->parents);
	for (i = 0; i < h->nobjects; i++)
		free(h->objects[i].name);
	free(h->objects);
	free(h->coffer_version);
	free(h->raw);
	memset(h, 0, sizeof(*h));
}

int
set_header_add_parent(struct set_header *h, const char *label)
{
	char **np, *s;

	if (label_check(label, "parent set label") != 0)
		return (-1);
	if ((s = util_strdup(label)) == NULL)
		return (-1);
	if ((np = realloc(h->parents, (h->nparents + 1) * sizeof(*np))) ==
	    NULL) {
		warnp("realloc");
		free(s);
		return (-1);
	}
	h->parents = np;
	h->parents[h->nparents++] = s;
	return (0);
}

int
set_object_name_valid(const char *name)
{
	size_t len;

	if (name == NULL || !target_name_valid(name) ||
	    strchr(name, '/') != NULL)
		return (0);
	if (strcmp(name, SET_JSON) == 0 || strcmp(name, SET_SIG) == 0)
		return (0);
	len = strlen(name);
	if (len >= 5 && strcmp(name + len - 5, ".part") == 0)
		return (0);
	return (1);
}

int
set_header_add_object(struct set_header *h, const char *name,
    enum set_role role, uint64_t size, const uint8_t sha256[SET_SHA256_LEN],
    const uint8_t *payload_sha256)
{
	struct set_object *no, *o;
	char *s;

	if (!set_object_name_valid(name) || set_role_name(role) == NULL) {
		warn0("invalid set object '%s'", name != NULL ? name : "");
		return (-1);
	}
	if ((s = util_strdup(name)) == NULL)
		return (-1);
	if ((no = realloc(h->objects, (h->nobjects + 1) * sizeof(*no))) ==
	    NULL) {
		warnp("realloc");
		free(s);
		return (-1);
	}
	h->objects = no;
	o = &h->objects[h->nobjects++];
	memset(o, 0, sizeof(*o));
	o->name = s;
	o->role = role;
	o->size = size;
	memcpy(o->sha256, sha256, SET_SHA256_LEN);
	if (payload_sha256 != NULL) {
		o->has_payload = 1;
		memcpy(o->payload_sha256, payload_sha256, SET_SHA256_LEN);
	}
	return (0);
}

const struct set_object *
set_header_find_object(const struct set_header *h, enum set_role role)
{
	size_t i;

	for (i = 0; i < h->nobjects; i++)
		if (h->objects[i].role == role)
			return (&h->objects[i]);
	return (NULL);
}

/* ------------------------------------------------------------ serialize */

static int
put_str(json_t *o, const char *k, const char *v)
{

	if (v == NULL)
		return (json_object_set_new(o, k, json_null()));
	return (json_object_set_new(o, k, json_string(v)));
}

static int
put_int(json_t *o, const char *k, long long v)
{

	return (json_object_set_new(o, k, json_integer(v)));
}

static int
put_hex(json_t *o, const char *k, const uint8_t *h)
{
	char hex[2 * SET_SHA256_LEN + 1];

	util_hex(hex, h, SET_SHA256_LEN);
	return (put_str(o, k, hex));
}

static int
put_time(json_t *o, const char *k, time_t t)
{
	char buf[32];

	clock_format_utc(t, buf, sizeof(buf));
	return (put_str(o, k, buf));
}

static json_t *
header_json(const struct set_header *h)
{
	json_t *o, *a, *ah, *ob;
	size_t i;
	int bad = 0;

	if ((o = json_object()) == NULL)
		return (NULL);
	bad |= put_int(o, "format", h->format);
	bad |= put_str(o, "vault", h->vault);
	bad |= put_str(o, "host", h->host);
	bad |= put_str(o, "job", h->job);
	bad |= put_str(o, "label", h->label);
	bad |= put_str(o, "kind", set_kind_name(h->kind));
	bad |= put_str(o, "level", set_level_name(h->level));
	if ((a = json_array()) == NULL || json_object_set_new(o, "parents", a))
		bad = 1;
	for (i = 0; !bad && i < h->nparents; i++)
		bad |= json_array_append_new(a, json_string(h->parents[i]));
	bad |= put_time(o, "created", h->created);
	if (h->has_retain_until)
		bad |= put_time(o, "retain_until", h->retain_until);
	else
		bad |= put_str(o, "retain_until", NULL);
	bad |= json_object_set_new(o, "keep", json_boolean(h->keep));
	if ((ah = json_object()) == NULL ||
	    json_object_set_new(o, "audit_head", ah))
		bad = 1;
	else {
		bad |= put_int(ah, "seq", h->audit_seq);
		bad |= put_str(ah, "hash", h->audit_hash);
	}
	if ((a = json_array()) == NULL || json_object_set_new(o, "objects", a))
		bad = 1;
	for (i = 0; !bad && i < h->nobjects; i++) {
		const struct set_object *so = &h->objects[i];

		if ((ob = json_object()) == NULL ||
		    json_array_append_new(a, ob) != 0) {
			bad = 1;
			break;
		}
		bad |= put_str(ob, "name", so->name);
		bad |= put_str(ob, "role", set_role_name(so->role));
		bad |= put_int(ob, "size", (long long)so->size);
		bad |= put_hex(ob, "sha256", so->sha256);
		if (so->has_payload)
			bad |= put_hex(ob, "payload_sha256",
			    so->payload_sha256);
	}
	bad |= put_int(o, "files", (long long)h->files);
	bad |= put_int(o, "bytes", (long long)h->bytes);
	if (h->coffer_version != NULL)
		bad |= put_str(o, "coffer", h->coffer_version);
	if (bad) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

char *
set_header_to_json(const struct set_header *h, size_t *len)
{
	struct set_header check;
	json_t *o;
	char *s = NULL, *out = NULL;
	size_t n;

	if (h->files > (uint64_t)CJSON_MAX_INT ||
	    h->bytes > (uint64_t)CJSON_MAX_INT) {
		warn0("invalid set header: counts out of range");
		return (NULL);
	}
	if ((o = header_json(h)) == NULL) {
		warn0("cannot build set header: out of memory");
		return (NULL);
	}
	if ((s = cjson_dumps(o, &n)) == NULL)
		goto cleanup;
	if ((out = malloc(n + 2)) == NULL) {
		warnp("malloc");
		goto cleanup;
	}
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	/* What we write must be what every reader accepts. */
	if (set_header_parse(out, n + 1, &check) != 0) {
		free(out);
		out = NULL;
		goto cleanup;
	}
	set_header_clear(&check);
	if (len != NULL)
		*len = n + 1;
cleanup:
	free(s);
	json_decref(o);
	return (out);
}

/* ---------------------------------------------------------------- parse */

static int
bad(const char *why, const char *key)
{

	warn0("invalid set header: %s%s%s", key ? "'" : "", key ? key : "",
	    why);
	return (-1);
}

static int
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (i == 64);
}

static const char *
req_str(json_t *o, const char *k)
{
	json_t *j = json_object_get(o, k);

	if (j == NULL) {
		bad("' is missing", k);
		return (NULL);
	}
	if (!json_is_string(j)) {
		bad("' must be a string", k);
		return (NULL);
	}
	return (json_string_value(j));
}

static int
get_label(json_t *o, const char *k, char **out)
{
	const char *s;
	char what[32];

	if ((s = req_str(o, k)) == NULL)
		return (-1);
	snprintf(what, sizeof(what), "%s in set header", k);
	if (label_check(s, what) != 0)
		return (-1);
	if ((*out = util_strdup(s)) == NULL)
		return (-1);
	return (0);
}

static int
parse_time(const char *s, time_t *t)
{
	char back[32];

	if (strlen(s) != 20 || s[10] != 'T' || s[19] != 'Z' ||
	    clock_parse_utc(s, t) != 0)
		return (-1);
	clock_format_utc(*t, back, sizeof(back));
	return (strcmp(back, s) == 0 ? 0 : -1);
}

static int
get_u64(json_t *o, const char *k, int required, uint64_t *v)
{
	json_t *j = json_object_get(o, k);

	if (j == NULL) {
		*v = 0;
		return (required ? bad("' is missing", k) : 0);
	}
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    json_integer_value(j) > CJSON_MAX_INT)
		return (bad("' must be a number in range", k));
	*v = (uint64_t)json_integer_value(j);
	return (0);
}

static int
get_hash(json_t *o, const char *k, uint8_t out[SET_SHA256_LEN])
{
	const char *s;

	if ((s = req_str(o, k)) == NULL)
		return (-1);
	if (!is_hex64(s) || util_unhex(out, s, SET_SHA256_LEN) != 0)
		return (bad("' must be 64 lower-case hex digits", k));
	return (0);
}

static int
parse_objects(json_t *a, struct set_header *h)
{
	json_t *ob, *j;
	const char *name, *role;
	enum set_role r;
	uint64_t size;
	uint8_t sha[SET_SHA256_LEN], pay[SET_SHA256_LEN];
	int seen[4] = { 0, 0, 0, 0 };
	size_t i, k;

	if (!json_is_array(a))
		return (bad("' must be an array", "objects"));
	for (i = 0; i < json_array_size(a); i++) {
		ob = json_array_get(a, i);
		if (!json_is_object(ob))
			return (bad("' must hold objects", "objects"));
		if ((name = req_str(ob, "name")) == NULL ||
		    (role = req_str(ob, "role")) == NULL)
			return (-1);
		if (!set_object_name_valid(name)) {
			warn0("invalid set header: object name '%s' is not "
			    "a plain file name", name);
			return (-1);
		}
		for (k = 0; k < h->nobjects; k++)
			if (strcmp(h->objects[k].name, name) == 0) {
				warn0("invalid set header: object '%s' "
				    "listed twice", name);
				return (-1);
			}
		if (set_role_parse(role, &r) != 0)
			return (bad("' is not a known role", "role"));
		if (r != SET_ROLE_VOLUME && seen[r]++)
			return (bad("' appears twice", role));
		if (get_u64(ob, "size", 1, &size) != 0 ||
		    get_hash(ob, "sha256", sha) != 0)
			return (-1);
		j = json_object_get(ob, "payload_sha256");
		if ((r == SET_ROLE_VOLUME || r == SET_ROLE_MANIFEST) !=
		    (j != NULL)) {
			warn0("invalid set header: object '%s': "
			    "payload_sha256 belongs to volumes and the "
			    "manifest only", name);
			return (-1);
		}
		if (j != NULL && get_hash(ob, "payload_sha256", pay) != 0)
			return (-1);
		if (set_header_add_object(h, name, r, size, sha,
		    j != NULL ? pay : NULL) != 0)
			return (-1);
	}
	return (0);
}

static int
parse_header(json_t *o, struct set_header *h)
{
	json_t *j, *ah;
	const char *s;
	uint64_t v;
	size_t i;

	if (!json_is_object(o))
		return (bad("not a JSON object", NULL));
	j = json_object_get(o, "format");
	if (j == NULL || !json_is_integer(j))
		return (bad("' is missing or not a number", "format"));
	if (json_integer_value(j) != SET_FORMAT) {
		warn0("set header has format %lld; this coffer reads "
		    "format %d", (long long)json_integer_value(j), SET_FORMAT);
		return (-1);
	}
	if ((s = req_str(o, "vault")) == NULL)
		return (-1);
	if (strlen(s) != 32 || strspn(s, "0123456789abcdef") != 32)
		return (bad("' must be 32 lower-case hex digits", "vault"));
	if ((h->vault = util_strdup(s)) == NULL)
		return (-1);
	if (get_label(o, "host", &h->host) != 0 ||
	    get_label(o, "job", &h->job) != 0 ||
	    get_label(o, "label", &h->label) != 0)
		return (-1);
	if ((s = req_str(o, "kind")) == NULL)
		return (-1);
	if (set_kind_parse(s, &h->kind) != 0)
		return (bad("' is not backup or pre-restore", "kind"));
	if ((s = req_str(o, "level")) == NULL)
		return (-1);
	if (set_level_parse(s, &h->level) != 0)
		return (bad("' is not full, diff or incr", "level"));
	j = json_object_get(o, "parents");
	if (j == NULL || !json_is_array(j))
		return (bad("' is missing or not an array", "parents"));
	for (i = 0; i < json_array_size(j); i++) {
		if (!json_is_string(json_array_get(j, i)))
			return (bad("' must hold strings", "parents"));
		if (set_header_add_parent(h,
		    json_string_value(json_array_get(j, i))) != 0)
			return (-1);
	}
	if ((h->level == SET_FULL) != (h->nparents == 0))
		return (bad("a full set has no parents; a diff or incr set "
		    "has at least one", NULL));
	if ((s = req_str(o, "created")) == NULL)
		return (-1);
	if (parse_time(s, &h->created) != 0)
		return (bad("' must be YYYY-MM-DDTHH:MM:SSZ", "created"));
	j = json_object_get(o, "retain_until");
	if (j != NULL && !json_is_null(j)) {
		if (!json_is_string(j) ||
		    parse_time(json_string_value(j), &h->retain_until) != 0)
			return (bad("' must be null or YYYY-MM-DDTHH:MM:SSZ",
			    "retain_until"));
		h->has_retain_until = 1;
	}
	j = json_object_get(o, "keep");
	if (j == NULL || !json_is_boolean(j))
		return (bad("' is missing or not a boolean", "keep"));
	h->keep = json_is_true(j);
	ah = json_object_get(o, "audit_head");
	if (ah == NULL || !json_is_object(ah))
		return (bad("' is missing or not an object", "audit_head"));
	if (get_u64(ah, "seq", 1, &v) != 0)
		return (-1);
	h->audit_seq = (long long)v;
	if ((s = req_str(ah, "hash")) == NULL)
		return (-1);
	if (!is_hex64(s))
		return (bad("' must be 64 lower-case hex digits", "hash"));
	memcpy(h->audit_hash, s, 65);
	if ((j = json_object_get(o, "objects")) == NULL)
		return (bad("' is missing", "objects"));
	if (parse_objects(j, h) != 0)
		return (-1);
	if (get_u64(o, "files", 0, &h->files) != 0 ||
	    get_u64(o, "bytes", 0, &h->bytes) != 0)
		return (-1);
	if ((j = json_object_get(o, "coffer")) != NULL) {
		if (!json_is_string(j) || json_string_length(j) > 64)
			return (bad("' must be a short string", "coffer"));
		if ((h->coffer_version = util_strdup(json_string_value(j)))
		    == NULL)
			return (-1);
	}
	return (0);
}

int
set_header_parse(const void *buf, size_t len, struct set_header *h)
{
	json_error_t jerr;
	json_t *o;

	set_header_init(h);
	if (len > SET_JSON_MAX)
		return (bad("too large", NULL));
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		warn0("invalid set header: %s (line %d)", jerr.text,
		    jerr.line);
		return (-1);
	}
	if (parse_header(o, h) != 0)
		goto fail;
	if ((h->raw = malloc(len + 1)) == NULL) {
		warnp("malloc");
		goto fail;
	}
	memcpy(h->raw, buf, len);
	h->raw[len] = '\0';
	h->raw_len = len;
	json_decref(o);
	return (0);
fail:
	json_decref(o);
	set_header_clear(h);
	return (-1);
}

/* ------------------------------------------------------------ SHA256SUMS */

char *
set_sums_text(const struct set_header *h, size_t *len)
{
	static const enum set_role order[] = {
		SET_ROLE_VOLUME, SET_ROLE_MANIFEST, SET_ROLE_RECOVERY
	};
	char hex[2 * SET_SHA256_LEN + 1];
	char *out, *p;
	size_t i, k, need = 1;

	for (i = 0; i < h->nobjects; i++)
		need += 2 * SET_SHA256_LEN + 3 + strlen(h->objects[i].name);
	if ((out = malloc(need)) == NULL) {
		warnp("malloc");
		return (NULL);
	}
	p = out;
	for (k = 0; k < ARRAY_SIZE(order); k++)
		for (i = 0; i < h->nobjects; i++) {
			if (h->objects[i].role != order[k])
				continue;
			util_hex(hex, h->objects[i].sha256, SET_SHA256_LEN);
			p += snprintf(p, need - (size_t)(p - out), "%s  %s\n",
			    hex, h->objects[i].name);
		}
	*p = '\0';
	if (len != NULL)
		*len = (size_t)(p - out);
	return (out);
}

char *
set_sign(const void *json, size_t len, const struct sign_key *key)
{

	return (sign_data(key, json, len));
}

char *
set_path(const char *host, const char *label, const char *name)
{

	if (!label_valid(host) || !label_valid(label)) {
		warn0("invalid set '%s/%s'", host ? host : "",
		    label ? label : "");
		return (NULL);
	}
	if (name == NULL)
		return (util_asprintf("sets/%s/%s", host, label));
	return (util_asprintf("sets/%s/%s/%s", host, label, name));
}

/* ------------------------------------------------------------ load, list */

struct membuf {
	char *buf;
	size_t len, cap, max;
	const char *name;
};

static int
mem_write(void *cookie, const void *p, size_t n)
{
	struct membuf *m = cookie;
	size_t cap;
	char *nb;

	if (m->len + n > m->max) {
		warn0("object '%s' is too large (over %zu bytes)", m->name,
		    m->max);
		return (-1);
	}
	if (m->len + n + 1 > m->cap) {
		cap = m->cap ? m->cap : 4096;
		while (cap < m->len + n + 1)
			cap *= 2;
		if ((nb = realloc(m->buf, cap)) == NULL) {
			warnp("realloc");
			return (-1);
		}
		m->buf = nb;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	m->buf[m->len] = '\0';
	return (0);
}

/* Read a whole small object: 0, 1 when missing (silent), -1 (reported). */
static int
get_small(struct target *t, const char *name, size_t max, struct membuf *m)
{
	int r;

	memset(m, 0, sizeof(*m));
	m->max = max;
	m->name = name;
	if ((r = target_head(t, name, NULL)) < 0)
		return (-1);
	if (r == 0)
		return (1);
	if (target_get(t, name, 0, TARGET_TO_END, mem_write, m) != 0) {
		free(m->buf);
		m->buf = NULL;
		return (-1);
	}
	if (m->buf == NULL && mem_write(m, "", 0) != 0)
		return (-1);
	return (0);
}

int
set_load(struct target *t, const char *host, const char *label,
    const struct sign_pinned *pinned, struct set_header *h, int flags)
{
	struct membuf sig = { 0 }, js = { 0 };
	const struct sign_pubkey *pk;
	char *signame = NULL, *jsname = NULL;
	int r, rc = SET_LOAD_ERROR;

	set_header_init(h);
	if ((signame = set_path(host, label, SET_SIG)) == NULL ||
	    (jsname = set_path(host, label, SET_JSON)) == NULL)
		goto cleanup;
	if ((r = get_small(t, signame, SET_SIG_MAX, &sig)) < 0)
		goto cleanup;
	if (r == 1) {
		if (!(flags & SET_LOAD_QUIET_MISSING))
			warn0("set '%s/%s' is not committed (no %s)", host,
			    label, SET_SIG);
		rc = SET_LOAD_MISSING;
		goto cleanup;
	}
	if ((r = get_small(t, jsname, SET_JSON_MAX, &js)) < 0)
		goto cleanup;
	if (r == 1) {
		warn0("set '%s/%s' is damaged: %s is missing", host, label,
		    SET_JSON);
		rc = SET_LOAD_BAD;
		goto cleanup;
	}
	if (strlen(sig.buf) != sig.len) {
		warn0("set '%s/%s': malformed %s", host, label, SET_SIG);
		rc = SET_LOAD_BAD;
		goto cleanup;
	}
	if ((pk = sign_verify(pinned, js.buf, js.len, sig.buf)) == NULL) {
		warn0("set '%s/%s': %s not accepted", host, label, SET_SIG);
		rc = SET_LOAD_BAD;
		goto cleanup;
	}
	if (set_header_parse(js.buf, js.len, h) != 0) {
		warn0("set '%s/%s': cannot parse %s", host, label, SET_JSON);
		rc = SET_LOAD_BAD;
		goto cleanup;
	}
	if (strcmp(h->host, host) != 0 || strcmp(h->label, label) != 0) {
		warn0("set '%s/%s': %s names set '%s/%s'", host, label,
		    SET_JSON, h->host, h->label);
		set_header_clear(h);
		rc = SET_LOAD_BAD;
		goto cleanup;
	}
	util_strlcpy(h->signer, pk->fpr, sizeof(h->signer));
	rc = SET_LOAD_OK;
cleanup:
	free(sig.buf);
	free(js.buf);
	free(signame);
	free(jsname);
	return (rc);
}

struct list_state {
	set_list_fn *fn;
	void *cookie;
};

static int
list_cb(void *cookie, const struct target_entry *e)
{
	struct list_state *ls = cookie;
	char host[LABEL_MAX + 1], label[LABEL_MAX + 1];
	const char *p, *q, *r;

	/* sets/HOST/LABEL/set.json.sig, exactly. */
	if (strncmp(e->name, "sets/", 5) != 0)
		return (0);
	p = e->name + 5;
	if ((q = strchr(p, '/')) == NULL || (r = strchr(q + 1, '/')) ==
	    NULL || strcmp(r + 1, SET_SIG) != 0)
		return (0);
	if ((size_t)(q - p) > LABEL_MAX || (size_t)(r - q - 1) > LABEL_MAX)
		return (0);
	memcpy(host, p, (size_t)(q - p));
	host[q - p] = '\0';
	memcpy(label, q + 1, (size_t)(r - q - 1));
	label[r - q - 1] = '\0';
	if (!label_valid(host) || !label_valid(label))
		return (0);
	return (ls->fn(ls->cookie, host, label));
}

int
set_list(struct target *t, const char *host, set_list_fn *fn, void *cookie)
{
	struct list_state ls = { fn, cookie };
	char *prefix;
	int rc;

	if (host != NULL) {
		if (label_check(host, "host name") != 0)
			return (-1);
		prefix = util_asprintf("sets/%s/", host);
	} else
		prefix = util_strdup("sets/");
	if (prefix == NULL)
		return (-1);
	rc = target_list(t, prefix, 0, list_cb, &ls);
	free(prefix);
	return (rc);
}

/* --------------------------------------------------------------- verify */

const char *
set_object_status_name(enum set_object_status s)
{

	switch (s) {
	case SET_OBJECT_OK:
		return ("ok");
	case SET_OBJECT_REWRAPPED:
		return ("rewrapped");
	case SET_OBJECT_MISSING:
		return ("missing");
	case SET_OBJECT_SIZE:
		return ("size mismatch");
	case SET_OBJECT_DAMAGED:
		return ("damaged");
	}
	return ("unknown");
}

int
set_object_hash(set_read_fn *fn, void *cookie, uint64_t *size,
    uint8_t sha256[SET_SHA256_LEN], uint8_t *payload_sha256)
{
	struct crypto_sha256 *whole = NULL, *pay = NULL;
	uint8_t *buf = NULL, *hdr = NULL;
	size_t hlen = 0, hdrlen = 0, off;
	uint64_t total = 0;
	ssize_t got;
	int state = 0;          /* 0 looking, 1 age payload, -1 not age */
	int rc = -1;

	if ((buf = malloc(65536)) == NULL || (hdr = malloc(SET_HDR_MAX)) ==
	    NULL) {
		warnp("malloc");
		goto cleanup;
	}
	if ((whole = crypto_sha256_new()) == NULL ||
	    (pay = crypto_sha256_new()) == NULL)
		goto cleanup;
	if (payload_sha256 == NULL)
		state = -1;
	for (;;) {
		if ((got = fn(cookie, buf, 65536)) < 0)
			goto cleanup;
		if (got == 0)
			break;
		total += (uint64_t)got;
		crypto_sha256_update(whole, buf, (size_t)got);
		off = 0;
		if (state == 0) {
			/* Collect the start until the header is complete. */
			off = (size_t)got;
			if (off > SET_HDR_MAX - hlen)
				off = SET_HDR_MAX - hlen;
			memcpy(hdr + hlen, buf, off);
			hlen += off;
			switch (age_header_length(hdr, hlen, &hdrlen)) {
			case 1:
				state = 1;
				crypto_sha256_update(pay, hdr + hdrlen,
				    hlen - hdrlen);
				break;
			case 0:
				if (hlen == SET_HDR_MAX)
					state = -1;
				break;
			default:
				state = -1;
			}
		}
		if (state == 1 && off < (size_t)got)
			crypto_sha256_update(pay, buf + off, (size_t)got - off);
	}
	if (state == 0)
		state = age_header_length(hdr, hlen, &hdrlen) == 1 ? 1 : -1;
	crypto_sha256_final(whole, sha256);
	if (payload_sha256 != NULL) {
		if (state == 1)
			crypto_sha256_final(pay, payload_sha256);
		else
			memset(payload_sha256, 0, SET_SHA256_LEN);
	}
	*size = total;
	rc = state == 1 ? 1 : 0;
cleanup:
	crypto_sha256_free(whole);
	crypto_sha256_free(pay);
	free(buf);
	free(hdr);
	return (rc);
}

static ssize_t
reader_read(void *cookie, void *buf, size_t len)
{

	return (target_read(cookie, buf, len));
}

int
set_object_check(struct target *t, const char *host, const char *label,
    const struct set_object *obj, enum set_object_status *status)
{
	struct target_reader *r = NULL;
	uint8_t sha[SET_SHA256_LEN], pay[SET_SHA256_LEN];
	uint64_t size;
	char *name;
	int h, rc = -1;

	if ((name = set_path(host, label, obj->name)) == NULL)
		return (-1);
	if ((h = target_head(t, name, &size)) < 0)
		goto cleanup;
	if (h == 0) {
		*status = SET_OBJECT_MISSING;
		rc = 0;
		goto cleanup;
	}
	if (size != obj->size) {
		*status = SET_OBJECT_SIZE;
		rc = 0;
		goto cleanup;
	}
	/* The whole object's hash first: the payload's is needed only when
	 * that differs (a rewrapped header), and costs a second read then
	 * rather than a second hash of every byte always. */
	if ((r = target_open_read(t, name, 0)) == NULL)
		goto cleanup;
	if (set_object_hash(reader_read, r, &size, sha, NULL) < 0)
		goto cleanup;
	if (size == obj->size && !crypto_memeq(sha, obj->sha256,
	    SET_SHA256_LEN) && obj->has_payload) {
		target_reader_close(r);
		if ((r = target_open_read(t, name, 0)) == NULL)
			goto cleanup;
		if (set_object_hash(reader_read, r, &size, sha, pay) < 0)
			goto cleanup;
	}
	if (size != obj->size)
		*status = SET_OBJECT_SIZE;
	else if (crypto_memeq(sha, obj->sha256, SET_SHA256_LEN))
		*status = SET_OBJECT_OK;
	else if (obj->has_payload &&
	    crypto_memeq(pay, obj->payload_sha256, SET_SHA256_LEN))
		*status = SET_OBJECT_REWRAPPED;
	else
		*status = SET_OBJECT_DAMAGED;
	rc = 0;
cleanup:
	target_reader_close(r);
	free(name);
	return (rc);
}

int
set_verify_objects(struct target *t, const struct set_header *h,
    set_report_fn *fn, void *cookie)
{
	enum set_object_status st;
	size_t i;
	int nbad = 0, r;

	for (i = 0; i < h->nobjects; i++) {
		if (set_object_check(t, h->host, h->label, &h->objects[i],
		    &st) != 0)
			return (-1);
		if (st != SET_OBJECT_OK && st != SET_OBJECT_REWRAPPED) {
			nbad++;
			warn0("set '%s/%s': object '%s' is %s", h->host,
			    h->label, h->objects[i].name,
			    set_object_status_name(st));
		}
		if (fn != NULL && (r = fn(cookie, &h->objects[i], st)) != 0)
			return (r);
	}
	return (nbad);
}

/* -------------------------------------------------------------- catalog */

int
set_header_to_catalog(const struct set_header *h, long long vault_row,
    struct catalog_set *cs)
{
	struct catalog_object *co;
	size_t i, n;
	char *json = NULL;

	memset(cs, 0, sizeof(*cs));
	cs->vault = vault_row;
	if ((cs->host = util_strdup(h->host)) == NULL ||
	    (cs->label = util_strdup(h->label)) == NULL ||
	    (cs->job = util_strdup(h->job)) == NULL ||
	    (cs->level = util_strdup(set_level_name(h->level))) == NULL ||
	    (cs->kind = util_strdup(set_kind_name(h->kind))) == NULL ||
	    (cs->audit_head = util_strdup(h->audit_hash)) == NULL)
		goto fail;
	if (h->nparents > 0 &&
	    (cs->parents = calloc(h->nparents, sizeof(char *))) == NULL)
		goto fail;
	for (i = 0; i < h->nparents; i++) {
		if ((cs->parents[i] = util_strdup(h->parents[i])) == NULL)
			goto fail;
		cs->nparents = i + 1;
	}
	cs->created = h->created;
	cs->has_retain_until = h->has_retain_until;
	cs->retain_until = h->retain_until;
	cs->keep = h->keep;
	cs->audit_head_seq = h->audit_seq;
	cs->files = h->files;
	cs->bytes = h->bytes;
	if (h->raw != NULL)
		cs->header = util_strdup(h->raw);
	else if ((json = set_header_to_json(h, &n)) != NULL)
		cs->header = json;
	if (cs->header == NULL)
		goto fail;
	if (h->signer[0] != '\0' && (cs->signer = util_strdup(h->signer)) ==
	    NULL)
		goto fail;
	if (h->nobjects > 0 &&
	    (cs->objects = calloc(h->nobjects, sizeof(*co))) == NULL)
		goto fail;
	for (i = 0; i < h->nobjects; i++) {
		co = &cs->objects[i];
		cs->nobjects = i + 1;
		if ((co->name = util_strdup(h->objects[i].name)) == NULL ||
		    (co->role = util_strdup(set_role_name(
		    h->objects[i].role))) == NULL)
			goto fail;
		co->size = h->objects[i].size;
		util_hex(co->sha256, h->objects[i].sha256, SET_SHA256_LEN);
		if (h->objects[i].has_payload)
			util_hex(co->payload_sha256,
			    h->objects[i].payload_sha256, SET_SHA256_LEN);
	}
	return (0);
fail:
	warnp("cannot copy set header");
	catalog_set_clear(cs);
	return (-1);
}
