#ifndef COFFER_MANIFEST_INTERNAL_H
#define COFFER_MANIFEST_INTERNAL_H

/*
 * manifest_internal.h: what lib/manifest/common.c, encode.c, parse.c and
 * stream.c share.
 */

/*
 * manifest_utf8_seq(p, avail): the length (2 to 4) of the UTF-8 sequence
 * at p, whose first byte is 0x80 or more, with avail bytes there (at
 * least 1); 0 when it is not valid (a stray continuation byte, an
 * overlong form, a surrogate, above U+10FFFF, cut short).
 */
size_t manifest_utf8_seq(const unsigned char *, size_t);

#endif
