/*
 * manifest/encode.c: an entry as one line of canonical JSON, written
 * straight into a buffer.
 *
 * The bytes are those cjson_dumps would give for the entry as a jansson
 * object (RFC 8785: members sorted by the UTF-16 code units of their
 * names, no whitespace, strings escaped as cjson does), without building
 * one: for 22,000 entries the object, its hash table and the sort cost a
 * good part of the time a backup spends on its manifest.  The members are
 * written in the fixed order below, which is their sorted order (all the
 * names are ASCII, so byte order is code unit order); test-manifest checks
 * the bytes against cjson_dumps of the object the old way.
 */
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "base64.h"
#include "cjson.h"
#include "label.h"
#include "manifest.h"
#include "util.h"
#include "warnp.h"

#include "manifest_internal.h"

/* The caller's growing buffer; failed marks an allocation failure. */
struct out {
	char *s;
	size_t len, cap;
	int failed;
};

/* Make room for n more bytes and a NUL.  0, or -1 (reported once). */
static int
out_room(struct out *o, size_t n)
{
	size_t ncap;
	char *ns;

	if (o->failed)
		return (-1);
	if (o->cap - o->len > n)
		return (0);
	if (n > SIZE_MAX / 2 - o->len - 1) {
		errno = ENOMEM;
		goto fail;
	}
	ncap = o->cap ? o->cap : 256;
	while (ncap < o->len + n + 1)
		ncap *= 2;
	if ((ns = realloc(o->s, ncap)) == NULL)
		goto fail;
	o->s = ns;
	o->cap = ncap;
	return (0);
fail:
	warnp("cannot build manifest entry");
	o->failed = 1;
	return (-1);
}

static void
out_add(struct out *o, const char *p, size_t n)
{

	if (out_room(o, n) != 0)
		return;
	memcpy(o->s + o->len, p, n);
	o->len += n;
}

/*
 * A member name: KEY(o, first, "size") writes "size": with the comma in
 * front unless it is the first member.
 */
#define KEY(o, first, name) do {					\
	out_add((o), &",\"" name "\":"[(first) ? 1 : 0],		\
	    sizeof(",\"" name "\":") - 1 - ((first) ? 1 : 0));		\
	(first) = 0;							\
} while (0)

