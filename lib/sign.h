#ifndef COFFER_SIGN_H
#define COFFER_SIGN_H

#include <stddef.h>
#include <stdint.h>

/*
 * sign: host signing keys (Ed25519) and detached signatures.
 *
 * Formats (all text, one line each, ending in a newline):
 *   private key file:  "coffer-signing-key-v1 <base64 32-byte seed>"
 *                      (mode 0600; the seed lives in secure memory)
 *   public key:        "coffer-ed25519 <base64 32-byte public key> <name>"
 *   fingerprint:       "SHA256:" + unpadded base64 of SHA-256(public key)
 *                      (as ssh-keygen -l prints it)
 *   signature (.sig):  "coffer-signature-v1 <fingerprint> <base64 64-byte
 *                      Ed25519 signature>" over the exact bytes signed
 * Base64 is the standard alphabet, padded for keys and signatures, with no
 * line breaks.  A name matches [A-Za-z0-9._@:+-]{1,64}.
 *
 * A signature counts only when its signer is in a set of pinned public keys
 * (the coffer home's keys/pinned.txt); keys carried by a vault never vouch
 * for it.
 */

#define SIGN_FPR_MAX 52    /* "SHA256:" + 43 + NUL */
#define SIGN_NAME_MAX 65   /* 64 characters + NUL */
#define SIGN_PUBLINE_MAX 160

/* A public key with its name and fingerprint. */
struct sign_pubkey {
	uint8_t pub[32];
	char name[SIGN_NAME_MAX];
	char fpr[SIGN_FPR_MAX];
};

/* sign_fingerprint(pub, fpr): "SHA256:..." of a 32-byte public key. */
void sign_fingerprint(const uint8_t pub[32], char fpr[SIGN_FPR_MAX]);

/* sign_name_valid(name): 1 when name is usable in a public key line. */
int sign_name_valid(const char *);

/*
 * sign_pubkey_parse(line, pk): parse "coffer-ed25519 B64 NAME" (trailing
 * newline allowed) into pk, fingerprint included.  -1 (reported) when
 * malformed.
 */
int sign_pubkey_parse(const char *, struct sign_pubkey *);

/* sign_pubkey_format(pk, buf): the public key line, without a newline. */
void sign_pubkey_format(const struct sign_pubkey *, char[SIGN_PUBLINE_MAX]);

/* A private signing key (seed and public key in secure memory). */
struct sign_key;

/* sign_key_generate(name): a new random key named name, or NULL. */
struct sign_key *sign_key_generate(const char *);

/* sign_key_from_seed(seed, name): a key from a 32-byte seed (tests, the
 * RFC 8032 vectors), or NULL. */
struct sign_key *sign_key_from_seed(const uint8_t[32], const char *);

/*
 * sign_key_write(k, path): write the private key file, mode 0600, never
 * replacing an existing file.  0 or -1 (reported).
 */
int sign_key_write(const struct sign_key *, const char *);

/*
 * sign_key_load(path, name): read a private key file (a file readable by
 * group or others is warned about).  name labels the public half.  NULL on
 * failure (reported).
 */
struct sign_key *sign_key_load(const char *, const char *);

/* sign_key_pubkey(k): the public half (name, fingerprint), owned by k. */
const struct sign_pubkey *sign_key_pubkey(const struct sign_key *);

/* sign_key_free(k): wipe and free; NULL does nothing. */
void sign_key_free(struct sign_key *);

/*
 * sign_data(k, data, len): the detached signature text over data's exact
 * bytes, "coffer-signature-v1 FPR B64SIG\n", newly allocated (caller
 * frees), or NULL (reported).
 */
char *sign_data(const struct sign_key *, const void *, size_t);

/* A set of pinned public keys. */
struct sign_pinned;

struct sign_pinned *sign_pinned_new(void);
/* sign_pinned_add(p, pk): add pk; adding a fingerprint already pinned is a
 * no-op (returns 0).  -1 on allocation failure. */
int sign_pinned_add(struct sign_pinned *, const struct sign_pubkey *);
/* sign_pinned_remove(p, fpr): 0 if removed, -1 if not pinned (silent). */
int sign_pinned_remove(struct sign_pinned *, const char *);
/* sign_pinned_find(p, fpr): the pinned key with that fingerprint, or NULL */
const struct sign_pubkey *sign_pinned_find(const struct sign_pinned *,
    const char *);
size_t sign_pinned_count(const struct sign_pinned *);
const struct sign_pubkey *sign_pinned_get(const struct sign_pinned *, size_t);
/*
 * sign_pinned_load_file(p, path): add every public key line of path ('#'
 * comments and blank lines skipped); a missing file adds nothing.  -1
 * (reported, naming the file and line) on a malformed line.
 */
int sign_pinned_load_file(struct sign_pinned *, const char *);
/* sign_pinned_write_file(p, path): write atomically (mode 0644). */
int sign_pinned_write_file(const struct sign_pinned *, const char *);
void sign_pinned_free(struct sign_pinned *);

/*
 * sign_verify(p, data, len, sigtext): check a signature text over data
 * against the pinned keys only.  Returns the pinned signer (owned by p),
 * or NULL (reported): a malformed signature, "signature by unpinned key
 * SHA256:...", or "bad signature by 'NAME' (SHA256:...)".
 */
const struct sign_pubkey *sign_verify(const struct sign_pinned *,
    const void *, size_t, const char *);

#endif
