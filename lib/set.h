#ifndef COFFER_SET_H
#define COFFER_SET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sign.h"

struct target;
struct catalog_set;

/*
 * set: the header of a backup set (sets/HOST/LABEL/set.json), its
 * signature (set.json.sig, the commit point), SHA256SUMS, and reading,
 * listing and checking committed sets on a target (coffer-vault(5)).
 *
 * set.json is canonical JSON (RFC 8785 via lib/cjson) plus one "\n", so
 * the same header always gives the same bytes.  Its keys:
 *   format (1), vault, host, job, label, kind ("backup"|"pre-restore"),
 *   level ("full"|"diff"|"incr"), parents (labels, nearest first; [] for a
 *   full), created ("YYYY-MM-DDTHH:MM:SSZ"), retain_until (same form, or
 *   null), keep (bool), audit_head {seq, hash}, objects [{name, role,
 *   size, sha256[, payload_sha256]}], files, bytes (numbers: entries and
 *   content bytes in the manifest), coffer (the writer's version string).
 */

#define SET_FORMAT 1
#define SET_SHA256_LEN 32

enum set_level { SET_FULL = 0, SET_DIFF, SET_INCR };
enum set_kind { SET_BACKUP = 0, SET_PRE_RESTORE };
enum set_role {
	SET_ROLE_VOLUME = 0,    /* vol-NNNN.tar.zst.age */
	SET_ROLE_MANIFEST,      /* manifest.jsonl.zst.age */
	SET_ROLE_SUMS,          /* SHA256SUMS */
	SET_ROLE_RECOVERY,      /* RECOVERY.txt */
};

/* Standard object names inside a set directory. */
#define SET_JSON "set.json"
#define SET_SIG "set.json.sig"
#define SET_SUMS "SHA256SUMS"
#define SET_RECOVERY "RECOVERY.txt"
#define SET_MANIFEST "manifest.jsonl.zst.age"

/* One object of a set.  name is a plain file name (no '/'). */
struct set_object {
	char *name;
	enum set_role role;
	uint64_t size;
	uint8_t sha256[SET_SHA256_LEN];
	int has_payload;                        /* age objects: volumes,
	                                           manifest */
	uint8_t payload_sha256[SET_SHA256_LEN]; /* after the age header */
};

/*
 * A set header.  Every pointer is owned by the header (heap memory,
 * released by set_header_clear): builders set strings with util_strdup
 * and use set_header_add_parent / set_header_add_object.
 */
struct set_header {
	int format;                     /* SET_FORMAT */
	char *vault;                    /* vault id, 32 hex digits */
	char *host;                     /* a label */
	char *job;                      /* a label */
	char *label;                    /* a label */
	enum set_kind kind;
	enum set_level level;
	char **parents;                 /* labels, nearest first */
	size_t nparents;
	time_t created;                 /* UTC, whole seconds */
	int has_retain_until;
	time_t retain_until;
	int keep;
	long long audit_seq;            /* audit head: 0 for an empty log */
	char audit_hash[65];            /* 64 lower-case hex digits */
	struct set_object *objects;     /* volumes in order first */
	size_t nobjects;
	uint64_t files;                 /* manifest entries */
	uint64_t bytes;                 /* content bytes */
	char *coffer_version;           /* e.g. "0.1.0" */
	/* Filled by set_header_parse and set_load only (NULL otherwise): */
	char *raw;                      /* the exact bytes of set.json */
	size_t raw_len;
	char signer[SIGN_FPR_MAX];      /* set_load: the pinned signer */
};

/* Names of the enums as in set.json; the parsers return -1 (silent) for
 * an unknown name. */
const char *set_level_name(enum set_level);
int set_level_parse(const char *, enum set_level *);
const char *set_kind_name(enum set_kind);
int set_kind_parse(const char *, enum set_kind *);
const char *set_role_name(enum set_role);
int set_role_parse(const char *, enum set_role *);

