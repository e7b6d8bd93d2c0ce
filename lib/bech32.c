#include "compat.h"

#include <ctype.h>

#include "bech32.h"

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t
polymod_step(uint32_t chk, unsigned v)
{
	static const uint32_t gen[5] = {
		0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3
	};
	uint32_t b = chk >> 25;
	int i;

	chk = ((chk & 0x1ffffff) << 5) ^ v;
	for (i = 0; i < 5; i++)
		if ((b >> i) & 1)
			chk ^= gen[i];
	return (chk);
}

static unsigned
lower(char c)
{

	return ((unsigned)tolower((unsigned char)c));
}

/* The checksum state after the expanded hrp (lower case). */
static uint32_t
polymod_hrp(const char *hrp, size_t hlen)
{
	uint32_t chk = 1;
	size_t i;

	for (i = 0; i < hlen; i++)
		chk = polymod_step(chk, lower(hrp[i]) >> 5);
	chk = polymod_step(chk, 0);
	for (i = 0; i < hlen; i++)
		chk = polymod_step(chk, lower(hrp[i]) & 31);
	return (chk);
}

int
bech32_encode(char *out, size_t size, const char *hrp, const uint8_t *data,
    size_t len)
{
	size_t hlen = strlen(hrp), n5, need, i, o;
	int upper = 0, lower = 0;
	uint32_t chk, acc = 0;
	unsigned bits = 0, v;

	if (hlen < 1)
		return (-1);
	for (i = 0; i < hlen; i++) {
		if (hrp[i] < 33 || hrp[i] > 126)
			return (-1);
		if (isupper((unsigned char)hrp[i]))
			upper = 1;
		if (islower((unsigned char)hrp[i]))
			lower = 1;
	}
	if (upper && lower)
		return (-1);
	n5 = (len * 8 + 4) / 5;
	need = hlen + 1 + n5 + 6 + 1;
	if (need < hlen || size < need)
		return (-1);
	chk = polymod_hrp(hrp, hlen);
	for (i = 0; i < hlen; i++)
		out[i] = hrp[i];
	o = hlen;
	out[o++] = '1';
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			v = (acc >> bits) & 31;
			chk = polymod_step(chk, v);
			out[o++] = charset[v];
		}
	}
	if (bits > 0) {
		v = (acc << (5 - bits)) & 31;
		chk = polymod_step(chk, v);
		out[o++] = charset[v];
	}
	for (i = 0; i < 6; i++)
		chk = polymod_step(chk, 0);
	chk ^= 1;
	for (i = 0; i < 6; i++)
		out[o++] = charset[(chk >> (5 * (5 - i))) & 31];
	out[o] = '\0';
	if (upper)
		for (i = hlen + 1; i < o; i++)
			out[i] = (char)toupper((unsigned char)out[i]);
	return (0);
}

int
bech32_decode(const char *s, char *hrp, size_t hrpsize, uint8_t *data,
    size_t datasize, size_t *lenp)
{
	size_t slen = strlen(s), sep, i, n = 0;
	int upper = 0, lower = 0;
	const char *p;
	uint32_t chk, acc = 0;
	unsigned bits = 0;
	int v;

	for (i = 0; i < slen; i++) {
		if (s[i] < 33 || s[i] > 126)
			return (-1);
		if (isupper((unsigned char)s[i]))
			upper = 1;
		if (islower((unsigned char)s[i]))
			lower = 1;
	}
	if (upper && lower)
		return (-1);
	if ((p = strrchr(s, '1')) == NULL)
		return (-1);
	sep = (size_t)(p - s);
	if (sep < 1 || slen - sep - 1 < 6 || sep + 1 > hrpsize)
		return (-1);
	chk = polymod_hrp(s, sep);
	for (i = sep + 1; i < slen; i++) {
		p = strchr(charset, tolower((unsigned char)s[i]));
		if (p == NULL || *p == '\0')
			return (-1);
		v = (int)(p - charset);
		chk = polymod_step(chk, (unsigned)v);
		if (i >= slen - 6)
			continue;
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n >= datasize)
				return (-1);
			data[n++] = (uint8_t)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	/* Leftover bits: fewer than 5, all zero. */
	if (bits >= 5 || acc != 0)
		return (-1);
	if (chk != 1)
		return (-1);
	memcpy(hrp, s, sep);
	hrp[sep] = '\0';
	*lenp = n;
	return (0);
}
