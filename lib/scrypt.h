#ifndef COFFER_SCRYPT_H
#define COFFER_SCRYPT_H

#include <stddef.h>
#include <stdint.h>

/*
 * scrypt_derive(pw, pwlen, salt, saltlen, n, r, p, out, outlen): scrypt
 * (RFC 7914) with cost n (a power of two, 2..2^22), block size r (1..32)
 * and parallelism p (1..1024) into outlen (1..1024) bytes of out.  The
 * 128 * r * n bytes of scratch memory are wiped before they are returned.
 * 0, or -1 (reported; out wiped).  crypto_init must have run.
 */
int scrypt_derive(const void *, size_t, const void *, size_t, uint64_t,
    unsigned, unsigned, void *, size_t);

/* scrypt_impl(): the Salsa20/8 scrypt_derive runs on this processor:
 * "avx512", "sse2" or "portable" (for tests and benchmarks). */
const char *scrypt_impl(void);

#endif