/* set_header_init(h): zero h, format SET_FORMAT, audit_hash 64 zeros. */
void set_header_init(struct set_header *);

/* set_header_clear(h): free everything h owns and zero it (NULL ok). */
void set_header_clear(struct set_header *);

/* set_header_add_parent(h, label): append a copy of label to parents.
 * 0 or -1 (reported: invalid label, no memory). */
int set_header_add_parent(struct set_header *, const char *);

/*
 * set_header_add_object(h, name, role, size, sha256, payload_sha256):
 * append an object (name copied; payload_sha256 NULL for plain objects).
 * name must be a plain file name (set_object_name_valid).  0 or -1
 * (reported).
 */
int set_header_add_object(struct set_header *, const char *, enum set_role,
    uint64_t, const uint8_t[SET_SHA256_LEN], const uint8_t *);

/* set_header_find_object(h, role): the first object with role, or NULL. */
const struct set_object *set_header_find_object(const struct set_header *,
    enum set_role);

/* set_object_name_valid(name): 1 if name is a plain file name usable in
 * a set directory (target_name_valid, no '/', not set.json or its sig,
 * not ending in ".part"), else 0 (silent). */
int set_object_name_valid(const char *);

/*
 * set_header_to_json(h, len): the exact bytes of set.json (canonical JSON
 * and "\n"), newly allocated and NUL-terminated (caller frees); *len
 * receives the length.  h is checked as set_header_parse checks it: NULL
 * (reported) when it would not parse back.  h->raw is ignored.
 */
char *set_header_to_json(const struct set_header *, size_t *);

/*
 * set_header_parse(buf, len, h): parse set.json bytes into h (initialised
 * here; h->raw gets a copy of the bytes).  Every field is type-checked:
 * format 1, vault 32 lower-case hex digits, host/job/label and parents
 * labels, kind/level/role names, times "YYYY-MM-DDTHH:MM:SSZ", hashes 64
 * lower-case hex, object names set_object_name_valid and unique, a full
 * set without parents and a diff/incr with at least one, payload_sha256
 * exactly on volumes and the manifest.  Unknown keys are ignored.
 * Returns 0, or -1 with h cleared (reported: "invalid set header: ...").
 */
int set_header_parse(const void *, size_t, struct set_header *);

/*
 * set_sums_text(h, len): the SHA256SUMS text for h: "HEX  NAME\n" for the
 * volumes in header order, then the manifest, then RECOVERY.txt (objects
 * with role sums are skipped).  Newly allocated (caller frees), *len
 * receives the length; NULL (reported) on allocation failure.
 */
char *set_sums_text(const struct set_header *, size_t *);

/*
 * set_sign(json, len, key): the text of set.json.sig over the exact bytes
 * of set.json ("coffer-signature-v1 FPR SIG\n"), newly allocated (caller
 * frees), or NULL (reported).
 */
char *set_sign(const void *, size_t, const struct sign_key *);

/*
 * set_path(host, label, name): "sets/HOST/LABEL/NAME" (name NULL:
 * "sets/HOST/LABEL"), newly allocated (caller frees) or NULL (reported;
 * host and label must be labels).
 */
char *set_path(const char *, const char *, const char *);

/* Results of set_load. */
enum set_load_result {
	SET_LOAD_ERROR = -1,    /* could not read (I/O, memory) */
	SET_LOAD_OK = 0,
	SET_LOAD_MISSING = 1,   /* no set.json.sig: not committed (or gone) */
	SET_LOAD_BAD = 2,       /* damage or distrust: bad or unpinned
	                           signature, unparsable header, header that
	                           does not match its path */
};

enum set_load_flags {
	SET_LOAD_QUIET_MISSING = 1 << 0 /* no message for SET_LOAD_MISSING */
};

