/*
 * manifest/encode.c: an entry as one line of canonical JSON.
 */
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <jansson.h>

#include "base64.h"
#include "cjson.h"
#include "label.h"
#include "manifest.h"
#include "util.h"
#include "warnp.h"

#include "manifest_internal.h"

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

static json_t *
entry_json(const struct manifest_entry *e)
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

char *
manifest_entry_to_json(const struct manifest_entry *e, size_t *len)
{
	json_t *o;
	char *s;

	if (entry_check(e) != 0)
		return (NULL);
	if ((o = entry_json(e)) == NULL) {
		warn0("cannot build manifest entry: out of memory or out of "
		    "range");
		return (NULL);
	}
	s = cjson_dumps(o, len);
	json_decref(o);
	return (s);
}

