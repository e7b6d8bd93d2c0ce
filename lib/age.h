#ifndef COFFER_AGE_H
#define COFFER_AGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * age: the age v1 file format (https://c2sp.org/age) on lib/crypto.
 * Streaming, constant memory.  Recipients: X25519 (age1...) and scrypt
 * passphrases.  Armor (PEM "AGE ENCRYPTED FILE") read and written.
 */

/* Outcomes, matching the age test kit's "expect" values. */
enum age_error {
	AGE_OK = 0,
	AGE_ERR_IO,          /* reading or writing failed */
	AGE_ERR_NO_MATCH,    /* no identity opened any stanza */
	AGE_ERR_HEADER,      /* malformed header */
	AGE_ERR_HMAC,        /* header MAC mismatch */
	AGE_ERR_PAYLOAD,     /* damaged, truncated or extended payload */
	AGE_ERR_ARMOR,       /* malformed armor */
	AGE_ERR_UNSUPPORTED, /* a recipient type coffer cannot open */
	AGE_ERR_NOMEM,
};

/* age_strerror(e): a short text for e. */
const char *age_strerror(enum age_error);

/* X25519 keys as text. */
#define AGE_RECIPIENT_MAX 128
#define AGE_IDENTITY_MAX 128
/* age_keygen(identity, recipient): a new X25519 identity
 * "AGE-SECRET-KEY-1..." (written into caller-provided secure memory of
 * AGE_IDENTITY_MAX bytes) and its recipient "age1...". */
int age_keygen(char *identity, char recipient[AGE_RECIPIENT_MAX]);
/* age_identity_to_recipient(identity, recipient): derive "age1...". */
int age_identity_to_recipient(const char *, char[AGE_RECIPIENT_MAX]);
/* age_recipient_valid(s): 1 if s is a well-formed age1 recipient. */
int age_recipient_valid(const char *);
/* age_looks_secret(s): 1 if s (after leading white space, in any case)
 * starts like an identity, "AGE-SECRET-KEY-" or "AGE-PLUGIN-": a secret
 * that messages must never echo. */
int age_looks_secret(const char *);

/* A set of recipients to encrypt to. */
struct age_recipients;
struct age_recipients *age_recipients_new(void);
/* add "age1..." (-1 with a message naming it when malformed) */
int age_recipients_add(struct age_recipients *, const char *);
/* a passphrase recipient (scrypt with 2^logn); the passphrase is copied
 * into secure memory.  It must be the only recipient. */
int age_recipients_add_passphrase(struct age_recipients *, const char *,
    size_t, int logn);
/* age_recipients_load_file(r, path): one recipient a line, '#' comments. */
int age_recipients_load_file(struct age_recipients *, const char *);
size_t age_recipients_count(const struct age_recipients *);
void age_recipients_free(struct age_recipients *);

/* A set of identities to decrypt with. */
struct age_identities;
struct age_identities *age_identities_new(void);
/* add "AGE-SECRET-KEY-1...": returns 0, -1 if malformed, or
 * AGE_ERR_UNSUPPORTED (a positive value; "unsupported recipient type")
 * for "AGE-SECRET-KEY-PQ-1..." and plugin identities.  Test with != 0. */
int age_identities_add(struct age_identities *, const char *);
int age_identities_add_passphrase(struct age_identities *, const char *,
    size_t);
/*
 * age_identities_load_file(ids, path, getpass, cookie): read an identity
 * file as age-keygen writes it; if the file is itself age-encrypted with a
 * passphrase, getpass(cookie, buf, size) is called for the passphrase
 * (returns its length or -1).  Comments, blank lines and several keys are
 * allowed; the text (decrypted or not) is held in secure memory and may be
 * at most 8 KiB.  Returns like age_identities_add.
 */
typedef ssize_t age_getpass_fn(void *, char *, size_t);
int age_identities_load_file(struct age_identities *, const char *,
    age_getpass_fn *, void *);
void age_identities_free(struct age_identities *);

/* Output and input callbacks: write all of len or return -1; read up to
 * len bytes, 0 at end, -1 on error. */
typedef int age_write_fn(void *, const void *, size_t);
typedef ssize_t age_read_fn(void *, void *, size_t);

/* Encrypt: header at _new, then STREAM chunks, the last at _finish. */
struct age_encryptor;
struct age_encryptor *age_encrypt_new(const struct age_recipients *,
    int armor, age_write_fn *, void *);
int age_encrypt_write(struct age_encryptor *, const void *, size_t);
int age_encrypt_finish(struct age_encryptor *);
/* age_encrypt_header_len(e): bytes of the header written (for the payload
 * hash that tells a rewrapped header from damage). */
uint64_t age_encrypt_header_len(const struct age_encryptor *);
void age_encrypt_free(struct age_encryptor *);
/*
 * age_encrypt_secret(r, armor, buf, len, fn, cookie, hdrlen): encrypt a
 * small secret (len <= 64 KiB) in one go, sealing buf directly as the only
 * and final chunk, so no plaintext copy is made outside the caller's
 * (secure) buffer.  hdrlen (may be NULL) receives the header length.
 */
int age_encrypt_secret(const struct age_recipients *, int armor,
    const void *, size_t, age_write_fn *, void *, uint64_t *);

/*
 * Decrypt: _open reads and checks the header (armor detected) and unwraps
 * the file key; _read returns only plaintext whose tag has been checked.
 * After an error, age_decrypt_error tells which outcome it was.
 */
struct age_decryptor;
struct age_decryptor *age_decrypt_open(const struct age_identities *,
    age_read_fn *, void *, enum age_error *);
/* age_decrypt_open_armor(ids, fn, cookie, armor, err): the same with the
 * armor choice forced: 1 armored, 0 binary, -1 detect (leading whitespace
 * then "-----BEGIN" means armored). */
struct age_decryptor *age_decrypt_open_armor(const struct age_identities *,
    age_read_fn *, void *, int, enum age_error *);
/* age_decrypt_open_secure(ids, fn, cookie, err): the same as
 * age_decrypt_open, but plaintext is only ever decrypted straight into
 * the caller's buffer (which may be secure memory), never into an
 * internal one: a read that cannot take a whole chunk fails with
 * AGE_ERR_PAYLOAD ("too large for this use"). */
struct age_decryptor *age_decrypt_open_secure(const struct age_identities *,
    age_read_fn *, void *, enum age_error *);
/* age_decrypt_read(d, buf, len): up to len bytes of authenticated
 * plaintext (several chunks when len allows), 0 at the end, -1 on error
 * (age_decrypt_error says which; plaintext returned before an error was
 * authenticated).  A len of 64 KiB or more decrypts straight into buf. */
ssize_t age_decrypt_read(struct age_decryptor *, void *, size_t);
enum age_error age_decrypt_error(const struct age_decryptor *);
uint64_t age_decrypt_header_len(const struct age_decryptor *);

/*
 * age_header_length(buf, len, hdrlen): find where the binary age header at
 * the start of buf ends, without any key: the first line must be
 * "age-encryption.org/v1" and the header ends after the "--- MAC" line
 * (43 base64 characters, "\n").  Returns 1 with *hdrlen set, 0 when buf
 * holds no complete header yet (read more), -1 when buf does not start
 * with an age header (silent).  The payload (nonce and chunks) follows.
 */
int age_header_length(const void *, size_t, size_t *);
void age_decrypt_free(struct age_decryptor *);

/* Convenience over file descriptors. */
int age_encrypt_fd(const struct age_recipients *, int armor, int in, int out);
enum age_error age_decrypt_fd(const struct age_identities *, int in, int out);

#endif
