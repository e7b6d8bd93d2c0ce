#include "compat.h"

#include "base64.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t len, int pad)
{

	if (pad)
		return ((len + 2) / 3 * 4);
	return (len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0));
}

size_t
base64_decoded_maxlen(size_t len)
{

	return (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) + 1);
}

size_t
base64_encode(char *out, const void *in, size_t len, int pad)
{
	const uint8_t *p = in;
	char *o = out;
	uint32_t v;

	for (; len >= 3; len -= 3, p += 3) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (len == 1) {
		v = (uint32_t)p[0] << 16;
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		if (pad) {
			*o++ = '=';
			*o++ = '=';
		}
	} else if (len == 2) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8;
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		if (pad)
			*o++ = '=';
	}
	*o = '\0';
	return ((size_t)(o - out));
}

/* The value of base64 character c, or -1. */
static int
b64val(unsigned char c)
{

	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

int
base64_decode(void *out, size_t *outlen, const char *in, size_t inlen,
    int pad)
{
	uint8_t *o = out;
	uint32_t v;
	size_t i, full, rest;
	int c[4], k;

	if (pad) {
		if (inlen % 4 != 0)
			return (-1);
		if (inlen >= 1 && in[inlen - 1] == '=') {
			inlen--;
			if (in[inlen - 1] == '=')
				inlen--;
		}
	}
	full = inlen / 4;
	rest = inlen % 4;
	if (rest == 1)
		return (-1);
	for (i = 0; i < full; i++, in += 4) {
		for (k = 0; k < 4; k++)
			if ((c[k] = b64val((unsigned char)in[k])) < 0)
				return (-1);
		v = (uint32_t)c[0] << 18 | (uint32_t)c[1] << 12 |
		    (uint32_t)c[2] << 6 | (uint32_t)c[3];
		*o++ = (uint8_t)(v >> 16);
		*o++ = (uint8_t)(v >> 8);
		*o++ = (uint8_t)v;
	}
	if (rest > 0) {
		for (k = 0; k < (int)rest; k++)
			if ((c[k] = b64val((unsigned char)in[k])) < 0)
				return (-1);
		if (rest == 2) {
			/* 12 bits carry 8: the low 4 must be zero. */
			if (c[1] & 0x0f)
				return (-1);
			*o++ = (uint8_t)(c[0] << 2 | c[1] >> 4);
		} else {
			/* 18 bits carry 16: the low 2 must be zero. */
			if (c[2] & 0x03)
				return (-1);
			*o++ = (uint8_t)(c[0] << 2 | c[1] >> 4);
			*o++ = (uint8_t)((c[1] & 0x0f) << 4 | c[2] >> 2);
		}
	}
	*outlen = (size_t)(o - (uint8_t *)out);
	return (0);
}
