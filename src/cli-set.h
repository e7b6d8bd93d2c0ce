#ifndef COFFER_CLI_SET_H
#define COFFER_CLI_SET_H

#include <stdio.h>
#include <stddef.h>

#include "label.h"
#include "passphrase.h"
#include "vault.h"
#include "audit.h"
#include "retention.h"

/*
 * cli-set: what the set browsing commands (sets, show, ls, diff, verify)
 * share: the local vault and its catalog row, naming a set on the command
 * line ("LABEL" or "HOST/LABEL"), the identity options, reading a
 * manifest, and printing raw names safely.
 */

struct cli;
struct target;
struct set_header;
struct sign_pinned;
struct age_identities;
struct manifest_entry;

/* The local vault as a command sees it. */
struct cli_vault {
	const char *path;               /* config vault.path */
	struct vault_info info;         /* its coffer-vault.NNNN */
	long long row;                  /* catalog vaults.id, 0 if absent */
	struct target *target;          /* read-only local target */
	char host[LABEL_MAX + 1];       /* this host (core.host) */
};

/*
 * cli_vault_open(cli, v): open the configured local vault read-only and
 * find its catalog row.  0 or -1 (reported).  cli_vault_close(v) releases
 * it (safe on a zeroed or half-opened v).
 */
int cli_vault_open(struct cli *, struct cli_vault *);
void cli_vault_close(struct cli_vault *);

/*
 * cli_set_name(v, spec, host, label): split a set named on the command
 * line: "HOST/LABEL", or "LABEL" (this host, or the only host of the
 * catalog with that label).  0 or -1 (reported: invalid, ambiguous).
 */
int cli_set_name(struct cli *, struct cli_vault *, const char *,
    char[LABEL_MAX + 1], char[LABEL_MAX + 1]);

/*
 * cli_set_load(cli, v, spec, h, flags): read the set named spec from the
 * vault and check its signature against the pinned keys (set_load, with
 * its flags: SET_LOAD_QUIET_MISSING).  Returns an
 * enum set_load_result (SET_LOAD_OK: h filled, release with
 * set_header_clear).
 */
int cli_set_load(struct cli *, struct cli_vault *, const char *,
    struct set_header *, int);

/* Identity options shared by ls, diff and verify --deep. */
struct cli_identity {
	struct passphrase_source src;
	const char *file;               /* -i FILE, or NULL */
};

/*
 * cli_identity_load(cli, id): the identity to decrypt with: the -i file,
 * else the home's identity unlocked with the passphrase (file, descriptor
 * or prompt).  NULL (reported).
 */
struct age_identities *cli_identity_load(struct cli *,
    const struct cli_identity *);

/*
 * cli_identity_start(cli, id): begin loading the identity as
 * cli_identity_load does: in a thread of its own when the passphrase
 * comes from a file or a descriptor (the scrypt unlock, 0.7 s to a second,
 * then overlaps the caller's work), else later in cli_identity_finish (a
 * prompt needs the terminal).  id must outlive the call to finish.  NULL
 * (reported) when out of memory.
 * cli_identity_finish(u): wait for it; the identity (the caller's to
 * free) or NULL (reported).  Frees u; finish(NULL) is NULL.
 */
struct cli_unlock *cli_identity_start(struct cli *,
    const struct cli_identity *);
struct age_identities *cli_identity_finish(struct cli_unlock *);
/* cli_identity_ready(u): 1 when finish would not wait on a thread (the
 * unlock ended, or none runs in the background), else 0.
 * cli_identity_cancel(u): the identity is not needed after all: wait for
 * a running thread and drop what it loaded, never prompt.  Frees u. */
void cli_identity_cancel(struct cli_unlock *);
int cli_identity_ready(struct cli_unlock *);

/*
 * cli_manifest_load(v, h, ids, entries, n): read and decrypt the manifest
 * of set h into a newly allocated array sorted by raw path (release with
 * cli_manifest_free).  Returns 0, -1 (reported: an error), or -2
 * (reported: the manifest is damaged).
 */
int cli_manifest_load(struct cli_vault *, const struct set_header *,
    const struct age_identities *, struct manifest_entry **, size_t *);
void cli_manifest_free(struct manifest_entry *, size_t);

/* cli_manifest_find(entries, n, path, len): the entry with that path in a
 * sorted array, or NULL. */
struct manifest_entry *cli_manifest_find(struct manifest_entry *, size_t,
    const char *, size_t);

/* cli_path_cmp(a, alen, b, blen): byte order of raw paths (memcmp, then
 * the shorter first). */
int cli_path_cmp(const char *, size_t, const char *, size_t);

/*
 * cli_print_name(fp, name, len): print a raw name safely, as ls -b does:
 * printable ASCII and valid printable UTF-8 as they are, "\\" for a
 * backslash, "\n", "\t", and "\xNN" for any other byte.
 */
void cli_print_name(FILE *, const char *, size_t);

/* cli_json_path(obj, key, key_b64, name, len): set obj[key] to the name
 * when it is valid UTF-8, else obj[key_b64] to its base64.  0 or -1. */
struct json_t;
int cli_json_path(struct json_t *, const char *, const char *, const char *,
    size_t);

/* cli_json_print(v): print v indented on stdout (and a newline); steals
 * the reference.  0 or -1 (reported). */
int cli_json_print(struct json_t *);

/* cli_fmt_time(t, buf): "YYYY-MM-DDTHH:MM:SSZ", or "-" for 0. */
const char *cli_fmt_time(long long, char[32]);

/* cli_fmt_size(n, buf): "123", "1.2K", "3.4M", ... */
const char *cli_fmt_size(unsigned long long, char[32]);

/*
 * A vault opened for changes (prune, forget): the local vault, a writable
 * target, the pinned keys, the retention view of it and an audit event
 * template.  cli_wvault_open: 0 or -1 (reported); cli_wvault_close is safe
 * on a zeroed or half-opened w.
 */
struct cli_wvault {
	struct cli_vault cv;
	struct target *t;               /* writable */
	struct sign_pinned *pinned;
	struct retention_vault rv;
	struct audit_event tmpl;
	char evhost[256];
};

int cli_wvault_open(struct cli *, struct cli_wvault *);
void cli_wvault_close(struct cli_wvault *);

#endif
