#ifndef COFFER_MANIFEST_INTERNAL_H
#define COFFER_MANIFEST_INTERNAL_H

/*
 * manifest_internal.h: what lib/manifest/common.c, encode.c, parse.c and
 * stream.c share.
 */

#endif
