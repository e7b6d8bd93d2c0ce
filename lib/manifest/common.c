/*
 * manifest/common.c: entry types, path and UTF-8 checks, part names, entries.
 */
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>


#include "manifest.h"
#include "util.h"
#include "warnp.h"

#include "manifest_internal.h"
static const char *const type_names[] = {
	[MANIFEST_NONE] = NULL,
	[MANIFEST_FILE] = "file",
	[MANIFEST_DIR] = "dir",
	[MANIFEST_SYMLINK] = "symlink",
	[MANIFEST_HARDLINK] = "hardlink",
	[MANIFEST_FIFO] = "fifo",
	[MANIFEST_CHR] = "chr",
	[MANIFEST_BLK] = "blk",
};

const char *
manifest_type_name(enum manifest_type t)
{

	if ((size_t)t >= ARRAY_SIZE(type_names))
		return (NULL);
	return (type_names[t]);
}

enum manifest_type
manifest_type_parse(const char *s)
{
	size_t i;

	for (i = 1; s != NULL && i < ARRAY_SIZE(type_names); i++)
		if (strcmp(s, type_names[i]) == 0)
			return ((enum manifest_type)i);
	return (MANIFEST_NONE);
}

size_t
manifest_utf8_seq(const unsigned char *p, size_t avail)
{
	uint32_t c = p[0];
	size_t n, k;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		c &= 0x07;
	} else
		return (0);
	if (avail - 1 < n)
		return (0);
	for (k = 1; k <= n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (p[k] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((n == 2 && c < 0x800) || (n == 3 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return (0);
	return (n + 1);
}

int
manifest_utf8_valid(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] == 0)
			return (0);
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = manifest_utf8_seq(p + i, len - i)) == 0)
			return (0);
		i += n;
	}
	return (1);
}

int
manifest_path_valid(const void *buf, size_t len)
{
	const char *p = buf;
	size_t i, start;

	if (p == NULL || len == 0 || len > MANIFEST_PATH_MAX || p[0] == '/')
		return (0);
	if (memchr(p, '\0', len) != NULL)
		return (0);
	for (start = 0; start <= len; start = i + 1) {
		for (i = start; i < len && p[i] != '/'; i++)
			;
		if (i == start)
			return (0);     /* empty component, or trailing '/' */
		if ((i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return (0);
	}
	return (1);
}

char *
manifest_part_name(const void *path, size_t len, uint32_t i, uint32_t n,
    size_t *outlen)
{
	char suffix[64];
	char *out;
	int w, sl;

	if (n == 0 || i == 0 || i > n) {
		warn0("invalid part number %" PRIu32 " of %" PRIu32, i, n);
		return (NULL);
	}
	w = snprintf(suffix, sizeof(suffix), "%" PRIu32, n);
	if (w < 4)
		w = 4;
	sl = snprintf(suffix, sizeof(suffix), ".coffer-part-%0*" PRIu32
	    "-of-%0*" PRIu32, w, i, w, n);
	if ((out = malloc(len + (size_t)sl + 1)) == NULL) {
		warnp("malloc");
		return (NULL);
	}
	memcpy(out, path, len);
	memcpy(out + len, suffix, (size_t)sl + 1);
	if (outlen != NULL)
		*outlen = len + (size_t)sl;
	return (out);
}

void
manifest_entry_init(struct manifest_entry *e)
{

	memset(e, 0, sizeof(*e));
}

void
manifest_entry_clear(struct manifest_entry *e)
{

	if (e == NULL)
		return;
	free(e->path);
	free(e->user);
	free(e->group);
	free(e->target);
	free(e->in);
	free(e->parts);
	manifest_entry_init(e);
}
