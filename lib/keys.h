#ifndef COFFER_KEYS_H
#define COFFER_KEYS_H

#include <stddef.h>
#include <time.h>

#include "age.h"
#include "sign.h"

/*
 * keys: the vault keys in the coffer home (DESIGN.md "Keys and operators").
 *
 *   <home>/keys/                 mode 0700
 *   <home>/keys/identity.age     the X25519 identity (restore key) as
 *                                age-keygen writes it, age-encrypted with
 *                                the passphrase (scrypt), so
 *                                `age -d keys/identity.age` unwraps it;
 *                                absent on a backup-only host
 *   <home>/keys/identity.pub     its recipient "age1...", so the identity's
 *                                presence is known without the passphrase
 *   <home>/keys/recipients.txt   the vault recipients, one "age1..." a line
 *   <home>/keys/signing.key      the host's Ed25519 signing key (0600)
 *   <home>/keys/signing.pub      its public key line
 *   <home>/keys/pinned.txt       pinned signer public keys (this host's own
 *                                included), one "coffer-ed25519 ..." a line
 *   <home>/keys/escrow.txt       when an escrow copy was made and
 *                                test-decrypted
 *   <home>/keys/passphrase.txt   when the identity passphrase was last set
 *
 * The identity (and the whole keys/ directory) must never go into catalog
 * exports or backups of the host.
 */

#define KEYS_DEFAULT_SCRYPT_LOGN 18

/* What keys_init made, or what keys_info found. */
struct keys_info {
	int has_identity;                   /* 0 on a backup-only host */
	char recipient[AGE_RECIPIENT_MAX];  /* the identity's, or "" */
	size_t nrecipients;                 /* lines in recipients.txt */
	struct sign_pubkey signer;          /* this host's signing key */
	int escrow_done;                    /* keys_escrow_done() */
	time_t escrow_time;                 /* when, if escrow_done */
	time_t passphrase_time;             /* passphrase last set, or 0 */
};

/*
 * keys_init(home, passphrase, recipients_file, info): create <home>/keys.
 *  - passphrase non-NULL (NUL-terminated): a normal host.  A new X25519
 *    identity is made, stored in keys/identity.age encrypted with the
 *    passphrase, and its recipient written to keys/recipients.txt (followed
 *    by those of recipients_file, if also given).  The passphrase must pass
 *    passphrase_check (refused with its reason otherwise); the caller owns
 *    and wipes it.
 *  - passphrase NULL, recipients_file non-NULL: a backup-only host (no
 *    identity); the file's recipients are validated and copied.
 *  - both NULL: refused.
 * Either way the host's signing key is generated (named after the host
 * name) and its public half pinned.  Refuses if keys/ already holds keys.
 * info (may be NULL) receives what was made.  Returns 0 or -1 (reported;
 * files written before the failure are removed).
 */
int keys_init(const char *, const char *, const char *, struct keys_info *);

/* keys_info(home, info): describe the keys in home (no secret is read).
 * 0 or -1 (reported: no keys directory, unreadable files). */
int keys_info(const char *, struct keys_info *);

/*
 * keys_scrypt_logn(): the scrypt work factor for the identity file: 18;
 * in test-clock builds only, COFFER_TEST_SCRYPT_LOGN (1..22) overrides it.
 */
int keys_scrypt_logn(void);

/* keys_load_recipients(home): the vault recipients, or NULL (reported). */
struct age_recipients *keys_load_recipients(const char *);

/*
 * keys_list_recipients(home, list, n): the recipient lines, a
 * NULL-terminated array of strings (caller frees with keys_list_free).
 * 0 or -1 (reported).
 */
int keys_list_recipients(const char *, char ***, size_t *);
void keys_list_free(char **);

/*
 * keys_add_recipient(home, recipient): append a well-formed "age1..." to
 * recipients.txt (atomic rewrite).  Returns 0, 1 if it was already there,
 * or -1 (reported).
 */
int keys_add_recipient(const char *, const char *);

/* keys_export_recipients(home, text): recipients.txt with a comment header
 * (caller frees), or -1 (reported). */
int keys_export_recipients(const char *, char **);

struct passphrase_source;

/*
 * keys_unlock_identity(home, src, secret, len): decrypt keys/identity.age
 * with the passphrase from src (prompting on the terminal when src is NULL
 * or names neither a file nor a descriptor).  *secret receives the
 * "AGE-SECRET-KEY-1..." text (NUL-terminated, secure memory; caller frees
 * with crypto_secure_free(*secret, *len)).  -1 (reported: no identity on
 * this host, wrong passphrase, damaged file).
 */
int keys_unlock_identity(const char *, const struct passphrase_source *,
    char **, size_t *);

/* keys_load_identity(home, src): the identity as a set to decrypt with, or
 * NULL (reported, as keys_unlock_identity). */
struct age_identities *keys_load_identity(const char *,
    const struct passphrase_source *);

/*
 * keys_change_passphrase(home, secret, newpw): re-encrypt the identity
 * (secret, as keys_unlock_identity gave it; it must be this host's
 * identity) with newpw, which must pass passphrase_check, and record the
 * time in passphrase.txt.  0 or -1 (reported).
 */
int keys_change_passphrase(const char *, const char *, const char *);

/* keys_signing_load(home): this host's signing key, or NULL (reported). */
struct sign_key *keys_signing_load(const char *);

/* keys_pinned_load(home): the pinned signer keys (this host's included),
 * or NULL (reported). */
struct sign_pinned *keys_pinned_load(const char *);

/* keys_pin(home, pk): pin pk.  0, 1 if already pinned, or -1 (reported). */
int keys_pin(const char *, const struct sign_pubkey *);

/* keys_unpin(home, fpr): unpin; refuses this host's own key.  0 or -1
 * (reported: not pinned, own key). */
int keys_unpin(const char *, const char *);

/*
 * keys_escrow_check(home, secret): 0 when secret (an "AGE-SECRET-KEY-1..."
 * line, surrounding whitespace ignored) decrypts a fresh test message
 * encrypted to the vault recipients, else -1 (reported).
 */
int keys_escrow_check(const char *, const char *);

/* keys_escrow_record(home, when): record that an escrow copy was made and
 * test-decrypted at when.  0 or -1 (reported). */
int keys_escrow_record(const char *, time_t);

/*
 * keys_escrow_done(home, when): 1 if an escrow was recorded for the current
 * identity (*when, if when non-NULL, gets its time), 0 if not (or no keys:
 * a backup-only host holds no identity to escrow and answers 1).
 */
int keys_escrow_done(const char *, time_t *);

/* keys_passphrase_time(home, when): when the identity passphrase was set;
 * 0 or -1 (no record). */
int keys_passphrase_time(const char *, time_t *);

#endif
