#ifndef COFFER_BASE64_H
#define COFFER_BASE64_H

#include <stddef.h>

/*
 * base64: the standard alphabet of RFC 4648, padded or unpadded.  Decoding
 * is strict: no whitespace, no characters outside the alphabet, and only
 * canonical encodings (the unused trailing bits must be zero).
 */

/* base64_encoded_len(len, pad): characters needed for len bytes (no NUL). */
size_t base64_encoded_len(size_t, int);

/* base64_decoded_maxlen(len): at most this many bytes from len chars. */
size_t base64_decoded_maxlen(size_t);

/*
 * base64_encode(out, in, len, pad): write the encoding of in and a NUL to
 * out, which holds base64_encoded_len(len, pad) + 1 bytes.  Returns the
 * length written (without the NUL).
 */
size_t base64_encode(char *, const void *, size_t, int);

/*
 * base64_decode(out, outlen, in, inlen, pad): decode inlen characters into
 * out (base64_decoded_maxlen(inlen) bytes); *outlen receives the count.
 * With pad, the input must be a multiple of 4 with '=' padding; without,
 * any '=' is refused and the length must not be 1 mod 4.  Returns 0, or -1
 * (no message) if the input is not a canonical encoding.
 */
int base64_decode(void *, size_t *, const char *, size_t, int);

#endif
