#ifndef COFFER_AUDITHEAD_H
#define COFFER_AUDITHEAD_H

/*
 * audithead: signed heads of a host's audit chain in a vault,
 * audit/HOST/SEQ.head and audit/HOST/SEQ.head.sig (coffer-vault(5)).
 * A head records the sequence number and chained hash of the host's last
 * audit event when it was written, so that a local log cut short, or
 * rewritten and re-hashed, no longer matches what left the host.
 */

struct sign_key;
struct sign_pinned;
struct target;

#define AUDITHEAD_FORMAT 1

struct audithead {
	long long seq;                  /* the last event's seq (>= 1) */
	char hash[65];                  /* its chained hash, lower-case hex */
	char time[32];                  /* when written, UTC */
	char signer[80];                /* fingerprint of the pinned signer */
};

/*
 * audithead_write(t, key, vault, host, seq, hash): write the head (seq,
 * hash) of host's chain to t, signed with key: the object, then its
 * signature.  An existing head of the same seq is left alone (objects are
 * written once).  0, or -1 (reported).
 */
int audithead_write(struct target *, const struct sign_key *, const char *,
    const char *, long long, const char *);

/*
 * audithead_list(t, pinned, vault, host, fn, cookie): call fn(cookie,
 * name, h, why) for each head of host in t, in seq order: why is NULL for
 * a head whose signature (by a pinned key) and content are good, else
 * what is wrong with it ("no signature", "unreadable ...", "bad or unpinned
 * signature", "invalid content"), h then holding only what its name says.  Returns 0,
 * -1 (reported) or fn's non-zero return.
 */
typedef int audithead_fn(void *, const char *, const struct audithead *,
    const char *);
int audithead_list(struct target *, const struct sign_pinned *, const char *,
    const char *, audithead_fn *, void *);

#endif