/*
 * set_load(t, host, label, pinned, h, flags): read set.json.sig and
 * set.json of sets/HOST/LABEL from t, check the signature over set.json's
 * exact bytes against the pinned keys only (sign_verify), parse it into h
 * (with h->raw and h->signer), and check that its host and label are those
 * of its path.  Messages name the set: "set 'web1/x': signature by
 * unpinned key SHA256:...", "set 'web1/x' is not committed (no
 * set.json.sig)".  Returns an enum set_load_result; h is filled only on
 * SET_LOAD_OK (release with set_header_clear) and cleared otherwise.
 */
int set_load(struct target *, const char *, const char *,
    const struct sign_pinned *, struct set_header *, int);

/*
 * set_list(t, host, fn, cookie): call fn(cookie, host, label) for every
 * committed set (a set.json.sig at sets/HOST/LABEL/set.json.sig, HOST and
 * LABEL labels) of host, or of every host when host is NULL, in byte
 * order of host then label.  Nothing is verified: use set_load.  A
 * non-zero return from fn stops the walk and is returned.  Returns 0, -1
 * (reported), or fn's value.
 */
typedef int set_list_fn(void *, const char *, const char *);
int set_list(struct target *, const char *, set_list_fn *, void *);

/* What set_verify_objects found for one object. */
enum set_object_status {
	SET_OBJECT_OK = 0,
	SET_OBJECT_REWRAPPED,   /* whole hash differs, payload hash matches:
	                           the age header was rewrapped (not damage) */
	SET_OBJECT_MISSING,     /* no such object */
	SET_OBJECT_SIZE,        /* size differs (truncated or extended) */
	SET_OBJECT_DAMAGED,     /* size right, content hash differs */
};

/* set_object_status_name(s): "ok", "rewrapped", "missing", "size
 * mismatch", "damaged". */
const char *set_object_status_name(enum set_object_status);

/*
 * set_object_hash(fn, cookie, size, sha256, payload_sha256): read a whole
 * stream, returning its size, its SHA-256, and when payload_sha256 is not
 * NULL the SHA-256 of the bytes after the age header (all zeros when the
 * stream does not start with a well-formed age header; the return tells).
 * Returns 1 when an age header was found, 0 when not, -1 on a read error.
 */
typedef ssize_t set_read_fn(void *, void *, size_t);
int set_object_hash(set_read_fn *, void *, uint64_t *,
    uint8_t[SET_SHA256_LEN], uint8_t *);

/*
 * set_object_check(t, host, label, obj, status): stream object obj of
 * sets/HOST/LABEL from t and compare its size and SHA-256 (and payload
 * SHA-256 for age objects) with obj.  No identity is needed.  Returns 0
 * with *status set, or -1 on an error other than a missing object
 * (reported).
 */
int set_object_check(struct target *, const char *, const char *,
    const struct set_object *, enum set_object_status *);

/*
 * set_verify_objects(t, h, fn, cookie): set_object_check every object of
 * h, calling fn(cookie, obj, status) for each (fn may be NULL; its
 * non-zero return stops the walk and is returned).  Objects found
 * missing, truncated or damaged are also reported with warn0 ("set
 * 'web1/x': object 'vol-0002.tar.zst.age' is damaged").  Returns the
 * number of bad objects (0: all intact; rewrapped counts as intact), or
 * -1 on an error (reported).
 */
typedef int set_report_fn(void *, const struct set_object *,
    enum set_object_status);
int set_verify_objects(struct target *, const struct set_header *,
    set_report_fn *, void *);

/*
 * set_header_to_catalog(h, vault_row, cs): fill *cs (struct catalog_set
 * of lib/catalog.h) from h: every string copied (release with
 * catalog_set_clear), the objects included, header = h->raw (or the
 * canonical bytes when h->raw is NULL), signer = h->signer.  0 or -1
 * (reported).
 */
int set_header_to_catalog(const struct set_header *, long long,
    struct catalog_set *);

#endif
