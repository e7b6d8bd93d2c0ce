/*
 * manifest/parse.c: one manifest line into an entry.
 *
 * A direct parser of one JSON object, without jansson: json_loadb built a
 * hash table and a value per member of every line, about half the time a
 * restore or an ls spends on a manifest.  The lines come from a vault, so
 * they are untrusted: nothing is read past the given length, nesting is
 * walked without recursion, every count and number is bounded.
 *
 * It accepts exactly what json_loadb(JSON_REJECT_DUPLICATES) followed by
 * the field checks accepted before, and rejects the rest (test-manifest
 * compares the two on many lines):
 *   - RFC 8259 syntax: whitespace is space, tab, newline and carriage
 *     return; no trailing commas, no leading zeros, nothing after the
 *     object but whitespace;
 *   - the text is UTF-8 (as manifest_utf8_valid, and no raw control
 *     characters in strings); escapes are \" \\ \/ \b \f \n \r \t and
 *     \uXXXX, a high surrogate only in a pair with a low one, and no
 *     \u0000 in any string or member name;
 *   - integers fit in 64 bits (jansson's json_int_t), reals do not
 *     overflow a double; a real or a negative number is still refused
 *     where the manifest wants a count;
 *   - a member name appears once in each object, at any depth (names are
 *     compared after escapes are decoded: "a" and "\u0061" are the same);
 *   - values nest at most JSON_DEPTH_MAX deep, counting the line's object
 *     as 1 and every value inside as one more than its container.
 *
 * The work is done in two passes over the line, as jansson did: the first
 * checks the syntax of the whole line and notes where the value of each
 * known member is; the second checks the fields in the order of the old
 * entry_from_json, so a line with several faults names the same one.
 */
#include "compat.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "base64.h"
#include "cjson.h"
#include "label.h"
#include "manifest.h"
#include "util.h"
#include "warnp.h"

#include "manifest_internal.h"

/* The deepest nesting jansson 2.14 accepts (JSON_PARSER_MAX_DEPTH). */
#define JSON_DEPTH_MAX 2048

enum jkind {
	J_NONE = 0,             /* member absent */
	J_STRING,
	J_INT,
	J_REAL,
	J_TRUE,
	J_FALSE,
	J_NULL,
	J_OBJECT,
	J_ARRAY,
};

/* A value found in the first pass. */
struct jval {
	enum jkind kind;
	int esc;                /* J_STRING: has a backslash escape */
	const char *p;          /* J_STRING: after the quote; else the token */
	size_t len;             /* J_STRING: raw bytes to the closing quote;
				 * else bytes of the token or container */
	int64_t i;              /* J_INT */
	size_t n;               /* J_ARRAY, J_OBJECT: elements or members */
};

/* A member name, raw (p NULL: the start of an object's names). */
struct jkey {
	const char *p;
	size_t len;
	int esc;
};

#define JKEYS_INLINE 64

struct lex {
	const char *s;
	size_t pos, len;
	const char *err;        /* the first syntax error */
	size_t errpos;
	struct jkey *keys;      /* names of the open objects */
	size_t nkeys, capkeys;
	struct jkey inl[JKEYS_INLINE];
};

static void
lex_init(struct lex *lx, const char *s, size_t len)
{

	lx->s = s;
	lx->pos = 0;
	lx->len = len;
	lx->err = NULL;
	lx->errpos = 0;
	lx->keys = lx->inl;
	lx->nkeys = 0;
	lx->capkeys = JKEYS_INLINE;
}

static void
lex_release(struct lex *lx)
{

	if (lx->keys != lx->inl)
		free(lx->keys);
	lx->keys = lx->inl;
	lx->nkeys = 0;
	lx->capkeys = JKEYS_INLINE;
}

static int
lex_fail(struct lex *lx, const char *why)
{

	if (lx->err == NULL) {
		lx->err = why;
		lx->errpos = lx->pos;
	}
	return (-1);
}

static void
skip_ws(struct lex *lx)
{
	char c;

	while (lx->pos < lx->len && ((c = lx->s[lx->pos]) == ' ' ||
	    c == '\t' || c == '\n' || c == '\r'))
		lx->pos++;
}

/* The next byte, or -1 at the end. */
static int
peek(const struct lex *lx)
{

	return (lx->pos < lx->len ? (unsigned char)lx->s[lx->pos] : -1);
}

