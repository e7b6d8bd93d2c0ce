/*
 * volume/common.c: what the volume writer and reader share: the locale
 * switch, the object and payload hashes, entry descriptions, and the
 * target adapters.  See write.c for the pipeline and its choices.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "age.h"
#include "crypto.h"
#include "target.h"
#include "util.h"
#include "volume.h"
#include "warnp.h"

#include "volume_internal.h"

const uint8_t volume_zeros[64 * 1024];

int
volume_target_write(void *put, const void *buf, size_t len)
{

	return (target_put_write(put, buf, len));
}

ssize_t
volume_target_read(void *reader, void *buf, size_t len)
{

	return (target_read(reader, buf, len));
}

/* ---------------------------------------------------------------- locale */

static pthread_once_t locale_once = PTHREAD_ONCE_INIT;
static locale_t utf8_locale = (locale_t)0;

static void
locale_init(void)
{

	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Switch this thread to C.UTF-8; returns what to give locale_leave. */
locale_t
volume_locale_enter(void)
{

	pthread_once(&locale_once, locale_init);
	if (utf8_locale == (locale_t)0)
		return ((locale_t)0);
	return (uselocale(utf8_locale));
}

void
volume_locale_leave(locale_t old)
{

	if (old != (locale_t)0)
		uselocale(old);
}

/* ---------------------------------------------------------------- hashes */

int
volume_objhash_init(struct volume_objhash *h)
{

	memset(h, 0, sizeof(*h));
	h->hdr = UINT64_MAX;
	if ((h->all = crypto_sha256_new()) == NULL ||
	    (h->payload = crypto_sha256_new()) == NULL)
		return (-1);
	return (0);
}

void
volume_objhash_free(struct volume_objhash *h)
{

	crypto_sha256_free(h->all);
	crypto_sha256_free(h->payload);
	free(h->pending);
	memset(h, 0, sizeof(*h));
}

int
volume_objhash_update(struct volume_objhash *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t *np;
	size_t ns, skip;

	if (h->all != NULL)
		crypto_sha256_update(h->all, buf, len);
	if (h->payload == NULL) {
		/* Whole object only (volume_reader_whole_hash_only). */
	} else if (h->hdr == UINT64_MAX) {
		if (h->npending + len > h->pendsize) {
			ns = (h->npending + len) * 2 + 1024;
			if ((np = realloc(h->pending, ns)) == NULL) {
				warnp("cannot allocate memory");
				return (-1);
			}
			h->pending = np;
			h->pendsize = ns;
		}
		memcpy(h->pending + h->npending, buf, len);
		h->npending += len;
	} else if (h->off + len > h->hdr) {
		skip = h->off >= h->hdr ? 0 : (size_t)(h->hdr - h->off);
		crypto_sha256_update(h->payload, p + skip, len - skip);
	}
	h->off += len;
	return (0);
}

void
volume_objhash_set_header(struct volume_objhash *h, uint64_t hdr)
{

	h->hdr = hdr;
	if (h->payload != NULL && h->npending > hdr)
		crypto_sha256_update(h->payload, h->pending + hdr,
		    h->npending - (size_t)hdr);
	free(h->pending);
	h->pending = NULL;
	h->npending = h->pendsize = 0;
}

void
volume_hash_zeros(struct crypto_sha256 *h, uint64_t n)
{
	size_t k;

	while (n > 0) {
		k = n > sizeof(volume_zeros) ? sizeof(volume_zeros) : (size_t)n;
		crypto_sha256_update(h, volume_zeros, k);
		n -= k;
	}
}

/* ---------------------------------------------------------------- entries */

enum volume_type
volume_type_of(struct archive_entry *e)
{

	if (archive_entry_hardlink(e) != NULL)
		return (VOLUME_HARDLINK);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return (VOLUME_REG);
	case AE_IFDIR:
		return (VOLUME_DIR);
	case AE_IFLNK:
		return (VOLUME_SYMLINK);
	case AE_IFIFO:
		return (VOLUME_FIFO);
	case AE_IFCHR:
		return (VOLUME_CHR);
	case AE_IFBLK:
		return (VOLUME_BLK);
	default:
		return ((enum volume_type)0);
	}
}

/* Fill the plain fields of an entry description from e. */
void
volume_entry_describe(struct archive_entry *e, struct volume_entry *d)
{

	memset(d, 0, sizeof(*d));
	d->path = archive_entry_pathname(e);
	d->type = volume_type_of(e);
	d->mode = archive_entry_perm(e);
	d->uid = (uint64_t)archive_entry_uid(e);
	d->gid = (uint64_t)archive_entry_gid(e);
	d->uname = archive_entry_uname(e);
	d->gname = archive_entry_gname(e);
	d->mtime_ns = (int64_t)archive_entry_mtime(e) * 1000000000 +
	    archive_entry_mtime_nsec(e);
	d->size = d->type == VOLUME_REG ? (uint64_t)archive_entry_size(e) :
	    0;
	if (d->type == VOLUME_HARDLINK)
		d->link = archive_entry_hardlink(e);
	else if (d->type == VOLUME_SYMLINK)
		d->link = archive_entry_symlink(e);
	if (d->type == VOLUME_CHR || d->type == VOLUME_BLK)
		d->rdev = archive_entry_rdev(e);
}
