/*
 * prehash.c: checking volumes while the identity is unlocked.
 *
 * A passphrase unlock (scrypt) keeps one core busy for most of a second
 * before anything can be decrypted, not even the manifests.  Meanwhile
 * the volumes of the set's chain are hashed and compared with the signed
 * set.json, each through a reader that is then rewound, not closed: the
 * extraction reads the same open file again (a local vault; a volume
 * renamed into place since is not the one read, and the file is in the
 * page cache).  The extraction still hashes what it reads: the file
 * itself may have been written to since, and a volume's extended
 * attributes and ACLs are checked by nothing else (the manifest does not
 * list them).  Volumes not finished when the identity is ready, or that
 * do not match, are read during extraction as before, which also reports
 * them: nothing is reported from here.
 */
#include "compat.h"

#include <sys/resource.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "restore.h"
#include "set.h"
#include "target.h"
#include "util.h"
#include "warnp.h"
#include "restore_internal.h"

/* At most this many readers are kept open (one descriptor each), and
 * at most an eighth of the limit on descriptors: the extraction and the
 * verifier thread (a quarter) need theirs. */
#define PREHASH_MAX 64

static size_t
prehash_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return (0);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 8 > PREHASH_MAX)
		return (PREHASH_MAX);
	return ((size_t)rl.rlim_cur / 8);
}

static int
ready(const struct ctx *c)
{
	const struct restore_opts *o = c->o;

	return (o->ids != NULL || o->ids_ready == NULL ||
	    o->ids_ready(o->ids_cookie));
}

/*
 * Hash object obj of set label through a new reader: the reader, rewound,
 * when it matches set.json; NULL when not, when it cannot be read, or
 * when the identity became ready first.
 */
static struct target_reader *
hash_one(struct ctx *c, const char *label, const struct set_object *obj)
{
	struct target_reader *tr;
	struct crypto_sha256 *h = NULL;
	uint8_t sha[CRYPTO_SHA256_LEN];
	uint64_t size = 0;
	char *name;
	ssize_t n;

	if ((name = set_path(c->o->host, label, obj->name)) == NULL)
		return (NULL);
	tr = target_open_read(c->o->target, name, 0);
	free(name);
	if (tr == NULL || (h = crypto_sha256_new()) == NULL)
		goto fail;
	while ((n = target_read(tr, c->buf, RBUF_SIZE)) > 0) {
		crypto_sha256_update(h, c->buf, (size_t)n);
		size += (uint64_t)n;
		if (ready(c))
			goto fail;
	}
	if (n < 0 || size != obj->size)
		goto fail;
	crypto_sha256_final(h, sha);
	if (!crypto_memeq(sha, obj->sha256, sizeof(sha)) ||
	    target_reader_rewind(tr) != 0)
		goto fail;
	crypto_sha256_free(h);
	return (tr);

fail:
	crypto_sha256_free(h);
	target_reader_close(tr);
	return (NULL);
}

void
restore_prehash(struct ctx *c, const char *label)
{
	struct set_header h;
	struct prehashed *p;
	struct target_reader *tr;
	const char *next;
	char *cur;
	size_t i, depth, max = prehash_max();
	int r;

	if (max == 0 || ready(c) || (cur = util_strdup(label)) == NULL)
		return;
	/* Nothing from here is an error: the extraction says it again. */
	warnp_mute(1);
	for (depth = 0; cur != NULL && depth < CHAIN_MAX; depth++) {
		memset(&h, 0, sizeof(h));
		r = set_load(c->o->target, c->o->host, cur, c->o->pinned, &h,
		    0);
		for (i = 0; r == SET_LOAD_OK && i < h.nobjects; i++) {
			if (h.objects[i].role != SET_ROLE_VOLUME)
				continue;
			if (ready(c) || c->npre == max)
				break;
			if ((tr = hash_one(c, cur, &h.objects[i])) == NULL)
				continue;
			if ((p = reallocarray(c->pre, c->npre + 1,
			    sizeof(*p))) == NULL) {
				target_reader_close(tr);
				break;
			}
			c->pre = p;
			p += c->npre;
			p->label = util_strdup(cur);
			p->volume = util_strdup(h.objects[i].name);
			p->tr = tr;
			if (p->label == NULL || p->volume == NULL) {
				free(p->label);
				free(p->volume);
				target_reader_close(tr);
				break;
			}
			c->npre++;
		}
		next = r == SET_LOAD_OK && h.nparents > 0 && !ready(c) &&
		    c->npre < max ? h.parents[0] : NULL;
		free(cur);
		cur = next != NULL ? util_strdup(next) : NULL;
		set_header_clear(&h);
	}
	free(cur);
	warnp_mute(0);
}

struct target_reader *
restore_prehashed(struct ctx *c, const char *label, const char *volume)
{
	struct target_reader *tr;
	size_t i;

	for (i = 0; i < c->npre; i++)
		if (c->pre[i].tr != NULL &&
		    strcmp(c->pre[i].label, label) == 0 &&
		    strcmp(c->pre[i].volume, volume) == 0) {
			tr = c->pre[i].tr;
			c->pre[i].tr = NULL;
			return (tr);
		}
	return (NULL);
}

void
restore_prehash_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->npre; i++) {
		target_reader_close(c->pre[i].tr);
		free(c->pre[i].label);
		free(c->pre[i].volume);
	}
	free(c->pre);
	c->pre = NULL;
	c->npre = 0;
}
