#ifndef COFFER_BECH32_H
#define COFFER_BECH32_H

#include <stddef.h>
#include <stdint.h>

/*
 * bech32: BIP-173 strings carrying 8-bit data, as age uses them for
 * recipients ("age1...") and identities ("AGE-SECRET-KEY-1...").  There is
 * no 90-character limit (age's post-quantum keys are longer).
 */

/*
 * bech32_encode(out, size, hrp, data, len): encode data under the
 * human-readable part hrp.  The output is upper case when hrp is upper
 * case, else lower case; hrp must not mix cases.  Returns 0, or -1 (no
 * message) if hrp is invalid or out (size bytes, NUL included) is too small.
 */
int bech32_encode(char *, size_t, const char *, const uint8_t *, size_t);

/*
 * bech32_decode(s, hrp, hrpsize, data, datasize, len): decode s, writing
 * its human-readable part as written (case kept) to hrp and up to datasize
 * bytes to data, the count to *len.  Refuses mixed case, characters out of
 * range, a bad checksum, padding bits that are not zero and an overlong
 * hrp or data.  Returns 0, or -1 (no message).
 */
int bech32_decode(const char *, char *, size_t, uint8_t *, size_t, size_t *);

#endif
