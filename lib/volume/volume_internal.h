#ifndef COFFER_VOLUME_INTERNAL_H
#define COFFER_VOLUME_INTERNAL_H

/*
 * volume_internal.h: what lib/volume/common.c, write.c and read.c share.
 * Only these files include <archive.h>, <archive_entry.h> and <zstd.h>.
 */

#define VOLUME_BUFSIZE (1024 * 1024)    /* data, zstd in and out */
#define VOLUME_DIRECT_MIN (64 * 1024)   /* tar writes passed straight on */
#define VOLUME_WINDOWLOG_MAX 27         /* plain `zstd -d` accepts it */
#define VOLUME_DEFAULT_LEVEL 3
#define VOLUME_ZSTD_JOBSIZE (4 * 1024 * 1024) /* per zstd worker job */

/* 64 KiB of zeros, for holes. */
extern const uint8_t volume_zeros[64 * 1024];

/*
 * The SHA-256 of an object and of its payload after the age header, fed
 * with the object's bytes in order.  The header length is known only after
 * age has written or read the header, so the bytes before that are kept.
 */
struct volume_objhash {
	struct crypto_sha256 *all;
	struct crypto_sha256 *payload;
	uint64_t off;           /* bytes seen */
	uint64_t hdr;           /* header length, UINT64_MAX until known */
	uint8_t *pending;       /* bytes [0, npending) while hdr unknown */
	size_t npending;
	size_t pendsize;
};

/* volume_objhash_init(h): 0 or -1.  _free: release h. */
int volume_objhash_init(struct volume_objhash *);
void volume_objhash_free(struct volume_objhash *);
/* volume_objhash_update(h, buf, len): hash the next bytes; 0 or -1. */
int volume_objhash_update(struct volume_objhash *, const void *, size_t);
/* volume_objhash_set_header(h, len): the header is len bytes. */
void volume_objhash_set_header(struct volume_objhash *, uint64_t);
/* volume_hash_zeros(h, n): hash n zero bytes. */
void volume_hash_zeros(struct crypto_sha256 *, uint64_t);

/* volume_locale_enter(): switch this thread to C.UTF-8, returning what
 * volume_locale_leave takes to switch back. */
locale_t volume_locale_enter(void);
void volume_locale_leave(locale_t);

/* volume_type_of(e): e's type (0 if coffer does not know it). */
enum volume_type volume_type_of(struct archive_entry *);
/* volume_entry_describe(e, d): the plain fields of d from e (strings
 * point into e). */
void volume_entry_describe(struct archive_entry *, struct volume_entry *);

#endif
