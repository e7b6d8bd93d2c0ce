#ifndef COFFER_AUDIT_H
#define COFFER_AUDIT_H

struct catalog;

/*
 * audit: the hash-chained audit log kept in the catalog.  Each event's
 * hash = SHA-256(previous hash || RFC 8785 canonical JSON of the event).
 */
struct audit_event {
	const char *operator_name;
	const char *host;
	const char *site;    /* may be NULL */
	const char *action;  /* "init", "config.set", ... */
	const char *object;  /* what it acted on; may be NULL */
	const char *details; /* a JSON object text, or NULL for {} */
};

/*
 * audit_append(cat, ev): append ev (time: the real clock, UTC) in its own
 * transaction.  Returns 0, or -1 (reported; nothing appended).
 */
int audit_append(struct catalog *, const struct audit_event *);

#endif
