#ifndef COFFER_CJSON_H
#define COFFER_CJSON_H

#include <stddef.h>

#include <jansson.h>

/*
 * cjson: RFC 8785 JSON Canonicalization Scheme (JCS) over jansson values.
 * Object members are sorted by the UTF-16 code units of their names, no
 * whitespace is written, strings are escaped as ECMAScript's
 * JSON.stringify does (\b \t \n \f \r \" \\, other controls as \u00xx,
 * everything else literal UTF-8).  Numbers are restricted to integers in
 * the IEEE 754 safe range, -(2^53 - 1) .. 2^53 - 1, which RFC 8785 writes
 * in plain decimal; reals are refused, so that every conforming
 * implementation (or a short script) produces the same bytes.
 */

/* The largest integer cjson accepts: 2^53 - 1. */
#define CJSON_MAX_INT 9007199254740991LL

/*
 * cjson_dumps(v, len): the canonical form of v, newly allocated and
 * NUL-terminated (caller frees); *len (may be NULL) receives its length.
 * Returns NULL (reported) when v holds a real, an integer out of range,
 * or on allocation failure.
 */
char *cjson_dumps(const json_t *, size_t *);

/*
 * cjson_key_cmp(a, b): compare two UTF-8 strings by their UTF-16 code
 * units, as RFC 8785 sorts member names: < 0, 0 or > 0.
 */
int cjson_key_cmp(const char *, const char *);

#endif
