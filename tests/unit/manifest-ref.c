/*
 * manifest-ref: the jansson versions of the manifest line writer and
 * parser, as lib/manifest.c had them before it wrote and parsed JSON
 * itself (commit fdcd354), kept here only as the reference that
 * test-manifest compares the new code with.  Not part of libcoffer.
 */
#include "compat.h"

#include <stdlib.h>

#include <jansson.h>

#include "base64.h"
#include "cjson.h"
#include "label.h"
#include "manifest.h"
#include "util.h"
#include "warnp.h"

#include "manifest-ref.h"

static int
set_num(json_t *o, const char *key, uint64_t v)
{

	if (v > (uint64_t)CJSON_MAX_INT) {
		warn0("manifest field '%s' out of range", key);
		return (-1);
	}
	return (json_object_set_new(o, key, json_integer((json_int_t)v)));
}

static int
set_str(json_t *o, const char *key, const char *s)
{

	return (json_object_set_new(o, key, json_string(s)));
}

/* "path"/"path_b64" style: UTF-8 text, or padded base64 of the bytes. */
static int
set_bytes(json_t *o, const char *key, const char *key_b64, const char *p,
    size_t len)
{
	char *b;
	int rc;

	if (manifest_utf8_valid(p, len))
		return (json_object_set_new(o, key, json_stringn(p, len)));
	if ((b = malloc(base64_encoded_len(len, 1) + 1)) == NULL) {
		warnp("malloc");
		return (-1);
	}
	base64_encode(b, p, len, 1);
	rc = json_object_set_new(o, key_b64, json_string(b));
	free(b);
	return (rc);
}

static int
set_hex(json_t *o, const char *key, const uint8_t h[32])
{
	char hex[65];

	util_hex(hex, h, 32);
	return (set_str(o, key, hex));
}

json_t *
ref_entry_json(const struct manifest_entry *e)
{
	json_t *o, *a = NULL, *po;
	char mode[8];
	size_t i;
	int bad = 0;

	if ((o = json_object()) == NULL)
		return (NULL);
	bad |= set_bytes(o, "path", "path_b64", e->path, e->path_len);
	if (e->type != MANIFEST_NONE)
		bad |= set_str(o, "type", manifest_type_name(e->type));
	if (e->deleted)
		bad |= json_object_set_new(o, "deleted", json_true());
	if (e->has_size)
		bad |= set_num(o, "size", e->size);
	if (e->has_mode) {
		snprintf(mode, sizeof(mode), "%04o", (unsigned)e->mode);
		bad |= set_str(o, "mode", mode);
	}
	if (e->has_owner) {
		bad |= set_num(o, "uid", e->uid);
		bad |= set_num(o, "gid", e->gid);
	}
	if (e->user != NULL)
		bad |= set_str(o, "user", e->user);
	if (e->group != NULL)
		bad |= set_str(o, "group", e->group);
	if (e->has_mtime) {
		bad |= json_object_set_new(o, "mtime",
		    json_integer((json_int_t)e->mtime));
		bad |= set_num(o, "mtime_nsec", e->mtime_nsec);
	}
	if (e->has_sha256)
		bad |= set_hex(o, "sha256", e->sha256);
	if (e->target != NULL)
		bad |= set_bytes(o, "target", "target_b64", e->target,
		    e->target_len);
	if (e->link_group != 0)
		bad |= set_num(o, "link_group", e->link_group);
	if (e->has_dev) {
		bad |= set_num(o, "devmajor", e->devmajor);
		bad |= set_num(o, "devminor", e->devminor);
	}
	if (e->volume != 0)
		bad |= set_num(o, "volume", e->volume);
	if (e->in != NULL)
		bad |= set_str(o, "in", e->in);
	if (e->nparts > 0) {
		if ((a = json_array()) == NULL ||
		    json_object_set_new(o, "parts", a) != 0)
			bad = 1;
		for (i = 0; !bad && i < e->nparts; i++) {
			if ((po = json_object()) == NULL ||
			    json_array_append_new(a, po) != 0) {
				bad = 1;
				break;
			}
			bad |= set_num(po, "volume", e->parts[i].volume);
			bad |= set_num(po, "offset", e->parts[i].offset);
			bad |= set_num(po, "size", e->parts[i].size);
			if (e->parts[i].has_sha256)
				bad |= set_hex(po, "sha256",
				    e->parts[i].sha256);
		}
	}
	if (bad) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

struct perr {
	unsigned long long lineno;
	const char *why;
	const char *key;
};

static int
fail(struct perr *pe, const char *key, const char *why)
{

	pe->key = key;
	pe->why = why;
	return (-1);
}

/* An unsigned integer field: 1 present, 0 absent, -1 bad. */
static int
get_u64(json_t *o, const char *key, uint64_t max, uint64_t *v,
    struct perr *pe)
{
	json_t *j;

	if ((j = json_object_get(o, key)) == NULL)
		return (0);
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max)
		return (fail(pe, key, "must be a number in range"));
	*v = (uint64_t)json_integer_value(j);
	return (1);
}

