#ifndef COFFER_SIGNEDOBJ_H
#define COFFER_SIGNEDOBJ_H

#include <stddef.h>

/*
 * signedobj: numbered objects of a vault with a detached signature beside
 * them, PREFIX N SUFFIX and PREFIX N SUFFIX ".sig" (coffer-vault(5)): holds
 * (holds/HOST/LABEL.N.json) and audit heads (audit/HOST/SEQ.head).  N is
 * a decimal number from 1 without leading zeros.  The signature is written
 * after the object: an object without one does not count.
 */

struct sign_key;
struct sign_pinned;
struct sign_pubkey;
struct target;

/* One kind of signed object; the strings stay the caller's. */
struct signedobj_kind {
	const char *prefix;             /* "audit/HOST/" */
	const char *suffix;             /* ".head" */
	unsigned long long max_n;       /* a name with a larger N is not one */
	size_t max_size;                /* bytes of an object */
	size_t max_sig;                 /* bytes of its signature */
};

/* The numbers present under a kind's prefix. */
struct signedobj_scan {
	unsigned long long *objects;    /* with an object, ascending, once */
	size_t nobjects;
	unsigned long long *sigs;       /* with a signature, ascending, once */
	size_t nsigs;
	unsigned long long max;         /* the highest of either, 0: none */
};

/*
 * signedobj_name(k, n, sig): the name of object n of kind k (sig: of its
 * signature), newly allocated (caller frees), or NULL (reported).
 */
char *signedobj_name(const struct signedobj_kind *, unsigned long long, int);

/*
 * signedobj_scan(t, k, s): list the objects and signatures of kind k in t
 * into s (free with signedobj_scan_free, also after an error).  0 or -1
 * (reported).
 */
int signedobj_scan(struct target *, const struct signedobj_kind *,
    struct signedobj_scan *);

/* signedobj_scan_free(s): free what signedobj_scan allocated. */
void signedobj_scan_free(struct signedobj_scan *);

/*
 * signedobj_write(t, key, k, n, text, len): sign text with key and write
 * object n of kind k, then its signature.  Existing objects are the
 * caller's to look for.  0 or -1 (reported).
 */
int signedobj_write(struct target *, const struct sign_key *,
    const struct signedobj_kind *, unsigned long long, const void *,
    size_t);

/* What signedobj_list found of an object. */
enum signedobj_status {
	SIGNEDOBJ_OK = 0,               /* read, signed by a pinned key */
	SIGNEDOBJ_NO_SIGNATURE,         /* no .sig beside it */
	SIGNEDOBJ_UNREADABLE,           /* too large or a read error
					 * (reported) */
	SIGNEDOBJ_BAD_SIGNATURE         /* bad or unpinned (reported) */
};

/* One object as signedobj_list hands it over. */
struct signedobj {
	unsigned long long n;
	const char *name;               /* the object's name */
	enum signedobj_status status;
	const char *why;                /* NULL when OK, else the status in
					 * words: "no signature", ... */
	const char *text;               /* OK: the content, NUL-terminated */
	size_t len;                     /* its length */
	const struct sign_pubkey *signer;   /* OK: the pinned signer */
};

/*
 * signedobj_list(t, pinned, k, fn, cookie): call fn(cookie, o) for each
 * object of kind k in t, in increasing n: read with its signature and
 * checked against the pinned keys; the content is the caller's to parse.
 * o and what it points to are valid during the call.  Returns 0, -1
 * (reported) or fn's non-zero return.
 */
typedef int signedobj_fn(void *, const struct signedobj *);
int signedobj_list(struct target *, const struct sign_pinned *,
    const struct signedobj_kind *, signedobj_fn *, void *);

#endif
