#ifndef COFFER_VAULT_H
#define COFFER_VAULT_H

#include <stddef.h>

/*
 * vault: the coffer-vault.NNNN description file at the root of a vault
 * (coffer-vault(5)).  Each version is written once and never replaced; the
 * highest version that parses wins.  It names the format, the vault id, the
 * recipients volumes are encrypted to, and the signer public keys.  Keys
 * read from a vault never vouch for it: signatures are checked against the
 * keys pinned in the coffer home.
 */

#define VAULT_FORMAT 1
#define VAULT_ID_LEN 32 /* hex digits */

struct vault_info {
	unsigned version;            /* NNNN of the file read */
	int format;
	char id[VAULT_ID_LEN + 1];
	char created[32];
	char **recipients;           /* "age1...", NULL-terminated */
	char **signers;              /* "coffer-ed25519 ...", NULL-terminated */
};

/*
 * vault_create(dir, recipients, signers, id): make a new local vault in dir
 * (created if missing; an existing dir must be empty) with a random id and
 * coffer-vault.0001.  recipients and signers are NULL-terminated line
 * arrays.  id receives the new id.  Returns 0 or -1 (reported; nothing left
 * behind that was not there).
 */
int vault_create(const char *, const char *const *, const char *const *,
    char[VAULT_ID_LEN + 1]);

/*
 * vault_read(dir, info): read the highest valid coffer-vault.NNNN of dir.
 * Damaged higher versions are skipped with a warning.  0, or -1 (reported:
 * not a vault, no valid version).  Free with vault_info_release.
 */
int vault_read(const char *, struct vault_info *);
void vault_info_release(struct vault_info *);

/*
 * vault_add_version(dir, recipients, signers, version): write the next
 * coffer-vault.NNNN of the vault in dir, keeping its format and id, with
 * the given recipients and signers (NULL-terminated; NULL keeps the current
 * list).  Never replaces a version: a concurrent writer's number is
 * skipped.  *version (may be NULL) receives the new number.  0 or -1
 * (reported).
 */
int vault_add_version(const char *, const char *const *, const char *const *,
    unsigned *);

/* vault_has_recipient(info, r): 1 if the vault lists recipient r. */
int vault_has_recipient(const struct vault_info *, const char *);

/* vault_is_vault(dir): 1 if dir holds a coffer-vault.NNNN file. */
int vault_is_vault(const char *);

/* vault_parse(text, info): parse one coffer-vault file's text. 0 or -1
 * (no message: the caller names the file). */
int vault_parse(const char *, struct vault_info *);

#endif