static int
get_str(json_t *o, const char *key, const char **s, size_t *len,
    struct perr *pe)
{
	json_t *j;

	if ((j = json_object_get(o, key)) == NULL)
		return (0);
	if (!json_is_string(j))
		return (fail(pe, key, "must be a string"));
	*s = json_string_value(j);
	*len = json_string_length(j);
	if (!manifest_utf8_valid(*s, *len))
		return (fail(pe, key, "must be valid UTF-8 without NUL"));
	return (1);
}

static int
get_hex(json_t *o, const char *key, uint8_t out[32], struct perr *pe)
{
	const char *s;
	size_t len, i;
	int r;

	if ((r = get_str(o, key, &s, &len, pe)) <= 0)
		return (r);
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			break;
	if (len != 64 || i != len || util_unhex(out, s, 32) != 0)
		return (fail(pe, key, "must be 64 lower-case hex digits"));
	return (1);
}

/* "path" or "path_b64" into a new NUL-terminated buffer. */
static int
get_bytes(json_t *o, const char *key, const char *key_b64, char **out,
    size_t *outlen, struct perr *pe)
{
	const char *s;
	size_t len, dlen;
	int r, r64;
	char *b;

	if ((r = get_str(o, key, &s, &len, pe)) < 0)
		return (-1);
	if ((r64 = get_str(o, key_b64, &s, &len, pe)) < 0)
		return (-1);
	if (r && r64)
		return (fail(pe, key, "given twice (also as base64)"));
	if (!r && !r64)
		return (0);
	if ((b = malloc((r64 ? base64_decoded_maxlen(len) : len) + 1)) ==
	    NULL)
		return (fail(pe, key, "out of memory"));
	if (r64) {
		if (base64_decode(b, &dlen, s, len, 1) != 0) {
			free(b);
			return (fail(pe, key_b64, "is not canonical base64"));
		}
	} else {
		memcpy(b, s, len);
		dlen = len;
	}
	b[dlen] = '\0';
	*out = b;
	*outlen = dlen;
	return (1);
}

static int
get_parts(json_t *o, struct manifest_entry *e, struct perr *pe)
{
	json_t *a, *po;
	struct manifest_part *p;
	uint64_t v;
	size_t i;
	int r;

	if ((a = json_object_get(o, "parts")) == NULL)
		return (0);
	if (!json_is_array(a) || json_array_size(a) < 1)
		return (fail(pe, "parts", "must be a non-empty array"));
	if ((e->parts = calloc(json_array_size(a), sizeof(*p))) == NULL)
		return (fail(pe, "parts", "out of memory"));
	e->nparts = json_array_size(a);
	for (i = 0; i < e->nparts; i++) {
		p = &e->parts[i];
		po = json_array_get(a, i);
		if (!json_is_object(po))
			return (fail(pe, "parts", "must hold objects"));
		if (get_u64(po, "volume", UINT32_MAX, &v, pe) != 1 || v == 0)
			return (fail(pe, "parts", "need a volume >= 1"));
		p->volume = (uint32_t)v;
		if (get_u64(po, "offset", CJSON_MAX_INT, &p->offset, pe) != 1)
			return (fail(pe, "parts", "need an offset"));
		if (get_u64(po, "size", CJSON_MAX_INT, &p->size, pe) != 1)
			return (fail(pe, "parts", "need a size"));
		if ((r = get_hex(po, "sha256", p->sha256, pe)) < 0)
			return (-1);
		p->has_sha256 = r;
	}
	return (1);
}

