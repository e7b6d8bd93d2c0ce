#ifndef COFFER_PASSPHRASE_H
#define COFFER_PASSPHRASE_H

#include <stddef.h>

/*
 * passphrase: read passphrases from a terminal prompt (echo off, from
 * /dev/tty), a file (--passphrase-file: its first line) or a descriptor
 * (--passphrase-fd: its first line); never argv or the environment.  The
 * text lives in gcrypt secure memory.
 */
/* Longest passphrase accepted, in bytes; shortest, in characters. */
#define PASSPHRASE_MAX 1024
#define PASSPHRASE_MIN_CHARS 12

struct passphrase_source {
	const char *file; /* NULL unless --passphrase-file */
	int fd;           /* -1 unless --passphrase-fd */
};

/*
 * passphrase_read(src, prompt, confirm, len): the passphrase (NUL-terminated,
 * secure memory, caller frees with passphrase_free); with confirm and a
 * prompt, asks twice and requires the same answer.  NULL on failure
 * (reported: no terminal, unreadable file, empty passphrase, mismatch).
 */
char *passphrase_read(const struct passphrase_source *, const char *, int,
    size_t *);
/* passphrase_free(pw, len): wipe and free what passphrase_read returned
 * (the whole buffer is wiped, whatever len); NULL does nothing. */
void passphrase_free(char *, size_t);

/* passphrase_chars(pw, len): its length in UTF-8 characters. */
size_t passphrase_chars(const char *, size_t);

/*
 * passphrase_check(pass, len, why): 0 if strong enough, else -1 and *why a
 * static text (valid until the next call): fewer than 12 characters,
 * refused by libcrack2's dictionary check, or the check could not run.
 * No composition rules.  libcrack2 runs in a forked child, so its unwiped
 * copies of the passphrase never stay in this process.
 */
int passphrase_check(const char *, size_t, const char **);

#endif
