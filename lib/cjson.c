#include "compat.h"

#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "cjson.h"
#include "warnp.h"

/* A growable output buffer; failed marks an allocation failure. */
struct buf {
	char *s;
	size_t len, size;
	int failed;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	size_t nsize;
	char *ns;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->size) {
		nsize = b->size ? b->size : 256;
		while (b->len + n + 1 > nsize)
			nsize *= 2;
		if ((ns = realloc(b->s, nsize)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = ns;
		b->size = nsize;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

/*
 * next_unit(p, end, low): the next UTF-16 code unit of the UTF-8 text at
 * *p; *low holds the pending low surrogate of a pair.  Bytes that are not
 * valid UTF-8 (jansson never hands us any) count as their own value.
 */
static unsigned
next_unit(const unsigned char **pp, const unsigned char *end, unsigned *low)
{
	const unsigned char *p = *pp;
	unsigned c, u;
	size_t n, i;

	if (*low != 0) {
		u = *low;
		*low = 0;
		return u;
	}
	c = *p;
	if (c < 0x80) {
		n = 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
	} else {
		*pp = p + 1;
		return c;
	}
	if ((size_t)(end - p) < n) {
		*pp = p + 1;
		return *p;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*pp = p + 1;
			return *p;
		}
		c = (c << 6) | (p[i] & 0x3f);
	}
	*pp = p + n;
	if (c >= 0x10000) {
		c -= 0x10000;
		*low = 0xdc00 | (c & 0x3ff);
		return 0xd800 | (c >> 10);
	}
	return c;
}

int
cjson_key_cmp(const char *a, const char *b)
{
	const unsigned char *pa = (const unsigned char *)a;
	const unsigned char *pb = (const unsigned char *)b;
	const unsigned char *ea = pa + strlen(a), *eb = pb + strlen(b);
	unsigned la = 0, lb = 0, ua, ub;

	for (;;) {
		if ((pa == ea && la == 0) || (pb == eb && lb == 0))
			break;
		ua = next_unit(&pa, ea, &la);
		ub = next_unit(&pb, eb, &lb);
		if (ua != ub)
			return ua < ub ? -1 : 1;
	}
	if (pa == ea && la == 0)
		return (pb == eb && lb == 0) ? 0 : -1;
	return 1;
}

static void
put_string(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6];
	unsigned char c;
	size_t i, start = 0;

	buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"':
			buf_add(b, "\\\"", 2);
			break;
		case '\\':
			buf_add(b, "\\\\", 2);
			break;
		case '\b':
			buf_add(b, "\\b", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\f':
			buf_add(b, "\\f", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			buf_add(b, esc, 6);
			break;
		}
	}
	buf_add(b, s + start, len - start);
	buf_addc(b, '"');
}

static int
key_qsort_cmp(const void *a, const void *b)
{
	return cjson_key_cmp(*(const char *const *)a, *(const char *const *)b);
}

static int
put_value(struct buf *b, const json_t *v, int depth)
{
	const char **keys = NULL;
	const char *key;
	json_t *member;
	char num[32];
	size_t i, n;
	json_int_t iv;
	int rc = -1;

	if (depth > 1000) {
		warn0("cannot canonicalize JSON: nested too deeply");
		goto cleanup;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		n = json_object_size(v);
		if (n > 0 && (keys = calloc(n, sizeof(*keys))) == NULL) {
			b->failed = 1;
			goto cleanup;
		}
		i = 0;
		json_object_foreach((json_t *)v, key, member) {
			if (i < n)
				keys[i++] = key;
		}
		n = i;
		if (n > 1)
			qsort(keys, n, sizeof(*keys), key_qsort_cmp);
		buf_addc(b, '{');
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			put_string(b, keys[i], strlen(keys[i]));
			buf_addc(b, ':');
			if (put_value(b, json_object_get(v, keys[i]),
			    depth + 1) != 0)
				goto cleanup;
		}
		buf_addc(b, '}');
		break;
	case JSON_ARRAY:
		buf_addc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				buf_addc(b, ',');
			if (put_value(b, json_array_get(v, i), depth + 1) != 0)
				goto cleanup;
		}
		buf_addc(b, ']');
		break;
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		iv = json_integer_value(v);
		if (iv > CJSON_MAX_INT || iv < -CJSON_MAX_INT) {
			warn0("cannot canonicalize JSON: integer %lld is out "
			    "of range (at most 2^53 - 1 in magnitude)",
			    (long long)iv);
			goto cleanup;
		}
		snprintf(num, sizeof(num), "%lld", (long long)iv);
		buf_add(b, num, strlen(num));
		break;
	case JSON_REAL:
		warn0("cannot canonicalize JSON: real numbers are not "
		    "allowed (integers only)");
		goto cleanup;
	case JSON_TRUE:
		buf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		buf_add(b, "false", 5);
		break;
	case JSON_NULL:
		buf_add(b, "null", 4);
		break;
	default:
		warn0("cannot canonicalize JSON: unknown value type");
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(keys);
	return rc;
}

char *
cjson_dumps(const json_t *v, size_t *lenp)
{
	struct buf b = { NULL, 0, 0, 0 };
	char *out = NULL;

	if (v == NULL) {
		warn0("cannot canonicalize JSON: no value");
		goto cleanup;
	}
	if (put_value(&b, v, 0) != 0 && !b.failed)
		goto cleanup;
	if (b.failed || b.s == NULL) {
		errno = ENOMEM;
		warnp("cannot canonicalize JSON");
		goto cleanup;
	}
	out = b.s;
	b.s = NULL;
	if (lenp != NULL)
		*lenp = b.len;
cleanup:
	free(b.s);
	return out;
}