static int
entry_from_json(json_t *o, struct manifest_entry *e, struct perr *pe)
{
	const char *s;
	size_t len;
	uint64_t v, v2;
	json_t *j;
	int r;

	if (!json_is_object(o))
		return (fail(pe, NULL, "not a JSON object"));
	if ((r = get_bytes(o, "path", "path_b64", &e->path, &e->path_len,
	    pe)) < 0)
		return (-1);
	if (r == 0)
		return (fail(pe, "path", "is missing"));
	if (!manifest_path_valid(e->path, e->path_len))
		return (fail(pe, "path", "is not a clean relative path"));
	if ((j = json_object_get(o, "deleted")) != NULL) {
		if (!json_is_boolean(j))
			return (fail(pe, "deleted", "must be a boolean"));
		e->deleted = json_is_true(j);
	}
	if ((r = get_str(o, "type", &s, &len, pe)) < 0)
		return (-1);
	if (r) {
		if ((e->type = manifest_type_parse(s)) == MANIFEST_NONE)
			return (fail(pe, "type", "is not a known type"));
	} else if (!e->deleted)
		return (fail(pe, "type", "is missing"));
	if ((r = get_u64(o, "size", CJSON_MAX_INT, &e->size, pe)) < 0)
		return (-1);
	e->has_size = r;
	if ((r = get_str(o, "mode", &s, &len, pe)) < 0)
		return (-1);
	if (r) {
		char *end;
		unsigned long m;

		if (len < 1 || len > 5 || strspn(s, "01234567") != len)
			return (fail(pe, "mode", "must be an octal string"));
		m = strtoul(s, &end, 8);
		if (*end != '\0' || m > 07777)
			return (fail(pe, "mode", "must be at most 07777"));
		e->mode = (uint32_t)m;
		e->has_mode = 1;
	}
	if ((r = get_u64(o, "uid", UINT32_MAX, &v, pe)) < 0 ||
	    (r != 0) != (json_object_get(o, "gid") != NULL))
		return (r < 0 ? -1 : fail(pe, "uid", "needs gid with it"));
	if (r) {
		if (get_u64(o, "gid", UINT32_MAX, &v2, pe) != 1)
			return (-1);
		e->uid = (uint32_t)v;
		e->gid = (uint32_t)v2;
		e->has_owner = 1;
	}
	if ((r = get_str(o, "user", &s, &len, pe)) < 0)
		return (-1);
	if (r && (e->user = util_strdup(s)) == NULL)
		return (fail(pe, "user", "out of memory"));
	if ((r = get_str(o, "group", &s, &len, pe)) < 0)
		return (-1);
	if (r && (e->group = util_strdup(s)) == NULL)
		return (fail(pe, "group", "out of memory"));
	if ((j = json_object_get(o, "mtime")) != NULL) {
		if (!json_is_integer(j))
			return (fail(pe, "mtime", "must be a number"));
		e->mtime = (int64_t)json_integer_value(j);
		if ((r = get_u64(o, "mtime_nsec", 999999999, &v, pe)) < 0)
			return (-1);
		e->mtime_nsec = (uint32_t)(r ? v : 0);
		e->has_mtime = 1;
	} else if (json_object_get(o, "mtime_nsec") != NULL)
		return (fail(pe, "mtime_nsec", "without mtime"));
	if ((r = get_hex(o, "sha256", e->sha256, pe)) < 0)
		return (-1);
	e->has_sha256 = r;
	if ((r = get_bytes(o, "target", "target_b64", &e->target,
	    &e->target_len, pe)) < 0)
		return (-1);
	if (r && (e->target_len == 0 || e->target_len > MANIFEST_PATH_MAX ||
	    memchr(e->target, '\0', e->target_len) != NULL))
		return (fail(pe, "target", "is empty, too long or has NUL"));
	if (e->type == MANIFEST_HARDLINK && (e->target == NULL ||
	    !manifest_path_valid(e->target, e->target_len)))
		return (fail(pe, "target", "of a hard link must be a clean "
		    "relative path"));
	if (e->type == MANIFEST_SYMLINK && e->target == NULL && !e->deleted)
		return (fail(pe, "target", "is missing for a symlink"));
	if (get_u64(o, "link_group", CJSON_MAX_INT, &e->link_group, pe) < 0)
		return (-1);
	if ((r = get_u64(o, "devmajor", UINT32_MAX, &v, pe)) < 0 ||
	    (r != 0) != (json_object_get(o, "devminor") != NULL))
		return (r < 0 ? -1 : fail(pe, "devmajor",
		    "needs devminor with it"));
	if (r) {
		if (get_u64(o, "devminor", UINT32_MAX, &v2, pe) != 1)
			return (-1);
		e->devmajor = (uint32_t)v;
		e->devminor = (uint32_t)v2;
		e->has_dev = 1;
	}
	v = 0;
	if ((r = get_u64(o, "volume", UINT32_MAX, &v, pe)) < 0)
		return (-1);
	if (r && v == 0)
		return (fail(pe, "volume", "must be at least 1"));
	e->volume = (uint32_t)v;
	if ((r = get_str(o, "in", &s, &len, pe)) < 0)
		return (-1);
	if (r) {
		if (!label_valid(s))
			return (fail(pe, "in", "is not a set label"));
		if ((e->in = util_strdup(s)) == NULL)
			return (fail(pe, "in", "out of memory"));
	}
	if (get_parts(o, e, pe) < 0)
		return (-1);
	return (0);
}

int
ref_entry_parse(const char *line, size_t len, unsigned long long lineno,
    struct manifest_entry *e, char *msg, size_t msgsize)
{
	struct perr pe = { lineno, NULL, NULL };
	json_error_t jerr;
	json_t *o;
	char where[48] = "";

	manifest_entry_init(e);
	msg[0] = '\0';
	if (lineno != 0)
		snprintf(where, sizeof(where), " line %llu", lineno);
	if (len > MANIFEST_LINE_MAX) {
		snprintf(msg, msgsize, "manifest%s: line too long", where);
		return (-1);
	}
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		snprintf(msg, msgsize, "manifest%s: invalid JSON: %s", where,
		    jerr.text);
		return (-1);
	}
	if (entry_from_json(o, e, &pe) != 0) {
		if (pe.key != NULL)
			snprintf(msg, msgsize, "manifest%s: field '%s' %s", where,
			    pe.key, pe.why);
		else
			snprintf(msg, msgsize, "manifest%s: %s", where, pe.why);
		manifest_entry_clear(e);
		json_decref(o);
		return (-1);
	}
	json_decref(o);
	return (0);
}

