#ifndef COFFER_AUDIT_H
#define COFFER_AUDIT_H

#include <stdio.h>

#include <jansson.h>

struct catalog;
struct catalog_event;

/*
 * audit: the hash-chained audit log kept in the catalog.  Each event's
 * hash = SHA-256(previous hash || RFC 8785 canonical JSON of the event).
 * The event object is {"seq", "time", "operator", "host", "site",
 * "action", "object", "details"}; the first event's previous hash is 32
 * zero bytes.  man/coffer-audit.1 gives the algorithm in full.
 */
struct audit_event {
	const char *operator_name;
	const char *host;
	const char *site;    /* may be NULL */
	const char *action;  /* "init", "config.set", ... */
	const char *object;  /* what it acted on; may be NULL */
	const char *details; /* a JSON object text, or NULL for {} */
};

/* Length of a hash in hex, without the NUL. */
#define AUDIT_HASH_HEX 64

/*
 * audit_append(cat, ev): append ev (time: the real clock, UTC, never
 * COFFER_NOW).  Outside a transaction it runs in its own BEGIN IMMEDIATE
 * transaction; inside one (catalog_begin by the caller) it joins it, and
 * the caller commits or rolls back.  details must be a JSON object whose
 * numbers are integers (cjson.h).  Returns 0, or -1 (reported; nothing
 * appended, including on a full disk).
 */
int audit_append(struct catalog *, const struct audit_event *);

enum audit_damage {
	AUDIT_INTACT = 0,
	AUDIT_ALTERED,  /* an event's content no longer matches its hash */
	AUDIT_DELETED,  /* an event is missing */
	AUDIT_INSERTED, /* an event was inserted or moved */
};

/* What audit_verify found. */
struct audit_report {
	long long events;              /* events in the catalog */
	long long head_seq;            /* last event's seq; 0 when empty */
	char head[AUDIT_HASH_HEX + 1]; /* last event's hash (zeros if none) */
	enum audit_damage damage;      /* AUDIT_INTACT or the first damage */
	long long bad_seq;             /* the first bad event */
	char message[128];             /* "event 7 was altered", ... */
};

/*
 * audit_verify(cat, report): recompute the whole chain and name the first
 * event that was altered, deleted, or inserted or reordered.  Returns 0
 * when the chain is intact, 1 when damaged (report says where; nothing is
 * printed), or -1 on error (reported).
 */
int audit_verify(struct catalog *, struct audit_report *);

/*
 * audit_export(cat, fp): write every event as one line of canonical JSON:
 * the event object plus "prev_hash" and "hash" (hex).  Returns 0 or -1
 * (reported).
 */
int audit_export(struct catalog *, FILE *);

/*
 * audit_head(cat, seq, hash): the last event's seq and hash (hex), or 0
 * and 64 zeros when the log is empty.  Returns 0 or -1 (reported).
 */
int audit_head(struct catalog *, long long *, char[AUDIT_HASH_HEX + 1]);

/*
 * audit_event_json(ev, hashes): ev as the event object (details parsed;
 * a details text that is not a JSON object is kept as a string), plus
 * "prev_hash" and "hash" when hashes is non-zero.  A new reference, or
 * NULL (reported).
 */
json_t *audit_event_json(const struct catalog_event *, int);

#endif