/* The value of the 4 hex digits at p (avail bytes there), or -1. */
static int32_t
hex4(const char *p, size_t avail)
{
	int32_t v = 0;
	size_t i;
	char c;

	if (avail < 4)
		return (-1);
	for (i = 0; i < 4; i++) {
		c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v += c - '0';
		else if (c >= 'a' && c <= 'f')
			v += c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v += c - 'A' + 10;
		else
			return (-1);
	}
	return (v);
}

/* Bytes that stand for themselves in a string: printable ASCII but the
 * quote and the backslash. */
static int
plain(unsigned char c)
{

	return (c >= 0x20 && c < 0x80 && c != '"' && c != '\\');
}

/* A string at pos (at its '"'). */
static int
scan_string(struct lex *lx, struct jval *v)
{
	const char *s = lx->s;
	size_t start, n;
	int32_t u, u2;
	unsigned char c;

	lx->pos++;
	start = lx->pos;
	v->esc = 0;
	for (;;) {
		while (lx->pos < lx->len && plain((unsigned char)s[lx->pos]))
			lx->pos++;
		if (lx->pos >= lx->len)
			return (lex_fail(lx, "unterminated string"));
		c = (unsigned char)s[lx->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return (lex_fail(lx, "control character in a string"));
		if (c >= 0x80) {
			if ((n = manifest_utf8_seq((const unsigned char *)s +
			    lx->pos, lx->len - lx->pos)) == 0)
				return (lex_fail(lx, "invalid UTF-8"));
			lx->pos += n;
			continue;
		}
		/* A backslash. */
		v->esc = 1;
		if (lx->len - lx->pos < 2)
			return (lex_fail(lx, "unterminated string"));
		switch (s[lx->pos + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			lx->pos += 2;
			continue;
		case 'u':
			break;
		default:
			return (lex_fail(lx, "invalid escape"));
		}
		if ((u = hex4(s + lx->pos + 2, lx->len - lx->pos - 2)) < 0)
			return (lex_fail(lx, "invalid \\u escape"));
		if (u == 0)
			return (lex_fail(lx, "\\u0000 is not allowed"));
		if (u >= 0xdc00 && u <= 0xdfff)
			return (lex_fail(lx, "lone surrogate"));
		if (u >= 0xd800 && u <= 0xdbff) {
			if (lx->len - lx->pos < 12 || s[lx->pos + 6] != '\\' ||
			    s[lx->pos + 7] != 'u')
				return (lex_fail(lx, "lone surrogate"));
			u2 = hex4(s + lx->pos + 8, lx->len - lx->pos - 8);
			if (u2 < 0xdc00 || u2 > 0xdfff)
				return (lex_fail(lx, "invalid surrogate pair"));
			lx->pos += 6;
		}
		lx->pos += 6;
	}
	v->kind = J_STRING;
	v->p = s + start;
	v->len = lx->pos - start;
	lx->pos++;
	return (0);
}

static int
isdigit_(int c)
{

	return (c >= '0' && c <= '9');
}

/* A number at pos. */
static int
scan_number(struct lex *lx, struct jval *v)
{
	const char *s = lx->s;
	size_t start = lx->pos, digits, i;
	uint64_t mag = 0, lim;
	char tmp[64], *buf;
	double d;
	int neg = 0, real = 0, c;

	if (peek(lx) == '-') {
		neg = 1;
		lx->pos++;
	}
	digits = lx->pos;
	if (peek(lx) == '0') {
		lx->pos++;
		if (isdigit_(peek(lx)))
			return (lex_fail(lx, "leading zero in a number"));
	} else if (isdigit_(peek(lx))) {
		while (isdigit_(peek(lx)))
			lx->pos++;
	} else
		return (lex_fail(lx, "invalid number"));
	if (peek(lx) == '.') {
		lx->pos++;
		if (!isdigit_(peek(lx)))
			return (lex_fail(lx, "invalid number"));
		while (isdigit_(peek(lx)))
			lx->pos++;
		real = 1;
	}
	if ((c = peek(lx)) == 'e' || c == 'E') {
		lx->pos++;
		if ((c = peek(lx)) == '+' || c == '-')
			lx->pos++;
		if (!isdigit_(peek(lx)))
			return (lex_fail(lx, "invalid number"));
		while (isdigit_(peek(lx)))
			lx->pos++;
		real = 1;
	}
	v->p = s + start;
	v->len = lx->pos - start;
	if (!real) {
		/* As strtoll: -2^63 .. 2^63 - 1. */
		lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		for (i = digits; i < lx->pos; i++) {
			if (mag > (lim - (uint64_t)(s[i] - '0')) / 10)
				return (lex_fail(lx, "integer out of range"));
			mag = mag * 10 + (uint64_t)(s[i] - '0');
		}
		v->kind = J_INT;
		v->i = !neg ? (int64_t)mag : mag == (uint64_t)INT64_MAX + 1 ?
		    INT64_MIN : -(int64_t)mag;
		return (0);
	}
	/* A real only has to be finite, as strtod reads it (jansson).  The
	 * C locale's '.' (coffer never calls setlocale). */
	if (v->len < sizeof(tmp))
		buf = tmp;
	else if ((buf = malloc(v->len + 1)) == NULL)
		return (lex_fail(lx, "out of memory"));
	memcpy(buf, v->p, v->len);
	buf[v->len] = '\0';
	errno = 0;
	d = strtod(buf, NULL);
	if (buf != tmp)
		free(buf);
	if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
		return (lex_fail(lx, "real number out of range"));
	v->kind = J_REAL;
	return (0);
}

/* true, false or null at pos. */
static int
scan_literal(struct lex *lx, struct jval *v)
{
	static const struct {
		const char *word;
		size_t len;
		enum jkind kind;
	} lit[] = {
		{ "true", 4, J_TRUE }, { "false", 5, J_FALSE },
		{ "null", 4, J_NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lit); i++) {
		if (lx->len - lx->pos >= lit[i].len &&
		    memcmp(lx->s + lx->pos, lit[i].word, lit[i].len) == 0) {
			v->kind = lit[i].kind;
			v->p = lx->s + lx->pos;
			v->len = lit[i].len;
			lx->pos += lit[i].len;
			return (0);
		}
	}
	return (lex_fail(lx, "invalid literal"));
}

/* A string, number or literal at pos. */
static int
scan_scalar(struct lex *lx, struct jval *v)
{
	int c = peek(lx);

	if (c == '"')
		return (scan_string(lx, v));
	if (c == '-' || isdigit_(c))
		return (scan_number(lx, v));
	if (c == 't' || c == 'f' || c == 'n')
		return (scan_literal(lx, v));
	return (lex_fail(lx, c < 0 ? "unexpected end of line" :
	    "unexpected character"));
}

/* ------------------------------------------------------- member names */

/* Decoding a checked string, a byte at a time. */
struct dec {
	const unsigned char *p, *end;
	unsigned char pend[4];
	unsigned npend, ipend;
};

static void
dec_init(struct dec *d, const char *p, size_t len)
{

	d->p = (const unsigned char *)p;
	d->end = d->p + len;
	d->npend = d->ipend = 0;
}

/* The next byte, or -1 at the end.  Only for strings scan_string took. */
static int
dec_next(struct dec *d)
{
	uint32_t u;
	unsigned c;

	if (d->ipend < d->npend)
		return (d->pend[d->ipend++]);
	if (d->p >= d->end)
		return (-1);
	if (*d->p != '\\')
		return (*d->p++);
	c = d->p[1];
	d->p += 2;
	switch (c) {
	case 'b':
		return ('\b');
	case 'f':
		return ('\f');
	case 'n':
		return ('\n');
	case 'r':
		return ('\r');
	case 't':
		return ('\t');
	case 'u':
		break;
	default:                /* " \ / */
		return ((int)c);
	}
	u = (uint32_t)hex4((const char *)d->p, 4);
	d->p += 4;
	if (u >= 0xd800 && u <= 0xdbff) {
		u = 0x10000 + ((u - 0xd800) << 10) +
		    ((uint32_t)hex4((const char *)d->p + 2, 4) - 0xdc00);
		d->p += 6;
	}
	d->ipend = 1;
	if (u < 0x80) {
		d->npend = 0;
		return ((int)u);
	} else if (u < 0x800) {
		d->pend[0] = (unsigned char)(0xc0 | (u >> 6));
		d->pend[1] = (unsigned char)(0x80 | (u & 0x3f));
		d->npend = 2;
	} else if (u < 0x10000) {
		d->pend[0] = (unsigned char)(0xe0 | (u >> 12));
		d->pend[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
		d->pend[2] = (unsigned char)(0x80 | (u & 0x3f));
		d->npend = 3;
	} else {
		d->pend[0] = (unsigned char)(0xf0 | (u >> 18));
		d->pend[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3f));
		d->pend[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
		d->pend[3] = (unsigned char)(0x80 | (u & 0x3f));
		d->npend = 4;
	}
	return (d->pend[0]);
}

/*
 * dec_copy(p, len, esc, out, cap): decode the checked string into out (at
 * most cap bytes written); returns its whole decoded length.
 */
static size_t
dec_copy(const char *p, size_t len, int esc, char *out, size_t cap)
{
	struct dec d;
	size_t n = 0;
	int c;

	if (!esc) {
		memcpy(out, p, len < cap ? len : cap);
		return (len);
	}
	dec_init(&d, p, len);
	while ((c = dec_next(&d)) >= 0) {
		if (n < cap)
			out[n] = (char)c;
		n++;
	}
	return (n);
}

/* Order of two names by their decoded bytes. */
static int
key_cmp(const void *va, const void *vb)
{
	const struct jkey *a = va, *b = vb;
	struct dec da, db;
	size_t n;
	int ca, cb, r;

	if (!a->esc && !b->esc) {
		n = a->len < b->len ? a->len : b->len;
		if ((r = memcmp(a->p, b->p, n)) != 0)
			return (r);
		return (a->len < b->len ? -1 : a->len > b->len);
	}
	dec_init(&da, a->p, a->len);
	dec_init(&db, b->p, b->len);
	do {
		ca = dec_next(&da);
		cb = dec_next(&db);
	} while (ca == cb && ca >= 0);
	return (ca < cb ? -1 : ca > cb);
}

static int
key_push(struct lex *lx, const char *p, size_t len, int esc)
{
	struct jkey *nk;
	size_t ncap;

	if (lx->nkeys == lx->capkeys) {
		ncap = lx->capkeys * 2;
		if (lx->keys == lx->inl) {
			if ((nk = malloc(ncap * sizeof(*nk))) == NULL)
				return (lex_fail(lx, "out of memory"));
			memcpy(nk, lx->inl, sizeof(lx->inl));
		} else if ((nk = realloc(lx->keys, ncap * sizeof(*nk))) ==
		    NULL)
			return (lex_fail(lx, "out of memory"));
		lx->keys = nk;
		lx->capkeys = ncap;
	}
	lx->keys[lx->nkeys].p = p;
	lx->keys[lx->nkeys].len = len;
	lx->keys[lx->nkeys].esc = esc;
	lx->nkeys++;
	return (0);
}

/* Any name twice among keys[from..nkeys)?  Then the names are dropped. */
static int
keys_check(struct lex *lx, size_t from)
{
	struct jkey *k = lx->keys + from;
	size_t n = lx->nkeys - from, i, j;
	int dup = 0;

	if (n > 8) {
		qsort(k, n, sizeof(*k), key_cmp);
		for (i = 1; i < n && !dup; i++)
			dup = key_cmp(&k[i - 1], &k[i]) == 0;
	} else {
		for (i = 0; i < n && !dup; i++)
			for (j = i + 1; j < n && !dup; j++)
				dup = key_cmp(&k[i], &k[j]) == 0;
	}
	lx->nkeys = from;
	return (dup ? lex_fail(lx, "duplicate member name") : 0);
}

/* At an object's '"': its name, the ':' and the whitespace after it. */
static int
member_name(struct lex *lx, struct jval *k)
{

	if (peek(lx) != '"')
		return (lex_fail(lx, "'\"' (a member name) expected"));
	if (scan_string(lx, k) != 0)
		return (-1);
	skip_ws(lx);
	if (peek(lx) != ':')
		return (lex_fail(lx, "':' expected"));
	lx->pos++;
	skip_ws(lx);
	return (0);
}

/*
 * skip_container(lx, depth, n): the array or object at pos, at nesting
 * depth, checked (names too) without recursion; *n receives the number
 * of its elements or members.
 */
static int
skip_container(struct lex *lx, unsigned depth, size_t *n)
{
	/* Whether each open container is an object; the marker in lx->keys
	 * of where an object's names start is found by scanning back. */
	unsigned char isobj[JSON_DEPTH_MAX / 8 + 1];
	unsigned h = 0;         /* open containers */
	struct jval v, k;
	size_t m;
	int c;

	*n = 0;
	for (;;) {
		/* A value starts at pos, at depth depth + h. */
		if (depth + h > JSON_DEPTH_MAX)
			return (lex_fail(lx, "nested too deeply"));
		if (h == 1)
			(*n)++;
		c = peek(lx);
		if (c == '{' || c == '[') {
			if (c == '{')
				isobj[h / 8] |= (unsigned char)(1 << (h % 8));
			else
				isobj[h / 8] &= (unsigned char)~(1 << (h % 8));
			h++;
			lx->pos++;
			skip_ws(lx);
			if (c == '{' && key_push(lx, NULL, 0, 0) != 0)
				return (-1);
			if (peek(lx) != (c == '{' ? '}' : ']')) {
				if (c == '{' && (member_name(lx, &k) != 0 ||
				    key_push(lx, k.p, k.len, k.esc) != 0))
					return (-1);
				continue;
			}
			/* Empty: closed below. */
		} else if (scan_scalar(lx, &v) != 0)
			return (-1);
		/* After a value: a comma, or the end of containers. */
		for (;;) {
			if (h == 0)
				return (0);
			skip_ws(lx);
			c = peek(lx);
			if (isobj[(h - 1) / 8] & (1 << ((h - 1) % 8))) {
				if (c == '}') {
					lx->pos++;
					for (m = lx->nkeys; lx->keys[m - 1].p !=
					    NULL; m--)
						;
					if (keys_check(lx, m) != 0)
						return (-1);
					lx->nkeys = m - 1;      /* the marker */
					h--;
					continue;
				}
				if (c != ',')
					return (lex_fail(lx,
					    "',' or '}' expected"));
				lx->pos++;
				skip_ws(lx);
				if (member_name(lx, &k) != 0 ||
				    key_push(lx, k.p, k.len, k.esc) != 0)
					return (-1);
				break;
			}
			if (c == ']') {
				lx->pos++;
				h--;
				continue;
			}
			if (c != ',')
				return (lex_fail(lx, "',' or ']' expected"));
			lx->pos++;
			skip_ws(lx);
			break;
		}
	}
}

/* Any value at pos, at nesting depth. */
static int
scan_value(struct lex *lx, unsigned depth, struct jval *v)
{
	size_t start = lx->pos;
	int c = peek(lx);

	if (depth > JSON_DEPTH_MAX)
		return (lex_fail(lx, "nested too deeply"));
	if (c != '{' && c != '[')
		return (scan_scalar(lx, v));
	if (skip_container(lx, depth, &v->n) != 0)
		return (-1);
	v->kind = c == '{' ? J_OBJECT : J_ARRAY;
	v->p = lx->s + start;
	v->len = lx->pos - start;
	return (0);
}

/* ----------------------------------------------------- the first pass */

enum {
	K_DELETED, K_DEVMAJOR, K_DEVMINOR, K_GID, K_GROUP, K_IN,
	K_LINK_GROUP, K_MODE, K_MTIME, K_MTIME_NSEC, K_PARTS, K_PATH,
	K_PATH_B64, K_SHA256, K_SIZE, K_TARGET, K_TARGET_B64, K_TYPE, K_UID,
	K_USER, K_VOLUME, K_COUNT
};

static const char *const entry_keys[K_COUNT + 1] = {
	"deleted", "devmajor", "devminor", "gid", "group", "in",
	"link_group", "mode", "mtime", "mtime_nsec", "parts", "path",
	"path_b64", "sha256", "size", "target", "target_b64", "type", "uid",
	"user", "volume", NULL
};

enum { P_OFFSET, P_SHA256, P_SIZE, P_VOLUME, P_COUNT };

static const char *const part_keys[P_COUNT + 1] = {
	"offset", "sha256", "size", "volume", NULL
};

/* The index of the member name k in names, or -1. */
static int
key_index(const struct jval *k, const char *const *names)
{
	char buf[16];
	const char *p = k->p;
	size_t len = k->len, i;

	if (k->esc) {
		if ((len = dec_copy(k->p, k->len, 1, buf, sizeof(buf))) >
		    sizeof(buf))
			return (-1);
		p = buf;
	}
	/* p holds no NUL, so strncmp stops within names[i]. */
	for (i = 0; len > 0 && names[i] != NULL; i++)
		if (names[i][0] == p[0] && strncmp(names[i], p, len) == 0 &&
		    names[i][len] == '\0')
			return ((int)i);
	return (-1);
}

/*
 * scan_object(lx, depth, names, vals): the object at pos, at nesting
 * depth: the value of each member named in names into vals (J_NONE when
 * absent), the others checked and skipped.
 */
static int
scan_object(struct lex *lx, unsigned depth, const char *const *names,
    struct jval *vals)
{
	struct jval k, other;
	size_t from = lx->nkeys;
	int idx;

	if (depth > JSON_DEPTH_MAX)
		return (lex_fail(lx, "nested too deeply"));
	lx->pos++;
	skip_ws(lx);
	if (peek(lx) == '}') {
		lx->pos++;
		return (0);
	}
	for (;;) {
		if (member_name(lx, &k) != 0)
			return (-1);
		if ((idx = key_index(&k, names)) >= 0 &&
		    vals[idx].kind != J_NONE) {
			lx->pos = (size_t)(k.p - lx->s);
			return (lex_fail(lx, "duplicate member name"));
		}
		if (idx < 0 && key_push(lx, k.p, k.len, k.esc) != 0)
			return (-1);
		if (scan_value(lx, depth + 1, idx >= 0 ? &vals[idx] :
		    &other) != 0)
			return (-1);
		skip_ws(lx);
		if (peek(lx) == '}')
			break;
		if (peek(lx) != ',')
			return (lex_fail(lx, "',' or '}' expected"));
		lx->pos++;
		skip_ws(lx);
	}
	lx->pos++;
	/* Unknown names cannot equal known ones, only each other. */
	return (keys_check(lx, from));
}

/* ---------------------------------------------------- the second pass */

struct perr {
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
get_u64(const struct jval *v, const char *key, uint64_t max, uint64_t *out,
    struct perr *pe)
{

	if (v->kind == J_NONE)
		return (0);
	if (v->kind != J_INT || v->i < 0 || (uint64_t)v->i > max)
		return (fail(pe, key, "must be a number in range"));
	*out = (uint64_t)v->i;
	return (1);
}

/* A string field: 1 present, 0 absent, -1 bad.  (The first pass took
 * only UTF-8 without NUL.) */
static int
get_str(const struct jval *v, const char *key, struct perr *pe)
{

	if (v->kind == J_NONE)
		return (0);
	if (v->kind != J_STRING)
		return (fail(pe, key, "must be a string"));
	return (1);
}

/* A short string field decoded into buf (cap bytes); *len its whole
 * length, which may exceed cap. */
static int
get_short(const struct jval *v, const char *key, char *buf, size_t cap,
    size_t *len, struct perr *pe)
{
	int r;

	if ((r = get_str(v, key, pe)) <= 0)
		return (r);
	*len = dec_copy(v->p, v->len, v->esc, buf, cap - 1);
	buf[*len < cap - 1 ? *len : cap - 1] = '\0';
	return (1);
}

/* A string field as a new NUL-terminated string, *len bytes long. */
static int
get_dup(const struct jval *v, const char *key, char **out, size_t *len,
    struct perr *pe)
{
	int r;

	if ((r = get_str(v, key, pe)) <= 0)
		return (r);
	if ((*out = malloc(v->len + 1)) == NULL)
		return (fail(pe, key, "out of memory"));
	*len = dec_copy(v->p, v->len, v->esc, *out, v->len);
	(*out)[*len] = '\0';
	return (1);
}

static int
get_hex(const struct jval *v, const char *key, uint8_t out[32],
    struct perr *pe)
{
	char s[66];
	size_t len, i;
	int r;

	if ((r = get_short(v, key, s, sizeof(s), &len, pe)) <= 0)
		return (r);
	for (i = 0; i < len && i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			break;
	if (len != 64 || i != len || util_unhex(out, s, 32) != 0)
		return (fail(pe, key, "must be 64 lower-case hex digits"));
	return (1);
}

/* "path" or "path_b64" into a new NUL-terminated buffer. */
static int
get_bytes(const struct jval *v, const struct jval *v64, const char *key,
    const char *key_b64, char **out, size_t *outlen, struct perr *pe)
{
	char *text = NULL, *b = NULL;
	size_t tlen, dlen;
	int r, r64;

	if ((r = get_str(v, key, pe)) < 0 ||
	    (r64 = get_str(v64, key_b64, pe)) < 0)
		return (-1);
	if (r && r64)
		return (fail(pe, key, "given twice (also as base64)"));
	if (!r && !r64)
		return (0);
	if (r)
		return (get_dup(v, key, out, outlen, pe));
	if (get_dup(v64, key_b64, &text, &tlen, pe) < 0)
		return (-1);
	if ((b = malloc(base64_decoded_maxlen(tlen) + 1)) == NULL) {
		free(text);
		return (fail(pe, key, "out of memory"));
	}
	if (base64_decode(b, &dlen, text, tlen, 1) != 0) {
		free(text);
		free(b);
		return (fail(pe, key_b64, "is not canonical base64"));
	}
	free(text);
	b[dlen] = '\0';
	*out = b;
	*outlen = dlen;
	return (1);
}

/* The parts array (checked in the first pass), element by element. */
static int
get_parts(const struct jval *a, struct manifest_entry *e, struct perr *pe)
{
	struct jval pv[P_COUNT];
	struct manifest_part *p;
	struct lex lx;
	uint64_t v;
	size_t i, cap = 0, ncap;
	int r, rc = -1;

	if (a->kind == J_NONE)
		return (0);
	if (a->kind != J_ARRAY || a->n < 1)
		return (fail(pe, "parts", "must be a non-empty array"));
	/* Scanned again from its '[', at the depth it had: the elements
	 * at 3 and their members at 4. */
	lex_init(&lx, a->p, a->len);
	lx.pos = 1;
	for (i = 0; i < a->n; i++) {
		/*
		 * Grown as the parts prove valid (each takes 30 bytes of the
		 * line at least), not allocated for the element count: an
		 * array of a million "{}" would have cost 100 MB a line
		 * before its first element was refused.
		 */
		if (i == cap) {
			ncap = cap == 0 ? 16 : cap * 2;
			if (ncap > a->n)
				ncap = a->n;
			if ((p = reallocarray(e->parts, ncap, sizeof(*p))) ==
			    NULL) {
				rc = fail(pe, "parts", "out of memory");
				goto cleanup;
			}
			memset(p + cap, 0, (ncap - cap) * sizeof(*p));
			e->parts = p;
			cap = ncap;
		}
		e->nparts = i + 1;
		p = &e->parts[i];
		skip_ws(&lx);
		if (peek(&lx) != '{') {
			rc = fail(pe, "parts", "must hold objects");
			goto cleanup;
		}
		memset(pv, 0, sizeof(pv));
		if (scan_object(&lx, 3, part_keys, pv) != 0) {
			rc = fail(pe, "parts", "cannot be read again");
			goto cleanup;
		}
		skip_ws(&lx);
		if (i + 1 < a->n && peek(&lx) == ',')
			lx.pos++;
		if (get_u64(&pv[P_VOLUME], "volume", UINT32_MAX, &v, pe) != 1 ||
		    v == 0) {
			rc = fail(pe, "parts", "need a volume >= 1");
			goto cleanup;
		}
		p->volume = (uint32_t)v;
		if (get_u64(&pv[P_OFFSET], "offset", CJSON_MAX_INT, &p->offset,
		    pe) != 1) {
			rc = fail(pe, "parts", "need an offset");
			goto cleanup;
		}
		if (get_u64(&pv[P_SIZE], "size", CJSON_MAX_INT, &p->size,
		    pe) != 1) {
			rc = fail(pe, "parts", "need a size");
			goto cleanup;
		}
		if ((r = get_hex(&pv[P_SHA256], "sha256", p->sha256, pe)) < 0)
			goto cleanup;
		p->has_sha256 = r;
	}
	rc = 1;
cleanup:
	lex_release(&lx);
	return (rc);
}

/* The fields, in the order (and with the words) of the jansson version. */
static int
entry_from_vals(const struct jval *o, struct manifest_entry *e,
    struct perr *pe)
{
	char s[16];
	size_t len;
	uint64_t v, v2;
	int r;

	if ((r = get_bytes(&o[K_PATH], &o[K_PATH_B64], "path", "path_b64",
	    &e->path, &e->path_len, pe)) < 0)
		return (-1);
	if (r == 0)
		return (fail(pe, "path", "is missing"));
	if (!manifest_path_valid(e->path, e->path_len))
		return (fail(pe, "path", "is not a clean relative path"));
	if (o[K_DELETED].kind != J_NONE) {
		if (o[K_DELETED].kind != J_TRUE && o[K_DELETED].kind != J_FALSE)
			return (fail(pe, "deleted", "must be a boolean"));
		e->deleted = o[K_DELETED].kind == J_TRUE;
	}
	if ((r = get_short(&o[K_TYPE], "type", s, sizeof(s), &len, pe)) < 0)
		return (-1);
	if (r) {
		if (len >= sizeof(s) ||
		    (e->type = manifest_type_parse(s)) == MANIFEST_NONE)
			return (fail(pe, "type", "is not a known type"));
	} else if (!e->deleted)
		return (fail(pe, "type", "is missing"));
	if ((r = get_u64(&o[K_SIZE], "size", CJSON_MAX_INT, &e->size, pe)) < 0)
		return (-1);
	e->has_size = r;
	if ((r = get_short(&o[K_MODE], "mode", s, sizeof(s), &len, pe)) < 0)
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
	if ((r = get_u64(&o[K_UID], "uid", UINT32_MAX, &v, pe)) < 0 ||
	    (r != 0) != (o[K_GID].kind != J_NONE))
		return (r < 0 ? -1 : fail(pe, "uid", "needs gid with it"));
	if (r) {
		if (get_u64(&o[K_GID], "gid", UINT32_MAX, &v2, pe) != 1)
			return (-1);
		e->uid = (uint32_t)v;
		e->gid = (uint32_t)v2;
		e->has_owner = 1;
	}
	if (get_dup(&o[K_USER], "user", &e->user, &len, pe) < 0 ||
	    get_dup(&o[K_GROUP], "group", &e->group, &len, pe) < 0)
		return (-1);
	if (o[K_MTIME].kind != J_NONE) {
		if (o[K_MTIME].kind != J_INT)
			return (fail(pe, "mtime", "must be a number"));
		e->mtime = o[K_MTIME].i;
		if ((r = get_u64(&o[K_MTIME_NSEC], "mtime_nsec", 999999999, &v,
		    pe)) < 0)
			return (-1);
		e->mtime_nsec = (uint32_t)(r ? v : 0);
		e->has_mtime = 1;
	} else if (o[K_MTIME_NSEC].kind != J_NONE)
		return (fail(pe, "mtime_nsec", "without mtime"));
	if ((r = get_hex(&o[K_SHA256], "sha256", e->sha256, pe)) < 0)
		return (-1);
	e->has_sha256 = r;
	if ((r = get_bytes(&o[K_TARGET], &o[K_TARGET_B64], "target",
	    "target_b64", &e->target, &e->target_len, pe)) < 0)
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
	if (get_u64(&o[K_LINK_GROUP], "link_group", CJSON_MAX_INT,
	    &e->link_group, pe) < 0)
		return (-1);
	if ((r = get_u64(&o[K_DEVMAJOR], "devmajor", UINT32_MAX, &v, pe)) < 0 ||
	    (r != 0) != (o[K_DEVMINOR].kind != J_NONE))
		return (r < 0 ? -1 : fail(pe, "devmajor",
		    "needs devminor with it"));
	if (r) {
		if (get_u64(&o[K_DEVMINOR], "devminor", UINT32_MAX, &v2,
		    pe) != 1)
			return (-1);
		e->devmajor = (uint32_t)v;
		e->devminor = (uint32_t)v2;
		e->has_dev = 1;
	}
	v = 0;
	if ((r = get_u64(&o[K_VOLUME], "volume", UINT32_MAX, &v, pe)) < 0)
		return (-1);
	if (r && v == 0)
		return (fail(pe, "volume", "must be at least 1"));
	e->volume = (uint32_t)v;
	if ((r = get_dup(&o[K_IN], "in", &e->in, &len, pe)) < 0)
		return (-1);
	if (r && !label_valid(e->in))
		return (fail(pe, "in", "is not a set label"));
	if (get_parts(&o[K_PARTS], e, pe) < 0)
		return (-1);
	return (0);
}

int
manifest_entry_parse(const char *line, size_t len, unsigned long long lineno,
    struct manifest_entry *e)
{
	struct jval vals[K_COUNT], top;
	struct perr pe = { NULL, NULL };
	struct lex lx;
	char where[48] = "";
	int rc = -1, isobj = 0;

	manifest_entry_init(e);
	memset(vals, 0, sizeof(vals));
	lex_init(&lx, line, line != NULL ? len : 0);
	if (lineno != 0)
		snprintf(where, sizeof(where), " line %llu", lineno);
	if (len > MANIFEST_LINE_MAX) {
		warn0("manifest%s: line too long", where);
		goto cleanup;
	}
	/* First pass: the syntax of the whole line. */
	skip_ws(&lx);
	if (peek(&lx) == '{') {
		isobj = 1;
		(void)scan_object(&lx, 1, entry_keys, vals);
	} else if (peek(&lx) == '[')
		(void)scan_value(&lx, 1, &top);
	else
		(void)lex_fail(&lx, "'{' expected");
	if (lx.err == NULL) {
		skip_ws(&lx);
		if (lx.pos != lx.len)
			(void)lex_fail(&lx, "data after the object");
	}
	if (lx.err != NULL) {
		warn0("manifest%s: invalid JSON: %s at byte %zu", where,
		    lx.err, lx.errpos + 1);
		goto cleanup;
	}
	/* Second pass: the fields. */
	if (!isobj)
		(void)fail(&pe, NULL, "not a JSON object");
	else if (entry_from_vals(vals, e, &pe) == 0)
		rc = 0;
	if (rc != 0) {
		if (pe.key != NULL)
			warn0("manifest%s: field '%s' %s", where, pe.key,
			    pe.why);
		else
			warn0("manifest%s: %s", where, pe.why);
	}
cleanup:
	if (rc != 0)
		manifest_entry_clear(e);
	lex_release(&lx);
	return (rc);
}