static void
out_u64(struct out *o, uint64_t v)
{
	char num[24];
	size_t i = sizeof(num);

	do {
		num[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	out_add(o, num + i, sizeof(num) - i);
}

/* A number within the range of canonical JSON; else reported, -1. */
static int
out_num(struct out *o, const char *key, uint64_t v)
{

	if (v > (uint64_t)CJSON_MAX_INT) {
		warn0("manifest field '%s' out of range", key);
		return (-1);
	}
	out_u64(o, v);
	return (0);
}

/* A string, escaped as cjson's put_string escapes it. */
static void
out_str(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	unsigned char c;
	size_t i, start = 0;

	out_add(o, "\"", 1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		out_add(o, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"':
			out_add(o, "\\\"", 2);
			break;
		case '\\':
			out_add(o, "\\\\", 2);
			break;
		case '\b':
			out_add(o, "\\b", 2);
			break;
		case '\t':
			out_add(o, "\\t", 2);
			break;
		case '\n':
			out_add(o, "\\n", 2);
			break;
		case '\f':
			out_add(o, "\\f", 2);
			break;
		case '\r':
			out_add(o, "\\r", 2);
			break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			out_add(o, esc, 6);
			break;
		}
	}
	out_add(o, s + start, len - start);
	out_add(o, "\"", 1);
}

/* The bytes as a string when they are UTF-8, else as padded base64 under
 * the other name ("path" or "path_b64"). */
static void
out_bytes(struct out *o, int *first, const char *key, const char *key_b64,
    const char *p, size_t len)
{
	size_t n;

	if (manifest_utf8_valid(p, len)) {
		out_add(o, &",\""[*first ? 1 : 0], *first ? 1 : 2);
		out_add(o, key, strlen(key));
		out_add(o, "\":", 2);
		out_str(o, p, len);
	} else {
		out_add(o, &",\""[*first ? 1 : 0], *first ? 1 : 2);
		out_add(o, key_b64, strlen(key_b64));
		out_add(o, "\":\"", 3);
		n = base64_encoded_len(len, 1);
		if (out_room(o, n) == 0) {
			base64_encode(o->s + o->len, p, len, 1);
			o->len += n;
		}
		out_add(o, "\"", 1);
	}
	*first = 0;
}

static void
out_hex(struct out *o, const uint8_t h[32])
{

	out_add(o, "\"", 1);
	if (out_room(o, 64) == 0) {
		util_hex(o->s + o->len, h, 32);
		o->len += 64;
	}
	out_add(o, "\"", 1);
}

/* Check what a parse would refuse, so nothing unreadable is written. */
static int
entry_check(const struct manifest_entry *e)
{
	const char *why = NULL;
	size_t i;

	if (!manifest_path_valid(e->path, e->path_len))
		why = "invalid path";
	else if (e->type == MANIFEST_NONE && !e->deleted)
		why = "no type";
	else if (manifest_type_name(e->type) == NULL &&
	    e->type != MANIFEST_NONE)
		why = "invalid type";
	else if (e->has_mode && e->mode > 07777)
		why = "invalid mode";
	else if (e->has_mtime && e->mtime_nsec > 999999999)
		why = "invalid mtime_nsec";
	else if (e->has_mtime && (e->mtime > CJSON_MAX_INT ||
	    e->mtime < -CJSON_MAX_INT))
		why = "mtime out of range";
	else if (e->target != NULL && (e->target_len == 0 ||
	    e->target_len > MANIFEST_PATH_MAX ||
	    memchr(e->target, '\0', e->target_len) != NULL))
		why = "invalid target";
	else if (e->type == MANIFEST_HARDLINK && (e->target == NULL ||
	    !manifest_path_valid(e->target, e->target_len)))
		why = "invalid hard link target";
	else if (e->type == MANIFEST_SYMLINK && e->target == NULL &&
	    !e->deleted)
		why = "symlink without target";
	else if (e->in != NULL && !label_valid(e->in))
		why = "invalid set label in 'in'";
	else if ((e->user != NULL && !manifest_utf8_valid(e->user,
	    strlen(e->user))) || (e->group != NULL &&
	    !manifest_utf8_valid(e->group, strlen(e->group))))
		why = "user or group name not UTF-8";
	for (i = 0; why == NULL && i < e->nparts; i++)
		if (e->parts[i].volume == 0)
			why = "part without volume";
	if (why != NULL) {
		warn0("cannot write manifest entry '%.*s': %s",
		    (int)(e->path_len > 200 ? 200 : e->path_len),
		    e->path != NULL ? e->path : "", why);
		return (-1);
	}
	return (0);
}

/*
 * The members, in sorted order: deleted, devmajor, devminor, gid, group,
 * in, link_group, mode, mtime, mtime_nsec, parts, path | path_b64,
 * sha256, size, target | target_b64, type, uid, user, volume; a part's:
 * offset, sha256, size, volume.  -1 when a number is out of range
 * (reported); an allocation failure shows in o->failed.
 */
static int
entry_out(struct out *o, const struct manifest_entry *e)
{
	const struct manifest_part *p;
	const char *t;
	char mode[4];
	size_t i;
	int first = 1, pfirst;

	out_add(o, "{", 1);
	if (e->deleted) {
		KEY(o, first, "deleted");
		out_add(o, "true", 4);
	}
	if (e->has_dev) {
		KEY(o, first, "devmajor");
		out_u64(o, e->devmajor);
		KEY(o, first, "devminor");
		out_u64(o, e->devminor);
	}
	if (e->has_owner) {
		KEY(o, first, "gid");
		out_u64(o, e->gid);
	}
	if (e->group != NULL) {
		KEY(o, first, "group");
		out_str(o, e->group, strlen(e->group));
	}
	if (e->in != NULL) {
		KEY(o, first, "in");
		out_str(o, e->in, strlen(e->in));
	}
	if (e->link_group != 0) {
		KEY(o, first, "link_group");
		if (out_num(o, "link_group", e->link_group) != 0)
			return (-1);
	}
	if (e->has_mode) {
		/* "%04o" of a mode <= 07777 (entry_check). */
		for (i = 0; i < 4; i++)
			mode[i] = (char)('0' + ((e->mode >> (9 - 3 * i)) & 7));
		KEY(o, first, "mode");
		out_add(o, "\"", 1);
		out_add(o, mode, 4);
		out_add(o, "\"", 1);
	}
	if (e->has_mtime) {
		/* Within +-(2^53 - 1) (entry_check). */
		KEY(o, first, "mtime");
		if (e->mtime < 0) {
			out_add(o, "-", 1);
			out_u64(o, (uint64_t)-e->mtime);
		} else
			out_u64(o, (uint64_t)e->mtime);
		KEY(o, first, "mtime_nsec");
		out_u64(o, e->mtime_nsec);
	}
	if (e->nparts > 0) {
		KEY(o, first, "parts");
		out_add(o, "[", 1);
		for (i = 0; i < e->nparts; i++) {
			p = &e->parts[i];
			out_add(o, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
			pfirst = 1;
			KEY(o, pfirst, "offset");
			if (out_num(o, "offset", p->offset) != 0)
				return (-1);
			if (p->has_sha256) {
				KEY(o, pfirst, "sha256");
				out_hex(o, p->sha256);
			}
			KEY(o, pfirst, "size");
			if (out_num(o, "size", p->size) != 0)
				return (-1);
			KEY(o, pfirst, "volume");
			out_u64(o, p->volume);
			out_add(o, "}", 1);
		}
		out_add(o, "]", 1);
	}
	out_bytes(o, &first, "path", "path_b64", e->path, e->path_len);
	if (e->has_sha256) {
		KEY(o, first, "sha256");
		out_hex(o, e->sha256);
	}
	if (e->has_size) {
		KEY(o, first, "size");
		if (out_num(o, "size", e->size) != 0)
			return (-1);
	}
	if (e->target != NULL)
		out_bytes(o, &first, "target", "target_b64", e->target,
		    e->target_len);
	if ((t = manifest_type_name(e->type)) != NULL) {
		KEY(o, first, "type");
		out_str(o, t, strlen(t));
	}
	if (e->has_owner) {
		KEY(o, first, "uid");
		out_u64(o, e->uid);
	}
	if (e->user != NULL) {
		KEY(o, first, "user");
		out_str(o, e->user, strlen(e->user));
	}
	if (e->volume != 0) {
		KEY(o, first, "volume");
		out_u64(o, e->volume);
	}
	out_add(o, "}", 1);
	return (0);
}

int
manifest_entry_append_json(const struct manifest_entry *e, char **buf,
    size_t *len, size_t *cap)
{
	struct out o = { *buf, *len, *cap, 0 };
	int rc = -1;

	if (entry_check(e) != 0)
		goto cleanup;
	if (entry_out(&o, e) != 0) {
		warn0("cannot build manifest entry: out of memory or out of "
		    "range");
		goto cleanup;
	}
	if (o.failed)
		goto cleanup;
	o.s[o.len] = '\0';
	*len = o.len;
	rc = 0;
cleanup:
	if (rc != 0 && o.s != NULL && *len < o.cap)
		o.s[*len] = '\0';
	*buf = o.s;
	*cap = o.cap;
	return (rc);
}

char *
manifest_entry_to_json(const struct manifest_entry *e, size_t *lenp)
{
	char *s = NULL;
	size_t len = 0, cap = 0;

	if (manifest_entry_append_json(e, &s, &len, &cap) != 0) {
		free(s);
		return (NULL);
	}
	if (lenp != NULL)
		*lenp = len;
	return (s);
}
